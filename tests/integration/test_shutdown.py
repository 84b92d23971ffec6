"""SIGTERM while requests are in flight: every request sent before the signal
gets a complete 200 answer, and the process exits 0."""

import json
import signal
import threading
import time
import unittest

import harness
from harness import Server

CLIENTS = 64


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_requests_in_flight_and_exits_0(self):
        m = harness.tenants()[7]
        texts = [" ".join(harness.ticket_text(m, i) for i in range(j, j + 8)) for j in range(1024)]
        body = json.dumps({"instances": texts, "top_k": 1}).encode()
        with Server(harness.shared_store(), "--workers", "1", "--io-threads", "2") as s:
            s.invoke(m, "warm")
            # Keep-alive connections that the server has certainly accepted.
            conns = [s.connection(timeout=60) for _ in range(CLIENTS)]
            for c in conns:
                c.request("GET", "/ping")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)

            sent = [threading.Event() for _ in range(CLIENTS)]
            results = [None] * CLIENTS

            def client(i):
                try:
                    conns[i].request("POST", f"/models/{m}/invoke", body=body,
                                     headers={"Content-Type": "application/json"})
                    sent[i].set()
                    r = conns[i].getresponse()
                    data = r.read()
                    results[i] = (r.status, data, time.monotonic())
                except Exception as e:
                    results[i] = e
                finally:
                    sent[i].set()
                    conns[i].close()

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for e in sent:
                self.assertTrue(e.wait(30))
            time.sleep(0.05)  # let the server read what was sent
            signalled_at = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            for t in threads:
                t.join(90)
            code = s.proc.wait(60)

            lost = [r for r in results if not isinstance(r, tuple) or r[0] != 200]
            self.assertEqual(lost, [], "requests sent before SIGTERM were not answered 200")
            for status, data, _ in results:
                self.assertEqual(len(json.loads(data)["predictions"]), len(texts))
            after = sum(1 for r in results if r[2] > signalled_at)
            print(f"{after}/{CLIENTS} answers completed after SIGTERM")
            self.assertGreater(after, 0, "all answers came before SIGTERM: the test did not "
                                         "exercise requests in flight (make them heavier)")
            self.assertEqual(code, 0, f"exit code after SIGTERM\n{s.log_tail()}")


if __name__ == "__main__":
    unittest.main()
