// GET /api/credentials/callback?state&code: where the authorization server sends the user's browser
// back. No bearer token here (a browser redirect carries none): the single-use state is the proof.
import type { Request, Response, Router } from 'express';
import { malformed } from '../../core/errors.js';
import { CALLBACK_PATH, type CallbackQuery, type CredentialsService } from '../../services/credentials/credentialsService.js';

const PARAMS = ['state', 'code', 'error', 'error_description'] as const;

function readQuery(req: Request): CallbackQuery {
  const out: CallbackQuery = {};
  for (const key of PARAMS) {
    const v: unknown = req.query[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > 4096) throw malformed('Invalid callback', [{ path: `query.${key}`, message: 'must be a single string' }]);
    out[key] = v;
  }
  return out;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function mountCredentialsCallback(router: Router, credentials: CredentialsService): void {
  router.get(CALLBACK_PATH, async (req: Request, res: Response) => {
    // The URL carries a code: keep it out of caches and Referer headers.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const view = await credentials.completeAuthorization(readQuery(req));
    res
      .status(200)
      .type('html')
      .send(`<!doctype html><meta charset="utf-8"><title>Switchboard</title><p>Credential "${escapeHtml(view.description)}" is authorized. You can close this window.</p>`);
  });
}
