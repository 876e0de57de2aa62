// Whose failed login it is behind reverse proxies: X-Forwarded-For counts only from listed proxies,
// and then only its right-most entry that is not a listed proxy (what the nearest proxy saw).
import { describe, expect, it } from 'vitest';
import { ForwardedAddress } from '../../src/auth/forwardedAddress.js';

describe('ForwardedAddress', () => {
  const addresses = new ForwardedAddress(['10.0.0.1', '10.0.0.2', 'not-an-ip']);

  it('takes the client from a trusted proxy, skipping trusted hops and ignoring what a client prepends', () => {
    expect(addresses.clientOf('10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(addresses.clientOf('::ffff:10.0.0.1', '203.0.113.9, 198.51.100.7')).toBe('198.51.100.7');
    expect(addresses.clientOf('10.0.0.1', '198.51.100.7, 10.0.0.2')).toBe('198.51.100.7');
    expect(addresses.clientOf('10.0.0.1', ['203.0.113.9', '2001:DB8::7'])).toBe('2001:db8::7');
  });

  it('ignores the header from anyone else, and a malformed one', () => {
    expect(addresses.clientOf('192.0.2.4', '198.51.100.7')).toBe('192.0.2.4');
    expect(addresses.clientOf('10.0.0.1', 'garbage')).toBe('10.0.0.1');
    expect(addresses.clientOf('10.0.0.1', '198.51.100.7, garbage')).toBe('10.0.0.1');
    expect(addresses.clientOf('10.0.0.1', '10.0.0.2')).toBe('10.0.0.1');
    expect(addresses.clientOf('10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(addresses.clientOf(undefined, '198.51.100.7')).toBe('unknown');
    expect(new ForwardedAddress([]).clientOf('10.0.0.1', '198.51.100.7')).toBe('10.0.0.1');
  });
});
