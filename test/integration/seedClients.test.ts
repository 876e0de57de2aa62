// What the seed projects' own web clients do, against a whole server: clients that behave like the
// NestMTX GUI (one socket, autoConnect off, token set on the manager's options after sign-in,
// pino-levelled log page, JSON-string requests) and Antimony's interface (one socket per namespace,
// `backlog` then `data`, a new socket after "Invalid Token" once the token is refreshed). Written from
// the public clients' behaviour, not from their code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manager, io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventMatching, once, startTestApp, type TestApp } from '../helpers/testApp.js';
import { createLab, readLab, tickerNode, topology } from './antimonyHelpers.js';
import { until } from '../helpers/wait.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- replies are read loosely

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.disconnect();
});

/** Like the NestMTX GUI's plugin: websocket first, falling back to polling-first after a failed connect. */
function nestmtxGui(t: TestApp): Socket {
  const socket = io(t.url, { transports: ['websocket', 'polling'], autoConnect: false, forceNew: true });
  socket.on('connect_error', () => {
    socket.io.opts.transports = ['polling', 'websocket'];
  });
  open.push(socket);
  return socket;
}

/** The GUI's reaction to a sign-in or sign-out: disconnect, put the bearer on all three carriers, connect. */
function updateSocketConnection(socket: Socket, bearer: string | null): void {
  socket.disconnect();
  const opts = socket.io.opts as typeof socket.io.opts & { auth?: Record<string, unknown> };
  if (bearer) {
    opts.extraHeaders = { Authorization: `Bearer ${bearer}` };
    opts.auth = { token: bearer };
    opts.query = { token: bearer };
  } else {
    opts.extraHeaders = {};
    delete opts.auth;
    opts.query = {};
  }
  socket.connect();
}

/** The outcome of the next connection attempt. */
function nextConnect(socket: Socket): Promise<'connected' | Error> {
  return new Promise((resolve) => {
    const ok = () => {
      socket.off('connect_error', bad);
      resolve('connected');
    };
    const bad = (err: Error) => {
      socket.off('connect', ok);
      resolve(err);
    };
    socket.once('connect', ok);
    socket.once('connect_error', bad);
  });
}

/** A GUI that has signed in. */
async function signedInGui(t: TestApp, bearer: string): Promise<Socket> {
  const socket = nestmtxGui(t);
  const outcome = nextConnect(socket);
  updateSocketConnection(socket, bearer);
  expect(await outcome).toBe('connected');
  return socket;
}

/** The GUI's log page files a line under the first of its thresholds (20, 30, … 70) above its level. */
const GUI_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const guiLevel = (level: number) => GUI_LEVEL_NAMES.find((_, i) => level < 20 + 10 * i) ?? 'silent';

const waitForEvent = (s: Socket, event: string, pred: (p: Json) => boolean): Promise<Json> => eventMatching<Json>(s, event, pred);

let seq = 0;
const nextId = () => `seed-${++seq}`;

