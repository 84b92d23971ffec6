"""--prewarm end to end: the server starts with it, serves as before, exports
modelmux_prewarm_loads_total, _hits_total and _wasted_total, and refuses a bad
prewarm flag at start-up. (Whether a prewarm happens is tested with a virtual
clock in src/server/prewarmer_test.cc: a real clock would need minutes of idle
gaps before a period is trusted.)"""

import subprocess
import unittest

import harness
from harness import Server, metric


class PrewarmTest(unittest.TestCase):
    def test_serves_and_exports_the_prewarm_metrics(self):
        model = harness.tenants()[0]
        with Server(harness.shared_store(), "--prewarm", "--prewarm-bytes", "50M", "--prewarm-loads-per-minute",
                    "10", "--prewarm-lead", "30") as s:
            for _ in range(3):
                s.invoke(model, harness.ticket_text(model), top_k=1)  # 200 or it raises
            text = s.metrics()
        for name in ("modelmux_prewarm_loads_total", "modelmux_prewarm_hits_total", "modelmux_prewarm_wasted_total"):
            self.assertIn(name, text)
            self.assertEqual(metric(text, name), 0)  # no pattern learned from three requests
        self.assertEqual(metric(text, "modelmux_model_cache_hits_total"), 2)

    def test_without_prewarm_there_are_no_prewarm_metrics(self):
        with Server(harness.shared_store()) as s:
            self.assertNotIn("modelmux_prewarm_loads_total", s.metrics())

    def test_bad_prewarm_flag_is_refused(self):
        run = subprocess.run([harness.server_binary(), "--store", harness.shared_store(), "--prewarm",
                              "--prewarm-loads-per-minute", "0"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("--prewarm-loads-per-minute", run.stderr + run.stdout)


if __name__ == "__main__":
    unittest.main()
