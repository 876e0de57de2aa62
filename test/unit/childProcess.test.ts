// Child processes that cannot start: the failure reaches the caller in words, never as an
// unhandled 'error' event, and no file under src/ spawns around the one helper that guarantees it.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnChild } from '../../src/core/childProcess.js';

const SRC = resolve(import.meta.dirname, '../../src');

/** 'close' (events.once would reject on the very 'error' under test). */
const closed = (child: ChildProcess) => new Promise((r) => child.once('close', r));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

describe('spawnChild', () => {
  it('reports a missing binary in words and closes, without an unhandled error', async () => {
    const errors: string[] = [];
    const child = spawnChild('/nonexistent/ffmpeg', ['-version'], { stdio: 'ignore' }, (err, words) => errors.push(`${err.code}: ${words}`));
    await closed(child);
    expect(errors).toEqual(['ENOENT: /nonexistent/ffmpeg was not found']);
    expect(child.pid).toBeUndefined();
  });

  it('reports a file that is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spawn-child-'));
    const file = join(dir, 'ffmpeg');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const errors: string[] = [];
    const child = spawnChild(file, [], { stdio: 'ignore' }, (_err, words) => errors.push(words));
    await closed(child);
    expect(errors).toEqual([`${file} is not executable`]);
  });

  it('is the only way src/ starts a child process', () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => !f.endsWith(join('core', 'childProcess.ts')))
      .filter((f) => /import\s*\{[^}]*\b(spawn|spawnSync|exec|execSync|execFile|execFileSync|fork)\b[^}]*\}\s*from\s*'node:child_process'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
