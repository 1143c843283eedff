#!/usr/bin/python3
"""dcgan_torch_reference.py LATENTS_SAFETENSORS OUT_SAFETENSORS [GENERATOR_PT]

Independent PyTorch reference for faceedit's C++ DCGAN: builds the generator described in
shared/README.md from torch.nn modules, loads the *original* generator.pt (weights_only=True),
runs it in eval mode on `latents` ([N, 100]) and writes `images` ([N, 3, 32, 32] float32, tanh
range) to OUT. GENERATOR_PT defaults to $FACEEDIT_SHARED/models/dcgan-celeba32/generator.pt
(FACEEDIT_SHARED defaults to ../shared next to the repository). Run with /usr/bin/python3.
"""
import os
import sys

import torch
from torch import nn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))
from faceedit_tools import ToolError  # noqa: E402
from faceedit_tools.safetensors_io import load_file, save_file  # noqa: E402


def build_generator():
    def block(conv, channels, act=True):
        layers = [conv, nn.BatchNorm2d(channels, eps=1e-5)]
        return nn.Sequential(*layers, nn.LeakyReLU(0.2)) if act else nn.Sequential(*layers)

    g = nn.Module()
    g.generator_deconv = nn.Sequential(
        block(nn.ConvTranspose2d(100, 256, 4, 1, 0, bias=False), 256, act=False),  # -> 4x4
        block(nn.Conv2d(256, 128, 3, 1, 1, bias=False), 128),                      # -> 4x4
        block(nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), 64),               # -> 8x8
        block(nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), 32),                # -> 16x16
        nn.Sequential(nn.ConvTranspose2d(32, 3, 4, 2, 1, bias=True), nn.Tanh()),   # -> 32x32
    )
    return g


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    shared = os.environ.get('FACEEDIT_SHARED', os.path.join(os.path.dirname(REPO), 'shared'))
    weights = argv[3] if len(argv) == 4 else os.path.join(
        shared, 'models', 'dcgan-celeba32', 'generator.pt')
    try:
        tensors, _ = load_file(argv[1])
        if 'latents' not in tensors:
            raise ToolError(f"{argv[1]}: no 'latents' tensor")
        z = tensors['latents'].to(torch.float32)
        if z.dim() != 2 or z.shape[1] != 100:
            raise ToolError(f'{argv[1]}: latents must be [N, 100], got {list(z.shape)}')
        g = build_generator()
        g.load_state_dict(torch.load(weights, map_location='cpu', weights_only=True), strict=True)
        g.eval()
        with torch.no_grad():
            images = g.generator_deconv(z.reshape(-1, 100, 1, 1))
        save_file({'images': images.contiguous()}, argv[2], {'made_by': 'dcgan_torch_reference.py'})
    except (ToolError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
