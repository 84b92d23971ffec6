"""A corrupt model.pt fails that model with a clear error (5xx naming the
problem, FAILED with its reason in the index) while other models keep serving;
a load that cannot get memory (budget too small, or filled by a pinned model)
answers 507."""

import unittest

import harness
from harness import Server, TempStore, assert_error_json


class CorruptModelTest(unittest.TestCase):
    def test_corrupt_model_fails_alone(self):
        good_src, bad_src = harness.tenants()[4], harness.tenants()[5]
        with TempStore() as store:
            good = store.add("good-model", good_src)
            bad = store.add("broken-model", bad_src)
            store.corrupt(bad)
            other_src = harness.tenants()[6]
            other = store.add("other-model", other_src)
            with Server(store.dir, "--failure-backoff", "60000") as s:
                text = harness.ticket_text(good_src)
                before = s.invoke(good, text)

                status, _, body = s.request("POST", f"/models/{bad}/invoke", {"text": "hello"})
                self.assertTrue(500 <= status < 600, f"{status} {body!r}")
                message = assert_error_json(self, body)
                self.assertTrue(harness.mentions(message, bad) or "model.pt" in message, message)

                entry = s.index()[bad]
                self.assertEqual(entry["state"], "FAILED")
                self.assertTrue(entry["reason"].strip(), entry)

                # During the back-off the error comes back at once, still a 5xx.
                status, _, body = s.request("POST", "/invocations", {"text": "hello"},
                                            {"X-Amzn-SageMaker-Target-Model": bad})
                self.assertTrue(500 <= status < 600, f"{status} {body!r}")
                assert_error_json(self, body)

                # The good model, loaded or not, keeps serving, and the server stays ready.
                self.assertEqual(s.invoke(good, text), before)
                self.assertEqual(len(s.invoke(other, harness.ticket_text(other_src))["predictions"]), 1)
                self.assertEqual(s.status("GET", "/ping"), 200)
                self.assertEqual(s.index()[good]["state"], "READY")


class InsufficientMemoryTest(unittest.TestCase):
    def test_model_larger_than_the_budget_is_507(self):
        m = harness.tenants()[8]
        with Server(harness.shared_store(), "--memory-budget", "100K") as s:
            status, _, body = s.request("POST", "/models", {"model_name": m, "url": m})
            self.assertEqual(status, 507, body)
            assert_error_json(self, body, "memory")
            status, _, body = s.request("POST", f"/models/{m}/invoke", {"text": "hello"})
            self.assertEqual(status, 507, body)
            assert_error_json(self, body)
            self.assertEqual(s.status("GET", "/ping"), 200)

    def test_pinned_model_is_not_evicted_to_make_room(self):
        pinned, other = harness.tenants()[8], harness.tenants()[9]
        with Server(harness.shared_store()) as s:
            s.json("POST", f"/v2/repository/models/{pinned}/load", {"parameters": {"pin": True}})
            size = s.index()[pinned]["bytes"]
        # Room for the pinned model and half of another.
        with Server(harness.shared_store(), "--memory-budget", str(int(size * 1.5))) as s:
            s.json("POST", f"/v2/repository/models/{pinned}/load", {"parameters": {"pin": True}})
            status, _, body = s.request("POST", "/models", {"model_name": other, "url": other})
            self.assertEqual(status, 507, body)
            assert_error_json(self, body, "memory")
            self.assertEqual(s.index()[pinned]["state"], "READY")
            # Unpinned, it can be evicted to make room.
            s.json("POST", f"/v2/repository/models/{pinned}/load", {"parameters": {"pin": False}})
            status, _, body = s.request("POST", "/models", {"model_name": other, "url": other})
            self.assertEqual(status, 200, body)
            self.assertNotEqual(s.index()[pinned]["state"], "READY")
            self.assertEqual(s.index()[other]["state"], "READY")


if __name__ == "__main__":
    unittest.main()
