"""Mixed frameworks in one server (issue 14): TorchScript and fastText ticket
classifiers and XGBoost churn models from one store, under one budget.

- Every kind answers on the SageMaker routes and KServe V2, with the right
  /v2/models/{m} metadata; a row of the wrong width is a 400 naming the width.
- A budget that holds about three models while every tenant is invoked in
  turn: evictions hit every backend, the budget holds at every scrape, and
  every answer equals the one the model gave loaded alone (XGBoost's also
  what XGBoost itself predicted when the store was made).
- The thread count with 500 models of each backend loaded (and each invoked)
  equals the count with one of each.
- A corrupt fastText or XGBoost file fails that model alone (5xx naming the
  file, FAILED with the reason); the others keep serving.
- KServe V2 over gRPC (--grpc-port) serves every kind too: the same answers
  as REST (texts typed, XGBoost rows typed and raw FP32), the same metadata,
  and a row of the wrong width is INVALID_ARGUMENT naming the width.

The store is the ctest fixture integration_mixed_store (MODELMUX_MIXED_STORE).
"""

import json
import os
import shutil
import struct
import tempfile
import threading
import time
import unittest

import harness
from harness import Server, assert_error_json, metric

COPIES = 500


def mixed_store():
    path = harness.env_path("MODELMUX_MIXED_STORE")
    if not os.path.isdir(path):
        raise AssertionError(f"MODELMUX_MIXED_STORE={path} does not exist (fixture not run?)")
    return path


