// Docker cannot run on the build machines, so this test performs the image's steps itself: it reads
// the Dockerfile, copies exactly what each COPY names (honouring .dockerignore) into a fake root
// per stage, runs the npm steps, then starts the runtime copy the way the Supervisor does (options
// file, SUPERVISOR_TOKEN, a loopback Supervisor peer) and stops it with SIGTERM. A file the
// Dockerfile forgets to copy, a production dependency missing from package.json or a broken
// lockfile fails here, as it would fail the image.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { parse as parseYaml } from 'yaml';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'test-token';
const ADMIN_PASSWORD = 'image-test-password';

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    });
}

/** Docker's .dockerignore: the last matching pattern wins; a pattern matching a folder covers its contents. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/$/, '');
      const part = (p: string) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
      const re = new RegExp('^' + glob.split('**').map(part).join('.*') + '$');
      return { negate, re };
    });
  return (path: string) => {
    const parts = path.split('/');
    let excluded = false;
    for (const { negate, re } of rules) {
      for (let i = 1; i <= parts.length; i++) if (re.test(parts.slice(0, i).join('/'))) excluded = !negate;
    }
    return excluded;
  };
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
}

interface ImageSteps {
  runtime: Stage;
  apk: string[];
  healthcheck: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  const res = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (res.status !== 0) {
    // npm appends its whole usage text to a usage error; the first lines say what went wrong.
    const head = `${res.stdout}\n${res.stderr}`.split('\n').filter((l) => l.trim() && !l.includes('Unknown user config')).slice(0, 25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with ${res.status}:\n${head}`);
  }
}

/** Builds the image's file system under `base`, one fake root per stage. */
function buildImage(base: string): ImageSteps {
  const steps = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ignored = dockerignore(existsSync(join(ROOT, '.dockerignore')) ? readFileSync(join(ROOT, '.dockerignore'), 'utf8') : '');
  const stages: Stage[] = [];
  const apk: string[] = [];
  let healthcheck = '';
  let stage: Stage | undefined;
  const inStage = (s: Stage, p: string) => join(s.root, posix.resolve(s.workdir, p));

  for (const { op, args } of steps) {
    if (op === 'ARG' || op === 'LABEL' || op === 'EXPOSE') continue;
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.length}`;
      stage = { name, root: join(base, name), workdir: '/', env: {} };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    const current: Stage = stage;
    if (op === 'WORKDIR') {
      current.workdir = posix.resolve(current.workdir, args);
      mkdirSync(join(current.root, current.workdir), { recursive: true });
    } else if (op === 'ENV') {
      for (const m of args.matchAll(/(\w+)=(\S+)/g)) current.env[m[1]!] = m[2]!;
    } else if (op === 'HEALTHCHECK') {
      healthcheck = args;
    } else if (op === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop()!;
      for (const src of paths) {
        let source: string;
        if (from) {
          const other = stages.find((s) => s.name === from);
          if (!other) throw new Error(`COPY --from=${from}: no such stage`);
          source = inStage(other, src);
        } else {
          const rel = posix.normalize(src).replace(/\/$/, '');
          if (ignored(rel)) throw new Error(`COPY ${src}: excluded by .dockerignore`);
          source = join(ROOT, rel);
        }
        if (!existsSync(source)) throw new Error(`COPY ${src}: missing in ${from ? `stage ${from}` : 'the build context'}`);
        // A folder's contents go into dest; files go into dest/ when it is a folder (trailing / or several sources).
        const isDir = statSync(source).isDirectory();
        const target = !isDir && (dest.endsWith('/') || paths.length > 1) ? join(inStage(current, dest), posix.basename(src)) : inStage(current, dest);
        mkdirSync(isDir ? target : dirname(target), { recursive: true });
        // Context copies skip what .dockerignore excludes inside a folder, as `docker build` does.
        cpSync(source, target, { recursive: true, filter: (p) => from !== undefined || !ignored(posix.relative(ROOT, p)) || p === source });
      }
    } else if (op === 'RUN') {
      for (const part of args.split('&&').map((s) => s.trim())) {
        const cwd = join(current.root, current.workdir);
        if (part.startsWith('apk add')) apk.push(...part.split(/\s+/).slice(2).filter((w) => !w.startsWith('-')));
        else if (/^(addgroup|adduser) /.test(part)) continue; // users exist only in the real image
        else if (part === 'npm cache clean --force') continue; // would empty this machine's shared cache
        else if (/^npm ci\b/.test(part) && !part.includes('--omit=dev')) {
          // The build stage's full install: the repository's own node_modules come from the same
          // lockfile, so link them instead of downloading every dev tool again.
          symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
        } else if (/^npm ci\b/.test(part)) {
          run('npm', [...part.split(/\s+/).slice(1), '--prefer-offline', '--ignore-scripts=false'], cwd);
        } else if (part === 'npm run build') run('npm', ['run', 'build'], cwd);
        else throw new Error(`RUN step "${part}" is unknown to this test: teach it what the step does`);
      }
    } else throw new Error(`Dockerfile instruction ${op} is unknown to this test`);
  }
  return { runtime: stages[stages.length - 1]!, apk, healthcheck };
}

// ---------------------------------------------------------------------------------------------
// A loopback Supervisor: GET /services/mqtt (api/services.py) and the Core websocket proxy
// (api/proxy.py: auth_required → auth with SUPERVISOR_TOKEN → auth_ok / auth_invalid).

interface SupervisorPeer {
  url: string;
  requests: { path: string; authorization: string | undefined }[];
  wsAuth: string[];
  mqttClients: string[];
  close(): Promise<void>;
}

/** `mqttService: false` answers like a Supervisor without a broker add-on (400 Service not enabled). */
async function startSupervisorPeer(mqttService: boolean): Promise<SupervisorPeer> {
  const broker = await Aedes.createBroker();
  const mqttClients: string[] = [];
  broker.authenticate = (client, username, password, done) => {
    const ok = username === 'addons' && password?.toString() === 'broker-secret';
    if (ok) mqttClients.push(client.id);
    done(null, ok);
  };
  const mqttServer = createNetServer(broker.handle);
  await new Promise<void>((r) => mqttServer.listen(0, '127.0.0.1', r));
  const mqttPort = (mqttServer.address() as AddressInfo).port;

  const requests: SupervisorPeer['requests'] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createHttpServer((req, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(res, 401, { result: 'error', message: 'Unauthorized' });
    if (req.method === 'GET' && req.url === '/services/mqtt') {
      if (!mqttService) return json(res, 400, { result: 'error', message: 'Service not enabled' });
      return json(res, 200, { result: 'ok', data: { addon: 'core_mosquitto', host: '127.0.0.1', port: mqttPort, ssl: false, username: 'addons', password: 'broker-secret', protocol: '3.1.1' } });
    }
    return json(res, 404, { result: 'error', message: 'Not found' });
  });
  const wss = new WebSocketServer({ noServer: true });
  const wsAuth: string[] = [];
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (req.url !== '/core/websocket' && req.url !== '/core/api/websocket') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => serveCoreWebsocket(ws, wsAuth));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    wsAuth,
    mqttClients,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => mqttServer.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

/** Home Assistant Core's websocket as seen through the Supervisor, with an empty house. */
function serveCoreWebsocket(ws: WebSocket, wsAuth: string[]): void {
  let authed = false;
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  send({ type: 'auth_required', ha_version: '2026.11.0' });
  ws.on('message', (raw) => {
    let msg: { type?: string; id?: number; access_token?: string };
    try {
      msg = JSON.parse(String(raw)) as typeof msg;
    } catch {
      return ws.close();
    }
    if (!authed) {
      wsAuth.push(msg.access_token ?? '');
      if (msg.type === 'auth' && msg.access_token === TOKEN) {
        authed = true;
        return send({ type: 'auth_ok', ha_version: '2026.11.0' });
      }
      send({ type: 'auth_invalid', message: 'Invalid access token or password' });
      return ws.close();
    }
    const results: Record<string, unknown> = {
      get_states: [],
      get_services: {},
      get_panels: {},
      get_config: { components: ['mqtt'], version: '2026.11.0', state: 'RUNNING', unit_system: {}, location_name: 'Home', time_zone: 'UTC' },
    };
    if (msg.type === 'ping') return send({ id: msg.id, type: 'pong' });
    send({ id: msg.id, type: 'result', success: true, result: msg.type && msg.type in results ? results[msg.type] : null });
  });
}

// ---------------------------------------------------------------------------------------------

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

function waitForExit(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

interface RunningAddon {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote so far. */
  output(): string;
}

/** Starts the runtime copy as the s6 run script does, in the environment the Supervisor gives it. */
async function startAddon(image: ImageSteps, work: string, peer: SupervisorPeer, userOptions: Record<string, unknown> = {}): Promise<RunningAddon> {
  mkdirSync(join(work, 'data'), { recursive: true });
  // What the Supervisor writes: config.yaml's options with the user's changes.
  const addonConfig = parseYaml(readFileSync(join(ROOT, 'config.yaml'), 'utf8')) as { options: Record<string, unknown> };
  const optionsPath = join(work, 'options.json');
  writeFileSync(optionsPath, JSON.stringify({ ...addonConfig.options, admin_password: ADMIN_PASSWORD, ...userOptions }));
  chmodSync(optionsPath, 0o644);
  const [httpPort, monitorPort] = [await freePort(), await freePort()];
  const out: string[] = [];
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: join(image.runtime.root, 'app'),
    env: {
      PATH: process.env.PATH,
      TZ: 'UTC',
      SUPERVISOR_TOKEN: TOKEN,
      HASSIO_TOKEN: TOKEN,
      SUPERVISOR_URL: peer.url,
      SWITCHBOARD_OPTIONS_PATH: optionsPath,
      // Paths and ports that are fixed in the container but must not collide on a test machine.
      SWITCHBOARD_DATA_DIR: join(work, 'data'),
      SWITCHBOARD_HTTP_HOST: '127.0.0.1',
      SWITCHBOARD_HTTP_PORT: String(httpPort),
      SWITCHBOARD_MONITOR_PORT: String(monitorPort),
      SWITCHBOARD_MQTT_EMBEDDED_PORT: '0',
      SWITCHBOARD_RECORDING_MEDIA_DIR: join(work, 'media'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
  return { child, url: `http://127.0.0.1:${httpPort}`, output: () => out.join('') };
}

