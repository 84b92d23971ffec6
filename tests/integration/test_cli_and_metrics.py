"""`modelmux --help` lists every flag with its default, and `promtool check
metrics` accepts the /metrics output (with and without per-model labels)."""

import os
import re
import subprocess
import unittest

import harness
from harness import Server, metric

# Flag -> its default as --help shows it (CLI11: "=<default>"); None: no default.
# The eviction policy default is adaptive-gdsf since the eviction-policy work.
FLAGS = {
    "--store": "./demo-store",
    "--address": "0.0.0.0",
    "--port": "8080",
    "--port-file": None,
    "--io-threads": "1",
    "--workers": str(os.cpu_count()),  # one per core
    "--memory-budget": "70%",
    "--max-queue-per-model": "128",
    "--max-queued": "4096",
    "--max-concurrent-loads": "2",
    "--max-pending-loads": "256",
    "--max-body-bytes": "6M",
    "--preload": None,
    "--preload-all": None,
    "--eviction-policy": "adaptive-gdsf",
    "--failure-backoff": "1000",
    "--per-model-metrics": None,
    "--log-level": "info",
}


def help_entry(help_text, flag):
    """The lines of one option's help entry: from the line naming it up to the next option."""
    lines = help_text.splitlines()
    start = re.compile(rf"^\s*(-\w,\s*)?{re.escape(flag)}(?![\w-])")
    for i, line in enumerate(lines):
        if start.match(line):
            entry = [line]
            for nxt in lines[i + 1:]:
                if re.match(r"^\s*-", nxt) or not nxt.strip():
                    break
                entry.append(nxt)
            return "\n".join(entry)
    return None


class HelpTest(unittest.TestCase):
    def test_help_lists_every_flag_with_its_default(self):
        out = subprocess.run([harness.server_binary(), "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        for flag, default in FLAGS.items():
            entry = help_entry(out.stdout, flag)
            self.assertIsNotNone(entry, f"{flag} missing from --help:\n{out.stdout}")
            if default is not None:
                shown = re.search(rf"={re.escape(default)}(\s|$)", entry)
                self.assertIsNotNone(shown, f"{flag}: default {default!r} not shown in {entry!r}")


class PromtoolTest(unittest.TestCase):
    def promtool(self):
        path = os.environ.get("MODELMUX_PROMTOOL", "")
        if not path or not os.access(path, os.X_OK):
            self.fail("promtool not found: install the Debian package 'prometheus' (scripts/install-deps)")
        return path

    def check(self, *flags):
        names = harness.tenants()
        with Server(harness.shared_store(), *flags) as s:
            for m in names[:3]:
                s.invoke(m, harness.ticket_text(m))
            s.request("POST", "/models/no-such-tenant/invoke", {"text": "x"})
            s.request("POST", f"/models/{names[0]}/invoke", b"{bad json")
            s.json("DELETE", f"/models/{names[1]}", expect=200)
            text = s.metrics()
        self.assertGreater(metric(text, "modelmux_model_unload_seconds_count"), 0)
        out = subprocess.run([self.promtool(), "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, f"promtool check metrics:\n{out.stdout}{out.stderr}")
        return text

    def test_promtool_accepts_metrics(self):
        self.check()

    def test_promtool_accepts_per_model_metrics(self):
        text = self.check("--per-model-metrics")
        m = harness.tenants()[0]
        self.assertTrue(any(f'model="{m}"' in line for line in text.splitlines()), "no model label")


if __name__ == "__main__":
    unittest.main()
