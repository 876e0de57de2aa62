// The Altoponix relay with real socket.io-client users and monitors: secure mode (the default)
// and open registration (the document's original flow).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { io, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import { AppError } from '../../src/core/errors.js';
import type { DomainEvent } from '../../src/core/eventBus.js';
import type { MonitorRecord, MonitorView } from '../../src/services/monitors/records.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

/** A socket.io-client connection that records every event it receives, in order. */
class Peer {
  readonly events: { event: string; data: unknown }[] = [];
  private readonly consumed = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  constructor(readonly socket: ClientSocket) {
    socket.onAny((event: string, data: unknown) => this.record(event, data));
    socket.on('disconnect', (reason) => this.record('disconnect', reason));
  }

  private record(event: string, data: unknown): void {
    this.events.push({ event, data });
    for (const w of [...this.waiters]) w();
  }

  of(event: string): unknown[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  /** The next not yet awaited occurrence of `event` (already received or still to come). */
  next(event: string, ms = 5000): Promise<unknown> {
    const n = this.consumed.get(event) ?? 0;
    this.consumed.set(event, n + 1);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        const list = this.of(event);
        if (list.length > n) {
          cleanup();
          resolve(list[n]);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for "${event}" #${n + 1}; got ${JSON.stringify(this.events)}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  emit(event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args);
  }
}

let t: TestApp;
/** The second app, with monitors.open_registration: true. */
let open: TestApp | undefined;
let monitorUrl: string;
let adminToken: string;
let alice: { id: string; token: string };
let bob: { id: string; token: string };
let vera: { id: string; token: string };
const events: DomainEvent<'monitor'>[] = [];
const peers: Peer[] = [];
const M1_KEY = 'm1-secret-key';

async function connect(opts: Partial<ManagerOptions & SocketOptions> = {}, url = monitorUrl): Promise<Peer> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, ...opts });
  const peer = new Peer(socket);
  peers.push(peer);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return peer;
}

async function monitor(monitorId: string, key?: string, url = monitorUrl): Promise<Peer> {
  const p = await connect({}, url);
  p.emit('con', key === undefined ? { monitor_id: monitorId } : { monitor_id: monitorId, key });
  expect(await p.next('con ok')).toEqual({ reason: 'Connection ok' });
  return p;
}

async function user(token: string, monitorId: string): Promise<Peer> {
  const p = await connect({ auth: { token } });
  p.emit('query', { monitor_id: monitorId });
  expect(await p.next('query ok')).toEqual({ reason: 'Query ok' });
  return p;
}

const api = (method: string, path: string, token: string, body?: unknown) => t.api(method, `/api/${path}`, token, body);

const record = (monitorId: string): MonitorRecord => t.app.context.db.collection('monitors').find((r) => r.monitor_id === monitorId)!;
const monitorEvents = (monitorId: string) => events.filter((e) => e.domain === 'monitor' && e.details.monitor_id === monitorId).map((e): Record<string, unknown> => ({ event: e.event, ...e.details }));

beforeAll(async () => {
  t = await startTestApp({ monitors: { command_timeout_seconds: 1 } }, { keepData: true });
  monitorUrl = `http://127.0.0.1:${t.app.ports().monitor}`;
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['monitor']);
  adminToken = await t.login();
  alice = await t.createUser('alice', 'user');
  bob = await t.createUser('bob', 'user');
  vera = await t.createUser('vera', 'viewer');
  for (const body of [
    { monitor_id: 'm1', name: 'Greenhouse', key: M1_KEY },
    { monitor_id: 'm2' },
    { monitor_id: 'm3' },
    { monitor_id: 'm4' },
    { monitor_id: 'm5' },
    { monitor_id: 'm6' },
  ]) {
    expect((await api('POST', 'monitors', adminToken, body)).status).toBe(201);
  }
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.socket.disconnect();
  // Let the server see those disconnects before the next test connects the same monitors.
  for (const running of [t, open]) {
    if (running) await expect.poll(() => running.app.context.monitors.all().every((m) => !m.online && m.users === 0)).toBe(true);
  }
});

