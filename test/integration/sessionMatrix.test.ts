// The session matrix: for every protocol that holds a session (HTTP, NestMTX, each Antimony
// namespace, Rotoclear, Altoponix users, an MJPEG stream in progress, a signed URL and the panel's
// live connection) and for each account change (token revoked, token expired, user deleted, role
// lowered from user to viewer): the next action is refused and an open connection is closed or
// downgraded as documented (DOCS.md "Security"). Real server, real clients, loopback only.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { io as connectIo, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

type Change = 'revoked' | 'expired' | 'deleted' | 'lowered';
const CHANGES: Change[] = ['revoked', 'expired', 'deleted', 'lowered'];

interface Account {
  id: string;
  token: string;
}

/** An open connection of one protocol, observed from the client's side. */
interface Probe {
  /** Resolves when the server closed the connection. */
  closed: Promise<unknown>;
  /** The next action after the change: resolves with what the server answered. */
  next(): Promise<unknown>;
  close(): void;
}

interface Row {
  name: string;
  open(u: Account): Promise<Probe>;
  /** What happens when the token ends (revoked, expired, user deleted). */
  ended: 'closed' | 'downgraded';
  /** The next action's answer once the token ended. */
  refusedWhenEnded(answer: unknown): void;
  /** The next action's answer after user → viewer (the connection stays open); null: viewers may still do it. */
  refusedWhenLowered: ((answer: unknown) => void) | null;
}

let t: TestApp;
let adminToken: string;
let cameraId: string;
let monitorId: string;
let users = 0;
const cleanups: (() => void)[] = [];

/** Fails the test instead of hanging when an answer never comes (a bound, not a timing assertion). */
function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function account(): Promise<Account> {
  users += 1;
  return t.createUser(`matrix${users}`, 'user', `matrix-password-${users}`);
}

async function apply(change: Change, u: Account): Promise<void> {
  const ctx = t.app.context;
  switch (change) {
    case 'revoked':
      expect((await t.api('POST', '/api/logout', u.token)).status).toBe(204);
      return;
    case 'expired': {
      const tokenId = ctx.auth.authenticate(u.token)!.tokenId!;
      await ctx.db.collection('tokens').update(tokenId, (r) => ({ ...r, expires_at: new Date(Date.now() - 1000).toISOString() }));
      // What the registry's expiry timer and periodic sweep do, without waiting for them.
      ctx.sessions.sweep();
      return;
    }
    case 'deleted':
      expect((await t.api('DELETE', `/api/users/${u.id}`, adminToken)).status).toBe(200);
      return;
    case 'lowered':
      expect((await t.api('PUT', `/api/users/${u.id}`, adminToken, { role: 'viewer' })).body).toMatchObject({ role: 'viewer' });
      return;
  }
}

// --- clients

function socketIo(path: string, token: string, carrier: 'auth' | 'query' = 'auth'): Promise<Socket> {
  const opts = carrier === 'auth' ? { auth: { token } } : { query: { token } };
  const socket = connectIo(`${t.url}${path}`, { ...opts, transports: ['websocket'], reconnection: false, forceNew: true });
  cleanups.push(() => socket.close());
  return within(
    new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    }),
    `connect ${path}`,
  );
}

const disconnectOf = (s: Socket): Promise<string> => new Promise((resolve) => s.once('disconnect', resolve));

function nestRequest(s: Socket, body: Record<string, unknown>): Promise<unknown> {
  const requestId = `r${Math.random().toString(16).slice(2)}`;
  return within(new Promise((resolve) => {
    s.once(requestId, resolve);
    s.emit('request', { ...body, requestId });
  }), 'nestmtx reply');
}

async function nestmtxProbe(u: Account, carrier: 'auth' | 'query'): Promise<Probe> {
  const s = await socketIo('/', u.token, carrier);
  return {
    closed: disconnectOf(s),
    next: () => (s.connected ? nestRequest(s, { command: 'update', module: 'cameras', entity: cameraId, payload: { controls: { brightness: 40 } } }) : Promise.resolve('disconnected')),
    close: () => s.close(),
  };
}

async function antimonyProbe(u: Account, ns: string, action?: (s: Socket) => Promise<unknown>): Promise<Probe> {
  const s = await socketIo(ns, u.token);
  return {
    closed: disconnectOf(s),
    next: () => (s.connected && action ? action(s) : Promise.resolve(s.connected ? 'connected' : 'disconnected')),
    close: () => s.close(),
  };
}

const labCommand = (s: Socket, data: unknown) => within(s.timeout(15_000).emitWithAck('data', data) as Promise<unknown>, 'lab command ack');

