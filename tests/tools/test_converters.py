"""Tests of tools/faceedit_convert.py and the faceedit_tools package.

Run from the repository root with Debian's Python (it has torch):
    /usr/bin/python3 -m unittest discover -s tests/tools -v
Shared data is found through $FACEEDIT_SHARED (default: ../shared next to the repository); tests
that need it skip with a message when it is absent.
"""
import collections
import copy
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import types
import unittest

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from faceedit_tools import ToolError  # noqa: E402
from faceedit_tools import stylegan2  # noqa: E402
from faceedit_tools.restricted_pickle import PersistentObject, load_network_pickle  # noqa: E402
from faceedit_tools.safetensors_io import load_file, save_file  # noqa: E402

CONVERT = os.path.join(REPO, 'tools', 'faceedit_convert.py')
DCGAN_REFERENCE = os.path.join(REPO, 'tests', 'models', 'dcgan_torch_reference.py')
SHARED = os.environ.get('FACEEDIT_SHARED', os.path.join(os.path.dirname(REPO), 'shared'))
TINY32 = os.path.join(SHARED, 'fixtures', 'stylegan2-ada', 'tiny32.pkl')
TINY32_REF = os.path.join(SHARED, 'fixtures', 'stylegan2-ada', 'tiny32-reference.safetensors')
DCGAN_PT = os.path.join(SHARED, 'models', 'dcgan-celeba32', 'generator.pt')


def need(path):
    if not os.path.exists(path) and os.environ.get('FACEEDIT_REQUIRE_SHARED') == '1':
        raise AssertionError(f'shared data not found: {path} (FACEEDIT_REQUIRE_SHARED=1)')
    if not os.path.exists(path):
        raise unittest.SkipTest(f'shared data not found: {path} (set FACEEDIT_SHARED to the shared '
                                'data directory)')


