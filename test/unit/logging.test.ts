import { describe, expect, it } from 'vitest';
import { chooseLogFormat, loadPrettifier, createLogging } from '../../src/logging/logger.js';

describe('logging', () => {
  it('redacts secrets at any of the first levels of nesting', () => {
    const lines: string[] = [];
    const { logger } = createLogging({ level: 'info', out: (l) => lines.push(l) });
    logger.info({ password: 'hunter22', user: { token: 'tok-123', name: 'bob' }, req: { headers: { authorization: 'Bearer abc' } }, a: { b: { client_secret: 's3' } } }, 'signing in');
    const out = lines.join('');
    expect(out).toContain('signing in');
    expect(out).toContain('bob');
    for (const secret of ['hunter22', 'tok-123', 'Bearer abc', 's3"']) expect(out).not.toContain(secret);
  });

  it('keeps the last 100 lines with NestMTX level numbers and streams new ones', () => {
    const { logger, hub } = createLogging({ level: 'trace', out: null });
    const seen: number[] = [];
    const off = hub.subscribe((e) => seen.push(e.level));
    logger.child({ service: 'cams' }).trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(seen).toEqual([20, 30, 40, 50, 60, 70]);
    const [first] = hub.recent();
    expect(first).toMatchObject({ level: 20, msg: 't', service: 'cams', pid: process.pid, hostname: expect.any(String) });
    expect(new Date(first!.timestamp).getTime()).toBe(first!.time);
    off();
    for (let i = 0; i < 150; i++) logger.info(`line ${i}`);
    expect(hub.recent()).toHaveLength(100);
    expect(hub.recent().at(-1)!.msg).toBe('line 149');
    expect(seen).toHaveLength(6);
  });

  it('writes readable single lines for the Supervisor log view', () => {
    const lines: string[] = [];
    const { logger } = createLogging({ level: 'info', out: (l) => lines.push(l), format: 'text' });
    logger.child({ service: 'mqtt' }).warn({ broker: 'core-mosquitto' }, 'reconnecting');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z WARN \[mqtt\] reconnecting broker=core-mosquitto\n$/);
  });
});

describe('redaction by path', () => {
  it('keeps errno codes such as EADDRINUSE and redacts an OAuth code only where it is one', () => {
    const lines: string[] = [];
    const { logger } = createLogging({ level: 'info', out: (l) => lines.push(l) });
    logger.error({ code: 'EADDRINUSE', err: { code: 'EADDRINUSE', message: 'listen EADDRINUSE' }, query: { code: 'oauth-code-123', state: 's' } }, 'could not listen');
    const out = lines.join('');
    expect(out.match(/EADDRINUSE/g)?.length).toBeGreaterThanOrEqual(2);
    expect(out).not.toContain('oauth-code-123');
    expect(out).toContain('[redacted]');
  });
});

describe('log format for where the add-on runs', () => {
  it('keeps plain text under the Supervisor, pretty on a terminal, JSON into a pipe', () => {
    expect(chooseLogFormat({ addon: true, tty: true })).toBe('text');
    expect(chooseLogFormat({ addon: true, tty: false })).toBe('text');
    expect(chooseLogFormat({ addon: false, tty: true })).toBe('pretty');
    expect(chooseLogFormat({ addon: false, tty: false })).toBe('json');
  });

  it('prints pino-pretty lines on a terminal, redacted, while the hub still keeps entries', () => {
    const lines: string[] = [];
    const { logger, hub } = createLogging({ level: 'info', out: (l) => lines.push(l), format: 'pretty' });
    logger.child({ service: 'mqtt' }).warn({ broker: 'core-mosquitto', password: 'hunter22' }, 'reconnecting');
    const out = lines.join('');
    expect(() => JSON.parse(lines[0]!)).toThrow();
    expect(out).toContain('WARN');
    expect(out).toContain('[mqtt] reconnecting');
    expect(out).toContain('core-mosquitto');
    expect(out).not.toContain('hunter22');
    expect(hub.recent().at(-1)).toMatchObject({ level: 50, msg: 'reconnecting', service: 'mqtt' });
  });

  it('falls back to plain text lines where pino-pretty is not installed (the add-on image)', () => {
    expect(loadPrettifier('pino-pretty-not-installed')).toBeNull();
    expect(loadPrettifier()?.(JSON.stringify({ level: 30, time: 0, msg: 'hello' }))).toContain('hello');
  });
});
