// Streams on demand against real ffmpeg: events, MJPEG readers, snapshots, recording, back-pressure.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { jpegSize } from '../../src/camera/streaming/jpegFrames.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { hasFfmpeg, until } from '../helpers/wait.js';

let t: TestApp;
let token: string;
let cameraId: string;
const events: DomainEvent[] = [];

const cameraEvents = () => events.filter((e) => e.entity === cameraId).map((e) => e.event);
const lifecycle = () => cameraEvents().filter((e) => ['demand', 'unDemand', 'read', 'unread', 'ready', 'notReady'].includes(e));

/** An MJPEG reader over a raw socket: counts whole frames; `read: false` never reads (a stalled client). */
function mjpegReader(path: string, opts: { read?: boolean } = {}) {
  const socket = connect(t.port, '127.0.0.1');
  let body = Buffer.alloc(0);
  let frames = 0;
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  if (opts.read === false) socket.pause();
  else
    socket.on('data', (d: Buffer) => {
      body = Buffer.concat([body, d]);
      let i;
      while ((i = body.indexOf(Buffer.from([0xff, 0xd9]))) >= 0) {
        frames++;
        body = body.subarray(i + 2);
      }
    });
  return {
    frames: () => frames,
    close: () => new Promise<void>((r) => socket.end(() => r())),
    destroy: () => socket.destroy(),
  };
}

