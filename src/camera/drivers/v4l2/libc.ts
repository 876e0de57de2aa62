// Why koffi: it calls libc's open/close/ioctl directly from JavaScript with prebuilt binaries that
// ship inside its registry packages (glibc and musl builds, so the Alpine-based add-on image works
// too). `npm ci` needs no compiler, no node-gyp and no download step; a small N-API addon would.
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import koffi from 'koffi';
import { CameraDriverError, type DriverErrorCode } from '../../driver.js';

// dlopen(NULL): the libc node itself is linked against, whatever its file name (glibc or musl).
const libc = koffi.load(null);
const cOpen = libc.func('int open(const char *path, int flags, ...)');
const cClose = libc.func('int close(int fd)');
const cIoctl = libc.func('int ioctl(int fd, unsigned long request, ...)');

// Node does not export O_CLOEXEC; this is its value on every Linux architecture we target.
const O_CLOEXEC = 0o2000000;
const OPEN_FLAGS = fsConstants.O_RDWR | fsConstants.O_NONBLOCK | O_CLOEXEC;

const KNOWN_CODES = new Set<DriverErrorCode>(['EINVAL', 'EBUSY', 'ERANGE', 'ENODEV', 'ENOENT', 'EACCES', 'EPERM', 'EIO', 'ENOTTY', 'EAGAIN']);
const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** Maps an errno to the driver's typed code; the kernel's own name stays in the message. */
export function errnoToCode(errno: number): DriverErrorCode {
  const name = errnoNames.get(errno) ?? '';
  if (KNOWN_CODES.has(name as DriverErrorCode)) return name as DriverErrorCode;
  // ENXIO is what some drivers return after an unplug; treat it as gone like ENODEV.
  if (name === 'ENXIO') return 'ENODEV';
  return 'EUNKNOWN';
}

export function errnoError(errno: number, op: string, path: string): CameraDriverError {
  const name = errnoNames.get(errno) ?? `errno ${errno}`;
  return new CameraDriverError(errnoToCode(errno), op, path, `${op} on ${path} failed: ${name}`);
}

const EINTR = osConstants.errno.EINTR;

export function openDevice(path: string): number {
  for (;;) {
    const fd = cOpen(path, OPEN_FLAGS) as number;
    if (fd >= 0) return fd;
    const errno = koffi.errno();
    if (errno !== EINTR) throw errnoError(errno, 'open', path);
  }
}

export function closeDevice(fd: number): void {
  // close() must not be retried on EINTR on Linux: the descriptor is released either way.
  cClose(fd);
}

/** Issues an ioctl whose argument is `arg` (the kernel reads and writes it in place). Returns errno, 0 on success. */
export function ioctl(fd: number, request: number, arg: Buffer): number {
  for (;;) {
    const result = cIoctl(fd, request, 'void *', arg) as number;
    if (result >= 0) return 0;
    const errno = koffi.errno();
    if (errno !== EINTR) return errno;
  }
}

export const ERRNO = { EINVAL: osConstants.errno.EINVAL, ENOTTY: osConstants.errno.ENOTTY } as const;
