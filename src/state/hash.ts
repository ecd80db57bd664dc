/** Characters hashed from each end of a longer text: ids and paths differ at their start or end. */
const END_CHARS = 48;

/**
 * A 53-bit hash of a string (cyrb53, public domain, over its length and at most 48 characters from each end),
 * for indexes that find a long text (a 138-character archive id, a key of up to 1 KiB) without storing it twice.
 * Not cryptographic and not unique: every lookup also compares the text itself, so texts that share both ends
 * only cost a longer look. Fits a JavaScript number exactly, so SQLite stores it as a plain integer.
 */
export function stringHash(text: string): number {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  const long = text.length > 2 * END_CHARS;
  const count = long ? 2 * END_CHARS : text.length;
  for (let n = 0; n < count; n++) {
    const c = text.charCodeAt(long && n >= END_CHARS ? text.length - 2 * END_CHARS + n : n);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
