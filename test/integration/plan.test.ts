import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIB } from '../../src/plan/chunks.js';
import { CLI_BIN, childEnv, describeRun, resumeArgs, runCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** `start`'s arguments as `plan` takes them (the test helper writes `start` and an 8 MiB part size). */
const asPlan = (args: string[]) => ['plan', ...args.slice(1)];

describe('plan (start --dry-run): the cost and duration of a copy, before anything is spent', () => {
  let w: CopyWorld;
  const archives = mixedArchives(14, 'plan');
  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'planned', seed: 'plan', archives }], buckets: ['plan-target'] });
  });
  afterAll(() => w?.stop());

  it('reads the inventory, names the archives and prices the copy, retrieving and writing nothing; resume then copies', async () => {
    const state = w.path('plan.db');
    const before = w.recorder.requests.length;
    const run = await runCli(asPlan(w.start({ vault: 'planned', bucket: 'plan-target', state, extra: ['--prefix', 'p/'] })));
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stderr).toContain(`resume --state ${state}`);
    const plan = run.events.find((e) => e.type === 'plan') as unknown as {
      inventory: { archives: number; bytes: number };
      toCopy: { archives: number; bytes: number; putRequests: number; histogram: { archives: number }[] };
      alreadyInS3: { archives: number };
      cost: { copy: { cost: number }[]; copyTotal: number; monthlyTotal: number; minimumDays: number; pricesAsOf: string };
      duration: { waitHours: { min: number; max: number } };
    };
    const source = w.archives('planned');
    const bytes = source.reduce((n, a) => n + a.size, 0);
    expect(plan.inventory).toEqual({ archives: source.length, bytes });
    expect(plan.alreadyInS3.archives).toBe(0);
    // The requests the copy will make, counted independently: one PutObject up to the part size, else create + parts + complete.
    const part = 8 * MIB;
    const puts = source.reduce((n, a) => n + (a.size <= part ? 1 : Math.ceil(a.size / part) + 2), 0);
    expect(plan.toCopy).toMatchObject({ archives: source.length, bytes, putRequests: puts });
    expect(plan.toCopy.histogram.reduce((n, h) => n + h.archives, 0)).toBe(source.length);
    // docs/prices.json, us-east-1: Bulk $0.025 per 1,000 requests and $0.0025 per GB; DEEP_ARCHIVE PUT $0.05 per 1,000.
    const expected = [(source.length / 1000) * 0.025, (bytes / GIB) * 0.0025, (puts / 1000) * 0.05];
    plan.cost.copy.forEach((line, i) => expect(line.cost).toBeCloseTo(expected[i]!, 10));
    expect(plan.cost.minimumDays).toBe(180);
    expect(plan.duration.waitHours).toEqual({ min: 5, max: 12 });

    // Nothing was retrieved or written, and no topic, queue or marker was made for it.
    const during = w.recorder.requests.slice(before);
    const called = new Set(during.map((r) => `${r.service}.${r.operation}`));
    for (const spent of ['s3.PutObject', 's3.CreateMultipartUpload', 's3.UploadPart', 'sns.CreateTopic', 'sqs.CreateQueue']) expect(called.has(spent), spent).toBe(false);
    expect(during.filter((r) => r.jobType === 'archive-retrieval')).toHaveLength(0);

    const beforeCopy = w.recorder.requests.length;
    const copy = await runCli(resumeArgs(state));
    expect(copy.code, describeRun(copy)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'planned', bucket: 'plan-target', prefix: 'p/' }), source.length);
    // The plan's requests were the copy's: per archive, the transfer's own listings and marker aside.
    expect(copy.summary).toContain(`(${(puts / source.length).toFixed(2)} per archive copied, `);
    // The plan's inventory was used: the copy requested archives only.
    const jobs = w.recorder.requests.slice(beforeCopy).filter((r) => r.operation === 'InitiateJob' && r.status === 202);
    expect(jobs.filter((r) => r.jobType !== 'archive-retrieval')).toHaveLength(0);

    // A plan over the finished copy: everything is already in S3, nothing to pay.
    const again = await runCli(asPlan(w.start({ vault: 'planned', bucket: 'plan-target', state: w.path('plan-again.db'), extra: ['--prefix', 'p/'] })));
    expect(again.code, describeRun(again)).toBe(0);
    const nothing = again.events.find((e) => e.type === 'plan') as unknown as typeof plan;
    expect(nothing.alreadyInS3.archives).toBe(source.length);
    expect(nothing.toCopy.archives).toBe(0);
    expect(nothing.cost.copyTotal).toBe(0);
  });

  it('prints the plan as text with start --dry-run, and says when the price table has no prices for the region', async () => {
    const text = await runCli(
      w.start({ vault: 'planned', bucket: 'plan-target', state: w.path('dry.db'), extra: ['--prefix', 'dry/', '--dry-run'] }).filter((a) => a !== '--json'),
    );
    expect(text.code, describeRun(text)).toBe(0);
    expect(text.stdout).toContain(`inventory: ${archives.length} archives`);
    expect(text.stdout).toMatch(/cost \(USD, prices of \d{4}-\d{2}-\d{2} for us-east-1; check them, or pass --prices FILE\):/);
    expect(text.stdout).toMatch(/duration: about \d+h\d\dm–\d+h\d\dm/);

    const prices = w.path('prices.json');
    writeFileSync(prices, JSON.stringify({ asOf: '2030-01-01', currency: 'USD', source: 'test', regions: {} }));
    const none = await runCli([...asPlan(w.start({ vault: 'planned', bucket: 'plan-target', state: w.path('noprices.db') })), '--prices', prices]);
    expect(none.code, describeRun(none)).toBe(0);
    expect((none.events.find((e) => e.type === 'plan') as { noCost?: string }).noCost).toMatch(/no prices for Bulk retrievals into DEEP_ARCHIVE in us-east-1 .* pass --prices FILE/);

    writeFileSync(prices, 'not json');
    const bad = await runCli([...asPlan(w.start({ vault: 'planned', bucket: 'plan-target', state: w.path('badprices.db') })), '--prices', prices]);
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toMatch(/^glacier-copy: --prices .*prices\.json: /);
  });

  /** Runs the CLI in a pseudo-terminal (util-linux `script`), answering `reply` to its question; the screen as it was shown. */
  function onTerminal(args: string[], reply: string): Promise<{ code: number | null; screen: string }> {
    const command = [process.execPath, CLI_BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = false;
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      if (!answered && screen.includes('go ahead? [y/N]')) {
        answered = true;
        child.stdin.write(`${reply}\n`);
      }
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, screen })));
  }

  it.skipIf(!existsSync('/usr/bin/script'))('asks before spending on a terminal, showing the cost and duration in one line; no retrieves nothing, yes copies', async () => {
    const args = w.start({ vault: 'planned', bucket: 'plan-target', state: w.path('asked.db'), extra: ['--prefix', 'asked/'] }).filter((a) => a !== '--json');
    const before = w.recorder.requests.length;
    const declined = await onTerminal(args, 'n');
    expect(declined.code, declined.screen).toBe(0);
    expect(declined.screen).toMatch(new RegExp(`${archives.length} archives, .* to copy: \\$\\d+\\.\\d\\d \\(then \\$\\d+\\.\\d\\d/month at DEEP_ARCHIVE\\), about \\d+h\\d\\dm–\\d+h\\d\\dm`));
    expect(declined.screen).toContain('nothing was retrieved');
    expect(w.recorder.requests.slice(before).filter((r) => r.jobType === 'archive-retrieval')).toHaveLength(0);

    const accepted = await onTerminal(args.map((a) => (a === w.path('asked.db') ? w.path('asked-yes.db') : a)), 'y');
    expect(accepted.code, accepted.screen).toBe(0);
    expect(accepted.screen).toContain(`${archives.length}/${archives.length} archives verified in S3`);
    expectCompleteCopy(await w.audit({ statePath: w.path('asked-yes.db'), vault: 'planned', bucket: 'plan-target', prefix: 'asked/' }), archives.length);
  });
});
