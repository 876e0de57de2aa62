// npm run bench: speed and memory against baselines started in the same run, loopback only.
// Prints one JSON line per figure, then a readable summary with the targets.
// Knobs (env): BENCH_SECONDS (per phase, default 8), BENCH_CLIENTS (100), BENCH_FANOUT (1000),
// BENCH_RATE (20 sets/s), BENCH_ROUNDS (2 request rounds per server), BENCH_EVENTS (2000), BENCH_EVENT_RATE (500 events/s),
// BENCH_ONLY (comma list of phases: footprint,signin,request,fanout,mqtt,streams,passthrough,image,soak), BENCH_SERVER_NODE_ARGS
// (extra node flags for the server process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_BASELINE_NODE_ARGS
// (the same for the baseline servers; each request round prints its monotonic window and count, so
// `bench/profileSummary.ts` can cut a profile to it),
// BENCH_SOAK_MINUTES (10), BENCH_SOAK_ROUND (300 clients a round), BENCH_NODE_FLAGS (replaces the run
// script's node flags, to try variants: "" for none, e.g. "--max-semi-space-size=1 --single-threaded-gc"),
// BENCH_REQUEST_RATE (total req/s the request clients pace themselves to; default 0: as fast as
// replies come. Paced, both servers get the same load, so CPU per request and p99 compare fairly
// on a busy machine), BENCH_PASSTHROUGH_SIZES (640x360,1280x720,1920x1080: the paced-file sizes of the
// passthrough phase), BENCH_SIGNINS (5: password sign-ins before the signin phase reads RSS).
// Opt-in, not in the default run: `npm run bench:vm` (bench/vm/: Switchboard vs µStreamer on vivid in qemu).
// The server is the shipped command: `node <run script's flags> dist/main.js` with the variables the
// run script exports (bench/shipped.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { createApp } from '../src/app.js';
import { parseConfig } from '../src/config/load.js';
import { coresUsed, cpuWithReapedChildren, rssMbOf, sampleCpu } from './procStats.js';
import { camerasSchema } from '../src/config/schema.js';
import { shippedEnv, shippedNodeFlags } from './shipped.js';
import { measureCapture, prepareSource, type SourceFormat } from './passthrough.js';
import { lastThirdGrowthPct, soak } from './soak.js';
import { ffmpegFloor, streamFanout } from './streams.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// 100, not 50: 50 closed-loop clients on a quiet 2-core machine each ask ~520 times a second, above
// NestMTX's per-socket limit (500/s), so the limiter's refusals rather than speed would be measured.
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const EVENT_RATE = Number(process.env.BENCH_EVENT_RATE ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REQUEST_RATE = Number(process.env.BENCH_REQUEST_RATE ?? 0);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'footprint,signin,request,fanout,mqtt,streams,passthrough,image,soak').split(','));
const SIGNINS = Number(process.env.BENCH_SIGNINS ?? 5);
const PASSTHROUGH_SIZES = (process.env.BENCH_PASSTHROUGH_SIZES ?? '640x360,1280x720,1920x1080').split(',').map((s) => {
  const [width, height] = s.split('x').map(Number);
  return { width: width!, height: height! };
});
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const SOAK_ROUND = Number(process.env.BENCH_SOAK_ROUND ?? 300);
const STREAM_READERS = [1, 10, 50];
const ADMIN_PASSWORD = 'bench-admin-password';

/** The run script's node flags, unless BENCH_NODE_FLAGS replaces them for an experiment. */
const serverNodeFlags = (): string[] => (process.env.BENCH_NODE_FLAGS === undefined ? shippedNodeFlags() : process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean));

