"""The node graph of a TF.js model: attributes, inputs, topological order, graph inputs/outputs."""
import base64

from .. import ToolError


class Node:
    def __init__(self, raw, where):
        try:
            self.name = str(raw['name'])
            self.op = str(raw['op'])
        except (KeyError, TypeError):
            raise ToolError(f'{where}: a graph node without name/op: {str(raw)[:120]}') from None
        inputs = raw.get('input') or []
        # '^name' are control dependencies (ordering only); 'name:k' selects output k.
        self.inputs = [i for i in inputs if not i.startswith('^')]
        self.attrs = raw.get('attr') or {}
        self.where = where

    def input_node(self, i):
        name, _, index = self.inputs[i].partition(':')
        if index not in ('', '0'):
            raise ToolError(f'{self.where}: node {self.name!r} ({self.op}) reads output {index} of '
                            f'{name!r}; only single-output ops are supported')
        return name

    def attr(self, key, default=None):
        """Decoded attribute: int, float, bool, str, list, or default when absent."""
        value = self.attrs.get(key)
        if value is None:
            return default
        return _decode_attr(value, f'{self.where}: node {self.name!r} attribute {key!r}')


def _decode_attr(value, what):
    if 'list' in value:
        lst = value['list'] or {}
        for kind, conv in (('i', int), ('f', float), ('b', bool), ('s', _b64)):
            if kind in lst:
                return [conv(v) for v in lst[kind]]
        return []
    for kind, conv in (('i', int), ('f', float), ('b', bool), ('s', _b64), ('type', str)):
        if kind in value:
            try:
                return conv(value[kind])
            except (TypeError, ValueError):
                raise ToolError(f'{what}: bad {kind!r} value {value[kind]!r}') from None
    return value  # shape/tensor/func: returned raw, interpreted by the op that needs it


def _b64(text):
    return base64.b64decode(text).decode('utf-8', 'replace')


class Graph:
    def __init__(self, model):
        where = model.path
        self.where = where
        self.nodes = {}
        for raw in model.nodes:
            node = Node(raw, where)
            if node.name in self.nodes:
                raise ToolError(f'{where}: duplicate node name {node.name!r}')
            self.nodes[node.name] = node
        for node in self.nodes.values():
            for i in range(len(node.inputs)):
                src = node.input_node(i)
                if src not in self.nodes:
                    raise ToolError(f'{where}: node {node.name!r} reads unknown node {src!r}')
        self.inputs = self._graph_inputs(model.signature)
        self.outputs = self._graph_outputs(model.signature)
        self.order = self._topological_order()

    def _graph_inputs(self, signature):
        names = [n.name for n in self.nodes.values() if n.op == 'Placeholder']
        if not names:
            raise ToolError(f'{self.where}: the graph has no Placeholder input')
        sig = [v.get('name', k).split(':')[0] for k, v in (signature.get('inputs') or {}).items()]
        if sorted(sig) == sorted(names):
            return sig
        return names

    def _graph_outputs(self, signature):
        """Signature outputs in model.json order; else the nodes nothing reads (node order)."""
        sig = signature.get('outputs') or {}
        if sig:
            outs = [v.get('name', k).split(':')[0] for k, v in sig.items()]
            missing = [o for o in outs if o not in self.nodes]
            if missing:
                raise ToolError(f'{self.where}: signature outputs {missing} are not graph nodes')
            return outs
        read = {n.input_node(i) for n in self.nodes.values() for i in range(len(n.inputs))}
        outs = [n.name for n in self.nodes.values() if n.name not in read and n.op != 'Const']
        if not outs:
            raise ToolError(f'{self.where}: cannot tell the graph outputs (no signature, no sink)')
        return outs

    def _topological_order(self):
        """Nodes needed for the outputs, every node after its inputs (iterative DFS)."""
        order, state = [], {}
        for out in self.outputs:
            stack = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    state[name] = 2
                    order.append(self.nodes[name])
                    continue
                if state.get(name) == 2:
                    continue
                if state.get(name) == 1:
                    raise ToolError(f'{self.where}: the graph has a cycle through {name!r}')
                state[name] = 1
                stack.append((name, True))
                node = self.nodes[name]
                for i in reversed(range(len(node.inputs))):
                    src = node.input_node(i)
                    if state.get(src) != 2:
                        if state.get(src) == 1:
                            raise ToolError(f'{self.where}: the graph has a cycle through {src!r}')
                        stack.append((src, False))
        return order
