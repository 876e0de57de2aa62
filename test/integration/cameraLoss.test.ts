// A camera lost mid-stream, against real ffmpeg: the cable of a simulated camera is pulled while an
// MJPEG reader and another demand holder are attached. The reader gets a clean end of its stream,
// `notReady` goes out (on the bus and to NestMTX clients), the other demand is kept, and the stream
// resumes on the replug without anyone asking again.
import { connect } from 'node:net';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { hasFfmpeg, until } from '../helpers/wait.js';


describe.skipIf(!hasFfmpeg)('a camera lost mid-stream', () => {
  let t: TestApp;
  let token: string;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0, scan_interval_seconds: 1 } });
    token = await t.login();
    t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('ends the reader cleanly, says notReady everywhere, keeps demands and resumes on replug', async () => {
    const cameras = t.app.context.cameras!;
    const streams = t.app.context.streams!;
    const cam = cameras.all()[0]!;
    await t.api('PUT', `/api/cameras/${cam.id}`, token, { controls: { resolution: '320x180' } });
    const nest: ClientSocket = connectClient(t.url, { auth: { token }, transports: ['websocket'] });
    const nestNotReady: unknown[] = [];
    nest.on('camera:notReady', (p: unknown) => nestNotReady.push(p));
    await new Promise<void>((resolve) => nest.once('connect', () => resolve()));

    // A reader over a raw socket, and a demand held by someone else (as a lab node or the MQTT switch does).
    const socket = connect(t.port, '127.0.0.1');
    let body = Buffer.alloc(0);
    let ended = false;
    socket.on('data', (d: Buffer) => (body = Buffer.concat([body, d])));
    socket.on('end', () => (ended = true));
    socket.write(`GET /api/cameras/${cam.id}/stream.mjpeg HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const holder = { type: 'lab', id: 'holder' };
    cameras.addDemand(cam.id, holder);
    await until('ready', () => streams.isReady(cam.id), 20_000);

    t.app.context.simulatedCameras!.pull(cam.device);
    await until('the reader’s stream to end', () => ended, 20_000);
    // A clean end: the multipart body closes with its final boundary, then the connection.
    // (chunked transfer: the last chunk is the closing boundary, then the zero-length chunk)
    expect(body.subarray(-40).toString('latin1')).toMatch(/--switchboardframe--\r\n\r\n0\r\n\r\n$/);
    await until('notReady', () => events.some((e) => e.entity === cam.id && e.event === 'notReady'), 10_000);
    expect(events.find((e) => e.entity === cam.id && e.event === 'notReady')!.details).toEqual({ reason: 'camera disconnected' });
    await until('notReady on NestMTX', () => nestNotReady.length > 0, 10_000);
    expect(streams.isReady(cam.id)).toBe(false);
    expect(streams.capturePid(cam.id)).toBeUndefined();
    // The holder's demand is still there: no unDemand was published.
    const sinceLoss = events.slice(events.findIndex((e) => e.entity === cam.id && e.event === 'disconnected'));
    expect(sinceLoss.some((e) => e.entity === cam.id && e.event === 'unDemand')).toBe(false);
    // A new reader while the camera is away is told so.
    expect((await t.api('GET', `/api/cameras/${cam.id}/snapshot.jpg`, token)).status).toBe(503);

    const readyBefore = events.filter((e) => e.entity === cam.id && e.event === 'ready').length;
    t.app.context.simulatedCameras!.plugBack(cam.device);
    await until('ready after replug', () => events.filter((e) => e.entity === cam.id && e.event === 'ready').length > readyBefore, 30_000);
    expect(streams.isReady(cam.id)).toBe(true);
    const snap = await fetch(`${t.url}/api/cameras/${cam.id}/snapshot.jpg`, { headers: { authorization: `Bearer ${token}` } });
    expect(snap.status).toBe(200);
    expect(Buffer.from(await snap.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    cameras.removeDemand(cam.id, holder);
    socket.destroy();
    nest.close();
  }, 90_000);
});