interface Health {
  version: string;
  components: Record<string, { state: string; detail?: string }>;
}

/** Polls /api/health until `done` holds for the answer, and returns it. */
async function health(addon: RunningAddon, done: (h: Health) => boolean): Promise<Health> {
  let last: Health | undefined;
  const answered = async () => {
    if (addon.child.exitCode !== null) throw new Error(`the add-on exited with ${addon.child.exitCode}:\n${addon.output()}`);
    const res = await fetch(`${addon.url}/api/health`).catch(() => undefined);
    if (!res) return false;
    expect(res.status).toBe(200);
    last = (await res.json()) as Health;
    return done(last) && last;
  };
  return until('the health answer', answered, 20_000).catch((err: Error) => {
    // Out of time: what health said last, and what the add-on logged.
    throw addon.child.exitCode !== null ? err : new Error(`${err.message}; the last answer: ${JSON.stringify(last)}\n${addon.output()}`);
  });
}

/** SIGTERM as the Supervisor sends it; it kills the container 10 s later (config.yaml `timeout` default). */
async function stopAddon(addon: RunningAddon): Promise<string> {
  addon.child.kill('SIGTERM');
  const code = await waitForExit(addon.child, 10_000);
  expect(code, addon.output()).toBe(0);
  const log = addon.output();
  // Text lines for the Supervisor's log view, not JSON.
  expect(log).toMatch(/^\d{4}-\d\d-\d\dT\S+ INFO \[\w[\w-]*\] switchboard started/m);
  expect(log).toContain('switchboard stopped');
  expect(log).not.toContain(ADMIN_PASSWORD);
  return log;
}

