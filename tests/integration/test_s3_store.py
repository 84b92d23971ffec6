"""The S3 store end to end against a real S3 API (s3rver on loopback): models
uploaded by the test are served; the disk cache serves reloads without a GET
(also after a restart) and keeps its budget, oldest first; an updated object
is served after a reload while the old version answers until the swap; a store
outage leaves loaded models serving and gives cold ones a clear 503; a
truncated or corrupt download is rejected, never cached, and retried."""

import os
import socket
import threading
import time

import harness
import s3_harness
from harness import assert_error_json, metric
from s3_harness import S3TestCase, wait_for


def labels_of(tenant):
    with open(os.path.join(harness.shared_store(), tenant, "labels.txt"), encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


def files_bytes(tenant):
    d = os.path.join(harness.shared_store(), tenant)
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def top_label(answer):
    return answer["predictions"][0][0]["label"]


def cache_entries(cache_dir):
    entries = os.path.join(cache_dir, "entries")
    return sorted(os.listdir(entries)) if os.path.isdir(entries) else []


class S3StoreTest(S3TestCase):
    def test_serves_tenants_uploaded_to_the_bucket(self):
        names = harness.tenants()[:4]
        answers, _ = self.reference(names)
        for t in names[:3]:
            self.upload_tenant("e2e", t, t, form="archive")
        self.upload_tenant("e2e", names[3], names[3], form="directory")
        # Page size 2: the index needs ListObjectsV2 continuation tokens.
        with self.server("e2e", "--s3-list-page-size", "2") as s:
            self.assertEqual(sorted(s.index()), sorted(names))
            for t in names:
                self.assertEqual(s.invoke(t, harness.ticket_text(t)), answers[t], t)
            text = s.metrics()
            self.assertEqual(metric(text, "modelmux_disk_cache_misses_total"), 4)
            self.assertEqual(metric(text, "modelmux_model_download_seconds_count"), 4)
            self.assertGreater(metric(text, "modelmux_model_download_bytes_total"), 0)
            status, _, body = s.request("POST", "/models/no-such-model/invoke", {"text": "hi"})
            self.assertEqual(status, 404, body)
            assert_error_json(self, body, "no-such-model", "s3://models/e2e")
        # One lookup per cold load: each archive was asked for once, its GET
        # used what that HEAD found.
        for t in names:
            self.assertEqual(len(self.s3.requests("HEAD", f"e2e/{t}.tar.gz")), 1, t)
        listing = [r for r in self.s3.requests("GET") if r[1] == f"/{s3_harness.BUCKET}/"]
        self.assertGreaterEqual(len(listing), 3)

    def test_reload_after_memory_eviction_is_served_from_disk_without_a_get(self):
        a, b = harness.tenants()[4], harness.tenants()[5]
        answers, sizes = self.reference([a, b])
        for t in (a, b):
            self.upload_tenant("evict", t, t)
        cache = self.temp_dir("cache")
        budget = str(int(1.5 * max(sizes.values())))  # one model at a time
        args = ("--memory-budget", budget, "--disk-cache", cache, "--disk-cache-budget", "100M")
        with self.server("evict", *args) as s:
            self.assertEqual(s.invoke(a, harness.ticket_text(a)), answers[a])
            self.assertEqual(s.invoke(b, harness.ticket_text(b)), answers[b])
            self.assertNotEqual(s.index()[a]["state"], "READY")  # evicted from memory
            self.assertEqual(s.invoke(a, harness.ticket_text(a)), answers[a])
            self.assertEqual(self.s3.wait_gets(f"evict/{a}.tar.gz", 1), 1)
            self.assertGreaterEqual(metric(s.metrics(), "modelmux_disk_cache_hits_total"), 1)
            self.assertGreaterEqual(metric(s.metrics(), "modelmux_evictions_total"), 1)
        self.assertEqual(cache_entries(cache), sorted([a, b]))
        # A restart with the same --disk-cache reuses the entries.
        with self.server("evict", *args) as s:
            self.assertEqual(s.invoke(b, harness.ticket_text(b)), answers[b])
            self.assertEqual(metric(s.metrics(), "modelmux_disk_cache_hits_total"), 1)
            self.assertEqual(metric(s.metrics(), "modelmux_disk_cache_misses_total"), 0)
        self.assertEqual(self.s3.wait_gets(f"evict/{b}.tar.gz", 1), 1)

    def test_disk_budget_holds_under_churn_and_evicts_the_oldest(self):
        churn = harness.tenants()[:5]
        for t in churn:
            self.upload_tenant("churn", t, t)
        cache = self.temp_dir("cache")
        budget = int(2.5 * max(files_bytes(t) for t in churn))  # room for two
        with self.server("churn", "--disk-cache", cache, "--disk-cache-budget", str(budget)) as s:
            for t in churn:
                s.invoke(t, harness.ticket_text(t))
                self.assertLessEqual(metric(s.metrics(), "modelmux_disk_cache_used_bytes"), budget)
            self.assertEqual(cache_entries(cache), sorted(churn[-2:]))
            self.assertEqual(metric(s.metrics(), "modelmux_disk_cache_evictions_total"), 3)

    def test_updated_object_is_served_after_reload_and_the_old_answers_until_the_swap(self):
        names = harness.tenants()
        old, new = names[0], next(t for t in names if not labels_of(t) & labels_of(names[0]))
        text = harness.ticket_text(old)
        self.upload_tenant("fresh", "tenant-m", old)
        with self.server("fresh") as s:
            self.assertIn(top_label(s.invoke("tenant-m", text)), labels_of(old))
            self.upload_tenant("fresh", "tenant-m", new)
            self.assertIn(top_label(s.invoke("tenant-m", text)), labels_of(old))  # not reloaded yet

            seen, stop = [], threading.Event()

            def hammer():
                while not stop.is_set():
                    status, _, body = s.request("POST", "/models/tenant-m/invoke", {"text": text})
                    seen.append((status, body))

            thread = threading.Thread(target=hammer)
            thread.start()
            try:
                s.json("POST", "/v2/repository/models/tenant-m/load", {})
                after = top_label(s.invoke("tenant-m", text))
            finally:
                stop.set()
                thread.join()
            self.assertIn(after, labels_of(new))
            self.assertTrue(seen)
            for status, body in seen:  # every answer whole, from one version or the other
                self.assertEqual(status, 200, body)
            # A load with no change does not download again.
            gets = self.s3.gets("fresh/tenant-m.tar.gz")
            s.json("POST", "/v2/repository/models/tenant-m/load", {})
            self.assertEqual(self.s3.gets("fresh/tenant-m.tar.gz"), gets)

    def test_refresh_interval_reloads_changed_models_in_the_background(self):
        names = harness.tenants()
        first, second = names[1], next(t for t in names if not labels_of(t) & labels_of(names[1]))
        text = harness.ticket_text(first)
        self.upload_tenant("refresh", "tenant-r", first)
        with self.server("refresh", "--refresh-interval", "1") as s:
            self.assertIn(top_label(s.invoke("tenant-r", text)), labels_of(first))
            self.upload_tenant("refresh", "tenant-r", second)
            wait_for(lambda: top_label(s.invoke("tenant-r", text)) in labels_of(second), 20,
                     "the background refresh to serve the new version")

    def test_store_down_keeps_loaded_models_and_fails_cold_ones_clearly(self):
        warm, cold = harness.tenants()[6], harness.tenants()[7]
        for t in (warm, cold):
            self.upload_tenant("down", t, t)
        with self.server("down", "--s3-max-attempts", "2", "--failure-backoff", "200") as s:
            before = s.invoke(warm, harness.ticket_text(warm))
            self.s3.stop()
            try:
                self.assertEqual(s.invoke(warm, harness.ticket_text(warm)), before)
                status, headers, body = s.request("POST", f"/models/{cold}/invoke", {"text": "hello"})
                self.assertEqual(status, 503, body)
                assert_error_json(self, body, "cannot reach the store", f"s3://models/down/{cold}")
                self.assertGreaterEqual(metric(s.metrics(), "modelmux_store_errors_total"), 2)
            finally:
                self.s3.start()
            s.wait_until(lambda: s.status("POST", f"/models/{cold}/invoke", {"text": "hello"}) == 200, 20,
                         "the cold model to load once the store is back")

    def test_truncated_or_corrupt_download_is_rejected_never_cached_and_retried(self):
        good, bad = harness.tenants()[8], harness.tenants()[9]
        for t in (good, bad):
            self.upload_tenant("faulty", t, t)
        proxy = s3_harness.FaultyProxy(self.s3.port)
        cache = self.temp_dir("cache")
        try:
            with self.server("faulty", "--s3-max-attempts", "3", "--failure-backoff", "200", "--disk-cache",
                             cache, endpoint=proxy.endpoint) as s:
                proxy.fail_next(f"faulty/{good}.tar.gz", "truncate")
                s.invoke(good, harness.ticket_text(good))
                self.assertEqual(self.s3.wait_gets(f"faulty/{good}.tar.gz", 2), 2)  # the truncated one, then a whole one

                proxy.fail_next(f"faulty/{bad}.tar.gz", "corrupt", times=3)  # every attempt
                status, _, body = s.request("POST", f"/models/{bad}/invoke", {"text": "hello"})
                self.assertTrue(500 <= status < 600, f"{status} {body!r}")
                assert_error_json(self, body, "corrupt", f"s3://models/faulty/{bad}.tar.gz")
                self.assertEqual(self.s3.wait_gets(f"faulty/{bad}.tar.gz", 3), 3)
                self.assertEqual(cache_entries(cache), [good])  # nothing of the corrupt one kept
                errors = harness.metric_samples(s.metrics(), "modelmux_store_errors_total")
                self.assertIn(('{kind="corrupt"}', 3.0), errors)
                self.assertIn(('{kind="network"}', 1.0), errors)

                # The fault is gone: the retry after the back-off loads it.
                s.wait_until(lambda: s.status("POST", f"/models/{bad}/invoke", {"text": "hello"}) == 200, 20,
                             "the model to load once downloads are whole")
                self.assertEqual(cache_entries(cache), sorted([good, bad]))
        finally:
            proxy.stop()

    def test_stalled_download_is_cut_by_the_low_speed_limit_and_retried(self):
        t = harness.tenants()[10]
        answers, _ = self.reference([t])
        self.upload_tenant("stall", t, t)
        proxy = s3_harness.FaultyProxy(self.s3.port)
        cache = self.temp_dir("cache")
        try:
            with self.server("stall", "--s3-low-speed-time", "1", "--disk-cache", cache,
                             endpoint=proxy.endpoint) as s:
                proxy.fail_next(f"stall/{t}.tar.gz", "stall")
                self.assertEqual(s.invoke(t, harness.ticket_text(t)), answers[t])
                self.assertEqual(self.s3.wait_gets(f"stall/{t}.tar.gz", 2), 2)  # the stalled one, then a whole one
                errors = harness.metric_samples(s.metrics(), "modelmux_store_errors_total")
                self.assertIn(('{kind="slow"}', 1.0), errors)
                self.assertEqual(cache_entries(cache), [t])
        finally:
            proxy.stop()

    def test_hung_store_load_is_abandoned_at_the_load_timeout(self):
        hole = BlackHole()
        try:
            with self.server("hung", "--load-timeout", "2", "--failure-backoff", "60000",
                             endpoint=hole.endpoint) as s:
                answer = {}

                def invoke():
                    start = time.monotonic()
                    answer["reply"] = s.request("POST", "/models/cold-m/invoke", {"text": "hello"})
                    answer["seconds"] = time.monotonic() - start

                caller = threading.Thread(target=invoke)
                caller.start()
                time.sleep(0.5)
                self.assertEqual(s.status("GET", "/ping"), 200)  # the instance stays alive meanwhile
                caller.join(30)
                self.assertFalse(caller.is_alive(), "the invoke was never answered")
                status, _, body = answer["reply"]
                self.assertIn(status, (503, 504), body)
                assert_error_json(self, body, "cold-m", "load timeout (2 s)")
                self.assertLess(answer["seconds"], 10)  # a bound on a hang, not a performance figure
                # During the back-off the reason is answered at once.
                status, _, body = s.request("POST", "/models/cold-m/invoke", {"text": "hello"})
                self.assertIn(status, (503, 504), body)
                assert_error_json(self, body, "load timeout")


                def stopped_requests():
                    errors = dict(harness.metric_samples(s.metrics(), "modelmux_store_errors_total"))
                    return errors.get('{kind="cancelled"}', 0) + errors.get('{kind="deadline"}', 0)

                # The HEAD in flight is aborted too (within curl's progress interval).
                s.wait_until(lambda: stopped_requests() >= 1, 10, "the abandoned HEAD to stop")
            self.assertEqual(s.returncode, 0)  # the HEAD was aborted: nothing stuck at shutdown
        finally:
            hole.stop()


class BlackHole:
    """A TCP endpoint that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((harness.LOOPBACK, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://{harness.LOOPBACK}:{self.port}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()


if __name__ == "__main__":
    import unittest

    unittest.main()
