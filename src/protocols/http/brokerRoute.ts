// GET /api/mqtt/broker → where and how to reach the embedded MQTT broker (host, port, username,
// password), for admins only: the panel shows it so `mosquitto_sub -u … -P …` can be used.
import type { Router } from 'express';
import { authorize } from '../../auth/permissions.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { notFound } from '../../core/errors.js';
import type { MqttBridge } from '../../bridges/mqtt/mqttBridge.js';
import { actorOf, requireActor } from './httpApi.js';

export function mountBrokerRoute(router: Router, deps: { sessions: SessionRegistry; mqtt: MqttBridge }): void {
  router.get('/api/mqtt/broker', requireActor(deps.sessions), (req, res) => {
    authorize(actorOf(req), 'mqtt.credentials', 'Only admins may see the MQTT broker credentials');
    const broker = deps.mqtt.embeddedBroker();
    if (!broker) throw notFound('Embedded MQTT broker');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ embedded: true, ...broker });
  });
}