async function userLab(u: Account, deploy: boolean): Promise<string> {
  const yaml = `name: m${users}\ntopology:\n  nodes:\n    cam: {kind: camera, camera: ${cameraId}}\n`;
  const created = await t.api('POST', '/api/labs', u.token, { topology: yaml });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  if (deploy) {
    const s = await socketIo('/lab-commands', u.token);
    expect(await labCommand(s, { labId: id, command: 0 })).toEqual({ payload: null });
    s.close();
  }
  return id;
}

class RotoclearPeer {
  readonly messages: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  /** Resolves when the server signs the client out (it stays connected, anonymous). */
  readonly signedOut: Promise<Record<string, unknown>>;

  constructor(readonly ws: WebSocket) {
    let signedOut: (m: Record<string, unknown>) => void = () => undefined;
    this.signedOut = new Promise((resolve) => (signedOut = resolve));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Record<string, unknown>;
      this.messages.push(m);
      if (m.authenticated === false) signedOut(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async waitFor(pred: (m: Record<string, unknown>) => boolean, from = 0): Promise<Record<string, unknown>> {
    return within(
      (async () => {
        for (;;) {
          const found = this.messages.slice(from).find(pred);
          if (found) return found;
          await new Promise<void>((r) => this.waiters.push(r));
        }
      })(),
      'rotoclear message',
    );
  }
}

async function rotoclearProbe(u: Account): Promise<Probe & { peer: RotoclearPeer }> {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1`);
  cleanups.push(() => ws.terminate());
  await within(new Promise((r) => ws.once('open', r)), 'rotoclear open');
  const peer = new RotoclearPeer(ws);
  ws.send(JSON.stringify({ token: u.token }));
  await peer.waitFor((m) => m.authenticated === true);
  return {
    peer,
    // The document's downgrade: the client is told it is no longer signed in and stays connected.
    closed: peer.signedOut,
    next: async () => {
      const from = peer.messages.length;
      ws.send(JSON.stringify({ brightness: 40 }));
      return peer.waitFor((m) => m.key === 'brightness' || 'info' in m, from);
    },
    close: () => ws.close(),
  };
}

async function altoponixProbe(u: Account): Promise<Probe> {
  const s = connectIo(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: u.token } });
  cleanups.push(() => s.close());
  await within(new Promise<void>((r) => s.once('connect', () => r())), 'altoponix connect');
  const ok = within(new Promise((r) => s.once('query ok', r)), 'query ok');
  s.emit('query', { monitor_id: monitorId });
  await ok;
  return {
    closed: disconnectOf(s),
    next: () => {
      if (!s.connected) return Promise.resolve('disconnected');
      const failed = within(new Promise((r) => s.once('command failed', r)), 'command failed');
      s.emit('command send', { command: 'reboot' });
      return failed;
    },
    close: () => s.close(),
  };
}

/** GET of a stream URL; resolves once the headers are in. */
function httpGet(path: string, token?: string): Promise<IncomingMessage> {
  return within(
    new Promise((resolve, reject) => {
      const req = httpRequest(`${t.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, resolve);
      req.on('error', reject);
      req.end();
      cleanups.push(() => req.destroy());
    }),
    `GET ${path}`,
  );
}

const ended = (res: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    res.resume();
    res.once('close', () => resolve('closed'));
  });

async function mjpegProbe(u: Account, path = `/api/cameras/${cameraId}/stream.mjpeg`): Promise<Probe> {
  const res = await httpGet(path, u.token);
  expect(res.statusCode).toBe(200);
  return {
    closed: ended(res),
    next: async () => {
      const again = await httpGet(path, u.token);
      again.destroy();
      return again.statusCode;
    },
    close: () => res.destroy(),
  };
}

async function signedUrlProbe(u: Account): Promise<Probe> {
  const signed = await t.api('POST', `/api/cameras/${cameraId}/signed-url`, u.token, { path: 'stream.mjpeg', ttl_seconds: 600 });
  expect(signed.status).toBe(200);
  const url = signed.body.url as string;
  expect(url).not.toContain(u.token);
  const res = await httpGet(url);
  expect(res.statusCode).toBe(200);
  return {
    closed: ended(res),
    next: async () => {
      const again = await httpGet(url);
      again.destroy();
      return again.statusCode;
    },
    close: () => res.destroy(),
  };
}

// --- expectations

const nestForbidden = (a: unknown) => expect(a).toMatchObject({ error: { message: 'Changing cameras needs the user role' } });
const gone = (a: unknown) => expect(a).toBe('disconnected');

