"""Lazy loading: the first invoke of a model that is in the store but not
loaded loads it; later invokes are cache hits; names not in the store are 404
and invalid names 400, and neither loads anything."""

import unittest

import harness
from harness import Server, assert_error_json, metric


class LazyLoadingTest(unittest.TestCase):
    def test_first_invoke_loads_the_model(self):
        m = harness.tenants()[0]
        with Server(harness.shared_store()) as s:
            before = s.metrics()
            self.assertEqual(metric(before, "modelmux_loaded_models"), 0)
            self.assertEqual(metric(before, "modelmux_model_load_seconds_count"), 0)
            self.assertNotEqual(s.index().get(m, {}).get("state"), "READY")

            first = s.invoke(m, harness.ticket_text(m))
            self.assertEqual(len(first["predictions"]), 1)
            entry = s.index()[m]
            self.assertEqual(entry["state"], "READY")
            self.assertGreater(entry["bytes"], 0)
            after = s.metrics()
            self.assertEqual(metric(after, "modelmux_loaded_models"), 1)
            self.assertEqual(metric(after, "modelmux_model_load_seconds_count"), 1)
            self.assertGreaterEqual(metric(after, "modelmux_model_cache_misses_total"), 1)
            self.assertGreater(metric(after, "modelmux_memory_used_bytes"), 0)

            hits = metric(after, "modelmux_model_cache_hits_total")
            second = s.invoke(m, harness.ticket_text(m))
            self.assertEqual(second, first)
            again = s.metrics()
            self.assertEqual(metric(again, "modelmux_model_load_seconds_count"), 1, "a READY model was loaded again")
            self.assertEqual(metric(again, "modelmux_model_cache_hits_total"), hits + 1)

    def test_missing_and_invalid_names_load_nothing(self):
        with Server(harness.shared_store()) as s:
            status, _, body = s.request("POST", "/models/no-such-tenant/invoke", {"text": "hello"})
            self.assertEqual(status, 404, body)
            assert_error_json(self, body, "no-such-tenant")
            status, _, body = s.request("POST", "/models/..%2Fx/invoke", {"text": "hello"})
            self.assertEqual(status, 400, body)
            assert_error_json(self, body)
            text = s.metrics()
            self.assertEqual(metric(text, "modelmux_loaded_models"), 0)
            self.assertEqual(metric(text, "modelmux_model_load_seconds_count"), 0)
            self.assertEqual(s.status("GET", "/ping"), 200)


if __name__ == "__main__":
    unittest.main()
