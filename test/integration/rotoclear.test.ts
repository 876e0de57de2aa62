// The Rotoclear /api/v1 WebSocket against a whole server (simulated vivid cameras), with real `ws` clients.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RotoclearServer } from '../../src/protocols/rotoclear/rotoclearServer.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';
import { elapse, until } from '../helpers/wait.js';

type Msg = Record<string, unknown>;

/** A real ws client that queues what it receives and lets a test wait for a matching message. */
class Peer {
  readonly received: Msg[] = [];
  private readonly queue: Msg[] = [];
  private waiter: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void } | null = null;
  closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      this.received.push(m);
      if (this.waiter?.pred(m)) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(m);
      } else this.queue.push(m);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static async open(url: string, opts: WebSocket.ClientOptions = {}): Promise<{ peer: Peer; state: Msg }> {
    const peer = new Peer(new WebSocket(url, opts));
    peers.push(peer);
    const state = await peer.next();
    return { peer, state };
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message (matching pred), skipping and dropping earlier non-matching ones. */
  next(pred: (m: Msg) => boolean = () => true, ms = 5000): Promise<Msg> {
    while (this.queue.length) {
      const m = this.queue.shift()!;
      if (pred(m)) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a message')), ms);
      this.waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      };
    });
  }

  /** Sends and returns its reply, skipping broadcasts that arrive meanwhile. */
  async ask(message: unknown): Promise<Msg> {
    this.send(message);
    return this.next(replyTo(message));
  }

  /** Messages already queued (unread), e.g. to check nothing else arrived before a barrier. */
  drain(): Msg[] {
    return this.queue.splice(0);
  }
}

/** What a reply to a message looks like: a confirmation, an error, an auth answer, or the asked-for keys. */
function replyTo(message: unknown): (m: Msg) => boolean {
  const isAnswer = (m: Msg) => 'info' in m || 'error' in m || 'authenticated' in m;
  if (typeof message !== 'object' || message === null || !('get' in message)) return isAnswer;
  const asked = (message as { get: unknown }).get;
  const keys = Array.isArray(asked) ? asked.map(String) : [String(asked)];
  return (m) => 'error' in m || (Array.isArray(asked) && asked.length === 0 ? Object.keys(m).length > 10 : Object.keys(m).every((k) => keys.includes(k)));
}

let peers: Peer[] = [];
let t: TestApp;
let wsUrl: string;

const http = async (method: string, path: string, token: string, body?: unknown) => {
  const res = await fetch(`${t.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Msg & { items?: Msg[] } };
};

const signIn = async (peer: Peer, username = ADMIN.username, password = ADMIN.password) => {
  const reply = await peer.ask({ username, password });
  await peer.next(); // the full state that follows a sign-in
  return reply;
};

/** Brings the main camera back to a known state between tests. */
const reset = async () => {
  const token = await t.login();
  const { body } = await http('GET', '/api/cameras', token);
  for (const cam of body.items ?? []) {
    if ((cam as { origin: string }).origin === 'manual') await http('DELETE', `/api/cameras/${String(cam.id)}`, token);
  }
  const cams = t.app.context.cameras;
  const main = cams.all()[0]!;
  await cams.update({ kind: 'system', userId: null, username: 'test', role: 'admin' }, main.id, { controls: { brightness: 50, contrast: 50, saturation: 50, resolution: '640x360', fps: 30, 'auto-exposure': true } });
  await cams.update({ kind: 'system', userId: null, username: 'test', role: 'admin' }, main.id, { record: 'off' });
  await cams.update({ kind: 'system', userId: null, username: 'test', role: 'admin' }, main.id, { light: false });
};

beforeAll(async () => {
  t = await startTestApp();
  wsUrl = `ws://127.0.0.1:${t.port}/api/v1`;
});

afterAll(async () => {
  await t.stop();
});

afterEach(async () => {
  for (const p of peers) p.ws.terminate();
  peers = [];
  await reset();
});

