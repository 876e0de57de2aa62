// The bench starts the add-on with the flags of its run script: the parse must find them.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shippedEnv, shippedNodeFlags } from '../../bench/shipped.js';

describe('the shipped node command', () => {
  it('reads the node flags from the add-on run script', () => {
    expect(shippedNodeFlags()).toEqual(['--max-semi-space-size=1', '--single-threaded']);
  });

  it('reads a line without flags, and refuses a script that does not start dist/main.js', () => {
    expect(shippedNodeFlags('exec s6-applyuidgid -u 1 node /app/dist/main.js\n')).toEqual([]);
    expect(() => shippedNodeFlags('exec node /app/other.js\n')).toThrow(/no "node … \/app\/dist\/main\.js" line/);
  });

  it('exports a fixed malloc mmap threshold, as npm run start:dist does (the scrypt block is not kept after sign-in)', () => {
    expect(shippedEnv()).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' });
    const scripts = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start:dist']).toBe('MALLOC_MMAP_THRESHOLD_=131072 node dist/main.js');
    expect(shippedEnv('export FOO=1\nexec node /app/dist/main.js\n')).toEqual({ FOO: '1' });
  });
});
