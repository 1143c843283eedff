"""Restricted reader for torch.save files (the zip layout of torch >= 1.6 and the legacy layout).

torch.load runs a full unpickler; even its weights_only mode refuses what rosinality checkpoints
hold (a pickled argparse.Namespace) and would import whatever class a file names once allowed. This
reader unpickles data.pkl with an explicit allow-list and maps every construct to plain data:

  collections.OrderedDict          -> StateDict (an OrderedDict; BUILD may only set `_metadata`)
  argparse.Namespace               -> Namespace (a plain holder of its BUILD dict; nothing imported)
  torch.<Type>Storage in a persistent id ('storage', type, key, location, numel)
                                   -> a storage filled from the file's raw bytes
  torch._utils._rebuild_tensor_v2 / _rebuild_parameter -> a tensor view, bounds-checked

Nothing named in the file is imported or called beyond that list; storages are read as raw
little-endian bytes (never through a nested torch.load). Errors are ToolError naming the file.
"""
import collections
import encodings.cp437  # noqa: F401  zipfile decodes member names with it: imported here, never mid-read
import io
import pickle
import struct
import zipfile
import zlib

import numpy as np
import torch

from . import ToolError

# Storage class names -> dtypes (the names torch.save writes, legacy typed storages included).
STORAGE_DTYPES = {
    'FloatStorage': torch.float32, 'DoubleStorage': torch.float64, 'HalfStorage': torch.float16,
    'BFloat16Storage': torch.bfloat16, 'LongStorage': torch.int64, 'IntStorage': torch.int32,
    'ShortStorage': torch.int16, 'CharStorage': torch.int8, 'ByteStorage': torch.uint8,
    'BoolStorage': torch.bool,
}
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class StorageType:
    """What the GLOBAL torch.<Type>Storage resolves to: only its dtype, never the class."""

    def __init__(self, name):
        self.name, self.dtype = name, STORAGE_DTYPES[name]

    def __repr__(self):
        return f'<storage type {self.name}>'


class StateDict(collections.OrderedDict):
    """torch's state_dict OrderedDict; its pickle BUILDs {'_metadata': ...} (per-module versions)."""

    def __setstate__(self, state):
        if not isinstance(state, dict) or set(state) - {'_metadata'}:
            raise _Refused('OrderedDict state other than {_metadata: ...}')
        self._metadata = state.get('_metadata')


class Namespace:
    """Stand-in for argparse.Namespace: holds its fields as a dict, imports and runs nothing."""

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise _Refused('argparse.Namespace constructed with arguments')
        self.fields = {}

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise _Refused('argparse.Namespace state is not a dict of names')
        self.fields = dict(state)

    def __repr__(self):
        return f'Namespace({self.fields!r})'


class _Refused(Exception):
    pass


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.Tensor) or storage.dim() != 1:
        raise _Refused('_rebuild_tensor_v2 called without a storage')
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise _Refused('tensor with a bad storage offset')
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) or len(size) != len(stride) or \
            not all(isinstance(v, int) and v >= 0 for v in list(size) + list(stride)):
        raise _Refused('tensor with a bad size or stride')
    # The last element a view reaches must lie inside the storage.
    reach = storage_offset + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else storage_offset - 1
    if reach >= storage.numel():
        raise _Refused(f'tensor of size {list(size)} reaches element {reach} of a storage of {storage.numel()}')
    return storage.as_strided(tuple(size), tuple(stride), storage_offset)


def _rebuild_parameter(data, requires_grad, backward_hooks, *rest):
    if not isinstance(data, torch.Tensor):
        raise _Refused('_rebuild_parameter called without a tensor')
    return data


def _storage_type(name):
    return lambda: StorageType(name)


_ALLOWED = {
    ('collections', 'OrderedDict'): StateDict,
    ('argparse', 'Namespace'): Namespace,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, source, load_storage):
        super().__init__(file)
        self._source, self._load_storage = source, load_storage

    def find_class(self, module, name):
        if module == 'torch' and name in STORAGE_DTYPES:
            return StorageType(name)
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ToolError(f"{self._source}: refusing to load global '{module}.{name}' (not on the allow-list "
                            'of a torch.save checkpoint of plain tensors)') from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != 'storage' or not isinstance(pid[1], StorageType) \
                or not isinstance(pid[2], str) or not isinstance(pid[4], int) or pid[4] < 0:
            raise _Refused(f'persistent id {str(pid)[:80]!r} (only tensor storages are accepted)')
        return self._load_storage(pid)


def _unpickle(data, source, load_storage):
    try:
        return _Unpickler(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data, source,
                          load_storage).load()
    except ToolError:
        raise
    except _Refused as e:
        raise ToolError(f'{source}: refusing to load: {e}') from None
    except MemoryError:
        raise ToolError(f'{source}: corrupt pickle (out of memory while reading it)') from None
    except RecursionError:
        raise ToolError(f'{source}: corrupt pickle (nested too deeply)') from None
    except Exception as e:  # anything a truncated or corrupt stream can throw
        raise ToolError(f'{source}: truncated or corrupt pickle ({type(e).__name__}: {e})') from None


