#!/usr/bin/python3
"""faceedit_convert.py IN OUT [--network G_ema|G|D]: convert a face-GAN checkpoint to faceedit's
safetensors format.

Inputs: a stylegan2-ada-pytorch network pickle (G_ema is converted, or with --network D its
discriminator, or with --network G its training generator; read with a restricted unpickler, its embedded source is never executed) or the
DCGAN CelebA-32 torch.save state_dict.
OUT is written atomically. Exit status: 0 converted, 1 conversion failed, 2 usage error.
Failures print one line `error: ...` on stderr (FACEEDIT_DEBUG=1 adds tracebacks of internal errors).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

USAGE = 'usage: faceedit_convert.py IN OUT [--network G_ema|G|D]'


def _one_line(text):
    return ' '.join(str(text).split())


def main(argv):
    if len(argv) == 2 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    network = 'G_ema'
    if len(argv) == 5 and argv[3] == '--network':
        network = argv[4]
        argv = argv[:3]
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    in_path, out_path = argv[1], argv[2]
    try:
        from faceedit_tools import ToolError
        from faceedit_tools.convert import convert_file
    except ImportError as e:
        print(f'error: cannot import the converter ({_one_line(e)}); run it with /usr/bin/python3',
              file=sys.stderr)
        return 1
    try:
        arch, count = convert_file(in_path, out_path, network)
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
