// The HTTP API (express). Translates requests to AuthService / ModuleRegistry calls and AppErrors
// to `{error:{message, details}}` with a status code; holds no rules of its own.
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { AuthService } from '../../auth/authService.js';
import { bearerFrom } from '../../auth/bearer.js';
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
  extensions: Router;
}

export const errorBody = (message: string, details: ErrorDetail[] = []) => ({ error: { message, details } });

export function sendError(res: Response, err: unknown, logger?: Logger): void {
  const e = toAppError(err);
  if (!(err instanceof AppError)) logger?.error({ err }, 'unhandled error in HTTP request');
  if (e.kind === 'rate_limited') {
    const retry = /retry after (\d+)/.exec(e.details[0]?.message ?? '')?.[1];
    if (retry) res.setHeader('Retry-After', retry);
  }
  res.status(HTTP_STATUS[e.kind]).json(errorBody(e.message, e.details));
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

  const requireActor = (req: Request, res: Response, next: NextFunction) => {
    const actor = sessions.authenticate(bearerFrom(req.headers.authorization));
    if (!actor) return sendError(res, unauthorized());
    req.actor = actor;
    next();
  };

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
      const issued = await auth.login(body.username, body.password, clientAddress(req));
      res.status(201).json({ bearer: issued.token, expiration: issued.expiresAt.toISOString(), user: toPublicUser(issued.user) });
    } catch (err) {
      const e = toAppError(err);
      if (e.kind === 'validation') return void res.status(400).json(errorBody('Invalid user credentials'));
      sendError(res, err, logger);
    }
  });

  // Rotoclear sign-in: 200 {token, expiration}; the token also authenticates /api/v1.
  app.post('/api/login', async (req, res) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const issued = await auth.login(body.username, body.password, clientAddress(req));
      res.status(200).json({ token: issued.token, expiration: issued.expiresAt.toISOString() });
    } catch (err) {
      const e = toAppError(err);
      if (e.kind === 'validation') return void res.status(401).json(errorBody('Invalid user credentials'));
      sendError(res, err, logger);
    }
  });

  // Sign-out: revokes the bearer that makes the call; sockets opened with it are dropped too.
  app.post('/api/logout', requireActor, async (req, res) => {
    try {
      if (req.actor?.tokenId) await auth.revokeToken(req.actor.tokenId);
      res.status(204).end();
    } catch (err) {
      sendError(res, err, logger);
    }
  });

  const extensions = express.Router();
  app.use(extensions);

  const run = (command: 'list' | 'create' | 'read' | 'update' | 'delete', ok = 200) =>
    async (req: Request, res: Response) => {
      try {
        const params = req.params as Record<string, string | undefined>;
        const payload = command === 'list' ? req.query : req.body;
        const result = await modules.dispatch(req.actor!, { command, module: params.module, entity: params.id, payload });
        res.status(ok).json(result ?? null);
      } catch (err) {
        sendError(res, err, logger);
      }
    };

  app.get('/api/:module', requireActor, run('list'));
  app.post('/api/:module', requireActor, run('create', 201));
  app.get('/api/:module/:id', requireActor, run('read'));
  app.put('/api/:module/:id', requireActor, run('update'));
  app.patch('/api/:module/:id', requireActor, run('update'));
  app.delete('/api/:module/:id', requireActor, run('delete'));

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

  return { app, extensions };
}
