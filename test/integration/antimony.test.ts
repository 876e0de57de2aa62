// Antimony namespaces with real socket.io clients against a whole server, and exec labs with real
// child processes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_ACTOR } from '../../src/auth/records.js';
import { processStartTime } from '../../src/services/labs/runtimes/processes.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { api, backlogOf, command, connected, createLab, dataOf, pidAlive, readLab, refused, tickerNode, topology, waitFor, type Ack } from './antimonyHelpers.js';

const NAMESPACES = ['/status-messages', '/lab-updates', '/lab-commands', '/logs/00000000-0000-4000-8000-000000000000'];

describe('Antimony namespaces', () => {
  let t: TestApp;
  let admin: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let viewer: { id: string; token: string };
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await startTestApp({ labs: { allow_exec: true } });
    admin = await t.login();
    // alice runs exec labs, which need the admin role; bob and vera are the other users.
    alice = await t.createUser('alice', 'admin');
    bob = await t.createUser('bob', 'user');
    viewer = await t.createUser('vera', 'viewer');
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await t.stop();
  });

  const execPid = (labId: string, node: string) => {
    const rec = t.app.context.db.collection('labs').get(labId);
    return rec?.nodes.find((n) => n.name === node)?.pid;
  };

  it('refuses connections without a token or with a bad one, on every namespace', async () => {
    for (const ns of NAMESPACES) {
      const none = await refused(t, ns);
      expect(none).toEqual({ message: 'Unauthorized', data: { code: 5403 } });
      const bad = await refused(t, ns, 'not-a-real-token-0123456789');
      expect(bad).toEqual({ message: 'Invalid Token', data: { code: 5403 } });
    }
  });

  it('refuses a token once it is revoked (user deleted)', async () => {
    const tmp = await t.createUser('tmp-user', 'user');
    const s = await connected(t, '/lab-updates', tmp.token, sockets);
    const gone = new Promise<string>((resolve) => s.once('disconnect', (reason) => resolve(reason)));
    expect((await api(t, admin, 'DELETE', `users/${tmp.id}`)).status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    expect(await refused(t, '/lab-updates', tmp.token)).toEqual({ message: 'Invalid Token', data: { code: 5403 } });
  });

  it('answers every kind of bad /lab-commands input with its code, and the connection lives on', async () => {
    const lab = await createLab(t, alice.token, topology('bad-input', tickerNode('n1', 'x')));
    const s = await connected(t, '/lab-commands', alice.token, sockets);
    const before = JSON.stringify(t.app.context.db.collection('labs').all());
    const cases: [unknown, number][] = [
      ['{not json', 5422],
      ['"just a string"', 5422],
      [42, 5422],
      [null, 5422],
      [[1, 2], 5422],
      [{}, 5422],
      [{ labId: lab.id }, 5422],
      [{ labId: lab.id, command: 7 }, 5422],
      [{ labId: lab.id, command: 1.5 }, 5422],
      [{ labId: lab.id, command: '0' }, 5422],
      [{ labId: lab.id, command: 2 }, 5422],
      [{ labId: lab.id, command: 3 }, 5422],
      [{ labId: lab.id, command: 0, extra: true }, 5422],
      [JSON.stringify({ labId: lab.id, command: 0, __proto__x: 1 }), 5422],
      ['{"labId":"x","command":0,"__proto__":{"polluted":true}}', 5422],
      [{ labId: 'not-a-uuid', command: 0 }, 5404],
      [{ labId: '0e2c5b4e-2a4c-4c1e-9a43-2f9c0c3f1a11', command: 0 }, 5404],
      [JSON.stringify({ labId: '0e2c5b4e-2a4c-4c1e-9a43-2f9c0c3f1a11', command: 1 }), 5404],
      [{ labId: lab.id, command: 2, node: 'n1' }, 5422], // lab not running
      [{ labId: lab.id, command: 2, node: 'nope' }, 5404],
    ];
    for (const [input, code] of cases) {
      const ack = await command(s, input);
      expect(ack, JSON.stringify(input)).toMatchObject({ code });
      expect(typeof (ack as { message: string }).message).toBe('string');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(s.connected).toBe(true);
    expect(JSON.stringify(t.app.context.db.collection('labs').all())).toBe(before);
    // Still serving after all that.
    expect(await command(s, { labId: lab.id, command: 1 })).toEqual({ payload: null });
  });

  it('deploys, streams logs live and in the backlog, stops and starts a node, and destroys an exec lab', async () => {
    const lab = await createLab(t, alice.token, topology('ticker', tickerNode('n1', 'one') + tickerNode('n2', 'two')));
    expect(lab.state).toBe(-1);
    expect(await refused(t, `/logs/${lab.id}`, alice.token)).toMatchObject({ data: { code: 5422 } }); // not active yet
    const updates = await connected(t, '/lab-updates', alice.token, sockets);
    const updateIds = dataOf<string>(updates);
    const messages = await connected(t, '/status-messages', alice.token, sockets);
    const msgs = dataOf<{ id: string; timestamp: string; source: string; content: string; logContent: string; severity: number }>(messages);
    const cmd = await connected(t, '/lab-commands', alice.token, sockets);

    // The object form and the JSON-string form both work.
    expect(await command(cmd, JSON.stringify({ labId: lab.id, command: 0 }))).toEqual({ payload: null });
    const running = await readLab(t, alice.token, lab.id);
    expect(running.state).toBe(1);
    expect(running.nodes.map((n) => n.state)).toEqual([1, 1]);
    await waitFor('a lab update', () => updateIds.includes(lab.id));
    await waitFor('the deployed message', () => msgs.find((m) => m.severity === 0 && m.content.includes('deployed')));
    expect(msgs[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(Object.keys(msgs[0]!).sort()).toEqual(['content', 'id', 'logContent', 'severity', 'source', 'timestamp']);

    // Node log: lines arrive live; a later client gets them in its backlog.
    const node1 = await connected(t, `/logs/${lab.id}/n1`, alice.token, sockets);
    const live = dataOf<string>(node1);
    await waitFor('live node lines', () => live.some((l) => /^one \d+$/.test(l)));
    expect(live.some((l) => l.startsWith('two'))).toBe(false);
    const late = await connected(t, `/logs/${lab.id}/n1`, alice.token, sockets);
    const backlog = await backlogOf(late);
    expect(backlog[0]).toBe('one start');
    expect(backlog).toContain(live[0]);

    // Lab log: lifecycle lines in the backlog.
    const labLog = await connected(t, `/logs/${lab.id}`, alice.token, sockets);
    const labBacklog = await backlogOf(labLog);
    expect(labBacklog.some((l) => l.includes('lab ticker is running'))).toBe(true);

    // Stop node 2: its process ends; its log namespace closes.
    const pid2 = execPid(lab.id, 'n2')!;
    expect(pidAlive(pid2)).toBe(true);
    const node2 = await connected(t, `/logs/${lab.id}/n2`, alice.token, sockets);
    const node2Closed = new Promise<void>((resolve) => node2.once('disconnect', () => resolve()));
    expect(await command(cmd, { labId: lab.id, command: 2, node: 'n2' })).toEqual({ payload: null });
    await node2Closed;
    await waitFor('n2 process gone', () => !pidAlive(pid2));
    expect((await readLab(t, alice.token, lab.id)).nodes.find((n) => n.name === 'n2')!.state).toBe(-1);
    expect(await refused(t, `/logs/${lab.id}/n2`, alice.token)).toMatchObject({ message: 'Node is not running', data: { code: 5422 } });
    // Stopping it again is harmless.
    expect(await command(cmd, { labId: lab.id, command: 2, node: 'n2' })).toEqual({ payload: null });

    // Start node 2 again: a new process, its output reaches a new client.
    expect(await command(cmd, { labId: lab.id, command: 3, node: 'n2' })).toEqual({ payload: null });
    const newPid2 = execPid(lab.id, 'n2')!;
    expect(newPid2).not.toBe(pid2);
    const node2b = await connected(t, `/logs/${lab.id}/n2`, alice.token, sockets);
    const live2 = dataOf<string>(node2b);
    await waitFor('n2 lines after restart', () => live2.some((l) => /^two \d+$/.test(l)));

    // Destroy: every process ends, log namespaces close and refuse new clients.
    const pid1 = execPid(lab.id, 'n1')!;
    const labLogClosed = new Promise<void>((resolve) => labLog.once('disconnect', () => resolve()));
    expect(await command(cmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });
    await labLogClosed;
    expect(pidAlive(pid1)).toBe(false);
    expect(pidAlive(newPid2)).toBe(false);
    const destroyed = await readLab(t, alice.token, lab.id);
    expect(destroyed.state).toBe(-1);
    expect(destroyed.nodes.map((n) => n.state)).toEqual([-1, -1]);
    expect(await refused(t, `/logs/${lab.id}`, alice.token)).toMatchObject({ message: 'Lab is not active', data: { code: 5422 } });
    await waitFor('the destroyed message', () => msgs.find((m) => m.content === 'Lab ticker destroyed'));
  });

  it('refuses a second deploy while the first is deploying (5002)', async () => {
    const lab = await createLab(t, alice.token, topology('twice', tickerNode('a', 'a') + tickerNode('b', 'b') + tickerNode('c', 'c')));
    const cmd = await connected(t, '/lab-commands', alice.token, sockets);
    const [first, second] = await Promise.all([command(cmd, { labId: lab.id, command: 0 }), command(cmd, { labId: lab.id, command: 0 })]);
    expect(first).toEqual({ payload: null });
    expect(second).toMatchObject({ code: 5002, message: 'The lab is already being deployed' });
    // A destroy during a deploy is refused the same way.
    const [redeploy, destroyDuring] = await Promise.all([command(cmd, { labId: lab.id, command: 0 }), command(cmd, { labId: lab.id, command: 1 })]);
    expect(redeploy).toEqual({ payload: null });
    expect(destroyDuring).toMatchObject({ code: 5002 });
    expect(await command(cmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });
  });

  it('fails a deploy with 5001 when a node cannot start, cleans up the nodes that did, and marks the lab failed', async () => {
    const yaml = topology('broken', tickerNode('ok', 'ok') + '    bad:\n      kind: exec\n      cmd: ["/nonexistent/program-xyz"]\n');
    const lab = await createLab(t, alice.token, yaml);
    const cmd = await connected(t, '/lab-commands', alice.token, sockets);
    const ack = (await command(cmd, { labId: lab.id, command: 0 })) as { code: number; message: string };
    expect(ack.code).toBe(5001);
    expect(ack.message).toContain('cannot start /nonexistent/program-xyz');
    const failed = await readLab(t, alice.token, lab.id);
    expect(failed.state).toBe(3);
    expect(failed.nodes.find((n) => n.name === 'bad')!.state).toBe(3);
    expect(t.app.context.db.collection('labs').get(lab.id)!.nodes.every((n) => n.pid === undefined)).toBe(true);
    // A failed lab is still "active": its log tells what went wrong.
    const log = await connected(t, `/logs/${lab.id}`, alice.token, sockets);
    const backlog = await backlogOf(log);
    expect(backlog.some((l) => l.includes('deploy failed'))).toBe(true);
    expect(await command(cmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });
  });

  it('fails containerlab kinds with 5001 when containerlab is not installed', async () => {
    const lab = await createLab(t, alice.token, 'name: clab\ntopology:\n  nodes:\n    r1:\n      kind: linux\n      image: alpine:3\n');
    const cmd = await connected(t, '/lab-commands', alice.token, sockets);
    const ack = (await command(cmd, { labId: lab.id, command: 0 })) as { code: number; message: string };
    expect(ack).toMatchObject({ code: 5001 });
    expect(ack.message).toContain('containerlab is not installed');
  });

  it('keeps labs between users: others get 5403 and none of its updates or logs', async () => {
    const lab = await createLab(t, alice.token, topology('private', tickerNode('p', 'secret')));
    const bobUpdates = await connected(t, '/lab-updates', bob.token, sockets);
    const bobIds = dataOf<string>(bobUpdates);
    const bobMessages = await connected(t, '/status-messages', bob.token, sockets);
    const bobMsgs = dataOf<{ content: string }>(bobMessages);
    const adminUpdates = await connected(t, '/lab-updates', admin, sockets);
    const adminIds = dataOf<string>(adminUpdates);
    const bobCmd = await connected(t, '/lab-commands', bob.token, sockets);
    const viewerCmd = await connected(t, '/lab-commands', viewer.token, sockets);

    expect(await command(bobCmd, { labId: lab.id, command: 0 })).toMatchObject({ code: 5403 });
    expect(await command(viewerCmd, { labId: lab.id, command: 0 })).toMatchObject({ code: 5403 });
    expect((await api(t, bob.token, 'GET', `labs/${lab.id}`)).status).toBe(403);
    expect(((await api(t, bob.token, 'GET', 'labs')).body.items as unknown[]).length).toBe(0);
    expect((await api(t, bob.token, 'DELETE', `labs/${lab.id}`)).status).toBe(403);

    // The admin may command anyone's lab.
    const adminCmd = await connected(t, '/lab-commands', admin, sockets);
    expect(await command(adminCmd, { labId: lab.id, command: 0 })).toEqual({ payload: null });
    await waitFor('admin hears about the lab', () => adminIds.includes(lab.id));
    expect(await refused(t, `/logs/${lab.id}`, bob.token)).toEqual({ message: 'No access to this lab', data: { code: 5403 } });
    expect(await refused(t, `/logs/${lab.id}/p`, bob.token)).toMatchObject({ data: { code: 5403 } });
    const adminLog = await connected(t, `/logs/${lab.id}/p`, admin, sockets);
    await backlogOf(adminLog);
    expect(await command(adminCmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });

    // Bob heard nothing of Alice's lab (only the "re-fetch all" greeting).
    expect(bobIds).toEqual(['']);
    expect(bobMsgs.filter((m) => m.content.includes('private'))).toEqual([]);

    // Bad log namespace ids; refused names do not leave namespaces behind.
    const namespacesBefore = t.app.context.io._nsps.size;
    expect(await refused(t, '/logs/not-a-uuid', alice.token)).toEqual({ message: 'Invalid lab id', data: { code: 5404 } });
    expect(await refused(t, '/logs/0e2c5b4e-2a4c-4c1e-9a43-2f9c0c3f1a11', alice.token)).toEqual({ message: 'Lab not found', data: { code: 5404 } });
    for (let i = 0; i < 5; i++) expect(await refused(t, `/logs/random-${i}/node-${i}`)).toMatchObject({ message: 'Unauthorized' });
    await waitFor('refused namespaces dropped', () => t.app.context.io._nsps.size <= namespacesBefore);
  });

  it('applies a role change to open connections: a demoted admin stops hearing others\' labs', async () => {
    const carol = await t.createUser('carol', 'admin');
    const lab = await createLab(t, alice.token, topology('watched', tickerNode('w', 'w')));
    const cmd = await connected(t, '/lab-commands', alice.token, sockets);
    expect(await command(cmd, { labId: lab.id, command: 0 })).toEqual({ payload: null });
    const log = await connected(t, `/logs/${lab.id}/w`, carol.token, sockets);
    await waitFor('carol sees lines', () => dataOf(log).length > 0);
    const carolCmd = await connected(t, '/lab-commands', carol.token, sockets);
    const closed = new Promise<void>((resolve) => log.once('disconnect', () => resolve()));
    expect((await api(t, admin, 'PUT', `users/${carol.id}`, { role: 'user' })).status).toBe(200);
    await closed;
    expect(await command(carolCmd, { labId: lab.id, command: 1 })).toMatchObject({ code: 5403 });
    expect(await command(cmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });
  });

  it('refuses exec nodes unless labs.allow_exec is on', async () => {
    const t2 = await startTestApp();
    try {
      const token = await t2.login();
      const lab = await createLab(t2, token, topology('noexec', tickerNode('x', 'x')));
      const s = await connected(t2, '/lab-commands', token, sockets);
      const ack = (await command(s, { labId: lab.id, command: 0 })) as { code: number; message: string };
      expect(ack.code).toBe(5001);
      expect(ack.message).toContain('labs.allow_exec');
    } finally {
      for (const s of sockets.splice(0)) s.close();
      await t2.stop();
    }
  });

  it('validates topologies with clear errors and stores nothing', async () => {
    const before = t.app.context.db.collection('labs').all().length;
    const bad = await api(t, alice.token, 'POST', 'labs', { topology: 'name: x\ntopology:\n  nodes:\n    n:\n      kind: exec\n      cmd: "sh -c ls"\n' });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('exec nodes need cmd as a list');
    const yamlError = await api(t, alice.token, 'POST', 'labs', { topology: 'name: [' });
    expect(yamlError.status).toBe(422);
    expect(JSON.stringify(yamlError.body)).toContain('YAML');
    const viewerCreate = await api(t, viewer.token, 'POST', 'labs', { topology: topology('v', tickerNode('n', 'n')) });
    expect(viewerCreate.status).toBe(403);
    const past = await api(t, alice.token, 'POST', 'labs', { topology: topology('p', tickerNode('n', 'n')), startTime: '2000-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(t.app.context.db.collection('labs').all().length).toBe(before);
  });

  it('keeps a camera demanded while a camera node runs (real camera service)', async () => {
    const camera = t.app.context.cameras.all()[0]!;
    expect(camera.demanded).toBe(false);
    const demands: string[] = [];
    const off = t.app.context.bus.subscribe((e) => {
      if (e.entity === camera.id && (e.event === 'demand' || e.event === 'unDemand')) demands.push(e.event);
    }, ['camera']);
    try {
      const lab = await createLab(t, alice.token, `name: cam\ntopology:\n  nodes:\n    eye:\n      kind: camera\n      camera: ${camera.id}\n`);
      const cmd = await connected(t, '/lab-commands', alice.token, sockets);
      expect(await command(cmd, { labId: lab.id, command: 0 })).toEqual({ payload: null });
      expect(t.app.context.cameras.get(camera.id)!.demanded).toBe(true);
      expect(demands).toEqual(['demand']);
      expect(await command(cmd, { labId: lab.id, command: 2, node: 'eye' })).toEqual({ payload: null });
      expect(t.app.context.cameras.get(camera.id)!.demanded).toBe(false);
      expect(await command(cmd, { labId: lab.id, command: 3, node: 'eye' })).toEqual({ payload: null });
      expect(t.app.context.cameras.get(camera.id)!.demanded).toBe(true);
      expect(await command(cmd, { labId: lab.id, command: 1 })).toEqual({ payload: null });
      expect(t.app.context.cameras.get(camera.id)!.demanded).toBe(false);
      expect(demands).toEqual(['demand', 'unDemand', 'demand', 'unDemand']);

      const missing = await createLab(t, alice.token, 'name: nocam\ntopology:\n  nodes:\n    eye:\n      kind: camera\n      camera: no-such-camera\n');
      expect(await command(cmd, { labId: missing.id, command: 0 })).toEqual({ code: 5001, message: 'Node eye: camera no-such-camera does not exist' });
    } finally {
      off();
    }
  });

  it('refuses to deploy a camera node on a switched-off camera (5001 with the camera service’s reason)', async () => {
    const camera = t.app.context.cameras!.all()[0]!;
    const put = await api(t, admin, 'PUT', `cameras/${camera.id}`, { enabled: false });
    expect(put.status).toBe(200);
    try {
      const lab = await createLab(t, alice.token, `name: offcam\ntopology:\n  nodes:\n    eye:\n      kind: camera\n      camera: ${camera.id}\n`);
      const cmd = await connected(t, '/lab-commands', alice.token, sockets);
      expect(await command(cmd, { labId: lab.id, command: 0 })).toEqual({ code: 5001, message: `Camera "${camera.name}" is switched off; switch it on first` });
      expect(t.app.context.cameras!.get(camera.id)!.demanded).toBe(false);
    } finally {
      await api(t, admin, 'PUT', `cameras/${camera.id}`, { enabled: true });
    }
  });

  it('sends status messages for credentials needing re-authentication (admins) and monitors going offline (everyone)', async () => {
    const adminMsgs = await connected(t, '/status-messages', admin, sockets);
    const userMsgs = await connected(t, '/status-messages', bob.token, sockets);
    t.app.context.bus.publish('credentials', 'cred-1', 'unauthenticated', { description: 'Google Drive', error: 'refresh token revoked' });
    t.app.context.bus.publish('monitor', 'mon-1', 'offline', { monitor_id: 'greenhouse-1', name: 'Greenhouse', reason: 'Monitor disconnected' });
    await waitFor('admin messages', () => dataOf(adminMsgs).length >= 2);
    await waitFor('user message', () => dataOf(userMsgs).length >= 1);
    expect(dataOf(adminMsgs)).toMatchObject([
      { source: 'credentials', content: 'Credential "Google Drive" needs to be re-authenticated', severity: 2 },
      { source: 'monitors', content: 'Monitor "Greenhouse" went offline', severity: 2 },
    ]);
    expect(dataOf<{ logContent: string }>(adminMsgs)[0]!.logContent).toContain('refresh token revoked');
    expect(dataOf(userMsgs)).toMatchObject([{ source: 'monitors', content: 'Monitor "Greenhouse" went offline' }]);
  });

  it('serves the labs module over HTTP: update, schedule, and delete of a running lab', async () => {
    const lab = await createLab(t, alice.token, topology('module', tickerNode('n', 'n')), { name: 'My lab' });
    expect(lab.name).toBe('My lab');
    const renamed = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { name: 'Renamed' });
    expect(renamed).toMatchObject({ status: 200, body: { name: 'Renamed' } });
    const unknownKey = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { colour: 'red' });
    expect(unknownKey.status).toBe(422);
    const badOrder = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { startTime: new Date(Date.now() + 60_000).toISOString(), endTime: new Date(Date.now() + 30_000).toISOString() });
    expect(badOrder.status).toBe(422);
    expect(JSON.stringify(badOrder.body)).toContain('must be after startTime');
    const scheduled = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { startTime: new Date(Date.now() + 3_600_000).toISOString() });
    expect(scheduled.body.state).toBe(-2);
    const unscheduled = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { startTime: null });
    expect(unscheduled.body.state).toBe(-1);
    expect((await api(t, bob.token, 'PUT', `labs/${lab.id}`, { name: 'mine' })).status).toBe(403);
    // Only admins give labs away (alice is one here, for her exec labs): bob may not give his own lab to alice.
    const bobsLab = await createLab(t, bob.token, 'name: bobs\ntopology:\n  nodes:\n    eye:\n      kind: camera\n      camera: none\n');
    expect((await api(t, bob.token, 'PUT', `labs/${bobsLab.id}`, { owner: alice.id })).status).toBe(403);
    expect((await api(t, bob.token, 'DELETE', `labs/${bobsLab.id}`)).status).toBe(200);

    const cmd = await connected(t, '/lab-commands', alice.token, sockets);
    expect(await command(cmd, { labId: lab.id, command: 0 })).toEqual({ payload: null });
    const pid = execPid(lab.id, 'n')!;
    const changeWhileRunning = await api(t, alice.token, 'PUT', `labs/${lab.id}`, { topology: topology('module', tickerNode('other', 'o')) });
    expect(changeWhileRunning.status).toBe(409);
    expect((await api(t, alice.token, 'DELETE', `labs/${lab.id}`)).status).toBe(200);
    expect(pidAlive(pid)).toBe(false);
    expect((await api(t, alice.token, 'GET', `labs/${lab.id}`)).status).toBe(404);
    expect(await command(cmd, { labId: lab.id, command: 0 })).toMatchObject({ code: 5404 });

    // An admin may give a lab to another user; the new owner then sees it.
    const given = await createLab(t, admin, topology('gift', tickerNode('n', 'n')), { owner: bob.id });
    expect(given.owner).toBe(bob.id);
    expect((await api(t, bob.token, 'GET', `labs/${given.id}`)).status).toBe(200);
  });

  it('deploys a scheduled lab at startTime and destroys it at endTime', async () => {
    const start = new Date(Date.now() + 1500).toISOString();
    const end = new Date(Date.now() + 4000).toISOString();
    const lab = await createLab(t, alice.token, topology('scheduled', tickerNode('s', 'sched')), { startTime: start, endTime: end });
    expect(lab.state).toBe(-2);
    const updates = await connected(t, '/lab-updates', alice.token, sockets);
    const ids = dataOf<string>(updates);
    await waitFor('the scheduled deploy', async () => (await readLab(t, alice.token, lab.id)).state === 1, 10_000);
    const pid = execPid(lab.id, 's')!;
    expect(pidAlive(pid)).toBe(true);
    expect(ids).toContain(lab.id);
    await waitFor('the scheduled destroy', async () => (await readLab(t, alice.token, lab.id)).state === -1, 10_000);
    await waitFor('process gone', () => !pidAlive(pid));
  });
});

