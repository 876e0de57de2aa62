import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();
/** URL-safe random secret (tokens, keys, OAuth state). */
export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
export const isUuid = (v: unknown): v is string =>
  typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(v);
