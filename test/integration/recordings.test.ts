// Recording against real ffmpeg: the MQTT Recording switch (through the camera service, seen by
// Rotoclear clients), motion-triggered clips with pre-roll, and the space limits that stop a
// recording with a notice before the media folder is full.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import type { DomainEvent } from '../../src/core/eventBus.js';
import { HaPeer } from '../helpers/haPeer.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder as MqttPeer } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const SKIP = spawnSync('ffprobe', ['-version']).error ? 'ffmpeg/ffprobe are not installed' : false;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  t: TestApp;
  id: string;
  events: DomainEvent<'camera'>[];
  dir: string;
}

/** A whole server with one small simulated camera; `recording` overrides the recording options. */
async function start(recording: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Started> {
  const t = await startTestApp({ cameras: { simulated: 'always', stream_linger_seconds: 0 }, recording: { min_free_mb: 0, ...recording }, ...extra });
  cleanups.push(() => t.stop());
  const events: DomainEvent<'camera'>[] = [];
  t.app.context.bus.subscribe(events, (e) => events.push(e), ['camera']);
  const cameras = t.app.context.cameras!;
  const id = cameras.all()[0]!.id;
  // A small picture keeps ffmpeg cheap on the test machines; not streams.test.ts's 320x180, which
  // it counts machine-wide with pgrep.
  const area = (r: string) => r.split('x').map(Number).reduce((a, b) => a * b, 1);
  const small = cameras.all()[0]!.resolutions.filter((r) => r !== '320x180').sort((a, b) => area(a) - area(b))[0]!;
  await cameras.update(SYSTEM_ACTOR, id, { controls: { resolution: small } });
  return { t, id, events, dir: t.app.context.recordings.dir(id) };
}

const recordingEvents = (s: Started) =>
  s.events.flatMap((e) => (e.entity === s.id && e.event === 'recording' ? [e.details] : []));
const mp4s = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mp4')).sort().map((f) => join(dir, f)) : []);
const frames = (file: string) =>
  Number(
    (JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'json', file], { encoding: 'utf8' })) as { streams: { nb_read_frames: string }[] }).streams[0]!
      .nb_read_frames,
  );

