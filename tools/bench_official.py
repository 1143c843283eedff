#!/usr/bin/python3
"""Time NVIDIA's official StyleGAN2 networks (stylegan2-ada-pytorch) for `faceedit bench`'s modes.

The baseline of faceedit's speed targets: the same step, the same architecture (FFHQ config-f,
random weights, fp32, batch 1, const noise), on the same machine, run beside faceedit. The official
code is not part of faceedit: pass the path of a copy of https://github.com/NVlabs/stylegan2-ada-pytorch
(its files are imported from there, nothing is copied). Run under Debian's python3 (python3-torch):

  /usr/bin/python3 tools/bench_official.py --repo /tmp/stylegan2-ada-pytorch --mode invert --resolution 256

Prints one JSON line with the keys `faceedit bench` prints (step_ms_median, mode, resolution, batch).
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repo', required=True, help='a copy of stylegan2-ada-pytorch')
    p.add_argument('--mode', choices=['synth', 'invert', 'tune'], default='invert')
    p.add_argument('--resolution', type=int, default=256)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    a = p.parse_args()
    if not os.path.isfile(os.path.join(a.repo, 'training', 'networks.py')):
        sys.exit(f'{a.repo}: not a stylegan2-ada-pytorch copy (no training/networks.py)')
    sys.path.insert(0, a.repo)
    import torch
    from training.networks import Generator
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    # FFHQ config-f, as faceedit's bench builds it: channel_base 32768, channel_max 512, 8 mapping
    # layers, conv_clamp 256. On the CPU the official ops take their reference paths.
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=a.resolution, img_channels=3,
                  mapping_kwargs=dict(num_layers=8),
                  synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256)).eval()
    with torch.no_grad():
        ws = G.mapping(torch.randn(1, 512, generator=torch.Generator().manual_seed(0)), None)
        target = G.synthesis(G.mapping(torch.randn(1, 512, generator=torch.Generator().manual_seed(1)), None),
                             noise_mode='const')
    params = [t for t in G.synthesis.parameters()]
    for t in params:
        t.requires_grad_(a.mode == 'tune')
    ws.requires_grad_(a.mode == 'invert')

    def step():
        if a.mode == 'synth':
            with torch.no_grad():
                G.synthesis(ws, noise_mode='const')
            return
        loss = (G.synthesis(ws, noise_mode='const') - target).square().mean()
        torch.autograd.grad([loss], [ws] if a.mode == 'invert' else params, allow_unused=True)

    step()  # warm-up
    ms = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    print(json.dumps({'implementation': 'stylegan2-ada-pytorch', 'torch': torch.__version__,
                      'threads': torch.get_num_threads(), 'mode': a.mode, 'resolution': a.resolution,
                      'batch': 1, 'repeat': a.repeat, 'step_ms_median': ms[len(ms) // 2], 'step_ms_min': ms[0]}))


if __name__ == '__main__':
    main()
