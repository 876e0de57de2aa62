// Home Assistant administrators are Switchboard admins: ingress sign-in asks HA's user list
// (websocket config/auth/list on the HA protocol peer), the role follows HA's answer when it
// changes (open sessions included), and when HA cannot be asked users keep their last role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient, type Socket } from 'socket.io-client';
import { HaPeer, peerUser } from '../helpers/haPeer.js';
import { startIngressProxy, type HaUser, type IngressProxy } from '../helpers/ingressProxy.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'ha-roles-token';

interface SessionReply {
  bearer: string;
  user: { id: string; username: string; role: string };
}

describe('Home Assistant administrators are admins', () => {
  let peer: HaPeer;
  let t: TestApp;
  const proxies: IngressProxy[] = [];

  const signIn = async (user: HaUser): Promise<SessionReply> => {
    const proxy = await startIngressProxy(t.url, user);
    proxies.push(proxy);
    const res = await fetch(`${proxy.url}/api/ingress/session`, { method: 'POST' });
    expect(res.status).toBe(201);
    return (await res.json()) as SessionReply;
  };
  const roleOf = (id: string) => t.app.context.db.collection('users').get(id)?.role;

  beforeAll(async () => {
    peer = new HaPeer(TOKEN);
    peer.users.push(peerUser('ha-owner', 'Olivia', { owner: true }), peerUser('ha-admin', 'Adam', { admin: true }), peerUser('ha-plain', 'Paula'));
    await peer.start();
    t = await startTestApp({ ingress_trusted_proxies: ['127.0.0.1'], homeassistant: { enabled: true, url: peer.url, token: TOKEN } });
    await peer.waitFor(() => peer.clientCount > 0);
  });

  afterAll(async () => {
    for (const p of proxies) await p.close();
    await t?.stop();
    await peer?.stop();
  });

  it('makes the owner and members of system-admin admins, and leaves other HA users `user`', async () => {
    expect((await signIn({ id: 'ha-owner', name: 'olivia' })).user.role).toBe('admin');
    const adam = await signIn({ id: 'ha-admin', name: 'adam' });
    expect(adam.user.role).toBe('admin');
    const paula = await signIn({ id: 'ha-plain', name: 'paula' });
    expect(paula.user.role).toBe('user');
    // The admin's token is an admin's: it lists users; the plain user's is refused.
    expect((await t.api('GET', '/api/users', adam.bearer)).status).toBe(200);
    expect((await t.api('GET', '/api/users', paula.bearer)).status).toBe(403);
    expect(peer.received.filter((m) => m.type === 'config/auth/list').length).toBeGreaterThan(0);
  });

  it('follows a demotion in HA into an open session, and a promotion back', async () => {
    const adam = await signIn({ id: 'ha-admin', name: 'adam' });
    // An open NestMTX socket of that user: the session registry re-judges it.
    const socket: Socket = ioClient(t.url, { auth: { token: adam.bearer }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    try {
      peer.users.find((u) => u.id === 'ha-admin')!.group_ids = ['system-users'];
      // HA restarts: on reconnection Switchboard asks again and applies the answer to everyone.
      await peer.stop();
      await peer.start();
      await until('the demotion', () => roleOf(adam.user.id) === 'user');
      expect((await t.api('GET', '/api/users', adam.bearer)).status).toBe(403);
      // The NestMTX socket opened as an admin now answers as the user it has become.
      const reply = new Promise<Record<string, unknown>>((resolve) => socket.once('r1', resolve));
      socket.emit('request', { command: 'list', module: 'users', requestId: 'r1' });
      expect(await reply).toMatchObject({ error: { message: 'Only admins may list users' } });

      peer.users.find((u) => u.id === 'ha-admin')!.group_ids = ['system-admin'];
      await peer.stop();
      await peer.start();
      await until('the promotion', () => roleOf(adam.user.id) === 'admin');
      expect((await t.api('GET', '/api/users', adam.bearer)).status).toBe(200);
    } finally {
      socket.close();
    }
  });

  it('keeps a role a Switchboard admin set until HA’s answer changes', async () => {
    const paula = await signIn({ id: 'ha-plain', name: 'paula' });
    const admin = await t.login();
    expect((await t.api('PUT', `/api/users/${paula.user.id}`, admin, { role: 'viewer' })).status).toBe(200);
    expect((await signIn({ id: 'ha-plain', name: 'paula' })).user.role).toBe('viewer');
  });

  it('when HA cannot be asked, known users keep their role and a new HA user starts as `user`', async () => {
    peer.tokenIsAdmin = false;
    peer.users.push(peerUser('ha-new-admin', 'Nora', { admin: true }));
    await peer.stop();
    await peer.start();
    await peer.waitFor(() => peer.clientCount > 0);
    expect((await signIn({ id: 'ha-owner', name: 'olivia' })).user.role).toBe('admin');
    const nora = await signIn({ id: 'ha-new-admin', name: 'nora' });
    expect(nora.user.role).toBe('user');
    expect(t.app.context.logs.recent().filter((l) => /cannot ask Home Assistant who its administrators are/.test(l.msg))).toHaveLength(1);
    // A burst of sign-ins while HA refuses asks it at most once more, and logs nothing more.
    const asked = () => peer.received.filter((m) => m.type === 'config/auth/list').length;
    const before = asked();
    for (let i = 0; i < 5; i++) expect((await signIn({ id: 'ha-new-admin', name: 'nora' })).user.role).toBe('user');
    expect(asked() - before).toBeLessThanOrEqual(1);
    expect(t.app.context.logs.recent().filter((l) => /cannot ask Home Assistant who its administrators are/.test(l.msg))).toHaveLength(1);

    // HA answers again (e.g. after a restart): the new admin is promoted without signing in again.
    peer.tokenIsAdmin = true;
    await peer.stop();
    await peer.start();
    await until('the promotion once HA answers', () => roleOf(nora.user.id) === 'admin');
  });
});
