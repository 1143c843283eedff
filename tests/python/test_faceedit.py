"""The Python module against the library and the CLI: shared tensors, identical results, gradients,
errors, callbacks, Ctrl-C."""
import inspect
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import faceedit
from conftest import BUILD, LANDMARKS, PHOTO, PHOTO_SETTINGS, SHARED, require, run_cli


# --- the module ---

def test_error_is_a_runtime_error_with_the_library_message():
    assert issubclass(faceedit.Error, RuntimeError)
    with pytest.raises(faceedit.Error, match="no-such-model.safetensors"):
        faceedit.open_generator("/nonexistent/no-such-model.safetensors")


def described(obj):
    """The docstring's text beyond the signature line pybind11 puts first."""
    doc = (obj.__doc__ or "").strip()
    if inspect.isclass(obj) or isinstance(obj, property):
        return doc
    first, _, rest = doc.partition("\n")
    return rest.strip() if "(" in first and ")" in first else doc


def test_everything_public_has_a_docstring_and_a_stub():
    stub = (pathlib.Path(faceedit.__file__).parent / "__init__.pyi").read_text()
    assert described(faceedit)
    for name in faceedit.__all__:
        obj = getattr(faceedit, name)
        assert described(obj), f"faceedit.{name} has no docstring"
        assert f"def {name}(" in stub or f"class {name}" in stub, f"faceedit.{name} is not in __init__.pyi"
        if inspect.isclass(obj) and name != "Error":
            for member, value in vars(obj).items():
                if not member.startswith("_"):
                    assert described(value), f"faceedit.{name}.{member} has no docstring"
                    assert f"def {member}(" in stub or f"{member}:" in stub, f"faceedit.{name}.{member} is not in __init__.pyi"
    assert "Opens a generator" in faceedit.open_generator.__doc__  # help() shows it


def test_torch_and_faceedit_share_one_libtorch():
    with open("/proc/self/maps") as maps:
        files = {os.path.realpath(line.split()[-1]) for line in maps if "libtorch_cpu" in line}
    assert len(files) == 1, files


def test_tensors_cross_without_copies():
    t = torch.randn(4, 100)
    assert faceedit._faceedit._testing.data_ptr(t) == t.data_ptr()
    back = faceedit._faceedit._testing.identity(t)
    assert back.data_ptr() == t.data_ptr()
    back[0, 0] = 42.0
    assert t[0, 0].item() == 42.0  # the same memory, not a copy
    # A view (offset, strides) crosses as the same view.
    v = t[1:, ::2]
    assert faceedit._faceedit._testing.data_ptr(v) == v.data_ptr()


def test_generator_tensors_are_the_models_own(dcgan):
    name, first = next(iter(dcgan.named_tensors().items()))
    again = dcgan.named_tensors()[name]
    assert first.data_ptr() == again.data_ptr()
    z = dcgan.sample_z(seeds=[3])
    with torch.no_grad():
        before = dcgan.synthesize(z)
        p = dcgan.parameters()[-1]
        saved = p.clone()
        p.add_(0.5)  # changing it in PyTorch changes the model
        after = dcgan.synthesize(z)
        p.copy_(saved)
        restored = dcgan.synthesize(z)
    assert not torch.equal(before, after)
    assert torch.equal(before, restored)


def test_info(dcgan):
    info = dcgan.info
    assert info["arch"] == "dcgan" and info["z_dim"] == 100 and info["resolution"] == 32
    assert info["spaces"] == ["z"] and info["device"] == "cpu" and info["parameters"] > 0
    assert "dcgan" in repr(dcgan)


# --- the same results as the CLI ---

def test_generate_matches_the_cli(tmp_path, dcgan):
    out = tmp_path / "images.safetensors"
    run_cli("generate", "--model", "dcgan-celeba32", "--seeds", "0-5", "--save-tensors", out)
    cli = faceedit.load_tensors(str(out))["images"]
    with torch.no_grad():
        ours = dcgan.generate(seeds=range(6))
    assert ours.shape == (6, 3, 32, 32)
    assert torch.equal(ours, cli), (ours - cli).abs().max()


