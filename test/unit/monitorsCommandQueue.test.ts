import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandQueue, type CommandOutcome, type ReplySink } from '../../src/services/monitors/commandQueue.js';

function setup(timeoutMs = 1000) {
  const delivered: string[] = [];
  const settled: [string, CommandOutcome][] = [];
  const replies: string[] = [];
  const queue = new CommandQueue((c) => delivered.push(c), timeoutMs, (cmd, outcome) => {
    settled.push([cmd.command, outcome]);
    if (outcome.ok) cmd.sink.finish();
    else cmd.sink.fail(outcome.reason);
  });
  const sink = (name: string): ReplySink => ({ finish: () => replies.push(`${name} finish`), fail: (r) => replies.push(`${name} failed ${r}`) });
  const push = (command: string) => queue.push({ command, by: 'test', sink: sink(command) });
  return { queue, delivered, settled, replies, push };
}

describe('CommandQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hands the monitor one command at a time, first in first out', () => {
    const { queue, delivered, replies, push } = setup();
    push('a');
    push('b');
    push('c');
    expect(delivered).toEqual(['a']);
    expect(queue.size).toBe(3);
    expect(queue.settleCurrent({ ok: true })).toBe(true);
    expect(delivered).toEqual(['a', 'b']);
    expect(queue.settleCurrent({ ok: false, reason: 'nope' })).toBe(true);
    expect(queue.settleCurrent({ ok: true })).toBe(true);
    expect(replies).toEqual(['a finish', 'b failed nope', 'c finish']);
    expect(queue.size).toBe(0);
  });

  it('ignores an answer when no command is at the monitor', () => {
    const { queue, settled } = setup();
    expect(queue.settleCurrent({ ok: true })).toBe(false);
    expect(settled).toEqual([]);
  });

  it('times out the command at the monitor and then sends the next one', () => {
    const { delivered, replies, push } = setup(1000);
    push('slow');
    vi.advanceTimersByTime(500);
    push('next');
    vi.advanceTimersByTime(500);
    expect(replies).toEqual(['slow failed timeout']);
    expect(delivered).toEqual(['slow', 'next']);
    vi.advanceTimersByTime(500);
    expect(replies).toEqual(['slow failed timeout', 'next failed timeout']);
  });

  it('times out a waiting command without ever sending it', () => {
    const { queue, delivered, replies, push } = setup(1000);
    push('first');
    vi.advanceTimersByTime(900);
    push('waiting');
    expect(queue.settleCurrent({ ok: true })).toBe(true);
    expect(delivered).toEqual(['first', 'waiting']);
    push('third');
    vi.advanceTimersByTime(1000);
    expect(replies).toEqual(['first finish', 'waiting failed timeout', 'third failed timeout']);
    expect(delivered).toEqual(['first', 'waiting', 'third']);
  });

  it('failAll fails everything once and clears the timers', () => {
    const { queue, replies, push } = setup(1000);
    push('a');
    push('b');
    queue.failAll('Monitor disconnected');
    vi.advanceTimersByTime(5000);
    expect(replies).toEqual(['a failed Monitor disconnected', 'b failed Monitor disconnected']);
    expect(queue.settleCurrent({ ok: true })).toBe(false);
  });
});
