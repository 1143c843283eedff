"""One emitter per TF op: NodeContext -> Python expression (a string) computing the node in torch.

Emitters read constant inputs (shapes, axes, weights) at conversion time, so the generated
forward holds only tensor ops. Tensors stay in TF's layout (NHWC for images). Numbers are
written with repr() of Python ints/floats/bools, never text from the model file.
"""
import base64
import math

import numpy as np
import torch

from .. import ToolError

EMITTERS = {}


def emits(*names):
    def register(fn):
        for name in names:
            EMITTERS[name] = fn
        return fn
    return register


# --- constants -----------------------------------------------------------------------------

_TF_DTYPES = {'DT_FLOAT': (np.float32, 'floatVal'), 'DT_INT32': (np.int32, 'intVal')}


def const_value(node, model):
    """A Const node's value as a torch tensor: from the weights, else from its 'value' attr."""
    if node.name in model.weights:
        return torch.from_numpy(np.array(model.weights[node.name]))
    tensor = (node.attrs.get('value') or {}).get('tensor')
    if not tensor or tensor.get('dtype') not in _TF_DTYPES:
        raise ToolError(f'{model.path}: constant {node.name!r} has no weight data in the '
                        'weightsManifest (and no inline float/int32 value)')
    dtype, field = _TF_DTYPES[tensor['dtype']]
    dims = [int(d.get('size', 0)) for d in (tensor.get('tensorShape') or {}).get('dim', [])]
    count = int(np.prod(dims, dtype=np.int64))
    if 'tensorContent' in tensor:
        values = np.frombuffer(base64.b64decode(tensor['tensorContent']), dtype=dtype)
    else:
        values = np.array(tensor.get(field, [0]), dtype=dtype)
        if values.size == 1 and count != 1:
            values = np.full(count, values[0], dtype=dtype)
    if values.size != count:
        raise ToolError(f'{model.path}: constant {node.name!r}: {values.size} values for shape '
                        f'{dims}')
    return torch.from_numpy(values.reshape(dims).copy())


# --- helpers -------------------------------------------------------------------------------

def _num(v):
    """A Python literal for a float/int/bool, exact for float32 values."""
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return repr(int(v))
    v = float(v)
    if math.isinf(v):
        return "float('inf')" if v > 0 else "float('-inf')"
    if math.isnan(v):
        return "float('nan')"
    return repr(v)


def _ints(values):
    return '[' + ', '.join(repr(int(v)) for v in values) + ']'


def _check_nhwc(ctx):
    fmt = ctx.attr('data_format', 'NHWC')
    if fmt != 'NHWC':
        ctx.fail(f'data_format {fmt!r} is not supported (only NHWC)')


def _spatial(ctx, key, default=1):
    v = ctx.attr(key) or [default] * 4
    if len(v) != 4 or v[0] != 1 or v[3] != 1:
        ctx.fail(f'{key} {v} must be [1, h, w, 1]')
    return [v[1], v[2]]