def tenants_by_backend(store):
    with open(os.path.join(store, "_heldout", "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    out = {}
    for t in summary["tenants"]:
        out.setdefault(t["backend"], []).append(t["name"])
    return out


def heldout(store, tenant):
    with open(os.path.join(store, "_heldout", tenant + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def payload(store, tenant, backend):
    """A SageMaker invoke body: three tickets, or three rows of features."""
    rows = heldout(store, tenant)[:3]
    if backend == "xgboost":
        return {"instances": [r["features"] for r in rows]}
    return {"instances": [r["text"] for r in rows], "top_k": 3}


def task_threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


class MixedBackendsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = mixed_store()
        cls.by_backend = tenants_by_backend(cls.store)
        for backend in ("torchscript", "fasttext", "xgboost"):
            if len(cls.by_backend.get(backend, [])) < 2:
                raise AssertionError(f"the mixed store needs 2 or more {backend} tenants: {cls.by_backend}")
        cls.backend_of = {m: b for b, names in cls.by_backend.items() for m in names}

    def assert_same_answer(self, got, want, backend, msg):
        self.assertEqual(len(got), len(want), msg)
        for g, w in zip(got, want):
            if backend == "xgboost":
                self.assertAlmostEqual(g, w, delta=1e-6, msg=msg)
            else:
                harness.assert_same_prediction(self, g, w, msg)

    def test_every_backend_answers_on_every_route(self):
        with Server(self.store) as s:
            for backend, names in self.by_backend.items():
                m = names[0]
                rows = heldout(self.store, m)[:2]
                got = s.json("POST", "/invocations", payload(self.store, m, backend),
                             headers={"X-Amzn-SageMaker-Target-Model": m})["predictions"]
                self.assertEqual(len(got), 3)
                meta = s.json("GET", f"/v2/models/{m}")
                self.assertEqual(meta["platform"], backend)
                if backend == "xgboost":
                    width = len(rows[0]["features"])
                    for g, r in zip(got, rows):
                        self.assertAlmostEqual(g, r["probability"], delta=1e-6)
                    body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, width],
                                        "data": [r["features"] for r in rows]}]}
                    v2 = s.json("POST", f"/v2/models/{m}/infer", body)
                    self.assertEqual(v2["outputs"][0]["name"], "probability")
                    self.assertEqual(v2["outputs"][0]["shape"], [2])
                    for g, r in zip(v2["outputs"][0]["data"], rows):
                        self.assertAlmostEqual(g, r["probability"], delta=1e-6)
                    self.assertEqual(meta["inputs"][0]["shape"], [-1, width])
                    self.assertEqual(len(meta["inputs"][0]["parameters"]["features"]), width)
                    self.assertEqual(meta["outputs"], [{"name": "probability", "datatype": "FP32", "shape": [-1]}])
                    narrow = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, width - 1],
                                          "data": rows[0]["features"][1:]}]}
                    status, _, data = s.request("POST", f"/v2/models/{m}/infer", narrow)
                    self.assertEqual(status, 400)
                    assert_error_json(self, data, f"rows of {width} features")
                    status, _, data = s.request("POST", f"/models/{m}/invoke", {"instances": [[1, 2]]})
                    self.assertEqual(status, 400)
                    assert_error_json(self, data, f"rows of {width} features", "got rows of 2")
                else:
                    self.assertEqual(got[0][0]["label"], s.invoke(m, rows[0]["text"])["predictions"][0][0]["label"])
                    self.assertNotIn("__label__", json.dumps(got))
                    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [rows[0]["text"]]}]}
                    v2 = s.json("POST", f"/v2/models/{m}/infer", body)
                    self.assertEqual(v2["outputs"][0]["data"][0], got[0][0]["label"])
                    self.assertEqual(meta["inputs"], [{"name": "text", "datatype": "BYTES", "shape": [-1]}])
            text = s.metrics()
            loads = dict(harness.metric_samples(text, "modelmux_model_load_seconds_count"))
            inferences = dict(harness.metric_samples(text, "modelmux_inference_duration_seconds_count"))
            for backend in self.by_backend:
                self.assertEqual(loads.get(f'{{backend="{backend}"}}'), 1, loads)
                self.assertGreaterEqual(inferences.get(f'{{backend="{backend}"}}', 0), 2, inferences)

    def reference(self):
        """Each tenant's answer and charged bytes, loaded alone."""
        answers, sizes = {}, {}
        with Server(self.store) as s:
            for m, backend in self.backend_of.items():
                answers[m] = s.json("POST", f"/models/{m}/invoke", payload(self.store, m, backend))["predictions"]
                sizes[m] = s.index()[m]["bytes"]
                s.json("DELETE", f"/models/{m}", expect=200)
        return answers, sizes

    def test_evictions_across_backends_keep_every_answer_right(self):
        answers, sizes = self.reference()
        for m, backend in self.backend_of.items():
            if backend == "xgboost":
                want = [r["probability"] for r in heldout(self.store, m)[:3]]
                self.assert_same_answer(answers[m], want, backend, f"{m}: XGBoost's own predictions")
        budget = int(3.2 * max(sizes.values()))
        # Backends take turns, so each load evicts another kind of model.
        order = [names[i] for i in range(max(map(len, self.by_backend.values())))
                 for names in self.by_backend.values() if i < len(names)]
        # LRU: the default policy weighs size and would rightly keep the small
        # XGBoost models; LRU evicts whatever was used longest ago, any kind.
        with Server(self.store, "--memory-budget", str(budget), "--workers", "2", "--eviction-policy", "lru") as s:
            for round_ in range(2):
                for m in order:
                    backend = self.backend_of[m]
                    got = s.json("POST", f"/models/{m}/invoke", payload(self.store, m, backend))["predictions"]
                    self.assert_same_answer(got, answers[m], backend, f"{m} ({backend}) in round {round_}")
                    used = metric(s.metrics(), "modelmux_memory_used_bytes")
                    self.assertLessEqual(used, budget, f"over budget after invoking {m}")
            evictions = metric(s.metrics(), "modelmux_evictions_total")
            log = s.log()
        self.assertGreaterEqual(evictions, len(order))
        evicted = {b for line in log.splitlines() if "evicted model" in line
                   for m, b in self.backend_of.items() if harness.mentions(line, m)}
        self.assertEqual(evicted, set(self.by_backend), "every backend's models were evicted")

    def test_thread_count_is_the_same_with_one_and_500_models_of_each_backend(self):
        tmp = tempfile.mkdtemp(prefix="modelmux-mixed-")
        try:
            names = {}
            for backend, sources in self.by_backend.items():
                source = os.path.join(self.store, sources[0])
                names[backend] = []
                for i in range(COPIES):
                    name = f"{backend}-{i:03d}"
                    os.mkdir(os.path.join(tmp, name))
                    for f in os.listdir(source):
                        os.symlink(os.path.join(source, f), os.path.join(tmp, name, f))
                    names[backend].append(name)
            bodies = {b: payload(self.store, self.by_backend[b][0], b) for b in names}
            with Server(tmp, "--workers", "2", "--max-concurrent-loads", "2") as s:
                for backend in names:
                    s.json("POST", f"/models/{names[backend][0]}/invoke", bodies[backend])
                time.sleep(0.5)
                with_one = task_threads(s.pid)
                rest = [(n, b) for b in names for n in names[b][1:]]
                self.invoke_all(s, rest, bodies)
                time.sleep(0.5)
                with_all = task_threads(s.pid)
                self.assertEqual(metric(s.metrics(), "modelmux_loaded_models"), 3 * COPIES)
                print(f"threads: {with_one} with one model of each backend, {with_all} with {COPIES} of each")
                self.assertEqual(with_all, with_one)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_corrupt_fasttext_and_xgboost_artifacts_fail_alone(self):
        """A broken model file fails that model (5xx naming the file, FAILED with
        its reason) while the healthy models of every backend keep serving."""
        tmp = tempfile.mkdtemp(prefix="modelmux-mixed-")
        try:
            broken = {"fasttext": "model.bin", "xgboost": "model.json"}
            for backend, model_file in broken.items():
                source = os.path.join(self.store, self.by_backend[backend][0])
                for name, corrupt in ((f"good-{backend}", False), (f"broken-{backend}", True)):
                    os.mkdir(os.path.join(tmp, name))
                    for f in os.listdir(source):
                        if corrupt and f == model_file:
                            with open(os.path.join(tmp, name, f), "wb") as out:
                                out.write(b"\x00not a model\n" * 100)
                        else:
                            os.symlink(os.path.join(source, f), os.path.join(tmp, name, f))
            with Server(tmp, "--failure-backoff", "60000") as s:
                for backend, model_file in broken.items():
                    body = payload(self.store, self.by_backend[backend][0], backend)
                    status, _, data = s.request("POST", f"/models/broken-{backend}/invoke", body)
                    self.assertTrue(500 <= status < 600, f"{backend}: {status} {data!r}")
                    assert_error_json(self, data, model_file)
                    entry = s.index()[f"broken-{backend}"]
                    self.assertEqual(entry["state"], "FAILED")
                    self.assertIn(model_file, entry["reason"])
                for backend in broken:
                    body = payload(self.store, self.by_backend[backend][0], backend)
                    self.assertEqual(len(s.json("POST", f"/models/good-{backend}/invoke", body)["predictions"]), 3)
                self.assertEqual(s.status("GET", "/ping"), 200)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_grpc_serves_every_backend_like_rest(self):
        import test_grpc  # the generated client and the --grpc-port server of the gRPC tests
        if test_grpc.grpc is None:
            raise AssertionError("python3-grpcio is not installed (scripts/install-deps installs it)")
        grpc = test_grpc.grpc
        tmp = tempfile.mkdtemp(prefix="modelmux-mixed-grpc-")
        try:
            pb, pbg = test_grpc.generate_client(tmp)
            with test_grpc.GrpcServer(self.store) as s:
                channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
                self.addCleanup(channel.close)
                stub = pbg.GRPCInferenceServiceStub(channel)
                for backend, names in self.by_backend.items():
                    m = names[0]
                    rows = heldout(self.store, m)[:2]
                    request = pb.ModelInferRequest(model_name=m)
                    if backend == "xgboost":
                        width = len(rows[0]["features"])
                        flat = [v for r in rows for v in r["features"]]
                        request.inputs.add(name="features", datatype="FP32", shape=[2, width])
                        request.inputs[0].contents.fp32_contents.extend(flat)
                        reply = stub.ModelInfer(request)
                        self.assertEqual([(o.name, o.datatype, list(o.shape)) for o in reply.outputs],
                                         [("probability", "FP32", [2])])
                        got = list(reply.outputs[0].contents.fp32_contents)
                        raw = pb.ModelInferRequest(model_name=m)
                        raw.inputs.add(name="features", datatype="FP32", shape=[2, width])
                        raw.raw_input_contents.append(struct.pack(f"<{len(flat)}f", *flat))
                        raw_reply = stub.ModelInfer(raw)
                        self.assertEqual(list(struct.unpack("<2f", raw_reply.raw_output_contents[0])), got)
                        rest = s.json("POST", f"/v2/models/{m}/infer",
                                      {"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, width],
                                                   "data": flat}]})["outputs"][0]["data"]
                        for g, want, r in zip(got, rest, rows):
                            self.assertAlmostEqual(g, want, delta=1e-6)
                            self.assertAlmostEqual(g, r["probability"], delta=1e-6)
                        narrow = pb.ModelInferRequest(model_name=m)
                        narrow.inputs.add(name="features", datatype="FP32", shape=[1, width - 1])
                        narrow.inputs[0].contents.fp32_contents.extend(rows[0]["features"][1:])
                        with self.assertRaises(grpc.RpcError) as caught:
                            stub.ModelInfer(narrow)
                        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                        self.assertIn(f"rows of {width} features", caught.exception.details())
                    else:
                        texts = [r["text"] for r in rows]
                        request.inputs.add(name="text", datatype="BYTES", shape=[2])
                        request.inputs[0].contents.bytes_contents.extend(t.encode() for t in texts)
                        request.parameters["top_k"].int64_param = 2
                        reply = stub.ModelInfer(request)
                        outputs = {o.name: o for o in reply.outputs}
                        self.assertEqual(list(outputs["label"].shape), [2, 2])
                        labels = [b.decode() for b in outputs["label"].contents.bytes_contents]
                        self.assertFalse(any(label.startswith("__label__") for label in labels), labels)
                        rest = s.json("POST", f"/v2/models/{m}/infer",
                                      {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2],
                                                   "data": texts}], "parameters": {"top_k": 2}})
                        rest = {o["name"]: o for o in rest["outputs"]}
                        self.assertEqual(labels, rest["label"]["data"])
                        for g, want in zip(outputs["score"].contents.fp32_contents, rest["score"]["data"]):
                            self.assertAlmostEqual(g, want, delta=1e-6)
                    metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name=m))
                    rest_meta = s.json("GET", f"/v2/models/{m}")
                    self.assertEqual(metadata.platform, backend)
                    self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.inputs],
                                     [(t["name"], t["datatype"], t["shape"]) for t in rest_meta["inputs"]])
                    self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.outputs],
                                     [(t["name"], t["datatype"], t["shape"]) for t in rest_meta["outputs"]])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def invoke_all(self, s, models, bodies, clients=6):
        """Invokes every (name, backend) once, from a few client threads."""
        errors, lock, queue = [], threading.Lock(), list(models)

        def client():
            while True:
                with lock:
                    if not queue:
                        return
                    name, backend = queue.pop()
                status, _, data = s.request("POST", f"/models/{name}/invoke", bodies[backend])
                if status != 200:
                    with lock:
                        errors.append((name, status, data[:200]))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
