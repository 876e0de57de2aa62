// ffmpeg missing, and ffmpeg that exits 1 at once, on a whole server with real clients: every
// stream kind is refused in its protocol's shape naming ffmpeg and `cameras.ffmpeg_path`, health
// says so, a recording switches off with reason `ffmpeg`, the four socket APIs keep answering,
// and once the binary works again health recovers by itself and pictures flow.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import pino from 'pino';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { Recorder } from '../../src/camera/streaming/recorder.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { hasFfmpeg, until } from '../helpers/wait.js';

const REAL_FFMPEG = hasFfmpeg ? execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim() : '';

/** An ffmpeg that fails (exit 1, a line on stderr) until the `mode` file beside it says `work`. */
function writeFlippableFfmpeg(path: string, mode: string): void {
  writeFileSync(path, `#!/bin/sh\nif [ "$(cat '${mode}' 2>/dev/null)" = work ]; then exec '${REAL_FFMPEG}' "$@"; fi\necho 'ffmpeg: this build is broken' >&2\nexit 1\n`);
  chmodSync(path, 0o755);
}

type Msg = Record<string, unknown>;

/** A Rotoclear /api/v1 client: sends one message and resolves with the first message matching `pred`. */
async function rotoclear(url: string): Promise<{ ask(m: Msg, pred: (r: Msg) => boolean): Promise<Msg>; heard: Msg[]; close(): void }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1');
  const heard: Msg[] = [];
  ws.on('message', (d) => heard.push(JSON.parse(String(d)) as Msg));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  await until('the initial state', () => heard.length > 0);
  return {
    heard,
    async ask(m, pred) {
      const from = heard.length;
      ws.send(JSON.stringify(m));
      return until(`a reply to ${JSON.stringify(m)}`, () => heard.slice(from).find(pred), 10_000);
    },
    close: () => ws.close(),
  };
}

function connected(socket: Socket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
}

