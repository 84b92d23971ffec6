"""Offline checks of deploy/: the HAProxy configuration parses (haproxy -c), and the
Kubernetes manifests in deploy/k8s hang together.

`kubectl apply --dry-run=client` cannot do this here: even a client dry run asks
an API server for its resource list, and the tests have no cluster. So the
manifests are checked structurally (python3-yaml): required fields, selectors
that match pod labels, probes and ports that exist, the HPA's metric produced by
the adapter rule from a counter the real server exports, and the HAProxy
configuration in the ConfigMap identical to deploy/haproxy/modelmux.cfg plus the
Kubernetes server lines, and the token files the instances read mounted from the
Secret the kustomization generates (with the probe and scrape paths open under
those flags on the real server). When kubectl is installed, `kubectl kustomize`
must also render the directory.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import harness
import k8s_config
from harness import Server

try:
    import yaml
except ImportError:  # scripts/install-deps installs python3-yaml
    yaml = None

K8S = os.path.join(k8s_config.REPO, "deploy", "k8s")
HAPROXY_ENV = {"MODELMUX_LISTEN": "127.0.0.1:1", "MODELMUX_HOT_RATE": "50", "MODELMUX_BALANCE_FACTOR": "150"}


def haproxy_check(text):
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
        f.write(text)
        f.flush()
        return subprocess.run([haproxy, "-c", "-f", f.name], capture_output=True, text=True,
                              env=dict(os.environ, **HAPROXY_ENV))


class HaproxyConfigTest(unittest.TestCase):
    def test_fleet_config_parses_with_local_servers(self):
        with open(k8s_config.BASE, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("    # @servers\n", "    server mm0 127.0.0.1:1 id 1\n").replace(
            "    # @servers-tracked\n", "    server mm0 127.0.0.1:1 id 1 track modelmux/mm0\n")
        result = haproxy_check(text)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_a_broken_config_is_caught(self):
        # The check above would pass vacuously if haproxy -c accepted anything.
        result = haproxy_check("frontend f\n    mode http\n    bind 127.0.0.1:1\n    use_backend nowhere\n")
        self.assertNotEqual(result.returncode, 0)


@unittest.skipIf(yaml is None, "python3-yaml is not installed")
class KubernetesManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(K8S, "kustomization.yaml"), encoding="utf-8") as f:
            cls.kustomization = yaml.safe_load(f)
        cls.docs = []
        for name in cls.kustomization["resources"]:
            with open(os.path.join(K8S, name), encoding="utf-8") as f:
                cls.docs += [d for d in yaml.safe_load_all(f) if d]

    def one(self, kind, name):
        found = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{kind}/{name}")
        return found[0]

    def test_every_file_is_listed_and_every_object_well_formed(self):
        files = sorted(f for f in os.listdir(K8S) if f.endswith(".yaml") and f != "kustomization.yaml")
        self.assertEqual(sorted(self.kustomization["resources"]), files)
        for d in self.docs:
            self.assertIn("apiVersion", d)
            self.assertIn("kind", d)
            self.assertTrue(d.get("metadata", {}).get("name"), d)
        kinds = sorted(d["kind"] for d in self.docs)
        self.assertEqual(kinds, ["ConfigMap", "ConfigMap", "Deployment", "Deployment", "HorizontalPodAutoscaler",
                                 "Namespace", "Service", "Service"])

    def check_deployment(self, name):
        dep = self.one("Deployment", name)
        self.assertEqual(dep["apiVersion"], "apps/v1")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        for k, v in dep["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(k), v, "selector matches the pod labels")
        container = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertTrue(container["image"])
        port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
        return dep, container, port_names

    def test_instances_are_ready_on_ping_and_reachable(self):
        dep, container, ports = self.check_deployment("modelmux")
        probe = container["readinessProbe"]["httpGet"]
        self.assertEqual(probe["path"], "/ping")
        self.assertIn(probe["port"], ports)
        args = dict(a.split("=", 1) for a in container["args"])
        self.assertEqual(int(args["--port"]), ports["http"])
        self.assertIn("--state-dir", args)
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        self.assertIn(args["--state-dir"], mounts, "the state dir is a volume")
        self.assertIn(args["--store"], mounts)
        budget = harness_bytes(args["--memory-budget"])
        limit = harness_bytes(container["resources"]["limits"]["memory"])
        self.assertLess(budget, limit, "the model budget leaves room under the memory limit")
        annotations = dep["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(int(annotations["prometheus.io/port"]), ports["http"])
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        # HAProxy finds the pods through the headless Service's SRV records.
        svc = self.one("Service", "modelmux-instances")
        self.assertEqual(svc["spec"]["clusterIP"], "None")
        self.assertEqual(svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"])
        self.assertEqual(svc["spec"]["ports"][0]["name"], "http")
        self.assertIn(svc["spec"]["ports"][0]["targetPort"], ports)
        namespace = self.kustomization["namespace"]
        self.assertIn(f"_http._tcp.{svc['metadata']['name']}.{namespace}.svc", k8s_config.SRV)

    def test_haproxy_configmap_is_the_fleet_config_and_parses(self):
        dep, container, ports = self.check_deployment("modelmux-haproxy")
        cfg = self.one("ConfigMap", "modelmux-haproxy")["data"]["haproxy.cfg"]
        self.assertEqual(cfg, k8s_config.k8s_haproxy_cfg(),
                         "deploy/k8s/haproxy.yaml differs from deploy/haproxy/modelmux.cfg: "
                         "regenerate it with tests/integration/k8s_config.py")
        env = {e["name"] for e in container["env"]}
        self.assertEqual(env, set(HAPROXY_ENV))
        result = haproxy_check(cfg)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        front = self.one("Service", "modelmux")
        self.assertEqual(front["spec"]["selector"], dep["spec"]["selector"]["matchLabels"])
        self.assertIn(front["spec"]["ports"][0]["targetPort"], ports)

    def test_hpa_scales_the_instances_on_a_metric_the_adapter_derives_from_the_server(self):
        hpa = self.one("HorizontalPodAutoscaler", "modelmux")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        self.assertEqual(hpa["spec"]["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment",
                                                         "name": "modelmux"})
        self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
        self.assertLessEqual(hpa["spec"]["maxReplicas"], k8s_config.MAX_INSTANCES, "HAProxy has a slot per pod")
        metric = hpa["spec"]["metrics"][0]
        self.assertEqual(metric["type"], "Pods")
        name = metric["pods"]["metric"]["name"]
        rules = yaml.safe_load(self.one("ConfigMap", "modelmux-adapter-rules")["data"]["config.yaml"])["rules"]
        rule = [r for r in rules if r["name"]["as"] == name]
        self.assertEqual(len(rule), 1, f"an adapter rule produces {name}")
        series = rule[0]["name"]["matches"].strip("^$")
        self.assertIn(series, rule[0]["seriesQuery"])
        # The series is a counter the real server exports.
        with Server(harness.shared_store()) as s:
            model = harness.tenants()[0]
            s.invoke(model, harness.ticket_text(model))  # a labelled family shows once it has a series
            metrics = s.metrics()
        self.assertIn(f"# TYPE {series} counter", metrics)

    def test_instances_read_their_tokens_from_the_generated_secret(self):
        dep, container, ports = self.check_deployment("modelmux")
        args = dict(a.split("=", 1) for a in container["args"] if "=" in a)
        generators = {g["name"]: g for g in self.kustomization.get("secretGenerator", [])}
        volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        for flag in ("--admin-token-file", "--api-token-file"):
            self.assertIn(flag, args)
            directory, key = os.path.split(args[flag])
            self.assertIn(directory, mounts, f"{flag} is on a volume")
            self.assertTrue(mounts[directory].get("readOnly"))
            secret = volumes[mounts[directory]["name"]]["secret"]["secretName"]
            self.assertIn(secret, generators, "the kustomization generates the Secret")
            generator = generators[secret]
            # A fixed name: updating the Secret changes the files in place, for SIGHUP.
            self.assertTrue(generator["options"]["disableNameSuffixHash"])
            keys = dict(f.split("=", 1) for f in generator["files"])
            self.assertIn(key, keys)
            # The token files live beside the manifests, kept out of git.
            source = os.path.join(K8S, keys[key])
            with open(os.path.join(os.path.dirname(source), ".gitignore"), encoding="utf-8") as f:
                self.assertIn("*", f.read().split())

    def test_probes_and_scrape_need_no_token_under_the_manifest_flags(self):
        dep, container, _ = self.check_deployment("modelmux")
        paths = {container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe", "startupProbe")}
        paths.add(dep["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"])
        self.assertIn("option httpchk GET /ping", self.one("ConfigMap", "modelmux-haproxy")["data"]["haproxy.cfg"])
        paths.add("/ping")
        auth_flags = [a for a in container["args"] if a.startswith(("--admin-token-file", "--api-token-file",
                                                                     "--metrics-auth", "--sigv4"))]
        self.assertTrue(auth_flags)
        with tempfile.TemporaryDirectory() as tmp:
            flags = []
            for a in auth_flags:
                name, _, path = a.partition("=")
                if path:
                    local = os.path.join(tmp, os.path.basename(path))
                    with open(local, "w", encoding="utf-8") as f:
                        f.write("probe-test-token-" + os.urandom(8).hex() + "\n")
                    flags += [name, local]
                else:
                    flags.append(name)
            with Server(harness.shared_store(), "--workers", "1", *flags) as s:
                for path in sorted(paths):
                    self.assertEqual(s.status("GET", path), 200, f"{path} under {auth_flags}")
                self.assertEqual(s.status("DELETE", "/models/anything"), 401, "management is closed")

    def test_kubectl_renders_the_kustomization(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl is not installed (optional: the structural checks above stand alone)")
        with tempfile.TemporaryDirectory() as tmp:
            # A copy with stand-in token files (the real ones are not in git).
            copy = os.path.join(tmp, "k8s")
            shutil.copytree(K8S, copy)
            for generator in self.kustomization.get("secretGenerator", []):
                for entry in generator["files"]:
                    path = os.path.join(copy, entry.split("=", 1)[-1])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write("stand-in-token-0123456789\n")
            result = subprocess.run([kubectl, "kustomize", copy], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
        self.assertEqual(len(rendered), len(self.docs) + len(self.kustomization.get("secretGenerator", [])))
        for d in rendered:
            if d["kind"] != "Namespace":
                self.assertEqual(d["metadata"]["namespace"], self.kustomization["namespace"])


def harness_bytes(text):
    """'6G' (modelmux) or '8Gi' (Kubernetes) in bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.rstrip("i")
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


if __name__ == "__main__":
    unittest.main()
