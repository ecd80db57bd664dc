import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeJobCommand, GetJobOutputCommand, GlacierClient, InitiateJobCommand, ListJobsCommand, ResourceNotFoundException } from '@aws-sdk/client-glacier';
import { TransferState } from '../../src/state/db.js';
import type { EngineEvent } from '../../src/events.js';

// The compiled module: its inventory is read on a worker thread, which runs from dist/.
const { fetchInventory } = (await import('../../dist/inventory/acquire.js' as string)) as typeof import('../../src/inventory/acquire.js');

const dir = mkdtempSync(join(tmpdir(), 'inventory-download-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (i: number) => `${String(i).repeat(138).slice(0, 138)},file-${i}.txt,2020-01-0${i}T00:00:00Z,${i * 10},${'a'.repeat(64)}\r\n`;
const WHOLE = `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n${[1, 2, 3].map(row).join('')}`;

describe("downloading Glacier's inventory", () => {
  const newState = (name: string) =>
    TransferState.create(join(dir, name), { transferId: 't', vault: 'v', bucket: 'b', prefix: '', storageClass: 'DEEP_ARCHIVE', tier: 'Bulk', partSize: 8 << 20 });
  const fetchWith = (glacier: GlacierClient, state: TransferState, events: EngineEvent[]) =>
    fetchInventory({
      glacier,
      naming: { prefix: '' },
      vault: 'v',
      transferId: 't',
      state,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      waitForJob: async () => undefined,
    });
  it('fetches again a download shorter than the job says, even one cut at a line end that reads as a whole CSV', async () => {
    const glacier = new GlacierClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(glacier);
    mock.on(DescribeJobCommand).resolves({ StatusCode: 'Succeeded', InventorySizeInBytes: Buffer.byteLength(WHOLE) });
    const cut = WHOLE.slice(0, WHOLE.length - row(3).length);
    mock
      .on(GetJobOutputCommand)
      .resolvesOnce({ body: Readable.from([Buffer.from(cut)]) as never })
      .resolves({ body: Readable.from([Buffer.from(WHOLE)]) as never });
    const state = newState('cut.db');
    state.setTransfer({ inventory_job_id: 'job-1' });
    const events: EngineEvent[] = [];
    try {
      const loaded = await fetchWith(glacier, state, events);
      expect(loaded).toMatchObject({ archives: 3, listed: 3 });
      expect(mock.commandCalls(GetJobOutputCommand)).toHaveLength(2);
      expect(events).toContainEqual(expect.objectContaining({ type: 'warning', message: expect.stringMatching(/holds \d+ bytes, Glacier's job says \d+.*fetching it again/) }));
    } finally {
      state.close();
    }
  });

  const gone = () => new ResourceNotFoundException({ message: 'The job ID was not found', $metadata: { httpStatusCode: 404 } });

  it('requests a new inventory when a reused job’s output expires before it is downloaded, and never takes that job again', async () => {
    const glacier = new GlacierClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(glacier);
    // Glacier still lists the old job as succeeded; its output is gone.
    mock.on(ListJobsCommand).resolves({ JobList: [{ JobId: 'old', Action: 'InventoryRetrieval', StatusCode: 'Succeeded', CompletionDate: '2026-11-29T00:00:00Z' }] });
    mock.on(DescribeJobCommand).resolves({ StatusCode: 'Succeeded', InventorySizeInBytes: Buffer.byteLength(WHOLE) });
    mock.on(GetJobOutputCommand, { jobId: 'old' }).rejects(gone());
    mock.on(GetJobOutputCommand, { jobId: 'new' }).callsFake(() => ({ body: Readable.from([Buffer.from(WHOLE)]) }));
    mock.on(InitiateJobCommand).resolves({ jobId: 'new' });
    const state = newState('expired.db');
    const events: EngineEvent[] = [];
    try {
      expect(await fetchWith(glacier, state, events)).toMatchObject({ archives: 3 });
      expect(mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
      expect(state.transferInfo().inventoryJobId).toBe('new');
      expect(events).toContainEqual(expect.objectContaining({ type: 'warning', message: expect.stringMatching(/output of inventory job old is gone/) }));
    } finally {
      state.close();
    }
  });

  it('requests another inventory when Glacier fails one, and gives up after three', async () => {
    const glacier = new GlacierClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(glacier);
    mock.on(ListJobsCommand).resolves({ JobList: [] });
    mock.on(InitiateJobCommand).resolvesOnce({ jobId: 'j1' }).resolvesOnce({ jobId: 'j2' }).resolves({ jobId: 'j3' });
    mock.on(DescribeJobCommand, { jobId: 'j1' }).resolves({ StatusCode: 'Failed', StatusMessage: 'internal error' });
    mock.on(DescribeJobCommand, { jobId: 'j2' }).resolves({ StatusCode: 'Succeeded', InventorySizeInBytes: Buffer.byteLength(WHOLE) });
    mock.on(GetJobOutputCommand).callsFake(() => ({ body: Readable.from([Buffer.from(WHOLE)]) }));
    const state = newState('failed-once.db');
    const events: EngineEvent[] = [];
    try {
      expect(await fetchWith(glacier, state, events)).toMatchObject({ archives: 3 });
      expect(events).toContainEqual(expect.objectContaining({ type: 'warning', message: 'inventory job j1 failed: internal error; requesting another' }));
    } finally {
      state.close();
    }

    mock.on(DescribeJobCommand).resolves({ StatusCode: 'Failed', StatusMessage: 'internal error' });
    const failing = newState('failed-always.db');
    try {
      await expect(fetchWith(glacier, failing, [])).rejects.toThrow(/inventory job j3 failed: internal error/);
    } finally {
      failing.close();
    }
  });
});
