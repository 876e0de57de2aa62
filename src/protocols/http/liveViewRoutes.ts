// The panel's "Show in Home Assistant": POST /api/cameras/:id/live-view makes sure Home Assistant
// has a Generic Camera with the camera's live stream (idempotent) and answers
// {id, entry_id, entity_id, created}; GET reads it (404 when there is none); DELETE removes it.
import type { Router } from 'express';
import type { SessionRegistry } from '../../auth/sessions.js';
import { notFound } from '../../core/errors.js';
import type { LiveViewService } from '../../services/liveViews/liveViewService.js';
import { actorOf, requireActor } from './httpApi.js';

export function mountLiveViewRoutes(router: Router, deps: { sessions: SessionRegistry; liveViews: LiveViewService }): void {
  const path = '/api/cameras/:id/live-view';
  router.get(path, requireActor(deps.sessions, 'cameras.read'), (req, res) => {
    const rec = deps.liveViews.read(String(req.params.id));
    if (!rec) throw notFound('Live view');
    res.json(rec);
  });
  router.post(path, requireActor(deps.sessions), async (req, res) => {
    res.json(await deps.liveViews.show(actorOf(req), String(req.params.id)));
  });
  router.delete(path, requireActor(deps.sessions), async (req, res) => {
    res.json(await deps.liveViews.hide(actorOf(req), String(req.params.id)));
  });
}
