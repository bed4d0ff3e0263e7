#!/usr/bin/env node
// The official MCP conformance suite (@modelcontextprotocol/conformance) run
// against dss-audit-mcp through supergateway, a stdio-to-Streamable-HTTP
// bridge:
//
//   node_modules/.bin/node conformance.mjs <path-to-dss-audit-mcp>
//
// supergateway (stateful: one server process per HTTP session) listens on
// 127.0.0.1 only, on a free port (loopback.cjs forces the address; a check
// reads /proc/net/tcp* to prove it), and wraps `<binary> --db <scratch>/c.db`.
// Each scenario is one `conformance server --url ... --scenario NAME` run;
// the bridge and every server process it started are stopped afterwards.
//
// Env: DSS_RC_SCENARIOS (default "server-initialize ping tools-list
// logging-set-level"), DSS_RC_SCENARIO_TIMEOUT_MS (60000), DSS_RC_TRACE=1
// (print the suite's and the bridge's output), DSS_RC_KEEP=1.

import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { readFileSync, readdirSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import {
  HERE, NODE22, note, check, finish, deadline, binaryArg, scratch, run, describeExit, assert, exitHooks,
} from './lib.mjs';

const BIN = binaryArg('node conformance.mjs <path-to-dss-audit-mcp>');
const SUITE = join(HERE, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const GATEWAY = join(HERE, 'node_modules/supergateway/dist/index.js');
const SCENARIOS = (process.env.DSS_RC_SCENARIOS || 'server-initialize ping tools-list logging-set-level')
  .split(/\s+/).filter(Boolean);
const SCENARIO_TIMEOUT_MS = Number(process.env.DSS_RC_SCENARIO_TIMEOUT_MS || 60000);
const TRACE = !!process.env.DSS_RC_TRACE;

const { dir, env, cleanup } = scratch('dss-rc-conformance-');
let bridge = null;

function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function canConnect(port) {
  return new Promise((res) => {
    const c = connect({ port, host: '127.0.0.1' });
    c.on('connect', () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Local addresses of listening TCP sockets on this port, from /proc.
function listeners(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [addr, p] = cols[1].split(':');
      if (p === hexPort) found.push(addr);
    }
  }
  return found;
}

const LOOPBACK_HEX = new Set([
  '0100007F', // 127.0.0.1
  '00000000000000000000000001000000', // ::1
  '0000000000000000FFFF00000100007F', // ::ffff:127.0.0.1
]);

// Every process below pid (through /proc's ppid links).
function descendants(pid) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* exited */ }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) || []) { out.push(c); stack.push(c); }
  }
  return out;
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

