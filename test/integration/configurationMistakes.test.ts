// Configuration mistakes are told, not swallowed: a camera path that does not exist is a camera
// problem in health naming the path; a Home Assistant URL that refuses, does not resolve or never answers is
// `homeassistant: error` with the reason (and back to ok once HA is there); a taken port stops the
// real process with one line naming the port and the option, and a non-zero exit.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HaPeer } from '../helpers/haPeer.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HA_TOKEN = 'ha-token-for-mistakes';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function app(overrides: Record<string, unknown>, logOut?: (line: string) => void): Promise<TestApp> {
  const t = await startTestApp(overrides, { logOut });
  running.push(t);
  return t;
}

/** A TCP listener on 127.0.0.1 that accepts connections and never says a word. */
async function silentListener(port = 0): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

/** A port that was free a moment ago and that nobody listens on. */
async function freePort(): Promise<number> {
  const l = await silentListener();
  await l.stop();
  return l.port;
}

const haHealth = (t: TestApp) => t.app.context.status.health().components.homeassistant;

describe('a configured camera path that does not exist', () => {
  it('is a camera problem in health naming the path, logged once', async () => {
    const lines: string[] = [];
    const t = await app({ cameras: { simulated: 'auto', devices: ['/dev/video97'], scan_interval_seconds: 1 } }, (l) => lines.push(l));
    const health = (await t.api('GET', '/api/health')).body as { status: string; components: Record<string, { state: string; detail?: string }> };
    expect(health.status).toBe('degraded');
    expect(health.components.cameras).toMatchObject({ state: 'error', detail: expect.stringContaining('cameras.devices: /dev/video97 does not exist') });
    // Further scans (one a second here) add no more lines about it.
    const scans = t.app.context.cameras;
    await scans.scan();
    await scans.scan();
    expect(lines.filter((l) => l.includes('/dev/video97')).length).toBe(1);
  });
});

describe('a configured camera path that is not a camera', () => {
  it('is a camera problem in health naming the path', async () => {
    const t = await app({ cameras: { simulated: 'auto', devices: ['/dev/null'] } });
    expect(t.app.context.status.health().components.cameras).toMatchObject({ state: 'error', detail: expect.stringMatching(/cameras\.devices: \/dev\/null (is not a video capture device|cannot be opened)/) });
  });
});

describe('homeassistant.url that cannot be reached', () => {
  it('a port nobody listens on: error with the reason in health, overall degraded', async () => {
    const port = await freePort();
    const t = await app({ homeassistant: { enabled: true, url: `http://127.0.0.1:${port}`, token: HA_TOKEN } });
    await until('homeassistant error', () => haHealth(t)?.state === 'error', 20_000);
    expect(haHealth(t)?.detail).toContain('homeassistant.url');
    expect(haHealth(t)?.detail).toContain('ECONNREFUSED');
    expect(t.app.context.status.health().status).toBe('degraded');
  });

  it('a name that does not resolve: error naming the lookup failure', async () => {
    const t = await app({ homeassistant: { enabled: true, url: 'http://switchboard-no-such-host.invalid:8123', token: HA_TOKEN } });
    await until('homeassistant error', () => haHealth(t)?.state === 'error', 20_000);
    expect(haHealth(t)?.detail).toMatch(/homeassistant\.url.*(ENOTFOUND|EAI_AGAIN)/);
  });

  it('a socket that accepts and never answers: error within twenty seconds, then ok once Home Assistant answers there', { timeout: 90_000 }, async () => {
    const peer = new HaPeer(HA_TOKEN);
    await peer.start();
    const port = Number(new URL(peer.url).port);
    await peer.stop();
    let silent: { stop(): Promise<void> } | null = await silentListener(port);
    running.push({ stop: async () => (await silent?.stop(), await peer.stop()) });
    const t = await app({ homeassistant: { enabled: true, url: peer.url, token: HA_TOKEN } });
    await until('homeassistant error', () => haHealth(t)?.state === 'error', 20_000);
    expect(haHealth(t)?.detail).toMatch(/homeassistant\.url.*(timed out|no answer)/);
    // Home Assistant comes up on that port: the retries find it.
    await silent.stop();
    silent = null;
    await peer.start();
    await until('homeassistant ok', () => haHealth(t)?.state === 'ok', 60_000);
    expect(t.app.context.status.health().status).toBe('ok');
  });
});

/** Starts the real process with `config` and resolves with its exit code and output. */
function runSwitchboard(config: Record<string, unknown>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-port-'));
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ data_dir: dataDir, http_host: '127.0.0.1', admin_password: 'admin-password-1', mqtt: { url: 'disabled' }, homeassistant: { enabled: false }, cameras: { simulated: 'always', devices: [] }, recording: { media_dir: join(dataDir, 'media') }, ...config }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHBOARD_CONFIG: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) => child.once('close', (code) => (clearTimeout(killer), done({ code, stdout, stderr }))));
}

describe('a port in use', () => {
  it.each([
    { option: 'http_port', config: (port: number) => ({ http_port: port, monitor_port: 0 }) },
    { option: 'monitor_port', config: (port: number) => ({ http_port: 0, monitor_port: port }) },
  ])('$option taken: the process stops with one line naming the port and the option, no stack, exit non-zero', { timeout: 90_000 }, async ({ option, config }) => {
    const taken = await silentListener();
    running.push(taken);
    const { code, stdout, stderr } = await runSwitchboard(config(taken.port));
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const said = stderr.split('\n').filter((l) => l.includes(`port ${taken.port}`));
    expect(said).toEqual([`switchboard: cannot start: port ${taken.port} is in use (EADDRINUSE): stop what listens there or change ${option}`]);
    expect(stdout + stderr).not.toMatch(/\n\s+at /);
  });

  it('mqtt.embedded_port taken: the add-on keeps running and health names the port and the option', async () => {
    const taken = await silentListener();
    running.push(taken);
    const t = await app({ mqtt: { url: 'embedded', embedded_port: taken.port } });
    expect(t.app.context.status.health().components.mqtt).toMatchObject({ state: 'error', detail: expect.stringContaining(`port ${taken.port} is in use (EADDRINUSE): stop what listens there or change mqtt.embedded_port`) });
  });
});
