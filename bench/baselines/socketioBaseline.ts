// Baseline for the request round trip: a bare socket.io server that answers every `request` on
// the event named by its requestId with a fixed list, as NestMTX would, and nothing else.
// The bench passes Switchboard's own reply (BASELINE_LIST_REPLY), so both send the same bytes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

const items = [{ id: '1', username: 'admin', role: 'admin', can_login: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' }];
const list: unknown = process.env.BASELINE_LIST_REPLY ? JSON.parse(process.env.BASELINE_LIST_REPLY) : { search: null, page: 1, itemsPerPage: 10, sortBy: [], total: 1, items };

const http = createServer();
const io = new Server(http);
io.on('connection', (socket) => {
  socket.on('request', (req: { requestId?: unknown }) => {
    if (typeof req?.requestId === 'string') socket.emit(req.requestId, list);
  });
});
// Exit on SIGTERM, so a `--cpu-prof` profile (BENCH_BASELINE_NODE_ARGS) gets written.
process.on('SIGTERM', () => process.exit(0));
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (http.address() as AddressInfo).port }) + '\n');
});
