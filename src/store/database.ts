// lowdb on <data_dir>/db.json with an atomic, crash-safe adapter and typed collections.
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import type { Logger } from 'pino';
import type { DbData } from './schema.js';
import { SCHEMA_VERSION, emptyData, migrate } from './schema.js';

/**
 * Writes go to a temp file that is fsynced and renamed over db.json, so a crash at any moment
 * leaves either the old or the new file, never half of one. A file that does not parse at start
 * is moved aside as db.json.corrupt-<time> (never silently overwritten).
 */
export class AtomicJsonFile<T> implements Adapter<T> {
  constructor(
    readonly path: string,
    private readonly logger?: Logger,
  ) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      const aside = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.path, aside);
      this.logger?.error({ file: this.path, movedTo: aside, reason: (err as Error).message }, 'database file is corrupt; moved it aside and starting empty');
      return null;
    }
  }

  async write(data: T): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}`;
    const text = JSON.stringify(data);
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      // A half-written temp file as large as the database would keep a full disk full.
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
}

/**
 * Told about every write's outcome, so a full or read-only disk becomes a state (the storage-health
 * service) instead of an exception. `failed` returns the error the write's callers receive.
 */
export interface StoreWatcher {
  written(): void;
  failed(err: NodeJS.ErrnoException): Error;
  /** Is this error a storage fault (full, quota, read-only, I/O) rather than a bug? */
  isFault(err: unknown): err is NodeJS.ErrnoException;
}

/** What a mutation does when the disk refuses it: undo it (the default) or keep it in memory until the store recovers. */
export interface WriteOptions {
  keepOnFault?: boolean;
}

type CollectionName = { [K in keyof DbData]: DbData[K] extends unknown[] ? K : never }[keyof DbData];
type RecordOf<K extends CollectionName> = DbData[K] extends (infer R extends { id: string })[] ? R : never;

export class Database {
  private readonly low: Low<DbData>;
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private watcher: StoreWatcher | null = null;
  /** Changes kept in memory after a storage fault (keepOnFault) that are not on disk yet. */
  private unwritten = false;
  /** The refusal of the last failed write, until a write succeeds. */
  private fault: Error | null = null;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
  ) {
    this.low = new Low<DbData>(new AtomicJsonFile<DbData>(path, logger), emptyData());
  }

  static inDir(dataDir: string, logger?: Logger): Database {
    return new Database(join(dataDir, 'db.json'), logger);
  }

  watch(watcher: StoreWatcher): void {
    this.watcher = watcher;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    await this.low.read();
    const { data, changed } = migrate(this.low.data, this.logger);
    this.low.data = data;
    // A migrated database that cannot be written yet still serves from memory.
    if (changed) await this.persist({ keepOnFault: true });
  }

  /**
   * Throws the last storage refusal while the store is failing: for changes that act on the world
   * (a camera control) before they are written, so a refused change is not half-made.
   */
  assertWritable(): void {
    if (this.fault) throw this.fault;
  }

  /** Changes held in memory since a storage fault are waiting for the disk. */
  get hasUnwritten(): boolean {
    return this.unwritten;
  }

  get data(): Readonly<DbData> {
    return this.low.data;
  }

  collection<K extends CollectionName>(name: K): Collection<RecordOf<K>> {
    return new Collection<RecordOf<K>>(this, name as string);
  }

  /** @internal used by Collection */
  rows<R>(name: string): R[] {
    return (this.low.data as unknown as Record<string, R[]>)[name] ?? [];
  }

  /** @internal used by Collection */
  setRows<R>(name: string, rows: R[]): void {
    (this.low.data as unknown as Record<string, R[]>)[name] = rows;
  }

  /**
   * Writes the current data. A storage fault (see StoreWatcher) rejects with the watcher's refusal,
   * unless `keepOnFault`: then the change stays in memory and rides on the next write that succeeds.
   */
  async persist(opts: WriteOptions = {}): Promise<void> {
    try {
      await this.write();
    } catch (err) {
      if (!this.watcher?.isFault(err)) throw err;
      const refusal = this.watcher.failed(err);
      this.fault = refusal;
      if (!opts.keepOnFault) throw refusal;
      this.unwritten = true;
      this.logger?.debug('a change is kept in memory until the data store can be written again');
    }
  }

  /**
   * Writers are serialized and coalesced: while one write is in flight, every change made
   * meanwhile rides on the one next write. The promise resolves once the caller's change is on disk.
   */
  private write(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.writing) {
      const wasUnwritten = this.unwritten;
      this.writing = this.low
        .write()
        .then(() => {
          if (wasUnwritten) this.unwritten = false;
          this.fault = null;
          this.watcher?.written();
        })
        .finally(() => {
          this.writing = null;
        });
      return this.writing;
    }
    this.queued = this.writing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.write();
      });
    return this.queued;
  }

  /** Waits for every pending write (graceful stop). */
  async flush(): Promise<void> {
    while (this.writing || this.queued) await (this.queued ?? this.writing)?.catch(() => undefined);
  }

  get schemaVersion(): number {
    return this.low.data.version ?? SCHEMA_VERSION;
  }
}

/** A typed table. Mutations build new records (copy-on-write) and resolve once on disk. */
export class Collection<T extends { id: string }> {
  /** Rows by id, for the rows array it was built from (arrays are replaced on change, never edited in place). */
  private byId: { rows: readonly T[]; index: Map<string, T> } | null = null;

  constructor(
    private readonly db: Database,
    private readonly name: string,
  ) {}

  /** See Database.assertWritable. */
  assertWritable(): void {
    this.db.assertWritable();
  }

  all(): readonly T[] {
    return this.db.rows<T>(this.name);
  }

  /** By id without a scan: sessions look their token and user up on every request. */
  get(id: string): T | undefined {
    const rows = this.all();
    if (this.byId?.rows !== rows) {
      const index = new Map<string, T>();
      for (const r of rows) if (!index.has(r.id)) index.set(r.id, r); // the first of a duplicated id, as a scan finds
      this.byId = { rows, index };
    }
    return this.byId.index.get(id);
  }

  find(pred: (r: T) => boolean): T | undefined {
    return this.all().find(pred);
  }

  filter(pred: (r: T) => boolean): T[] {
    return this.all().filter(pred);
  }

  async insert(record: T, opts?: WriteOptions): Promise<T> {
    this.db.setRows(this.name, [...this.all(), record]);
    await this.persistOrUndo(opts, () => this.db.setRows(this.name, this.all().filter((r) => r !== record)));
    return record;
  }

  /** Replaces the record with the same id; resolves to undefined when there is none. */
  async update(id: string, change: (current: T) => T, opts?: WriteOptions): Promise<T | undefined> {
    const rows = this.all();
    const i = rows.findIndex((r) => r.id === id);
    if (i < 0) return undefined;
    const prev = rows[i]!;
    const next = change(prev);
    const copy = rows.slice();
    copy[i] = next;
    this.db.setRows(this.name, copy);
    await this.persistOrUndo(opts, () => this.db.setRows(this.name, this.all().map((r) => (r === next ? prev : r))));
    return next;
  }

  async remove(id: string, opts?: WriteOptions): Promise<boolean> {
    return (await this.removeWhere((r) => r.id === id, opts)) > 0;
  }

  async removeWhere(pred: (r: T) => boolean, opts?: WriteOptions): Promise<number> {
    const rows = this.all();
    const kept = rows.filter((r) => !pred(r));
    if (kept.length === rows.length) return 0;
    const keptSet = new Set(kept);
    const removed = rows.filter((r) => !keptSet.has(r));
    this.db.setRows(this.name, kept);
    await this.persistOrUndo(opts, () => this.db.setRows(this.name, [...this.all(), ...removed.filter((r) => !this.get(r.id))]));
    return rows.length - kept.length;
  }

  /**
   * A refused write leaves nothing changed: `undo` takes back exactly this mutation (changes of
   * other callers made meanwhile stay, and fail or succeed with their own write).
   */
  private async persistOrUndo(opts: WriteOptions | undefined, undo: () => void): Promise<void> {
    try {
      await this.db.persist(opts);
    } catch (err) {
      undo();
      throw err;
    }
  }
}
