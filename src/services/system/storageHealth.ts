// Storage faults as a state: which store (the data store, the media folder) cannot be written and
// why. Writers report faults and successes here; this service turns them into the refusal every
// protocol maps to its own error shape, a `system:storage` bus event, a health component and, while
// a store is failing, a periodic recovery probe so writes work again without a restart.
import type { Logger } from 'pino';
import { storageFull, type AppError } from '../../core/errors.js';
import type { EventBus } from '../../core/eventBus.js';
import type { StatusService } from './statusService.js';

export type StoreName = 'data' | 'media';

/** The errno codes that mean "this store cannot take writes now" (not a bug in us). */
const STORAGE_CODES: Record<string, string> = {
  ENOSPC: 'is full (no space left on the device)',
  EDQUOT: 'is full (disk quota exceeded)',
  EROFS: 'is read-only',
  EIO: 'has an input/output error',
};

const STORE_WORDS: Record<StoreName, string> = { data: 'data store', media: 'media folder' };

export function isStorageFault(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in STORAGE_CODES;
}

/** The refusal for a write that a storage fault stopped: HTTP 507, and the same words everywhere else. */
export function storageRefusal(store: StoreName, code: string): AppError {
  const what = `The ${STORE_WORDS[store]} ${STORAGE_CODES[code] ?? `cannot be written (${code})`}`;
  return storageFull(`Insufficient storage: ${what}`, [{ path: '', message: `${what}; nothing was changed. Free some space and try again.` }]);
}

export interface StoreHealth {
  store: StoreName;
  ok: boolean;
  /** The errno code while failing (ENOSPC, EDQUOT, EROFS, EIO). */
  code?: string;
  /** What is wrong, in words, while failing. */
  error?: string;
  since: string;
}

/** What the `system:storage` event carries (entity: the store name). */
export interface StorageEventDetails {
  store: StoreName;
  ok: boolean;
  code?: string;
  error?: string;
}

/** Tries a write again; resolves when the store took it. */
export type RecoveryProbe = () => Promise<void>;

export const storeComponent = (store: StoreName) => `${store}_store`;

export class StorageHealth {
  private readonly states = new Map<StoreName, StoreHealth>();
  private readonly probes = new Map<StoreName, RecoveryProbe>();
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    private readonly bus: EventBus,
    private readonly status: StatusService,
    private readonly logger: Logger,
    private readonly opts: { probeIntervalMs: number } = { probeIntervalMs: 15_000 },
  ) {}

  /** Records a failed write. Returns the refusal to throw (non-storage errors are for the caller to handle). */
  fault(store: StoreName, err: NodeJS.ErrnoException): AppError {
    const code = err.code ?? 'EIO';
    const refusal = storageRefusal(store, code);
    const prev = this.states.get(store);
    if (!prev || prev.ok || prev.code !== code) {
      const error = refusal.message.replace(/^Insufficient storage: /, '');
      this.set({ store, ok: false, code, error, since: new Date().toISOString() });
      this.logger.error({ store, code }, `${error}: writes are refused until it recovers; reads and live state keep working`);
      this.armProbe();
    }
    return refusal;
  }

  /** Starts reporting a store (as healthy until a write says otherwise). */
  track(store: StoreName): void {
    if (!this.states.has(store)) this.set({ store, ok: true, since: new Date().toISOString() });
  }

  /** Records a successful write: a failing store is healthy again. */
  written(store: StoreName): void {
    const prev = this.states.get(store);
    if (prev?.ok) return;
    this.set({ store, ok: true, since: new Date().toISOString() });
    if (prev) this.logger.info({ store }, `the ${STORE_WORDS[store]} takes writes again`);
  }

  /** While `store` is failing, `probe` is tried every probeIntervalMs (e.g. writing what is held in memory). */
  onRecoveryProbe(store: StoreName, probe: RecoveryProbe): void {
    this.probes.set(store, probe);
    this.armProbe();
  }

  /** Throws the refusal while `store` is failing: for writes that must not start (e.g. a recording). */
  assertWritable(store: StoreName): void {
    const s = this.states.get(store);
    if (s && !s.ok) throw storageRefusal(store, s.code ?? 'EIO');
  }

  state(store: StoreName): StoreHealth | undefined {
    return this.states.get(store);
  }

  /** The stores that cannot be written now. */
  failing(): StoreHealth[] {
    return [...this.states.values()].filter((s) => !s.ok);
  }

  /** Runs the probes of failing stores once (the timer calls this; tests may too). */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      for (const s of this.failing()) {
        const probe = this.probes.get(s.store);
        // A probe that fails again reports its fault itself; nothing more to do here.
        await probe?.().catch(() => undefined);
      }
    } finally {
      this.probing = false;
      if (!this.failing().length) this.disarm();
    }
  }

  stop(): void {
    this.disarm();
  }

  private set(state: StoreHealth): void {
    this.states.set(state.store, state);
    const details: StorageEventDetails = { store: state.store, ok: state.ok, ...(state.code ? { code: state.code } : {}), ...(state.error ? { error: state.error } : {}) };
    this.status.setComponent(storeComponent(state.store), state.ok ? 'ok' : 'error', state.error);
    this.bus.publish('system', state.store, 'storage', { ...details });
  }

  private armProbe(): void {
    if (this.timer || !this.failing().some((s) => this.probes.has(s.store))) return;
    this.timer = setInterval(() => void this.probe(), this.opts.probeIntervalMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
