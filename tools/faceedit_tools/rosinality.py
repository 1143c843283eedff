"""rosinality/stylegan2-pytorch Generator and Discriminator state dicts -> faceedit's StyleGAN2 names.

The arithmetic of rosinality's model.py is NVIDIA's (equalised learning rate, modulated and
demodulated convolutions, transposed-conv + [1,3,3,1] FIR up-sampling, skip to-RGB, resnet D with
minibatch stddev); only names, layouts and the width table differ, so the tensors are renamed and
reshaped, never recomputed:

  style.<i>.{weight,bias}             -> mapping.fc<i-1>.*            (lr_mul 0.01 in both)
  input.input [1,C,4,4]               -> synthesis.b4.const [C,4,4]
  conv1 / convs.<2k> / convs.<2k+1>   -> b4.conv1 / b<8*2^k>.conv0 / .conv1
      conv.weight [1,O,I,3,3] -> weight [O,I,3,3];  conv.modulation.* -> affine.*
      noise.weight [1] -> noise_strength [];  activate.bias -> bias
  to_rgb1 / to_rgbs.<k>               -> b4.torgb / b<8*2^k>.torgb   (bias [1,3,1,1] -> [3])
  noises.noise_<i> [1,1,R,R]          -> the layer's noise_const [R,R]  (noise_mode const = randomize_noise=False)
  *.kernel (blur / upsample FIR)      -> checked to be make_kernel([1,3,3,1]) (x4 where up-sampling), dropped

Every width is read from the tensors (a channel table in the config), never from constants.
rosinality keeps no average W: a checkpoint's `latent_avg` (convert_weight.py and pSp/e4e store
one) becomes mapping.w_avg; otherwise w_avg is the mean W of 4096 N(0,1) samples (seed 0), as
rosinality's own `g_ema.mean_latent(4096)` estimates it -- pass `--truncation-mean` for the exact one.
"""
import json
import math
import os
import re

import torch

from . import ToolError, raise_if_problems

FORMAT = 'rosinality-stylegan2'
LR_MLP = 0.01  # Generator(lr_mlp=0.01): not stored in checkpoints; every published model uses it
W_AVG_SAMPLES = 4096


def looks_like_generator(sd):
    return isinstance(sd, dict) and all(k in sd for k in ('style.1.weight', 'input.input', 'conv1.conv.weight'))


def looks_like_discriminator(sd):
    return isinstance(sd, dict) and all(k in sd for k in ('convs.0.0.weight', 'final_conv.0.weight', 'final_linear.1.weight'))


def _kernel(upsample_factor):
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return k / k.sum() * upsample_factor ** 2


def _shape(sd, name, what):
    t = sd.get(name)
    if not isinstance(t, torch.Tensor):
        raise ToolError(f'{what}: missing tensor {name!r}' if t is None else f'{what}: {name} is not a tensor')
    return list(t.shape)


def _count(sd, pattern):
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if isinstance(k, str) for m in [rx.fullmatch(k)] if m})


def _take(sd, expected, what, label):
    """Checks names and shapes (kernels by value) against `expected` {name: shape}; returns float32 tensors."""
    problems = [f'missing {n}' for n in expected if n not in sd]
    problems += [f'unexpected {n}' for n in sd if n not in expected]
    problems += [f'{n} is not a floating-point tensor' for n in expected
                 if n in sd and not (isinstance(sd[n], torch.Tensor) and sd[n].is_floating_point())]
    problems += [f'{n} has shape {list(sd[n].shape)}, expected {list(s)}' for n, s in expected.items()
                 if n in sd and isinstance(sd[n], torch.Tensor) and list(sd[n].shape) != list(s)]
    raise_if_problems(what, f'{label} tensors do not fit the config inferred from them', problems)
    for n in expected:
        if n.endswith('.kernel'):
            factor = 1 if '.skip.' in n or '.conv2.' in n else 2
            if not torch.allclose(sd[n].double(), _kernel(factor).double(), rtol=0, atol=1e-6):
                raise ToolError(f'{what}: {n} is not the [1,3,3,1] blur kernel faceedit implements')
    return {n: sd[n].detach().to(torch.float32).contiguous() for n in expected}


