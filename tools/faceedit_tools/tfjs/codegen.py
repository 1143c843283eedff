"""Graph -> Python source of an nn.Module -> TorchScript.

Each node becomes one line `vK = <torch expression>` in forward. While writing the lines, each
expression is also evaluated on a probe batch (PROBE_BATCH samples of noise), which gives the ops
the static shapes TF's padding rules need and folds nodes that depend only on constants. The
source is written to a temporary .py file and imported (TorchScript compiles from source files),
scripted, and the module is returned. Identifiers in the source are generated here (vK, cK);
model names appear only in sanitised comments, values only as numbers.
"""
import importlib.util
import os
import re
import sys
import tempfile
import types

import torch
import torch.nn.functional as F

from .. import ToolError, raise_if_problems
from . import fuse, ops, runtime
from .graph import Graph
from .model_json import load_model_json

PROBE_BATCH = 2


def _comment(text):
    return re.sub(r'[^A-Za-z0-9_/.:\-]', '?', text)[:160]


class Builder:
    """Accumulates buffers and forward lines; hands ops a NodeContext per node."""

    def __init__(self, graph, model, fusion=True):
        self.graph, self.model = graph, model
        # head node -> fuse.Fusion; absorbed node -> its head (see fuse.py)
        self.fusions, self.alias = fuse.plan(graph, model) if fusion else ({}, {})
        self.var = {}        # node name -> variable name (dynamic values)
        self.probe = {}      # variable or buffer name -> probe value
        self.const = {}      # node name -> torch tensor (constants and folded nodes)
        self.buffers = {}    # buffer name -> tensor
        self.const_buffer = {}  # node name -> buffer name
        self.lines = []

    def env(self):
        return {'torch': torch, 'F': F, 'rt': runtime,
                'self': types.SimpleNamespace(**self.buffers), **self.probe}

    def add_buffer(self, tensor, node_name=None):
        if node_name is not None and node_name in self.const_buffer:
            return 'self.' + self.const_buffer[node_name]
        name = f'c{len(self.buffers)}'
        self.buffers[name] = tensor.detach().contiguous().clone()
        if node_name is not None:
            self.const_buffer[node_name] = name
        return 'self.' + name

    def build(self):
        unsupported = sorted({n.op for n in self.graph.order if n.op not in ops.EMITTERS
                              and n.op not in ('Const', 'Placeholder')})
        raise_if_problems(self.model.path, 'unsupported TF.js ops',
                          [f'{op} (node {next(n.name for n in self.graph.order if n.op == op)!r})'
                           for op in unsupported])
        for node in self.graph.order:
            self._node(node)
        return self

    def _node(self, node):
        if node.op == 'Const':
            self.const[node.name] = ops.const_value(node, self.model)
            return
        if node.op == 'Placeholder':
            var = f'in{self.graph.inputs.index(node.name)}'
            self.var[node.name] = var
            self.probe[var] = _probe_input(node, self.model.path)
            return
        if node.name in self.alias:  # fused into its head: the head's value is this node's
            head = self.alias[node.name]
            if head in self.const:
                self.const[node.name] = self.const[head]
            elif head in self.var:
                self.var[node.name] = self.var[head]
            # else: an inner node of a pattern whose head comes later (PReLU); only that
            # pattern's nodes read it
            return
        fusion = self.fusions.get(node.name)
        if fusion is not None and fusion.same_as is not None:  # the node computes its input
            x = fusion.same_as
            if x in self.const:
                self.const[node.name] = self.const[x]
            else:
                self.var[node.name] = self.var[x]
            return
        inputs = [node.input_node(i) for i in range(len(node.inputs))]
        ctx = NodeContext(self, node, inputs, folding=all(i in self.const for i in inputs))
        ctx.fusion = fusion
        if fusion is not None and fusion.clamp_input is not None:
            expr = fusion.wrap(ctx.ref(fusion.clamp_input))  # a clamp chain: one op
        elif fusion is not None and fusion.call is not None:  # PReLU, hard-swish (fuse.py)
            template, x, alpha = fusion.call
            alpha = ctx.new_buffer(alpha) if alpha is not None else None
            expr = fusion.wrap(template.format(x=ctx.ref_node(x), alpha=alpha))
        else:
            expr = ops.EMITTERS[node.op](ctx)
            if fusion is not None:
                expr = fusion.wrap(expr, fresh=node.op in fuse.CONVS)
        if ctx.folding:
            env = self.env()
            env.update(ctx.fold_env)
            self.const[node.name] = self._eval(node, expr, env)
            return
        var = f'v{len(self.lines)}'
        self.probe[var] = self._eval(node, expr, self.env())
        self.var[node.name] = var
        fused = ''
        if fusion is not None:
            absorbed = [self.graph.nodes[n] for n in fusion.absorbed]
            fused = f' + {" ".join(n.op for n in absorbed)} {_comment(absorbed[-1].name)}'
        self.lines.append(f'        {var} = {expr}  # {node.op} {_comment(node.name)}{fused}')

    def _eval(self, node, expr, env):
        try:
            with torch.no_grad():
                return eval(expr, env)  # our own generated expression (see module docstring)
        except ToolError:
            raise
        except Exception as e:
            raise ToolError(f'{self.model.path}: node {node.name!r} ({node.op}) fails on the probe '
                            f'batch: {type(e).__name__}: {str(e).splitlines()[0][:300]}') from None

    def output_exprs(self):
        exprs = []
        for name in self.graph.outputs:
            if name in self.var:
                exprs.append(self.var[name])
            else:  # an output that does not depend on the input: repeat it over the batch
                ref = self.add_buffer(self.const[name].to(torch.float32), name)
                exprs.append(f'{ref}.unsqueeze(0).expand([in0.size(0)] + {ref}.shape)')
        return exprs

    def source(self, class_name='TfjsGraph'):
        args = ', '.join(f'in{i}: torch.Tensor' for i in range(len(self.graph.inputs)))
        outs = self.output_exprs()
        ret_type = ('torch.Tensor' if len(outs) == 1 else
                    'Tuple[' + ', '.join(['torch.Tensor'] * len(outs)) + ']')
        src = [
            '# Generated by faceedit_tools.tfjs.codegen from ' + _comment(self.model.path),
            'from typing import Tuple',
            'import torch',
            'import torch.nn.functional as F',
            'from faceedit_tools.tfjs import runtime as rt',
            '',
            '',
            f'class {class_name}(torch.nn.Module):',
            '    def __init__(self, tensors):',
            '        super().__init__()',
            '        for name, tensor in tensors.items():',
            '            self.register_buffer(name, tensor)',
            '',
            f'    def forward(self, {args}) -> {ret_type}:',
            *self.lines,
            f'        return {", ".join(outs)}',
            '',
        ]
        return '\n'.join(src)


