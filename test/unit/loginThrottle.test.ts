// The login throttle under a flood of made-up usernames from many addresses, which
// must not push an active lockout out of the table; one address is limited whatever names it tries.
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/auth/loginThrottle.js';

describe('LoginThrottle', () => {
  it('never evicts an active lockout, even after 10,050 failures for made-up usernames from distinct addresses', () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle({}, () => now);
    for (let i = 0; i < 10; i++) throttle.fail('admin', '10.0.0.1');
    expect(throttle.retryAfter('admin', '10.0.0.1')).toBeGreaterThan(0);
    for (let i = 0; i < 10_050; i++) {
      now += 1;
      throttle.fail(`made-up-${i}`, `10.1.${i >> 8}.${i & 255}`);
    }
    expect(throttle.retryAfter('admin', '10.0.0.1')).toBeGreaterThan(0);
    now += 61_000;
    expect(throttle.retryAfter('admin', '10.0.0.1')).toBe(0);
  });

  it('limits one address across usernames', () => {
    const throttle = new LoginThrottle({ perAddress: 5 });
    for (let i = 0; i < 5; i++) throttle.fail(`name-${i}`, '10.0.0.2');
    expect(throttle.retryAfter('someone-else', '10.0.0.2')).toBeGreaterThan(0);
    expect(throttle.retryAfter('someone-else', '10.0.0.3')).toBe(0);
  });
});
