#!/usr/bin/env node
// End-to-end test of dss-audit-mcp driven by the official MCP TypeScript SDK.
//
//   node tests/client/sdk_client.mjs <path-to-dss-audit-mcp-binary>
//
// (run `npm install` in tests/client first).  It starts the server over stdio
// with StdioClientTransport, talks to it with the SDK's Client, and checks
// the results against the project's contract.  Every line the server writes
// to stdout is also captured raw and validated against the official MCP
// JSON schema (shared/mcp-spec/2025-11-25/schema.json beside the checkout,
// or the file named by DSS_MCP_SCHEMA).  A second session forces protocol
// version 2025-03-26 in the initialize request.
//
// Output: one `ok - name` or `not ok - name: reason` line per check, `#`
// lines for detail, and a final `N passed, M failed`.  Exit 0 only when
// nothing failed.  A hard overall timeout keeps it from ever hanging.
//
// Environment: DSS_MCP_SCHEMA (MCP schema.json), DSS_SCHEMA_DIR (the
// project's schemas/), DSS_SDK_TEST_TIMEOUT_MS (default 30000),
// DSS_SDK_TEST_TRACE=1 (print every server line).

import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

// The npm packages are loaded dynamically so that a missing `npm install`
// is reported as a failed check rather than a stack trace.
let Client, StdioClientTransport, McpError, LATEST_PROTOCOL_VERSION, Ajv, Ajv2019, Ajv2020, addFormats;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
  ({ McpError, LATEST_PROTOCOL_VERSION } = await import('@modelcontextprotocol/sdk/types.js'));
  Ajv = (await import('ajv')).default;
  Ajv2019 = (await import('ajv/dist/2019.js')).default;
  Ajv2020 = (await import('ajv/dist/2020.js')).default;
  addFormats = (await import('ajv-formats')).default;
} catch (err) {
  console.log(`not ok - npm dependencies are installed: ${err.message.split('\n')[0]}`);
  console.log(`# run \`npm install\` in ${fileURLToPath(new URL('.', import.meta.url))}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const OVERALL_TIMEOUT_MS = Number(process.env.DSS_SDK_TEST_TIMEOUT_MS || 30000);
const REQUEST_TIMEOUT_MS = 10000;
const SPEC_VERSION = '2025-11-25';
const OLD_VERSION = '2025-03-26';
const ACTOR = 'sdk-tester';
const CLIENT_INFO = { name: 'sdk-test-client', version: '1.0.0' };
const REDACTED = '***REDACTED***';
// The five audit tools every build must offer (the brief's contract).
const CORE_TOOLS = [
  'log_operation',
  'get_operation_history',
  'get_audit_trail',
  'get_user_activity',
  'search_audit_log',
];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// RFC 3339 UTC with microseconds, as schemas/audit_entry.json describes created_at.
const CREATED_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const HEX64_RE = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;
let aborted = false; // set by the overall timeout: later results are not reported

function oneLine(s) {
  return String(s).replace(/\s+/g, ' ').trim().slice(0, 600);
}

function note(text) {
  if (aborted) return;
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

function ok(name) {
  if (aborted) return;
  passed++;
  console.log(`ok - ${name}`);
}

function notOk(name, reason, details) {
  if (aborted) return;
  failed++;
  console.log(`not ok - ${name}: ${oneLine(reason)}`);
  if (details) note(details);
}

class CheckFailure extends Error {
  constructor(message, details) {
    super(message);
    this.details = details;
  }
}

function assert(cond, message, details) {
  if (!cond) throw new CheckFailure(message, details);
}

function assertEq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new CheckFailure(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

// Runs one named check.  fn throws to fail; its return value is passed back
// (undefined when it failed), so later checks can depend on earlier ones.
async function check(name, fn) {
  try {
    const value = await fn();
    ok(name);
    return value;
  } catch (err) {
    let details;
    if (err instanceof CheckFailure) details = err.details;
    else if (err instanceof McpError) details = err.data === undefined ? undefined : `error data: ${JSON.stringify(err.data)}`;
    else if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError) {
      details = err.stack; // most likely a bug in this script: show where
    }
    notOk(name, err instanceof Error ? err.message : String(err), details);
    return undefined;
  }
}

// ---------------------------------------------------------------- MCP schema

function loadSpecValidator() {
  const schemaPath =
    process.env.DSS_MCP_SCHEMA ||
    fileURLToPath(new URL(`../../../shared/mcp-spec/${SPEC_VERSION}/schema.json`, import.meta.url));
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  const draft = String(schema.$schema || '');
  let AjvClass = Ajv; // draft-07 (and draft-06 compatible)
  if (draft.includes('2020-12')) AjvClass = Ajv2020;
  else if (draft.includes('2019-09')) AjvClass = Ajv2019;
  const ajv = new AjvClass({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // OpenAPI-style "byte" (base64) is used by the MCP schema; ajv-formats lacks it.
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  const id = `urn:mcp-schema:${SPEC_VERSION}`;
  ajv.addSchema({ ...schema, $id: id });
  const defs = schema.$defs || schema.definitions || {};
  const defsKey = schema.$defs ? '$defs' : 'definitions';
  const cache = new Map();
  function validatorFor(def) {
    if (!(def in defs)) throw new Error(`MCP schema has no definition ${def}`);
    if (!cache.has(def)) cache.set(def, ajv.compile({ $ref: `${id}#/${defsKey}/${def}` }));
    return cache.get(def);
  }
  return {
    path: schemaPath,
    draft,
    has: (def) => def in defs,
    // Returns null when valid, else a readable error listing.
    validate(def, value) {
      const v = validatorFor(def);
      if (v(value)) return null;
      return ajv.errorsText(v.errors, { separator: '\n', dataVar: def });
    },
  };
}

