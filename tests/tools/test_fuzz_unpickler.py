"""A short run of the hostile-pickle fuzzer (tools/fuzz_unpickler.py) in CI: every input refused
cleanly or loaded as plain data, no code run, nothing over its time limit."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FuzzUnpickler(unittest.TestCase):
    def test_hostile_pickles_are_refused_cleanly(self):
        r = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'fuzz_unpickler.py'), '--iterations', '400', '--seed', '1'],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
        self.assertIn('0 findings', r.stdout)


if __name__ == '__main__':
    unittest.main()
