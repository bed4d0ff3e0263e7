#!/usr/bin/env node
// Remote MCP servers for tests/remote/test_remote.c, on 127.0.0.1 only.
//
//   node test_server.mjs legacy PORT [--oauth [--cimd] [--lie issuer|resource]]
//                        [--token-ttl S]
//   node test_server.mjs modern PORT [--require-header NAME:VALUE]
//   node test_server.mjs modern-stdio
//
// legacy: the official TypeScript SDK (v1, tests/client/node_modules) in
// stateful Streamable HTTP with an event store (resumable streams), 404 for
// unknown sessions, and tools that exercise the transport: echo, slow,
// drop_then_finish (closes its answer stream after the first progress
// event, then finishes, so the client must resume with Last-Event-ID),
// flood (many large progress notifications at once),
// notify_standalone (a notification on the session's GET stream),
// admin_tool (needs the scope mcp:admin with --oauth).  With --oauth the
// same process is the authorization server too (the SDK's mcpAuthRouter
// with an in-memory provider that issues refresh tokens and access tokens
// living --token-ttl seconds); with --cimd it also says it supports Client
// ID Metadata Documents and serves one at /client.json; --lie serves
// metadata naming another issuer, or another resource, which a client must
// refuse.
//
// modern: a minimal stateless 2026-07-28 server on node:http: it checks the
// request metadata headers against the body as the spec's server
// validation says (400 HeaderMismatch otherwise; /broken answers 500 and
// /moved redirects), and serves
// server/discover, tools/list (one tool with x-mcp-header), tools/call
// (echo, ask with a multi round-trip, slow), subscriptions/listen.  Every
// result names the server in _meta["io.modelcontextprotocol/serverInfo"].
// modern-stdio: the same server's discover, tools/list, echo and ask over
// stdio (one JSON-RPC message per line), for stdio `wrap`.
//
// Both log every HTTP request (method, headers of interest, and the
// JSON-RPC id and method of a POSTed message) and events (cancelled,
// listen closed) for GET /admin/log; POST /admin/expire ends every
// session, /admin/revoke every access token, /admin/notify sends a
// list_changed notification to open listen streams.
import { createRequire } from 'node:module';
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const here = new URL('.', import.meta.url).pathname;
const require = createRequire(`${here}../client/package.json`);

const [mode, portArg, ...rest] = process.argv.slice(2);
const PORT = Number(portArg);
const flag = (f) => rest.includes(f);
const opt = (f, d) => (rest.includes(f) ? rest[rest.indexOf(f) + 1] : d);
const log = [];
const INTEREST = ['mcp-session-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name',
  'last-event-id', 'authorization', 'x-api-key', 'accept'];