describe('the add-on image, built and started without Docker', () => {
  const base = mkdtempSync(join(tmpdir(), 'sb-image-'));
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  let image: ImageSteps;
  const peers: SupervisorPeer[] = [];
  const running: RunningAddon[] = [];

  beforeAll(() => {
    image = buildImage(base);
  }, 300_000);

  afterAll(async () => {
    for (const { child } of running) {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await waitForExit(child, 5000).catch(() => undefined);
      }
    }
    for (const peer of peers) await peer.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('installs what the add-on needs at run time and has the s6 service', () => {
    expect(image.apk).toEqual(expect.arrayContaining(['nodejs', 'npm', 'ffmpeg', 'v4l-utils']));
    expect(image.healthcheck).toMatch(/http:\/\/127\.0\.0\.1:2000\/api\/health/);
    const app = join(image.runtime.root, 'app');
    for (const f of ['package.json', 'package-lock.json', 'dist/main.js', 'web/dist/index.html', 'card/dist/switchboard-camera-card.js', 'node_modules/koffi/package.json']) expect(existsSync(join(app, f)), f).toBe(true);
    // --omit=dev: no dev tool in the image.
    for (const dev of ['typescript', 'vitest', 'eslint', 'tsx']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    const runScript = join(image.runtime.root, 'etc/services.d/switchboard/run');
    const finish = join(image.runtime.root, 'etc/services.d/switchboard/finish');
    for (const f of [runScript, finish]) {
      expect(statSync(f).mode & 0o111, `${f} is executable`).not.toBe(0);
      expect(spawnSync('bash', ['-n', f]).status, `${f} parses`).toBe(0);
    }
    const entry = /\bnode (?:--\S+ )*(\/\S+\.js)/.exec(readFileSync(runScript, 'utf8'))?.[1];
    expect(entry).toBe('/app/dist/main.js');
    expect(existsSync(join(image.runtime.root, entry!))).toBe(true);
    expect(Number(image.runtime.env.S6_SERVICES_GRACETIME)).toBeGreaterThanOrEqual(8000);
  });

  it('starts with the Supervisor environment, uses its MQTT service and Core proxy, and stops cleanly on SIGTERM', async () => {
    const peer = await startSupervisorPeer(true);
    peers.push(peer);
    const addon = await startAddon(image, join(base, 'with-mqtt'), peer);
    running.push(addon);

    const h = await health(addon, (x) => x.components.mqtt?.state === 'ok' && x.components.homeassistant?.state === 'ok');
    expect(h.version).toBe(version);
    // MQTT credentials came from GET /services/mqtt; Home Assistant was reached through the
    // Supervisor's Core websocket proxy with the add-on's token.
    expect(h.components, addon.output()).toMatchObject({ mqtt: { state: 'ok' }, homeassistant: { state: 'ok' } });
    expect(peer.requests.map((r) => r.path)).toContain('/services/mqtt');
    expect(peer.mqttClients.length).toBeGreaterThan(0);
    expect(peer.wsAuth).toContain(TOKEN);

    // The web panel ships in the image and is what ingress (ingress_port 2000) shows at /.
    const panel = await fetch(`${addon.url}/`);
    expect(panel.status).toBe(200);
    expect(panel.headers.get('content-type')).toMatch(/^text\/html/);
    // socket.io serves its browser client from its package folder; the server bundle (dist/) must
    // still find that folder in the image's node_modules.
    const client = await fetch(`${addon.url}/socket.io/socket.io.js`);
    expect(client.status).toBe(200);
    expect(await client.text()).toMatch(/^\/\*!\n \* Socket\.IO v4/);

    // The options file was honoured: the admin password from it signs in.
    const login = await fetch(`${addon.url}/api/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    expect(login.status).toBe(201);

    await stopAddon(addon);
    // Whatever the add-on asked the Supervisor, it asked with its token.
    for (const r of peer.requests) expect(r.authorization, r.path).toBe(`Bearer ${TOKEN}`);
    for (const t of peer.wsAuth) expect(t).toBe(TOKEN);
  }, 60_000);

  it('falls back to the embedded broker when the Supervisor has no MQTT service', async () => {
    const peer = await startSupervisorPeer(false);
    peers.push(peer);
    // A listed device node makes the camera service load the V4L2 driver: the bundle's lazy chunk
    // and koffi from the image's node_modules (/dev/null is no capture device, so no camera).
    const addonConfig = parseYaml(readFileSync(join(ROOT, 'config.yaml'), 'utf8')) as { options: { cameras: Record<string, unknown> } };
    const addon = await startAddon(image, join(base, 'without-mqtt'), peer, { cameras: { ...addonConfig.options.cameras, devices: ['/dev/null'] } });
    running.push(addon);

    const h = await health(addon, (x) => x.components.mqtt?.state === 'ok');
    expect(h.components.mqtt, addon.output()).toMatchObject({ state: 'ok' });
    expect(peer.requests.map((r) => r.path)).toContain('/services/mqtt');
    expect(peer.mqttClients).toEqual([]);
    const log = await stopAddon(addon);
    expect(log).toMatch(/WARN .*no MQTT service/);
    expect(log).not.toContain('V4L2 driver not available');
  }, 60_000);
});
