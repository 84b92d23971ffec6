// The modelmux dashboard: polls GET /v2/dashboard (one page of tenants, the
// samples it has not seen yet), draws the charts with Chart.js, and calls the
// management routes for the actions with the admin token typed in (kept in
// sessionStorage, sent only as an Authorization header).
'use strict';

(() => {
  const HISTORY_MS = 15 * 60 * 1000;
  const TOKEN_KEY = 'modelmux.adminToken';
  const $ = (id) => document.getElementById(id);

  const view = {sort: 'requests', order: 'desc', q: '', state: '', offset: 0, limit: 50};
  let lastSample = 0;  // ms of the newest sample drawn
  let pollMs = 5000;
  let pollTimer = null;
  let inFlight = null;  // the AbortController of the running fetch
  let adminAuth = false;
  const charts = {};
  const peers = new Set();

  // ------------------------------------------------------------ formatting

  function fmtBytes(n) {
    if (n == null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtSeconds(s) {
    if (s == null) return '–';
    if (s < 1e-3) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + ' ms';
    return s.toFixed(s < 10 ? 2 : 1) + ' s';
  }
  function fmtRate(r) {
    if (r == null) return '–';
    return (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + '/s';
  }
  function fmtRatio(r) {
    return r == null ? '–' : (r * 100).toFixed(1) + '%';
  }
  function fmtDuration(s) {
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function fmtClock(ms) {
    const d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
  }
  function fmtAgo(ms, now) {
    if (ms == null) return '–';
    return fmtDuration(Math.max(0, Math.round((now - ms) / 1000))) + ' ago';
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  // ---------------------------------------------------------------- charts

  const COLORS = {
    ok: '#2e8b57',
    error: '#c0392b',
    throttled: '#b7791f',
    timeout: '#8e44ad',
    blue: '#2f6fd6',
    grey: '#7f8c8d',
    teal: '#16a085'
  };

  // [canvas id, [[label, series key, color, y axis, transform]]]
  const CHARTS = [
    [
      'chart-requests',
      [
        ['ok', 'ok', COLORS.ok], ['error', 'error', COLORS.error],
        ['throttled', 'throttled', COLORS.throttled], ['timeout', 'timeout', COLORS.timeout]
      ]
    ],
    ['chart-hits', [['hit ratio %', 'hit_ratio', COLORS.blue, 'y', (v) => (v == null ? null : v * 100)]]],
    [
      'chart-cold',
      [
        ['cold starts/s', 'cold_starts', COLORS.throttled],
        ['load p50 (ms)', 'load_p50', COLORS.teal, 'y1', (v) => (v == null ? null : v * 1e3)],
        ['load p99 (ms)', 'load_p99', COLORS.error, 'y1', (v) => (v == null ? null : v * 1e3)]
      ]
    ],
    [
      'chart-memory',
      [
        ['used (MiB)', 'memory_used', COLORS.blue, 'y', (v) => v / 1048576],
        ['budget (MiB)', 'memory_budget', COLORS.grey, 'y', (v) => v / 1048576]
      ]
    ],
    [
      'chart-models',
      [['loaded models', 'loaded_models', COLORS.blue], ['queued requests', 'queued', COLORS.throttled, 'y1']]
    ],
    [
      'chart-evictions',
      [['evictions/s', 'evictions', COLORS.throttled], ['load failures/s', 'load_failures', COLORS.error]]
    ],
  ];

  function makeChart(id, lines) {
    const usesY1 = lines.some((l) => l[3] === 'y1');
    const scales = {
      x: {type: 'linear', ticks: {callback: (v) => fmtClock(v).slice(0, 5), stepSize: 3 * 60 * 1000}},
      y: {beginAtZero: true, ticks: {maxTicksLimit: 5}},
    };
    if (usesY1)
      scales.y1 =
          {beginAtZero: true, position: 'right', grid: {drawOnChartArea: false}, ticks: {maxTicksLimit: 5}};
    if (id === 'chart-hits') {
      scales.y.max = 100;
    }
    charts[id] = {
      lines,
      chart: new Chart($(id), {
        type: 'line',
        data: {
          datasets: lines.map(([label, , color, axis]) => ({
                                label,
                                data: [],
                                borderColor: color,
                                backgroundColor: color,
                                borderWidth: 1.5,
                                pointRadius: 0,
                                tension: 0.2,
                                yAxisID: axis || 'y',
                                spanGaps: false
                              }))
        },
        options: {
          animation: false,
          parsing: false,
          normalized: true,
          maintainAspectRatio: false,
          interaction: {mode: 'index', intersect: false},
          scales,
          plugins: {
            legend: {labels: {boxWidth: 10, boxHeight: 10}},
            tooltip: {callbacks: {title: (items) => (items.length ? fmtClock(items[0].parsed.x) : '')}}
          },
        },
      }),
    };
  }

  function drawSeries(series, now) {
    if (typeof Chart === 'undefined') return;
    if (!charts[CHARTS[0][0]]) CHARTS.forEach(([id, lines]) => makeChart(id, lines));
    const t = series.t || [];
    for (const {lines, chart} of Object.values(charts)) {
      lines.forEach(([, key, , , transform], i) => {
        const data = chart.data.datasets[i].data;
        const values = series[key] || [];
        for (let j = 0; j < t.length; j++) {
          const v = values[j] === undefined ? null : values[j];
          data.push({x: t[j], y: transform ? transform(v) : v});
        }
        while (data.length && data[0].x < now - HISTORY_MS) data.shift();
      });
      chart.options.scales.x.min = now - HISTORY_MS;
      chart.options.scales.x.max = now;
      chart.update('none');
    }
    if (t.length) lastSample = t[t.length - 1];
  }

  // ---------------------------------------------------------------- header

  function drawHeader(d) {
    const s = d.server;
    const ready = $('ready');
    ready.textContent = s.ready ? 'ready' : 'not ready';
    ready.className = 'badge ' + (s.ready ? 'ok' : 'bad');
    $('version').textContent = s.name + ' ' + s.version;
    $('uptime').textContent = fmtDuration(s.uptime_seconds);
    $('store').textContent = s.store;
    $('memory').textContent = fmtBytes(s.memory_used_bytes) + ' of ' + fmtBytes(s.memory_budget_bytes);
    $('memory-bar').style.width =
        Math.min(100, (100 * s.memory_used_bytes) / Math.max(1, s.memory_budget_bytes)) + '%';
    $('loaded').textContent = s.loaded_models;
    $('queued').textContent = s.queued;
    const m = d.summary;
    $('rps').textContent = fmtRate(m.requests_per_second);
    $('hit-ratio').textContent = fmtRatio(m.hit_ratio);
    $('cold').textContent = fmtRate(m.cold_starts_per_second);
    $('window').textContent = Math.round(d.window_seconds / 60) + ' minutes';
    $('interval').textContent = d.sample_interval_seconds + ' s';
    document.title = 'modelmux ' + (s.ready ? '' : '(not ready) ') + '· ' + s.store;
  }

  function setStatus(text, bad) {
    const st = $('status');
    st.textContent = text;
    st.className = 'status' + (bad ? ' bad' : '');
  }

  // --------------------------------------------------------------- tenants

  function actionButtons(row) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const enabled = adminAuth && !!token;
    const why = !adminAuth ? $('actions-message').textContent : token ? '' : 'enter the admin token first';
    const buttons = [];
    const add = (label, fn) => {
      const b = el('button', label);
      b.type = 'button';
      b.dataset.action = label;
      b.disabled = !enabled;
      if (why) b.title = why;
      b.addEventListener('click', fn);
      buttons.push(b);
    };
    const load = (pin) => manage(row.name, 'load', pin == null ? {} : {parameters: {pin}});
    if (row.state === 'READY') {
      add(row.pinned ? 'unpin' : 'pin', () => load(!row.pinned));
      add('unload', () => manage(row.name, 'unload', {}));
    } else if (row.state === 'FAILED') {
      add('load', () => load(null));
      add('unload', () => manage(row.name, 'unload', {}));
    } else if (row.state === 'UNLOADED') {
      add('load', () => load(null));
    }
    return buttons;
  }

  function drawTenants(t, now) {
    const body = document.querySelector('#tenant-table tbody');
    const rows = t.rows.map((r) => {
      const tr = el('tr');
      tr.dataset.name = r.name;
      tr.dataset.state = r.state;
      const cell = (text, cls) => tr.appendChild(el('td', text, cls));
      cell(r.name, 'name');
      const state = cell(r.state, 'state state-' + r.state);
      // Why a model is out of memory: its failure, or what took it out (a
      // "loaded" event seen with an UNLOADED row is a race of the two views).
      const gone = r.last_event && ['evicted', 'unloaded', 'failed'].includes(r.last_event.kind);
      const note = r.state === 'FAILED'  ? r.reason :
          r.state === 'UNLOADED' && gone ? r.last_event.kind + ' ' + fmtAgo(r.last_event.at, now) :
                                           '';
      if (note) state.appendChild(el('span', note, 'why'));
      cell(r.bytes ? fmtBytes(r.bytes) : '–', 'num bytes');
      cell(r.pinned ? 'pinned' : '', 'pinned');
      cell(String(r.requests), 'num requests');
      cell(String(r.errors), 'num errors');
      cell(fmtSeconds(r.p99_seconds), 'num p99');
      cell(String(r.cold_starts), 'num cold-starts');
      cell(r.cold_start_seconds ? r.cold_start_seconds.toFixed(2) : '0', 'num cold-seconds');
      cell(fmtAgo(r.last_used, now), 'last-used');
      const actions = cell('', 'actions');
      actionButtons(r).forEach((b) => actions.appendChild(b));
      return tr;
    });
    body.replaceChildren(...rows);
    const states = Object.entries(t.states).filter(([, n]) => n > 0).map(([s, n]) => n + ' ' + s);
    $('tenant-counts').textContent =
        '(' + t.total + ' known' + (states.length ? ': ' + states.join(', ') : '') + ')';
    const first = t.matched ? t.offset + 1 : 0;
    $('page-info').textContent = first + '–' + (t.offset + t.rows.length) + ' of ' + t.matched;
    $('prev').disabled = t.offset === 0;
    $('next').disabled = t.offset + t.rows.length >= t.matched;
    document.querySelectorAll('th[data-sort]').forEach((th) => {
      th.classList.toggle('sorted', th.dataset.sort === t.sort);
      th.classList.toggle('asc', th.dataset.sort === t.sort && t.order === 'asc');
      th.classList.toggle('desc', th.dataset.sort === t.sort && t.order === 'desc');
    });
  }

  function drawTop(id, entries, fmt) {
    const items = entries.map((e) => {
      const li = el('li', e.name);
      li.appendChild(el('span', fmt(e.value)));
      return li;
    });
    if (!items.length) items.push(el('li', 'none in the window', 'empty'));
    $(id).replaceChildren(...items);
  }

  function drawEvents(events) {
    const items = events.map((e) => {
      const li = el('li');
      li.dataset.kind = e.kind;
      li.appendChild(el('time', fmtClock(e.at)));
      li.appendChild(el('span', e.kind, 'kind-' + e.kind));
      li.appendChild(document.createTextNode(' ' + e.model));
      let detail = '';
      if (e.kind === 'loaded' || e.kind === 'reloaded')
        detail = fmtBytes(e.bytes) + ' in ' + fmtSeconds(e.seconds);
      else if (e.kind === 'evicted' || e.kind === 'unloaded')
        detail = fmtBytes(e.bytes);
      else if (e.kind === 'failed')
        detail = e.reason;
      if (detail) li.appendChild(el('small', ' — ' + detail));
      return li;
    });
    if (!items.length) items.push(el('li', 'no loads, evictions or failures yet'));
    $('events').replaceChildren(...items);
  }

  // ---------------------------------------------------------------- fleet

  function drawPeer(card, peer, d) {
    card.className = 'card';
    const s = d.server, m = d.summary;
    const title = el('h3');
    const link = el('a', peer);
    link.href = 'http://' + peer + '/dashboard';
    title.appendChild(link);
    title.appendChild(el('span', s.ready ? ' · ready' : ' · not ready', s.ready ? '' : 'error'));
    card.replaceChildren(
        title,
        el('p',
           fmtRate(m.requests_per_second) + ' · hit ratio ' + fmtRatio(m.hit_ratio) + ' · ' +
               fmtRate(m.cold_starts_per_second) + ' cold'),
        el('p',
           fmtBytes(s.memory_used_bytes) + ' of ' + fmtBytes(s.memory_budget_bytes) + ' · ' +
               s.loaded_models + ' loaded · ' + s.queued + ' queued'),
        el('p', fmtRate(m.errors_per_second) + ' errors · up ' + fmtDuration(s.uptime_seconds)));
  }

  function pollPeers() {
    if (!peers.size) return;
    $('fleet').hidden = false;
    const cards = $('peer-cards');
    for (const peer of peers) {
      let card = cards.querySelector('[data-peer="' + CSS.escape(peer) + '"]');
      if (!card) {
        card = el('div', peer, 'card');
        card.dataset.peer = peer;
        cards.appendChild(card);
      }
      fetch('http://' + peer + '/v2/dashboard?sections=summary', {cache: 'no-store'})
          .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
          .then((d) => drawPeer(card, peer, d))
          .catch((e) => {
            card.className = 'card down';
            card.replaceChildren(el('h3', peer), el('p', 'unreachable: ' + e.message, 'error'));
          });
    }
  }

  // --------------------------------------------------------------- polling

  function authHeaders() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? {Authorization: 'Bearer ' + token} : {};
  }

  function dataUrl() {
    const p = new URLSearchParams({
      since: String(lastSample),
      sort: view.sort,
      order: view.order,
      offset: String(view.offset),
      limit: String(view.limit),
      events: '40'
    });
    if (view.q) p.set('q', view.q);
    if (view.state) p.set('state', view.state);
    return '/v2/dashboard?' + p.toString();
  }

  async function poll() {
    clearTimeout(pollTimer);
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const r =
          await fetch(dataUrl(), {headers: authHeaders(), cache: 'no-store', signal: controller.signal});
      if (r.status === 401 || r.status === 403) {
        setStatus('this server wants a token to read the dashboard: enter it below', true);
      } else if (!r.ok) {
        setStatus('the server answered ' + r.status, true);
      } else {
        const d = await r.json();
        if (controller !== inFlight) return;
        const now = d.server.now;
        adminAuth = d.actions.admin_auth;
        $('actions-message').textContent = d.actions.message;
        d.peers.forEach((p) => peers.add(p));
        pollMs = Math.max(1000, d.sample_interval_seconds * 1000);
        drawHeader(d);
        drawSeries(d.series, now);
        drawTenants(d.tenants, now);
        drawTop('top-requests', d.top.requests, (v) => v + ' requests');
        drawTop('top-cold', d.top.cold_start_seconds, (v) => v.toFixed(2) + ' s');
        drawEvents(d.events);
        setStatus('updated ' + fmtClock(now));
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
      setStatus('cannot reach the server: ' + e.message, true);
    } finally {
      if (controller === inFlight) {
        inFlight = null;
        pollTimer = setTimeout(() => {
          poll();
          pollPeers();
        }, pollMs);
      }
    }
  }

  // --------------------------------------------------------------- actions

  async function manage(name, verb, body) {
    const result = $('action-result');
    result.className = '';
    result.textContent = verb + ' ' + name + '…';
    try {
      const r = await fetch('/v2/repository/models/' + encodeURIComponent(name) + '/' + verb, {
        method: 'POST',
        headers: Object.assign({'Content-Type': 'application/json'}, authHeaders()),
        body: JSON.stringify(body),
        cache: 'no-store'
      });
      let message = '';
      try {
        message = (await r.json()).error || '';
      } catch (e) {
        message = '';
      }
      const what = verb === 'load' && body.parameters ? (body.parameters.pin ? 'pin' : 'unpin') : verb;
      if (r.ok) {
        result.textContent = what + ' ' + name + ': done';
      } else {
        result.className = 'error';
        result.textContent =
            what + ' ' + name + ': refused (' + r.status + ')' + (message ? ': ' + message : '');
      }
    } catch (e) {
      result.className = 'error';
      result.textContent = verb + ' ' + name + ': ' + e.message;
    }
    poll();
  }

  // ------------------------------------------------------------ controls

  function resetAndPoll() {
    view.offset = 0;
    poll();
  }

  function wire() {
    let searchTimer = null;
    $('search').addEventListener('input', (e) => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        view.q = e.target.value.trim();
        resetAndPoll();
      }, 250);
    });
    $('state-filter').addEventListener('change', (e) => {
      view.state = e.target.value;
      resetAndPoll();
    });
    $('page-size').addEventListener('change', (e) => {
      view.limit = Number(e.target.value);
      resetAndPoll();
    });
    $('prev').addEventListener('click', () => {
      view.offset = Math.max(0, view.offset - view.limit);
      poll();
    });
    $('next').addEventListener('click', () => {
      view.offset += view.limit;
      poll();
    });
    document.querySelectorAll('th[data-sort]').forEach((th) => th.addEventListener('click', () => {
      const key = th.dataset.sort;
      if (view.sort === key) {
        view.order = view.order === 'desc' ? 'asc' : 'desc';
      } else {
        view.sort = key;
        view.order = key === 'name' || key === 'state' ? 'asc' : 'desc';
      }
      resetAndPoll();
    }));
    $('token-use').addEventListener('click', () => {
      const token = $('token').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      $('token').value = '';
      poll();
    });
    $('token-forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      poll();
    });
    new URLSearchParams(location.search)
        .getAll('peers')
        .join(',')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => /^[A-Za-z0-9.\-\[\]:]+$/.test(p))
        .forEach((p) => peers.add(p));
  }

  document.addEventListener('DOMContentLoaded', () => {
    wire();
    poll();
    pollPeers();
  });
})();
