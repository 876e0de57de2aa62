// The monitors module and the monitor relay without sockets: a recording MonitorLink stands in for the adapter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../src/auth/records.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { ModuleRegistry } from '../../src/services/modules.js';
import { MAX_AUTO_REGISTERED, MAX_PENDING_PER_MONITOR, MonitorRelay, type MonitorLink } from '../../src/services/monitors/monitorRelay.js';
import { MonitorsService } from '../../src/services/monitors/monitorsService.js';
import { Database } from '../../src/store/database.js';

const admin: Actor = { kind: 'user', userId: 'a', username: 'ada', role: 'admin' };
const viewer: Actor = { kind: 'user', userId: 'v', username: 'vic', role: 'viewer' };
const dirs: string[] = [];
const dbs: Database[] = [];

async function setup(openRegistration = false, dir = mkdtempSync(join(tmpdir(), 'sb-monitors-'))) {
  dirs.push(dir);
  const db = Database.inDir(dir);
  dbs.push(db);
  await db.open();
  const bus = new EventBus();
  const events: DomainEvent[] = [];
  bus.subscribe(events, (e) => events.push(e), ['monitor']);
  const relay = new MonitorRelay(db.collection('monitors'), bus, { openRegistration, commandTimeoutMs: 60_000 });
  await relay.start();
  const service = new MonitorsService(db.collection('monitors'), bus, relay);
  const modules = new ModuleRegistry();
  modules.register(service);
  return { db, bus, events, service, relay, modules, dir };
}

function link() {
  const delivered: string[] = [];
  let closed = false;
  const l: MonitorLink = { deliver: (c) => delivered.push(c), close: () => (closed = true) };
  return { l, delivered, closed: () => closed };
}

afterEach(async () => {
  // State changes are written in the background: let them land before the directory goes.
  for (const db of dbs.splice(0)) await db.flush();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the monitors module and the monitor relay', () => {
  it('serves the module through the registry (the NestMTX request path) without returning keys', async () => {
    const { modules } = await setup();
    const created = (await modules.dispatch(admin, { command: 'create', module: 'monitors', payload: { monitor_id: 'm', key: 'key-key-key' } })) as Record<string, unknown>;
    expect(created).toMatchObject({ monitor_id: 'm', has_key: true });
    expect(Object.keys(created)).not.toContain('key_hash');
    const list = (await modules.dispatch(viewer, { command: 'list', module: 'monitors' })) as { total: number };
    expect(list.total).toBe(1);
    await expect(modules.dispatch(viewer, { command: 'delete', module: 'monitors', entity: created.id })).rejects.toMatchObject({ kind: 'forbidden' });
  });

  it('marks every monitor offline at start (nothing is connected after a restart)', async () => {
    const first = await setup();
    const view = await first.service.create(admin, { monitor_id: 'm' });
    await first.relay.connectMonitor({ monitor_id: 'm' }, '127.0.0.1', link().l);
    await first.db.flush();
    expect(first.db.collection('monitors').get(view.id)!.online).toBe(true);
    const second = await setup(false, first.dir);
    expect(second.db.collection('monitors').get(view.id)!.online).toBe(false);
    expect(second.service.get(view.id)!.online).toBe(false);
  });

  it('refuses to rename an online monitor and closes it when deleted', async () => {
    const { service, relay } = await setup();
    const view = await service.create(admin, { monitor_id: 'm' });
    const mon = link();
    await relay.connectMonitor({ monitor_id: 'm' }, '127.0.0.1', mon.l);
    await expect(service.update(admin, view.id, { monitor_id: 'other' })).rejects.toMatchObject({ kind: 'conflict' });
    expect((await service.update(admin, view.id, { name: 'fine' })).name).toBe('fine');
    const pending = relay.sendCommand(SYSTEM_ACTOR, view.id, 'x').catch((e: unknown) => e);
    await service.delete(admin, view.id);
    expect(await pending).toMatchObject({ kind: 'runtime', message: 'Command failed: Monitor removed' });
    expect(mon.closed()).toBe(true);
  });

  it('limits the pending commands per monitor', async () => {
    const { service, relay } = await setup();
    const view = await service.create(admin, { monitor_id: 'm' });
    await relay.connectMonitor({ monitor_id: 'm' }, '127.0.0.1', link().l);
    const pending = Array.from({ length: MAX_PENDING_PER_MONITOR }, () => relay.sendCommand(SYSTEM_ACTOR, view.id, 'x').catch((e: unknown) => e));
    await expect(relay.sendCommand(SYSTEM_ACTOR, view.id, 'one too many')).rejects.toMatchObject({ kind: 'rate_limited', message: 'Too many pending commands' });
    await relay.stop();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: MAX_PENDING_PER_MONITOR }, () => expect.objectContaining({ message: 'Command failed: Server stopping' })));
  });

  it('checks who may send: viewers may not, unknown ids are 404', async () => {
    const { service, relay } = await setup();
    const view = await service.create(admin, { monitor_id: 'm' });
    await expect(relay.sendCommand(viewer, view.id, 'x')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(relay.sendCommand(SYSTEM_ACTOR, 'nope', 'x')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('secure mode: no anonymous users; open mode: anonymous users and self-registering monitors', async () => {
    const secure = await setup(false);
    await secure.service.create(admin, { monitor_id: 'm' });
    expect(() => secure.relay.attachUser(null, 'm')).toThrow('Unauthorized');
    await expect(secure.relay.connectMonitor({ monitor_id: 'new' }, '127.0.0.1', link().l)).rejects.toThrow('Unknown monitor');

    const open = await setup(true);
    const session = await open.relay.connectMonitor({ monitor_id: 'new' }, '127.0.0.1', link().l);
    expect(open.relay.attachUser(null, 'new')).toMatchObject({ monitorId: 'new' });
    expect(open.service.all()).toMatchObject([{ monitor_id: 'new', auto_registered: true, online: true, users: 1 }]);
    open.relay.monitorDisconnected(session);
    expect(open.events.map((e) => e.event)).toEqual(['created', 'online', 'offline']);
  });

  it('open registration stops creating records at MAX_AUTO_REGISTERED', async () => {
    const { relay, db } = await setup(true);
    const now = new Date().toISOString();
    await Promise.all(
      Array.from({ length: MAX_AUTO_REGISTERED }, (_, i) =>
        db.collection('monitors').insert({ id: `r${i}`, monitor_id: `auto-${i}`, name: `auto-${i}`, key_hash: null, online: false, last_seen: null, last_command: null, last_result: null, auto_registered: true, created_at: now, updated_at: now }),
      ),
    );
    await expect(relay.connectMonitor({ monitor_id: 'one-more' }, '127.0.0.1', link().l)).rejects.toMatchObject({ kind: 'rate_limited', message: 'Too many monitors' });
    expect(db.collection('monitors').all()).toHaveLength(MAX_AUTO_REGISTERED);
    await expect(relay.connectMonitor({ monitor_id: 'auto-7' }, '127.0.0.1', link().l)).resolves.toMatchObject({ monitorId: 'auto-7' });
  });
});
