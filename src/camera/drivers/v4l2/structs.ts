// Buffer <-> struct helpers over koffi's C-layout types: every ioctl argument is a zeroed Buffer
// of the struct's exact size that the kernel reads and writes in place.
import koffi from 'koffi';

type StructType = ReturnType<typeof koffi.struct>;

export function encodeStruct(type: StructType, value: Record<string, unknown>): Buffer {
  const buffer = Buffer.alloc(koffi.sizeof(type));
  koffi.encode(buffer, 0, type, value);
  return buffer;
}

export function decodeStruct<T>(buffer: Buffer, type: StructType): T {
  return koffi.decode(buffer, type) as T;
}

/** Reads one member of a union (or any field path) at its offset inside `type`. */
export function decodeAt<T>(buffer: Buffer, type: StructType, member: string, memberType: StructType | string, extraOffset = 0): T {
  return koffi.decode(buffer, koffi.offsetof(type, member) + extraOffset, memberType) as T;
}

export function encodeAt(buffer: Buffer, type: StructType, member: string, memberType: StructType | string, value: unknown, extraOffset = 0): void {
  koffi.encode(buffer, koffi.offsetof(type, member) + extraOffset, memberType, value);
}

/** 64-bit integers come back as bigint when they exceed 2^53; the driver contract uses numbers. */
export function toNumber(value: number | bigint): number {
  if (typeof value === 'number') return value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (value < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(value);
}

/** Bit 31 marks the big-endian variant of a format; v4l2-ctl prints it as a "-BE" suffix ("Y16 -BE"). */
const FOURCC_BE = 0x80000000;

export function fourccToString(code: number): string {
  const chars = String.fromCharCode(code & 0xff, (code >>> 8) & 0xff, (code >>> 16) & 0xff, (code >>> 24) & 0x7f);
  return (code & FOURCC_BE) !== 0 ? `${chars}-BE` : chars.trimEnd();
}

export function stringToFourcc(fourcc: string): number {
  const bigEndian = fourcc.endsWith('-BE');
  const padded = (bigEndian ? fourcc.slice(0, -3) : fourcc).padEnd(4, ' ');
  const code = padded.charCodeAt(0) | (padded.charCodeAt(1) << 8) | (padded.charCodeAt(2) << 16) | (padded.charCodeAt(3) << 24);
  return (bigEndian ? code | FOURCC_BE : code) >>> 0;
}

/** v4l2-ctl's control key: lowercase alphanumerics, each run of other characters one '_', none at the ends. */
export function controlKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
