// vectors.mjs: known-answer vectors for the entry hash and checkpoint
// signing, computed from docs/hash-encoding.md with Node's own crypto and
// nothing of the C code (src/store/chain.c, src/integrity/checkpoint.c).
//
//   node vectors.mjs                 print the vectors as JSON (vectors.json)
//   node vectors.mjs --check FILE    recompute and compare with FILE: exit 1
//                                    naming the first vector that differs
//
// The C test tests/unit/test_chain.c checks chain_entry_hash and the
// checkpoint functions against vectors.json.  An entry is encoded from a
// field list (ENCODINGS): a later encoding is one more list with its own
// domain tag, and a vector names the encoding it uses.
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Each encoding: its domain tag and its fields, in hashing order.
const ENCODINGS = {
  v1: {
    tag: 'dss-audit/entry/v1',
    fields: ['id', 'event_type', 'operation_name', 'operation_id', 'user_id',
             'project_id', 'args', 'result', 'before_state', 'after_state',
             'error', 'created_at', 'client'],
  },
  // v2 appends what wrap and hook record; an entry uses it when any of
  // these five is not NULL.
  v2: {
    tag: 'dss-audit/entry/v2',
    fields: ['id', 'event_type', 'operation_name', 'operation_id', 'user_id',
             'project_id', 'args', 'result', 'before_state', 'after_state',
             'error', 'created_at', 'client', 'server', 'session_id',
             'duration_ms', 'completes', 'cwd'],
  },
};

