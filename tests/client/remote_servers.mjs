#!/usr/bin/env node
// The remote transport with the official TypeScript SDK client on its stdio
// side: @modelcontextprotocol/server-everything (pinned in package.json)
// is started in streamableHttp and in sse mode on a loopback port, and the
// SDK client talks to it twice: directly over HTTP (its own
// StreamableHTTPClientTransport / SSEClientTransport), and over stdio
// through the relay (tests/remote/remote_driver.c until `wrap --url`
// exists).  Every answer must be identical: tools/list, calls, sampling,
// elicitation and roots answered by the client's handlers, progress
// notifications, and a cancellation.
//
//   node tests/client/remote_servers.mjs <path-to-remote_driver>
//
// Output: `ok - name` / `not ok - name: reason` lines and a summary; exit 0
// only when nothing failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { spawn } from 'node:child_process';
import net from 'node:net';

const relay = process.argv[2];
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
  out.echo = await client.callTool({ name: 'echo', arguments: { message: 'héllo remote' } });
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
      const relayed = await session(new StdioClientTransport({
        command: relay, args: ['--url', url, '--transport', transportArg, '--config-dir', dir,
                               '--auth', 'none'], stderr: 'pipe' }));
      for (const k of KEYS)
        check(`${mode} (--transport ${transportArg}): ${k} identical to the SDK client over HTTP`,
              isDeepStrictEqual(direct[k], relayed[k]),
              JSON.stringify(relayed[k])?.slice(0, 200));
      check(`${mode} (--transport ${transportArg}): progress notifications reached the client`,
            relayed.progress >= 2, `${relayed.progress}`);
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