// Validator for the tools' own inputSchema/outputSchema (JSON Schema 2020-12,
// as the MCP spec says when no $schema is given and as ours declare).
function makeToolSchemaAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

// The tools the project declares: schemas/<name>.tool.json (name, title,
// description, annotations) with <name>.input.json and <name>.output.json,
// the single source the server embeds at build time.
function loadDeclaredTools() {
  const dir =
    process.env.DSS_SCHEMA_DIR || fileURLToPath(new URL('../../schemas/', import.meta.url));
  const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const tools = new Map();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.tool.json')).sort()) {
    const t = read(f);
    const base = f.slice(0, -'.tool.json'.length);
    assert(t.name === base, `${f} declares name ${JSON.stringify(t.name)}`);
    t.inputSchema = read(`${base}.input.json`);
    t.outputSchema = read(`${base}.output.json`);
    tools.set(t.name, t);
  }
  return { dir, tools };
}

// ---------------------------------------------------------------- transport

// StdioClientTransport that records every raw line the server writes and
// every message the client sends, and can force the initialize request's
// protocolVersion.  Nothing is filtered or altered on the way in.
class RecordingStdioTransport extends StdioClientTransport {
  constructor(params, { forceProtocolVersion } = {}) {
    super(params);
    this.forceProtocolVersion = forceProtocolVersion;
    this.requests = new Map(); // JSON.stringify(id) -> { method, params }
    this.rawLines = []; // { text, bytesOk }
    this.delivered = []; // messages the SDK accepted and handed on
    this.transportErrors = [];
    this.exit = null;
    this.exited = null;
    this._rawBuf = Buffer.alloc(0);
  }

  async start() {
    // Protocol.connect() has installed its handlers before calling start().
    const inner = this.onmessage;
    this.onmessage = (message, extra) => {
      this.delivered.push(message);
      inner?.(message, extra);
    };
    const innerErr = this.onerror;
    this.onerror = (err) => {
      this.transportErrors.push(err);
      innerErr?.(err);
    };
    await super.start();
    const proc = this._process;
    if (!proc) throw new Error('server process went away during start');
    this.pidSeen = proc.pid;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    proc.stdout.on('data', (chunk) => this._onRaw(chunk));
  }

  _onRaw(chunk) {
    this._rawBuf = Buffer.concat([this._rawBuf, chunk]);
    let idx;
    while ((idx = this._rawBuf.indexOf(0x0a)) !== -1) {
      const bytes = this._rawBuf.subarray(0, idx);
      this._rawBuf = this._rawBuf.subarray(idx + 1);
      let text;
      let bytesOk = true;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        bytesOk = false;
        text = bytes.toString('utf8');
      }
      this.rawLines.push({ text, bytesOk });
    }
  }

  get trailingBytes() {
    return this._rawBuf.length;
  }

  send(message, options) {
    let out = message;
    if (this.forceProtocolVersion && out.method === 'initialize') {
      out = { ...out, params: { ...out.params, protocolVersion: this.forceProtocolVersion } };
    }
    if (out.method !== undefined && out.id !== undefined) {
      this.requests.set(JSON.stringify(out.id), { method: out.method, params: out.params });
    }
    return super.send(out, options);
  }
}

// ---------------------------------------------------------------- wire checks

const RESULT_DEF_BY_METHOD = {
  initialize: 'InitializeResult',
  ping: 'EmptyResult',
  'tools/list': 'ListToolsResult',
  'tools/call': 'CallToolResult',
};

// Validates every captured server line; one check per message plus a few
// about the exchange as a whole.
function checkWire(label, transport, spec) {
  const answered = new Map();
  transport.rawLines.forEach(({ text, bytesOk }, i) => {
    const n = i + 1;
    if (process.env.DSS_SDK_TEST_TRACE) note(`${label}<- ${text}`);
    let msg;
    try {
      assert(bytesOk, 'line is not valid UTF-8');
      msg = JSON.parse(text);
    } catch (err) {
      notOk(`${label}wire message ${n} is one JSON value per line`, err.message, `line: ${text.slice(0, 300)}`);
      return;
    }
    const isObj = msg !== null && typeof msg === 'object' && !Array.isArray(msg);
    let what;
    let defs;
    if (isObj && 'method' in msg && 'id' in msg) {
      what = `server request ${msg.method}`;
      defs = [['JSONRPCRequest', msg], ['ServerRequest', msg]];
    } else if (isObj && 'method' in msg) {
      what = `notification ${msg.method}`;
      defs = [['JSONRPCNotification', msg], ['ServerNotification', msg]];
    } else if (isObj && 'result' in msg) {
      const key = JSON.stringify(msg.id);
      const req = transport.requests.get(key);
      answered.set(key, (answered.get(key) || 0) + 1);
      const method = req?.method;
      const def = (method && RESULT_DEF_BY_METHOD[method]) || 'Result';
      what = `response to ${method ?? `unknown id ${key}`}`;
      defs = [['JSONRPCResultResponse', msg], [spec.has(def) ? def : 'Result', msg.result]];
      if (!req) defs.push(['__unsolicited__', key]);
    } else if (isObj && 'error' in msg) {
      const key = JSON.stringify(msg.id);
      const req = transport.requests.get(key);
      answered.set(key, (answered.get(key) || 0) + 1);
      what = `error response to ${req?.method ?? `unknown id ${key}`}`;
      defs = [[spec.has('JSONRPCErrorResponse') ? 'JSONRPCErrorResponse' : 'JSONRPCError', msg]];
      if (!req) defs.push(['__unsolicited__', key]);
    } else {
      what = 'unclassifiable message';
      defs = [['JSONRPCMessage', msg]];
    }
    const name = `${label}wire message ${n} (${what}) matches MCP ${SPEC_VERSION} schema`;
    const problems = [];
    for (const [def, value] of defs) {
      if (def === '__unsolicited__') {
        problems.push(`id ${value} matches no request the client sent`);
        continue;
      }
      const err = spec.validate(def, value);
      if (err) problems.push(`as ${def}:\n${err}`);
    }
    if (problems.length === 0) ok(name);
    else notOk(name, problems.map((p) => p.replace('\n', ' ')).join('; '), `${problems.join('\n')}\nmessage: ${text.slice(0, 1500)}`);
  });

  {
    const name = `${label}every client request was answered exactly once`;
    const bad = [];
    for (const [key, req] of transport.requests) {
      const count = answered.get(key) || 0;
      if (count !== 1) bad.push(`${req.method} id ${key}: ${count} responses`);
    }
    if (bad.length === 0) ok(name);
    else notOk(name, bad.join('; '));
  }
  {
    const name = `${label}SDK accepted every server message (no transport errors)`;
    const extra = transport.trailingBytes ? `; ${transport.trailingBytes} bytes after the last newline` : '';
    if (
      transport.transportErrors.length === 0 &&
      transport.delivered.length === transport.rawLines.length &&
      !transport.trailingBytes
    ) {
      ok(name);
    } else {
      notOk(
        name,
        `${transport.rawLines.length} lines read, ${transport.delivered.length} delivered, ` +
          `${transport.transportErrors.length} transport errors${extra}`,
        transport.transportErrors.map((e) => String(e?.message ?? e)).join('\n'),
      );
    }
  }
}

