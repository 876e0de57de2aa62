// Every bus listener belongs to the extension that subscribed it: a whole app with every bridge
// and adapter running leaves no listener behind when it stops.
import { afterEach, expect, it } from 'vitest';
import { HaPeer } from '../helpers/haPeer.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'long-lived-access-token-for-tests';
let peer: HaPeer | null = null;
let t: TestApp | null = null;

afterEach(async () => {
  await t?.stop();
  await peer?.stop();
  t = null;
  peer = null;
});

it('a stopped app leaves zero listeners on the bus', async () => {
  peer = new HaPeer(TOKEN);
  await peer.start();
  t = await startTestApp({ mqtt: { url: 'embedded', embedded_port: 0 }, homeassistant: { enabled: true, url: peer.url, token: TOKEN } });
  const app = t;
  await until('the Home Assistant bridge to connect', () => app.app.context.status.health().components.homeassistant?.state === 'ok');
  const bus = t.app.context.bus;
  // Sessions, status messages, cameras, streams, recordings, the four socket APIs, both bridges, live views.
  expect(bus.listenerCount()).toBeGreaterThanOrEqual(11);
  await t.stop();
  t = null;
  expect(bus.listenerCount()).toBe(0);
});
