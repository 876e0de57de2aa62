// POST /api/monitors/:id/command: one command through the monitors service to a real Altoponix monitor.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let admin: string;
let viewer: string;
let id: string;
let monitor: Socket;

const post = (path: string, token: string | null, body: unknown) => t.api('POST', path, token, body);

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.login();
  viewer = (await t.createUser('vera', 'viewer')).token;
  id = (await post('/api/monitors', admin, { monitor_id: 'pump-1', key: 'pump-secret-1' })).body.id as string;
});

afterAll(async () => {
  monitor?.close();
  await t.stop();
});

describe('monitor command over HTTP', () => {
  it('answers an offline monitor with an error', async () => {
    const r = await post(`/api/monitors/${id}/command`, admin, { command: 'status' });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect((r.body.error as { message: string }).message).toMatch(/offline/i);
  });

  it('relays the command to the monitor and answers once it is done', async () => {
    monitor = io(`http://127.0.0.1:${t.app.ports().monitor}`, { transports: ['websocket'], forceNew: true });
    monitor.emit('con', { monitor_id: 'pump-1', key: 'pump-secret-1' });
    await once(monitor, 'con ok');
    monitor.once('command do', (d: { command: string }) => {
      expect(d).toEqual({ command: 'water on' });
      monitor.emit('command done');
    });
    const r = await post(`/api/monitors/${id}/command`, admin, { command: 'water on' });
    expect(r).toEqual({ status: 200, body: { status: 'done' } });
    expect(t.app.context.monitors.get(id)).toMatchObject({ last_command: 'water on', last_result: 'done' });
  });

  it('refuses bad payloads, viewers and strangers without sending anything', async () => {
    let relayed = 0;
    monitor.on('command do', () => relayed++);
    for (const body of [{}, { command: 5 }, { command: 'x', extra: 1 }, ['x'], 'x']) expect((await post(`/api/monitors/${id}/command`, admin, body)).status).toBe(422);
    expect((await post(`/api/monitors/${id}/command`, viewer, { command: 'x' })).status).toBe(403);
    expect((await post(`/api/monitors/${id}/command`, null, { command: 'x' })).status).toBe(401);
    expect((await post('/api/monitors/nope/command', admin, { command: 'x' })).status).toBe(404);
    expect(relayed).toBe(0);
  });
});
