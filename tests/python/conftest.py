"""Shared setup of the Python tests (run by ctest as test_python, or by hand:
PYTHONPATH=build/python FACEEDIT_CLI=build/faceedit /usr/bin/python3 -m pytest tests/python)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FACEEDIT_BUILD", ROOT / "build"))
# Converted models are cached per build tree, shared by the CLI and the module (both read FACEEDIT_CACHE).
os.environ.setdefault("FACEEDIT_CACHE", str(BUILD / "python-test-cache"))
os.environ.setdefault("FACEEDIT_TOOLS", str(ROOT / "tools"))
if str(BUILD / "python") not in sys.path and not any(pathlib.Path(p, "faceedit").is_dir() for p in sys.path if p):
    sys.path.insert(0, str(BUILD / "python"))

import faceedit  # noqa: E402  (after the environment above)

# The CLI's default threads (all cores, OpenBLAS on one): the same reductions, so the same bits.
faceedit.set_threads(0)

SHARED = pathlib.Path(os.environ.get("FACEEDIT_SHARED", ROOT.parent / "shared"))
CLI = pathlib.Path(os.environ.get("FACEEDIT_CLI", BUILD / "faceedit"))
PHOTO = SHARED / "data/celebahq-photos/000004.jpg"
LANDMARKS = pathlib.Path(os.environ.get("FACEEDIT_DLIB_LANDMARKS", "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"))


def require(path):
    if not pathlib.Path(path).exists():
        pytest.skip(f"{path} is absent (shared data: set FACEEDIT_SHARED)")
    return pathlib.Path(path)


def run_cli(*args):
    """Runs build/faceedit; returns its stdout. Fails the test with its stderr on an error."""
    if not CLI.exists():
        pytest.skip(f"{CLI} is not built (set FACEEDIT_CLI)")
    r = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, f"faceedit {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def dcgan():
    require(SHARED / "models/dcgan-celeba32/generator.pt")
    return faceedit.open_generator("dcgan-celeba32")


@pytest.fixture(scope="session")
def tiny():
    require(SHARED / "fixtures/stylegan2-ada/tiny32.pkl")
    return faceedit.open_generator(str(SHARED / "fixtures/stylegan2-ada/tiny32.pkl"))


# Photo settings that need no trained guide or judges (as tests/pipeline/test_photo.cpp uses them).
PHOTO_SETTINGS = dict(crop=128, inversion_steps=8, starts=1, guide="none", segmenter="none", identity_judge="none")


@pytest.fixture(scope="session")
def smiling_boundary(tmp_path_factory, dcgan):
    """A boundary in the DCGAN's Z, trained by faceedit.train_boundary on synthetic scores."""
    import torch
    gen = torch.Generator().manual_seed(0)
    latents = torch.rand(2000, dcgan.z_dim, generator=gen) * 2 - 1
    direction = torch.randn(dcgan.z_dim, generator=gen)
    scores = latents @ direction
    b = faceedit.train_boundary(latents, scores, attribute="smiling", space="z", ratio=0.1)
    path = tmp_path_factory.mktemp("boundary") / "smiling.safetensors"
    b.save(str(path))
    return path