// ---------------------------------------------------------------- helpers

function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

function textOf(result) {
  return (result?.content || [])
    .filter((c) => c && c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

function assertSeqDescending(entries, what) {
  for (let i = 1; i < entries.length; i++) {
    assert(
      entries[i - 1].seq > entries[i].seq,
      `${what} not newest first: seq ${entries[i - 1].seq} before ${entries[i].seq}`,
    );
  }
}

function startServer(binary, tmp, opts = {}) {
  if (aborted) throw new Error('aborted by the overall timeout');
  // XDG dirs point into the temp dir so that nothing the server creates by
  // default (its checkpoint signing key) lands in the real home directory.
  const transport = new RecordingStdioTransport(
    {
      command: binary,
      args: ['--db', join(tmp, 'audit.db'), '--actor', ACTOR],
      env: { XDG_CONFIG_HOME: join(tmp, 'config'), XDG_DATA_HOME: join(tmp, 'data') },
      stderr: 'pipe',
    },
    opts,
  );
  const stderrChunks = [];
  transport.stderr?.on('data', (c) => stderrChunks.push(c));
  transport.stderrText = () => Buffer.concat(stderrChunks).toString('utf8');
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  return { transport, client };
}

async function closeSession(session) {
  if (!session) return;
  try {
    await session.client.close();
  } catch {
    /* ignore */
  }
  try {
    await session.transport.close();
  } catch {
    /* ignore */
  }
}

// ---------------------------------------------------------------- session A

async function sessionLatest(binary, tmp, spec, state) {
  const L = '';
  const session = startServer(binary, tmp);
  state.sessions.push(session);
  const { client, transport } = session;
  const reqOpts = { timeout: REQUEST_TIMEOUT_MS };
  const toolAjv = makeToolSchemaAjv();
  const outputValidators = new Map();
  const calls = []; // tool names of every tools/call sent, in order

  // callTool through the SDK (which validates structuredContent against the
  // listed outputSchema), plus our own 2020-12 validation and the text mirror.
  async function call(name, args) {
    calls.push(name);
    const result = await client.callTool({ name, arguments: args }, undefined, reqOpts);
    return result;
  }
  function structured(result, tool) {
    assert(result, 'no result');
    assert(result.isError !== true, `tool returned isError: ${textOf(result)}`);
    const sc = result.structuredContent;
    assert(sc && typeof sc === 'object' && !Array.isArray(sc), 'no structuredContent object');
    const v = outputValidators.get(tool);
    if (v && !v(sc)) {
      throw new CheckFailure(
        `structuredContent does not match ${tool}'s outputSchema (draft 2020-12)`,
        toolAjv.errorsText(v.errors, { separator: '\n' }),
      );
    }
    return sc;
  }

  const connected = await check(`${L}connect and initialize (client requests ${LATEST_PROTOCOL_VERSION})`, async () => {
    await client.connect(transport, reqOpts);
    return true;
  });
  if (!connected) {
    note(`server stderr:\n${transport.stderrText()}`);
    checkWire(L, transport, spec);
    return;
  }

  await check(`${L}negotiated protocol version is ${SPEC_VERSION}`, () => {
    const init = transport.delivered.find(
      (m) => m.id !== undefined && transport.requests.get(JSON.stringify(m.id))?.method === 'initialize',
    );
    assertEq(init?.result?.protocolVersion, SPEC_VERSION, 'initialize result protocolVersion');
  });
  await check(`${L}serverInfo.name is dss-audit-mcp with a version`, () => {
    const info = client.getServerVersion();
    assertEq(info?.name, 'dss-audit-mcp', 'serverInfo.name');
    assert(typeof info.version === 'string' && info.version.length > 0, 'serverInfo.version empty');
  });
  await check(`${L}instructions are non-empty`, () => {
    const ins = client.getInstructions();
    assert(typeof ins === 'string' && ins.trim().length > 0, `instructions: ${JSON.stringify(ins)}`);
  });
  await check(`${L}capabilities advertise tools`, () => {
    const caps = client.getServerCapabilities();
    assert(caps && typeof caps.tools === 'object', `capabilities: ${JSON.stringify(caps)}`);
  });
  await check(`${L}ping answers with an empty result`, async () => {
    const r = await client.ping(reqOpts);
    assert(r && typeof r === 'object', 'ping result is not an object');
  });

  const declared = state.declared;
  const listed = await check(`${L}tools/list answers in one page`, async () => {
    const res = await client.listTools(undefined, reqOpts);
    assert(res.nextCursor === undefined, `unexpected nextCursor ${JSON.stringify(res.nextCursor)}`);
    return res;
  });
  const tools = new Map((listed?.tools || []).map((t) => [t.name, t]));
  const toolNames = [...tools.keys()];
  if (listed) {
    await check(`${L}tools/list includes the five audit tools`, () => {
      const missing = CORE_TOOLS.filter((n) => !tools.has(n));
      assert(missing.length === 0, `missing ${missing.join(', ')}; listed ${toolNames.join(', ')}`);
    });
    await check(`${L}tools/list lists exactly the tools declared in schemas/, once each`, () => {
      assertEq([...toolNames].sort(), [...declared.keys()].sort(), 'tool names');
      assertEq(new Set(toolNames).size, toolNames.length, 'distinct names');
    });
  }

  for (const name of toolNames) {
    const t = tools.get(name);
    await check(`${L}${name}: title, description, inputSchema, outputSchema present`, () => {
      assert(typeof t.title === 'string' && t.title.trim(), 'title missing or empty');
      assert(typeof t.description === 'string' && t.description.trim(), 'description missing or empty');
      assert(t.inputSchema?.type === 'object', 'inputSchema.type is not "object"');
      assert(t.outputSchema?.type === 'object', 'outputSchema missing or type is not "object"');
    });
    await check(`${L}${name}: annotations hints`, () => {
      const a = t.annotations;
      assert(a && typeof a === 'object', 'annotations missing');
      if (name === 'log_operation') {
        assertEq(a.readOnlyHint, false, 'readOnlyHint');
        assertEq(a.destructiveHint, false, 'destructiveHint');
        assertEq(a.idempotentHint, false, 'idempotentHint');
      } else if (CORE_TOOLS.includes(name)) {
        assertEq(a.readOnlyHint, true, 'readOnlyHint');
      }
      for (const k of ['readOnlyHint', 'destructiveHint', 'idempotentHint']) {
        assertEq(typeof a[k], 'boolean', `typeof ${k}`);
      }
      assertEq(a.openWorldHint, false, 'openWorldHint');
    });
    const d = declared.get(name);
    if (d) {
      await check(`${L}${name}: listed exactly as declared in schemas/${name}.*.json`, () => {
        for (const k of ['title', 'description', 'annotations', 'inputSchema', 'outputSchema']) {
          assert(isDeepStrictEqual(t[k], d[k]), `${k} differs from schemas/`,
            `listed:   ${JSON.stringify(t[k]).slice(0, 800)}\ndeclared: ${JSON.stringify(d[k]).slice(0, 800)}`);
        }
      });
    }
    await check(`${L}${name}: inputSchema and outputSchema compile as JSON Schema 2020-12`, () => {
      for (const key of ['inputSchema', 'outputSchema']) {
        try {
          const v = toolAjv.compile(t[key]);
          if (key === 'outputSchema') outputValidators.set(name, v);
        } catch (err) {
          throw new CheckFailure(`${key}: ${err.message}`);
        }
      }
    });
  }

  await check(`${L}SDK output-schema validation is active for every tool`, () => {
    assert(toolNames.length > 0, 'no tools listed');
    for (const name of toolNames) {
      const v = client.getToolOutputValidator(name);
      assert(typeof v === 'function', `SDK cached no output validator for ${name}`);
      const bogus = v({ entries: 'not-an-array', audit_id: 42, total_operations: 'x', truncated: 'x' });
      assert(bogus && bogus.valid === false, `SDK validator for ${name} accepted a bogus structuredContent`);
    }
  });

  // ---- log_operation
  const rand = Math.random().toString(36).slice(2, 10);
  const userId = `alice-${rand}`;
  const opName = `Rotate_API_Credentials_${rand}`;
  const seedArgs = {
    provider: 'figma',
    api_key: 'sk-live-1234567890abcdef',
    nested: { team: 'design', api_key: 'nested-secret-value' },
    count: 3,
  };
  const seedCall = {
    event_type: 'credential_access',
    operation_name: opName,
    operation_id: `op-${rand}`,
    user_id: userId,
    project_id: `proj-${rand}`,
    args: seedArgs,
    result: { rotated: true, keys: 2 },
    before_state: { version: 1 },
    after_state: { version: 2 },
  };
  const logged = await check(`${L}log_operation returns {audit_id (uuid), seq, created_at}`, async () => {
    const before = Date.now();
    const res = await call('log_operation', seedCall);
    const sc = structured(res, 'log_operation');
    assert(typeof sc.audit_id === 'string' && UUID_RE.test(sc.audit_id), `audit_id not a lowercase UUID: ${JSON.stringify(sc.audit_id)}`);
    assert(Number.isInteger(sc.seq) && sc.seq >= 1, `seq: ${JSON.stringify(sc.seq)}`);
    assert(typeof sc.created_at === 'string', 'created_at missing');
    const t = Date.parse(sc.created_at);
    assert(Number.isFinite(t) && Math.abs(t - before) < 5 * 60 * 1000, `created_at not near now: ${sc.created_at}`);
    return { sc, res };
  });
  if (logged) {
    await check(`${L}log_operation created_at is RFC 3339 UTC with microseconds`, () => {
      assert(CREATED_AT_RE.test(logged.sc.created_at), `created_at: ${logged.sc.created_at}`);
    });
    await check(`${L}log_operation text content mirrors structuredContent`, () => {
      const text = textOf(logged.res);
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CheckFailure(`text content is not JSON: ${text.slice(0, 200)}`);
      }
      assertEq(parsed, logged.res.structuredContent, 'parsed text');
    });
  }

  const errOp = `Sync_Tokens_${rand}`;
  const errLogged = await check(`${L}log_operation records a failed operation`, async () => {
    const res = await call('log_operation', {
      event_type: 'error',
      operation_name: errOp,
      user_id: userId,
      args: { password: 'hunter2', file: 'tokens.json' },
      error: `upstream timeout ${rand}`,
    });
    return structured(res, 'log_operation');
  });

  // ---- get_operation_history
  const history = await check(`${L}get_operation_history by user_id returns the logged entry`, async () => {
    const res = await call('get_operation_history', { user_id: userId });
    const sc = structured(res, 'get_operation_history');
    assert(Array.isArray(sc.entries), 'entries is not an array');
    assert(sc.entries.every((e) => e.user_id === userId), 'an entry of another user was returned');
    assertEq(sc.entries.length, 2, 'number of entries for the user');
    assertSeqDescending(sc.entries, 'history');
    const e = sc.entries.find((x) => x.id === logged?.sc.audit_id);
    assert(e, `no entry with id ${logged?.sc.audit_id}`);
    return { sc, e };
  });
  if (history && logged) {
    const e = history.e;
    await check(`${L}history entry has the logged fields`, () => {
      assertEq(e.seq, logged.sc.seq, 'seq');
      assertEq(e.created_at, logged.sc.created_at, 'created_at');
      assertEq(e.event_type, seedCall.event_type, 'event_type');
      assertEq(e.operation_name, seedCall.operation_name, 'operation_name');
      assertEq(e.operation_id, seedCall.operation_id, 'operation_id');
      assertEq(e.project_id, seedCall.project_id, 'project_id');
      assertEq(e.result, seedCall.result, 'result');
      assertEq(e.error, null, 'error');
      assertEq(e.before_state, seedCall.before_state, 'before_state');
      assertEq(e.after_state, seedCall.after_state, 'after_state');
      assertEq(e.client, CLIENT_INFO, 'client');
    });
    await check(`${L}history entry args is an object with api_key redacted`, () => {
      assert(e.args && typeof e.args === 'object' && !Array.isArray(e.args), `args: ${JSON.stringify(e.args)}`);
      assertEq(e.args.api_key, REDACTED, 'args.api_key');
      assertEq(e.args.nested?.api_key, REDACTED, 'args.nested.api_key');
      assertEq(e.args.provider, 'figma', 'args.provider');
      assertEq(e.args.nested?.team, 'design', 'args.nested.team');
      assertEq(e.args.count, 3, 'args.count');
      assert(!JSON.stringify(history.sc).includes('sk-live-1234567890abcdef'), 'the secret appears in the result');
    });
    await check(`${L}history entry hashes are 64 hex digits`, () => {
      assert(HEX64_RE.test(e.hash), `hash: ${e.hash}`);
      assert(HEX64_RE.test(e.prev_hash), `prev_hash: ${e.prev_hash}`);
    });
    if (errLogged) {
      await check(`${L}failed operation entry keeps its error, password redacted`, () => {
        const f = history.sc.entries.find((x) => x.id === errLogged.audit_id);
        assert(f, `no entry with id ${errLogged.audit_id}`);
        assertEq(f.event_type, 'error', 'event_type');
        assertEq(f.error, `upstream timeout ${rand}`, 'error');
        assertEq(f.args?.password, REDACTED, 'args.password');
        assertEq(f.args?.file, 'tokens.json', 'args.file');
        assertEq(f.result, null, 'result');
      });
    }
  }

  // ---- invalid arguments: a tool execution error, not a protocol error
  await check(`${L}get_operation_history with limit 0 is a tool error naming 'limit'`, async () => {
    let res;
    try {
      res = await call('get_operation_history', { limit: 0 });
    } catch (err) {
      throw new CheckFailure(`expected a result with isError true, got exception: ${err.message}`);
    }
    assertEq(res.isError, true, 'isError');
    assert(/limit/.test(textOf(res)), `error text does not name 'limit': ${JSON.stringify(textOf(res))}`);
  });

  // ---- unknown tool: a protocol error
  await check(`${L}unknown tool name gives McpError -32602`, async () => {
    let threw = null;
    let res;
    try {
      res = await client.callTool({ name: 'no_such_tool', arguments: {} }, undefined, reqOpts);
    } catch (err) {
      threw = err;
    }
    assert(threw, `expected an error response, got result ${JSON.stringify(res)}`);
    assert(threw instanceof McpError, `expected McpError, got ${threw?.constructor?.name}: ${threw?.message}`);
    assertEq(threw.code, -32602, 'error code');
  });

  // ---- get_audit_trail
  const today = todayUtc();
  const trail = await check(`${L}get_audit_trail for today returns {entries, truncated}`, async () => {
    const res = await call('get_audit_trail', { start_date: today, end_date: today });
    const sc = structured(res, 'get_audit_trail');
    assert(Array.isArray(sc.entries), 'entries is not an array');
    assertEq(typeof sc.truncated, 'boolean', 'typeof truncated');
    assertEq(sc.truncated, false, 'truncated');
    assertSeqDescending(sc.entries, 'trail');
    assert(sc.entries.every((e) => e.created_at.startsWith(today)), 'an entry outside today');
    if (logged && logged.sc.created_at.startsWith(today)) {
      assert(sc.entries.some((e) => e.id === logged.sc.audit_id), 'the logged entry is missing');
    }
    return sc;
  });
  if (trail) {
    await check(`${L}audit trail hash chain links consecutive entries`, () => {
      const bySeq = [...trail.entries].sort((a, b) => a.seq - b.seq);
      for (let i = 1; i < bySeq.length; i++) {
        if (bySeq[i].seq !== bySeq[i - 1].seq + 1) continue;
        assertEq(bySeq[i].prev_hash, bySeq[i - 1].hash, `prev_hash of seq ${bySeq[i].seq}`);
      }
      const first = bySeq.find((e) => e.seq === 1);
      if (first) assertEq(first.prev_hash, '0'.repeat(64), 'prev_hash of seq 1');
    });
  }
  await check(`${L}get_audit_trail filtered by event_type error`, async () => {
    const res = await call('get_audit_trail', { start_date: today, end_date: today, event_type: 'error', limit: 10 });
    const sc = structured(res, 'get_audit_trail');
    assert(sc.entries.length >= 1, 'no entries');
    assert(sc.entries.every((e) => e.event_type === 'error'), 'an entry of another event_type');
    if (errLogged) assert(sc.entries.some((e) => e.id === errLogged.audit_id), 'the failed operation is missing');
  });
  await check(`${L}get_audit_trail limit 1 reports truncated`, async () => {
    const res = await call('get_audit_trail', { start_date: today, end_date: today, limit: 1 });
    const sc = structured(res, 'get_audit_trail');
    assertEq(sc.entries.length, 1, 'entries.length');
    assertEq(sc.truncated, true, 'truncated');
  });

  // ---- search_audit_log
  await check(`${L}search_audit_log finds an operation_name substring case-insensitively`, async () => {
    const term = `api_CREDENTIALS_${rand}`.toLowerCase().replace('api', 'Api');
    const res = await call('search_audit_log', { search_term: term });
    const sc = structured(res, 'search_audit_log');
    assert(Array.isArray(sc.entries), 'entries is not an array');
    assert(sc.entries.length >= 1, `no entries for ${term}`);
    assert(
      sc.entries.every((e) => `${e.operation_name}\n${e.error ?? ''}`.toLowerCase().includes(term.toLowerCase())),
      'an entry that does not contain the term',
    );
    if (logged) assert(sc.entries.some((e) => e.id === logged.sc.audit_id), 'the logged entry is missing');
  });
  await check(`${L}search_audit_log matches error text`, async () => {
    const res = await call('search_audit_log', { search_term: `UPSTREAM TIMEOUT ${rand}` });
    const sc = structured(res, 'search_audit_log');
    assertEq(sc.entries.map((e) => e.operation_name), [errOp], 'operation names found');
  });
  await check(`${L}search_audit_log treats % literally`, async () => {
    const res = await call('search_audit_log', { search_term: '%' });
    const sc = structured(res, 'search_audit_log');
    assertEq(sc.entries.length, 0, 'entries.length for "%"');
  });

  // ---- get_user_activity
  await check(`${L}get_user_activity for ${ACTOR} has the seed's fields and total > 0`, async () => {
    const res = await call('get_user_activity', { user_id: ACTOR });
    const sc = structured(res, 'get_user_activity');
    assertEq(sc.user_id, ACTOR, 'user_id');
    assertEq(sc.days, 30, 'days (default)');
    assert(Number.isInteger(sc.total_operations) && sc.total_operations > 0, `total_operations: ${sc.total_operations}`);
    assert(sc.operations_by_type && typeof sc.operations_by_type === 'object', 'operations_by_type missing');
    assert((sc.operations_by_type.tool_call ?? 0) >= 1, `operations_by_type: ${JSON.stringify(sc.operations_by_type)}`);
    const sum = Object.values(sc.operations_by_type).reduce((a, b) => a + b, 0);
    assertEq(sum, sc.total_operations, 'sum of operations_by_type');
    assert(Number.isInteger(sc.errors) && sc.errors >= 0, `errors: ${sc.errors}`);
    assert(Number.isInteger(sc.projects_touched) && sc.projects_touched >= 0, `projects_touched: ${sc.projects_touched}`);
    assertEq(sc.average_ops_per_day, Math.round((sc.total_operations / 30) * 100) / 100, 'average_ops_per_day');
  });
  await check(`${L}get_user_activity for the logged user counts exactly its entries`, async () => {
    const res = await call('get_user_activity', { user_id: userId, days: 7 });
    const sc = structured(res, 'get_user_activity');
    assertEq(sc.user_id, userId, 'user_id');
    assertEq(sc.days, 7, 'days');
    assertEq(sc.total_operations, 2, 'total_operations');
    assertEq(sc.operations_by_type, { credential_access: 1, error: 1 }, 'operations_by_type');
    assertEq(sc.errors, 1, 'errors');
    assertEq(sc.projects_touched, 1, 'projects_touched');
    assertEq(sc.average_ops_per_day, Math.round((2 / 7) * 100) / 100, 'average_ops_per_day');
  });

  // ---- the integrity tools, when the build offers them
  if (tools.has('get_audit_entry')) {
    await check(`${L}get_audit_entry returns the logged entry`, async () => {
      assert(history, 'no history entry to compare with');
      const res = await call('get_audit_entry', { audit_id: history.e.id });
      const sc = structured(res, 'get_audit_entry');
      assertEq(sc.entry, history.e, 'entry');
    });
    await check(`${L}get_audit_entry for an unknown id is a tool error naming 'audit_id'`, async () => {
      const res = await call('get_audit_entry', { audit_id: '00000000-0000-4000-8000-000000000000' });
      assertEq(res.isError, true, 'isError');
      assert(/audit_id/.test(textOf(res)), `error text: ${JSON.stringify(textOf(res))}`);
    });
  }
  let checkpoint;
  if (tools.has('create_checkpoint')) {
    checkpoint = await check(`${L}create_checkpoint signs the current head`, async () => {
      const res = await call('create_checkpoint', {});
      const sc = structured(res, 'create_checkpoint');
      assert(Number.isInteger(sc.seq) && sc.seq >= 1, `seq: ${sc.seq}`);
      assert(HEX64_RE.test(sc.head_hash), `head_hash: ${sc.head_hash}`);
      assert(/^[0-9a-f]{128}$/.test(sc.signature), `signature: ${sc.signature}`);
      assert(HEX64_RE.test(sc.public_key), `public_key: ${sc.public_key}`);
      return sc;
    });
  }
  if (tools.has('get_inclusion_proof')) {
    await check(`${L}get_inclusion_proof proves an entry, with the entry when asked`, async () => {
      assert(history, 'no history entry to prove');
      const res = await call('get_inclusion_proof', { audit_id: history.e.id, include_entry: true });
      const sc = structured(res, 'get_inclusion_proof');
      assert(sc.proof.startsWith('c2sp.org/tlog-proof@v1\nextra '), `proof: ${sc.proof.slice(0, 60)}`);
      assertEq(sc.seq, history.e.seq, 'seq');
      assertEq(sc.entry.hash, history.e.hash, 'entry.hash');
      const extra = sc.proof.split('\n')[1].slice(6);
      assertEq(Buffer.from(extra, 'base64').toString('hex'), history.e.hash, 'extra line');
      assert(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/.test(sc.vkey), `vkey: ${sc.vkey}`);
    });
    await check(`${L}get_inclusion_proof without an entry is a tool error naming it`, async () => {
      const res = await call('get_inclusion_proof', {});
      assertEq(res.isError, true, 'isError');
      assert(/audit_id|seq/.test(textOf(res)), `error text: ${JSON.stringify(textOf(res))}`);
    });
  }
  if (tools.has('verify_audit_log')) {
    await check(`${L}verify_audit_log finds the log intact`, async () => {
      const res = await call('verify_audit_log', {});
      const sc = structured(res, 'verify_audit_log');
      assertEq(sc.ok, true, 'ok');
      assertEq(sc.problems, [], 'problems');
      assert(sc.entries_checked >= 1, `entries_checked: ${sc.entries_checked}`);
    });
    if (checkpoint) {
      await check(`${L}verify_audit_log accepts the checkpoint create_checkpoint returned`, async () => {
        const res = await call('verify_audit_log', { checkpoint });
        const sc = structured(res, 'verify_audit_log');
        assertEq(sc.ok, true, 'ok');
        assertEq(sc.problems, [], 'problems');
        assert(sc.checkpoints_checked >= 1, `checkpoints_checked: ${sc.checkpoints_checked}`);
      });
      await check(`${L}verify_audit_log rejects a forged checkpoint`, async () => {
        const forged = { ...checkpoint, head_hash: checkpoint.head_hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
        const res = await call('verify_audit_log', { checkpoint: forged });
        if (res.isError) return; // refusing it outright is also a rejection
        const sc = structured(res, 'verify_audit_log');
        assertEq(sc.ok, false, 'ok');
        assert(sc.problems.length >= 1, 'no problem reported');
      });
    }
  }

  // ---- every tools/call is itself recorded.  The check reads them with
  // get_audit_trail, so every other tool's count must match exactly (the
  // failed limit-0 call included) and get_audit_trail's may include this call.
  const callsBefore = [...calls];
  const recorded = await check(`${L}tool_call entries are by ${ACTOR} with the client's clientInfo`, async () => {
    const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
    const res = await call('get_audit_trail', {
      start_date: yesterday,
      end_date: todayUtc(),
      event_type: 'tool_call',
      limit: 10000,
    });
    const sc = structured(res, 'get_audit_trail');
    const entries = sc.entries;
    assert(entries.length > 0, 'no tool_call entries');
    for (const e of entries) {
      assertEq(e.event_type, 'tool_call', 'event_type');
      assertEq(e.user_id, ACTOR, `user_id of entry seq ${e.seq}`);
      assertEq(e.client, CLIENT_INFO, `client of entry seq ${e.seq}`);
    }
    return entries;
  });
  if (recorded) {
    const want = {};
    for (const n of callsBefore) want[n] = (want[n] || 0) + 1;
    const have = {};
    for (const e of recorded) have[e.operation_name] = (have[e.operation_name] || 0) + 1;
    note(`tool_call entries by operation_name: ${JSON.stringify(have)}; tools/call sent before the reading call: ${JSON.stringify(want)}`);
    for (const n of toolNames) {
      await check(`${L}every tools/call of ${n} is recorded once as a tool_call entry`, () => {
        const h = have[n] || 0;
        const w = want[n] || 0;
        if (n === 'get_audit_trail') {
          assert(h === w || h === w + 1, `${w} calls made before the reading call (+1 for it), ${h} entries`);
        } else {
          assert(h === w, `${w} calls made, ${h} tool_call entries`);
        }
      });
    }
    await check(`${L}tool_call entries name only tools that exist`, () => {
      const odd = Object.keys(have).filter((n) => !tools.has(n) && n !== 'no_such_tool');
      assertEq(odd, [], 'unexpected operation_names');
      if (have.no_such_tool) note('the call of the unknown tool was recorded too');
    });
    await check(`${L}no secret appears in any recorded tool_call entry`, () => {
      const text = JSON.stringify(recorded);
      for (const secret of ['sk-live-1234567890abcdef', 'nested-secret-value', 'hunter2']) {
        assert(!text.includes(secret), `secret ${JSON.stringify(secret)} is stored in a tool_call entry`);
      }
    });
  }

  // ---- clean shutdown
  await check(`${L}server exits with status 0 when stdin closes`, async () => {
    await client.close();
    const exit = await Promise.race([
      transport.exited,
      new Promise((r) => setTimeout(() => r(null), 5000)),
    ]);
    assert(exit, 'server still running 5 s after close');
    assertEq(exit, { code: 0, signal: null }, 'exit');
  });

  checkWire(L, transport, spec);
  if (failed) note(`server stderr (session ${SPEC_VERSION}):\n${transport.stderrText().slice(-4000)}`);
  state.seed = logged ? { auditId: logged.sc.audit_id, userId } : null;
}

// ---------------------------------------------------------------- session B

async function sessionOld(binary, tmp, spec, state) {
  const L = `[${OLD_VERSION}] `;
  const session = startServer(binary, tmp, { forceProtocolVersion: OLD_VERSION });
  state.sessions.push(session);
  const { client, transport } = session;
  const reqOpts = { timeout: REQUEST_TIMEOUT_MS };
  const failedBefore = failed;

  const connected = await check(`${L}connect with protocolVersion ${OLD_VERSION} forced in initialize`, async () => {
    await client.connect(transport, reqOpts);
    const sent = [...transport.requests.values()].find((r) => r.method === 'initialize');
    assertEq(sent?.params?.protocolVersion, OLD_VERSION, 'protocolVersion actually sent');
    return true;
  });
  if (connected) {
    await check(`${L}server answers with protocol version ${OLD_VERSION}`, () => {
      const init = transport.delivered.find(
        (m) => m.id !== undefined && transport.requests.get(JSON.stringify(m.id))?.method === 'initialize',
      );
      assertEq(init?.result?.protocolVersion, OLD_VERSION, 'initialize result protocolVersion');
    });
    const listed = await check(`${L}tools/list lists the same tools`, async () => {
      const res = await client.listTools(undefined, reqOpts);
      assertEq(res.tools.map((t) => t.name).sort(), [...state.declared.keys()].sort(), 'tool names');
      return res;
    });
    if (listed) {
      const withOut = listed.tools.filter((t) => t.outputSchema).map((t) => t.name);
      const withTitle = listed.tools.filter((t) => t.title).map((t) => t.name);
      note(`${OLD_VERSION} session: tools with outputSchema: [${withOut}], with top-level title: [${withTitle}]`);
    }
    await check(`${L}entries from the earlier session persist across restart`, async () => {
      assert(state.seed, 'no entry was logged in the earlier session');
      const res = await client.callTool(
        { name: 'get_operation_history', arguments: { user_id: state.seed.userId } },
        undefined,
        reqOpts,
      );
      assert(res.isError !== true, `isError: ${textOf(res)}`);
      const data = res.structuredContent ?? JSON.parse(textOf(res));
      assert(data.entries.some((e) => e.id === state.seed.auditId), 'the entry logged earlier is missing');
    });
    await check(`${L}log_operation works and returns a uuid`, async () => {
      const res = await client.callTool(
        {
          name: 'log_operation',
          arguments: { event_type: 'state_transition', operation_name: 'old_protocol_check', args: { token: 'abc' } },
        },
        undefined,
        reqOpts,
      );
      assert(res.isError !== true, `isError: ${textOf(res)}`);
      const data = res.structuredContent ?? JSON.parse(textOf(res));
      assert(UUID_RE.test(data.audit_id), `audit_id: ${data.audit_id}`);
    });
    await check(`${L}server exits with status 0 when stdin closes`, async () => {
      await client.close();
      const exit = await Promise.race([transport.exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
      assert(exit, 'server still running 5 s after close');
      assertEq(exit, { code: 0, signal: null }, 'exit');
    });
  }
  checkWire(L, transport, spec);
  if (failed > failedBefore) note(`server stderr (session ${OLD_VERSION}):\n${transport.stderrText().slice(-4000)}`);
}

// ---------------------------------------------------------------- main

async function main() {
  const binary = process.argv[2];
  const state = { sessions: [], tmp: null };
  let finished = false;

  const finish = async (code) => {
    if (finished) return;
    finished = true;
    for (const s of state.sessions) await closeSession(s);
    if (state.tmp) {
      try {
        rmSync(state.tmp, { recursive: true, force: true });
      } catch (err) {
        note(`could not remove ${state.tmp}: ${err.message}`);
      }
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(code ?? (failed ? 1 : 0));
  };

  const timer = setTimeout(() => {
    notOk('overall run finishes in time', `still running after ${OVERALL_TIMEOUT_MS} ms`);
    for (const s of state.sessions) {
      note(`server stderr:\n${s.transport.stderrText().slice(-2000)}`);
    }
    aborted = true;
    // Give cleanup a bounded time, then leave regardless.
    setTimeout(() => {
      console.log(`${passed} passed, ${failed} failed`);
      process.exit(1);
    }, 5000).unref();
    finish(1);
  }, OVERALL_TIMEOUT_MS);

  try {
    if (!binary) {
      notOk('usage', 'node sdk_client.mjs <path-to-dss-audit-mcp>');
      return finish(1);
    }
    if (!existsSync(binary)) {
      notOk('server binary exists', `no such file: ${binary}`);
      return finish(1);
    }
    const spec = await check('load the official MCP schema', () => {
      const s = loadSpecValidator();
      note(`schema ${s.path} (${s.draft})`);
      return s;
    });
    if (!spec) return finish(1);

    const declared = await check('load the tools declared in schemas/', () => {
      const d = loadDeclaredTools();
      note(`schemas ${d.dir}: ${[...d.tools.keys()].join(', ')}`);
      const missing = CORE_TOOLS.filter((n) => !d.tools.has(n));
      assert(missing.length === 0, `schemas/ lacks ${missing.join(', ')}`);
      return d.tools;
    });
    if (!declared) return finish(1);
    state.declared = declared;

    state.tmp = mkdtempSync(join(tmpdir(), 'dss-sdk-client-'));
    mkdirSync(join(state.tmp, 'config'));
    mkdirSync(join(state.tmp, 'data'));

    await sessionLatest(binary, state.tmp, spec, state);
    await sessionOld(binary, state.tmp, spec, state);
  } catch (err) {
    notOk('test script ran to completion', err?.message ?? String(err), err?.stack);
  } finally {
    clearTimeout(timer);
    await finish();
  }
}

main();
