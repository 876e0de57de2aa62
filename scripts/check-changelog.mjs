#!/usr/bin/env node
// CI check: no commit may change src/ after the last commit that changed the "Unreleased" section
// of CHANGELOG.md. A change to src/ therefore lands with (or before) a line under Unreleased. It
// needs only git history, no tags: the base is found by reading the section at each commit that
// touched CHANGELOG.md, newest first. Run from the repository root or with the root as argument.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(process.argv[2] ?? process.cwd());
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const tryGit = (...args) => {
  try {
    return git(...args);
  } catch {
    return null;
  }
};

/** The text of the Unreleased section at a commit ("" when the file or the section is missing). */
function unreleasedAt(commit) {
  const text = tryGit('show', `${commit}:CHANGELOG.md`);
  if (text === null) return '';
  const start = text.search(/^## \[Unreleased\]/m);
  if (start < 0) return '';
  const next = text.slice(start + 1).search(/^## /m);
  return next < 0 ? text.slice(start) : text.slice(start, start + 1 + next);
}

// A shallow clone (CI often fetches one commit) has no history to judge: fetch the rest first.
if (git('rev-parse', '--is-shallow-repository') === 'true' && tryGit('fetch', '--unshallow', '--quiet') === null) {
  console.warn('check-changelog: a shallow clone and the full history could not be fetched; not checked');
  process.exit(0);
}

let base = null;
for (const commit of git('log', '--format=%H', '--', 'CHANGELOG.md').split('\n').filter(Boolean)) {
  const parent = tryGit('rev-parse', '--verify', '--quiet', `${commit}^`);
  if (parent === null || unreleasedAt(commit) !== unreleasedAt(parent)) {
    base = commit;
    break;
  }
}
if (base === null) {
  console.error('check-changelog: CHANGELOG.md has no "## [Unreleased]" section in its history');
  process.exit(1);
}

const later = git('log', '--format=%h %s', `${base}..HEAD`, '--', 'src/').split('\n').filter(Boolean);
if (later.length > 0) {
  console.error(`check-changelog: src/ changed after the last change to "Unreleased" in CHANGELOG.md (${base.slice(0, 7)}):`);
  for (const line of later) console.error(`  ${line}`);
  console.error('Add what changed for users under "## [Unreleased]".');
  process.exit(1);
}
console.log(`check-changelog: ok ("Unreleased" last changed in ${base.slice(0, 7)}; src/ unchanged since)`);
