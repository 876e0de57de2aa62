// Listeners belong to an owner: stopping the owner removes every listener it subscribed, and no
// listener can be added without one.
import { describe, expect, it } from 'vitest';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { StatusMessageSources } from '../../src/services/statusMessages/busSources.js';
import { StatusMessagesService } from '../../src/services/statusMessages/statusMessagesService.js';

describe('event bus owners', () => {
  it('removeListeners(owner) removes that owner’s listeners and no one else’s', () => {
    const bus = new EventBus();
    const a = {};
    const b = {};
    const seenByA: DomainEvent[] = [];
    const seenByB: DomainEvent[] = [];
    bus.subscribe(a, (e) => seenByA.push(e), ['system']);
    bus.on(a, 'system', 'storage', (e) => seenByA.push(e));
    bus.subscribe(b, (e) => seenByB.push(e));
    expect(bus.listenerCount(a)).toBe(2);
    bus.removeListeners(a);
    expect(bus.listenerCount(a)).toBe(0);
    expect(bus.listenerCount()).toBe(1);
    bus.publish('system', 'media', 'storage', { store: 'media', ok: true });
    expect(seenByA).toEqual([]);
    expect(seenByB.map((e) => e.event)).toEqual(['storage']);
  });

  it('a listener cannot be added without an owner', () => {
    const bus = new EventBus();
    // The compiler refuses both calls (the owner comes first); a caller it does not check is refused at run time.
    // @ts-expect-error no owner
    expect(() => bus.subscribe((e: DomainEvent) => e, ['system'])).toThrow(/owner/);
    // @ts-expect-error no owner
    expect(() => bus.on('system', 'storage', () => undefined)).toThrow(/owner/);
    expect(bus.listenerCount()).toBe(0);
  });

  it('stopping an extension removes its listeners', async () => {
    const bus = new EventBus();
    const sources = new StatusMessageSources(bus, new StatusMessagesService(bus));
    await sources.start();
    expect(bus.listenerCount(sources)).toBe(1);
    await sources.stop();
    expect(bus.listenerCount(sources)).toBe(0);
    expect(bus.listenerCount()).toBe(0);
  });
});