describe('the NestMTX GUI', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.login();
  });
  afterAll(async () => {
    await t.stop();
  });

  const dbFile = () => readFileSync(join(t.dataDir, 'db.json'), 'utf8');

  it('connects after signing in, following a refused connect without a token', async () => {
    const socket = nestmtxGui(t);
    const first = nextConnect(socket);
    updateSocketConnection(socket, null);
    const refused = await first;
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('Unauthorized');
    // The GUI's connect_error handler switched to polling-first, so the retry starts on polling,
    // where the token arrives in the Authorization header and the query.

    const second = nextConnect(socket);
    updateSocketConnection(socket, admin);
    expect(await second).toBe('connected');
    const requestId = nextId();
    const reply = once<Json>(socket, requestId);
    socket.emit('request', { command: 'list', module: 'version', requestId });
    expect(await reply).toMatchObject({ name: 'switchboard' });
  });

  it('answers a request sent as a JSON string on its requestId', async () => {
    const socket = await signedInGui(t, admin);
    const created = once<Json>(socket, 'json-create');
    socket.emit('request', JSON.stringify({ command: 'create', module: 'users', requestId: 'json-create', payload: { username: 'json-user', password: 'json-password', role: 'viewer' } }));
    const user = await created;
    expect(user).toMatchObject({ username: 'json-user', role: 'viewer' });
    expect(t.app.context.db.collection('users').get(user.id as string)).toMatchObject({ username: 'json-user' });

    const read = once<Json>(socket, 'json-read');
    socket.emit('request', JSON.stringify({ command: 'read', module: 'users', entity: user.id, requestId: 'json-read' }));
    expect(await read).toEqual(user);

    // A JSON string whose envelope is wrong is answered on its requestId, like an object would be.
    const wrong = once<Json>(socket, 'json-wrong');
    socket.emit('request', JSON.stringify({ command: 'list', module: 'users', requestId: 'json-wrong', colour: 'blue' }));
    expect(await wrong).toEqual({
      error: { message: 'Invalid Request', details: [{ path: 'colour', message: expect.stringContaining('unknown key') }], context: { requestId: 'json-wrong', command: 'list', module: 'users' } },
    });
  });

  it('answers strings that are not a JSON request on `failure`; the socket lives on and nothing is stored', async () => {
    const socket = await signedInGui(t, admin);
    const before = dbFile();
    for (const text of ['{"command": "list", "module": "users", "requestId": "cut-off"', 'list users', '"a string"', '[1, 2]', '42', 'null', '', '['.repeat(100_000)]) {
      const failure = once<Json>(socket, 'failure');
      socket.emit('request', text);
      expect(await failure, text.slice(0, 40)).toEqual({ message: 'Invalid Request', details: [{ path: '', message: expect.stringContaining('must be an object') }] });
    }
    expect(socket.connected).toBe(true);
    const requestId = nextId();
    const reply = once<Json>(socket, requestId);
    socket.emit('request', JSON.stringify({ command: 'list', module: 'version', requestId }));
    expect(await reply).toMatchObject({ name: 'switchboard' });
    expect(dbFile()).toBe(before);
  });

  it('gets error replies with the request as context, never its payload', async () => {
    const socket = await signedInGui(t, admin);
    const before = dbFile();
    const missing = once<Json>(socket, 'ctx-missing');
    socket.emit('request', { command: 'read', module: 'users', entity: 'no-such-user', requestId: 'ctx-missing' });
    expect(await missing).toEqual({ error: { message: 'User not found', details: [], context: { requestId: 'ctx-missing', command: 'read', module: 'users', entity: 'no-such-user' } } });

    const invalid = once<Json>(socket, 'ctx-invalid');
    socket.emit('request', JSON.stringify({ command: 'create', module: 'users', requestId: 'ctx-invalid', payload: { username: 'x y', password: 'secret-context-pw' } }));
    const reply = await invalid;
    expect(reply.error.message).toBe('Validation failed');
    expect(reply.error.context).toEqual({ requestId: 'ctx-invalid', command: 'create', module: 'users' });
    expect(JSON.stringify(reply)).not.toContain('secret-context-pw');

    // Fields that are not short strings are left out of the context, not echoed back.
    const odd = once<Json>(socket, 'ctx-odd');
    socket.emit('request', { command: 'read', module: { evil: true }, entity: 'e'.repeat(5000), requestId: 'ctx-odd' });
    expect((await odd).error.context).toEqual({ requestId: 'ctx-odd', command: 'read' });

    // Without a requestId there is no request to give as context.
    const failure = once<Json>(socket, 'failure');
    socket.emit('request', { command: 'list', module: 'users' });
    expect(await failure).toEqual({ message: 'Invalid Request', details: [{ path: 'requestId', message: expect.any(String) }] });
    expect(dbFile()).toBe(before);
  });

  it('hears a status event under <domain>:<event>, <domain>:*, the bare <event> and nestmtx:*', async () => {
    const socket = await signedInGui(t, admin);
    const cameraId = t.app.context.cameras!.all()[0]!.id;
    const mine = (p: Json) => p.entity === cameraId && p.event === 'updated' && p.details?.changes !== undefined;
    const names = ['camera:updated', 'camera:*', 'updated', 'nestmtx:*'];
    const heard = names.map((name) => waitForEvent(socket, name, mine));
    const requestId = nextId();
    const reply = once<Json>(socket, requestId);
    socket.emit('request', { command: 'update', module: 'cameras', entity: cameraId, payload: { controls: { brightness: 61 } }, requestId });
    expect((await reply).controls).toMatchObject({ brightness: 61 });
    const payloads = await Promise.all(heard);
    for (const p of payloads) expect(p).toEqual({ domain: 'camera', entity: cameraId, event: 'updated', details: payloads[0]!.details, at: expect.any(String) });
  });

  it('never hears a status event under a bare name the socket already uses (log, failure, …)', async () => {
    const socket = await signedInGui(t, admin);
    const logs: Json[] = [];
    socket.on('log', (l: Json) => logs.push(l));
    const failures: Json[] = [];
    socket.on('failure', (f: Json) => failures.push(f));
    const heard = [waitForEvent(socket, 'camera:log', (p) => p.entity === 'seed-cam'), waitForEvent(socket, 'camera:failure', (p) => p.entity === 'seed-cam')];
    // No status domain has such an event today (the bus's types say so); this guards names added later.
    const publish = t.app.context.bus.publish.bind(t.app.context.bus) as (domain: string, entity: string, event: string, details: object) => unknown;
    publish('camera', 'seed-cam', 'log', {});
    publish('camera', 'seed-cam', 'failure', {});
    await Promise.all(heard);
    // Replies come in order after anything sent before them.
    const requestId = nextId();
    const reply = once<Json>(socket, requestId);
    socket.emit('request', { command: 'list', module: 'version', requestId });
    await reply;
    expect(logs.filter((l) => l.entity === 'seed-cam')).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('gets the document’s log levels by default, which the GUI would file one level too high', async () => {
    const logger = t.app.context.logger.child({ service: 'seed-test' });
    const socket = await signedInGui(t, admin);
    const live = waitForEvent(socket, 'log', (l) => l.msg === 'document-scale info');
    logger.info('document-scale info');
    const line = await live;
    expect(line.level).toBe(40);
    expect(guiLevel(line.level as number)).toBe('warn');
  });
});

