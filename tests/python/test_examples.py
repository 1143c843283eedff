"""examples/python: the walkthrough's images, the PyTorch inversion against the library's."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

import faceedit
from conftest import LANDMARKS, PHOTO, ROOT, SHARED, require

EXAMPLES = ROOT / "examples" / "python"


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{name} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_walkthrough_writes_the_images_it_says(tmp_path, dcgan):
    require(SHARED / "models/dcgan-celeba32/generator.pt")
    require(PHOTO)
    require(LANDMARKS)
    run_example("walkthrough.py", tmp_path, PHOTO)
    with torch.no_grad():
        faces = faceedit.to_images(dcgan.generate(seeds=range(8)))
    got = faceedit.read_image(str(tmp_path / "faces.png"))
    # (Another process, maybe another thread count: a rounding step of 1 at most.)
    assert np.abs(got.astype(int) - np.concatenate(faces, axis=1)).max() <= 1
    sweep = faceedit.read_image(str(tmp_path / "sweep.png"))
    assert sweep.shape == (4 * 32, 3 * 32, 3)
    for i in range(4):
        row = sweep[32 * i:32 * (i + 1)]
        assert np.abs(row[:, 32:64].astype(int) - faces[i]).max() <= 1  # strength 0 is the face itself
        assert np.abs(row[:, :32].astype(int) - faces[i]).mean() > 2  # -3 and +3 change it
        assert np.abs(row[:, 64:].astype(int) - faces[i]).mean() > 2
    before_after = faceedit.read_image(str(tmp_path / "photo_before_after.png"))
    photo = faceedit.read_image(str(PHOTO))
    h, w, _ = photo.shape
    assert before_after.shape == (h, 2 * w, 3)
    assert np.array_equal(before_after[:, :w], photo)
    edited = before_after[:, w:]
    changed = np.abs(edited.astype(int) - photo).max(axis=2) > 0
    assert 0 < changed.mean() < 0.5  # the face changed, most of the photo did not


def test_pytorch_inversion_reaches_the_librarys_psnr(dcgan):
    require(PHOTO)
    require(LANDMARKS)
    out = json.loads(run_example("invert.py", PHOTO, "--steps", "150").strip().splitlines()[-1])
    # Both start from one random code and run MSE with Adam for the same steps: within noise (1 dB).
    assert out["python_psnr"] > out["library_psnr"] - 1.0, out