afterAll(async () => {
  await t.stop();
  rmSync(t.dataDir, { recursive: true, force: true });
});

describe('altoponix relay: the document flow', () => {
  it('listens on its own port and counts its clients', async () => {
    expect(t.app.ports().monitor).toBeGreaterThan(0);
    expect(t.app.ports().monitor).not.toBe(t.port);
    await connect();
    await expect.poll(() => t.app.context.status.health().clients.altoponix).toBe(1);
  });

  it('con → con ok, query → query ok, command send → command ok + command do, command done → command finish, command error → command failed', async () => {
    const m = await monitor('m1', M1_KEY);
    expect(record('m1').online).toBe(true);
    const u = await user(alice.token, 'm1');

    u.emit('command send', { command: 'pump on' });
    expect(await u.next('command ok')).toEqual({ reason: 'Command ok' });
    expect(await m.next('command do')).toEqual({ command: 'pump on' });
    m.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
    expect(record('m1')).toMatchObject({ last_command: 'pump on', last_result: 'done' });

    u.emit('command send', { command: 'valve open' });
    expect(await u.next('command ok')).toEqual({ reason: 'Command ok' });
    expect(await m.next('command do')).toEqual({ command: 'valve open' });
    m.emit('command error', { reason: 'valve jammed' });
    expect(await u.next('command failed')).toEqual({ reason: 'valve jammed' });
    expect(record('m1')).toMatchObject({ online: true, last_command: 'valve open', last_result: 'failed: valve jammed' });
    expect(record('m1').last_seen).not.toBeNull();

    expect(u.events.map((e) => e.event)).toEqual(['query ok', 'command ok', 'command finish', 'command ok', 'command failed']);
    expect(m.events.map((e) => e.event)).toEqual(['con ok', 'command do', 'command do']);

    m.socket.disconnect();
    await expect.poll(() => record('m1').online).toBe(false);
    expect(monitorEvents('m1')).toEqual([
      { event: 'created', monitor_id: 'm1', auto_registered: false },
      { event: 'online', monitor_id: 'm1' },
      { event: 'command', monitor_id: 'm1', command: 'pump on', by: 'alice' },
      { event: 'commandDone', monitor_id: 'm1', command: 'pump on', by: 'alice' },
      { event: 'command', monitor_id: 'm1', command: 'valve open', by: 'alice' },
      { event: 'commandFailed', monitor_id: 'm1', command: 'valve open', by: 'alice', reason: 'valve jammed' },
      { event: 'offline', monitor_id: 'm1', name: 'Greenhouse', reason: 'Monitor disconnected' },
    ]);
    for (const e of events.filter((x) => x.details.monitor_id === 'm1')) expect(e.entity).toBe(record('m1').id);
  });

  it('works over HTTP long-polling too (the default first transport of browser clients)', async () => {
    const m = await monitor('m3');
    const u = await connect({ transports: ['polling'], query: { token: alice.token } });
    u.emit('query', { monitor_id: 'm3' });
    expect(await u.next('query ok')).toEqual({ reason: 'Query ok' });
    u.emit('command send', { command: 'poll' });
    expect(await m.next('command do')).toEqual({ command: 'poll' });
    m.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
    const refused = await connect({ transports: ['polling'] });
    refused.emit('query', { monitor_id: 'm3' });
    expect(await refused.next('query failed')).toEqual({ reason: 'Unauthorized' });
    expect(await refused.next('disconnect')).toBe('io server disconnect');
  });

  it('accepts the user token from auth.token, query.token and the query payload', async () => {
    await monitor('m2');
    await user(alice.token, 'm2');
    const viaQuery = await connect({ query: { token: bob.token } });
    viaQuery.emit('query', { monitor_id: 'm2' });
    expect(await viaQuery.next('query ok')).toEqual({ reason: 'Query ok' });
    const viaPayload = await connect();
    viaPayload.emit('query', { monitor_id: 'm2', token: alice.token });
    expect(await viaPayload.next('query ok')).toEqual({ reason: 'Query ok' });
    await expect.poll(() => t.app.context.monitors.all().find((m) => m.monitor_id === 'm2')!.users).toBe(3);
  });
});

