"""Unmodified AWS clients against the real server (issue 12): Debian's boto3
(python3-boto3) and AWS CLI (awscli) call SageMaker Runtime's InvokeEndpoint
with their endpoint-URL setting pointed at modelmux. Answers must equal the
REST routes'; errors must raise the exception classes applications catch
(ValidationError, ModelError with OriginalStatusCode, ModelNotReadyException);
throttling must be retried by the SDK's own retry logic (legacy and standard
modes). Dummy credentials: the requests are SigV4-signed as always, and the
server accepts them without verifying (no --sigv4-credentials).

The store: two tenants of the shared store, a tensor model and two slow
tensor models (modelmux-make-tensor-model, built beside the server).
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import harness
from harness import Server

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:  # scripts/install-deps installs python3-boto3
    boto3 = None

ENDPOINT = "tickets"
REGION = "us-east-1"
AWS_CLI = "/usr/bin/aws"  # Debian's awscli (another `aws` may come first on PATH)
# A forward of the slow models takes about 0.4 s on the 2-core test machine:
# far longer than the client's 50 ms deadline in the not-ready test, and than
# the few milliseconds in which the throttling test's calls arrive.
SLOW_ROUNDS = 200
SDK_ROUTE = "/endpoints/{name}/invocations"
MAX_BODY = 256 * 1024


def tool(name):
    path = os.path.join(os.path.dirname(harness.server_binary()), name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is not built")
    return path


def tensor_body(x, k):
    return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [len(x) // 3, 3], "data": x},
                       {"name": "k", "datatype": "INT64", "shape": [1], "data": [k]}]}


@unittest.skipIf(boto3 is None, "python3-boto3 is not installed")
class AwsClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = harness.TempStore()
        cls.tenants = [cls.store.add(t, t) for t in harness.tenants()[:2]]
        make = tool("modelmux-make-tensor-model")
        subprocess.run([make, "--out", cls.store.dir, "--name", "tensor-model"], check=True, capture_output=True)
        for name in ("slow", "slow-cold"):
            subprocess.run([make, "--out", cls.store.dir, "--name", name, "--slow-rounds", str(SLOW_ROUNDS)],
                           check=True, capture_output=True)
        # One worker and a queue of one per model: two calls of a slow model fill it.
        cls.server = Server(cls.store.dir, "--workers", "1", "--max-queue-per-model", "1",
                            "--endpoint-name", ENDPOINT, "--max-body-bytes", str(MAX_BODY))
        cls.server.start()
        cls.url = f"http://{harness.LOOPBACK}:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.store.cleanup()

    def client(self, **retries):
        config = botocore.config.Config(retries=retries or {"total_max_attempts": 1}, read_timeout=60)
        client = boto3.client("sagemaker-runtime", endpoint_url=self.url, region_name=REGION,
                              aws_access_key_id="AKIDMODELMUXTEST", aws_secret_access_key="not-a-secret",
                              config=config)
        self.addCleanup(client.close)
        return client

    def invoke(self, client, model, body, **kwargs):
        return client.invoke_endpoint(EndpointName=ENDPOINT, TargetModel=model, ContentType="application/json",
                                      Body=json.dumps(body), **kwargs)

    def sdk_answers(self, code):
        """modelmux_requests_total of the SDK route with status `code`. (The
        route label holds braces, which harness.metric_samples does not expect.)"""
        total = 0.0
        for line in self.server.metrics().splitlines():
            if (line.startswith("modelmux_requests_total{") and f'route="{SDK_ROUTE}"' in line
                    and f'code="{code}"' in line):
                total += float(line.rsplit(" ", 1)[1])
        return total

    # ------------------------------------------------------------ answers

    def test_text_models_answer_as_the_rest_route(self):
        client = self.client()
        for m in self.tenants:
            body = {"text": harness.ticket_text(m), "top_k": 3}
            status, _, rest = self.server.request("POST", "/invocations", body,
                                                  {"X-Amzn-SageMaker-Target-Model": m})
            self.assertEqual(status, 200, rest)
            for target in (m, m + ".tar.gz"):
                response = self.invoke(client, target, body)
                self.assertEqual(response["Body"].read(), rest)
                self.assertEqual(response["ContentType"], "application/json")
                self.assertEqual(response["InvokedProductionVariant"], "AllTraffic")
                self.assertRegex(response["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")
                self.assertNotIn("CustomAttributes", response)

    def test_tensor_model_answers_as_the_v2_route(self):
        body = tensor_body([1.0, -2.0, 3.0, 0.5, 0.0, -1.5], 1)
        status, _, rest = self.server.request("POST", "/v2/models/tensor-model/infer", body)
        self.assertEqual(status, 200, rest)
        response = self.invoke(self.client(), "tensor-model", body)
        answer = response["Body"].read()
        self.assertEqual(answer, rest)
        outputs = {o["name"]: o for o in json.loads(answer)["outputs"]}
        self.assertEqual(outputs["y"]["data"], [3.0, -3.0, 7.0, 2.0, 1.0, -2.0])
        self.assertEqual(outputs["total"]["data"], [7.0, 1.0])
        self.assertEqual(outputs["positive"]["data"], [True, False, True, True, False, False])
        self.assertEqual(outputs["count"]["data"], [2, 1])

    def test_custom_attributes_are_echoed(self):
        m = self.tenants[0]
        response = self.invoke(self.client(), m, {"text": "hello"}, CustomAttributes="trace-id=7f3a; tenant=acme",
                               Accept="application/json")
        self.assertEqual(response["CustomAttributes"], "trace-id=7f3a; tenant=acme")

    def test_signed_requests_are_accepted_as_they_are(self):
        # A signature that would not verify: without --sigv4-credentials the
        # server does not check it.
        m = self.tenants[0]
        status, headers, body = self.server.request(
            "POST", f"/endpoints/{ENDPOINT}/invocations", {"text": "hello"},
            {"X-Amzn-SageMaker-Target-Model": m, "X-Amz-Date": "20200101T000000Z",
             "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBOGUS/20200101/us-east-1/sagemaker/aws4_request, "
                              "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["x-amzn-invoked-production-variant"], "AllTraffic")

    # ------------------------------------------------------------- errors

    def test_requests_sagemaker_refuses_raise_validation_error(self):
        client = self.client()
        with self.assertRaises(client.exceptions.ValidationError) as caught:
            self.invoke(client, "no-such-tenant", {"text": "hello"})
        error = caught.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("no-such-tenant", error["Error"]["Message"])
        self.assertEqual(error["ResponseMetadata"]["RetryAttempts"], 0)
        with self.assertRaises(client.exceptions.ValidationError) as caught:
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="application/json", Body=b'{"text": "x"}')
        self.assertIn("TargetModel", caught.exception.response["Error"]["Message"])

    def test_unknown_endpoint_is_a_validation_error(self):
        client = self.client()
        with self.assertRaises(client.exceptions.ValidationError) as caught:
            client.invoke_endpoint(EndpointName="tickets-staging", TargetModel=self.tenants[0],
                                   ContentType="application/json", Body=b'{"text": "x"}')
        self.assertEqual(caught.exception.response["Error"]["Message"], "Endpoint tickets-staging not found.")

    def test_a_body_over_the_limit_is_a_validation_error(self):
        client = self.client()
        with self.assertRaises(client.exceptions.ValidationError) as caught:
            self.invoke(client, self.tenants[0], {"text": "x" * MAX_BODY})
        error = caught.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 413)
        self.assertIn(f"larger than the limit of {MAX_BODY} bytes", error["Error"]["Message"])

    def test_what_the_model_refuses_raises_model_error(self):
        client = self.client()
        cases = [(self.tenants[0], {"txt": "a misspelt field"}, 400, "body must have 'text' or 'instances'"),
                 ("tensor-model", {"text": "words for a tensor model"}, 400, "is a tensor model"),
                 ("tensor-model", tensor_body([1.0, 2.0, 3.0], -1), 500, "k must not be negative")]
        for model, body, original_status, original_message in cases:
            with self.assertRaises(client.exceptions.ModelError, msg=model) as caught:
                self.invoke(client, model, body)
            error = caught.exception.response
            self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 424)
            self.assertEqual(error["OriginalStatusCode"], original_status, error)
            self.assertIn(original_message, json.loads(error["OriginalMessage"])["error"])
            self.assertIn(f"({original_status}) from model", error["Error"]["Message"])
        # The server keeps serving.
        self.assertEqual(self.invoke(client, "tensor-model", tensor_body([1.0, 2.0, 3.0], 0))["ResponseMetadata"]
                         ["HTTPStatusCode"], 200)

    def test_a_model_still_loading_past_the_deadline_raises_model_not_ready(self):
        client = self.client()
        # The client's deadline: 50 ms (the model's load runs a 0.4 s forward).
        def tight_deadline(request, **_):
            request.headers["X-Modelmux-Timeout-Ms"] = "50"

        client.meta.events.register("before-sign.sagemaker-runtime.InvokeEndpoint", tight_deadline)
        with self.assertRaises(client.exceptions.ModelNotReadyException) as caught:
            self.invoke(client, "slow-cold", tensor_body([1.0, 2.0, 3.0], 0))
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        # Without the tight deadline the same call waits for the load and succeeds.
        response = self.invoke(self.client(), "slow-cold", tensor_body([1.0, 2.0, 3.0], 0))
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)

    # --------------------------------------------------------- throttling

    def concurrent_calls(self, client, n=6):
        """n simultaneous calls of the slow model: [response or exception]."""
        start = threading.Barrier(n)

        def call(i):
            start.wait()
            try:
                return self.invoke(client, "slow", tensor_body([float(i), 1.0, 2.0], 0))
            except botocore.exceptions.ClientError as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            return list(pool.map(call, range(n)))

    def test_throttling_is_shaped_for_the_sdks_and_retried_by_them(self):
        # Warm the slow model first: a cold load would hold every call anyway.
        self.invoke(self.client(), "slow", tensor_body([1.0, 1.0, 1.0], 0))
        # Six calls at once where one runs and one waits: at least four are
        # throttled. Without retries they surface as ThrottlingException.
        results = self.concurrent_calls(self.client())
        throttled = [r for r in results if isinstance(r, botocore.exceptions.ClientError)]
        self.assertGreaterEqual(len(throttled), 1, results)
        for e in throttled:
            self.assertEqual(e.response["Error"]["Code"], "ThrottlingException")
            self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 429)
            self.assertIn("retry-after", e.response["ResponseMetadata"]["HTTPHeaders"])
        # With the SDK's retries on (either mode: legacy retries 429,
        # standard retries the ThrottlingException type), every call succeeds
        # and some of them only after a retry.
        before = self.sdk_answers(429)
        retries = {}
        for mode in ("legacy", "standard"):
            results = self.concurrent_calls(self.client(mode=mode, total_max_attempts=10))
            for i, r in enumerate(results):
                self.assertNotIsInstance(r, Exception, f"{mode}: {r}")
                y = json.loads(r["Body"].read())["outputs"][0]["data"]
                self.assertEqual(y, [2.0 * i, 2.0, 4.0])
            retries[mode] = [r["ResponseMetadata"]["RetryAttempts"] for r in results]
            self.assertGreaterEqual(sum(retries[mode]), 1, mode)
        self.assertGreater(self.sdk_answers(429), before)
        print(f"\nthrottling: {len(throttled)} of 6 calls throttled without retries; retries per call: "
              f"legacy {retries['legacy']}, standard {retries['standard']}", flush=True)

    # ------------------------------------------------------------ AWS CLI

    @unittest.skipUnless(os.access(AWS_CLI, os.X_OK), "Debian's awscli is not installed")
    def test_aws_cli_invoke_endpoint(self):
        home = tempfile.mkdtemp(prefix="modelmux-aws-")
        try:
            with open(os.path.join(home, "config"), "w", encoding="ascii") as f:
                f.write(f"[default]\nregion = {REGION}\noutput = json\n")
            with open(os.path.join(home, "credentials"), "w", encoding="ascii") as f:
                f.write("[default]\naws_access_key_id = AKIDMODELMUXTEST\naws_secret_access_key = not-a-secret\n")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(HOME=home, AWS_CONFIG_FILE=os.path.join(home, "config"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
                       AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")
            m = self.tenants[1]
            body = json.dumps({"text": harness.ticket_text(m), "top_k": 2})
            outfile = os.path.join(home, "answer.json")

            def aws(target, *extra):
                return subprocess.run(
                    [AWS_CLI, "sagemaker-runtime", "invoke-endpoint", "--endpoint-url", self.url,
                     "--endpoint-name", ENDPOINT, "--target-model", target, "--content-type", "application/json",
                     "--body", body, "--cli-binary-format", "raw-in-base64-out", *extra, outfile],
                    env=env, capture_output=True, text=True, timeout=120)

            done = aws(m + ".tar.gz", "--custom-attributes", "cli=1")
            self.assertEqual(done.returncode, 0, done.stderr)
            meta = json.loads(done.stdout)
            self.assertEqual(meta["ContentType"], "application/json")
            self.assertEqual(meta["InvokedProductionVariant"], "AllTraffic")
            self.assertEqual(meta["CustomAttributes"], "cli=1")
            status, _, rest = self.server.request("POST", "/invocations", body, {"X-Amzn-SageMaker-Target-Model": m})
            self.assertEqual(status, 200)
            with open(outfile, "rb") as f:
                self.assertEqual(f.read(), rest)

            failed = aws("no-such-tenant")
            self.assertNotEqual(failed.returncode, 0)
            self.assertIn("(ValidationError)", failed.stderr)
            self.assertIn("InvokeEndpoint", failed.stderr)
        finally:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
