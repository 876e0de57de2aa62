// The storage-health service on its own: faults become state, events and a health component; the
// recovery probe runs only while a store is failing; the bounded queue keeps the newest items.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/core/boundedQueue.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { HTTP_STATUS } from '../../src/core/errors.js';
import { StatusService } from '../../src/services/system/statusService.js';
import { isStorageFault, StorageHealth, storageRefusal } from '../../src/services/system/storageHealth.js';

const errno = (code: string) => Object.assign(new Error(code), { code });

function setup() {
  const bus = new EventBus();
  const status = new StatusService('test', bus);
  const events: DomainEvent[] = [];
  bus.subscribe(events, (e) => events.push(e), ['system']);
  const storage = new StorageHealth(bus, status, pino({ level: 'silent' }), { probeIntervalMs: 3_600_000 });
  return { status, storage, storageEvents: () => events.filter((e) => e.event === 'storage') };
}

describe('storage health', () => {
  it('knows which errors are storage faults', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']) expect(isStorageFault(errno(code))).toBe(true);
    for (const err of [errno('ENOENT'), errno('EACCES'), new Error('x'), null, 'ENOSPC']) expect(isStorageFault(err)).toBe(false);
  });

  it('refuses with 507 and words that say which store and why', () => {
    const e = storageRefusal('media', 'EROFS');
    expect(HTTP_STATUS[e.kind]).toBe(507);
    expect(e.message).toBe('Insufficient storage: The media folder is read-only');
    expect(storageRefusal('data', 'EDQUOT').message).toBe('Insufficient storage: The data store is full (disk quota exceeded)');
  });

  it('assertWritable refuses while a store is failing, and only that store', () => {
    const { storage } = setup();
    storage.track('media');
    storage.assertWritable('media');
    storage.fault('media', errno('EROFS'));
    expect(() => storage.assertWritable('media')).toThrow('Insufficient storage: The media folder is read-only');
    storage.assertWritable('data');
    storage.written('media');
    storage.assertWritable('media');
  });

  it('a fault is state: one event per change, health degraded, recovered by a successful write', () => {
    const { status, storage, storageEvents } = setup();
    storage.track('data');
    expect(status.health()).toMatchObject({ status: 'ok', components: { data_store: { state: 'ok' } } });
    storage.fault('data', errno('ENOSPC'));
    storage.fault('data', errno('ENOSPC'));
    expect(storageEvents().map((e) => e.details)).toEqual([
      { store: 'data', ok: true },
      { store: 'data', ok: false, code: 'ENOSPC', error: 'The data store is full (no space left on the device)' },
    ]);
    expect(status.health()).toMatchObject({ status: 'degraded', components: { data_store: { state: 'error' } } });
    expect(storage.failing().map((s) => s.store)).toEqual(['data']);
    storage.written('data');
    storage.written('data');
    expect(storageEvents()).toHaveLength(3);
    expect(storageEvents().at(-1)!.details).toEqual({ store: 'data', ok: true });
    expect(storage.failing()).toEqual([]);
  });

  it('probes only failing stores; a probe that succeeds clears the fault', async () => {
    const { storage } = setup();
    let dataProbes = 0;
    let mediaProbes = 0;
    storage.onRecoveryProbe('data', async () => {
      dataProbes++;
      storage.written('data');
    });
    storage.onRecoveryProbe('media', async () => {
      mediaProbes++;
      throw errno('ENOSPC');
    });
    await storage.probe();
    expect([dataProbes, mediaProbes]).toEqual([0, 0]);
    storage.fault('data', errno('EIO'));
    await storage.probe();
    expect(dataProbes).toBe(1);
    expect(storage.state('data')).toMatchObject({ ok: true });
    await storage.probe();
    expect(dataProbes).toBe(1);
    storage.stop();
  });
});

describe('bounded queue', () => {
  it('drops the oldest past its capacity and counts the drops until drained', () => {
    const q = new BoundedQueue<number>(3);
    for (let i = 0; i < 10; i++) q.push(i);
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(7);
    expect(q.drain()).toEqual({ items: [7, 8, 9], dropped: 7 });
    expect([q.size, q.dropped]).toEqual([0, 0]);
  });
});
