// Shared helpers for the Antimony integration tests: real socket.io-client connections and labs
// created over the real HTTP API.
import { io as connectIo, type Socket } from 'socket.io-client';
import type { ApiReply, TestApp } from '../helpers/testApp.js';

export interface ConnectError {
  message: string;
  data?: { code?: number };
}

/** Connects to a namespace; resolves with the socket, or with the connect_error. */
export function connect(t: TestApp, ns: string, token?: string): Promise<{ socket: Socket; error?: undefined } | { socket?: undefined; error: ConnectError }> {
  const socket = connectIo(`${t.url}${ns}`, { auth: token === undefined ? {} : { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  // The server emits right on connection (backlog, greeting): listen before the connect resolves.
  const data: unknown[] = [];
  socket.on('data', (v: unknown) => data.push(v));
  received.set(socket, {
    data,
    backlog: new Promise((resolve) => socket.once('backlog', resolve)),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`connect to ${ns} timed out`));
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once('connect_error', (err: Error & { data?: { code?: number } }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ error: { message: err.message, data: err.data } });
    });
  });
}

const received = new WeakMap<Socket, { data: unknown[]; backlog: Promise<string[]> }>();

/** Every `data` payload the socket received since it was created. */
export function dataOf<T = unknown>(socket: Socket): T[] {
  return received.get(socket)!.data as T[];
}

/** The `backlog` the socket received on connect. */
export function backlogOf(socket: Socket): Promise<string[]> {
  return received.get(socket)!.backlog;
}

export async function connected(t: TestApp, ns: string, token: string, sockets: Socket[]): Promise<Socket> {
  const r = await connect(t, ns, token);
  if (!r.socket) throw new Error(`connect to ${ns} refused: ${r.error.message}`);
  sockets.push(r.socket);
  return r.socket;
}

export async function refused(t: TestApp, ns: string, token?: string): Promise<ConnectError> {
  const r = await connect(t, ns, token);
  if (r.socket) {
    r.socket.close();
    throw new Error(`connect to ${ns} was accepted`);
  }
  return r.error;
}

export type Ack = { payload: unknown } | { code: number; message: string };

export function command(socket: Socket, data: unknown): Promise<Ack> {
  return socket.timeout(15_000).emitWithAck('data', data) as Promise<Ack>;
}

export function api(t: TestApp, token: string, method: string, path: string, body?: unknown): Promise<ApiReply> {
  return t.api(method, `/api/${path}`, token, body);
}

export interface LabView {
  id: string;
  name: string;
  owner: string;
  state: number;
  nodes: { name: string; kind: string; state: number }[];
  startTime: string | null;
  endTime: string | null;
}

export async function createLab(t: TestApp, token: string, topology: string, extra: Record<string, unknown> = {}): Promise<LabView> {
  const r = await api(t, token, 'POST', 'labs', { topology, ...extra });
  if (r.status !== 201) throw new Error(`create lab failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as unknown as LabView;
}

export async function readLab(t: TestApp, token: string, id: string): Promise<LabView> {
  const r = await api(t, token, 'GET', `labs/${id}`);
  if (r.status !== 200) throw new Error(`read lab failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as unknown as LabView;
}

/** A node that prints numbered lines every `everyMs` and keeps running (for at most two minutes). */
export function tickerNode(name: string, prefix: string, everyMs = 100): string {
  const script = `let i=0;console.log('${prefix} start');setInterval(()=>console.log('${prefix} '+(++i)),${everyMs});setTimeout(()=>process.exit(0),120000);process.on('SIGTERM',()=>{console.log('${prefix} bye');process.exit(0)})`;
  return `    ${name}:\n      kind: exec\n      cmd: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}]\n`;
}

export function topology(name: string, nodes: string): string {
  return `name: ${name}\ntopology:\n  nodes:\n${nodes}`;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
