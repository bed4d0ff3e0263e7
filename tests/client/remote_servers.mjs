#!/usr/bin/env node
// `dss-audit-mcp wrap --url` with the official TypeScript SDK client on its
// stdio side: @modelcontextprotocol/server-everything (pinned in
// package.json) is started in streamableHttp and in sse mode on a loopback
// port, and the SDK client talks to it directly over HTTP (its own
// StreamableHTTPClientTransport / SSEClientTransport), and over stdio
// through `wrap --url` (with --transport given, and auto).  Every answer
// must be identical: tools/list, calls, sampling, elicitation and roots
// answered by the client's handlers, progress notifications, and a
// cancellation.  Then each wrapper's trail is read back (query --json):
// every call recorded with its outcome, the server named with its URL, the
// secret in an argument scrubbed from the raw database, the chain verified.
//
//   node tests/client/remote_servers.mjs <path-to-dss-audit-mcp>
//
// Output: `ok - name` / `not ok - name: reason` lines and a summary; exit 0
// only when nothing failed.
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';

const bin = process.argv[2];
const SECRET = 'ghp_' + 'q1w2e3r4t5y6u7i8o9p0'.repeat(2).slice(0, 36);
let passed = 0, failed = 0;
function check(name, cond, why = '') {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}${why ? ': ' + why : ''}`); }
}
setTimeout(() => { console.log('not ok - finished in time'); process.exit(1); }, 100000).unref();

let Client, StdioClientTransport, StreamableHTTPClientTransport, SSEClientTransport, T;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
  ({ StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js'));
  ({ SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js'));
  T = await import('@modelcontextprotocol/sdk/types.js');
} catch (err) {
  console.log(`not ok - npm dependencies are installed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const everything = join(here, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'dss-remote-'));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(mode) {
  const port = await freePort();
  const child = spawn(process.execPath, [everything, mode], {
    env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`server-everything ${mode} did not start`);
}

async function session(transport) {
  const client = new Client({ name: 'remote-sdk-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(T.CreateMessageRequestSchema, async () => ({
    role: 'assistant', model: 'test-model', content: { type: 'text', text: 'sampled answer' } }));
  client.setRequestHandler(T.ElicitRequestSchema, async () => ({
    action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(T.ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///tmp/root-one', name: 'one' }] }));
  await client.connect(transport);
  const out = {};
  out.tools = (await client.listTools()).tools;
  out.echo = await client.callTool({ name: 'echo', arguments: { message: `héllo remote ${SECRET}` } });
  out.sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
  const names = out.tools.map((t) => t.name);
  if (names.includes('trigger-sampling-request'))
    out.sampling = await client.callTool({ name: 'trigger-sampling-request',
                                           arguments: { prompt: 'hi', maxTokens: 5 } });
  if (names.includes('trigger-elicitation-request'))
    out.elicit = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  if (names.includes('get-roots-list'))
    out.roots = await client.callTool({ name: 'get-roots-list', arguments: {} });
  let progress = 0;
  out.long = await client.callTool({ name: 'trigger-long-running-operation',
                                     arguments: { duration: 0.3, steps: 3 } },
                                   undefined, { onprogress: () => { progress++; } });
  out.progress = progress;
  const ac = new AbortController();
  const p = client.callTool({ name: 'trigger-long-running-operation',
                              arguments: { duration: 5, steps: 5 } },
                            undefined, { signal: ac.signal });
  setTimeout(() => ac.abort('test cancels'), 200);
  out.cancelled = await p.then(() => false, () => true);
  out.after = await client.callTool({ name: 'echo', arguments: { message: 'still there' } });
  out.serverName = client.getServerVersion()?.name;
  await client.close();
  return out;
}

// Not `progress`: the SDK client may drop the last progress notification
// when the result is handled first (both arrive together), direct or not;
// each session is checked to have seen progress instead.
const KEYS = ['tools', 'echo', 'sum', 'sampling', 'elicit', 'roots', 'long', 'cancelled',
              'after', 'serverName'];

// The trail of one wrapped session: every tools/call with its outcome,
// the server's name and URL, the server's own requests, the secret
// scrubbed from the raw bytes, the chain verified.
function checkTrail(name, db, url) {
  const entries = execFileSync(bin, ['query', '--db', db, '--json', '--limit', '100000']).toString()
    .trim().split('\n').map((l) => JSON.parse(l));
  const calls = entries.filter((e) => e.event_type === 'tool_call');
  check(`${name}: every call recorded with its outcome`, calls.length >= 8 &&
        calls.every((c) => entries.some((o) => o.completes === c.id)), `${calls.length} calls`);
  check(`${name}: the server is named with its URL`, calls.every((c) =>
    c.server?.name === 'mcp-servers/everything' && c.server?.url === url), JSON.stringify(calls[0]?.server));
  check(`${name}: the server's sampling, elicitation and roots requests recorded`,
        ['sampling/createMessage', 'elicitation/create', 'roots/list'].every((m) =>
          entries.some((e) => e.event_type === 'mcp_server_request' && e.operation_name === m)));
  check(`${name}: the cancelled call's outcome says so`, entries.some((o) =>
    o.event_type === 'mcp_outcome' && o.error === 'cancelled'));
  const raw = [db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
  check(`${name}: the secret argument is not in the raw database`, raw.length > 0 && !raw.includes(SECRET));
  let verified = true;
  try { execFileSync(bin, ['verify', '--db', db], { stdio: 'ignore' }); } catch { verified = false; }
  check(`${name}: the chain verifies`, verified);
}

for (const [mode, path, Direct, flag] of [
  ['streamableHttp', '/mcp', StreamableHTTPClientTransport, 'streamable-http'],
  ['sse', '/sse', SSEClientTransport, 'sse'],
]) {
  let srv;
  try {
    srv = await startServer(mode);
    const url = `http://127.0.0.1:${srv.port}${path}`;
    const direct = await session(new Direct(new URL(url)));
    for (const transportArg of [flag, 'auto']) {
      const db = join(dir, `${mode}-${transportArg}.db`);
      const relayed = await session(new StdioClientTransport({
        command: bin, args: ['wrap', '--db', db, '--actor', 'sdk', '--kill-after', '1', '--url', url,
                             '--transport', transportArg, '--auth', 'none'],
        env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') }, stderr: 'pipe' }));
      const name = `${mode} (--transport ${transportArg})`;
      for (const k of KEYS)
        check(`${name}: ${k} identical to the SDK client over HTTP`,
              isDeepStrictEqual(direct[k], relayed[k]),
              JSON.stringify(relayed[k])?.slice(0, 200));
      check(`${name}: progress notifications reached the client`,
            relayed.progress >= 2, `${relayed.progress}`);
      checkTrail(name, db, url);
    }
    check(`${mode}: sampling, elicitation and roots were exercised`,
          direct.sampling && direct.elicit && direct.roots);
    check(`${mode}: progress arrived directly`, direct.progress >= 2, `${direct.progress}`);
    check(`${mode}: the cancelled call ended`, direct.cancelled === true);
  } catch (err) {
    check(`${mode}: sessions ran`, false, err.stack?.split('\n').slice(0, 3).join(' | '));
  } finally {
    srv?.child.kill('SIGKILL');
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