def test_stylegan2_generate_and_synthesize_match_the_cli(tmp_path, tiny):
    out = tmp_path / "images.safetensors"
    run_cli("generate", "--model", tiny.name, "--seeds", "0-3", "--truncation", "0.7", "--save-tensors", out)
    cli = faceedit.load_tensors(str(out))["images"]
    with torch.no_grad():
        ours = tiny.generate(seeds=range(4), truncation=0.7)
        # The same faces through the spaces: z -> W+ by mapping, then the synthesis network.
        wplus = tiny.mapping(tiny.sample_z(seeds=range(4)), truncation=0.7)
        via_wplus = tiny.synthesize(wplus, space="wplus")
        w = tiny.codes(range(4), space="w", truncation=0.7)
    assert wplus.shape == (4, tiny.num_ws, tiny.w_dim) and w.shape == (4, tiny.w_dim)
    assert torch.equal(ours, cli), (ours - cli).abs().max()
    assert torch.equal(via_wplus, cli)
    assert torch.equal(w, wplus[:, 0])


def test_editor_matches_the_cli(tmp_path, dcgan, smiling_boundary):
    run_cli("edit", "--model", "dcgan-celeba32", "--seeds", "0-2", "--boundary", smiling_boundary, "--alpha", "-2,0,3",
            "-o", tmp_path / "sweep.png")
    cli = faceedit.load_tensors(str(tmp_path / "sweep.latents.safetensors"))["latents"]
    editor = faceedit.open_editor(g=dcgan, boundary=str(smiling_boundary))
    assert (editor.method, editor.attribute, editor.space) == ("interfacegan", "smiling", "z")
    codes = dcgan.codes(range(3), space="z")
    with torch.no_grad():
        ours = torch.cat([editor.apply(codes[i:i + 1].repeat(3, 1), torch.tensor([-2.0, 0.0, 3.0])) for i in range(3)])
    assert torch.equal(ours, cli), (ours - cli).abs().max()
    # A number applies to every code; the spec's strength is the default.
    e2 = faceedit.open_editor(f"method=interfacegan,boundary={smiling_boundary},strength=3", dcgan)
    assert e2.strength == 3.0
    with torch.no_grad():
        assert torch.equal(e2.apply(codes), editor.apply(codes, 3.0))


def test_photo_session_matches_the_cli(tmp_path, dcgan, smiling_boundary):
    require(PHOTO)
    require(LANDMARKS)
    settings = dict(PHOTO_SETTINGS, cache=None)
    edit = f"method=interfacegan,boundary={smiling_boundary},strength=2"
    run_cli("photo", PHOTO, "--edit", edit, "--crop", 128, "--inversion-steps", 8, "--starts", 1, "--guide", "none",
            "--segmenter", "none", "--judge-identity", "none", "--cache", "none", "-o", tmp_path / "cli.png")
    cli = faceedit.read_image(str(tmp_path / "cli.png"))
    stages = []
    s = faceedit.PhotoSession(faceedit.open_generator("dcgan-celeba32"), **settings)
    prepared = s.prepare(str(PHOTO), edits=edit, progress=stages.append)
    assert [d["stage"] for d in stages if "stage" in d][:2] == ["align", "inversion"]
    assert prepared["space"] == "z" and prepared["latent"].shape == (1, 100)
    assert prepared["aligned"].shape == (128, 128, 3) and prepared["aligned"].dtype == np.uint8
    r = s.render(edit)
    assert r.photo.shape == cli.shape and r.photo.dtype == np.uint8
    assert np.array_equal(r.photo, cli), np.abs(r.photo.astype(int) - cli).max()
    assert r.edits[0]["method"] == "interfacegan" and r.edits[0]["strength"] == 2
    # A numpy image (RGB) is the same photo as its file; the preview is the edited crop, blended.
    s2 = faceedit.PhotoSession(faceedit.open_generator("dcgan-celeba32"), **settings)
    s2.prepare(faceedit.read_image(str(PHOTO)), edits=edit)
    assert np.array_equal(s2.render(edit).photo, r.photo)
    preview = s2.preview(edit)
    assert preview.shape == (128, 128, 3) and preview.dtype == np.uint8
    assert not np.array_equal(preview, prepared["aligned"])


