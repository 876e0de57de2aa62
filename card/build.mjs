// Bundles the camera card into one ES module (lit included), stamped with the add-on version so
// the card and its ?v= resource URL agree. Output: card/dist/switchboard-camera-card.js.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

await build({
  entryPoints: [new URL('card/src/switchboard-camera-card.ts', root).pathname],
  outfile: new URL('card/dist/switchboard-camera-card.js', root).pathname,
  bundle: true,
  format: 'esm',
  target: 'es2021',
  minify: true,
  legalComments: 'none',
  define: { SWITCHBOARD_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
});
