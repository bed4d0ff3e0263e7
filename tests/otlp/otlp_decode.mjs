#!/usr/bin/env node
// export --format otlp, decoded with the official OpenTelemetry protobuf
// definitions: the protobufjs module that @opentelemetry/otlp-transformer
// generates from opentelemetry-proto (ExportLogsServiceRequest).
//
//   node tests/otlp/otlp_decode.mjs <path-to-dss-audit-mcp-binary>
//
// (scripts/deps.sh --test runs `npm install` in tests/otlp.)  It fills a
// fresh database through the real server (entries with and without errors,
// tool_call records, a project, states, a client identity, more than one
// batch of records), exports it as jsonl and as otlp, and checks that
// each otlp line is an ExportLogsServiceRequest that survives protobuf
// encoding and decoding unchanged (so every name and type it uses is one
// the definitions know), then every field of every record against the
// entry it came from.  Exit 0 only when every check passed.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const bin = process.argv[2];
if (!bin) {
  console.error('usage: otlp_decode.mjs <dss-audit-mcp>');
  process.exit(2);
}
let failed = 0, passed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.message.split('\n').slice(0, 12).join('\n# ')}`);
  }
}

const require = createRequire(import.meta.url);
let root;
try {
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
} catch (e) {
  console.log(`not ok - load the OpenTelemetry protobuf definitions: ${e.message} (run scripts/deps.sh --test)`);
  process.exit(1);
}
const Request = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const BATCH = 512;

const dir = mkdtempSync(join(tmpdir(), 'dss-otlp-'));
const db = join(dir, 'audit.db');
const env = { ...process.env, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
delete env.DSS_AUDIT_DB;
delete env.DSS_AUDIT_KEY;
function run(args, input) {
  // The command (if any) comes first, then --db.
  const argv = args[0] && !args[0].startsWith('-') ? [args[0], '--db', db, ...args.slice(1)] : ['--db', db, ...args];
  const r = spawnSync(bin, argv, { input: input ?? '', env, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.toString();
}

// ---- a trail: 301 calls, so 601 entries and two request lines ----------
const msgs = [{ jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'otlp-test', version: '3.1.4' } } }];
for (let i = 1; i <= 300; i++) {
  const a = i % 3 === 0
    ? { event_type: 'error', operation_name: `sync_${i}`, error: `upstream timed out ${i}`, args: { n: i } }
    : { event_type: 'project_update', operation_name: 'rename_project', operation_id: `op-${i}`,
        project_id: `proj-${i % 7}`, user_id: 'alice', args: { name: `n${i}`, deep: [1, { x: 2.5 }] },
        result: { ok: true }, before_state: { name: 'old' }, after_state: { name: `n${i}` } };
  msgs.push({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'log_operation', arguments: a } });
}
msgs.push({ jsonrpc: '2.0', id: 'q', method: 'tools/call', params: { name: 'get_audit_entry', arguments: { audit_id: 'no-such-id' } } });
run(['--actor', 'bob'], msgs.map((m) => JSON.stringify(m)).join('\n') + '\n');

const jsonl = run(['export', '--format', 'jsonl']).split('\n').filter(Boolean);
const otlp = run(['export', '--format', 'otlp']).split('\n').filter(Boolean);
const logId = JSON.parse(run(['stats', '--json'])).log_id;
const version = spawnSync(bin, ['--version']).stdout.toString().trim().split(/\s+/).pop();
const entries = jsonl.map((l) => JSON.parse(l));

check('the export has one request line per 512 entries', () => {
  assert.ok(entries.length > BATCH, `only ${entries.length} entries`);
  assert.equal(otlp.length, Math.ceil(entries.length / BATCH));
});

const requests = otlp.map((l) => JSON.parse(l));
check('every line is an ExportLogsServiceRequest that protobuf round-trips unchanged', () => {
  for (const [i, obj] of requests.entries()) {
    const msg = Request.fromObject(obj);
    const bytes = Request.encode(msg).finish();
    const back = Request.toObject(Request.decode(bytes), { longs: String, enums: Number });
    assert.deepEqual(back, obj, `line ${i + 1} changed in protobuf`);
  }
});

const attrMap = (kvs) => {
  const m = {};
  for (const kv of kvs) {
    assert.ok(!(kv.key in m), `attribute ${kv.key} twice`);
    const v = kv.value;
    const kinds = Object.keys(v);
    assert.equal(kinds.length, 1, `attribute ${kv.key} has ${kinds.length} values`);
    m[kv.key] = 'intValue' in v ? BigInt(v.intValue) : v.stringValue;
  }
  return m;
};

check('the resource is the log: service.name, service.version, dss_audit.log_id', () => {
  for (const req of requests) {
    assert.equal(req.resourceLogs.length, 1);
    const rl = req.resourceLogs[0];
    assert.deepEqual(attrMap(rl.resource.attributes), {
      'service.name': 'dss-audit-mcp', 'service.version': version, 'dss_audit.log_id': logId });
    assert.equal(rl.scopeLogs.length, 1);
    assert.deepEqual(rl.scopeLogs[0].scope, { name: 'dss-audit-mcp', version });
  }
});

const records = requests.flatMap((r) => r.resourceLogs[0].scopeLogs[0].logRecords);
check('one record per entry, in seq order', () => {
  assert.equal(records.length, entries.length);
});

// What the documented mapping (docs/export.md) says each entry becomes.
function expectedAttributes(e) {
  const want = {};
  const put = (k, v) => { if (v !== null && v !== undefined) want[k] = v; };
  const json = (v) => (v === null || v === undefined ? undefined : JSON.stringify(v));
  put('dss_audit.seq', BigInt(e.seq));
  put('dss_audit.id', e.id);
  put('dss_audit.event_type', e.event_type);
  put('dss_audit.operation_name', e.operation_name);
  put('dss_audit.operation_id', e.operation_id);
  put('user.id', e.user_id);
  put('dss_audit.project_id', e.project_id);
  put('error.message', e.error);
  put('mcp.session.id', e.session_id);
  put('dss_audit.completes', e.completes);
  put('dss_audit.cwd', e.cwd);
  put('dss_audit.prev_hash', e.prev_hash);
  put('dss_audit.hash', e.hash);
  if (e.event_type === 'tool_call') {
    put('mcp.method.name', 'tools/call');
    put('gen_ai.operation.name', 'execute_tool');
    put('gen_ai.tool.name', e.operation_name);
    put('jsonrpc.request.id', e.operation_id);
  }
  for (const k of ['args', 'result', 'before_state', 'after_state']) put(`dss_audit.${k}`, json(e[k]));
  put('dss_audit.client.name', e.client?.name);
  put('dss_audit.client.version', e.client?.version);
  put('dss_audit.server.name', e.server?.name);
  put('dss_audit.server.version', e.server?.version);
  if (e.duration_ms !== undefined && e.duration_ms !== null) put('dss_audit.duration_ms', BigInt(e.duration_ms));
  return want;
}

check('every record: time, severity, body and attributes from its entry', () => {
  for (const [i, e] of entries.entries()) {
    const r = records[i];
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(e.created_at);
    assert.ok(m, `created_at ${e.created_at}`);
    const ns = (BigInt(Date.parse(m[1] + 'Z')) * 1000000n + BigInt((m[2] ?? '').padEnd(6, '0')) * 1000n).toString();
    assert.equal(r.timeUnixNano, ns, `seq ${e.seq} time`);
    assert.equal(r.observedTimeUnixNano, ns, `seq ${e.seq} observed time`);
    const err = e.error !== null && e.error !== undefined;
    assert.equal(r.severityNumber, err ? 17 : 9, `seq ${e.seq} severityNumber`);
    assert.equal(r.severityText, err ? 'ERROR' : 'INFO', `seq ${e.seq} severityText`);
    assert.deepEqual(r.body, { stringValue: jsonl[i] }, `seq ${e.seq} body`);
    assert.deepEqual(attrMap(r.attributes), expectedAttributes(e), `seq ${e.seq} attributes`);
    assert.deepEqual(Object.keys(r).sort(),
      ['attributes', 'body', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'timeUnixNano']);
  }
});

check('the trail had each kind of entry the mapping distinguishes', () => {
  assert.ok(entries.some((e) => e.event_type === 'tool_call' && e.error), 'a failed tool_call');
  assert.ok(entries.some((e) => e.event_type === 'error'), 'an error entry');
  assert.ok(entries.some((e) => e.before_state && e.after_state && e.project_id), 'a project update');
  assert.ok(entries.some((e) => e.client?.name === 'otlp-test'), 'a client identity');
});

check('an empty selection exports nothing', () => {
  assert.equal(run(['export', '--format', 'otlp', '--user', 'nobody-at-all']), '');
});

rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
