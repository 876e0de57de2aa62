// The NestMTX Socket.IO API with real socket.io-client connections against a whole server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io as connectClient, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, eventMatching, once, startTestApp, type TestApp } from '../helpers/testApp.js';
import { publishEvent } from '../helpers/busEvents.js';
import { until } from '../helpers/wait.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- replies are read loosely

let t: TestApp;
let adminToken: string;
const open: ClientSocket[] = [];

beforeAll(async () => {
  t = await startTestApp();
  adminToken = await t.login();
});
afterEach(() => {
  for (const s of open.splice(0)) s.disconnect();
});
afterAll(async () => {
  await t.stop();
});

const dbFile = () => readFileSync(join(t.dataDir, 'db.json'), 'utf8');

/** A client that never reconnects by itself, so every refusal is seen once. */
function client(opts: Partial<ManagerOptions & SocketOptions> = {}): ClientSocket {
  const s = connectClient(t.url, { reconnection: false, transports: ['websocket'], forceNew: true, ...opts });
  open.push(s);
  return s;
}

function connected(s: ClientSocket): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const connectWith = (token: string, opts: Partial<ManagerOptions & SocketOptions> = {}) => connected(client({ auth: { token }, ...opts }));

function refusal(s: ClientSocket): Promise<Error> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => reject(new Error('connected although it should be refused')));
    s.once('connect_error', resolve);
  });
}

let seq = 0;
/** Emits a request and resolves with the reply on its requestId. */
function request(s: ClientSocket, body: Json): Promise<Json> {
  const requestId = typeof body.requestId === 'string' ? body.requestId : `req-${++seq}`;
  const reply = once<Json>(s, requestId);
  s.emit('request', { requestId, ...body });
  return reply;
}

/** Emits something that cannot be answered on a requestId and resolves with the `failure` event. */
function failure(s: ClientSocket, ...args: unknown[]): Promise<Json> {
  const f = once<Json>(s, 'failure');
  s.emit('request', ...args);
  return f;
}

/** The first `event` whose payload satisfies `pred`. */
const waitFor = (s: ClientSocket, event: string, pred: (p: Json) => boolean): Promise<Json> => eventMatching<Json>(s, event, pred);

const disconnected = (s: ClientSocket) => once<string>(s, 'disconnect');

async function ageToken(token: string): Promise<void> {
  const tokenId = t.app.context.auth.authenticate(token)!.tokenId!;
  await t.app.context.db.collection('tokens').update(tokenId, (r) => ({ ...r, expires_at: new Date(Date.now() - 1000).toISOString() }));
}

