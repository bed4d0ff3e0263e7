#!/usr/bin/env node
// The 2026-07-28 era end to end: the official v2 client
// (@modelcontextprotocol/client, pinned to 2026-07-28) against the minimal
// stateless server of tests/remote/test_server.mjs (which checks every
// request metadata header against the body), over its own
// StreamableHTTPClientTransport, over stdio through `dss-audit-mcp wrap
// --url`, and over stdio through stdio `wrap` around the same server's
// stdio mode.  The answers must be identical: tools/list, a call, a call
// whose x-mcp-header parameters the wrapper mirrors into headers (HTTP),
// and a multi round-trip call whose elicitation the client's handler
// answers.  Each wrapper's trail must hold the client's identity from
// _meta on every entry and the multi round-trip call as one tool_call
// with its rounds linked.
//
//   node tests/client/modern_remote.mjs <path-to-dss-audit-mcp>
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const bin = process.argv[2];
let passed = 0, failed = 0;
function check(name, cond, why = '') {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}${why ? ': ' + why : ''}`); }
}
setTimeout(() => { console.log('not ok - finished in time'); process.exit(1); }, 60000).unref();

let Client, StreamableHTTPClientTransport, StdioClientTransport;
try {
  ({ Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/client/stdio'));
} catch (err) {
  console.log(`not ok - npm dependencies are installed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dss-modern-remote-'));

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(process.execPath, [join(here, '../remote/test_server.mjs'), 'modern', String(port)],
                     { stdio: 'ignore' });
for (let i = 0; i < 200; i++) {
  const up = await new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  });
  if (up) break;
  await new Promise((r) => setTimeout(r, 50));
}
const url = `http://127.0.0.1:${port}/mcp`;

async function session(transport) {
  const client = new Client({ name: 'modern-remote-test', version: '2.0.0' }, {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: { pin: '2026-07-28' } },
  });
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
  await client.connect(transport);
  const out = { era: client.getProtocolEra(), version: client.getNegotiatedProtocolVersion() };
  out.tools = (await client.listTools()).tools;
  out.echo = await client.callTool({ name: 'echo', arguments: { text: 'modern héllo' } });
  out.region = await client.callTool({ name: 'region_tool',
    arguments: { region: 'são-paulo', opts: { level: 3 }, query: 'q' } });
  out.ask = await client.callTool({ name: 'ask', arguments: {} });
  await client.close();
  return out;
}

// The trail of one wrapper: the v2 client's identity from _meta on every
// entry, and ask as one tool_call whose rounds are linked through
// completes (tool_call <- mcp_input_required <- mcp_input_response <-
// mcp_outcome).
function checkTrail(name, db) {
  const entries = execFileSync(bin, ['query', '--db', db, '--json', '--limit', '1000']).toString()
    .trim().split('\n').map((l) => JSON.parse(l));
  check(`${name}: the client identity from _meta is on every entry`, entries.length > 0 &&
        entries.every((e) => e.client?.name === 'modern-remote-test' && e.client?.version === '2.0.0'),
        JSON.stringify(entries.map((e) => e.client)).slice(0, 200));
  const asks = entries.filter((e) => e.event_type === 'tool_call' && e.operation_name === 'ask');
  const next = (e) => entries.find((o) => o.completes === e?.id);
  const r1 = next(asks[0]), retry = next(r1), last = next(retry);
  check(`${name}: the multi round-trip call is one tool_call with its rounds linked`,
        asks.length === 1 && r1?.event_type === 'mcp_input_required' &&
        retry?.event_type === 'mcp_input_response' && last?.event_type === 'mcp_outcome' &&
        retry?.args?.inputResponses !== undefined,
        JSON.stringify([r1?.event_type, retry?.event_type, last?.event_type]));
  check(`${name}: the server named from its results`, entries.some((e) =>
    e.event_type === 'mcp_outcome' && e.server?.name === 'remote-test-modern'));
}

try {
  const direct = await session(new StreamableHTTPClientTransport(new URL(url)));
  const env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') };
  const viaUrl = await session(new StdioClientTransport({
    command: bin, args: ['wrap', '--db', join(dir, 'url.db'), '--kill-after', '1', '--url', url,
                         '--auth', 'none'], env, stderr: 'pipe' }));
  const viaStdio = await session(new StdioClientTransport({
    command: bin, args: ['wrap', '--db', join(dir, 'stdio.db'), '--kill-after', '1', '--',
                         process.execPath, join(here, '../remote/test_server.mjs'), 'modern-stdio'],
    env, stderr: 'pipe' }));
  check('direct: the client speaks 2026-07-28', direct.era === 'modern' && direct.version === '2026-07-28',
        `${direct.era} ${direct.version}`);
  for (const [name, relayed, keys] of [['wrap --url', viaUrl, ['tools', 'echo', 'region', 'ask']],
                                       ['stdio wrap', viaStdio, ['tools', 'echo', 'ask']]]) {
    check(`${name}: the client speaks 2026-07-28`, relayed.era === 'modern' && relayed.version === '2026-07-28',
          `${relayed.era} ${relayed.version}`);
    for (const k of keys)
      check(`${name}: ${k} identical to the client over HTTP`, isDeepStrictEqual(direct[k], relayed[k]),
            JSON.stringify(relayed[k])?.slice(0, 300));
    check(`${name}: the multi round-trip call was answered through the client handler`,
          relayed.ask?.content?.[0]?.text === 'hello Ada', JSON.stringify(relayed.ask));
  }
  check('wrap --url mirrored x-mcp-header values the server checked',
        viaUrl.region?.structuredContent?.region === '=?base64?c8Ojby1wYXVsbw==?=' &&
        viaUrl.region?.structuredContent?.level === '3', JSON.stringify(viaUrl.region));
  checkTrail('wrap --url', join(dir, 'url.db'));
  checkTrail('stdio wrap', join(dir, 'stdio.db'));
} catch (err) {
  check('sessions ran', false, err.stack?.split("\n").slice(0, 6).join(" | "));
} finally {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
