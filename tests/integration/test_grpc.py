"""KServe V2 / Open Inference Protocol over gRPC (issue 12), against the real
binary with --grpc-port: a Python client generated at test time from the
server's grpc_predict_v2.proto (protoc + grpc_python_plugin, python3-grpcio).

Covers health (ServerLive/ServerReady/ModelReady and grpc.health.v1),
metadata, ModelInfer on text and tensor models (typed and raw, compared with
the REST answer for the same input), errors as gRPC codes, the client's
deadline, throttling with retry advice, the repository extension, metrics,
and the proto's field numbers against the public specification."""

import collections
import concurrent.futures
import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import Server, TempStore, metric_samples

try:
    import grpc
except ImportError:  # python3-grpcio is in scripts/install-deps: a missing one is a failure
    grpc = None

TENSOR_MODEL = "mixed"
SLOW_MODEL = "slow-tenant"

# Field numbers of the public specification: KServe's grpc_predict_v2.proto
# (the Open Inference Protocol) and, for the repository extension, Triton's
# grpc_service.proto. A client built from those protos must interoperate.
PUBLIC_FIELD_NUMBERS = {
    "ServerLiveResponse": {"live": 1},
    "ServerReadyResponse": {"ready": 1},
    "ModelReadyRequest": {"name": 1, "version": 2},
    "ModelReadyResponse": {"ready": 1},
    "ServerMetadataResponse": {"name": 1, "version": 2, "extensions": 3},
    "ModelMetadataRequest": {"name": 1, "version": 2},
    "ModelMetadataResponse": {"name": 1, "versions": 2, "platform": 3, "inputs": 4, "outputs": 5},
    "ModelMetadataResponse.TensorMetadata": {"name": 1, "datatype": 2, "shape": 3},
    "InferParameter": {"bool_param": 1, "int64_param": 2, "string_param": 3, "double_param": 4, "uint64_param": 5},
    "InferTensorContents": {"bool_contents": 1, "int_contents": 2, "int64_contents": 3, "uint_contents": 4,
                            "uint64_contents": 5, "fp32_contents": 6, "fp64_contents": 7, "bytes_contents": 8},
    "ModelInferRequest": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4, "inputs": 5,
                          "outputs": 6, "raw_input_contents": 7},
    "ModelInferRequest.InferInputTensor": {"name": 1, "datatype": 2, "shape": 3, "parameters": 4, "contents": 5},
    "ModelInferRequest.InferRequestedOutputTensor": {"name": 1, "parameters": 2},
    "ModelInferResponse": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4, "outputs": 5,
                           "raw_output_contents": 6},
    "ModelInferResponse.InferOutputTensor": {"name": 1, "datatype": 2, "shape": 3, "parameters": 4,
                                             "contents": 5},
    "ModelRepositoryParameter": {"bool_param": 1, "int64_param": 2, "string_param": 3, "bytes_param": 4},
    "RepositoryIndexRequest": {"repository_name": 1, "ready": 2},
    "RepositoryIndexResponse": {"models": 1},
    "RepositoryIndexResponse.ModelIndex": {"name": 1, "version": 2, "state": 3, "reason": 4},
    "RepositoryModelLoadRequest": {"repository_name": 1, "model_name": 2, "parameters": 3},
    "RepositoryModelUnloadRequest": {"repository_name": 1, "model_name": 2, "parameters": 3},
}

# grpc.health.v1 on the wire (the public health.proto): HealthCheckRequest
# {string service = 1}; HealthCheckResponse {ServingStatus status = 1} with
# UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3.
SERVING, NOT_SERVING = 1, 2


def health_request(service=""):
    data = service.encode()
    return b"\x0a" + bytes([len(data)]) + data if data else b""


def health_status(response_bytes):
    if not response_bytes:
        return 0
    assert response_bytes[0] == 0x08 and len(response_bytes) == 2, response_bytes
    return response_bytes[1]


