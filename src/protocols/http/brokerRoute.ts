// GET /api/mqtt/broker → where and how to reach the embedded MQTT broker (host, port, username,
// password), for admins only: the panel shows it so `mosquitto_sub -u … -P …` can be used.
import type { Router } from 'express';
import { authorize } from '../../auth/permissions.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { notFound } from '../../core/errors.js';
import { actorOf, requireActor } from './httpApi.js';

/** The embedded broker's address and Switchboard's own login there (null: no embedded broker). */
export interface EmbeddedBrokerLogin {
  host: string;
  port: number;
  username: string;
  password: string;
}

export function mountBrokerRoute(router: Router, deps: { sessions: SessionRegistry; embeddedBroker: () => EmbeddedBrokerLogin | null }): void {
  router.get('/api/mqtt/broker', requireActor(deps.sessions), (req, res) => {
    authorize(actorOf(req), 'mqtt.credentials', 'Only admins may see the MQTT broker credentials');
    const broker = deps.embeddedBroker();
    if (!broker) throw notFound('Embedded MQTT broker');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ embedded: true, ...broker });
  });
}
