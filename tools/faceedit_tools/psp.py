"""pixel2style2pixel (pSp) and encoder4editing (e4e) checkpoints -> faceedit files.

A checkpoint is {'state_dict': pSp.state_dict() (encoder.* and decoder.*), 'opts': dict, 'latent_avg'}.
  - the decoder is a rosinality Generator (rosinality.py), latent_avg its average W;
  - the encoder (GradualStyleEncoder or Encoder4Editing on the IR-SE backbone) keeps its own names
    without the `encoder.` prefix (models/psp_encoder.h mirrors them), with a config read from the
    tensors: stem width, one entry per bottleneck unit (in, depth, stride), the three FPN taps, the
    style heads' depth, and `latent_avg` broadcast to [n_styles, D] (files hold [D] or [n_styles, D]).

Which of the two (pSp: every W+ row from its own head; e4e: row 0's head repeated, the other heads
add deltas) is not visible in the tensors: opts['encoder_type'] says it.

IR-SE stages begin with a stride-2 unit. A stage whose first unit changes the width has a 1x1
shortcut convolution; one that keeps it (upstream's first stage 64->64, or shrunk variants) leaves
no trace in the weights. There are always four stages (the heads' depth gives the input size: 256
for 16x16 features at c3), so the hidden boundaries are placed at the earliest units for which the
FPN taps (last unit of stages 2, 3, 4) have the widths latlayer2, latlayer1 and the heads read.
Upstream IR-SE-50 (64/128/256/512 x 3/4/14/3) is fully determined.
"""
import itertools
import json
import os
import re

import torch

from . import ToolError, raise_if_problems, rosinality

KINDS = {'GradualStyleEncoder': 'psp', 'Encoder4Editing': 'e4e'}


def looks_like_psp(root):
    sd = root.get('state_dict') if isinstance(root, dict) else None
    return isinstance(sd, dict) and any(isinstance(k, str) and k.startswith('encoder.') for k in sd) and \
        any(isinstance(k, str) and k.startswith('decoder.') for k in sd)


def kind_of(root, path):
    opts = root.get('opts')
    enc = opts.get('encoder_type') if isinstance(opts, dict) else None
    if enc not in KINDS:
        raise ToolError(f"{path}: opts['encoder_type'] is {enc!r}; faceedit reads GradualStyleEncoder (pSp) and "
                        'Encoder4Editing (e4e) on the IR-SE backbone')
    if opts.get('learn_in_w'):
        raise ToolError(f'{path}: a pSp encoder that learns in W (learn_in_w) is not supported')
    return KINDS[enc]


def _part(sd, prefix):
    return {k[len(prefix):]: v for k, v in sd.items() if isinstance(k, str) and k.startswith(prefix)}


def _shape(sd, name, what):
    t = sd.get(name)
    if not isinstance(t, torch.Tensor):
        raise ToolError(f'{what}: missing tensor encoder.{name}')
    return list(t.shape)


def _indices(sd, pattern):
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in sd for m in [rx.fullmatch(k)] if m})