function record(req, extra = {}) {
  const h = {};
  for (const k of Object.keys(req.headers)) {
    if (INTEREST.includes(k) || k.startsWith('mcp-param-')) h[k] = req.headers[k];
  }
  const b = req.body;
  const rpc = b && typeof b === 'object' && !Array.isArray(b) && typeof b.method === 'string'
    ? { rpcMethod: b.method, ...(b.id !== undefined ? { rpcId: b.id } : {}) } : {};
  log.push({ method: req.method, path: req.url, headers: h, ...rpc, ...extra });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


async function legacy() {
  const express = require('express');
  const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
  const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
  const { InMemoryEventStore } = require('@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js');
  const z = require('zod');
  const app = express();
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  const base = `http://localhost:${PORT}`;
  const mcpUrl = new URL(`${base}/mcp`);
  let auth = null;
  if (flag('--oauth')) auth = setupAuth(app, base, mcpUrl, Number(opt('--token-ttl', '3600')), flag('--cimd'));
  app.use((req, _res, next) => {
    if (!req.path.startsWith('/admin')) record(req);
    next();
  });

  const sessions = new Map();
  const getServer = () => {
    const server = new McpServer({ name: 'remote-test-legacy', version: '1.0.0' },
      { capabilities: { logging: {} } });
    server.registerTool('echo', { inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }));
    server.registerTool('admin_tool', { inputSchema: {} },
      async () => ({ content: [{ type: 'text', text: 'admin done' }] }));
    server.registerTool('slow', { inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
      const t0 = Date.now();
      while (Date.now() - t0 < ms) {
        if (extra.signal.aborted) {
          log.push({ event: 'cancelled', id: extra.requestId });
          throw new Error('cancelled');
        }
        await sleep(20);
      }
      return { content: [{ type: 'text', text: `slept ${ms}` }] };
    });
    server.registerTool('drop_then_finish', { inputSchema: { steps: z.number() } },
      async ({ steps }, extra) => {
        const token = extra._meta?.progressToken;
        const progress = (i) => server.server.notification({ method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps } },
        { relatedRequestId: extra.requestId });
        await progress(1);
        await sleep(50);
        extra.closeSSEStream?.();
        log.push({ event: 'stream closed', id: extra.requestId });
        await sleep(300);
        for (let i = 2; i <= steps; i++) await progress(i);
        return { content: [{ type: 'text', text: `finished ${steps}` }] };
      });
    server.registerTool('flood', { inputSchema: { count: z.number(), size: z.number() } },
      async ({ count, size }, extra) => {
        const token = extra._meta?.progressToken;
        for (let i = 1; i <= count; i++) {
          await server.server.notification({ method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: count, message: 'x'.repeat(size) } },
          { relatedRequestId: extra.requestId });
        }
        return { content: [{ type: 'text', text: `flooded ${count}` }] };
      });
    server.registerTool('notify_standalone', { inputSchema: {} }, async () => {
      setTimeout(() => server.server.notification({ method: 'notifications/message',
        params: { level: 'info', data: 'standalone hello' } }).catch(() => {}), 100);
      return { content: [{ type: 'text', text: 'will notify' }] };
    });
    return server;
  };

  const handler = async (req, res) => {
    if (auth && !auth.check(req, res)) return;
    const sid = req.headers['mcp-session-id'];
    const s = sid ? sessions.get(sid) : undefined;
    if (s) return s.transport.handleRequest(req, res, req.body);
    if (sid) {
      res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'No valid session ID' }, id: null });
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      retryInterval: 100,
      onsessioninitialized: (id) => sessions.set(id, { transport }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await getServer().connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
  app.post('/mcp', handler);
  app.get('/mcp', handler);
  app.delete('/mcp', handler);
  adminRoutes(app, {
    expire: () => {
      for (const [id, s] of sessions) {
        sessions.delete(id);
        s.transport.close().catch(() => {});
      }
    },
    revoke: () => auth?.revoke(),
  });
  app.listen(PORT, '127.0.0.1', () => console.error(`legacy test server on ${PORT}`));
}