const figures: Record<string, number> = {};
function figure(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  figures[name] = value;
  process.stdout.write(JSON.stringify({ figure: name, value: Math.round(value * 100) / 100, unit, ...extra }) + '\n');
}
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const sortNum = (a: number[]) => a.sort((x, y) => x - y);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a baseline script and resolves with the port it prints. */
async function startBaseline(script: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const nodeArgs = (process.env.BENCH_BASELINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(import.meta.dirname, 'baselines', script)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

interface Server {
  child: ChildProcess;
  port: number;
  startMs: number;
  /** CPU the server spent until healthy: unlike wall time, barely moved by other load on the machine. */
  startCpuMs: number;
  dataDir: string;
}

interface StartOptions {
  /** The add-on's default: the embedded MQTT broker on (else MQTT off). */
  mqtt?: boolean;
  /** The variables the run script exports (default); false: the C library's defaults. */
  shippedEnv?: boolean;
  /** More variables for the server (e.g. an option under test). */
  env?: Record<string, string>;
}

/** Starts the built add-on (dist/) as a child process, MQTT off unless asked; by default with the run script's node flags and variables. */
async function startSwitchboard(flags = serverNodeFlags(), opts: StartOptions = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const [port, monitorPort] = [await freePort(), await freePort()];
  const runScriptEnv = shippedEnv();
  const inherited = { ...process.env };
  // An experiment without them must not inherit them from the shell either.
  for (const name of Object.keys(runScriptEnv)) delete inherited[name];
  const t0 = performance.now();
  const nodeArgs = [...flags, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, join(import.meta.dirname, '..', 'dist', 'main.js')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...inherited,
      ...(opts.shippedEnv === false ? {} : runScriptEnv),
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_HTTP_HOST: '127.0.0.1',
      SWITCHBOARD_HTTP_PORT: String(port),
      SWITCHBOARD_MONITOR_PORT: String(monitorPort),
      ...(opts.mqtt ? { SWITCHBOARD_MQTT_URL: 'embedded', SWITCHBOARD_MQTT_EMBEDDED_PORT: String(await freePort()) } : { SWITCHBOARD_MQTT_URL: 'disabled' }),
      SWITCHBOARD_HOMEASSISTANT_ENABLED: 'false',
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHBOARD_LOG_LEVEL: 'warn',
      SWITCHBOARD_CAMERAS_SIMULATED: 'always',
      ...opts.env,
    },
  });
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error('switchboard exited during start');
    await sleep(5);
  }
  const startMs = performance.now() - t0;
  const startCpuMs = [...sampleCpu(child.pid!).values()].reduce((a, b) => a + b, 0) * 1000;
  return { child, port, startMs, startCpuMs, dataDir };
}

async function token(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  return ((await r.json()) as { bearer: string }).bearer;
}

/** Switchboard's reply to `request list users`, as JSON text: the baseline answers these same bytes. */
async function listUsersReply(port: number, auth: string): Promise<string> {
  const s = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { token: auth }, forceNew: true });
  const reply = await new Promise<unknown>((resolve, reject) => {
    s.once('connect_error', reject);
    s.once('reply', resolve);
    s.emit('request', { command: 'list', module: 'users', requestId: 'reply' });
  });
  s.close();
  return JSON.stringify(reply);
}

/** C clients, each sending `request list users` in a closed loop for SECONDS; with the server's CPU (user + system, all threads) per request. */
async function requestLoop(port: number, auth: string | null, serverPid: number): Promise<{ rps: number; p50: number; p99: number; errors: number; served: number; cpuUsPerRequest: number; windowUs: [number, number] }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const s = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: auth ? { token: auth } : {}, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    sockets.push(s);
  }
  const latencies: number[] = [];
  // CLOCK_MONOTONIC in µs, the clock of V8's .cpuprofile timestamps: the window a profile is cut to.
  const windowStart = Number(process.hrtime.bigint() / 1000n);
  const cpuBefore = sampleCpu(serverPid);
  const start = performance.now();
  const until = start + SECONDS * 1000;
  let seq = 0;
  let errors = 0; // error replies (e.g. rate limited) are not counted as served
  const intervalMs = REQUEST_RATE > 0 ? (1000 * CLIENTS) / REQUEST_RATE : 0;
  await Promise.all(
    sockets.map(async (s, i) => {
      // Paced clients start spread over one interval, so the requests arrive evenly.
      for (let k = 0; performance.now() < until; k++) {
        const due = start + (k + i / CLIENTS) * intervalMs;
        if (intervalMs && performance.now() < due) await sleep(due - performance.now());
        const requestId = `r${seq++}`;
        const t = performance.now();
        const reply = await new Promise<{ error?: unknown; items?: unknown[] }>((resolve) => {
          s.once(requestId, resolve);
          s.emit('request', { command: 'list', module: 'users', requestId });
        });
        if (reply.error || !Array.isArray(reply.items)) errors++;
        else latencies.push(performance.now() - t);
      }
    }),
  );
  const windowEnd = Number(process.hrtime.bigint() / 1000n);
  const cpuSeconds = coresUsed(cpuBefore, sampleCpu(serverPid), 1);
  for (const s of sockets) s.close();
  sortNum(latencies);
  const served = latencies.length + errors;
  return { rps: latencies.length / SECONDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, served, cpuUsPerRequest: (cpuSeconds * 1e6) / served, windowUs: [windowStart, windowEnd] };
}

