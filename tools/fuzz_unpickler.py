"""Mutation fuzz of the restricted unpicklers (faceedit_tools/restricted_pickle.py for network
pickles, faceedit_tools/torch_file.py for torch.save files): hostile inputs must always be refused
cleanly (ToolError / CorruptPickle) or give plain data, never run code, and stay within bounded time
and memory.

  /usr/bin/python3 tools/fuzz_unpickler.py [--iterations N] [--seed S]

torch.save inputs: zip layouts (data.pkl + data/<key> storages + version) and the legacy layout
(magic, protocol, sys_info pickles, the object, the storage keys, raw storages), made from state dicts
with BUILD {'_metadata': ...} on OrderedDict, pickled argparse Namespaces, persistent storage ids,
optimiser states; then mutated (bytes, zip members swapped, storages cut or resized) or given a
hostile data.pkl.

Inputs: opcode streams built to trick the allow-list (GLOBAL / STACK_GLOBAL / INST with dangerous
module and callable names, spellings with odd whitespace, names assembled through the memo),
REDUCE / BUILD / OBJ / NEWOBJ / NEWOBJ_EX on allowed and refused callables, persistent ids,
recursion and memo bombs, huge declared lengths, and byte-level mutations (flips, splices,
truncations) of all of those and of valid pickles. Code execution is detected with an audit hook
(os.system, subprocess, exec, compile, imports of new modules, file opens); each input runs under
an alarm and an address-space limit.
"""
import argparse
import io
import os
import pickle
import random
import resource
import signal
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faceedit_tools import ToolError  # noqa: E402
from faceedit_tools import restricted_pickle, torch_file  # noqa: E402
import argparse as _argparse  # noqa: E402  (only to build valid Namespace pickles)
import collections  # noqa: E402
import zipfile  # noqa: E402

import torch  # noqa: E402

P = pickle
DANGEROUS = [('os', 'system'), ('posix', 'system'), ('builtins', 'eval'), ('builtins', 'exec'), ('builtins', 'getattr'),
             ('builtins', '__import__'), ('__builtin__', 'eval'), ('subprocess', 'Popen'), ('subprocess', 'check_output'),
             ('pickle', 'loads'), ('torch', 'load'), ('numpy', 'load'), ('numpy.lib.npyio', 'load'), ('io', 'open'),
             ('builtins', 'open'), ('shutil', 'rmtree'), ('torch_utils.persistence', 'exec'), ('runpy', '_run_code'),
             ('builtins', 'set.__init__'), ('builtins ', 'set'), ('builtins', 'set '), ('builtins\x00', 'set'),
             ('torch._utils', '_rebuild_tensor_v2'), ('collections', 'OrderedDict.__reduce__'), ('numpy', 'frompyfunc'),
             ('numpy.core.multiarray', 'scalar'), ('builtins', 'set'), ('collections', 'OrderedDict'), ('dnnlib.util', 'EasyDict'),
             ('torch_utils.persistence', '_reconstruct_persistent_obj'), ('numpy', 'dtype'), ('numpy', 'ndarray')]


def s(text):
    b = text.encode('utf-8', 'surrogatepass')
    return P.SHORT_BINUNICODE + bytes([len(b)]) + b if len(b) < 256 else P.BINUNICODE + struct.pack('<I', len(b)) + b


def glob_op(module, name):
    return P.GLOBAL + module.encode() + b'\n' + name.encode() + b'\n'


def random_arg(rng):
    return rng.choice([s('echo PWNED'), P.NONE, P.NEWTRUE, P.BININT1 + b'\x05', P.EMPTY_DICT, P.EMPTY_LIST,
                       s('x' * rng.randint(0, 300)), P.BININT + struct.pack('<i', rng.randint(-2**31, 2**31 - 1)),
                       P.MARK + s('type') + s('class') + s('class_name') + s('Net') + s('state') + P.EMPTY_DICT + P.DICT])


