import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The checksum algorithms S3 accepts in `x-amz-checksum-*` headers, trailers and CreateMultipartUpload. */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/** `x-amz-checksum-sha256` */
export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** `ChecksumSHA256`, the element name in XML bodies */
export function checksumElement(algorithm: ChecksumAlgorithm): string {
  return `Checksum${algorithm}`;
}

/** Decodes a base64 checksum value; undefined when it is not the algorithm's digest length. */
export function decodeChecksum(algorithm: ChecksumAlgorithm, value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value ? bytes : undefined;
}

export interface Digester {
  update(data: Buffer): void;
  digest(): Buffer;
}

export function createDigester(algorithm: ChecksumAlgorithm | 'MD5'): Digester {
  switch (algorithm) {
    case 'MD5':
      return hashDigester(createHash('md5'));
    case 'SHA1':
      return hashDigester(createHash('sha1'));
    case 'SHA256':
      return hashDigester(createHash('sha256'));
    case 'CRC32':
      return crc32Digester();
    case 'CRC32C':
      return crc32cDigester();
    case 'CRC64NVME':
      return crc64nvmeDigester();
  }
}

export function digestOf(algorithm: ChecksumAlgorithm | 'MD5', ...data: Buffer[]): Buffer {
  const d = createDigester(algorithm);
  for (const b of data) d.update(b);
  return d.digest();
}

/**
 * The COMPOSITE checksum of a multipart object: the algorithm applied to the concatenated binary part checksums,
 * base64, then `-N` (AWS "Checking object integrity": checksums of checksums).
 */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partDigests: readonly Buffer[]): string {
  return `${digestOf(algorithm, ...partDigests).toString('base64')}-${partDigests.length}`;
}

function hashDigester(hash: Hash): Digester {
  return { update: (data) => void hash.update(data), digest: () => hash.digest() };
}

function uint32Bytes(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function crc32Digester(): Digester {
  let crc = 0;
  return { update: (data) => void (crc = crc32(data, crc)), digest: () => uint32Bytes(crc) };
}

/** Reflected table for a 32-bit CRC polynomial. */
function crcTable32(reflectedPoly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPoly : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

let crc32cTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli), which Node does not ship. */
function crc32cDigester(): Digester {
  const table = (crc32cTable ??= crcTable32(0x82f63b78));
  let crc = 0xffffffff;
  return {
    update(data) {
      for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    },
    digest: () => uint32Bytes(~crc),
  };
}

let crc64Table: { hi: Uint32Array; lo: Uint32Array } | undefined;

/** CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5), kept as two 32-bit halves to avoid BigInt per byte. */
function crc64nvmeDigester(): Digester {
  crc64Table ??= (() => {
    const hi = new Uint32Array(256);
    const lo = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let h = 0;
      let l = n;
      for (let k = 0; k < 8; k++) {
        const carry = l & 1;
        l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
        h = h >>> 1;
        if (carry) {
          h = (h ^ 0x9a6c9329) >>> 0;
          l = (l ^ 0xac4bc9b5) >>> 0;
        }
      }
      hi[n] = h;
      lo[n] = l;
    }
    return { hi, lo };
  })();
  const { hi, lo } = crc64Table;
  let h = 0xffffffff;
  let l = 0xffffffff;
  return {
    update(data) {
      for (let i = 0; i < data.length; i++) {
        const index = (l ^ data[i]!) & 0xff;
        l = ((l >>> 8) | (h << 24)) ^ lo[index]!;
        h = (h >>> 8) ^ hi[index]!;
      }
    },
    digest() {
      const out = Buffer.alloc(8);
      out.writeUInt32BE(~h >>> 0, 0);
      out.writeUInt32BE(~l >>> 0, 4);
      return out;
    },
  };
}

const CRC_POLYNOMIALS: Partial<Record<ChecksumAlgorithm, { width: bigint; poly: bigint }>> = {
  CRC32: { width: 32n, poly: 0xedb88320n },
  CRC32C: { width: 32n, poly: 0x82f63b78n },
  CRC64NVME: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
};

export function isCrc(algorithm: ChecksumAlgorithm): boolean {
  return CRC_POLYNOMIALS[algorithm] !== undefined;
}

/**
 * The CRC of a concatenation from the CRCs of its pieces (zlib's crc32_combine, generalised to any reflected
 * CRC with all-ones init and final xor): how S3 derives a FULL_OBJECT multipart checksum from the part CRCs.
 */
export function combineCrcs(algorithm: ChecksumAlgorithm, pieces: readonly { crc: Buffer; size: number }[]): Buffer {
  const { width, poly } = CRC_POLYNOMIALS[algorithm]!;
  const top = 1n << (width - 1n);
  // Multiplication modulo the polynomial, in the reflected bit order CRCs use (x^0 is the top bit).
  const multiply = (a: bigint, b: bigint): bigint => {
    let product = 0n;
    for (let m = top; m > 0n; m >>= 1n) {
      if (a & m) product ^= b;
      b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
    }
    return product;
  };
  // x^(8 * bytes) modulo the polynomial, by repeated squaring.
  const shiftOperator = (bytes: number): bigint => {
    let result = top;
    let square = top >> 8n; // x^8
    for (let n = BigInt(bytes); n > 0n; n >>= 1n) {
      if (n & 1n) result = multiply(square, result);
      square = multiply(square, square);
    }
    return result;
  };
  const toBig = (b: Buffer) => (width === 32n ? BigInt(b.readUInt32BE()) : b.readBigUInt64BE());
  let crc = toBig(pieces[0]!.crc);
  for (const piece of pieces.slice(1)) crc = multiply(shiftOperator(piece.size), crc) ^ toBig(piece.crc);
  const out = Buffer.alloc(Number(width / 8n));
  if (width === 32n) out.writeUInt32BE(Number(crc));
  else out.writeBigUInt64BE(crc);
  return out;
}
