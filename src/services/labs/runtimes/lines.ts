// Splits a child's output into lines without trusting it: a "line" that never ends is cut at
// MAX_LINE_LENGTH instead of growing in memory (readline has no such limit).
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { MAX_LINE_LENGTH } from '../logRing.js';

export function onLines(stream: Readable, fn: (line: string) => void, max = MAX_LINE_LENGTH): void {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => fn(text.endsWith('\r') ? text.slice(0, -1) : text);
  stream.on('data', (chunk: Buffer) => {
    partial += decoder.write(chunk);
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      emit(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
    while (partial.length > max) {
      emit(partial.slice(0, max));
      partial = partial.slice(max);
    }
  });
  stream.on('end', () => {
    partial += decoder.end();
    if (partial) emit(partial);
    partial = '';
  });
}
