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
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(data));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
}

type CollectionName = { [K in keyof DbData]: DbData[K] extends unknown[] ? K : never }[keyof DbData];
type RecordOf<K extends CollectionName> = DbData[K] extends (infer R extends { id: string })[] ? R : never;

export class Database {
  private readonly low: Low<DbData>;
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
  ) {
    this.low = new Low<DbData>(new AtomicJsonFile<DbData>(path, logger), emptyData());
  }

  static inDir(dataDir: string, logger?: Logger): Database {
    return new Database(join(dataDir, 'db.json'), logger);
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    await this.low.read();
    const { data, changed } = migrate(this.low.data, this.logger);
    this.low.data = data;
    if (changed) await this.persist();
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
   * Writers are serialized and coalesced: while one write is in flight, every change made
   * meanwhile rides on the one next write. The promise resolves once the caller's change is on disk.
   */
  persist(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.writing) {
      this.writing = this.low.write().finally(() => {
        this.writing = null;
      });
      return this.writing;
    }
    this.queued = this.writing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.persist();
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
  constructor(
    private readonly db: Database,
    private readonly name: string,
  ) {}

  all(): readonly T[] {
    return this.db.rows<T>(this.name);
  }

  get(id: string): T | undefined {
    return this.all().find((r) => r.id === id);
  }

  find(pred: (r: T) => boolean): T | undefined {
    return this.all().find(pred);
  }

  filter(pred: (r: T) => boolean): T[] {
    return this.all().filter(pred);
  }

  async insert(record: T): Promise<T> {
    this.db.setRows(this.name, [...this.all(), record]);
    await this.db.persist();
    return record;
  }

  /** Replaces the record with the same id; resolves to undefined when there is none. */
  async update(id: string, change: (current: T) => T): Promise<T | undefined> {
    const rows = this.all();
    const i = rows.findIndex((r) => r.id === id);
    if (i < 0) return undefined;
    const next = change(rows[i]!);
    const copy = rows.slice();
    copy[i] = next;
    this.db.setRows(this.name, copy);
    await this.db.persist();
    return next;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.removeWhere((r) => r.id === id)) > 0;
  }

  async removeWhere(pred: (r: T) => boolean): Promise<number> {
    const rows = this.all();
    const kept = rows.filter((r) => !pred(r));
    if (kept.length === rows.length) return 0;
    this.db.setRows(this.name, kept);
    await this.db.persist();
    return rows.length - kept.length;
  }
}
