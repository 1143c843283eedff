"""Convert the DCGAN CelebA-32 generator state_dict (see shared/README.md) to safetensors."""
import json
import os

import torch

from . import ToolError, raise_if_problems

CONFIG = {'z_dim': 100, 'img_resolution': 32, 'img_channels': 3,
          'latent_distribution': 'uniform(-1,1)', 'bn_eps': 1e-5, 'leaky_relu_slope': 0.2}


def _expected_shapes():
    p = 'generator_deconv'
    shapes = {}

    def bn(i, n):
        for k in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{p}.{i}.1.{k}'] = (n,)

    shapes[f'{p}.0.0.weight'] = (100, 256, 4, 4)  # ConvTranspose2d weights are [in, out, kh, kw]
    bn(0, 256)
    shapes[f'{p}.1.0.weight'] = (128, 256, 3, 3)  # Conv2d weights are [out, in, kh, kw]
    bn(1, 128)
    shapes[f'{p}.2.0.weight'] = (128, 64, 4, 4)
    bn(2, 64)
    shapes[f'{p}.3.0.weight'] = (64, 32, 4, 4)
    bn(3, 32)
    shapes[f'{p}.4.0.weight'] = (32, 3, 4, 4)
    shapes[f'{p}.4.0.bias'] = (3,)
    return shapes


EXPECTED_SHAPES = _expected_shapes()


def looks_like_dcgan(state_dict):
    return isinstance(state_dict, dict) and any(
        isinstance(k, str) and k.startswith('generator_deconv.') for k in state_dict)


def convert(state_dict, path):
    """state_dict -> (ordered {name: float32 tensor}, safetensors metadata)."""
    if not looks_like_dcgan(state_dict):
        keys = sorted(map(str, state_dict))[:8] if isinstance(state_dict, dict) else None
        raise ToolError(f'{path}: not a DCGAN generator state_dict (expected generator_deconv.* '
                        f'keys; found {keys if keys is not None else type(state_dict).__name__})')
    tensors, problems = {}, []
    for name, t in state_dict.items():
        if isinstance(name, str) and name.endswith('.num_batches_tracked'):
            continue  # training-only counter
        if name not in EXPECTED_SHAPES:
            problems.append(f'unexpected {name}')
        elif not isinstance(t, torch.Tensor) or not t.is_floating_point():
            problems.append(f'{name} is not a floating-point tensor')
        elif tuple(t.shape) != EXPECTED_SHAPES[name]:
            problems.append(f'{name} has shape {list(t.shape)}, expected '
                            f'{list(EXPECTED_SHAPES[name])}')
        else:
            tensors[name] = t.detach().to(torch.float32).contiguous()
    problems += [f'missing {n}' for n in EXPECTED_SHAPES if n not in state_dict]
    raise_if_problems(path, 'does not match the DCGAN CelebA-32 generator', problems)
    metadata = {'faceedit.arch': 'dcgan', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.config': json.dumps(CONFIG)}
    return tensors, metadata