def hostile(rng):
    """One hand-shaped hostile stream."""
    module, name = rng.choice(DANGEROUS)
    kind = rng.randrange(12)
    proto = P.PROTO + bytes([rng.choice([2, 4, 5])])
    if kind == 0:   # GLOBAL + REDUCE
        body = glob_op(module, name) + random_arg(rng) + P.TUPLE1 + P.REDUCE
    elif kind == 1:  # STACK_GLOBAL with names assembled through the memo
        body = s(module) + P.MEMOIZE + s(name) + P.MEMOIZE + P.BINGET + b'\x00' + P.BINGET + b'\x01' + P.STACK_GLOBAL + random_arg(rng) + \
            P.TUPLE1 + P.REDUCE
    elif kind == 2:  # INST
        body = P.MARK + random_arg(rng) + P.INST + module.encode() + b'\n' + name.encode() + b'\n'
    elif kind == 3:  # OBJ
        body = P.MARK + glob_op(module, name) + random_arg(rng) + P.OBJ
    elif kind == 4:  # NEWOBJ / NEWOBJ_EX
        body = glob_op(module, name) + P.EMPTY_TUPLE + (P.NEWOBJ if rng.random() < 0.5 else P.EMPTY_DICT + P.NEWOBJ_EX)
    elif kind == 5:  # BUILD with a __setstate__/__dict__ injection on an allowed class
        body = glob_op('dnnlib.util', 'EasyDict') + P.EMPTY_TUPLE + P.REDUCE + P.MARK + s('__class__') + \
            glob_op(module, name) + s('__setstate__') + glob_op(module, name) + P.DICT + P.BUILD
    elif kind == 6:  # persistent ids
        body = (random_arg(rng) + P.BINPERSID) if rng.random() < 0.5 else P.PERSID + b'storage\n'
    elif kind == 7:  # recursion bomb
        depth = rng.choice([1000, 100000, 1000000])
        body = (P.MARK if rng.random() < 0.5 else P.EMPTY_LIST) * depth + P.NONE
    elif kind == 8:  # memo bombs
        body = P.NONE + P.LONG_BINPUT + struct.pack('<I', rng.choice([0xffffffff, 2**31, 10**9])) + P.LONG_BINGET + struct.pack('<I', 7)
    elif kind == 9:  # huge declared lengths
        op = rng.choice([P.BINUNICODE8 + struct.pack('<Q', 2**62), P.BINBYTES8 + struct.pack('<Q', 2**60),
                         P.BINBYTES + struct.pack('<I', 2**31 - 1), P.BYTEARRAY8 + struct.pack('<Q', 2**50),
                         P.LONG4 + struct.pack('<i', 2**31 - 1)])
        body = op + b'abc'
    elif kind == 10:  # the persistent-class hook with hostile metadata
        meta = P.MARK + s('type') + s(rng.choice(['class', 'function', 'module'])) + s('class_name') + \
            rng.choice([s('X'), glob_op(module, name), P.NONE]) + s('state') + rng.choice([P.EMPTY_DICT, glob_op(module, name)]) + \
            s('module_src') + s('import os; os.system("echo PWNED")') + P.DICT
        body = glob_op('torch_utils.persistence', '_reconstruct_persistent_obj') + meta + P.TUPLE1 + P.REDUCE
    else:  # allowed callables fed odd arguments
        body = glob_op(*rng.choice([('builtins', 'set'), ('collections', 'OrderedDict'), ('numpy', 'dtype'),
                                    ('numpy.core.multiarray', 'scalar'), ('numpy', 'ndarray')])) + \
            P.MARK + random_arg(rng) + random_arg(rng) + P.TUPLE + P.REDUCE
    return proto + body + P.STOP


def valid(rng):
    obj = {'G_ema': {'a': [1, 2.5, 'x'], 'b': (None, True)}, 'training_set_kwargs': {'res': 256}, 'n': rng.randint(0, 10**6)}
    return pickle.dumps(obj, protocol=rng.choice([2, 3, 4, 5]))


def mutate(data, rng):
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b)):][:rng.randint(1, 8)]
        elif op == 2:
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            i = rng.randrange(len(b) + 1)
            b[i:i] = hostile(rng)[2:-1]  # a hostile fragment spliced in
        elif b:
            b = b[:rng.randrange(len(b))]  # truncation
    return bytes(b)


def valid_torch(rng):
    """A torch.save file (zip or legacy) of the kinds the converters read."""
    sd = collections.OrderedDict((f'layer.{i}.weight', torch.randn(rng.randint(1, 4), rng.randint(1, 4))) for i in range(rng.randint(1, 4)))
    sd._metadata = collections.OrderedDict({'': {'version': 1}})
    shared = torch.arange(6, dtype=torch.float32)
    obj = rng.choice([
        sd,
        {'g_ema': sd, 'args': _argparse.Namespace(size=32, ckpt=None, lr=0.002), 'ada_aug_p': 0.0},
        {'state_dict': sd, 'opts': {'encoder_type': 'Encoder4Editing', 'steps': [0, 1]}, 'latent_avg': torch.zeros(2, 3)},
        {'a': shared.view(2, 3), 'b': shared[2:5], 'n': torch.tensor(3, dtype=torch.int64), 'h': torch.ones(2, dtype=torch.float16)},
        {'state': {0: {'step': torch.tensor(1.0), 'exp_avg': torch.zeros(3)}}, 'param_groups': [{'betas': (0.0, 0.99), 'params': [0]}]},
    ])
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=rng.random() < 0.7)
    return buf.getvalue()


