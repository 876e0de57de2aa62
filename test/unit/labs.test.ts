// Lab building blocks: topology validation, log backlog, schedules, runtimes with real processes,
// status messages, and Antimony's error mapping.
import { describe, expect, it, vi } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../src/auth/records.js';
import { EventBus, type DomainEvent } from '../../src/core/eventBus.js';
import { AppError, conflict, forbidden, notFound, runtimeError, validationError } from '../../src/core/errors.js';
import { toAntimonyError } from '../../src/protocols/antimony/errors.js';
import { LogRing, MAX_LINE_LENGTH } from '../../src/services/labs/logRing.js';
import type { LabHandle } from '../../src/services/labs/runtime.js';
import { CameraRuntime } from '../../src/services/labs/runtimes/cameraRuntime.js';
import { ContainerlabRuntime, findOnPath } from '../../src/services/labs/runtimes/containerlabRuntime.js';
import { ExecRuntime } from '../../src/services/labs/runtimes/execRuntime.js';
import { killIfSame, processStartTime } from '../../src/services/labs/runtimes/processes.js';
import { Scheduler } from '../../src/services/labs/scheduler.js';
import { parseTopology } from '../../src/services/labs/topology.js';
import { StatusMessageSources } from '../../src/services/statusMessages/busSources.js';
import { StatusMessagesService } from '../../src/services/statusMessages/statusMessagesService.js';
import { until } from '../helpers/wait.js';
import { thrownBy } from '../helpers/thrown.js';

const problems = (fn: () => unknown) => thrownBy(AppError, fn).details;

describe('topology', () => {
  it('parses a containerlab-style topology and keeps unknown containerlab keys', () => {
    const t = parseTopology('name: lab1\nmgmt: {network: x}\ntopology:\n  nodes:\n    r1: {kind: linux, image: alpine, binds: [a:b]}\n    cam: {kind: camera, camera: c1}\n    run: {kind: exec, cmd: [node, -e, "1"], env: {A: b}}\n  links:\n    - endpoints: ["r1:eth1", "r2:eth1"]\n');
    expect(t.name).toBe('lab1');
    expect(t.nodes.map((n) => [n.name, n.spec.kind])).toEqual([['r1', 'linux'], ['cam', 'camera'], ['run', 'exec']]);
    expect(t.nodes[0]!.spec.binds).toEqual(['a:b']);
    expect(t.document.mgmt).toEqual({ network: 'x' });
  });

  it('names every problem with its path', () => {
    expect(problems(() => parseTopology(''))).toEqual([{ path: 'payload.topology', message: 'must be a non-empty YAML string' }]);
    expect(problems(() => parseTopology(42))).toHaveLength(1);
    expect(problems(() => parseTopology('name: [unclosed'))[0]!.message).toMatch(/^YAML .*line 1/);
    expect(problems(() => parseTopology('a: 1\na: 2\n'))[0]!.message).toContain('unique');
    expect(problems(() => parseTopology('- just\n- a list\n'))).toEqual([{ path: 'payload.topology', message: 'Expected object, received array' }]);
    const d = problems(() => parseTopology('name: "bad name"\ntopology:\n  nodes:\n    "a/b": {kind: exec, cmd: "ls -l"}\n    c: {kind: camera}\n    d: {kind: BIG}\n    e: {image: x}\n'));
    expect(d).toEqual(
      expect.arrayContaining([
        { path: 'payload.topology.name', message: expect.stringContaining('letters, digits') },
        { path: 'payload.topology.topology.nodes.a/b.cmd', message: 'exec nodes need cmd as a list: the program and its arguments (no shell)' },
        { path: 'payload.topology.topology.nodes.c.camera', message: 'camera nodes need the id of a camera' },
        { path: 'payload.topology.topology.nodes.d.kind', message: 'must be lower-case letters, digits, _ -' },
        { path: 'payload.topology.topology.nodes.e.kind', message: 'Required' },
        { path: 'payload.topology.topology.nodes.a/b', message: expect.stringContaining('node names must be') },
      ]),
    );
    expect(problems(() => parseTopology('name: x\ntopology: {nodes: {}}\n'))).toEqual([{ path: 'payload.topology.topology.nodes', message: 'must define at least one node' }]);
    expect(problems(() => parseTopology('name: x\ntopology:\n  nodes:\n    __proto__: {kind: exec, cmd: [a]}\n'))[0]!.message).toContain('not allowed');
  });

  it('refuses alias bombs instead of expanding them', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    expect(problems(() => parseTopology(bomb))[0]!.message).toMatch(/^YAML/);
  });
});