def encoder_config(enc, kind, what):
    stem = _shape(enc, 'input_layer.0.weight', what)
    width, in_ch = stem[0], stem[1]
    unit_ids = _indices(enc, r'body\.(\d+)\.res_layer\.1\.weight')
    if unit_ids != list(range(len(unit_ids))) or len(unit_ids) < 4:
        raise ToolError(f'{what}: body units {unit_ids[:8]}... are not 0..n-1 (n >= 4)')
    units = []
    for i in unit_ids:
        depth, cin = _shape(enc, f'body.{i}.res_layer.1.weight', what)[:2]
        units.append({'in': cin, 'depth': depth, 'conv_shortcut': f'body.{i}.shortcut_layer.0.weight' in enc,
                      'se_hidden': _shape(enc, f'body.{i}.res_layer.5.fc1.weight', what)[0]})
    head_ids = _indices(enc, r'styles\.(\d+)\.linear\.weight')
    if head_ids != list(range(len(head_ids))) or not head_ids:
        raise ToolError(f'{what}: style heads {head_ids[:8]} are not 0..n-1')
    heads = [len(_indices(enc, rf'styles\.{h}\.convs\.(\d+)\.weight')) for h in head_ids]
    head_in = _shape(enc, 'styles.0.convs.0.weight', what)[1]
    w_dim = _shape(enc, 'styles.0.linear.weight', what)[0]
    lat1 = _shape(enc, 'latlayer1.weight', what)
    lat2 = _shape(enc, 'latlayer2.weight', what)
    # FPN levels: heads reading c3 have the fewest convs, then p2, then p1 (one more each).
    levels = sorted(set(heads))
    if len(levels) != 3 or levels[1] != levels[0] + 1 or levels[2] != levels[1] + 1 or heads != sorted(heads):
        raise ToolError(f'{what}: style heads of {heads} stride-2 convolutions do not read three FPN levels in order')
    coarse, middle = heads.count(levels[0]), heads.count(levels[0]) + heads.count(levels[1])
    input_size = 2 ** (levels[0] + 4)  # c3 (2^levels[0] px) after four stride-2 stages

    known = {0} | {i for i, u in enumerate(units) if u['conv_shortcut']}
    free = [i for i in range(1, len(units)) if i not in known]
    choice = None
    for extra in itertools.combinations(free, 4 - len(known)) if len(known) <= 4 else []:
        starts = sorted(known | set(extra))
        taps = [starts[2] - 1, starts[3] - 1, len(units) - 1]
        if [units[t]['depth'] for t in taps] == [lat2[1], lat1[1], head_in]:
            choice = starts
            break
    if choice is None:
        raise ToolError(f'{what}: cannot split the {len(units)} IR-SE units into four stages whose FPN taps have '
                        f'the widths latlayer2 ({lat2[1]}), latlayer1 ({lat1[1]}) and the heads ({head_in}) read')
    for i, u in enumerate(units):
        u['stride'] = 2 if i in choice else 1
        if not u['conv_shortcut'] and u['in'] != u['depth']:
            raise ToolError(f'{what}: body.{i} changes the width without a shortcut convolution')
    return {'kind': kind, 'input_size': input_size, 'input_channels': in_ch, 'stem': width,
            'units': [{k: u[k] for k in ('in', 'depth', 'stride', 'se_hidden')} for u in units],
            'taps': [choice[2] - 1, choice[3] - 1, len(units) - 1],
            'stage_units': [b - a for a, b in zip(choice, choice[1:] + [len(units)])],
            'fpn_width': lat1[0], 'head_convs': heads, 'coarse': coarse, 'middle': middle,
            'n_styles': len(heads), 'w_dim': w_dim}


def _expected(cfg):
    """Encoder tensor names -> shapes for a config (BatchNorm counters dropped beforehand)."""
    s, ex = cfg['stem'], {}

    def bn(p, c):
        ex.update({f'{p}.weight': [c], f'{p}.bias': [c], f'{p}.running_mean': [c], f'{p}.running_var': [c]})

    ex['input_layer.0.weight'] = [s, cfg['input_channels'], 3, 3]
    bn('input_layer.1', s)
    ex['input_layer.2.weight'] = [s]
    for i, u in enumerate(cfg['units']):
        p, cin, d = f'body.{i}', u['in'], u['depth']
        if cin != d:
            ex[f'{p}.shortcut_layer.0.weight'] = [d, cin, 1, 1]
            bn(f'{p}.shortcut_layer.1', d)
        bn(f'{p}.res_layer.0', cin)
        ex[f'{p}.res_layer.1.weight'] = [d, cin, 3, 3]
        ex[f'{p}.res_layer.2.weight'] = [d]
        ex[f'{p}.res_layer.3.weight'] = [d, d, 3, 3]
        bn(f'{p}.res_layer.4', d)
        ex[f'{p}.res_layer.5.fc1.weight'] = [u['se_hidden'], d, 1, 1]
        ex[f'{p}.res_layer.5.fc2.weight'] = [d, u['se_hidden'], 1, 1]
    f, w = cfg['fpn_width'], cfg['w_dim']
    c1, c2 = cfg['units'][cfg['taps'][0]]['depth'], cfg['units'][cfg['taps'][1]]['depth']
    ex.update({'latlayer1.weight': [f, c2, 1, 1], 'latlayer1.bias': [f],
               'latlayer2.weight': [f, c1, 1, 1], 'latlayer2.bias': [f]})
    for h, n in enumerate(cfg['head_convs']):
        for j in range(n):
            ex[f'styles.{h}.convs.{2 * j}.weight'] = [w, f if j == 0 else w, 3, 3]
            ex[f'styles.{h}.convs.{2 * j}.bias'] = [w]
        ex[f'styles.{h}.linear.weight'] = [w, w]
        ex[f'styles.{h}.linear.bias'] = [w]
    return ex


