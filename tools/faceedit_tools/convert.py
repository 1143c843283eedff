"""Input-kind detection and the `faceedit convert IN OUT` pipeline."""
import json
import os

from . import ToolError, dcgan, formats, stylegan2, stylegan2_discriminator, stylegan3, torch_file
from .restricted_pickle import CorruptPickle, load_network_pickle
from .safetensors_io import save_file, write_atomic

# torch.save's legacy (non-zip) format starts with a protocol-2 pickle of this magic number.
_TORCH_LEGACY_MAGIC = b'\x80\x02\x8a\x0a' + (0x1950a86a20f9469cfc6c).to_bytes(10, 'little')
_ZIP_MAGIC = b'PK\x03\x04'


def load_torch_checkpoint(path):
    """torch.save file (legacy or zip) -> plain data, through the restricted reader (torch_file)."""
    return torch_file.load(path)


def detect(path):
    """'torch' (torch.save file), 'pickle' (starts with a pickle PROTO opcode) or 'unknown'."""
    try:
        with open(path, 'rb') as f:
            head = f.read(len(_TORCH_LEGACY_MAGIC))
    except FileNotFoundError:
        raise ToolError(f'{path}: no such file') from None
    except OSError as e:
        raise ToolError(f'{path}: cannot read ({e.strerror or e})') from None
    if head.startswith(_ZIP_MAGIC) or head == _TORCH_LEGACY_MAGIC:
        return 'torch'
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle PROTO opcode
        return 'pickle'
    return 'unknown'


NETWORKS = ('G_ema', 'G', 'D', 'E')


def convert_file(in_path, out_path, network='G_ema', classifier=None):
    """Convert IN to a faceedit safetensors file at OUT. Returns (arch, number of tensors).

    network: which network of a stylegan2-ada-pytorch pickle: 'G_ema', 'G' (the training generator,
    not averaged: what a resumed training run continues) or 'D' (the discriminator); of a
    rosinality checkpoint g_ema, g or d; 'E': a pSp/e4e checkpoint's encoder.
    classifier: the latent classifier a latent-transformer tnet file is converted with.
    """
    if network not in NETWORKS:
        raise ToolError(f'--network {network!r}: expected one of {", ".join(NETWORKS)}')
    kind = detect(in_path)
    if os.path.exists(out_path) and os.path.samefile(in_path, out_path):
        raise ToolError(f'{out_path}: output would overwrite the input')
    if kind == 'torch':
        root = load_torch_checkpoint(in_path)
        fmt = formats.identify(root)
        if fmt == 'dcgan' or fmt == 'unknown':
            if network != 'G_ema':
                raise ToolError(f'{in_path}: a torch.save checkpoint holds one generator; --network '
                                f'{network} needs a stylegan2-ada-pytorch network pickle')
            tensors, metadata = dcgan.convert(root, in_path)
        else:
            tensors, metadata = formats.convert(fmt, root, in_path, network, classifier)
    else:
        try:
            root = load_network_pickle(in_path)
        except CorruptPickle:
            if kind == 'pickle':
                raise
            # Protocol 0/1 pickles have no PROTO header, so anything else still goes through the
            # restricted unpickler (a refusal is reported as such); if it is not a pickle at all:
            raise ToolError(f'{in_path}: unrecognised input format (expected a stylegan2-ada-'
                            'pytorch network pickle or a torch.save DCGAN generator state_dict)'
                            ) from None
        if network == 'E':
            raise ToolError(f'{in_path}: a network pickle holds no encoder (--network E is for pSp/e4e files)')
        if network == 'D':
            tensors, metadata = stylegan2_discriminator.convert(root, in_path)
        elif isinstance(root, dict) and stylegan3.is_stylegan3(root.get(network)):
            tensors, metadata = stylegan3.convert(root, in_path, network)  # keyed on the embedded source
        else:
            tensors, metadata = stylegan2.convert(root, in_path, network)
    save_file(tensors, out_path, metadata)
    return metadata['faceedit.arch'], len(tensors)


def inspect_file(in_path, out_json):
    """`faceedit info` for any checkpoint: {format, config, tensors, networks} as JSON at out_json."""
    kind = detect(in_path)
    if kind == 'torch':
        root = load_torch_checkpoint(in_path)
    else:
        try:
            root = load_network_pickle(in_path)
        except CorruptPickle:
            if kind == 'pickle':
                raise
            raise ToolError(f'{in_path}: unrecognised input format') from None
    info = formats.describe(root, in_path)
    write_atomic(out_json, (json.dumps(info, indent=2) + '\n').encode())
    return info
