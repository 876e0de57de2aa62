// One monitor's commands, one at a time and first in first out. The Altoponix wire protocol carries
// no command id, so `command done`/`command error` can only mean "the command the monitor is
// working on": handing the monitor a single command at a time keeps every answer attributable.

/** Where a command's outcome goes: the user socket that sent it, or the add-on's own caller. */
export interface ReplySink {
  finish(): void;
  fail(reason: string): void;
}

export interface QueuedCommand {
  command: string;
  /** Who sent it (username, or "switchboard" for the add-on itself), for logs and events. */
  by: string;
  sink: ReplySink;
}

export type CommandOutcome = { ok: true } | { ok: false; reason: string };

interface Entry extends QueuedCommand {
  timer: NodeJS.Timeout;
}

export class CommandQueue {
  private readonly entries: Entry[] = [];
  /** The first entry has been handed to the monitor and awaits its answer. */
  private inFlight = false;

  constructor(
    private readonly deliver: (command: string) => void,
    private readonly timeoutMs: number,
    private readonly onSettled: (cmd: QueuedCommand, outcome: CommandOutcome) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Queues a command; its timeout runs from now, whether it waits in line or at the monitor. */
  push(cmd: QueuedCommand): void {
    const entry: Entry = { ...cmd, timer: setTimeout(() => this.expire(entry), this.timeoutMs) };
    this.entries.push(entry);
    this.next();
  }

  /** The monitor finished the command it was given. False when it had none (a stray answer). */
  settleCurrent(outcome: CommandOutcome): boolean {
    if (!this.inFlight) return false;
    const entry = this.entries.shift()!;
    this.inFlight = false;
    this.settle(entry, outcome);
    this.next();
    return true;
  }

  /** Fails everything (monitor gone, removed, server stopping). */
  failAll(reason: string): void {
    const all = this.entries.splice(0);
    this.inFlight = false;
    for (const entry of all) this.settle(entry, { ok: false, reason });
  }

  private expire(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    // A late answer to an expired command would be taken for the next one's; nothing on the
    // wire can tell them apart, so the next command goes out only now.
    if (i === 0) this.inFlight = false;
    this.settle(entry, { ok: false, reason: 'timeout' });
    this.next();
  }

  private settle(entry: Entry, outcome: CommandOutcome): void {
    clearTimeout(entry.timer);
    this.onSettled({ command: entry.command, by: entry.by, sink: entry.sink }, outcome);
  }

  private next(): void {
    if (this.inFlight || this.entries.length === 0) return;
    this.inFlight = true;
    this.deliver(this.entries[0]!.command);
  }
}
