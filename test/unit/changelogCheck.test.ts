// scripts/check-changelog.mjs on throw-away git repositories: a change to src/ after the last change
// to "Unreleased" fails; one that comes with a line under Unreleased passes; an edit elsewhere in the
// changelog does not count.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../../scripts/check-changelog.mjs', import.meta.url).pathname;
const dirs: string[] = [];

function repo(): { dir: string; commit(files: Record<string, string>, message: string): void; check(): { status: number | null; out: string } } {
  const dir = mkdtempSync(join(tmpdir(), 'changelog-check-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('config', 'user.email', 'test@example.invalid');
  git('config', 'user.name', 'test');
  git('config', 'commit.gpgsign', 'false');
  return {
    dir,
    commit(files, message) {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      git('add', '-A');
      git('commit', '-q', '-m', message);
    },
    check() {
      const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
      return { status: r.status, out: r.stdout + r.stderr };
    },
  };
}

const changelog = (unreleased: string, older = '## [0.1.0] - 2026-11-23\n\n- First release.\n') => `# Changelog\n\n## [Unreleased]\n\n${unreleased}\n${older}`;

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('check-changelog', () => {
  it('passes when src/ changed together with Unreleased', () => {
    const r = repo();
    r.commit({ 'CHANGELOG.md': changelog(''), 'src/a.ts': '1' }, 'start');
    r.commit({ 'CHANGELOG.md': changelog('- A changed.\n'), 'src/a.ts': '2' }, 'a changes');
    r.commit({ 'README.md': 'docs' }, 'docs only');
    expect(r.check()).toMatchObject({ status: 0 });
  });

  it('fails when src/ changed after the last change to Unreleased, naming the commit', () => {
    const r = repo();
    r.commit({ 'CHANGELOG.md': changelog('- A.\n'), 'src/a.ts': '1' }, 'start');
    r.commit({ 'src/a.ts': '2' }, 'silent change');
    const result = r.check();
    expect(result.status).toBe(1);
    expect(result.out).toContain('silent change');
  });

  it('does not count an edit to an older release as a change to Unreleased', () => {
    const r = repo();
    r.commit({ 'CHANGELOG.md': changelog('- A.\n'), 'src/a.ts': '1' }, 'start');
    r.commit({ 'src/a.ts': '2' }, 'silent change');
    r.commit({ 'CHANGELOG.md': changelog('- A.\n', '## [0.1.0] - 2026-11-23\n\n- First release, fixed typo.\n') }, 'typo');
    expect(r.check().status).toBe(1);
  });
});