// Stops the bridge (SIGTERM lets it stop its server processes), then kills by
// pid whatever it left.  Returns the pids still alive afterwards.
async function stopBridge() {
  if (!bridge) return [];
  const { child } = bridge;
  const pids = [child.pid, ...descendants(child.pid)];
  bridge = null;
  try { child.kill('SIGTERM'); } catch { /* gone */ }
  for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(100);
  for (const p of pids) if (alive(p)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  await sleep(200);
  return pids.filter(alive);
}

// On a signal or an early exit: SIGKILL the bridge and its processes now.
exitHooks.push(() => {
  if (!bridge) return;
  const pids = [bridge.child.pid, ...descendants(bridge.child.pid)];
  bridge = null;
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
});

deadline(Number(process.env.DSS_RC_CONFORMANCE_TIMEOUT_MS || 200000), 'conformance checks', async () => {
  await stopBridge();
  cleanup();
});

note(`binary: ${BIN}`);
const port = await freePort();
const url = `http://127.0.0.1:${port}/mcp`;

await check('conformance: supergateway bridge starts on 127.0.0.1 only', async () => {
  const logFile = join(dir, 'supergateway.log');
  const out = openSync(logFile, 'a');
  const child = spawn(NODE22, [
    '-r', join(HERE, 'loopback.cjs'), GATEWAY,
    '--stdio', `${shq(BIN)} --db ${shq(join(dir, 'c.db'))}`,
    '--outputTransport', 'streamableHttp', '--stateful',
    '--port', String(port), '--streamableHttpPath', '/mcp', '--logLevel', 'info',
  ], { env, cwd: dir, stdio: ['ignore', out, out] });
  bridge = { child, logFile };
  let up = false;
  for (let i = 0; i < 150 && !up; i++) {
    if (child.exitCode !== null) break;
    up = await canConnect(port);
    if (!up) await sleep(100);
  }
  if (!up) {
    const log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
    throw new Error(`not listening on ${url} after 15 s (exit ${child.exitCode}): ${log}`);
  }
  const addrs = listeners(port);
  assert(addrs.length > 0, `no LISTEN socket for port ${port} in /proc/net/tcp*`);
  const foreign = addrs.filter((a) => !LOOPBACK_HEX.has(a));
  if (foreign.length) {
    await stopBridge();
    throw new Error(`listens on non-loopback address(es) ${foreign.join(', ')} (hex): stopped`);
  }
  note(`bridge: ${url} (pid ${child.pid})`);
});

for (const scenario of SCENARIOS) {
  await check(`conformance: ${scenario}`, async () => {
    assert(bridge, 'no bridge running');
    const outDir = join(dir, `results-${scenario}`);
    const r = await run(NODE22, [SUITE, 'server', '--url', url, '--scenario', scenario, '-o', outDir],
      { env, cwd: dir, timeoutMs: SCENARIO_TIMEOUT_MS });
    if (TRACE) note(`${describeExit(r)}\n${r.stdout}\n${r.stderr}`);
    // checks.json in the results directory holds one object per check.  A
    // scenario passes only on its results: at least one check passed and
    // none was skipped (a scenario that checked nothing proves nothing).
    let checks = null;
    let readErr = 'no checks.json in the results';
    try {
      const sub = readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('checks.json'));
      if (sub.length) checks = JSON.parse(readFileSync(join(outDir, String(sub[0])), 'utf8'));
    } catch (e) { readErr = `cannot read the results: ${e.message}`; }
    if (!Array.isArray(checks)) return `${describeExit(r)}; ${readErr}`;
    const passed = checks.filter((c) => c.status === 'SUCCESS');
    const skipped = checks.filter((c) => c.status === 'SKIPPED');
    const bad = checks.filter((c) => !['SUCCESS', 'INFO'].includes(c.status));
    const summary = (r.stdout.match(/Passed: \d+\/\d+, \d+ failed, \d+ warnings/) || [''])[0];
    if (r.code === 0 && bad.length === 0 && passed.length > 0 && !/[1-9]\d* failed/.test(summary)) {
      note(`${scenario}: ${passed.length} checks passed${summary ? ` (${summary})` : ''}`);
      return;
    }
    if (passed.length === 0) note(`${scenario}: no check passed`);
    if (skipped.length) note(`${scenario}: ${skipped.length} checks skipped`);
    for (const c of bad) note(`${scenario}: ${c.status} ${c.id || c.name}: ${c.description || ''} -- ${c.errorMessage || ''}`);
    const errLine = (r.stdout.match(/^\s*Error: .*$/m) || [''])[0].trim();
    return `${describeExit(r)}; ${summary || '(no summary)'}${errLine ? `; ${errLine}` : ''}` +
      (!summary && !errLine ? `; ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` : '');
  });
}

await check('conformance: bridge and every server process it started are stopped', async () => {
  const logFile = bridge && bridge.logFile;
  const left = await stopBridge();
  if (TRACE && logFile) note(readFileSync(logFile, 'utf8'));
  assert(left.length === 0, `still running after SIGTERM and SIGKILL: pids ${left.join(', ')}`);
  assert(!(await canConnect(port)), `port ${port} still accepts connections`);
});

cleanup();
finish();
