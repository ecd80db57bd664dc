/**
 * A 53-bit hash of a string (cyrb53, public domain), for indexes that find a long text (a 138-character archive
 * id, a key of up to 1 KiB) without storing it twice. Not cryptographic and not unique: every lookup also
 * compares the text itself. Fits a JavaScript number exactly, so SQLite stores it as a plain integer.
 */
export function stringHash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
