// POST /api/monitors/:id/command {command} → {status:"done"} once the monitor finished it.
// The relay's one queue (MonitorRelay.sendCommand, which MQTT and Home Assistant use too); over
// HTTP it also reaches the panel through Home Assistant ingress (which forwards only http_port).
import type { Router } from 'express';
import type { SessionRegistry } from '../../auth/sessions.js';
import { validationError } from '../../core/errors.js';
import type { MonitorRelay } from '../../services/monitors/monitorRelay.js';
import { actorOf, requireActor } from './httpApi.js';

export function mountMonitorCommandRoute(router: Router, deps: { sessions: SessionRegistry; relay: MonitorRelay }): void {
  router.post('/api/monitors/:id/command', requireActor(deps.sessions), async (req, res) => {
    const body = req.body as unknown;
    const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : null;
    const command = keys ? (body as Record<string, unknown>).command : undefined;
    if (!keys || typeof command !== 'string' || keys.some((k) => k !== 'command')) {
      throw validationError('Validation failed', [{ path: 'payload.command', message: 'expected {"command": "<text>"}' }]);
    }
    res.json(await deps.relay.sendCommand(actorOf(req), String(req.params.id), command));
  });
}