def generate_client(out_dir):
    """Compiles the server's proto into out_dir and imports the two modules."""
    proto = harness.env_path("MODELMUX_GRPC_PROTO")
    protoc = harness.env_path("MODELMUX_PROTOC")
    plugin = harness.env_path("MODELMUX_GRPC_PYTHON_PLUGIN")
    subprocess.run([protoc, f"--proto_path={os.path.dirname(proto)}", f"--python_out={out_dir}",
                    f"--grpc_out={out_dir}", f"--plugin=protoc-gen-grpc={plugin}", proto],
                   check=True, capture_output=True)
    sys.path.insert(0, out_dir)
    return importlib.import_module("grpc_predict_v2_pb2"), importlib.import_module("grpc_predict_v2_pb2_grpc")


def raw_bytes_elements(values):
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def parse_raw_bytes(data):
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


class GrpcFixture:
    """A store with two text tenants, the mixed tensor model and a slow model."""

    @staticmethod
    def build_store(slow_rounds=3000):
        store = TempStore()
        names = harness.tenants()
        store.add(names[0], names[0])
        store.add(names[1], names[1])
        subprocess.run([harness.env_path("MODELMUX_MAKE_TENSOR_MODEL"), "--out", store.dir, "--name", TENSOR_MODEL,
                        "--kind", "all-types"], check=True, capture_output=True)
        subprocess.run([harness.env_path("MODELMUX_MAKE_FAULT_MODELS"), "--source",
                        os.path.join(harness.shared_store(), names[2]), "--out", store.dir,
                        "--slow-name", SLOW_MODEL, "--throws-name", "throwing-tenant",
                        "--slow-rounds", str(slow_rounds)], check=True, capture_output=True)
        for f in ("model.pt", "config.json", "vocab.txt", "labels.txt"):
            if not os.path.exists(os.path.join(store.dir, SLOW_MODEL, f)):
                raise AssertionError(f"modelmux-make-fault-models wrote no {SLOW_MODEL}/{f}")
        return store, names[:2]


class GrpcServer(Server):
    """The binary with --grpc-port 0 as well; grpc_port once started (its port
    file is written before the HTTP one that start() waits for)."""

    def __init__(self, store, *args, **kwargs):
        self.grpc_port_file = tempfile.mktemp(prefix="modelmux-grpc-port-")
        super().__init__(store, "--grpc-port", "0", "--grpc-port-file", self.grpc_port_file, *args, **kwargs)
        self.grpc_port = None

    def start(self):
        super().start()
        with open(self.grpc_port_file, encoding="ascii") as f:
            self.grpc_port = int(f.read().strip())
        os.unlink(self.grpc_port_file)
        return self


class GrpcTestBase(unittest.TestCase):

    def stub_for(self, server):
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        self.addCleanup(channel.close)
        return self.pbg.GRPCInferenceServiceStub(channel), channel

    def text_request(self, model, texts, top_k=None, raw=False):
        pb = self.pb
        request = pb.ModelInferRequest(model_name=model, id="req-1")
        tensor = request.inputs.add(name="text", datatype="BYTES", shape=[len(texts)])
        data = [t.encode() for t in texts]
        if raw:
            request.raw_input_contents.append(raw_bytes_elements(data))
        else:
            tensor.contents.bytes_contents.extend(data)
        if top_k is not None:
            request.parameters["top_k"].int64_param = top_k
        return request

    def assert_code(self, call, code, *needles):
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        for needle in needles:
            self.assertIn(needle, caught.exception.details())
        return caught.exception


