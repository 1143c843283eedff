"""An inversion written in PyTorch on g.synthesize: find the latent whose image is a photo's aligned
face, with torch.optim, and compare with the library's own inversion of the same crop.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/invert.py PHOTO [--steps 300] [--model dcgan-celeba32]

Prints one JSON line: the PSNR of both inversions against the crop (as the generator sees it).
"""
import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

import faceedit


def psnr(a, b):
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    mse = (a.clamp(-1, 1) - b).square().mean().item()
    return 10 * np.log10(4.0 / max(mse, 1e-12))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("photo")
    ap.add_argument("--model", default="dcgan-celeba32")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    g = faceedit.open_generator(args.model)
    # The library aligns the face (and inverts it, for comparison) with the same settings.
    session = faceedit.PhotoSession(g, inversion_steps=args.steps, starts=1, guide="none", segmenter="none",
                                    identity_judge="none", cache=None)
    prepared = session.prepare(args.photo, space="z" if g.w_dim == 0 else "wplus")
    crop = torch.from_numpy(prepared["aligned"]).permute(2, 0, 1)[None].float() / 127.5 - 1
    target = F.interpolate(crop, size=(g.resolution, g.resolution), mode="area")

    # Our own loop: Adam on the latent, pixel MSE, the prior's box for the DCGAN's uniform Z.
    torch.manual_seed(args.seed)
    if g.w_dim == 0:
        space, latent = "z", (torch.rand(1, g.z_dim) * 2 - 1)
    else:
        space, latent = "wplus", g.mapping(g.sample_z(n=256, seed=args.seed)).mean(0, keepdim=True)
    latent.requires_grad_(True)
    opt = torch.optim.Adam([latent], lr=args.lr)
    for step in range(args.steps):
        opt.zero_grad()
        loss = F.mse_loss(g.synthesize(latent, space=space), target)
        loss.backward()
        opt.step()
        if space == "z":
            with torch.no_grad():
                latent.clamp_(-1, 1)
    with torch.no_grad():
        ours = psnr(g.synthesize(latent, space=space), target)
        library = psnr(g.synthesize(prepared["latent"], space=prepared["space"]), target)
    print(json.dumps({"python_psnr": round(ours, 3), "library_psnr": round(library, 3), "steps": args.steps,
                      "library_report": prepared["inversion"]}))


if __name__ == "__main__":
    main()