/** FANOUT receivers and one sender setting brightness RATE times a second; latency at every receiver. */
async function fanout(port: number, auth: string | null, serverPid: number | null): Promise<{ p50: number; p99: number; max: number; delivered: number; expected: number; rssMb: number }> {
  const url = `ws://127.0.0.1:${port}/api/v1`;
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (auth) {
      ws.send(JSON.stringify({ token: auth }));
      await new Promise<void>((resolve) => {
        const onMsg = (d: WebSocket.RawData) => {
          if (String(d).includes('"authenticated"')) {
            ws.off('message', onMsg);
            resolve();
          }
        };
        ws.on('message', onMsg);
      });
    }
    return ws;
  };
  const receivers: WebSocket[] = [];
  for (let i = 0; i < FANOUT; i++) {
    receivers.push(await open());
    if (i % 250 === 249) progress(`fan-out: ${i + 1}/${FANOUT} clients connected`);
  }
  const sender = await open();
  await sleep(300);
  const rss = serverPid ? rssMbOf(serverPid) : NaN;
  const sendTimes: number[] = [];
  const latencies: number[] = [];
  let running = true;
  for (const ws of receivers) {
    let k = 0;
    ws.on('message', (data) => {
      if (!running) return;
      const text = String(data);
      if (!text.includes('"brightness"') || text.includes('"info"')) return;
      const sent = sendTimes[k++];
      if (sent !== undefined) latencies.push(performance.now() - sent);
    });
  }
  const total = Math.round(SECONDS * RATE);
  for (let i = 0; i < total; i++) {
    const value = 10 + (i % 2) * 50 + (i % 40); // consecutive values always differ
    sendTimes.push(performance.now());
    sender.send(JSON.stringify({ brightness: value }));
    await sleep(1000 / RATE);
  }
  await sleep(1000);
  running = false;
  for (const ws of [...receivers, sender]) ws.terminate();
  sortNum(latencies);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN, delivered: latencies.length, expected: total * FANOUT, rssMb: rss };
}

/** Domain event → MQTT message at a subscriber, through the embedded broker, in one process. */
async function eventToMqtt(): Promise<{ p50: number; p99: number; received: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-mqtt-'));
  const mqttPort = await freePort();
  const app = createApp(
    parseConfig({ data_dir: dataDir, http_host: '127.0.0.1', http_port: 0, monitor_port: 0, admin_password: ADMIN_PASSWORD, log_level: 'warn', homeassistant: { enabled: false }, cameras: { simulated: 'always' }, mqtt: { url: 'embedded', embedded_port: mqttPort } }),
    { logOut: null },
  );
  await app.start();
  // The embedded broker takes only the credentials it generated (the panel shows them to admins).
  const login = app.context.mqtt.embeddedBroker()!;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: login.username, password: login.password });
  await client.subscribeAsync('switchboard/events/#');
  // Steady state: let the bridge finish its start-up discovery sweep first.
  await sleep(2000);
  const latencies: number[] = [];
  client.on('message', (_topic, payload) => {
    // The publication time travels in the command text ("noop <ms>"): a typed field of the event.
    const e = JSON.parse(payload.toString()) as { details?: { command?: string } };
    const t = Number(/^noop (\S+)$/.exec(e.details?.command ?? '')?.[1]);
    if (Number.isFinite(t)) latencies.push(performance.now() - t);
  });
  // Warm-up (not counted): the first events through a fresh process pay for JIT compilation.
  for (let i = 0; i < 200; i++) {
    app.context.bus.publish('monitor', 'bench', 'command', { monitor_id: 'bench', command: 'warmup', by: null });
    await sleep(1);
  }
  await sleep(200);
  // Events at a steady EVENT_RATE, each timed from its publication on the bus.
  const start = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    const due = start + (i * 1000) / EVENT_RATE;
    while (performance.now() < due) await sleep(1);
    app.context.bus.publish('monitor', 'bench', 'command', { monitor_id: 'bench', command: `noop ${performance.now()}`, by: null });
  }
  await sleep(1000);
  await client.endAsync();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  sortNum(latencies);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), received: latencies.length };
}

