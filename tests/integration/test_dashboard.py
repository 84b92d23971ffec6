"""The operator's dashboard (issue 17) in a real browser: headless Chromium
(Debian's chromium, chromium-driver and python3-selenium) against the real
server under generated traffic.

One server (A) serves six tenants of the shared store under a budget of
three, with LRU eviction, a 250 ms sampler and a peer (B) named by
--dashboard-peers; a thread keeps two tenants busy. The tests check that the
page loads with no console errors, that its charts receive data, that the
tenants table shows the right states after a load, an eviction and a failure
(a corrupt model.pt), that sorting and search work, that the actions are off
without admin credentials and, with them, work with the admin token typed
into the page and are refused without it or with an API token, the fleet
cards, and that the
Grafana dashboard in deploy/grafana queries only metrics the server exports.

The browser log is read after every test: any SEVERE entry (a script error,
a failed load, a CSP violation) fails it.
"""

import json
import os
import re
import threading
import time
import unittest

import browser
import harness
from harness import Server, TempStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRAFANA = os.path.join(REPO, "deploy", "grafana", "modelmux.json")
README = os.path.join(REPO, "README.md")

BUSY = ("acme-a", "acme-b")  # the traffic thread's tenants
LOADED, COLD, BROKEN = "bolt-c", "bolt-d", "corp-broken"  # loaded then evicted; cold; corrupt


def rows(b):
    """The tenants table as the page shows it now: [{name, state, note, requests, ...}], in order."""
    return b.js("""
        return [...document.querySelectorAll('#tenant-table tbody tr')].map(tr => ({
          name: tr.dataset.name, state: tr.dataset.state,
          note: (tr.querySelector('td.state .why') || {}).textContent || '',
          requests: Number(tr.querySelector('td.requests').textContent),
          pinned: tr.querySelector('td.pinned').textContent,
          actions: [...tr.querySelectorAll('td.actions button')].map(x => ({label: x.dataset.action,
                                                                             disabled: x.disabled}))}));""")


def row(b, name):
    return next((r for r in rows(b) if r["name"] == name), None)


def set_control(b, element_id, value, event):
    """Sets a control's value and fires the event the page listens to, as typing or choosing does."""
    b.js("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
         "e.dispatchEvent(new Event(arguments[2]))", element_id, value, event)


def events(b, kind):
    """The text of each recent event of this kind the page lists."""
    return b.js("return [...document.querySelectorAll('#events li')].filter(li => li.dataset.kind === arguments[0])"
                ".map(li => li.textContent)", kind)


