"""A budget that holds about 3 models while 10 are invoked in turn: evictions
happen, the budget holds at every scrape, a pinned model is never evicted, and
every answer equals the one the model gave when it was loaded alone."""

import re
import unittest

import harness
from harness import Server, assert_same_prediction, metric

ROTATED = 10
ROUNDS = 2


def payload(model):
    return {"instances": [harness.ticket_text(model, i) for i in range(3)], "top_k": 3}


class MemoryBudgetTest(unittest.TestCase):
    def reference_answers(self, models):
        """Each model's answer and charged bytes, loaded alone (then unloaded)."""
        answers, sizes = {}, {}
        with Server(harness.shared_store()) as s:
            for m in models:
                answers[m] = s.json("POST", f"/models/{m}/invoke", payload(m))["predictions"]
                sizes[m] = s.index()[m]["bytes"]
                s.json("DELETE", f"/models/{m}", expect=200)
                self.assertEqual(metric(s.metrics(), "modelmux_loaded_models"), 0)
        return answers, sizes

    def test_evictions_keep_the_budget_and_the_answers(self):
        names = harness.tenants()
        self.assertGreaterEqual(len(names), ROTATED + 1)
        rotated, pinned = names[:ROTATED], names[ROTATED]
        answers, sizes = self.reference_answers(rotated + [pinned])
        budget = int(3.5 * max(sizes.values()))
        most_resident = budget // min(sizes.values())

        with Server(harness.shared_store(), "--memory-budget", str(budget), "--workers", "2") as s:
            s.json("POST", f"/v2/repository/models/{pinned}/load", {"parameters": {"pin": True}})
            self.assertEqual(metric(s.metrics(), "modelmux_memory_budget_bytes"), budget)
            for round_ in range(ROUNDS):
                for m in rotated:
                    got = s.json("POST", f"/models/{m}/invoke", payload(m))["predictions"]
                    for g, w in zip(got, answers[m]):
                        assert_same_prediction(self, g, w, f"{m} in round {round_}")
                    text = s.metrics()
                    used = metric(text, "modelmux_memory_used_bytes")
                    self.assertLessEqual(used, budget, f"over budget after invoking {m}")
                    self.assertLessEqual(metric(text, "modelmux_loaded_models"), most_resident)

            text = s.metrics()
            evictions = metric(text, "modelmux_evictions_total")
            # Room for the pinned model and two others: the first round alone
            # loads ten models into room for two, whatever the policy.
            self.assertGreaterEqual(evictions, ROTATED - 2)
            entry = s.index()[pinned]
            self.assertEqual(entry["state"], "READY", "the pinned model was evicted")
            self.assertIs(entry["pinned"], True)
            got = s.json("POST", f"/models/{pinned}/invoke", payload(pinned))["predictions"]
            for g, w in zip(got, answers[pinned]):
                assert_same_prediction(self, g, w, pinned)
            log = s.log()

        evicted = [line for line in log.splitlines() if re.search("evict", line, re.I)]
        self.assertTrue(evicted, "no eviction log line")
        self.assertTrue(any(harness.mentions(line, m) for line in evicted for m in rotated), evicted[:3])
        self.assertFalse(any(harness.mentions(line, pinned) for line in evicted), "pinned model logged as evicted")


if __name__ == "__main__":
    unittest.main()