def _from_bytes(raw, dtype, numel, what):
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise ToolError(f'{what}: holds {len(raw)} bytes, expected {numel * itemsize} ({numel} elements): '
                        'truncated or corrupt')
    if dtype == torch.bfloat16:  # numpy has no bfloat16: go through int16
        return torch.from_numpy(np.frombuffer(raw, dtype='<i2').copy()).view(torch.bfloat16)
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype.newbyteorder('<')
    return torch.from_numpy(np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder('='), copy=True))


def _load_zip(path, f):
    try:
        zf = zipfile.ZipFile(f)
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ToolError(f'{path}: truncated or corrupt zip ({e})') from None
    pkl = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    if len(pkl) != 1:
        raise ToolError(f'{path}: not a torch.save zip (expected one <name>/data.pkl, found {len(pkl)})')
    prefix = pkl[0][:-len('data.pkl')]
    if prefix + 'byteorder' in names and zf.read(prefix + 'byteorder').strip() not in (b'little', b''):
        raise ToolError(f'{path}: big-endian torch file (not supported)')
    storages = {}

    def load_storage(pid):
        _, stype, key, _location, numel = pid[:5]
        if key not in storages:
            entry = f'{prefix}data/{key}'
            try:
                raw = zf.read(entry)
            except KeyError:
                raise ToolError(f'{path}: missing zip entry {entry} (storage {key})') from None
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:
                raise ToolError(f'{path}: zip entry {entry} is truncated or corrupt ({e})') from None
            storages[key] = _from_bytes(raw, stype.dtype, numel, f'{path}: storage {entry}')
        elif storages[key].dtype != stype.dtype:
            raise _Refused(f'storage {key} used with two dtypes')
        return storages[key]

    try:
        data = zf.read(pkl[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:
        raise ToolError(f'{path}: zip entry {pkl[0]} is truncated or corrupt ({e})') from None
    return _unpickle(data, path, load_storage)


def _load_legacy(path, f, size):
    """magic, protocol, sys_info pickles; the object (storages as persistent ids); storage keys; raw storages."""
    for what in ('magic number', 'protocol version', 'system info'):
        value = _unpickle(f, path, _no_storage)
        if what == 'magic number' and value != _LEGACY_MAGIC:
            raise ToolError(f'{path}: not a torch.save file (bad magic number)')
    storages = {}

    def load_storage(pid):
        if len(pid) != 6:
            raise _Refused('legacy storage id without view metadata')
        _, stype, key, _location, numel, view = pid
        if view is not None:
            raise _Refused('legacy storage views are not supported')
        if numel * torch.empty((), dtype=stype.dtype).element_size() > size:
            raise ToolError(f'{path}: storage {key} declares {numel} elements, more than the file holds')
        if key not in storages:
            storages[key] = torch.empty(numel, dtype=stype.dtype)
        elif storages[key].dtype != stype.dtype or storages[key].numel() != numel:
            raise _Refused(f'storage {key} declared twice differently')
        return storages[key]

    obj = _unpickle(f, path, load_storage)
    keys = _unpickle(f, path, _no_storage)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise ToolError(f'{path}: the storage list does not match the storages the object uses')
    for key in keys:
        t = storages[key]
        head = f.read(8)
        if len(head) != 8:
            raise ToolError(f'{path}: truncated (storage {key} missing)')
        (numel,) = struct.unpack('<q', head)
        if numel != t.numel():
            raise ToolError(f'{path}: storage {key} holds {numel} elements, expected {t.numel()}')
        raw = f.read(numel * t.element_size())
        t.copy_(_from_bytes(raw, t.dtype, numel, f'{path}: storage {key}'))
    return obj


def _no_storage(pid):
    raise _Refused('persistent id outside the object pickle')


def load(path):
    """A torch.save file (zip or legacy) -> plain data: dicts, StateDicts, lists, tensors, Namespaces."""
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
            f.seek(0, 2)
            size = f.tell()
            f.seek(0)
            if head == b'PK\x03\x04':
                return _load_zip(path, f)
            return _load_legacy(path, f, size)
    except FileNotFoundError:
        raise ToolError(f'{path}: no such file') from None
    except OSError as e:
        raise ToolError(f'{path}: cannot read ({e.strerror or e})') from None


def plain(value, what, depth=0):
    """Namespaces and StateDicts -> dicts, recursively; for configs stored beside the weights."""
    if depth > 20:
        raise ToolError(f'{what}: nested too deeply')
    if isinstance(value, Namespace):
        value = value.fields
    if isinstance(value, dict):
        return {k: plain(v, what, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, what, depth + 1) for v in value]
    return value
