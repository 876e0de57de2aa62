// The stream side of Home Assistant's camera: the H.264/MPEG-TS live endpoint (read by ffprobe and
// by two ffmpeg clients at once on one capture process), its signed, revocable URL, the motion
// sensor (bus, MQTT binary_sensor on a real Mosquitto), the live camera image, and the simulated
// camera's image settings (brightness, hue) seen in decoded frames.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent, EventName } from '../../src/core/eventBus.js';
import { MOSQUITTO_BIN, Mosquitto, Recorder, retainedNow } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const hasTools = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return MOSQUITTO_BIN !== null;
  } catch {
    return false;
  }
})();

// Not 320x180: streams.test.ts counts capture processes of that size machine-wide.
const SIZE = '640x360';
let t: TestApp;
let broker: Mosquitto;
let ha: Recorder;
let token: string;
let cameraId: string;
const events: DomainEvent<'camera'>[] = [];

const of = <E extends EventName<'camera'>>(event: E) =>
  events.filter((e): e is Extract<DomainEvent<'camera'>, { event: E }> => e.entity === cameraId && e.event === event);

/** Capture processes: ffmpeg children of this process (the app runs in it) reading the test source. */
/** A live-view URL for the camera, as the panel's "Show in Home Assistant" makes it. */
const liveUrl = (id: string) => `${t.url}${t.app.context.sessions.signLiveUrl(t.app.context.streams.livePath(id))}`;

/** Reads a response body until the server ends it, cleanly or by cutting the connection (never ending fails the test by its timeout). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // Cut off: also an end.
  }
}

function captureProcesses(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('testsrc=size=')).map((l) => l.trim().split(' ')[0]!);
}

/**
 * Raw pixels of a JPEG, decoded by ffmpeg with extra output options. Asynchronous on purpose: while
 * decoding with execFileSync in a loop, a stopped capture ffmpeg was seen left a zombie, its exit
 * never reported to the pipeline, which then served its last frame forever.
 */
function decodeJpeg(jpeg: Buffer, output: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-v', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-frames:v', '1', ...output, '-f', 'rawvideo', 'pipe:1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg decode failed (${code}): ${err}`))));
    child.stdin.end(jpeg);
  });
}

/** Mean luma of a JPEG. */
async function meanLuma(jpeg: Buffer): Promise<number> {
  const gray = await decodeJpeg(jpeg, ['-pix_fmt', 'gray']);
  let sum = 0;
  for (const v of gray) sum += v;
  return sum / gray.length;
}

/** Mean red, green and blue of a region of a JPEG (an ffmpeg crop, w:h:x:y). */
async function meanRgb(jpeg: Buffer, crop: string): Promise<[number, number, number]> {
  const rgb = await decodeJpeg(jpeg, ['-vf', `crop=${crop}`, '-pix_fmt', 'rgb24']);
  const sum = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) sum[i % 3]! += rgb[i]!;
  const n = rgb.length / 3;
  return [sum[0]! / n, sum[1]! / n, sum[2]! / n];
}

