// The panel's "Show in Home Assistant": POST /api/cameras/:id/live-view makes sure Home Assistant
// has a Generic Camera with the camera's live stream (idempotent) and answers
// {id, entry_id, entity_id, created}; GET reads it (404 when there is none); DELETE removes it.
import type { Router } from 'express';
import { authorize } from '../../auth/permissions.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { notFound, unauthorized } from '../../core/errors.js';
import type { LiveViewService } from '../../bridges/homeassistant/liveViews.js';
import { bearerFrom } from '../../auth/bearer.js';
import { sendError } from './httpApi.js';

export function mountLiveViewRoutes(router: Router, deps: { sessions: SessionRegistry; liveViews: LiveViewService }): void {
  const path = '/api/cameras/:id/live-view';
  router.get(path, (req, res) => {
    const actor = deps.sessions.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    try {
      authorize(actor, 'cameras.read');
      const rec = deps.liveViews.read(String(req.params.id));
      if (!rec) throw notFound('Live view');
      res.json(rec);
    } catch (err) {
      sendError(res, err);
    }
  });
  router.post(path, async (req, res) => {
    const actor = deps.sessions.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    try {
      res.json(await deps.liveViews.show(actor, String(req.params.id)));
    } catch (err) {
      sendError(res, err);
    }
  });
  router.delete(path, async (req, res) => {
    const actor = deps.sessions.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    try {
      res.json(await deps.liveViews.hide(actor, String(req.params.id)));
    } catch (err) {
      sendError(res, err);
    }
  });
}