/** A Rotoclear /api/v1 client (anonymous: it hears `record` broadcasts). */
async function rotoclear(t: TestApp): Promise<{ messages: Record<string, unknown>[]; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.port}/api/v1`);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await until('the initial state', () => messages.length > 0);
  return { messages, close: () => ws.close() };
}

describe.skipIf(SKIP)('recordings', () => {
  it.skipIf(!MOSQUITTO_BIN)('the MQTT Recording switch: MQTT → camera service → Rotoclear clients → MQTT state, and back', async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.destroy());
    const s = await start({ segment_seconds: 5 }, { mqtt: { url: broker.url } });
    const ha = await MqttPeer.connect(broker.url);
    cleanups.push(() => ha.close());
    const base = `switchboard/camera_${s.id}`;
    const cfg = JSON.parse((await ha.waitFor(`homeassistant/device/switchboard_camera_${s.id}/config`)).payload) as { cmps: Record<string, Record<string, unknown>> };
    expect(cfg.cmps.recording).toMatchObject({ p: 'switch', name: 'Recording', command_topic: `${base}/recording/set`, state_topic: `${base}/recording/state` });
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'OFF');
    const roto = await rotoclear(s.t);
    cleanups.push(() => roto.close());
    const cameras = s.t.app.context.cameras!;

    let from = ha.messages.length;
    await ha.publish(`${base}/recording/set`, 'ON');
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'ON', { from });
    expect(cameras.get(s.id)!.record).toBe('on');
    await until('Rotoclear hears record on', () => roto.messages.some((m) => m.record === 'on'));
    await until('the recorder to run', () => recordingEvents(s).some((d) => d.state === 'on'));
    expect(cameras.get(s.id)!.reader_list).toContainEqual({ type: 'recording', id: 'recorder' });
    await until('a segment with data', () => mp4s(s.dir).some((f) => statSync(f).size > 10_000));

    // A payload that is not ON/OFF: ignored, nothing changes, the bridge lives on.
    await ha.publish(`${base}/recording/set`, 'maybe');
    from = ha.messages.length;
    await ha.publish(`${base}/recording/set`, 'OFF');
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'OFF', { from });
    expect(ha.messages.slice(from).filter((m) => m.topic === `${base}/recording/state`).map((m) => m.payload)).toEqual(['OFF']);
    await until('Rotoclear hears record off', () => roto.messages.some((m) => m.record === 'off'));
    await until('the recorder to stop', () => recordingEvents(s).some((d) => d.state === 'off'));
    expect(cameras.get(s.id)!.reader_list).not.toContainEqual({ type: 'recording', id: 'recorder' });
    for (const f of mp4s(s.dir)) expect(frames(f), f).toBeGreaterThan(0);

    // The other way: a Rotoclear pause shows as ON (a paused recording is still on); off shows OFF.
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'on' });
    from = ha.messages.length;
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'pause' });
    await until('the paused state', () => recordingEvents(s).some((d) => d.state === 'pause'));
    // The state topic catches up asynchronously: it shows ON, and never went OFF for the pause.
    await until('the switch to show ON', () => ha.last(`${base}/recording/state`) === 'ON');
    expect(ha.messages.slice(from).filter((m) => m.topic === `${base}/recording/state`).map((m) => m.payload)).not.toContain('OFF');
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'off' });
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'OFF', { from });

    // Over HTTP (the cameras module, which NestMTX's `update` shares): the same rule, the same switch.
    const token = await s.t.login();
    from = ha.messages.length;
    expect((await s.t.api('PUT', `/api/cameras/${s.id}`, token, { record: 'on' })).body).toMatchObject({ record: 'on' });
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'ON', { from });
    const bad = await s.t.api('PUT', `/api/cameras/${s.id}`, token, { record: 'maybe' });
    expect(bad.status).toBe(422);
    expect(cameras.get(s.id)!.record).toBe('on');
    from = ha.messages.length;
    await s.t.api('PUT', `/api/cameras/${s.id}`, token, { record: 'off' });
    await ha.waitFor(`${base}/recording/state`, (p) => p === 'OFF', { from });
  }, 120_000);

  it('switching the camera off ends the file but keeps the recording on; switched on, it records again into a new file', async () => {
    const s = await start({ segment_seconds: 60 });
    const cameras = s.t.app.context.cameras!;
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'on' });
    await until('the first file', () => mp4s(s.dir).length === 1 && statSync(mp4s(s.dir)[0]!).size > 0);
    const started = recordingEvents(s).filter((d) => d.state === 'on').length;

    await cameras.update(SYSTEM_ACTOR, s.id, { enabled: false });
    await until('the recorder to stop', () => recordingEvents(s).at(-1)?.state === 'off');
    expect(cameras.get(s.id)).toMatchObject({ enabled: false, record: 'on' });
    expect(frames(mp4s(s.dir)[0]!)).toBeGreaterThan(0);

    await cameras.update(SYSTEM_ACTOR, s.id, { enabled: true });
    await until('recording again', () => recordingEvents(s).filter((d) => d.state === 'on').length > started);
    await until('a second file', () => mp4s(s.dir).length === 2 && statSync(mp4s(s.dir)[1]!).size > 0);
    expect(cameras.get(s.id)).toMatchObject({ enabled: true, record: 'on' });
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'off' });
    await until('stopped', () => recordingEvents(s).at(-1)?.state === 'off');
    for (const f of mp4s(s.dir)) expect(frames(f), f).toBeGreaterThan(0);
  }, 120_000);

  it('motion trigger: nothing while calm; a clip with pre-roll around motion; nothing once switched off', async () => {
    const preSeconds = 2;
    const s = await start({ trigger: 'motion', pre_seconds: preSeconds, post_seconds: 1 });
    const { bus, cameras } = s.t.app.context;
    await cameras!.update(SYSTEM_ACTOR, s.id, { record: 'on' });
    await until('armed', () => recordingEvents(s).some((d) => d.state === 'on' && d.trigger === 'motion'));
    await until('the capture', () => s.events.some((e) => e.entity === s.id && e.event === 'ready'));
    // The pre-roll keeps the last pre_seconds of frames. A reader of our own counts the frames of the
    // same capture: once it has seen that many, the pre-roll (subscribed before it) is full.
    let seen = 0;
    const detach = s.t.app.context.streams.attachReader(s.id, { type: 'test', id: 'frame-counter' }, () => seen++);
    cleanups.push(detach);
    const preroll = preSeconds * (cameras!.get(s.id)!.controls.fps ?? 15);
    const prerollFull = (since: number) => until('the pre-roll to fill', () => seen >= since + preroll);
    await prerollFull(0);
    // Armed but calm: those frames went to the pre-roll, none to a file.
    expect(mp4s(s.dir)).toEqual([]);

    for (let clip = 1; clip <= 2; clip++) {
      bus.publish('camera', s.id, 'motion', { motion: true });
      await until('clip started', () => recordingEvents(s).filter((d) => d.clip === 'started').length === clip);
      bus.publish('camera', s.id, 'motion', { motion: false });
      await until('clip ended', () => recordingEvents(s).filter((d) => d.clip === 'ended').length === clip);
      expect(mp4s(s.dir)).toHaveLength(clip);
      // The pre-roll (about 30 frames) plus what came during the motion and the post seconds.
      expect(frames(mp4s(s.dir).at(-1)!)).toBeGreaterThan(30);
      await prerollFull(seen);
    }
    detach();

    await cameras!.update(SYSTEM_ACTOR, s.id, { record: 'off' });
    await until('disarmed', () => recordingEvents(s).at(-1)?.state === 'off');
    bus.publish('camera', s.id, 'motion', { motion: true });
    bus.publish('camera', s.id, 'motion', { motion: false });
    expect(recordingEvents(s).filter((d) => d.clip === 'started')).toHaveLength(2);
    expect(mp4s(s.dir)).toHaveLength(2);
    expect(cameras!.get(s.id)!.reader_list).toEqual([]);
  }, 90_000);

  it('continuous trigger: every connected camera switches itself on at start and records; a new frame rate starts a new file', async () => {
    const s = await start({ trigger: 'continuous', segment_seconds: 300 }); // one file per recorder run
    await until('the switch on', () => s.t.app.context.cameras!.get(s.id)!.record === 'on');
    await until('recording', () => recordingEvents(s).some((d) => d.state === 'on' && d.trigger === 'continuous'));
    const file = await until('a segment with data', () => mp4s(s.dir).find((f) => statSync(f).size > 10_000));
    // A new frame rate ends the file and starts the next at the new rate.
    const cameras = s.t.app.context.cameras!;
    const fps = cameras.get(s.id)!.fps_options.find((f) => f !== cameras.get(s.id)!.controls.fps)!;
    await cameras.update(SYSTEM_ACTOR, s.id, { controls: { fps } });
    const next = await until('the next file', () => mp4s(s.dir).find((f) => f !== file && statSync(f).size > 10_000));
    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'off' });
    await until('stopped', () => recordingEvents(s).at(-1)?.state === 'off');
    expect(frames(file)).toBeGreaterThan(0);
    const rate = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', next], { encoding: 'utf8' }).trim();
    expect(rate).toBe(`${fps}/1`);
  }, 60_000);

  it('max_size_mb: deletes the oldest recordings ahead of time, then stops cleanly with a notice', async () => {
    const s = await start({ max_size_mb: 1, segment_seconds: 300 });
    const media = s.t.app.context.config.recording.media_dir;
    mkdirSync(join(media, 'older-camera'), { recursive: true });
    const old = join(media, 'older-camera', '2020-01-01_00-00-00_aaaaaa.mp4');
    writeFileSync(old, Buffer.alloc(600 * 1024));
    const roto = await rotoclear(s.t);
    cleanups.push(() => roto.close());
    const cameras = s.t.app.context.cameras!;

    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'on' });
    await until('recording', () => recordingEvents(s).some((d) => d.state === 'on'));
    // 600 KB + room for one more segment (1 MiB) would pass 1 MB: the older file went first.
    expect(existsSync(old)).toBe(false);
    const open = await until('a segment with data', () => mp4s(s.dir).find((f) => statSync(f).size > 0));

    const verdict = await s.t.app.context.recordings!.checkSpace();
    expect(verdict).toMatchObject({ ok: false, reason: 'max_size' });
    const stopped = recordingEvents(s).find((d) => d.state === 'off');
    expect(stopped).toMatchObject({ reason: 'max_size', error: expect.stringContaining('recording.max_size_mb') });
    expect(cameras.get(s.id)!.record).toBe('off');
    await until('Rotoclear hears record off', () => roto.messages.some((m) => m.record === 'off'));
    // Stopped cleanly: the file being written is kept and plays.
    expect(frames(open)).toBeGreaterThan(0);
    expect((await s.t.api('GET', '/api/health')).status).toBe(200);
  }, 60_000);

  it('min_free_mb: a recording that would go below the free-space floor does not start; the switch goes back off with a notice, also in HA', async () => {
    const ha = new HaPeer('recordings-test-token');
    await ha.start();
    cleanups.push(() => ha.stop());
    const s = await start({ min_free_mb: 1_000_000 }, { homeassistant: { enabled: true, url: ha.url, token: 'recordings-test-token' } });
    await until('HA connected', () => s.t.app.context.status.health().components.homeassistant?.state === 'ok');
    const media = s.t.app.context.config.recording.media_dir;
    mkdirSync(join(media, 'older-camera'), { recursive: true });
    const old = join(media, 'older-camera', '2020-01-01_00-00-00_aaaaaa.mp4');
    writeFileSync(old, Buffer.alloc(1024));
    const cameras = s.t.app.context.cameras!;

    await cameras.update(SYSTEM_ACTOR, s.id, { record: 'on' });
    await until('the notice', () => recordingEvents(s).some((d) => d.state === 'off'));
    expect(recordingEvents(s)).toEqual([expect.objectContaining({ state: 'off', reason: 'min_free', error: expect.stringContaining('recording.min_free_mb') })]);
    await until('the switch back off', () => cameras.get(s.id)!.record === 'off');
    // Making room came first: the older recording was deleted before giving up.
    expect(existsSync(old)).toBe(false);
    expect(mp4s(s.dir)).toEqual([]);
    expect(cameras.get(s.id)!.reader_list).toEqual([]);
    const nid = `switchboard_recording_${s.id}`;
    const notice = await ha.waitFor(() => ha.notifications.get(nid));
    expect(notice).toMatchObject({ title: 'Switchboard: recording stopped', message: expect.stringContaining('recording.min_free_mb') });
    // Recording running again (as the service announces it) dismisses the notice.
    s.t.app.context.bus.publish('camera', s.id, 'recording', { state: 'on', trigger: 'manual' });
    await ha.waitFor(() => !ha.notifications.has(nid));
  }, 60_000);
});
