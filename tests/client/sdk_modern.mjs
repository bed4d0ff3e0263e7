#!/usr/bin/env node
// Modern-era (protocol 2026-07-28) end-to-end test of dss-audit-mcp driven by
// the official v2 MCP TypeScript client, @modelcontextprotocol/client.
//
//   node tests/client/sdk_modern.mjs <path-to-dss-audit-mcp-binary>
//
// (run `npm install` in tests/client first).  The client is pinned to the
// modern era with versionNegotiation: { mode: { pin: '2026-07-28' } }: it
// probes with server/discover (on a short-lived sibling process, as the SDK
// does for its own StdioClientTransport), then sends every request
// statelessly with the per-request `_meta` envelope -- no initialize.
// Every message the server writes (session and probe sibling) is captured
// raw, checked for resultType "complete", and validated against the official
// 2026-07-28 schema.json (shared/mcp-spec beside the checkout, or the file
// named by DSS_MCP_SCHEMA).
//
// Output: one `ok - name` or `not ok - name: reason` line per check, `#`
// lines for detail, and a final `N passed, M failed`.  Exit 0 only when
// nothing failed.  Environment: DSS_SDK_TEST_TIMEOUT_MS (default 30000),
// DSS_SDK_TEST_TRACE=1 (print every raw message).

import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SPEC_VERSION = '2026-07-28';
const ACTOR = 'sdk-modern';
const CLIENT_INFO = { name: 'sdk-modern-client', version: '2.0.0-test' };
const OVERALL_TIMEOUT_MS = Number(process.env.DSS_SDK_TEST_TIMEOUT_MS || 30000);
const REQUEST_TIMEOUT_MS = 10000;
const TRACE = process.env.DSS_SDK_TEST_TRACE === '1';
const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_CLIENT_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const EXPECTED_TOOLS = [
  'log_operation',
  'get_operation_history',
  'get_audit_trail',
  'get_user_activity',
  'search_audit_log',
  'get_audit_entry',
  'verify_audit_log',
  'create_checkpoint',
  'get_inclusion_proof',
].sort();
// Result definition in schema.json, by the request method it answers.
const RESULT_DEF = {
  'server/discover': 'DiscoverResult',
  'tools/list': 'ListToolsResult',
  'tools/call': 'CallToolResult',
};

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;
let finished = false;

const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim().slice(0, 600);
function note(text) {
  if (finished) return;
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}
function ok(name) {
  if (finished) return;
  passed++;
  console.log(`ok - ${name}`);
}
function notOk(name, reason, details) {
  if (finished) return;
  failed++;
  console.log(`not ok - ${name}: ${oneLine(reason)}`);
  if (details) note(details);
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
async function check(name, fn) {
  try {
    const value = await fn();
    ok(name);
    return value;
  } catch (err) {
    const details = err instanceof TypeError || err instanceof ReferenceError ? err.stack : undefined;
    notOk(name, err instanceof Error ? err.message : String(err), details);
    return undefined;
  }
}
function summary() {
  if (finished) return;
  console.log(`${passed} passed, ${failed} failed`);
  finished = true;
}

// ---------------------------------------------------------------- setup

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node sdk_modern.mjs <path-to-dss-audit-mcp>');
  process.exit(2);
}

