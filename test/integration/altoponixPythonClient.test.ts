// An Altoponix monitor written the way the document describes it, with python-socketio (the
// library the document names), against the relay: existing monitor clients work unchanged.
// Needs the Debian package python3-socketio (and python3-websocket) for /usr/bin/python3.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { once, startTestApp, type TestApp } from '../helpers/testApp.js';

const MONITOR_PY = `
import json, sys, threading, socketio
url, monitor_id, key = sys.argv[1], sys.argv[2], sys.argv[3]
sio = socketio.Client(reconnection=False)
# Handlers run on the client's threads: one line at a time, or two events share a line.
said = threading.Lock()
def say(*args):
    with said:
        sys.stdout.write(json.dumps(args) + '\\n')
        sys.stdout.flush()

@sio.on('con ok')
def con_ok(data):
    say('con ok', data)

@sio.on('con failed')
def con_failed(data):
    say('con failed', data)

@sio.on('command do')
def command_do(data):
    say('command do', data)
    if data['command'] == 'break':
        sio.emit('command error', {'reason': 'broken on purpose'})
    else:
        sio.emit('command done')

@sio.event
def disconnect():
    say('disconnect')

sio.connect(url, transports=['websocket'])
sio.emit('con', {'monitor_id': monitor_id, 'key': key})
sio.wait()
`;

/** The Python monitor as a child process whose stdout lines are JSON arrays [event, data?]. */
class PythonMonitor {
  readonly proc: ChildProcess;
  readonly lines: unknown[][] = [];
  private readonly waiters = new Set<() => void>();

  constructor(url: string, monitorId: string, key: string) {
    this.proc = spawn('/usr/bin/python3', ['-c', MONITOR_PY, url, monitorId, key], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      this.lines.push(JSON.parse(line) as unknown[]);
      for (const w of [...this.waiters]) w();
    });
  }

  waitFor(event: string, nth = 1, ms = 10_000): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hits = this.lines.filter((l) => l[0] === event);
        if (hits.length >= nth) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(hits[nth - 1]!);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`python monitor: no "${event}" #${nth}; got ${JSON.stringify(this.lines)}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

let t: TestApp;
let url: string;
let token: string;
const monitors: PythonMonitor[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  t = await startTestApp();
  url = `http://127.0.0.1:${t.app.ports().monitor}`;
  const admin = await t.login();
  const res = await fetch(`${t.url}/api/monitors`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ monitor_id: 'py-1', key: 'python-key-1' }),
  });
  expect(res.status).toBe(201);
  token = (await t.createUser('pat', 'user')).token;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  for (const m of monitors.splice(0)) await m.stop();
});

afterAll(async () => {
  await t.stop();
});

describe('altoponix relay with a python-socketio monitor', () => {
  it('relays commands and answers both ways', async () => {
    const m = new PythonMonitor(url, 'py-1', 'python-key-1');
    monitors.push(m);
    expect(await m.waitFor('con ok')).toEqual(['con ok', { reason: 'Connection ok' }]);

    const u = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
    sockets.push(u);
    await once(u, 'connect');
    u.emit('query', { monitor_id: 'py-1' });
    expect(await once(u, 'query ok')).toEqual({ reason: 'Query ok' });

    const ok = once(u, 'command ok');
    const finish = once(u, 'command finish');
    u.emit('command send', { command: 'water 5s' });
    expect(await ok).toEqual({ reason: 'Command ok' });
    expect(await finish).toEqual({ reason: 'Command finish' });
    expect(await m.waitFor('command do')).toEqual(['command do', { command: 'water 5s' }]);

    const failed = once(u, 'command failed');
    u.emit('command send', { command: 'break' });
    expect(await failed).toEqual({ reason: 'broken on purpose' });
    const rec = t.app.context.db.collection('monitors').find((r) => r.monitor_id === 'py-1')!;
    expect(rec).toMatchObject({ online: true, last_command: 'break', last_result: 'failed: broken on purpose' });
  });

  it('a python monitor with the wrong key receives con failed before the connection closes', async () => {
    const m = new PythonMonitor(url, 'py-1', 'not-the-key');
    monitors.push(m);
    expect(await m.waitFor('con failed')).toEqual(['con failed', { reason: 'Invalid key' }]);
    expect(await m.waitFor('disconnect')).toEqual(['disconnect']);
  });
});
