"""KServe V2 REST with the binary tensor data extension (issue 12 item 3),
against the real server: requests built by hand with struct as Triton's HTTP
clients build them (a JSON header of Inference-Header-Content-Length bytes,
then little-endian tensor data; BYTES elements 4-byte length-prefixed), and
answers parsed the same way. Triton's own Python client (tritonclient) is not
packaged by Debian, so it is not used here.

The store: two tenants of the shared store (text models: BYTES "text" in,
"label" BYTES and "score" FP32 out) and the tensor test model of
modelmux-make-tensor-model (FP32 and INT64 in; FP32, FP64, BOOL, INT32 out).
"""

import http.client
import json
import os
import struct
import subprocess
import unittest

import harness
from harness import Server

FORMATS = {"FP32": "f", "FP64": "d", "INT32": "i", "INT64": "q", "BOOL": "?"}


def binary_values(datatype, values):
    if datatype == "BYTES":
        out = b""
        for v in values:
            data = v.encode() if isinstance(v, str) else v
            out += struct.pack("<I", len(data)) + data
        return out
    return struct.pack(f"<{len(values)}{FORMATS[datatype]}", *values)


def parse_values(datatype, data):
    if datatype == "BYTES":
        values, pos = [], 0
        while pos < len(data):
            (n,) = struct.unpack_from("<I", data, pos)
            values.append(data[pos + 4:pos + 4 + n].decode())
            pos += 4 + n
        return values
    size = struct.calcsize(FORMATS[datatype])
    return list(struct.unpack(f"<{len(data) // size}{FORMATS[datatype]}", data))


def binary_request(inputs, outputs=None, parameters=None):
    """inputs: [(name, datatype, shape, values, as_binary)] -> (body, json length)."""
    header = {"inputs": []}
    tail = b""
    for name, datatype, shape, values, as_binary in inputs:
        entry = {"name": name, "datatype": datatype, "shape": shape}
        if as_binary:
            data = binary_values(datatype, values)
            entry["parameters"] = {"binary_data_size": len(data)}
            tail += data
        else:
            entry["data"] = values
        header["inputs"].append(entry)
    if outputs is not None:
        header["outputs"] = outputs
    if parameters is not None:
        header["parameters"] = parameters
    text = json.dumps(header).encode()
    return text + tail, len(text)


def parse_answer(headers, body):
    """{output name: (datatype, shape, values, was_binary)} of a JSON or binary answer."""
    json_size = int(headers.get("inference-header-content-length", len(body)))
    header = json.loads(body[:json_size])
    pos = json_size
    outputs = {}
    for out in header["outputs"]:
        size = out.get("parameters", {}).get("binary_data_size")
        if size is None:
            outputs[out["name"]] = (out["datatype"], out["shape"], out["data"], False)
        else:
            values = parse_values(out["datatype"], body[pos:pos + size])
            outputs[out["name"]] = (out["datatype"], out["shape"], values, True)
            pos += size
    assert pos == len(body), f"{len(body) - pos} bytes after the last binary output"
    return outputs


class KServeBinaryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = harness.TempStore()
        cls.tenants = [cls.store.add(t, t) for t in harness.tenants()[:2]]
        make = os.path.join(os.path.dirname(harness.server_binary()), "modelmux-make-tensor-model")
        subprocess.run([make, "--out", cls.store.dir, "--name", "tensor-model"], check=True, capture_output=True)
        cls.server = Server(cls.store.dir, "--workers", "2")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.store.cleanup()

    def post(self, model, body, json_size=None, headers=None):
        conn = http.client.HTTPConnection(harness.LOOPBACK, self.server.port, timeout=60)
        try:
            hdrs = {"Content-Type": "application/octet-stream"}
            if json_size is not None:
                hdrs["Inference-Header-Content-Length"] = str(json_size)
            hdrs.update(headers or {})
            conn.request("POST", f"/v2/models/{model}/infer", body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def test_server_metadata_lists_the_extension(self):
        self.assertIn("binary_tensor_data", self.server.json("GET", "/v2")["extensions"])

    def test_text_model_binary_in_and_out_equals_json(self):
        for m in self.tenants:
            texts = [harness.ticket_text(m, i) for i in range(3)] + ["", "ünïcode ✓ text"]
            reference = self.server.json("POST", f"/v2/models/{m}/infer", {
                "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
                "parameters": {"top_k": 2}})
            want = {o["name"]: o for o in reference["outputs"]}
            body, size = binary_request([("text", "BYTES", [len(texts)], texts, True)],
                                        parameters={"binary_data_output": True, "top_k": 2})
            status, headers, data = self.post(m, body, size)
            self.assertEqual(status, 200, data[:300])
            self.assertEqual(headers["content-type"], "application/octet-stream")
            got = parse_answer(headers, data)
            self.assertEqual(got["label"], ("BYTES", [len(texts), 2], want["label"]["data"], True))
            self.assertEqual(got["score"][:2], ("FP32", [len(texts), 2]))
            for g, w in zip(got["score"][2], want["score"]["data"]):
                self.assertAlmostEqual(g, w, delta=1e-6)

    def test_tensor_model_mixed_binary_and_json_outputs(self):
        x = [1.0, -2.0, 3.0, 0.25, 0.0, -1.5]
        body, size = binary_request(
            [("x", "FP32", [2, 3], x, True), ("k", "INT64", [1], [2], False)],
            outputs=[{"name": "count", "parameters": {"binary_data": True}},
                     {"name": "positive", "parameters": {"binary_data": True}},
                     {"name": "total"},
                     {"name": "y", "parameters": {"binary_data": True}}])
        status, headers, data = self.post("tensor-model", body, size)
        self.assertEqual(status, 200, data[:300])
        got = parse_answer(headers, data)
        self.assertEqual(list(got), ["count", "positive", "total", "y"])  # as asked
        self.assertEqual(got["count"], ("INT32", [2], [2, 1], True))
        self.assertEqual(got["positive"], ("BOOL", [2, 3], [True, False, True, True, False, False], True))
        self.assertEqual(got["total"], ("FP64", [2], [10.0, 3.5], False))
        self.assertEqual(got["y"], ("FP32", [2, 3], [4.0, -2.0, 8.0, 2.5, 2.0, -1.0], True))

    def test_all_binary_tensor_request_without_output_parameters_answers_json(self):
        body, size = binary_request([("x", "FP32", [1, 3], [1.0, 2.0, 3.0], True),
                                     ("k", "INT64", [1], [0], True)])
        status, headers, data = self.post("tensor-model", body, size)
        self.assertEqual(status, 200, data[:300])
        self.assertNotIn("inference-header-content-length", headers)
        self.assertEqual(headers["content-type"], "application/json")
        outputs = {o["name"]: o["data"] for o in json.loads(data)["outputs"]}
        self.assertEqual(outputs["y"], [2.0, 4.0, 6.0])

    def test_inconsistent_binary_requests_are_refused_and_the_server_keeps_serving(self):
        body, size = binary_request([("x", "FP32", [1, 3], [1.0, 2.0, 3.0], True),
                                     ("k", "INT64", [1], [0], True)])
        cases = [(body[:-4], size, "binary data remain"),           # truncated
                 (body + b"\0\0\0\0", size, "add up to"),           # trailing bytes
                 (body, len(body) + 1, "Inference-Header-Content-Length"),
                 (body, "x1", "must be a byte count"),
                 (body, size - 1, "invalid JSON")]
        for data, json_size, needle in cases:
            status, _, answer = self.post("tensor-model", data, json_size)
            self.assertEqual(status, 400, answer)
            harness.assert_error_json(self, answer, needle)
        status, _, answer = self.post("tensor-model", body, size)
        self.assertEqual(status, 200, answer)


if __name__ == "__main__":
    unittest.main()
