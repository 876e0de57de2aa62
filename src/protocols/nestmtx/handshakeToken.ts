// Where NestMTX clients put their bearer token: any of three ways (the document's example sends all
// three). Antimony namespaces take only `auth.token` and Altoponix users their own order, as their
// documents say (antimony/socketAuth.ts, altoponix/connection.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { bearerFrom } from '../../auth/bearer.js';

/** The parts of a Socket.IO handshake that can carry a token. */
export interface HandshakeCarriers {
  headers: IncomingHttpHeaders;
  auth?: Record<string, unknown>;
  query?: Record<string, unknown>;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * The token from `Authorization: Bearer …`, else `auth.token`, else `query.token`; undefined when
 * none is present. Validity is the AuthService's business, not this helper's.
 */
export function tokenFromHandshake(handshake: HandshakeCarriers): string | undefined {
  return bearerFrom(handshake.headers.authorization) ?? nonEmpty(handshake.auth?.token) ?? nonEmpty(handshake.query?.token);
}