describe('LogRing', () => {
  it('keeps the newest lines, oldest first, and clips long lines', () => {
    const ring = new LogRing(3);
    for (const l of ['a', 'b', 'c', 'd']) ring.push(l);
    expect(ring.snapshot()).toEqual(['b', 'c', 'd']);
    expect(ring.push('x'.repeat(MAX_LINE_LENGTH + 10)).length).toBe(MAX_LINE_LENGTH + 1);
    ring.clear();
    expect(ring.snapshot()).toEqual([]);
  });
});

describe('onLines', () => {
  it('splits chunks into lines, joins split characters, and cuts endless lines', async () => {
    const { PassThrough } = await import('node:stream');
    const { onLines } = await import('../../src/services/labs/runtimes/lines.js');
    const stream = new PassThrough();
    const lines: string[] = [];
    onLines(stream, (l) => lines.push(l), 8);
    const euro = Buffer.from('€');
    stream.write('one\r\ntw');
    stream.write(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)]));
    stream.write(Buffer.concat([euro.subarray(1), Buffer.from('\n0123456789abcdefXY')]));
    stream.end('Z');
    await new Promise((r) => stream.once('end', r));
    expect(lines).toEqual(['one', 'two €', '01234567', '89abcdef', 'XYZ']);
  });
});

describe('Scheduler', () => {
  it('fires at the time, chains waits longer than setTimeout allows, and cancels', () => {
    vi.useFakeTimers();
    try {
      const s = new Scheduler();
      const fired: string[] = [];
      s.at('soon', Date.now() + 1000, () => fired.push('soon'));
      s.at('far', Date.now() + 40 * 86_400_000, () => fired.push('far'));
      s.at('cancelled', Date.now() + 500, () => fired.push('cancelled'));
      s.cancel('cancelled');
      vi.advanceTimersByTime(1000);
      expect(fired).toEqual(['soon']);
      vi.advanceTimersByTime(30 * 86_400_000);
      expect(fired).toEqual(['soon']);
      vi.advanceTimersByTime(10 * 86_400_000);
      expect(fired).toEqual(['soon', 'far']);
      s.at('x', Date.now() + 10, () => fired.push('x'));
      s.cancelAll();
      vi.advanceTimersByTime(100);
      expect(fired).toEqual(['soon', 'far']);
    } finally {
      vi.useRealTimers();
    }
  });
});

