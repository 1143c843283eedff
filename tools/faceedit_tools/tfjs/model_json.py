"""Reading a TF.js graph model: model.json and its weight shards (weightsManifest)."""
import json
import os

import numpy as np

from .. import ToolError

_PLAIN_DTYPES = {'float32': np.dtype('<f4'), 'int32': np.dtype('<i4'), 'bool': np.dtype('u1')}
# Quantised storage types (tfjs-core io_utils.decodeWeights): uint8/uint16 are affine
# (value = q * scale + min), float16 is IEEE half precision.
_QUANT_DTYPES = {'uint8': np.dtype('u1'), 'uint16': np.dtype('<u2'), 'float16': np.dtype('<f2')}


class TfjsModel:
    """model.json contents: topology nodes, signature, and decoded weights {name: np.ndarray}."""

    def __init__(self, path, topology, signature, weights, meta):
        self.path = path
        self.nodes = topology.get('node', [])
        self.signature = signature or {}
        self.weights = weights
        self.meta = meta


def _read_json(path):
    try:
        with open(path, 'rb') as f:
            return json.loads(f.read().decode('utf-8'))
    except FileNotFoundError:
        raise ToolError(f'{path}: no such file') from None
    except OSError as e:
        raise ToolError(f'{path}: cannot read ({e.strerror or e})') from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ToolError(f'{path}: not a JSON file ({e})') from None


def decode_weight(spec, data, where):
    """One manifest entry + its bytes -> np.ndarray (float32/int32/bool) of spec['shape'].

    `where` names the model file for error messages. Mirrors tfjs-core's decodeWeights, so the
    decoded values are bit-identical to what TF.js computes.
    """
    name, dtype, shape = spec['name'], spec['dtype'], [int(s) for s in spec['shape']]
    count = int(np.prod(shape, dtype=np.int64))
    quant = spec.get('quantization')
    if quant:
        qtype = quant.get('dtype')
        if qtype not in _QUANT_DTYPES:
            raise ToolError(f'{where}: weight {name!r} uses unsupported quantisation {qtype!r}')
        q = np.frombuffer(data, dtype=_QUANT_DTYPES[qtype], count=count)
        if qtype == 'float16':
            values = q.astype(np.float32)
        else:
            try:
                scale, minimum = float(quant['scale']), float(quant['min'])
            except (KeyError, TypeError, ValueError):
                raise ToolError(f'{where}: weight {name!r}: {qtype} quantisation without numeric '
                                'scale/min') from None
            values = q.astype(np.float64) * scale + minimum  # JS computes in doubles
            values = np.round(values) if dtype == 'int32' else values
        if dtype not in ('float32', 'int32'):
            raise ToolError(f'{where}: weight {name!r}: quantised dtype {dtype!r} not supported')
        return values.astype(np.float32 if dtype == 'float32' else np.int32).reshape(shape)
    if dtype not in _PLAIN_DTYPES:
        raise ToolError(f'{where}: weight {name!r} has unsupported dtype {dtype!r}')
    values = np.frombuffer(data, dtype=_PLAIN_DTYPES[dtype], count=count)
    if dtype == 'bool':
        values = values != 0
    return values.astype(values.dtype.newbyteorder('=')).reshape(shape)


def weight_nbytes(spec):
    quant = spec.get('quantization')
    dtype = _QUANT_DTYPES.get(quant.get('dtype')) if quant else _PLAIN_DTYPES.get(spec['dtype'])
    if dtype is None:
        raise ToolError(f'weight {spec.get("name")!r}: unsupported dtype '
                        f'{(quant or spec).get("dtype")!r}')
    return int(np.prod([int(s) for s in spec['shape']], dtype=np.int64)) * dtype.itemsize


def _shard_path(model_path, rel):
    # Shards live next to model.json; refuse anything that would reach elsewhere.
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or '..' in rel.split('/'):
        raise ToolError(f'{model_path}: weight shard path {rel!r} is not a relative path '
                        'inside the model directory')
    return os.path.join(os.path.dirname(os.path.abspath(model_path)), rel)


def _read_group(model_path, group):
    """Concatenated bytes of one manifest group's shards + [(shard path, end offset)]."""
    blobs, ends, total = [], [], 0
    for rel in group.get('paths', []):
        path = _shard_path(model_path, rel)
        try:
            with open(path, 'rb') as f:
                blob = f.read()
        except FileNotFoundError:
            raise ToolError(f'{model_path}: weight shard {path} is missing') from None
        except OSError as e:
            raise ToolError(f'{model_path}: cannot read weight shard {path} '
                            f'({e.strerror or e})') from None
        blobs.append(blob)
        total += len(blob)
        ends.append((path, total))
    return b''.join(blobs), ends


def decode_manifest(model_path, manifest):
    """weightsManifest -> {name: np.ndarray}; short shards raise a ToolError naming the shard."""
    weights = {}
    for group in manifest:
        try:
            specs = list(group['weights'])
            need = sum(weight_nbytes(s) for s in specs)
        except (KeyError, TypeError, ValueError) as e:
            raise ToolError(f'{model_path}: malformed weightsManifest entry ({e})') from None
        data, ends = _read_group(model_path, group)
        if len(data) < need:
            # The manifest does not record shard sizes; the data runs out in the last shard.
            shard = ends[-1][0] if ends else '(none listed)'
            raise ToolError(f'{model_path}: weight shard {shard} is truncated: the group needs '
                            f'{need} bytes, its shards hold {len(data)}')
        offset = 0
        for spec in specs:
            n = weight_nbytes(spec)
            weights[spec['name']] = decode_weight(spec, data[offset:offset + n], model_path)
            offset += n
    return weights


def load_model_json(path):
    """Parse a TF.js graph model (format 'graph-model') and decode all of its weights."""
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get('modelTopology'), dict):
        raise ToolError(f'{path}: not a TF.js model.json (no modelTopology object)')
    topology = doc['modelTopology']
    if doc.get('format') not in (None, 'graph-model') or 'node' not in topology:
        raise ToolError(f'{path}: a TF.js {doc.get("format") or "layers"} model; only graph '
                        'models (format "graph-model") are supported')
    manifest = doc.get('weightsManifest') or []
    if not isinstance(manifest, list):
        raise ToolError(f'{path}: weightsManifest is not a list')
    weights = decode_manifest(path, manifest)
    meta = {k: doc.get(k) for k in ('format', 'generatedBy', 'convertedBy')}
    return TfjsModel(path, topology, doc.get('signature'), weights, meta)
