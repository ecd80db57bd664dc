import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetLock, TargetLockedError, targetLockKey } from '../../src/transfer/target-lock.js';
import { waitUntil } from '../helpers/copy-world.js';
import { startSimHarness, type SimHarness } from '../helpers/sim.js';

const config = (transferId: string) => ({ transferId, vault: 'v', bucket: 'locks', prefix: 'p/' });
const KEY = targetLockKey('p/', 'v');

describe('the marker of a transfer on its target', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness();
    await h.clients.s3.send(new CreateBucketCommand({ Bucket: 'locks' }));
  });
  afterAll(() => h?.stop());

  const holder = async () => {
    const out = await h.clients.s3.send(new GetObjectCommand({ Bucket: 'locks', Key: KEY }));
    return JSON.parse(await out.Body!.transformToString()) as { transferId: string; heartbeatAt: string };
  };

  it('is refreshed while the transfer runs, and a transfer whose marker was taken over hears of it', async () => {
    const lock = await TargetLock.acquire(h.clients.s3, config('aaaa'));
    await expect(TargetLock.acquire(h.clients.s3, config('bbbb'))).rejects.toBeInstanceOf(TargetLockedError);
    const first = (await holder()).heartbeatAt;
    let lost: string | undefined;
    lock.startHeartbeat((reason) => (lost = reason), () => undefined, 20);
    await waitUntil(async () => (await holder()).heartbeatAt !== first, 'the marker is refreshed');
    expect((await holder()).transferId).toBe('aaaa');

    // Another run took it over (its owner looked dead): the next refresh finds another ETag and says so.
    await h.clients.s3.send(new PutObjectCommand({ Bucket: 'locks', Key: KEY, Body: JSON.stringify({ transferId: 'cccc', vault: 'v', heartbeatAt: new Date().toISOString() }) }));
    await waitUntil(() => lost !== undefined, 'the loss is told');
    expect(lost).toMatch(/taken over by another transfer of vault v/);
    expect((await holder()).transferId).toBe('cccc');
    // Released, it leaves another's marker alone.
    await lock.release();
    expect((await holder()).transferId).toBe('cccc');
  });

  it('takes a 409 ConditionalRequestConflict (another write under way) for what it is: not a takeover', async () => {
    const lock = await TargetLock.acquire(h.clients.s3, config('dddd'), { force: true });
    h.sim.world.faults.configure('s3.PutObject:conflict@1+2');
    let lost: string | undefined;
    const errors: string[] = [];
    lock.startHeartbeat((reason) => (lost = reason), (message) => errors.push(message), 20);
    await waitUntil(() => errors.length >= 2, 'the conflicts are told');
    const before = (await holder()).heartbeatAt;
    await waitUntil(async () => (await holder()).heartbeatAt !== before, 'refreshed after the conflicts');
    expect(lost).toBeUndefined();
    expect(errors[0]).toMatch(/ConditionalRequestConflict/);
    expect(h.sim.world.faults.injected.get('s3.PutObject:conflict')).toBe(2);
    h.sim.world.faults.configure('');
    await lock.release();
  });
});
