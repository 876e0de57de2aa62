// HTTP adapter for streams: MJPEG (multipart/x-mixed-replace), live H.264 in MPEG-TS (Home
// Assistant's go2rtc reads it as a Generic Camera stream_source), snapshots and signed stream URLs.
// Authenticated by bearer header, `?token=` (for <img> tags, which cannot send headers) or a
// signed URL (short-lived for HA's MJPEG camera; long-lived and revocable for the live view).
import type { Request, Response, Router } from 'express';
import type { AuthService } from '../../auth/authService.js';
import { hasRole } from '../../auth/records.js';
import { forbidden, unauthorized, validationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { StreamService } from '../../camera/streaming/streamService.js';
import { bearerFrom } from '../../auth/bearer.js';
import { sendError } from './httpApi.js';

const BOUNDARY = 'switchboardframe';
/** A reader with more than this much unsent data skips frames instead of queueing them. */
const MAX_BUFFERED_BYTES = 512 * 1024;

export interface StreamRouteDeps {
  auth: AuthService;
  streams: StreamService;
}

export function mountStreamRoutes(router: Router, { auth, streams }: StreamRouteDeps): void {
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
    const end = () => {
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

  // One encoder per camera, however many clients: each client joins at a keyframe and skips
  // ahead to the next one when it falls behind (TsFanout).
  router.get('/api/cameras/:id/live.ts', (req: Request, res: Response) => {
    if (!allowed(req)) return sendError(res, unauthorized());
    const id = String(req.params.id);
    let detach: (() => void) | null = null;
    try {
      detach = streams.attachLive(id, { type: 'http-live', id: newId() }, {
        write: (chunk) => void res.write(chunk),
        backlog: () => res.writableLength,
        end: () => res.end(),
      });
    } catch (err) {
      return sendError(res, err);
    }
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Cache-Control': 'no-store', Connection: 'close' });
    const end = () => {
      detach?.();
      detach = null;
    };
    res.on('close', end);
    req.on('aborted', end);
  });

  // Path taken (passthrough/encoder), live clients and motion state, for the panel.
  router.get('/api/cameras/:id/stream-info', (req: Request, res: Response) => {
    const actor = auth.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    try {
      streams.requireKnownCamera(String(req.params.id));
    } catch (err) {
      return sendError(res, err);
    }
    res.json(streams.info(String(req.params.id)));
  });

  // The long-lived live URL for Home Assistant: POST {base_url?} → {url, path}. Admins only: it
  // stays valid until the live URL key is rotated.
  router.post('/api/cameras/:id/live-url', (req: Request, res: Response) => {
    const actor = auth.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    if (!hasRole(actor, 'admin')) return sendError(res, forbidden());
    const body = (req.body ?? {}) as Record<string, unknown>;
    const base = body.base_url ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    if (typeof base !== 'string' || !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(base)) {
      return sendError(res, validationError('Validation failed', [{ path: 'payload.base_url', message: 'must be an http(s) URL without query' }]));
    }
    const id = String(req.params.id);
    try {
      streams.requireKnownCamera(id);
    } catch (err) {
      return sendError(res, err);
    }
    res.json({ url: streams.liveUrlFor(id, base), path: streams.signLivePath(id) });
  });

  // Revokes every live URL handed out (HA's stream sources must then be re-created).
  router.post('/api/streams/live-urls/revoke', (req: Request, res: Response) => {
    const actor = auth.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    if (!hasRole(actor, 'admin')) return sendError(res, forbidden());
    streams.rotateLiveUrlKey();
    res.json({ revoked: true });
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