class GrpcTest(GrpcTestBase):
    """One server for the protocol tests."""

    @classmethod
    def setUpClass(cls):
        if grpc is None:
            raise AssertionError("python3-grpcio is not installed (scripts/install-deps installs it)")
        cls.tmp = tempfile.mkdtemp(prefix="modelmux-grpc-test-")
        cls.pb, cls.pbg = generate_client(os.path.join(cls.tmp))
        cls.store, cls.tenants = GrpcFixture.build_store()
        cls.server = GrpcServer(cls.store.dir, "--workers", "2", "--grpc-threads", "2").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.store.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.stub, self.channel = self.stub_for(self.server)

    # ------------------------------------------------------------ the proto

    def test_field_numbers_match_the_public_specification(self):
        pool = self.pb.DESCRIPTOR
        for message, fields in PUBLIC_FIELD_NUMBERS.items():
            descriptor = pool.message_types_by_name[message.split(".")[0]]
            for nested in message.split(".")[1:]:
                descriptor = descriptor.nested_types_by_name[nested]
            for field, number in fields.items():
                self.assertIn(field, descriptor.fields_by_name, message)
                self.assertEqual(descriptor.fields_by_name[field].number, number, f"{message}.{field}")
        service = pool.services_by_name["GRPCInferenceService"]
        self.assertEqual(service.full_name, "inference.GRPCInferenceService")
        self.assertEqual({m.name for m in service.methods},
                         {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata",
                          "ModelInfer", "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"})

    # ----------------------------------------------------- health, metadata

    def test_live_ready_and_server_metadata(self):
        pb = self.pb
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest()).live)
        self.assertTrue(self.stub.ServerReady(pb.ServerReadyRequest()).ready)
        metadata = self.stub.ServerMetadata(pb.ServerMetadataRequest())
        self.assertEqual(metadata.name, "modelmux")
        self.assertTrue(metadata.version)
        self.assertEqual(list(metadata.extensions), ["model_repository"])

    def test_model_ready_and_metadata(self):
        pb = self.pb
        m = self.tenants[1]
        self.server.request("POST", f"/v2/repository/models/{m}/unload")
        self.assertFalse(self.stub.ModelReady(pb.ModelReadyRequest(name=m)).ready)
        unloaded = self.stub.ModelMetadata(pb.ModelMetadataRequest(name=m))
        self.assertEqual(unloaded.name, m)
        self.stub.ModelInfer(self.text_request(m, ["hello"]))
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name=m)).ready)
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name=m, version="1")).ready)
        metadata = self.stub.ModelMetadata(pb.ModelMetadataRequest(name=m))
        self.assertEqual(list(metadata.versions), ["1"])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.inputs], [("text", "BYTES", [-1])])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.outputs],
                         [("label", "BYTES", [-1, -1]), ("score", "FP32", [-1, -1])])
        # The same description as REST's.
        rest = self.server.json("GET", f"/v2/models/{m}")
        self.assertEqual([t["name"] for t in rest["inputs"]], [t.name for t in metadata.inputs])
        self.assertEqual(rest["platform"], metadata.platform)

        self.assert_code(lambda: self.stub.ModelReady(pb.ModelReadyRequest(name="no-such-model")),
                         grpc.StatusCode.NOT_FOUND)
        self.assert_code(lambda: self.stub.ModelMetadata(pb.ModelMetadataRequest(name=m, version="7")),
                         grpc.StatusCode.NOT_FOUND, "version")

    def test_health_check_and_watch(self):
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(health_status(check(health_request(""))), SERVING)
        self.assertEqual(health_status(check(health_request("inference.GRPCInferenceService"))), SERVING)
        with self.assertRaises(grpc.RpcError) as caught:
            check(health_request("no.such.Service"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        watch = self.channel.unary_stream("/grpc.health.v1.Health/Watch")
        stream = watch(health_request(""), timeout=10)
        self.assertEqual(health_status(next(stream)), SERVING)
        stream.cancel()

    # ------------------------------------------------------------ inference

    def rest_v2_text(self, model, texts, top_k):
        body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
                "parameters": {"top_k": top_k}}
        doc = self.server.json("POST", f"/v2/models/{model}/infer", body)
        return {o["name"]: o for o in doc["outputs"]}

    def test_infer_text_typed_and_raw_matches_rest(self):
        m = self.tenants[0]
        texts = [harness.ticket_text(m, i) for i in range(3)]
        rest = self.rest_v2_text(m, texts, 4)
        invocations = self.server.json("POST", f"/models/{m}/invoke", {"instances": texts, "top_k": 4})

        typed = self.stub.ModelInfer(self.text_request(m, texts, top_k=4))
        self.assertEqual(typed.model_name, m)
        self.assertEqual(typed.id, "req-1")
        self.assertEqual(len(typed.raw_output_contents), 0)
        outputs = {o.name: o for o in typed.outputs}
        self.assertEqual(list(outputs["label"].shape), [3, 4])
        self.assertEqual(list(outputs["score"].shape), [3, 4])
        labels = [b.decode() for b in outputs["label"].contents.bytes_contents]
        scores = list(outputs["score"].contents.fp32_contents)
        self.assertEqual(labels, rest["label"]["data"])
        for got, want in zip(scores, rest["score"]["data"]):
            self.assertAlmostEqual(got, want, delta=1e-6)
        self.assertEqual(labels[:4], [p["label"] for p in invocations["predictions"][0]])

        raw = self.stub.ModelInfer(self.text_request(m, texts, top_k=4, raw=True))
        self.assertEqual([o.name for o in raw.outputs], ["label", "score"])
        self.assertFalse(raw.outputs[0].HasField("contents"))
        self.assertEqual([b.decode() for b in parse_raw_bytes(raw.raw_output_contents[0])], labels)
        raw_scores = struct.unpack("<12f", raw.raw_output_contents[1])
        for got, want in zip(raw_scores, scores):
            self.assertAlmostEqual(got, want, delta=1e-6)

        # binary_data_output turns a typed request's answer raw, and a raw one's typed.
        request = self.text_request(m, texts[:1])
        request.parameters["binary_data_output"].bool_param = True
        self.assertEqual(len(self.stub.ModelInfer(request).raw_output_contents), 2)
        request = self.text_request(m, texts[:1], raw=True)
        request.parameters["binary_data_output"].bool_param = False
        answer = self.stub.ModelInfer(request)
        self.assertEqual(len(answer.raw_output_contents), 0)
        self.assertEqual(len(answer.outputs[0].contents.bytes_contents), 3)  # the model's default top_k

    def mixed_inputs(self):
        return {"x": ("FP32", [2, 3], [1.0, 2.0, 3.0, 4.0, 5.5, 6.0], "fp32_contents", "<6f"),
                "k": ("INT64", [1], [1], "int64_contents", "<q"),
                "n": ("INT32", [2], [5, -7], "int_contents", "<2i"),
                "w": ("FP64", [3], [0.5, 1.0, 2.0], "fp64_contents", "<3d"),
                "flags": ("BOOL", [2], [True, False], "bool_contents", "<2?")}

    def test_infer_tensor_typed_and_raw_matches_rest(self):
        pb = self.pb
        inputs = self.mixed_inputs()
        rest_body = {"inputs": [{"name": n, "datatype": d, "shape": s, "data": v}
                                for n, (d, s, v, _, _) in inputs.items()]}
        rest = {o["name"]: o for o in self.server.json("POST", f"/v2/models/{TENSOR_MODEL}/infer",
                                                       rest_body)["outputs"]}
        self.assertEqual(rest["y"]["data"], [3, 5, 7, 9, 12, 13])

        typed = pb.ModelInferRequest(model_name=TENSOR_MODEL)
        raw = pb.ModelInferRequest(model_name=TENSOR_MODEL)
        for name, (dtype, shape, values, field, fmt) in inputs.items():
            t = typed.inputs.add(name=name, datatype=dtype, shape=shape)
            getattr(t.contents, field).extend(values)
            raw.inputs.add(name=name, datatype=dtype, shape=shape)
            raw.raw_input_contents.append(struct.pack(fmt, *values))

        fields = {"y": ("fp32_contents", "<6f"), "total": ("fp64_contents", "<2d"),
                  "n2": ("int_contents", "<2i"), "not_flags": ("bool_contents", "<2?"),
                  "best": ("int64_contents", "<2q")}
        typed_answer = self.stub.ModelInfer(typed)
        raw_answer = self.stub.ModelInfer(raw)
        self.assertEqual([o.name for o in typed_answer.outputs], list(rest))
        self.assertEqual(len(raw_answer.raw_output_contents), len(rest))
        for i, out in enumerate(typed_answer.outputs):
            want = rest[out.name]
            self.assertEqual(out.datatype, want["datatype"])
            self.assertEqual(list(out.shape), want["shape"])
            field, fmt = fields[out.name]
            self.assertEqual(list(getattr(out.contents, field)), want["data"], out.name)
            self.assertEqual(raw_answer.outputs[i].name, out.name)
            self.assertEqual(list(struct.unpack(fmt, raw_answer.raw_output_contents[i])), want["data"], out.name)

        # Only the outputs asked for, in the model's order.
        typed.outputs.add(name="best")
        typed.outputs.add(name="y")
        self.assertEqual([o.name for o in self.stub.ModelInfer(typed).outputs], ["y", "best"])

    # --------------------------------------------------------------- errors

    def test_errors_map_to_grpc_codes(self):
        pb = self.pb
        m = self.tenants[0]
        self.assert_code(lambda: self.stub.ModelInfer(self.text_request("no-such-model", ["hi"])),
                         grpc.StatusCode.NOT_FOUND, "no-such-model")
        self.assert_code(lambda: self.stub.ModelInfer(self.text_request("../etc", ["hi"])),
                         grpc.StatusCode.INVALID_ARGUMENT)
        bad_type = pb.ModelInferRequest(model_name=m)
        bad_type.inputs.add(name="text", datatype="FP16", shape=[1])
        self.assert_code(lambda: self.stub.ModelInfer(bad_type), grpc.StatusCode.INVALID_ARGUMENT, "FP16")
        short = pb.ModelInferRequest(model_name=TENSOR_MODEL)
        for name, (dtype, shape, values, field, _) in self.mixed_inputs().items():
            getattr(short.inputs.add(name=name, datatype=dtype, shape=shape).contents, field).extend(values)
        short.inputs[0].shape[:] = [3, 3]  # 9 values declared, 6 sent
        self.assert_code(lambda: self.stub.ModelInfer(short), grpc.StatusCode.INVALID_ARGUMENT, "input 'x'")
        self.assert_code(lambda: self.stub.ModelInfer(self.text_request(TENSOR_MODEL, ["hi"])),
                         grpc.StatusCode.INVALID_ARGUMENT)
        bad_k = self.text_request(m, ["hi"])
        bad_k.parameters["top_k"].string_param = "3"
        self.assert_code(lambda: self.stub.ModelInfer(bad_k), grpc.StatusCode.INVALID_ARGUMENT, "top_k")
        unknown_output = self.text_request(m, ["hi"])
        unknown_output.outputs.add(name="logits")
        self.assert_code(lambda: self.stub.ModelInfer(unknown_output), grpc.StatusCode.INVALID_ARGUMENT, "logits")
        # A message over --max-body-bytes (6M by default) is refused by gRPC itself.
        self.assert_code(lambda: self.stub.ModelInfer(self.text_request(m, ["x" * (7 << 20)])),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        # The server is still serving.
        self.assertTrue(self.stub.ModelInfer(self.text_request(m, ["hi"])).outputs)

    def test_client_deadline_becomes_the_request_deadline(self):
        pb = self.pb
        self.stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name=SLOW_MODEL), timeout=120)
        before = self.timeouts()
        start = time.monotonic()
        self.assert_code(lambda: self.stub.ModelInfer(self.text_request(SLOW_MODEL, ["hello there"]), timeout=0.2),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - start, 2.0)
        # The server answered it by that deadline too (not only the client).
        deadline = time.monotonic() + 30
        while self.timeouts() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreater(self.timeouts(), before)

    def timeouts(self):
        return sum(v for labels, v in metric_samples(self.server.metrics(), "modelmux_invocations_total")
                   if 'outcome="timeout"' in labels)

    # ----------------------------------------------------------- repository

    def test_repository_index_load_unload(self):
        pb = self.pb
        m = self.tenants[1]
        index = self.stub.RepositoryIndex(pb.RepositoryIndexRequest())
        names = {e.name: e for e in index.models}
        self.assertIn(m, names)
        self.assertIn(TENSOR_MODEL, names)
        self.assertEqual(set(names), set(self.server.index()))

        load = pb.RepositoryModelLoadRequest(model_name=m)
        load.parameters["pin"].bool_param = True
        self.stub.RepositoryModelLoad(load, timeout=60)
        self.assertEqual(self.server.index()[m]["state"], "READY")
        self.assertTrue(self.server.index()[m]["pinned"])
        ready = {e.name: e for e in self.stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True)).models}
        self.assertEqual(ready[m].state, "READY")
        self.assertEqual(ready[m].version, "1")
        self.assertTrue(all(e.state == "READY" for e in ready.values()))

        self.stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name=m), timeout=60)
        self.assertNotEqual(self.server.index().get(m, {}).get("state"), "READY")

        self.assert_code(lambda: self.stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="nobody")),
                         grpc.StatusCode.NOT_FOUND)
        config = pb.RepositoryModelLoadRequest(model_name=m)
        config.parameters["config"].string_param = "{}"
        self.assert_code(lambda: self.stub.RepositoryModelLoad(config), grpc.StatusCode.INVALID_ARGUMENT, "config")
        self.assert_code(lambda: self.stub.RepositoryIndex(pb.RepositoryIndexRequest(repository_name="other")),
                         grpc.StatusCode.INVALID_ARGUMENT)

    # -------------------------------------------------------------- metrics

    def test_requests_counted_by_method_and_code(self):
        self.stub.ServerLive(self.pb.ServerLiveRequest())
        with self.assertRaises(grpc.RpcError):
            self.stub.ModelInfer(self.text_request("no-such-model", ["hi"]))
        text = self.server.metrics()
        self.assertTrue(metric_samples(text, "modelmux_grpc_requests_total"))
        samples = dict(metric_samples(text, "modelmux_grpc_requests_total"))
        self.assertGreaterEqual(samples.get('{code="OK",method="ServerLive"}', 0), 1)
        self.assertGreaterEqual(samples.get('{code="NOT_FOUND",method="ModelInfer"}', 0), 1)
        self.assertTrue(metric_samples(text, "modelmux_grpc_request_duration_seconds_count"))


