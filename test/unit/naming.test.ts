import { describe, expect, it } from 'vitest';
import {
  MAX_KEY_BYTES,
  UNNAMED_ARCHIVES_FOLDER,
  decodeDescription,
  decodeUtf7,
  nameArchive,
  normalizePrefix,
  parseCompactTime,
  readNamingOverrides,
  resolveKeyCollisions,
  unknownOverrides,
  utf8Length,
  type KeyCandidate,
} from '../../src/naming/index.js';
import { seededRandom } from '../../src/sim/random.js';

const ARCHIVE_ID = 'NkbByEejwEggmBz2fTHgJrg0XBoDfjP4q6iu87-TjhqG6eGoOY9Z8i1_AUyUsuhPAdTqLHy8pTl5nfCFJmDl2yEZONi5L26Omw12vcs01MNGntHEQL8MBfGlqrEXAMPLEArchiveId';

/** As mt-aws-glacier's meta_encode writes it: `mt2 ` + base64url, no padding, of the UTF-8 JSON. */
function mt2(filename: string, mtime = '20130101T000000Z'): string {
  return `mt2 ${Buffer.from(JSON.stringify({ mtime, filename }), 'utf8').toString('base64url')}`;
}

/** mt-aws-glacier 0.80–0.84: the UTF-8 bytes of the JSON taken as Latin-1 and encoded to UTF-8 again. */
function mt1(filename: string, mtime = '20130101T000000Z'): string {
  const json = Buffer.from(JSON.stringify({ mtime, filename }), 'utf8');
  return `mt1 ${Buffer.from(json.toString('latin1'), 'utf8').toString('base64url')}`;
}

/** FastGlacier 2.6.1+ (v4) and CrushFTP: the path is base64 of UTF-8 (.NET's padded base64). */
function fastGlacier(path: string, version = 4, lastModified = '20120821T170824Z'): string {
  const flags = version === 4 ? '1:1:4340ebcf79712dc5e3ef7d50bab98ba5:54687' : '1:1:4340ebcf79712dc5e3ef7d50bab98ba5';
  return `<m><v>${version}</v><p>${Buffer.from(path, 'utf8').toString('base64')}</p><lm>${lastModified}</lm><ce>${flags}</ce></m>`;
}

function segmentsOf(key: string): string[] {
  return key.split('/');
}