describe('restarts', () => {
  it('recovers a lab left running by a previous process: Inactive, with a log line, no orphan process', async () => {
    const t1 = await startTestApp({ labs: { allow_exec: true } }, { keepData: true });
    let t2: TestApp | null = null;
    const sockets: Socket[] = [];
    try {
      const token = await t1.login();
      const lab = await createLab(t1, token, topology('survivor', tickerNode('n', 'n')));
      const cmd = await connected(t1, '/lab-commands', token, sockets);
      expect((await command(cmd, { labId: lab.id, command: 0 })) as Ack).toEqual({ payload: null });
      const pid = t1.app.context.db.collection('labs').get(lab.id)!.nodes[0]!.pid!;
      expect(pidAlive(pid)).toBe(true);
      for (const s of sockets.splice(0)) s.close();
      await t1.app.stop();
      expect(pidAlive(pid)).toBe(false);

      t2 = await startTestApp({ labs: { allow_exec: true } }, { dataDir: t1.dataDir });
      const token2 = await t2.login();
      const recovered = await readLab(t2, token2, lab.id);
      expect(recovered.state).toBe(-1);
      expect(recovered.nodes[0]!.state).toBe(-1);
      const notice = t2.app.context.statusMessages.recent(SYSTEM_ACTOR).find((m) => m.content === 'Lab survivor was stopped by a restart');
      expect(notice).toMatchObject({ severity: 2 });
      expect(notice!.logContent).toContain('was Running');
      // Deploying again works, with a new process.
      const cmd2 = await connected(t2, '/lab-commands', token2, sockets);
      expect(await command(cmd2, { labId: lab.id, command: 0 })).toEqual({ payload: null });
      const log = await connected(t2, `/logs/${lab.id}`, token2, sockets);
      const backlog = await backlogOf(log);
      expect(backlog.some((l) => l.includes('running'))).toBe(true);
      expect(await command(cmd2, { labId: lab.id, command: 1 })).toEqual({ payload: null });
    } finally {
      for (const s of sockets.splice(0)) s.close();
      await t2?.stop();
      rmSync(t1.dataDir, { recursive: true, force: true });
    }
  });

  it('kills a process a crashed previous process left behind, and only that one', async () => {
    const t1 = await startTestApp({ labs: { allow_exec: true } }, { keepData: true });
    // Stands in for the exec node a crashed Switchboard could not stop.
    // It ends itself after a minute, so even a test run killed midway leaves nothing behind for long.
    const leftover = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); setTimeout(() => process.exit(0), 60_000)'], { stdio: 'ignore' });
    const spawned = new Promise<void>((resolve) => leftover.once('spawn', () => resolve()));
    const exited = new Promise<string | null>((resolve) => leftover.once('exit', (_code, signal) => resolve(signal)));
    let t2: TestApp | null = null;
    try {
      const token = await t1.login();
      const lab = await createLab(t1, token, topology('crashed', tickerNode('n', 'n') + tickerNode('m', 'm')));
      await t1.app.stop();
      await spawned;
      const file = join(t1.dataDir, 'db.json');
      const db = JSON.parse(readFileSync(file, 'utf8')) as { labs: Record<string, unknown>[] };
      const rec = db.labs.find((l) => l.id === lab.id)!;
      rec.state = 0;
      rec.nodes = [
        { name: 'n', kind: 'exec', state: 1, pid: leftover.pid, pidStart: processStartTime(leftover.pid!) },
        // A recorded pid whose start time no longer matches (reused pid): must not be touched.
        { name: 'm', kind: 'exec', state: 1, pid: process.pid, pidStart: '1' },
      ];
      writeFileSync(file, JSON.stringify(db));

      t2 = await startTestApp({ labs: { allow_exec: true } }, { dataDir: t1.dataDir });
      expect(await exited).toBe('SIGKILL');
      expect(pidAlive(leftover.pid!)).toBe(false);
      const recovered = await readLab(t2, await t2.login(), lab.id);
      expect(recovered.state).toBe(-1);
      expect(recovered.nodes.map((n) => n.state)).toEqual([-1, -1]);
      expect(t2.app.context.db.collection('labs').get(lab.id)!.nodes.every((n) => n.pid === undefined)).toBe(true);
    } finally {
      leftover.kill('SIGKILL');
      await t2?.stop();
      rmSync(t1.dataDir, { recursive: true, force: true });
    }
  });

  it('marks a scheduled lab whose whole window passed while stopped as inactive', async () => {
    const t1 = await startTestApp({ labs: { allow_exec: true } }, { keepData: true });
    let t2: TestApp | null = null;
    try {
      const token = await t1.login();
      const lab = await createLab(t1, token, topology('missed', tickerNode('m', 'm')), { startTime: new Date(Date.now() + 3_600_000).toISOString(), endTime: new Date(Date.now() + 7_200_000).toISOString() });
      expect(lab.state).toBe(-2);
      await t1.app.stop();
      const file = join(t1.dataDir, 'db.json');
      const db = JSON.parse(readFileSync(file, 'utf8')) as { labs: Record<string, unknown>[] };
      Object.assign(db.labs.find((l) => l.id === lab.id)!, { startTime: new Date(Date.now() - 7_200_000).toISOString(), endTime: new Date(Date.now() - 3_600_000).toISOString() });
      writeFileSync(file, JSON.stringify(db));
      t2 = await startTestApp({ labs: { allow_exec: true } }, { dataDir: t1.dataDir });
      expect((await readLab(t2, await t2.login(), lab.id)).state).toBe(-1);
      expect(t2.app.context.statusMessages.recent(SYSTEM_ACTOR).map((m) => m.content)).toContain('Lab missed missed its schedule');
    } finally {
      await t2?.stop();
      rmSync(t1.dataDir, { recursive: true, force: true });
    }
  });

  it('deploys again after a restart a scheduled lab whose window is still open', async () => {
    const t1 = await startTestApp({ labs: { allow_exec: true } }, { keepData: true });
    let t2: TestApp | null = null;
    try {
      const token = await t1.login();
      const lab = await createLab(t1, token, topology('window', tickerNode('w', 'w')), { startTime: new Date(Date.now() + 800).toISOString(), endTime: new Date(Date.now() + 60_000).toISOString() });
      await waitFor('the scheduled deploy', async () => (await readLab(t1, token, lab.id)).state === 1);
      const pid = t1.app.context.db.collection('labs').get(lab.id)!.nodes[0]!.pid!;
      await t1.app.stop();
      expect(pidAlive(pid)).toBe(false);
      t2 = await startTestApp({ labs: { allow_exec: true } }, { dataDir: t1.dataDir });
      const token2 = await t2.login();
      await waitFor('the redeploy', async () => (await readLab(t2!, token2, lab.id)).state === 1);
      const pid2 = t2.app.context.db.collection('labs').get(lab.id)!.nodes[0]!.pid!;
      expect(pid2).not.toBe(pid);
      expect(pidAlive(pid2)).toBe(true);
      await t2.stop();
      expect(pidAlive(pid2)).toBe(false);
      t2 = null;
    } finally {
      await t2?.stop();
      rmSync(t1.dataDir, { recursive: true, force: true });
    }
  });
});