describe('altoponix relay: refusals', () => {
  async function refusedQuery(peer: Peer, payload: unknown, reason: string): Promise<void> {
    peer.emit('query', payload);
    expect(await peer.next('query failed')).toEqual({ reason });
    expect(await peer.next('disconnect')).toBe('io server disconnect');
  }

  it('query without a token, with a bad token, or for an unknown monitor fails and closes', async () => {
    await refusedQuery(await connect(), { monitor_id: 'm2' }, 'Unauthorized');
    await refusedQuery(await connect({ auth: { token: 'not-a-valid-token-at-all' } }), { monitor_id: 'm2' }, 'Unauthorized');
    await refusedQuery(await connect(), { monitor_id: 'm2', token: 12345 }, 'Unauthorized');
    await refusedQuery(await connect({ auth: { token: alice.token } }), { monitor_id: 'nope' }, 'Unknown monitor');
    await refusedQuery(await connect({ auth: { token: alice.token } }), {}, 'Invalid monitor_id');
  });

  it('con for an unregistered monitor, with a wrong or missing key, or without monitor_id fails and closes; nothing is stored', async () => {
    const before = JSON.stringify(t.app.context.db.collection('monitors').all());
    const cases: [unknown, string][] = [
      [{ monitor_id: 'stranger' }, 'Unknown monitor'],
      [{ monitor_id: 'm1', key: 'wrong-key-123' }, 'Invalid key'],
      [{ monitor_id: 'm1' }, 'Invalid key'],
      [{ monitor_id: 'm1', key: 42 }, 'Invalid key'],
      [{}, 'Invalid monitor_id'],
      [{ monitor_id: 17 }, 'Invalid monitor_id'],
    ];
    for (const [payload, reason] of cases) {
      const p = await connect();
      p.emit('con', payload);
      expect(await p.next('con failed')).toEqual({ reason });
      expect(await p.next('disconnect')).toBe('io server disconnect');
    }
    expect(JSON.stringify(t.app.context.db.collection('monitors').all())).toBe(before);
    expect(events.filter((e) => e.event === 'online' && e.details.monitor_id === 'stranger')).toEqual([]);
  });

  it('a second con with a connected monitor_id fails; the first monitor keeps working', async () => {
    const first = await monitor('m3');
    const second = await connect();
    second.emit('con', { monitor_id: 'm3' });
    expect(await second.next('con failed')).toEqual({ reason: 'monitor_id already registered' });
    expect(await second.next('disconnect')).toBe('io server disconnect');
    const u = await user(alice.token, 'm3');
    u.emit('command send', { command: 'still here?' });
    expect(await first.next('command do')).toEqual({ command: 'still here?' });
    first.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
  });

  it('command send before query fails with "Query first" and the connection lives on', async () => {
    await monitor('m2');
    const p = await connect({ auth: { token: alice.token } });
    p.emit('command send', { command: 'x' });
    expect(await p.next('command failed')).toEqual({ reason: 'Query first' });
    p.emit('query', { monitor_id: 'm2' });
    expect(await p.next('query ok')).toEqual({ reason: 'Query ok' });
  });

  it('commands for an offline monitor fail with "Monitor offline"; a viewer may not send commands', async () => {
    const u = await user(alice.token, 'm4');
    u.emit('command send', { command: 'x' });
    expect(await u.next('command failed')).toEqual({ reason: 'Monitor offline' });
    await monitor('m4');
    const v = await user(vera.token, 'm4');
    v.emit('command send', { command: 'x' });
    expect(await v.next('command failed')).toEqual({ reason: 'Unauthorized' });
    expect(record('m4').last_command).toBeNull();
  });
});