/** Waits until the server's MQTT bridge is connected (its broker holds the base topic). */
async function mqttOk(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const health = (await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()) as { components?: { mqtt?: { state?: string } } };
    if (health.components?.mqtt?.state === 'ok') return;
    await sleep(50);
  }
  throw new Error('the MQTT bridge did not connect to the embedded broker');
}

/**
 * RSS idle at healthy and idle after SIGNINS password sign-ins (scrypt), in the add-on's default
 * configuration (embedded broker on, one simulated camera) next to MQTT off; and without the run
 * script's variables, the C library's own behaviour.
 */
async function signinFootprint(): Promise<void> {
  const libc = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const cLibrary = libc.header?.glibcVersionRuntime ? `glibc ${libc.header.glibcVersionRuntime}` : 'not glibc';
  for (const [name, opts] of [
    ['mqtt_on', { mqtt: true }],
    ['mqtt_off', { mqtt: false }],
    ['mqtt_on_without_run_script_env', { mqtt: true, shippedEnv: false }],
  ] as const) {
    progress(`sign-in footprint: ${name.replaceAll('_', ' ')}`);
    const sb = await startSwitchboard(serverNodeFlags(), opts);
    if (opts.mqtt) await mqttOk(sb.port);
    await sleep(3000);
    const idle = rssMbOf(sb.child.pid!);
    for (let i = 0; i < SIGNINS; i++) await token(sb.port);
    await sleep(3000);
    const after = rssMbOf(sb.child.pid!);
    const extra = { c_library: cLibrary, env: opts.shippedEnv === false ? {} : shippedEnv(), cameras: 1, mqtt: opts.mqtt ? 'embedded' : 'disabled' };
    figure(`rss_idle_${name}_mb`, idle, 'MB', extra);
    figure(`rss_after_signins_${name}_mb`, after, 'MB', { ...extra, signins: SIGNINS });
    await stopSwitchboard(sb);
  }
}

async function stopSwitchboard(sb: Server): Promise<void> {
  sb.child.kill('SIGTERM');
  await new Promise((r) => sb.child.once('exit', r));
  rmSync(sb.dataDir, { recursive: true, force: true });
}

