// viewer.mjs: `dss-audit-mcp ui` and `report` in a real browser.
//
//   node viewer.mjs CASE      (DSS_BIN: the binary; DSS_BUILD_DIR: where
//                              screenshots go, under viewer-screenshots/)
//
// Debian's chromium, headless, driven by playwright-core (pinned in
// package.json).  Each case fills a fresh database through the binary
// itself (log_operation calls piped into `serve`), starts `ui` on it or
// writes a report, and checks what a person would see.  Nothing is
// skipped: a missing chromium, node package or binary fails the case.
// Each line-initial test('name', ...) is one ctest case (tests/CMakeLists.txt).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BIN = process.env.DSS_BIN;
const BUILD = process.env.DSS_BUILD_DIR || '.';
const CHROMIUM = '/usr/bin/chromium';
const cases = new Map();
const test = (name, fn) => cases.set(name, fn);

// ---- fixtures -----------------------------------------------------------------

const cleanups = [];
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'dss-viewer-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

// A database of `calls` log_operation calls (each call also records its
// own tool_call entry, so 2 * calls entries), with extra calls appended.
function fillDb(dir, calls, extra = []) {
  const db = join(dir, 'audit.db');
  const lines = [
    { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'browser-test', version: '1' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
  ];
  const types = ['tool_call', 'project_update', 'component_sync'];
  let id = 1;
  for (let i = 1; i <= calls; i++) {
    lines.push({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'log_operation', arguments: {
      event_type: types[i % 3], operation_name: `op_${i}`, user_id: `user-${i % 4}`, project_id: `proj-${i % 2}`,
      args: { i, note: `call number ${i}` } } } });
  }
  for (const args of extra)
    lines.push({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'log_operation', arguments: args } });
  const r = spawnSync(BIN, ['--db', db, '--actor', 'tester'], {
    input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, `serve failed: ${r.stderr}`);
  const replies = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(replies.filter((m) => m.result && !m.result.isError).length, lines.length - 1,
    'every call acknowledged');
  return db;
}

function sql(db, text) {
  const r = spawnSync('sqlite3', ['-bail', db, text], { encoding: 'utf8' });
  assert.equal(r.status, 0, `sqlite3: ${r.stderr}`);
  return r.stdout.trim();
}

// Start `ui`; resolves with its URL once printed.
function startUi(dir, db, args = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['ui', '--db', db, ...args], {
      env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    cleanups.push(() => p.kill('SIGTERM'));
    p.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ url: out.slice(0, nl), proc: p, stderr: () => err });
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => reject(new Error(`ui exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error('ui printed no URL in 10 s: ' + err)), 10000);
  });
}

async function browser() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/deps.sh --test installs it)`);
  const profile = tempDir();
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  cleanups.push(() => ctx.close());
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('dialog', (d) => { problems.push('dialog: ' + d.message()); d.dismiss(); });
  return { ctx, page, problems };
}

function screenshotPath(name) {
  const d = join(BUILD, 'viewer-screenshots');
  mkdirSync(d, { recursive: true });
  return join(d, name + '.png');
}

const rows = (page) => page.$$eval('#entries tbody tr', (trs) => trs.map((tr) => ({
  seq: Number(tr.children[1].textContent), event: tr.children[2].textContent, user: tr.children[3].textContent,
  operation: tr.children[5].textContent })));

async function openUi(calls = 60, extra = []) {
  const dir = tempDir();
  const db = fillDb(dir, calls, extra);
  const ui = await startUi(dir, db);
  const { page, problems } = await browser();
  await page.goto(ui.url);
  await page.waitForSelector('#entries tbody tr');
  return { dir, db, ui, page, problems };
}

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

// ---- the cases -------------------------------------------------------------------