describe('authentication at connect', () => {
  it('accepts the token from the Authorization header, auth.token and query.token', async () => {
    const carriers: Partial<ManagerOptions & SocketOptions>[] = [
      { extraHeaders: { Authorization: `Bearer ${adminToken}` } },
      { extraHeaders: { Authorization: `Bearer ${adminToken}` }, transports: ['polling', 'websocket'] },
      { auth: { token: adminToken } },
      { query: { token: adminToken } },
    ];
    for (const opts of carriers) {
      const s = await connected(client(opts));
      expect(await request(s, { command: 'list', module: 'version' })).toMatchObject({ name: 'switchboard' });
      s.disconnect();
    }
  });

  it('refuses missing, malformed, unknown, expired and revoked tokens with Unauthorized', async () => {
    const bogus = 'x'.repeat(43);
    const refusedWith: Partial<ManagerOptions & SocketOptions>[] = [
      {},
      { auth: { token: '' } },
      { auth: { token: 12345 } },
      { auth: { token: bogus } },
      { query: { token: bogus } },
      { extraHeaders: { Authorization: `Bearer ${bogus}` } },
      { extraHeaders: { Authorization: `Basic ${Buffer.from('admin:admin-password-1').toString('base64')}` } },
    ];
    for (const opts of refusedWith) {
      const err = await refusal(client(opts));
      expect(err.message).toBe('Unauthorized');
    }

    const expired = await t.login();
    await ageToken(expired);
    expect((await refusal(client({ auth: { token: expired } }))).message).toBe('Unauthorized');

    const revoked = await t.login();
    await t.app.context.auth.revokeToken(t.app.context.auth.authenticate(revoked)!.tokenId!);
    expect((await refusal(client({ auth: { token: revoked } }))).message).toBe('Unauthorized');
  });

  it('disconnects a socket whose token is revoked while it is connected', async () => {
    const { id, token } = await t.createUser('revoked-live', 'user', 'revoked-live-pw');
    const victim = await connectWith(token);
    const bystander = await connectWith(adminToken);
    const gone = disconnected(victim);
    // An admin sets a new password: the service revokes the user's tokens.
    const changed = await request(bystander, { command: 'update', module: 'users', entity: id, payload: { password: 'another-password' } });
    expect(changed).toMatchObject({ id, username: 'revoked-live' });
    expect(await gone).toBe('io server disconnect');
    expect(bystander.connected).toBe(true);
    expect((await refusal(client({ auth: { token } }))).message).toBe('Unauthorized');

    // One token revoked on its own (sign-out style): only the socket using it goes.
    const [one, two] = [await t.login(), await t.login()];
    const [s1, s2] = [await connectWith(one), await connectWith(two)];
    const s1gone = disconnected(s1);
    await t.app.context.auth.revokeToken(t.app.context.auth.authenticate(one)!.tokenId!);
    expect(await s1gone).toBe('io server disconnect');
    expect(await request(s2, { command: 'list', module: 'version' })).toMatchObject({ name: 'switchboard' });
  });

  it('answers Unauthorized and disconnects when the token expired while connected', async () => {
    const token = await t.login();
    const s = await connectWith(token);
    await ageToken(token);
    const gone = disconnected(s);
    expect(await request(s, { command: 'list', module: 'version' })).toMatchObject({ error: { message: 'Unauthorized', details: [] } });
    expect(await gone).toBe('io server disconnect');
  });

  it('drops an idle socket once its token expires (the session registry re-judges it)', async () => {
    const token = await t.login();
    const s = await connectWith(token);
    const gone = disconnected(s);
    await ageToken(token);
    // What the registry's expiry timer and periodic sweep do, without waiting for them.
    t.app.context.sessions.sweep();
    expect(await gone).toBe('io server disconnect');
  });

  it('applies a role change to a connected socket at once', async () => {
    const { id, token } = await t.createUser('demoted', 'admin', 'demoted-password');
    const s = await connectWith(token);
    const admin = await connectWith(adminToken);
    expect((await request(s, { command: 'list', module: 'users' })).items.length).toBeGreaterThan(0);
    expect(await request(admin, { command: 'update', module: 'users', entity: id, payload: { role: 'viewer' } })).toMatchObject({ role: 'viewer' });
    expect(await request(s, { command: 'list', module: 'users' })).toMatchObject({ error: { message: 'Only admins may list users', details: [] } });
  });
});

