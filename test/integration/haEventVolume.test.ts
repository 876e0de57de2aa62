// What one dashboard viewer costs Home Assistant's event bus (its recorder stores every event):
// news only, no telemetry. A real ffmpeg capture, an MJPEG reader over HTTP, the HA protocol peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { HaPeer } from '../helpers/haPeer.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { hasFfmpeg, until } from '../helpers/wait.js';

const TOKEN = 'long-lived-access-token-for-tests';
/** The camera image refreshes this often while streaming, so thirty refreshes (thirty seconds at the default 1 fps) take three. */
const IMAGE_FPS = 10;

describe.skipIf(!hasFfmpeg)("Home Assistant's event bus while someone watches", () => {
  let peer: HaPeer;
  let t: TestApp;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    peer = new HaPeer(TOKEN);
    await peer.start();
    t = await startTestApp({
      homeassistant: { enabled: true, url: peer.url, token: TOKEN, card: false },
      cameras: { simulated: 'always', live_image_fps: IMAGE_FPS, stream_linger_seconds: 0 },
      recording: { min_free_mb: 0 },
    });
    t.app.context.bus.subscribe(events, (e) => events.push(e));
    await until('Home Assistant connected', () => t.app.context.status.health().components.homeassistant?.state === 'ok');
  });

  afterAll(async () => {
    await t?.stop();
    await peer?.stop();
  });

  it('thirty image refreshes of one MJPEG viewer put at most ten events on the bus; starting and stopping a recording fires both', async () => {
    const token = await t.login();
    const id = t.app.context.cameras.all()[0]!.id;
    const firedFrom = peer.fired.length;
    const busFrom = events.length;
    const images = () => events.slice(busFrom).filter((e) => e.domain === 'camera' && e.entity === id && e.event === 'image').length;

    const res = await fetch(`${t.url}/api/cameras/${id}/stream.mjpeg`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let bytes = 0;
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        bytes += value.length;
      }
    })();
    await until('thirty camera image refreshes', () => images() >= 30, 60_000);
    await reader.cancel();
    await reading;
    expect(bytes).toBeGreaterThan(1000);
    const watched = events.slice(busFrom);
    // Telemetry happened on the bus (the viewer's demand, read, unread, the images) …
    const seen = new Set(watched.filter((e) => e.entity === id).map((e): string => e.event));
    for (const name of ['demand', 'read', 'ready', 'image']) expect(seen.has(name), name).toBe(true);

    // … and a recording started and stopped afterwards marks the end of the window on HA's side:
    // the bus fires in order, so everything before it that was fired has arrived.
    expect((await t.api('PUT', `/api/cameras/${id}`, token, { record: true })).status).toBe(200);
    const on = await peer.waitFor(() => peer.fired.slice(firedFrom).find((f) => f.data.event === 'recording' && (f.data.details as { state?: string }).state === 'on'), 30_000);
    expect(on.data).toMatchObject({ domain: 'camera', entity: id, details: { state: 'on', trigger: 'manual' }, at: expect.any(String) });
    const inWindow = peer.fired.slice(firedFrom, peer.fired.indexOf(on));
    expect(inWindow.length).toBeLessThanOrEqual(10);
    for (const f of inWindow) expect(['image', 'read', 'unread', 'demand', 'unDemand', 'ready', 'notReady', 'updated']).not.toContain(String(f.data.event));

    expect((await t.api('PUT', `/api/cameras/${id}`, token, { record: false })).status).toBe(200);
    const off = await peer.waitFor(() => peer.fired.slice(firedFrom).find((f) => f.data.event === 'recording' && (f.data.details as { state?: string }).state === 'off'), 30_000);
    expect(off.data).toMatchObject({ domain: 'camera', entity: id, details: { state: 'off' } });
    console.log(`one MJPEG viewer, ${images()} image refreshes: ${watched.length} bus events, ${inWindow.length} fired on Home Assistant's bus`);
  }, 120_000);
});
