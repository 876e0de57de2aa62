// HTTP adapter for streams: MJPEG (multipart/x-mixed-replace), live H.264 in MPEG-TS (Home
// Assistant's go2rtc reads it as a Generic Camera stream_source), snapshots and signed stream URLs.
// Authenticated by bearer header, `?token=` (for <img> tags, which cannot send headers) or a
// short-lived signed URL (for Home Assistant's MJPEG camera integration) bound to the token that
// made it, or a long-lived, revocable live-view URL made for Home Assistant's Generic Camera.
// A stream in progress is a session of the registry: it ends when its token does.
import type { NextFunction, Request, Response, Router } from 'express';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { unauthorized, validationError } from '../../core/errors.js';
import type { EventBus } from '../../core/eventBus.js';
import { newId } from '../../core/ids.js';
import type { StreamService } from '../../camera/streaming/streamService.js';
import { actorOf, requireActor } from './httpApi.js';

const BOUNDARY = 'switchboardframe';
/** A reader with more than this much unsent data skips frames instead of queueing them. */
const MAX_BUFFERED_BYTES = 512 * 1024;

export interface StreamRouteDeps {
  sessions: SessionRegistry;
  streams: StreamService;
  /** To end a stream cleanly when its camera is unplugged (the reader may reconnect once it is back). */
  bus: EventBus;
}

export function mountStreamRoutes(router: Router, { sessions, streams, bus }: StreamRouteDeps): void {
  /**
   * The actor a stream request speaks for (the session registry decides), allowed to view
   * streams; throws otherwise. `liveUrl`: the route serves Home Assistant's live-view URLs too.
   */
  const viewer = (req: Request, liveUrl = false): Actor => {
    const actor = sessions.authenticateRequest({ path: req.path, query: req.query as Record<string, unknown>, authorization: req.headers.authorization }, { liveUrl });
    if (!actor) throw unauthorized();
    authorize(actor, 'streams.view');
    return actor;
  };

  // Headers go out with the first frame: a capture that cannot start (no working ffmpeg) is
  // answered with the 503 that says why, not with an empty 200.
  router.get('/api/cameras/:id/stream.mjpeg', (req: Request, res: Response, next: NextFunction) => {
    const id = String(req.params.id);
    let detach: (() => void) | null = null;
    let actor: Actor;
    const head = () => {
      if (res.headersSent) return;
      res.writeHead(200, {
        'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
        'Cache-Control': 'no-store, no-cache, must-revalidate',
        Pragma: 'no-cache',
        Connection: 'close',
      });
    };
    try {
      actor = viewer(req);
      detach = streams.attachReader(
        id,
        { type: 'http', id: newId() },
        (frame) => {
          head();
          if (res.writableLength > MAX_BUFFERED_BYTES) return;
          res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`);
          res.write(frame);
          res.write('\r\n');
        },
        (err) => failed(err),
      );
    } catch (err) {
      return next(err);
    }
    // The stream ends with its token (revoked, expired, user deleted or disabled).
    const session = sessions.open(actor, 'stream', { onEnd: () => res.destroy() });
    const stopWatching = bus.subscribe(res, (e) => {
      if (e.entity === id && (e.event === 'disconnected' || e.event === 'disabled')) {
        head();
        res.end(`--${BOUNDARY}--\r\n`);
      }
    }, ['camera']);
    const end = () => {
      session.close();
      stopWatching();
      detach?.();
      detach = null;
    };
    const failed = (err: Error) => {
      end();
      if (res.headersSent) res.end();
      else next(err);
    };
    res.on('close', end);
    req.on('aborted', end);
  });

  router.get('/api/cameras/:id/snapshot.jpg', async (req: Request, res: Response) => {
    viewer(req, true);
    const snap = await streams.snapshot(String(req.params.id));
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': snap.jpeg.length, 'Cache-Control': 'no-store' });
    res.end(snap.jpeg);
  });

  // One encoder per camera, however many clients: each client joins at a keyframe and skips
  // ahead to the next one when it falls behind (TsFanout).
  router.get('/api/cameras/:id/live.ts', (req: Request, res: Response, next: NextFunction) => {
    const id = String(req.params.id);
    let detach: (() => void) | null = null;
    let actor: Actor;
    // Headers with the first bytes, as for MJPEG: a capture that cannot start gets its 503.
    const head = () => {
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Cache-Control': 'no-store', Connection: 'close' });
    };
    try {
      actor = viewer(req, true);
      detach = streams.attachLive(
        id,
        { type: 'http-live', id: newId() },
        {
          write: (chunk) => (head(), void res.write(chunk)),
          backlog: () => res.writableLength,
          end: () => (head(), res.end()),
        },
        (err) => failed(err),
      );
    } catch (err) {
      return next(err);
    }
    // A signed-in viewer's stream ends with its token; a live-view URL's with the key's rotation.
    const session = sessions.open(actor, 'live-h264', { onEnd: () => res.destroy() });
    const end = () => {
      session.close();
      detach?.();
      detach = null;
    };
    const failed = (err: Error) => {
      end();
      if (res.headersSent) res.end();
      else next(err);
    };
    res.on('close', end);
    req.on('aborted', end);
  });

  // Path taken (passthrough/encoder), live clients and motion state, for the panel.
  router.get('/api/cameras/:id/stream-info', requireActor(sessions, 'streams.view'), (req: Request, res: Response) => {
    streams.requireKnownCamera(String(req.params.id));
    res.json(streams.info(String(req.params.id)));
  });

  // A live URL for Home Assistant or a player: POST {base_url?} → {url, path}. Admins only: it is
  // valid for 30 days while its admin stays one, until the live URL key is rotated.
  router.post('/api/cameras/:id/live-url', requireActor(sessions, 'streams.liveUrls'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const base = body.base_url ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    if (typeof base !== 'string' || !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(base)) {
      throw validationError('Validation failed', [{ path: 'payload.base_url', message: 'must be an http(s) URL without query' }]);
    }
    const id = String(req.params.id);
    streams.requireKnownCamera(id);
    const path = sessions.signLiveUrl(streams.livePath(id), actorOf(req));
    res.json({ url: `${base.replace(/\/+$/, '')}${path}`, path });
  });

  // Revokes every live URL handed out (HA's stream sources must then be re-created).
  router.post('/api/streams/live-urls/revoke', requireActor(sessions, 'streams.liveUrls'), (_req: Request, res: Response) => {
    sessions.revokeLiveUrls();
    res.json({ revoked: true });
  });

  // Signed URLs: POST {path: "stream.mjpeg"|"snapshot.jpg", ttl_seconds?} → {url}
  router.post('/api/cameras/:id/signed-url', requireActor(sessions), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kind = body.path ?? 'stream.mjpeg';
    const ttl = body.ttl_seconds ?? 600;
    if ((kind !== 'stream.mjpeg' && kind !== 'snapshot.jpg') || typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 10 || ttl > 86_400) {
      throw validationError('Validation failed', [{ path: 'payload', message: 'path must be stream.mjpeg or snapshot.jpg; ttl_seconds an integer 10–86400' }]);
    }
    res.json({ url: sessions.signUrl(actorOf(req), `/api/cameras/${encodeURIComponent(String(req.params.id))}/${kind}`, ttl) });
  });
}