test('timeline_shows_newest_entries', async () => {
  const { db, page, problems } = await openUi(60);
  const newest = Number(sql(db, 'SELECT max(seq) FROM audit_log'));
  assert.equal(newest, 120);
  const r = await rows(page);
  assert.equal(r.length, 50, 'a page of 50');
  assert.equal(r[0].seq, newest, 'newest first');
  assert.deepEqual(r.map((x) => x.seq), Array.from({ length: 50 }, (_, i) => newest - i));
  await page.waitForSelector('#chart-days svg rect');
  await page.screenshot({ path: screenshotPath('timeline'), fullPage: true });
  assert.ok(existsSync(screenshotPath('timeline')));
  assert.deepEqual(problems, []);
});

test('filter_and_search_narrow_and_url_reflects', async () => {
  const { page, problems } = await openUi(60);
  await page.fill('#f-user', 'user-1');
  await page.click('#apply');
  await page.waitForFunction(() => [...document.querySelectorAll('#entries tbody tr')]
    .every((tr) => tr.children[3].textContent === 'user-1'));
  let r = await rows(page);
  assert.equal(r.length, 15, 'user-1 made 15 of the 60 calls');
  assert.equal(new URL(page.url()).searchParams.get('user'), 'user-1');
  await page.fill('#f-q', 'op_1');
  await page.click('#apply');
  await page.waitForFunction(() => [...document.querySelectorAll('#entries tbody tr')]
    .every((tr) => tr.children[5].textContent.includes('op_1')));
  r = await rows(page);
  // user-1 has i % 4 == 1: op_1, op_13, op_17 contain "op_1"
  assert.deepEqual(r.map((x) => x.operation).sort(), ['op_1', 'op_13', 'op_17']);
  const u = new URL(page.url());
  assert.equal(u.searchParams.get('q'), 'op_1');
  assert.equal(u.searchParams.get('user'), 'user-1');
  // The URL alone gives the same view (it can be shared).
  await page.goto(page.url());
  await page.waitForSelector('#entries tbody tr');
  assert.deepEqual((await rows(page)).map((x) => x.operation).sort(), ['op_1', 'op_13', 'op_17']);
  assert.equal(await page.inputValue('#f-q'), 'op_1');
  assert.deepEqual(problems, []);
});

test('paging_reaches_oldest_entry', async () => {
  const { page, problems } = await openUi(70); // 140 entries: pages of 50, 50, 40
  const seen = [];
  for (let i = 0; i < 10; i++) {
    const r = await rows(page);
    seen.push(...r.map((x) => x.seq));
    if (await page.isDisabled('#older')) break;
    const before = r[r.length - 1].seq;
    await page.click('#older');
    await page.waitForFunction((b) => Number(document.querySelector('#entries tbody tr td:nth-child(2)').textContent) < b, before);
    assert.ok(new URL(page.url()).searchParams.get('before_seq'), 'the cursor is in the URL');
  }
  assert.equal(seen.length, 140);
  assert.equal(seen[seen.length - 1], 1, 'the oldest entry, seq 1, is reached');
  assert.equal(new Set(seen).size, 140, 'no entry twice');
  assert.deepEqual(problems, []);
});

