// The bench starts the add-on with the flags of its run script: the parse must find them.
import { describe, expect, it } from 'vitest';
import { shippedNodeFlags } from '../../bench/shipped.js';

describe('the shipped node command', () => {
  it('reads the node flags from the add-on run script', () => {
    expect(shippedNodeFlags()).toEqual(['--max-semi-space-size=1', '--single-threaded']);
  });

  it('reads a line without flags, and refuses a script that does not start dist/main.js', () => {
    expect(shippedNodeFlags('exec s6-applyuidgid -u 1 node /app/dist/main.js\n')).toEqual([]);
    expect(() => shippedNodeFlags('exec node /app/other.js\n')).toThrow(/no "node … \/app\/dist\/main\.js" line/);
  });
});
