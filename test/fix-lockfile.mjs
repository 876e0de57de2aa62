// The npm registry mirror these machines use lacks most of rollup's per-platform optional
// packages (only linux gnu/musl exist), so `npm install` leaves them out of package-lock.json and
// `npm ci` then refuses the lock as out of sync. This adds a placeholder entry for every missing
// optional dependency: `npm ci` tries it, finds nothing for other platforms, and skips it as the
// optional dependency it is. Run after any `npm install`: node test/fix-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const nested = `${path ? path + '/' : ''}node_modules/${name}`;
    if (lock.packages[`node_modules/${name}`] || lock.packages[nested]) continue;
    lock.packages[`node_modules/${name}`] = { version, ...(pkg.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`package-lock.json: ${added} placeholder entr${added === 1 ? 'y' : 'ies'} added`);
