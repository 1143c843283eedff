"""Convert G_ema of a stylegan2-ada-pytorch network pickle to faceedit's safetensors layout."""
import json
import math
import os

import numpy as np
import torch

from . import ToolError, raise_if_problems
from .restricted_pickle import PersistentObject

# Defaults of the stylegan2-ada-pytorch training/networks.py constructors.
GENERATOR_ARGS = ('z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels',
                  'mapping_kwargs', 'synthesis_kwargs')
MAPPING_DEFAULTS = dict(num_layers=8, embed_features=None, layer_features=None,
                        activation='lrelu', lr_multiplier=0.01, w_avg_beta=0.995)
# SynthesisNetwork, SynthesisBlock and SynthesisLayer keyword arguments (all reachable through
# synthesis_kwargs). fp16_channels_last only changes memory layout, so it is accepted and dropped.
SYNTHESIS_DEFAULTS = dict(channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None,
                          architecture='skip', resample_filter=[1, 3, 3, 1], use_noise=True,
                          kernel_size=3, activation='lrelu', fp16_channels_last=False)
STANDARD_FILTER = [1, 3, 3, 1]


def _plain(value, what):
    """Config value -> JSON-able plain data (numpy scalars, EasyDicts and tuples included)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, what) for k, v in value.items()}
    raise ToolError(f'{what}: unexpected value of type {type(value).__name__} in the config')


def _kwargs(obj, argnames, what):
    """A persistent object's constructor arguments (_init_args mapped by position + _init_kwargs)."""
    args = obj.state.get('_init_args', ())
    kwargs = obj.state.get('_init_kwargs', {})
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict) or len(args) > len(argnames):
        raise ToolError(f'{what}: unreadable constructor arguments (_init_args/_init_kwargs)')
    return {**dict(zip(argnames, args)), **kwargs}


def _resolve(given, defaults, what):
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ToolError(f'{what}: unsupported argument(s) {unknown} (not a stylegan2-ada-pytorch '
                        'option faceedit knows)')
    return {**defaults, **given}


def _positive_int(cfg, key, what, allow_zero=False):
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < (0 if allow_zero else 1):
        raise ToolError(f'{what}: {key} must be a {"non-negative" if allow_zero else "positive"} '
                        f'integer, got {v!r}')
    return v


