#!/usr/bin/python3
"""Semantic sanity check of the converted human judges on labelled CelebA-HQ photos.

Usage: tfjs_celebahq_check.py JUDGES_DIR [PHOTOS_DIR]
PHOTOS_DIR (default $FACEEDIT_SHARED/data/celebahq-photos) holds *.jpg and list_attr_celeba.txt.
Each photo is centre-cropped (the middle 60%: CelebA-HQ faces fill roughly that), resized with
Pillow (Debian python3-pil), preprocessed exactly as the judge's metadata says, and its male /
smiling / young columns are compared with the CelebA labels (threshold 0.5).
Prints one line per judge and column: agreement, and the AUC of the score against the label.
"""
import json
import os
import sys

import numpy as np
import torch

CROP = 0.6


def load_labels(path):
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    if len(lines[0]) == 1:  # CelebA's count line
        lines = lines[1:]
    header = lines[0]
    return {row[0]: dict(zip(header, (int(v) > 0 for v in row[-len(header):])))
            for row in lines[1:]}


def load_rgb(path, h, w):
    """Centre crop + bilinear resize (Debian's python3-pil) -> float32 [h, w, 3] in [0, 1]."""
    from PIL import Image
    img = Image.open(path).convert('RGB')
    side_w, side_h = img.width * CROP, img.height * CROP
    box = ((img.width - side_w) / 2, (img.height - side_h) / 2,
           (img.width + side_w) / 2, (img.height + side_h) / 2)
    img = img.resize((w, h), Image.BILINEAR, box=box, reducing_gap=3.0)
    return np.asarray(img, dtype=np.float32) / 255


def preprocess(rgb, spec):
    x = torch.from_numpy(rgb).permute(2, 0, 1)
    if spec['color'] == 'bgr':
        x = x.flip(0)
    elif spec['color'] == 'gray':
        x = (x * torch.tensor(spec['gray_weights']).view(3, 1, 1)).sum(0, keepdim=True)
    mean = torch.tensor(spec['mean']).view(-1, 1, 1)
    std = torch.tensor(spec['std']).view(-1, 1, 1)
    return (x - mean) / std


def auc(scores, labels):
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    return float(((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()))


def main(argv):
    judges_dir = argv[1]
    shared = os.environ.get('FACEEDIT_SHARED', os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared'))
    photos = argv[2] if len(argv) > 2 else os.path.join(shared, 'data', 'celebahq-photos')
    labels = load_labels(os.path.join(photos, 'list_attr_celeba.txt'))
    files = sorted(f for f in labels if os.path.exists(os.path.join(photos, f)))
    celeba = {'male': 'Male', 'smiling': 'Smiling', 'young': 'Young'}
    for meta_path in sorted(p for p in os.listdir(judges_dir) if p.endswith('.json')):
        meta = json.load(open(os.path.join(judges_dir, meta_path)))
        if meta['kind'] != 'attributes':
            continue
        cols = {o['name']: i for i, o in enumerate(meta['outputs'])}
        wanted = [c for c in celeba if c in cols]
        module = torch.jit.load(os.path.join(judges_dir, meta['name'] + '.pt'))
        spec = meta['input']
        x = torch.stack([preprocess(load_rgb(os.path.join(photos, f), spec['height'],
                                             spec['width']), spec) for f in files])
        with torch.no_grad():
            y = module(x).numpy()
        for c in wanted:
            truth = np.array([labels[f][celeba[c]] for f in files])
            score = y[:, cols[c]]
            agree = ((score > 0.5) == truth).mean()
            print(f'{meta["name"]:>8} {c:>8}: agreement {agree * 100:5.1f}% '
                  f'({int(round(agree * len(files)))}/{len(files)}), AUC {auc(score, truth):.3f}, '
                  f'positives {int(truth.sum())}')
        if 'age' in cols:
            ages = y[:, cols['age']]
            young = np.array([labels[f]['Young'] for f in files])
            print(f'{meta["name"]:>8}      age: mean {ages[young].mean():.1f} (Young) vs '
                  f'{ages[~young].mean():.1f} (not Young)')


if __name__ == '__main__':
    main(sys.argv)