/** The four socket APIs answer: NestMTX request, Antimony namespace, Altoponix `con`, Rotoclear `get`. */
async function socketApisAnswer(t: TestApp, token: string): Promise<void> {
  const nest = io(t.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
  const antimony = io(`${t.url}/status-messages`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
  const monitor = io(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  const roto = await rotoclear(t.url);
  try {
    await Promise.all([connected(nest), connected(antimony), connected(monitor)]);
    const version = new Promise<Msg>((resolve) => nest.once('v1', resolve));
    nest.emit('request', { command: 'list', module: 'version', requestId: 'v1' });
    expect(await version).toMatchObject({ name: 'switchboard' });
    const refused = new Promise<Msg>((resolve) => monitor.once('con failed', resolve));
    monitor.emit('con', { monitor_id: 'nobody' });
    expect(await refused).toEqual({ reason: 'Unknown monitor' });
    expect(await roto.ask({ get: ['record'] }, (m) => 'record' in m)).toEqual({ record: 'off' });
  } finally {
    for (const s of [nest, antimony, monitor]) s.disconnect();
    roto.close();
  }
}

const namesFfmpeg = (text: unknown, path: string) => {
  expect(text).toEqual(expect.stringContaining('ffmpeg'));
  expect(text).toEqual(expect.stringContaining('cameras.ffmpeg_path'));
  expect(text).toEqual(expect.stringContaining(path));
};

const CASES = [
  { kind: 'missing', known: 'at start-up' },
  { kind: 'exits 1', known: 'after its first use' },
] as const;

describe.skipIf(!hasFfmpeg).each(CASES)('ffmpeg $kind', ({ kind }) => {
  let t: TestApp;
  let token: string;
  let cam: string;
  let ffmpegPath: string;
  let dir: string;
  const events: DomainEvent<'camera'>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-ffmpeg-'));
    // Missing: a path whose folder does not exist yet; failing: a script there that exits 1.
    ffmpegPath = join(dir, 'bin', 'ffmpeg');
    if (kind === 'exits 1') {
      mkdirSync(join(dir, 'bin'));
      writeFlippableFfmpeg(ffmpegPath, join(dir, 'mode'));
    }
    t = await startTestApp({ cameras: { ffmpeg_path: ffmpegPath, stream_linger_seconds: 0 } });
    t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
    token = await t.login();
    cam = t.app.context.cameras.all()[0]!.id;
  });

  afterAll(async () => {
    await t?.stop();
  });

  const health = async () => (await t.api('GET', '/api/health')).body as { status: string; components: Record<string, { state: string; detail?: string }> };

  it('a recording asked for over Rotoclear switches off with reason ffmpeg, or is refused in Rotoclear\'s shape', async () => {
    const roto = await rotoclear(t.url);
    try {
      expect(await roto.ask({ username: 'admin', password: 'admin-password-1' }, (m) => 'authenticated' in m)).toMatchObject({ authenticated: true });
      const reply = await roto.ask({ record: true }, (m) => 'record' in m || 'error' in m);
      if (kind === 'missing') {
        // Known from start-up: refused before anything is switched on.
        expect(reply).toMatchObject({ error: 'Unavailable', key: 'record' });
        namesFfmpeg(reply.message, ffmpegPath);
      } else {
        // Found out by the recording's own ffmpeg: the switch goes off everywhere with the reason.
        expect(reply).toEqual({ record: 'on', info: ['record'] });
        const off = await until('recording off with reason ffmpeg', () => events.find((e) => e.event === 'recording' && e.details.state === 'off' && e.details.reason === 'ffmpeg'));
        namesFfmpeg((off.details as { error?: string }).error, ffmpegPath);
        await until('Rotoclear hears record off', () => roto.heard.some((m) => m.record === 'off'));
      }
      expect(t.app.context.cameras.get(cam)!.record).toBe('off');
    } finally {
      roto.close();
    }
  });

  it('health names ffmpeg and the option; every stream kind answers 503 with that reason, the socket APIs in their shapes', async () => {
    // MJPEG first: for the failing binary this is the request that finds out.
    const mjpeg = await fetch(`${t.url}/api/cameras/${cam}/stream.mjpeg?token=${token}`);
    expect(mjpeg.status).toBe(503);
    const mjpegBody = (await mjpeg.json()) as { error: { message: string } };
    namesFfmpeg(mjpegBody.error.message, ffmpegPath);

    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.components.ffmpeg?.state).toBe('error');
    namesFfmpeg(h.components.ffmpeg?.detail, ffmpegPath);

    for (const file of ['snapshot.jpg', 'live.ts']) {
      const res = await fetch(`${t.url}/api/cameras/${cam}/${file}?token=${token}`);
      expect(res.status, file).toBe(503);
      namesFfmpeg(((await res.json()) as { error: { message: string } }).error.message, ffmpegPath);
    }
    const rec = await t.api('PUT', `/api/cameras/${cam}`, token, { record: 'on' });
    expect(rec.status).toBe(503);
    namesFfmpeg((rec.body.error as { message: string }).message, ffmpegPath);

    // The socket APIs refuse the same in their own shapes: NestMTX `{error:{message}}`, Rotoclear `{error, key, message}`.
    const nest = io(t.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
    const roto = await rotoclear(t.url);
    try {
      await connected(nest);
      const reply = new Promise<{ error: { message: string } }>((resolve) => nest.once('rec-1', resolve));
      nest.emit('request', { command: 'update', module: 'cameras', entity: cam, payload: { record: 'on' }, requestId: 'rec-1' });
      namesFfmpeg((await reply).error.message, ffmpegPath);
      expect(await roto.ask({ username: 'admin', password: 'admin-password-1' }, (m) => 'authenticated' in m)).toMatchObject({ authenticated: true });
      const snap = await roto.ask({ snap: true }, (m) => 'snap' in m || 'error' in m);
      expect(snap).toMatchObject({ error: 'Unavailable', key: 'snap' });
      namesFfmpeg(snap.message, ffmpegPath);
    } finally {
      nest.disconnect();
      roto.close();
    }
    expect(t.app.context.cameras.get(cam)!.record).toBe('off');
  });

  it('motion detection on: its capture cannot start, health keeps naming ffmpeg, and the four socket APIs still answer', async () => {
    const from = events.length;
    expect((await t.api('PUT', `/api/cameras/${cam}`, token, { motion: true })).status).toBe(200);
    await until('the motion capture to be demanded', () => events.slice(from).some((e) => e.event === 'demand'));
    expect((await health()).components.ffmpeg?.state).toBe('error');
    await socketApisAnswer(t, token);
    expect((await fetch(`${t.url}/api/cameras/${cam}/snapshot.jpg?token=${token}`)).status).toBe(503);
  });

  it('health recovers once ffmpeg works, without a restart, and pictures flow again', { timeout: 90_000 }, async () => {
    if (kind === 'missing') {
      mkdirSync(join(dir, 'bin'), { recursive: true });
      writeFlippableFfmpeg(ffmpegPath, join(dir, 'mode'));
    }
    writeFileSync(join(dir, 'mode'), 'work');
    await expect.poll(async () => (await health()).components.ffmpeg?.state, { timeout: 30_000 }).toBe('ok');
    // The motion capture that kept retrying starts by itself.
    // (Its back-off between attempts reaches ten seconds.)
    await until('the motion capture ready', () => t.app.context.streams.isReady(cam), 30_000);
    const snap = await fetch(`${t.url}/api/cameras/${cam}/snapshot.jpg?token=${token}`);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    expect((await health()).components.ffmpeg).toMatchObject({ state: 'ok' });
  });
});

describe.skipIf(!hasFfmpeg)('continuous recording while ffmpeg is missing', () => {
  it('stays off with the reason, and switches on by itself once ffmpeg works', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-ffmpeg-'));
    const ffmpegPath = join(dir, 'bin', 'ffmpeg');
    const t = await startTestApp({ cameras: { ffmpeg_path: ffmpegPath }, recording: { trigger: 'continuous' } });
    try {
      const cam = t.app.context.cameras.all()[0]!.id;
      expect(t.app.context.cameras.get(cam)!.record).toBe('off');
      expect(t.app.context.status.health().components.ffmpeg?.state).toBe('error');
      mkdirSync(join(dir, 'bin'));
      writeFlippableFfmpeg(ffmpegPath, join(dir, 'mode'));
      writeFileSync(join(dir, 'mode'), 'work');
      await until('continuous recording on', () => t.app.context.cameras.get(cam)!.record === 'on', 30_000);
      await until('the capture feeding it', () => t.app.context.streams.isReady(cam), 30_000);
    } finally {
      await t.stop();
    }
  });
});