describe('altoponix relay: several users, disconnects, timeouts', () => {
  it('routes each answer to the user who sent the command, one command at a time', async () => {
    const m = await monitor('m5');
    const a = await user(alice.token, 'm5');
    const b = await user(bob.token, 'm5');

    a.emit('command send', { command: 'A1' });
    await a.next('command ok');
    b.emit('command send', { command: 'B1' });
    await b.next('command ok');
    a.emit('command send', { command: 'A2' });
    await a.next('command ok');

    expect(await m.next('command do')).toEqual({ command: 'A1' });
    expect(m.of('command do')).toHaveLength(1);
    m.emit('command done');
    expect(await a.next('command finish')).toEqual({ reason: 'Command finish' });
    expect(await m.next('command do')).toEqual({ command: 'B1' });
    m.emit('command error', { reason: 'B1 refused' });
    expect(await b.next('command failed')).toEqual({ reason: 'B1 refused' });
    expect(await m.next('command do')).toEqual({ command: 'A2' });
    m.emit('command done');
    expect(await a.next('command finish')).toEqual({ reason: 'Command finish' });

    // A round trip on each socket: anything misrouted would have arrived before it.
    for (const p of [a, b]) {
      p.emit('command send', { command: 5 });
      expect(await p.next('command failed')).toEqual({ reason: 'Invalid command' });
    }
    expect(a.events.map((e) => e.event)).toEqual(['query ok', 'command ok', 'command ok', 'command finish', 'command finish', 'command failed']);
    expect(b.events.map((e) => [e.event, e.data])).toEqual([
      ['query ok', { reason: 'Query ok' }],
      ['command ok', { reason: 'Command ok' }],
      ['command failed', { reason: 'B1 refused' }],
      ['command failed', { reason: 'Invalid command' }],
    ]);
    expect(record('m5')).toMatchObject({ last_command: 'A2', last_result: 'done' });
  });

  it('a monitor that disconnects fails every pending command and goes offline', async () => {
    const m = await monitor('m6');
    const a = await user(alice.token, 'm6');
    const b = await user(bob.token, 'm6');
    a.emit('command send', { command: 'first' });
    await a.next('command ok');
    b.emit('command send', { command: 'second' });
    await b.next('command ok');
    await m.next('command do');
    m.socket.disconnect();
    expect(await a.next('command failed')).toEqual({ reason: 'Monitor disconnected' });
    expect(await b.next('command failed')).toEqual({ reason: 'Monitor disconnected' });
    expect(record('m6')).toMatchObject({ online: false, last_result: 'failed: Monitor disconnected' });
    a.emit('command send', { command: 'again' });
    expect(await a.next('command failed')).toEqual({ reason: 'Monitor offline' });
    expect(monitorEvents('m6').filter((e) => e.event === 'commandFailed').map((e) => e.command)).toEqual(['first', 'second']);
  });

  it('a command the monitor never answers fails with "timeout" and the next one goes out', async () => {
    const m = await monitor('m2');
    const u = await user(alice.token, 'm2');
    u.emit('command send', { command: 'slow' });
    expect(await m.next('command do')).toEqual({ command: 'slow' });
    expect(await u.next('command failed')).toEqual({ reason: 'timeout' });
    expect(record('m2').last_result).toBe('failed: timeout');
    u.emit('command send', { command: 'fast' });
    expect(await m.next('command do')).toEqual({ command: 'fast' });
    m.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
  });

  it('a user that disconnects is detached; the monitor still gets the command and its answer is absorbed', async () => {
    const m = await monitor('m3');
    const u = await user(alice.token, 'm3');
    const view = () => t.app.context.monitors.all().find((x) => x.monitor_id === 'm3')!;
    expect(view().users).toBe(1);
    u.emit('command send', { command: 'bye' });
    await u.next('command ok');
    await m.next('command do');
    u.socket.disconnect();
    await expect.poll(() => view().users).toBe(0);
    m.emit('command done');
    await expect.poll(() => record('m3').last_result).toBe('done');
    expect(m.socket.connected).toBe(true);
  });

  it('the add-on sends commands through the same queue (sendCommand)', async () => {
    const relay = t.app.context.monitorRelay;
    const id = record('m4').id;
    await expect(relay.sendCommand(SYSTEM_ACTOR, id, 'lights on')).rejects.toMatchObject({ kind: 'unavailable', message: 'Monitor offline' });
    const m = await monitor('m4');
    const done = relay.sendCommand(SYSTEM_ACTOR, id, 'lights on');
    expect(await m.next('command do')).toEqual({ command: 'lights on' });
    m.emit('command done');
    expect(await done).toEqual({ status: 'done' });
    const failed = relay.sendCommand(SYSTEM_ACTOR, id, 'lights off');
    await m.next('command do');
    m.emit('command error', { reason: 'relay stuck' });
    const err = await failed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ message: 'Command failed: relay stuck' });
    await expect(relay.sendCommand(SYSTEM_ACTOR, id, '')).rejects.toMatchObject({ kind: 'validation', message: 'Invalid command' });
    expect(monitorEvents('m4').filter((e) => e.event === 'command').map((e) => e.by)).toEqual(['switchboard', 'switchboard']);
  });

  it('a user whose token is revoked loses the connection', async () => {
    await monitor('m2');
    const carol = await t.createUser('carol', 'user');
    const u = await user(carol.token, 'm2');
    expect((await api('PUT', `users/${carol.id}`, adminToken, { password: 'another-password' })).status).toBe(200);
    expect(await u.next('disconnect')).toBe('io server disconnect');
  });

  it('a user demoted to viewer after query may no longer send commands', async () => {
    await monitor('m2');
    const dave = await t.createUser('dave', 'user');
    const u = await user(dave.token, 'm2');
    expect((await api('PUT', `users/${dave.id}`, adminToken, { role: 'viewer' })).status).toBe(200);
    u.emit('command send', { command: 'x' });
    expect(await u.next('command failed')).toEqual({ reason: 'Unauthorized' });
    expect(u.socket.connected).toBe(true);
  });

  it('deleting an online monitor drops it and fails its pending commands', async () => {
    expect((await api('POST', 'monitors', adminToken, { monitor_id: 'doomed' })).status).toBe(201);
    const m = await monitor('doomed');
    const u = await user(alice.token, 'doomed');
    u.emit('command send', { command: 'x' });
    await m.next('command do');
    expect((await api('DELETE', `monitors/${record('doomed').id}`, adminToken)).status).toBe(200);
    expect(await u.next('command failed')).toEqual({ reason: 'Monitor removed' });
    expect(await m.next('disconnect')).toBe('io server disconnect');
    u.emit('command send', { command: 'y' });
    expect(await u.next('command failed')).toEqual({ reason: 'Unknown monitor' });
  });
});