describe('requests', () => {
  it('runs every command of the users module', async () => {
    const s = await connectWith(adminToken);
    const list = await request(s, { command: 'list', module: 'users' });
    expect(list).toMatchObject({ page: 1, itemsPerPage: 10, search: null, sortBy: [] });
    expect(list.items.some((u: Json) => u.username === ADMIN.username)).toBe(true);

    const created = await request(s, { command: 'create', module: 'users', payload: { username: 'sock-user', password: 'sock-password', role: 'viewer' } });
    expect(created).toMatchObject({ username: 'sock-user', role: 'viewer', can_login: true });
    expect(JSON.stringify(created)).not.toMatch(/password|scrypt/);

    expect(await request(s, { command: 'read', module: 'users', entity: created.id })).toEqual(created);
    const found = await request(s, { command: 'list', module: 'users', payload: { search: 'sock-u', sortBy: [{ key: 'username', order: 'desc' }], itemsPerPage: 5 } });
    expect(found).toMatchObject({ total: 1, itemsPerPage: 5, items: [{ id: created.id }] });

    const updated = await request(s, { command: 'update', module: 'users', entity: created.id, payload: { role: 'user' } });
    expect(updated).toMatchObject({ id: created.id, role: 'user' });

    expect(await request(s, { command: 'create', module: 'users', payload: { username: 'sock-user', password: 'sock-password' } })).toMatchObject({
      error: { message: 'Username already exists', details: [{ path: 'payload.username', message: 'already exists' }] },
    });
    const invalid = await request(s, { command: 'create', module: 'users', payload: { username: 'bad name!', password: 'short', role: 'emperor', extra: 1 } });
    expect(invalid.error.message).toBe('Validation failed');
    expect(invalid.error.details.map((d: Json) => d.path).sort()).toEqual(['payload', 'payload.password', 'payload.role', 'payload.username']);

    expect(await request(s, { command: 'delete', module: 'users', entity: created.id })).toMatchObject({ id: created.id });
    expect(await request(s, { command: 'read', module: 'users', entity: created.id })).toMatchObject({ error: { message: 'User not found', details: [] } });
  });

  it('answers health and version, and reports its clients', async () => {
    const s = await connectWith(adminToken);
    for (const command of ['list', 'read']) {
      const health = await request(s, { command, module: 'health', entity: 'any' });
      expect(health).toMatchObject({ version: expect.any(String), status: expect.stringMatching(/^(ok|degraded)$/) });
      expect(health.clients.nestmtx).toBeGreaterThanOrEqual(1);
      expect(await request(s, { command, module: 'version', entity: 'any' })).toMatchObject({ name: 'switchboard', version: health.version, node: process.version });
    }
    for (const command of ['create', 'update', 'delete']) {
      const r = await request(s, { command, module: 'version', entity: 'x', payload: {} });
      expect(r.error.message).toBe(`Command ${command} is not supported by module version`);
    }
  });

  it('checks the request shape: command, module, entity, payload', async () => {
    const s = await connectWith(adminToken);
    expect(await request(s, { command: 'list', module: 'no-such-module' })).toMatchObject({ error: { message: 'Module no-such-module not found', details: [] } });
    expect((await request(s, { command: 'explode', module: 'users' })).error).toMatchObject({ message: 'Invalid Request', details: [{ path: 'command', message: 'must be one of list, create, read, update, delete' }] });
    expect((await request(s, { command: 'list' })).error.details).toEqual([{ path: 'module', message: 'must be a module name' }]);
    expect((await request(s, { command: 'read', module: 'users' })).error.details).toEqual([{ path: 'entity', message: 'required for read' }]);
    expect((await request(s, { command: 'create', module: 'users' })).error.details).toEqual([{ path: 'payload', message: 'required for create' }]);
    expect((await request(s, { command: 'list', module: 'users', payload: { page: 0 } })).error.details[0].path).toBe('payload.page');
    const unknown = await request(s, { command: 'list', module: 'users', colour: 'blue', extra: true });
    expect(unknown.error.message).toBe('Invalid Request');
    expect(unknown.error.details.map((d: Json) => d.path)).toEqual(['colour', 'extra']);
  });

  it('returns permission errors to a viewer, never empty results', async () => {
    const { id, token } = await t.createUser('sock-viewer', 'viewer');
    const s = await connectWith(token);
    expect(await request(s, { command: 'list', module: 'users' })).toMatchObject({ error: { message: 'Only admins may list users', details: [] } });
    expect(await request(s, { command: 'create', module: 'users', payload: { username: 'x-user', password: 'x-password' } })).toMatchObject({ error: { message: 'Only admins may create users', details: [] } });
    const adminId = t.app.context.auth.authenticate(adminToken)!.userId!;
    expect(await request(s, { command: 'read', module: 'users', entity: adminId })).toMatchObject({ error: { message: 'You may only read your own user', details: [] } });
    expect(await request(s, { command: 'update', module: 'users', entity: adminId, payload: { role: 'viewer' } })).toMatchObject({ error: { message: 'You may only change your own password', details: [] } });
    expect(await request(s, { command: 'update', module: 'users', entity: id, payload: { role: 'admin' } })).toMatchObject({ error: { message: 'Validation failed' } });
    expect(await request(s, { command: 'delete', module: 'users', entity: adminId })).toMatchObject({ error: { message: 'Only admins may delete users', details: [] } });
    expect(await request(s, { command: 'read', module: 'users', entity: id })).toMatchObject({ id, role: 'viewer' });
  });

  it('answers a request without a usable requestId on `failure`', async () => {
    const s = await connectWith(adminToken);
    const base = { command: 'list', module: 'version' };
    const badIds: unknown[] = [undefined, '', 42, null, { id: 1 }, ['a'], 'x'.repeat(129), 'connect', 'disconnect', 'connect_error', 'error', 'newListener', 'log', 'failure', 'camera:ready', 'nestmtx:*'];
    for (const requestId of badIds) {
      const f = await failure(s, requestId === undefined ? base : { ...base, requestId });
      expect(f).toEqual({ message: 'Invalid Request', details: [{ path: 'requestId', message: expect.any(String) }] });
    }
    for (const notAnObject of ['list users', 7, null, [base], true]) {
      expect(await failure(s, notAnObject)).toEqual({ message: 'Invalid Request', details: [{ path: '', message: expect.stringContaining('must be an object') }] });
    }
    expect((await failure(s)).message).toBe('Invalid Request');
    // The longest allowed id, and one with a colon that is not a status topic, still work.
    expect(await request(s, { ...base, requestId: 'y'.repeat(128) })).toMatchObject({ name: 'switchboard' });
    expect(await request(s, { ...base, requestId: 'client:42' })).toMatchObject({ name: 'switchboard' });
  });

  it('answers hostile payloads with errors; the socket stays usable and nothing stored changes', async () => {
    const s = await connectWith(adminToken);
    const before = dbFile();
    const userCount = t.app.context.db.collection('users').all().length;

    const proto = JSON.parse('{"__proto__": {"polluted": true}, "username": "proto-user", "password": "proto-password"}') as Json;
    const r1 = await request(s, { command: 'create', module: 'users', payload: proto });
    expect(r1.error).toMatchObject({ message: 'Invalid input', details: [{ path: 'payload.__proto__', message: 'key "__proto__" is not allowed' }] });

    const topProto = JSON.parse('{"command": "list", "module": "users", "__proto__": {"admin": true}}') as Json;
    const r2 = await request(s, topProto);
    expect(r2.error.message).toBe('Invalid Request');
    expect(r2.error.details[0].path).toBe('__proto__');

    const r3 = await request(s, { command: 'create', module: 'users', payload: { username: 'ctor-user', password: 'ctor-password', constructor: { prototype: { x: 1 } } } });
    expect(r3.error.details[0].path).toBe('payload.constructor');

    let deep: Json = { leaf: true };
    for (let i = 0; i < 2000; i++) deep = { d: deep };
    const r4 = await request(s, { command: 'update', module: 'users', entity: 'nobody', payload: deep });
    expect(r4.error.message).toBe('Invalid input');
    expect(r4.error.details[0].message).toMatch(/nesting deeper than/);

    const huge = 'h'.repeat(990_000);
    const r5 = await request(s, { command: 'create', module: 'users', payload: { username: huge, password: 'huge-password' } });
    expect(r5.error.message).toBe('Validation failed');
    expect(r5.error.details.map((d: Json) => d.path)).toEqual(['payload.username']);
    expect(JSON.stringify(r5).length).toBeLessThan(1000);

    const r6 = await request(s, { command: 'create', module: 'users', payload: { username: 'bin-user', password: Buffer.alloc(64) } });
    expect(r6.error).toMatchObject({ message: 'Invalid Request', details: [{ path: 'payload.password', message: 'binary data is not accepted' }] });

    for (const payload of ['a string', 12, true, ['username', 'password']]) {
      expect((await request(s, { command: 'create', module: 'users', payload })).error.message).toBe('Validation failed');
      expect((await request(s, { command: 'list', module: 'users', payload })).error.message).toBe('Invalid list query');
    }

    const longKey = 'k'.repeat(5000);
    const r7 = await request(s, { command: 'list', module: 'users', [longKey]: 1 });
    expect(r7.error.details[0].path.length).toBeLessThan(100);

    expect(({} as Json).polluted).toBeUndefined();
    expect(({} as Json).admin).toBeUndefined();
    expect(s.connected).toBe(true);
    expect(await request(s, { command: 'list', module: 'version' })).toMatchObject({ name: 'switchboard' });
    expect(t.app.context.db.collection('users').all().length).toBe(userCount);
    expect(dbFile()).toBe(before);
  });

  it('drops a connection whose message exceeds the size limit, and keeps serving others', async () => {
    const s = await connectWith(adminToken);
    const other = await connectWith(adminToken);
    const gone = disconnected(s);
    s.emit('request', { command: 'create', module: 'users', requestId: 'too-big', payload: { username: 'b'.repeat(1_100_000) } });
    expect(await gone).toBe('transport close');
    expect(await request(other, { command: 'list', module: 'version' })).toMatchObject({ name: 'switchboard' });
  });

  it('limits requests per socket with an error reply, then serves again', async () => {
    const s = await connectWith(adminToken);
    const replies = Array.from({ length: 1500 }, (_, i) => once<Json>(s, `burst-${i}`));
    for (let i = 0; i < 1500; i++) s.emit('request', { command: 'list', module: 'version', requestId: `burst-${i}` });
    const all = await Promise.all(replies);
    const limited = all.filter((r) => r.error);
    expect(limited.length).toBeGreaterThan(0);
    expect(all.length - limited.length).toBeGreaterThanOrEqual(200);
    for (const r of limited) expect(r.error).toMatchObject({ message: 'Too many requests', details: [{ path: '', message: 'at most 500 requests per second' }] });
    expect(s.connected).toBe(true);
    // The budget refills: keep asking until a request is served again.
    const served = await until('a request served again', async () => {
      const r = await request(s, { command: 'list', module: 'version' });
      return r.name ? r : false;
    }, 10_000);
    expect(served).toMatchObject({ name: 'switchboard' });
  });

  it('never delivers one client’s replies to another', async () => {
    const a = await connectWith(adminToken);
    const { token } = await t.createUser('sock-other', 'viewer');
    const b = await connectWith(token);
    const seenByB: Json[] = [];
    b.on('only-a', (r: Json) => seenByB.push(r));
    // The same requestId on both sockets: each gets its own answer, once.
    const [ra, rb] = await Promise.all([
      request(a, { command: 'list', module: 'users', requestId: 'shared-id' }),
      request(b, { command: 'list', module: 'users', requestId: 'shared-id' }),
    ]);
    expect(ra.items.length).toBeGreaterThan(0);
    expect(rb).toMatchObject({ error: { message: 'Only admins may list users', details: [] } });
    expect(await request(a, { command: 'list', module: 'version', requestId: 'only-a' })).toMatchObject({ name: 'switchboard' });
    // B's next reply comes after anything the server might have sent B for A's request.
    await request(b, { command: 'list', module: 'version' });
    expect(seenByB).toEqual([]);
  });
});