describe('a recorder whose ffmpeg is missing', () => {
  it('reports the failed start instead of throwing an unhandled error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-recorder-'));
    const failures: [string, string | null][] = [];
    const recorder = new Recorder({ ffmpegPath: join(dir, 'no-ffmpeg'), dir: join(dir, 'media'), fps: 5, segmentSeconds: 2 }, pino({ level: 'silent' }), {
      failed: (message, _fault, spawnError) => failures.push([message, spawnError]),
      finished: () => undefined,
    });
    recorder.start();
    recorder.write(Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    await until('the failure', () => failures.length > 0);
    expect(failures).toEqual([[`recording stopped: ${join(dir, 'no-ffmpeg')} was not found`, `${join(dir, 'no-ffmpeg')} was not found`]]);
    await recorder.stop();
  });
});

describe.skipIf(!hasFfmpeg)('a recorder stopped before its first frame', () => {
  it('is not an ffmpeg failure (real ffmpeg refuses to write an empty file and exits 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-recorder-'));
    const failures: string[] = [];
    let finished = 0;
    const recorder = new Recorder({ ffmpegPath: 'ffmpeg', dir: join(dir, 'media'), fps: 5, segmentSeconds: 2 }, pino({ level: 'silent' }), {
      failed: (message) => failures.push(message),
      finished: () => finished++,
    });
    recorder.start();
    // stop() resolves once ffmpeg has exited: the outcome is known by then.
    await recorder.stop();
    expect(failures).toEqual([]);
    expect(finished).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
