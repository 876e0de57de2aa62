// The one bus every state change travels on. Services publish; adapters and bridges subscribe.
// Dispatch is synchronous and in order; a failing listener is logged and never stops the others.
import type { Logger } from 'pino';

/** Event names per domain. Add a domain's events here when its service lands. */
export interface DomainEventMap {
  camera:
    | 'demand' | 'unDemand' | 'ready' | 'notReady' | 'read' | 'unread' | 'extended' | 'failed-extension'
    | 'created' | 'updated' | 'deleted' | 'state' | 'snapshot' | 'recording' | 'connected' | 'disconnected';
  credentials: 'authenticated' | 'reauthenticated' | 'unauthenticated' | 'created' | 'updated' | 'deleted';
  monitor: 'online' | 'offline' | 'command' | 'commandDone' | 'commandFailed' | 'created' | 'updated' | 'deleted';
  lab: 'created' | 'updated' | 'deleted' | 'state' | 'log' | 'nodeState';
  /** A user-visible status message (details.message, details.audience). */
  statusMessage: 'published';
  user: 'created' | 'updated' | 'deleted';
  /** Tokens revoked (details.tokenIds): socket adapters drop connections that used them. */
  auth: 'tokensRevoked';
  /** Connection state of the add-on's own parts (mqtt, homeassistant, sockets). */
  system: 'component' | 'clients' | 'status' | 'storage';
}

export type Domain = keyof DomainEventMap;

export interface DomainEvent<D extends Domain = Domain> {
  domain: D;
  /** The id of the object the event is about, or null when there is none. */
  entity: string | null;
  event: DomainEventMap[D];
  details: Record<string, unknown>;
  /** ISO 8601 time of publication. */
  at: string;
}

export type DomainEventListener = (event: DomainEvent) => void;

export class EventBus {
  private readonly listeners = new Set<{ fn: DomainEventListener; domains: ReadonlySet<Domain> | null }>();

  constructor(private readonly logger?: Logger) {}

  publish<D extends Domain>(domain: D, entity: string | null, event: DomainEventMap[D], details: Record<string, unknown> = {}): DomainEvent<D> {
    const e: DomainEvent<D> = { domain, entity, event, details, at: new Date().toISOString() };
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

  /** Subscribe to every event, or only to the given domains. Returns the unsubscribe function. */
  subscribe(fn: DomainEventListener, domains?: Domain[]): () => void {
    const entry = { fn, domains: domains ? new Set(domains) : null };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