def resolve_config(g, what):
    """Fully resolved generator config from G_ema's constructor arguments + the defaults."""
    kw = _plain(_kwargs(g, GENERATOR_ARGS, what), what)
    missing = [k for k in GENERATOR_ARGS[:5] if k not in kw]
    if missing:
        raise ToolError(f'{what}: G_ema constructor arguments lack {missing}')
    mapping = _resolve(kw.get('mapping_kwargs') or {}, MAPPING_DEFAULTS, f'{what}: mapping_kwargs')
    synthesis = _resolve(kw.get('synthesis_kwargs') or {}, SYNTHESIS_DEFAULTS,
                         f'{what}: synthesis_kwargs')
    for key in ('z_dim', 'w_dim', 'img_resolution', 'img_channels'):
        _positive_int(kw, key, what)
    _positive_int(kw, 'c_dim', what, allow_zero=True)
    _positive_int(mapping, 'num_layers', what)
    for key in ('channel_base', 'channel_max', 'kernel_size'):
        _positive_int(synthesis, key, what)
    _positive_int(synthesis, 'num_fp16_res', what, allow_zero=True)

    # Things faceedit's StyleGAN2 implementation does not do.
    res = kw['img_resolution']
    if kw['c_dim'] != 0:
        raise ToolError(f"{what}: conditional generator (c_dim={kw['c_dim']}) is not supported")
    if res < 4 or res & (res - 1):
        raise ToolError(f'{what}: img_resolution {res} is not a power of two >= 4')
    if synthesis['architecture'] != 'skip':
        raise ToolError(f"{what}: synthesis architecture {synthesis['architecture']!r} is not "
                        "supported (only 'skip')")
    if synthesis['resample_filter'] != STANDARD_FILTER:
        raise ToolError(f"{what}: resample_filter {synthesis['resample_filter']} is not supported "
                        f'(only {STANDARD_FILTER})')
    for where, cfg in (('mapping', mapping), ('synthesis', synthesis)):
        if cfg['activation'] != 'lrelu':
            raise ToolError(f"{what}: {where} activation {cfg['activation']!r} is not supported "
                            "(only 'lrelu')")
    if synthesis['kernel_size'] != 3:
        raise ToolError(f"{what}: kernel_size {synthesis['kernel_size']} is not supported (only 3)")
    if synthesis['use_noise'] is not True:
        raise ToolError(f'{what}: use_noise=False generators are not supported')
    if mapping['w_avg_beta'] is None:
        raise ToolError(f'{what}: w_avg_beta=None (no mapping.w_avg to truncate with) is not '
                        'supported')
    if synthesis['conv_clamp'] is not None and not isinstance(synthesis['conv_clamp'], (int, float)):
        raise ToolError(f"{what}: conv_clamp must be a number or None, got {synthesis['conv_clamp']!r}")
    for key in ('lr_multiplier', 'w_avg_beta'):
        if isinstance(mapping[key], bool) or not isinstance(mapping[key], (int, float)):
            raise ToolError(f'{what}: mapping {key} must be a number, got {mapping[key]!r}')

    w_dim = kw['w_dim']
    # MappingNetwork: embed_features None -> w_dim, but 0 when unconditional; layer_features -> w_dim.
    mapping['embed_features'] = 0
    if mapping['layer_features'] is None:
        mapping['layer_features'] = w_dim
    _positive_int(mapping, 'layer_features', what)
    del synthesis['fp16_channels_last']
    log2 = int(math.log2(res))
    resolutions = [2 ** i for i in range(2, log2 + 1)]
    synthesis['block_resolutions'] = resolutions
    synthesis['channels'] = [min(synthesis['channel_base'] // r, synthesis['channel_max'])
                             for r in resolutions]
    return {
        'z_dim': kw['z_dim'], 'c_dim': 0, 'w_dim': w_dim, 'img_resolution': res,
        'img_channels': kw['img_channels'],
        'num_ws': 2 * log2 - 2,  # skip architecture: 1 (b4) + 2 per later block + 1 final torgb
        'mapping': mapping, 'synthesis': synthesis,
    }


def expected_shapes(cfg):
    """Official state_dict names -> shapes of G_ema for a resolved config (resample_filter aside)."""
    shapes = {}
    m, s, w = cfg['mapping'], cfg['synthesis'], cfg['w_dim']
    k, img_ch = s['kernel_size'], cfg['img_channels']
    prev = None
    for res, ch in zip(s['block_resolutions'], s['channels']):
        b = f'synthesis.b{res}'
        layers = [('conv1', ch)] if prev is None else [('conv0', prev), ('conv1', ch)]
        if prev is None:
            shapes[f'{b}.const'] = (ch, res, res)
        for name, in_ch in layers:
            shapes.update({f'{b}.{name}.weight': (ch, in_ch, k, k), f'{b}.{name}.bias': (ch,),
                           f'{b}.{name}.noise_strength': (), f'{b}.{name}.noise_const': (res, res),
                           f'{b}.{name}.affine.weight': (in_ch, w),
                           f'{b}.{name}.affine.bias': (in_ch,)})
        shapes.update({f'{b}.torgb.weight': (img_ch, ch, 1, 1), f'{b}.torgb.bias': (img_ch,),
                       f'{b}.torgb.affine.weight': (ch, w), f'{b}.torgb.affine.bias': (ch,)})
        prev = ch
    features = [cfg['z_dim']] + [m['layer_features']] * (m['num_layers'] - 1) + [w]
    for i in range(m['num_layers']):
        shapes[f'mapping.fc{i}.weight'] = (features[i + 1], features[i])
        shapes[f'mapping.fc{i}.bias'] = (features[i + 1],)
    shapes['mapping.w_avg'] = (w,)
    return shapes


def state_dict_items(obj, prefix, what):
    """Yield (state_dict name, tensor) in torch's state_dict order: params, buffers, submodules."""
    st = obj.state
    params, buffers = st.get('_parameters', {}), st.get('_buffers', {})
    modules, non_persistent = st.get('_modules', {}), st.get('_non_persistent_buffers_set', set())
    if not all(isinstance(d, dict) for d in (params, buffers, modules)):
        raise ToolError(f'{what}: module {prefix or "G_ema"} has no readable parameters/buffers')
    for name, t in list(params.items()) + [(n, b) for n, b in buffers.items()
                                          if n not in non_persistent]:
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise ToolError(f'{what}: {prefix}{name} is a {type(t).__name__}, not a tensor')
        yield prefix + name, t
    for name, sub in modules.items():
        if sub is None:
            continue
        if not isinstance(sub, PersistentObject):
            raise ToolError(f'{what}: submodule {prefix}{name} is not a stylegan2-ada persistent '
                            'module')
        yield from state_dict_items(sub, f'{prefix}{name}.', what)


def _check_filter(name, t, what):
    f = torch.tensor(STANDARD_FILTER, dtype=torch.float64)
    expected = torch.outer(f, f) / torch.outer(f, f).sum()
    if tuple(t.shape) != (4, 4) or not torch.allclose(t.double(), expected, rtol=0, atol=1e-6):
        raise ToolError(f'{what}: {name} is not the normalised [1,3,3,1] filter faceedit '
                        'implements')


def checked_tensors(module, expected, what, label):
    """A module's float tensors as float32 (resample filters checked, then dropped), refusing any
    that `expected` (name -> shape) lacks, lacks from them, or shapes otherwise."""
    tensors = {}
    for name, t in state_dict_items(module, '', what):
        if name.rsplit('.', 1)[-1] == 'resample_filter':
            _check_filter(name, t, what)
            continue
        if not t.is_floating_point():
            raise ToolError(f'{what}: {name} has dtype {t.dtype}, expected floating point')
        tensors[name] = t.detach().to(torch.float32).contiguous()
    problems = [f'missing {n}' for n in expected if n not in tensors]
    problems += [f'unexpected {n}' for n in tensors if n not in expected]
    problems += [f'{n} has shape {list(tensors[n].shape)}, expected {list(s)}'
                 for n, s in expected.items() if n in tensors and tuple(tensors[n].shape) != s]
    raise_if_problems(what, f'{label} tensors do not match its config', problems)
    return tensors


def convert(root, path, key='G_ema'):
    """Network pickle contents -> (ordered {name: float32 tensor}, safetensors metadata).

    `path` names the input in error messages; its basename is recorded as faceedit.source.
    """
    what = path
    if not isinstance(root, dict) or key not in root:
        keys = sorted(map(str, root)) if isinstance(root, dict) else type(root).__name__
        raise ToolError(f"{what}: no '{key}' in this pickle (keys: {keys}): not a "
                        'stylegan2-ada-pytorch network pickle')
    g = root[key]
    if not isinstance(g, PersistentObject) or g.class_name != 'Generator':
        found = g.class_name if isinstance(g, PersistentObject) else type(g).__name__
        raise ToolError(f"{what}: {key} is a {found}, not a stylegan2-ada-pytorch Generator")
    cfg = resolve_config(g, what)

    # num_ws as recorded by the network itself must agree with the skip-architecture count.
    recorded = {key: g.state.get('num_ws')}
    for name in ('synthesis', 'mapping'):
        sub = g.state.get('_modules', {}).get(name)
        if isinstance(sub, PersistentObject):
            recorded[f'{key}.{name}'] = sub.state.get('num_ws')
    for where, n in recorded.items():
        if n != cfg['num_ws']:
            raise ToolError(f"{what}: {where}.num_ws is {n!r}, expected {cfg['num_ws']} for "
                            f"img_resolution {cfg['img_resolution']}")

    tensors = checked_tensors(g, expected_shapes(cfg), what, key)

    metadata = {'faceedit.arch': 'stylegan2', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.config': json.dumps(cfg)}
    return tensors, metadata
