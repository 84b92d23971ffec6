"""modelmux-plan agrees with a real fleet (issue 16).

Runs bench/plan/validate.py: a day of Zipf traffic over 300 models replayed in
30 s through scripts/fleet (3 real instances behind real HAProxy) by
modelmux-loadgen, and the same trace through modelmux-plan --fleet 3. Every
model must be routed to the same instance, and the hit ratio and each
instance's loads must agree within 5%. LRU: the default policy's per-instance
loads are more sensitive to load-time noise (see BENCHMARKS.md).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MODELMUX_BIN", os.path.join(REPO, "build", "bin", "modelmux"))
BUILD = os.path.dirname(os.path.dirname(BIN))


@unittest.skipUnless(shutil.which("haproxy") or os.path.exists("/usr/sbin/haproxy"), "haproxy is not installed")
class PlanValidationTest(unittest.TestCase):
    def test_planner_matches_the_real_fleet(self):
        for tool in ("modelmux-sim", "modelmux-plan", "modelmux-loadgen"):
            if not os.path.exists(os.path.join(BUILD, "bin", tool)):
                self.skipTest(f"{tool} is not built")
        out = tempfile.mkdtemp(prefix="modelmux-plan-validation-")
        try:
            run = subprocess.run([sys.executable, os.path.join(REPO, "bench", "plan", "validate.py"), "--build", BUILD,
                                  "--out", out, "--policy", "lru", "--day-seconds", "30"],
                                 capture_output=True, text=True, timeout=240)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertIn("| models routed to the same instance | 300 | 300 |", run.stdout)
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