describe('Rotoclear /api/v1: the document\'s exchanges', () => {
  it('sends anonymous clients the public state on connect', async () => {
    const { state } = await Peer.open(wsUrl);
    expect(state).toEqual({ 'cam1-light': false, 'cam2-light': false, 'cam1-exists': true, 'cam2-exists': false, 'main-camera': 1, resolution: '640x360', fps: 30, 'pip-mode': 'off', record: 'off' });
  });

  it('authenticates with username/password and confirms a change, then broadcasts it to the sender too', async () => {
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ username: 'admin', password: ADMIN.password })).toEqual({ authenticated: true, username: 'admin', role: 'admin', permissions: ['read', 'write', 'admin'] });
    const full = await peer.next();
    expect(full).toMatchObject({ brightness: 50, contrast: 50, 'jpeg-quality': 80, 'cam1-sensor': 1 });
    expect(await peer.ask({ brightness: 75 })).toEqual({ brightness: 75, info: ['brightness'] });
    expect(await peer.next()).toEqual({ brightness: 75 });
  });

  it('a password sign-in\'s own token ends with the connection; a token the client brought does not', async () => {
    const tokens = () => t.app.context.db.collection('tokens').all().length;
    const before = tokens();
    for (let i = 0; i < 3; i++) {
      const { peer } = await Peer.open(wsUrl);
      await signIn(peer);
      // Signing in again on the same connection replaces its token rather than adding one.
      await signIn(peer);
      expect(tokens()).toBe(before + 1);
      peer.ws.close();
      await expect.poll(tokens).toBe(before);
    }
    const res = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = (await res.json()) as { token: string };
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ token })).toMatchObject({ authenticated: true });
    // The server counts the client gone in the same close handler that ends a sign-in's own token.
    const open = () => t.app.context.status.health().clients.rotoclear;
    const openBefore = open()!;
    peer.ws.close();
    await until('the server to handle the close', () => open() === openBefore - 1);
    expect(t.app.context.auth.authenticate(token)).toMatchObject({ username: ADMIN.username });
  });

  it('authenticates with a session token from POST /api/login', async () => {
    const res = await fetch(`${t.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = (await res.json()) as { token: string };
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ token })).toMatchObject({ authenticated: true, permissions: ['read', 'write', 'admin'] });
  });

  it('applies batch updates; a key the camera lacks gets an error while the others apply', async () => {
    const { peer } = await Peer.open(wsUrl);
    await signIn(peer);
    // vivid has no sharpness control, so the document's batch example applies three of its four keys.
    expect(await peer.ask({ brightness: 75, contrast: 60, saturation: 50, sharpness: 45 })).toEqual({ brightness: 75, contrast: 60, saturation: 50, info: ['brightness', 'contrast', 'saturation'] });
    expect(await peer.next()).toEqual({ error: 'Invalid value', key: 'sharpness', message: 'This camera has no such control' });
    expect(await peer.next()).toEqual({ brightness: 75, contrast: 60 });
  });

  it('answers state queries', async () => {
    const { peer } = await Peer.open(wsUrl);
    await signIn(peer);
    expect(await peer.ask({ get: ['brightness', 'contrast', 'resolution', 'record'] })).toEqual({ brightness: 50, contrast: 50, resolution: '640x360', record: 'off' });
    expect(await peer.ask({ get: 'fps' })).toEqual({ fps: 30 });
    expect(Object.keys(await peer.ask({ get: [] }))).toHaveLength(23);
    // Hue is an image setting of the camera (HTTP, MQTT, panel) but not a key of the document.
    expect(await peer.ask({ hue: 60 })).toEqual({ error: 'Unknown key', key: 'hue', keys: ['hue'], message: 'Not state keys: "hue"' });
  });

  it('handles the recording states, snapshots, light and resolution', async () => {
    const { peer } = await Peer.open(wsUrl);
    await signIn(peer);
    const set = async (m: Msg) => {
      const reply = await peer.ask(m);
      return reply;
    };
    expect(await set({ record: true })).toEqual({ record: 'on', info: ['record'] });
    expect(await set({ record: 'pause' })).toEqual({ record: 'pause', info: ['record'] });
    expect(await set({ record: 'pause_release' })).toEqual({ record: 'on', info: ['record'] });
    expect(await set({ record: false })).toEqual({ record: 'off', info: ['record'] });
    expect(await set({ record: 'on' })).toEqual({ record: 'on', info: ['record'] });
    expect(await set({ record: 'off' })).toEqual({ record: 'off', info: ['record'] });
    expect(await set({ snap: true })).toEqual({ snap: false, info: ['snap'] });
    expect(await peer.next((m) => 'snap' in m)).toEqual({ snap: true });
    expect(await set({ 'cam1-light': true })).toEqual({ 'cam1-light': true, info: ['cam1-light'] });
    expect(await set({ resolution: '1920x1080' })).toMatchObject({ resolution: '1920x1080', info: ['resolution'] });
    expect(t.app.context.cameras.all()[0]!.controls.resolution).toBe('1920x1080');
  });

  it('answers an out-of-range value exactly as the document shows', async () => {
    const { peer } = await Peer.open(wsUrl);
    await signIn(peer);
    expect(await peer.ask({ brightness: 150 })).toEqual({ error: 'Invalid value', key: 'brightness', message: 'Value must be between 0 and 100' });
  });
});

describe('Rotoclear /api/v1: permissions', () => {
  it('anonymous clients read public keys only and change nothing', async () => {
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ brightness: 75 })).toEqual({ error: 'Permission denied', key: 'brightness', message: 'Sign in to change brightness' });
    expect(await peer.ask({ get: ['resolution', 'brightness'] })).toEqual({ resolution: '640x360' });
    expect(await peer.next()).toEqual({ error: 'Permission denied', key: 'brightness', message: 'Sign in to read brightness' });
  });

  it('viewers read everything and change nothing; users change settings', async () => {
    await t.createUser('vera', 'viewer');
    await t.createUser('ulli', 'user');
    const { peer: viewer } = await Peer.open(wsUrl);
    expect(await viewer.ask({ username: 'vera', password: 'password-vera' })).toEqual({ authenticated: true, username: 'vera', role: 'viewer', permissions: ['read'] });
    expect(await viewer.next()).toMatchObject({ brightness: 50 });
    expect(await viewer.ask({ brightness: 10 })).toEqual({ error: 'Permission denied', key: 'brightness', message: 'Changing cameras needs the user role' });
    const { peer: user } = await Peer.open(wsUrl);
    expect(await user.ask({ username: 'ulli', password: 'password-ulli' })).toMatchObject({ authenticated: true, role: 'user', permissions: ['read', 'write'] });
    await user.next();
    expect(await user.ask({ brightness: 10 })).toEqual({ brightness: 10, info: ['brightness'] });
    expect(await viewer.next()).toEqual({ brightness: 10 });
    expect(await user.ask({ 'cam1-exists': false })).toEqual({ error: 'Permission denied', key: 'cam1-exists', message: 'cam1-exists is read-only' });
  });

  it('refuses bad credentials and tokens, and signs out a client whose token is revoked', async () => {
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ username: 'admin', password: 'wrong-password' })).toEqual({ authenticated: false, error: 'Invalid user credentials' });
    expect(await peer.ask({ token: 'not-a-token-at-all-0123456789' })).toEqual({ authenticated: false, error: 'Invalid token' });
    expect(await peer.ask({ username: 'admin' })).toEqual({ authenticated: false, error: 'Invalid user credentials' });
    const { id } = await t.createUser('gone', 'user');
    await signIn(peer, 'gone', 'password-gone');
    expect((await http('DELETE', `/api/users/${id}`, await t.login())).status).toBe(200);
    expect(await peer.next()).toEqual({ authenticated: false, error: 'Token revoked' });
    expect(await peer.ask({ brightness: 20 })).toMatchObject({ error: 'Permission denied', key: 'brightness' });
  });
});

describe('Rotoclear /api/v1: broadcasts', () => {
  it('sends every change to all clients, public keys only to anonymous ones', async () => {
    const signed = await Promise.all([0, 1, 2].map(() => Peer.open(wsUrl).then(({ peer }) => peer)));
    for (const p of signed) await signIn(p);
    const anonymous = await Promise.all([0, 1].map(() => Peer.open(wsUrl).then(({ peer }) => peer)));
    const [sender] = signed;
    expect(await sender!.ask({ brightness: 80, record: true })).toEqual({ brightness: 80, record: 'on', info: ['brightness', 'record'] });
    for (const p of signed) expect(await p.next()).toEqual({ brightness: 80, record: 'on' });
    for (const p of anonymous) expect(await p.next()).toEqual({ record: 'on' });
    expect((await http('GET', '/api/health', await t.login())).body).toMatchObject({ clients: { rotoclear: 5 } });
  });

  it('broadcasts changes made over HTTP (PUT /api/cameras/:id, create) too', async () => {
    const { peer } = await Peer.open(wsUrl);
    await signIn(peer);
    const token = await t.login();
    const id = t.app.context.cameras.all()[0]!.id;
    const put = await http('PUT', `/api/cameras/${id}`, token, { controls: { brightness: 20, resolution: '640x480' }, light: true });
    expect(put.status).toBe(200);
    expect(put.body.controls).toMatchObject({ brightness: 20, resolution: '640x480' });
    expect(await peer.next()).toEqual({ 'cam1-light': true, resolution: '640x480', fps: 25, brightness: 20 });
    const created = await http('POST', '/api/cameras', token, { name: 'Second' });
    expect(created.status).toBe(201);
    expect(await peer.next((m) => 'cam2-exists' in m)).toMatchObject({ 'cam2-exists': true, 'cam2-sensor': 1 });
  });
});

describe('Rotoclear /api/v1: bad input', () => {
  it('answers bad JSON, non-objects, binary frames and hostile keys with errors and stays usable', async () => {
    const { peer } = await Peer.open(wsUrl);
    const badJson = await peer.ask('{"brightness": ');
    expect(badJson).toMatchObject({ error: 'Invalid JSON' });
    expect(String(badJson.message)).toMatch(/^Message is not valid JSON: /);
    expect(await peer.ask('[1,2]')).toEqual({ error: 'Invalid message', message: 'A message must be a JSON object of state keys' });
    expect(await peer.ask('42')).toEqual({ error: 'Invalid message', message: 'A message must be a JSON object of state keys' });
    expect(await peer.ask({})).toEqual({ error: 'Invalid message', message: 'Empty message' });
    expect(await peer.ask('{"__proto__": {"x": 1}}')).toEqual({ error: 'Invalid message', message: '__proto__: key "__proto__" is not allowed' });
    peer.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await peer.next()).toEqual({ error: 'Invalid message', message: 'Binary messages are not supported; send JSON text' });
    expect(await peer.ask({ colour: 1 })).toEqual({ error: 'Unknown key', key: 'colour', keys: ['colour'], message: 'Not state keys: "colour"' });
    expect(await peer.ask({ get: 5 })).toEqual({ error: 'Invalid value', key: 'get', message: 'get takes a state key or an array of up to 64 state keys' });
    expect(await peer.ask({ get: ['fps'] })).toEqual({ fps: 30 });
  });

  it('answers oversized messages with an error; frames beyond the hard limit close only that connection', async () => {
    const { peer } = await Peer.open(wsUrl);
    expect(await peer.ask({ get: ['fps'], pad: 'x'.repeat(70 * 1024) })).toEqual({ error: 'Message too large', message: 'Messages are limited to 65536 bytes' });
    expect(await peer.ask({ get: ['fps'] })).toEqual({ fps: 30 });
    const { peer: huge } = await Peer.open(wsUrl);
    huge.send({ pad: 'x'.repeat(2 * 1024 * 1024) });
    expect(await huge.closed).toBe(1009);
    expect(await peer.ask({ get: ['fps'] })).toEqual({ fps: 30 });
  });

  it('limits each client to 100 messages a second, answering the excess with one error', async () => {
    const { peer } = await Peer.open(wsUrl);
    for (let i = 0; i < 300; i++) peer.send({ get: ['fps'] });
    expect(await peer.next((m) => 'error' in m)).toEqual({ error: 'Rate limit exceeded', message: 'At most 100 messages per second; messages are dropped until the next second' });
    // The window began at the first message, before the error was heard: it ends within a second.
    await elapse(1000, 'messages are dropped until the one-second window ends');
    peer.drain();
    expect(await peer.ask({ get: ['resolution'] })).toEqual({ resolution: '640x360' });
    const answered = peer.received.filter((m) => 'fps' in m).length;
    expect(answered).toBeGreaterThanOrEqual(100);
    expect(answered).toBeLessThanOrEqual(200);
    const { peer: other } = await Peer.open(wsUrl);
    expect(await other.ask({ get: ['fps'] })).toEqual({ fps: 30 });
  });

  it('rejected messages change nothing and broadcast nothing', async () => {
    const cams = t.app.context.cameras;
    const before = structuredClone(t.app.context.db.collection('cameras').all());
    const { peer: watcher } = await Peer.open(wsUrl);
    await signIn(watcher);
    const { peer: anonymous } = await Peer.open(wsUrl);
    await t.createUser('vic', 'viewer');
    const { peer: viewer } = await Peer.open(wsUrl);
    await signIn(viewer, 'vic', 'password-vic');
    const { peer: user } = await Peer.open(wsUrl);
    await signIn(user);
    expect(await anonymous.ask({ brightness: 10, record: true })).toMatchObject({ error: 'Permission denied', key: 'brightness' });
    expect(await viewer.ask({ brightness: 10 })).toMatchObject({ error: 'Permission denied' });
    expect(await user.ask({ brightness: 150 })).toMatchObject({ error: 'Invalid value' });
    expect(await user.ask({ brightness: 'bright' })).toMatchObject({ error: 'Invalid value' });
    expect(await user.ask({ resolution: '1000x1000' })).toMatchObject({ error: 'Invalid value', key: 'resolution' });
    expect(await user.ask({ fps: 60 })).toMatchObject({ error: 'Invalid value', key: 'fps' });
    expect(await user.ask({ 'main-camera': 2 })).toEqual({ error: 'Invalid value', key: 'main-camera', message: 'There is no camera 2' });
    expect(await user.ask({ 'cam2-light': true })).toEqual({ error: 'Unavailable', key: 'cam2-light', message: 'There is no camera 2' });
    expect(await user.ask({ record: 'pause' })).toEqual({ error: 'Invalid value', key: 'record', message: 'Recording is not running' });
    expect(await user.ask('{"brightness": 10')).toMatchObject({ error: 'Invalid JSON' });
    expect(t.app.context.db.collection('cameras').all()).toEqual(before);
    expect(cams.all()[0]!.controls.brightness).toBe(50);
    // A barrier: the first broadcast the watcher sees is this change, so nothing was broadcast before it.
    await user.ask({ contrast: 33 });
    expect(await watcher.next()).toEqual({ contrast: 33 });
  });
});

describe('Rotoclear heartbeat', () => {
  let server: Server;
  let rotoclear: RotoclearServer;

  afterEach(async () => {
    await rotoclear.stop();
    await new Promise((r) => server.close(r));
  });

  it('drops clients that stop answering pings and keeps the others', async () => {
    const ctx = t.app.context;
    server = createServer();
    rotoclear = new RotoclearServer({ server, cameras: ctx.cameras!, auth: ctx.auth, sessions: ctx.sessions, bus: ctx.bus, status: ctx.status, logger: ctx.logger }, { heartbeatMs: 100 });
    await rotoclear.start();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const { peer: healthy } = await Peer.open(url);
    const { peer: dead } = await Peer.open(url, { autoPong: false });
    expect(await dead.closed).toBe(1006);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(await healthy.ask({ get: ['fps'] })).toEqual({ fps: 30 });
  });
});