function u64be(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// The bytes hashed for one entry (docs/hash-encoding.md, "Entry hash").
function encodeEntry(encoding, prevHex, seq, fields) {
  const enc = ENCODINGS[encoding];
  const unknown = Object.keys(fields).filter((k) => !enc.fields.includes(k));
  if (unknown.length) throw new Error(`fields not in ${encoding}: ${unknown}`);
  const parts = [Buffer.from(enc.tag + '\0', 'utf8'), Buffer.from(prevHex, 'hex'), u64be(seq)];
  for (const name of enc.fields) {
    const v = fields[name];
    if (v === undefined) throw new Error(`field ${name} missing (use null for NULL)`);
    if (v === null) {
      parts.push(Buffer.from([0]));
    } else {
      const bytes = Buffer.from(v, 'utf8');
      parts.push(Buffer.from([1]), u64be(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const ZERO = '0'.repeat(64);

// Every field of a typical entry, as the store keeps it.
const full = {
  id: '01a21f1e-6e56-73c4-9f2a-5d0b8e41c7a3',
  event_type: 'project_update',
  operation_name: 'rename_project',
  operation_id: '42',
  user_id: 'alice',
  project_id: 'proj-42',
  args: '{"name":"Atlas","api_key":"***REDACTED***"}',
  result: '{"ok":true}',
  before_state: '{"name":"Apollo"}',
  after_state: '{"name":"Atlas"}',
  error: 'nothing went wrong',
  created_at: '2026-11-27T22:26:57.750568Z',
  client: '{"name":"claude-code","version":"2.1.0"}',
};
const optionalNull = {
  ...full, operation_id: null, user_id: null, project_id: null, result: null,
  before_state: null, after_state: null, error: null, client: null,
};
const allNull = Object.fromEntries(ENCODINGS.v1.fields.map((k) => [k, null]));
const allEmpty = Object.fromEntries(ENCODINGS.v1.fields.map((k) => [k, '']));
const nonAscii = {
  ...full,
  operation_name: 'überprüfe_projekt',
  user_id: 'José Müller',
  project_id: '項目-42',
  args: '{"note":"naïve café ☕ — 日本語 😀"}',
  error: 'ошибка: файл не найден',
};

// A relayed call's outcome with every v2 field, and a hooked call with only
// a session (the others NULL, still v2).
const relayed = {
  ...full, event_type: 'tool_call', operation_name: 'create_issue',
  server: '{"name":"github","version":"0.6.2"}',
  session_id: '019ad1c2-7e40-7a11-8b3c-0c2f4d5e6f70',
  duration_ms: '1534', completes: '019ad1c2-7e41-7c22-9d4e-1a2b3c4d5e6f',
  cwd: '/home/alice/src/atlas',
};
const hookedSessionOnly = {
  ...optionalNull, event_type: 'tool_call', operation_name: 'Bash',
  server: null, session_id: 'abc123', duration_ms: null, completes: null, cwd: null,
};
const v2Empty = { ...allEmpty, server: '', session_id: '', duration_ms: '', completes: '', cwd: '' };
const v2NonAscii = { ...nonAscii, server: null, session_id: 'sitzung-ü', duration_ms: '0',
                     completes: null, cwd: '/home/josé/項目' };

const ENTRIES = [
  { name: 'every_field_set', encoding: 'v1', prev: ZERO, seq: 1, fields: full },
  { name: 'optional_fields_null', encoding: 'v1', prev: ZERO, seq: 2, fields: optionalNull },
  { name: 'every_field_null', encoding: 'v1', prev: ZERO, seq: 3, fields: allNull },
  { name: 'every_field_empty', encoding: 'v1', prev: ZERO, seq: 3, fields: allEmpty },
  { name: 'non_ascii_text', encoding: 'v1', prev: 'ab'.repeat(32), seq: 7, fields: nonAscii },
  { name: 'seq_beyond_32_bits', encoding: 'v1',
    prev: '0123456789abcdef'.repeat(4), seq: 4294967298, fields: full },
  { name: 'v2_every_field_set', encoding: 'v2', prev: 'cd'.repeat(32), seq: 9, fields: relayed },
  { name: 'v2_session_only', encoding: 'v2', prev: ZERO, seq: 10, fields: hookedSessionOnly },
  { name: 'v2_every_field_empty', encoding: 'v2', prev: ZERO, seq: 11, fields: v2Empty },
  { name: 'v2_non_ascii_text', encoding: 'v2', prev: 'ef'.repeat(32), seq: 12, fields: v2NonAscii },
];

// The signed text of a checkpoint (docs/hash-encoding.md, "Checkpoints").
function checkpointMessage(c) {
  const kind = c.kind === 'anchor' ? 'anchor' : 'checkpoint';
  return `dss-audit/${kind}/v1\nlog_id:${c.log_id}\nseq:${c.seq}\nhead_hash:${c.head_hash}\n` +
         `created_at:${c.created_at}\nprev_checkpoint_hash:${c.prev_checkpoint_hash}\n`;
}

// RFC 8410 PKCS#8 wrapping of a raw 32-byte Ed25519 seed.
function keyFromSeed(seedHex) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'),
                             Buffer.from(seedHex, 'hex')]);
  const priv = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { priv, publicKey: pub.toString('hex') };
}

const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const CHECKPOINTS = [
  { name: 'first_checkpoint', kind: 'checkpoint', log_id: '92462b29-805e-4868-8f67-34460228e2c6',
    seq: 62, head_hash: 'ce2df21e'.repeat(8), created_at: '2026-11-27T22:19:08.022160Z',
    prev_checkpoint_hash: ZERO },
  { name: 'chained_checkpoint', kind: 'checkpoint', log_id: '92462b29-805e-4868-8f67-34460228e2c6',
    seq: 4294967298, head_hash: '0f'.repeat(32), created_at: '2026-11-28T00:00:00.000001Z',
    prev_checkpoint_hash: '8dcb964c'.repeat(8) },
  { name: 'retention_anchor', kind: 'anchor', log_id: '92462b29-805e-4868-8f67-34460228e2c6',
    seq: 1000, head_hash: '12'.repeat(32), created_at: '2026-12-01T08:00:00.000000Z',
    prev_checkpoint_hash: '34'.repeat(32) },
];

function vectors() {
  const entry = ENTRIES.map((e) => {
    const bytes = encodeEntry(e.encoding, e.prev, e.seq, e.fields);
    return { name: e.name, encoding: e.encoding, prev: e.prev, seq: e.seq, fields: e.fields,
             bytes: bytes.toString('hex'), hash: sha256(bytes) };
  });
  const { priv, publicKey } = keyFromSeed(SEED);
  const checkpoint = CHECKPOINTS.map((c) => {
    const message = checkpointMessage(c);
    const signature = sign(null, Buffer.from(message, 'utf8'), priv).toString('hex');
    const digest = sha256(Buffer.from(message + signature, 'utf8'));
    return { ...c, seed: SEED, public_key: publicKey, message, signature, digest };
  });
  return { entry, checkpoint };
}

const out = JSON.stringify(vectors(), null, 1) + '\n';
if (process.argv[2] === '--check') {
  const file = process.argv[3];
  const stored = JSON.parse(readFileSync(file, 'utf8'));
  const fresh = JSON.parse(out);
  for (const kind of ['entry', 'checkpoint']) {
    if ((stored[kind] || []).length !== fresh[kind].length) {
      console.error(`${file}: ${stored[kind]?.length ?? 0} ${kind} vectors, the script makes ${fresh[kind].length}`);
      process.exit(1);
    }
    fresh[kind].forEach((v, i) => {
      if (JSON.stringify(v) !== JSON.stringify(stored[kind][i])) {
        console.error(`${file}: ${kind} vector ${v.name} differs from what the script computes`);
        process.exit(1);
      }
    });
  }
  console.log(`${file}: ${fresh.entry.length} entry and ${fresh.checkpoint.length} checkpoint vectors match`);
} else {
  process.stdout.write(out);
}
