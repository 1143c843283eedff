#!/usr/bin/python3
"""Time NVIDIA's official StyleGAN3 synthesis (NVlabs/stylegan3) beside `faceedit bench sg3-CFG-RES`.

Same architecture as faceedit's random-weight benchmark (train.py's presets: config T channel_base
32768 / channel_max 512; config R conv_kernel 1, radial filters, both doubled; mapping 2 layers,
z/w 512), fp32, batch 1, no gradients. On the CPU the official custom ops take their reference
paths (`impl='ref'`). The official code is not part of faceedit: pass the path of a copy of
https://github.com/NVlabs/stylegan3 (imported from there, nothing copied); it needs python3-scipy.

  /usr/bin/python3 tools/bench_official_sg3.py --repo /work/ext/stylegan3 --cfg t --resolution 256

Prints one JSON line with the keys `faceedit bench` prints (step_ms_median, resolution, batch).
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repo', required=True, help='a copy of NVlabs/stylegan3')
    p.add_argument('--cfg', choices=['t', 'r'], default='t')
    p.add_argument('--resolution', type=int, default=256)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1, help='untimed runs first (0 at 1024, where one image takes minutes)')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    a = p.parse_args()
    if not os.path.isfile(os.path.join(a.repo, 'training', 'networks_stylegan3.py')):
        sys.exit(f'{a.repo}: not a stylegan3 copy (no training/networks_stylegan3.py)')
    sys.path.insert(0, a.repo)
    import torch
    from training.networks_stylegan3 import Generator
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    kwargs = dict(channel_base=32768, channel_max=512, conv_clamp=256, num_fp16_res=0)
    if a.cfg == 'r':
        kwargs.update(conv_kernel=1, use_radial_filters=True, channel_base=65536, channel_max=1024)
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=a.resolution, img_channels=3,
                  mapping_kwargs=dict(num_layers=2), **kwargs).eval()
    with torch.no_grad():
        ws = G.mapping(torch.randn(1, 512, generator=torch.Generator().manual_seed(0)), None)

    def step():
        with torch.no_grad():
            G.synthesis(ws, noise_mode='const', force_fp32=True)

    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    print(json.dumps({'implementation': 'NVlabs/stylegan3', 'cfg': a.cfg, 'torch': torch.__version__,
                      'threads': torch.get_num_threads(), 'mode': 'synth', 'resolution': a.resolution,
                      'batch': 1, 'warmup': a.warmup, 'repeat': a.repeat, 'step_ms_median': ms[len(ms) // 2], 'step_ms_min': ms[0]}))


if __name__ == '__main__':
    main()
