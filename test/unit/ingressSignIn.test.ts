// Pure parts of the ingress sign-in and the panel page: address matching, usernames, base paths.
import { describe, expect, it } from 'vitest';
import { usernameFor } from '../../src/auth/ingress.js';
import { normalizeAddress } from '../../src/auth/forwardedAddress.js';
import { renderIndex } from '../../src/protocols/http/panel.js';

describe('ingress helpers', () => {
  it('treats an IPv4-mapped IPv6 peer as its IPv4 address', () => {
    expect(normalizeAddress('::ffff:172.30.32.2')).toBe('172.30.32.2');
    expect(normalizeAddress('172.30.32.2')).toBe('172.30.32.2');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress(undefined)).toBe('');
  });

  it('derives a valid username from what Home Assistant sends', () => {
    expect(usernameFor({ id: 'abc', name: 'alice', displayName: 'Alice' })).toBe('alice');
    expect(usernameFor({ id: 'abc', name: null, displayName: 'Jürgen Müller' })).toBe('Jurgen_Muller');
    expect(usernameFor({ id: '0123456789abcdef', name: null, displayName: '🙂' })).toBe('ha_0123456789ab');
    expect(usernameFor({ id: 'x', name: 'a'.repeat(100), displayName: null })).toHaveLength(64);
    expect(usernameFor({ id: 'x', name: 'a'.repeat(100), displayName: null })).toMatch(/^[A-Za-z0-9_.@-]+$/);
  });

  it('puts the base path and boot object into the page without letting markup through', () => {
    const html = renderIndex('<head><!--switchboard-boot--></head>', { base: '/api/hassio_ingress/t0k', ingress: true, version: '1.0.0</script><script>x', monitorPort: 5000 });
    expect(html).toContain('<base href="/api/hassio_ingress/t0k/">');
    expect(html).not.toContain('</script><script>x');
    expect(html).toContain('\\u003c/script\\u003e');
  });
});
