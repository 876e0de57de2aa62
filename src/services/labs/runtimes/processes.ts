// Linux process identity: a pid alone can be reused, so a leftover process is only killed when its
// kernel start time (field 22 of /proc/<pid>/stat) still matches the one recorded when it started.
import { readFileSync } from 'node:fs';

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: count fields after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Kills a recorded process if, and only if, it is still the same process. Returns whether it did. */
export function killIfSame(pid: number, start: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  if (processStartTime(pid) !== start) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