def _same_pads(size, k, s, d):
    """TF 'SAME': total padding so that out = ceil(in / s); the odd cell goes after."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _pads(ctx, in_hw, k, s, d):
    padding = ctx.attr('padding', 'VALID')
    if padding == 'VALID':
        return [0, 0, 0, 0]
    if padding == 'SAME':
        t, b = _same_pads(in_hw[0], k[0], s[0], d[0])
        l, r = _same_pads(in_hw[1], k[1], s[1], d[1])
        return [t, b, l, r]
    if padding == 'EXPLICIT':
        p = ctx.attr('explicit_paddings') or []
        if len(p) != 8 or any(p[:2]) or any(p[6:]):
            ctx.fail(f'explicit_paddings {p} must pad only height and width')
        return p[2:6]
    ctx.fail(f'padding {padding!r} is not supported')


_ACTIVATIONS = {
    'Relu': lambda ctx, x, alpha: f'torch.relu({x})',
    'Relu6': lambda ctx, x, alpha: f'rt.relu6({x})',
    'Elu': lambda ctx, x, alpha: f'torch.nn.functional.elu({x})',
    'Sigmoid': lambda ctx, x, alpha: f'torch.sigmoid({x})',
    'Tanh': lambda ctx, x, alpha: f'torch.tanh({x})',
    'Prelu': lambda ctx, x, alpha: f'rt.prelu({x}, {alpha})',
    'LeakyRelu': lambda ctx, x, alpha: f'rt.leaky_relu({x}, {_num(ctx.attr("leakyrelu_alpha", 0.2))})',
}


def _fused(ctx, first_arg):
    """Fused ops of _FusedConv2D/_FusedMatMul/FusedDepthwiseConv2dNative, as TF.js supports them:
    ['BiasAdd'] or ['BiasAdd', activation]; args are bias then (for Prelu) alpha.
    Returns (bias input index or None, function wrapping the expression with the activation)."""
    fused = ctx.attr('fused_ops') or []
    if not fused:
        return None, lambda e: e
    if fused[0] != 'BiasAdd' or len(fused) > 2 or (len(fused) == 2 and fused[1] not in _ACTIVATIONS):
        ctx.fail(f'fused_ops {fused} are not supported (expected BiasAdd [+ activation])')
    if len(fused) == 1:
        return first_arg, lambda e: e
    act = fused[1]
    alpha = None
    if act == 'Prelu':
        if ctx.n_inputs() < first_arg + 2:
            ctx.fail('fused Prelu without its alpha argument')
        alpha = ctx.ref(first_arg + 1)
    return first_arg, lambda e: _ACTIVATIONS[act](ctx, e, alpha)


# --- graph plumbing ------------------------------------------------------------------------

@emits('Identity', 'Snapshot', 'StopGradient', 'PreventGradient')
def _identity(ctx):
    return ctx.ref(0)


@emits('Cast')
def _cast(ctx):
    dst = ctx.attr('DstT', 'DT_FLOAT')
    kinds = {'DT_FLOAT': 'torch.float32', 'DT_INT32': 'torch.int32', 'DT_BOOL': 'torch.bool'}
    if dst not in kinds:
        ctx.fail(f'cast to {dst} is not supported')
    return f'{ctx.ref(0)}.to({kinds[dst]})'


# --- convolutions --------------------------------------------------------------------------

def _conv(ctx, depthwise):
    _check_nhwc(ctx)
    in_shape = ctx.shape(0)
    w = ctx.const(1).float()
    kh, kw = int(w.shape[0]), int(w.shape[1])
    s, d = _spatial(ctx, 'strides'), _spatial(ctx, 'dilations')
    pads = _pads(ctx, in_shape[1:3], [kh, kw], s, d)
    if depthwise:  # TF [kh, kw, cin, mult] -> torch [cin*mult, 1, kh, kw], groups = cin
        groups = int(w.shape[2])
        w_t = w.reshape(kh, kw, -1).permute(2, 0, 1).unsqueeze(1)
    else:  # TF HWIO -> torch OIHW (grouped when the filter has fewer input channels)
        if in_shape[3] % int(w.shape[2]):
            ctx.fail(f'filter {list(w.shape)} does not fit input {in_shape}')
        groups = in_shape[3] // int(w.shape[2])
        w_t = w.permute(3, 2, 0, 1)
    bias_index, activate = _fused(ctx, 2)
    bias = ctx.ref(bias_index) if bias_index is not None else 'None'
    if ctx.fusion is not None and ctx.fusion.scale is not None:
        # Per-channel Mul/Add nodes after the conv (fuse.py): fold them into weight and bias.
        w_t, b = ctx.fusion.fold(w_t, ctx.const(bias_index) if bias_index is not None else None)
        bias = ctx.new_buffer(b)
    expr = (f'rt.conv2d_nhwc({ctx.ref(0)}, {ctx.new_buffer(w_t)}, {bias}, {_ints(s)}, '
            f'{_ints(pads)}, {_ints(d)}, {groups})')
    return activate(expr)


@emits('Conv2D', '_FusedConv2D')
def _conv2d(ctx):
    return _conv(ctx, depthwise=False)


@emits('DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'DepthwiseConv2d')
def _depthwise(ctx):
    return _conv(ctx, depthwise=True)


@emits('Conv2DBackpropInput')
def _conv_transpose(ctx):
    _check_nhwc(ctx)
    sizes = ctx.ints(0)  # [batch, h, w, c] of the output; the batch comes from the input
    w = ctx.const(1).float()  # [kh, kw, out channels, in channels]
    kh, kw = int(w.shape[0]), int(w.shape[1])
    s, d = _spatial(ctx, 'strides'), _spatial(ctx, 'dilations')
    if d != [1, 1]:
        ctx.fail('dilated transposed convolutions are not supported')
    pads = _pads(ctx, sizes[1:3], [kh, kw], s, d)
    in_shape = ctx.shape(2)
    for axis in (0, 1):  # the full transposed output must cover the crop
        full = (in_shape[1 + axis] - 1) * s[axis] + (kh, kw)[axis]
        if full < pads[2 * axis] + sizes[1 + axis]:
            ctx.fail(f'output size {sizes} is not reachable from input {in_shape}')
    w_t = w.permute(3, 2, 0, 1)  # torch conv_transpose weight: [in, out, kh, kw]
    return (f'rt.conv2d_transpose_nhwc({ctx.ref(2)}, {ctx.new_buffer(w_t)}, {_ints(s)}, '
            f'{_ints(pads)}, {_ints(sizes[1:3])})')


@emits('MaxPool', 'AvgPool')
def _pool(ctx):
    _check_nhwc(ctx)
    k, s = _spatial(ctx, 'ksize'), _spatial(ctx, 'strides')
    pads = _pads(ctx, ctx.shape(0)[1:3], k, s, [1, 1])
    fn = 'rt.max_pool_nhwc' if ctx.node.op == 'MaxPool' else 'rt.avg_pool_nhwc'
    return f'{fn}({ctx.ref(0)}, {_ints(k)}, {_ints(s)}, {_ints(pads)})'


@emits('MatMul', '_FusedMatMul')
def _matmul(ctx):
    ta, tb = ctx.attr('transpose_a', False), ctx.attr('transpose_b', False)
    a = ctx.ref(0) + ('.transpose(-1, -2)' if ta else '')
    bias_index, activate = _fused(ctx, 2)
    if ctx.is_const(1) and not ctx.folding and len(ctx.shape(1)) == 2:
        w = ctx.const(1).float()
        w_t = w if tb else w.t()  # F.linear wants [out, in]
        bias = ctx.ref(bias_index) if bias_index is not None else 'None'
        return activate(f'torch.nn.functional.linear({a}, {ctx.new_buffer(w_t)}, {bias})')
    b = ctx.ref(1) + ('.transpose(-1, -2)' if tb else '')
    expr = f'torch.matmul({a}, {b})'
    if bias_index is not None:
        expr = f'({expr} + {ctx.ref(bias_index)})'
    return activate(expr)


# --- element-wise --------------------------------------------------------------------------

_BINARY = {
    'Add': '({a} + {b})', 'AddV2': '({a} + {b})', 'BiasAdd': '({a} + {b})',
    'Sub': '({a} - {b})', 'Mul': '({a} * {b})', 'RealDiv': '({a} / {b})', 'Div': '({a} / {b})',
    'Maximum': 'torch.maximum({a}, {b})', 'Minimum': 'torch.minimum({a}, {b})',
    'Pow': 'torch.pow({a}, {b})', 'SquaredDifference': 'torch.square({a} - {b})',
}


@emits(*_BINARY)
def _binary(ctx):
    if ctx.node.op == 'BiasAdd':
        _check_nhwc(ctx)
    return _BINARY[ctx.node.op].format(a=ctx.ref(0), b=ctx.ref(1))


_UNARY = {
    'Relu': 'torch.relu({x})', 'Relu6': 'rt.relu6({x})', 'Sigmoid': 'torch.sigmoid({x})',
    'Tanh': 'torch.tanh({x})', 'Abs': 'torch.abs({x})', 'Square': 'torch.square({x})',
    'Sqrt': 'torch.sqrt({x})', 'Rsqrt': 'torch.rsqrt({x})', 'Exp': 'torch.exp({x})',
    'Log': 'torch.log({x})', 'Neg': '(-{x})', 'Elu': 'torch.nn.functional.elu({x})',
    'Selu': 'torch.selu({x})', 'Softplus': 'torch.nn.functional.softplus({x})',
    'Reciprocal': 'torch.reciprocal({x})', 'Floor': 'torch.floor({x})',
}


@emits(*_UNARY)
def _unary(ctx):
    return _UNARY[ctx.node.op].format(x=ctx.ref(0))


@emits('LeakyRelu')
def _leaky_relu(ctx):
    return f'rt.leaky_relu({ctx.ref(0)}, {_num(ctx.attr("alpha", 0.2))})'


@emits('Prelu')
def _prelu(ctx):
    return f'rt.prelu({ctx.ref(0)}, {ctx.ref(1)})'


@emits('AddN')
def _add_n(ctx):
    return '(' + ' + '.join(ctx.ref(i) for i in range(ctx.n_inputs())) + ')'


@emits('Softmax', 'LogSoftmax')
def _softmax(ctx):
    fn = 'torch.softmax' if ctx.node.op == 'Softmax' else 'torch.log_softmax'
    return f'{fn}({ctx.ref(0)}, -1)'


# --- reductions ----------------------------------------------------------------------------

_REDUCE = {'Mean': 'torch.mean', 'Sum': 'torch.sum', 'Max': 'torch.amax', 'Min': 'torch.amin'}


@emits(*_REDUCE)
def _reduce(ctx):
    rank = len(ctx.shape(0))
    axes = sorted({a % rank for a in ctx.ints(1)})
    keep = bool(ctx.attr('keep_dims', False))
    if not axes:
        return ctx.ref(0)
    if 0 in axes and not ctx.is_const(0):
        ctx.fail('reducing over the batch dimension is not supported')
    return f'{_REDUCE[ctx.node.op]}({ctx.ref(0)}, {_ints(axes)}, {keep})'


# --- shapes --------------------------------------------------------------------------------

@emits('Reshape')
def _reshape(ctx):
    target = ctx.ints(1)
    in_shape = ctx.shape(0)
    if ctx.is_const(0):
        return f'{ctx.ref(0)}.reshape({_ints(target)})'
    # Dynamic input: dimension 0 is the batch. TF graphs exported at batch 1 bake a 1 (or -1)
    # into the target's first entry; keep the batch and resolve the rest statically.
    if len(target) < 1 or target[0] not in (-1, 1, in_shape[0]):
        ctx.fail(f'reshape {in_shape} -> {target} would mix the batch dimension')
    rest = list(target[1:])
    per_sample = int(np.prod(in_shape[1:], dtype=np.int64))
    if rest.count(-1) > 1:
        ctx.fail(f'reshape target {target} has more than one -1')
    if -1 in rest:
        known = int(np.prod([r for r in rest if r != -1], dtype=np.int64))
        rest[rest.index(-1)] = per_sample // max(known, 1)
    if int(np.prod(rest, dtype=np.int64)) != per_sample:
        ctx.fail(f'reshape {in_shape} -> {target} does not keep the per-sample size')
    x = ctx.ref(0)
    return f'{x}.reshape([{x}.size(0)] + {_ints(rest)})'


@emits('Squeeze')
def _squeeze(ctx):
    shape = ctx.shape(0)
    dims = [d % len(shape) for d in (ctx.attr('squeeze_dims') or [])]
    if not dims:
        dims = [i for i, n in enumerate(shape) if n == 1 and (i > 0 or ctx.is_const(0))]
    if 0 in dims and not ctx.is_const(0):
        ctx.fail('squeezing the batch dimension is not supported')
    keep = [n for i, n in enumerate(shape) if i not in dims]
    x = ctx.ref(0)
    if ctx.is_const(0):
        return f'{x}.reshape({_ints(keep)})'
    return f'{x}.reshape([{x}.size(0)] + {_ints(keep[1:])})'


@emits('ExpandDims')
def _expand_dims(ctx):
    (axis,) = ctx.ints(1)
    rank = len(ctx.shape(0))
    axis = axis % (rank + 1)
    if axis == 0 and not ctx.is_const(0):
        ctx.fail('inserting a dimension before the batch is not supported')
    return f'{ctx.ref(0)}.unsqueeze({axis})'


@emits('ConcatV2', 'Concat')
def _concat(ctx):
    if ctx.node.op == 'Concat':  # axis first
        axis, parts = ctx.ints(0)[0], range(1, ctx.n_inputs())
    else:
        axis, parts = ctx.ints(ctx.n_inputs() - 1)[0], range(ctx.n_inputs() - 1)
    rank = len(ctx.shape(parts[0]))
    return f'torch.cat([{", ".join(ctx.ref(i) for i in parts)}], {axis % rank})'


@emits('Transpose')
def _transpose(ctx):
    perm = ctx.ints(1)
    if perm and perm[0] != 0 and not ctx.is_const(0):
        ctx.fail('moving the batch dimension is not supported')
    return f'{ctx.ref(0)}.permute({_ints(perm)})'


@emits('Pad', 'PadV2', 'MirrorPad')
def _pad(ctx):
    pads = ctx.const(1).reshape(-1, 2).tolist()
    flat = [int(v) for pair in pads for v in pair]
    if any(v < 0 for v in flat):
        ctx.fail('negative paddings are not supported')
    if (flat[0] or flat[1]) and not ctx.is_const(0):
        ctx.fail('padding the batch dimension is not supported')
    x = ctx.ref(0)
    if ctx.node.op == 'MirrorPad':
        mode = ctx.attr('mode', 'REFLECT')
        if mode not in ('REFLECT', 'SYMMETRIC'):
            ctx.fail(f'mirror mode {mode!r} is not supported')
        return f'rt.mirror_pad({x}, {_ints(flat)}, {mode == "SYMMETRIC"})'
    value = 0.0
    if ctx.node.op == 'PadV2' and ctx.n_inputs() > 2:
        value = float(ctx.const(2).reshape(-1)[0])
    torch_pads = [v for pair in reversed(pads) for v in pair]  # F.pad: last dim first
    return f'torch.nn.functional.pad({x}, {_ints(torch_pads)}, "constant", {_num(value)})'


@emits('StridedSlice')
def _strided_slice(ctx):
    begin, end, strides = ctx.ints(1), ctx.ints(2), ctx.ints(3)
    masks = {k: int(ctx.attr(k, 0)) for k in ('begin_mask', 'end_mask', 'ellipsis_mask',
                                              'new_axis_mask', 'shrink_axis_mask')}
    if masks['ellipsis_mask'] or masks['new_axis_mask']:
        ctx.fail('ellipsis_mask/new_axis_mask are not supported')
    if any(s <= 0 for s in strides):
        ctx.fail(f'strides {strides}: only positive strides are supported')
    items = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if masks['shrink_axis_mask'] >> i & 1:
            items.append(repr(b))
            if i == 0 and not ctx.is_const(0):
                ctx.fail('selecting one sample of the batch is not supported')
            continue
        lo = '' if masks['begin_mask'] >> i & 1 else repr(b)
        hi = '' if masks['end_mask'] >> i & 1 else repr(e)
        if i == 0 and not ctx.is_const(0) and (lo not in ('', '0') or hi != '' or s != 1):
            ctx.fail('slicing the batch dimension is not supported')
        items.append(f'{lo}:{hi}' + (f':{s}' if s != 1 else ''))
    return f'{ctx.ref(0)}[{", ".join(items) or ":"}]'


# --- images --------------------------------------------------------------------------------

@emits('ResizeBilinear')
def _resize_bilinear(ctx):
    size = ctx.ints(1)
    if len(size) != 2 or min(size) <= 0:
        ctx.fail(f'bad size {size}')
    align, half = bool(ctx.attr('align_corners', False)), bool(ctx.attr('half_pixel_centers', False))
    return f'rt.resize_bilinear_nhwc({ctx.ref(0)}, {_ints(size)}, {align}, {half})'
