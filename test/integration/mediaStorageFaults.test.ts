// A full media folder, for real: the media folder on a small tmpfs filled to the brim while a camera
// records. The recording stops with the notice, every segment left behind plays, health and MQTT
// say the media store is failing, a new recording is refused (Rotoclear error, the MQTT switch
// stays OFF), and once space returns a new recording works without a restart. Needs root for
// mount(8) and ffmpeg/ffprobe.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { AppError } from '../../src/core/errors.js';
import { Recorder as MqttPeer } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { canMount, fill, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { until } from '../helpers/wait.js';

const SKIP = !canMount ? 'mounting a tmpfs needs root (CI runs as root)' : spawnSync('ffprobe', ['-version']).error ? 'ffmpeg/ffprobe are not installed' : '';
if (SKIP) console.warn(`mediaStorageFaults.test.ts skipped: ${SKIP}`);

const mp4s = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mp4')).sort().map((f) => join(dir, f)) : []);
/** Frames ffprobe reads; throws (ffprobe exits non-zero) when the file does not play. */
const frames = (file: string) =>
  Number(
    (JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'json', file], { encoding: 'utf8' })) as { streams: { nb_read_frames: string }[] }).streams[0]!
      .nb_read_frames,
  );

describe.skipIf(SKIP)('a full media folder', () => {
  let mount: string;
  let t: TestApp;
  let mqtt: MqttPeer;
  let id: string;
  let dir: string;
  const events: DomainEvent<'camera'>[] = [];
  const filler = () => join(mount, 'filler.bin');
  const recordingEvents = () => events.flatMap((e) => (e.entity === id && e.event === 'recording' ? [e.details] : []));

  beforeAll(async () => {
    mount = mountTmpfs('switchboard-media-tmpfs-', '4m');
    t = await startTestApp({
      mqtt: { url: 'embedded', embedded_port: 0 },
      cameras: { simulated: 'always', stream_linger_seconds: 0 },
      recording: { media_dir: mount, segment_seconds: 5, min_free_mb: 0, max_size_mb: 0 },
    });
    t.app.context.bus.subscribe((e) => events.push(e), ['camera']);
    const login = t.app.context.mqtt.embeddedBroker()!;
    mqtt = await MqttPeer.connect(`mqtt://${login.username}:${login.password}@127.0.0.1:${t.app.ports().mqtt}`, ['switchboard/#']);
    const cameras = t.app.context.cameras;
    id = cameras.all()[0]!.id;
    dir = join(mount, id);
    // A small picture keeps ffmpeg cheap and the segments small.
    const area = (r: string) => r.split('x').map(Number).reduce((a, b) => a * b, 1);
    const small = cameras.all()[0]!.resolutions.filter((r) => r !== '320x180').sort((a, b) => area(a) - area(b))[0]!;
    await cameras.update(SYSTEM_ACTOR, id, { controls: { resolution: small } });
  });

  afterAll(async () => {
    await mqtt?.close();
    await t?.stop();
    if (mount) {
      unmountTmpfs(mount);
    }
  });

  it('stops the recording with the notice, keeps every segment playable, refuses new recordings, and recovers without a restart', async () => {
    const cameras = t.app.context.cameras;
    const problemTopic = t.app.context.mqtt.topics.state('addon_switchboard', 'media_store_problem');
    const switchTopic = `switchboard/camera_${id}/recording/state`;
    await mqtt.waitFor(problemTopic, (p) => p === 'OFF');

    await cameras.update(SYSTEM_ACTOR, id, { record: 'on' });
    // At least one finished segment (the next one has started) before the disk fills.
    await until('a finished segment', () => mp4s(dir).length >= 2 && statSync(mp4s(dir)[0]!).size > 8192);
    const finished = mp4s(dir).slice(0, -1);
    expect(fill(filler())).toBeGreaterThan(0);

    // ffmpeg's next write fails: the recording stops with the notice and `record` goes off everywhere.
    const stopped = await until('the recording to stop', () => recordingEvents().find((d) => d.state === 'off'));
    expect(stopped).toMatchObject({ reason: 'storage', error: 'The media folder is full (no space left on the device)' });
    await until('record off', () => cameras.get(id)!.record === 'off');
    await mqtt.waitFor(switchTopic, (p) => p === 'OFF');
    // Every segment left behind plays: the finished ones, and the one the full disk cut off, trimmed
    // back to its last whole fragment (or removed when it held none).
    const segments = mp4s(dir);
    expect(segments).toEqual(expect.arrayContaining(finished));
    for (const f of segments) expect(frames(f), f).toBeGreaterThan(0);

    // Health and the MQTT problem sensor say the media store is failing; streams and live state keep working.
    const health = (await (await fetch(`${t.url}/api/health`)).json()) as { status: string; components: Record<string, { state: string; detail?: string }> };
    expect(health.status).toBe('degraded');
    expect(health.components.media_store).toMatchObject({ state: 'error', detail: 'The media folder is full (no space left on the device)' });
    expect(health.components.data_store).toMatchObject({ state: 'ok' });
    await mqtt.waitFor(problemTopic, (p) => p === 'ON');
    const snapshot = await fetch(`${t.url}${t.app.context.sessions.signLiveUrl(t.app.context.streams.livePath(id, 'snapshot.jpg'))}`);
    expect(snapshot.status).toBe(200);

    // A new recording is refused: the service error (HTTP 507), Rotoclear's error, the MQTT switch stays OFF.
    const refused = await cameras.update(SYSTEM_ACTOR, id, { record: 'on' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ kind: 'storage', message: 'Insufficient storage: The media folder is full (no space left on the device)' });
    const admin = await t.login();
    // Over HTTP (and so NestMTX's `update`, the same module call): 507 in the API's error shape, nothing changed.
    const overHttp = await t.api('PUT', `/api/cameras/${id}`, admin, { record: 'on' });
    expect(overHttp.status).toBe(507);
    expect(overHttp.body).toMatchObject({ error: { message: 'Insufficient storage: The media folder is full (no space left on the device)' } });
    expect(cameras.get(id)!.record).toBe('off');
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ token: admin }));
    await until('Rotoclear sign-in', () => messages.some((m) => m.authenticated === true));
    ws.send(JSON.stringify({ record: 'on' }));
    await until('the Rotoclear error', () => messages.some((m) => 'error' in m));
    expect(messages.find((m) => 'error' in m)).toEqual({ error: 'Storage full', key: 'record', message: expect.stringMatching(/media folder is full.*nothing was changed/) });
    ws.close();
    const from = mqtt.messages.length;
    await mqtt.publish(`switchboard/camera_${id}/recording/set`, 'ON');
    await new Promise((r) => setTimeout(r, 1000));
    expect(mqtt.messages.slice(from).filter((m) => m.topic === switchTopic).map((m) => m.payload)).not.toContain('ON');
    expect(cameras.get(id)!.record).toBe('off');

    // Space returns: the recovery probe writes in the media folder and the problem clears; recording works again.
    unlinkSync(filler());
    await t.app.context.storage.probe();
    expect(t.app.context.status.health().components.media_store).toMatchObject({ state: 'ok' });
    await mqtt.waitFor(problemTopic, (p) => p === 'OFF', { from: mqtt.messages.findLastIndex((m) => m.topic === problemTopic && m.payload === 'ON') });
    const before = new Set(mp4s(dir));
    await cameras.update(SYSTEM_ACTOR, id, { record: 'on' });
    const fresh = await until('a new segment with data', () => mp4s(dir).find((f) => !before.has(f) && statSync(f).size > 8192));
    await cameras.update(SYSTEM_ACTOR, id, { record: 'off' });
    await until('stopped', () => recordingEvents().at(-1)?.state === 'off' && !recordingEvents().at(-1)?.reason);
    expect(frames(fresh)).toBeGreaterThan(0);
    expect(readdirSync(mount).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 120_000);
});

