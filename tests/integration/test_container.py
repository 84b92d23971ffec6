"""Offline checks of the container image (deploy/container/Containerfile) and of
the matching securityContext in deploy/k8s (issue 13).

No container runtime runs here, so the image is checked for what decides
whether it builds and runs:
  - the build stage installs the build packages of scripts/install-deps (the
    same names; every package there is either in the build stage or listed
    below as not needed to build the server) and copies every directory the
    CMake project reads;
  - the runtime stage installs what the built server binary needs: every
    shared library `ldd` resolves for MODELMUX_BIN belongs (`dpkg -S`) to a
    package the stage installs or that comes with it (Debian dependencies,
    the base image's required packages), every library the binary links
    directly to a package the stage names, and the stage names nothing else
    (CA certificates aside) and no -dev package;
  - it runs as a numeric non-root user with the state and disk-cache
    directories as volumes, and deploy/k8s runs it as that user with a
    read-only root filesystem, no privilege escalation, no capabilities, and
    writable emptyDir volumes for state, cache and /tmp.
"""

import json
import os
import re
import shlex
import subprocess
import unittest

import harness
import k8s_config

try:
    import yaml
except ImportError:  # scripts/install-deps installs python3-yaml
    yaml = None

REPO = k8s_config.REPO
CONTAINERFILE = os.path.join(REPO, "deploy", "container", "Containerfile")
INSTALL_DEPS = os.path.join(REPO, "scripts", "install-deps")
MODELMUX_YAML = os.path.join(REPO, "deploy", "k8s", "modelmux.yaml")
HAPROXY_YAML = os.path.join(REPO, "deploy", "k8s", "haproxy.yaml")

# Packages of scripts/install-deps that building the server does not need:
# tests, benchmarks, the demo and developer tools.
NOT_IN_IMAGE = {
    "ccache": "build cache for developers",
    "git": "the image copies the sources",
    "curl": "scripts and benchmarks",
    "prometheus": "promtool in the metrics tests",
    "gnuplot-nox": "benchmark plots",
    "python3": "integration tests and benchmark reports",
    "nginx-light": "benchmark baseline",
    "wrk": "benchmark load",
    "haproxy": "fleet tests (the image of the balancer is HAProxy's own)",
    "python3-yaml": "offline manifest checks",
    "nodejs": "s3rver, the S3 server of the tests",
    "npm": "s3rver, the S3 server of the tests",
    "clang": "bench/fuzz (libFuzzer)",
    "libclang-rt-14-dev": "bench/fuzz (libFuzzer runtime)",
    "python3-grpcio": "the gRPC client of the tests",
    "python3-protobuf": "the gRPC client of the tests",
    "python3-boto3": "the AWS SDK client of the tests",
    "awscli": "the AWS CLI client of the tests",
    "chromium": "the dashboard's browser tests",
    "chromium-driver": "the dashboard's browser tests",
    "python3-selenium": "the dashboard's browser tests",
}
# Runtime packages that own no library of the binary but are needed anyway.
RUNTIME_EXTRAS = {"ca-certificates": "TLS to S3 (libcurl verifies the server)"}
STATE_DIR = "/var/lib/modelmux"
CACHE_DIR = "/var/cache/modelmux"


# ------------------------------------------------------------------ parsing


