"""Concurrency: single-flight loading under 50 concurrent invokes, 429 with
Retry-After when one model's queue is full, and a thread count that does not
grow with the number of loaded models."""

import json
import threading
import time
import unittest

import harness
from harness import Server, TempStore, assert_error_json, metric


def concurrently(n, fn):
    """Runs fn(i) on n threads released together; returns the results in order.
    An exception in a thread is returned as its result."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(30)
            results[i] = fn(i)
        except Exception as e:  # reported by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


class SingleFlightTest(unittest.TestCase):
    def test_fifty_concurrent_invokes_of_a_cold_model_load_it_once(self):
        m = harness.tenants()[0]
        text = harness.ticket_text(m)
        with Server(harness.shared_store(), "--io-threads", "2") as s:
            results = concurrently(50, lambda i: s.request("POST", f"/models/{m}/invoke", {"text": text}))
            errors = [r for r in results if not isinstance(r, tuple) or r[0] != 200]
            self.assertEqual(errors, [], "every concurrent invoke must succeed")
            bodies = {r[2] for r in results}
            self.assertEqual(len(bodies), 1, "concurrent invokes got different answers")
            text_metrics = s.metrics()
            self.assertEqual(metric(text_metrics, "modelmux_model_load_seconds_count"), 1)
            self.assertEqual(metric(text_metrics, "modelmux_loaded_models"), 1)
            # Requests that found the model loading waited, and the wait was measured.
            self.assertGreaterEqual(metric(text_metrics, "modelmux_model_load_wait_seconds_count"), 1)


class QueueFullTest(unittest.TestCase):
    def test_full_model_queue_answers_429_with_retry_after(self):
        m = harness.tenants()[1]
        # Big batches keep the single worker busy while the burst arrives.
        texts = [" ".join(harness.ticket_text(m, i) for i in range(j, j + 8)) for j in range(256)]
        body = json.dumps({"instances": texts, "top_k": 1}).encode()
        with Server(harness.shared_store(), "--workers", "1", "--max-queue-per-model", "1",
                    "--io-threads", "2") as s:
            s.invoke(m, "warm")  # load it first: the burst measures the queue, not the load
            results = concurrently(24, lambda i: s.request("POST", f"/models/{m}/invoke", body))
            failures = [r for r in results if not isinstance(r, tuple)]
            self.assertEqual(failures, [], "a request got no HTTP answer")
            statuses = [r[0] for r in results]
            print(f"{statuses.count(200)} x 200, {statuses.count(429)} x 429")
            self.assertTrue(set(statuses) <= {200, 429}, statuses)
            self.assertIn(429, statuses)
            self.assertIn(200, statuses)
            for status, headers, data in results:
                if status == 429:
                    self.assertIn("retry-after", headers)
                    self.assertGreaterEqual(int(headers["retry-after"]), 1)
                    assert_error_json(self, data)
                else:
                    self.assertEqual(len(json.loads(data)["predictions"]), len(texts))
            # The queue drains: the model serves again.
            self.assertEqual(s.status("POST", f"/models/{m}/invoke", {"text": "hello"}), 200)


class ThreadCountTest(unittest.TestCase):
    def test_thread_count_does_not_grow_with_loaded_models(self):
        source = harness.tenants()[2]
        text = harness.ticket_text(source)
        with TempStore() as store:
            names = [store.add(f"copy-{i:03d}", source) for i in range(300)]
            with Server(store.dir, "--workers", "2") as s:
                for m in names[:10]:
                    s.invoke(m, text)
                time.sleep(0.5)
                with_10 = s.thread_count()
                for m in names[10:]:
                    s.invoke(m, text)
                time.sleep(0.5)
                with_300 = s.thread_count()
                self.assertEqual(metric(s.metrics(), "modelmux_loaded_models"), 300)
                print(f"threads: {with_10} with 10 models loaded, {with_300} with 300")
                self.assertEqual(with_300, with_10, f"threads: {with_10} with 10 models, {with_300} with 300")


if __name__ == "__main__":
    unittest.main()
