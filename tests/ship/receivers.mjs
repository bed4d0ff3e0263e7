#!/usr/bin/env node
// Receivers for ship's HTTP sinks, started by tests/ship/test_ship.c:
//
//   node receivers.mjs otlp|hec|webhook DIR
//
// Each listens on 127.0.0.1 (RECV_PORT, or a port of its own; written to
// DIR/<kind>.port once it listens), keeps every request body byte for byte in
// DIR/<kind>.raw (so the test can search them for secrets), writes what it
// decoded to DIR/<kind>.jsonl (one line per entry or record) and one line
// per request to DIR/<kind>.log ({n, t, status, records, ...}).
//
// otlp:    OTLP/HTTP, decoded with the official OpenTelemetry protobuf
//          definitions (@opentelemetry/otlp-transformer, pinned in
//          tests/otlp).  Plain HTTP.  RECV_SCRIPT says how to answer, e.g.
//          "200x2,503x3:1,partial,200": two 200s, three 503s with
//          Retry-After 1, one 200 with a partial success rejecting one
//          record, then 200 (the last step repeats).  "400" refuses.
// hec:     Splunk HEC over HTTPS (RECV_CERT, RECV_KEY): checks the token
//          (RECV_TOKEN), the channel header, and each event's time, host,
//          source, sourcetype and event; RECV_ACK=1 turns indexer
//          acknowledgement on (each ackId becomes true on its second poll).
// webhook: HTTPS; checks X-DSS-Audit-Signature against the HMAC-SHA256 of
//          the body under RECV_SECRET, answers 401 when it does not match;
//          RECV_SCRIPT as for otlp (e.g. "500x2,200").
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [kind, dir] = process.argv.slice(2);
if (!['otlp', 'hec', 'webhook'].includes(kind) || !dir) {
  console.error('usage: receivers.mjs otlp|hec|webhook DIR');
  process.exit(2);
}
const out = (ext) => join(dir, `${kind}.${ext}`);
const start = Date.now();
let n = 0;

// The answer script: a list of [status, retryAfter, repeat] steps.
const script = (process.env.RECV_SCRIPT || '200').split(',').map((step) => {
  const m = /^(\d+|partial)(?:x(\d+))?(?::(\d+))?$/.exec(step.trim());
  if (!m) throw new Error(`bad RECV_SCRIPT step ${step}`);
  return { status: m[1], times: m[2] ? +m[2] : 1, retryAfter: m[3] };
});
function nextStep() {
  const s = script[0];
  if (script.length > 1 && --s.times === 0) script.shift();
  return s;
}

