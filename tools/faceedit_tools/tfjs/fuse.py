"""Peephole fusion planned on the graph before code generation.

TF.js graphs exported from Keras often keep batch-norm and activations as separate nodes after a
convolution: Conv2D -> Mul(scale) -> Add(shift) -> Relu -> Minimum(6) -> Maximum(0). Emitted one
line per node, each of those is a full pass over the activation tensor, and in MobileNet-like
judges they cost as much time as the convolutions. This pass finds such chains so the code
generator can emit one line per chain:

* a convolution without fused activation absorbs the per-output-channel constant Mul/Add/Sub
  nodes after it: they become scaled weights and a bias (exact up to float rounding);
* any node absorbs the Relu/Relu6/Minimum(c)/Maximum(c) nodes after it: they become one
  torch.clamp (a chain that starts after an unfusable node becomes a clamp node of its own);
* Keras' PReLU as TF exports it, relu(x) + (x - |x|) * c (five nodes), becomes one PReLU with
  alpha = 2c (bit-identical: x - |x| = 2x for x < 0, and doubling is exact); and the variant
  x + (x - |x|) * c of an x that is a Relu output is x itself (x - |x| = 0 when x >= 0);
* hard-swish as MediaPipe exports it, (x * c) * relu6(x + 3) with c ~ 1/6 (four nodes),
  becomes F.hardswish(x) * 6c (two; equal up to float rounding). c is not exactly 1/6 in
  selfie.json (float16-rounded), hence the explicit factor.

A node is only absorbed when the value before it has no other consumer (and is not a graph
output), and its constant operand is per-channel broadcastable; otherwise the graph is left as
it is.
"""
import math

import torch

from . import ops

CONVS = ('Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative',
         'DepthwiseConv2d')
AFFINE = ('Mul', 'Add', 'AddV2', 'BiasAdd', 'Sub')
CLAMPS = ('Relu', 'Relu6', 'Minimum', 'Maximum')
_CONST_ARITHMETIC = {'Identity': (1, lambda a: a), 'Mul': (2, lambda a, b: a * b),
                     'Add': (2, lambda a, b: a + b), 'AddV2': (2, lambda a, b: a + b),
                     'Sub': (2, lambda a, b: a - b)}


class Fusion:
    """What the head node absorbs: `absorbed` nodes, an affine y*scale + shift (per output
    channel, applied to the convolution's weights and bias) and a final clamp to [lo, hi]."""

    def __init__(self, head):
        self.head = head
        self.absorbed = []
        self.scale = self.shift = None   # float64 [C] tensors, convolutions only
        self.lo, self.hi = -math.inf, math.inf
        self.clamp_input = None          # input index when the head is itself a clamp op
        self.call = None                 # (template, x node name, alpha tensor or None) for
                                         # a PReLU/hard-swish head: the template's {x}, {alpha}
        self.same_as = None              # x when the head's value is x (PReLU of a relu output)

    @property
    def clamps(self):
        return self.lo != -math.inf or self.hi != math.inf

    def fold(self, w, bias):
        """OIHW weight, bias [O] or None -> the weight and bias with the affine folded in."""
        ones = torch.ones(w.shape[0], dtype=torch.float64)
        scale = self.scale if self.scale is not None else ones
        shift = self.shift if self.shift is not None else torch.zeros_like(scale)
        b = bias.double() if bias is not None else torch.zeros_like(scale)
        w = w.double() * scale.view(-1, 1, 1, 1)
        return w.float(), (b * scale + shift).float()

    def wrap(self, expr, fresh=False):
        """expr with the absorbed clamp applied; in place when expr is a fresh tensor (a conv's
        output), which saves allocating (and page-faulting) another activation-sized tensor."""
        if not self.clamps:
            return expr
        if self.lo == 0.0 and self.hi == math.inf:
            return f'torch.relu_({expr})' if fresh else f'torch.relu({expr})'
        lo = 'None' if self.lo == -math.inf else ops._num(self.lo)
        hi = 'None' if self.hi == math.inf else ops._num(self.hi)
        return f'torch.clamp{"_" if fresh else ""}({expr}, {lo}, {hi})'


