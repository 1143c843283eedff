"""Restricted unpickler for NVIDIA stylegan2-ada-pytorch network pickles.

Those pickles store every network module as a "persistent class": the reduce call
`torch_utils.persistence._reconstruct_persistent_obj(meta)` where meta embeds the module's Python
source (`module_src`), which the official loader *executes*. Here that hook returns a plain
PersistentObject holding class_name + state; module_src is kept as an inert string and never run.
Every other global the pickle names must be on an explicit allow-list; anything else is refused
before it is imported. Tensor storages are nested torch pickles and are read with
torch.load(weights_only=True), never with the unrestricted torch.load.
"""
import collections
import io
import pickle

import numpy as np
import torch

from . import ToolError


class PersistentObject:
    """Plain-data stand-in for an instance of a stylegan2-ada persistent class."""

    def __init__(self, class_name, state, version=None, module_src=None):
        self.class_name = class_name
        self.state = state  # the module's __dict__: _parameters, _buffers, _modules, _init_kwargs...
        self.version = version
        # The embedded source as an inert string: classes of the same name differ between sources
        # (stylegan3's two FullyConnectedLayer), so converters key on it. Never executed.
        self.module_src = module_src if isinstance(module_src, str) else None

    def __repr__(self):
        return f'<PersistentObject {self.class_name}>'


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (a dict subclass); has a __dict__ so BUILD can't fail."""


class CorruptPickle(ToolError):
    """The stream could not be unpickled at all (truncated, corrupt or not a pickle)."""


class _Refused(Exception):
    """Raised by the allow-listed hooks on data they will not accept."""


def torch_error_text(e):
    """torch's weights-only refusal text, without its advice to retry with weights_only=False."""
    text = str(e)
    marker = 'WeightsUnpickler error:'
    return 'weights-only unpickler: ' + text.split(marker, 1)[1].strip() if marker in text else text


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or meta.get('type') != 'class':
        kind = meta.get('type') if isinstance(meta, dict) else type(meta).__name__
        raise _Refused(f"persistent object of type {kind!r} (only type 'class' is accepted)")
    class_name, state = meta.get('class_name'), meta.get('state')
    if not isinstance(class_name, str) or not isinstance(state, dict):
        raise _Refused('persistent class without a class_name string and a state dict')
    return PersistentObject(class_name, state, meta.get('version'), meta.get('module_src'))


def _load_from_bytes(b):
    if not isinstance(b, (bytes, bytearray)):
        raise _Refused('torch.storage._load_from_bytes called on a non-bytes argument')
    try:
        storage = torch.load(io.BytesIO(b), map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        if 'WeightsUnpickler error:' not in str(e):
            raise  # truncated/corrupt: reported as such by load_network_pickle
        raise _Refused(f'nested tensor storage: {torch_error_text(e)}') from None
    if not torch.is_storage(storage):
        raise _Refused(f'nested torch pickle holds a {type(storage).__name__}, not a storage')
    return storage


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not torch.is_storage(storage):
        raise _Refused('_rebuild_tensor_v2 called without a storage')
    # The pickled backward hooks and requires_grad are irrelevant for conversion: drop them.
    return torch._utils._rebuild_tensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, torch.Tensor):
        raise _Refused('_rebuild_parameter called without a tensor')
    return data  # plain tensor: whether it was a parameter is known from `_parameters`


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise _Refused('numpy scalar of object dtype or without raw bytes')
    return np.core.multiarray.scalar(dtype, data)


def _numpy_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise _Refused(f'numpy array of subtype {subtype!r}')
    return np.core.multiarray._reconstruct(np.ndarray, shape, dtype)


_ALLOWED = {
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): _reconstruct_persistent_obj,
    ('torch.storage', '_load_from_bytes'): _load_from_bytes,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('dnnlib.util', 'EasyDict'): EasyDict,
    # Protocol <= 3 pickles (Python 3.7, what NVIDIA's own pkls use) spell sets as set(list).
    ('builtins', 'set'): set,
    ('__builtin__', 'set'): set,
    # numpy 1.x and 2.x spellings of scalar/array reconstruction (e.g. float64 attributes).
    ('numpy', 'dtype'): np.dtype,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy.core.multiarray', 'scalar'): _numpy_scalar,
    ('numpy._core.multiarray', 'scalar'): _numpy_scalar,
    ('numpy.core.multiarray', '_reconstruct'): _numpy_reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): _numpy_reconstruct,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, source):
        super().__init__(file)
        self._source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ToolError(f"{self._source}: refusing to load global '{module}.{name}' "
                            '(not on the allow-list of a stylegan2-ada network pickle)') from None

    def persistent_load(self, pid):
        raise ToolError(f'{self._source}: refusing persistent id {str(pid)[:80]!r} '
                        '(a stylegan2-ada network pickle has none)')


def load_network_pickle(path, source=None):
    """Unpickle a stylegan2-ada network pickle into plain data (dicts, tensors, PersistentObject)."""
    source = source or path
    try:
        with open(path, 'rb') as f:
            return _Unpickler(f, source).load()
    except ToolError:
        raise
    except _Refused as e:
        raise ToolError(f'{source}: refusing to load: {e}') from None
    except OSError as e:
        raise ToolError(f'{source}: cannot read ({e.strerror or e})') from None
    except MemoryError:
        raise CorruptPickle(f'{source}: corrupt pickle (out of memory while reading it)') from None
    except Exception as e:  # anything a truncated or corrupt stream can throw
        raise CorruptPickle(f'{source}: truncated or corrupt pickle ({type(e).__name__}: {e})') from None