def run_py(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


# --- crafting hostile / fake stylegan2-ada pickles (in this test process only) -----------------

def _fake_reconstruct(meta):  # never called: only pickled by name
    raise AssertionError('not to be called')


class Persistent:
    """Pickles as torch_utils.persistence._reconstruct_persistent_obj(meta), like NVIDIA's code."""

    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return _fake_reconstruct, (self.meta,)


class FakeEasyDict(dict):
    """Pickles as dnnlib.util.EasyDict, like the kwargs in NVIDIA's pickles."""


_FAKE_MODULES = ('torch_utils', 'torch_utils.persistence', 'dnnlib', 'dnnlib.util')


def setUpModule():
    # Make the fakes picklable under the names the real stylegan2-ada pickles use.
    mods = {name: types.ModuleType(name) for name in _FAKE_MODULES}
    for obj, module, name in ((_fake_reconstruct, 'torch_utils.persistence',
                               '_reconstruct_persistent_obj'),
                              (FakeEasyDict, 'dnnlib.util', 'EasyDict')):
        obj.__module__, obj.__qualname__, obj.__name__ = module, name, name
        setattr(mods[module], name, obj)
    for name, mod in mods.items():
        if name in sys.modules:
            raise unittest.SkipTest(f'a real {name} module is loaded; cannot fake it')
        sys.modules[name] = mod


def tearDownModule():
    for name in _FAKE_MODULES:
        sys.modules.pop(name, None)


def as_nvidia_objects(obj):
    """Restricted-unpickler output -> objects that pickle like NVIDIA's (persistent classes,
    EasyDict kwargs, nn.Parameter in _parameters)."""
    if isinstance(obj, PersistentObject):
        state = {k: as_nvidia_objects(v) for k, v in obj.state.items()}
        state['_parameters'] = collections.OrderedDict(
            (k, torch.nn.Parameter(v, requires_grad=False)) for k, v in state['_parameters'].items())
        state['_init_kwargs'] = FakeEasyDict(state['_init_kwargs'])
        return Persistent({'type': 'class', 'version': obj.version, 'class_name': obj.class_name,
                           'module_src': 'raise SystemExit("never run")', 'state': state})
    if isinstance(obj, dict):
        return type(obj)((k, as_nvidia_objects(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(as_nvidia_objects(v) for v in obj)
    return obj


class Reduce:
    """An object whose unpickling calls fn(*args)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class ConverterCliCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name
        self.outdir = os.path.join(self.tmp, 'out')
        os.mkdir(self.outdir)
        self.out = os.path.join(self.outdir, 'model.safetensors')
        self.marker = os.path.join(self.tmp, 'PWNED')

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def convert(self, in_path):
        return run_py(CONVERT, in_path, self.out)

    def assert_failed_cleanly(self, proc, *needles):
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith('error: '), proc.stderr)
        for needle in needles:
            self.assertIn(needle, lines[0])
        self.assertEqual(os.listdir(self.outdir), [], 'no output nor temp file may remain')
        self.assertFalse(os.path.exists(self.marker), 'the pickle payload was executed')


class StyleGAN2Conversion(ConverterCliCase):
    def test_tiny32_converts(self):
        need(TINY32)
        proc = self.convert(TINY32)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = load_file(self.out)

        self.assertEqual(meta['faceedit.arch'], 'stylegan2')
        self.assertEqual(meta['faceedit.format_version'], '1')
        self.assertEqual(meta['faceedit.source'], 'tiny32.pkl')
        cfg = json.loads(meta['faceedit.config'])
        self.assertEqual((cfg['z_dim'], cfg['c_dim'], cfg['w_dim']), (128, 0, 128))
        self.assertEqual((cfg['img_resolution'], cfg['img_channels'], cfg['num_ws']), (32, 3, 8))
        self.assertEqual(cfg['mapping'], {'num_layers': 4, 'embed_features': 0,
                                          'layer_features': 128, 'activation': 'lrelu',
                                          'lr_multiplier': 0.01, 'w_avg_beta': 0.995})
        syn = cfg['synthesis']
        self.assertEqual(syn['conv_clamp'], 256)
        self.assertEqual((syn['channel_base'], syn['channel_max'], syn['num_fp16_res']),
                         (2048, 256, 0))
        self.assertEqual((syn['architecture'], syn['resample_filter']), ('skip', [1, 3, 3, 1]))
        self.assertEqual((syn['use_noise'], syn['kernel_size']), (True, 3))
        self.assertEqual(syn['channels'], [256, 256, 128, 64])

        # 9 mapping tensors, 11 in b4, 16 in each of b8, b16, b32.
        self.assertEqual(len(tensors), 68)
        self.assertFalse([k for k in tensors if 'resample_filter' in k])
        shapes = {k: tuple(v.shape) for k, v in tensors.items()}
        for name, shape in {
            'mapping.fc0.weight': (128, 128), 'mapping.fc3.bias': (128,), 'mapping.w_avg': (128,),
            'synthesis.b4.const': (256, 4, 4), 'synthesis.b4.conv1.weight': (256, 256, 3, 3),
            'synthesis.b4.conv1.noise_strength': (), 'synthesis.b4.conv1.noise_const': (4, 4),
            'synthesis.b4.conv1.affine.weight': (256, 128), 'synthesis.b4.torgb.weight': (3, 256, 1, 1),
            'synthesis.b16.conv0.weight': (128, 256, 3, 3), 'synthesis.b32.conv1.weight': (64, 64, 3, 3),
            'synthesis.b32.conv0.noise_const': (32, 32), 'synthesis.b32.torgb.affine.bias': (64,),
        }.items():
            self.assertEqual(shapes.get(name), shape, name)
        self.assertTrue(all(t.dtype == torch.float32 for t in tensors.values()))

        # Values are the originals, bit for bit.
        g = load_network_pickle(TINY32)['G_ema']
        originals = dict(stylegan2.state_dict_items(g, '', 'tiny32'))
        for name, t in tensors.items():
            self.assertTrue(torch.equal(t, originals[name]), name)

    def test_tiny32_mapping_matches_official_outputs(self):
        # Independent check of the converted mapping weights + config against the official network.
        need(TINY32)
        need(TINY32_REF)
        self.assertEqual(self.convert(TINY32).returncode, 0)
        p, meta = load_file(self.out)
        cfg = json.loads(meta['faceedit.config'])
        ref, _ = load_file(TINY32_REF)
        lr = cfg['mapping']['lr_multiplier']
        x = ref['z'].double()
        x = x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(cfg['mapping']['num_layers']):
            w, b = p[f'mapping.fc{i}.weight'].double(), p[f'mapping.fc{i}.bias'].double()
            x = x @ (w * (lr / math.sqrt(w.shape[1]))).t() + b * lr
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
        ws = x.unsqueeze(1).repeat(1, cfg['num_ws'], 1)
        w_avg = p['mapping.w_avg'].double()
        torch.testing.assert_close(ws.float(), ref['ws_psi1'], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close((w_avg + 0.7 * (ws - w_avg)).float(), ref['ws_psi07'],
                                   rtol=1e-4, atol=1e-5)

    def test_protocol3_pickle_like_nvidia_release(self):
        # NVIDIA's pickles come from Python 3.7 (protocol 3: sets as builtins.set) with EasyDict
        # kwargs, numpy scalars and arrays: re-pickle tiny32 that way and convert it.
        need(TINY32)
        root = load_network_pickle(TINY32)
        nvidia = {k: as_nvidia_objects(v) for k, v in root.items()}
        nvidia['training_set_kwargs'] = FakeEasyDict(
            class_name='training.dataset.ImageFolderDataset', resolution=32,
            max_size=np.int64(70000), xflip=np.bool_(False), mean=np.array([0.5, 0.25]))
        path = self.write('tiny32-p3.pkl', pickle.dumps(nvidia, protocol=3))
        proc = self.convert(path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = load_file(self.out)
        originals = dict(stylegan2.state_dict_items(root['G_ema'], '', 'tiny32'))
        self.assertEqual(len(tensors), 68)
        for name, t in tensors.items():
            self.assertTrue(torch.equal(t, originals[name]), name)
        self.assertEqual(json.loads(meta['faceedit.config'])['num_ws'], 8)

    def test_truncated_pickle_refused(self):
        need(TINY32)
        with open(TINY32, 'rb') as f:
            path = self.write('tiny32.pkl', f.read(1 << 20))
        self.assert_failed_cleanly(self.convert(path), 'tiny32.pkl', 'truncated or corrupt')

    def test_missing_input(self):
        self.assert_failed_cleanly(self.convert(os.path.join(self.tmp, 'nope.pkl')),
                                   'nope.pkl: no such file')

    def test_unknown_format(self):
        path = self.write('notes.txt', b'hello, I am not a checkpoint\n')
        self.assert_failed_cleanly(self.convert(path), 'unrecognised input format')

    def test_usage(self):
        proc = run_py(CONVERT, 'only-one-arg')
        self.assertEqual(proc.returncode, 2)
        self.assertIn('usage:', proc.stderr)

    def test_no_g_ema_refused(self):
        meta = {'type': 'class', 'version': 6, 'module_src': '', 'class_name': 'Generator',
                'state': {}}
        path = self.write('g_only.pkl', pickle.dumps({'G': Persistent(meta), 'D': None}))
        self.assert_failed_cleanly(self.convert(path), "g_only.pkl: no 'G_ema' in this pickle",
                                   "'D', 'G'", 'not a stylegan2-ada-pytorch network pickle')


class DiscriminatorConversion(ConverterCliCase):
    def test_tiny32_discriminator_converts(self):
        need(TINY32)
        proc = run_py(CONVERT, TINY32, self.out, '--network', 'D')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = load_file(self.out)
        self.assertEqual(meta['faceedit.arch'], 'stylegan2-discriminator')
        cfg = json.loads(meta['faceedit.config'])
        self.assertEqual((cfg['img_resolution'], cfg['channel_base'], cfg['channel_max']), (32, 2048, 256))
        self.assertEqual((cfg['conv_clamp'], cfg['mbstd_group_size'], cfg['mbstd_num_channels']), (256, 4, 1))
        self.assertEqual(cfg['architecture'], 'resnet')
        # b32: fromrgb (2) + conv0 (2) + conv1 (2) + skip (1); b16, b8: 5 each; b4: 6.
        self.assertEqual(len(tensors), 23)
        shapes = {k: tuple(v.shape) for k, v in tensors.items()}
        self.assertEqual(shapes['b32.fromrgb.weight'], (64, 3, 1, 1))
        self.assertEqual(shapes['b4.conv.weight'], (256, 257, 3, 3))
        self.assertEqual(shapes['b4.fc.weight'], (256, 4096))
        d = load_network_pickle(TINY32)['D']
        originals = dict(stylegan2.state_dict_items(d, '', 'tiny32'))
        for name, t in tensors.items():
            self.assertTrue(torch.equal(t, originals[name]), name)

    def test_tiny32_training_generator_converts(self):
        need(TINY32)
        proc = run_py(CONVERT, TINY32, self.out, '--network', 'G')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = load_file(self.out)
        self.assertEqual(meta['faceedit.arch'], 'stylegan2')
        g = load_network_pickle(TINY32)['G']
        originals = dict(stylegan2.state_dict_items(g, '', 'tiny32'))
        self.assertEqual(len(tensors), 68)
        for name, t in tensors.items():
            self.assertTrue(torch.equal(t, originals[name]), name)

    def test_no_d_refused(self):
        meta = {'type': 'class', 'version': 6, 'module_src': '', 'class_name': 'Generator',
                'state': {}}
        path = self.write('g_only.pkl', pickle.dumps({'G_ema': Persistent(meta)}))
        self.assert_failed_cleanly(run_py(CONVERT, path, self.out, '--network', 'D'),
                                   "g_only.pkl: no 'D' in this pickle")

    def test_unknown_network_refused(self):
        need(TINY32)
        # E names a pSp/e4e encoder: a network pickle has none (an unknown name is refused by argparse).
        self.assert_failed_cleanly(run_py(CONVERT, TINY32, self.out, '--network', 'E'),
                                   "holds no encoder")


class HostilePickles(ConverterCliCase):
    def test_os_system_refused(self):
        # Protocol 0, spelled exactly as an attacker would: os.system('touch MARKER').
        payload = f"cos\nsystem\n(Vtouch {self.marker}\ntR.".encode()
        path = self.write('evil.pkl', payload)
        self.assert_failed_cleanly(self.convert(path), "evil.pkl: refusing to load global "
                                   "'os.system' (not on the allow-list")

    def test_posix_system_refused(self):
        path = self.write('evil.pkl', pickle.dumps({'G_ema': Reduce(os.system, f'touch {self.marker}')}))
        self.assert_failed_cleanly(self.convert(path), "refusing to load global 'posix.system'")

    def test_builtins_eval_refused(self):
        code = f'open({self.marker!r}, "w").close()'
        path = self.write('evil.pkl', pickle.dumps([Reduce(eval, code)]))
        self.assert_failed_cleanly(self.convert(path), "refusing to load global 'builtins.eval'")

    def test_code_in_nested_storage_pickle_refused(self):
        inner = pickle.dumps(Reduce(os.system, f'touch {self.marker}'))
        path = self.write('nested.pkl', pickle.dumps(
            {'G_ema': Reduce(torch.storage._load_from_bytes, inner)}))
        self.assert_failed_cleanly(self.convert(path), 'nested.pkl: refusing to load: nested tensor '
                                   'storage: weights-only unpickler')

    def test_module_src_is_never_executed(self):
        src = f'open({self.marker!r}, "w").close()\nclass Generator: pass\n'
        meta = {'type': 'class', 'version': 6, 'module_src': src, 'class_name': 'Generator',
                'state': {'_init_kwargs': {'z_dim': 8}}}
        path = self.write('src.pkl', pickle.dumps({'G_ema': Persistent(meta)}))
        self.assert_failed_cleanly(self.convert(path), 'src.pkl')

    def test_non_class_persistent_meta_refused(self):
        meta = {'type': 'module', 'version': 6, 'module_src': 'import os', 'class_name': 'x',
                'state': {}}
        path = self.write('mod.pkl', pickle.dumps({'G_ema': Persistent(meta)}))
        self.assert_failed_cleanly(self.convert(path), "only type 'class' is accepted")

    def test_persistent_id_refused(self):
        class PidPickler(pickle.Pickler):
            def persistent_id(self, obj):
                return 'storage-0' if obj == 'external' else None

        path = os.path.join(self.tmp, 'pid.pkl')
        with open(path, 'wb') as f:
            PidPickler(f, protocol=4).dump({'G_ema': 'external'})
        self.assert_failed_cleanly(self.convert(path), "refusing persistent id 'storage-0'")


class StyleGAN2Validation(unittest.TestCase):
    """In-process checks that unsupported variants of a real G_ema are refused."""

    @classmethod
    def setUpClass(cls):
        need(TINY32)
        cls.root = load_network_pickle(TINY32)

    def g_ema(self):
        root = dict(self.root)
        root['G_ema'] = copy.deepcopy(self.root['G_ema'])
        return root, root['G_ema']

    def assert_refused(self, root, needle):
        with self.assertRaises(ToolError) as cm:
            stylegan2.convert(root, 'x.pkl')
        self.assertIn(needle, str(cm.exception))

    def test_original_accepted(self):
        tensors, _ = stylegan2.convert(self.root, 'x.pkl')
        self.assertEqual(len(tensors), 68)

    def test_conditional_refused(self):
        root, g = self.g_ema()
        g.state['_init_kwargs']['c_dim'] = 10
        self.assert_refused(root, 'conditional generator (c_dim=10)')

    def test_architecture_refused(self):
        root, g = self.g_ema()
        g.state['_init_kwargs']['synthesis_kwargs']['architecture'] = 'resnet'
        self.assert_refused(root, "architecture 'resnet' is not supported")

    def test_filter_kwarg_refused(self):
        root, g = self.g_ema()
        g.state['_init_kwargs']['synthesis_kwargs']['resample_filter'] = [1, 2, 1]
        self.assert_refused(root, 'resample_filter [1, 2, 1] is not supported')

    def test_filter_buffer_refused(self):
        root, g = self.g_ema()
        b8 = g.state['_modules']['synthesis'].state['_modules']['b8']
        b8.state['_modules']['conv0'].state['_buffers']['resample_filter'] = torch.full([4, 4], 1 / 16)
        self.assert_refused(root, 'synthesis.b8.conv0.resample_filter is not the normalised')

    def test_shape_mismatch_refused(self):
        root, g = self.g_ema()
        g.state['_init_kwargs']['synthesis_kwargs']['channel_max'] = 128
        self.assert_refused(root, 'synthesis.b4.const has shape [256, 4, 4], expected [128, 4, 4]')

    def test_num_ws_mismatch_refused(self):
        root, g = self.g_ema()
        g.state['_modules']['mapping'].state['num_ws'] = 10
        self.assert_refused(root, 'G_ema.mapping.num_ws is 10, expected 8')

    def test_unknown_kwarg_refused(self):
        root, g = self.g_ema()
        g.state['_init_kwargs']['mapping_kwargs']['mystery'] = 1
        self.assert_refused(root, "unsupported argument(s) ['mystery']")


class DCGANConversion(ConverterCliCase):
    def test_dcgan_converts(self):
        need(DCGAN_PT)
        proc = self.convert(DCGAN_PT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = load_file(self.out)
        self.assertEqual(meta['faceedit.arch'], 'dcgan')
        self.assertEqual(meta['faceedit.format_version'], '1')
        self.assertEqual(meta['faceedit.source'], 'generator.pt')
        self.assertEqual(json.loads(meta['faceedit.config']), {
            'z_dim': 100, 'img_resolution': 32, 'img_channels': 3,
            'latent_distribution': 'uniform(-1,1)', 'bn_eps': 1e-5, 'leaky_relu_slope': 0.2})
        original = torch.load(DCGAN_PT, map_location='cpu', weights_only=True)
        expected = [k for k in original if not k.endswith('num_batches_tracked')]
        self.assertEqual(list(tensors), expected)
        self.assertEqual(len(tensors), 22)
        for k in expected:
            self.assertTrue(torch.equal(tensors[k], original[k].float()), k)

    def test_truncated_dcgan_refused(self):
        need(DCGAN_PT)
        with open(DCGAN_PT, 'rb') as f:
            path = self.write('generator.pt', f.read(100000))
        self.assert_failed_cleanly(self.convert(path), 'generator.pt')

    def test_wrong_state_dict_refused(self):
        path = os.path.join(self.tmp, 'other.pt')
        torch.save({'generator_deconv.0.0.weight': torch.zeros(3, 3)}, path)
        self.assert_failed_cleanly(self.convert(path), 'does not match the DCGAN',
                                   'generator_deconv.0.0.weight has shape [3, 3]')

    def test_torch_reference_matches_converted_weights(self):
        need(DCGAN_PT)
        self.assertEqual(self.convert(DCGAN_PT).returncode, 0)
        z = torch.rand(5, 100, generator=torch.Generator().manual_seed(1)) * 2 - 1
        latents = os.path.join(self.tmp, 'latents.safetensors')
        images_path = os.path.join(self.tmp, 'images.safetensors')
        save_file({'latents': z}, latents)
        proc = run_py(DCGAN_REFERENCE, latents, images_path, DCGAN_PT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        images = load_file(images_path)[0]['images']
        self.assertEqual(tuple(images.shape), (5, 3, 32, 32))
        self.assertLessEqual(images.abs().max().item(), 1.0)
        self.assertGreater(images.std().item(), 0.1)

        # The same network written with functional ops over the *converted* tensors.
        p = load_file(self.out)[0]

        def bn(x, i):
            q = f'generator_deconv.{i}.1.'
            return F.batch_norm(x, p[q + 'running_mean'], p[q + 'running_var'], p[q + 'weight'],
                                p[q + 'bias'], training=False, eps=1e-5)

        x = bn(F.conv_transpose2d(z.view(5, 100, 1, 1), p['generator_deconv.0.0.weight']), 0)
        x = F.leaky_relu(bn(F.conv2d(x, p['generator_deconv.1.0.weight'], padding=1), 1), 0.2)
        for i in (2, 3):
            x = F.conv_transpose2d(x, p[f'generator_deconv.{i}.0.weight'], stride=2, padding=1)
            x = F.leaky_relu(bn(x, i), 0.2)
        x = torch.tanh(F.conv_transpose2d(x, p['generator_deconv.4.0.weight'],
                                          p['generator_deconv.4.0.bias'], stride=2, padding=1))
        torch.testing.assert_close(x, images, rtol=1e-5, atol=1e-5)


class SafetensorsIO(unittest.TestCase):
    def test_roundtrip_and_layout(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'a.safetensors')
            tensors = {'b': torch.arange(6, dtype=torch.float32).view(2, 3).t(),  # non-contiguous
                       'a': torch.tensor(2.5), 'i': torch.tensor([1, -2], dtype=torch.int64)}
            save_file(tensors, path, {'k': 'v'})
            with open(path, 'rb') as f:
                data = f.read()
            n = int.from_bytes(data[:8], 'little')
            self.assertEqual(n % 8, 0)
            header = json.loads(data[8:8 + n])
            self.assertEqual(list(header), ['__metadata__', 'b', 'a', 'i'])
            self.assertEqual(header['a'], {'dtype': 'F32', 'shape': [], 'data_offsets': [24, 28]})
            loaded, meta = load_file(path)
            self.assertEqual(meta, {'k': 'v'})
            self.assertEqual(list(loaded), ['b', 'a', 'i'])
            for k, t in tensors.items():
                self.assertTrue(torch.equal(loaded[k], t), k)
            self.assertEqual(os.listdir(tmp), ['a.safetensors'])


if __name__ == '__main__':
    unittest.main()