beforeAll(async () => {
  t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0 }, recording: { segment_seconds: 5 } });
  token = await t.login();
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
  const list = (await (await fetch(`${t.url}/api/cameras`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: { id: string }[] };
  cameraId = list.items[0]!.id;
  // A small picture keeps ffmpeg cheap on the test machines.
  const res = await fetch(`${t.url}/api/cameras/${cameraId}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ controls: { resolution: '320x180' } }) });
  expect(res.status, await res.text()).toBe(200);
});

afterAll(async () => {
  await t?.stop();
});

describe.skipIf(!hasFfmpeg)('camera streams', () => {
  it('publishes demand, read, ready, unread and unDemand in order as readers come and go', async () => {
    events.length = 0;
    const a = mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`);
    await until('frames for reader a', () => a.frames() >= 2, 20_000);
    const b = mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`);
    await until('frames for reader b', () => b.frames() >= 2, 20_000);
    await a.close();
    await until('unread a', () => cameraEvents().filter((e) => e === 'unread').length === 1, 5000);
    expect(lifecycle()).toEqual(['demand', 'read', 'ready', 'read', 'unread']);
    await b.close();
    await until('notReady', () => cameraEvents().includes('notReady'), 10_000);
    expect(lifecycle()).toEqual(['demand', 'read', 'ready', 'read', 'unread', 'unread', 'unDemand', 'notReady']);
    const reads = events.filter((e) => e.event === 'read').map((e) => e.details);
    expect(reads.every((d) => d.readerType === 'http' && typeof d.readerId === 'string')).toBe(true);
    expect(new Set(reads.map((d) => d.readerId)).size).toBe(2);
    expect(t.app.context.streams.capturePid(cameraId)).toBeUndefined();
  });

  it('shares one capture between many readers', async () => {
    const readers = Array.from({ length: 5 }, () => mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`));
    await until('frames for 5 readers', () => readers.every((r) => r.frames() >= 1), 20_000);
    const pid = t.app.context.streams.capturePid(cameraId);
    expect(pid).toBeTypeOf('number');
    // Children of this process only: other test files (and other checkouts) run captures too.
    const ffmpegs = execFileSync('pgrep', ['-P', String(process.pid), '-f', 'testsrc=size=320x180'], { encoding: 'utf8' }).trim().split('\n');
    expect(ffmpegs).toEqual([String(pid)]);
    expect(((await (await fetch(`${t.url}/api/cameras/${cameraId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { readers: number }).readers).toBe(5);
    await Promise.all(readers.map((r) => r.close()));
    await until('capture stop', () => t.app.context.streams.capturePid(cameraId) === undefined, 10_000);
  });

  it('takes a decodable JPEG snapshot at the configured resolution', async () => {
    const res = await fetch(`${t.url}/api/cameras/${cameraId}/snapshot.jpg`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(jpegSize(jpeg)).toEqual({ width: 320, height: 180 });
    expect(t.app.context.streams.latestSnapshot(cameraId)?.jpeg.equals(jpeg)).toBe(true);
    expect(cameraEvents()).toContain('snapshot');
  });

  it('refuses streams without credentials and accepts a signed URL', async () => {
    expect((await fetch(`${t.url}/api/cameras/${cameraId}/snapshot.jpg`)).status).toBe(401);
    expect((await fetch(`${t.url}/api/cameras/${cameraId}/snapshot.jpg?token=nope`)).status).toBe(401);
    expect((await fetch(`${t.url}/api/cameras/nope/snapshot.jpg`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const signed = await fetch(`${t.url}/api/cameras/${cameraId}/signed-url`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ path: 'snapshot.jpg', ttl_seconds: 60 }) });
    const { url } = (await signed.json()) as { url: string };
    expect((await fetch(t.url + url)).status).toBe(200);
    const tampered = url.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(url);
    expect((await fetch(t.url + tampered)).status).toBe(401);
    const expired = url.replace(/exp=\d+/, 'exp=1000');
    expect((await fetch(t.url + expired)).status).toBe(401);
  });

  it('records MP4 segments that ffprobe reads with the right resolution', async () => {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const svc = t.app.context.cameras;
    await svc.update({ kind: 'system', userId: null, username: 't', role: 'admin' }, cameraId, { record: 'on' });
    await until('recording on', () => events.some((e) => e.event === 'recording' && e.details.state === 'on'), 5000);
    // A segment holding video, not only its headers (a cut-off segment is a few hundred bytes).
    const dir = t.app.context.recordings.dir(cameraId);
    const mp4s = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mp4')) : []);
    await until('a segment with video', () => mp4s().some((f) => statSync(join(dir, f)).size > 10_000), 20_000);
    await svc.update({ kind: 'system', userId: null, username: 't', role: 'admin' }, cameraId, { record: 'off' });
    await until('recording off', () => events.some((e) => e.event === 'recording' && e.details.state === 'off'), 15_000);
    const files = mp4s();
    expect(files.length).toBeGreaterThan(0);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,codec_name', '-of', 'json', join(dir, files[0]!)], { encoding: 'utf8' })) as { streams: { width: number; height: number; codec_name: string }[] };
    expect(probe.streams[0]).toEqual({ width: 320, height: 180, codec_name: 'h264' });
    expect(((await (await fetch(`${t.url}/api/cameras/${cameraId}`, { headers: auth })).json()) as { record: string }).record).toBe('off');
  });

  it('keeps memory bounded when a reader stops reading', async () => {
    const stalled = mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`, { read: false });
    const live = mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`);
    await until('live frames', () => live.frames() >= 3, 20_000);
    const before = process.memoryUsage().rss;
    const framesBefore = live.frames();
    await until('forty more frames', () => live.frames() >= framesBefore + 40, 30_000);
    const grown = process.memoryUsage().rss - before;
    // Unread frames are dropped for the stalled reader (at most ~512 KB queued), the live one keeps up.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    stalled.destroy();
    await live.close();
  });

  it('restarts a killed capture: notReady, then ready again', async () => {
    const r = mjpegReader(`/api/cameras/${cameraId}/stream.mjpeg`);
    await until('frames', () => r.frames() >= 2, 20_000);
    events.length = 0;
    const pid = t.app.context.streams.capturePid(cameraId)!;
    process.kill(pid, 'SIGKILL');
    await until('notReady', () => cameraEvents().includes('notReady'), 10_000);
    await until('ready again', () => cameraEvents().includes('ready'), 20_000);
    expect(lifecycle()).toEqual(['notReady', 'ready']);
    expect(t.app.context.streams.capturePid(cameraId)).not.toBe(pid);
    const n = r.frames();
    await until('frames after restart', () => r.frames() > n + 2, 20_000);
    await r.close();
  });
});
