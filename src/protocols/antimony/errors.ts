// Antimony's error codes and the mapping from domain errors to its `{code, message}` shape.
import { toAppError, type ErrorKind } from '../../core/errors.js';

export const AntimonyCode = {
  Runtime: 5001,
  InProgress: 5002,
  Forbidden: 5403,
  NotFound: 5404,
  Invalid: 5422,
} as const;
export type AntimonyCode = (typeof AntimonyCode)[keyof typeof AntimonyCode];

export interface AntimonyError {
  code: AntimonyCode;
  message: string;
}

const CODE_OF: Record<ErrorKind, AntimonyCode> = {
  validation: AntimonyCode.Invalid,
  malformed: AntimonyCode.Invalid,
  rate_limited: AntimonyCode.Invalid,
  unauthorized: AntimonyCode.Forbidden,
  forbidden: AntimonyCode.Forbidden,
  not_found: AntimonyCode.NotFound,
  conflict: AntimonyCode.InProgress,
  unavailable: AntimonyCode.Runtime,
  storage: AntimonyCode.Runtime,
  runtime: AntimonyCode.Runtime,
};

export function toAntimonyError(err: unknown): AntimonyError {
  const e = toAppError(err);
  const detail = e.details.length ? `: ${e.details.map((d) => (d.path ? `${d.path} ${d.message}` : d.message)).join('; ')}` : '';
  return { code: CODE_OF[e.kind], message: `${e.message}${detail}` };
}

/** A connect refusal: socket.io sends `message` as connect_error's message and `data` along with it. */
export function refusal(message: string, code: AntimonyCode): Error & { data: { code: AntimonyCode } } {
  return Object.assign(new Error(message), { data: { code } });
}