class Traffic:
    """Invokes the busy tenants from a thread until stopped."""

    def __init__(self, server):
        self.server = server
        self.stopped = threading.Event()
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        text = harness.ticket_text(harness.tenants()[0])
        i = 0
        while not self.stopped.is_set():
            status, _, body = self.server.request("POST", f"/models/{BUSY[i % 2]}/invoke", {"text": text})
            if status != 200:
                self.errors.append((status, body[:200]))
            i += 1
            self.stopped.wait(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(10)


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sources = harness.tenants()
        cls.store = TempStore()
        for i, name in enumerate((*BUSY, LOADED, COLD, "corp-e", BROKEN)):
            cls.store.add(name, sources[i])
        cls.store.corrupt(BROKEN)
        cls.peer = Server(cls.store.dir, "--workers", "1", "--dashboard-interval", "250").start()
        try:
            cls.server = Server(cls.store.dir, "--workers", "1", "--memory-budget", "2M",
                                "--eviction-policy", "lru", "--failure-backoff", "60000",
                                "--dashboard-interval", "250",
                                "--dashboard-peers", f"127.0.0.1:{cls.peer.port}").start()
        except BaseException:
            cls.peer.terminate()
            raise
        cls.traffic = Traffic(cls.server).__enter__()
        cls.browser = browser.Browser()
        cls.browser.get(f"http://127.0.0.1:{cls.server.port}/dashboard")

    @classmethod
    def tearDownClass(cls):
        cls.traffic.__exit__()
        cls.browser.close()
        for s in (cls.server, cls.peer):
            s.terminate()
            s.cleanup()
        cls.store.cleanup()

    def tearDown(self):
        self.assertEqual(self.browser.severe_console_messages(), [], "the browser logged errors")

    def wait(self, predicate, what, timeout=15):
        return self.browser.wait(lambda b: predicate(), timeout, what)

    # ------------------------------------------------------------ the page

    def test_1_page_loads_and_the_charts_receive_data(self):
        b = self.browser
        self.wait(lambda: b.find("#ready").text == "ready", "the header to say ready")
        self.assertEqual(b.find("#store").text, self.store.dir)
        self.assertIn("of 2.00 MiB", b.find("#memory").text)
        self.assertRegex(b.find("#version").text, r"^modelmux \d+\.\d+\.\d+$")
        counts = lambda: b.js("""
            return ['chart-requests', 'chart-hits', 'chart-cold', 'chart-memory', 'chart-models',
                    'chart-evictions'].map(id => Chart.getChart(id).data.datasets.map(d => d.data.length));""")
        self.wait(lambda: all(n >= 4 for chart in counts() for n in chart), "every chart to get 4 samples")
        # The traffic shows: ok requests, a hit ratio, memory against the 2 MiB budget, loaded models.
        ok = b.js("return Chart.getChart('chart-requests').data.datasets[0].data.map(p => p.y)")
        self.assertGreater(max(ok), 5, ok)
        hits = b.js("return Chart.getChart('chart-hits').data.datasets[0].data.map(p => p.y)")
        self.assertTrue(any(h is not None and h > 50 for h in hits), hits)
        budget = b.js("return Chart.getChart('chart-memory').data.datasets[1].data.map(p => p.y)")
        self.assertAlmostEqual(budget[-1], 2.0, places=3)
        loaded = b.js("return Chart.getChart('chart-models').data.datasets[0].data.map(p => p.y)")
        self.assertGreaterEqual(loaded[-1], 2)
        # The history is there the moment a page opens: a reloaded page draws, from its first answer,
        # every sample the first page had, all taken before it opened.
        before = b.js("return Chart.getChart('chart-requests').data.datasets[0].data.length")
        b.driver.refresh()
        first = self.wait(lambda: b.js("const c = typeof Chart !== 'undefined' && Chart.getChart('chart-requests');"
                                       "return c && c.data.datasets[0].data.length && c.data.datasets[0].data"),
                          "the reloaded page's charts")
        self.assertGreaterEqual(len(first), before)
        self.assertLess(first[before - 1]["x"], b.js("return performance.timeOrigin"))
        self.assertEqual(self.traffic.errors, [])

    # ----------------------------------------------------------- the tenants

    def test_2_states_after_a_load_an_eviction_and_a_failure(self):
        b, s = self.browser, self.server
        self.wait(lambda: all((row(b, m) or {}).get("state") == "READY" for m in BUSY), "the busy tenants")

        s.json("POST", f"/v2/repository/models/{LOADED}/load", {})
        self.wait(lambda: (row(b, LOADED) or {}).get("state") == "READY", f"{LOADED} READY after its load")
        self.wait(lambda: any(LOADED in e for e in events(b, "loaded")), "the load in the events")

        # A fourth model: LRU evicts the one nobody used since its load.
        s.invoke(COLD, "where is my order")
        self.wait(lambda: (row(b, LOADED) or {}).get("state") == "UNLOADED", f"{LOADED} UNLOADED after eviction")
        self.assertRegex(row(b, LOADED)["note"], r"^evicted \d+ s ago$")
        self.wait(lambda: (row(b, COLD) or {}).get("state") == "READY", f"{COLD} READY")
        self.assertEqual(s.index()[COLD]["state"], "READY")

        status, _, body = s.request("POST", f"/models/{BROKEN}/invoke", {"text": "hello"})
        self.assertEqual(status, 500, body)
        self.wait(lambda: (row(b, BROKEN) or {}).get("state") == "FAILED", f"{BROKEN} FAILED")
        reason = row(b, BROKEN)["note"]
        self.assertEqual(reason, s.index()[BROKEN]["reason"])
        self.assertIn("model.pt", reason)
        self.wait(lambda: any(BROKEN in e for e in events(b, "failed")), "the failure in the events")
        self.assertTrue(any(LOADED in e for e in events(b, "evicted")), events(b, "evicted"))

        # Every row the page shows agrees with the repository index.
        index = s.index()
        for r in rows(b):
            if r["state"] != "UNLOADED":
                self.assertEqual(r["state"], index[r["name"]]["state"], r)
        self.assertEqual(self.traffic.errors, [])

    def test_3_sorting(self):
        b = self.browser
        self.wait(lambda: len(rows(b)) >= 4, "the table")

        def click_and_wait(key, order):
            b.find(f'th[data-sort="{key}"]').click()
            self.wait(lambda: b.js("const c = document.querySelector(`th[data-sort='${arguments[0]}']`).classList;"
                                   "return c.contains('sorted') && c.contains(arguments[1])", key, order),
                      f"the {key} header to show {order}")
            return self.wait(lambda: (lambda r: r if r and r[0]["name"] else None)(rows(b)), "rows")

        names = [r["name"] for r in click_and_wait("name", "asc")]
        self.assertEqual(names, sorted(names))
        self.assertEqual(names[0], BUSY[0])
        names = [r["name"] for r in click_and_wait("name", "desc")]
        self.assertEqual(names, sorted(names, reverse=True))
        # Requests: the busy tenants first, in order, whatever the traffic adds meanwhile.
        ordered = click_and_wait("requests", "desc")
        counts = [r["requests"] for r in ordered]
        self.assertEqual(counts, sorted(counts, reverse=True))
        self.assertEqual({r["name"] for r in ordered[:2]}, set(BUSY))

    def test_4_search_and_state_filter(self):
        b = self.browser
        b.find("#search").send_keys("ACME")  # typed, as an operator would
        self.wait(lambda: sorted(r["name"] for r in rows(b)) == list(BUSY), "only the acme tenants")
        self.assertTrue(b.find("#page-info").text.endswith("of 2"), b.find("#page-info").text)
        set_control(b, "search", "bolt", "input")
        self.wait(lambda: {r["name"] for r in rows(b)} == {LOADED, COLD}, "only the bolt tenants")
        set_control(b, "search", "", "input")
        self.wait(lambda: len(rows(b)) >= 5, "every tenant back")
        set_control(b, "state-filter", "FAILED", "change")
        self.wait(lambda: [r["name"] for r in rows(b)] == [BROKEN], "only the failed tenant")
        set_control(b, "state-filter", "", "change")
        self.wait(lambda: len(rows(b)) >= 5, "every tenant back")

    # ------------------------------------------------------------- actions

    def test_5_actions_are_off_without_admin_credentials(self):
        b = self.browser
        self.wait(lambda: "no admin token" in b.find("#actions-message").text, "the actions message")
        self.assertEqual(self.server.json("GET", "/v2/dashboard?sections=summary")["actions"]["admin_auth"], False)
        busy = self.wait(lambda: row(b, BUSY[0]), "a row")
        self.assertEqual([a["label"] for a in busy["actions"]], ["pin", "unload"])
        self.assertTrue(all(a["disabled"] for a in busy["actions"]), busy)
        # A token typed in does not turn them on: the server has no admin credential to check it against.
        b.find("#token").send_keys("anything")
        b.find("#token-use").click()
        time.sleep(1.5)
        self.assertTrue(all(a["disabled"] for r in rows(b) for a in r["actions"]))
        b.find("#token-forget").click()

    def test_6_actions_with_the_admin_token(self):
        admin, api = "s3cret-admin-token-0001", "s3cret-api-token-0001"
        with harness.temp_file(admin + "\n") as admin_file, harness.temp_file(api + "\n") as api_file, \
                Server(self.store.dir, "--workers", "1", "--admin-token-file", admin_file,
                       "--api-token-file", api_file, "--dashboard-interval", "250") as s, browser.Browser() as b:
            # The page is open (no data in it); its data is an API route.
            self.assertEqual(s.status("GET", "/dashboard"), 200)
            self.assertEqual(s.status("GET", "/v2/dashboard"), 401)
            status, _, body = s.request("POST", f"/models/{BUSY[0]}/invoke", {"text": "hello"},
                                        {"Authorization": f"Bearer {api}"})
            self.assertEqual(status, 200, body)
            b.get(f"http://127.0.0.1:{s.port}/dashboard")
            b.wait(lambda _: "wants a token" in b.find("#status").text, 15, "the page to ask for a token")

            # An API token reads the dashboard, but the management route refuses the pin.
            b.find("#token").send_keys(api)
            b.find("#token-use").click()
            target = b.wait(lambda _: row(b, BUSY[0]), 15, "the row, read with the API token")
            self.assertIn("need this server's admin token", b.find("#actions-message").text)
            self.assertEqual([a["label"] for a in target["actions"]], ["pin", "unload"])
            self.assertFalse(any(a["disabled"] for a in target["actions"]), "a token is typed in: buttons on")
            pin = "document.querySelector('#tenant-table tr[data-name=\"%s\"] button[data-action=%s]').click()"
            b.js(pin % (BUSY[0], "pin"))
            b.wait(lambda _: "refused (403)" in b.find("#action-result").text, 15, "the refusal")
            index = lambda: {e["name"]: e for e in s.json("POST", "/v2/repository/index", {},
                                                          {"Authorization": f"Bearer {admin}"})}
            self.assertFalse(index()[BUSY[0]]["pinned"])
            # Without any token, the management route says 401.
            status, _, _ = s.request("POST", f"/v2/repository/models/{BUSY[0]}/load", {"parameters": {"pin": True}})
            self.assertEqual(status, 401)

            # The admin token: pinned, then unpinned, from the page.
            b.find("#token-forget").click()
            b.find("#token").send_keys(admin)
            b.find("#token-use").click()
            b.js(pin % (BUSY[0], "pin"))
            b.wait(lambda _: (row(b, BUSY[0]) or {}).get("pinned") == "pinned", 15, "the row to say pinned")
            self.assertTrue(index()[BUSY[0]]["pinned"])
            b.js(pin % (BUSY[0], "unpin"))
            b.wait(lambda _: (row(b, BUSY[0]) or {}).get("pinned") == "", 15, "the row to say unpinned")
            self.assertFalse(index()[BUSY[0]]["pinned"])
            # The refused calls (401 before the token, 403 for the API token's pin) are all the
            # browser may complain about.
            noise = [m for m in b.severe_console_messages() if not re.search(r"status of 40[13]", m)]
            self.assertEqual(noise, [])

        # With only admin tokens the data stays open and says the actions are possible.
        with harness.temp_file(admin + "\n") as admin_file, \
                Server(self.store.dir, "--workers", "1", "--admin-token-file", admin_file) as s:
            self.assertTrue(s.json("GET", "/v2/dashboard?sections=summary")["actions"]["admin_auth"])

    # ---------------------------------------------------------------- fleet

    def test_7_fleet_cards(self):
        b = self.browser
        card = f'[data-peer="127.0.0.1:{self.peer.port}"]'
        self.wait(lambda: "· ready" in b.find(card).text, "the peer's card (--dashboard-peers)")
        self.assertIn("loaded", b.find(card).text)
        # The other way round, from the page's own ?peers=.
        with browser.Browser() as other:
            other.get(f"http://127.0.0.1:{self.peer.port}/dashboard?peers=127.0.0.1:{self.server.port}")
            card = f'[data-peer="127.0.0.1:{self.server.port}"]'
            other.wait(lambda _: "· ready" in other.find(card).text, 15, "the card from ?peers=")
            self.assertRegex(other.find(card).text, r"\d+ loaded")
            self.assertEqual(other.severe_console_messages(), [])

    # ------------------------------------------------------- JSON, Grafana

    def test_8_json_pages_for_other_tools(self):
        status, headers, body = self.server.request("GET", "/v2/dashboard?sort=name&limit=2&offset=1")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertEqual(headers["cache-control"], "no-store")
        d = json.loads(body)
        names = [r["name"] for r in d["tenants"]["rows"]]
        self.assertEqual(len(names), 2)
        self.assertEqual(names, sorted(names))
        self.assertGreaterEqual(d["tenants"]["matched"], 5)
        status, _, body = self.server.request("GET", "/v2/dashboard?sort=size")
        self.assertEqual(status, 400)
        harness.assert_error_json(self, body, "sort")

    def test_9_grafana_queries_only_exported_metrics(self):
        with open(GRAFANA, encoding="utf-8") as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        self.assertGreater(len(exprs), 10)
        used = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"modelmux_[a-z_]+", e)}
        with open(README, encoding="utf-8") as f:
            documented = set(re.findall(r"^\| `(modelmux_[a-z_]+)", f.read(), re.MULTILINE))
        self.assertEqual(used - documented, set(), "Grafana queries metrics the README does not list")
        exported = set(re.findall(r"^# TYPE (modelmux_[a-z_]+) ", self.server.metrics(), re.MULTILINE))
        core = {m for m in used if "disk_cache" not in m and "download" not in m and "store_errors" not in m}
        self.assertEqual(core - exported, set(), "Grafana queries metrics the server does not export")


if __name__ == "__main__":
    unittest.main()