test('detail_shows_hash', async () => {
  const { db, page, problems } = await openUi(10);
  await page.click('#entries tbody tr:nth-child(3)');
  await page.waitForSelector('#detail-fields tr[data-field="hash"]');
  const seq = Number((await page.textContent('#detail-seq')).slice(1));
  const hash = sql(db, `SELECT lower(hex(hash)) FROM audit_log WHERE seq = ${seq}`);
  const prev = sql(db, `SELECT lower(hex(prev_hash)) FROM audit_log WHERE seq = ${seq}`);
  assert.equal(await page.textContent('#detail-fields tr[data-field="hash"] td'), hash);
  assert.equal(await page.textContent('#detail-fields tr[data-field="prev_hash"] td'), prev);
  const args = await page.textContent('#detail-json pre[data-field="args"]');
  assert.match(args, /\n {2}"/, 'JSON fields are pretty-printed');
  assert.ok(new URL(page.url()).searchParams.get('entry'), 'the open entry is in the URL');
  assert.deepEqual(problems, []);
});

test('banner_intact_on_clean_log', async () => {
  const { page, problems } = await openUi(30);
  await page.waitForSelector('#verify.intact', { timeout: 20000 });
  const text = await page.textContent('#verify-text');
  assert.match(text, /intact/);
  assert.match(text, /60 entries/);
  assert.deepEqual(problems, []);
});

test('banner_names_tampered_entry', async () => {
  const dir = tempDir();
  const db = fillDb(dir, 30);
  const id = sql(db, 'SELECT id FROM audit_log WHERE seq = 17');
  sql(db, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET operation_name = 'quietly_changed' WHERE seq = 17;");
  const ui = await startUi(dir, db);
  const { page, problems } = await browser();
  await page.goto(ui.url);
  await page.waitForSelector('#verify.tampered', { timeout: 20000 });
  assert.match(await page.textContent('#verify-text'), /TAMPERING/);
  const color = await page.$eval('#verify', (e) => getComputedStyle(e).color);
  assert.equal(color, 'rgb(164, 14, 38)', 'shown in red');
  await page.waitForFunction((i) => document.querySelector('#verify-problems li[data-seq="17"]')?.textContent.includes(i), id);
  const item = await page.textContent('#verify-problems li[data-seq="17"]');
  assert.match(item, /entry #17/);
  assert.match(item, /quietly_changed/);
  await page.click('#verify-problems li[data-seq="17"] a');
  await page.waitForFunction(() => document.querySelector('#detail-seq').textContent === '#17');
  assert.equal(new URL(page.url()).searchParams.get('entry'), id);
  await page.screenshot({ path: screenshotPath('tampered'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('html_in_entries_shows_as_text_and_runs_nothing', async () => {
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  const { page, problems } = await openUi(5, [{
    event_type: 'security_event', operation_name: evil, user_id: '<b>mallory</b>', project_id: 'javascript:alert(1)',
    args: { html: '<svg onload="window.__pwned=3"></svg>', link: 'javascript:window.__pwned=4' },
    error: '<iframe src="javascript:window.__pwned=5"></iframe>',
  }]);
  const r = await rows(page);
  const row = r.find((x) => x.event === 'security_event');
  assert.ok(row, 'the entry is listed');
  assert.equal(row.operation, evil, 'shown literally, as text');
  assert.equal(row.user, '<b>mallory</b>');
  await page.click(`#entries tbody tr[data-seq="${row.seq}"]`);
  await page.waitForSelector('#detail-json pre[data-field="args"]');
  assert.match(await page.textContent('#detail-json pre[data-field="args"]'), /<svg onload=/);
  await page.waitForTimeout(300);
  const injected = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgs: document.querySelectorAll('img').length,
    iframes: document.querySelectorAll('iframe').length,
    scripts: [...document.querySelectorAll('script')].filter((s) => !s.src.endsWith('/app.js')).length,
    bold: document.querySelectorAll('main b').length,
    svgsInDetail: document.querySelectorAll('#detail svg').length,
  }));
  assert.deepEqual(injected, { pwned: undefined, imgs: 0, iframes: 0, scripts: 0, bold: 0, svgsInDetail: 0 });
  assert.deepEqual(problems, []);
});

test('request_without_token_is_401', async () => {
  const dir = tempDir();
  const db = fillDb(dir, 3);
  const ui = await startUi(dir, db);
  const base = new URL(ui.url);
  const token = base.searchParams.get('token');
  assert.match(token, /^[0-9a-f]{48}$/);
  for (const path of ['/', '/api/entries', '/api/entry?seq=1', '/api/verify', '/api/activity'])
    assert.equal((await get(base.origin + path)).status, 401, path);
  assert.equal((await get(base.origin + '/api/entries?token=' + token.replace(/^./, (c) => (c === '0' ? '1' : '0')))).status, 401);
  assert.equal((await get(base.origin + '/api/entries', { Authorization: 'Bearer ' + token })).status, 200);
  // And in the browser: the page without its token is a 401 and shows no entry.
  const { page } = await browser();
  const resp = await page.goto(base.origin + '/');
  assert.equal(resp.status(), 401);
  assert.match(await page.textContent('body'), /access token/);
});

test('report_makes_no_requests_and_shows_entries_and_verification', async () => {
  const dir = tempDir();
  const db = fillDb(dir, 40, [{ event_type: 'security_event', operation_name: '<script>window.__pwned=1</script>', args: {} }]);
  const out = join(dir, 'report.html');
  const today = new Date().toISOString().slice(0, 10);
  const r = spawnSync(BIN, ['report', '--db', db, '--since', today, '--until', today, '--output', out],
    { env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.ok(!/<script[^>]+src=/.test(html), 'no external script');
  assert.ok(!/<link[^>]+href=/.test(html), 'no external style sheet');
  const { ctx, page, problems } = await browser();
  const fileUrl = 'file://' + out;
  const requests = [];
  page.on('request', (q) => { if (q.url() !== fileUrl) requests.push(q.url()); });
  await ctx.route('**/*', (route) => { if (route.request().url() !== fileUrl) { requests.push(route.request().url()); route.abort(); } else route.continue(); });
  await page.goto(fileUrl);
  await page.waitForSelector('#entries tbody tr');
  await page.waitForSelector('#verify.intact');
  await page.waitForTimeout(500);
  assert.deepEqual(requests, [], 'zero network requests');
  const rr = await rows(page);
  // 41 calls, each with its own tool_call record: 82 entries, one page of 100.
  assert.equal(rr.length, 82, 'every entry of the period on the first page');
  assert.equal(rr[0].seq, 82, 'newest first');
  assert.equal(rr[1].operation, '<script>window.__pwned=1</script>');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.match(await page.textContent('#verify-text'), /intact/);
  const proof = await page.textContent('#report-proof');
  const head = sql(db, 'SELECT lower(hex(hash)) FROM audit_log ORDER BY seq DESC LIMIT 1');
  assert.ok(proof.includes(head), 'the chain head is shown');
  const pub = readFileSync(join(dir, 'signing.key.pub'), 'utf8').trim();
  assert.ok(proof.includes(pub), 'the public key is shown');
  const cp = JSON.parse(await page.textContent('#report-checkpoint'));
  assert.equal(cp.public_key, pub);
  assert.ok(cp.seq >= 82, 'the covering checkpoint covers every entry');
  assert.match(await page.textContent('#report-types'), /security_event/);
  assert.match(proof, /covering checkpoint#\d+, seq \d+/);
  assert.equal(await page.isVisible('#filters'), false, 'the report\'s filters are fixed');
  // The checkpoint as shown is one `verify --checkpoint` accepts.
  const cpFile = join(dir, 'checkpoint.json');
  writeFileSync(cpFile, JSON.stringify(cp));
  const v = spawnSync(BIN, ['verify', '--db', db, '--checkpoint', cpFile],
    { env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, encoding: 'utf8' });
  assert.equal(v.status, 0, 'verify --checkpoint accepts the report\'s checkpoint: ' + v.stderr);
  await page.screenshot({ path: screenshotPath('report'), fullPage: true });
  assert.deepEqual(problems, []);
});

// A report of `calls` calls, its HTML text and where it is.
function writeReport(dir, db, edit) {
  const out = join(dir, 'report.html');
  const today = new Date().toISOString().slice(0, 10);
  const r = spawnSync(BIN, ['report', '--db', db, '--since', today, '--until', today, '--output', out],
    { env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  if (edit) writeFileSync(out, edit(readFileSync(out, 'utf8')));
  return out;
}

// Open a report with no request allowed; resolves once every entry shown
// has been checked.  Returns the page and what it requested.
async function openReport(out) {
  const { ctx, page, problems } = await browser();
  const fileUrl = 'file://' + out;
  const requests = [];
  await ctx.route('**/*', (route) => {
    if (route.request().url() !== fileUrl) { requests.push(route.request().url()); route.abort(); } else route.continue();
  });
  await page.goto(fileUrl);
  await page.waitForSelector('#entries tbody tr');
  await page.waitForFunction(() => /entries verified/.test(document.getElementById('report-proofs').textContent));
  return { page, problems, requests };
}

const proofStates = (page) => page.$$eval('#entries tbody tr', (trs) => trs.map((tr) => ({
  seq: Number(tr.children[1].textContent), operation: tr.children[5].textContent,
  proof: tr.querySelector('td.proof').getAttribute('data-proof') })));

test('report_checks_every_entrys_proof_in_the_browser', async () => {
  const dir = tempDir();
  const db = fillDb(dir, 20);
  const { page, problems, requests } = await openReport(writeReport(dir, db));
  const states = await proofStates(page);
  assert.equal(states.length, 40);
  assert.deepEqual(states.filter((s) => s.proof !== 'verified'), [], 'every entry verified');
  assert.match(await page.textContent('#report-proofs'), /^40 of 40 entries verified in this browser/);
  // The log's verifier key is shown, as public-key --note prints it.
  const vkey = spawnSync(BIN, ['public-key', '--note', '--db', db],
    { env: { ...process.env, DSS_AUDIT_KEY: join(dir, 'signing.key') }, encoding: 'utf8' });
  assert.equal((await page.textContent('#report-vkey')).trim(), vkey.stdout.trim());
  await page.click('#entries tbody tr:nth-child(3)');
  assert.equal(await page.textContent('#detail-fields tr[data-field="proof"] td'), 'verified in this browser');
  assert.deepEqual(requests, [], 'zero network requests');
  await page.screenshot({ path: screenshotPath('report-proofs'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('report_marks_an_entry_edited_in_the_html_not_verified', async () => {
  const dir = tempDir();
  const db = fillDb(dir, 10);
  let edited = 0;
  const out = writeReport(dir, db, (html) => html.replace('"operation_name":"op_7"', () => {
    edited++;
    return '"operation_name":"op_8"';
  }));
  assert.equal(edited, 1, 'the entry was found in the report');
  const { page, problems, requests } = await openReport(out);
  const states = await proofStates(page);
  const bad = states.filter((s) => s.proof !== 'verified');
  assert.equal(bad.length, 1, JSON.stringify(bad));
  assert.equal(bad[0].operation, 'op_8');
  assert.equal(bad[0].proof, 'not verified');
  assert.match(await page.textContent('#report-proofs'), /^19 of 20 entries verified/);
  const row = await page.$(`#entries tbody tr[data-seq="${bad[0].seq}"]`);
  await row.click();
  assert.match(await page.textContent('#detail-fields tr[data-field="proof"] td'), /NOT VERIFIED: entry hash/);
  assert.deepEqual(requests, [], 'zero network requests');
  assert.deepEqual(problems, []);
});

// ---- run one case ---------------------------------------------------------------------

const name = process.argv[2];
const fn = cases.get(name);
if (!fn) {
  console.error(`no case named ${name}; cases: ${[...cases.keys()].join(', ')}`);
  process.exit(2);
}
let code = 0;
try {
  assert.ok(BIN, 'DSS_BIN must name the binary');
  await fn();
  console.error(`ok   ${name}`);
} catch (e) {
  console.error(`FAIL ${name}: ${e.stack || e}`);
  code = 1;
}
for (const c of cleanups.reverse()) {
  try { await c(); } catch (e) { /* already gone */ }
}
process.exit(code);