// The authorization server: mcpAuthRouter with an in-memory provider that
// issues refresh tokens, plus the resource server's checks (401 with
// resource_metadata, 403 insufficient_scope for admin_tool).
function setupAuth(app, base, mcpUrl, ttl, cimd) {
  const { mcpAuthRouter, createOAuthMetadata, getOAuthProtectedResourceMetadataUrl } = require('@modelcontextprotocol/sdk/server/auth/router.js');
  const clients = new Map();
  const codes = new Map();
  const access = new Map();
  const refresh = new Map();
  const issue = (client, scopes, resource) => {
    const at = randomUUID(), rt = randomUUID();
    access.set(at, { clientId: client.client_id, scopes, resource, exp: Date.now() + ttl * 1000 });
    refresh.set(rt, { clientId: client.client_id, scopes, resource });
    log.push({ event: 'tokens issued', scopes });
    return { access_token: at, token_type: 'bearer', expires_in: ttl, refresh_token: rt, scope: scopes.join(' ') };
  };
  const provider = {
    clientsStore: {
      getClient: async (id) => {
        if (clients.has(id) || !cimd || !id.startsWith(`${base}/`)) return clients.get(id);
        const doc = await (await fetch(id)).json();
        log.push({ event: 'cimd fetched', client_id: id });
        return doc.client_id === id ? doc : undefined;
      },
      registerClient: async (c) => { clients.set(c.client_id, c); log.push({ event: 'registered' }); return c; },
    },
    async authorize(client, params, res) {
      const code = randomUUID();
      codes.set(code, { client, params });
      log.push({ event: 'authorize', client_id: client.client_id, resource: params.resource?.href, scopes: params.scopes });
      const u = new URL(params.redirectUri);
      u.searchParams.set('code', code);
      if (params.state !== undefined) u.searchParams.set('state', params.state);
      u.searchParams.set('iss', `${base}/`);
      res.redirect(u.toString());
    },
    async challengeForAuthorizationCode(_c, code) { return codes.get(code).params.codeChallenge; },
    async exchangeAuthorizationCode(client, code, _v, _r, resource) {
      const c = codes.get(code);
      if (!c || c.client.client_id !== client.client_id) throw new Error('bad code');
      codes.delete(code);
      log.push({ event: 'code exchanged', resource: resource?.href });
      return issue(client, c.params.scopes || [], c.params.resource?.href);
    },
    async exchangeRefreshToken(client, rt, scopes, resource) {
      const r = refresh.get(rt);
      if (!r || r.clientId !== client.client_id) throw new Error('bad refresh token');
      refresh.delete(rt);
      log.push({ event: 'refreshed', resource: resource?.href });
      return issue(client, scopes || r.scopes, r.resource);
    },
    async verifyAccessToken(token) {
      const t = access.get(token);
      if (!t || t.exp < Date.now()) throw new Error('invalid');
      return { token, clientId: t.clientId, scopes: t.scopes, expiresAt: Math.floor(t.exp / 1000) };
    },
  };
  const routerOptions = { provider, issuerUrl: new URL(`${base}/`), resourceServerUrl: mcpUrl,
    scopesSupported: ['mcp:tools', 'mcp:admin'], authorizationOptions: { rateLimit: false },
    tokenOptions: { rateLimit: false }, clientRegistrationOptions: { rateLimit: false } };
  const lie = opt('--lie', null);
  if (lie === 'issuer') {
    app.get('/.well-known/oauth-authorization-server', (_req, res) =>
      res.json({ ...createOAuthMetadata(routerOptions), issuer: 'https://honest.example/' }));
  }
  if (lie === 'resource') {
    app.get('/.well-known/oauth-protected-resource/mcp', (_req, res) =>
      res.json({ resource: `${base}/other`, authorization_servers: [`${base}/`] }));
  }
  if (cimd) {
    app.get('/.well-known/oauth-authorization-server', (_req, res) =>
      res.json({ ...createOAuthMetadata(routerOptions), client_id_metadata_document_supported: true }));
    app.get('/client.json', (_req, res) => res.json({ client_id: `${base}/client.json`,
      client_name: 'dss-audit-mcp (test)', redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'none' }));
  }
  app.use(mcpAuthRouter(routerOptions));
  const prm = getOAuthProtectedResourceMetadataUrl(mcpUrl);
  return {
    revoke: () => access.clear(),
    check(req, res) {
      const h = req.headers.authorization || '';
      const t = h.startsWith('Bearer ') ? access.get(h.slice(7)) : undefined;
      if (!t || t.exp < Date.now()) {
        res.set('WWW-Authenticate', `Bearer error="invalid_token", resource_metadata="${prm}", scope="mcp:tools"`);
        res.status(401).json({ error: 'invalid_token' });
        return false;
      }
      const b = req.body;
      if (req.method === 'POST' && b?.method === 'tools/call' && b?.params?.name === 'admin_tool' &&
          !t.scopes.includes('mcp:admin')) {
        res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="${prm}"`);
        res.status(403).json({ error: 'insufficient_scope' });
        return false;
      }
      return true;
    },
  };
}

function adminRoutes(app, hooks) {
  app.get('/admin/log', (_req, res) => res.json(log));
  app.post('/admin/expire', (_req, res) => { hooks.expire(); res.json({ ok: true }); });
  app.post('/admin/revoke', (_req, res) => { hooks.revoke(); res.json({ ok: true }); });
  app.post('/admin/notify', (_req, res) => { hooks.notify?.(); res.json({ ok: true }); });
}

// The 2026-07-28 server's tools, and the answers both of its transports
// give: a result object (resultType included), or undefined when the
// transport answers itself.
const MODERN_VERSION = '2026-07-28';
const MODERN_TOOLS = [
  { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'region_tool', inputSchema: { type: 'object', properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    opts: { type: 'object', properties: { level: { type: 'integer', 'x-mcp-header': 'Level' } } },
    query: { type: 'string' } } } },
  { name: 'ask', inputSchema: { type: 'object' } },
  { name: 'slow', inputSchema: { type: 'object', properties: { ms: { type: 'integer' } } } },
];
const SERVER_META = { 'io.modelcontextprotocol/serverInfo': { name: 'remote-test-modern', version: '1.0.0' } };
function modernAnswer(method, params) {
  const complete = (r) => ({ resultType: 'complete', ...r, _meta: SERVER_META });
  if (method === 'server/discover')
    return complete({ supportedVersions: [MODERN_VERSION], capabilities: { tools: {} },
      serverInfo: { name: 'remote-test-modern', version: '1.0.0' }, ttlMs: 0, cacheScope: 'public' });
  if (method === 'tools/list') return complete({ tools: MODERN_TOOLS, ttlMs: 0, cacheScope: 'public' });
  if (method !== 'tools/call') return undefined;
  const args = params.arguments || {};
  if (params.name === 'echo') return complete({ content: [{ type: 'text', text: String(args.text) }] });
  if (params.name === 'region_tool') // over stdio: no headers to mirror
    return complete({ content: [{ type: 'text', text: `region ${args.region}` }],
      structuredContent: { region: null, level: null } });
  if (params.name === 'ask') {
    const answer = params.inputResponses?.name;
    if (!answer) {
      return { resultType: 'input_required',
        inputRequests: { name: { method: 'elicitation/create', params: { mode: 'form', message: 'Your name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } } } },
        requestState: 'round-1', _meta: SERVER_META };
    }
    return complete({ content: [{ type: 'text', text: `hello ${answer.content?.name}` }] });
  }
  return undefined;
}

function modernStdio() {
  let buf = '';
  const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg;
      try { msg = JSON.parse(line); } catch { continue; }
      if (msg.id === undefined || typeof msg.method !== 'string') continue;
      const result = modernAnswer(msg.method, msg.params || {});
      if (result) out({ jsonrpc: '2.0', id: msg.id, result });
      else out({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

async function modern() {
  const VERSION = MODERN_VERSION;
  const need = opt('--require-header', null);
  const listeners = new Set();
  const decode = (v) => {
    const m = /^=\?base64\?(.*)\?=$/.exec(v ?? '');
    return m ? Buffer.from(m[1], 'base64').toString('utf8') : v;
  };
  const mismatch = (res, id, message) => {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32020, message } }));
  };
  const json = (res, id, result) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { resultType: 'complete', ...result,
      _meta: SERVER_META } }));
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      if (req.url === '/admin/log') { res.end(JSON.stringify(log)); return; }
      if (req.url === '/admin/notify') {
        for (const l of listeners) l(); res.end('{}'); return;
      }
      record(req);
      if (req.url === '/broken') { res.writeHead(500, { 'Content-Type': 'text/plain' }); res.end('boom'); return; }
      if (req.url === '/moved') { res.writeHead(307, { Location: '/mcp' }); res.end(); return; }
      if (req.method !== 'POST') { res.writeHead(405); res.end(); return; }
      if (need) {
        const [n, v] = need.split(':');
        if (req.headers[n.toLowerCase()] !== v) { res.writeHead(401); res.end(); return; }
      }
      let msg;
      try { msg = JSON.parse(body); } catch { res.writeHead(400); res.end(); return; }
      const { id, method, params = {} } = msg;
      const meta = params._meta || {};
      const ver = meta['io.modelcontextprotocol/protocolVersion'];
      if (!ver || req.headers['mcp-protocol-version'] !== ver) return mismatch(res, id, 'MCP-Protocol-Version');
      if (req.headers['mcp-method'] !== method) return mismatch(res, id, 'Mcp-Method');
      const nameSrc = method === 'resources/read' ? params.uri
        : ['tools/call', 'prompts/get'].includes(method) ? params.name : undefined;
      if (nameSrc !== undefined && decode(req.headers['mcp-name']) !== nameSrc) return mismatch(res, id, 'Mcp-Name');
      if (ver !== VERSION) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32022, message: 'Unsupported protocol version',
          data: { supported: [VERSION], requested: ver } } }));
        return;
      }
      if (method === 'server/discover' || method === 'tools/list')
        return json(res, id, modernAnswer(method, params));
      if (method === 'subscriptions/listen') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Accel-Buffering': 'no' });
        const send = (m) => res.write(`data: ${JSON.stringify(m)}\n\n`);
        send({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged',
          params: { _meta: { 'io.modelcontextprotocol/subscriptionId': id }, notifications: params.notifications || {} } });
        const fire = () => send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed',
          params: { _meta: { 'io.modelcontextprotocol/subscriptionId': id } } });
        listeners.add(fire);
        res.on('close', () => { listeners.delete(fire); log.push({ event: 'listen closed', id }); });
        return;
      }
      if (method !== 'tools/call') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } }));
        return;
      }
      const args = params.arguments || {};
      if (params.name === 'region_tool') {
        if (args.region !== undefined && decode(req.headers['mcp-param-region']) !== args.region) return mismatch(res, id, 'Mcp-Param-Region');
        if (args.opts?.level !== undefined && req.headers['mcp-param-level'] !== String(args.opts.level)) return mismatch(res, id, 'Mcp-Param-Level');
        return json(res, id, { content: [{ type: 'text', text: `region ${args.region}` }],
          structuredContent: { region: req.headers['mcp-param-region'] ?? null, level: req.headers['mcp-param-level'] ?? null } });
      }
      if (params.name === 'echo' || params.name === 'ask') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, result: modernAnswer(method, params) }));
        return;
      }
      if (params.name === 'big') return json(res, id, { content: [{ type: 'text', text: 'b'.repeat(args.size) }] });
      if (params.name === 'raw') {
        // Formatting no serializer would produce: spaces, escapes, a
        // number written 1.50, a line break between tokens.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`{ "jsonrpc" : "2.0",\r\n "id" : ${JSON.stringify(id)}, "result" : {"resultType":"complete",` +
          `"content":[{"type":"text","text":"caf\\u00e9 \\/ 1.50"}],"n":1.50 } }\n`);
        return;
      }
      if (params.name === 'slow') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        let done = false;
        res.on('close', () => { if (!done) log.push({ event: 'cancelled', id }); });
        res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress',
          params: { progressToken: meta.progressToken ?? 0, progress: 0 } })}\n\n`);
        await sleep(args.ms ?? 1000);
        if (res.writableEnded || res.destroyed) return;
        done = true;
        res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { resultType: 'complete',
          content: [{ type: 'text', text: 'slow done' }] } })}\n\n`);
        return;
      }
      mismatch(res, id, 'unknown tool');
    });
  });
  server.listen(PORT, '127.0.0.1', () => console.error(`modern test server on ${PORT}`));
}

// Last: the constants above are initialized by now.
if (mode === 'legacy') await legacy();
else if (mode === 'modern') await modern();
else if (mode === 'modern-stdio') modernStdio();
else {
  console.error('usage: test_server.mjs legacy|modern PORT | modern-stdio');
  process.exit(2);
}