beforeAll(async () => {
  if (!hasTools) return;
  broker = await Mosquitto.start();
  t = await startTestApp({
    mqtt: { url: broker.url },
    cameras: { simulated: 'always', stream_linger_seconds: 0, hwaccel: 'none', live_image_fps: 10 },
  });
  ha = await Recorder.connect(broker.url, ['switchboard/#', 'homeassistant/#']);
  token = await t.login();
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
  const list = await t.api('GET', '/api/cameras', token);
  cameraId = (list.body.items as { id: string }[])[0]!.id;
  const res = await t.api('PUT', `/api/cameras/${cameraId}`, token, { controls: { resolution: SIZE, fps: 15 } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
});

afterAll(async () => {
  await ha?.close();
  await t?.stop();
  await broker?.destroy();
});

describe.skipIf(!hasTools)('live view for Home Assistant', () => {
  it('serves H.264 in MPEG-TS at a signed URL that ffprobe reads', async () => {
    const res = await t.api('POST', `/api/cameras/${cameraId}/live-url`, token, { base_url: t.url });
    expect(res.status).toBe(200);
    const url = res.body.url as string;
    expect(url.startsWith(`${t.url}/api/cameras/${cameraId}/live.ts?exp=`)).toBe(true);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height:format=format_name', '-of', 'json', url], { timeout: 30_000 });
    const probe = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[]; format: { format_name: string } };
    expect(probe.format.format_name).toBe('mpegts');
    expect(probe.streams).toEqual([{ codec_name: 'h264', width: 640, height: 360 }]);
  }, 60_000);

  it('feeds two ffmpeg clients at once from one capture process', async () => {
    const url = liveUrl(cameraId);
    const client = () => run('ffmpeg', ['-v', 'error', '-i', url, '-frames:v', '45', '-f', 'null', '-'], { timeout: 60_000 });
    const both = Promise.all([client(), client()]);
    await until('two live clients', () => (t.app.context.streams!.info(cameraId).live_clients === 2), 30_000);
    expect(captureProcesses()).toEqual([String(t.app.context.streams!.capturePid(cameraId))]);
    const info = t.app.context.streams!.info(cameraId);
    expect(info.path).toEqual({ input: 'test', mjpeg: 'encode', h264: 'libx264', motion: false });
    expect(info.encoder_reason).toBe('hwaccel none');
    const results = await both;
    for (const r of results) expect(r.stderr).toBe('');
    const ready = of('ready').at(-1)!;
    expect(ready.details.path).toMatchObject({ h264: 'libx264' });
  }, 90_000);

  it('answers bad live requests with the API error and keeps serving', async () => {
    const path = `/api/cameras/${cameraId}/live.ts`;
    const none = await t.api('GET', path);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { message: expect.any(String) } });
    const signed = t.app.context.sessions.signLiveUrl(t.app.context.streams.livePath(cameraId));
    const tampered = signed.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A'));
    expect((await t.api('GET', tampered)).status).toBe(401);
    // A signature for one camera does not open another path.
    const other = signed.replace(cameraId, 'nope');
    expect((await t.api('GET', other)).status).toBe(401);
    const unknown = await t.api('GET', `/api/cameras/nope/live.ts`, token);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { message: expect.any(String) } });
    const badBase = await t.api('POST', `/api/cameras/${cameraId}/live-url`, token, { base_url: 'ftp://x' });
    expect(badBase.status).toBe(422);
    expect(badBase.body).toMatchObject({ error: { details: [{ path: 'payload.base_url' }] } });
    const viewer = await t.createUser('live-viewer', 'viewer');
    expect((await t.api('POST', `/api/cameras/${cameraId}/live-url`, viewer.token, {})).status).toBe(403);
    expect((await t.api('POST', '/api/streams/live-urls/revoke', viewer.token)).status).toBe(403);
    expect((await t.api('GET', `/api/cameras/${cameraId}/stream-info`, token)).status).toBe(200);
  });

  it('revokes live URLs by rotating their key, ending the streams open on them', async () => {
    const { sessions } = t.app.context;
    const path = sessions.signLiveUrl(t.app.context.streams.livePath(cameraId));
    const [p, q] = path.split('?');
    const asked = { path: p!, query: Object.fromEntries(new URLSearchParams(q)) };
    expect(sessions.authenticateRequest(asked, { liveUrl: true })).toMatchObject({ username: 'live-view', role: 'viewer' });
    // Only routes that serve live-view URLs take them (MJPEG does not).
    expect(sessions.authenticateRequest(asked)).toBeNull();
    const open = await fetch(`${t.url}${path}`);
    expect(open.status).toBe(200);
    const reader = open.body!.getReader();
    expect((await reader.read()).value![0]).toBe(0x47);
    expect(sessions.count('live-h264')).toBe(1);
    const res = await t.api('POST', '/api/streams/live-urls/revoke', token);
    expect(res.status).toBe(200);
    expect(sessions.authenticateRequest(asked, { liveUrl: true })).toBeNull();
    expect((await t.api('GET', path)).status).toBe(401);
    // The stream already running on the revoked URL is cut off.
    await drain(reader);
    expect(sessions.count('live-h264')).toBe(0);
  }, 60_000);

  it('refreshes the retained MQTT camera image from the running capture', async () => {
    const topic = `switchboard/camera_${cameraId}/image/state`;
    const from = ha.messages.length;
    const reader = await fetch(`${t.url}/api/cameras/${cameraId}/stream.mjpeg`, { headers: { authorization: `Bearer ${token}` } });
    try {
      await ha.waitFor(topic, () => true, { from, ms: 30_000 });
      const second = ha.messages.length;
      await ha.waitFor(topic, () => true, { from: second, ms: 30_000 });
    } finally {
      await reader.body?.cancel();
    }
    const images = ha.messages.slice(from).filter((m) => m.topic === topic);
    expect(images.length).toBeGreaterThanOrEqual(2);
    // What HA gets when it subscribes now: the image, retained.
    expect((await retainedNow(broker.url, topic)).get(topic)?.length).toBeGreaterThan(100);
    expect(of('image').length).toBeGreaterThanOrEqual(2);
    // The live image comes from the one capture: no snapshot capture was started for it.
    expect(of('snapshot')).toEqual([]);
  }, 60_000);

  it('turns motion on from the moving test picture and shows it on the bus and as an MQTT binary_sensor', async () => {
    const state = `switchboard/camera_${cameraId}/motion/state`;
    const config = `homeassistant/device/switchboard_camera_${cameraId}/config`;
    const bad = await t.api('PUT', `/api/cameras/${cameraId}`, token, { motion: 'yes' });
    expect(bad.status).toBe(422);
    expect((await t.api('GET', `/api/cameras/${cameraId}`, token)).body.motion).toBe(false);
    // A NestMTX client gets camera:motion as a status topic, like every camera event.
    const socket = connectSocket(t.url, { reconnection: false, transports: ['websocket'], forceNew: true, auth: { token } });
    const onSocket: { entity: string; details: Record<string, unknown> }[] = [];
    socket.on('camera:motion', (p: { entity: string; details: Record<string, unknown> }) => onSocket.push(p));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const res = await t.api('PUT', `/api/cameras/${cameraId}`, token, { motion: true });
    expect(res.status).toBe(200);
    expect(res.body.motion).toBe(true);
    try {
      await until('camera:motion true', () => of('motion').some((e) => e.details.motion === true), 30_000);
      await until('camera:motion on the NestMTX socket', () => onSocket.length > 0, 10_000);
    } finally {
      socket.disconnect();
    }
    expect(onSocket[0]).toMatchObject({ entity: cameraId, details: { motion: true } });
    expect(of('motion')[0]!.details).toEqual({ motion: true });
    await ha.waitFor(state, (p) => p === 'ON', { ms: 15_000 });
    const discovery = await ha.waitFor(config, (p) => p.includes('"motion"'), { ms: 15_000 });
    const cmps = (JSON.parse(discovery.payload) as { cmps: Record<string, Record<string, unknown>> }).cmps;
    const motion = Object.values(cmps).find((c) => c.unique_id === `switchboard_camera_${cameraId}_motion`) ?? Object.entries(cmps).find(([k]) => k.endsWith('motion'))?.[1];
    expect(motion).toMatchObject({ p: 'binary_sensor', device_class: 'motion', state_topic: state });
    // Motion holds the capture running, with the motion output on the same single process.
    const cam = (await t.api('GET', `/api/cameras/${cameraId}`, token)).body as { reader_list: { type: string }[] };
    expect(cam.reader_list.map((r) => r.type)).toContain('motion');
    await until('capture with motion output', () => t.app.context.streams!.info(cameraId).path?.motion === true && t.app.context.streams!.isReady(cameraId), 20_000);
    expect(captureProcesses()).toEqual([String(t.app.context.streams!.capturePid(cameraId))]);
    const off = await t.api('PUT', `/api/cameras/${cameraId}`, token, { motion: false });
    expect(off.status).toBe(200);
    await until('camera:motion false', () => of('motion').at(-1)!.details.motion === false, 20_000);
    const after = (await t.api('GET', `/api/cameras/${cameraId}`, token)).body as { reader_list: { type: string }[] };
    expect(after.reader_list.map((r) => r.type)).not.toContain('motion');
  }, 90_000);

  it('draws brightness into the simulated camera\'s picture', async () => {
    const streams = t.app.context.streams!;
    await t.api('PUT', `/api/cameras/${cameraId}`, token, { controls: { brightness: 50 } });
    const before = await meanLuma((await streams.snapshot(cameraId)).jpeg);
    const res = await t.api('PUT', `/api/cameras/${cameraId}`, token, { controls: { brightness: 95 } });
    expect(res.status).toBe(200);
    // The capture restarts with the new picture; snapshots until one of it arrives.
    let after = before;
    const until = Date.now() + 30_000;
    while (after <= before + 40 && Date.now() < until) after = await meanLuma((await streams.snapshot(cameraId)).jpeg);
    expect(after).toBeGreaterThan(before + 40);
  }, 60_000);

  it('turns the simulated camera\'s hue: the test picture\'s blue bar turns red', async () => {
    const streams = t.app.context.streams!;
    // testsrc's fourth bar (3/8 to 4/8 of the width, above the scrolling gradient) is pure blue.
    const blueBar = '40:160:260:40';
    const rgbUntil = async (pred: (rgb: [number, number, number]) => boolean) => {
      // The capture restarts with the new picture; snapshots until one of it arrives.
      let rgb = await meanRgb((await streams.snapshot(cameraId)).jpeg, blueBar);
      const until = Date.now() + 30_000;
      while (!pred(rgb) && Date.now() < until) rgb = await meanRgb((await streams.snapshot(cameraId)).jpeg, blueBar);
      return rgb;
    };
    expect((await t.api('PUT', `/api/cameras/${cameraId}`, token, { controls: { brightness: 50, hue: 50 } })).status).toBe(200);
    const [r0, , b0] = await rgbUntil(([r, , b]) => b - r > 200);
    expect(b0 - r0).toBeGreaterThan(200);
    // 83 → +118.8°: blue's hue (240°) moves to red (≈360°).
    const res = await t.api('PUT', `/api/cameras/${cameraId}`, token, { controls: { hue: 83 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ controls: { hue: 83 } });
    const [r1, g1, b1] = await rgbUntil(([r, , b]) => r - b > 120);
    expect(r1 - b1).toBeGreaterThan(120);
    expect(r1 - g1).toBeGreaterThan(120);
  }, 90_000);

  it('ends live responses when the camera is deleted', async () => {
    const res = await fetch(liveUrl(cameraId));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp2t');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value![0]).toBe(0x47);
    expect((await t.api('DELETE', `/api/cameras/${cameraId}`, token)).status).toBe(200);
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
    await until('the capture process to exit', () => captureProcesses().length === 0, 20_000);
  }, 60_000);
});