# --- gradients ---

@pytest.mark.parametrize("which", ["dcgan", "tiny"])
def test_synthesize_gradients_match_finite_differences(request, which):
    g = faceedit.open_generator("dcgan-celeba32" if which == "dcgan" else request.getfixturevalue("tiny").name)
    g.to(dtype=torch.float64)
    assert g.dtype == torch.float64
    gen = torch.Generator().manual_seed(1)
    if which == "dcgan":
        codes, space = torch.rand(2, g.z_dim, generator=gen, dtype=torch.float64) * 1.6 - 0.8, "z"
    else:
        codes, space = torch.randn(2, g.num_ws, g.w_dim, generator=gen, dtype=torch.float64), "wplus"
    weights = torch.randn(2, 3, g.resolution, g.resolution, generator=gen, dtype=torch.float64)

    def f(c):
        return (g.synthesize(c, space=space) * weights).sum()

    c = codes.clone().requires_grad_(True)
    f(c).backward()
    assert c.grad is not None and c.grad.abs().sum() > 0
    # Leaky ReLU's kinks sit within 1e-6 of these codes along some directions (measured: the third one
    # converges to autograd's value only below that); float64 keeps round-off small at 1e-7.
    eps = 1e-7
    for k in range(3):
        d = torch.randn(codes.shape, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            numeric = (f(codes + eps * d) - f(codes - eps * d)) / (2 * eps)
        analytic = (c.grad * d).sum()
        assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(analytic)), (k, numeric.item(), analytic.item())


def test_gradients_reach_the_generators_parameters(dcgan):
    z = dcgan.sample_z(seeds=[0])
    params = dcgan.parameters()
    for p in params:
        p.requires_grad_(True)
        p.grad = None
    try:
        dcgan.synthesize(z).square().mean().backward()
        assert all(p.grad is not None for p in params)
    finally:
        for p in params:
            p.requires_grad_(False)
            p.grad = None


# --- errors ---

def test_wrong_dtype_shape_device_are_clear_errors(dcgan, tiny):
    with pytest.raises(faceedit.Error, match="got Double.*computes Float"):
        dcgan.synthesize(torch.zeros(1, 100, dtype=torch.float64))
    with pytest.raises(faceedit.Error, match="synthesize: codes"):
        dcgan.synthesize(torch.zeros(1, 99))
    with pytest.raises(faceedit.Error, match="meta"):
        dcgan.synthesize(torch.zeros(1, 100, device="meta"))
    with pytest.raises(faceedit.Error, match="no w"):
        dcgan.synthesize(torch.zeros(1, 100), space="w")
    with pytest.raises(faceedit.Error, match="synthesize: codes"):
        tiny.synthesize(torch.zeros(1, tiny.num_ws + 1, tiny.w_dim))
    with pytest.raises(faceedit.Error, match="space"):
        tiny.synthesize(torch.zeros(1, tiny.w_dim), space="nonsense")
    with pytest.raises(faceedit.Error, match="seeds"):
        dcgan.generate(seeds=[])
    with pytest.raises(faceedit.Error, match="uint8"):
        faceedit.PhotoSession(dcgan, **PHOTO_SETTINGS).prepare(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(faceedit.Error, match="unknown setting"):
        faceedit.PhotoSession(dcgan, inversion_stepz=3)
    with pytest.raises(faceedit.Error, match="unknown key"):
        faceedit.open_editor("smile=+1", dcgan, strenght=2)
    with pytest.raises(faceedit.Error, match="ATTRIBUTE=STRENGTH"):
        faceedit.open_editor("smile", dcgan)
    with pytest.raises(TypeError):
        dcgan.synthesize(np.zeros((1, 100), np.float32))


# --- callbacks, Ctrl-C ---

class Stop(Exception):
    pass


def test_a_progress_callback_that_raises_stops_the_call(dcgan, smiling_boundary):
    require(PHOTO)
    require(LANDMARKS)
    seen = []

    def progress(report):
        seen.append(report)
        if report.get("stage") == "align":
            raise Stop("stop after the alignment")

    s = faceedit.PhotoSession(dcgan, **dict(PHOTO_SETTINGS, cache=None))
    with pytest.raises(Stop, match="stop after the alignment"):
        s.prepare(str(PHOTO), progress=progress)
    assert [d["stage"] for d in seen if "stage" in d] == ["align"]  # the inversion never ran
    assert not any("inversion" in d.get("log", "") for d in seen)
    with pytest.raises(faceedit.Error, match="prepare"):
        s.preview({"boundary": str(smiling_boundary), "strength": 1})
    # The session (and the module) work on afterwards.
    prepared = s.prepare(str(PHOTO))
    assert prepared["latent"].shape == (1, 100)


def test_the_gil_is_released_during_synthesis(dcgan):
    import threading
    faceedit._faceedit._testing.log("a library line outside a long call")  # to stderr: must not crash
    # While a long call runs, another Python thread runs too (the GIL is released).
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        z = dcgan.sample_z(n=2048, seed=0)
        start = time.perf_counter()
        with torch.no_grad():
            for _ in range(3):
                dcgan.synthesize(z)
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start <= x <= start + elapsed]
    # Holding the GIL, the ticker could run only between the 3 calls (a few ticks).
    assert len(during) >= max(10, int(elapsed / 0.01 / 3)), (len(during), elapsed)


