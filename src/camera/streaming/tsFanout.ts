// Fans one MPEG-TS byte stream (H.264 from the capture) out to many HTTP clients. Chunks are
// shared, never copied per client. A client starts (and, after falling behind, restarts) at a
// keyframe, preceded by the latest PAT and PMT, so every client's stream is decodable from its
// first byte; a slow client skips to the next keyframe instead of slowing the others.

export const TS_PACKET = 188;
const SYNC = 0x47;
const H264_STREAM_TYPE = 0x1b;
/** A client with more than this much unsent data drops out until the next keyframe. */
export const MAX_CLIENT_BACKLOG = 1024 * 1024;

export interface TsSink {
  write(chunk: Buffer): void;
  /** Bytes written but not yet sent (e.g. an HTTP response's writableLength). */
  backlog(): number;
  /** The stream is over for good (the camera was deleted). */
  end(): void;
}

interface Client {
  synced: boolean;
}

export class TsFanout {
  private readonly clients = new Map<TsSink, Client>();
  private rest: Buffer | null = null;
  private pat: Buffer | null = null;
  private pmt: Buffer | null = null;
  private pmtPid = -1;
  private videoPid = -1;

  get size(): number {
    return this.clients.size;
  }

  add(sink: TsSink): () => void {
    this.clients.set(sink, { synced: false });
    return () => this.clients.delete(sink);
  }

  endAll(): void {
    for (const sink of [...this.clients.keys()]) sink.end();
    this.clients.clear();
  }

  /** The stream restarted (new process): tables and partial packets of the old one are void. */
  reset(): void {
    this.rest = null;
    this.pat = this.pmt = null;
    this.pmtPid = this.videoPid = -1;
    for (const c of this.clients.values()) c.synced = false;
  }

  push(chunk: Buffer): void {
    let data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    if (data.length && data[0] !== SYNC) {
      const at = data.indexOf(SYNC);
      if (at < 0) return;
      data = data.subarray(at);
    }
    const usable = data.length - (data.length % TS_PACKET);
    let runStart = 0;
    for (let off = 0; off < usable; off += TS_PACKET) {
      const pkt = data.subarray(off, off + TS_PACKET);
      if (pkt[0] !== SYNC) {
        // Lost alignment (should not happen on a pipe): drop the rest of this chunk.
        this.send(data.subarray(runStart, off));
        return;
      }
      const pid = ((pkt[1]! & 0x1f) << 8) | pkt[2]!;
      const unitStart = (pkt[1]! & 0x40) !== 0;
      if (!unitStart) continue;
      if (pid === 0) this.readPat(pkt);
      else if (pid === this.pmtPid) this.readPmt(pkt);
      else if (pid === this.videoPid && randomAccess(pkt)) {
        this.send(data.subarray(runStart, off));
        runStart = off;
        this.joinWaiting();
      }
    }
    this.send(data.subarray(runStart, usable));
    if (usable < data.length) this.rest = Buffer.from(data.subarray(usable));
  }

  private send(bytes: Buffer): void {
    if (!bytes.length) return;
    for (const [sink, c] of this.clients) {
      if (!c.synced) continue;
      if (sink.backlog() > MAX_CLIENT_BACKLOG) c.synced = false;
      else sink.write(bytes);
    }
  }

  /** At a keyframe: clients waiting for one get the tables, then everything from here on. */
  private joinWaiting(): void {
    if (!this.pat || !this.pmt) return;
    const tables = Buffer.concat([this.pat, this.pmt]);
    for (const [sink, c] of this.clients) {
      if (c.synced || sink.backlog() > MAX_CLIENT_BACKLOG) continue;
      sink.write(tables);
      c.synced = true;
    }
  }

  private readPat(pkt: Buffer): void {
    const t = section(pkt);
    if (!t || t[0] !== 0x00) return;
    const end = Math.min(t.length, 3 + (((t[1]! & 0x0f) << 8) | t[2]!) - 4);
    for (let i = 8; i + 4 <= end; i += 4) {
      const program = (t[i]! << 8) | t[i + 1]!;
      if (program === 0) continue;
      this.pmtPid = ((t[i + 2]! & 0x1f) << 8) | t[i + 3]!;
      this.pat = Buffer.from(pkt);
      return;
    }
  }

  private readPmt(pkt: Buffer): void {
    const t = section(pkt);
    if (!t || t[0] !== 0x02) return;
    const end = Math.min(t.length, 3 + (((t[1]! & 0x0f) << 8) | t[2]!) - 4);
    let i = 12 + (((t[10]! & 0x0f) << 8) | t[11]!);
    while (i + 5 <= end) {
      const type = t[i]!;
      const pid = ((t[i + 1]! & 0x1f) << 8) | t[i + 2]!;
      if (type === H264_STREAM_TYPE) {
        this.videoPid = pid;
        this.pmt = Buffer.from(pkt);
        return;
      }
      i += 5 + (((t[i + 3]! & 0x0f) << 8) | t[i + 4]!);
    }
  }
}

/** The PSI section a packet starts (after the pointer field), or null. */
function section(pkt: Buffer): Buffer | null {
  let p = 4;
  if (pkt[3]! & 0x20) p += 1 + pkt[4]!;
  if (!(pkt[3]! & 0x10) || p >= TS_PACKET) return null;
  p += 1 + pkt[p]!;
  return p < TS_PACKET ? pkt.subarray(p) : null;
}

/** The adaptation field's random_access_indicator, which ffmpeg sets on keyframes. */
function randomAccess(pkt: Buffer): boolean {
  return (pkt[3]! & 0x20) !== 0 && pkt[4]! > 0 && (pkt[5]! & 0x40) !== 0;
}