async function firstCameraId(port: number, auth: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/api/cameras`, { headers: { authorization: `Bearer ${auth}` } });
  return ((await r.json()) as { items: { id: string }[] }).items[0]!.id;
}

/**
 * The add-on's capture command for an MJPEG camera (copy) and a raw YUYV one (encode), and with the
 * live H.264 output on for an H.264 camera (copy) too. The device is replaced by a paced file.
 */
async function passthrough(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-passthrough-'));
  try {
    for (const size of PASSTHROUGH_SIZES) {
      const name = `${size.width}x${size.height}`;
      progress(`passthrough: ${name}@30, encoding the camera stand-in files (not measured)`);
      const files = {} as Record<SourceFormat, string>;
      for (const format of ['MJPG', 'YUYV', 'H264'] as const) files[format] = await prepareSource(dir, format, size, 30, SECONDS);
      const runs: [SourceFormat, boolean][] = [['MJPG', false], ['YUYV', false], ['MJPG', true], ['H264', true], ['YUYV', true]];
      const cores: Record<string, number> = {};
      // CPU per delivered frame as well: on a loaded machine a starved ffmpeg delivers fewer frames and so spends less per second.
      const msPerFrame: Record<string, number> = {};
      for (const [format, h264] of runs) {
        const key = `${format}${h264 ? '_h264' : ''}`;
        progress(`passthrough: ${name} ${format} device${h264 ? ' + H.264 live output' : ''}`);
        const r = await measureCapture({ format, file: files[format], size, fps: 30, h264, seconds: SECONDS });
        cores[key] = r.cores;
        msPerFrame[key] = (r.cores * 1000) / r.mjpegFps;
        figure(`passthrough_${name}_${key}_cores`, r.cores, 'cpu-s/s', { cpu_ms_per_s: Math.round(r.cores * 1000), cpu_ms_per_frame: Math.round(msPerFrame[key] * 100) / 100, device: 'paced file', source: format, path: r.path, mjpeg_fps: Math.round(r.mjpegFps * 10) / 10, rss_mb: Math.round(r.rssMb) });
      }
      const ratio = (figureName: string, a: string, b: string, of: string) =>
        figure(figureName, cores[a]! / cores[b]!, 'x', { per_frame: Math.round((msPerFrame[a]! / msPerFrame[b]!) * 100) / 100, of });
      ratio(`passthrough_${name}_cpu_ratio`, 'MJPG', 'YUYV', 'MJPG copy / YUYV encode, MJPEG output only');
      ratio(`passthrough_${name}_h264_cpu_ratio`, 'H264_h264', 'YUYV_h264', 'H.264 device (H.264 copy, MJPEG encode) / YUYV (both encoded)');
      ratio(`passthrough_${name}_mjpeg_h264_cpu_ratio`, 'MJPG_h264', 'YUYV_h264', 'MJPEG device (MJPEG copy, libx264) / YUYV (both encoded)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What keeping the HA camera picture fresh costs while nobody watches: each refresh is a brief
 * capture (an ffmpeg started, one frame, stopped). The same window with refreshes every 2 s and
 * with none; the difference per refresh, then per second at the default interval.
 */
async function imageRefresh(): Promise<void> {
  const every = 2;
  const windowS = Math.max(SECONDS, 10);
  const cpuOver = async (interval: number): Promise<number> => {
    const sb = await startSwitchboard(serverNodeFlags(), { env: { SWITCHBOARD_CAMERAS_IMAGE_INTERVAL_SECONDS: String(interval) } });
    await sleep(3000);
    const before = cpuWithReapedChildren(sb.child.pid!);
    await sleep(windowS * 1000);
    // Still-running captures are not reaped yet: let the last one end before reading.
    await sleep(1500);
    const used = cpuWithReapedChildren(sb.child.pid!) - before;
    await stopSwitchboard(sb);
    return used;
  };
  progress(`image refresh: ${windowS}s idle, no refresh`);
  const idle = await cpuOver(0);
  progress(`image refresh: ${windowS}s idle, a refresh every ${every}s`);
  const refreshing = await cpuOver(every);
  const perRefreshMs = ((refreshing - idle) * 1000) / Math.floor(windowS / every);
  const defaultInterval = camerasSchema.parse({}).image_interval_seconds;
  figure('image_refresh_cpu_ms_each', perRefreshMs, 'cpu-ms', { camera: 'simulated 640x480', of: 'a brief capture for the HA camera picture while nobody streams' });
  if (defaultInterval > 0) figure('image_refresh_cpu_percent_at_default', perRefreshMs / 10 / defaultInterval, '% of one core', { image_interval_seconds: defaultInterval });
}

async function main(): Promise<void> {
  progress(`phases ${[...ONLY].join(', ')} of ${SECONDS}s; ${CLIENTS} request clients${REQUEST_RATE ? ` at ${REQUEST_RATE} req/s in all` : ''}; ${FANOUT} fan-out clients at ${RATE}/s; server flags: ${serverNodeFlags().join(' ') || 'none'}`);
  if (ONLY.has('footprint')) {
    // The same build without the run script's flags, for the before/after of the flags alone.
    const bare = await startSwitchboard([]);
    await sleep(3000);
    figure('rss_idle_without_flags_mb', rssMbOf(bare.child.pid!), 'MB');
    await stopSwitchboard(bare);
  }
  if (ONLY.has('signin')) await signinFootprint();
  if (ONLY.has('footprint') || ONLY.has('request') || ONLY.has('fanout') || ONLY.has('streams')) {
    const sb = await startSwitchboard();
    figure('start_to_healthy_ms', sb.startMs, 'ms', { cpu_ms: sb.startCpuMs, load_average_1m: loadavg()[0], node_flags: serverNodeFlags() });
    await sleep(3000);
    figure('rss_idle_mb', rssMbOf(sb.child.pid!), 'MB', { node_flags: serverNodeFlags() });
    const adminToken = await token(sb.port);

    if (ONLY.has('request')) {
      // Client and server share 2 cores, so single runs are noisy: alternate the two servers for
      // ROUNDS rounds and keep each one's best round.
      const base = await startBaseline('socketioBaseline.ts', { BASELINE_LIST_REPLY: await listUsersReply(sb.port, adminToken) });
      const best = { base: null as Awaited<ReturnType<typeof requestLoop>> | null, sb: null as Awaited<ReturnType<typeof requestLoop>> | null };
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`request round trip: baseline (round ${round}/${ROUNDS})`);
        const rb = await requestLoop(base.port, null, base.child.pid!);
        progress(`  baseline: ${Math.round(rb.rps)} req/s, p99 ${rb.p99.toFixed(2)} ms, ${rb.cpuUsPerRequest.toFixed(1)} µs CPU/req; window_us ${rb.windowUs.join('-')} served ${rb.served}`);
        if (!best.base || rb.rps > best.base.rps) best.base = rb;
        progress(`request round trip: switchboard (round ${round}/${ROUNDS})`);
        const rs = await requestLoop(sb.port, adminToken, sb.child.pid!);
        progress(`  switchboard: ${Math.round(rs.rps)} req/s, p99 ${rs.p99.toFixed(2)} ms, ${rs.cpuUsPerRequest.toFixed(1)} µs CPU/req; window_us ${rs.windowUs.join('-')} served ${rs.served}`);
        if (!best.sb || rs.rps > best.sb.rps) best.sb = rs;
      }
      base.child.kill();
      const rb = best.base!;
      const rs = best.sb!;
      figure('request_baseline_rps', rb.rps, 'req/s', { p50_ms: rb.p50, p99_ms: rb.p99, errors: rb.errors, cpu_us_per_request: rb.cpuUsPerRequest, rounds: ROUNDS });
      figure('request_switchboard_rps', rs.rps, 'req/s', { p50_ms: rs.p50, p99_ms: rs.p99, errors: rs.errors, cpu_us_per_request: rs.cpuUsPerRequest, rounds: ROUNDS });
      figure('request_throughput_ratio', rs.rps / rb.rps, 'x');
      figure('request_p99_ratio', rs.p99 / rb.p99, 'x');
      // Server CPU per request (its best round's): unlike the rates, hardly moved by other load.
      figure('request_cpu_per_request_ratio', rs.cpuUsPerRequest / rb.cpuUsPerRequest, 'x', { switchboard_us: rs.cpuUsPerRequest, baseline_us: rb.cpuUsPerRequest });
    }

    if (ONLY.has('fanout')) {
      progress('fan-out: baseline');
      const relay = await startBaseline('wsRelayBaseline.ts');
      const fb = await fanout(relay.port, null, null);
      relay.child.kill();
      progress('fan-out: switchboard');
      const fs = await fanout(sb.port, adminToken, sb.child.pid!);
      figure('fanout_baseline_p99_ms', fb.p99, 'ms', { p50_ms: fb.p50, max_ms: fb.max, delivered: fb.delivered, expected: fb.expected });
      figure('fanout_switchboard_p99_ms', fs.p99, 'ms', { p50_ms: fs.p50, max_ms: fs.max, delivered: fs.delivered, expected: fs.expected });
      figure('fanout_p99_ratio', fs.p99 / fb.p99, 'x');
      figure('rss_with_clients_mb', fs.rssMb, 'MB', { clients: FANOUT });
    }

    if (ONLY.has('streams')) {
      const cameraId = await firstCameraId(sb.port, adminToken);
      for (const readers of STREAM_READERS) {
        progress(`streams: ${readers} MJPEG reader(s), simulated camera 640x360@30`);
        const r = await streamFanout({ port: sb.port, token: adminToken, cameraId, serverPid: sb.child.pid!, readers, seconds: SECONDS });
        figure(`stream_${readers}_readers_cores`, r.cores, 'cpu-s/s', { fps_min: r.fpsMin, fps_median: r.fpsMedian, fps_max: r.fpsMax, rss_mb_with_ffmpeg: r.rssMb });
      }
      figure('stream_50_vs_1_cpu_ratio', figures.stream_50_readers_cores! / figures.stream_1_readers_cores!, 'x');
    }
    await stopSwitchboard(sb);
  }

  if (ONLY.has('streams')) {
    progress('streams: floor (ffmpeg alone into /dev/null)');
    const floor = await ffmpegFloor({ width: 640, height: 360, fps: 30, jpegQuality: 80, seconds: SECONDS });
    figure('stream_ffmpeg_floor_cores', floor.cores, 'cpu-s/s', { rss_mb: floor.rssMb });
    if (figures.stream_1_readers_cores !== undefined) figure('stream_1_reader_vs_floor_cpu_ratio', figures.stream_1_readers_cores / floor.cores, 'x');
    // µStreamer reads V4L2 devices only (no test-pattern source); this machine has none and cannot
    // load vivid or v4l2loopback: its same-source figures come from `npm run bench:vm` (vivid in qemu).
    progress('streams: µStreamer not here (needs a V4L2 capture device): npm run bench:vm compares it on vivid in the VM');
  }

  if (ONLY.has('passthrough')) await passthrough();
  if (ONLY.has('image')) await imageRefresh();

  if (ONLY.has('soak')) {
    const sb = await startSwitchboard();
    const adminToken = await token(sb.port);
    const cameraId = await firstCameraId(sb.port, adminToken);
    progress(`soak: ${SOAK_MINUTES} min, ${SOAK_ROUND} clients a round`);
    const samples = await soak({
      port: sb.port, token: adminToken, cameraId, minutes: SOAK_MINUTES, perRound: SOAK_ROUND,
      onSample: (s) => figure('soak_minute', s.minute, 'min', { rss_mb: s.rssMb, heap_mb: s.heapMb, rounds: s.rounds, connections: s.connections, failures: s.failures }),
    });
    for (const [name, values] of [['rss', samples.map((s) => s.rssMb)], ['heap', samples.map((s) => s.heapMb)]] as const) {
      const g = lastThirdGrowthPct(values);
      figure(`soak_${name}_last_third_growth_pct`, g.pct, '%', { of: 'mean of the last third vs the third before it', from_mb: g.fromMb, to_mb: g.toMb, first_mb: values[0], last_mb: values.at(-1) });
    }
    await stopSwitchboard(sb);
  }

  if (ONLY.has('mqtt')) {
    progress('event → MQTT');
    const em = await eventToMqtt();
    figure('event_to_mqtt_p99_ms', em.p99, 'ms', { p50_ms: em.p50, received: em.received, sent: EVENTS, rate_per_s: EVENT_RATE });
  }

  const targets: [string, string, (v: number) => boolean][] = [
    ['request throughput ≥ 0.9× baseline', 'request_throughput_ratio', (v) => v >= 0.9],
    ['request p99 ≤ 1.3× baseline p99', 'request_p99_ratio', (v) => v <= 1.3],
    ['fan-out p99 ≤ 50 ms', 'fanout_switchboard_p99_ms', (v) => v <= 50],
    ['fan-out p99 ≤ 1.2× bare ws relay', 'fanout_p99_ratio', (v) => v <= 1.2],
    ['event → MQTT p99 ≤ 10 ms', 'event_to_mqtt_p99_ms', (v) => v <= 10],
    ['RSS idle of the shipped command ≤ 64 MB', 'rss_idle_mb', (v) => v <= 64],
    [`RSS idle after ${SIGNINS} sign-ins, add-on defaults (embedded MQTT, one camera) ≤ 72 MB`, 'rss_after_signins_mqtt_on_mb', (v) => v <= 72],
    [`RSS with ${FANOUT} clients ≤ 200 MB`, 'rss_with_clients_mb', (v) => v <= 200],
    ['start to healthy ≤ 700 ms', 'start_to_healthy_ms', (v) => v <= 700],
    ['50 MJPEG readers ≤ 1.5× the CPU of 1', 'stream_50_vs_1_cpu_ratio', (v) => v <= 1.5],
    ...PASSTHROUGH_SIZES.map(({ width, height }): [string, string, (v: number) => boolean] => [
      `passthrough camera CPU ≤ 0.2× the transcoding path, ${width}x${height} (paced file for the device)`, `passthrough_${width}x${height}_cpu_ratio`, (v) => v <= 0.2,
    ]),
    ['soak: RSS grows < 2 % over the last third', 'soak_rss_last_third_growth_pct', (v) => v < 2],
    ['soak: heap grows < 2 % over the last third', 'soak_heap_last_third_growth_pct', (v) => v < 2],
  ];
  process.stderr.write('\nSummary (target: figure)\n');
  for (const [name, key, ok] of targets) {
    const v = figures[key];
    if (v === undefined) continue;
    process.stderr.write(`  ${ok(v) ? 'met   ' : 'MISSED'}  ${name}: ${Math.round(v * 100) / 100}\n`);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