describe('the NestMTX GUI with nestmtx.log_levels: pino', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ nestmtx: { log_levels: 'pino' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('files every level where the GUI expects it, replayed and live', async () => {
    const logger = t.app.context.logger.child({ service: 'seed-test' });
    logger.info('replayed info');
    const socket = nestmtxGui(t);
    const lines: Json[] = [];
    socket.on('log', (l: Json) => lines.push(l));
    const outcome = nextConnect(socket);
    updateSocketConnection(socket, await t.login());
    expect(await outcome).toBe('connected');
    const replayed = await until('the replayed line', () => lines.find((l) => l.msg === 'replayed info'));
    expect(replayed).toMatchObject({ level: 30, service: 'seed-test', pid: process.pid });
    expect(guiLevel(replayed.level as number)).toBe('info');

    const cases = [
      ['debug', 20],
      ['info', 30],
      ['warn', 40],
      ['error', 50],
      ['fatal', 60],
    ] as const;
    for (const [method, level] of cases) {
      const live = waitForEvent(socket, 'log', (l) => l.msg === `live ${method}`);
      logger[method](`live ${method}`);
      const line = await live;
      expect(line.level).toBe(level);
      expect(guiLevel(line.level as number)).toBe(method);
    }
  });

  it('lets one client keep the document’s scale (auth.log_levels), as the web panel does', async () => {
    const logger = t.app.context.logger.child({ service: 'seed-test' });
    const token = await t.login();
    const panel = io(t.url, { transports: ['websocket'], forceNew: true, reconnection: false, autoConnect: false, auth: { token, log_levels: 'document' } });
    open.push(panel);
    const panelConnected = nextConnect(panel);
    panel.connect();
    expect(await panelConnected).toBe('connected');
    const gui = await signedInGui(t, token);
    const atPanel = waitForEvent(panel, 'log', (l) => l.msg === 'both scales');
    const atGui = waitForEvent(gui, 'log', (l) => l.msg === 'both scales');
    logger.info('both scales');
    expect((await atPanel).level).toBe(40);
    expect((await atGui).level).toBe(30);
  });
});

