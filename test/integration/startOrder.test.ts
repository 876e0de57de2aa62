// The order of start-up as a client sees it: the HTTP server listens only once every service and
// adapter behind its routes has started, and before the extensions that hand out its address.
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

describe('start-up order', () => {
  let t: TestApp | undefined;
  const lines: { msg: string; service?: string }[] = [];

  afterAll(async () => {
    await t?.stop();
  });

  it('listens after the services and socket adapters, before live views and MQTT', async () => {
    t = await startTestApp({}, { logOut: (line) => lines.push(JSON.parse(line) as { msg: string; service?: string }) });
    const at = (msg: string) => {
      const i = lines.findIndex((l) => l.msg === msg);
      expect(i, `log line "${msg}"`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const listening = at('HTTP server listening');
    expect(at('altoponix relay listening')).toBeLessThan(listening);
    expect(at('MQTT bridge disabled (mqtt.url: disabled)')).toBeGreaterThan(listening);
    expect(at('switchboard started')).toBeGreaterThan(listening);
    // The first request is served by started services: the simulated camera is there.
    const admin = await t.login();
    const cameras = await t.api('GET', '/api/cameras', admin);
    expect(cameras.status).toBe(200);
    expect(JSON.stringify(cameras.body)).toContain('"id"');
  });
});
