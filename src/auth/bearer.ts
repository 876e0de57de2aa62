// The one parser of `Authorization: Bearer <token>` headers, shared by HTTP routes and the socket
// handshakes (which carry the same header), so every way in reads a token the same way.

export function bearerFrom(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}
