// Every child process starts here: a failed spawn (a missing or non-executable binary) emits an
// 'error' event, and an 'error' event nobody listens to ends the whole process. Spawning through
// `spawnChild` attaches the listener before anything can be emitted, so no caller can forget it.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** What went wrong, in words an operator can act on (`spawn ffmpeg ENOENT` → "not found"). */
export function describeSpawnError(command: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `${command} was not found`;
    case 'EACCES':
    case 'EPERM':
      return `${command} is not executable`;
    default:
      return `${command} could not be started (${err.code ?? err.message})`;
  }
}

/**
 * Spawns `command` without a shell. `onError` hears every 'error' the child emits: a spawn failure
 * (followed by 'close' with a negative code), or a later failed kill or signal.
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions, onError: (err: NodeJS.ErrnoException, words: string) => void): ChildProcess {
  const child = spawn(command, args, { ...options, shell: false });
  child.on('error', (err: NodeJS.ErrnoException) => onError(err, describeSpawnError(command, err)));
  return child;
}
