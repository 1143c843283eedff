"""Minimal safetensors reader/writer (the `safetensors` package is not available).

Layout: u64 little-endian header length N, N bytes of JSON header (padded with spaces to a multiple
of 8), then the data section. The header maps tensor names to {"dtype", "shape", "data_offsets"}
(offsets relative to the data section) plus an optional "__metadata__" str->str map.
"""
import json
import os
import struct
import tempfile

import numpy as np
import torch

from . import ToolError

_NP_DTYPES = {
    'F64': np.dtype('<f8'), 'F32': np.dtype('<f4'), 'F16': np.dtype('<f2'),
    'I64': np.dtype('<i8'), 'I32': np.dtype('<i4'), 'I16': np.dtype('<i2'), 'I8': np.dtype('i1'),
    'U8': np.dtype('u1'), 'BOOL': np.dtype('?'),
}
_TORCH_TO_ST = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.int64: 'I64',
    torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL',
}
_MAX_HEADER = 100 << 20


def serialize(tensors, metadata=None):
    """Return the safetensors bytes for an ordered {name: tensor} and {str: str} metadata."""
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError('safetensors metadata must map str to str')
        header['__metadata__'] = dict(metadata)
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in _TORCH_TO_ST:
            raise TypeError(f'{name}: dtype {t.dtype} not supported by this writer')
        blob = t.numpy().tobytes()  # native order: little-endian on every platform we build for
        header[name] = {'dtype': _TORCH_TO_ST[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hbytes = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hbytes += b' ' * (-len(hbytes) % 8)
    return b''.join([struct.pack('<Q', len(hbytes)), hbytes] + blobs)


def write_atomic(path, data):
    """Write bytes to path via a temp file in the same directory + os.replace.

    Either the complete new file appears at `path`, or nothing changes there; the temp file never
    survives an error.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ToolError(f'{path}: output directory {directory} does not exist')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                                   dir=directory)
    except OSError as e:
        raise ToolError(f'{path}: cannot create a file in {directory} ({e.strerror})') from None
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise ToolError(f'{path}: cannot write ({e.strerror or e})') from None
        raise


def save_file(tensors, path, metadata=None):
    write_atomic(path, serialize(tensors, metadata))


def load_file(path):
    """Read a safetensors file: returns ({name: torch.Tensor} in file order, metadata dict)."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise ToolError(f'{path}: cannot read ({e.strerror or e})') from None

    def bad(why):
        return ToolError(f'{path}: not a valid safetensors file ({why})')

    if len(data) < 8:
        raise bad('shorter than 8 bytes')
    (n,) = struct.unpack('<Q', data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise bad(f'header length {n} exceeds the file')
    try:
        header = json.loads(data[8:8 + n].decode('utf-8'))
    except ValueError as e:
        raise bad(f'header is not JSON: {e}') from None
    if not isinstance(header, dict):
        raise bad('header is not a JSON object')
    metadata = header.pop('__metadata__', None) or {}
    body = memoryview(data)[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1].get('data_offsets', [0])[0]
                     if isinstance(kv[1], dict) else 0)
    tensors, expected_begin = {}, 0
    for name, info in entries:
        try:
            dtype = _NP_DTYPES[info['dtype']]
            shape = [int(s) for s in info['shape']]
            begin, end = (int(x) for x in info['data_offsets'])
        except (KeyError, TypeError, ValueError):
            raise bad(f'bad or unsupported entry for {name!r}: {info!r}') from None
        count = int(np.prod(shape, dtype=np.int64))
        if begin != expected_begin or end - begin != count * dtype.itemsize or end > len(body):
            raise bad(f'tensor {name!r} has inconsistent data_offsets {[begin, end]}')
        expected_begin = end
        arr = np.frombuffer(body, dtype=dtype, count=count, offset=begin).reshape(shape)
        tensors[name] = torch.from_numpy(arr.astype(dtype.newbyteorder('='), copy=True))
    if expected_begin != len(body):
        raise bad('data section has trailing bytes')
    ordered = {k: tensors[k] for k in header}  # back to header order
    return ordered, metadata
