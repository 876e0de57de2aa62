// A bounded backlog of log lines: the newest `capacity` lines, oldest first.

export const MAX_LINE_LENGTH = 4096;

export class LogRing {
  private readonly lines: string[] = [];

  constructor(private readonly capacity = 1000) {}

  push(line: string): string {
    const clipped = line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line;
    this.lines.push(clipped);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
    return clipped;
  }

  snapshot(): string[] {
    return this.lines.slice();
  }

  clear(): void {
    this.lines.length = 0;
  }
}
