"""Convert D of a stylegan2-ada-pytorch network pickle to faceedit's safetensors layout."""
import json
import math
import os

from . import ToolError
from .restricted_pickle import PersistentObject
from .stylegan2 import STANDARD_FILTER, _kwargs, _plain, _positive_int, _resolve, checked_tensors

# Defaults of the stylegan2-ada-pytorch training/networks.py Discriminator constructors.
DISCRIMINATOR_ARGS = ('c_dim', 'img_resolution', 'img_channels', 'architecture', 'channel_base',
                      'channel_max', 'num_fp16_res', 'conv_clamp', 'cmap_dim', 'block_kwargs',
                      'mapping_kwargs', 'epilogue_kwargs')
BLOCK_DEFAULTS = dict(activation='lrelu', resample_filter=[1, 3, 3, 1], fp16_channels_last=False,
                      freeze_layers=0)
EPILOGUE_DEFAULTS = dict(mbstd_group_size=4, mbstd_num_channels=1, activation='lrelu')


def resolve_config(d, what):
    """Fully resolved discriminator config from D's constructor arguments + the defaults."""
    kw = _plain(_kwargs(d, DISCRIMINATOR_ARGS, what), what)
    for key in ('c_dim', 'img_resolution', 'img_channels'):
        if key not in kw:
            raise ToolError(f'{what}: D constructor arguments lack {key!r}')
    block = _resolve(kw.get('block_kwargs') or {}, BLOCK_DEFAULTS, f'{what}: block_kwargs')
    epilogue = _resolve(kw.get('epilogue_kwargs') or {}, EPILOGUE_DEFAULTS, f'{what}: epilogue_kwargs')
    cfg = {'img_resolution': kw['img_resolution'], 'img_channels': kw['img_channels'],
           'channel_base': kw.get('channel_base', 32768), 'channel_max': kw.get('channel_max', 512),
           'conv_clamp': kw.get('conv_clamp'), 'mbstd_group_size': epilogue['mbstd_group_size'],
           'mbstd_num_channels': epilogue['mbstd_num_channels']}
    for key in ('img_resolution', 'img_channels', 'channel_base', 'channel_max', 'mbstd_group_size'):
        _positive_int(cfg, key, what)
    _positive_int(cfg, 'mbstd_num_channels', what, allow_zero=True)
    res = cfg['img_resolution']
    if kw['c_dim'] != 0:
        raise ToolError(f"{what}: conditional discriminator (c_dim={kw['c_dim']}) is not supported")
    if res < 8 or res & (res - 1):
        raise ToolError(f'{what}: img_resolution {res} is not a power of two >= 8')
    if kw.get('architecture', 'resnet') != 'resnet':
        raise ToolError(f"{what}: architecture {kw['architecture']!r} is not supported (only 'resnet')")
    if block['resample_filter'] != STANDARD_FILTER:
        raise ToolError(f"{what}: resample_filter {block['resample_filter']} is not supported")
    if block['activation'] != 'lrelu' or epilogue['activation'] != 'lrelu':
        raise ToolError(f"{what}: only the 'lrelu' activation is supported")
    if cfg['conv_clamp'] is not None and not isinstance(cfg['conv_clamp'], (int, float)):
        raise ToolError(f"{what}: conv_clamp must be a number or None, got {cfg['conv_clamp']!r}")
    return {'c_dim': 0, 'architecture': 'resnet', **cfg}


def expected_shapes(cfg):
    """Official state_dict names -> shapes of D for a resolved config (resample_filter aside)."""
    def ch(r):
        return min(cfg['channel_base'] // r, cfg['channel_max'])
    shapes = {}
    res = cfg['img_resolution']
    for r in [2 ** i for i in range(int(math.log2(res)), 2, -1)]:
        b, tmp, out = f'b{r}', ch(r), ch(r // 2)
        if r == res:
            shapes.update({f'{b}.fromrgb.weight': (tmp, cfg['img_channels'], 1, 1), f'{b}.fromrgb.bias': (tmp,)})
        shapes.update({f'{b}.conv0.weight': (tmp, tmp, 3, 3), f'{b}.conv0.bias': (tmp,),
                       f'{b}.conv1.weight': (out, tmp, 3, 3), f'{b}.conv1.bias': (out,),
                       f'{b}.skip.weight': (out, tmp, 1, 1)})
    c4 = ch(4)
    shapes.update({'b4.conv.weight': (c4, c4 + cfg['mbstd_num_channels'], 3, 3), 'b4.conv.bias': (c4,),
                   'b4.fc.weight': (c4, c4 * 16), 'b4.fc.bias': (c4,),
                   'b4.out.weight': (1, c4), 'b4.out.bias': (1,)})
    return shapes


def convert(root, path):
    """Network pickle contents -> (ordered {name: float32 tensor}, safetensors metadata) of D."""
    what = path
    if not isinstance(root, dict) or 'D' not in root:
        keys = sorted(map(str, root)) if isinstance(root, dict) else type(root).__name__
        raise ToolError(f"{what}: no 'D' in this pickle (keys: {keys}): not a stylegan2-ada-pytorch "
                        'training snapshot with a discriminator')
    d = root['D']
    if not isinstance(d, PersistentObject) or d.class_name != 'Discriminator':
        found = d.class_name if isinstance(d, PersistentObject) else type(d).__name__
        raise ToolError(f'{what}: D is a {found}, not a stylegan2-ada-pytorch Discriminator')
    cfg = resolve_config(d, what)
    tensors = checked_tensors(d, expected_shapes(cfg), what, 'D')
    metadata = {'faceedit.arch': 'stylegan2-discriminator', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.config': json.dumps(cfg)}
    return tensors, metadata
