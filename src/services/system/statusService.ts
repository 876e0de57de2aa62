// What the add-on's own parts report about themselves (MQTT, HA bridge, cameras, socket clients),
// behind the `health` and `version` modules and GET /api/health.
import type { Actor } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import type { ListQuery, ModuleService } from '../modules.js';

export type ComponentState = 'ok' | 'connecting' | 'disconnected' | 'disabled' | 'error';

export interface ComponentStatus {
  state: ComponentState;
  detail?: string;
  since: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  uptime: number;
  components: Record<string, ComponentStatus>;
  clients: Record<string, number>;
  /** The process's resident set and V8 heap in MB: what the soak bench and operators watch for growth. */
  memory: { rss_mb: number; heap_used_mb: number };
}

export class StatusService {
  private readonly components = new Map<string, ComponentStatus>();
  private readonly clients = new Map<string, number>();
  private readonly startedAt = Date.now();

  constructor(
    readonly version: string,
    private readonly bus: EventBus,
  ) {}

  setComponent(name: string, state: ComponentState, detail?: string): void {
    const prev = this.components.get(name);
    if (prev && prev.state === state && prev.detail === detail) return;
    const status: ComponentStatus = { state, since: new Date().toISOString(), ...(detail ? { detail } : {}) };
    this.components.set(name, status);
    this.bus.publish('system', name, 'component', { ...status });
  }

  /** Connected clients per protocol (nestmtx, antimony, rotoclear, altoponix, ...). */
  setClients(protocol: string, count: number): void {
    if (this.clients.get(protocol) === count) return;
    this.clients.set(protocol, count);
    this.bus.publish('system', protocol, 'clients', { protocol, count });
  }

  health(): Health {
    const components = Object.fromEntries(this.components);
    const degraded = [...this.components.values()].some((c) => c.state === 'error' || c.state === 'disconnected');
    return {
      status: degraded ? 'degraded' : 'ok',
      version: this.version,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
      components,
      clients: Object.fromEntries(this.clients),
      memory: { rss_mb: toMb(process.memoryUsage.rss()), heap_used_mb: toMb(process.memoryUsage().heapUsed) },
    };
  }
}

const toMb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** `health` as a module: list and read both answer the health object. */
export class HealthModule implements ModuleService {
  readonly name = 'health';
  constructor(private readonly status: StatusService) {}
  async list(_actor: Actor, _q: ListQuery): Promise<Health> {
    return this.status.health();
  }
  async read(): Promise<Health> {
    return this.status.health();
  }
}

export class VersionModule implements ModuleService {
  readonly name = 'version';
  constructor(private readonly status: StatusService) {}
  private info() {
    return { name: 'switchboard', version: this.status.version, node: process.version };
  }
  async list(_actor: Actor, _q: ListQuery) {
    return this.info();
  }
  async read() {
    return this.info();
  }
}
