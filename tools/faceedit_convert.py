#!/usr/bin/python3
"""faceedit_convert.py IN OUT [--network G_ema|G|D|E] [--classifier FILE]: convert a face-GAN checkpoint
to faceedit's safetensors format.
faceedit_convert.py --inspect IN OUT.json: what IN is (format by content, inferred config, tensors).
faceedit_convert.py --export-official EDITOR.safetensors DIR: a faceedit latent-transformer editor as the
Latent Transformer's own tnet_<n>.pth.tar + latent_classifier_epoch_20.pth.

Inputs: a stylegan2-ada-pytorch network pickle (G_ema is converted, or with --network D its
discriminator, or with --network G its training generator; read with a restricted unpickler, its embedded source is never executed),
the DCGAN CelebA-32 torch.save state_dict, a rosinality/stylegan2-pytorch checkpoint (g_ema, g, d),
a pSp/e4e checkpoint (decoder, or --network E its encoder), the latent-transformer's latent classifier
or a tnet_<n>.pth.tar (with --classifier, its latent classifier). torch.save files are read by a
restricted reader (faceedit_tools/torch_file.py): nothing in them is executed.
OUT is written atomically. Exit status: 0 converted, 1 conversion failed, 2 usage error.
Failures print one line `error: ...` on stderr (FACEEDIT_DEBUG=1 adds tracebacks of internal errors).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

USAGE = 'usage: faceedit_convert.py IN OUT [--network G_ema|G|D|E] [--classifier FILE] | --inspect IN OUT.json | --export-official EDITOR.safetensors DIR'


def _one_line(text):
    return ' '.join(str(text).split())


def main(argv):
    if len(argv) == 2 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    inspect = len(argv) == 4 and argv[1] == '--inspect'
    export = len(argv) == 4 and argv[1] == '--export-official'
    if inspect or export:
        argv = argv[1:]
    options = {'--network': 'G_ema', '--classifier': None}
    while len(argv) >= 5 and argv[3] in options:
        options[argv[3]] = argv[4]
        argv = argv[:3] + argv[5:]
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    in_path, out_path = argv[1], argv[2]
    network, classifier = options['--network'], options['--classifier']
    try:
        from faceedit_tools import ToolError
        from faceedit_tools.convert import convert_file, inspect_file
    except ImportError as e:
        print(f'error: cannot import the converter ({_one_line(e)}); run it with /usr/bin/python3',
              file=sys.stderr)
        return 1
    try:
        if export:
            from faceedit_tools.latent_transformer import export_official
            for path in export_official(in_path, out_path):
                print(f'wrote {path}')
            return 0
        if inspect:
            info = inspect_file(in_path, out_path)
            print(f'{in_path}: {info["format"]}')
            return 0
        arch, count = convert_file(in_path, out_path, network, classifier)
    except ToolError as e:
        print(f'error: {_one_line(e)}', file=sys.stderr)
        return 1
    except Exception as e:
        if os.environ.get('FACEEDIT_DEBUG'):
            raise
        print(f'error: {in_path}: internal error ({type(e).__name__}: {_one_line(e)})',
              file=sys.stderr)
        return 1
    print(f'wrote {out_path} ({arch}, {count} tensors)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
