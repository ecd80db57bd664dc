import { writeFileSync } from 'node:fs';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedArchiveId, type GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { describeRun, runCli, type CliResult } from '../helpers/cli.js';
import { expectCompleteCopy, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

const SEED = 'names';
const id = (i: number) => generatedArchiveId(SEED, i);
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** Archive i: its description, and the key it must land at (below the prefix `restored/`). */
const CASES: { what: string; archive: GeneratedArchiveSpec; key: string | (() => string) }[] = [
  {
    what: 'mt-aws-glacier mt2',
    archive: { size: 1000, description: `mt2 ${b64url(JSON.stringify({ filename: 'docs/mt/report 2013.txt', mtime: '20130101T000000Z' }))}` },
    key: 'docs/mt/report 2013.txt',
  },
  {
    what: 'FastGlacier v4',
    archive: { size: 2000, description: `<m><v>4</v><p>${b64('fg/naïve/日本 ✓.jpg')}</p><lm>20140101T000000Z</lm></m>` },
    key: 'fg/naïve/日本 ✓.jpg',
  },
  {
    what: 'FastGlacier v1',
    archive: { size: 3000, description: `<ArchiveMetadata><Path>${b64('fg1/old.doc')}</Path><Size>3000</Size></ArchiveMetadata>` },
    key: 'fg1/old.doc',
  },
  { what: 'JSON Path', archive: { size: 4000, description: '{"Path":"json/a b.txt","UploadDate":"2015-01-01T00:00:00Z"}' }, key: 'json/a b.txt' },
  { what: 'JSON path (lower case)', archive: { size: 5000, description: '{"path":"json/lower.txt"}' }, key: 'json/lower.txt' },
  { what: 'plain path', archive: { size: 9 * 1024 * 1024, description: 'plain/dir/file.tar.gz' }, key: 'plain/dir/file.tar.gz' },
  { what: 'backslashes', archive: { size: 6000, description: 'win\\dir\\file.txt' }, key: 'win/dir/file.txt' },
  { what: 'empty', archive: { size: 7000, description: '' }, key: () => `glacier-archives-without-name/${id(7)}` },
  { what: 'hostile ../../etc/passwd', archive: { size: 100, description: '../../etc/passwd' }, key: 'etc/passwd' },
  { what: 'hostile absolute path with ..', archive: { size: 200, description: '/abs/./sub/../x.txt' }, key: 'abs/sub/x.txt' },
  { what: 'control characters', archive: { size: 300, description: '{"Path":"ctl\\u0007/bell\\t.txt"}' }, key: 'ctl/bell.txt' },
];
// Archives 11–13 share a name: the oldest keeps it, the others get their creation date, then a counter.
const DUPLICATES: GeneratedArchiveSpec[] = [
  { size: 400, description: 'dup/same.txt', creationDate: '2015-03-01T10:00:00.000Z' },
  { size: 500, description: 'dup/same.txt', creationDate: '2014-01-01T00:00:00.000Z' },
  { size: 600, description: 'dup/same.txt', creationDate: '2015-03-01T10:00:00.000Z' },
];
// Archive 14 is renamed by the override file; archive 15's override takes the key archive 3's description names.
const OVERRIDDEN: GeneratedArchiveSpec[] = [
  { size: 700, description: 'will-be-overridden.txt' },
  { size: 800, description: 'something else entirely' },
];
const ARCHIVES: GeneratedArchiveSpec[] = [...CASES.map((c) => c.archive), ...DUPLICATES, ...OVERRIDDEN].map((a, i) => ({
  creationDate: new Date(Date.UTC(2016, 0, 1 + i)).toISOString(),
  ...a,
}));

describe('S3 keys of copied archives', () => {
  let w: CopyWorld;
  let run: CliResult;
  let keys: Map<string, string>;
  let overrides: string;

  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'names', seed: SEED, archives: ARCHIVES }], buckets: ['named', 'named-again'] });
    overrides = w.path('overrides.csv');
    writeFileSync(overrides, `archive_id,key\n${id(14)},"overrides/chosen name.txt"\n${id(15)},json/a b.txt\n`);
    const state = w.path('names.db');
    run = await runCli(w.start({ vault: 'names', bucket: 'named', state, extra: ['--prefix', 'restored/', '--naming-overrides', overrides] }));
    keys = w.keysOf(state);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'names', bucket: 'named', prefix: 'restored/' }), ARCHIVES.length);
  });
  afterAll(() => w?.stop());

  async function objectKeys(bucket: string): Promise<string[]> {
    const all: string[] = [];
    for await (const page of paginateListObjectsV2({ client: w.harness.clients.s3 }, { Bucket: bucket })) all.push(...(page.Contents ?? []).map((o) => o.Key!));
    return all.sort();
  }

  it('finishes with exit code 0', () => {
    expect(run.code, describeRun(run)).toBe(0);
  });

  for (const [i, c] of CASES.entries()) {
    if (i === 3) continue; // its key goes to archive 15's override, see below
    it(`names an archive described in the ${c.what} format by the path it holds`, () => {
      expect(keys.get(id(i))).toBe(`restored/${typeof c.key === 'function' ? c.key() : c.key}`);
    });
  }

  it('keeps every object under the prefix, whatever the descriptions say', async () => {
    const all = await objectKeys('named');
    expect(all).toHaveLength(ARCHIVES.length);
    for (const key of all) {
      expect(key.startsWith('restored/'), key).toBe(true);
      expect(key.split('/'), key).not.toContain('..');
      expect(/[\u0000-\u001f]/.test(key), key).toBe(false);
    }
  });

  it('gives archives with the same name the creation date, then a counter, the oldest keeping the plain name', () => {
    expect(keys.get(id(12))).toBe('restored/dup/same.txt');
    // Same creation date: the smaller archive id is served first.
    const [first, second] = [id(11), id(13)].sort();
    expect(keys.get(first!)).toBe('restored/dup/same (2015-03-01T100000Z).txt');
    expect(keys.get(second!)).toBe('restored/dup/same (2015-03-01T100000Z) (2).txt');
  });

  it('lets the --naming-overrides file win over descriptions, even for a name a description also gives', () => {
    expect(keys.get(id(14))).toBe('restored/overrides/chosen name.txt');
    expect(keys.get(id(15))).toBe('restored/json/a b.txt');
    expect(keys.get(id(3))).toBe('restored/json/a b (2016-01-04T000000Z).txt');
  });

  it('decides the same keys whatever the order of the inventory', async () => {
    const reversed = w.writeInventory('names', 'CSV', (text) => {
      const [header, ...rows] = text.split('\r\n').filter((l) => l !== '');
      return [header, ...rows.reverse()].join('\r\n') + '\r\n';
    });
    const state = w.path('names-reversed.db');
    const again = await runCli(
      w.start({ vault: 'names', bucket: 'named-again', state, extra: ['--prefix', 'restored/', '--naming-overrides', overrides, '--inventory', reversed] }),
    );
    expect(again.code, describeRun(again)).toBe(0);
    expect(w.keysOf(state)).toEqual(keys);
    expect(await objectKeys('named-again')).toEqual(await objectKeys('named'));
  });
});
