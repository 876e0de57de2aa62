// What the store does when a write is refused by the disk, without root: db.json replaced by a
// directory makes the rename fail (EISDIR), which this test's watcher treats as a storage fault.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database, type Collection } from '../../src/store/database.js';

type Loose = { id: string; [k: string]: unknown };

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sb-store-faults-'));
  const db = Database.inDir(dir);
  const outcomes: string[] = [];
  db.watch({
    written: () => outcomes.push('written'),
    failed: (err) => {
      outcomes.push(`failed ${err.code}`);
      return new Error('refused');
    },
    isFault: (err): err is NodeJS.ErrnoException => (err as NodeJS.ErrnoException).code === 'EISDIR',
  });
  await db.open();
  const col = db.collection('monitors') as unknown as Collection<Loose>;
  await col.insert({ id: 'a', name: 'A' });
  await col.insert({ id: 'b', name: 'B' });
  const breakDisk = () => {
    unlinkSync(db.path);
    mkdirSync(db.path);
  };
  const healDisk = () => rmdirSync(db.path);
  return { dir, db, col, outcomes, breakDisk, healDisk };
}

describe('store on a refusing disk', () => {
  it('undoes exactly the refused change, keeps others, leaves no temp file and recovers', async () => {
    const { dir, db, col, outcomes, breakDisk, healDisk } = await setup();
    expect(col.get('a')?.name).toBe('A'); // get() indexes by id: the undo must reach the index too
    breakDisk();
    await expect(col.insert({ id: 'c' })).rejects.toThrow('refused');
    await expect(col.update('a', (r) => ({ ...r, name: 'changed' }))).rejects.toThrow('refused');
    await expect(col.remove('b')).rejects.toThrow('refused');
    expect(col.all().map((r) => [r.id, r.name])).toEqual([['a', 'A'], ['b', 'B']]);
    expect([col.get('a')?.name, col.get('b')?.name, col.get('c')]).toEqual(['A', 'B', undefined]);
    expect(() => db.assertWritable()).toThrow('refused');
    // Kept in memory: a token-like change survives the fault and rides on the next good write.
    await col.insert({ id: 'kept' }, { keepOnFault: true });
    expect(db.hasUnwritten).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    healDisk();
    await db.persist();
    expect(db.hasUnwritten).toBe(false);
    expect(() => db.assertWritable()).not.toThrow();
    const onDisk = JSON.parse(readFileSync(join(dir, 'db.json'), 'utf8')) as { monitors: Loose[] };
    expect(onDisk.monitors.map((r) => r.id)).toEqual(['a', 'b', 'kept']);
    expect(outcomes.filter((o) => o !== 'written')).toEqual(['failed EISDIR', 'failed EISDIR', 'failed EISDIR', 'failed EISDIR']);
    expect(outcomes.at(-1)).toBe('written');
  });

  it('other errors are not storage faults: the change is undone and the error passes through', async () => {
    const { col, db, breakDisk } = await setup();
    db.watch({ written: () => undefined, failed: () => new Error('refused'), isFault: (_err): _err is NodeJS.ErrnoException => false });
    breakDisk();
    await expect(col.insert({ id: 'c' }, { keepOnFault: true })).rejects.toMatchObject({ code: 'EISDIR' });
    expect(col.get('c')).toBeUndefined();
  });
});