const ROWS: Row[] = [
  {
    name: 'HTTP API',
    open: async (u) => {
      const put = () => t.api('PUT', `/api/cameras/${cameraId}`, u.token, { controls: { brightness: 45 } });
      expect((await put()).status).toBe(200);
      // HTTP holds no connection: only the next request tells.
      return { closed: Promise.resolve('no connection'), next: async () => (await put()).status, close: () => undefined };
    },
    ended: 'closed',
    refusedWhenEnded: (a) => expect(a).toBe(401),
    refusedWhenLowered: (a) => expect(a).toBe(403),
  },
  {
    name: 'NestMTX socket',
    open: (u) => nestmtxProbe(u, 'query'),
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: nestForbidden,
  },
  {
    name: 'Antimony /status-messages',
    open: (u) => antimonyProbe(u, '/status-messages'),
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: null,
  },
  {
    name: 'Antimony /lab-updates',
    open: (u) => antimonyProbe(u, '/lab-updates'),
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: null,
  },
  {
    name: 'Antimony /lab-commands',
    open: async (u) => {
      const lab = await userLab(u, false);
      return antimonyProbe(u, '/lab-commands', (s) => labCommand(s, { labId: lab, command: 1 }));
    },
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: (a) => expect(a).toMatchObject({ code: 5403 }),
  },
  {
    name: 'Antimony /logs/<labId>',
    open: async (u) => antimonyProbe(u, `/logs/${await userLab(u, true)}`),
    ended: 'closed',
    refusedWhenEnded: gone,
    // The owner still sees the own lab's log as a viewer.
    refusedWhenLowered: null,
  },
  {
    name: 'Rotoclear /api/v1',
    open: rotoclearProbe,
    ended: 'downgraded',
    refusedWhenEnded: (a) => expect(a).toMatchObject({ error: 'Permission denied', key: 'brightness', message: 'Sign in to change brightness' }),
    refusedWhenLowered: (a) => expect(a).toMatchObject({ error: 'Permission denied', key: 'brightness' }),
  },
  {
    name: 'Altoponix user',
    open: altoponixProbe,
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: (a) => expect(a).toEqual({ reason: 'Unauthorized' }),
  },
  {
    name: 'MJPEG stream in progress',
    open: (u) => mjpegProbe(u),
    ended: 'closed',
    refusedWhenEnded: (a) => expect(a).toBe(401),
    // Viewers may watch streams: the stream goes on.
    refusedWhenLowered: null,
  },
  {
    name: 'signed URL',
    open: signedUrlProbe,
    ended: 'closed',
    refusedWhenEnded: (a) => expect(a).toBe(401),
    refusedWhenLowered: null,
  },
  {
    name: "panel's live connection",
    // The panel connects like this (web/src/backend.ts): default namespace, auth.token.
    open: (u) => nestmtxProbe(u, 'auth'),
    ended: 'closed',
    refusedWhenEnded: gone,
    refusedWhenLowered: nestForbidden,
  },
];

beforeAll(async () => {
  t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0 } });
  adminToken = await t.login();
  const cams = await t.api('GET', '/api/cameras', adminToken);
  cameraId = (cams.body.items as { id: string }[])[0]!.id;
  const monitor = await t.api('POST', '/api/monitors', adminToken, { monitor_id: 'matrix-monitor' });
  expect(monitor.status).toBe(201);
  monitorId = 'matrix-monitor';
}, 30_000);

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

afterAll(async () => {
  await t?.stop();
});

describe('session matrix', () => {
  for (const row of ROWS) {
    for (const change of CHANGES) {
      it(`${row.name} × ${change}`, async () => {
        const u = await account();
        const probe = await row.open(u);
        let closed = false;
        void probe.closed.then(() => (closed = true));
        await apply(change, u);
        if (change === 'lowered') {
          const answer = await probe.next();
          if (row.refusedWhenLowered) row.refusedWhenLowered(answer);
          else expect(answer === 'connected' || answer === 200).toBe(true);
          // Judged as a viewer, not dropped (sessions end before the account change is answered).
          if (row.name !== 'HTTP API') expect(closed).toBe(false);
        } else {
          if (row.name !== 'HTTP API') await within(probe.closed, `${row.name} ${row.ended} after ${change}`);
          row.refusedWhenEnded(await probe.next());
        }
        probe.close();
      }, 30_000);
    }
  }

  it('a lowered Rotoclear client is told its new permissions', async () => {
    const u = await account();
    const probe = await rotoclearProbe(u);
    const from = probe.peer.messages.length;
    await apply('lowered', u);
    expect(await probe.peer.waitFor((m) => m.authenticated === true, from)).toMatchObject({ role: 'viewer', permissions: ['read'] });
    probe.close();
  });
});
