/**
 * `npx tsx test/bench/inventory-parse.ts [archives]`: how fast `readInventory` reads a large vault inventory,
 * JSON and CSV, in MB/s, and the peak resident memory it takes. The documents (1M archives by default) are
 * rendered by the simulator's own `renderInventory` a batch at a time into /tmp, and kept there for the next run.
 * Each reader runs in a fresh process so that its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInventory } from '../../src/inventory/index.js';
import type { ArchiveContent } from '../../src/sim/glacier/archives.js';
import { describeArchive, generatedArchiveId } from '../../src/sim/glacier/generate.js';
import { renderInventory, type InventoryFormat } from '../../src/sim/glacier/inventory.js';
import type { Archive, Vault } from '../../src/sim/glacier/store.js';
import { seededRandom } from '../../src/sim/random.js';

const BATCH = 1000;
const MB = 1e6;

/** One batch of archives as a vault that `renderInventory` can render: it reads ids, descriptions, dates, sizes and tree hashes only. */
function batchVault(first: number, count: number, random: () => number): Vault {
  const archives = new Map<string, Archive>();
  for (let i = first; i < first + count; i++) {
    const id = generatedArchiveId('bench', i);
    const creationDate = new Date(Date.UTC(2013, 0, 1) + Math.floor(random() * 10 * 365 * 86400) * 1000).toISOString();
    const path = `photos/${2013 + (i % 10)}/img_${String(i).padStart(7, '0')}.jpg`;
    const content = {
      size: Math.floor(random() * 5 * 1024 * 1024),
      treeHash: () => createHash('sha256').update(id).digest('hex'),
    } as ArchiveContent;
    archives.set(id, { id, description: describeArchive(path, creationDate, i), creationDate, content });
  }
  return { arn: 'arn:aws:glacier:us-east-1:123456789012:vaults/bench', archives } as Vault;
}

/**
 * Writes the inventory of `count` archives batch by batch, splicing each rendered batch into one document: the
 * first batch whole but for its closing `]}` (JSON), later ones without their header or wrapper.
 */
async function writeInventory(path: string, format: InventoryFormat, count: number): Promise<void> {
  const random = seededRandom('bench');
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  for (let first = 0; first < count; first += BATCH) {
    const rendered = renderInventory(batchVault(first, Math.min(BATCH, count - first), random), format, '2024-03-01T08:00:00Z');
    let piece: Buffer;
    if (format === 'CSV') {
      piece = first === 0 ? rendered : rendered.subarray(rendered.indexOf('\r\n') + 2);
    } else {
      const body = rendered.subarray(0, rendered.length - 2);
      piece = first === 0 ? body : Buffer.concat([Buffer.from(','), body.subarray(body.indexOf('"ArchiveList":[') + 15)]);
    }
    if (!out.write(piece)) await once(out, 'drain');
  }
  if (format === 'JSON') out.write(']}');
  out.end();
  await once(out, 'close');
  renameSync(partial, path);
}

/** Child process: reads one document and prints what it measured as JSON. */
async function measure(path: string): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let archives = 0;
  for await (const event of readInventory(createReadStream(path))) {
    if (event.kind === 'archive') archives++;
    else if (event.kind === 'bad-row') throw new Error(`unexpected bad row: ${event.reason}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ archives, seconds, rssBefore, peakRss }));
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1_000_000);
  for (const format of ['JSON', 'CSV'] as const) {
    const path = join(tmpdir(), `glacier-copy-bench-inventory-${count}.${format.toLowerCase()}`);
    if (!existsSync(path)) await writeInventory(path, format, count);
    const bytes = statSync(path).size;
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--measure', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`measuring ${format} failed (exit ${child.status})`);
    const m = JSON.parse(child.stdout) as { archives: number; seconds: number; rssBefore: number; peakRss: number };
    if (m.archives !== count) throw new Error(`${format}: read ${m.archives} archives, expected ${count}`);
    console.log(
      `${format.padEnd(4)} ${(bytes / MB).toFixed(0)} MB, ${count} archives: ${m.seconds.toFixed(2)} s, ` +
        `${(bytes / MB / m.seconds).toFixed(0)} MB/s, peak RSS ${(m.peakRss / MB).toFixed(0)} MB ` +
        `(${(m.rssBefore / MB).toFixed(0)} MB before reading)`,
    );
  }
}

await (process.argv[2] === '--measure' ? measure(process.argv[3]!) : main());