function record(line) {
  appendFileSync(out('log'), JSON.stringify({ n, t: Date.now() - start, ...line }) + '\n');
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ---- OTLP -------------------------------------------------------------------
let root;
if (kind === 'otlp') {
  const here = dirname(fileURLToPath(import.meta.url));
  const require = createRequire(join(here, '..', 'otlp', 'package.json'));
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
}

function anyValue(v) {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return { int: String(v.intValue) };
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return { other: v };
}

async function otlp(req, res) {
  const bytes = await body(req);
  n++;
  appendFileSync(out('raw'), bytes);
  const ns = root.opentelemetry.proto.collector.logs.v1;
  if (req.url !== '/v1/logs' || req.headers['content-type'] !== 'application/x-protobuf') {
    record({ status: 404, url: req.url, ctype: req.headers['content-type'] });
    res.writeHead(404).end();
    return;
  }
  let msg;
  try {
    msg = ns.ExportLogsServiceRequest.decode(bytes);
  } catch (e) {
    record({ status: 400, error: e.message });
    res.writeHead(400).end();
    return;
  }
  const obj = ns.ExportLogsServiceRequest.toObject(msg, { longs: String, defaults: false });
  const records = [];
  for (const rl of obj.resourceLogs || []) {
    const resource = Object.fromEntries((rl.resource?.attributes || []).map((a) => [a.key, anyValue(a.value)]));
    for (const sl of rl.scopeLogs || []) {
      for (const lr of sl.logRecords || []) {
        records.push({
          resource, scope: sl.scope,
          timeUnixNano: lr.timeUnixNano, observedTimeUnixNano: lr.observedTimeUnixNano,
          severityNumber: lr.severityNumber, severityText: lr.severityText,
          body: lr.body?.stringValue,
          attributes: Object.fromEntries((lr.attributes || []).map((a) => [a.key, anyValue(a.value)])),
        });
      }
    }
  }
  const step = nextStep();
  if (step.status === 'partial') {
    // Accepted, except the first record, which is dropped: the shipper
    // must report it and must not send the batch again.
    for (const r of records.slice(1)) appendFileSync(out('jsonl'), JSON.stringify(r) + '\n');
    record({ status: 200, records: records.length, partial: 1 });
    const resp = ns.ExportLogsServiceResponse.encode({
      partialSuccess: { rejectedLogRecords: 1, errorMessage: 'record 0 dropped by the test' },
    }).finish();
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(Buffer.from(resp));
    return;
  }
  const status = +step.status;
  record({ status, records: records.length });
  if (status === 200) {
    for (const r of records) appendFileSync(out('jsonl'), JSON.stringify(r) + '\n');
    const resp = ns.ExportLogsServiceResponse.encode({}).finish();
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(Buffer.from(resp));
    return;
  }
  const headers = { 'Content-Type': 'text/plain' };
  if (step.retryAfter) headers['Retry-After'] = step.retryAfter;
  res.writeHead(status, headers).end(`refused by the test (${status})\n`);
}

// ---- Splunk HEC -------------------------------------------------------------
let ackId = 0;
const acks = new Map(); // ackId -> polls so far

async function hec(req, res) {
  const bytes = await body(req);
  n++;
  appendFileSync(out('raw'), bytes);
  const reply = (status, obj) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(obj));
  };
  if (req.headers.authorization !== `Splunk ${process.env.RECV_TOKEN}`) {
    record({ status: 403, why: 'token' });
    return reply(403, { text: 'Invalid token', code: 4 });
  }
  const channel = req.headers['x-splunk-request-channel'];
  if (!/^[0-9a-f-]{36}$/.test(channel || '')) {
    record({ status: 400, why: 'channel' });
    return reply(400, { text: 'Data channel is missing', code: 10 });
  }
  if (req.url === '/services/collector/ack') {
    const ids = JSON.parse(bytes.toString()).acks;
    const result = {};
    for (const id of ids) {
      const polls = (acks.get(id) ?? 0) + 1;
      acks.set(id, polls);
      result[id] = polls >= 2;
    }
    record({ status: 200, ack: ids, result });
    return reply(200, { acks: result });
  }
  if (req.url !== '/services/collector/event') {
    record({ status: 404, url: req.url });
    return reply(404, { text: 'Not found', code: 404 });
  }
  // Events back to back, each one JSON object.
  const events = [];
  const text = bytes.toString();
  let i = 0;
  try {
    while (i < text.length) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (i >= text.length) break;
      let depth = 0, inStr = false, j = i;
      for (; j < text.length; j++) {
        const c = text[j];
        if (inStr) { if (c === '\\') j++; else if (c === '"') inStr = false; continue; }
        if (c === '"') inStr = true;
        else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) break;
      }
      events.push(JSON.parse(text.slice(i, j + 1)));
      i = j + 1;
    }
  } catch (e) {
    record({ status: 400, why: 'format', error: e.message });
    return reply(400, { text: 'Invalid data format', code: 6 });
  }
  for (const [k, ev] of events.entries()) {
    const ok = typeof ev.time === 'number' && typeof ev.host === 'string' && ev.host.length > 0 &&
      ev.source === 'dss-audit-mcp' && /^dss-audit:(jsonl|ocsf)$/.test(ev.sourcetype) &&
      typeof ev.event === 'object' && ev.event !== null;
    if (!ok) {
      record({ status: 400, why: 'event', event: k });
      return reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': k });
    }
  }
  for (const ev of events) appendFileSync(out('jsonl'), JSON.stringify(ev) + '\n');
  if (process.env.RECV_ACK === '1') {
    const id = ackId++;
    record({ status: 200, records: events.length, ackId: id });
    return reply(200, { text: 'Success', code: 0, ackId: id });
  }
  record({ status: 200, records: events.length });
  return reply(200, { text: 'Success', code: 0 });
}

// ---- webhooks ---------------------------------------------------------------
async function webhook(req, res) {
  const bytes = await body(req);
  n++;
  appendFileSync(out('raw'), bytes);
  const want = 'sha256=' + createHmac('sha256', process.env.RECV_SECRET).update(bytes).digest('hex');
  const got = req.headers['x-dss-audit-signature'] || '';
  if (got.length !== want.length || !timingSafeEqual(Buffer.from(got), Buffer.from(want))) {
    record({ status: 401, why: 'signature' });
    res.writeHead(401).end('bad signature\n');
    return;
  }
  const step = nextStep();
  const status = +step.status;
  let batch;
  try {
    batch = JSON.parse(bytes.toString());
  } catch (e) {
    record({ status: 400, why: 'json' });
    res.writeHead(400).end();
    return;
  }
  const items = batch.entries ?? batch.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords ?? [];
  record({ status, records: items.length, ctype: req.headers['content-type'] });
  if (status >= 200 && status < 300) {
    for (const e of items) appendFileSync(out('jsonl'), JSON.stringify({ log_id: batch.log_id, log: batch.log, entry: e }) + '\n');
  }
  const headers = {};
  if (step.retryAfter) headers['Retry-After'] = step.retryAfter;
  res.writeHead(status, headers).end();
}

const handler = { otlp, hec, webhook }[kind];
const wrapped = (req, res) => handler(req, res).catch((e) => {
  record({ status: 500, error: e.message });
  res.writeHead(500).end();
});
const server = kind === 'otlp'
  ? createHttp(wrapped)
  : createHttps({ cert: readFileSync(process.env.RECV_CERT), key: readFileSync(process.env.RECV_KEY) }, wrapped);
server.keepAliveTimeout = 60000;
server.listen(+(process.env.RECV_PORT || 0), '127.0.0.1', () => {
  writeFileSync(out('port.tmp'), String(server.address().port));
  renameSync(out('port.tmp'), out('port'));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
