// Rotoclear wire shapes: `{error, key?, message}` errors (the document's names where it has them)
// and the translation of service errors into them.
import { can } from '../../auth/permissions.js';
import type { Role } from '../../auth/records.js';
import { toAppError, type ErrorKind } from '../../core/errors.js';

export interface WireError {
  error: string;
  key?: string;
  /** Every key the error is about, when there are several (unknown keys). */
  keys?: string[];
  message: string;
}

export const ERRORS = {
  invalidValue: 'Invalid value',
  permissionDenied: 'Permission denied',
  unknownKey: 'Unknown key',
  unavailable: 'Unavailable',
  busy: 'Busy',
  deviceError: 'Device error',
  invalidJson: 'Invalid JSON',
  invalidMessage: 'Invalid message',
  tooLarge: 'Message too large',
  rateLimited: 'Rate limit exceeded',
  storageFull: 'Storage full',
} as const;

const BY_KIND: Record<ErrorKind, string> = {
  validation: ERRORS.invalidValue,
  malformed: ERRORS.invalidValue,
  unauthorized: ERRORS.permissionDenied,
  forbidden: ERRORS.permissionDenied,
  not_found: ERRORS.unavailable,
  unavailable: ERRORS.unavailable,
  conflict: ERRORS.busy,
  rate_limited: ERRORS.rateLimited,
  storage: ERRORS.storageFull,
  runtime: ERRORS.deviceError,
};

/** A service error about one key: the first detail's message is the most specific one. */
export function keyError(key: string, err: unknown): WireError {
  const e = toAppError(err);
  return { error: BY_KIND[e.kind], key, message: e.details[0]?.message ?? e.message };
}

/** The document's permission words, from the permission table. */
export const permissionsFor = (role: Role): string[] => [
  'read',
  ...(can(role, 'cameras.control') ? ['write'] : []),
  ...(can(role, 'cameras.manage') ? ['admin'] : []),
];