describe('Antimony’s interface', () => {
  let t: TestApp;
  let owner: { id: string; token: string };
  const managers: Manager[] = [];
  beforeAll(async () => {
    t = await startTestApp({ labs: { allow_exec: true } });
    // An admin: the lab runs an exec node, which only admins may deploy.
    owner = await t.createUser('seed-owner', 'admin', 'seed-owner-password');
  });
  afterEach(() => {
    for (const m of managers.splice(0)) m.engine?.close();
  });
  afterAll(async () => {
    await t.stop();
  });

  /**
   * The interface's namespace subscription: websocket only, `auth.token`, `backlog` lines then
   * `data` lines into one callback; on "Invalid Token" it refreshes the token and subscribes anew.
   */
  function subscribe(ns: string, getToken: () => string, refreshToken: () => Promise<void>, onLine: (line: string) => void, onError: (e: Error) => void): void {
    const manager = new Manager(t.url, { transports: ['websocket'] });
    managers.push(manager);
    const socket = manager.socket(ns, { auth: { token: getToken() } });
    open.push(socket);
    socket.on('connect_error', (e) => {
      if (e.message === 'Invalid Token') {
        void refreshToken().then(() => subscribe(ns, getToken, refreshToken, onLine, onError));
        return;
      }
      onError(e);
    });
    socket.on('backlog', (lines: string[]) => {
      for (const line of lines) onLine(line);
    });
    socket.on('data', onLine);
    socket.connect();
  }

  it('finds a node’s log namespace through its containerId, and resubscribes after a refused connect with an expired token', async () => {
    const lab = await createLab(t, owner.token, topology('seed-lab', tickerNode('ticker', 'tick', 50)));
    expect(lab.nodes).toEqual([{ name: 'ticker', kind: 'exec', state: -1, containerId: 'ticker' }]);
    const commands = io(`${t.url}/lab-commands`, { transports: ['websocket'], forceNew: true, auth: { token: owner.token } });
    open.push(commands);
    expect(await commands.timeout(15_000).emitWithAck('data', JSON.stringify({ labId: lab.id, command: 0 }))).toEqual({ payload: null });

    const running = await readLab(t, owner.token, lab.id);
    const node = running.nodes[0] as unknown as { name: string; state: number; containerId: string };
    expect(node).toMatchObject({ state: 1, containerId: 'ticker' });
    // The same view in a list and over the NestMTX socket.
    const listed = await t.api('GET', '/api/labs', owner.token);
    expect((listed.body.items as Json[]).find((l) => l.id === lab.id)!.nodes).toEqual(running.nodes);

    // The session's token has expired by the time the log dialog opens.
    let token = await t.login('seed-owner', 'seed-owner-password');
    const tokenId = t.app.context.auth.authenticate(token)!.tokenId!;
    await t.app.context.db.collection('tokens').update(tokenId, (r) => ({ ...r, expires_at: new Date(Date.now() - 1000).toISOString() }));
    let refreshed = 0;
    const lines: string[] = [];
    const errors: Error[] = [];
    subscribe(
      `/logs/${lab.id}/${node.containerId}`,
      () => token,
      async () => {
        refreshed += 1;
        token = await t.login('seed-owner', 'seed-owner-password');
      },
      (line) => lines.push(line),
      (e) => errors.push(e),
    );
    await until('backlog and live lines', () => lines.includes('tick start') && lines.some((l) => /^tick \d+$/.test(l)));
    expect(refreshed).toBe(1);
    expect(errors).toEqual([]);

    expect(await commands.timeout(15_000).emitWithAck('data', { labId: lab.id, command: 1 })).toEqual({ payload: null });
  });
});
