"""InterDigital latent-transformer's released files -> faceedit's latent classifier / transformer editor.

latent_classifier_epoch_20.pth: LCNet state dict fcs.{0,1,2}.{weight,bias} (Linear -> LeakyReLU(0.2)
  -> Linear -> LeakyReLU(0.2) -> Linear on the flattened W+): exactly models::LatentClassifier
  (fc1..fc3), columns = CelebA's 40 attributes in the paper's order (train.py's attr_dict).
tnet_<n>.pth.tar: F_mapping state dict dense.<i>.{weight,bias}, one 512x512 dense layer per W+ layer;
  out_i = w_i @ (W_i * lrmul / sqrt(512))^T + b_i and w' = w + alpha * out. The He scale is folded
  into the weight here (the very float32 product the official get_weight computes), so the result is
  edit::LatentTransformerNet's w + alpha * Linear(w). n is the attribute (attr_dict); the official
  inference (test.py, video_processing.py) edits only the first 11 W+ layers: recorded as
  `official_edit_layers`, the editor's default.
Both have 512-dimensional codes: the official forward hard-codes split(512); the layer count is read
from the tensors.
"""
import json
import math
import os
import re

import torch

from . import ToolError, raise_if_problems

CLASSIFIER_FORMAT = 'latent-transformer-classifier'
TRANSFORMER_FORMAT = 'latent-transformer-tnet'
LATENT_DIM = 512
MAPPING_LRMUL = 1.0   # configs/001.yaml mapping_lrmul (not stored in the file)
OFFICIAL_EDIT_LAYERS = 11  # test.py: torch.cat((w_1[:, :11, :], w_0[:, 11:, :]), 1)
ATTRIBUTES = [
    '5_o_clock_shadow', 'arched_eyebrows', 'attractive', 'bags_under_eyes', 'bald', 'bangs', 'big_lips',
    'big_nose', 'black_hair', 'blond_hair', 'blurry', 'brown_hair', 'bushy_eyebrows', 'chubby', 'double_chin',
    'eyeglasses', 'goatee', 'gray_hair', 'heavy_makeup', 'high_cheekbones', 'male', 'mouth_slightly_open',
    'mustache', 'narrow_eyes', 'no_beard', 'oval_face', 'pale_skin', 'pointy_nose', 'receding_hairline',
    'rosy_cheeks', 'sideburns', 'smiling', 'straight_hair', 'wavy_hair', 'wearing_earrings', 'wearing_hat',
    'wearing_lipstick', 'wearing_necklace', 'wearing_necktie', 'young']


def looks_like_classifier(sd):
    return isinstance(sd, dict) and 'fcs.0.weight' in sd and 'fcs.2.weight' in sd


def looks_like_transformer(sd):
    return isinstance(sd, dict) and 'dense.0.weight' in sd


def _check(sd, expected, what, label):
    problems = [f'missing {n}' for n in expected if n not in sd]
    problems += [f'unexpected {n}' for n in sd if n not in expected]
    problems += [f'{n} is not a floating-point tensor' for n in expected
                 if n in sd and not (isinstance(sd[n], torch.Tensor) and sd[n].is_floating_point())]
    problems += [f'{n} has shape {list(sd[n].shape)}, expected {s}' for n, s in expected.items()
                 if n in sd and isinstance(sd[n], torch.Tensor) and list(sd[n].shape) != s]
    raise_if_problems(what, f'{label} tensors do not fit the config inferred from them', problems)


def _dims(sd, name, what):
    t = sd.get(name)
    if not isinstance(t, torch.Tensor) or t.dim() != 2:
        raise ToolError(f'{what}: {name} is missing or not a matrix')
    return list(t.shape)


