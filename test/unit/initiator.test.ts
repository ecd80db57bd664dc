import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  GlacierClient,
  GlacierServiceException,
  InitiateJobCommand,
  InsufficientCapacityException,
  InvalidParameterValueException,
  PolicyEnforcedException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  type InitiateJobCommandInput,
} from '@aws-sdk/client-glacier';
import { createAwsClients, type AwsClients } from '../../src/aws/clients.js';
import { AdaptiveLimit, RetrievalInitiator, classifyInitiateError, type InitiateOutcome } from '../../src/retrieve/initiator.js';
import { jobDescription } from '../../src/retrieve/jobs.js';
import { recordRequests, type RequestRecorder } from '../helpers/requests.js';
import { TEST_ENV, startSimHarness, type SimHarness } from '../helpers/sim.js';

const glacier = new GlacierClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const glacierMock = mockClient(glacier);
afterEach(() => {
  glacierMock.reset();
  vi.useRealTimers();
});

const PARAMS = { vault: 'photos', tier: 'Bulk', topicArn: 'arn:aws:sns:us-east-1:123456789012:glacier-copy-t1', transferId: 't1' };
const never = new AbortController().signal;

/** An error as the SDK raises it for an answer of `status` with error code `name`. */
function awsError(name: string, status: number | undefined, message = name): Error {
  return new GlacierServiceException({ name, $fault: status !== undefined && status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'm' });

describe('what an InitiateJob failure means', () => {
  it.each<[string, unknown, InitiateOutcome['kind'], string?]>([
    ['ThrottlingException (400)', awsError('ThrottlingException', 400, 'Rate exceeded'), 'refused', 'throttled'],
    ['429 Too Many Requests', awsError('TooManyRequests', 429), 'refused', 'throttled'],
    ['PolicyEnforcedException', new PolicyEnforcedException({ ...meta(400), code: 'PolicyEnforcedException' }), 'refused', 'policy'],
    ['ResourceNotFoundException (archive deleted)', new ResourceNotFoundException({ ...meta(404) }), 'refused', 'not-found'],
    ['InsufficientCapacityException (no Expedited capacity now)', new InsufficientCapacityException({ ...meta(400) }), 'refused', 'no-capacity'],
    ['500 InternalFailure', awsError('InternalFailure', 500), 'unknown'],
    ['503 ServiceUnavailableException', new ServiceUnavailableException({ ...meta(503) }), 'unknown'],
    ['a connection reset (no HTTP status)', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unknown'],
    ['a socket timeout (no HTTP status)', Object.assign(new Error('Connection timed out after 120000 ms'), { name: 'TimeoutError' }), 'unknown'],
    ['AbortError', Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'unknown'],
    ['AccessDeniedException (403)', awsError('AccessDeniedException', 403), 'fatal'],
    ['ExpiredTokenException', awsError('ExpiredTokenException', 403), 'fatal'],
    ['ExpiredToken without a status', Object.assign(new Error('expired'), { name: 'ExpiredToken' }), 'fatal'],
    ['InvalidParameterValueException (a request the tool got wrong)', new InvalidParameterValueException({ ...meta(400) }), 'fatal'],
  ])('%s', (_, error, kind, reason) => {
    const outcome = classifyInitiateError(error);
    expect(outcome.kind).toBe(kind);
    if (reason) expect(outcome).toMatchObject({ reason });
    expect((outcome as { error: unknown }).error).toBe(error);
  });
});

describe('the adaptive limit of InitiateJob calls at once', () => {
  /** One round trip at the current limit: that many calls, all answered. */
  const roundTrip = (limit: AdaptiveLimit) => {
    const n = limit.current;
    for (let i = 0; i < n; i++) limit.succeeded();
  };

  it('doubles every round trip until the first throttle', () => {
    const limit = new AdaptiveLimit({ initial: 4, min: 1, max: 1000 });
    const seen = [limit.current];
    for (let i = 0; i < 4; i++) {
      roundTrip(limit);
      seen.push(limit.current);
    }
    expect(seen).toEqual([4, 8, 16, 32, 64]);
  });

  it('halves on a throttle, then grows by one per round trip', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000);
    const limit = new AdaptiveLimit({ initial: 32, min: 1, max: 1000 });
    limit.throttled(Date.now() - 5);
    expect(limit.current).toBe(16);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      roundTrip(limit);
      seen.push(limit.current);
    }
    // +1 per round trip (give or take the rounding of fractional growth), not doubling.
    expect(seen[3]! - 16).toBeGreaterThanOrEqual(3);
    expect(seen[3]! - 16).toBeLessThanOrEqual(4);
  });

  it('counts a burst of throttles of calls sent before it decreased as one', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000);
    const limit = new AdaptiveLimit({ initial: 16, min: 1, max: 64 });
    const sentAt = Date.now();
    vi.setSystemTime(10_100);
    // 16 calls sent at once: all throttled; only the first answer halves.
    for (let i = 0; i < 16; i++) limit.throttled(sentAt);
    expect(limit.current).toBe(8);
    // A call sent after the decrease, throttled too: the smaller limit is still too much.
    vi.setSystemTime(10_200);
    const later = Date.now();
    vi.setSystemTime(10_300);
    limit.throttled(later);
    expect(limit.current).toBe(4);
    limit.throttled(sentAt);
    limit.throttled(later);
    expect(limit.current).toBe(4);
  });

  it('stays within its bounds', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const limit = new AdaptiveLimit({ initial: 4, min: 2, max: 20 });
    for (let i = 0; i < 1000; i++) limit.succeeded();
    expect(limit.current).toBe(20);
    for (let t = 1; t < 50; t++) {
      vi.setSystemTime(t * 1000);
      limit.throttled(t * 1000);
    }
    expect(limit.current).toBe(2);
    for (let i = 0; i < 3; i++) limit.succeeded();
    expect(limit.current).toBeGreaterThanOrEqual(2);
    expect(limit.current).toBeLessThanOrEqual(20);
    expect(new AdaptiveLimit().current).toBeGreaterThanOrEqual(1);
  });
});