def convert_encoder(root, path):
    kind = kind_of(root, path)
    enc = {k: v for k, v in _part(root['state_dict'], 'encoder.').items() if not k.endswith('.num_batches_tracked')}
    cfg = encoder_config(enc, kind, path)
    if cfg['fpn_width'] != _shape(enc, 'styles.0.convs.0.weight', path)[1]:
        raise ToolError(f'{path}: the FPN laterals and the style heads disagree on the feature width')
    expected = _expected(cfg)
    problems = [f'missing encoder.{n}' for n in expected if n not in enc]
    problems += [f'unexpected encoder.{n}' for n in enc if n not in expected]
    problems += [f'encoder.{n} has shape {list(enc[n].shape)}, expected {s}' for n, s in expected.items()
                 if n in enc and isinstance(enc[n], torch.Tensor) and list(enc[n].shape) != s]
    problems += [f'encoder.{n} is not a floating-point tensor' for n in expected
                 if n in enc and not (isinstance(enc[n], torch.Tensor) and enc[n].is_floating_point())]
    raise_if_problems(path, 'encoder tensors do not fit the config inferred from them', problems)
    tensors = {n: enc[n].detach().float().contiguous() for n in expected}
    opts = root.get('opts') if isinstance(root.get('opts'), dict) else {}
    avg = root.get('latent_avg')
    n, w = cfg['n_styles'], cfg['w_dim']
    start_from_avg = bool(opts.get('start_from_latent_avg', True))
    if start_from_avg:
        if not isinstance(avg, torch.Tensor) or list(avg.shape) not in ([w], [n, w]):
            got = list(avg.shape) if isinstance(avg, torch.Tensor) else type(avg).__name__
            raise ToolError(f'{path}: latent_avg is {got}, expected [{w}] or [{n}, {w}]')
        tensors['latent_avg'] = avg.detach().float().expand(n, w).contiguous()
    else:
        tensors['latent_avg'] = torch.zeros(n, w)
    cfg['start_from_latent_avg'] = start_from_avg
    meta = {'faceedit.arch': 'psp-encoder', 'faceedit.format_version': '1', 'faceedit.source': os.path.basename(path),
            'faceedit.source_format': kind, 'faceedit.config': json.dumps(cfg)}
    return tensors, meta


def convert_decoder(root, path):
    kind = kind_of(root, path)
    dec = _part(root['state_dict'], 'decoder.')
    avg = root.get('latent_avg')
    if avg is not None and not isinstance(avg, torch.Tensor):
        raise ToolError(f'{path}: latent_avg is a {type(avg).__name__}, not a tensor')
    if not rosinality.looks_like_generator(dec):
        raise ToolError(f'{path}: decoder.* is not a rosinality Generator state dict')
    tensors, meta = rosinality.convert_generator(dec, path, f'{path} [decoder]', avg, 'decoder')
    meta['faceedit.source_format'] = kind
    return tensors, meta


def convert(root, path, network):
    if network == 'E':
        return convert_encoder(root, path)
    if network == 'G_ema':
        return convert_decoder(root, path)
    raise ToolError(f'{path}: a {kind_of(root, path)} checkpoint holds an encoder (--network E) and a decoder '
                    f'(--network G_ema), no {network}')