describe('status topics', () => {
  it('emits a domain event under <domain>:<event>, <domain>:* and nestmtx:* to every authenticated socket', async () => {
    const admin = await connectWith(adminToken);
    const { token } = await t.createUser('topic-viewer', 'viewer');
    const viewer = await connectWith(token);
    const cases = [
      { domain: 'camera', event: 'notReady', entity: 'nestmtx-test-cam', details: { reason: 'capture exited' } },
      { domain: 'credentials', event: 'reauthenticated', entity: 'nestmtx-test-cred', details: { expires_at: null } },
      { domain: 'monitor', event: 'commandDone', entity: 'nestmtx-test-mon', details: { monitor_id: 'm1', command: 'start', by: null } },
    ] as const;
    for (const c of cases) {
      const mine = (p: Json) => p.entity === c.entity && p.event === c.event;
      const waits = [admin, viewer].flatMap((s) => [`${c.domain}:${c.event}`, `${c.domain}:*`, 'nestmtx:*'].map((name) => waitFor(s, name, mine)));
      const published = publishEvent(t.app.context.bus, c);
      const got = await Promise.all(waits);
      for (const p of got) expect(p).toEqual({ domain: c.domain, entity: c.entity, event: c.event, details: c.details, at: published.at });
    }
  });

  it('does not emit events of other domains', async () => {
    const s = await connectWith(adminToken);
    const first = waitFor(s, 'nestmtx:*', (p) => typeof p.entity === 'string' && p.entity.startsWith('order-'));
    t.app.context.bus.publish('lab', 'order-lab', 'state', { owner: 'nobody', state: 1, nodes: [] });
    t.app.context.bus.publish('user', 'order-user', 'created', { username: 'order-user', role: 'viewer' });
    t.app.context.bus.publish('camera', 'order-cam', 'demand', { readerType: 'test', readerId: 'order' });
    expect((await first).entity).toBe('order-cam');
  });
});

