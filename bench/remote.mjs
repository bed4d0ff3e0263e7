#!/usr/bin/env node
// The remote transport's cost, measured against the official SDK client
// talking to the same server over HTTP directly (issue 21's targets:
// added latency p50 per lockstep call <= 1 ms, throughput at 16 in flight
// >= 0.7x direct, relay peak RSS <= 16 MB).
//
//   node bench/remote.mjs --relay PATH [--args "..."] [--calls 500]
//                         [--flight-calls 4000] [--rounds 3]
//
// The server is the SDK's own stateful Streamable HTTP server
// (tests/remote/test_server.mjs legacy), whose echo tool answers over SSE
// as most servers do.  The relay is given `--url URL` then --args (split on
// blanks): tests/remote/remote_driver.c now, `dss-audit-mcp wrap` later.
// Output: one line per round and the medians; nothing is asserted.
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
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
const relay = arg('--relay');
if (!relay) {
  console.error('usage: bench/remote.mjs --relay PATH [--args "..."]');
  process.exit(2);
}
const extra = (arg('--args', '') || '').split(/\s+/).filter(Boolean);
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

const dir = mkdtempSync(join(tmpdir(), 'dss-bench-remote-'));
const srv = await startServer();
const rows = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const direct = await measure(new StreamableHTTPClientTransport(new URL(srv.url)));
    const t = new StdioClientTransport({ command: relay,
      args: ['--url', srv.url, '--config-dir', dir, ...extra], stderr: 'ignore' });
    const relayed = await measure(t, () => t.pid);
    rows.push({ direct, relayed });
    console.log(`round ${r + 1}: lockstep p50 ${direct.p50.toFixed(3)} ms direct, ` +
      `${relayed.p50.toFixed(3)} ms relayed (+${(relayed.p50 - direct.p50).toFixed(3)} ms); ` +
      `16 in flight ${direct.rate.toFixed(0)}/s direct, ${relayed.rate.toFixed(0)}/s relayed ` +
      `(${(relayed.rate / direct.rate).toFixed(2)}x); relay peak RSS ${relayed.rss?.toFixed(1)} MiB`);
  }
  const added = median(rows.map((x) => x.relayed.p50 - x.direct.p50));
  const ratio = median(rows.map((x) => x.relayed.rate / x.direct.rate));
  const rss = median(rows.map((x) => x.relayed.rss ?? NaN));
  console.log(`median of ${ROUNDS}: added latency p50 ${added.toFixed(3)} ms (target <= 1), ` +
    `throughput ${ratio.toFixed(2)}x direct (target >= 0.7), relay peak RSS ${rss.toFixed(1)} MiB ` +
    '(target <= 16)');
} finally {
  srv.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
