"""tools/faceedit_tools/stylegan3.py on the shared StyleGAN3 fixtures (configs T and R).

    /usr/bin/python3 -m unittest tests/tools/test_stylegan3_converter.py -v
Skips without ../shared (or $FACEEDIT_SHARED), fails instead when FACEEDIT_REQUIRE_SHARED=1.
"""
import json
import os
import sys
import tempfile
import unittest

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from faceedit_tools import ToolError, stylegan3  # noqa: E402
from faceedit_tools.convert import convert_file  # noqa: E402
from faceedit_tools.restricted_pickle import load_network_pickle  # noqa: E402
from faceedit_tools.safetensors_io import load_file  # noqa: E402

SHARED = os.environ.get('FACEEDIT_SHARED', os.path.join(os.path.dirname(REPO), 'shared'))
FIX = os.path.join(SHARED, 'fixtures', 'stylegan3')
PKLS = {'t': os.path.join(FIX, 'network-snapshot-sg3t32.pkl'), 'r': os.path.join(FIX, 'network-snapshot-sg3r32.pkl')}


def need(path):
    if not os.path.exists(path):
        if os.environ.get('FACEEDIT_REQUIRE_SHARED') == '1':
            raise AssertionError(f'{path} not found and FACEEDIT_REQUIRE_SHARED=1')
        raise unittest.SkipTest(f'{path} not found (set FACEEDIT_SHARED)')
    return path


class StyleGAN3Converter(unittest.TestCase):
    def test_both_configs_convert_with_their_geometry(self):
        for cfg, pkl in PKLS.items():
            need(pkl)
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, 'g.safetensors')
                arch, count = convert_file(pkl, out)
                self.assertEqual((arch, count), ('stylegan3', 114))
                tensors, meta = load_file(out)
                c = json.loads(meta['faceedit.config'])
                self.assertEqual(c['num_ws'], 16)
                self.assertEqual(c['synthesis']['use_radial_filters'], cfg == 'r')
                self.assertEqual(c['synthesis']['conv_kernel'], 1 if cfg == 'r' else 3)
                self.assertEqual(len(c['layers']), 15)
                if cfg == 'r':  # 1x1 convolutions: L0 pads the 36 px input by 11 + 10 after upsampling
                    self.assertEqual(c['layers'][0]['padding'], [11, 10, 11, 10])
                radial = tensors['synthesis.L0_36_%d.down_filter' % (64 if cfg == 'r' else 32)]
                self.assertEqual(radial.dim(), 2 if cfg == 'r' else 1)
                self.assertNotIn('synthesis.L14_32_3.up_filter', tensors)  # ToRGB: None buffers skipped

    def test_training_generator_differs_from_g_ema(self):
        pkl = need(PKLS['t'])
        with tempfile.TemporaryDirectory() as d:
            convert_file(pkl, os.path.join(d, 'ema.safetensors'))
            convert_file(pkl, os.path.join(d, 'g.safetensors'), 'G')
            a, _ = load_file(os.path.join(d, 'ema.safetensors'))
            b, _ = load_file(os.path.join(d, 'g.safetensors'))
            self.assertFalse(torch.equal(a['synthesis.L3_36_32.weight'], b['synthesis.L3_36_32.weight']))

    def test_modules_are_keyed_on_their_source_not_their_name(self):
        # networks_stylegan2.py's FullyConnectedLayer (from D) put in place of the mapping's: same
        # class name, other code: refused, naming the module.
        root = load_network_pickle(need(PKLS['t']))
        d_fc = root['D'].state['_modules']['b4'].state['_modules']['fc']
        self.assertEqual(d_fc.class_name, 'FullyConnectedLayer')
        self.assertFalse(stylegan3.is_stylegan3(d_fc))
        g = root['G_ema']
        g.state['_modules']['mapping'].state['_modules']['fc1'].module_src = d_fc.module_src
        with self.assertRaises(ToolError) as e:
            stylegan3.convert(root, 'x.pkl')
        self.assertIn('G_ema.mapping.fc1', str(e.exception))
        self.assertIn('networks_stylegan3.py', str(e.exception))

    def test_shape_that_does_not_fit_is_refused(self):
        root = load_network_pickle(need(PKLS['r']))
        layer = root['G_ema'].state['_modules']['synthesis'].state['_modules']['L4_36_64']
        layer.state['_parameters']['weight'] = torch.zeros(64, 63, 1, 1)
        with self.assertRaises(ToolError) as e:
            stylegan3.convert(root, 'x.pkl')
        self.assertIn('synthesis.L4_36_64.weight', str(e.exception))


if __name__ == '__main__':
    unittest.main()
