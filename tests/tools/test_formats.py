"""Tests of the restricted torch.save reader (faceedit_tools/torch_file.py) and the converters of
rosinality, pSp/e4e and Latent Transformer checkpoints (format detection by content, errors naming
the file and tensor, nothing half-written).

    /usr/bin/python3 -m unittest discover -s tests/tools -p 'test_formats.py' -v

Shared fixtures come from $FACEEDIT_SHARED (default ../shared); without them the tests that need
them skip, or fail when FACEEDIT_REQUIRE_SHARED=1.
"""
import collections
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import unittest
import zipfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from faceedit_tools import ToolError, formats, psp, torch_file  # noqa: E402
from faceedit_tools.safetensors_io import load_file  # noqa: E402

CONVERT = os.path.join(REPO, 'tools', 'faceedit_convert.py')
SHARED = os.environ.get('FACEEDIT_SHARED', os.path.join(os.path.dirname(REPO), 'shared'))
FIX = os.path.join(SHARED, 'fixtures')
ROS = os.path.join(FIX, 'rosinality', 'rosinality-tiny32.pt')
E4E = os.path.join(FIX, 'e4e-psp', 'e4e-tiny32.pt')
PSP = os.path.join(FIX, 'e4e-psp', 'psp-tiny32.pt')
LC = os.path.join(FIX, 'latent-transformer', 'latent_classifier_epoch_20.pth')
TNET = os.path.join(FIX, 'latent-transformer', 'tnet_15.pth.tar')
DCGAN = os.path.join(SHARED, 'models', 'dcgan-celeba32', 'generator.pt')


def need(path):
    if not os.path.exists(path):
        if os.environ.get('FACEEDIT_REQUIRE_SHARED') == '1':
            raise AssertionError(f'shared data not found: {path} (FACEEDIT_REQUIRE_SHARED=1)')
        raise unittest.SkipTest(f'shared data not found: {path} (set FACEEDIT_SHARED)')


