"""--eviction-policy selects the policy the registry evicts with, end to end.

A budget holds three models (A, B, C) but not a fourth (D, the largest). A is
invoked seven times, then B and C once each, then D: LRU evicts A (the least
recently used); the frequency-aware policies (gdsf, s3fifo, adaptive-gdsf, and
the default) keep A and evict one of the models used once. An unknown policy
name is refused at start-up."""

import subprocess
import unittest

import harness
from harness import Server, metric

FREQUENCY_AWARE = ["gdsf", "s3fifo", "adaptive-gdsf"]
A_USES = 7


def payload(model):
    return {"text": harness.ticket_text(model), "top_k": 1}


class EvictionPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        names = harness.tenants()[:4]
        if len(names) < 4:
            raise AssertionError("the shared store needs at least 4 tenants")
        sizes = {}
        with Server(harness.shared_store()) as s:
            for m in names:
                s.json("POST", f"/models/{m}/invoke", payload(m))
            index = s.index()
            sizes = {m: index[m]["bytes"] for m in names}
        # D is the largest: loading it must evict, and evicting any one of
        # A, B, C makes room.
        ordered = sorted(names, key=lambda m: sizes[m])
        cls.a, cls.b, cls.c, cls.d = ordered
        small = [sizes[m] for m in ordered[:3]]
        cls.budget = sum(small) + sizes[cls.d] - min(small)

    def resident_after_sequence(self, *policy_args):
        """Runs the sequence; returns the names READY at the end and the eviction count."""
        with Server(harness.shared_store(), "--memory-budget", str(self.budget), "--workers", "1",
                    *policy_args) as s:
            for _ in range(A_USES):
                s.json("POST", f"/models/{self.a}/invoke", payload(self.a))
            for m in (self.b, self.c):
                s.json("POST", f"/models/{m}/invoke", payload(m))
            ready = {n for n, e in s.index().items() if e.get("state") == "READY"}
            self.assertEqual(ready & {self.a, self.b, self.c}, {self.a, self.b, self.c},
                             "A, B and C should all fit the budget")
            s.json("POST", f"/models/{self.d}/invoke", payload(self.d))
            ready = {n for n, e in s.index().items() if e.get("state") == "READY"}
            evictions = metric(s.metrics(), "modelmux_evictions_total")
        self.assertIn(self.d, ready)
        self.assertGreaterEqual(evictions, 1)
        return ready

    def test_lru_evicts_the_least_recently_used(self):
        ready = self.resident_after_sequence("--eviction-policy", "lru")
        self.assertNotIn(self.a, ready, "lru kept the least recently used model")

    def test_frequency_aware_policies_keep_the_frequently_used_model(self):
        for policy in FREQUENCY_AWARE:
            with self.subTest(policy=policy):
                ready = self.resident_after_sequence("--eviction-policy", policy)
                self.assertIn(self.a, ready, f"{policy} evicted the model used {A_USES} times")
                self.assertLess(len(ready & {self.b, self.c}), 2, f"{policy}: nothing evicted")

    def test_default_policy_keeps_the_frequently_used_model(self):
        ready = self.resident_after_sequence()
        self.assertIn(self.a, ready, "the default policy evicted the model used most")

    def test_unknown_policy_is_refused(self):
        out = subprocess.run([harness.server_binary(), "--store", harness.shared_store(),
                              "--eviction-policy", "no-such-policy", "--port", "0"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no-such-policy", out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
