// The Home Assistant websocket bridge against a protocol-faithful HA peer: auth failure, start-up
// without HA, reconnect after HA restarts, the public events fired as switchboard_event, and
// persistent notifications raised and dismissed (the credential one through a real OAuth server),
// and a camera light bound to an HA light entity.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HomeAssistantBridge } from '../../src/bridges/homeassistant/homeAssistantBridge.js';
import { EventBus } from '../../src/core/eventBus.js';
import { StatusService } from '../../src/services/system/statusService.js';
import { HaPeer } from '../helpers/haPeer.js';
import { authorizeAsUser, startOAuthServer, type OAuthServer } from '../helpers/oauthProvider.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'long-lived-access-token-for-tests';
const peers: HaPeer[] = [];
const apps: TestApp[] = [];
const oauth: OAuthServer[] = [];

async function peer(token = TOKEN): Promise<HaPeer> {
  const p = new HaPeer(token);
  await p.start();
  peers.push(p);
  return p;
}

async function app(overrides: Record<string, unknown>): Promise<TestApp> {
  const t = await startTestApp(overrides);
  apps.push(t);
  return t;
}

const haState = (t: TestApp) => t.app.context.status.health().components.homeassistant?.state;

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await Promise.all(peers.splice(0).map((p) => p.stop()));
  await Promise.all(oauth.splice(0).map((o) => o.stop()));
});

