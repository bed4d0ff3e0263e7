#!/usr/bin/env node
// The 2026-07-28 era end to end over HTTP: the official v2 client
// (@modelcontextprotocol/client, pinned to 2026-07-28) against the minimal
// stateless server of tests/remote/test_server.mjs (which checks every
// request metadata header against the body), once over its own
// StreamableHTTPClientTransport and once over stdio through the relay
// (tests/remote/remote_driver.c until `wrap --url`).  The answers must be
// identical: tools/list, a call, a call whose x-mcp-header parameters the
// relay mirrors into headers, and a multi round-trip call whose
// elicitation the client's handler answers.
//
//   node tests/client/modern_remote.mjs <path-to-remote_driver>
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const relay = process.argv[2];
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

try {
  const direct = await session(new StreamableHTTPClientTransport(new URL(url)));
  const relayed = await session(new StdioClientTransport({
    command: relay, args: ['--url', url, '--config-dir', dir, '--auth', 'none'], stderr: 'pipe' }));
  check('direct: the client speaks 2026-07-28', direct.era === 'modern' && direct.version === '2026-07-28',
        `${direct.era} ${direct.version}`);
  check('relayed: the client speaks 2026-07-28', relayed.era === 'modern' && relayed.version === '2026-07-28',
        `${relayed.era} ${relayed.version}`);
  for (const k of ['tools', 'echo', 'region', 'ask'])
    check(`${k} identical through the relay`, isDeepStrictEqual(direct[k], relayed[k]),
          JSON.stringify(relayed[k])?.slice(0, 300));
  check('the relay mirrored x-mcp-header values the server checked',
        relayed.region?.structuredContent?.region === '=?base64?c8Ojby1wYXVsbw==?=' &&
        relayed.region?.structuredContent?.level === '3', JSON.stringify(relayed.region));
  check('the multi round-trip call was answered through the client handler',
        relayed.ask?.content?.[0]?.text === 'hello Ada', JSON.stringify(relayed.ask));
} catch (err) {
  check('sessions ran', false, err.stack?.split("\n").slice(0, 6).join(" | "));
} finally {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
