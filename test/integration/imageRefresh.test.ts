// cameras.image_interval_seconds: with nobody streaming, the camera image is refreshed by a brief
// capture that stops again (no lasting process, no user-facing snapshot events).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { hasFfmpeg, until } from '../helpers/wait.js';

let t: TestApp;
const events: DomainEvent[] = [];


beforeAll(async () => {
  if (!hasFfmpeg) return;
  t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0, image_interval_seconds: 2 } });
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
});

afterAll(async () => {
  await t?.stop();
});

describe.skipIf(!hasFfmpeg)('idle image refresh', () => {
  it('captures briefly for each refresh and stops again', async () => {
    const cameraId = t.app.context.cameras!.all()[0]!.id;
    const names = () => events.filter((e) => e.entity === cameraId).map((e) => e.event);
    await until('two image refreshes', () => names().filter((n) => n === 'image').length >= 2, 60_000);
    const seq = names().filter((n) => ['demand', 'ready', 'image', 'unDemand', 'notReady'].includes(n));
    const first = seq.indexOf('image');
    // Each refresh: demand, ready, image, then the capture is released and stops.
    expect(seq.slice(0, first + 1)).toEqual(['demand', 'ready', 'image']);
    expect(seq.slice(first + 1, first + 3)).toEqual(['unDemand', 'notReady']);
    expect(names()).not.toContain('snapshot');
    const snap = t.app.context.streams!.latestSnapshot(cameraId);
    expect(snap?.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  }, 90_000);
});
