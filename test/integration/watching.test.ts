import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeRun, eventsOf, runCli, spawnCli } from '../helpers/cli.js';
import { MIB, mixedArchives, startCopyWorld, waitUntil, type CopyWorld } from '../helpers/copy-world.js';

/** The terminal's text without its control sequences (colours, cursor moves, clears). */
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const plain = (screen: string) => screen.replace(ESCAPES, '').replace(/\r/g, '');
/** What cli-progress writes to clear the bars (readline's clearScreenDown) */
const CLEAR_DOWN = '\x1b[0J';

/** The log's lines, each a JSON object (pino) */
function logLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('watching a run', () => {
  let w: CopyWorld;

  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'screen', seed: 'screen', archives: mixedArchives(12, 'screen') },
        { name: 'piped', seed: 'piped', archives: Array.from({ length: 10 }, (_, i) => ({ size: 3 * 8 * MIB + i, description: `piped/${i}.bin` })) },
        { name: 'lines', seed: 'lines', archives: mixedArchives(10, 'lines') },
        { name: 'flawed', seed: 'flawed', archives: [10, 70_000, 9 * MIB].map((size, i) => ({ size, description: `flawed/${i}.bin` })) },
      ],
      buckets: ['screen-target', 'piped-target', 'lines-target', 'flawed-target'],
    });
  });
  afterAll(() => w?.stop());

  it('shows bars with bytes, rate and ETA on a terminal, clears them at the end, and leaves the summary on screen', async () => {
    const state = w.path('screen.db');
    const args = ['start', '--vault', 'screen', '--bucket', 'screen-target', '--endpoint-url', w.endpoint, '--region', 'us-east-1', '--state', state, '--poll-interval', '1s', '--part-size', '8MiB', '--yes'];
    const run = await runCli(args, { terminal: true, env: { TERM: 'xterm-256color' } });
    expect(run.code, describeRun(run)).toBe(0);
    const screen = run.stdout;
    const text = plain(screen);
    expect(text).toMatch(/archives \|[█░]+\| \d+\/12 verified · \d+ requested · \d+ ready · 0 failed/);
    expect(text).toMatch(/bytes +\|[█░]+\| [\d.]+ (B|KiB|MiB)\/[\d.]+ MiB · [\d.]+ (B|KiB|MiB|GiB)\/s · ETA \d/);
    // Raw byte counts are gone: the bars speak in units.
    expect(text).not.toMatch(/\| \d{6,}\//);
    const end = screen.lastIndexOf(CLEAR_DOWN);
    expect(end, 'the bars are cleared at the end').toBeGreaterThan(0);
    const after = plain(screen.slice(end));
    expect(after).not.toMatch(/[█░]/);
    expect(after).toContain('12/12 archives verified in S3');
    expect(after).toMatch(/requests: \d+ S3 write requests/);
    expect(existsSync(`${state}.lock`), 'no lock file is left after a finished run').toBe(false);
  });

  it('without a terminal, prints a progress line per interval and counts repeated events in one line per kind, each in the log', async () => {
    w.harness.sim.world.faults.configure('glacier.GetJobOutput:corrupt=0.3;seed=5');
    const state = w.path('piped.db');
    const log = w.path('piped-run.log');
    const run = await runCli([
      ...w.start({ vault: 'piped', bucket: 'piped-target', state }).filter((a) => a !== '--json'),
      '--progress-interval', '1s', '--log-file', log, '--log-level', 'debug',
    ]);
    w.harness.sim.world.faults.configure('');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stderr).not.toMatch(ESCAPES);
    expect(run.stderr).not.toMatch(/[█░]/);
    const progress = run.stderr.split('\n').filter((l) => / progress: /.test(l));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/progress: 10\/10 archives verified \(0 requested, 0 ready, 0 failed\), [\d.]+ MiB of [\d.]+ MiB, [\d.]+ (B|KiB|MiB|GiB)\/s, ETA 0s$/);
    // Retries come as counts; the sum of the counts is every retry, and the log holds each one with its bytes.
    const counted = run.stderr.split('\n').map((l) => /(\d+) requests tried again in the last \S+ \(the first: .*tree hash.*\); details in (\S+)$/.exec(l)).filter((m) => m !== null);
    const logged = logLines(log).filter((l) => l.type === 'part-retry');
    expect(logged.length, 'the seed corrupts some downloads').toBeGreaterThan(0);
    expect(counted.reduce((n, m) => n + Number(m[1]), 0)).toBe(logged.length);
    for (const m of counted) expect(m[2]).toBe(log);
    expect(run.stderr).not.toMatch(/retrying part/);
    for (const l of logged) {
      expect(l).toMatchObject({ vault: 'piped', level: 40, archiveId: expect.any(String), range: expect.stringMatching(/^bytes=\d+-\d+$/) });
    }
    const entries = logLines(log);
    expect(entries.filter((l) => l.type === 'archive-verified')).toHaveLength(10);
    expect(entries.at(-1)).toMatchObject({ type: 'summary', exitCode: 0, vault: 'piped', msg: 'summary' });
    // The summary is the human text on stdout; nothing else is.
    expect(run.stdout).toMatch(/^10\/10 archives verified in S3/m);
    expect(run.stdout).not.toMatch(/progress|tried again/);
  });

  it('--json: stdout is JSON lines only, every event then the summary; --output json is the same; a refusal is an error event', async () => {
    const state = w.path('lines.db');
    const run = await runCli(w.start({ vault: 'lines', bucket: 'lines-target', state }));
    expect(run.code, describeRun(run)).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean);
    const parsed = lines.map((l) => JSON.parse(l) as { type: string; at: string });
    expect(parsed.length).toBe(lines.length);
    for (const e of parsed) expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(parsed.at(-1)).toMatchObject({ type: 'summary', exitCode: 0, done: true, archives: 10, verified: { archives: 10 }, interrupted: false });
    expect(eventsOf(run, 'archive-verified')).toHaveLength(10);
    expect([...new Set(eventsOf(run, 'phase').map((e) => e.phase))]).toEqual(['validate', 'notifications', 'inventory', 'plan', 'already-in-s3', 'copy', 'cleanup', 'done']);
    expect(run.text).toBe('');
    expect(run.stderr).toContain('10/10 archives verified in S3');

    for (const json of [['--json'], ['--output', 'json']]) {
      const refused = await runCli(['start', '--vault', 'no-such-vault', '--bucket', 'lines-target', '--endpoint-url', w.endpoint, '--region', 'us-east-1', '--state', w.path(`refused-${json.length}.db`), ...json]);
      expect(refused.code, describeRun(refused)).toBe(2);
      const out = refused.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; message?: string; exitCode?: number });
      expect(out.at(-1)).toMatchObject({ type: 'error', exitCode: 2, message: expect.stringMatching(/vault "no-such-vault" not found/) });
      expect(refused.stderr).toMatch(/vault "no-such-vault" not found/);
    }
  });

  it('status shows failures with reasons and what resume will do; --watch ends with the run and refuses intervals under a second', async () => {
    const source = w.archives('flawed');
    const wrong = source.find((a) => a.size === 70_000)!;
    const inventory = w.writeInventory('flawed', 'JSON', (t) => t.replace(wrong.treeHash, wrong.treeHash.replace(/^./, (c) => (c === '0' ? '1' : '0'))));
    const state = w.path('flawed.db');
    const run = await runCli(w.start({ vault: 'flawed', bucket: 'flawed-target', state, extra: ['--inventory', inventory] }));
    expect(run.code, describeRun(run)).toBe(1);

    const status = await runCli(['status', '--state', state]);
    expect(status.code, describeRun(status)).toBe(0);
    expect(status.stdout).toMatch(/— finished$/m);
    expect(status.stdout).toMatch(/failed: flawed\/1\.bin: .*tree hash/);
    expect(status.stdout).toMatch(/resume +1 failed for a lasting reason stay failed \(`resume --retry-failed` tries them once the cause is fixed\)/);
    expect(status.stdout).toMatch(/Glacier retrievals, 0 of them re-requests/);

    for (const interval of ['0', '500ms']) {
      const refused = await runCli(['status', '--state', state, '--watch', interval]);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toBe(`glacier-copy: --watch ${interval}: an interval must be at least 1s`);
    }
    // The transfer is finished: one report, and watching stops instead of printing forever.
    const watched = await runCli(['status', '--state', state, '--watch', '1s', '--output', 'json'], { timeoutMs: 20_000 });
    expect(watched.code, describeRun(watched)).toBe(0);
    expect(watched.events).toHaveLength(1);
    expect(watched.events[0]).toMatchObject({ running: false, finished: true, resume: { stayFailed: 1, request: 0, retry: 0 } });
  });

  it('status --watch redraws in place while a run drives the transfer, and stops when that run ends', async () => {
    // Notifications lost and a poll an hour away: the run waits with its retrievals requested, alive.
    w.harness.sim.world.faults.configure('glacier.JobNotification:drop=1');
    const state = w.path('live.db');
    const base = ['start', '--vault', 'lines', '--bucket', 'lines-target', '--endpoint-url', w.endpoint, '--region', 'us-east-1'];
    const inventory = w.writeInventory('lines', 'JSON');
    const run = spawnCli([...base, '--state', state, '--prefix', 'live/', '--poll-interval', '1h', '--json', '--inventory', inventory]);
    try {
      await run.waitForEvent((e) => e.type === 'job-initiated');
      const watching = runCli(['status', '--state', state, '--watch', '1s'], { terminal: true, timeoutMs: 30_000 });
      await sleep(2500);
      await run.kill();
      const watched = await watching;
      expect(watched.code, describeRun(watched)).toBe(0);
      // Each report replaced the last (home, clear), at least twice while the run lived.
      expect(watched.stdout.split('\x1b[H\x1b[2J').length - 1).toBeGreaterThanOrEqual(2);
      const screen = plain(watched.stdout);
      expect(screen).toMatch(/requested +\d+ archives/);
      expect(screen).toContain('the run ended before the transfer did: `glacier-copy resume` continues it');
    } finally {
      w.harness.sim.world.faults.configure('');
      await run.kill().catch(() => undefined);
    }
  });

  it('counts Glacier\'s wait in the ETA while nothing is ready yet: a range, the tier\'s documented hours', async () => {
    w.harness.sim.world.faults.configure('glacier.JobNotification:drop=1');
    const base = ['start', '--vault', 'lines', '--bucket', 'lines-target', '--endpoint-url', w.endpoint, '--region', 'us-east-1'];
    w.recorder.phase = 'waiting-eta';
    const run = spawnCli([...base, '--state', w.path('eta.db'), '--prefix', 'eta/', '--poll-interval', '1h', '--no-progress', '--progress-interval', '1s', '--inventory', w.writeInventory('lines', 'JSON')]);
    try {
      await waitUntil(() => w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'waiting-eta' && r.jobType === 'archive-retrieval').length > 0, 'retrievals requested');
      await sleep(2500);
      const stopped = await run.kill();
      // Bulk jobs take 5–12 hours: nothing ready yet (the empty archives need no retrieval), so the ETA is that wait, as a range.
      expect(stopped.stderr).toMatch(/progress: \d+\/\d+ archives verified \(\d+ requested, 0 ready, 0 failed\), 0 B of .*, ETA [45]h\d\dm–1[12]h\d\dm$/m);
    } finally {
      w.harness.sim.world.faults.configure('');
    }
  });

  it('refuses a progress interval under a second and a log file it cannot write, leaving no state', async () => {
    const base = ['start', '--vault', 'lines', '--bucket', 'lines-target', '--endpoint-url', w.endpoint, '--region', 'us-east-1'];
    const fast = await runCli([...base, '--state', w.path('fast.db'), '--progress-interval', '500ms']);
    expect(fast.code).toBe(2);
    expect(fast.stderr.trim()).toBe('glacier-copy: --progress-interval 500ms: an interval must be at least 1s');
    const state = w.path('unlogged.db');
    const unlogged = await runCli([...base, '--state', state, '--log-file', '/dev/null/run.log']);
    expect(unlogged.code, describeRun(unlogged)).toBe(2);
    expect(unlogged.stderr.trim()).toMatch(/^glacier-copy: cannot write the log file \/dev\/null\/run\.log: .* \(pass --log-file\)$/);
    expect(existsSync(state)).toBe(false);
  });

  it('suggests the closest name on a typo, for commands and their options', async () => {
    const command = await runCli(['strat']);
    expect(command.code).toBe(2);
    expect(command.stderr.trim()).toBe("error: unknown command 'strat' (Did you mean start?)");
    const option = await runCli(['status', '--wacth']);
    expect(option.code).toBe(2);
    expect(option.stderr.trim()).toBe("error: unknown option '--wacth' (Did you mean --watch?)");
  });
});