def generator_config(sd, what):
    """The config of a rosinality Generator, read from its tensor shapes."""
    n_mlp = _count(sd, r'style\.(\d+)\.weight')
    dim = _shape(sd, 'style.1.weight', what)[1]
    n_convs = _count(sd, r'convs\.(\d+)\.conv\.weight')
    if n_mlp < 1 or n_convs % 2:
        raise ToolError(f'{what}: {n_mlp} mapping layers and {n_convs} styled convolutions do not make a rosinality Generator')
    log_size = 2 + n_convs // 2
    table = [_shape(sd, 'input.input', what)[1]] + [_shape(sd, f'convs.{2 * k}.conv.weight', what)[1]
                                                    for k in range(n_convs // 2)]
    img_channels = _shape(sd, 'to_rgb1.conv.weight', what)[1]
    res = 2 ** log_size
    return {'z_dim': dim, 'c_dim': 0, 'w_dim': dim, 'img_resolution': res, 'img_channels': img_channels,
            'num_ws': 2 * log_size - 2,
            'mapping': {'num_layers': n_mlp, 'lr_multiplier': LR_MLP},
            'synthesis': {'channel_base': table[0] * 4, 'channel_max': max(table), 'conv_clamp': None,
                          'architecture': 'skip', 'use_noise': True, 'channels': table}}


def _generator_names(cfg):
    """rosinality name -> (faceedit name or None for dropped kernels, rosinality shape)."""
    d, table, img_ch = cfg['w_dim'], cfg['synthesis']['channels'], cfg['img_channels']
    names = {}
    for i in range(1, cfg['mapping']['num_layers'] + 1):
        names[f'style.{i}.weight'] = (f'mapping.fc{i - 1}.weight', [d, d])
        names[f'style.{i}.bias'] = (f'mapping.fc{i - 1}.bias', [d])
    names['input.input'] = ('synthesis.b4.const', [1, table[0], 4, 4])

    def styled(src, dst, cin, cout, res, noise, up):
        names.update({f'{src}.conv.weight': (f'{dst}.weight', [1, cout, cin, 3, 3]),
                      f'{src}.conv.modulation.weight': (f'{dst}.affine.weight', [cin, d]),
                      f'{src}.conv.modulation.bias': (f'{dst}.affine.bias', [cin]),
                      f'{src}.noise.weight': (f'{dst}.noise_strength', [1]),
                      f'{src}.activate.bias': (f'{dst}.bias', [cout]),
                      f'noises.noise_{noise}': (f'{dst}.noise_const', [1, 1, res, res])})
        if up:
            names[f'{src}.conv.blur.kernel'] = (None, [4, 4])

    def to_rgb(src, dst, cin, up):
        names.update({f'{src}.conv.weight': (f'{dst}.weight', [1, img_ch, cin, 1, 1]),
                      f'{src}.conv.modulation.weight': (f'{dst}.affine.weight', [cin, d]),
                      f'{src}.conv.modulation.bias': (f'{dst}.affine.bias', [cin]),
                      f'{src}.bias': (f'{dst}.bias', [1, img_ch, 1, 1])})
        if up:
            names[f'{src}.upsample.kernel'] = (None, [4, 4])

    styled('conv1', 'synthesis.b4.conv1', table[0], table[0], 4, 0, False)
    to_rgb('to_rgb1', 'synthesis.b4.torgb', table[0], False)
    for k in range(len(table) - 1):
        res, cin, cout = 8 * 2 ** k, table[k], table[k + 1]
        styled(f'convs.{2 * k}', f'synthesis.b{res}.conv0', cin, cout, res, 2 * k + 1, True)
        styled(f'convs.{2 * k + 1}', f'synthesis.b{res}.conv1', cout, cout, res, 2 * k + 2, False)
        to_rgb(f'to_rgbs.{k}', f'synthesis.b{res}.torgb', cout, True)
    return names


def _estimate_w_avg(tensors, cfg):
    """Mean W of 4096 N(0,1) samples through the converted mapping (PixelNorm, EqualLinear + fused lrelu)."""
    z = torch.randn(W_AVG_SAMPLES, cfg['z_dim'], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
    lr = cfg['mapping']['lr_multiplier']
    for i in range(cfg['mapping']['num_layers']):
        w, b = tensors[f'mapping.fc{i}.weight'].double(), tensors[f'mapping.fc{i}.bias'].double()
        x = torch.nn.functional.leaky_relu(x @ (w * lr / math.sqrt(w.shape[1])).t() + b * lr, 0.2) * math.sqrt(2)
    return x.mean(0).float()


def convert_generator(sd, path, what, latent_avg=None, label='g_ema'):
    """Generator state dict -> (faceedit tensors, metadata). latent_avg: [D] or [n, D] (pSp/e4e) or None."""
    cfg = generator_config(sd, what)
    names = _generator_names(cfg)
    src = _take(sd, {n: s for n, (_, s) in names.items()}, what, label)
    tensors = {}
    for n, (dst, _) in names.items():
        if dst is None:
            continue
        t = src[n]
        if dst.endswith('.weight') and t.dim() == 5:
            t = t[0]
        elif dst.endswith('.noise_const'):
            t = t[0, 0]
        elif dst.endswith('noise_strength'):
            t = t.reshape(())
        elif dst.endswith('.const'):
            t = t[0]
        elif dst.endswith('torgb.bias'):
            t = t.reshape(-1)
        tensors[dst] = t.contiguous()
    if latent_avg is not None:
        avg = latent_avg.detach().to(torch.float32)
        if avg.dim() == 2 and avg.shape[1] == cfg['w_dim']:
            avg = avg[0] if bool((avg == avg[0]).all()) else avg.mean(0)
        if list(avg.shape) != [cfg['w_dim']]:
            raise ToolError(f'{what}: latent_avg has shape {list(latent_avg.shape)}, expected [{cfg["w_dim"]}] or '
                            f'[n, {cfg["w_dim"]}]')
        source = 'latent_avg'
    else:
        avg, source = _estimate_w_avg(tensors, cfg), f'mean W of {W_AVG_SAMPLES} N(0,1) samples (seed 0)'
    tensors['mapping.w_avg'] = avg.contiguous()
    metadata = {'faceedit.arch': 'stylegan2', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.source_format': FORMAT,
                'faceedit.w_avg': source, 'faceedit.config': json.dumps(cfg)}
    return tensors, metadata


def discriminator_config(sd, what):
    n_blocks = _count(sd, r'convs\.(\d+)\.conv1\.0\.weight')
    log_size = n_blocks + 2
    # channels at 4, 8, ..., size: a block at resolution r maps C_r -> C_(r/2).
    table = [_shape(sd, 'final_conv.0.weight', what)[0]]
    for r_log in range(3, log_size + 1):
        i = log_size - r_log + 1
        table.append(_shape(sd, f'convs.{i}.conv1.0.weight', what)[0])
    return {'c_dim': 0, 'img_resolution': 2 ** log_size, 'img_channels': _shape(sd, 'convs.0.0.weight', what)[1],
            'architecture': 'resnet', 'channel_base': table[0] * 4, 'channel_max': max(table), 'conv_clamp': None,
            'mbstd_group_size': 4, 'mbstd_num_channels': 1, 'channels': table}


def convert_discriminator(sd, path, what, label='d'):
    cfg = discriminator_config(sd, what)
    table, res = cfg['channels'], cfg['img_resolution']
    names = {'convs.0.0.weight': (f'b{res}.fromrgb.weight', [table[-1], cfg['img_channels'], 1, 1]),
             'convs.0.1.bias': (f'b{res}.fromrgb.bias', [table[-1]])}
    log_size = int(math.log2(res))
    for r_log in range(log_size, 2, -1):
        r, i = 2 ** r_log, log_size - r_log + 1
        cin, cout = table[r_log - 2], table[r_log - 3]
        names.update({f'convs.{i}.conv1.0.weight': (f'b{r}.conv0.weight', [cin, cin, 3, 3]),
                      f'convs.{i}.conv1.1.bias': (f'b{r}.conv0.bias', [cin]),
                      f'convs.{i}.conv2.0.kernel': (None, [4, 4]),
                      f'convs.{i}.conv2.1.weight': (f'b{r}.conv1.weight', [cout, cin, 3, 3]),
                      f'convs.{i}.conv2.2.bias': (f'b{r}.conv1.bias', [cout]),
                      f'convs.{i}.skip.0.kernel': (None, [4, 4]),
                      f'convs.{i}.skip.1.weight': (f'b{r}.skip.weight', [cout, cin, 1, 1])})
    c4 = table[0]
    names.update({'final_conv.0.weight': ('b4.conv.weight', [c4, c4 + 1, 3, 3]),
                  'final_conv.1.bias': ('b4.conv.bias', [c4]),
                  'final_linear.0.weight': ('b4.fc.weight', [c4, c4 * 16]),
                  'final_linear.0.bias': ('b4.fc.bias', [c4]),
                  'final_linear.1.weight': ('b4.out.weight', [1, c4]),
                  'final_linear.1.bias': ('b4.out.bias', [1])})
    src = _take(sd, {n: s for n, (_, s) in names.items()}, what, label)
    tensors = {dst: src[n] for n, (dst, _) in names.items() if dst is not None}
    metadata = {'faceedit.arch': 'stylegan2-discriminator', 'faceedit.format_version': '1',
                'faceedit.source': os.path.basename(path), 'faceedit.source_format': FORMAT,
                'faceedit.config': json.dumps(cfg)}
    return tensors, metadata


NETWORK_KEYS = {'G_ema': 'g_ema', 'G': 'g', 'D': 'd'}


def convert(root, path, network='G_ema'):
    """A train.py checkpoint ({'g', 'd', 'g_ema', ...}), a convert_weight.py one ({'g_ema', 'latent_avg'})
    or a bare Generator state dict -> (tensors, metadata) of the chosen network."""
    if looks_like_generator(root):
        if network != 'G_ema':
            raise ToolError(f'{path}: a bare rosinality Generator state dict has no {network}')
        return convert_generator(root, path, path, label='generator')
    key = NETWORK_KEYS[network]
    sd = root.get(key) if isinstance(root, dict) else None
    if sd is None:
        keys = sorted(map(str, root)) if isinstance(root, dict) else type(root).__name__
        raise ToolError(f"{path}: no '{key}' in this rosinality checkpoint (keys: {keys})")
    what = f'{path} [{key}]'
    if network == 'D':
        if not looks_like_discriminator(sd):
            raise ToolError(f'{what}: not a rosinality Discriminator state dict')
        return convert_discriminator(sd, path, what, key)
    if not looks_like_generator(sd):
        raise ToolError(f'{what}: not a rosinality Generator state dict')
    latent_avg = root.get('latent_avg')
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise ToolError(f'{path}: latent_avg is a {type(latent_avg).__name__}, not a tensor')
    return convert_generator(sd, path, what, latent_avg, key)
