# %% [markdown]
# # faceedit from Python: a walkthrough
# Cells for VS Code / Jupyter (`# %%`), or run it whole:
#     PYTHONPATH=build/python /usr/bin/python3 examples/python/walkthrough.py OUT_DIR [PHOTO]
# It writes faces.png, sweep.png and (given a photo) photo_before_after.png into OUT_DIR;
# tests/python/test_examples.py runs it and checks those images.

# %%
import os
import sys

import numpy as np
import torch

import faceedit

out_dir = sys.argv[1] if len(sys.argv) > 1 else "walkthrough-out"
photo = sys.argv[2] if len(sys.argv) > 2 else None
os.makedirs(out_dir, exist_ok=True)


def grid(images, cols):
    """numpy RGB images (all one size) -> one image, `cols` per row."""
    rows = [np.concatenate(images[i:i + cols], axis=1) for i in range(0, len(images), cols)]
    return np.concatenate(rows, axis=0)


# %% [markdown]
# ## A generator, faces from seeds
# Seeds give the latents NVIDIA's generate.py gives; tensors are PyTorch's, shared, not copied.

# %%
g = faceedit.open_generator("dcgan-celeba32")
print(g, g.info["parameters"], "parameters")
with torch.no_grad():
    faces = g.generate(seeds=range(8))                 # [8, 3, 32, 32] in about [-1, 1]
faceedit.write_image(os.path.join(out_dir, "faces.png"), grid(faceedit.to_images(faces), 8))

# %% [markdown]
# ## A direction, an editor, a sweep
# Here the boundary is trained on made-up scores (a known direction) so the walkthrough needs no
# classifier; `faceedit.sample` + `faceedit.train_boundary(samples=...)` train real ones.

# %%
gen = torch.Generator().manual_seed(0)
latents = torch.rand(2000, g.z_dim, generator=gen) * 2 - 1
direction = torch.randn(g.z_dim, generator=gen)
boundary = faceedit.train_boundary(latents, latents @ direction, attribute="smiling", space="z", ratio=0.1)
print("cosine with the made-up direction:", float(boundary.normal @ direction / direction.norm()))
boundary.save(os.path.join(out_dir, "direction.safetensors"))

editor = faceedit.open_editor(g=g, boundary=os.path.join(out_dir, "direction.safetensors"))
codes = g.codes(range(4), space=editor.space)
strengths = [-3.0, 0.0, 3.0]
with torch.no_grad():
    sweep = [g.synthesize(editor.apply(codes, s), space=editor.space) for s in strengths]
tiles = [faceedit.to_images(sweep[k][i]) for i in range(4) for k in range(len(strengths))]
faceedit.write_image(os.path.join(out_dir, "sweep.png"), grid(tiles, len(strengths)))

# %% [markdown]
# ## A real photo
# prepare() aligns and inverts once; render() edits it any number of times.

# %%
if photo:
    session = faceedit.PhotoSession(g, crop=128, inversion_steps=30, starts=1, guide="none", segmenter="none",
                                    identity_judge="none", cache=None)
    prepared = session.prepare(photo, space="z", progress=lambda r: r.get("stage") and print(r["stage"], r["seconds"]))
    result = session.render({"boundary": os.path.join(out_dir, "direction.safetensors"), "strength": 3})
    before = faceedit.read_image(photo)
    faceedit.write_image(os.path.join(out_dir, "photo_before_after.png"), np.concatenate([before, result.photo], axis=1))
    print("inversion:", prepared["inversion"].get("psnr"), "dB")
