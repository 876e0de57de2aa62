// Serves the web panel (web/dist, built by `npm run build:web`). The same files work on the direct
// port at `/` and under Home Assistant ingress, whose proxy strips `/api/hassio_ingress/<token>`
// and names it in X-Ingress-Path: index.html gets a per-request <base href> and a small boot object
// so relative asset URLs, API calls and the socket paths all resolve under that prefix.
import { existsSync, readFileSync } from 'node:fs';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { HA_HEADERS, type IngressSignIn } from '../../auth/ingress.js';
import { clientAddress } from './httpApi.js';

/** What the page needs before it can talk to anything; read by web/src/boot.ts. */
export interface PanelBoot {
  /** '' on the direct port, e.g. '/api/hassio_ingress/abc' under ingress; never ends with '/'. */
  base: string;
  /** The request came through the ingress proxy with a Home Assistant user: sign in without a form. */
  ingress: boolean;
  version: string;
  /** The Altoponix relay's port (monitor commands), when it is listening. */
  monitorPort: number | null;
}

export interface PanelDeps {
  ingress: IngressSignIn;
  version: string;
  ports: () => Record<string, number>;
  logger: Logger;
  /** The built panel (web/dist). */
  dir: string;
}

const MAX_BASE = 256;
const BASE_RE = /^(\/[A-Za-z0-9._~%-]+)+$/;
const BOOT_MARKER = '<!--switchboard-boot-->';
/** What `npm run build:web` emits besides index.html. */
const ASSET_RE = /^\/main\.(js|css)(\.map)?$/;

/** The ingress prefix of a request, '' when there is none or it does not look like a URL path. */
export function basePathOf(req: Request, ingress: IngressSignIn): string {
  if (!ingress.isTrustedProxy(clientAddress(req))) return '';
  const raw = req.headers[HA_HEADERS.ingressPath];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().replace(/\/+$/, '') ?? '';
  return value.length <= MAX_BASE && BASE_RE.test(value) ? value : '';
}

/** Malformed user headers do not make the page fail: it then shows the login form. */
function comesWithHaUser(req: Request, ingress: IngressSignIn): boolean {
  try {
    return ingress.identify(clientAddress(req), req.headers) !== null;
  } catch {
    return false;
  }
}

/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function renderIndex(template: string, boot: PanelBoot): string {
  const head = `<base href="${attr(boot.base)}/">\n<script>window.__SWITCHBOARD__=${scriptJson(boot)}</script>`;
  return template.replace(BOOT_MARKER, head);
}

/** Mount last on the extensions router: it answers `/`, `/index.html` and the built assets only. */
export function mountPanel(router: Router, deps: PanelDeps): void {
  const { dir } = deps;
  const indexFile = `${dir}/index.html`;
  let template: string | null = null;
  const load = (): string | null => {
    if (template === null && existsSync(indexFile)) template = readFileSync(indexFile, 'utf8');
    return template;
  };
  if (!load()) deps.logger.warn({ dir }, 'the web panel is not built (npm run build:web): / answers 503');

  const index = (req: Request, res: Response) => {
    const html = load();
    res.setHeader('Cache-Control', 'no-store');
    if (!html) {
      res.status(503).type('text/plain').send('The Switchboard web panel has not been built. Run "npm run build:web" and restart.');
      return;
    }
    const boot: PanelBoot = {
      base: basePathOf(req, deps.ingress),
      ingress: comesWithHaUser(req, deps.ingress),
      version: deps.version,
      monitorPort: deps.ports().monitor ?? null,
    };
    res.type('html').send(renderIndex(html, boot));
  };

  router.get(['/', '/index.html'], index);
  // Only the bundle's own files: API requests never cost a file lookup.
  const assets = express.static(dir, { index: false, redirect: false, fallthrough: true });
  router.get(ASSET_RE, assets);
}