def plan(graph, model):
    """node name -> Fusion for every head that absorbs something; absorbed name -> head name."""
    graph_outputs = set(graph.outputs)
    consumers = {}
    for node in graph.order:
        for i in range(len(node.inputs)):
            consumers.setdefault(node.input_node(i), []).append(node)
    consts = {}

    def const(name):
        """The value of a Const node, or of simple arithmetic on them (TF leaves e.g. the 0.5 *
        alpha of PReLU unfolded; the code generator folds it the same way); else None."""
        if name not in consts:
            node, value = graph.nodes[name], None
            if node.op == 'Const':
                value = ops.const_value(node, model)
            elif node.op in _CONST_ARITHMETIC and len(node.inputs) == _CONST_ARITHMETIC[node.op][0]:
                args = [const(node.input_node(i)) for i in range(len(node.inputs))]
                if all(a is not None and a.dtype == torch.float32 for a in args):
                    value = _CONST_ARITHMETIC[node.op][1](*args)
            consts[name] = value
        return consts[name]

    def only_consumer(name):
        users = consumers.get(name, [])
        if name in graph_outputs or len(users) != 1:
            return None
        return users[0]

    def operand(node, name):
        """(the constant other input, index of `name`) of a binary node, or (None, None)."""
        a, b = node.input_node(0), node.input_node(1)
        if a == name and b != name:
            return const(b), 0
        if b == name and a != name:
            return const(a), 1
        return None, None

    fusions, alias = {}, {}

    def add(fusion):
        fusions[fusion.head] = fusion
        alias.update((name, fusion.head) for name in fusion.absorbed)

    # Pass 1: whole activation patterns (their inner nodes would otherwise be taken by pass 2).
    for node in graph.order:
        fusion = Fusion(node.name)
        if node.op in ('Add', 'AddV2'):
            same = _prelu_of_nonnegative(node, graph, only_consumer, const)
            if same:  # the value is x itself: no line at all
                fusion.same_as, fusion.absorbed = same
            prelu = _prelu_pattern(node, graph, only_consumer, const)
            if prelu:
                fusion.call = ('rt.prelu_nhwc({x}, {alpha})',) + prelu[:2]
                fusion.absorbed = prelu[2]
        elif node.op == 'Mul':
            swish = _hardswish_pattern(node, graph, only_consumer, const)
            if swish:
                fusion.call = ('(F.hardswish({x}) * {alpha})',) + swish[:2]
                fusion.absorbed = swish[2]
        if fusion.absorbed and not any(n in alias or n in fusions for n in fusion.absorbed):
            add(fusion)

    # Pass 2: convolutions with their affine and clamp chains, clamp chains after other nodes.
    def free_consumer(name):
        user = only_consumer(name)
        return None if user is None or user.name in alias or user.name in fusions else user

    for node in graph.order:
        if node.name in alias or node.name in fusions or node.op in ('Const', 'Placeholder'):
            continue
        fusion, tail = Fusion(node.name), node
        if node.op in CONVS and (node.attr('fused_ops') or []) in ([], ['BiasAdd']):
            tail = _absorb_affine(fusion, node, free_consumer, operand, const)
        if node.op in CLAMPS:
            # A chain whose producer could not take it: the first clamp op becomes the head.
            fusion.clamp_input = _clamp_step(fusion, node, None, operand)
            if fusion.clamp_input is None:
                continue
        _absorb_clamps(fusion, tail, free_consumer, operand)
        if fusion.absorbed:
            add(fusion)
    return fusions, alias


