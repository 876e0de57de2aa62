// The command the add-on runs, read from its s6 run script, so the bench measures exactly what
// ships: `node <flags> /app/dist/main.js` becomes `node <flags> <repo>/dist/main.js`, with the
// environment the script exports for it (e.g. the C library's allocator settings).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_SCRIPT = join(import.meta.dirname, '..', 'addon', 'rootfs', 'etc', 'services.d', 'switchboard', 'run');

/** The node flags on the run script's `node … /app/dist/main.js` line; throws when there is no such line. */
export function shippedNodeFlags(script = readFileSync(RUN_SCRIPT, 'utf8')): string[] {
  const line = /\bnode((?: --\S+)*) \/app\/dist\/main\.js\b/.exec(script);
  if (!line) throw new Error(`${RUN_SCRIPT} has no "node … /app/dist/main.js" line`);
  return line[1]!.split(' ').filter(Boolean);
}

/** The variables the run script exports (`export NAME=value` lines), e.g. MALLOC_MMAP_THRESHOLD_. */
export function shippedEnv(script = readFileSync(RUN_SCRIPT, 'utf8')): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of script.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  return env;
}
