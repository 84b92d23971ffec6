"""Every HTTP route: status codes and body shapes (SageMaker contract, SageMaker
client call, KServe V2 incl. the repository extension, /metrics), plus the
request errors: unknown model 404, invalid name 400, malformed JSON 400, 413."""

import json
import unittest

import harness
from harness import Server, assert_error_json, assert_same_prediction, metric

TARGET = "X-Amzn-SageMaker-Target-Model"
MAX_BODY = 64 * 1024


class RoutesTest(unittest.TestCase):
    """One server over the shared store; each test uses its own tenants."""

    @classmethod
    def setUpClass(cls):
        cls.names = harness.tenants()
        cls.server = Server(harness.shared_store(), "--workers", "2", "--max-body-bytes", str(MAX_BODY))
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def model(self, i):
        return self.names[i % len(self.names)]

    def check_predictions(self, doc, n, k):
        self.assertEqual(set(doc), {"predictions"}, doc)
        preds = doc["predictions"]
        self.assertEqual(len(preds), n)
        for pred in preds:
            self.assertEqual(len(pred), k)
            scores = [p["score"] for p in pred]
            self.assertEqual(scores, sorted(scores, reverse=True), "top-k not sorted by score")
            for p in pred:
                self.assertIsInstance(p["label"], str)
                self.assertTrue(p["label"])
                self.assertTrue(0.0 <= p["score"] <= 1.0, p)
        return preds

    # ----------------------------------------------------------- SageMaker

    def test_ping(self):
        status, _, body = self.server.request("GET", "/ping")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_load_describe_list_delete(self):
        m = self.model(0)
        s = self.server
        status, _, body = s.request("POST", "/models", {"model_name": m, "url": m})
        self.assertEqual(status, 200, body)
        self.assertEqual(s.index()[m]["state"], "READY")

        status, _, body = s.request("POST", "/models", {"model_name": m, "url": m})
        self.assertEqual(status, 409, body)
        assert_error_json(self, body)

        desc = s.json("GET", f"/models/{m}")
        self.assertEqual(desc["modelName"], m)
        self.assertIn("modelUrl", desc)

        listed = s.json("GET", "/models")
        self.assertIn("models", listed)
        self.assertIn(m, [e["modelName"] for e in listed["models"]])

        loaded_before = metric(s.metrics(), "modelmux_loaded_models")
        used_before = metric(s.metrics(), "modelmux_memory_used_bytes")
        status, _, body = s.request("DELETE", f"/models/{m}")
        self.assertEqual(status, 200, body)
        # Memory is freed when DELETE returns, not some time later.
        text = s.metrics()
        self.assertEqual(metric(text, "modelmux_loaded_models"), loaded_before - 1)
        self.assertLess(metric(text, "modelmux_memory_used_bytes"), used_before)
        self.assertNotEqual(s.index().get(m, {}).get("state"), "READY")

        status, _, body = s.request("DELETE", f"/models/{m}")
        self.assertEqual(status, 404, body)
        assert_error_json(self, body)

    def test_load_errors(self):
        s = self.server
        status, _, body = s.request("POST", "/models", {"model_name": "no-such-tenant", "url": "no-such-tenant"})
        self.assertEqual(status, 404, body)
        assert_error_json(self, body)
        status, _, body = s.request("POST", "/models", {"model_name": "x", "url": "/etc/x"})
        self.assertEqual(status, 404, body)
        assert_error_json(self, body)
        status, _, body = s.request("POST", "/models", {"url": self.model(1)})
        self.assertEqual(status, 400, body)
        assert_error_json(self, body, "model_name")

    def test_list_models_paginates(self):
        s = self.server
        for i in range(3):
            s.invoke(self.model(2 + i), "hello")
        seen, token, pages = [], None, 0
        while True:
            path = "/models?max_results=2" + (f"&next_page_token={token}" if token else "")
            doc = s.json("GET", path)
            pages += 1
            self.assertLessEqual(len(doc["models"]), 2, doc)
            for e in doc["models"]:
                self.assertIn("modelName", e)
                self.assertIn("modelUrl", e)
            seen += [e["modelName"] for e in doc["models"]]
            token = doc.get("nextPageToken")
            if not token:
                break
            self.assertLess(pages, 100, "pagination does not end")
        self.assertGreaterEqual(pages, 2, "max_results=2 gave a single page")
        self.assertEqual(len(seen), len(set(seen)), f"a model listed twice: {seen}")
        for i in range(3):
            self.assertIn(self.model(2 + i), seen)

    def test_invoke_text_and_instances(self):
        m = self.model(5)
        text = harness.ticket_text(m)
        doc = self.server.json("POST", f"/models/{m}/invoke", {"text": text, "top_k": 3})
        single = self.check_predictions(doc, 1, 3)
        doc = self.server.json("POST", f"/models/{m}/invoke",
                               {"instances": [text, harness.ticket_text(m, 1)], "top_k": 2})
        batch = self.check_predictions(doc, 2, 2)
        assert_same_prediction(self, batch[0], single[0][:2])

    def test_invocations_with_and_without_header(self):
        m = self.model(6)
        text = harness.ticket_text(m)
        direct = self.server.invoke(m, text)
        doc = self.server.json("POST", "/invocations", {"text": text, "top_k": 3}, headers={TARGET: m})
        preds = self.check_predictions(doc, 1, 3)
        assert_same_prediction(self, preds[0], direct["predictions"][0])

        status, _, body = self.server.request("POST", "/invocations", {"text": text})
        self.assertEqual(status, 400, body)
        assert_error_json(self, body, TARGET)

    def test_unknown_model_is_404(self):
        s = self.server
        for method, path, headers in [
            ("POST", "/models/no-such-tenant/invoke", {}),
            ("POST", "/invocations", {TARGET: "no-such-tenant"}),
            ("POST", "/v2/models/no-such-tenant/infer", {}),
        ]:
            body = {"text": "hello"} if "v2" not in path else v2_text_request(["hello"])
            status, _, data = s.request(method, path, body, headers)
            self.assertEqual(status, 404, f"{path}: {data!r}")
            assert_error_json(self, data, "no-such-tenant")
        status, _, data = s.request("GET", "/models/no-such-tenant")
        self.assertEqual(status, 404, data)

    def test_invalid_names_are_400(self):
        s = self.server
        for path, headers in [
            ("/models/..%2Fx/invoke", {}),
            ("/models/.hidden/invoke", {}),
            ("/invocations", {TARGET: "../x"}),
            ("/invocations", {TARGET: "a/b"}),
            ("/invocations", {TARGET: "x" * 200}),
        ]:
            status, _, data = s.request("POST", path, {"text": "hello"}, headers)
            self.assertEqual(status, 400, f"{path} {headers}: {data!r}")
            assert_error_json(self, data)

    def test_malformed_json_is_400(self):
        m = self.model(7)
        for body, needle in [
            (b'{"text": "unterminated', None),
            (b"[1, 2", None),
            (b'{"top_k": 3}', "text"),
            (b'{"text": 42}', "text"),
        ]:
            status, _, data = self.server.request("POST", f"/models/{m}/invoke", body)
            self.assertEqual(status, 400, f"{body!r}: {data!r}")
            if needle:
                assert_error_json(self, data, needle)
            else:
                assert_error_json(self, data)
        status, _, data = self.server.request("POST", "/models", b"{nope")
        self.assertEqual(status, 400, data)
        assert_error_json(self, data)

    def test_body_over_limit_is_413(self):
        m = self.model(8)
        text = harness.ticket_text(m)
        ok = json.dumps({"text": text}).encode()
        self.assertEqual(self.server.status("POST", f"/models/{m}/invoke", ok), 200)
        big = json.dumps({"text": "word " * (MAX_BODY // 5 + 100)}).encode()
        self.assertGreater(len(big), MAX_BODY)
        status, _, data = self.server.request("POST", f"/models/{m}/invoke", big)
        self.assertEqual(status, 413, data[:200])
        assert_error_json(self, data)
        # The server still serves after refusing a large body.
        self.assertEqual(self.server.status("POST", f"/models/{m}/invoke", ok), 200)

    # ------------------------------------------------------------ KServe V2

    def test_v2_health_and_server_metadata(self):
        s = self.server
        self.assertEqual(s.status("GET", "/v2/health/live"), 200)
        self.assertEqual(s.status("GET", "/v2/health/ready"), 200)
        meta = s.json("GET", "/v2")
        self.assertEqual(meta["name"], "modelmux")
        self.assertIsInstance(meta["version"], str)
        self.assertIn("model_repository", meta["extensions"])

    def test_v2_model_metadata_ready_and_infer(self):
        s = self.server
        m = self.model(9)
        self.assertNotEqual(s.status("GET", f"/v2/models/{m}/ready"), 200, "ready before any load")
        texts = [harness.ticket_text(m, 0), harness.ticket_text(m, 1), harness.ticket_text(m, 2)]
        req = v2_text_request(texts)
        req["parameters"] = {"top_k": 2}
        doc = s.json("POST", f"/v2/models/{m}/infer", req)
        self.assertEqual(doc["model_name"], m)
        outputs = {o["name"]: o for o in doc["outputs"]}
        self.assertEqual(outputs["label"]["datatype"], "BYTES")
        self.assertEqual(outputs["label"]["shape"], [3, 2])
        self.assertEqual(outputs["score"]["datatype"], "FP32")
        self.assertEqual(outputs["score"]["shape"], [3, 2])
        self.assertEqual(len(outputs["label"]["data"]), 6)
        self.assertEqual(len(outputs["score"]["data"]), 6)
        # Same answer as the SageMaker route, row-major [n, k].
        sm = s.json("POST", f"/models/{m}/invoke", {"instances": texts, "top_k": 2})["predictions"]
        for i in range(3):
            got = [{"label": outputs["label"]["data"][2 * i + j], "score": outputs["score"]["data"][2 * i + j]}
                   for j in range(2)]
            assert_same_prediction(self, got, sm[i])

        self.assertEqual(s.status("GET", f"/v2/models/{m}/ready"), 200)
        meta = s.json("GET", f"/v2/models/{m}")
        self.assertEqual(meta["name"], m)
        self.assertIn("text", [i["name"] for i in meta["inputs"]])
        self.assertEqual({o["name"] for o in meta["outputs"]}, {"label", "score"})

        status, _, data = s.request("POST", f"/v2/models/{m}/infer", {"inputs": [{"name": "text"}]})
        self.assertEqual(status, 400, data)
        assert_error_json(self, data)

    def test_v2_repository_index_load_unload_pin(self):
        s = self.server
        m = self.model(10)
        s.json("POST", f"/v2/repository/models/{m}/load", {})
        entry = s.index()[m]
        self.assertEqual(entry["state"], "READY")
        self.assertGreater(entry["bytes"], 0)
        self.assertIs(entry["pinned"], False)
        self.assertIn("reason", entry)
        s.invoke(m, "hello")
        self.assertIn("last_used", s.index()[m])

        s.json("POST", f"/v2/repository/models/{m}/load", {"parameters": {"pin": True}})
        self.assertIs(s.index()[m]["pinned"], True)
        s.json("POST", f"/v2/repository/models/{m}/load", {"parameters": {"pin": False}})
        self.assertIs(s.index()[m]["pinned"], False)

        s.json("POST", f"/v2/repository/models/{m}/unload", {})
        self.assertNotEqual(s.index().get(m, {}).get("state"), "READY")
        self.assertNotEqual(s.status("GET", f"/v2/models/{m}/ready"), 200)

        status, _, data = s.request("POST", "/v2/repository/models/no-such-tenant/load", {})
        self.assertEqual(status, 404, data)
        assert_error_json(self, data)

    # --------------------------------------------------------------- metrics

    def test_metrics(self):
        s = self.server
        m = self.model(11)
        s.invoke(m, harness.ticket_text(m))
        status, headers, body = s.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"), headers)
        text = body.decode()
        for name in ["modelmux_model_cache_hits_total", "modelmux_model_cache_misses_total",
                     "modelmux_evictions_total", "modelmux_loaded_models", "modelmux_memory_used_bytes",
                     "modelmux_memory_budget_bytes", "modelmux_requests_total"]:
            metric(text, name)
        for hist in ["modelmux_model_load_wait_seconds", "modelmux_model_load_seconds",
                     "modelmux_model_unload_seconds", "modelmux_request_duration_seconds",
                     "modelmux_queue_duration_seconds", "modelmux_inference_duration_seconds"]:
            self.assertIn(f"# TYPE {hist} histogram", text)
            metric(text, hist + "_count")
        self.assertGreaterEqual(metric(text, "modelmux_loaded_models"), 1)
        self.assertGreater(metric(text, "modelmux_memory_used_bytes"), 0)
        self.assertGreaterEqual(metric(text, "modelmux_model_cache_misses_total"), 1)
        self.assertGreaterEqual(metric(text, "modelmux_inference_duration_seconds_count"), 1)
        codes = [labels for labels, _ in harness.metric_samples(text, "modelmux_requests_total")]
        self.assertTrue(any('code="200"' in l and "route=" in l for l in codes), codes)
        self.assertFalse(any('model="' in line for line in text.splitlines()),
                         "per-model labels without --per-model-metrics")


def v2_text_request(texts):
    return {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]}


if __name__ == "__main__":
    unittest.main()