def classifier_config(sd, what):
    h1, n_in = _dims(sd, 'fcs.0.weight', what)
    h2 = _dims(sd, 'fcs.1.weight', what)[0]
    k = _dims(sd, 'fcs.2.weight', what)[0]
    if n_in % LATENT_DIM:
        raise ToolError(f'{what}: fcs.0.weight takes {n_in} inputs, not a whole number of {LATENT_DIM}-d W+ codes')
    if k != len(ATTRIBUTES):
        raise ToolError(f'{what}: fcs.2.weight has {k} outputs, expected the {len(ATTRIBUTES)} CelebA attributes')
    return {'space': 'wplus', 'latent_dim': LATENT_DIM, 'num_ws': n_in // LATENT_DIM, 'hidden': [h1, h2],
            'columns': ATTRIBUTES}


def classifier_tensors(sd, what, prefix=''):
    cfg = classifier_config(sd, what)
    h1, h2 = cfg['hidden']
    n_in = cfg['num_ws'] * LATENT_DIM
    expected = {'fcs.0.weight': [h1, n_in], 'fcs.0.bias': [h1], 'fcs.1.weight': [h2, h1], 'fcs.1.bias': [h2],
                'fcs.2.weight': [len(ATTRIBUTES), h2], 'fcs.2.bias': [len(ATTRIBUTES)]}
    _check(sd, expected, what, 'latent classifier')
    tensors = {f'{prefix}fc{i + 1}.{p}': sd[f'fcs.{i}.{p}'].detach().float().contiguous()
               for i in range(3) for p in ('weight', 'bias')}
    return tensors, cfg


def convert_classifier(sd, path):
    tensors, cfg = classifier_tensors(sd, path)
    return tensors, {'faceedit.arch': 'latent-classifier', 'faceedit.format_version': '1',
                     'faceedit.source': os.path.basename(path), 'faceedit.source_format': CLASSIFIER_FORMAT,
                     'faceedit.config': json.dumps(cfg)}


def transformer_config(sd, what, attribute):
    layers = len([k for k in sd if isinstance(k, str) and re.fullmatch(r'dense\.\d+\.weight', k)])
    dim = _dims(sd, 'dense.0.weight', what)[1]
    if dim != LATENT_DIM:
        raise ToolError(f'{what}: dense.0.weight has {dim} inputs; the latent transformer edits {LATENT_DIM}-d codes')
    return {'attribute': attribute, 'space': 'wplus', 'latent_dim': dim, 'num_ws': layers, 'layers': [],
            'official_edit_layers': list(range(min(OFFICIAL_EDIT_LAYERS, layers)))}


def attribute_of(path):
    """tnet_<n>.pth.tar -> the attribute n names (attr_dict of the official train.py/test.py)."""
    m = re.match(r'tnet_(\d+)\b', os.path.basename(path))
    if not m or int(m.group(1)) >= len(ATTRIBUTES):
        raise ToolError(f'{path}: cannot tell the attribute (the official files are named tnet_<n>.pth.tar, '
                        f'n = 0..{len(ATTRIBUTES) - 1} in CelebA order)')
    return ATTRIBUTES[int(m.group(1))]


def convert_transformer(sd, path, classifier_sd, classifier_path, attribute=None):
    """tnet + latent classifier -> one faceedit latent-transformer editor file."""
    attribute = attribute or attribute_of(path)
    cfg = transformer_config(sd, path, attribute)
    n = cfg['num_ws']
    _check(sd, {f'dense.{i}.{p}': ([LATENT_DIM, LATENT_DIM] if p == 'weight' else [LATENT_DIM])
                for i in range(n) for p in ('weight', 'bias')}, path, 'transformer')
    gain = MAPPING_LRMUL / math.sqrt(LATENT_DIM)
    tensors = {}
    for i in range(n):
        tensors[f'transformer.maps.{i}.weight'] = (sd[f'dense.{i}.weight'].detach().float() * gain).contiguous()
        tensors[f'transformer.maps.{i}.bias'] = (sd[f'dense.{i}.bias'].detach().float() * MAPPING_LRMUL).contiguous()
    if classifier_sd is None:
        raise ToolError(f'{path}: a latent transformer needs its latent classifier (latent_classifier_epoch_20.pth): '
                        'name it with classifier=FILE')
    if not looks_like_classifier(classifier_sd):
        raise ToolError(f'{classifier_path}: not a latent-transformer latent classifier (no fcs.* tensors)')
    ctensors, ccfg = classifier_tensors(classifier_sd, classifier_path, 'classifier.')
    if ccfg['num_ws'] != n:
        raise ToolError(f'{classifier_path}: classifies {ccfg["num_ws"]} W+ layers, the transformer {path} edits {n}')
    tensors.update(ctensors)
    meta = {'faceedit.arch': 'latent-transformer', 'faceedit.format_version': '1',
            'faceedit.source': os.path.basename(path), 'faceedit.source_format': TRANSFORMER_FORMAT,
            'faceedit.config': json.dumps({'transformer': cfg, 'classifier': ccfg})}
    return tensors, meta


