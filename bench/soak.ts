// Soak: rounds of churn against one running server — NestMTX (Socket.IO) and Rotoclear (ws)
// clients connecting, asking once and leaving, and MJPEG readers demanding a stream and releasing
// it — for a fixed time, reporting the server's RSS and V8 heap (GET /api/health) every minute.
// Heap is read after every round and the minute's lowest reading kept: a single reading lands at a
// random point between collections and mostly measures garbage not yet collected.
import { performance } from 'node:perf_hooks';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';

const BATCH = 50;
const STREAM_READERS_PER_ROUND = 3;

export interface SoakSample {
  minute: number;
  rssMb: number;
  heapMb: number;
  rounds: number;
  connections: number;
  failures: number;
}

async function nestmtxClient(port: number, token: string): Promise<void> {
  const s = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { token }, forceNew: true, reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('soak', (reply: { error?: unknown }) => (reply.error ? reject(new Error('request failed')) : resolve()));
      s.emit('request', { command: 'list', module: 'cameras', requestId: 'soak' });
    });
  } finally {
    s.close();
  }
}

async function rotoclearClient(port: number, token: string): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1`, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const answered = (key: string) =>
      new Promise<void>((resolve, reject) => {
        const onMessage = (data: WebSocket.RawData) => {
          const text = String(data);
          if (text.includes(`"${key}"`)) {
            ws.off('message', onMessage);
            resolve();
          }
        };
        ws.on('message', onMessage);
        ws.once('close', () => reject(new Error('closed')));
      });
    const authenticated = answered('authenticated');
    ws.send(JSON.stringify({ token }));
    await authenticated;
    const reply = answered('brightness');
    ws.send(JSON.stringify({ get: ['brightness'] }));
    await reply;
  } finally {
    ws.close();
  }
}

/** Demands the stream, waits for its first bytes of a frame, and releases it. */
async function streamReader(port: number, token: string, cameraId: string): Promise<void> {
  const abort = new AbortController();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/cameras/${cameraId}/stream.mjpeg?token=${encodeURIComponent(token)}`, { signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) if (chunk.length) break;
  } finally {
    abort.abort();
  }
}

async function health(port: number): Promise<{ rss_mb: number; heap_used_mb: number }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/health`);
  return ((await r.json()) as { memory: { rss_mb: number; heap_used_mb: number } }).memory;
}

export async function soak(opts: { port: number; token: string; cameraId: string; minutes: number; perRound: number; onSample: (s: SoakSample) => void }): Promise<SoakSample[]> {
  const samples: SoakSample[] = [];
  const start = performance.now();
  const end = start + opts.minutes * 60_000;
  let rounds = 0;
  let connections = 0;
  let failures = 0;
  let heapLow = Number.POSITIVE_INFINITY;
  const reading = async () => {
    const m = await health(opts.port);
    heapLow = Math.min(heapLow, m.heap_used_mb);
    return m;
  };
  const sample = async (minute: number) => {
    const m = await reading();
    const s = { minute, rssMb: m.rss_mb, heapMb: heapLow, rounds, connections, failures };
    heapLow = Number.POSITIVE_INFINITY;
    samples.push(s);
    opts.onSample(s);
  };
  await sample(0);
  let nextMinute = 1;
  while (performance.now() < end) {
    const jobs: (() => Promise<void>)[] = [];
    for (let i = 0; i < opts.perRound; i++) jobs.push(i % 2 ? () => nestmtxClient(opts.port, opts.token) : () => rotoclearClient(opts.port, opts.token));
    for (let i = 0; i < STREAM_READERS_PER_ROUND; i++) jobs.push(() => streamReader(opts.port, opts.token, opts.cameraId));
    for (let i = 0; i < jobs.length; i += BATCH) {
      const results = await Promise.allSettled(jobs.slice(i, i + BATCH).map((job) => job()));
      failures += results.filter((r) => r.status === 'rejected').length;
    }
    connections += jobs.length;
    rounds++;
    await reading();
    if (performance.now() >= start + nextMinute * 60_000) {
      await sample(nextMinute);
      nextMinute++;
    }
  }
  if (samples.at(-1)!.minute < opts.minutes) await sample(opts.minutes);
  return samples;
}

/**
 * Growth over the last third, as the mean of the last third of the per-minute samples against the
 * mean of the third before it, in percent. Minute 0 (idle, before any load) is left out, and means
 * rather than two single readings: one RSS reading after heavy churn swings by ±20 % with whatever
 * the allocator has not yet returned.
 */
export function lastThirdGrowthPct(values: number[]): { pct: number; fromMb: number; toMb: number } {
  const loaded = values.slice(1);
  const third = Math.floor(loaded.length / 3);
  if (third < 1) return { pct: Number.NaN, fromMb: Number.NaN, toMb: Number.NaN };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fromMb = mean(loaded.slice(-2 * third, -third));
  const toMb = mean(loaded.slice(-third));
  return { pct: ((toMb - fromMb) / fromMb) * 100, fromMb, toMb };
}
