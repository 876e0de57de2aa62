// Splits ffmpeg's `-f mjpeg` byte stream into whole JPEG frames (SOI 0xFFD8 … EOI 0xFFD9).
// Inside entropy-coded data every 0xFF is stuffed (0xFF00), so 0xFFD9 only ever marks the end.
const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

/** Frames larger than this are treated as garbage and dropped (protects memory). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class JpegFrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFrame = false;
  /** A trailing 0xFF outside a frame: the first half of an SOI split across chunks. */
  private carry = false;

  /** Feeds a chunk; calls onFrame for each complete frame it closes. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let buf = this.carry ? Buffer.concat([Buffer.from([0xff]), chunk]) : chunk;
    this.carry = false;
    while (buf.length) {
      if (!this.inFrame) {
        const start = buf.indexOf(SOI);
        if (start < 0) {
          this.carry = buf[buf.length - 1] === 0xff;
          return;
        }
        buf = buf.subarray(start);
        this.inFrame = true;
        this.pending = [];
        this.pendingBytes = 0;
      }
      // Look for EOI, including one split across the previous chunk's last byte.
      const tail = this.pending.length ? this.pending[this.pending.length - 1]! : null;
      if (tail && tail[tail.length - 1] === 0xff && buf[0] === 0xd9) {
        this.take(buf.subarray(0, 1));
        onFrame(this.finish());
        buf = buf.subarray(1);
        continue;
      }
      const end = buf.indexOf(EOI, this.pending.length ? 0 : 2);
      if (end < 0) {
        this.take(buf);
        if (this.pendingBytes > MAX_FRAME_BYTES) this.inFrame = false;
        return;
      }
      this.take(buf.subarray(0, end + 2));
      onFrame(this.finish());
      buf = buf.subarray(end + 2);
    }
  }

  private take(part: Buffer): void {
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finish(): Buffer {
    const frame = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.inFrame = false;
    return frame;
  }
}

/** Width and height from a JPEG's SOF marker, or null if none is found. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1]!;
    const len = jpeg.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return null;
}