describe('decoding archive descriptions', () => {
  it.each([
    ['mt-aws-glacier mt2', mt2('photos/2013/ü 日本.jpg'), 'mt2', 'photos/2013/ü 日本.jpg', '2013-01-01T00:00:00Z'],
    ['mt-aws-glacier mt1 (double-encoded UTF-8)', mt1('фото/ü.jpg', '20121231T235959Z'), 'mt1', 'фото/ü.jpg', '2012-12-31T23:59:59Z'],
    ['mt-aws-glacier mt1 with an ASCII name', mt1('docs/a.txt'), 'mt1', 'docs/a.txt', '2013-01-01T00:00:00Z'],
    ['FastGlacier v4 (its documented example)', '<m><v>4</v><p>Z2xhY2llci1kZy5wZGY=</p><lm>20120821T170824Z</lm><ce>1:1:4340ebcf79712dc5e3ef7d50bab98ba5:54687</ce></m>', 'fastglacier', 'glacier-dg.pdf', '2012-08-21T17:08:24Z'],
    ['FastGlacier v3 with a Windows path', fastGlacier('Backup\\Фото\\img 1.jpg', 3), 'fastglacier', 'Backup/Фото/img 1.jpg', '2012-08-21T17:08:24Z'],
    ['FastGlacier v2', '<m><v>2</v><p>YS9iLnR4dA==</p><lm>20121005T101010Z</lm></m>', 'fastglacier', 'a/b.txt', '2012-10-05T10:10:10Z'],
    ['FastGlacier v1', `<ArchiveMetadata><Path>${Buffer.from('dir\\file.doc').toString('base64')}</Path><Size>123</Size></ArchiveMetadata>`, 'fastglacier-v1', 'dir/file.doc', undefined],
    ['CloudBerry (UTF-7 path, as in mt-aws-glacier tests)', '{"Path":"dir2/+BEQEMAQ5BDs-3","UTCDateModified":"20130322T120043Z"}', 'cloudberry', 'dir2/файл3', '2013-03-22T12:00:43Z'],
    ['CloudBerry with a Windows path and a plus sign', '{"Path":"c:\\\\my+-folder\\\\a.txt","UTCDateModified":"20130313T040002Z","Flags":0}', 'cloudberry', 'c:/my+folder/a.txt', '2013-03-13T04:00:02Z'],
    ['JSON with Path', JSON.stringify({ Path: 'x/y.bin', UploadDate: '2013-01-01T00:00:00Z' }), 'json', 'x/y.bin', undefined],
    ['JSON with path', JSON.stringify({ path: 'lower/case.bin' }), 'json', 'lower/case.bin', undefined],
    ['JSON stored as a JSON string', JSON.stringify(JSON.stringify({ Path: 'C:\\data\\q.zip' })), 'json', 'C:/data/q.zip', undefined],
    ['a plain path', 'photos/2013/img_001.jpg', 'plain', 'photos/2013/img_001.jpg', undefined],
    ['a Windows path', 'D:\\Backups\\2014\\disk.img', 'plain', 'D:/Backups/2014/disk.img', undefined],
    ['free text', '  My holiday photos, 2013  ', 'plain', 'My holiday photos, 2013', undefined],
    ['an empty description', '', 'empty', '', undefined],
    ['a blank description', '   ', 'empty', '', undefined],
  ])('reads %s', (_, description, format, path, mtime) => {
    const decoded = decodeDescription(description);
    expect(decoded).toMatchObject({ format, path });
    expect(decoded.mtime).toBe(mtime);
    expect(decoded.problem).toBeUndefined();
  });

  it.each([
    ['mt2 without a payload', 'mt2', 'mt2 description has no payload'],
    ['mt2 with a payload that is not base64url', 'mt2 abc+/def', 'mt2 payload is not base64url'],
    ['mt2 with a payload that is not JSON', `mt2 ${Buffer.from('hello').toString('base64url')}`, 'mt2 payload is not JSON'],
    ['mt2 whose JSON has no filename', `mt2 ${Buffer.from('{"mtime":"20130101T000000Z"}').toString('base64url')}`, 'mt2 payload has no filename'],
    ['mt2 with bytes that are not UTF-8', `mt2 ${Buffer.from([0x22, 0xff, 0x22]).toString('base64url')}`, 'mt2 payload is not UTF-8'],
    ['mt1 holding an mt2 payload with non-ASCII text', `mt1 ${mt2('ü').slice(4)}`, 'mt1 payload is not UTF-8'],
    ['FastGlacier without a path', '<m><v>4</v><lm>20120821T170824Z</lm></m>', 'FastGlacier <p> path is missing'],
    ['FastGlacier with a path that is not base64', '<m><v>4</v><p>!!!</p></m>', 'FastGlacier <p> path is not base64 of UTF-8 text'],
    ['JSON without a path', '{"Name":"x"}', 'JSON description has no Path'],
    ['CloudBerry with broken UTF-7', '{"Path":"a+","UTCDateModified":"20130101T000000Z"}', 'CloudBerry Path is not valid UTF-7'],
  ])('takes %s as plain text and says why', (_, description, problem) => {
    expect(decodeDescription(description)).toEqual({ format: 'plain', path: description.trim(), problem });
  });

  it('keeps the name when a recorded modification time is not a real time', () => {
    expect(decodeDescription(mt2('a.txt', '20131301T000000Z'))).toEqual({ format: 'mt2', path: 'a.txt', mtime: undefined });
  });

  it('reads compact and extended ISO 8601 times, and refuses impossible ones', () => {
    expect(parseCompactTime('20130101T000000Z')).toBe('2013-01-01T00:00:00Z');
    expect(parseCompactTime('2013-01-01T12:34:56Z')).toBe('2013-01-01T12:34:56Z');
    expect(parseCompactTime('00500101T000000Z')).toBe('0050-01-01T00:00:00Z');
    expect(parseCompactTime('20120630T235960Z')).toBe('2012-06-30T23:59:59Z');
    for (const bad of ['20130230T000000Z', '20130101T250000Z', '20130101T000000', 'yesterday', 42, undefined]) {
      expect(parseCompactTime(bad), String(bad)).toBeUndefined();
    }
  });

  it('decodes UTF-7 as RFC 2152 defines it', () => {
    expect(decodeUtf7('Hi Mom -+Jjo--!')).toBe('Hi Mom -☺-!');
    expect(decodeUtf7('+ZeVnLIqe-')).toBe('日本語');
    expect(decodeUtf7('1 +- 1 = 2')).toBe('1 + 1 = 2');
    expect(decodeUtf7('+2D3eAA-')).toBe('😀');
    expect(decodeUtf7('a+')).toBeUndefined();
    expect(decodeUtf7('+AGF')).toBeUndefined(); // 'a' and then leftover bits that are not zero
  });
});

