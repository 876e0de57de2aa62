// An ingress-like reverse proxy for tests: what Home Assistant (Core + Supervisor) does in front of an
// add-on's ingress port. Requests under `/api/hassio_ingress/<token>` are forwarded with that prefix
// stripped, `X-Ingress-Path` set, client-sent X-Remote-User-* dropped and the signed-in HA user's
// X-Remote-User-* added (supervisor/api/ingress.py `_init_header`); WebSocket upgrades are forwarded
// byte for byte. Anything else answers 401 like HA without an ingress session.
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface HaUser {
  id: string;
  name?: string;
  displayName?: string;
}

export interface IngressProxy {
  /** e.g. http://127.0.0.1:PORT/api/hassio_ingress/TOKEN (no trailing slash) */
  url: string;
  /** '/api/hassio_ingress/TOKEN' */
  path: string;
  close(): Promise<void>;
}

const DROP = new Set(['x-remote-user-id', 'x-remote-user-name', 'x-remote-user-display-name', 'x-ingress-path', 'content-length', 'transfer-encoding']);

function forwardHeaders(req: IncomingMessage, ingressPath: string, user: HaUser | null, keepLength: boolean): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (DROP.has(k) && !(keepLength && (k === 'content-length' || k === 'transfer-encoding'))) continue;
    out[k] = v;
  }
  out['x-ingress-path'] = ingressPath;
  out['x-hass-source'] = 'core.ingress';
  out['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  if (user) {
    out['x-remote-user-id'] = user.id;
    if (user.name !== undefined) out['x-remote-user-name'] = user.name;
    if (user.displayName !== undefined) out['x-remote-user-display-name'] = user.displayName;
  }
  return out;
}

/** Starts the proxy on 127.0.0.1 in front of `target` (http://127.0.0.1:PORT). */
export async function startIngressProxy(target: string, user: HaUser | null, token = 'fake-ingress-token-0123456789'): Promise<IngressProxy> {
  const t = new URL(target);
  const prefix = `/api/hassio_ingress/${token}`;
  const inner = (url: string | undefined): string | null => {
    const u = url ?? '/';
    if (u !== prefix && !u.startsWith(`${prefix}/`) && !u.startsWith(`${prefix}?`)) return null;
    const rest = u.slice(prefix.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  };
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const path = inner(req.url);
    if (path === null) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('401: Unauthorized');
      return;
    }
    const upstream = request(
      { host: t.hostname, port: t.port, method: req.method, path, headers: forwardHeaders(req, prefix, user, true) },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('502: Bad Gateway');
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const path = inner(req.url);
    if (path === null) {
      client.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    const up = connect(Number(t.port), t.hostname, () => {
      const headers = forwardHeaders(req, prefix, user, false);
      const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) lines.push(`${k}: ${one}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up).add(client);
    const drop = () => {
      up.destroy();
      client.destroy();
    };
    up.on('error', drop);
    client.on('error', drop);
    up.on('close', () => sockets.delete(up));
    client.on('close', () => sockets.delete(client));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    path: prefix,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
