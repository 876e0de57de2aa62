// A camera's device controls over the HTTP API and the NestMTX socket, as clients and attackers
// meet them: listed in the camera view, changed through the camera update, refused in each
// protocol's own error shape (nothing changes), and never without a user's token.
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once, startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

type Json = Record<string, unknown>;

describe('device controls over HTTP and NestMTX', () => {
  let t: TestApp;
  let admin: string;
  let viewer: string;
  let id: string;
  let socket: ClientSocket;

  beforeAll(async () => {
    t = await startTestApp({});
    admin = await t.login();
    viewer = (await t.createUser('watcher', 'viewer')).token;
    await until('the simulated camera', () => t.app.context.cameras!.all()[0]?.exists);
    id = t.app.context.cameras!.all()[0]!.id;
    socket = connectClient(t.url, { reconnection: false, transports: ['websocket'], forceNew: true, auth: { token: admin } });
    await once(socket, 'connect');
  });

  afterAll(async () => {
    socket?.disconnect();
    await t?.stop();
  });

  const request = (body: Json): Promise<Json> => {
    const requestId = `r-${Math.random().toString(16).slice(2)}`;
    const reply = once<Json>(socket, requestId);
    socket.emit('request', { requestId, ...body });
    return reply;
  };
  const flip = () => t.app.context.cameras!.get(id)!.device_controls.horizontal_flip!.value;

  it('HTTP: the camera view lists them; PUT changes one and answers the new view', async () => {
    const read = await t.api('GET', `/api/cameras/${id}`, admin);
    expect(read.status).toBe(200);
    expect((read.body.device_controls as Json).vertical_flip).toMatchObject({ type: 'boolean', value: false, label: 'Flip vertically' });
    const put = await t.api('PUT', `/api/cameras/${id}`, admin, { device_controls: { vertical_flip: true, test_pattern: '100% White' } });
    expect(put.status).toBe(200);
    expect(put.body.device_controls).toMatchObject({ vertical_flip: { value: true }, test_pattern: { value: 6 } });
    // The Rotoclear image keys stay where they were.
    expect(put.body.controls).toMatchObject({ brightness: expect.any(Number) });
  });

  it('HTTP: a value the device does not offer is a 422 naming it; nothing changes', async () => {
    const before = flip();
    const res = await t.api('PUT', `/api/cameras/${id}`, admin, { device_controls: { horizontal_flip: !before, osd_text_mode: 'Everything' } });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      error: { message: 'Invalid device controls', details: [{ path: 'payload.device_controls.osd_text_mode', message: 'Value must be one of "All", "Counters Only", "None" (or its number 0, 1, 2)' }] },
    });
    expect(flip()).toBe(before);
  });

  it('HTTP as an attacker: no token, a viewer token, a malformed name, a flood of values — refused, nothing changes', async () => {
    const before = flip();
    expect((await t.api('PUT', `/api/cameras/${id}`, null, { device_controls: { horizontal_flip: !before } })).status).toBe(401);
    expect((await t.api('PUT', `/api/cameras/${id}`, viewer, { device_controls: { horizontal_flip: !before } })).status).toBe(403);
    const odd = await t.api('PUT', `/api/cameras/${id}`, admin, { device_controls: { '../horizontal_flip': true, horizontal_flip: { on: true } } });
    expect(odd.status).toBe(422);
    const flood = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`c${i}`, i]));
    const many = await t.api('PUT', `/api/cameras/${id}`, admin, { device_controls: flood });
    expect(many.status).toBe(422);
    // One refusal for the whole flood, not one detail per name.
    expect(many.body).toEqual({ error: { message: 'Invalid camera update', details: [{ path: 'payload.device_controls', message: 'At most 100 controls in one change' }] } });
    expect(flip()).toBe(before);
    expect((await t.api('GET', '/api/health', null)).status).toBe(200);
  });

  it('NestMTX: update with device_controls changes the camera; a bad value answers the NestMTX error', async () => {
    const changed = await request({ command: 'update', module: 'cameras', entity: id, payload: { device_controls: { horizontal_flip: true } } });
    expect((changed.device_controls as Json).horizontal_flip).toMatchObject({ value: true });
    const refused = await request({ command: 'update', module: 'cameras', entity: id, payload: { device_controls: { horizontal_flip: false, integer_menu: 9 } } });
    expect(refused).toMatchObject({ error: { message: 'Invalid device controls', details: [{ path: 'payload.device_controls.integer_menu' }] } });
    expect(flip()).toBe(true);
  });
});
