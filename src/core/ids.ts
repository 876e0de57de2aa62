import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();
/** URL-safe random secret (tokens, keys, OAuth state). */
export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
export const isUuid = (v: unknown): v is string =>
  typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(v);

/** Home Assistant's slugify for entity ids: lower-case ASCII letters, digits and single underscores. */
export function entitySlug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
