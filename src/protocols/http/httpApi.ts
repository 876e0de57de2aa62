// The HTTP API (express). Translates requests to AuthService / ModuleRegistry calls and AppErrors
// to `{error:{message, details}}` with a status code; holds no rules of its own. Every route, here
// and on `routes`, authenticates with `requireActor` and lets its errors reach the one error
// handler at the end (express 5 forwards a throw or a rejected promise), which logs unexpected ones.
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { AuthService } from '../../auth/authService.js';
import { bearerFrom } from '../../auth/bearer.js';
import { authorize, type Action } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { SessionRegistry } from '../../auth/sessions.js';
import { AppError, HTTP_STATUS, toAppError, unauthorized, type ErrorDetail } from '../../core/errors.js';
import type { ModuleRegistry } from '../../services/modules.js';
import type { StatusService } from '../../services/system/statusService.js';
import { toPublicUser } from '../../services/users/usersService.js';

export const JSON_BODY_LIMIT = '256kb';

export interface HttpApiDeps {
  auth: AuthService;
  /** Where every request gets its actor. */
  sessions: SessionRegistry;
  modules: ModuleRegistry;
  status: StatusService;
  logger: Logger;
}

export interface HttpApi {
  app: express.Express;
  /** Routes other parts add (streams, OAuth callback, the panel); matched before the generic module routes. */
  routes: Router;
}

export const errorBody = (message: string, details: ErrorDetail[] = []) => ({ error: { message, details } });

/** The one way an error becomes a reply; only the error handler calls it, so nothing is logged twice. */
function sendError(res: Response, err: unknown, logger: Logger): void {
  const e = toAppError(err);
  if (!(err instanceof AppError)) logger.error({ err }, 'unhandled error in HTTP request');
  // A stream that already sent its head can only be cut off.
  if (res.headersSent) return void res.destroy();
  if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
  res.status(HTTP_STATUS[e.kind]).json(errorBody(e.message, e.details));
}

/**
 * The authentication of every bearer route: `Authorization: Bearer …` → `req.actor`, else 401;
 * with `action`, 403 unless the actor may do it. Read the actor with `actorOf(req)`.
 */
export function requireActor(sessions: SessionRegistry, action?: Action): RequestHandler {
  return (req, _res, next) => {
    const actor = sessions.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) throw unauthorized();
    if (action) authorize(actor, action);
    req.actor = actor;
    next();
  };
}

/** The actor `requireActor` found; a route mounted without it answers 401 rather than act for nobody. */
export function actorOf(req: Request): Actor {
  if (!req.actor) throw unauthorized();
  return req.actor;
}

/** The bearer token of a request: `Authorization: Bearer …` (the only carrier the HTTP API takes). */
export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

declare module 'express-serve-static-core' {
  interface Request {
    actor?: Actor;
  }
}

export function createHttpApi(deps: HttpApiDeps): HttpApi {
  const { auth, sessions, modules, status, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: JSON_BODY_LIMIT, strict: false }));

  const signedIn = requireActor(sessions);

  app.get('/api/health', (_req, res) => {
    res.json(status.health());
  });
  app.get('/api/version', async (_req, res) => {
    res.json({ name: 'switchboard', version: status.version, node: process.version });
  });

  // NestMTX sign-in: 201 {bearer, expiration, user}; wrong credentials answer 400.
  app.post('/api/auth', async (req, res) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const issued = await auth.login(body.username, body.password, auth.loginAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']));
      res.status(201).json({ bearer: issued.token, expiration: issued.expiresAt.toISOString(), user: toPublicUser(issued.user) });
    } catch (err) {
      if (err instanceof AppError && err.kind === 'validation') return void res.status(400).json(errorBody('Invalid user credentials'));
      throw err;
    }
  });

  // Rotoclear sign-in: 200 {token, expiration}; the token also authenticates /api/v1.
  app.post('/api/login', async (req, res) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const issued = await auth.login(body.username, body.password, auth.loginAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']));
      res.status(200).json({ token: issued.token, expiration: issued.expiresAt.toISOString() });
    } catch (err) {
      if (err instanceof AppError && err.kind === 'validation') return void res.status(401).json(errorBody('Invalid user credentials'));
      throw err;
    }
  });

  // Sign-out: revokes the bearer that makes the call; sockets opened with it are dropped too.
  app.post('/api/logout', signedIn, async (req, res) => {
    const { tokenId } = actorOf(req);
    if (tokenId) await auth.revokeToken(tokenId);
    res.status(204).end();
  });

  const routes = express.Router();
  app.use(routes);

  const run = (command: 'list' | 'create' | 'read' | 'update' | 'delete', ok = 200) =>
    async (req: Request, res: Response) => {
      const params = req.params as Record<string, string | undefined>;
      const payload = command === 'list' ? req.query : req.body;
      const result = await modules.dispatch(actorOf(req), { command, module: params.module, entity: params.id, payload });
      res.status(ok).json(result ?? null);
    };

  app.get('/api/:module', signedIn, run('list'));
  app.post('/api/:module', signedIn, run('create', 201));
  app.get('/api/:module/:id', signedIn, run('read'));
  app.put('/api/:module/:id', signedIn, run('update'));
  app.patch('/api/:module/:id', signedIn, run('update'));
  app.delete('/api/:module/:id', signedIn, run('delete'));

  app.use((req, res) => {
    res.status(404).json(errorBody(`No route ${req.method} ${req.path}`));
  });

  const onError: ErrorRequestHandler = (err: { type?: string; status?: number; message?: string }, _req, res, _next) => {
    if (err?.type === 'entity.parse.failed') return void res.status(400).json(errorBody('Malformed JSON', [{ path: '', message: err.message ?? 'parse error' }]));
    if (err?.type === 'entity.too.large') return void res.status(413).json(errorBody('Payload too large', [{ path: '', message: `limit is ${JSON_BODY_LIMIT}` }]));
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) return void res.status(err.status).json(errorBody(err.message ?? 'Bad request'));
    sendError(res, err, logger);
  };
  app.use(onError);

  return { app, routes };
}