class GrpcServerLifecycleTest(GrpcTestBase):
    """Servers of their own: throttling, readiness during a preload, threads."""

    @classmethod
    def setUpClass(cls):
        if grpc is None:
            raise AssertionError("python3-grpcio is not installed (scripts/install-deps installs it)")
        cls.tmp = tempfile.mkdtemp(prefix="modelmux-grpc-test-")
        cls.pb, cls.pbg = generate_client(cls.tmp)
        cls.store, cls.tenants = GrpcFixture.build_store()

    @classmethod
    def tearDownClass(cls):
        cls.store.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_token_flags_close_the_grpc_door_too(self):
        admin, api = "admin-token-0123456789abcdef", "api-token-0123456789abcdef"
        with harness.temp_file(admin + "\n") as admin_file, harness.temp_file(api + "\n") as api_file:
            with GrpcServer(self.store.dir, "--admin-token-file", admin_file, "--api-token-file",
                            api_file) as server:
                stub, _ = self.stub_for(server)
                pb = self.pb
                model = self.tenants[0]
                infer = self.text_request(model, ["where is my refund"])
                # Liveness stays open for orchestrators.
                self.assertTrue(stub.ServerLive(pb.ServerLiveRequest(), timeout=30).live)
                self.assert_code(lambda: stub.ModelInfer(infer, timeout=60), grpc.StatusCode.UNAUTHENTICATED)
                self.assert_code(lambda: stub.ModelInfer(infer, timeout=60,
                                                         metadata=[("authorization", "Bearer wrong-token-000000")]),
                                 grpc.StatusCode.PERMISSION_DENIED)
                answer = stub.ModelInfer(infer, timeout=60, metadata=[("authorization", f"Bearer {api}")])
                self.assertEqual(answer.model_name, model)
                load = pb.RepositoryModelLoadRequest(model_name=self.tenants[1])
                self.assert_code(lambda: stub.RepositoryModelLoad(load, timeout=60, metadata=[
                    ("authorization", f"Bearer {api}")]), grpc.StatusCode.PERMISSION_DENIED, "admin")
                stub.RepositoryModelLoad(load, timeout=120, metadata=[("authorization", f"Bearer {admin}")])
                failures = metric_samples(server.metrics(), "modelmux_auth_failures_total")
                self.assertTrue(any('route="grpc:ModelInfer"' in labels for labels, _ in failures), failures)
            self.assertNotIn(admin, server.log())
            self.assertNotIn(api, server.log())

    def test_throttled_calls_are_resource_exhausted_with_retry_advice(self):
        with GrpcServer(self.store.dir, "--workers", "1", "--max-queue-per-model", "1") as server:
            stub, _ = self.stub_for(server)
            stub.RepositoryModelLoad(self.pb.RepositoryModelLoadRequest(model_name=SLOW_MODEL), timeout=120)
            request = self.text_request(SLOW_MODEL, ["hello there"])
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                calls = [pool.submit(lambda: stub.ModelInfer.with_call(request, timeout=120)) for _ in range(8)]
                results = []
                for c in calls:
                    try:
                        c.result()
                        results.append(("OK", None))
                    except grpc.RpcError as e:
                        results.append((e.code(), dict(e.trailing_metadata() or ())))
            throttled = [md for code, md in results if code == grpc.StatusCode.RESOURCE_EXHAUSTED]
            self.assertTrue(throttled, results)
            self.assertTrue(any(code == "OK" for code, _ in results), results)
            for md in throttled:
                self.assertEqual(md.get("retry-after-ms"), "1000")

    def test_health_not_serving_until_the_preload_is_done(self):
        with harness.temp_file(f"{SLOW_MODEL}\n") as preload:
            with GrpcServer(self.store.dir, "--preload", preload) as server:
                _, channel = self.stub_for(server)
                check = channel.unary_unary("/grpc.health.v1.Health/Check")
                watch = channel.unary_stream("/grpc.health.v1.Health/Watch")(health_request(""), timeout=120)
                self.assertEqual(health_status(next(watch)), NOT_SERVING)
                seen = []
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    rest_ready = server.status("GET", "/v2/health/ready") == 200
                    seen.append(health_status(check(health_request(""))))
                    if rest_ready and seen[-1] == SERVING:
                        break
                    time.sleep(0.02)
                self.assertEqual(seen[0], NOT_SERVING, "the slow model's load takes seconds")
                self.assertEqual(seen[-1], SERVING)
                self.assertEqual(health_status(next(watch)), SERVING)  # Watch is told of the change
                watch.cancel()
                self.assertTrue(self.pbg.GRPCInferenceServiceStub(channel).ServerReady(
                    self.pb.ServerReadyRequest()).ready)

    def test_fixed_threads_under_load(self):
        with GrpcServer(self.store.dir, "--workers", "2", "--grpc-threads", "3") as server:
            m = self.tenants[0]
            stub, _ = self.stub_for(server)
            stub.ModelInfer(self.text_request(m, ["warm up"]))
            before = self.thread_names(server.pid)
            self.assertEqual(before["grpc-cq-0"] + before["grpc-cq-1"] + before["grpc-cq-2"], 3, before)
            self.assertNotIn("grpc-cq-3", before)
            # Many connections and calls: the server's own threads stay as they are.
            stubs = []
            for i in range(16):
                channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}",
                                                options=[("grpc.use_local_subchannel_pool", 1), ("test.channel", i)])
                self.addCleanup(channel.close)
                stubs.append(self.pbg.GRPCInferenceServiceStub(channel))
            with concurrent.futures.ThreadPoolExecutor(64) as pool:
                list(pool.map(lambda i: stubs[i % 16].ModelInfer(self.text_request(m, [f"ticket {i}"])), range(2000)))
            after = self.thread_names(server.pid)
            ours = ("modelmux", "mm-worker", "mm-timer", "mm-http-io", "grpc-cq-0", "grpc-cq-1", "grpc-cq-2")
            for name in ours:
                self.assertEqual(after[name], before[name], f"{name}: {before} -> {after}")
            # gRPC's own pools (executor, timers, event engine, the health
            # service's callback queue) size themselves by cores, not by load.
            grpc_own = sum(n for name, n in after.items() if name not in ours)
            self.assertLessEqual(grpc_own, 4 * os.cpu_count() + 4, after)

    @staticmethod
    def thread_names(pid):
        names = collections.Counter()
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/comm", encoding="utf-8") as f:
                names[f.read().strip()] += 1
        return names

    def test_graceful_shutdown_finishes_calls_in_flight(self):
        with GrpcServer(self.store.dir, "--workers", "2") as server:
            stub, _ = self.stub_for(server)
            stub.RepositoryModelLoad(self.pb.RepositoryModelLoadRequest(model_name=SLOW_MODEL), timeout=120)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                call = pool.submit(lambda: stub.ModelInfer(self.text_request(SLOW_MODEL, ["hello"]), timeout=60))
                time.sleep(0.3)  # the slow forward takes seconds: the call is in flight
                start = time.monotonic()
                self.assertEqual(server.terminate(), 0)
                self.assertEqual(len(call.result().outputs), 2)
            # Idle connections do not hold the exit up (this test's channel is open).
            self.assertLess(time.monotonic() - start, 15)

if __name__ == "__main__":
    unittest.main()
