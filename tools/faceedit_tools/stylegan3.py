"""Convert G_ema of an NVlabs/stylegan3 network pickle (configs T and R) to faceedit's safetensors.

A stylegan3 snapshot pickles its modules as persistent classes from two embedded sources:
networks_stylegan3.py (the generator) and networks_stylegan2.py (the discriminator). Both define a
`FullyConnectedLayer` with different code, so every module is checked by (source, class name): the
generator's modules must come from the Alias-Free source. Nothing embedded is executed.

The metadata holds the constructor config (what faceedit derives the layer geometry from) and, per
layer, the geometry the pickle itself recorded (sizes, sampling rates, cutoffs, padding...), which the
C++ loader compares with its own derivation: a snapshot built by other code is refused, not misread.
"""
import json
import os

import numpy as np
import torch

from . import ToolError, raise_if_problems
from .restricted_pickle import PersistentObject
from .stylegan2 import _kwargs, _plain, _positive_int, _resolve, state_dict_items

# The sentence in networks_stylegan3.py's docstring: how the generator's source is recognised.
SG3_SOURCE_MARKER = 'Alias-Free Generative Adversarial Networks'
SG3_CLASSES = ('Generator', 'MappingNetwork', 'FullyConnectedLayer', 'SynthesisNetwork',
               'SynthesisInput', 'SynthesisLayer')
GENERATOR_ARGS = ('z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs')
# Defaults of networks_stylegan3.py (commit c233a919): MappingNetwork, SynthesisNetwork, SynthesisLayer.
MAPPING_DEFAULTS = dict(num_layers=2, lr_multiplier=0.01, w_avg_beta=0.998)
SYNTHESIS_DEFAULTS = dict(channel_base=32768, channel_max=512, num_layers=14, num_critical=2,
                          first_cutoff=2, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
                          margin_size=10, output_scale=0.25, num_fp16_res=4)
LAYER_DEFAULTS = dict(conv_kernel=3, filter_size=6, lrelu_upsampling=2, use_radial_filters=False,
                      conv_clamp=256, magnitude_ema_beta=0.999)
# Per-layer attributes recorded in the pickle that the C++ loader re-derives and compares.
LAYER_GEOMETRY = ('is_torgb', 'is_critically_sampled', 'in_channels', 'out_channels', 'in_size',
                  'out_size', 'in_sampling_rate', 'out_sampling_rate', 'in_cutoff', 'out_cutoff',
                  'in_half_width', 'out_half_width', 'conv_kernel', 'up_factor', 'down_factor',
                  'up_taps', 'down_taps', 'down_radial', 'padding')


def is_stylegan3(obj):
    """Whether a persistent object comes from networks_stylegan3.py."""
    return isinstance(obj, PersistentObject) and SG3_SOURCE_MARKER in (obj.module_src or '')


def _check_sources(obj, name, what):
    """Every module of the generator: a networks_stylegan3.py class, keyed on the source."""
    if not is_stylegan3(obj):
        found = obj.class_name if isinstance(obj, PersistentObject) else type(obj).__name__
        raise ToolError(f'{what}: {name} ({found}) is not from networks_stylegan3.py (its embedded '
                        'source lacks the Alias-Free header)')
    if obj.class_name not in SG3_CLASSES:
        raise ToolError(f'{what}: {name} is a {obj.class_name!r}, not a networks_stylegan3.py '
                        'generator module faceedit knows')
    for sub_name, sub in (obj.state.get('_modules') or {}).items():
        if sub is not None:
            _check_sources(sub, f'{name}.{sub_name}', what)


def _value(v, what):
    """_plain, plus the small numpy arrays SynthesisLayer records its sizes in (in_size, out_size)."""
    if isinstance(v, np.ndarray) and v.dtype.kind in 'iuf' and v.size <= 4:
        return [_plain(x, what) for x in v.reshape(-1)]
    return _plain(v, what)


def _number(cfg, key, what, positive=True):
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or (positive and v <= 0):
        raise ToolError(f'{what}: {key} must be a {"positive " if positive else ""}number, got {v!r}')
    return v


