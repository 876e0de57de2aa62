// Publishes a prepared domain event (a table row in a test) on the bus. The compiler checks each
// row against the event map where it is written; this only spreads it into publish's arguments.
import type { Domain, DomainEvent, EventBus } from '../../src/core/eventBus.js';

export function publishEvent<D extends Domain>(bus: EventBus, e: Omit<DomainEvent<D>, 'at'>): DomainEvent<D> {
  const publish = bus.publish.bind(bus) as (domain: D, entity: string | null, event: string, details: unknown) => DomainEvent<D>;
  return publish(e.domain, e.entity, e.event, e.details);
}
