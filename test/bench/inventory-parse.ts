/**
 * `npx tsx test/bench/inventory-parse.ts [archives]`: how fast `readInventory` reads a large vault inventory,
 * JSON and CSV, in MB/s, and the peak resident memory it takes. The documents (1M archives by default) are
 * streamed by the simulator's own inventory renderer into /tmp, and kept there for the next run.
 * Each reader runs in a fresh process so that its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readInventory } from '../../src/inventory/index.js';
import { generatedInventoryFile } from './inventory-file.js';

const MB = 1e6;

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
    const path = await generatedInventoryFile(format, 'bench', count);
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