describe('requesting retrievals', () => {
  it('starts a Bulk retrieval that names the transfer and its topic, and returns the job id', async () => {
    glacierMock.on(InitiateJobCommand).resolves({ jobId: 'JOB-1', location: '/x' });
    const initiator = new RetrievalInitiator(glacier, PARAMS);
    expect(await initiator.initiate('ARCHIVE-1', never)).toEqual({ kind: 'started', jobId: 'JOB-1' });
    const calls = glacierMock.commandCalls(InitiateJobCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      accountId: '-',
      vaultName: 'photos',
      jobParameters: { Type: 'archive-retrieval', ArchiveId: 'ARCHIVE-1', Tier: 'Bulk', SNSTopic: PARAMS.topicArn, Description: jobDescription('t1') },
    });
    expect(initiator.busy).toBe(0);
  });

  it('sends each archive once per call, whatever the answer, and says whether a job may exist', async () => {
    const errors: [unknown, InitiateOutcome['kind']][] = [
      [awsError('InternalFailure', 500), 'unknown'],
      [new ServiceUnavailableException({ ...meta(503) }), 'unknown'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unknown'],
      [awsError('ThrottlingException', 400), 'refused'],
      [new PolicyEnforcedException({ ...meta(400), code: 'PolicyEnforcedException' }), 'refused'],
      [new ResourceNotFoundException({ ...meta(404) }), 'refused'],
      [awsError('AccessDeniedException', 403), 'fatal'],
    ];
    for (const [i, [error, kind]] of errors.entries()) {
      glacierMock.reset();
      glacierMock.on(InitiateJobCommand).rejects(error as Error);
      const initiator = new RetrievalInitiator(glacier, PARAMS);
      const outcome = await initiator.initiate(`ARCHIVE-${i}`, never);
      expect(outcome.kind, String(error)).toBe(kind);
      const calls = glacierMock.commandCalls(InitiateJobCommand);
      expect(calls.map((c) => (c.args[0].input as InitiateJobCommandInput).jobParameters!.ArchiveId)).toEqual([`ARCHIVE-${i}`]);
      expect(initiator.busy).toBe(0);
    }
  });

  it('never has more calls under way than its limit, as its caller asks it for room', async () => {
    let underWay = 0;
    let most = 0;
    const sentAtLimit: number[] = [];
    const started = new Map<string, number>();
    let calls = 0;
    let initiator!: RetrievalInitiator;
    // A service that takes 8 calls at once and throttles the rest.
    glacierMock.on(InitiateJobCommand).callsFake(async (input: InitiateJobCommandInput) => {
      calls++;
      underWay++;
      most = Math.max(most, underWay);
      sentAtLimit.push(underWay - initiator.limit.current);
      try {
        await sleep(2 + (calls % 3));
        if (underWay > 8) throw awsError('ThrottlingException', 400, 'Rate exceeded');
        const id = input.jobParameters!.ArchiveId!;
        started.set(id, (started.get(id) ?? 0) + 1);
        return { jobId: `job-${id}` };
      } finally {
        underWay--;
      }
    });
    initiator = new RetrievalInitiator(glacier, PARAMS, new AdaptiveLimit({ initial: 4, min: 1, max: 64 }));
    const todo = Array.from({ length: 300 }, (_, i) => `A${i}`);
    const pending = new Set<Promise<void>>();
    let throttled = 0;
    const deadline = Date.now() + 20_000;
    while ((todo.length > 0 || pending.size > 0) && Date.now() < deadline) {
      const room = initiator.room();
      for (let i = 0; i < room && todo.length > 0; i++) {
        const archive = todo.shift()!;
        const p: Promise<void> = initiator.initiate(archive, never).then((outcome) => {
          pending.delete(p);
          if (outcome.kind === 'refused') {
            throttled++;
            // While it pauses, it has no room at all.
            expect(initiator.room()).toBe(0);
            todo.push(archive);
          } else expect(outcome.kind).toBe('started');
        });
        pending.add(p);
      }
      await Promise.race([...pending, sleep(5)]);
    }
    expect(todo).toEqual([]);
    expect(started.size).toBe(300);
    expect([...started.values()].every((n) => n === 1)).toBe(true);
    expect(throttled).toBeGreaterThan(0);
    // Every call was sent with room for it: never more under way than the limit at that moment.
    expect(Math.max(...sentAtLimit)).toBeLessThanOrEqual(0);
    expect(most).toBeLessThanOrEqual(64);
    // It found the service's capacity instead of staying at its first guess or at the ceiling.
    expect(most).toBeGreaterThan(4);
    expect(initiator.limit.current).toBeLessThan(32);
  });

  it('has no room while it pauses after a throttle, and room again after the pause', async () => {
    glacierMock.on(InitiateJobCommand).rejectsOnce(awsError('ThrottlingException', 400, 'Rate exceeded')).resolves({ jobId: 'J' });
    const initiator = new RetrievalInitiator(glacier, PARAMS, new AdaptiveLimit({ initial: 8, min: 1, max: 64 }));
    expect(initiator.room()).toBe(8);
    expect(initiator.pausedUntilMs).toBe(0);
    const before = Date.now();
    expect(await initiator.initiate('A', never)).toMatchObject({ kind: 'refused', reason: 'throttled' });
    const until = initiator.pausedUntilMs;
    // A short pause (with jitter) at first, and half the calls at once.
    expect(until).toBeGreaterThan(Date.now());
    expect(until).toBeLessThanOrEqual(before + 100 + 50);
    expect(initiator.room()).toBe(0);
    expect(initiator.room(until - 1)).toBe(0);
    expect(initiator.room(until)).toBe(4);
    await sleep(Math.max(0, until - Date.now()) + 5);
    expect(initiator.room()).toBe(4);
    expect(await initiator.initiate('A', never)).toEqual({ kind: 'started', jobId: 'J' });
  });

  it('pauses once, briefly, when calls sent together are throttled together', async () => {
    // 16 calls under way when the service starts refusing: 16 refusals of one burst, not 16 refusals in a row.
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (release = resolve));
    glacierMock.on(InitiateJobCommand).callsFake(async () => {
      await answered;
      throw awsError('ThrottlingException', 400, 'Rate exceeded');
    });
    const initiator = new RetrievalInitiator(glacier, PARAMS, new AdaptiveLimit({ initial: 16, min: 1, max: 64 }));
    const calls = Array.from({ length: 16 }, (_, i) => initiator.initiate(`A${i}`, never));
    await sleep(2);
    const before = Date.now();
    release();
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => o.kind === 'refused')).toBe(true);
    expect(initiator.limit.current).toBe(8);
    // The first pause after a success is at most 100 ms, however many calls it refused at once.
    expect(initiator.pausedUntilMs - before).toBeLessThanOrEqual(100 + 20);
  });

  it('pauses longer after each throttle in a row, and starts afresh after a success', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    glacierMock.on(InitiateJobCommand).rejects(awsError('ThrottlingException', 400));
    const initiator = new RetrievalInitiator(glacier, PARAMS);
    const pauses: number[] = [];
    for (let i = 0; i < 12; i++) {
      await initiator.initiate('A', never);
      pauses.push(initiator.pausedUntilMs - Date.now());
      vi.setSystemTime(initiator.pausedUntilMs);
    }
    // 100 ms, 200 ms … doubling (each 0.5–1× with jitter), up to 30 s.
    expect(pauses[0]).toBeLessThanOrEqual(100);
    expect(pauses[5]).toBeGreaterThanOrEqual(1600);
    expect(Math.max(...pauses)).toBeLessThanOrEqual(30_000);
    expect(pauses[11]).toBeGreaterThanOrEqual(15_000);
    glacierMock.reset();
    glacierMock.on(InitiateJobCommand).resolvesOnce({ jobId: 'J' }).rejects(awsError('ThrottlingException', 400));
    expect(await initiator.initiate('A', never)).toMatchObject({ kind: 'started' });
    await initiator.initiate('B', never);
    expect(initiator.pausedUntilMs - Date.now()).toBeLessThanOrEqual(100);
  });

  it('waits minutes, not milliseconds, when the vault\'s retrieval policy refuses', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    glacierMock.on(InitiateJobCommand).rejects(new PolicyEnforcedException({ ...meta(400), code: 'PolicyEnforcedException' }));
    const initiator = new RetrievalInitiator(glacier, PARAMS);
    const pauses: number[] = [];
    for (let i = 0; i < 12; i++) {
      expect(await initiator.initiate('A', never)).toMatchObject({ kind: 'refused', reason: 'policy' });
      pauses.push(initiator.pausedUntilMs - Date.now());
      vi.setSystemTime(initiator.pausedUntilMs);
    }
    expect(pauses[0]).toBeGreaterThanOrEqual(500);
    expect(pauses[11]).toBeGreaterThanOrEqual(150_000);
    expect(Math.max(...pauses)).toBeLessThanOrEqual(300_000);
  });

  it('pauses once for the policy when calls sent together are refused together', async () => {
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (release = resolve));
    glacierMock.on(InitiateJobCommand).callsFake(async () => {
      await answered;
      throw new PolicyEnforcedException({ ...meta(400), code: 'PolicyEnforcedException' });
    });
    const initiator = new RetrievalInitiator(glacier, PARAMS, new AdaptiveLimit({ initial: 16, min: 1, max: 64 }));
    const calls = Array.from({ length: 16 }, (_, i) => initiator.initiate(`A${i}`, never));
    await sleep(2);
    const before = Date.now();
    release();
    expect((await Promise.all(calls)).every((o) => o.kind === 'refused')).toBe(true);
    expect(initiator.pausedUntilMs - before).toBeGreaterThanOrEqual(500);
    expect(initiator.pausedUntilMs - before).toBeLessThanOrEqual(1000 + 20);
  });
});