def export_official(path, out_dir):
    """A faceedit latent-transformer editor file -> DIR/tnet_<n>.pth.tar + DIR/latent_classifier_epoch_20.pth,
    the files the official test.py / Trainer.load_model read (W+ editors of 512-d codes whose classifier has
    the 40 CelebA columns in order; layers without a map get a zero dense layer: w' = w there)."""
    import collections

    from .safetensors_io import load_file
    tensors, meta = load_file(path)
    if meta.get('faceedit.arch') != 'latent-transformer':
        raise ToolError(f'{path}: not a faceedit latent-transformer editor (faceedit.arch {meta.get("faceedit.arch")!r})')
    cfg = json.loads(meta['faceedit.config'])
    t, c = cfg['transformer'], cfg['classifier']
    if t['space'] != 'wplus' or t['latent_dim'] != LATENT_DIM:
        raise ToolError(f'{path}: edits {t["space"]} codes of dimension {t["latent_dim"]}; the official format is W+ of '
                        f'{LATENT_DIM}-d codes (a StyleGAN2 with w_dim {LATENT_DIM}, e.g. FFHQ)')
    if c['columns'] != ATTRIBUTES:
        raise ToolError(f'{path}: its latent classifier has columns {c["columns"][:4]}...; the official one has the 40 '
                        'CelebA attributes in order (train it with the celebahq guide)')
    if t['attribute'] not in ATTRIBUTES:
        raise ToolError(f'{path}: attribute {t["attribute"]!r} is not one of the 40 CelebA attributes')
    if not os.path.isdir(out_dir):
        raise ToolError(f'{out_dir}: no such directory')
    mapped = t['layers'] or list(range(t['num_ws']))
    tnet = collections.OrderedDict()
    for layer in range(t['num_ws']):
        if layer in mapped:
            i = mapped.index(layer)
            tnet[f'dense.{layer}.weight'] = tensors[f'transformer.maps.{i}.weight'] * math.sqrt(LATENT_DIM) / MAPPING_LRMUL
            tnet[f'dense.{layer}.bias'] = tensors[f'transformer.maps.{i}.bias'] / MAPPING_LRMUL
        else:
            tnet[f'dense.{layer}.weight'] = torch.zeros(LATENT_DIM, LATENT_DIM)
            tnet[f'dense.{layer}.bias'] = torch.zeros(LATENT_DIM)
    lcnet = collections.OrderedDict((f'fcs.{i}.{p}', tensors[f'classifier.fc{i + 1}.{p}'])
                                    for i in range(3) for p in ('weight', 'bias'))
    written = []
    for name, sd in ((f'tnet_{ATTRIBUTES.index(t["attribute"])}.pth.tar', tnet), ('latent_classifier_epoch_20.pth', lcnet)):
        target = os.path.join(out_dir, name)
        tmp = target + '.tmp'
        try:
            torch.save(sd, tmp)
            os.replace(tmp, target)
        except OSError as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise ToolError(f'{target}: cannot write ({e.strerror or e})') from None
        written.append(target)
    return written