def _channels(c, out_channels):
    """c as a float64 [C] vector when it broadcasts per output channel over NHWC, else None."""
    if c is None or c.dtype != torch.float32 or c.dim() > 4:
        return None
    if c.numel() == 1:
        return c.double().reshape(1).expand(out_channels).clone()
    if c.numel() == out_channels and c.shape[-1] == out_channels:
        return c.double().reshape(-1)
    return None


def _absorb_affine(fusion, conv, only_consumer, operand, const):
    w = const(conv.input_node(1))
    if w is None or w.dim() != 4:
        return conv
    depthwise = conv.op not in ('Conv2D', '_FusedConv2D')
    out_channels = int(w.shape[2] * w.shape[3]) if depthwise else int(w.shape[3])
    scale = torch.ones(out_channels, dtype=torch.float64)
    shift = torch.zeros(out_channels, dtype=torch.float64)
    tail = conv
    while True:
        nxt = only_consumer(tail.name)
        if nxt is None or nxt.op not in AFFINE or len(nxt.inputs) != 2:
            break
        c, index = operand(nxt, tail.name)
        c = _channels(c, out_channels)
        if c is None or (nxt.op == 'Sub' and index != 0):
            break
        if nxt.op == 'Mul':
            scale, shift = scale * c, shift * c
        elif nxt.op == 'Sub':
            shift = shift - c
        else:
            shift = shift + c
        fusion.absorbed.append(nxt.name)
        tail = nxt
    if tail is not conv:
        fusion.scale, fusion.shift = scale, shift
    return tail


def _clamp_step(fusion, node, source, operand):
    """Narrow fusion's [lo, hi] by clamp op `node` reading `source` (None: the head's own input).
    Returns the index of the clamped input; None when node is not a clamp by a scalar constant,
    or the narrowed range would be empty (clamps that do not overlap give a constant, which
    torch.clamp would not)."""
    index = 0
    if node.op == 'Relu':
        lo, hi = 0.0, math.inf
    elif node.op == 'Relu6':
        lo, hi = 0.0, 6.0
    elif node.op in ('Minimum', 'Maximum') and len(node.inputs) == 2:
        if source is None:  # the head: whichever input is not the constant
            c, index = operand(node, node.input_node(0))
            if c is None:
                c, index = operand(node, node.input_node(1))
        else:
            c, index = operand(node, source)
        # A scalar only: a larger constant could broadcast the value to another shape.
        if c is None or c.dtype != torch.float32 or c.dim() > 1 or c.numel() != 1:
            return None
        v = float(c.reshape(-1)[0])
        if math.isnan(v):
            return None
        lo, hi = (-math.inf, v) if node.op == 'Minimum' else (v, math.inf)
    else:
        return None
    lo, hi = max(fusion.lo, lo), min(fusion.hi, hi)
    if lo > hi:
        return None
    fusion.lo, fusion.hi = lo, hi
    return index


def _absorb_clamps(fusion, tail, only_consumer, operand):
    while True:
        nxt = only_consumer(tail.name) if tail.op != 'Const' else None
        if nxt is None or nxt.op not in CLAMPS or \
                _clamp_step(fusion, nxt, tail.name, operand) is None:
            return tail
        fusion.absorbed.append(nxt.name)
        tail = nxt


def _prelu_pattern(add, graph, only_consumer, const):
    """add = Relu(x) + Mul(Sub(x, Abs(x)), c), each inner node read once, c per channel or a
    scalar -> (x, alpha = 2c, the four inner node names); else None."""
    nodes = graph.nodes
    for r, m in ((0, 1), (1, 0)):
        relu, mul = nodes[add.input_node(r)], nodes[add.input_node(m)]
        if relu.op != 'Relu':
            continue
        x = relu.input_node(0)
        for ab, sub, c in _negative_part_times_constant(mul, x, nodes, const):
            inner = [relu, ab, sub, mul]
            if not _each_read_only_by(inner, [add, sub, mul, add], only_consumer):
                continue
            if c is None or c.dtype != torch.float32 or c.dim() > 4 or \
                    any(d != 1 for d in c.shape[:-1]):
                continue
            return x, c * 2, [n.name for n in inner]
    return None