describe('logs', () => {
  it('replays recent lines on connect and streams live lines, with NestMTX levels and no secrets', async () => {
    const logger = t.app.context.logger.child({ service: 'nestmtx-test' });
    logger.info('before-connect marker');
    const s = client({ auth: { token: adminToken } });
    const lines: Json[] = [];
    s.on('log', (l: Json) => lines.push(l));
    await connected(s);
    // The replay is sent before any reply, so once a reply is in, the replay is complete.
    await request(s, { command: 'list', module: 'version' });
    const replayed = lines.find((l) => l.msg === 'before-connect marker');
    expect(replayed).toEqual({ hostname: expect.any(String), level: 40, msg: 'before-connect marker', pid: process.pid, service: 'nestmtx-test', time: expect.any(Number), timestamp: new Date(replayed!.time).toISOString() });

    const live = waitFor(s, 'log', (l) => l.msg === 'live marker');
    logger.warn({ password: 'hunter2-secret', user: { password: 'hunter2-secret', token: adminToken }, authorization: `Bearer ${adminToken}` }, 'live marker');
    expect(await live).toMatchObject({ level: 50, service: 'nestmtx-test' });
    const error = waitFor(s, 'log', (l) => l.msg === 'error marker');
    logger.error('error marker');
    expect((await error).level).toBe(60);

    // A failed sign-in and a password change are logged somewhere near here; their secrets are not.
    await fetch(`${t.url}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'wrong-hunter2-secret' }) });
    await request(s, { command: 'list', module: 'version' });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain(adminToken);
    expect(lines.filter((l) => l.msg === 'before-connect marker')).toHaveLength(1);
  });

  it('replays at most the last 100 lines', async () => {
    const logger = t.app.context.logger.child({ service: 'nestmtx-test' });
    for (let i = 0; i < 150; i++) logger.debug(`bulk line ${i}`);
    const s = client({ auth: { token: adminToken } });
    const lines: Json[] = [];
    s.on('log', (l: Json) => lines.push(l));
    await connected(s);
    // Replay is sent before anything else, so a reply marks its end.
    await request(s, { command: 'list', module: 'version' });
    const bulk = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('bulk line'));
    expect(lines.length).toBeGreaterThanOrEqual(100);
    expect(bulk.length).toBeLessThanOrEqual(100);
    expect(bulk.at(-1)!.msg).toBe('bulk line 149');
    expect(bulk.map((l) => l.level)).toEqual(bulk.map(() => 30));
  });
});
