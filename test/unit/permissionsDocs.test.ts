// DOCS.md "Who can do what" and src/auth/permissions.ts must say the same: every row names its
// permissions, its ticks are what `can` answers for each role, and every permission has a row.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { can, PERMISSIONS, type Action } from '../../src/auth/permissions.js';
import { ROLES, type Role } from '../../src/auth/records.js';

interface Row {
  action: string;
  permissions: string[];
  ticks: Record<Role, boolean>;
}

function docsTable(docs: string): Row[] {
  const section = docs.slice(docs.indexOf('### Who can do what'));
  const body = section.slice(0, section.indexOf('\n### ', 5));
  const lines = body.split('\n').filter((l) => l.startsWith('|'));
  const header = lines[0]!.split('|').slice(1, -1).map((c) => c.trim());
  expect(header).toEqual(['Action', 'Permission', 'viewer', 'user', 'admin']);
  return lines.slice(2).map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    return {
      action: cells[0]!,
      permissions: [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
      ticks: { viewer: cells[2] === '✓', user: cells[3] === '✓', admin: cells[4] === '✓' },
    };
  });
}

const DOCS = readFileSync(join(import.meta.dirname, '..', '..', 'DOCS.md'), 'utf8');

describe('the permission table in DOCS.md', () => {
  it('ticks each role exactly where the code allows it', () => {
    const rows = docsTable(DOCS);
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) {
      expect(row.permissions.length, row.action).toBeGreaterThan(0);
      for (const p of row.permissions) {
        expect(Object.keys(PERMISSIONS), `${row.action}: ${p}`).toContain(p);
        for (const role of ROLES) expect(row.ticks[role], `${row.action}: ${p} for ${role}`).toBe(can(role, p as Action));
      }
    }
  });

  it('has a row for every permission, and only one', () => {
    const named = docsTable(DOCS).flatMap((r) => r.permissions);
    expect([...named].sort()).toEqual(Object.keys(PERMISSIONS).sort());
  });

  it('says that users (and MQTT as a user) switch cameras on and off, as the code lets them', () => {
    const row = docsTable(DOCS).find((r) => r.action.includes('switch them on or off'))!;
    expect(row.permissions).toEqual(['cameras.control']);
    expect(can('user', 'cameras.control')).toBe(true);
    expect(can('viewer', 'cameras.control')).toBe(false);
  });

  it('notices a disagreement (the comparison is not vacuous)', () => {
    const wrong = DOCS.replace('| `cameras.control` | | ✓ | ✓ |', '| `cameras.control` | | | ✓ |');
    expect(wrong).not.toBe(DOCS);
    const row = docsTable(wrong).find((r) => r.permissions.includes('cameras.control'))!;
    expect(row.ticks.user).not.toBe(can('user', 'cameras.control'));
  });
});
