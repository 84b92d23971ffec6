"""A corrupt model.pt fails that model with a clear error (5xx naming the
problem, FAILED with its reason in the index) while other models keep serving."""

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


if __name__ == "__main__":
    unittest.main()
