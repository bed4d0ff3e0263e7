#!/usr/bin/env node
// wrap around real servers: @modelcontextprotocol/server-everything and
// server-filesystem, driven by the official TypeScript SDK client, once
// directly and once through `dss-audit-mcp wrap`, and the answers compared.
// Then the trail is read back (query --json) and the chain verified.
//
//   node tests/client/wrap_servers.mjs <path-to-dss-audit-mcp-binary>
//
// Output: `ok - name` / `not ok - name: reason` lines and a summary; exit 0
// only when nothing failed.  Missing npm packages are a failure.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { execFileSync } from 'node:child_process';

const bin = process.argv[2];
let passed = 0, failed = 0;
function check(name, cond, why = '') {
  if (cond) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}${why ? ': ' + why : ''}`); }
}
setTimeout(() => { console.log('not ok - finished in time'); process.exit(1); }, 60000).unref();

let Client, StdioClientTransport, T;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
  T = await import('@modelcontextprotocol/sdk/types.js');
} catch (err) {
  console.log(`not ok - npm dependencies are installed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const everything = join(here, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const filesystem = join(here, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'dss-wrap-'));
const db = join(dir, 'audit.db');
const SECRET = 'ghp_' + 'a1b2c3d4e5f6g7h8i9j0'.repeat(2).slice(0, 36);

async function session(wrapped) {
  const command = wrapped ? bin : process.execPath;
  const args = wrapped
    ? ['wrap', '--db', db, '--actor', 'sdk', '--record-results', 'full', '--kill-after', '1', '--',
       process.execPath, everything, 'stdio']
    : [everything, 'stdio'];
  const transport = new StdioClientTransport({ command, args, stderr: 'pipe' });
  const client = new Client({ name: 'wrap-sdk-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(T.CreateMessageRequestSchema, async () => ({
    role: 'assistant', model: 'test-model',
    content: { type: 'text', text: 'sampled answer' } }));
  client.setRequestHandler(T.ElicitRequestSchema, async () => ({
    action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(T.ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///tmp/root-one', name: 'one' }] }));
  await client.connect(transport);
  const out = {};
  out.tools = (await client.listTools()).tools;
  out.echo = await client.callTool({ name: 'echo', arguments: { message: `hello ${SECRET}` } });
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
  out.serverName = client.getServerVersion()?.name;
  await client.close();
  return out;
}

// server-filesystem over a folder of its own (no roots capability, so the
// folder given on its command line is the one it serves).
const root = join(dir, 'files');
mkdirSync(root);
writeFileSync(join(root, 'a.txt'), 'alpha\n');
const fsdb = join(dir, 'fs.db');
async function fsSession(wrapped) {
  const args = wrapped
    ? ['wrap', '--db', fsdb, '--actor', 'sdk', '--kill-after', '1', '--', process.execPath, filesystem, root]
    : [filesystem, root];
  const transport = new StdioClientTransport({ command: wrapped ? bin : process.execPath, args, stderr: 'pipe' });
  const client = new Client({ name: 'wrap-sdk-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  const out = {};
  out.tools = (await client.listTools()).tools;
  out.read = await client.callTool({ name: 'read_text_file', arguments: { path: join(root, 'a.txt') } });
  out.list = await client.callTool({ name: 'list_directory', arguments: { path: root } });
  out.denied = await client.callTool({ name: 'read_text_file', arguments: { path: '/etc/hostname' } });
  await client.close();
  return out;
}

try {
  const fplain = await fsSession(false);
  const fwrapped = await fsSession(true);
  for (const k of ['tools', 'read', 'list', 'denied'])
    check(`filesystem ${k} identical through wrap`, isDeepStrictEqual(fplain[k], fwrapped[k]));
  const fsl = execFileSync(bin, ['query', '--db', fsdb, '--json']).toString().trim().split('\n')
    .map((l) => JSON.parse(l));
  const fcalls = fsl.filter((e) => e.event_type === 'tool_call');
  check('filesystem: three calls recorded, each with an outcome', fcalls.length === 3 &&
        fcalls.every((c) => fsl.some((o) => o.completes === c.id)));
  check('filesystem: the refused read is an isError outcome', fsl.some((o) =>
    o.event_type === 'mcp_outcome' && o.error === 'the tool returned isError'));
} catch (err) {
  check('filesystem sessions ran', false, err.stack);
}

try {
  const plain = await session(false);
  const wrapped = await session(true);
  check('tools/list identical to the unwrapped server', isDeepStrictEqual(plain.tools, wrapped.tools));
  for (const k of ['echo', 'sum', 'sampling', 'elicit', 'roots', 'long'])
    check(`${k} answered identically through wrap`, plain[k] !== undefined &&
          isDeepStrictEqual(plain[k], wrapped[k]), JSON.stringify(wrapped[k])?.slice(0, 200));
  check('sampling answered by the client handler', JSON.stringify(wrapped.sampling).includes('sampled answer'));
  check('elicitation answered by the client handler', JSON.stringify(wrapped.elicit).includes('Ada'));
  check('roots answered by the client handler', JSON.stringify(wrapped.roots).includes('root-one'));
  check('progress notifications relayed', wrapped.progress >= 2 && plain.progress >= 2,
        `${wrapped.progress} through wrap, ${plain.progress} direct`);
  check('cancellation of a running call', wrapped.cancelled);

  const lines = execFileSync(bin, ['query', '--db', db, '--json', '--limit', '100000'])
    .toString().trim().split('\n').map((l) => JSON.parse(l));
  const calls = lines.filter((e) => e.event_type === 'tool_call');
  const outcomes = lines.filter((e) => e.event_type === 'mcp_outcome');
  const byId = new Map(outcomes.map((o) => [o.completes, o]));
  check('one tool_call record per call', calls.length === 7, String(calls.length));
  check('every call has its outcome', calls.every((c) => byId.has(c.id)));
  check('the cancelled call is recorded as cancelled',
        calls.some((c) => byId.get(c.id)?.error === 'cancelled'));
  check('server identity recorded', typeof wrapped.serverName === 'string' &&
        outcomes.every((o) => o.server?.name === wrapped.serverName));
  check('server requests recorded',
        ['sampling/createMessage', 'elicitation/create', 'roots/list'].every((m) =>
          lines.some((e) => e.event_type === 'mcp_server_request' && e.operation_name === m)));
  check('secret scrubbed from the trail', !JSON.stringify(lines).includes(SECRET));
  let verified = true;
  try { execFileSync(bin, ['verify', '--db', db], { stdio: 'ignore' }); } catch { verified = false; }
  check('the chain verifies', verified);
} catch (err) {
  check('sessions ran', false, err.stack);
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
