import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferState } from '../../src/state/db.js';
import { describeRun, resumeArgs, runCli, spawnCli } from '../helpers/cli.js';
import { TEST_ENV } from '../helpers/sim.js';
import { expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** `start` as the tests run it, without its `--region`: the region comes from the environment or a profile. */
function withoutRegion(args: string[]): string[] {
  const at = args.indexOf('--region');
  return [...args.slice(0, at), ...args.slice(at + 2)];
}

describe('the region, profile and endpoint of a transfer', () => {
  let w: CopyWorld;
  /** An environment with no region anywhere: no AWS_REGION, empty config files, no instance metadata. */
  let bare: Record<string, string>;
  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'vault', seed: 'conn', archives: mixedArchives(8, 'conn') }], buckets: ['bucket'] });
    writeFileSync(w.path('config'), '[profile copier]\nregion = us-east-1\n');
    writeFileSync(w.path('credentials'), `[copier]\naws_access_key_id = ${TEST_ENV.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${TEST_ENV.AWS_SECRET_ACCESS_KEY}\n`);
    bare = { AWS_CONFIG_FILE: w.path('config'), AWS_SHARED_CREDENTIALS_FILE: w.path('credentials'), AWS_EC2_METADATA_DISABLED: 'true' };
  });
  afterAll(() => w?.stop());

  function recorded(state: string) {
    const s = TransferState.open(state, { readonly: true });
    try {
      const { region, profile, endpoint } = s.config();
      return { region, profile, endpoint };
    } finally {
      s.close();
    }
  }

  it('records the region from AWS_REGION, and resume uses it in a shell with no region or another one', async () => {
    const state = w.path('env-region.db');
    const run = spawnCli(withoutRegion(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'env-region/'] })), {
      env: { ...bare, AWS_REGION: 'us-east-1' },
    });
    await run.waitForEvent((e) => e.type === 'archive-verified');
    await run.kill();
    expect(recorded(state)).toEqual({ region: 'us-east-1', profile: undefined, endpoint: w.endpoint });
    // The vault exists only in us-east-1: another region would not find it.
    const elsewhere = await runCli(resumeArgs(state), { env: { ...bare, AWS_REGION: 'eu-west-1' } });
    expect(elsewhere.code, describeRun(elsewhere)).toBe(0);
    const nowhere = await runCli(resumeArgs(state), { env: bare });
    expect(nowhere.code, describeRun(nowhere)).toBe(0);
    const cleanup = await runCli(['cleanup', '--state', state], { env: { ...bare, AWS_REGION: 'eu-west-1' } });
    expect(cleanup.code, describeRun(cleanup)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'env-region/' }), 8);
  });

  it('takes the region from AWS_DEFAULT_REGION, as the AWS CLI does', async () => {
    const state = w.path('default-region.db');
    const run = await runCli(withoutRegion(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'default-region/'] })), {
      env: { ...bare, AWS_DEFAULT_REGION: 'us-east-1' },
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(recorded(state).region).toBe('us-east-1');
  });

  it('takes the region and credentials of --profile from its config, and records the profile', async () => {
    const state = w.path('profile.db');
    const run = await runCli(withoutRegion(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'profile/', '--profile', 'copier'] })), {
      env: { ...bare, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(recorded(state)).toEqual({ region: 'us-east-1', profile: 'copier', endpoint: w.endpoint });
    // resume finds its credentials through the recorded profile too.
    const resumed = await runCli(resumeArgs(state), { env: { ...bare, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
    expect(resumed.code, describeRun(resumed)).toBe(0);
  });

  it('lets resume and cleanup override the recorded region and endpoint, and says so', async () => {
    const state = w.path('override.db');
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'override/'] }));
    expect(run.code, describeRun(run)).toBe(0);
    const moved = await runCli(resumeArgs(state, ['--region', 'eu-west-1']), { env: bare });
    expect(moved.code, describeRun(moved)).toBe(2);
    expect(moved.stderr.trimEnd().split('\n')).toEqual([
      'glacier-copy: using --region eu-west-1 instead of the recorded us-east-1',
      'glacier-copy: vault "vault" not found in region eu-west-1',
    ]);
    const sameSim = `${w.endpoint}/`;
    const cleanup = await runCli(['cleanup', '--state', state, '--endpoint-url', sameSim], { env: bare });
    expect(cleanup.code, describeRun(cleanup)).toBe(0);
    expect(cleanup.stderr.trim()).toBe(`glacier-copy: using --endpoint-url ${sameSim} instead of the recorded ${w.endpoint}`);
    // Overrides are for one run: the record is unchanged.
    expect(recorded(state)).toEqual({ region: 'us-east-1', profile: undefined, endpoint: w.endpoint });
  });
});
