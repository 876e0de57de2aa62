// The catalog is the one place a camera control is named: every label is written in at most two
// files of the server, panel and card sources (the catalog, and the kernel's own name in the
// simulated driver's vivid table where vivid spells it the same), keys are unique, and DOCS lists
// every entry.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG, DEVICE_CONTROLS, IMAGE_SETTINGS, RANGE_KEYS, SWITCH_KEYS, knownDeviceControl } from '../../src/camera/controlCatalog.js';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|html|css)$/.test(name) ? [path] : [];
  });
}

const FILES = ['src', 'web/src', 'card/src'].flatMap((d) => sources(join(ROOT, d))).map((path) => ({ path: path.slice(ROOT.length + 1), text: readFileSync(path, 'utf8') }));

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('control catalog', () => {
  it('writes each label in at most two source files', () => {
    expect(FILES.length).toBeGreaterThan(50);
    for (const entry of CATALOG) {
      // A label as a string (quoted or the whole text of an element): what a user reads.
      const literal = new RegExp(`(['"\`>])${escape(entry.label)}(\\1|<)`);
      const holders = FILES.filter((f) => literal.test(f.text)).map((f) => f.path);
      expect(holders, entry.label).toContain('src/camera/controlCatalog.ts');
      expect(holders.length, `${entry.label}: ${holders.join(', ')}`).toBeLessThanOrEqual(2);
    }
  });

  it('has unique keys and labels, an mdi icon for each, and the image settings in the order of the keys', () => {
    const keys = CATALOG.map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
    const labels = CATALOG.map((e) => e.label);
    expect(new Set(labels).size).toBe(labels.length);
    for (const e of CATALOG) expect(e.icon, e.key).toMatch(/^mdi:[a-z0-9-]+$/);
    expect(Object.keys(IMAGE_SETTINGS)).toEqual([...RANGE_KEYS, ...SWITCH_KEYS]);
    for (const key of RANGE_KEYS) expect(IMAGE_SETTINGS[key]).toMatchObject({ component: 'number', scale: 'percent' });
    for (const key of SWITCH_KEYS) expect(IMAGE_SETTINGS[key]).toMatchObject({ component: 'switch', scale: 'switch' });
  });

  it('names the camera controls users ask for by their standard V4L2 ids, enabled by default', () => {
    const wanted: [string, number][] = [
      ['auto_exposure', 0x009a0901], ['exposure_time_absolute', 0x009a0902], ['focus_automatic_continuous', 0x009a090c], ['focus_absolute', 0x009a090a],
      ['zoom_absolute', 0x009a090d], ['pan_absolute', 0x009a0908], ['tilt_absolute', 0x009a0909], ['white_balance_automatic', 0x0098090c],
      ['white_balance_temperature', 0x0098091a], ['power_line_frequency', 0x00980918], ['backlight_compensation', 0x0098091c], ['gamma', 0x00980910],
      ['horizontal_flip', 0x00980914], ['vertical_flip', 0x00980915],
    ];
    for (const [key, id] of wanted) expect(knownDeviceControl(id), key).toMatchObject({ key, enabledByDefault: true, scale: 'device' });
    expect(DEVICE_CONTROLS.map((e) => e.key).sort()).toEqual(wanted.map(([k]) => k).sort());
  });

  it('DOCS lists every entry of the catalog in its Camera controls section', () => {
    const docs = readFileSync(join(ROOT, 'DOCS.md'), 'utf8');
    const start = docs.indexOf('\n## Camera controls');
    expect(start).toBeGreaterThan(0);
    const end = docs.indexOf('\n## ', start + 1);
    const section = docs.slice(start, end === -1 ? undefined : end);
    const rows = new Map(
      section.split('\n').filter((l) => l.startsWith('| `')).map((l) => {
        const cells = l.split('|').map((c) => c.trim());
        return [cells[1]!.replace(/`/g, ''), cells] as const;
      }),
    );
    for (const e of CATALOG) {
      const row = rows.get(e.key);
      expect(row, `DOCS row for ${e.key}`).toBeDefined();
      expect(row![2], e.key).toBe(e.label);
      expect(row![3], e.key).toBe(e.component);
    }
    expect(rows.size).toBe(CATALOG.length);
  });
});