class NodeContext:
    """What an op emitter sees: its node's attributes, input expressions, constants, shapes."""

    def __init__(self, builder, node, inputs, folding):
        self.b, self.node, self.inputs, self.folding = builder, node, inputs, folding
        self.fusion = None  # the fuse.Fusion this node heads, if any
        self.fold_env = {}
        self.where = builder.model.path

    def fail(self, why):
        raise ToolError(f'{self.where}: node {self.node.name!r} ({self.node.op}): {why}')

    def attr(self, key, default=None):
        return self.node.attr(key, default)

    def n_inputs(self):
        return len(self.inputs)

    def is_const(self, i):
        return self.inputs[i] in self.b.const

    def const(self, i):
        if not self.is_const(i):
            self.fail(f'input {i} must be a constant')
        return self.b.const[self.inputs[i]]

    def ints(self, i):
        return [int(v) for v in self.const(i).reshape(-1).tolist()]

    def value(self, i):
        """The probe value of input i (a constant's value for constants)."""
        name = self.inputs[i]
        return self.b.const[name] if name in self.b.const else self.b.probe[self.b.var[name]]

    def shape(self, i):
        return list(self.value(i).shape)

    def ref(self, i):
        """Expression for input i inside forward."""
        return self.ref_node(self.inputs[i], f'k{i}')

    def ref_node(self, name, key=None):
        """Expression for the value of node `name` (a fused pattern reads beyond its inputs)."""
        if name in self.b.var:
            return self.b.var[name]
        if self.folding and key is not None:
            self.fold_env[key] = self.b.const[name]
            return key
        return self.b.add_buffer(self.b.const[name], name)

    def new_buffer(self, tensor):
        """A derived constant (e.g. a transposed weight) -> expression."""
        if self.folding:
            key = f'k{len(self.fold_env)}_new'
            self.fold_env[key] = tensor
            return key
        return self.b.add_buffer(tensor)


def _probe_input(node, where):
    shape = node.attr('shape')
    try:
        dims = [int(d.get('size', -1)) for d in shape['shape']['dim']]
    except (TypeError, KeyError, ValueError):
        raise ToolError(f'{where}: input {node.name!r} has no static shape') from None
    if len(dims) < 1 or any(d <= 0 for d in dims[1:]):
        raise ToolError(f'{where}: input {node.name!r} shape {dims}: only the batch dimension '
                        'may be unknown')
    dims[0] = PROBE_BATCH  # -1 or a baked-in 1: the generated code is batch-agnostic
    dtype = node.attr('dtype', 'DT_FLOAT')
    if dtype != 'DT_FLOAT':
        raise ToolError(f'{where}: input {node.name!r} has type {dtype}; only DT_FLOAT inputs')
    gen = torch.Generator().manual_seed(0)
    return torch.rand(dims, generator=gen)


def _import_source(source, class_name):
    """Import generated source from a temp file (TorchScript needs real source files)."""
    fd, path = tempfile.mkstemp(prefix='faceedit_tfjs_', suffix='.py')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(source)
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return getattr(module, class_name), path
    except BaseException:
        os.unlink(path)
        raise


class Converted:
    """A converted graph: scripted module + facts about it."""

    def __init__(self, path, module, graph, builder, source):
        self.path = path
        self.module = module
        self.inputs = graph.inputs
        self.outputs = graph.outputs
        self.input_shapes = [list(builder.probe[f'in{i}'].shape[1:])
                             for i in range(len(graph.inputs))]
        self.ops = sorted({n.op for n in graph.order})
        self.source = source


def convert_model(path, fusion=True):
    """model.json path -> Converted (module scripted; forward takes NHWC float input(s)).
    fusion=False emits every node on its own (tests compare the two)."""
    model = load_model_json(path)
    graph = Graph(model)
    builder = Builder(graph, model, fusion).build()
    source = builder.source()
    cls, tmp = _import_source(source, 'TfjsGraph')
    try:
        module = cls(builder.buffers).eval()
        try:
            scripted = torch.jit.script(module)
        except Exception as e:
            raise ToolError(f'{path}: TorchScript rejected the generated module '
                            f'({type(e).__name__}: {str(e).splitlines()[0][:300]})') from None
    finally:
        os.unlink(tmp)
        sys.modules.pop(cls.__module__, None)
    return Converted(path, scripted, graph, builder, source)