describe('naming an archive', () => {
  const name = (description: string, prefix = 'vault/') => nameArchive({ archiveId: ARCHIVE_ID, description }, { prefix });

  it('puts the decoded path under the prefix and reports format and modification time', () => {
    expect(name(mt2('photos/ü.jpg'))).toEqual({
      key: 'vault/photos/ü.jpg',
      source: 'description',
      format: 'mt2',
      mtime: '2013-01-01T00:00:00Z',
      truncated: false,
      problem: undefined,
    });
  });

  it.each([
    ['../../etc/passwd', 'vault/etc/passwd'],
    ['/abs/path', 'vault/abs/path'],
    ['a/./b/../c', 'vault/a/b/c'],
    ['a//b///c/', 'vault/a/b/c'],
    ['..\\..\\windows\\system32', 'vault/windows/system32'],
    ['tab\there\u0007bell\u0000nul\u007fdel\u0085nel', 'vault/tabherebellnuldelnel'],
    ['emoji 😀/ok', 'vault/emoji 😀/ok'],
    ['.hidden/..dots/...', 'vault/.hidden/..dots/...'],
  ])('keeps %j inside the prefix as %j', (description, key) => {
    expect(name(description).key).toBe(key);
  });

  it('never lets a decoded name climb out of the prefix or leave an unsafe segment', () => {
    const pieces = ['..', '.', '/', '\\', 'a', 'é', '😀', '\u0000', '\u009b', ' ', '\ud800', '\udc00'];
    const random = seededRandom('hostile names');
    for (let round = 0; round < 1000; round++) {
      const length = 1 + Math.floor(random() * 12);
      const path = Array.from({ length }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      for (const description of [path, mt2(path), fastGlacier(path)]) {
        const { key } = name(description);
        expect(key.startsWith('vault/'), key).toBe(true);
        for (const segment of segmentsOf(key)) expect(['', '.', '..'], JSON.stringify(path)).not.toContain(segment);
        expect(key).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        expect(Buffer.from(key, 'utf8').toString('utf8')).toBe(key); // valid UTF-8: no lone surrogates
      }
    }
  });

  it('replaces lone surrogates that a JSON escape can smuggle in', () => {
    const description = `mt2 ${Buffer.from('{"filename":"bad\\ud800name.txt","mtime":"20130101T000000Z"}').toString('base64url')}`;
    expect(name(description).key).toBe('vault/bad\ufffdname.txt');
  });

  it('gives an archive without a usable name a stable key under a clearly named folder', () => {
    const expected = `vault/${UNNAMED_ARCHIVES_FOLDER}/${ARCHIVE_ID}`;
    expect(name('')).toMatchObject({ key: expected, source: 'fallback', format: 'empty', problem: undefined });
    for (const nothingSafe of ['../..', '///', '\u0001\u0002', mt2('./')]) {
      expect(name(nothingSafe)).toMatchObject({
        key: expected,
        source: 'fallback',
        problem: 'the description names no usable path',
      });
    }
    expect(nameArchive({ archiveId: 'odd/../id', description: '' }).key).toBe(`${UNNAMED_ARCHIVES_FOLDER}/odd____id`);
  });

  it('cuts names longer than S3 allows on a character boundary, keeping prefix and extension', () => {
    for (const unit of ['a', 'é', '日', '😀']) {
      const long = `dir/${unit.repeat(2000)}.jpeg`;
      const named = name(long);
      expect(named.truncated).toBe(true);
      expect(utf8Length(named.key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
      expect(utf8Length(named.key)).toBeGreaterThan(MAX_KEY_BYTES - 4);
      expect(named.key).toMatch(/^vault\/dir\/.+~[0-9a-f]{16}\.jpeg$/);
      expect(Buffer.from(named.key, 'utf8').toString('utf8')).toBe(named.key);
    }
  });

  it('gives different keys to long names that differ only after the cut', () => {
    const stem = 'x'.repeat(1500);
    const first = name(`${stem}-one.txt`).key;
    const second = name(`${stem}-two.txt`).key;
    expect(first).not.toBe(second);
    expect(first.slice(0, 1000)).toBe(second.slice(0, 1000));
  });

  it('keeps a name of exactly 1024 bytes whole', () => {
    const exact = 'b'.repeat(MAX_KEY_BYTES - 'vault/'.length - 4) + '.bin';
    expect(name(exact)).toMatchObject({ key: `vault/${exact}`, truncated: false });
  });

  it('treats the prefix as a folder, made safe', () => {
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('/')).toBe('');
    expect(normalizePrefix('backup')).toBe('backup/');
    expect(normalizePrefix('/backup//2024/./')).toBe('backup/2024/');
    expect(nameArchive({ archiveId: ARCHIVE_ID, description: 'a.txt' }).key).toBe('a.txt');
    expect(() => normalizePrefix('p'.repeat(600))).toThrow(RangeError);
  });

  it('lets an override win over the description, made safe and put under the prefix', () => {
    const named = nameArchive(
      { archiveId: ARCHIVE_ID, description: mt2('decoded.txt') },
      { prefix: 'vault', overrideKey: '../chosen//name.txt' },
    );
    expect(named).toMatchObject({ key: 'vault/chosen/name.txt', source: 'override', format: 'mt2' });
  });

  it('falls back to the description when the override names nothing usable, and says so', () => {
    const named = nameArchive({ archiveId: ARCHIVE_ID, description: 'decoded.txt' }, { overrideKey: '../..' });
    expect(named).toMatchObject({
      key: 'decoded.txt',
      source: 'description',
      problem: 'override key "../.." names no usable path',
    });
  });
});

describe('resolving key collisions', () => {
  const candidate = (archiveId: string, creationDate: string, candidateKey = 'photos/img.jpg'): KeyCandidate => ({
    archiveId,
    creationDate,
    candidateKey,
  });

  function shuffled<T>(items: T[], seed: number): T[] {
    const random = seededRandom(seed);
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }

  const threeSameName = [
    candidate('id-c', '2015-06-01T08:00:00Z'),
    candidate('id-a', '2013-01-01T00:00:00Z'),
    candidate('id-b', '2014-03-02T10:11:12Z'),
  ];

  it('lets the oldest archive keep the name and dates the others, before the extension', () => {
    expect(Object.fromEntries(resolveKeyCollisions(threeSameName))).toEqual({
      'id-a': 'photos/img.jpg',
      'id-b': 'photos/img (2014-03-02T101112Z).jpg',
      'id-c': 'photos/img (2015-06-01T080000Z).jpg',
    });
  });

  it('gives the same keys whatever order the archives come in', () => {
    const archives = [
      ...threeSameName,
      candidate('id-d', '2014-03-02T10:11:12.500Z'),
      candidate('id-e', '2014-03-02T10:11:12Z'),
      candidate('solo', '2016-01-01T00:00:00Z', 'other.txt'),
      candidate('x1', '2016-01-01T00:00:00Z', 'photos/img (2014-03-02T101112Z).jpg'),
    ];
    const expected = Object.fromEntries(resolveKeyCollisions(archives));
    for (let seed = 1; seed <= 25; seed++) {
      expect(Object.fromEntries(resolveKeyCollisions(shuffled(archives, seed))), `seed ${seed}`).toEqual(expected);
    }
    expect(new Set(Object.values(expected)).size).toBe(archives.length);
  });

  it('adds a counter when the dated name is taken, and never takes a name another archive has on its own', () => {
    const keys = resolveKeyCollisions([
      ...threeSameName,
      candidate('id-b2', '2014-03-02T10:11:12Z'), // same second as id-b
      candidate('real', '2010-01-01T00:00:00Z', 'photos/img (2015-06-01T080000Z).jpg'),
    ]);
    expect(Object.fromEntries(keys)).toEqual({
      'id-a': 'photos/img.jpg',
      'id-b': 'photos/img (2014-03-02T101112Z).jpg',
      'id-b2': 'photos/img (2014-03-02T101112Z) (2).jpg',
      'id-c': 'photos/img (2015-06-01T080000Z) (2).jpg',
      real: 'photos/img (2015-06-01T080000Z).jpg',
    });
  });

  it('breaks a tie in creation date by archive id', () => {
    const keys = resolveKeyCollisions([candidate('zz', '2013-01-01T00:00:00Z'), candidate('aa', '2013-01-01T00:00:00Z')]);
    expect(keys.get('aa')).toBe('photos/img.jpg');
    expect(keys.get('zz')).toBe('photos/img (2013-01-01T000000Z).jpg');
  });

  it('suffixes names without an extension, dot-files and compound extensions sensibly', () => {
    const cases: [string, string][] = [
      ['README', 'README (2014-01-01T000000Z)'],
      ['home/.bashrc', 'home/.bashrc (2014-01-01T000000Z)'],
      ['backup.tar.gz', 'backup.tar (2014-01-01T000000Z).gz'],
      ['v1.2/notes', 'v1.2/notes (2014-01-01T000000Z)'],
    ];
    for (const [key, dated] of cases) {
      const keys = resolveKeyCollisions([candidate('old', '2013-01-01T00:00:00Z', key), candidate('new', '2014-01-01T00:00:00Z', key)]);
      expect(keys.get('new')).toBe(dated);
    }
  });

  it('lets an override keep its chosen key over an older archive named by its description', () => {
    const keys = resolveKeyCollisions([
      candidate('described', '2012-01-01T00:00:00Z', 'report.pdf'),
      { ...candidate('chosen', '2019-01-01T00:00:00Z', 'report.pdf'), isOverride: true },
    ]);
    expect(keys.get('chosen')).toBe('report.pdf');
    expect(keys.get('described')).toBe('report (2012-01-01T000000Z).pdf');
  });

  it('keeps a suffixed key within 1024 bytes', () => {
    const longKey = nameArchive({ archiveId: ARCHIVE_ID, description: `${'n'.repeat(1100)}.txt` }).key;
    const keys = resolveKeyCollisions([candidate('a', '2013-01-01T00:00:00Z', longKey), candidate('b', '2014-01-01T00:00:00Z', longKey)]);
    const suffixed = keys.get('b')!;
    expect(suffixed).not.toBe(longKey);
    expect(utf8Length(suffixed)).toBeLessThanOrEqual(MAX_KEY_BYTES);
    expect(suffixed).toMatch(/~[0-9a-f]{16} \(2014-01-01T000000Z\)\.txt$/);
  });
});

describe('reading naming overrides', () => {
  const source = (text: string) => [Buffer.from(text, 'utf8')];

  it('reads archive_id,key lines with an optional header, quotes, commas, BOM and CRLF', async () => {
    const file = '\ufeffarchive_id,key\r\nid-1,plain/key.txt\r\n"id-2","with, comma ""and quotes"".txt"\r\n\r\nid-3, unquoted, comma.txt \r\n';
    const overrides = await readNamingOverrides(source(file));
    expect(Object.fromEntries([...overrides.byArchiveId].map(([id, o]) => [id, o.key]))).toEqual({
      'id-1': 'plain/key.txt',
      'id-2': 'with, comma "and quotes".txt',
      'id-3': 'unquoted, comma.txt',
    });
    expect(overrides.byArchiveId.get('id-3')?.line).toBe(5);
    expect(overrides.problems).toEqual([]);
  });

  it("reads the AWS Guidance's GlacierArchiveID,FileName header, or no header at all", async () => {
    for (const file of ['GlacierArchiveID,FileName\nid-1,a.txt\n', 'id-1,a.txt']) {
      const overrides = await readNamingOverrides(source(file));
      expect(overrides.byArchiveId.get('id-1')?.key).toBe('a.txt');
    }
  });

  it('reports unusable lines and keeps the first key of a repeated archive id', async () => {
    const file = ['id-1,first.txt', 'no comma here', ',orphan.txt', 'id-2,../..', 'id-1,second.txt'].join('\n');
    const overrides = await readNamingOverrides(source(file));
    expect(overrides.byArchiveId.get('id-1')).toEqual({ key: 'first.txt', line: 1 });
    expect(overrides.byArchiveId.has('id-2')).toBe(false);
    expect(overrides.problems).toEqual([
      { line: 2, reason: 'expected archive_id,key' },
      { line: 3, reason: 'archive id is empty' },
      { line: 4, archiveId: 'id-2', reason: 'key "../.." names no usable path' },
      { line: 5, archiveId: 'id-1', reason: 'archive id already has a key on line 1' },
    ]);
  });

  it('reports overrides that name no archive of the inventory', async () => {
    const overrides = await readNamingOverrides(source('known,a.txt\ntypo,b.txt\n'));
    expect(unknownOverrides(overrides, (id) => id === 'known')).toEqual([
      { line: 2, archiveId: 'typo', reason: 'no archive with this id in the inventory' },
    ]);
  });

  it('names archives from overrides and resolves their collisions with decoded names', async () => {
    const overrides = await readNamingOverrides(source('id-new,docs/report.pdf\n'));
    const inventory = [
      { archiveId: 'id-old', description: mt2('docs/report.pdf'), creationDate: '2013-01-01T00:00:00Z' },
      { archiveId: 'id-new', description: 'whatever', creationDate: '2020-01-01T00:00:00Z' },
    ];
    const candidates = inventory.map((archive) => {
      const overrideKey = overrides.byArchiveId.get(archive.archiveId)?.key;
      const named = nameArchive(archive, { prefix: 'p', overrideKey });
      return { ...archive, candidateKey: named.key, isOverride: named.source === 'override' };
    });
    expect(Object.fromEntries(resolveKeyCollisions(candidates))).toEqual({
      'id-new': 'p/docs/report.pdf',
      'id-old': 'p/docs/report (2013-01-01T000000Z).pdf',
    });
  });
});