describe('InitiateJob on the wire', () => {
  let h: SimHarness;
  let recorder: RequestRecorder;
  let tool: AwsClients;
  const ARCHIVES = 40;
  beforeAll(async () => {
    h = await startSimHarness({ glacier: { jobDelaySeconds: { Bulk: 1e9 }, vaults: [{ name: 'wire', seed: 'wire', count: ARCHIVES }] } });
    recorder = recordRequests(h.sim);
    tool = createAwsClients({
      region: 'us-east-1',
      endpoint: h.sim.url,
      credentials: { accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY },
    });
  });
  afterEach(() => h.sim.world.faults.configure(''));
  afterAll(async () => {
    tool?.destroy();
    await h?.stop();
  });

  const archiveIds = () => [...h.sim.world.glacier.store.getVault('us-east-1', 'wire').archives.values()].map((a) => a.id);

  it.each([
    ['500', 'unknown'],
    ['503', 'unknown'],
    ['reset', 'unknown'],
    ['lose', 'unknown'],
    ['throttle', 'refused'],
    // A data retrieval policy limits Standard retrievals only, Glacier's capacity Expedited ones only.
    ['policy', 'refused', 'Standard'],
    ['capacity', 'refused', 'Expedited'],
    ['auth', 'fatal'],
  ] as const)('sends InitiateJob once when the answer is %s: a retry could start, and bill, a second job', async (fault, kind, tier: string = PARAMS.tier) => {
    h.sim.world.faults.configure(`glacier.InitiateJob:${fault}=1`);
    recorder.phase = `once-${fault}`;
    const initiator = new RetrievalInitiator(tool.glacierSingleAttempt, { ...PARAMS, tier, vault: 'wire', topicArn: undefined });
    const archive = archiveIds()[0]!;
    const outcome = await initiator.initiate(archive, never);
    expect(outcome.kind).toBe(kind);
    expect(recorder.of('glacier', 'InitiateJob', (r) => r.phase === `once-${fault}`)).toHaveLength(1);
  });

  it('is not what the SDK does by default: the test above would see its retries', async () => {
    h.sim.world.faults.configure('glacier.InitiateJob:503=1');
    recorder.phase = 'sdk-retries';
    const initiator = new RetrievalInitiator(tool.glacier, { ...PARAMS, vault: 'wire', topicArn: undefined });
    expect((await initiator.initiate(archiveIds()[0]!, never)).kind).toBe('unknown');
    expect(recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'sdk-retries').length).toBeGreaterThan(1);
  });

  it('starts exactly one job per archive against a rate-limited service, with calls under way at once', async () => {
    const limited = await startSimHarness({
      glacier: { initiateJobRate: { perSecond: 100, burst: 5 }, jobDelaySeconds: { Bulk: 1e9 }, vaults: [{ name: 'limited', seed: 'limited', count: ARCHIVES }] },
    });
    const rec = recordRequests(limited.sim);
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoint: limited.sim.url,
      credentials: { accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY },
    });
    try {
      const initiator = new RetrievalInitiator(clients.glacierSingleAttempt, { ...PARAMS, vault: 'limited', topicArn: undefined });
      const todo = [...limited.sim.world.glacier.store.getVault('us-east-1', 'limited').archives.values()].map((a) => a.id);
      const jobs = new Map<string, string>();
      const pending = new Set<Promise<void>>();
      let most = 0;
      while (todo.length > 0 || pending.size > 0) {
        for (let room = initiator.room(); room > 0 && todo.length > 0; room--) {
          const archive = todo.shift()!;
          const p: Promise<void> = initiator.initiate(archive, never).then((o) => {
            pending.delete(p);
            if (o.kind === 'started') jobs.set(archive, o.jobId);
            else if (o.kind === 'refused') todo.push(archive);
            else throw new Error(`unexpected outcome ${o.kind}`);
          });
          pending.add(p);
        }
        most = Math.max(most, initiator.busy);
        await Promise.race([...pending, sleep(5)]);
      }
      expect(jobs.size).toBe(ARCHIVES);
      expect(limited.sim.world.glacier.initiateJobLimit!.refused).toBeGreaterThan(0);
      const accepted = rec.of('glacier', 'InitiateJob', (r) => r.status === 202);
      expect(accepted).toHaveLength(ARCHIVES);
      expect(new Set(accepted.map((r) => r.archiveId)).size).toBe(ARCHIVES);
      expect(most).toBeGreaterThan(1);
    } finally {
      clients.destroy();
      await limited.stop();
    }
  });
});
