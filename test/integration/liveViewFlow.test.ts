// "Show in Home Assistant": the Generic Camera config entry created through HA core's REST
// data-entry flow, against the HA peer that follows the flow protocol message by message, with
// the real server, a real Mosquitto for the camera entity's attributes, and real snapshots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlow } from '../../src/bridges/homeassistant/configFlow.js';
import { HaCoreApi } from '../../src/bridges/homeassistant/haCoreApi.js';
import { AppError } from '../../src/core/errors.js';
import { HaPeer } from '../helpers/haPeer.js';
import { Mosquitto, MOSQUITTO_BIN, Recorder } from '../helpers/mqttBroker.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const SKIP = MOSQUITTO_BIN ? false : 'the mosquitto binary is not installed (apt-get install mosquitto)';
const TOKEN = 'live-view-admin-token';

type Json = Record<string, unknown>;

describe.skipIf(SKIP)('live view in Home Assistant (Generic Camera config flow)', () => {
  let peer: HaPeer;
  let broker: Mosquitto;
  let t: TestApp;
  let admin: string;
  let ha: Recorder;
  let dataDir: string;

  const overrides = (liveView: 'auto' | 'off') => ({ homeassistant: { enabled: true, url: peer.url, token: TOKEN, live_view: liveView }, mqtt: { url: broker.url } });
  const flowRequests = () => peer.flows.requests.filter((r) => r.path.startsWith('/api/config/'));

  beforeAll(async () => {
    peer = new HaPeer(TOKEN);
    await peer.start();
    broker = await Mosquitto.start();
    ha = await Recorder.connect(broker.url);
    t = await startTestApp(overrides('off'), { keepData: true });
    dataDir = t.dataDir;
    admin = await t.login();
    await peer.waitFor(() => peer.clientCount > 0);
  });

  afterAll(async () => {
    await ha?.close();
    await t?.stop();
    await broker?.destroy();
    await peer?.stop();
  });

  it('creates the entry as HA’s frontend does: user step from the data_schema (sections nested), then user_confirm', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const res = await t.api('POST', `/api/cameras/${id}/live-view`, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, created: true, entity_id: 'camera.camera_1_live', entry_id: expect.any(String) });

    const [start, user, confirm, ...rest] = flowRequests();
    expect(rest).toEqual([]);
    expect(start).toEqual({ method: 'POST', path: '/api/config/config_entries/flow', body: { handler: 'generic', show_advanced_options: false } });
    expect(user!.path).toMatch(/^\/api\/config\/config_entries\/flow\/[0-9a-f]{32}$/);
    const input = user!.body as Json;
    expect(input).toEqual({
      still_image_url: expect.stringMatching(new RegExp(`^http://[^/]+:${t.port}/api/cameras/${id}/snapshot\\.jpg\\?exp=\\d+&sig=`)),
      stream_source: expect.stringMatching(new RegExp(`^http://[^/]+:${t.port}/api/cameras/${id}/live\\.ts\\?exp=\\d+&sig=`)),
      advanced: { authentication: 'basic', framerate: 2, verify_ssl: false, limit_refetch_to_url_change: false },
    });
    // The URLs are signed for exactly their path: the server accepts them without a token.
    for (const url of [input.still_image_url, input.stream_source] as string[]) {
      const u = new URL(url);
      expect(t.app.context.sessions.authenticateRequest({ path: u.pathname, query: Object.fromEntries(u.searchParams) }, { liveUrl: true })).toMatchObject({ username: 'live-view' });
    }
    expect(confirm).toEqual({ method: 'POST', path: user!.path, body: { confirmed_ok: true } });

    // HA holds the entry; its entity was renamed next to the camera's MQTT entities.
    const entry = peer.flows.entries.get(res.body.entry_id as string)!;
    expect(entry).toMatchObject({ domain: 'generic', options: { stream_source: input.stream_source, content_type: 'image/jpeg', framerate: 2 } });
    expect(peer.flows.registry).toEqual([expect.objectContaining({ entity_id: 'camera.camera_1_live', config_entry_id: entry.entry_id, name: 'Camera 1 live' })]);
    // The camera's MQTT image entity names it for dashboard cards.
    await ha.waitFor(`switchboard/camera_${id}/image/attributes`, (p) => (JSON.parse(p) as Json).live_entity === 'camera.camera_1_live');
    expect((await t.api('GET', `/api/cameras/${id}/live-view`, admin)).body).toMatchObject({ entry_id: entry.entry_id, entity_id: 'camera.camera_1_live' });
  });

  it('is idempotent: a second click starts no flow and makes no second entry', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const before = flowRequests().length;
    const res = await t.api('POST', `/api/cameras/${id}/live-view`, admin);
    expect(res).toMatchObject({ status: 200, body: { created: false, entity_id: 'camera.camera_1_live' } });
    expect(flowRequests().length).toBe(before);
    expect(peer.flows.entries.size).toBe(1);
  });

  it('follows an older HA: flat schema and a user_confirm_still step', async () => {
    peer.flows.options = { ...peer.flows.options, layout: 'flat', confirmStep: 'user_confirm_still' };
    try {
      const cam = (await t.api('POST', '/api/cameras', admin, { name: 'Old Bench' })).body;
      const before = flowRequests().length;
      const res = await t.api('POST', `/api/cameras/${String(cam.id)}/live-view`, admin);
      expect(res).toMatchObject({ status: 200, body: { created: true, entity_id: 'camera.old_bench_live' } });
      const [, user, confirm] = flowRequests().slice(before);
      expect(user!.body).toMatchObject({ authentication: 'basic', framerate: 2, verify_ssl: false });
      expect((user!.body as Json).advanced).toBeUndefined();
      expect(confirm!.body).toEqual({ confirmed_ok: true });
    } finally {
      peer.flows.options = { ...peer.flows.options, layout: 'sections', confirmStep: 'user_confirm' };
    }
  });

  it('reports HA’s field errors clearly, aborts the flow, stores nothing', async () => {
    const cam = (await t.api('POST', '/api/cameras', admin, { name: 'Broken' })).body;
    peer.flows.options = { ...peer.flows.options, checkStream: async () => 'stream_io_error' };
    try {
      const before = flowRequests().length;
      const res = await t.api('POST', `/api/cameras/${String(cam.id)}/live-view`, admin);
      expect(res).toEqual({ status: 500, body: { error: { message: 'Home Assistant refused the generic settings (step user)', details: [{ path: 'stream_source', message: 'stream_io_error' }] } } });
      expect(flowRequests().slice(before).map((r) => r.method)).toEqual(['POST', 'POST', 'DELETE']);
      expect((await t.api('GET', `/api/cameras/${String(cam.id)}/live-view`, admin)).status).toBe(404);
      expect([...peer.flows.entries.values()].filter((e) => e.options.stream_source && String(e.options.stream_source).includes(String(cam.id)))).toEqual([]);
    } finally {
      peer.flows.options = { ...peer.flows.options, checkStream: async () => null };
    }
  });

  it('refuses viewers, switched-off and unknown cameras with the HTTP error shape', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const viewer = await t.createUser('liveviewer', 'viewer');
    expect(await t.api('POST', `/api/cameras/${id}/live-view`, viewer.token)).toEqual({ status: 403, body: { error: { message: 'Showing cameras live in Home Assistant needs the user role', details: [] } } });
    expect(await t.api('DELETE', `/api/cameras/${id}/live-view`, viewer.token)).toEqual({ status: 403, body: { error: { message: 'Removing live views from Home Assistant needs the user role', details: [] } } });
    expect((await t.api('POST', `/api/cameras/${id}/live-view`, null)).status).toBe(401);
    expect((await t.api('POST', '/api/cameras/nope/live-view', admin)).status).toBe(404);
    const cam = (await t.api('POST', '/api/cameras', admin, { name: 'Off' })).body;
    await t.api('PUT', `/api/cameras/${String(cam.id)}`, admin, { enabled: false });
    expect(await t.api('POST', `/api/cameras/${String(cam.id)}/live-view`, admin)).toEqual({ status: 409, body: { error: { message: 'Camera "Off" is switched off; switch it on first', details: [] } } });
  });

  it('the peer follows HA’s REST flow protocol: admin check, 404 unknown flow, 400 schema errors, the Supervisor path', async () => {
    const api = (token: string, prefix = '/api') => new HaCoreApi({ base: peer.url + prefix, token });
    // A token of a user who is no admin: HA's require_admin answers 401, Switchboard says why.
    const err = await runFlow(api(peer.userToken), 'config', 'generic', {}).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toBe('Home Assistant refused access to config flows (401); the token needs an admin user');
    expect(await api(TOKEN).request('GET', '/config/config_entries/flow/nope')).toEqual({ status: 404, body: { message: 'Invalid flow specified' } });
    expect(await api(TOKEN).request('POST', '/config/config_entries/flow', { handler: 'nope' })).toEqual({ status: 404, body: { message: 'Invalid handler specified' } });
    const started = await api(TOKEN, '/core/api').request('POST', '/config/config_entries/flow', { handler: 'generic' });
    const step = started.body as Json;
    expect(step).toMatchObject({ type: 'form', step_id: 'user', errors: {} });
    const flowPath = `/config/config_entries/flow/${String(step.flow_id)}`;
    expect(await api(TOKEN).request('POST', flowPath, { stream_source: 'http://x/live.ts', framerate: 'fast' })).toEqual({ status: 400, body: { errors: { 'advanced.framerate': 'required key not provided', framerate: 'extra keys not allowed' } } });
    expect((await api(TOKEN).request('POST', flowPath, { advanced: { framerate: 2 } })).body).toMatchObject({ type: 'form', step_id: 'user', errors: { base: 'no_still_image_or_stream_url' } });
    expect(await api(TOKEN).request('DELETE', flowPath)).toEqual({ status: 200, body: { message: 'Flow aborted' } });
    expect((await api(TOKEN).request('GET', flowPath)).status).toBe(404);
  });

  it('the camera’s MQTT switch “Live view in Home Assistant” adds and removes the entry (as mqtt.command_role)', async () => {
    const cam = (await t.api('POST', '/api/cameras', admin, { name: 'Porch' })).body;
    const base = `switchboard/camera_${String(cam.id)}`;
    const discovery = JSON.parse((await ha.waitFor(`homeassistant/device/switchboard_camera_${String(cam.id)}/config`)).payload) as { cmps: Record<string, Json> };
    expect(discovery.cmps.live_view).toMatchObject({ p: 'switch', name: 'Live view in Home Assistant', entity_category: 'config', command_topic: `${base}/live_view/set`, state_topic: `${base}/live_view/state` });
    await ha.waitFor(`${base}/live_view/state`, (p) => p === 'OFF');
    const from = ha.messages.length;
    await ha.publish(`${base}/live_view/set`, 'ON');
    await ha.waitFor(`${base}/live_view/state`, (p) => p === 'ON', { from, ms: 15_000 });
    await ha.waitFor(`${base}/image/attributes`, (p) => (JSON.parse(p) as Json).live_entity === 'camera.porch_live', { from, ms: 15_000 });
    const entryId = t.app.context.liveViews!.read(String(cam.id))!.entry_id;
    expect(peer.flows.entries.has(entryId)).toBe(true);

    const off = ha.messages.length;
    await ha.publish(`${base}/live_view/set`, 'OFF');
    await ha.waitFor(`${base}/live_view/state`, (p) => p === 'OFF', { from: off, ms: 15_000 });
    expect(peer.flows.entries.has(entryId)).toBe(false);
    expect((await t.api('DELETE', `/api/cameras/${String(cam.id)}`, admin)).status).toBe(200);
  });

  it('removes the entry with the camera', async () => {
    const cam = (await t.api('POST', '/api/cameras', admin, { name: 'Temporary' })).body;
    const created = (await t.api('POST', `/api/cameras/${String(cam.id)}/live-view`, admin)).body;
    expect(peer.flows.entries.has(created.entry_id as string)).toBe(true);
    expect((await t.api('DELETE', `/api/cameras/${String(cam.id)}`, admin)).status).toBe(200);
    await expect.poll(() => peer.flows.entries.has(created.entry_id as string), { timeout: 15_000 }).toBe(false);
    expect(peer.flows.registry.some((e) => e.config_entry_id === created.entry_id)).toBe(false);
    await expect.poll(() => t.app.context.liveViews!.read(String(cam.id)), { timeout: 15_000 }).toBeUndefined();
  });

  it('the entries carry the add-on’s own URLs for 30 days, signed anew daily through the options flow', async () => {
    const id = t.app.context.cameras!.all()[0]!.id;
    const entryId = t.app.context.liveViews!.read(id)!.entry_id;
    const before = new URL(peer.flows.entries.get(entryId)!.options.stream_source as string);
    // No admin is named: the entry outlives whoever pressed the button.
    expect(before.searchParams.get('by')).toBeNull();
    const days = (u: URL) => (Number(u.searchParams.get('exp')) * 1000 - Date.now()) / 86_400_000;
    expect(days(before)).toBeGreaterThan(29.9);
    expect(days(before)).toBeLessThanOrEqual(30);
    // The options flow's step (after its start) carries the new URLs into the entry.
    const steps = () => flowRequests().filter((r) => r.path.startsWith('/api/config/config_entries/options/flow/')).length;
    const asked = steps();
    t.app.context.liveViews!.resignUrls();
    // Both steps: the new URLs, then the confirmation.
    await expect.poll(steps, { timeout: 15_000 }).toBeGreaterThanOrEqual(asked + 2);
    const after = new URL(peer.flows.entries.get(entryId)!.options.stream_source as string);
    expect(Number(after.searchParams.get('exp'))).toBeGreaterThanOrEqual(Number(before.searchParams.get('exp')));
    expect(t.app.context.sessions.authenticateRequest({ path: after.pathname, query: Object.fromEntries(after.searchParams) }, { liveUrl: true })).toMatchObject({ username: 'live-view' });
    // Revoking every live URL gives the entries new ones at once.
    expect((await t.api('POST', '/api/streams/live-urls/revoke', admin)).status).toBe(200);
    const held = () => {
      const u = new URL(peer.flows.entries.get(entryId)!.options.stream_source as string);
      return t.app.context.sessions.authenticateRequest({ path: u.pathname, query: Object.fromEntries(u.searchParams) }, { liveUrl: true });
    };
    expect(t.app.context.sessions.authenticateRequest({ path: after.pathname, query: Object.fromEntries(after.searchParams) }, { liveUrl: true })).toBeNull();
    await expect.poll(held, { timeout: 15_000 }).toMatchObject({ username: 'live-view' });
  });

  it('as a departing admin: a live URL asked for by an admin stops working when they are demoted or deleted', async () => {
    const { sessions } = t.app.context;
    const id = t.app.context.cameras!.all()[0]!.id;
    const askFor = async (token: string) => {
      const res = await t.api('POST', `/api/cameras/${id}/live-url`, token, { base_url: t.url });
      expect(res.status).toBe(200);
      const u = new URL(res.body.url as string);
      return { path: `${u.pathname}${u.search}`, asked: { path: u.pathname, query: Object.fromEntries(u.searchParams) } };
    };
    const ada = await t.createUser('ada', 'admin');
    const url = await askFor(ada.token);
    expect(url.asked.query.by).toBe(ada.id);
    const actor = sessions.authenticateRequest(url.asked, { liveUrl: true });
    expect(actor).toMatchObject({ username: 'live-view', role: 'viewer' });
    // A stream open on it ends with the admin's role.
    const ended: string[] = [];
    sessions.open(actor!, 'live-h264', { onEnd: (reason) => ended.push(reason) });
    expect((await t.api('PUT', `/api/users/${ada.id}`, admin, { role: 'user' })).status).toBe(200);
    expect(ended).toEqual(['Live URL issuer is no longer an admin']);
    expect(sessions.authenticateRequest(url.asked, { liveUrl: true })).toBeNull();
    expect((await t.api('GET', url.path)).status).toBe(401);
    // Made an admin again, the URL speaks for them again (the role is judged at each use) ...
    expect((await t.api('PUT', `/api/users/${ada.id}`, admin, { role: 'admin' })).status).toBe(200);
    expect(sessions.authenticateRequest(url.asked, { liveUrl: true })).not.toBeNull();
    // ... until the account is deleted.
    expect((await t.api('DELETE', `/api/users/${ada.id}`, admin)).status).toBe(200);
    expect(sessions.authenticateRequest(url.asked, { liveUrl: true })).toBeNull();
    expect((await t.api('GET', url.path)).status).toBe(401);
    // A forged issuer (another admin's id on this signature) is refused.
    const mine = await askFor(admin);
    const forged = { ...mine.asked, query: { ...mine.asked.query, by: ada.id } };
    expect(sessions.authenticateRequest(forged, { liveUrl: true })).toBeNull();
    expect(sessions.authenticateRequest(mine.asked, { liveUrl: true })).not.toBeNull();
  });

  it('after a restart re-signs the URLs through the options flow; with live_view auto every camera gets one', async () => {
    const first = t.app.context.cameras!.all()[0]!.id;
    const entryId = t.app.context.liveViews!.read(first)!.entry_id;
    const oldSource = peer.flows.entries.get(entryId)!.options.stream_source;
    await t.stop();
    peer.flows.requests.length = 0;
    t = await startTestApp(overrides('auto'), { dataDir, keepData: true });
    admin = await t.login();
    // Each camera without an entry gets one; existing ones are re-signed (the URL key is per process).
    const cameras = t.app.context.cameras!.all().filter((c) => c.enabled);
    await expect.poll(() => cameras.every((c) => t.app.context.liveViews!.read(c.id)?.entity_id), { timeout: 90_000 }).toBe(true);
    const options = flowRequests().find((r) => r.path === '/api/config/config_entries/options/flow');
    expect(options).toEqual({ method: 'POST', path: '/api/config/config_entries/options/flow', body: { handler: entryId, show_advanced_options: false } });
    const newSource = peer.flows.entries.get(entryId)!.options.stream_source as string;
    expect(newSource).not.toBe(oldSource);
    const u = new URL(newSource);
    expect(t.app.context.sessions.authenticateRequest({ path: u.pathname, query: Object.fromEntries(u.searchParams) }, { liveUrl: true })).toMatchObject({ username: 'live-view' });
    expect(t.app.context.liveViews!.read(first)!.entry_id).toBe(entryId);
  }, 120_000);
});