describe('altoponix relay: hostile input', () => {
  it('bad command payloads get "command failed" with a reason; the connection lives on and nothing is stored', async () => {
    const m = await monitor('m2');
    const u = await user(alice.token, 'm2');
    const before = record('m2').last_command;
    const cases: [unknown[], string][] = [
      [[], 'Invalid command'],
      [[null], 'Invalid command'],
      [['pump on'], 'Invalid command'],
      [[42], 'Invalid command'],
      [[['pump on']], 'Invalid command'],
      [[{}], 'Invalid command'],
      [[{ command: '' }], 'Invalid command'],
      [[{ command: { nested: true } }], 'Invalid command'],
      [[{ command: 'x'.repeat(1025) }], 'Command too long'],
      [[JSON.parse('{"__proto__": {"command": "polluted"}}')], 'Invalid command'],
    ];
    for (const [args, reason] of cases) {
      u.emit('command send', ...args);
      expect(await u.next('command failed')).toEqual({ reason });
    }
    expect(record('m2').last_command).toBe(before);
    expect(m.of('command do')).toEqual([]);
    u.emit('command send', { command: 'x'.repeat(1024) });
    expect(await m.next('command do')).toEqual({ command: 'x'.repeat(1024) });
    m.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
  });

  it('bad query and con payloads are refused with a reason', async () => {
    for (const payload of ['m2', 7, null, ['m2'], { monitor_id: '' }, { monitor_id: 'x'.repeat(200) }, { monitor_id: 'a\u0000b' }]) {
      const p = await connect({ auth: { token: alice.token } });
      p.emit('query', payload);
      expect(await p.next('query failed')).toEqual({ reason: 'Invalid monitor_id' });
      const c = await connect();
      c.emit('con', payload);
      expect(await c.next('con failed')).toEqual({ reason: 'Invalid monitor_id' });
    }
  });

  it('stray or malformed monitor answers are absorbed; command error without a reason still fails the command', async () => {
    const m = await monitor('m2');
    m.emit('command done');
    m.emit('command error', 'oops');
    const u = await user(alice.token, 'm2');
    u.emit('command done');
    u.emit('command error', { reason: 'not a monitor' });
    u.emit('command send', { command: 'go' });
    expect(await m.next('command do')).toEqual({ command: 'go' });
    m.emit('command error', { reason: 99 });
    expect(await u.next('command failed')).toEqual({ reason: 'Command error' });
    u.emit('command send', { command: 'go again' });
    await m.next('command do');
    m.emit('command error', { reason: 'r'.repeat(5000) });
    expect(await u.next('command failed')).toEqual({ reason: 'r'.repeat(1024) });
    expect(m.socket.connected && u.socket.connected).toBe(true);
  });

  it('a socket cannot be both monitor and user', async () => {
    const m = await monitor('m2');
    m.emit('query', { monitor_id: 'm2', token: alice.token });
    expect(await m.next('query failed')).toEqual({ reason: 'Already connected as a monitor' });
    expect(await m.next('disconnect')).toBe('io server disconnect');
    await expect.poll(() => record('m2').online).toBe(false);
    const u = await user(alice.token, 'm2');
    u.emit('con', { monitor_id: 'm3' });
    expect(await u.next('con failed')).toEqual({ reason: 'Already connected as a user' });
  });

  it('a flood is answered with "Too many requests" and the connection lives on', async () => {
    const p = await connect({ auth: { token: alice.token } });
    for (let i = 0; i < 60; i++) p.emit('command send', { command: 'x' });
    for (let i = 0; i < 60; i++) await p.next('command failed');
    const reasons = p.of('command failed') as { reason: string }[];
    expect(reasons.filter((r) => r.reason === 'Too many requests').length).toBeGreaterThan(0);
    expect(reasons.filter((r) => r.reason === 'Query first').length).toBeGreaterThan(0);
    expect(p.socket.connected).toBe(true);
  });

  it('an oversized message closes only that transport; the server keeps serving', async () => {
    const p = await connect({ auth: { token: alice.token } });
    p.emit('command send', { command: 'x'.repeat(200_000) });
    expect(await p.next('disconnect')).toBe('transport close');
    await monitor('m2');
    await user(alice.token, 'm2');
  });
});