def torch_zip(path, pickle_bytes, storages=None, prefix='archive'):
    """A torch.save-style zip with our own data.pkl and raw storages (for hostile variants)."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr(f'{prefix}/data.pkl', pickle_bytes)
        for key, raw in (storages or {}).items():
            z.writestr(f'{prefix}/data/{key}', raw)
        z.writestr(f'{prefix}/version', '3\n')


class Global:
    """Pickles as a reference to module.name (what a hostile file would name)."""

    def __init__(self, module, name, args=()):
        self.module, self.name, self.args = module, name, args

    def __reduce__(self):
        return (_named(self.module, self.name), self.args)


def _named(module, name):
    fn = type('F', (), {})()
    fn.__module__, fn.__qualname__ = module, name
    return _Fake(module, name)


class _Fake:
    def __init__(self, module, name):
        self.__module__, self.__qualname__, self.__name__ = module, name, name

    def __call__(self, *a):
        raise AssertionError('never called')


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        for root, dirs, files in os.walk(self.tmp, topdown=False):
            for f in files:
                os.remove(os.path.join(root, f))
            for d in dirs:
                os.rmdir(os.path.join(root, d))
        os.rmdir(self.tmp)

    def convert(self, src, *extra, out='out.safetensors'):
        out_path = os.path.join(self.tmp, out)
        p = subprocess.run([sys.executable, CONVERT, src, out_path, *extra], capture_output=True, text=True, timeout=300)
        return p, out_path

    def refused(self, path, *fragments):
        with self.assertRaises(ToolError) as cm:
            torch_file.load(path)
        for f in fragments:
            self.assertIn(f, str(cm.exception))
        return str(cm.exception)


class TorchFileReader(Case):
    def test_fixtures_read_as_plain_data(self):
        for p in (ROS, E4E, PSP, LC, TNET):
            need(p)
        root = torch_file.load(ROS)
        self.assertEqual(sorted(root), ['ada_aug_p', 'args', 'd', 'd_optim', 'g', 'g_ema', 'g_optim'])
        self.assertIsInstance(root['args'], torch_file.Namespace)  # a holder, argparse never involved
        self.assertEqual(root['args'].fields['size'], 32)
        self.assertIsInstance(root['g_ema'], torch_file.StateDict)
        self.assertIsNotNone(root['g_ema']._metadata)
        # The same tensors torch.load gives (torch.load only to compare; it must refuse the Namespace weights-only).
        ref = torch.load(LC, map_location='cpu', weights_only=True)
        got = torch_file.load(LC)
        self.assertEqual(list(got), list(ref))
        for k in ref:
            self.assertTrue(torch.equal(got[k], ref[k]), k)

    def test_legacy_layout(self):
        need(DCGAN)
        ref = torch.load(DCGAN, map_location='cpu', weights_only=True)
        got = torch_file.load(DCGAN)
        self.assertEqual(list(got), list(ref))
        for k in ref:
            self.assertTrue(torch.equal(got[k], ref[k]), k)
        # Shared storages and views survive the legacy layout too.
        path = os.path.join(self.tmp, 'legacy.pt')
        base = torch.arange(12, dtype=torch.float32)
        torch.save(collections.OrderedDict(a=base.view(3, 4), b=base[4:8], c=torch.tensor([1, 2], dtype=torch.int64)),
                   path, _use_new_zipfile_serialization=False)
        got = torch_file.load(path)
        self.assertTrue(torch.equal(got['a'], base.view(3, 4)))
        self.assertTrue(torch.equal(got['b'], base[4:8]))
        self.assertEqual(got['c'].dtype, torch.int64)

    def test_hostile_globals_refused(self):
        for module, name in (('os', 'system'), ('builtins', 'eval'), ('torch', 'load'), ('argparse', 'ArgumentParser'),
                             ('collections', 'OrderedDict.__reduce__'), ('subprocess', 'Popen')):
            body = b'\x80\x02c' + module.encode() + b'\n' + name.encode() + b'\nX\x04\x00\x00\x00echo\x85R.'
            path = os.path.join(self.tmp, 'evil.pt')
            torch_zip(path, body)
            self.refused(path, 'evil.pt', f"refusing to load global '{module}.{name}'")

    def test_build_on_state_dict_only_takes_metadata(self):
        od = b'\x80\x02ccollections\nOrderedDict\n)R'
        good = od + b'}X\t\x00\x00\x00_metadata}sb.'
        path = os.path.join(self.tmp, 'ok.pt')
        torch_zip(path, good)
        self.assertEqual(torch_file.load(path), {})
        bad = od + b'}X\t\x00\x00\x00__class__ccollections\nOrderedDict\nsb.'
        torch_zip(path, bad)
        self.refused(path, 'ok.pt', 'OrderedDict state')

    def test_namespace_with_arguments_refused(self):
        body = b'\x80\x02cargparse\nNamespace\nX\x01\x00\x00\x00x\x85R.'
        path = os.path.join(self.tmp, 'ns.pt')
        torch_zip(path, body)
        self.refused(path, 'ns.pt', 'Namespace')

    def test_persistent_ids_other_than_storages_refused(self):
        path = os.path.join(self.tmp, 'pid.pt')
        torch_zip(path, b'\x80\x02X\x04\x00\x00\x00evilQ.')
        self.refused(path, 'pid.pt', 'persistent id')
        torch_zip(path, b'\x80\x02(X\x07\x00\x00\x00storageX\x01\x00\x00\x00xX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.')
        self.refused(path, 'pid.pt', 'persistent id')

    def _tensor_file(self, path, numel, raw, size, stride, offset=0):
        body = (b'\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n'
                b'X\x01\x00\x00\x000X\x03\x00\x00\x00cpu' + pickle.dumps(numel, 2)[2:-1] + b'tQ' +
                pickle.dumps(offset, 2)[2:-1] + pickle.dumps(tuple(size), 2)[2:-1] + pickle.dumps(tuple(stride), 2)[2:-1] +
                b'\x89}tR.')
        torch_zip(path, body, {'0': raw})

    def test_storages_checked(self):
        path = os.path.join(self.tmp, 't.pt')
        self._tensor_file(path, 4, torch.arange(4.).numpy().tobytes(), (2, 2), (2, 1))
        self.assertTrue(torch.equal(torch_file.load(path), torch.arange(4.).view(2, 2)))
        self._tensor_file(path, 4, torch.arange(3.).numpy().tobytes(), (2, 2), (2, 1))
        self.refused(path, 't.pt', 'storage', 'truncated or corrupt')
        self._tensor_file(path, 4, torch.arange(4.).numpy().tobytes(), (3, 2), (2, 1))
        self.refused(path, 't.pt', 'reaches element')
        self._tensor_file(path, 4, torch.arange(4.).numpy().tobytes(), (2, 2), (2, 1), offset=1)
        self.refused(path, 't.pt', 'reaches element')

    def test_truncated_and_corrupt_zips(self):
        need(ROS)
        with open(ROS, 'rb') as f:
            data = f.read()
        for cut in (100, len(data) // 2, len(data) - 30):
            path = os.path.join(self.tmp, 'cut.pt')
            with open(path, 'wb') as f:
                f.write(data[:cut])
            self.refused(path, 'cut.pt')
        path = os.path.join(self.tmp, 'nopkl.pt')
        torch_zip(path, b'', prefix='a/b')
        self.refused(path, 'nopkl.pt', 'data.pkl')
        path = os.path.join(self.tmp, 'nostorage.pt')
        self._tensor_file(path, 4, b'', (2, 2), (2, 1))
        with zipfile.ZipFile(path, 'w') as z:  # data.pkl without its storage entry
            with zipfile.ZipFile(io.BytesIO(open(ROS, 'rb').read())) as src:
                pkl = [n for n in src.namelist() if n.endswith('data.pkl')][0]
                z.writestr('x/data.pkl', src.read(pkl))
        self.refused(path, 'nostorage.pt', 'missing zip entry')


class Detection(Case):
    def test_formats_by_content(self):
        for p in (ROS, E4E, PSP, LC, TNET, DCGAN):
            need(p)
        self.assertEqual(formats.identify(torch_file.load(ROS)), 'rosinality-stylegan2')
        self.assertEqual(formats.identify(torch_file.load(ROS)['g_ema']), 'rosinality-stylegan2')
        self.assertEqual(formats.identify(torch_file.load(E4E)), 'e4e')
        self.assertEqual(formats.identify(torch_file.load(PSP)), 'psp')
        self.assertEqual(formats.identify(torch_file.load(LC)), 'latent-transformer-classifier')
        self.assertEqual(formats.identify(torch_file.load(TNET)), 'latent-transformer-tnet')
        self.assertEqual(formats.identify(torch_file.load(DCGAN)), 'dcgan')

    def test_inspect_cli(self):
        need(E4E)
        out = os.path.join(self.tmp, 'info.json')
        p = subprocess.run([sys.executable, CONVERT, '--inspect', E4E, out], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        info = json.load(open(out))
        self.assertEqual(info['format'], 'e4e')
        self.assertEqual(info['networks'], ['E', 'G_ema'])
        self.assertEqual(info['encoder']['config']['stage_units'], [1, 2, 1, 1])  # the fixture's enc_units
        self.assertEqual(info['config']['synthesis']['channels'], [32, 32, 24, 16])


class RosinalityConverter(Case):
    def test_networks_and_names(self):
        need(ROS)
        for net, arch, count in (('G_ema', 'stylegan2', 64), ('G', 'stylegan2', 64), ('D', 'stylegan2-discriminator', 23)):
            p, out = self.convert(ROS, '--network', net)
            self.assertEqual(p.returncode, 0, p.stderr)
            tensors, meta = load_file(out)
            self.assertEqual((meta['faceedit.arch'], len(tensors)), (arch, count))
            self.assertEqual(meta['faceedit.source_format'], 'rosinality-stylegan2')
        root = torch_file.load(ROS)
        tensors, _ = load_file(self.convert(ROS)[1])
        self.assertTrue(torch.equal(tensors['synthesis.b8.conv0.noise_const'], root['g_ema']['noises.noise_1'][0, 0]))
        self.assertTrue(torch.equal(tensors['synthesis.b32.torgb.weight'], root['g_ema']['to_rgbs.2.conv.weight'][0]))
        p, _ = self.convert(ROS, '--network', 'E')
        self.assertEqual(p.returncode, 1)
        self.assertIn('holds G_ema, G and D', p.stderr)

    def test_converted_generator_reproduces_rosinality_images(self):
        """NVIDIA's synthesis (what faceedit's StyleGAN2 computes) written with functional ops over the
        *converted* tensors, against rosinality's own images: checks the renaming, the squeezed
        shapes, the noise buffers' placement and the W+ row use."""
        import math
        import torch.nn.functional as F
        need(ROS)
        t, meta = load_file(self.convert(ROS)[1])
        cfg = json.loads(meta['faceedit.config'])
        ref = load_file(os.path.join(FIX, 'rosinality', 'rosinality-tiny32-reference.safetensors'))[0]
        k = torch.tensor([1., 3., 3., 1.])
        k = torch.outer(k, k) / 64  # make_kernel: normalised to sum 1

        def fir(x, pad, up=1, gain=None):
            n, c, h, w = x.shape
            if up > 1:
                z = torch.zeros(n, c, h * up, w * up)
                z[:, :, ::up, ::up] = x
                x = z
            x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
            return F.conv2d(x, (k * (up * up if gain is None else gain))[None, None].repeat(c, 1, 1, 1), groups=c)

        def layer(x, ws, q, up):
            s = ws @ (t[q + '.affine.weight'] / math.sqrt(ws.shape[1])).t() + t[q + '.affine.bias']
            w = t[q + '.weight'][None] * s[:, None, :, None, None]
            w = w * (w.square().sum([2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
            n, o, i = w.shape[:3]
            xx = x.reshape(1, n * i, *x.shape[2:])
            if up:
                y = F.conv_transpose2d(xx, w.transpose(1, 2).reshape(n * i, o, 3, 3), stride=2, groups=n)
                y = fir(y.reshape(n, o, *y.shape[2:]), (1, 1), gain=4)  # the blur after a 2x transposed conv
            else:
                y = F.conv2d(xx, w.reshape(n * o, i, 3, 3), padding=1, groups=n).reshape(n, o, *x.shape[2:])
            y = y + t[q + '.noise_strength'] * t[q + '.noise_const']
            return F.leaky_relu(y + t[q + '.bias'][None, :, None, None], 0.2) * math.sqrt(2)

        def torgb(x, ws, q):
            s = (ws @ (t[q + '.affine.weight'] / math.sqrt(ws.shape[1])).t() + t[q + '.affine.bias']) / math.sqrt(x.shape[1])
            return torch.einsum('nchw,oc,nc->nohw', x, t[q + '.weight'][:, :, 0, 0], s) + t[q + '.bias'][None, :, None, None]

        def synth(wp):
            x = t['synthesis.b4.const'][None].repeat(wp.shape[0], 1, 1, 1)
            x = layer(x, wp[:, 0], 'synthesis.b4.conv1', False)
            img = torgb(x, wp[:, 1], 'synthesis.b4.torgb')
            for j, res in enumerate(2 ** r for r in range(3, int(math.log2(cfg['img_resolution'])) + 1)):
                b = f'synthesis.b{res}'
                x = layer(x, wp[:, 2 * j + 1], b + '.conv0', True)
                x = layer(x, wp[:, 2 * j + 2], b + '.conv1', False)
                img = fir(img, (2, 1), up=2) + torgb(x, wp[:, 2 * j + 3], b + '.torgb')
            return img

        z = ref['z']
        x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        for i in range(cfg['mapping']['num_layers']):
            w, b = t[f'mapping.fc{i}.weight'], t[f'mapping.fc{i}.bias']
            x = F.leaky_relu(x @ (w * 0.01 / math.sqrt(w.shape[1])).t() + b * 0.01, 0.2) * math.sqrt(2)
        for name, wp in (('img', x[:, None].repeat(1, cfg['num_ws'], 1)), ('img_wplus', ref['wplus'])):
            err = float((synth(wp) - ref[name]).abs().max() / ref[name].abs().max())
            print(f'rosinality {name} from the converted tensors: {err:.2e}', file=sys.stderr)
            self.assertLess(err, 1e-4, name)

    def _edited(self, edit):
        root = torch_file.load(ROS)
        edit(root['g_ema'])
        path = os.path.join(self.tmp, 'edited.pt')
        torch.save(dict(root['g_ema']), path)  # a bare Generator state dict
        return path

    def test_missing_and_misshapen_tensors_named(self):
        need(ROS)
        p, out = self.convert(self._edited(lambda sd: sd.pop('convs.3.noise.weight')))
        self.assertEqual(p.returncode, 1)
        self.assertIn('edited.pt', p.stderr)
        self.assertIn('missing convs.3.noise.weight', p.stderr)
        self.assertFalse(os.path.exists(out))
        p, _ = self.convert(self._edited(lambda sd: sd.__setitem__('convs.1.conv.modulation.bias', torch.zeros(5))))
        self.assertIn('convs.1.conv.modulation.bias has shape [5], expected [36]', p.stderr)
        p, _ = self.convert(self._edited(lambda sd: sd.__setitem__('convs.0.conv.blur.kernel', torch.ones(4, 4))))
        self.assertIn('convs.0.conv.blur.kernel is not the [1,3,3,1] blur kernel', p.stderr)
        self.assertEqual(os.listdir(self.tmp), ['edited.pt'])  # nothing half-written

    def test_latent_avg_becomes_w_avg(self):
        need(ROS)
        root = torch_file.load(ROS)
        path = os.path.join(self.tmp, 'convert_weight.pt')
        avg = torch.randn(64)
        torch.save({'g_ema': dict(root['g_ema']), 'latent_avg': avg}, path)
        tensors, meta = load_file(self.convert(path)[1])
        self.assertTrue(torch.equal(tensors['mapping.w_avg'], avg))
        self.assertEqual(meta['faceedit.w_avg'], 'latent_avg')


class PspConverter(Case):
    def test_stages_and_latent_avg_shapes(self):
        need(PSP)
        root = torch_file.load(PSP)
        enc = {k[8:]: v for k, v in root['state_dict'].items() if k.startswith('encoder.') and 'num_batches' not in k}
        cfg = psp.encoder_config(enc, 'psp', 'psp')
        self.assertEqual((cfg['stage_units'], cfg['taps']), ([2, 1, 2, 1], [2, 4, 5]))
        path = os.path.join(self.tmp, 'psp_flat_avg.pt')
        root['latent_avg'] = root['latent_avg'][0].clone()  # the other stored shape: [D]
        torch.save({'state_dict': dict(root['state_dict']), 'opts': root['opts'], 'latent_avg': root['latent_avg']}, path)
        p, out = self.convert(path, '--network', 'E')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(list(load_file(out)[0]['latent_avg'].shape), [8, 16])

    def test_converted_encoder_reproduces_the_official_codes(self):
        """The encoder written with functional ops over the *converted* tensors and config (what
        models/psp_encoder.cpp computes) against the official outputs: checks the inferred strides,
        taps, heads and the pSp/e4e composition."""
        import torch.nn.functional as F
        for kind, path in (('psp', PSP), ('e4e', E4E)):
            need(path)
            p, out = self.convert(path, '--network', 'E', out=f'{kind}.safetensors')
            self.assertEqual(p.returncode, 0, p.stderr)
            t, meta = load_file(out)
            cfg = json.loads(meta['faceedit.config'])
            x = load_file(os.path.join(FIX, 'e4e-psp', 'inputs.safetensors'))[0]['x']
            ref = load_file(os.path.join(FIX, 'e4e-psp', f'{kind}-tiny32-reference.safetensors'))[0]

            def bn(h, q):
                return F.batch_norm(h, t[q + '.running_mean'], t[q + '.running_var'], t[q + '.weight'], t[q + '.bias'], False, 0.0, 1e-5)

            h = F.prelu(bn(F.conv2d(x, t['input_layer.0.weight'], padding=1), 'input_layer.1'), t['input_layer.2.weight'])
            taps = []
            for i, u in enumerate(cfg['units']):
                q, s = f'body.{i}', u['stride']
                sc = bn(F.conv2d(h, t[q + '.shortcut_layer.0.weight'], stride=s), q + '.shortcut_layer.1') \
                    if u['in'] != u['depth'] else h[:, :, ::s, ::s]
                r = F.conv2d(bn(h, q + '.res_layer.0'), t[q + '.res_layer.1.weight'], padding=1)
                r = bn(F.conv2d(F.prelu(r, t[q + '.res_layer.2.weight']), t[q + '.res_layer.3.weight'], stride=s, padding=1),
                       q + '.res_layer.4')
                se = torch.sigmoid(F.conv2d(F.relu(F.conv2d(r.mean((2, 3), keepdim=True), t[q + '.res_layer.5.fc1.weight'])),
                                            t[q + '.res_layer.5.fc2.weight']))
                h = sc + r * se
                if i in cfg['taps']:
                    taps.append(h)
            c1, c2, c3 = taps

            def up_add(a, b):
                return F.interpolate(a, size=b.shape[2:], mode='bilinear', align_corners=True) + b

            p2 = up_add(c3, F.conv2d(c2, t['latlayer1.weight'], t['latlayer1.bias']))
            p1 = up_add(p2, F.conv2d(c1, t['latlayer2.weight'], t['latlayer2.bias']))

            def head(i, f):
                for j in range(cfg['head_convs'][i]):
                    f = F.leaky_relu(F.conv2d(f, t[f'styles.{i}.convs.{2 * j}.weight'], t[f'styles.{i}.convs.{2 * j}.bias'],
                                              stride=2, padding=1), 0.01)
                f = f.reshape(-1, cfg['w_dim'])
                return F.linear(f, t[f'styles.{i}.linear.weight'] / cfg['w_dim'] ** 0.5, t[f'styles.{i}.linear.bias'])

            level = [c3 if i < cfg['coarse'] else p2 if i < cfg['middle'] else p1 for i in range(cfg['n_styles'])]
            if kind == 'psp':
                codes = torch.stack([head(i, level[i]) for i in range(cfg['n_styles'])], 1)
            else:
                w0 = head(0, c3)
                codes = torch.stack([w0] + [w0 + head(i, level[i]) for i in range(1, cfg['n_styles'])], 1)
            err = float((codes - ref['codes_raw']).abs().max() / ref['codes_raw'].abs().max())
            self.assertLess(err, 1e-4, kind)
            err = float((codes + t['latent_avg'] - ref['latents']).abs().max() / ref['latents'].abs().max())
            print(f'{kind} latents from the converted tensors: {err:.2e}', file=sys.stderr)
            self.assertLess(err, 1e-4, kind)

    def test_unknown_encoder_type_refused(self):
        need(E4E)
        root = torch_file.load(E4E)
        root['opts']['encoder_type'] = 'BackboneEncoderUsingLastLayerIntoW'
        path = os.path.join(self.tmp, 'other.pt')
        torch.save({'state_dict': dict(root['state_dict']), 'opts': root['opts'], 'latent_avg': root['latent_avg']}, path)
        p, _ = self.convert(path, '--network', 'E')
        self.assertEqual(p.returncode, 1)
        self.assertIn("other.pt: opts['encoder_type'] is 'BackboneEncoderUsingLastLayerIntoW'", p.stderr)


class LatentTransformerConverter(Case):
    def test_tnet_needs_its_classifier(self):
        need(TNET)
        need(LC)
        p, _ = self.convert(TNET)
        self.assertEqual(p.returncode, 1)
        self.assertIn('needs its latent classifier', p.stderr)
        p, out = self.convert(TNET, '--classifier', LC)
        self.assertEqual(p.returncode, 0, p.stderr)
        tensors, meta = load_file(out)
        cfg = json.loads(meta['faceedit.config'])
        self.assertEqual(cfg['transformer']['attribute'], 'eyeglasses')
        self.assertEqual(cfg['transformer']['official_edit_layers'], [0, 1, 2])
        self.assertEqual(cfg['classifier']['columns'][15], 'eyeglasses')

    def test_export_official_round_trip(self):
        need(TNET)
        need(LC)
        p, ours = self.convert(TNET, '--classifier', LC)
        self.assertEqual(p.returncode, 0, p.stderr)
        out_dir = os.path.join(self.tmp, 'official')
        os.mkdir(out_dir)
        p = subprocess.run([sys.executable, CONVERT, '--export-official', ours, out_dir], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(out_dir)), ['latent_classifier_epoch_20.pth', 'tnet_15.pth.tar'])
        for name, original in (('tnet_15.pth.tar', TNET), ('latent_classifier_epoch_20.pth', LC)):
            back, want = torch_file.load(os.path.join(out_dir, name)), torch_file.load(original)
            self.assertEqual(list(back), list(want))
            for k in want:
                torch.testing.assert_close(back[k], want[k], rtol=1e-6, atol=1e-7)

    def test_classifier_of_other_width_refused(self):
        need(LC)
        sd = torch_file.load(LC)
        sd['fcs.0.weight'] = torch.zeros(192, 1000)
        path = os.path.join(self.tmp, 'lc.pth')
        torch.save(dict(sd), path)
        p, _ = self.convert(path)
        self.assertIn('lc.pth: fcs.0.weight takes 1000 inputs', p.stderr)


if __name__ == '__main__':
    unittest.main()