describe('Home Assistant bridge', () => {
  it('is disabled without url/token or SUPERVISOR_TOKEN', async () => {
    const t = await app({ homeassistant: { enabled: true } });
    expect(t.app.context.status.health().components.homeassistant).toMatchObject({ state: 'disabled' });
  });

  it('reports a rejected token once and does not retry it', async () => {
    const p = await peer('the-right-token');
    const t = await app({ homeassistant: { enabled: true, url: p.url, token: 'a-wrong-token' } });
    await until("haState(t) === 'error'", () => haState(t) === 'error');
    expect(p.authFailures).toBe(1);
    expect(p.received[0]).toEqual({ type: 'auth', access_token: 'a-wrong-token' });
    expect(t.app.context.status.health().components.homeassistant!.detail).toMatch(/rejected/);
    // The add-on lives on.
    expect((await fetch(`${t.url}/api/health`)).status).toBe(200);
    expect(p.authFailures).toBe(1);
  });

  it('starts without Home Assistant, connects when it appears through the Supervisor path, and reconnects after a restart', async () => {
    const p = await peer();
    const port = new URL(p.url).port;
    await p.stop();
    const saved = { token: process.env.SUPERVISOR_TOKEN, url: process.env.SUPERVISOR_URL };
    process.env.SUPERVISOR_TOKEN = TOKEN;
    process.env.SUPERVISOR_URL = `http://127.0.0.1:${port}`;
    let t: TestApp;
    try {
      t = await app({ homeassistant: { enabled: true } });
    } finally {
      if (saved.token === undefined) delete process.env.SUPERVISOR_TOKEN;
      else process.env.SUPERVISOR_TOKEN = saved.token;
      if (saved.url === undefined) delete process.env.SUPERVISOR_URL;
      else process.env.SUPERVISOR_URL = saved.url;
    }
    expect(['connecting', 'error']).toContain(haState(t));
    await p.start();
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    expect(p.lastPath).toBe('/core/websocket');
    expect(p.received[0]).toEqual({ type: 'auth', access_token: TOKEN });
    expect(await p.waitFor(() => p.received[1])).toEqual({ type: 'supported_features', id: 1, features: { coalesce_messages: 1 } });

    // HA restarts: the bridge notices, reconnects by itself, and events flow again.
    await p.stop();
    await until('Home Assistant is away', () => haState(t) === 'disconnected' || haState(t) === 'error');
    await p.start();
    await until("haState(t) === 'ok' && p.clientCount === 1", () => haState(t) === 'ok' && p.clientCount === 1);
    expect(p.connections).toBe(2);
    t.app.context.bus.publish('lab', 'lab-1', 'state', { owner: 'someone', state: 1, nodes: [] });
    await p.waitFor(() => p.fired.find((f) => f.data.entity === 'lab-1'));
  });

  it('fires the public events as switchboard_event with domain, entity, event, details and at; telemetry and state stay inside', async () => {
    const p = await peer();
    const t = await app({ homeassistant: { enabled: true, url: p.url, token: TOKEN } });
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    const admin = await t.login();
    const res = await fetch(`${t.url}/api/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'Cloud', client_id: 'c', client_secret: 'hidden-secret-1', authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token' }),
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(201);

    const bus = t.app.context.bus;
    const from = p.fired.length;
    bus.publish('camera', 'cam-1', 'demand', { readerType: 'mqtt', readerId: 'x' });
    bus.publish('camera', 'cam-1', 'read', { readerType: 'mqtt', readerId: 'x', readers: 1 });
    bus.publish('camera', 'cam-1', 'image', { bytes: 10, width: 1, height: 1 });
    bus.publish('camera', 'cam-1', 'updated', { changes: { brightness: 3 } });
    bus.publish('camera', 'cam-1', 'recording', { state: 'on', trigger: 'manual', dir: '/media/x' });
    bus.publish('monitor', 'mon-1', 'command', { monitor_id: 'M1', command: 'reboot', by: null });
    bus.publish('monitor', 'mon-1', 'commandDone', { monitor_id: 'M1', command: 'reboot', by: null });
    bus.publish('lab', null, 'created', { owner: 'someone', name: 'l' });
    bus.publish('lab', 'lab-1', 'state', { owner: 'someone', state: 1, nodes: [] });
    // Events arrive in order: once the last one is there, every earlier one that was fired is too.
    await p.waitFor(() => p.fired.find((f) => f.data.entity === 'lab-1'));
    const fired = p.fired.slice(from);
    expect(fired.map((f) => f.data)).toEqual([
      { domain: 'camera', entity: 'cam-1', event: 'recording', details: { state: 'on', trigger: 'manual', dir: '/media/x' }, at: expect.any(String) },
      { domain: 'monitor', entity: 'mon-1', event: 'commandDone', details: { monitor_id: 'M1', command: 'reboot', by: null }, at: expect.any(String) },
      { domain: 'lab', entity: 'lab-1', event: 'state', details: { owner: 'someone', state: 1, nodes: [] }, at: expect.any(String) },
    ]);
    expect(fired.every((f) => f.event_type === 'switchboard_event' && !Number.isNaN(Date.parse(String(f.data.at))))).toBe(true);
    // The credential's creation is state, not news; internal domains (users, auth, system) stay inside.
    expect(p.fired.some((f) => f.data.entity === id)).toBe(false);
    expect(JSON.stringify(p.fired)).not.toContain('hidden-secret-1');
    expect(p.fired.some((f) => f.data.domain === 'user' || f.data.domain === 'system')).toBe(false);
  });

  it('raises and dismisses persistent notifications for an offline monitor', async () => {
    const p = await peer();
    const t = await app({ homeassistant: { enabled: true, url: p.url, token: TOKEN } });
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    t.app.context.bus.publish('monitor', 'mon-7', 'offline', { monitor_id: 'GROW-7', name: 'GROW-7', reason: 'ping timeout' });
    const n = await p.waitFor(() => p.notifications.get('switchboard_monitor_mon-7'));
    expect(n.message).toContain('GROW-7');
    expect(n.message).toContain('ping timeout');
    t.app.context.bus.publish('monitor', 'mon-7', 'online', { monitor_id: 'GROW-7' });
    await p.waitFor(() => !p.notifications.has('switchboard_monitor_mon-7'));
    expect(p.serviceCalls.filter((c) => c.domain === 'persistent_notification').map((c) => c.service)).toEqual(['create', 'dismiss']);
  });

  it('raises a notification when a credential needs re-authorization and dismisses it once authorized again', async () => {
    const p = await peer();
    const t = await app({ homeassistant: { enabled: true, url: p.url, token: TOKEN } });
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    const redirect = `${t.url}/api/credentials/callback`;
    const s = await startOAuthServer({ redirectUri: redirect, accessTtl: 4 });
    oauth.push(s);
    const admin = await t.login();
    const call = async (method: string, path: string, body?: unknown) => (await t.api(method, path, admin, body)).body;
    const { id } = (await call('POST', '/api/credentials', {
      description: 'Cloud cameras',
      client_id: s.clientId,
      client_secret: s.clientSecret,
      authorize_url: s.authorizationEndpoint,
      token_url: s.tokenEndpoint,
      scopes: ['openid', 'offline_access'],
    })) as { id: string };
    const authorize = async () => {
      const { url } = (await call('PUT', `/api/credentials/${id}`, { origin: t.url })) as { url: string };
      expect((await fetch(await authorizeAsUser(url, redirect))).status).toBe(200);
    };
    await authorize();
    // The user revokes the app at the provider: the next refresh fails for good.
    const grantToken = t.app.context.credentials.accessToken(id)!;
    await s.revoke(grantToken);
    const nid = `switchboard_credentials_${id}`;
    const n = await p.waitFor(() => p.notifications.get(nid), 20_000);
    expect(n.message).toContain('Cloud cameras');
    expect(p.fired.some((f) => f.data.entity === id && f.data.event === 'unauthenticated')).toBe(true);
    await authorize();
    await p.waitFor(() => !p.notifications.has(nid));
  });

  it('binds a camera light to an HA light entity both ways without echoes', async () => {
    const p = await peer();
    p.setState('light.bench_ring', 'off', { friendly_name: 'Bench ring light' });
    const t = await app({ homeassistant: { enabled: true, url: p.url, token: TOKEN } });
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    const admin = await t.login();
    const call = async (method: string, path: string, body?: unknown) => (await t.api(method, path, admin, body)).body;
    const cams = (await call('GET', '/api/cameras')) as { items: { id: string }[] };
    const id = cams.items[0]!.id;
    const lightUpdates: unknown[] = [];
    t.app.context.bus.on(lightUpdates, 'camera', 'updated', (e) => {
      const changes = e.details.changes;
      if (e.entity === id && 'light' in changes) lightUpdates.push(changes.light);
    });
    await call('PUT', `/api/cameras/${id}`, { light_entity: 'light.bench_ring' });

    // HA → camera: someone switches the lamp on in Home Assistant.
    p.setState('light.bench_ring', 'on');
    await until('t.app.context.cameras.get(id)?.light === true', () => t.app.context.cameras.get(id)?.light === true);
    expect((await call('GET', `/api/cameras/${id}`)).light).toBe(true);

    // Camera → HA: the API switches the camera light off; the bridge calls light.turn_off.
    await call('PUT', `/api/cameras/${id}`, { light: false });
    await p.waitFor(() => p.states.get('light.bench_ring')?.state === 'off');
    expect(p.serviceCalls.filter((c) => c.domain === 'light')).toEqual([{ domain: 'light', service: 'turn_off', service_data: {}, target: { entity_id: 'light.bench_ring' } }]);

    // Let every echo that could come arrive: a later event has made the full trip to HA.
    t.app.context.bus.publish('lab', 'marker', 'state', { owner: 'test', state: 1, nodes: [] });
    await p.waitFor(() => p.fired.find((f) => f.data.entity === 'marker'));
    expect(lightUpdates).toEqual([true, false]);
    expect(p.serviceCalls.filter((c) => c.domain === 'light')).toHaveLength(1);
    expect(t.app.context.cameras.get(id)?.light).toBe(false);
  });

  it('carries the level of a camera light with levels to a dimmable HA light and back', async () => {
    const p = await peer();
    p.setState('light.bench_ring', 'off', { friendly_name: 'Bench ring light', supported_color_modes: ['brightness'], color_mode: null, brightness: null });
    const t = await startTestApp({ homeassistant: { enabled: true, url: p.url, token: TOKEN } }, { simulatedFlash: true });
    apps.push(t);
    await until("haState(t) === 'ok'", () => haState(t) === 'ok');
    const admin = await t.login();
    const cameras = t.app.context.cameras;
    const id = cameras.all()[0]!.id;
    await t.api('PUT', `/api/cameras/${id}`, admin, { light_entity: 'light.bench_ring' });

    // Camera → HA: a level switches the camera light on; the bridge asks for it with brightness_pct.
    await t.api('PUT', `/api/cameras/${id}`, admin, { light_brightness: 40 });
    await p.waitFor(() => p.states.get('light.bench_ring')?.state === 'on');
    expect(p.states.get('light.bench_ring')?.attributes.brightness).toBe(102);
    expect(p.serviceCalls.filter((c) => c.domain === 'light')).toEqual([{ domain: 'light', service: 'turn_on', service_data: { brightness_pct: 40 }, target: { entity_id: 'light.bench_ring' } }]);

    // HA → camera: someone dims the lamp in Home Assistant to 70 %.
    p.setState('light.bench_ring', 'on', { brightness: 179 });
    await until('cameras.get(id)?.light_brightness === 70', () => cameras.get(id)?.light_brightness === 70);
    expect(cameras.get(id)).toMatchObject({ light: true, light_brightness: 70 });

    // Let every echo that could come arrive: a later event has made the full trip to HA.
    t.app.context.bus.publish('lab', 'marker', 'state', { owner: 'test', state: 1, nodes: [] });
    await p.waitFor(() => p.fired.find((f) => f.data.entity === 'marker'));
    expect(p.serviceCalls.filter((c) => c.domain === 'light')).toHaveLength(1);
    expect(cameras.get(id)).toMatchObject({ light: true, light_brightness: 70 });
  });

  it('drops a link whose pings go unanswered and reconnects', async () => {
    const p = await peer();
    const bus = new EventBus();
    const status = new StatusService('test', bus);
    const bridge = new HomeAssistantBridge({
      config: { enabled: true, url: p.url, token: TOKEN, notifications: true, card: false, config_dir: '/homeassistant', live_view: 'off' },
      env: {},
      bus,
      status,
      logger: pino({ level: 'silent' }),
      sources: {},
      pingIntervalMs: 100,
    });
    await bridge.start();
    try {
      await until("status.health().components.homeassistant?.state === 'ok'", () => status.health().components.homeassistant?.state === 'ok');
      await p.waitFor(() => p.received.some((m) => m.type === 'ping'));
      p.answerPings = false;
      await p.waitFor(() => p.connections === 2 && p.clientCount === 1);
      p.answerPings = true;
      bus.publish('lab', 'after-stall', 'state', { owner: 'someone', state: 1, nodes: [] });
      await p.waitFor(() => p.fired.find((f) => f.data.entity === 'after-stall'));
      expect(status.health().components.homeassistant?.state).toBe('ok');
    } finally {
      await bridge.stop();
    }
  });
});
