// Parsers for the payloads Home Assistant sends on command topics. Each returns the typed value
// or throws a validation AppError; the bridge logs it and ignores the message.
import { validationError } from '../../core/errors.js';

const problem = (message: string) => validationError('Invalid MQTT command payload', [{ path: 'payload', message }]);

const ON_OFF_MESSAGE = 'expected "ON", "OFF" or "TOGGLE"';

/**
 * switch / light: "ON" | "OFF" in any case (HA sends its default payload_on / payload_off in upper
 * case; automations written by hand often do not), surrounding white space ignored.
 */
export function parseOnOff(payload: string): boolean {
  const word = payload.trim().toUpperCase();
  if (word === 'ON') return true;
  if (word === 'OFF') return false;
  throw problem(ON_OFF_MESSAGE);
}

/** switch / light: "ON" | "OFF" | "TOGGLE" in any case, as zigbee2mqtt accepts; TOGGLE flips `current`. */
export function parseSwitch(payload: string, current: boolean): boolean {
  return payload.trim().toUpperCase() === 'TOGGLE' ? !current : parseOnOff(payload);
}

/** button: "PRESS" (HA's default payload_press). */
export function parsePress(payload: string): void {
  if (payload !== 'PRESS') throw problem('expected "PRESS"');
}

/** number: a decimal number (HA sends "60" or "60.0") that is a whole number within [min, max]. */
export function parseInteger(payload: string, min: number, max: number): number {
  const text = payload.trim();
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw problem('expected a number');
  const n = Number(text);
  if (!Number.isInteger(n)) throw problem('expected a whole number');
  if (n < min || n > max) throw problem(`expected a number from ${min} to ${max}`);
  return n;
}

/** number with a fraction (HA sends "2.5"): within [min, max], at most one decimal place kept. */
export function parseDecimal(payload: string, min: number, max: number): number {
  const text = payload.trim();
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw problem('expected a number');
  const n = Math.round(Number(text) * 10) / 10;
  if (n < min || n > max) throw problem(`expected a number from ${min} to ${max}`);
  return n;
}

/** select: one of the advertised options, exactly. */
export function parseOption(payload: string, options: readonly string[]): string {
  if (!options.includes(payload)) throw problem(`expected one of: ${options.join(', ')}`);
  return payload;
}

/** text: non-empty, at most `max` characters, no control characters. */
export function parseText(payload: string, max: number): string {
  if (payload.length === 0) throw problem('expected a non-empty text');
  if (payload.length > max) throw problem(`expected at most ${max} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(payload)) throw problem('control characters are not allowed');
  return payload;
}
