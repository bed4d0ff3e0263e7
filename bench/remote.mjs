#!/usr/bin/env node
// `dss-audit-mcp wrap --url` measured against the official SDK client
// talking to the same server over HTTP directly (issue 21's targets:
// added latency p50 per lockstep call <= 1 ms, throughput at 16 in flight
// >= 0.7x direct, wrapper peak RSS <= 16 MB), with recording: each wrapped
// session writes its trail to a fresh database (synchronous=FULL, as
// always).
//
//   node bench/remote.mjs --bin PATH [--driver PATH] [--calls 500]
//                         [--flight-calls 4000] [--rounds 3] [--dir DIR]
//
// --bin is dss-audit-mcp (run as `wrap --db DIR/rN.db --url URL --auth
// none`); --driver, when given, also measures tests/remote/remote_driver
// (the transport alone, no recording), to tell the transport's cost from
// the trail's.  The server is the SDK's own stateful Streamable HTTP server
// (tests/remote/test_server.mjs legacy), whose echo tool answers over SSE
// as most servers do.  Every round runs direct, wrapped (and driver) one
// after the other, so the ratios of a round come from one moment of the
// machine; the summary gives their medians.  Peak RSS is the wrapper's
// VmHWM read from /proc just before it is closed.  Nothing is asserted.
// bench/run --remote runs it on the Release build.
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// The SDK's HTTP client adds an abort listener per request in flight and
// warns past 1,500; the warnings are noise here.
process.removeAllListeners('warning');
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../tests/client/package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : d;
};
const bin = arg('--bin');
const driver = arg('--driver');
if (!bin) {
  console.error('usage: bench/remote.mjs --bin PATH-TO-dss-audit-mcp [--driver PATH] [--calls N] ' +
                '[--flight-calls N] [--rounds N] [--dir DIR]');
  process.exit(2);
}
const CALLS = Number(arg('--calls', 500));
const FLIGHT_CALLS = Number(arg('--flight-calls', 4000));
const ROUNDS = Number(arg('--rounds', 3));
const FLIGHT = 16;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, '../tests/remote/test_server.mjs'), 'legacy',
                                         String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (up) return { child, url: `http://127.0.0.1:${port}/mcp` };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not start');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function measure(transport, pidOf) {
  const client = new Client({ name: 'bench', version: '1' }, { capabilities: {} });
  await client.connect(transport);
  const call = () => client.callTool({ name: 'echo', arguments: { text: 'x' } });
  for (let i = 0; i < 50; i++) await call(); // warm up
  const lat = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: FLIGHT }, async () => {
    while (next++ < FLIGHT_CALLS) await call();
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  let rss = null;
  const pid = pidOf?.();
  if (pid) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    rss = m ? Number(m[1]) / 1024 : null;
  }
  await client.close();
  return { p50: median(lat), rate: FLIGHT_CALLS / secs, rss };
}

const dir = arg('--dir') ?? mkdtempSync(join(tmpdir(), 'dss-bench-remote-'));
const srv = await startServer();
const rows = [];
const fmt = (x, d = 3) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
console.log(`# bench/remote.mjs: ${CALLS} lockstep calls, ${FLIGHT_CALLS} calls with ${FLIGHT} in ` +
            `flight, ${ROUNDS} rounds; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
try {
  for (let r = 0; r < ROUNDS; r++) {
    const direct = await measure(new StreamableHTTPClientTransport(new URL(srv.url)));
    const db = join(dir, `remote-r${r}.db`);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    const t = new StdioClientTransport({ command: bin,
      args: ['wrap', '--db', db, '--actor', 'bench', '--url', srv.url, '--auth', 'none'],
      env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') }, stderr: 'ignore' });
    const wrapped = await measure(t, () => t.pid);
    let bare = null;
    if (driver) {
      const d = new StdioClientTransport({ command: driver,
        args: ['--url', srv.url, '--config-dir', dir, '--auth', 'none'], stderr: 'ignore' });
      bare = await measure(d, () => d.pid);
    }
    rows.push({ direct, wrapped, bare });
    console.log(`round ${r + 1}: lockstep p50 ${fmt(direct.p50)} ms direct, ${fmt(wrapped.p50)} ms ` +
      `wrap --url (+${fmt(wrapped.p50 - direct.p50)} ms)` +
      (bare ? `, ${fmt(bare.p50)} ms transport alone (+${fmt(bare.p50 - direct.p50)} ms)` : '') +
      `; 16 in flight ${fmt(direct.rate, 0)}/s direct, ${fmt(wrapped.rate, 0)}/s wrap --url ` +
      `(${fmt(wrapped.rate / direct.rate, 2)}x)` +
      (bare ? `, ${fmt(bare.rate, 0)}/s transport alone (${fmt(bare.rate / direct.rate, 2)}x)` : '') +
      `; wrapper peak RSS ${fmt(wrapped.rss, 1)} MiB` + (bare ? ` (transport alone ${fmt(bare.rss, 1)})` : ''));
  }
  const added = median(rows.map((x) => x.wrapped.p50 - x.direct.p50));
  const ratio = median(rows.map((x) => x.wrapped.rate / x.direct.rate));
  const rss = median(rows.map((x) => x.wrapped.rss ?? NaN));
  console.log(`median of ${ROUNDS}: wrap --url added latency p50 ${fmt(added)} ms (target <= 1: ` +
    `${added <= 1 ? 'met' : 'NOT met'}), throughput ${fmt(ratio, 2)}x direct (target >= 0.7: ` +
    `${ratio >= 0.7 ? 'met' : 'NOT met'}), peak RSS ${fmt(rss, 1)} MiB (target <= 16 MB = 15.3 MiB: ` +
    `${rss <= 16e6 / 1048576 ? 'met' : 'NOT met'})`);
  if (driver)
    console.log(`median of ${ROUNDS}: transport alone added latency p50 ` +
      `${fmt(median(rows.map((x) => x.bare.p50 - x.direct.p50)))} ms, throughput ` +
      `${fmt(median(rows.map((x) => x.bare.rate / x.direct.rate)), 2)}x direct`);
} finally {
  srv.child.kill('SIGKILL');
  if (!arg('--dir')) rmSync(dir, { recursive: true, force: true });
}
