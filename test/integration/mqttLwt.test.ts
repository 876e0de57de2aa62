// The bridge's last will: a real server process (npx tsx src/main.ts) on a real Mosquitto broker,
// killed with SIGKILL, leaves `<base>/bridge/state` = offline (retained); a SIGTERM stop says so itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto, MOSQUITTO_BIN, Recorder, retainedNow } from '../helpers/mqttBroker.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';
const ONLINE = '{"state":"online"}';
const OFFLINE = '{"state":"offline"}';

let broker: Mosquitto;
const running: { proc: ChildProcess; dir: string }[] = [];

/** Starts the server in its own process group, so SIGKILL can reach npx, tsx and node at once. */
function startServer(base: string): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-lwt-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SWITCHBOARD_DATA_DIR: dir,
    SWITCHBOARD_HTTP_HOST: '127.0.0.1',
    SWITCHBOARD_HTTP_PORT: '0',
    SWITCHBOARD_MONITOR_PORT: '0',
    SWITCHBOARD_ADMIN_PASSWORD: 'admin-password-1',
    SWITCHBOARD_MQTT_URL: broker.url,
    SWITCHBOARD_MQTT_BASE_TOPIC: base,
    SWITCHBOARD_HOMEASSISTANT_ENABLED: 'false',
    SWITCHBOARD_CAMERAS_SIMULATED: 'always',
    SWITCHBOARD_RECORDING_MEDIA_DIR: join(dir, 'media'),
  };
  const proc = spawn('npx', ['tsx', 'src/main.ts'], { cwd: process.cwd(), env, detached: true, stdio: 'ignore' });
  running.push({ proc, dir });
  return proc;
}

const exited = (proc: ChildProcess) => new Promise<number | null>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));

describe.skipIf(SKIP)('MQTT last will', () => {
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });

  afterEach(async () => {
    for (const { proc, dir } of running.splice(0)) {
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(-proc.pid!, 'SIGKILL');
        await exited(proc);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  afterAll(async () => {
    await broker?.destroy();
  });

  it('kill -9 of the server process: the broker publishes the retained "offline" will', async () => {
    const ha = await Recorder.connect(broker.url, ['lwt_kill/#', 'homeassistant/device/+/config']);
    try {
      const proc = startServer('lwt_kill');
      await ha.waitFor('lwt_kill/bridge/state', (p) => p === ONLINE, { ms: 60_000 });
      await ha.waitFor('homeassistant/device/lwt_kill_addon_switchboard/config', (p) => p !== '', { ms: 10_000 });
      const from = ha.messages.length;
      process.kill(-proc.pid!, 'SIGKILL');
      await exited(proc);
      const will = await ha.waitFor('lwt_kill/bridge/state', () => true, { from, ms: 15_000 });
      expect(will.payload).toBe(OFFLINE);
      expect((await retainedNow(broker.url, 'lwt_kill/bridge/state')).get('lwt_kill/bridge/state')).toBe(OFFLINE);
      // Discovery stays (retained); HA shows the entities unavailable through the bridge availability.
      expect((await retainedNow(broker.url, 'homeassistant/device/lwt_kill_addon_switchboard/config')).size).toBe(1);
    } finally {
      await ha.close();
    }
  });

  it('SIGTERM: the server says "offline" itself before it exits', async () => {
    const ha = await Recorder.connect(broker.url, ['lwt_term/bridge/state']);
    try {
      const proc = startServer('lwt_term');
      await ha.waitFor('lwt_term/bridge/state', (p) => p === ONLINE, { ms: 60_000 });
      const from = ha.messages.length;
      process.kill(-proc.pid!, 'SIGTERM');
      await ha.waitFor('lwt_term/bridge/state', (p) => p === OFFLINE, { from, ms: 15_000 });
      await exited(proc);
      expect((await retainedNow(broker.url, 'lwt_term/bridge/state')).get('lwt_term/bridge/state')).toBe(OFFLINE);
    } finally {
      await ha.close();
    }
  });
});
