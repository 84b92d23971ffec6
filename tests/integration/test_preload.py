"""--preload gates readiness: /ping and /v2/health/ready answer 503 until every
preloaded model is loaded; "name pin" lines pin; --preload-all loads the store."""

import time
import unittest

import harness
from harness import Server, TempStore, temp_file

PRELOADED = 60


class PreloadTest(unittest.TestCase):
    def test_ping_is_503_until_the_preloaded_models_are_ready(self):
        source = harness.tenants()[3]
        with TempStore() as store:
            names = [store.add(f"pre-{i:03d}", source) for i in range(PRELOADED)]
            extra = store.add("not-preloaded", source)
            pinned = set(names[:3])
            lines = ["# models loaded at start; 'pin' keeps them resident", ""]
            lines += [f"{m} pin" if m in pinned else m for m in names]
            with temp_file("\n".join(lines) + "\n") as preload_file, \
                    Server(store.dir, "--preload", preload_file, "--max-concurrent-loads", "1") as s:
                saw_503 = ready_503 = False
                deadline = time.monotonic() + 120
                while True:
                    status = s.status("GET", "/ping")
                    if status == 200:
                        break
                    self.assertEqual(status, 503)
                    if not saw_503:
                        saw_503 = True
                        ready_503 = s.status("GET", "/v2/health/ready") == 503
                    self.assertLess(time.monotonic(), deadline, "preload did not finish")
                    time.sleep(0.01)
                index = s.index()  # right after the first 200
                self.assertTrue(saw_503, "/ping never answered 503 while preloading")
                self.assertTrue(ready_503, "/v2/health/ready was not 503 while preloading")
                not_ready = [m for m in names if index.get(m, {}).get("state") != "READY"]
                self.assertEqual(not_ready, [], "/ping said 200 before these were loaded")
                for m in names:
                    self.assertIs(index[m]["pinned"], m in pinned, m)
                self.assertNotEqual(index.get(extra, {}).get("state"), "READY")
                self.assertEqual(s.status("GET", "/v2/health/ready"), 200)

    def test_preload_all_loads_every_model(self):
        names = harness.tenants()
        with Server(harness.shared_store(), "--preload-all") as s:
            s.wait_until(lambda: s.status("GET", "/ping") == 200, 120, "/ping 200 after --preload-all")
            index = s.index()
            self.assertEqual([m for m in names if index.get(m, {}).get("state") != "READY"], [])


if __name__ == "__main__":
    unittest.main()
