// The one bus every state change travels on. Services publish; adapters and bridges subscribe.
// Dispatch is synchronous and in order; a failing listener is logged and never stops the others.
// Every event's details are typed by EventMap (as zigbee2mqtt's EventBusMap): a publisher and its
// subscribers agree at compile time, so subscribers narrow on `domain`/`event` instead of casting.
import type { Logger } from 'pino';
import type { DomainEventDetails } from './events.js';

export type EventMap = DomainEventDetails;
export type Domain = keyof EventMap;
export type EventName<D extends Domain> = Extract<keyof EventMap[D], string>;

/** One published event: `{domain, entity, event, details, at}`, details typed by its (domain, event). */
export type DomainEvent<D extends Domain = Domain> = {
  [K in D]: {
    [E in EventName<K>]: {
      domain: K;
      /** The id of the object the event is about, or null when there is none. */
      entity: string | null;
      event: E;
      details: EventMap[K][E];
      /** ISO 8601 time of publication. */
      at: string;
    };
  }[EventName<K>];
}[D];

export type DomainEventListener<D extends Domain = Domain> = (event: DomainEvent<D>) => void;

/** Who a listener belongs to: the extension (or test) whose stop removes it. */
export type ListenerOwner = object;

interface Entry {
  owner: ListenerOwner;
  fn: (event: DomainEvent) => void;
  domains: ReadonlySet<Domain> | null;
}

/**
 * Every listener has an owner (as zigbee2mqtt's extensions do): an owner's stop calls
 * `removeListeners(this)`, so no hand-kept unsubscribe function can be forgotten.
 */
export class EventBus {
  private readonly listeners = new Set<Entry>();

  constructor(private readonly logger?: Logger) {}

  publish<D extends Domain, E extends EventName<D>>(domain: D, entity: string | null, event: E, details: EventMap[D][E]): DomainEvent<D> {
    const e = { domain, entity, event, details, at: new Date().toISOString() } as DomainEvent<D>;
    for (const l of [...this.listeners]) {
      if (l.domains && !l.domains.has(domain)) continue;
      try {
        l.fn(e as DomainEvent);
      } catch (err) {
        this.logger?.error({ err, domain, event }, 'event listener failed');
      }
    }
    return e;
  }

  /**
   * Subscribe `owner` to every event of the given domains (or of all). `removeListeners(owner)`
   * ends it; the returned function ends this one listener early (a listener shorter-lived than its owner).
   */
  subscribe<D extends Domain = Domain>(owner: ListenerOwner, fn: DomainEventListener<D>, domains?: readonly D[]): () => void {
    if (typeof owner !== 'object' || owner === null || typeof fn !== 'function') throw new TypeError('bus.subscribe(owner, listener): every listener needs an owner object');
    const entry: Entry = { owner, fn: fn as (event: DomainEvent) => void, domains: domains ? new Set<Domain>(domains) : null };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /** Subscribe `owner` to one event of one domain, with its details typed. */
  on<D extends Domain, E extends EventName<D>>(owner: ListenerOwner, domain: D, event: E, fn: (e: Extract<DomainEvent<D>, { event: E }>) => void): () => void {
    if (typeof fn !== 'function') throw new TypeError('bus.on(owner, domain, event, listener): every listener needs an owner object');
    return this.subscribe<D>(
      owner,
      (e) => {
        if (e.event === event) fn(e as Extract<DomainEvent<D>, { event: E }>);
      },
      [domain],
    );
  }

  /** Remove every listener `owner` subscribed: called from the owner's stop. */
  removeListeners(owner: ListenerOwner): void {
    for (const l of this.listeners) if (l.owner === owner) this.listeners.delete(l);
  }

  /** Listeners in all, or those of one owner. */
  listenerCount(owner?: ListenerOwner): number {
    if (owner === undefined) return this.listeners.size;
    let n = 0;
    for (const l of this.listeners) if (l.owner === owner) n++;
    return n;
  }
}
