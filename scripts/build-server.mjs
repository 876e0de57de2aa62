// Bundles the server (src/main.ts) into dist/ as ES modules: one file for what every start loads,
// and lazy chunks for what src/ imports with import() (mqtt, aedes, the V4L2 driver). Resolving,
// reading and compiling hundreds of separate files from node_modules was most of the start-up
// time (bench/RESULTS.md). Type checking stays with tsc (`npm run build` runs it first).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist');

// CommonJS packages (socket.io serving its client files, pino's transports) find their own files
// through __dirname/__filename, which an ES module does not have. Give each such file its place
// in node_modules as seen from dist/, which sits next to node_modules in the checkout and in the
// image (/app/dist, /app/node_modules: `npm ci` lays it out from the same lockfile).
const cjsFilePaths = {
  name: 'cjs-file-paths',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      const fromRoot = JSON.stringify(relative(root, args.path).split('\\').join('/'));
      const prelude = `var __filename = __moduleFile(${fromRoot}), __dirname = __moduleDir(__filename);`;
      return { contents: `${prelude}\n${source}`, loader: 'js' };
    });
  },
};

// JSON data in node_modules (mime-db, iconv-lite's code pages) stays in its file,
// required from there when used: bundled, it would be kept in memory twice, as source and as objects.
const jsonStaysInNodeModules = {
  name: 'json-stays-in-node-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*\.json$/ }, (args) => {
      // Only require(): an external `import … with { type: 'json' }` would lose its attribute.
      if (args.kind !== 'require-call' || !/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      const fromRoot = relative(root, resolve(dirname(args.importer), args.path)).split('\\').join('/');
      return { path: `../${fromRoot}`, external: true };
    });
  },
};

// npm keeps a package twice when two dependents cannot share the top-level copy (ws 8.21.3 under
// engine.io and under socket.io-adapter, next to our ws 8.23). Copies of the same name and version
// are the same code: bundle one of them (the shortest path in the lockfile), not each.
const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
const firstCopy = new Map();
for (const [path, meta] of Object.entries(lock.packages).sort(([a], [b]) => a.length - b.length || a.localeCompare(b))) {
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const key = `${name}@${meta.version}`;
  if (path && !firstCopy.has(key)) firstCopy.set(key, path);
}
const sameVersionOnce = {
  name: 'same-version-once',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'same-version-once' || !/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'same-version-once' });
      if (found.errors.length || found.external) return undefined;
      const fromRoot = relative(root, found.path).split('\\').join('/');
      const pkgDir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(fromRoot)?.[1];
      const meta = pkgDir && lock.packages[pkgDir];
      if (!meta) return undefined;
      const first = firstCopy.get(`${pkgDir.slice(pkgDir.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${meta.version}`);
      return first && first !== pkgDir ? { path: join(root, first, fromRoot.slice(pkgDir.length)) } : undefined;
    });
  },
};

// What bundled CommonJS code needs in an ES module: require (node built-ins and the packages left
// outside the bundle, resolved from dist/) and the helpers the cjsFilePaths prelude calls.
const banner = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { dirname as __moduleDir } from 'node:path';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  'const require = __createRequire(import.meta.url);',
  "const __moduleFile = (fromRoot) => __fileURLToPath(new URL('../' + fromRoot, import.meta.url));",
].join('\n');

await rm(outdir, { recursive: true, force: true });
const result = await build({
  write: false,
  entryPoints: [join(root, 'src', 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // koffi loads a native .node file chosen at run time; it stays in node_modules.
  external: ['koffi'],
  banner: { js: banner },
  plugins: [sameVersionOnce, cjsFilePaths, jsonStaysInNodeModules],
  // Not minified: stack traces keep their names and lines (minifying saved about 1 MB resident).
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
});

// esbuild escapes non-ASCII characters in code but not in the comments it keeps; one such character
// makes V8 hold the whole file as a two-byte string (about 2 MB more for main.js).
const escapeUnit = (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
const asciiOnly = (text) => text.replace(/[^\p{ASCII}]/gu, (c) => c.split('').map(escapeUnit).join(''));
for (const file of result.outputFiles) {
  const text = asciiOnly(file.text);
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(file.path, text);
}
