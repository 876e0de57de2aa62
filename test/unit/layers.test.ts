// The layering rule, checked over the import graph of src/: a file imports only from its own layer
// or the layers below it, no protocol adapter or bridge imports another one, and nothing but
// main.ts imports the composition root (app.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Lowest first. A folder may import its own layer and every layer before it. */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['config', 'logging'],
  ['store'],
  ['auth'],
  // The domain: services and the camera service with its drivers and streaming.
  ['services', 'camera'],
  ['protocols', 'bridges'],
  ['app.ts'],
  ['main.ts'],
];

/** Folders whose sub-folders are separate adapters that must not import each other. */
const ISOLATED = new Set(['protocols', 'bridges']);

/**
 * Deliberate exceptions, each with its reason. store/schema.ts names the record type of every
 * collection (type-only): the file's shape is the sum of the services' records.
 */
const ALLOWED: readonly { from: string; to: string }[] = [{ from: 'store/schema.ts', to: '*' }];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });
}

const unit = (rel: string): string => rel.split('/')[0]!;
const layerOf = (rel: string): number => LAYERS.findIndex((l) => l.includes(unit(rel)));
/** `protocols/nestmtx/x.ts` → `protocols/nestmtx`; other files → their top folder. */
const adapterOf = (rel: string): string => (ISOLATED.has(unit(rel)) ? rel.split('/').slice(0, 2).join('/') : unit(rel));

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\('(\.[^']+)'\)/g)];
  return specs.map((m) => relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

function violations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    if (layerOf(from) < 0) out.push(`${from}: its folder is in no layer (add it to LAYERS)`);
    for (const to of relativeImports(file)) {
      if (ALLOWED.some((a) => a.from === from && (a.to === '*' || a.to === to))) continue;
      if (to === 'app.ts' && from !== 'main.ts') out.push(`${from} imports the composition root app.ts`);
      else if (layerOf(to) > layerOf(from)) out.push(`${from} imports ${to}, a layer above it`);
      else if (ISOLATED.has(unit(from)) && unit(from) === unit(to) && adapterOf(from) !== adapterOf(to)) out.push(`${from} imports ${to}, another adapter`);
    }
  }
  return out;
}

describe('layers', () => {
  it('every file under src/ imports only its own layer or the ones below it', () => {
    expect(violations()).toEqual([]);
  });

  it('the check finds an upward import and an adapter importing another', () => {
    // The rule itself, on two made-up files, so a broken parser cannot pass the test above vacuously.
    expect(layerOf('core/eventBus.ts')).toBeLessThan(layerOf('camera/cameraService.ts'));
    expect(layerOf('protocols/http/httpApi.ts')).toBeGreaterThan(layerOf('services/modules.ts'));
    expect(adapterOf('protocols/nestmtx/handshakeToken.ts')).not.toBe(adapterOf('protocols/http/httpApi.ts'));
    expect(relativeImports(join(SRC, 'main.ts'))).toContain('app.ts');
  });
});