def containerfile_stages(path=CONTAINERFILE):
    """{stage name: [(instruction, argument text)]}, continuation lines joined."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    stages, current = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        instruction, _, rest = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            m = re.match(r"(\S+)\s+AS\s+(\S+)", rest.strip(), re.IGNORECASE)
            if not m:
                raise AssertionError(f"every stage is named: FROM {rest}")
            current = m.group(2)
            stages[current] = [("FROM", m.group(1))]
        elif current is not None:
            stages[current].append((instruction, rest.strip()))
    return stages


def apt_packages(stage):
    """Packages of every `apt-get install` in a stage."""
    packages = []
    for instruction, rest in stage:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            words = shlex.split(command)
            words = [w for w in words if "=" not in w or w.startswith("-")]  # VAR=value prefixes
            if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


def install_deps_packages(path=INSTALL_DEPS):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^PACKAGES=\((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    if not m:
        raise AssertionError("no PACKAGES=( ... ) in scripts/install-deps")
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    return body.split()


def cmake_source_dirs(directory=REPO, seen=None):
    """Every directory the CMake project reads, from add_subdirectory() calls."""
    seen = set() if seen is None else seen
    path = os.path.join(directory, "CMakeLists.txt")
    if directory in seen or not os.path.exists(path):
        return seen
    seen.add(directory)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for arg in re.findall(r"add_subdirectory\(\s*(\S+)", text):
        arg = arg.replace("${PROJECT_SOURCE_DIR}", REPO).replace("${CMAKE_SOURCE_DIR}", REPO)
        arg = arg.replace("${CMAKE_CURRENT_SOURCE_DIR}", directory).rstrip(")")
        cmake_source_dirs(os.path.normpath(os.path.join(directory, arg)), seen)
    return seen


# ------------------------------------------------------------- Debian data


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def package_database():
    """{package: (priority, essential, [dependency groups], [provides])} of installed packages."""
    out = run("dpkg-query", "-W", "-f",
              "${db:Status-Abbrev}\t${Package}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\t${Provides}\n")
    db = {}
    for line in out.stdout.splitlines():
        status, name, priority, essential, depends, provides = line.split("\t")
        if not status.startswith("ii"):
            continue
        groups = [[re.sub(r"\(.*?\)|:any|:native", "", alt).strip() for alt in group.split("|")]
                  for group in depends.split(",") if group.strip()]
        provided = [re.sub(r"\(.*?\)", "", p).strip() for p in provides.split(",") if p.strip()]
        db[name] = (priority, essential, groups, provided)
    return db


def closure(start, db):
    """The installed packages that installing `start` brings along."""
    providers = {}
    for name, (_, _, _, provided) in db.items():
        for virtual in provided:
            providers.setdefault(virtual, set()).add(name)
    todo, done = list(start), set()
    while todo:
        name = todo.pop()
        if name in done or name not in db:
            continue
        done.add(name)
        for group in db[name][2]:
            for alt in group:
                todo += [alt] if alt in db else sorted(providers.get(alt, ()))
    return done


def _path_variants(path):
    """`path`, its real path, and each with or without /usr (merged /usr)."""
    variants = []
    for p in (path, os.path.realpath(path)):
        variants.append(p)
        if p.startswith("/usr/lib/"):
            variants.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            variants.append("/usr" + p)
    return variants


def owners(paths):
    """{path: installed package owning it, or None}; one `dpkg -S` for all."""
    variants = {path: _path_variants(path) for path in paths}
    every = sorted({v for vs in variants.values() for v in vs})
    out = run("dpkg", "-S", *every)  # non-zero when some variant is unknown: expected
    owned = {}
    for line in out.stdout.splitlines():
        if line.startswith("diversion"):
            continue
        packages, _, file = line.partition(": ")
        owned.setdefault(file, packages.split(",")[0].split(":")[0].strip())
    return {path: next((owned[v] for v in vs if v in owned), None) for path, vs in variants.items()}


def needed_libraries(binary):
    out = run("readelf", "-d", binary)
    if out.returncode != 0:
        raise AssertionError(f"readelf -d {binary}: {out.stderr}")
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out.stdout)


def resolved_libraries(binary):
    """{soname: path} of every library ldd resolves (transitively)."""
    out = run("ldd", binary)
    libs = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            if m.group(2) == "not":
                raise AssertionError(f"ldd: {line.strip()}")
            libs[m.group(1)] = m.group(2)
    return libs


# -------------------------------------------------------------------- tests


class ContainerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = containerfile_stages()

    def stage(self, name):
        self.assertIn(name, self.stages, f"the Containerfile has a '{name}' stage")
        return self.stages[name]

    def instructions(self, stage, kind):
        return [rest for instruction, rest in self.stage(stage) if instruction == kind]

    def test_both_stages_are_debian_12(self):
        self.assertEqual(list(self.stages), ["build", "runtime"], "build first, the image last")
        with open(CONTAINERFILE, encoding="utf-8") as f:
            default = re.search(r"^ARG DEBIAN_IMAGE=(\S+)", f.read(), re.MULTILINE)
        self.assertIsNotNone(default)
        self.assertRegex(default.group(1), r"^debian:(bookworm|12)(-slim)?$")
        for name in self.stages:
            self.assertEqual(self.stage(name)[0][1], "${DEBIAN_IMAGE}")

    def test_build_stage_installs_the_build_packages_of_install_deps(self):
        build = apt_packages(self.stage("build"))
        deps = install_deps_packages()
        self.assertEqual(len(build), len(set(build)), "no package twice")
        self.assertEqual(sorted(set(build) - set(deps)), [],
                         "build-stage packages that scripts/install-deps does not install")
        unclassified = sorted(set(deps) - set(build) - set(NOT_IN_IMAGE))
        self.assertEqual(unclassified, [],
                         "packages of scripts/install-deps neither in the Containerfile's build stage nor in "
                         "this test's NOT_IN_IMAGE: add each where it belongs")
        self.assertEqual(sorted(set(NOT_IN_IMAGE) & set(build)), [])

    def test_build_stage_copies_every_directory_cmake_reads(self):
        copied = []
        for rest in self.instructions("build", "COPY"):
            if rest.startswith("--from"):
                continue
            sources = shlex.split(rest)[:-1]
            copied += [os.path.normpath(os.path.join(REPO, s)) for s in sources]
        for directory in sorted(cmake_source_dirs()):
            if directory == REPO:
                self.assertIn(os.path.join(REPO, "CMakeLists.txt"), copied)
                continue
            covered = any(directory == c or directory.startswith(c + os.sep) or
                          os.path.join(directory, "CMakeLists.txt") == c for c in copied)
            self.assertTrue(covered, f"{os.path.relpath(directory, REPO)} is read by CMake but not copied")
        runs = " ".join(self.instructions("build", "RUN"))
        self.assertIn("--target modelmux", runs)
        self.assertIn("--from=build", " ".join(self.instructions("runtime", "COPY")))

    def test_runtime_stage_installs_what_the_binary_needs_and_nothing_more(self):
        binary = harness.server_binary()
        runtime = apt_packages(self.stage("runtime"))
        self.assertEqual([p for p in runtime if p.endswith("-dev")], [], "no -dev package at run time")
        db = package_database()
        missing = sorted(p for p in runtime if p not in db)
        self.assertEqual(missing, [], "runtime packages this machine does not have: the check cannot vouch "
                                      "for them (scripts/install-deps installs their -dev packages)")
        base = {name for name, (priority, essential, _, _) in db.items()
                if priority == "required" or essential == "yes"}
        installs = closure(set(runtime) | base, db)
        base_closure = closure(base, db)

        resolved = resolved_libraries(binary)
        self.assertGreater(len(resolved), 10)
        owner = owners(resolved.values())
        unowned, not_installed = [], []
        for soname, path in sorted(resolved.items()):
            package = owner[path]
            if package is None:
                unowned.append(f"{soname} ({path})")
            elif package not in installs:
                not_installed.append(f"{soname} ({package})")
        self.assertEqual(unowned, [], "libraries that no Debian package owns")
        self.assertEqual(not_installed, [], "libraries the runtime stage would not install")

        direct = {}
        for soname in needed_libraries(binary):
            self.assertIn(soname, resolved, f"ldd resolves {soname}")
            direct[soname] = owner[resolved[soname]]
        for soname, package in sorted(direct.items()):
            self.assertTrue(package in runtime or package in base_closure,
                            f"{soname} comes from {package}: name it in the runtime stage")
        extra = sorted(set(runtime) - set(direct.values()) - set(RUNTIME_EXTRAS))
        self.assertEqual(extra, [], "runtime packages that own no library the binary links")

    def test_runs_as_a_numeric_non_root_user_with_state_and_cache_volumes(self):
        users = self.instructions("runtime", "USER")
        self.assertEqual(len(users), 1)
        uid, _, gid = users[0].partition(":")
        self.assertTrue(uid.isdigit() and gid.isdigit(), "numeric, so Kubernetes can check runAsNonRoot")
        self.assertNotEqual(int(uid), 0)
        self.assertNotEqual(int(gid), 0)
        volumes = set()
        for rest in self.instructions("runtime", "VOLUME"):
            volumes |= set(json.loads(rest) if rest.startswith("[") else rest.split())
        self.assertEqual(volumes, {STATE_DIR, CACHE_DIR})
        runs = " ".join(self.instructions("runtime", "RUN"))
        self.assertIn(f"chown {uid}:{gid} {STATE_DIR} {CACHE_DIR}", runs, "the user owns its volumes")
        cmd = json.loads(self.instructions("runtime", "CMD")[0])
        self.assertIn(f"--state-dir={STATE_DIR}", cmd)
        entrypoint = json.loads(self.instructions("runtime", "ENTRYPOINT")[0])
        self.assertEqual(entrypoint, ["/usr/local/bin/modelmux"], "arguments belong to CMD (k8s args replace it)")


@unittest.skipIf(yaml is None, "python3-yaml is not installed")
class KubernetesSecurityContextTest(unittest.TestCase):
    @staticmethod
    def deployment(path, name):
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        return [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name][0]

    def check_hardened(self, pod, container):
        psc = pod.get("securityContext", {})
        self.assertIs(psc.get("runAsNonRoot"), True)
        self.assertNotEqual(psc.get("runAsUser", 0), 0)
        self.assertEqual(psc.get("seccompProfile"), {"type": "RuntimeDefault"})
        csc = container.get("securityContext", {})
        self.assertIs(csc.get("readOnlyRootFilesystem"), True)
        self.assertIs(csc.get("allowPrivilegeEscalation"), False)
        self.assertEqual(csc.get("capabilities"), {"drop": ["ALL"]})
        self.assertNotIn("privileged", csc)
        return psc

    def test_modelmux_runs_as_the_image_user_and_writes_only_to_empty_dirs(self):
        pod = self.deployment(MODELMUX_YAML, "modelmux")["spec"]["template"]["spec"]
        container = pod["containers"][0]
        psc = self.check_hardened(pod, container)
        user = [rest for instruction, rest in containerfile_stages()["runtime"] if instruction == "USER"][0]
        uid, gid = (int(x) for x in user.split(":"))
        self.assertEqual((psc["runAsUser"], psc.get("runAsGroup"), psc.get("fsGroup")), (uid, gid, gid))
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        args = dict(a.split("=", 1) for a in container["args"] if "=" in a)
        writable = {args["--state-dir"], args.get("--disk-cache", CACHE_DIR), "/tmp"}
        self.assertEqual(args["--state-dir"], STATE_DIR)
        for path in sorted(writable):
            self.assertIn(path, mounts, f"{path} is written by the server: it needs a volume")
            mount = mounts[path]
            self.assertFalse(mount.get("readOnly", False), path)
            self.assertIn("emptyDir", volumes[mount["name"]], f"{path} is an emptyDir")
        self.assertTrue(mounts[args["--store"]].get("readOnly"), "the model store is mounted read-only")

    def test_haproxy_is_hardened_too(self):
        pod = self.deployment(HAPROXY_YAML, "modelmux-haproxy")["spec"]["template"]["spec"]
        self.check_hardened(pod, pod["containers"][0])


if __name__ == "__main__":
    unittest.main()
