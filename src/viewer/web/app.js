// app.js: the trail viewer's front end, for `dss-audit-mcp ui` and `report`.
//
// In `ui` it reads the JSON API of the binary that served it (same origin,
// the access token from the page's URL sent as a bearer token).  In a
// report it reads the data embedded in the page instead: the script
// elements #dss-report-entries and #dss-report, and makes no request.
// There it also checks every entry's proof itself (WebCrypto's SHA-256 and
// Ed25519, nothing else): that the fields it shows hash to the entry's
// chain hash, that its Merkle audit path leads to the root of the log's
// signed checkpoint note, and that the note is signed by the log's key
// (docs/transparency.md, "The report's check").
//
// Rule: every string from the trail reaches the page as text (textContent,
// createTextNode, attribute values), never as HTML; this file never uses
// innerHTML, insertAdjacentHTML or document.write.
'use strict';

(function () {
  const EVENT_TYPES = ['tool_call', 'credential_access', 'credential_create',
    'credential_delete', 'project_create', 'project_update', 'project_delete',
    'component_sync', 'token_sync', 'state_transition', 'error', 'security_event'];
  const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948',
    '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];
  const FILTERS = ['user', 'project', 'event_type', 'operation', 'server', 'session', 'since', 'until', 'q'];
  const JSON_FIELDS = ['args', 'result', 'error', 'before_state', 'after_state', 'client', 'server'];
  const REPORT_PAGE = 100;
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);

  // An element with attributes and children; strings become text nodes.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number'
        ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) {
      const t = document.createElementNS(SVG, 'title');
      t.textContent = text;
      e.appendChild(t);
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const fmt = (n) => Number(n).toLocaleString('en-US');
  const typeColor = (t) => {
    const i = EVENT_TYPES.indexOf(t);
    return COLORS[(i < 0 ? EVENT_TYPES.length : i) % COLORS.length];
  };

  // Stored JSON fields arrive as JSON values; a string that is itself JSON
  // text is shown parsed.  Always pretty-printed, always as text.
  function pretty(v) {
    if (typeof v === 'string') {
      try { return JSON.stringify(JSON.parse(v), null, 2); } catch (e) { return v; }
    }
    return JSON.stringify(v, null, 2);
  }

  // ---- data sources -------------------------------------------------------

  const reportEl = $('dss-report');
  const REPORT = reportEl ? JSON.parse(reportEl.textContent) : null;
  // A report embeds each entry as its log stores it (every field's stored
  // text); what the page shows is made from that, so what it shows is what
  // the proofs check.
  const STORED = REPORT ? JSON.parse($('dss-report-entries').textContent) : null;
  const JSON_STORED = new Set(['args', 'result', 'before_state', 'after_state', 'client', 'server']);
  function shown(s) {
    const e = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === 'proof') continue;
      if (JSON_STORED.has(k) && typeof v === 'string') {
        try { e[k] = JSON.parse(v); } catch (err) { e[k] = v; }
      } else if (k === 'duration_ms' && typeof v === 'string') e[k] = Number(v);
      else e[k] = v;
    }
    return e;
  }
  const REPORT_ENTRIES = STORED ? STORED.map(shown) : null;
  const PROOF = new Map(); // entry id -> {ok, why}, once checked
  const TOKEN = new URLSearchParams(location.search).get('token') || '';

  async function api(path, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const r = await fetch('/api/' + path + (qs.toString() ? '?' + qs : ''), {
      headers: { Authorization: 'Bearer ' + TOKEN }, cache: 'no-store',
    });
    const body = await r.json().catch(() => ({ error: 'HTTP ' + r.status }));
    if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
    return body;
  }

  // The view: filters, cursor and open entry, all in the URL.
  function readState() {
    const p = new URLSearchParams(location.search);
    const s = { filters: {}, before_seq: p.get('before_seq') || '', before_at: p.get('before_at') || '', before_log: p.get('before_log') || '',
      entry: p.get('entry') || '', page: Number(p.get('page') || 0) };
    for (const f of FILTERS) s.filters[f] = p.get(f) || '';
    return s;
  }

  function writeState(s, push) {
    const p = new URLSearchParams();
    if (TOKEN) p.set('token', TOKEN);
    for (const f of FILTERS) if (s.filters[f]) p.set(f, s.filters[f]);
    if (s.before_seq) p.set('before_seq', s.before_seq);
    if (s.before_at) p.set('before_at', s.before_at);
    if (s.before_log) p.set('before_log', s.before_log);
    if (s.page) p.set('page', String(s.page));
    if (s.entry) p.set('entry', s.entry);
    const url = location.pathname + '?' + p.toString();
    if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
  }

  let state = readState();
  let next = null; // the cursor of the page after this one

  // ---- the timeline ---------------------------------------------------------

  function row(e) {
    const tr = el('tr', { 'data-id': e.id, 'data-seq': e.seq },
      el('td', { class: 'mono' }, String(e.created_at || '').replace('T', ' ').replace('Z', '')),
      el('td', { class: 'num' }, e.seq),
      el('td', {}, e.event_type || ''),
      el('td', {}, e.user_id || ''),
      el('td', {}, e.project_id || ''),
      el('td', {}, e.operation_name || ''),
      e.error !== null && e.error !== undefined
        ? el('td', { class: 'error' }, typeof e.error === 'string' ? e.error : JSON.stringify(e.error))
        : el('td', {}, 'ok'));
    if (REPORT) tr.appendChild(proofCell(e.id));
    if (state.entry === e.id) tr.classList.add('selected');
    tr.addEventListener('click', () => { state.entry = e.id; writeState(state, true); showDetail(); markSelected(); });
    return tr;
  }

  function markSelected() {
    for (const tr of document.querySelectorAll('#entries tbody tr'))
      tr.classList.toggle('selected', tr.getAttribute('data-id') === state.entry);
  }

  function showEntries(entries, more, note) {
    const body = document.querySelector('#entries tbody');
    clear(body);
    for (const e of entries) body.appendChild(row(e));
    $('empty').hidden = entries.length > 0;
    $('older').disabled = !more;
    $('newest').disabled = !(state.before_seq || state.page);
    $('page-info').textContent = note;
  }

  function reportMatches() {
    const f = state.filters;
    const q = f.q.toLowerCase();
    return REPORT_ENTRIES.filter((e) =>
      (!f.user || e.user_id === f.user) && (!f.project || e.project_id === f.project) &&
      (!f.event_type || e.event_type === f.event_type) && (!f.operation || e.operation_name === f.operation) &&
      (!f.server || (e.server && e.server.name === f.server)) && (!f.session || e.session_id === f.session) &&
      (!q || String(e.operation_name).toLowerCase().includes(q) ||
        (typeof e.error === 'string' && e.error.toLowerCase().includes(q))));
  }

  async function loadEntries() {
    if (REPORT) {
      const all = reportMatches();
      const from = state.page * REPORT_PAGE;
      const page = all.slice(from, from + REPORT_PAGE);
      next = from + REPORT_PAGE < all.length ? { page: state.page + 1 } : null;
      showEntries(page, !!next, all.length ? `${fmt(from + 1)}–${fmt(from + page.length)} of ${fmt(all.length)}` : '');
      return;
    }
    try {
      const r = await api('entries', Object.assign({}, state.filters,
        { before_seq: state.before_seq, before_at: state.before_at, before_log: state.before_log }));
      next = r.next;
      const shown = r.entries.length;
      showEntries(r.entries, r.more, shown ? `seq ${fmt(r.entries[0].seq)} … ${fmt(r.entries[shown - 1].seq)}` : '');
      $('timeline-note').textContent = '';
    } catch (err) {
      showEntries([], false, '');
      $('timeline-note').textContent = 'Cannot load entries: ' + err.message;
    }
  }

  // ---- one entry ------------------------------------------------------------

  function link(text, onclick) {
    return el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); onclick(); } }, text);
  }

  function filterBy(name, value) {
    state.filters = {};
    for (const f of FILTERS) state.filters[f] = '';
    state.filters[name] = value;
    state.before_seq = state.before_at = state.before_log = '';
    state.page = 0;
    writeState(state, true);
    refresh();
  }

  async function findEntry(id, seq) {
    if (REPORT) return REPORT_ENTRIES.find((e) => (id ? e.id === id : e.seq === seq)) || null;
    const r = await api('entry', id ? { id } : { seq });
    return r.entry;
  }

  async function showDetail() {
    const box = $('detail');
    if (!state.entry) { box.hidden = true; return; }
    let e = null;
    try { e = await findEntry(state.entry); } catch (err) { e = null; }
    box.hidden = false;
    const fields = document.querySelector('#detail-fields tbody');
    clear(fields);
    clear($('detail-links'));
    clear($('detail-json'));
    if (!e) { $('detail-seq').textContent = '(not found)'; return; }
    $('detail-seq').textContent = '#' + e.seq;
    const names = ['id', 'seq', 'created_at', 'event_type', 'operation_name', 'operation_id',
      'user_id', 'project_id', 'session_id', 'duration_ms', 'completes', 'cwd', 'hash', 'prev_hash'];
    if (REPORT) {
      const p = PROOF.get(e.id);
      fields.appendChild(el('tr', { 'data-field': 'proof' }, el('th', {}, 'proof'),
        el('td', { class: p && p.ok ? 'ok' : 'error' },
          !p ? 'checking…' : p.ok ? 'verified in this browser' : 'NOT VERIFIED: ' + p.why)));
    }
    for (const k of names) {
      if (!(k in e)) continue;
      const v = e[k];
      fields.appendChild(el('tr', { 'data-field': k }, el('th', {}, k),
        el('td', { class: k.endsWith('hash') || k.endsWith('id') ? 'mono' : '' },
          v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v))));
    }
    const links = $('detail-links');
    if (e.session_id) links.appendChild(link('Other calls of this session', () => filterBy('session', e.session_id)));
    if (e.server && e.server.name) links.appendChild(link('Other calls to this server', () => filterBy('server', e.server.name)));
    if (e.user_id) links.appendChild(link('Other entries of this user', () => filterBy('user', e.user_id)));
    if (e.operation_name) links.appendChild(link('Same operation', () => filterBy('operation', e.operation_name)));
    for (const k of JSON_FIELDS) {
      if (!(k in e) || e[k] === null) continue;
      $('detail-json').appendChild(el('h3', {}, k));
      $('detail-json').appendChild(el('pre', { class: 'json', 'data-field': k }, pretty(e[k])));
    }
  }

  // ---- proofs (a report) ------------------------------------------------------
  // Each step is the one `verify-proof` takes; a failing one names the part.

  const enc = new TextEncoder();
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const unhex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
  function unb64(s) {
    const bin = atob(s);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function u64be(n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    return b;
  }
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  // The entry's chain hash from its stored fields (docs/hash-encoding.md),
  // in the order the report states (from the server's one list of fields).
  async function chainHash(s) {
    const fields = REPORT.transparency.hash_fields;
    const v2 = fields.some((f) => f.since > 1 && s[f.name] !== null && s[f.name] !== undefined);
    const parts = [enc.encode(v2 ? 'dss-audit/entry/v2' : 'dss-audit/entry/v1'), new Uint8Array([0]),
      unhex(s.prev_hash), u64be(s.seq)];
    for (const f of fields) {
      if (f.since > 1 && !v2) continue;
      const v = s[f.name];
      if (v === null || v === undefined) { parts.push(new Uint8Array([0])); continue; }
      const b = enc.encode(String(v));
      parts.push(new Uint8Array([1]), u64be(b.length), b);
    }
    return sha256(concat(parts));
  }

  // RFC 9162 2.1.3.2: the root an audit path leads to from leaf index.
  async function rootOf(leaf, index, size, path) {
    let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
    for (const p of path) {
      if (sn === 0n) return null;
      const h = unb64(p);
      if ((fn & 1n) || fn === sn) {
        r = await sha256(concat([new Uint8Array([1]), h, r]));
        if (!(fn & 1n)) while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(concat([new Uint8Array([1]), r, h]));
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n ? r : null;
  }

  // A log's signed checkpoint note checked with its verifier key: its root
  // and size, or why not.
  async function openNote(note, vkey) {
    // name+<8 hex>+base64 (whose own characters may include '+').
    const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey || '');
    if (!m) return { why: 'signature: the verifier key is malformed' };
    const [, name, idHex, keyB64] = m;
    const key = unb64(keyB64);
    if (!name || key.length !== 33 || key[0] !== 1) return { why: 'signature: the verifier key is not a log\'s Ed25519 key' };
    const id = (await sha256(concat([enc.encode(name + '\n'), key]))).slice(0, 4);
    if (hex(id) !== idHex) return { why: 'signature: the verifier key\'s ID does not match it' };
    const cut = note.lastIndexOf('\n\n');
    const text = note.slice(0, cut + 1), lines = text.split('\n');
    let pub;
    try {
      pub = await crypto.subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']);
    } catch (err) {
      return { why: 'signature: this browser cannot check Ed25519 signatures' };
    }
    for (const line of note.slice(cut + 2).split('\n')) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const sig = unb64(m[2]);
      if (sig.length !== 68 || !same(sig.slice(0, 4), id)) continue;
      const ok = await crypto.subtle.verify({ name: 'Ed25519' }, pub, sig.slice(4), enc.encode(text));
      if (!ok) return { why: 'signature: the checkpoint\'s signature does not verify' };
      if (lines[0] !== name) return { why: 'signature: the checkpoint is of another origin' };
      return { size: Number(lines[1]), root: unb64(lines[2]) };
    }
    return { why: 'signature: the checkpoint is not signed by the log\'s key' };
  }

  // Every entry of the report, once; the table and the summary say how it went.
  async function checkProofs() {
    const notes = new Map();
    const logs = (REPORT.transparency && REPORT.transparency.logs) || {};
    for (const [id, l] of Object.entries(logs)) notes.set(id, await openNote(l.checkpoint, l.vkey));
    let ok = 0;
    for (const s of STORED) {
      let why = null;
      const n = notes.get(s.log_id);
      try {
        const h = await chainHash(s);
        if (hex(h) !== s.hash) why = 'entry hash: its fields do not hash to its hash (the entry was edited)';
        else if (!s.proof) why = 'no signed checkpoint holds it yet';
        else if (!n || n.why) why = n ? n.why : 'no signed checkpoint of its log';
        else if (s.proof.index !== s.seq - 1 || s.proof.index >= n.size) why = 'index: not the entry\'s leaf in the signed tree';
        else {
          const leaf = await sha256(concat([new Uint8Array([0]), h]));
          const root = await rootOf(leaf, s.proof.index, n.size, s.proof.path);
          if (!root || !same(root, n.root)) why = 'audit path: it does not lead to the signed root';
        }
      } catch (err) {
        why = 'unreadable: ' + err.message;
      }
      PROOF.set(s.id, { ok: !why, why });
      if (!why) ok++;
    }
    $('report-proofs').textContent = `${fmt(ok)} of ${fmt(STORED.length)} entries verified in this ` +
      'browser against the log\'s signed checkpoint (no request made)';
    for (const tr of document.querySelectorAll('#entries tbody tr')) {
      const cell = tr.querySelector('td.proof');
      if (cell) tr.replaceChild(proofCell(tr.getAttribute('data-id')), cell);
    }
    showDetail();
  }

  function proofCell(id) {
    const p = PROOF.get(id);
    const state = !p ? 'checking' : p.ok ? 'verified' : 'not verified';
    return el('td', { class: 'proof ' + (!p ? 'muted' : p.ok ? 'ok' : 'error'), 'data-proof': state,
      title: p && !p.ok ? p.why : null }, !p ? '…' : p.ok ? '✓ verified' : '✗ not verified');
  }

  // ---- verification -----------------------------------------------------------

  function showVerify(v) {
    const box = $('verify');
    const text = $('verify-text');
    const list = $('verify-problems');
    box.className = 'banner ' + (v.state === 'running' ? 'running' : v.state === 'failed' ? 'failed'
      : v.report.ok ? 'intact' : 'tampered');
    clear(list);
    if (v.state === 'running') {
      text.textContent = `Verifying the hash chain… ${fmt(v.done)} of ${fmt(v.total)} entries`;
      $('verify-progress').max = Math.max(1, v.total);
      $('verify-progress').value = v.done;
      return;
    }
    if (v.state === 'failed') { text.textContent = 'The chain could not be verified: ' + v.error; return; }
    const r = v.report;
    const head = r.head ? ` Head: seq ${fmt(r.head.seq)}, hash ${r.head.hash}.` : '';
    if (r.ok) {
      text.textContent = `Chain intact: ${fmt(r.entries_checked)} entries and ${fmt(r.checkpoints_checked)} signed checkpoints verified.${head}`;
      return;
    }
    const probs = r.problems || [];
    text.textContent = `TAMPERING DETECTED: ${fmt(probs.length)}${r.problems_truncated ? '+' : ''} problem(s) in the chain.${head}`;
    for (const p of probs.slice(0, 50)) {
      const li = el('li', { 'data-seq': p.seq },
        link(`entry #${p.seq}`, async () => {
          const e = await findEntry(null, p.seq).catch(() => null);
          if (e) { state.entry = e.id; writeState(state, true); showDetail(); markSelected(); }
        }),
        ` ${p.kind}: ${p.detail || ''}`);
      list.appendChild(li);
      findEntry(null, p.seq).then((e) => {
        if (e) li.appendChild(document.createTextNode(` (${e.operation_name}, id ${e.id})`));
      }).catch(() => {});
    }
  }

  async function pollVerify() {
    if (REPORT) {
      showVerify({ state: 'done', report: REPORT.verification });
      return;
    }
    try {
      const v = await api('verify');
      showVerify(v);
      if (v.state === 'running') setTimeout(pollVerify, 300);
    } catch (err) {
      showVerify({ state: 'failed', error: err.message });
    }
  }

  // ---- charts -------------------------------------------------------------------

  function drawDays(days) {
    const box = $('chart-days');
    clear(box);
    days = days.slice().sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    if (!days.length) { box.appendChild(el('p', { class: 'muted' }, 'No activity in this window.')); return; }
    const totals = days.map((d) => Object.values(d.by_type).reduce((a, b) => a + b, 0));
    const max = Math.max(1, ...totals);
    const W = 900, H = 160, pad = 30;
    const bw = Math.min(40, Math.max(2, Math.floor((W - pad) / days.length) - 1));
    const s = svg('svg', { viewBox: `0 0 ${W} ${H + 20}`, width: W, height: H + 20, role: 'img' });
    s.appendChild(svg('text', { x: 0, y: 10, 'font-size': 10 })).textContent = fmt(max);
    const types = new Set();
    days.forEach((d, i) => {
      let y = H;
      const x = pad + i * (bw + 1);
      for (const t of EVENT_TYPES.concat(Object.keys(d.by_type).filter((k) => !EVENT_TYPES.includes(k)))) {
        const n = d.by_type[t];
        if (!n) continue;
        types.add(t);
        const h = Math.max(1, Math.round((n / max) * (H - 15)));
        y -= h;
        s.appendChild(svg('rect', { x, y, width: bw, height: h, fill: typeColor(t), 'data-day': d.day },
          `${d.day} ${t}: ${fmt(n)}`));
      }
    });
    const first = svg('text', { x: pad, y: H + 14, 'font-size': 10 });
    first.textContent = days[0].day;
    const last = svg('text', { x: W, y: H + 14, 'font-size': 10, 'text-anchor': 'end' });
    last.textContent = days[days.length - 1].day;
    s.appendChild(first);
    s.appendChild(last);
    box.appendChild(s);
    const legend = $('chart-legend');
    clear(legend);
    for (const t of types) {
      const item = el('span', {}, t);
      item.style.setProperty('--c', typeColor(t));
      legend.appendChild(item);
    }
  }

  function drawUsers(users) {
    const box = $('chart-users');
    clear(box);
    users = users.slice().sort((a, b) => b.entries - a.entries).slice(0, 20);
    if (!users.length) return;
    const max = Math.max(1, users[0].entries);
    const W = 900, row = 16;
    const s = svg('svg', { viewBox: `0 0 ${W} ${users.length * row}`, width: W, height: users.length * row, role: 'img' });
    users.forEach((u, i) => {
      const label = svg('text', { x: 0, y: i * row + 12, 'font-size': 11 });
      label.textContent = u.user_id;
      s.appendChild(label);
      const w = Math.max(1, Math.round((u.entries / max) * (W - 260)));
      s.appendChild(svg('rect', { x: 180, y: i * row + 2, width: w, height: row - 4, fill: '#4e79a7' },
        `${u.user_id}: ${fmt(u.entries)} entries, ${fmt(u.errors)} errors`));
      const n = svg('text', { x: 184 + w, y: i * row + 12, 'font-size': 11 });
      n.textContent = fmt(u.entries);
      s.appendChild(n);
    });
    box.appendChild(s);
  }

  async function loadActivity() {
    if (REPORT) { drawDays(REPORT.days); drawUsers(REPORT.users); return; }
    try {
      const f = state.filters;
      const a = await api('activity', { user: f.user, since: f.since, until: f.until });
      drawDays(a.days);
      drawUsers(a.users);
    } catch (err) {
      clear($('chart-days'));
      $('chart-days').appendChild(el('p', { class: 'muted' }, 'Cannot load activity: ' + err.message));
    }
  }

  // ---- checkpoints ----------------------------------------------------------------

  function drawCheckpoints(list, count) {
    const body = document.querySelector('#checkpoint-table tbody');
    clear(body);
    for (const c of list) {
      body.appendChild(el('tr', {},
        el('td', { class: 'num' }, c.number !== undefined ? c.number : ''),
        el('td', {}, c.role ? `${c.kind} (${c.role})` : c.kind),
        el('td', { class: 'num' }, c.seq),
        el('td', { class: 'mono' }, c.created_at),
        el('td', { class: 'mono' }, c.head_hash),
        el('td', { class: 'mono' }, c.public_key)));
    }
    $('checkpoints-note').textContent = count > list.length ? `(newest ${list.length} of ${fmt(count)})` : '';
  }

  async function loadCheckpoints() {
    if (REPORT) { drawCheckpoints(REPORT.checkpoints, REPORT.checkpoints.length); return; }
    try {
      const r = await api('checkpoints');
      drawCheckpoints(r.checkpoints, r.count);
    } catch (err) {
      $('checkpoints-note').textContent = 'Cannot load checkpoints: ' + err.message;
    }
  }

  // ---- the report's own section -----------------------------------------------------

  function dl(node, pairs) {
    clear(node);
    for (const [k, v] of pairs) {
      node.appendChild(el('dt', {}, k));
      node.appendChild(el('dd', { class: 'mono' }, v === null || v === undefined ? '—' : String(v)));
    }
  }

  function showReport() {
    $('report-summary').hidden = false;
    $('filters').hidden = true;
    const f = REPORT.filters || {};
    dl($('report-period'), [['from', f.since], ['until', f.until], ['user', f.user], ['project', f.project],
      ['event type', f.event_type], ['operation', f.operation], ['server', f.server], ['session', f.session],
      ['entries', fmt(REPORT.totals.entries)],
      ['with an error', fmt(REPORT.totals.errors)], ['log id', REPORT.log_id],
      ['generated', REPORT.generated_at + ' by dss-audit-mcp ' + REPORT.version]]);
    const types = document.querySelector('#report-types tbody');
    for (const [t, n] of Object.entries(REPORT.totals.by_type).sort((a, b) => b[1] - a[1]))
      types.appendChild(el('tr', {}, el('td', {}, t), el('td', { class: 'num' }, fmt(n))));
    const users = document.querySelector('#report-users tbody');
    for (const u of REPORT.users.slice().sort((a, b) => b.entries - a.entries))
      users.appendChild(el('tr', {}, el('td', {}, u.user_id || '(none)'), el('td', { class: 'num' }, fmt(u.entries)),
        el('td', { class: 'num' }, fmt(u.errors))));
    const v = REPORT.verification;
    const cover = REPORT.checkpoints.find((c) => c.role === 'covering');
    dl($('report-proof'), [['verification', v.ok ? 'intact' : 'TAMPERED'],
      ['chain head', v.head ? `seq ${v.head.seq}, hash ${v.head.hash}` : null],
      ['covering checkpoint', cover ? `#${cover.number}, seq ${cover.seq}, ${cover.created_at}`
        : 'none yet: the newest entries are after the last checkpoint'],
      ['public key', REPORT.public_key + (REPORT.public_key_trusted ? ' (the signing key\'s)' : ' (as stored in the checkpoint)')]]);
    if (cover) {
      const c = Object.assign({}, cover);
      delete c.role;
      delete c.number;
      $('report-checkpoint').textContent = JSON.stringify(c, null, 2);
    }
    if (REPORT.transparency) {
      const l = Object.values(REPORT.transparency.logs)[0];
      if (l) $('report-vkey').textContent = l.vkey;
    }
    $('footer').textContent = 'dss-audit-mcp evidence report: self-contained, no network requests.';
  }

  // ---- wiring -------------------------------------------------------------------------

  function fillForm() {
    for (const f of FILTERS) $('f-' + f).value = state.filters[f];
  }

  async function loadInfo() {
    if (REPORT) { $('log-info').textContent = `log ${REPORT.log_id}`; return; }
    try {
      const i = await api('info');
      $('log-info').textContent = `log ${i.log_id} · ${fmt(i.last_seq ? i.last_seq - i.first_seq + 1 : 0)} entries (seq ${fmt(i.first_seq)}–${fmt(i.last_seq)}) · read-only`;
    } catch (err) {
      $('log-info').textContent = 'Cannot reach the viewer: ' + err.message;
    }
  }

  function refresh() {
    fillForm();
    loadEntries();
    loadActivity();
    showDetail();
  }

  for (const t of EVENT_TYPES) $('f-event_type').appendChild(el('option', { value: t }, t));

  $('filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const f of FILTERS) state.filters[f] = $('f-' + f).value.trim();
    state.before_seq = state.before_at = state.before_log = '';
    state.page = 0;
    writeState(state, true);
    refresh();
  });
  $('clear').addEventListener('click', () => {
    for (const f of FILTERS) state.filters[f] = '';
    state.before_seq = state.before_at = state.before_log = '';
    state.page = 0;
    writeState(state, true);
    refresh();
  });
  $('older').addEventListener('click', () => {
    if (!next) return;
    if (REPORT) state.page = next.page;
    else { state.before_seq = String(next.before_seq); state.before_at = next.before_at || ''; state.before_log = next.before_log || ''; }
    writeState(state, true);
    loadEntries();
  });
  $('newest').addEventListener('click', () => {
    state.before_seq = state.before_at = state.before_log = '';
    state.page = 0;
    writeState(state, true);
    loadEntries();
  });
  $('detail-close').addEventListener('click', () => {
    state.entry = '';
    writeState(state, true);
    showDetail();
    markSelected();
  });
  window.addEventListener('popstate', () => { state = readState(); refresh(); });

  if (REPORT) {
    showReport();
    $('th-proof').hidden = false;
  }
  loadInfo();
  refresh();
  pollVerify();
  loadCheckpoints();
  if (REPORT) checkProofs();
})();
