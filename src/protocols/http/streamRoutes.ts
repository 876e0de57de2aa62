// HTTP adapter for streams: MJPEG (multipart/x-mixed-replace), snapshots and signed stream URLs.
// Authenticated by bearer header, `?token=` (for <img> tags, which cannot send headers) or a
// short-lived signed URL (for Home Assistant's MJPEG camera integration).
import type { Request, Response, Router } from 'express';
import type { AuthService } from '../../auth/authService.js';
import { hasRole } from '../../auth/records.js';
import { forbidden, unauthorized, validationError } from '../../core/errors.js';
import type { EventBus } from '../../core/eventBus.js';
import { newId } from '../../core/ids.js';
import type { StreamService } from '../../camera/streaming/streamService.js';
import { bearerFrom, sendError } from './httpApi.js';

const BOUNDARY = 'switchboardframe';
/** A reader with more than this much unsent data skips frames instead of queueing them. */
const MAX_BUFFERED_BYTES = 512 * 1024;

export interface StreamRouteDeps {
  auth: AuthService;
  streams: StreamService;
  /** To end a stream cleanly when its camera is unplugged (the reader may reconnect once it is back). */
  bus: EventBus;
}

export function mountStreamRoutes(router: Router, { auth, streams, bus }: StreamRouteDeps): void {
  const allowed = (req: Request): boolean => {
    const q = req.query as Record<string, unknown>;
    if (streams.verifySignedPath(req.path, q.exp, q.sig)) return true;
    const token = bearerFrom(req.headers.authorization) ?? (typeof q.token === 'string' ? q.token : undefined);
    return auth.authenticate(token) !== null;
  };

  router.get('/api/cameras/:id/stream.mjpeg', (req: Request, res: Response) => {
    if (!allowed(req)) return sendError(res, unauthorized());
    const id = String(req.params.id);
    let detach: (() => void) | null = null;
    try {
      detach = streams.attachReader(id, { type: 'http', id: newId() }, (frame) => {
        if (res.writableLength > MAX_BUFFERED_BYTES) return;
        res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`);
        res.write(frame);
        res.write('\r\n');
      });
    } catch (err) {
      return sendError(res, err);
    }
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-store, no-cache, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    const stopWatching = bus.subscribe((e) => {
      if (e.entity === id && e.event === 'disconnected') res.end(`--${BOUNDARY}--\r\n`);
    }, ['camera']);
    const end = () => {
      stopWatching();
      detach?.();
      detach = null;
    };
    res.on('close', end);
    req.on('aborted', end);
  });

  router.get('/api/cameras/:id/snapshot.jpg', async (req: Request, res: Response) => {
    if (!allowed(req)) return sendError(res, unauthorized());
    try {
      const snap = await streams.snapshot(String(req.params.id));
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': snap.jpeg.length, 'Cache-Control': 'no-store' });
      res.end(snap.jpeg);
    } catch (err) {
      sendError(res, err);
    }
  });

  // Signed URLs: POST {path: "stream.mjpeg"|"snapshot.jpg", ttl_seconds?} → {url}
  router.post('/api/cameras/:id/signed-url', (req: Request, res: Response) => {
    const actor = auth.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    if (!hasRole(actor, 'viewer')) return sendError(res, forbidden());
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kind = body.path ?? 'stream.mjpeg';
    const ttl = body.ttl_seconds ?? 600;
    if ((kind !== 'stream.mjpeg' && kind !== 'snapshot.jpg') || typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 10 || ttl > 86_400) {
      return sendError(res, validationError('Validation failed', [{ path: 'payload', message: 'path must be stream.mjpeg or snapshot.jpg; ttl_seconds an integer 10–86400' }]));
    }
    res.json({ url: streams.signPath(`/api/cameras/${encodeURIComponent(String(req.params.id))}/${kind}`, ttl) });
  });
}