def resolve_config(g, what):
    """Constructor config of G_ema (arguments + networks_stylegan3.py's defaults)."""
    kw = _plain(_kwargs(g, GENERATOR_ARGS, what), what)
    missing = [k for k in GENERATOR_ARGS[:5] if k not in kw]
    if missing:
        raise ToolError(f'{what}: G_ema constructor arguments lack {missing}')
    mapping = _resolve(kw.pop('mapping_kwargs', None) or {}, MAPPING_DEFAULTS, f'{what}: mapping_kwargs')
    top = {k: kw.pop(k) for k in GENERATOR_ARGS[:5]}
    given = {k: v for k, v in kw.items() if k not in ('cfg',)}
    synthesis = _resolve({k: v for k, v in given.items() if k in SYNTHESIS_DEFAULTS},
                         SYNTHESIS_DEFAULTS, f'{what}: synthesis kwargs')
    layer = _resolve({k: v for k, v in given.items() if k not in SYNTHESIS_DEFAULTS},
                     LAYER_DEFAULTS, f'{what}: synthesis layer kwargs')
    for key in ('z_dim', 'w_dim', 'img_resolution', 'img_channels'):
        _positive_int(top, key, what)
    if top['c_dim'] != 0:
        raise ToolError(f"{what}: conditional generator (c_dim={top['c_dim']}) is not supported")
    _positive_int(mapping, 'num_layers', what)
    for key in ('channel_base', 'channel_max', 'num_layers', 'num_critical', 'margin_size'):
        _positive_int(synthesis, key, what, allow_zero=key in ('num_critical', 'margin_size'))
    for key in ('first_cutoff', 'first_stopband', 'last_stopband_rel', 'output_scale'):
        _number(synthesis, key, what)
    for key in ('conv_kernel', 'filter_size', 'lrelu_upsampling'):
        _positive_int(layer, key, what)
    if not isinstance(layer['use_radial_filters'], bool):
        raise ToolError(f"{what}: use_radial_filters must be true or false, got {layer['use_radial_filters']!r}")
    if layer['conv_clamp'] is not None:
        _number(layer, 'conv_clamp', what)
    _number(mapping, 'lr_multiplier', what)
    if synthesis['num_critical'] >= synthesis['num_layers']:
        raise ToolError(f'{what}: num_critical must be below num_layers')
    del synthesis['num_fp16_res']  # fp16 on CUDA only in the original; faceedit computes fp32
    del layer['magnitude_ema_beta'], mapping['w_avg_beta']  # training only
    return {'z_dim': top['z_dim'], 'c_dim': 0, 'w_dim': top['w_dim'],
            'img_resolution': top['img_resolution'], 'img_channels': top['img_channels'],
            'num_ws': synthesis['num_layers'] + 2, 'mapping': mapping,
            'synthesis': {**synthesis, **layer}}


def _recorded_geometry(syn, cfg, what):
    """The synthesis network's own record of its layers (names, sizes, rates, padding...)."""
    st = syn.state
    names = st.get('layer_names')
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ToolError(f'{what}: G_ema.synthesis.layer_names is missing or not a list of names')
    if len(names) != cfg['synthesis']['num_layers'] + 1:
        raise ToolError(f"{what}: G_ema.synthesis has {len(names)} layers, expected "
                        f"{cfg['synthesis']['num_layers'] + 1} for num_layers {cfg['synthesis']['num_layers']}")
    modules = st.get('_modules') or {}
    layers = []
    for name in names:
        layer = modules.get(name)
        if not isinstance(layer, PersistentObject) or layer.class_name != 'SynthesisLayer':
            raise ToolError(f'{what}: G_ema.synthesis.{name} is not a SynthesisLayer')
        rec = {'name': name}
        for key in LAYER_GEOMETRY:
            if key not in layer.state:
                raise ToolError(f'{what}: G_ema.synthesis.{name} lacks its attribute {key!r}')
            rec[key] = _value(layer.state[key], f'{what}: G_ema.synthesis.{name}.{key}')
        layers.append(rec)
    inp = modules.get('input')
    if not isinstance(inp, PersistentObject) or inp.class_name != 'SynthesisInput':
        raise ToolError(f'{what}: G_ema.synthesis.input is not a SynthesisInput')
    rec_in = {k: _value(inp.state.get(k), f'{what}: G_ema.synthesis.input.{k}')
              for k in ('channels', 'size', 'sampling_rate', 'bandwidth')}
    return rec_in, layers


