// Failed-login throttling behind a reverse proxy, as an attacker behind the same proxy tries it:
// with the proxy in `trusted_proxies`, a flood of made-up user names is throttled for the
// attacker's own address and a correct login of another client through the same proxy gets in;
// X-Forwarded-For from anyone else is ignored, so it cannot be used to escape the throttle.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const PROXY = '127.0.0.1';
const OTHER_PEER = '127.0.0.2';

describe('login throttle behind a reverse proxy', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ trusted_proxies: [PROXY] });
    await t.createUser('carol', 'user', 'carol-password');
  });

  afterAll(async () => {
    await t?.stop();
  });

  /** POST /api/auth from `peer` (a loopback address) with an X-Forwarded-For header; the status. */
  const login = (peer: string, forwardedFor: string | null, username: string, password: string) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ username, password });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      if (forwardedFor !== null) headers['x-forwarded-for'] = forwardedFor;
      const req = request({ host: '127.0.0.1', port: t.port, path: '/api/auth', method: 'POST', localAddress: peer, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });

  const flood = async (peer: string, forwardedFor: (i: number) => string, count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push(await login(peer, forwardedFor(i), `made-up-${peer}-${i}`, 'guess'));
    return statuses;
  };

  it('throttles the attacker behind the proxy; the real user behind the same proxy still gets in', async () => {
    // 60 made-up names in a minute from one client: the last ones are refused unchecked.
    const statuses = await flood(PROXY, () => '203.0.113.5', 60);
    expect(statuses.slice(0, 50).every((s) => s === 400)).toBe(true);
    expect(statuses.slice(50).every((s) => s === 429)).toBe(true);
    // A name the client prepends does not move the count: the proxy's own entry (the last) decides.
    expect(await login(PROXY, '198.51.100.7, 203.0.113.5', 'carol', 'carol-password')).toBe(429);
    // The real user, through the same proxy from another client, signs in.
    expect(await login(PROXY, '198.51.100.7', 'carol', 'carol-password')).toBe(201);
    // So does anyone else through the proxy.
    expect(await login(PROXY, '2001:db8::7', 'carol', 'carol-password')).toBe(201);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a rotating header escapes nothing', async () => {
    const statuses = await flood(OTHER_PEER, (i) => `192.0.2.${i}`, 60);
    expect(statuses.slice(50).every((s) => s === 429)).toBe(true);
    expect(await login(OTHER_PEER, '198.51.100.8', 'carol', 'carol-password')).toBe(429);
    // The proxy's clients are not affected by that peer's lock.
    expect(await login(PROXY, '198.51.100.8', 'carol', 'carol-password')).toBe(201);
  });

  it('a malformed X-Forwarded-For from the proxy counts for the proxy itself', async () => {
    expect(await login(PROXY, 'not-an-address', 'carol', 'wrong-password')).toBe(400);
    expect(await login(PROXY, 'not-an-address', 'carol', 'carol-password')).toBe(201);
  });
});