let Client, StdioClientTransport, Ajv2020, addFormats;
try {
  ({ Client } = await import('@modelcontextprotocol/client'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/client/stdio'));
  Ajv2020 = (await import('ajv/dist/2020.js')).default;
  addFormats = (await import('ajv-formats')).default;
} catch (err) {
  notOk('npm dependencies are installed', err.message.split('\n')[0]);
  note(`run \`npm install\` in ${fileURLToPath(new URL('.', import.meta.url))}`);
  summary();
  process.exit(1);
}

function loadSpecValidator() {
  const schemaPath =
    process.env.DSS_MCP_SCHEMA ||
    fileURLToPath(new URL(`../../../shared/mcp-spec/${SPEC_VERSION}/schema.json`, import.meta.url));
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  if (!String(schema.$schema || '').includes('2020-12')) {
    throw new Error(`${schemaPath}: $schema is ${JSON.stringify(schema.$schema)}, expected draft 2020-12`);
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  const id = `urn:mcp-schema:${SPEC_VERSION}`;
  ajv.addSchema({ ...schema, $id: id });
  const cache = new Map();
  return {
    path: schemaPath,
    validate(def, value) {
      if (!(def in schema.$defs)) return `schema.json has no $defs/${def}`;
      if (!cache.has(def)) cache.set(def, ajv.compile({ $ref: `${id}#/$defs/${def}` }));
      const v = cache.get(def);
      return v(value) ? null : ajv.errorsText(v.errors, { separator: '\n', dataVar: def });
    },
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'dss-sdk-modern-'));
for (const d of ['home', 'config', 'data']) mkdirSync(join(tmp, d));
const env = {
  PATH: process.env.PATH || '/usr/bin:/bin',
  HOME: join(tmp, 'home'),
  XDG_CONFIG_HOME: join(tmp, 'config'),
  XDG_DATA_HOME: join(tmp, 'data'),
  DSS_AUDIT_KEY: join(tmp, 'signing.key'),
};
const serverParams = {
  command: binary,
  args: ['--db', join(tmp, 'audit.db'), '--actor', ACTOR],
  env,
  stderr: 'pipe',
};

// Raw traffic, both directions, on the session transport and on the
// SDK's connect-time probe sibling.
const outgoing = []; // { via, msg }
const incoming = []; // { via, msg }
const spawned = []; // every transport this script created (for cleanup)

function instrument(transport, via) {
  spawned.push(transport);
  let handler;
  // Client.connect (and the probe window) assign onmessage; wrap whatever is set.
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    enumerable: true,
    get: () => (handler ? recordAndForward : undefined),
    set: (h) => {
      handler = h;
    },
  });
  function recordAndForward(msg, extra) {
    incoming.push({ via, msg });
    if (TRACE) note(`${via} <- ${JSON.stringify(msg)}`);
    return handler?.(msg, extra);
  }
  const send = transport.send.bind(transport);
  transport.send = (msg, opts) => {
    outgoing.push({ via, msg });
    if (TRACE) note(`${via} -> ${JSON.stringify(msg)}`);
    return send(msg, opts);
  };
  return transport;
}

const transport = instrument(new StdioClientTransport(serverParams), 'session');
// The SDK clones its base StdioClientTransport for the server/discover probe
// via `new transport.constructor(params)`; an own `constructor` property lets
// the clone be instrumented too, leaving the prototype (which the SDK checks
// to pick the sibling path) untouched.
Object.defineProperty(transport, 'constructor', {
  configurable: true,
  value: function ProbeSibling(params) {
    return instrument(new StdioClientTransport(params), 'probe');
  },
});
let stderrText = '';
transport.stderr?.on('data', (chunk) => {
  stderrText += chunk;
});

let cleanedUp = false;
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  try {
    await Promise.race([client?.close(), new Promise((r) => setTimeout(r, 3000))]);
  } catch {
    /* ignore */
  }
  for (const t of spawned) {
    const pid = t.pid;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}

const overall = setTimeout(async () => {
  notOk('overall timeout', `test did not finish within ${OVERALL_TIMEOUT_MS} ms`);
  if (stderrText) note(`server stderr:\n${stderrText.trimEnd()}`);
  summary();
  await cleanup();
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

// ---------------------------------------------------------------- run

let client;
const structured = (res, what) => {
  assert(res && res.isError !== true, `${what} returned isError: ${JSON.stringify(res?.content)}`);
  assert(res.structuredContent && typeof res.structuredContent === 'object', `${what}: no structuredContent`);
  return res.structuredContent;
};
const call = (name, args) => client.callTool({ name, arguments: args }, { timeout: REQUEST_TIMEOUT_MS });

try {
  const spec = await check('2026-07-28 schema.json loads (draft 2020-12)', () => loadSpecValidator());

  client = new Client(CLIENT_INFO, {
    capabilities: {},
    versionNegotiation: { mode: { pin: SPEC_VERSION }, probe: { timeoutMs: REQUEST_TIMEOUT_MS } },
  });
  client.onerror = (err) => note(`client onerror: ${err?.message ?? err}`);

  const connected = await check(`client connects pinned to ${SPEC_VERSION}`, async () => {
    await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    assert(client.getProtocolEra() === 'modern', `era: ${client.getProtocolEra()}`);
    assert(client.getNegotiatedProtocolVersion() === SPEC_VERSION, `version: ${client.getNegotiatedProtocolVersion()}`);
    return true;
  });

  if (connected) {
    await check('connect probed with server/discover and sent no initialize', () => {
      const methods = outgoing.filter((o) => o.msg.method).map((o) => `${o.via}:${o.msg.method}`);
      assert(methods.includes('probe:server/discover'), `client sent: ${methods.join(', ')}`);
      assert(!outgoing.some((o) => o.msg.method === 'initialize'), `initialize was sent: ${methods.join(', ')}`);
      const d = client.getDiscoverResult();
      assert(d?.supportedVersions?.includes(SPEC_VERSION), `supportedVersions: ${JSON.stringify(d?.supportedVersions)}`);
      assert(d?.capabilities?.tools, `capabilities: ${JSON.stringify(d?.capabilities)}`);
    });

    await check('server/discover on the session connection', async () => {
      const d = await client.discover({ timeout: REQUEST_TIMEOUT_MS });
      assert(d.supportedVersions?.includes(SPEC_VERSION), `supportedVersions: ${JSON.stringify(d.supportedVersions)}`);
    });

    await check('tools/list returns the 9 audit tools', async () => {
      const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
      const names = tools.map((t) => t.name).sort();
      assert(JSON.stringify(names) === JSON.stringify(EXPECTED_TOOLS), `tools: ${names.join(', ')}`);
    });

    const opName = `modern_op_${Date.now().toString(36)}`;
    const logged = await check('log_operation returns an audit_id', async () => {
      const sc = structured(
        await call('log_operation', {
          event_type: 'tool_call',
          operation_name: opName,
          args: { via: 'sdk-modern' },
          result: { ok: true },
        }),
        'log_operation',
      );
      assert(typeof sc.audit_id === 'string' && /^[0-9a-f-]{36}$/.test(sc.audit_id), `audit_id: ${JSON.stringify(sc.audit_id)}`);
      return sc;
    });

    const sentMeta = await check('log_operation request carried the modern _meta envelope', () => {
      const req = outgoing.find((o) => o.msg.method === 'tools/call' && o.msg.params?.name === 'log_operation');
      assert(req, 'no tools/call log_operation request captured');
      const meta = req.msg.params._meta || {};
      assert(meta[META_VERSION] === SPEC_VERSION, `${META_VERSION}: ${JSON.stringify(meta[META_VERSION])}`);
      assert(meta[META_CLIENT_CAPS] && typeof meta[META_CLIENT_CAPS] === 'object', `${META_CLIENT_CAPS} missing`);
      const ci = meta[META_CLIENT_INFO];
      assert(ci?.name === CLIENT_INFO.name && ci?.version === CLIENT_INFO.version, `${META_CLIENT_INFO}: ${JSON.stringify(ci)}`);
      return ci;
    });

    if (logged) {
      await check('get_audit_entry returns the entry with client from _meta and user_id from --actor', async () => {
        const { entry } = structured(await call('get_audit_entry', { audit_id: logged.audit_id }), 'get_audit_entry');
        assert(entry?.id === logged.audit_id, `entry.id: ${JSON.stringify(entry?.id)}`);
        assert(entry.operation_name === opName, `operation_name: ${JSON.stringify(entry.operation_name)}`);
        assert(entry.user_id === ACTOR, `user_id: ${JSON.stringify(entry.user_id)}`);
        const want = sentMeta ?? CLIENT_INFO;
        assert(
          entry.client?.name === want.name && entry.client?.version === want.version,
          `client: ${JSON.stringify(entry.client)}, sent ${JSON.stringify(want)}`,
        );
      });
    }

    await check('get_operation_history lists the logged entry', async () => {
      const sc = structured(await call('get_operation_history', { user_id: ACTOR }), 'get_operation_history');
      assert(Array.isArray(sc.entries), 'entries is not an array');
      assert(sc.entries.some((e) => e.id === logged?.audit_id && e.operation_name === opName), `entries: ${JSON.stringify(sc.entries.map((e) => e.id))}`);
    });

    if (logged) {
      await check('get_inclusion_proof proves the logged entry under the log\'s verifier key', async () => {
        const sc = structured(await call('get_inclusion_proof', { audit_id: logged.audit_id }), 'get_inclusion_proof');
        const lines = sc.proof.split('\n');
        assert(lines[0] === 'c2sp.org/tlog-proof@v1', `first line: ${JSON.stringify(lines[0])}`);
        assert(lines[2] === `index ${logged.seq - 1}`, `index line: ${JSON.stringify(lines[2])}`);
        const origin = lines[lines.indexOf('') + 1];
        assert(sc.vkey.startsWith(`${origin}+`), `vkey ${sc.vkey} is not of the checkpoint's origin ${origin}`);
        assert(sc.tree_size >= logged.seq, `tree_size ${sc.tree_size}`);
      });
    }

    await check('verify_audit_log reports ok', async () => {
      const sc = structured(await call('verify_audit_log', {}), 'verify_audit_log');
      assert(sc.ok === true, `ok: ${sc.ok}, problems: ${JSON.stringify(sc.problems)}`);
      assert(sc.entries_checked >= 1, `entries_checked: ${sc.entries_checked}`);
    });
  }

  // ---- every raw server message
  const methodById = new Map();
  for (const o of outgoing) {
    if (o.msg.method !== undefined && o.msg.id !== undefined) methodById.set(`${o.via}:${JSON.stringify(o.msg.id)}`, o.msg.method);
  }
  await check('server sent messages and no unexpected requests', () => {
    assert(incoming.length > 0, 'no messages captured');
    const reqs = incoming.filter((i) => i.msg.method !== undefined && i.msg.id !== undefined);
    assert(reqs.length === 0, `server requests: ${reqs.map((r) => r.msg.method).join(', ')}`);
  });
  for (const { via, msg } of incoming) {
    const method = methodById.get(`${via}:${JSON.stringify(msg.id)}`);
    const label = `${via} ${method ?? msg.method ?? '?'} id=${JSON.stringify(msg.id)}`;
    if ('result' in msg) {
      await check(`${label}: result carries resultType "complete"`, () => {
        assert(msg.result?.resultType === 'complete', `resultType: ${JSON.stringify(msg.result?.resultType)}`);
      });
      if (spec) {
        const def = RESULT_DEF[method];
        await check(`${label}: valid ${def ?? 'Result'} and JSONRPCResultResponse`, () => {
          assert(def, `no result definition for method ${method}`);
          const e1 = spec.validate(def, msg.result);
          const e2 = spec.validate('JSONRPCResultResponse', msg);
          assert(!e1 && !e2, [e1, e2].filter(Boolean).join('; '));
        });
      }
    } else if ('error' in msg) {
      notOk(`${label}: no error responses`, JSON.stringify(msg));
      if (spec) {
        await check(`${label}: valid JSONRPCErrorResponse`, () => {
          const e = spec.validate('JSONRPCErrorResponse', msg);
          assert(!e, e);
        });
      }
    } else if (spec) {
      await check(`${label}: valid JSONRPCNotification`, () => {
        const e = spec.validate('JSONRPCNotification', msg);
        assert(!e, e);
      });
    }
  }
} catch (err) {
  notOk('test script', err?.stack ?? String(err));
} finally {
  clearTimeout(overall);
  if (failed && stderrText) note(`server stderr:\n${stderrText.trimEnd()}`);
  await cleanup();
  summary();
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
