import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeJobCommand, GetJobOutputCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { TransferState } from '../../src/state/db.js';
import type { EngineEvent } from '../../src/events.js';

// The compiled module: its inventory is read on a worker thread, which runs from dist/.
const { fetchInventory } = (await import('../../dist/inventory/acquire.js' as string)) as typeof import('../../src/inventory/acquire.js');

const dir = mkdtempSync(join(tmpdir(), 'inventory-download-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (i: number) => `${String(i).repeat(138).slice(0, 138)},file-${i}.txt,2020-01-0${i}T00:00:00Z,${i * 10},${'a'.repeat(64)}\r\n`;
const WHOLE = `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n${[1, 2, 3].map(row).join('')}`;

describe("downloading Glacier's inventory", () => {
  it('fetches again a download shorter than the job says, even one cut at a line end that reads as a whole CSV', async () => {
    const glacier = new GlacierClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(glacier);
    mock.on(DescribeJobCommand).resolves({ StatusCode: 'Succeeded', InventorySizeInBytes: Buffer.byteLength(WHOLE) });
    const cut = WHOLE.slice(0, WHOLE.length - row(3).length);
    mock
      .on(GetJobOutputCommand)
      .resolvesOnce({ body: Readable.from([Buffer.from(cut)]) as never })
      .resolves({ body: Readable.from([Buffer.from(WHOLE)]) as never });
    const state = TransferState.create(join(dir, 'cut.db'), { transferId: 't', vault: 'v', bucket: 'b', prefix: '', storageClass: 'DEEP_ARCHIVE', tier: 'Bulk', partSize: 8 << 20 });
    state.setTransfer({ inventory_job_id: 'job-1' });
    const events: EngineEvent[] = [];
    try {
      const loaded = await fetchInventory({
        glacier,
        naming: { prefix: '' },
        vault: 'v',
        transferId: 't',
        state,
        emit: (e) => events.push(e),
        signal: new AbortController().signal,
        waitForJob: async () => undefined,
      });
      expect(loaded).toMatchObject({ archives: 3, listed: 3 });
      expect(mock.commandCalls(GetJobOutputCommand)).toHaveLength(2);
      expect(events).toContainEqual(expect.objectContaining({ type: 'warning', message: expect.stringMatching(/holds \d+ bytes, Glacier's job says \d+.*fetching it again/) }));
    } finally {
      state.close();
    }
  });
});
