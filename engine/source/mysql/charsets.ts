// MySQL's character sets into UTF-8 and back (the encoders decode each text value from its column's
// charset; a key bound in a query goes back into it). Bytes invalid in the declared charset are
// refused, or replaced by U+FFFD with invalidCharacters: Replace.
import { isUtf8 } from 'node:buffer';
import { isAscii, Out, refuse } from './copy-out.ts';
import type { Charset } from './types.ts';

export const REPLACEMENT = Buffer.from('\uFFFD');

/** MySQL's latin1 is Windows cp1252; its five unassigned bytes are the C1 controls (as MySQL converts them). */
const CP1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
  0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
  0x153, 0x9d, 0x17e, 0x178,
];
/** UTF-8 of each byte 0x80-0xFF of latin1. */
const LATIN1_HIGH: Buffer[] = Array.from({ length: 128 }, (_, i) =>
  Buffer.from(String.fromCodePoint(i < 32 ? CP1252_80_9F[i]! : 0x80 + i)),
);

/** Text back into a column's charset (a key bound in a query): the inverse of the decoding. */
export function toCharset(text: string, charset: Charset): Buffer {
  if (charset === 'utf8') return Buffer.from(text);
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const high = cp < 0x80 ? -1 : LATIN1_HIGH.findIndex((u) => u.toString() === ch);
    if (cp < 0x80) out.push(cp);
    else if (charset === 'latin1' && high >= 0) out.push(0x80 + high);
    else throw new Error(`internal: ${JSON.stringify(ch)} is not in ${charset}`);
  }
  return Buffer.from(out);
}

/** A value's UTF-8 bytes: itself when it is valid UTF-8 or plain ASCII, else converted from its charset. */
export function utf8Of(b: Buffer, charset: Charset, replace: boolean): Buffer {
  if (charset === 'utf8') {
    if (isAscii(b) || isUtf8(b)) return b;
    if (!replace) refuse('bytes that are not valid utf8');
    return Buffer.from(new TextDecoder('utf-8').decode(b));
  }
  let i = 0;
  while (i < b.length && b[i]! < 0x80) i++;
  if (i === b.length) return b;
  const out = new Out();
  out.bytes(b, 0, i);
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x80) out.byte(c);
    else if (charset === 'latin1') out.bytes(LATIN1_HIGH[c - 0x80]!);
    else if (replace) out.bytes(REPLACEMENT);
    else refuse(`the byte 0x${c.toString(16)}, which is not ascii`);
  }
  return out.take();
}