def expected_shapes(cfg, rec_in, layers):
    """Tensor names -> shapes implied by the recorded layer table (filters as the layers record)."""
    w, m = cfg['w_dim'], cfg['mapping']
    shapes = {}
    features = [cfg['z_dim']] + [w] * m['num_layers']
    for i in range(m['num_layers']):
        shapes[f'mapping.fc{i}.weight'] = (features[i + 1], features[i])
        shapes[f'mapping.fc{i}.bias'] = (features[i + 1],)
    shapes['mapping.w_avg'] = (w,)
    c0 = rec_in['channels']
    shapes.update({'synthesis.input.weight': (c0, c0), 'synthesis.input.affine.weight': (4, w),
                   'synthesis.input.affine.bias': (4,), 'synthesis.input.transform': (3, 3),
                   'synthesis.input.freqs': (c0, 2), 'synthesis.input.phases': (c0,)})
    for L in layers:
        p, k = f"synthesis.{L['name']}", L['conv_kernel']
        shapes.update({f'{p}.weight': (L['out_channels'], L['in_channels'], k, k),
                       f'{p}.bias': (L['out_channels'],), f'{p}.magnitude_ema': (),
                       f'{p}.affine.weight': (L['in_channels'], w), f'{p}.affine.bias': (L['in_channels'],)})
        if L['up_taps'] > 1:
            shapes[f'{p}.up_filter'] = (L['up_taps'],)
        if L['down_taps'] > 1:
            shapes[f'{p}.down_filter'] = ((L['down_taps'],) * 2 if L['down_radial'] else (L['down_taps'],))
    return shapes


def convert(root, path, key='G_ema'):
    """stylegan3 snapshot contents -> (ordered {name: float32 tensor}, safetensors metadata)."""
    what = path
    g = root.get(key) if isinstance(root, dict) else None
    if g is None:
        raise ToolError(f"{what}: no '{key}' in this stylegan3 snapshot")
    if not isinstance(g, PersistentObject) or g.class_name != 'Generator':
        found = g.class_name if isinstance(g, PersistentObject) else type(g).__name__
        raise ToolError(f'{what}: {key} is a {found}, not a stylegan3 Generator')
    _check_sources(g, key, what)
    cfg = resolve_config(g, what)
    syn = (g.state.get('_modules') or {}).get('synthesis')
    if not isinstance(syn, PersistentObject):
        raise ToolError(f'{what}: {key} has no synthesis network')
    rec_in, layers = _recorded_geometry(syn, cfg, what)
    if g.state.get('num_ws') != cfg['num_ws']:
        raise ToolError(f"{what}: {key}.num_ws is {g.state.get('num_ws')!r}, expected {cfg['num_ws']}")
    cfg['input'] = rec_in
    cfg['layers'] = layers

    expected = expected_shapes(cfg, rec_in, layers)
    tensors = {}
    for name, t in state_dict_items(g, '', what):
        if not t.is_floating_point():
            raise ToolError(f'{what}: {name} has dtype {t.dtype}, expected floating point')
        tensors[name] = t.detach().to(torch.float32).contiguous()
    problems = [f'missing {n}' for n in expected if n not in tensors]
    problems += [f'unexpected {n}' for n in tensors if n not in expected]
    problems += [f'{n} has shape {list(tensors[n].shape)}, expected {list(s)}'
                 for n, s in expected.items() if n in tensors and tuple(tensors[n].shape) != s]
    problems += [f'{n} is not finite' for n, t in tensors.items() if not torch.isfinite(t).all()]
    raise_if_problems(what, f'{key} tensors do not match its recorded layers', problems)

    metadata = {'faceedit.arch': 'stylegan3', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.config': json.dumps(cfg)}
    return tensors, metadata
