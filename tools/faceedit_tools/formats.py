"""Which checkpoint is this? Formats told apart by content (never by file name), and their converters.

  stylegan2-ada          NVIDIA stylegan2-ada-pytorch network pickle (G_ema a persistent Generator)
  stylegan3              NVIDIA stylegan3 snapshot (configs T and R; stylegan3.py converts it)
  dcgan                  the DCGAN CelebA-32 generator state dict
  rosinality-stylegan2   rosinality train.py / convert_weight.py checkpoint, or a bare Generator state dict
  psp, e4e               pixel2style2pixel / encoder4editing checkpoints (encoder + rosinality decoder)
  latent-transformer-classifier, latent-transformer-tnet   InterDigital latent-transformer releases

describe() is what `faceedit info` prints for any of them: format, the config inferred from the
tensors, tensor count and which networks (--network) the file holds.
"""
import json

from . import ToolError, dcgan, latent_transformer, psp, rosinality, stylegan2, stylegan3, torch_file
from .restricted_pickle import PersistentObject


def _is_stylegan3(g):
    # StyleGAN3's synthesis starts from Fourier features (a SynthesisInput module) where StyleGAN2
    # has a constant; the embedded source is never looked at here.
    synthesis = g.state.get('_modules', {}).get('synthesis') if isinstance(g.state, dict) else None
    modules = synthesis.state.get('_modules', {}) if isinstance(synthesis, PersistentObject) else {}
    return isinstance(modules.get('input'), PersistentObject) and modules['input'].class_name == 'SynthesisInput'


def identify(root):
    if isinstance(root, dict) and isinstance(root.get('G_ema'), PersistentObject):
        return 'stylegan3' if _is_stylegan3(root['G_ema']) else 'stylegan2-ada'
    if dcgan.looks_like_dcgan(root):
        return 'dcgan'
    if psp.looks_like_psp(root):
        return psp.kind_of(root, 'checkpoint') if isinstance(root.get('opts'), dict) and \
            root['opts'].get('encoder_type') in psp.KINDS else 'psp'
    if rosinality.looks_like_generator(root) or (isinstance(root, dict) and rosinality.looks_like_generator(
            root.get('g_ema'))):
        return rosinality.FORMAT
    if latent_transformer.looks_like_classifier(root):
        return latent_transformer.CLASSIFIER_FORMAT
    if latent_transformer.looks_like_transformer(root):
        return latent_transformer.TRANSFORMER_FORMAT
    return 'unknown'


def convert(fmt, root, path, network='G_ema', classifier=None):
    """(tensors, metadata) of one network of a torch.save checkpoint in format `fmt`."""
    if fmt == rosinality.FORMAT:
        if network not in rosinality.NETWORK_KEYS:
            raise ToolError(f'{path}: a rosinality checkpoint holds G_ema, G and D, not {network}')
        return rosinality.convert(root, path, network)
    if fmt in ('psp', 'e4e'):
        return psp.convert(root, path, network)
    if fmt == latent_transformer.CLASSIFIER_FORMAT:
        return latent_transformer.convert_classifier(root, path)
    if fmt == latent_transformer.TRANSFORMER_FORMAT:
        csd = torch_file.load(classifier) if classifier else None
        return latent_transformer.convert_transformer(root, path, csd, classifier)
    raise ToolError(f'{path}: unrecognised checkpoint format')



def describe(root, path):
    """{format, config, tensors, networks} of any supported checkpoint."""
    fmt = identify(root)
    out = {'file': path, 'format': fmt}
    if fmt == 'stylegan2-ada':
        tensors, meta = stylegan2.convert(root, path)
        out['networks'] = ['G_ema', 'G', 'D'] if 'D' in root else ['G_ema']
    elif fmt == 'stylegan3':
        tensors, meta = stylegan3.convert(root, path, 'G_ema')
        out['networks'] = [n for n in ('G_ema', 'G') if n in root]
    elif fmt == 'dcgan':
        tensors, meta = dcgan.convert(root, path)
        out['networks'] = ['G_ema']
    elif fmt == rosinality.FORMAT:
        tensors, meta = rosinality.convert(root, path, 'G_ema')
        out['networks'] = [n for n, k in rosinality.NETWORK_KEYS.items()
                           if k in root or (n == 'G_ema' and rosinality.looks_like_generator(root))]
        if isinstance(root, dict) and 'd' in root:
            d_tensors, d_meta = rosinality.convert(root, path, 'D')
            out['discriminator'] = {'config': json.loads(d_meta['faceedit.config']), 'tensors': len(d_tensors)}
        out['w_avg'] = meta['faceedit.w_avg']
    elif fmt in ('psp', 'e4e'):
        tensors, meta = psp.convert_decoder(root, path)
        e_tensors, e_meta = psp.convert_encoder(root, path)
        out['networks'] = ['E', 'G_ema']
        out['encoder'] = {'config': json.loads(e_meta['faceedit.config']), 'tensors': len(e_tensors)}
    elif fmt == latent_transformer.CLASSIFIER_FORMAT:
        tensors, meta = latent_transformer.convert_classifier(root, path)
        out['networks'] = []
    elif fmt == latent_transformer.TRANSFORMER_FORMAT:
        cfg = latent_transformer.transformer_config(root, path, latent_transformer.attribute_of(path))
        out.update({'config': cfg, 'tensors': len(root), 'networks': []})
        return out
    else:
        raise ToolError(f'{path}: unrecognised checkpoint format (not one of stylegan2-ada, stylegan3, dcgan, '
                        'rosinality-stylegan2, psp, e4e, latent-transformer)')
    out['config'] = json.loads(meta['faceedit.config'])
    out['tensors'] = len(tensors)
    return out