def mutate_zip(data, rng):
    """Member-level damage: a hostile or mutated data.pkl, storages cut, swapped, dropped or grown."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        members = [(n, src.read(n)) for n in src.namelist()]
    except Exception:
        return mutate(data, rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:
        for name, raw in members:
            op = rng.randrange(6)
            if name.endswith('data.pkl') and op == 0:
                raw = hostile(rng)
            elif name.endswith('data.pkl') and op == 1:
                raw = mutate(raw, rng)
            elif '/data/' in name and op == 2:
                raw = raw[:rng.randrange(len(raw) + 1)]
            elif '/data/' in name and op == 3:
                raw = raw + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            elif '/data/' in name and op == 4:
                continue
            z.writestr(name, raw)
    return out.getvalue()


def torch_input(rng):
    data = valid_torch(rng)
    r = rng.random()
    if r < 0.15:
        return data
    if r < 0.55 and data[:4] == b'PK\x03\x04':
        return mutate_zip(data, rng)
    return mutate(data, rng)


class Executed(Exception):
    pass


WATCHED = ('os.system', 'os.exec', 'os.posix_spawn', 'os.spawn', 'subprocess.Popen', 'exec', 'compile', 'os.remove', 'shutil.rmtree',
           'os.fork', 'pty.spawn', 'ctypes.dlopen')
armed = {'on': False, 'modules': set(), 'path': None}


def audit(event, args):
    if not armed['on']:
        return
    if event == 'open' and args[0] == armed['path']:
        return  # the loader reading its input
    if event.startswith(WATCHED) or (event == 'import' and args[0] not in armed['modules']) or event == 'open':
        armed['on'] = False
        raise Executed(f'{event} {str(args)[:120]}')


def run_one(path, loader=None):
    """'refused', 'loaded' or a finding's description."""
    loader = loader or (lambda p: restricted_pickle.load_network_pickle(p, 'fuzz'))
    signal.alarm(10)
    armed['modules'] = set(sys.modules)
    armed['path'] = path
    armed['on'] = True
    try:
        loader(path)
        return 'loaded'
    except ToolError:
        return 'refused'
    except Executed as e:
        return f'CODE RAN: {e}'
    except TimeoutError:
        return 'TIMEOUT (over 10 s)'
    except BaseException as e:  # noqa: B902 - anything else escaping is a finding
        return f'UNCLEAN {type(e).__name__}: {str(e)[:200]}'
    finally:
        armed['on'] = False
        signal.alarm(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iterations', type=int, default=20000)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (min(4 << 30, hard if hard > 0 else 4 << 30), hard))

    def on_alarm(*_):
        raise TimeoutError()

    signal.signal(signal.SIGALRM, on_alarm)
    sys.setrecursionlimit(10000)
    fd, path = tempfile.mkstemp(suffix='.pkl')
    os.close(fd)
    sys.addaudithook(audit)
    # CPython's C unpickler prints "SystemError: deallocated bytearray object has exported buffers"
    # itself (no hook sees it) when a BYTEARRAY8 read fails midway; that input is still refused.
    counts, findings, t0 = {}, [], time.time()
    for i in range(a.iterations):
        r = rng.random()
        loader = None
        if i % 3 == 2:  # every third input: a torch.save file for torch_file
            data, loader = torch_input(rng), torch_file.load
        else:
            data = hostile(rng) if r < 0.45 else mutate(hostile(rng), rng) if r < 0.8 else mutate(valid(rng), rng)
        with open(path, 'wb') as f:
            f.write(data)
        out = run_one(path, loader)
        key = out if out in ('refused', 'loaded') else 'finding'
        counts[key] = counts.get(key, 0) + 1
        if key == 'finding':
            findings.append((out, data[:200]))
            if len(findings) <= 10:
                print(f'finding {len(findings)}: {out}\n  input: {data[:120]!r}', file=sys.stderr)
    os.remove(path)
    print(f'fuzz_unpickler: {a.iterations} inputs in {time.time() - t0:.1f} s: {counts.get("refused", 0)} refused, '
          f'{counts.get("loaded", 0)} loaded as plain data, {len(findings)} findings')
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main())