SIGINT_CHILD = textwrap.dedent("""
    import sys, time, faceedit
    g = faceedit.open_generator("dcgan-celeba32")
    s = faceedit.PhotoSession(g, crop=128, inversion_steps=1000000, starts=1, guide="none", segmenter="none",
                              identity_judge="none", cache=None)
    def progress(report):
        if "log" in report:
            print("running", flush=True)
    try:
        s.prepare(sys.argv[1], progress=progress)
        print("finished?!", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    import torch
    with torch.no_grad():
        print("works", tuple(g.generate(seeds=[1]).shape), flush=True)
""")


def test_ctrl_c_stops_a_long_call_with_keyboard_interrupt(tmp_path):
    require(PHOTO)
    require(LANDMARKS)
    require(SHARED / "models/dcgan-celeba32/generator.pt")
    script = tmp_path / "child.py"
    script.write_text(SIGINT_CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen([sys.executable, str(script), str(PHOTO)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        line = child.stdout.readline()
        assert line.strip() == "running", (line, child.stderr.read() if child.poll() is not None else "")
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
        stopped_in = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    lines = [x for x in out.splitlines() if x != "running"]
    assert lines == ["interrupted", "works (1, 3, 32, 32)"], (out, err)
    assert child.returncode == 0, err
    assert stopped_in < 30, stopped_in


def test_fit_and_a_pack_editor_mean_what_the_cli_means(tmp_path, dcgan):
    """faceedit.fit makes a pack; open_pack_editor's default strength is the calibrated one (pack
    strength x the editor's scale in pack.json), and a pack of another model is refused."""
    import json
    summary = faceedit.fit("dcgan-celeba32", str(tmp_path / "pack"), n=600, attributes=["male"], methods=["interfacegan"],
                           pose=False, calibration_n=40, directions=1)
    assert summary["complete"]
    pack = json.loads((tmp_path / "pack" / "pack.json").read_text())
    scale = next(e["calibration"]["scale"] for e in pack["editors"] if e["attribute"] == "male")
    e = faceedit.open_pack_editor(str(tmp_path / "pack"), "gender=+0.5", dcgan)
    assert e.method == "interfacegan" and e.attribute == "male"
    assert e.strength == pytest.approx(0.5 * scale)
    with pytest.raises(faceedit.Error, match="has no editor for 'smiling'"):
        faceedit.open_pack_editor(str(tmp_path / "pack"), "smile=1", dcgan)
    tiny = faceedit.open_generator(str(require(SHARED / "fixtures/stylegan2-ada/tiny32.pkl")))
    with pytest.raises(faceedit.Error, match="was made for model"):
        faceedit.open_pack_editor(str(tmp_path / "pack"), "male=1", tiny)
