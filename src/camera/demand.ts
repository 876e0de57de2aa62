// Who wants a camera's stream right now. The first reader publishes `demand`, the last one leaving
// `unDemand`; every reader coming and going publishes `read`/`unread`. The streaming pipeline
// starts and stops on these events.
import type { EventBus } from '../core/eventBus.js';

export interface Reader {
  /** mqtt, lab, socket, http, recording, ... */
  type: string;
  id: string;
}

const keyOf = (r: Reader) => `${r.type}\u0000${r.id}`;

export class DemandTracker {
  private readonly readers = new Map<string, Map<string, Reader>>();

  constructor(private readonly bus: EventBus) {}

  /** Adds a reader; adding the same reader twice is a no-op. Returns the reader count. */
  add(cameraId: string, reader: Reader): number {
    let set = this.readers.get(cameraId);
    if (!set) {
      set = new Map();
      this.readers.set(cameraId, set);
    }
    const key = keyOf(reader);
    if (set.has(key)) return set.size;
    set.set(key, { type: reader.type, id: reader.id });
    if (set.size === 1) this.bus.publish('camera', cameraId, 'demand', { readerType: reader.type, readerId: reader.id });
    this.bus.publish('camera', cameraId, 'read', { readerType: reader.type, readerId: reader.id, readers: set.size });
    return set.size;
  }

  /** Removes a reader; removing an unknown reader is a no-op. Returns the reader count. */
  remove(cameraId: string, reader: Reader): number {
    const set = this.readers.get(cameraId);
    if (!set || !set.delete(keyOf(reader))) return set?.size ?? 0;
    this.bus.publish('camera', cameraId, 'unread', { readerType: reader.type, readerId: reader.id, readers: set.size });
    if (set.size === 0) {
      this.readers.delete(cameraId);
      this.bus.publish('camera', cameraId, 'unDemand', { readerType: reader.type, readerId: reader.id });
    }
    return set.size;
  }

  /** Drops every reader of a camera (it was deleted), publishing unread/unDemand as usual. */
  clear(cameraId: string): void {
    for (const r of [...(this.readers.get(cameraId)?.values() ?? [])]) this.remove(cameraId, r);
  }

  list(cameraId: string): Reader[] {
    return [...(this.readers.get(cameraId)?.values() ?? [])];
  }
}
