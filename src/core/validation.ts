// Input checks shared by every protocol: hostile shapes are refused before any service sees them.
import type { z } from 'zod';
import { validationError, type ErrorDetail } from './errors.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_DEPTH = 16;

/**
 * Finds keys that could pollute prototypes and nesting deeper than MAX_DEPTH.
 * JSON.parse makes `__proto__` an own key (harmless by itself), but any later spread or merge
 * could turn it into a prototype write, so such input is refused outright.
 */
export function unsafeInputProblems(value: unknown, path = '', depth = 0): ErrorDetail[] {
  if (typeof value !== 'object' || value === null) return [];
  if (depth >= MAX_DEPTH) return [{ path, message: `nesting deeper than ${MAX_DEPTH} levels` }];
  const problems: ErrorDetail[] = [];
  for (const key of Object.keys(value)) {
    const p = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) problems.push({ path: p, message: `key "${key}" is not allowed` });
    else problems.push(...unsafeInputProblems((value as Record<string, unknown>)[key], p, depth + 1));
    if (problems.length >= 20) break;
  }
  return problems;
}

export function assertSafeInput(value: unknown, path = ''): void {
  const problems = unsafeInputProblems(value, path);
  if (problems.length) throw validationError('Invalid input', problems);
}

/** At most this many problems (and unknown key names) are listed: hostile input must not make huge errors. */
const MAX_LISTED = 20;
const short = (s: string) => (s.length > 64 ? s.slice(0, 61) + '...' : s);

export function zodDetails(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.slice(0, MAX_LISTED).map((i) => {
    const path = short([prefix, ...i.path.map(String)].filter(Boolean).join('.'));
    if (i.code === 'unrecognized_keys') {
      const more = i.keys.length > MAX_LISTED ? ` and ${i.keys.length - MAX_LISTED} more` : '';
      return { path, message: `unknown key${i.keys.length > 1 ? 's' : ''}: ${i.keys.slice(0, MAX_LISTED).map(short).join(', ')}${more}` };
    }
    return { path, message: i.message };
  });
}

/** Parse with a zod schema; failures become one validation error listing every problem with its path. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, value: unknown, prefix = 'payload', message = 'Validation failed'): z.output<S> {
  assertSafeInput(value, prefix);
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(message, zodDetails(result.error, prefix));
  return result.data as z.output<S>;
}