def _nonnegative(node):
    if node.op in ('Relu', 'Relu6'):
        return True
    fused = node.attr('fused_ops') or []  # conv/matmul + BiasAdd + activation
    return (node.op.startswith(('_Fused', 'Fused')) and len(fused) == 2
            and fused[1] in ('Relu', 'Relu6'))


def _prelu_of_nonnegative(add, graph, only_consumer, const):
    """add = x + Mul(Sub(x, Abs(x)), c) with x >= 0 (a relu output), c finite and at most 1-D
    (so it cannot broadcast x to another shape) -> (x, the three inner node names); else None."""
    nodes = graph.nodes
    for x_i in (0, 1):
        x, mul = add.input_node(x_i), nodes[add.input_node(1 - x_i)]
        if not _nonnegative(nodes[x]):
            continue
        for ab, sub, c in _negative_part_times_constant(mul, x, nodes, const):
            inner = [ab, sub, mul]
            if not _each_read_only_by(inner, [sub, mul, add], only_consumer):
                continue
            if c is None or c.dtype != torch.float32 or c.dim() > 1 or \
                    not bool(torch.isfinite(c).all()):
                continue
            return x, [n.name for n in inner]
    return None


def _negative_part_times_constant(mul, x, nodes, const):
    """The readings of mul as Mul(Sub(x, Abs(x)), c), the core of TF's PReLU (the Mul's operands
    in either order): yields (the Abs node, the Sub node, c or None when not a constant)."""
    if mul.op != 'Mul' or len(mul.inputs) != 2:
        return
    for s_i in (0, 1):
        sub, c = nodes[mul.input_node(s_i)], const(mul.input_node(1 - s_i))
        if sub.op != 'Sub' or len(sub.inputs) != 2 or sub.input_node(0) != x:
            continue
        ab = nodes[sub.input_node(1)]
        if ab.op != 'Abs' or ab.input_node(0) != x:
            continue
        yield ab, sub, c


def _each_read_only_by(inner, readers, only_consumer):
    """Whether each inner node's value is read by its reader alone (so the pattern can vanish)."""
    return all(only_consumer(n.name) is reader for n, reader in zip(inner, readers))


def _scalar(c, value=None):
    """Whether c is a finite float32 scalar (equal to `value` when given)."""
    if c is None or c.dtype != torch.float32 or c.dim() > 1 or c.numel() != 1:
        return False
    v = float(c.reshape(-1)[0])
    return math.isfinite(v) and (value is None or v == value)


def _hardswish_pattern(mul, graph, only_consumer, const):
    """mul = Mul(x, c) * Relu6(Add(x, 3)) (operands in any order), c a scalar, inner nodes read
    once -> (x, 6c, the three inner node names); else None."""
    nodes = graph.nodes
    if len(mul.inputs) != 2:
        return None
    for s_i in (0, 1):
        scale, relu6 = nodes[mul.input_node(s_i)], nodes[mul.input_node(1 - s_i)]
        if scale.op != 'Mul' or len(scale.inputs) != 2 or relu6.op != 'Relu6':
            continue
        add = nodes[relu6.input_node(0)]
        if add.op not in ('Add', 'AddV2') or len(add.inputs) != 2:
            continue
        for x_i in (0, 1):
            x, c = scale.input_node(x_i), const(scale.input_node(1 - x_i))
            if not _scalar(c):
                continue
            if not any(add.input_node(i) == x and _scalar(const(add.input_node(1 - i)), 3.0)
                       for i in (0, 1)):
                continue
            inner = [scale, add, relu6]
            if not _each_read_only_by(inner, [mul, relu6, mul], only_consumer):
                continue
            return x, (c.double() * 6).float().reshape([]), [n.name for n in inner]
    return None
