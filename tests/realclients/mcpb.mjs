#!/usr/bin/env node
// The MCP Bundle tool (@anthropic-ai/mcpb) on the project's manifest:
//
//   node_modules/.bin/node mcpb.mjs [<path-to-dss-audit-mcp>]
//
// 1. `mcpb validate mcp-manifest.json` passes (its output is shown verbatim
//    when it does not).
// 2. The manifest's tools are exactly schemas/*.tool.json, same descriptions.
// 3. With a binary: a bundle staged as the manifest describes it
//    (manifest.json + server.entry_point) packs with `mcpb pack`, unpacks
//    with `mcpb unpack`, and the unpacked entry point runs (--version).
//
// Env: DSS_RC_MANIFEST (default <repo>/mcp-manifest.json), DSS_SCHEMA_DIR,
// DSS_RC_KEEP=1.

import { copyFileSync, mkdirSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import {
  HERE, REPO, NODE22, note, check, finish, deadline, scratch, run, describeExit, assert,
} from './lib.mjs';

const MCPB = join(HERE, 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js');
const MANIFEST = resolve(process.env.DSS_RC_MANIFEST || join(REPO, 'mcp-manifest.json'));
const BIN = process.argv[2] ? resolve(process.argv[2]) : null;
const { dir, env, cleanup } = scratch('dss-rc-mcpb-');
deadline(Number(process.env.DSS_RC_MCPB_TIMEOUT_MS || 60000), 'mcpb checks', cleanup);

const mcpb = (args, opts = {}) => run(NODE22, [MCPB, ...args], { env, cwd: dir, timeoutMs: 30000, ...opts });

await check('mcpb validate mcp-manifest.json', async () => {
  const r = await mcpb(['validate', MANIFEST]);
  const text = `${r.stdout}${r.stderr}`.trim();
  if (r.code === 0 && /validation passes/i.test(text)) return;
  note(`mcpb validate ${MANIFEST} -> ${describeExit(r)}:`);
  note(text || '(no output)');
  return `${describeExit(r)}: ${text.split('\n').slice(0, 6).join(' | ')}`;
});

await check('mcpb: manifest tools match schemas/*.tool.json', () => {
  const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const sdir = process.env.DSS_SCHEMA_DIR || join(REPO, 'schemas');
  const tools = readdirSync(sdir).filter((f) => f.endsWith('.tool.json'))
    .map((f) => JSON.parse(readFileSync(join(sdir, f), 'utf8')));
  const want = new Map(tools.map((t) => [t.name, t.description]));
  const got = new Map((m.tools || []).map((t) => [t.name, t.description]));
  const missing = [...want.keys()].filter((n) => !got.has(n));
  const extra = [...got.keys()].filter((n) => !want.has(n));
  assert(!missing.length && !extra.length,
    `manifest lacks [${missing.join(', ')}], has extra [${extra.join(', ')}]`);
  const differ = [...want.keys()].filter((n) => want.get(n) !== got.get(n));
  assert(!differ.length, `description differs from schemas/<name>.tool.json for ${differ.join(', ')}`);
});

if (BIN) {
  await check('mcpb: a bundle staged from the manifest packs, unpacks and runs', async () => {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    const entry = m.server && m.server.entry_point;
    assert(typeof entry === 'string' && entry.length, 'manifest has no server.entry_point');
    const stage = join(dir, 'bundle');
    mkdirSync(dirname(join(stage, entry)), { recursive: true });
    copyFileSync(MANIFEST, join(stage, 'manifest.json'));
    copyFileSync(BIN, join(stage, entry));
    const out = join(dir, 'dss-audit-mcp.mcpb');
    const p = await mcpb(['pack', stage, out]);
    assert(p.code === 0 && existsSync(out), `mcpb pack: ${describeExit(p)}: ${(p.stderr || p.stdout).trim().split('\n').slice(-4).join(' | ')}`);
    const u = await mcpb(['unpack', out, join(dir, 'unpacked')]);
    assert(u.code === 0, `mcpb unpack: ${describeExit(u)}: ${(u.stderr || u.stdout).trim()}`);
    const unpacked = join(dir, 'unpacked', entry);
    assert(existsSync(unpacked), `${entry} missing from the unpacked bundle`);
    assert(statSync(unpacked).mode & 0o100, `${entry} lost its executable bit in the bundle`);
    const v = await run(unpacked, ['--version'], { env, cwd: dir, timeoutMs: 10000 });
    assert(v.code === 0 && /dss-audit-mcp/.test(v.stdout), `${entry} --version: ${describeExit(v)} ${v.stdout}${v.stderr}`);
    note(`bundle: ${statSync(out).size} bytes; ${v.stdout.trim()}`);
  });
}

cleanup();
finish();
