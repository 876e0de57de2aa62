// DOCS.md's configuration tables are the user reference of every key in the config schema
// (src/config/schema.ts): each key appears once with its default, and no table names a key the
// schema does not have. The default shown is the add-on's (config.yaml `options`) where the add-on
// sets one, else the schema's; "—" for a key that is unset by default.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

const read = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

/** Every leaf key of a zod object schema, dotted (`mqtt.url`). */
function leafKeys(schema: z.ZodTypeAny, prefix = ''): string[] {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodEffects) s = s instanceof z.ZodEffects ? s.innerType() : s._def.innerType;
  if (!(s instanceof z.ZodObject)) return [prefix];
  return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

const at = (obj: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
const has = (obj: unknown, path: string): boolean => {
  const parts = path.split('.');
  const parent = at(obj, parts.slice(0, -1).join('.') || '') ?? (parts.length === 1 ? obj : undefined);
  return parent !== null && typeof parent === 'object' && parts.at(-1)! in parent;
};
const shown = (v: unknown): string => (v === undefined ? '—' : `\`${Array.isArray(v) ? JSON.stringify(v) : String(v)}\``);

/** Key → default cell of every row in DOCS.md's Configuration section whose first cell is a `key`. */
function documented(docs: string): Map<string, string[]> {
  const section = docs.slice(docs.indexOf('\n## Configuration'), docs.indexOf('\n## ', docs.indexOf('\n## Configuration') + 1));
  const rows = new Map<string, string[]>();
  for (const m of section.matchAll(/^\| `([a-z_][a-z0-9_.]*)` \| ([^|]*) \|/gm)) rows.set(m[1]!, [...(rows.get(m[1]!) ?? []), m[2]!.trim()]);
  return rows;
}

describe('DOCS.md configuration reference', () => {
  const keys = leafKeys(configSchema);
  const defaults = configSchema.parse({});
  const addonOptions = (parseYaml(read('config.yaml')) as { options: Record<string, unknown> }).options;
  const rows = documented(read('DOCS.md'));
  const expected = (key: string) => shown(has(addonOptions, key) ? at(addonOptions, key) : at(defaults, key));

  it('finds the schema keys and the table rows (the check is not vacuous)', () => {
    expect(keys).toContain('mqtt.url');
    expect(keys).toContain('recording.segment_seconds');
    expect(keys.length).toBeGreaterThan(50);
    expect(rows.size).toBeGreaterThan(40);
    expect(expected('recording.segment_seconds')).toBe('`60`');
    expect(expected('admin_password')).toBe('—');
  });

  it('documents every key of the schema once, with its default', () => {
    const problems = keys.flatMap((k) => {
      const cells = rows.get(k);
      if (!cells) return [`${k}: not in DOCS.md`];
      if (cells.length > 1) return [`${k}: in ${cells.length} rows`];
      return cells[0] === expected(k) ? [] : [`${k}: DOCS says ${cells[0]}, the default is ${expected(k)}`];
    });
    expect(problems).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    expect([...rows.keys()].filter((k) => !keys.includes(k))).toEqual([]);
  });
});
