"""What calling faceedit from Python costs, against C++ in the same run (issue 32, "Measure").

    PYTHONPATH=build/python /usr/bin/python3 scripts/bench_python.py [--cli build/faceedit] [--rounds 5]

1. synthesis: g.synthesize() under torch.no_grad() from Python against the same call in a C++ loop
   in this process (faceedit._faceedit._testing.time_synthesize) and against `faceedit bench MODEL
   --mode synth` (the CLI's own timing, another process); same batch, warm-up and repeats, the
   rounds alternating so all see the same machine load. Models: the DCGAN (tiny: the per-call
   overhead shows) and the StyleGAN2 fixture (tiny32), batch 1 and 16.
2. edits: a Python loop over F faces, each one editor.apply() on the face repeated for N strengths
   and one g.synthesize() (what `faceedit edit --alpha a:b:N` does per face), against the same loop
   in C++ in this process (_testing.time_edits).
Prints one JSON line per measurement and a summary line.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build" / "python"))
import faceedit  # noqa: E402


def cli_bench(cli, model, batch, repeat):
    out = subprocess.run([cli, "bench", model, "--batch", str(batch), "--repeat", str(repeat), "--mode", "synth"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["synthesis_ms_median"]


def synthesis_codes(g, batch):
    with torch.no_grad():
        return g.mapping(g.sample_z(n=batch, seed=0)) if g.w_dim else g.sample_z(n=batch, seed=0)


def cpp_bench(g, batch, repeat):
    return statistics.median(faceedit._faceedit._testing.time_synthesize(g, synthesis_codes(g, batch), repeat))


def py_bench(g, batch, repeat):
    codes = synthesis_codes(g, batch)
    with torch.no_grad():
        g.synthesize(codes)  # warm-up
        ms = []
        for _ in range(repeat):
            t = time.perf_counter()
            g.synthesize(codes)
            ms.append((time.perf_counter() - t) * 1000)
    return statistics.median(ms)


def py_edit_seconds(g, editor, codes, strengths):
    t = time.perf_counter()
    with torch.no_grad():
        for i in range(codes.shape[0]):
            edited = editor.apply(codes[i:i + 1].repeat(strengths.shape[0], 1), strengths)
            g.synthesize(edited, space=editor.space)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "build" / "faceedit"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--edits", type=int, default=32)
    args = ap.parse_args()
    faceedit.set_threads(0)  # as the CLI does
    summary = {"threads": faceedit.threads()}

    models = {"dcgan-celeba32": "dcgan-celeba32"}
    tiny = pathlib.Path(faceedit.shared_root()) / "fixtures/stylegan2-ada/tiny32.pkl"
    if tiny.exists():
        models["stylegan2-tiny32"] = str(tiny)
    for label, spec in models.items():
        g = faceedit.open_generator(spec)
        for batch in (1, 16):
            cli_ms, cpp_ms, py_ms = [], [], []
            for _ in range(args.rounds):
                if os.path.exists(args.cli):
                    cli_ms.append(cli_bench(args.cli, spec, batch, args.repeat))
                cpp_ms.append(cpp_bench(g, batch, args.repeat))
                py_ms.append(py_bench(g, batch, args.repeat))
            c, p = statistics.median(cpp_ms), statistics.median(py_ms)
            line = {"measure": "synthesize", "model": label, "batch": batch, "python_ms_median": round(p, 4),
                    "cpp_in_process_ms_median": round(c, 4), "python_over_cpp": round(p / c, 4),
                    "python_minus_cpp_us": round((p - c) * 1000, 1), "rounds": args.rounds}
            if cli_ms:
                line["cli_bench_ms_median"] = round(statistics.median(cli_ms), 4)
                line["python_over_cli_bench"] = round(p / line["cli_bench_ms_median"], 4)
            print(json.dumps(line), flush=True)
            summary[f"synthesize_{label}_b{batch}_python_over_cpp"] = line["python_over_cpp"]

    g = faceedit.open_generator("dcgan-celeba32")
    with tempfile.TemporaryDirectory() as tmp:
        gen = torch.Generator().manual_seed(0)
        latents = torch.rand(2000, g.z_dim, generator=gen) * 2 - 1
        b = faceedit.train_boundary(latents, latents @ torch.randn(g.z_dim, generator=gen), attribute="smiling",
                                    space="z", ratio=0.1)
        boundary = pathlib.Path(tmp) / "b.safetensors"
        b.save(str(boundary))
        editor = faceedit.open_editor(g=g, boundary=str(boundary))
    codes = g.codes(range(args.faces), space=editor.space)
    strengths = torch.linspace(-3, 3, args.edits)
    cpp_s, py_s = [], []
    for _ in range(args.rounds):
        cpp_s.append(faceedit._faceedit._testing.time_edits(editor, codes, strengths))
        py_s.append(py_edit_seconds(g, editor, codes, strengths))
    c, p = statistics.median(cpp_s), statistics.median(py_s)
    line = {"measure": "edits", "faces": args.faces, "edits_per_face": args.edits, "cpp_in_process_seconds_median": round(c, 4),
            "python_seconds_median": round(p, 4), "python_over_cpp": round(p / c, 4), "rounds": args.rounds}
    print(json.dumps(line), flush=True)
    summary["edits_python_over_cpp"] = line["python_over_cpp"]
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
