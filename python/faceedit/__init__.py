"""faceedit: disentangled face attribute editing in GAN latent spaces (C++/LibTorch), from Python.

Tensors are shared with PyTorch without copies (the module is built against the LibTorch that
Debian's python3-torch loads); images are numpy uint8 HxWx3 RGB arrays.

    import faceedit, torch
    g = faceedit.open_generator("dcgan-celeba32")
    with torch.no_grad():
        images = g.generate(seeds=range(8), truncation=0.7)     # [8, 3, 32, 32] in about [-1, 1]
    editor = faceedit.open_editor(g=g, boundary="smiling.safetensors", strength=2)
    s = faceedit.PhotoSession(g)
    s.prepare("me.jpg", edits="smile=+1", progress=print)
    faceedit.write_image("me_smiling.jpg", s.render("smile=+1").photo)   # s.preview(...): the crop, fast

Errors raise faceedit.Error (a RuntimeError) with the library's message. Long calls release the
GIL, report through a `progress` callable and stop on Ctrl-C (KeyboardInterrupt).
"""

import os as _os

# LibTorch's Python types (torch.Tensor's C side) must be registered before the extension loads,
# and the extension must share torch's LibTorch: import torch first.
import torch as _torch  # noqa: F401

from . import _faceedit
from ._faceedit import (  # noqa: F401
    Boundary,
    Editor,
    Error,
    Generator,
    PhotoResult,
    PhotoSession,
    analyze,
    cache_dir,
    edit_photo,
    edit_video,
    fit,
    load_boundary,
    load_samples,
    load_tensors,
    open_editor,
    open_generator,
    open_pack_editor,
    read_image,
    sample,
    save_tensors,
    set_threads,
    shared_root,
    threads,
    to_images,
    train_boundary,
    write_image,
)

__version__ = "0.1.0"

__all__ = [
    "Boundary", "Editor", "Error", "Generator", "PhotoResult", "PhotoSession", "analyze", "cache_dir",
    "edit_photo", "edit_video", "fit", "load_boundary", "load_samples", "load_tensors", "open_editor",
    "open_generator", "open_pack_editor", "read_image", "sample", "save_tensors", "set_threads", "shared_root", "threads",
    "to_images", "train_boundary", "write_image",
]


def _libtorch_files():
    """The libtorch_cpu files mapped into this process (one, when torch and faceedit share it)."""
    try:
        with open("/proc/self/maps") as maps:
            return {line.split()[-1] for line in maps if "libtorch_cpu" in line}
    except OSError:
        return set()


_mapped = {_os.path.realpath(p) for p in _libtorch_files()}
if len(_mapped) > 1:
    raise ImportError(
        "faceedit: torch and faceedit load different LibTorch builds (%s): tensors could not be shared. "
        "Use Debian's python3-torch with /usr/bin/python3 (the LibTorch faceedit is built against)."
        % ", ".join(sorted(_mapped)))
del _mapped