function handle(labId = 'lab-1'): LabHandle & { lines: [string | null, string][]; exits: [string, string, boolean][]; pids: Map<string, number | null> } {
  const lines: [string | null, string][] = [];
  const exits: [string, string, boolean][] = [];
  const pids = new Map<string, number | null>();
  return {
    labId,
    topology: parseTopology('name: t\ntopology:\n  nodes:\n    n: {kind: exec, cmd: [x]}\n'),
    lines,
    exits,
    pids,
    log: (node, line) => lines.push([node, line]),
    nodeExited: (node, reason, failed) => exits.push([node, reason, failed]),
    nodeProcess: (node, pid) => pids.set(node, pid),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};


describe('ExecRuntime', () => {
  const node = (name: string, script: string) => ({ name, spec: { kind: 'exec', cmd: [process.execPath, '-e', script] } });

  it('is refused unless allowed', async () => {
    const rt = new ExecRuntime({ allowed: false });
    await expect(rt.start(handle(), [node('n', '')])).rejects.toMatchObject({ kind: 'runtime', message: expect.stringContaining('labs.allow_exec') });
  });

  it('turns stdout and stderr lines into the node log and passes no secrets in the environment', async () => {
    process.env.SWITCHBOARD_TEST_SECRET = 'hunter2';
    const rt = new ExecRuntime({ allowed: true });
    const h = handle();
    try {
      await rt.start(h, [{ name: 'n', spec: { kind: 'exec', cmd: [process.execPath, '-e', "console.log('out ' + (process.env.SWITCHBOARD_TEST_SECRET ?? 'none'));console.error('err ' + process.env.MINE)"], env: { MINE: 'yes' } } }]);
      await until('the node to exit', () => h.exits.length === 1, 10_000);
      expect(h.lines.filter(([n]) => n === 'n').map(([, l]) => l).sort()).toEqual(['err yes', 'out none']);
      expect(h.exits).toEqual([['n', 'exited with code 0', false]]);
      expect(h.pids.get('n')).toBeNull();
    } finally {
      delete process.env.SWITCHBOARD_TEST_SECRET;
    }
  });

  it('reports a process that dies as failed', async () => {
    const rt = new ExecRuntime({ allowed: true });
    const h = handle();
    await rt.start(h, [node('n', 'process.exit(3)')]);
    await until('the node to exit', () => h.exits.length === 1, 10_000);
    expect(h.exits).toEqual([['n', 'exited with code 3', true]]);
  });

  it('kills a process that ignores SIGTERM with SIGKILL, and shutdown leaves nothing behind', async () => {
    const rt = new ExecRuntime({ allowed: true, killGraceMs: 300 });
    const h = handle();
    const stubborn = "process.on('SIGTERM',()=>console.log('ignoring'));console.log('ready');setTimeout(()=>process.exit(0),60000)";
    await rt.start(h, [node('a', stubborn), node('b', stubborn)]);
    await until('both nodes ready', () => h.lines.filter(([, l]) => l === 'ready').length === 2, 10_000);
    const pidA = h.pids.get('a')!;
    const pidB = h.pids.get('b')!;
    await rt.stop(h, [{ name: 'a', spec: { kind: 'exec' } }]);
    expect(alive(pidA)).toBe(false);
    expect(alive(pidB)).toBe(true);
    await rt.shutdown();
    expect(alive(pidB)).toBe(false);
    expect(h.exits).toEqual([]);
  });

  it('fails clearly when the program does not exist', async () => {
    const rt = new ExecRuntime({ allowed: true });
    await expect(rt.start(handle(), [{ name: 'n', spec: { kind: 'exec', cmd: ['/no/such/binary'] } }])).rejects.toMatchObject({ kind: 'runtime', message: 'Node n: cannot start /no/such/binary: ENOENT' });
  });
});

describe('process identity', () => {
  it('reads start times and kills only the same process', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', 'setTimeout(()=>{},60000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const start = processStartTime(child.pid!);
    expect(start).toMatch(/^\d+$/);
    expect(killIfSame(child.pid!, 'not-the-start-time')).toBe(false);
    expect(alive(child.pid!)).toBe(true);
    const exited = new Promise((r) => child.once('exit', (_c, sig) => r(sig)));
    expect(killIfSame(child.pid!, start!)).toBe(true);
    expect(await exited).toBe('SIGKILL');
    expect(processStartTime(2 ** 22 + 7)).toBeNull();
    expect(killIfSame(1, '1')).toBe(false);
  });
});

describe('CameraRuntime', () => {
  it('fails with a clear runtime error for a camera that does not exist, demanding nothing', async () => {
    const demanded: string[] = [];
    const rt = new CameraRuntime({ get: () => undefined, addDemand: (id) => void demanded.push(id), removeDemand: () => undefined });
    await expect(rt.start(handle(), [{ name: 'eye', spec: { kind: 'camera', camera: 'c1' } }])).rejects.toMatchObject({
      kind: 'runtime',
      message: 'Node eye: camera c1 does not exist',
    });
    expect(demanded).toEqual([]);
  });
});

describe('ContainerlabRuntime', () => {
  it('handles every kind except the native ones, and says when containerlab is not installed', async () => {
    const rt = new ContainerlabRuntime({ labsDir: '/tmp/switchboard-labs-test', binary: 'containerlab-not-installed-here' });
    expect(rt.handles('linux')).toBe(true);
    expect(rt.handles('exec')).toBe(false);
    expect(rt.handles('camera')).toBe(false);
    await expect(rt.start(handle(), [{ name: 'r1', spec: { kind: 'linux' } }])).rejects.toMatchObject({ kind: 'runtime', message: expect.stringContaining('containerlab is not installed') });
    expect(findOnPath('node')).toMatch(/node$/);
    expect(findOnPath('definitely-not-a-program-xyz')).toBeNull();
  });
});

describe('status messages', () => {
  const user: Actor = { kind: 'user', userId: 'u1', username: 'u', role: 'user' };
  const other: Actor = { kind: 'user', userId: 'u2', username: 'o', role: 'user' };

  it('publishes on the bus with an RFC 3339 timestamp and keeps recent messages per audience', () => {
    const bus = new EventBus();
    const events: DomainEvent[] = [];
    bus.subscribe(events, (e) => events.push(e), ['statusMessage']);
    const svc = new StatusMessagesService(bus, undefined, 2);
    const m = svc.publish({ source: 'lab x', content: 'Lab x deployed', severity: 0, audience: { kind: 'user', userId: 'u1' } });
    expect(m).toEqual({ id: expect.any(String), timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), source: 'lab x', content: 'Lab x deployed', logContent: 'Lab x deployed', severity: 0 });
    expect(events[0]).toMatchObject({ domain: 'statusMessage', event: 'published', details: { message: m } });
    svc.publish({ source: 's', content: 'for admins', severity: 3, audience: { kind: 'admins' } });
    expect(svc.recent(user).map((x) => x.content)).toEqual(['Lab x deployed']);
    expect(svc.recent(other)).toEqual([]);
    expect(svc.recent(SYSTEM_ACTOR).map((x) => x.content)).toEqual(['Lab x deployed', 'for admins']);
    svc.publish({ source: 's', content: 'third', severity: 1 });
    expect(svc.recent(SYSTEM_ACTOR).map((x) => x.content)).toEqual(['for admins', 'third']);
  });

  it('turns credentials:unauthenticated and monitor:offline into warnings, and stops listening on stop', async () => {
    const bus = new EventBus();
    const svc = new StatusMessagesService(bus);
    const sources = new StatusMessageSources(bus, svc);
    await sources.start();
    bus.publish('credentials', 'c1', 'unauthenticated', { description: 'c1', error: 'invalid_grant' });
    bus.publish('monitor', 'm1', 'offline', { monitor_id: 'mon-a', name: 'mon-a', reason: 'ping timeout' });
    bus.publish('monitor', 'm1', 'online', { monitor_id: 'mon-a' });
    expect(svc.recent(SYSTEM_ACTOR).map((m) => [m.source, m.content, m.severity])).toEqual([
      ['credentials', 'Credential "c1" needs to be re-authenticated', 2],
      ['monitors', 'Monitor "mon-a" went offline', 2],
    ]);
    expect(svc.recent(user).map((m) => m.source)).toEqual(['monitors']);
    await sources.stop();
    bus.publish('monitor', 'm1', 'offline', { monitor_id: 'mon-a', name: 'mon-a', reason: 'ping timeout' });
    expect(svc.recent(SYSTEM_ACTOR)).toHaveLength(2);
  });
});

describe('Antimony error codes', () => {
  it('maps domain errors to the document codes', () => {
    expect(toAntimonyError(runtimeError('boom'))).toEqual({ code: 5001, message: 'boom' });
    expect(toAntimonyError(conflict('busy'))).toEqual({ code: 5002, message: 'busy' });
    expect(toAntimonyError(validationError('Invalid request', [{ path: 'node', message: 'required' }]))).toEqual({ code: 5422, message: 'Invalid request: node required' });
    expect(toAntimonyError(notFound('Lab'))).toEqual({ code: 5404, message: 'Lab not found' });
    expect(toAntimonyError(forbidden('no'))).toEqual({ code: 5403, message: 'no' });
    expect(toAntimonyError(new Error('secret internals'))).toEqual({ code: 5001, message: 'Internal error' });
  });
});
