import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { Database, type Collection } from '../../src/store/database.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sb-store-'));
/** The store's mechanics do not depend on a collection's record type: test them with loose records. */
type Loose = { id: string; [k: string]: unknown };
const loose = (db: Database, name: 'monitors' | 'labs') => db.collection(name) as unknown as Collection<Loose>;

describe('store', () => {
  it('creates db.json with the schema version and typed collections', async () => {
    const dir = tmp();
    const db = Database.inDir(dir);
    await db.open();
    await loose(db, 'monitors').insert({ id: 'm1', name: 'one' });
    const onDisk = JSON.parse(readFileSync(join(dir, 'db.json'), 'utf8'));
    expect(onDisk.version).toBe(SCHEMA_VERSION);
    expect(onDisk.monitors).toEqual([{ id: 'm1', name: 'one' }]);
    expect(onDisk.users).toEqual([]);
  });

  it('coalesces concurrent writes and resolves each once its change is on disk', async () => {
    const dir = tmp();
    const db = Database.inDir(dir);
    await db.open();
    const col = loose(db, 'labs');
    await Promise.all(Array.from({ length: 200 }, (_, i) => col.insert({ id: `l${i}` })));
    const onDisk = JSON.parse(readFileSync(join(dir, 'db.json'), 'utf8'));
    expect(onDisk.labs).toHaveLength(200);
    await col.update('l5', (r) => ({ ...r, name: 'five' }));
    expect(await col.update('missing', (r) => r)).toBeUndefined();
    expect(await col.remove('l6')).toBe(true);
    const db2 = Database.inDir(dir);
    await db2.open();
    expect(loose(db2, 'labs').get('l5')).toEqual({ id: 'l5', name: 'five' });
    expect(loose(db2, 'labs').get('l6')).toBeUndefined();
  });

  it('get() finds what all() holds after every insert, update and remove', async () => {
    const db = Database.inDir(tmp());
    await db.open();
    const col = loose(db, 'labs');
    expect(col.get('a')).toBeUndefined();
    await col.insert({ id: 'a', name: 'A' });
    await col.insert({ id: 'b', name: 'B' });
    expect(col.get('a')).toEqual({ id: 'a', name: 'A' });
    await col.update('a', (r) => ({ ...r, name: 'A2' }));
    expect(col.get('a')).toEqual({ id: 'a', name: 'A2' });
    await col.remove('a');
    expect(col.get('a')).toBeUndefined();
    await col.removeWhere((r) => r.id === 'b');
    expect([col.get('b'), col.all()]).toEqual([undefined, []]);
    // Another Collection over the same table (each service holds its own) sees the same rows.
    await col.insert({ id: 'c' });
    expect(loose(db, 'labs').get('c')).toEqual({ id: 'c' });
  });

  it('moves a corrupt file aside instead of overwriting it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'db.json'), '{"version":1,"users":[{"id":');
    const db = Database.inDir(dir);
    await db.open();
    const aside = readdirSync(dir).filter((f) => f.startsWith('db.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe('{"version":1,"users":[{"id":');
    expect(db.data.users).toEqual([]);
  });

  it('refuses a database written by a newer release', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'db.json'), JSON.stringify({ version: SCHEMA_VERSION + 1 }));
    await expect(Database.inDir(dir).open()).rejects.toThrow(/newer than this release/);
  });

  it('keeps every acknowledged write when the process is killed -9 in a write storm', async () => {
    const dir = tmp();
    const script = join(dir, 'storm.mts'); // .mts: ESM, so top-level await works outside the package
    writeFileSync(
      script,
      `import { Database } from ${JSON.stringify(join(process.cwd(), 'src/store/database.ts'))};
const db = Database.inDir(${JSON.stringify(dir)});
await db.open();
const col = db.collection('monitors');
let i = 0;
for (;;) {
  const batch = [];
  for (let k = 0; k < 5; k++) { const id = 'r' + i++; batch.push(col.insert({ id, payload: 'x'.repeat(200) }).then(() => process.stdout.write('ack ' + id + '\\n'))); }
  await Promise.all(batch);
}
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => (acked.length < 400 ? reject(new Error(`storm process exited early (${code})`)) : resolve()));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length === 400) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    expect(existsSync(join(dir, 'db.json'))).toBe(true);
    const db = Database.inDir(dir);
    await db.open();
    const ids = new Set(loose(db, 'monitors').all().map((r) => r.id));
    expect(acked.every((id) => ids.has(id))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
  });
});