describe.skipIf(SKIP)('a full media folder with continuous recording', () => {
  let mount: string;
  let t: TestApp;
  afterAll(async () => {
    await t?.stop();
    if (mount) {
      unmountTmpfs(mount);
    }
  });

  it('stops with the notice, and the cameras switch back on by themselves once the media folder takes writes again', async () => {
    mount = mountTmpfs('switchboard-media-tmpfs-', '4m');
    t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0 }, recording: { media_dir: mount, trigger: 'continuous', segment_seconds: 5, min_free_mb: 0, max_size_mb: 0 } });
    const cameras = t.app.context.cameras;
    const id = cameras.all()[0]!.id;
    const dir = join(mount, id);
    await until('recording', () => cameras.get(id)!.record === 'on' && mp4s(dir).some((f) => statSync(f).size > 8192));
    fill(join(mount, 'filler.bin'));
    await until('stopped by the full disk', () => cameras.get(id)!.record === 'off');
    expect(t.app.context.storage.state('media')).toMatchObject({ ok: false, code: 'ENOSPC' });

    unlinkSync(join(mount, 'filler.bin'));
    const before = new Set(mp4s(dir));
    await t.app.context.storage.probe();
    await until('switched back on', () => cameras.get(id)!.record === 'on');
    const fresh = await until('a new segment with data', () => mp4s(dir).find((f) => !before.has(f) && statSync(f).size > 8192));
    await cameras.update(SYSTEM_ACTOR, id, { record: 'off' });
    await until('stopped', () => cameras.get(id)!.record === 'off');
    expect(frames(fresh)).toBeGreaterThan(0);
  }, 90_000);
});
