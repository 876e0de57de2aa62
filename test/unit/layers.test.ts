// The layering rule, checked over the import graph of src/: a file imports only from its own layer
// or the layers below it, no protocol adapter or bridge imports another one (within its folder or
// across protocols/ and bridges/), nothing but main.ts imports the composition root (app.ts), and
// no chain of imports comes back to where it started.
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
  // The domain. camera/ (the camera service, its drivers and streaming) uses services/ (module
  // paging, storage health, status) and nothing in services/ uses camera/: it is the layer above.
  ['services'],
  ['camera'],
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


type Graph = ReadonlyMap<string, readonly string[]>;

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
const isAdapter = (rel: string): boolean => ISOLATED.has(unit(rel));

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\('(\.[^']+)'\)/g)];
  return specs.map((m) => relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

function importGraph(): Graph {
  return new Map(sourceFiles(SRC).map((f) => [relative(SRC, f), relativeImports(f)]));
}

function violations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, imports] of graph) {
    if (layerOf(from) < 0) out.push(`${from}: its folder is in no layer (add it to LAYERS)`);
    for (const to of imports) {
      if (isAdapter(from) && isAdapter(to) && adapterOf(from) !== adapterOf(to)) {
        out.push(`${from} imports ${to}, another adapter`);
        continue;
      }
      if (ALLOWED.some((a) => a.from === from && (a.to === '*' || a.to === to))) continue;
      if (to === 'app.ts' && from !== 'main.ts') out.push(`${from} imports the composition root app.ts`);
      else if (layerOf(to) > layerOf(from)) out.push(`${from} imports ${to}, a layer above it`);
    }
  }
  return out;
}

/** Every import cycle (type-only imports included), as the files of each strongly connected set. */
function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const set: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      set.push(w);
    } while (w !== v);
    if (set.length > 1 || graph.get(v)!.includes(v)) found.push(set.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('layers', () => {
  const graph = importGraph();

  it('every file under src/ imports only its own layer or the ones below it, and no adapter imports another', () => {
    expect(violations(graph)).toEqual([]);
  });

  it('no import cycle in src/', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the checks find a protocol importing a bridge, an upward import and a cycle', () => {
    // The rules on made-up graphs, so a broken parser cannot pass the tests above vacuously.
    const planted = new Map(graph);
    planted.set('protocols/nestmtx/planted.ts', ['bridges/mqtt/mqttBridge.ts']);
    planted.set('bridges/mqtt/planted.ts', ['protocols/http/httpApi.ts']);
    planted.set('services/planted.ts', ['camera/cameraService.ts']);
    expect(violations(planted).filter((v) => v.includes('planted'))).toEqual([
      'protocols/nestmtx/planted.ts imports bridges/mqtt/mqttBridge.ts, another adapter',
      'bridges/mqtt/planted.ts imports protocols/http/httpApi.ts, another adapter',
      'services/planted.ts imports camera/cameraService.ts, a layer above it',
    ]);
    const looped = new Map(graph);
    looped.set('core/a.ts', ['core/b.ts']);
    looped.set('core/b.ts', ['core/c.ts']);
    looped.set('core/c.ts', ['core/a.ts']);
    expect(cycles(looped)).toContainEqual(['core/a.ts', 'core/b.ts', 'core/c.ts']);
    expect(relativeImports(join(SRC, 'main.ts'))).toContain('app.ts');
    expect(graph.get('protocols/http/brokerRoute.ts')).toBeDefined();
  });
});
