"""Access control (issue 13) and SigV4 verification (issue 12) against the real
server: management routes need an admin token (401 without, 403 with a wrong
one, success with each valid one), API routes an API token once
--api-token-file is set (GET /v2/dashboard among them), health routes and the
dashboard's page and assets stay open, /metrics follows
--metrics-auth, tokens rotate by SIGHUP, no token ever reaches the log, and
AWS-style clients authenticate with SigV4 (botocore's signer, and boto3's
sagemaker-runtime client once POST /endpoints/{name}/invocations is served).

Tokens and secrets are random per run, so grepping the log for them means
something.
"""

import contextlib
import datetime
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import unittest
from unittest import mock

import harness
from harness import Server, assert_error_json

try:
    import boto3
    import botocore.auth
    import botocore.awsrequest
    import botocore.config
    import botocore.credentials
    import botocore.exceptions
except ImportError:  # scripts/install-deps installs python3-boto3
    boto3 = None

TARGET = "X-Amzn-SageMaker-Target-Model"
CHALLENGE = 'Bearer realm="modelmux"'


def token(prefix):
    return f"{prefix}-{secrets.token_urlsafe(24)}"


class Secrets:
    """A temp dir of credentials files; write() replaces a file atomically, as
    a Kubernetes Secret volume does."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="modelmux-auth-")

    def write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("# written by test_access_control\n\n" + "".join(line + "\n" for line in lines))
        os.replace(path + ".tmp", path)
        return path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def auth_failures(metrics_text):
    """{labels: value} of modelmux_auth_failures_total (route labels hold braces)."""
    out = {}
    for line in metrics_text.splitlines():
        if line.startswith("modelmux_auth_failures_total{"):
            labels, _, value = line[len("modelmux_auth_failures_total"):].rpartition(" ")
            out[labels] = float(value)
    return out


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"} if tok else {}


class AuthTestCase(unittest.TestCase):
    def setUp(self):
        self.secrets = Secrets()
        self.addCleanup(self.secrets.cleanup)
        self.names = harness.tenants()

    def call(self, server, method, path, tok=None, body=None, headers=None):
        hdrs = dict(bearer(tok))
        hdrs.update(headers or {})
        return server.request(method, path, body, hdrs)

    def assert_refused(self, server, method, path, body=None, headers=None, wrong="wrong-" + "x" * 24):
        """401 with the challenge and no token; 403 with a wrong one; neither echoes it."""
        status, hdrs, data = self.call(server, method, path, None, body, headers)
        self.assertEqual(status, 401, f"{method} {path}: {data!r}")
        self.assertEqual(hdrs.get("www-authenticate"), CHALLENGE, f"{method} {path}")
        assert_error_json(self, data, "credentials")
        status, _, data = self.call(server, method, path, wrong, body, headers)
        self.assertEqual(status, 403, f"{method} {path}: {data!r}")
        self.assertNotIn(wrong.encode(), data)


class ManagementAndApiTokensTest(AuthTestCase):
    def test_every_management_route_needs_an_admin_token(self):
        admins = [token("admin1"), token("admin2")]
        api = token("api")
        admin_file = self.secrets.write("admin", admins)
        api_file = self.secrets.write("api", [api])
        m, p = self.names[0], self.names[1]
        calls = [
            ("POST", "/models", {"model_name": m, "url": m}, 200),
            ("DELETE", f"/models/{m}", None, 200),
            ("POST", f"/v2/repository/models/{p}/load", {}, 200),
            ("POST", f"/v2/repository/models/{p}/load", {"parameters": {"pin": True}}, 200),
            ("POST", f"/v2/repository/models/{p}/load", {"parameters": {"pin": False}}, 200),
            ("POST", f"/v2/repository/models/{p}/unload", {}, 200),
        ]
        with Server(harness.shared_store(), "--workers", "1", "--admin-token-file", admin_file,
                    "--api-token-file", api_file) as s:
            for tok in admins:  # each of the two valid tokens
                for method, path, body, expect in calls:
                    self.assert_refused(s, method, path, body)
                    status, _, data = self.call(s, method, path, api, body)
                    self.assertEqual(status, 403, f"an API token on {method} {path}: {data!r}")
                    assert_error_json(self, data, "admin credential")
                    status, _, data = self.call(s, method, path, tok, body)
                    self.assertEqual(status, expect, f"{method} {path}: {data!r}")
                    index = {e["name"]: e for e in json.loads(self.call(s, "POST", "/v2/repository/index", api,
                                                                        {})[2])}
                    if path == "/models":
                        self.assertEqual(index[m]["state"], "READY", "the admin's load happened")
            # Refused calls changed nothing: the last admin call unloaded p, and
            # a refused load leaves it unloaded.
            self.assert_refused(s, "POST", f"/v2/repository/models/{p}/load", {})
            index = {e["name"]: e for e in json.loads(self.call(s, "POST", "/v2/repository/index", api, {})[2])}
            self.assertNotEqual(index.get(p, {}).get("state"), "READY")
            metrics = self.call(s, "GET", "/metrics")[2].decode()
        failures = auth_failures(metrics)
        self.assertEqual(failures['{reason="missing",route="/models"}'], 2)
        self.assertEqual(failures['{reason="invalid",route="/models/{name}"}'], 2)
        self.assertEqual(failures['{reason="insufficient",route="/v2/repository/models/{name}/load"}'], 6)
        self.assertEqual(failures['{reason="missing",route="/v2/repository/models/{name}/load"}'], 7)

    def test_api_routes_need_an_api_or_admin_token_once_api_tokens_are_set(self):
        admin, api = token("admin"), token("api")
        m = self.names[2]
        calls = [
            ("POST", f"/models/{m}/invoke", {"text": harness.ticket_text(m)}, None),
            ("POST", "/invocations", {"text": harness.ticket_text(m)}, {TARGET: m}),
            ("POST", f"/v2/models/{m}/infer",
             {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["hello"]}]}, None),
            ("GET", "/models", None, None),
            ("GET", f"/models/{m}", None, None),
            ("GET", f"/v2/models/{m}", None, None),
            ("GET", f"/v2/models/{m}/ready", None, None),
            ("GET", "/v2", None, None),
            ("POST", "/v2/repository/index", {}, None),
            ("GET", "/v2/dashboard", None, None),  # the dashboard's data (issue 17)
        ]
        with Server(harness.shared_store(), "--workers", "1", "--admin-token-file",
                    self.secrets.write("admin", [admin]), "--api-token-file", self.secrets.write("api", [api])) as s:
            for method, path, body, headers in calls:
                self.assert_refused(s, method, path, body, headers)
                for tok in (api, admin):
                    status, _, data = self.call(s, method, path, tok, body, headers)
                    self.assertEqual(status, 200, f"{method} {path}: {data!r}")

    def test_only_admin_tokens_leave_api_routes_open(self):
        admin = token("admin")
        m = self.names[3]
        with Server(harness.shared_store(), "--workers", "1", "--admin-token-file",
                    self.secrets.write("admin", [admin])) as s:
            s.invoke(m, harness.ticket_text(m))
            self.assertEqual(s.status("GET", "/models"), 200)
            self.assert_refused(s, "DELETE", f"/models/{m}")
            self.assertEqual(self.call(s, "DELETE", f"/models/{m}", admin)[0], 200)
            self.assertNotIn("access control is off", s.log())

    def test_health_routes_stay_open_and_metrics_follows_the_flag(self):
        admin, api = token("admin"), token("api")
        args = ["--workers", "1", "--admin-token-file", self.secrets.write("admin", [admin]),
                "--api-token-file", self.secrets.write("api", [api])]
        with Server(harness.shared_store(), *args) as s:
            for path in ("/ping", "/v2/health/live", "/v2/health/ready", "/metrics"):
                self.assertEqual(s.status("GET", path), 200, path)
            # The dashboard's page and its assets hold no data: open too (issue 17).
            status, _, page = s.request("GET", "/dashboard")
            self.assertEqual(status, 200)
            assets = re.findall(r'"(/dashboard/assets/[^"]+)"', page.decode())
            self.assertEqual(len(assets), 3, page)
            for path in assets:
                self.assertEqual(s.status("GET", path), 200, path)
        with Server(harness.shared_store(), *args, "--metrics-auth") as s:
            for path in ("/ping", "/v2/health/live", "/v2/health/ready"):
                self.assertEqual(s.status("GET", path), 200, path)
            self.assert_refused(s, "GET", "/metrics")
            for tok in (api, admin):
                status, headers, data = self.call(s, "GET", "/metrics", tok)
                self.assertEqual(status, 200)
                self.assertIn(b"modelmux_auth_failures_total", data)

    def test_without_flags_everything_is_open_with_one_warning(self):
        m = self.names[4]
        with Server(harness.shared_store(), "--workers", "1") as s:
            self.assertEqual(s.status("POST", "/models", {"model_name": m, "url": m}), 200)
            self.assertEqual(s.status("DELETE", f"/models/{m}", headers=bearer("anything-at-all")), 200)
            self.assertEqual(s.status("GET", "/v2/dashboard"), 200)
            self.assertEqual(s.status("POST", f"/v2/repository/models/{m}/load", {"parameters": {"pin": True}}), 200)
            log = s.log()
        self.assertEqual(log.count("access control is off"), 1, log)

    def test_bad_token_files_stop_the_start_with_a_clear_error(self):
        short = "short-secret"
        cases = [
            (["--admin-token-file", os.path.join(self.secrets.dir, "absent")], "absent"),
            (["--admin-token-file", self.secrets.write("short", [short])], "line 3"),
            (["--api-token-file", self.secrets.write("empty", [])], "no token"),
            (["--metrics-auth"], "--metrics-auth needs"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                result = subprocess.run([harness.server_binary(), "--store", harness.shared_store(), "--address",
                                         harness.LOOPBACK, "--port", "0", *args],
                                        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
                self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
                self.assertIn(needle, result.stdout + result.stderr)
                self.assertNotIn(short, result.stdout + result.stderr)


class RotationTest(AuthTestCase):
    def test_sighup_rotates_tokens_and_a_bad_file_keeps_the_old_ones(self):
        old, new = token("old"), token("new")
        path = self.secrets.write("admin", [old])
        m = self.names[5]
        load = f"/v2/repository/models/{m}/load"
        with Server(harness.shared_store(), "--workers", "1", "--admin-token-file", path) as s:
            self.assertEqual(self.call(s, "POST", load, old, {})[0], 200)
            # Both during the switch-over, then only the new one.
            self.secrets.write("admin", [old, new])
            self.sighup(s, 1)
            self.assertEqual(self.call(s, "POST", load, old, {})[0], 200)
            self.assertEqual(self.call(s, "POST", load, new, {})[0], 200)
            self.secrets.write("admin", [new])
            self.sighup(s, 2)
            self.assertEqual(self.call(s, "POST", load, old, {})[0], 403)
            self.assertEqual(self.call(s, "POST", load, new, {})[0], 200)
            # A broken file: an error in the log, the old tokens kept.
            self.secrets.write("admin", ["short-zqx"])
            os.kill(s.pid, signal.SIGHUP)
            s.wait_until(lambda: "credentials not fully re-read" in s.log(), 10, "the reload error")
            self.assertEqual(self.call(s, "POST", load, new, {})[0], 200)
            self.assertIsNone(s.proc.poll(), "SIGHUP must not stop the server")
            log = s.log()
        self.assertIn("line 3", log)
        for secret in (old, new, "short-zqx"):
            self.assertNotIn(secret, log)

    def sighup(self, server, count):
        os.kill(server.pid, signal.SIGHUP)
        server.wait_until(lambda: server.log().count("credentials files re-read") >= count, 10,
                          f"reload {count} to be logged")


class LogHygieneTest(AuthTestCase):
    def test_tokens_never_appear_in_the_log(self):
        admin, api = token("admin"), token("api")
        wrong = [token("wrong"), "Bearer-" + secrets.token_hex(16)]
        akid, secret = "AKID" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
        m = self.names[6]
        with Server(harness.shared_store(), "--workers", "1", "--log-level", "debug", "--admin-token-file",
                    self.secrets.write("admin", [admin]), "--api-token-file", self.secrets.write("api", [api]),
                    "--sigv4-credentials", self.secrets.write("sigv4", [f"{akid} {secret}"])) as s:
            for tok in [admin, api, *wrong, None]:
                self.call(s, "POST", f"/models/{m}/invoke", tok, {"text": "hello"})
                self.call(s, "POST", "/models", tok, {"model_name": m, "url": m})
                self.call(s, "DELETE", f"/models/{m}", tok)
            if boto3 is not None:
                for key in (secret, secret + "x"):
                    sigv4_request(s, "POST", "/invocations", b'{"text": "hi"}', {TARGET: m}, akid, key)
            log = s.log()
        self.assertIn("auth: refused", log, "debug logging of refusals was on")
        for text in [admin, api, *wrong, secret]:
            self.assertNotIn(text, log)


# ------------------------------------------------------------------- SigV4


def sigv4_request(server, method, path, body, headers, akid, secret, region="us-east-1", signed_at=None):
    """Signs with botocore's SigV4Auth (service sagemaker) and sends the request
    exactly as signed: (status, headers, body)."""
    url = f"http://{harness.LOOPBACK}:{server.port}{path}"
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret), "sagemaker", region)
    with signing_time(signed_at):
        signer.add_auth(request)
    conn = http.client.HTTPConnection(harness.LOOPBACK, server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=dict(request.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@contextlib.contextmanager
def signing_time(when):
    """botocore signs with datetime.datetime.utcnow(): pin it to `when`."""
    if when is None:
        yield
        return

    class Pinned(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    with mock.patch("botocore.auth.datetime.datetime", Pinned):
        yield


@unittest.skipIf(boto3 is None, "python3-boto3 is not installed")
class SigV4Test(AuthTestCase):
    @classmethod
    def setUpClass(cls):
        cls.secrets_dir = Secrets()
        cls.akid, cls.secret = "AKIDAPI" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
        cls.admin_akid, cls.admin_secret = "AKIDADMIN" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
        cls.admin_token = token("admin")
        cls.server = Server(
            harness.shared_store(), "--workers", "1",
            "--admin-token-file", cls.secrets_dir.write("admin", [cls.admin_token]),
            "--sigv4-credentials", cls.secrets_dir.write("sigv4", [f"{cls.akid} {cls.secret}",
                                                                   f"{cls.admin_akid} {cls.admin_secret} admin"]))
        cls.server.start()
        cls.model = harness.tenants()[7]
        cls.body = json.dumps({"text": harness.ticket_text(cls.model)}).encode()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.secrets_dir.cleanup()

    def invoke(self, akid=None, secret=None, signed_at=None, path="/invocations"):
        return sigv4_request(self.server, "POST", path, self.body,
                             {TARGET: self.model, "Content-Type": "application/json"},
                             akid or self.akid, secret or self.secret, signed_at=signed_at)

    def test_good_credentials_pass_the_api_check(self):
        status, _, data = self.invoke()
        self.assertEqual(status, 200, data)
        self.assertIn("predictions", json.loads(data))
        status, _, data = self.invoke(self.admin_akid, self.admin_secret)
        self.assertEqual(status, 200, data)

    def test_a_wrong_secret_is_403_with_the_aws_error_type(self):
        status, headers, data = self.invoke(secret=self.secret + "x")
        self.assertEqual(status, 403, data)
        self.assertEqual(headers.get("x-amzn-errortype"), "InvalidSignatureException")
        assert_error_json(self, data, "signature does not match")
        self.assertEqual(json.loads(data)["message"], json.loads(data)["error"])
        status, headers, data = self.invoke(akid="AKIDUNKNOWN")
        self.assertEqual(status, 403, data)
        self.assertEqual(headers.get("x-amzn-errortype"), "UnrecognizedClientException")

    def test_an_expired_date_is_403_naming_the_skew(self):
        ten_minutes_ago = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
        status, headers, data = self.invoke(signed_at=ten_minutes_ago)
        self.assertEqual(status, 403, data)
        error = assert_error_json(self, data, "expired", "behind", "allowed skew is 300 s")
        self.assertRegex(error, r" (59\d|60\d) s behind")
        self.assertEqual(headers.get("x-amzn-errortype"), "InvalidSignatureException")

    def test_no_credentials_is_401(self):
        status, headers, data = self.server.request("POST", "/invocations", self.body, {TARGET: self.model})
        self.assertEqual(status, 401, data)
        self.assertEqual(headers.get("www-authenticate"), CHALLENGE)

    def test_sigv4_keys_are_api_level_unless_marked_admin(self):
        m = harness.tenants()[8]
        path = f"/v2/repository/models/{m}/load"
        status, headers, data = sigv4_request(self.server, "POST", path, b"{}", {}, self.akid, self.secret)
        self.assertEqual(status, 403, data)
        self.assertEqual(headers.get("x-amzn-errortype"), "AccessDeniedException")
        status, _, data = sigv4_request(self.server, "POST", path, b"{}", {}, self.admin_akid, self.admin_secret)
        self.assertEqual(status, 200, data)
        # Bearer tokens still work beside SigV4: the same check.
        self.assertEqual(self.call(self.server, "POST", f"/v2/repository/models/{m}/unload", self.admin_token,
                                   {})[0], 200)

    def boto3_client(self, akid, secret):
        return boto3.client(
            "sagemaker-runtime", region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key=secret,
            endpoint_url=f"http://{harness.LOOPBACK}:{self.server.port}",
            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}))

    def test_boto3_sagemaker_runtime_client(self):
        # Needs POST /endpoints/{name}/invocations (issue 12, built beside this).
        status, _, _ = self.invoke(path="/endpoints/modelmux/invocations")
        if status == 404:
            self.skipTest("POST /endpoints/{name}/invocations is not served by this build yet (issue 12 item 1)")
        client = self.boto3_client(self.akid, self.secret)
        answer = client.invoke_endpoint(EndpointName="modelmux", TargetModel=self.model, Body=self.body,
                                        ContentType="application/json", Accept="application/json")
        self.assertIn("predictions", json.loads(answer["Body"].read()))
        with self.assertRaises(botocore.exceptions.ClientError) as wrong:
            self.boto3_client(self.akid, self.secret + "x").invoke_endpoint(
                EndpointName="modelmux", TargetModel=self.model, Body=self.body, ContentType="application/json")
        self.assertEqual(wrong.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(wrong.exception.response["Error"]["Code"], "InvalidSignatureException")
        with signing_time(datetime.datetime.utcnow() - datetime.timedelta(minutes=10)):
            with self.assertRaises(botocore.exceptions.ClientError) as expired:
                client.invoke_endpoint(EndpointName="modelmux", TargetModel=self.model, Body=self.body,
                                       ContentType="application/json")
        self.assertEqual(expired.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertIn("skew", expired.exception.response["Error"]["Message"])
        unsigned = boto3.client("sagemaker-runtime", region_name="us-east-1",
                                endpoint_url=f"http://{harness.LOOPBACK}:{self.server.port}",
                                config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                              retries={"max_attempts": 1, "mode": "standard"}))
        with self.assertRaises(botocore.exceptions.ClientError) as missing:
            unsigned.invoke_endpoint(EndpointName="modelmux", TargetModel=self.model, Body=self.body,
                                     ContentType="application/json")
        self.assertEqual(missing.exception.response["ResponseMetadata"]["HTTPStatusCode"], 401)


if __name__ == "__main__":
    unittest.main()