describe('altoponix relay: stored state', () => {
  it('db.json matches what happened and never holds a key', async () => {
    const views: MonitorView[] = t.app.context.monitors.all();
    expect(views.every((v) => !v.online)).toBe(true);
    await t.app.context.db.flush();
    const onDisk = JSON.parse(readFileSync(join(t.dataDir, 'db.json'), 'utf8')) as { monitors: MonitorRecord[] };
    const m1 = onDisk.monitors.find((r) => r.monitor_id === 'm1')!;
    expect(m1).toMatchObject({ name: 'Greenhouse', online: false, last_command: 'valve open', last_result: 'failed: valve jammed', auto_registered: false });
    expect(m1.key_hash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(onDisk)).not.toContain(M1_KEY);
    expect(onDisk.monitors.find((r) => r.monitor_id === 'm5')).toMatchObject({ last_command: 'A2', last_result: 'done' });
    expect(onDisk.monitors.find((r) => r.monitor_id === 'doomed')).toBeUndefined();
    expect(onDisk.monitors.find((r) => r.monitor_id === 'stranger')).toBeUndefined();
  });
});

describe('altoponix relay: a leaked monitor key, as an attacker uses it', () => {
  it('changing the key cuts the impostor off at once; it gets no more commands and the real monitor gets in', async () => {
    const created = await api('POST', 'monitors', adminToken, { monitor_id: 'garage', key: 'leaked-key-1' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const impostor = await monitor('garage', 'leaked-key-1');
    const u = await user(alice.token, 'garage');
    u.emit('command send', { command: 'open garage' });
    expect(await u.next('command ok')).toEqual({ reason: 'Command ok' });
    expect(await impostor.next('command do')).toEqual({ command: 'open garage' });

    const changed = await api('PUT', `monitors/${id}`, adminToken, { key: 'fresh-key-22' });
    expect(changed.status).toBe(200);
    // The command the impostor held fails, the monitor is offline, and the impostor is disconnected.
    expect(await u.next('command failed')).toEqual({ reason: 'Monitor key changed' });
    expect(await impostor.next('disconnect')).toBe('io server disconnect');
    expect(monitorEvents('garage')).toContainEqual(expect.objectContaining({ event: 'offline', reason: 'Monitor key changed' }));
    // Its fake "done" (were it still able to send one) has nothing to answer; a new command does not reach it.
    impostor.emit('command done');
    u.emit('command send', { command: 'open garage' });
    expect(await u.next('command failed')).toEqual({ reason: 'Monitor offline' });
    expect(impostor.of('command do')).toHaveLength(1);
    // The old key is refused; the real monitor with the new key is accepted and gets the commands.
    const stale = await connect();
    stale.emit('con', { monitor_id: 'garage', key: 'leaked-key-1' });
    expect(await stale.next('con failed')).toEqual({ reason: 'Invalid key' });
    const real = await monitor('garage', 'fresh-key-22');
    u.emit('command send', { command: 'close garage' });
    expect(await u.next('command ok')).toEqual({ reason: 'Command ok' });
    expect(await real.next('command do')).toEqual({ command: 'close garage' });
    real.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
    // A change that leaves the key alone (the name) keeps the monitor connected.
    expect((await api('PUT', `monitors/${id}`, adminToken, { name: 'Garage door' })).status).toBe(200);
    u.emit('command send', { command: 'light' });
    expect(await real.next('command do')).toEqual({ command: 'light' });
    real.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
    expect(real.of('disconnect')).toEqual([]);
  });

  it('removing the key or deleting the monitor cuts the connection made with it', async () => {
    const created = await api('POST', 'monitors', adminToken, { monitor_id: 'shed', key: 'leaked-key-2' });
    const id = created.body.id as string;
    const first = await monitor('shed', 'leaked-key-2');
    expect((await api('PUT', `monitors/${id}`, adminToken, { key: null })).status).toBe(200);
    expect(await first.next('disconnect')).toBe('io server disconnect');
    expect(monitorEvents('shed')).toContainEqual(expect.objectContaining({ event: 'offline', reason: 'Monitor key changed' }));

    const second = await monitor('shed');
    const u = await user(alice.token, 'shed');
    expect((await api('DELETE', `monitors/${id}`, adminToken)).status).toBe(200);
    expect(await second.next('disconnect')).toBe('io server disconnect');
    u.emit('command send', { command: 'x' });
    expect(await u.next('command failed')).toEqual({ reason: 'Unknown monitor' });
    expect(t.app.context.sessions.count('altoponix-monitor')).toBe(0);
  });
});

describe('altoponix relay: open registration', () => {
  let url: string;
  const openEvents: DomainEvent<'monitor'>[] = [];
  const openRecord = (monitorId: string) => open!.app.context.db.collection('monitors').find((r) => r.monitor_id === monitorId);

  beforeAll(async () => {
    open = await startTestApp({ monitors: { open_registration: true, command_timeout_seconds: 1 } });
    url = `http://127.0.0.1:${open.app.ports().monitor}`;
    open.app.context.bus.subscribe(openEvents, (e) => openEvents.push(e), ['monitor']);
  });

  afterAll(async () => {
    await open?.stop();
    open = undefined;
  });

  it('any monitor_id registers itself and users need no token', async () => {
    const m = await monitor('free-1', undefined, url);
    expect(openRecord('free-1')).toMatchObject({ name: 'free-1', key_hash: null, auto_registered: true, online: true });
    const u = await connect({}, url);
    u.emit('query', { monitor_id: 'free-1' });
    expect(await u.next('query ok')).toEqual({ reason: 'Query ok' });
    u.emit('command send', { command: 'open valve' });
    expect(await u.next('command ok')).toEqual({ reason: 'Command ok' });
    expect(await m.next('command do')).toEqual({ command: 'open valve' });
    m.emit('command done');
    expect(await u.next('command finish')).toEqual({ reason: 'Command finish' });
    expect(openRecord('free-1')).toMatchObject({ last_command: 'open valve', last_result: 'done' });
    expect(openEvents.map((e) => [e.event, 'by' in e.details ? e.details.by : null])).toEqual([
      ['created', null],
      ['online', null],
      ['command', 'anonymous'],
      ['commandDone', 'anonymous'],
    ]);
  });

  it('a reconnecting monitor keeps its record; a duplicate id is refused', async () => {
    const first = await monitor('free-2', undefined, url);
    const id = openRecord('free-2')!.id;
    const dup = await connect({}, url);
    dup.emit('con', { monitor_id: 'free-2' });
    expect(await dup.next('con failed')).toEqual({ reason: 'monitor_id already registered' });
    first.socket.disconnect();
    await expect.poll(() => openRecord('free-2')!.online).toBe(false);
    await monitor('free-2', undefined, url);
    expect(open!.app.context.db.collection('monitors').filter((r) => r.monitor_id === 'free-2').map((r) => r.id)).toEqual([id]);
  });

  it('two simultaneous con with a new id: exactly one wins and one record is made', async () => {
    const a = await connect({}, url);
    const b = await connect({}, url);
    a.emit('con', { monitor_id: 'race' });
    b.emit('con', { monitor_id: 'race' });
    const outcome = await Promise.race([
      a.next('con ok').then(() => [a, b] as const),
      b.next('con ok').then(() => [b, a] as const),
    ]);
    expect(await outcome[1].next('con failed')).toEqual({ reason: 'monitor_id already registered' });
    expect(outcome[0].of('con failed')).toEqual([]);
    expect(open!.app.context.db.collection('monitors').filter((r) => r.monitor_id === 'race')).toHaveLength(1);
  });

  it('a monitor registered with a key still needs it; a bad token and an unknown monitor are still refused', async () => {
    const admin = await open!.login();
    const res = await fetch(`${open!.url}/api/monitors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ monitor_id: 'locked', key: 'locked-key-1' }),
    });
    expect(res.status).toBe(201);
    const c = await connect({}, url);
    c.emit('con', { monitor_id: 'locked' });
    expect(await c.next('con failed')).toEqual({ reason: 'Invalid key' });
    await monitor('locked', 'locked-key-1', url);
    const bad = await connect({ auth: { token: 'definitely-not-a-token' } }, url);
    bad.emit('query', { monitor_id: 'locked' });
    expect(await bad.next('query failed')).toEqual({ reason: 'Unauthorized' });
    const unknown = await connect({}, url);
    unknown.emit('query', { monitor_id: 'never-seen' });
    expect(await unknown.next('query failed')).toEqual({ reason: 'Unknown monitor' });
    expect(await unknown.next('disconnect')).toBe('io server disconnect');
  });
});
