// Domain errors. Services throw these; each protocol adapter maps them to its own error shape
// (HTTP status + {error:{message,details}}, Antimony {code,message}, Altoponix {reason}, ...).

export interface ErrorDetail {
  /** Where the problem is, e.g. "payload.controls.brightness" ("" for the whole input). */
  path: string;
  message: string;
}

export type ErrorKind =
  | 'validation' // 422: well-formed but wrong
  | 'malformed' // 400: not parseable / not the right shape at all
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409: e.g. action already in progress, duplicate name
  | 'rate_limited' // 429
  | 'unavailable' // 503: module or component not available
  | 'storage' // 507: a store cannot be written (full, quota, read-only, I/O error); nothing was changed
  | 'runtime'; // 500: something below us failed (a device, a child process, a peer)

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** When a retry may succeed (rate limits): each protocol shows it its own way (HTTP `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const validationError = (message: string, details: ErrorDetail[] = []) => new AppError('validation', message, details);
export const malformed = (message: string, details: ErrorDetail[] = []) => new AppError('malformed', message, details);
export const unauthorized = (message = 'Unauthorized') => new AppError('unauthorized', message);
export const forbidden = (message = 'Forbidden') => new AppError('forbidden', message);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const conflict = (message: string, details: ErrorDetail[] = []) => new AppError('conflict', message, details);
export const rateLimited = (message = 'Too many requests', details: ErrorDetail[] = [], retryAfterSeconds?: number) =>
  new AppError('rate_limited', message, details, retryAfterSeconds);
export const unavailable = (message: string) => new AppError('unavailable', message);
export const runtimeError = (message: string, details: ErrorDetail[] = []) => new AppError('runtime', message, details);
export const storageFull = (message: string, details: ErrorDetail[] = []) => new AppError('storage', message, details);

export const HTTP_STATUS: Record<ErrorKind, number> = {
  validation: 422,
  malformed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  storage: 507,
  runtime: 500,
};

/** Any thrown value as an AppError; unknown errors become a runtime error without leaking internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('runtime', 'Internal error');
}
