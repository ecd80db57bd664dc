import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  InventoryFormatError,
  readInventory,
  type ByteSource,
  type InventoryArchive,
  type InventoryEvent,
  type InventoryHeader,
} from '../../src/inventory/index.js';
import { checkArchive } from '../../src/inventory/validate.js';
import { seededRandom } from '../../src/sim/random.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = '0123456789abcdef'.repeat(4);
const ID_1 = 'NkbByEejwEggmBz2fTHgJrg0XBoDfjP4q6iu87-TjhqG6eGoOY9Z8i1_AUyUsuhPAdTqLHy8pTl5nfCFJmDl2yEZONi5L26Omw12vcs01MNGntHEQL8MBfGlqrEXAMPLEArchiveId';

async function collect(source: ByteSource): Promise<InventoryEvent[]> {
  const events: InventoryEvent[] = [];
  for await (const event of readInventory(source)) events.push(event);
  return events;
}

function archivesOf(events: InventoryEvent[]): InventoryArchive[] {
  return events.flatMap((event) => (event.kind === 'archive' ? [event.archive] : []));
}

async function formatErrorOf(source: ByteSource): Promise<InventoryFormatError> {
  const error = await collect(source).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InventoryFormatError);
  const formatError = error as InventoryFormatError;
  expect(formatError.message).not.toMatch(/[\r\n]/);
  return formatError;
}

/** The same bytes cut into pieces at the given positions. */
function sliced(bytes: Buffer, cuts: number[]): Buffer[] {
  const edges = [0, ...cuts, bytes.length];
  return edges.slice(1).map((end, i) => bytes.subarray(edges[i], end));
}

/** Descriptions real vaults hold: commas, quotes, backslashes (also last), unicode, empty. */
const QUIRKY_DESCRIPTIONS = [
  'holiday, 2013, best of',
  'say "cheese"',
  'C:\\Users\\me\\photo.jpg',
  'ends with a backslash\\',
  '\\',
  '"',
  'backslash then quote \\" mid',
  'naïve/日本語/✓ 😀',
  '',
  ',',
  'ZZZZzzz,""", ,\\"',
];

function archive(index: number, description: string): InventoryArchive {
  return {
    archiveId: `${ID_1.slice(0, 130)}${String(index).padStart(8, '0')}`,
    description,
    creationDate: `2013-0${(index % 9) + 1}-15T10:20:3${index % 10}Z`,
    size: index * 1_048_577,
    treeHash: index % 2 ? HASH_A : HASH_B,
  };
}

const QUIRKY_ARCHIVES = QUIRKY_DESCRIPTIONS.map((description, i) => archive(i, description));

function glacierJson(archives: InventoryArchive[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      VaultARN: 'arn:aws:glacier:us-east-1:123456789012:vaults/photos',
      InventoryDate: '2024-03-01T08:00:00Z',
      ArchiveList: archives.map((a) => ({
        ArchiveId: a.archiveId,
        ArchiveDescription: a.description,
        CreationDate: a.creationDate,
        Size: a.size,
        SHA256TreeHash: a.treeHash,
      })),
    }),
  );
}

/** As Glacier writes CSV: CRLF, quotes where needed, `"` inside written `\"`, backslashes left alone. */
function glacierCsvField(value: string): string {
  return /[",\\]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value;
}

function glacierCsv(archives: InventoryArchive[]): Buffer {
  const lines = ['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash'];
  for (const a of archives) {
    lines.push([a.archiveId, glacierCsvField(a.description), a.creationDate, a.size, a.treeHash].join(','));
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

describe('reading a JSON inventory', () => {
  it('yields the header first, then every archive with its description exactly as uploaded', async () => {
    const events = await collect([glacierJson(QUIRKY_ARCHIVES)]);
    expect(events[0]).toEqual({
      kind: 'header',
      header: {
        format: 'json',
        vaultArn: 'arn:aws:glacier:us-east-1:123456789012:vaults/photos',
        inventoryDate: '2024-03-01T08:00:00Z',
      },
    });
    expect(archivesOf(events)).toEqual(QUIRKY_ARCHIVES);
    expect(events.slice(1).map((e) => (e.kind === 'archive' ? e.entry : 0))).toEqual(
      QUIRKY_ARCHIVES.map((_, i) => i + 1),
    );
  });

  it('decodes JSON escapes, including escaped surrogate pairs', async () => {
    const doc = `{"ArchiveList":[{"ArchiveId":"x","ArchiveDescription":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" a\\\\b\\/c","CreationDate":"2013-01-01T00:00:00.000Z","Size":1,"SHA256TreeHash":"${HASH_A}"}]}`;
    const [only] = archivesOf(await collect([doc]));
    expect(only?.description).toBe('café 😀 "q" a\\b/c');
  });

  it('keeps sizes up to 40 TiB exact and lowercases tree hashes', async () => {
    const fortyTiB = 40 * 2 ** 40;
    const doc = `{"ArchiveList":[{"ArchiveId":"big","ArchiveDescription":"","CreationDate":"2013-01-01T00:00:00Z","Size":${fortyTiB},"SHA256TreeHash":"${HASH_B.toUpperCase()}"}]}`;
    const [only] = archivesOf(await collect([doc]));
    expect(only?.size).toBe(43_980_465_111_040);
    expect(only?.treeHash).toBe(HASH_B);
  });

  it('gives the same events however the bytes are split, down to one byte at a time', async () => {
    const bytes = glacierJson(QUIRKY_ARCHIVES.slice(5, 9));
    const whole = await collect([bytes]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await collect(sliced(bytes, [cut])), `split at byte ${cut}`).toEqual(whole);
    }
    expect(await collect(sliced(bytes, [...bytes.keys()].slice(1)))).toEqual(whole);
    const random = seededRandom('json slices');
    for (let round = 0; round < 50; round++) {
      const cuts = [...bytes.keys()].filter(() => random() < 0.05);
      expect(await collect(sliced(bytes, cuts)), `cuts ${cuts.join(',')}`).toEqual(whole);
    }
  });

  it('reports a bad entry with its position and reason, and goes on with the next', async () => {
    const good = { ArchiveDescription: 'ok', CreationDate: '2013-01-01T00:00:00Z', Size: 5, SHA256TreeHash: HASH_A };
    const list = [
      { ...good, ArchiveId: 'first' },
      { ...good, ArchiveId: 'negative', Size: -1 },
      { ...good, ArchiveId: 'text size', Size: 'five' },
      { ...good, ArchiveId: 'short hash', SHA256TreeHash: 'abc' },
      { ...good, ArchiveId: '' },
      { ArchiveId: 'no date', ArchiveDescription: '', Size: 1, SHA256TreeHash: HASH_A },
      { ...good, ArchiveId: 'fraction', Size: 1.5 },
      { ...good, ArchiveId: 'huge', Size: 2 ** 60 },
      { ...good, ArchiveId: 'bad date', CreationDate: 'yesterday' },
      'not an object',
      { ...good, ArchiveId: 'last' },
    ];
    const events = await collect([JSON.stringify({ ArchiveList: list })]);
    expect(archivesOf(events).map((a) => a.archiveId)).toEqual(['first', 'last']);
    const badRows = events.filter((e) => e.kind === 'bad-row');
    expect(badRows).toEqual([
      { kind: 'bad-row', entry: 2, archiveId: 'negative', reason: 'Size -1 is negative' },
      { kind: 'bad-row', entry: 3, archiveId: 'text size', reason: 'Size "five" is not a whole number of bytes' },
      { kind: 'bad-row', entry: 4, archiveId: 'short hash', reason: 'SHA256TreeHash "abc" is not 64 hex digits' },
      { kind: 'bad-row', entry: 5, archiveId: undefined, reason: 'ArchiveId is empty' },
      { kind: 'bad-row', entry: 6, archiveId: 'no date', reason: 'CreationDate is missing' },
      { kind: 'bad-row', entry: 7, archiveId: 'fraction', reason: 'Size 1.5 is not a whole number of bytes' },
      {
        kind: 'bad-row',
        entry: 8,
        archiveId: 'huge',
        reason: 'Size 1152921504606847000 is too large to hold exactly',
      },
      {
        kind: 'bad-row',
        entry: 9,
        archiveId: 'bad date',
        reason: 'CreationDate "yesterday" is not an ISO 8601 date and time',
      },
      { kind: 'bad-row', entry: 10, reason: 'entry is not an object' },
    ]);
  });

  it('accepts an empty vault', async () => {
    const events = await collect(['{"VaultARN":"arn:v","InventoryDate":"2024-01-01T00:00:00Z","ArchiveList":[]}']);
    expect(events).toEqual([
      { kind: 'header', header: { format: 'json', vaultArn: 'arn:v', inventoryDate: '2024-01-01T00:00:00Z' } },
    ]);
  });

  it('still reports the header when the document puts it after the list', async () => {
    const doc = `{"ArchiveList":[{"ArchiveId":"x","ArchiveDescription":"","CreationDate":"2013-01-01T00:00:00Z","Size":0,"SHA256TreeHash":"${HASH_A}"}],"InventoryDate":"2024-01-01T00:00:00Z","VaultARN":"arn:v"}`;
    const events = await collect([doc]);
    expect(events.map((e) => e.kind)).toEqual(['archive', 'header']);
    expect(events[1]).toEqual({
      kind: 'header',
      header: { format: 'json', vaultArn: 'arn:v', inventoryDate: '2024-01-01T00:00:00Z' },
    });
  });

  it('reads from a Node stream, string chunks, and past a byte order mark and leading blank lines', async () => {
    const bytes = Buffer.concat([Buffer.from('\ufeff\r\n  '), glacierJson(QUIRKY_ARCHIVES)]);
    expect(archivesOf(await collect(Readable.from(sliced(bytes, [1, 2, 5, 100]))))).toEqual(QUIRKY_ARCHIVES);
    expect(archivesOf(await collect([bytes.toString('utf8')]))).toEqual(QUIRKY_ARCHIVES);
  });

  it('refuses a document cut short anywhere, after yielding what it could read', async () => {
    const bytes = glacierJson(QUIRKY_ARCHIVES.slice(0, 3));
    for (let end = 1; end < bytes.length; end++) {
      const error = await formatErrorOf([bytes.subarray(0, end)]);
      expect(error.message, `cut at ${end}`).toMatch(/truncated|not a valid JSON inventory/);
    }
    const events: InventoryEvent[] = [];
    const cut = bytes.subarray(0, bytes.length - 10);
    await expect(
      (async () => {
        for await (const event of readInventory([cut])) events.push(event);
      })(),
    ).rejects.toThrow('JSON inventory ends before its document is complete');
    expect(archivesOf(events)).toEqual(QUIRKY_ARCHIVES.slice(0, 2));
  });

  it('refuses JSON that is not a vault inventory', async () => {
    expect((await formatErrorOf(['{"VaultARN":"arn:v"}'])).message).toBe(
      'not a Glacier vault inventory: the JSON document has no ArchiveList',
    );
    expect((await formatErrorOf(['{"ArchiveList":{"a":1}}'])).message).toBe(
      'not a Glacier vault inventory: ArchiveList is not a list',
    );
    expect((await formatErrorOf(['{"ArchiveList":[]} {"ArchiveList":[]}'])).message).toMatch(
      /^unexpected data after the end of the JSON inventory/,
    );
    expect((await formatErrorOf(['{"ArchiveList":[}'])).message).toMatch(/^not a valid JSON inventory/);
  });
});

describe('reading a JSON inventory exactly as JSON.parse reads the whole document', () => {
  const ENTRY = `{"ArchiveId":"x","ArchiveDescription":"d","CreationDate":"2013-01-01T00:00:00Z","Size":1,"SHA256TreeHash":"${HASH_A}"}`;

  /** The events that `JSON.parse` of the whole document implies, by the rules readInventory documents. */
  function impliedEvents(doc: string): InventoryEvent[] {
    const parsed = JSON.parse(doc) as Record<string, unknown>;
    const keys = Object.keys(parsed);
    const header: InventoryHeader = { format: 'json' };
    if (typeof parsed.VaultARN === 'string') header.vaultArn = parsed.VaultARN;
    if (typeof parsed.InventoryDate === 'string') header.inventoryDate = parsed.InventoryDate;
    const entries = (parsed.ArchiveList as unknown[]).map((value, i): InventoryEvent => {
      const entry = i + 1;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { kind: 'bad-row', entry, reason: 'entry is not an object' };
      }
      const check = checkArchive(value);
      return 'archive' in check
        ? { kind: 'archive', entry, archive: check.archive }
        : { kind: 'bad-row', entry, reason: check.reason, archiveId: check.archiveId };
    });
    const headerFirst =
      header.vaultArn !== undefined &&
      header.inventoryDate !== undefined &&
      keys.indexOf('VaultARN') < keys.indexOf('ArchiveList') &&
      keys.indexOf('InventoryDate') < keys.indexOf('ArchiveList');
    const headerEvent: InventoryEvent = { kind: 'header', header };
    return headerFirst ? [headerEvent, ...entries] : [...entries, headerEvent];
  }

  /** Every way to cut the document in two, and one byte at a time, gives the events the whole document gives. */
  async function expectSameEventsWhereverCut(bytes: Buffer): Promise<InventoryEvent[]> {
    const whole = await collect([bytes]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await collect(sliced(bytes, [cut])), `split at byte ${cut}`).toEqual(whole);
    }
    expect(await collect(sliced(bytes, [...bytes.keys()].slice(1)))).toEqual(whole);
    return whole;
  }

  it('reads escapes, brackets in strings, nested unknown members and whitespace wherever it is cut', async () => {
    const doc = [
      ' \r\n{ "Note" : { "a" : [ 1, -2.5e3, true, false, null, "}]\\"\\\\", { } , [ ] ] } ,',
      '\t"Archive\\u004cist"\n:\r[ ',
      `{"ArchiveId":"a\\"{[,]}","ArchiveDescription":"C:\\\\dir\\\\","CreationDate":"2013-01-01T00:00:00Z","Size":"7","SHA256TreeHash":"${HASH_A}"} ,`,
      `{ "SHA256TreeHash" : "${HASH_B}" , "Size" : 0 , "CreationDate" : "2013-01-01T00:00:00.5+01:00" ,`,
      ' "ArchiveDescription" : "caf\\u00e9 \\ud83d\\ude00 日本 ✓ \\/ \\b\\f\\n\\r\\t \\\\\\" \\u005b" , "ArchiveId" : "b" } ,',
      ' "not an object" , [ ] , null ',
      '] , "VaultARN" : "arn:v" , "Empty" : "" , "InventoryDate" : "2024-01-01T00:00:00Z" , "n" : 0 }  \n',
    ].join('');
    const events = await expectSameEventsWhereverCut(Buffer.from(doc));
    expect(events).toEqual(impliedEvents(doc));
    expect(archivesOf(events).map((a) => a.description)).toEqual(['C:\\dir\\', 'café 😀 日本 ✓ / \b\f\n\r\t \\" [']);
  });

  it('gives the events JSON.parse implies for random inventories, cut anywhere', async () => {
    const random = seededRandom('json property');
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const ws = () => (random() < 0.7 ? '' : pick([' ', '\n', '\r\n', '\t', '  ']));
    const CHARACTERS = ['a', 'Z', '0', ' ', '"', '\\', '/', '{', '}', '[', ']', ',', ':', '\n', '\t', '\u0001', 'é', '日', '😀'];

    /** A string as some writer may put it: escapes where JSON needs them, and now and then where it does not. */
    const text = (value: string) => {
      const body = [...value].map((c) => {
        const escape = random() < 0.2;
        if (c === '"' || c === '\\') return escape ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `\\${c}`;
        if (c.charCodeAt(0) < 0x20 || escape) {
          return [...c].map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
        }
        return c === '/' && random() < 0.5 ? '\\/' : c;
      });
      return `"${body.join('')}"`;
    };
    const randomString = () => Array.from({ length: Math.floor(random() * 12) }, () => pick(CHARACTERS)).join('');
    const value = (depth: number): string => {
      const kind = depth > 2 ? Math.floor(random() * 4) : Math.floor(random() * 6);
      if (kind === 0) return text(randomString());
      if (kind === 1) return pick(['0', '-1', '12.5', '1e3', '-0.25E-2', '9007199254740993']);
      if (kind === 2) return pick(['true', 'false', 'null']);
      if (kind === 3) return text(pick(['', 'x', '2013-01-01T00:00:00Z']));
      const items = Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      if (kind === 4) return `[${ws()}${items.join(`${ws()},${ws()}`)}${ws()}]`;
      return `{${ws()}${items.map((v) => `${text(randomString())}${ws()}:${ws()}${v}`).join(`${ws()},${ws()}`)}${ws()}}`;
    };
    const object = (members: [string, string][]) =>
      `{${ws()}${members.map(([k, v]) => `${text(k)}${ws()}:${ws()}${v}`).join(`${ws()},${ws()}`)}${ws()}}`;
    const shuffled = <T>(items: T[]) => items.map((item) => [random(), item] as const).sort(([a], [b]) => a - b).map(([, item]) => item);
    const entry = (i: number): string => {
      if (random() < 0.1) return value(1);
      const members: [string, string][] = [
        ['ArchiveId', text(`id-${i}-${randomString()}`)],
        ['ArchiveDescription', text(randomString())],
        ['CreationDate', text(pick(['2013-01-01T00:00:00Z', '2020-02-29T12:34:56.789Z', 'yesterday']))],
        ['Size', pick(['0', '5', '"17"', '1.5', '-3', '43980465111040'])],
        ['SHA256TreeHash', text(pick([HASH_A, HASH_B.toUpperCase(), 'abc']))],
      ];
      if (random() < 0.2) members.splice(Math.floor(random() * members.length), 1);
      if (random() < 0.2) members.push([`Extra${i}`, value(1)]);
      return object(shuffled(members));
    };

    for (let round = 0; round < 150; round++) {
      const list = Array.from({ length: Math.floor(random() * 5) }, (_, i) => entry(i));
      const members: [string, string][] = [['ArchiveList', `[${ws()}${list.join(`${ws()},${ws()}`)}${ws()}]`]];
      if (random() < 0.8) members.push(['VaultARN', random() < 0.9 ? text(`arn:aws:glacier:v${round}`) : value(1)]);
      if (random() < 0.8) members.push(['InventoryDate', text('2024-01-01T00:00:00Z')]);
      for (let extra = Math.floor(random() * 3); extra > 0; extra--) members.push([`Other${extra}`, value(0)]);
      const doc = `${ws()}${object(shuffled(members))}${ws()}`;
      const bytes = Buffer.from(doc);
      const cuts = [...bytes.keys()].filter(() => random() < 0.1);
      expect(await collect(sliced(bytes, cuts)), doc).toEqual(impliedEvents(doc));
    }
  });

  it.each([
    ['a missing colon', '{"ArchiveList" []}', "expected ':' at byte 15"],
    ['a missing comma between members', '{"VaultARN":"a" "ArchiveList":[]}', "expected ',' or '}' at byte 16"],
    ['a missing comma between entries', `{"ArchiveList":[${ENTRY} ${ENTRY}]}`, "expected ',' or ']'"],
    ['a trailing comma in the list', `{"ArchiveList":[${ENTRY},]}`, 'expected an ArchiveList entry'],
    ['a trailing comma after the last member', '{"ArchiveList":[],}', 'expected a key in double quotes at byte 18'],
    ['a trailing comma inside an entry', `{"ArchiveList":[${ENTRY.slice(0, -1)},}]}`, 'ArchiveList entry 1 at byte 16 is not valid JSON'],
    ['an unquoted key', '{ArchiveList:[]}', 'expected a key in double quotes'],
    ['an unquoted key inside an entry', '{"ArchiveList":[{ArchiveId:"x"}]}', 'ArchiveList entry 1'],
    ['a single-quoted string', `{"ArchiveList":[],'x':1}`, 'expected a key'],
    ['a misspelt literal', '{"x":tru,"ArchiveList":[]}', 'the value of "x" at byte 5 is not valid JSON: "tru"'],
    ['a capitalised literal', '{"ArchiveList":[True]}', 'ArchiveList entry 1'],
    ['NaN', '{"x":NaN,"ArchiveList":[]}', 'the value of "x"'],
    ['a number with a leading zero', '{"x":01,"ArchiveList":[]}', 'the value of "x"'],
    ['a number with a plus sign', '{"ArchiveList":[+1]}', 'ArchiveList entry 1'],
    ['a number without digits after its point', '{"x":1.,"ArchiveList":[]}', 'the value of "x"'],
    ['an unknown escape', '{"ArchiveList":[{"ArchiveId":"\\x"}]}', 'ArchiveList entry 1'],
    ['a line break inside a string', '{"x":"a\nb","ArchiveList":[]}', 'the value of "x"'],
    ['a bracket closing the wrong kind', '{"ArchiveList":[{"a":[1}]}', 'entry 1 at byte 16 is not valid JSON: "{\\"a\\":[1}"'],
    ['a bracket too many', '{"ArchiveList":[]]}', "expected ',' or '}'"],
    ['a missing value', '{"ArchiveList":[],"x":}', 'expected a value'],
    ['a comment', '{/* c */"ArchiveList":[]}', 'expected a key'],
    ['a byte order mark inside the document', '{\ufeff"ArchiveList":[]}', 'expected a key in double quotes or \'}\' at byte 1, found "\ufeff"'],
  ])('refuses %s, wherever the document is cut', async (_, doc, message) => {
    const bytes = Buffer.from(doc);
    const whole = await formatErrorOf([bytes]);
    expect(whole.message).toMatch(/^not a valid JSON inventory: /);
    expect(whole.message).toContain(message);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect((await formatErrorOf(sliced(bytes, [cut]))).message, `split at byte ${cut}`).toBe(whole.message);
    }
  });

  it('refuses data after the end, however little', async () => {
    for (const tail of ['}', ']', ',', 'x', '{}', '\0']) {
      expect((await formatErrorOf([`{"ArchiveList":[]} ${tail}`])).message).toMatch(/^unexpected data after the end of the JSON inventory/);
    }
    expect((await formatErrorOf([Buffer.from('{"ArchiveList":[]}\xe2', 'latin1')])).message).toMatch(/^unexpected data after the end/);
  });

  it('refuses a document cut inside a string, a number or a literal', async () => {
    for (const doc of ['{"ArchiveList":[],"x":"ab', '{"ArchiveList":[],"x":12', '{"ArchiveList":[],"x":tru', '{"ArchiveList":[],"x":"\\']) {
      expect((await formatErrorOf([doc])).message).toBe(
        `JSON inventory ends before its document is complete, after ${doc.length} bytes (truncated download?)`,
      );
    }
  });

  it('refuses a document that names VaultARN, InventoryDate or ArchiveList twice', async () => {
    for (const key of ['VaultARN', 'InventoryDate', 'ArchiveList']) {
      const doc = `{"${key}":"a","ArchiveList":[],"${key}":"b"}`.replace(/"ArchiveList":"[ab]"/g, '"ArchiveList":[]');
      expect((await formatErrorOf([doc])).message).toBe(`not a Glacier vault inventory: the JSON document names ${key} twice`);
    }
  });

  it('leaves a VaultARN or InventoryDate that is not a string out of the header', async () => {
    const events = await collect(['{"VaultARN":{"a":1},"InventoryDate":7,"ArchiveList":[]}']);
    expect(events).toEqual([{ kind: 'header', header: { format: 'json' } }]);
  });

  it('refuses an entry too long for any inventory without holding the rest of it', async () => {
    const opening = Buffer.from('{"ArchiveList":[{"ArchiveDescription":"');
    let chunksRead = 0;
    const source = (function* () {
      yield opening;
      for (let i = 0; i < 1000; i++) {
        chunksRead++;
        yield Buffer.alloc(64 * 1024, 0x61);
      }
    })();
    expect((await formatErrorOf(source)).message).toBe(
      'not a Glacier vault inventory: ArchiveList entry 1 at byte 16 is longer than 1048576 characters',
    );
    expect(chunksRead).toBeLessThan(20);
  });
});

describe('reading a CSV inventory', () => {
  it('yields the header, then every archive with its description exactly as uploaded', async () => {
    const events = await collect([glacierCsv(QUIRKY_ARCHIVES)]);
    expect(events[0]).toEqual({ kind: 'header', header: { format: 'csv' } });
    expect(archivesOf(events)).toEqual(QUIRKY_ARCHIVES);
  });

  it("reads Glacier's quoting as mt-aws-glacier's tests record it", async () => {
    // Raw fields and the descriptions they hold (mt-aws-glacier t/unit/glacier/inventory_csv.t)
    const cases: [string, string][] = [
      ['"{\\"Path\\":\\"glacier-ui.exe\\",\\"UTCDateModified\\":\\"20130313T040002Z\\"}"', '{"Path":"glacier-ui.exe","UTCDateModified":"20130313T040002Z"}'],
      ['""', ''],
      ['","', ','],
      ['"\\""', '"'],
      ['"x\\"x"', 'x"x'],
      ['"\\"', '\\'],
      ['"\\\\""', '\\"'],
      ['plain text', 'plain text'],
      ['', ''],
    ];
    const header = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash';
    const rows = cases.map(([field], i) => `id${i},${field},2013-01-01T00:00:00Z,${i},${HASH_A}`);
    const events = await collect([[header, ...rows].join('\r\n')]);
    expect(archivesOf(events).map((a) => a.description)).toEqual(cases.map(([, description]) => description));
  });

  it('reads the columns in whatever order the header names them', async () => {
    const doc = `CreationDate,Size,SHA256TreeHash,ArchiveDescription,ArchiveId\n2013-01-01T00:00:00Z,7,${HASH_A},"a,b",tail-id\n`;
    expect(archivesOf(await collect([doc]))).toEqual([
      { archiveId: 'tail-id', description: 'a,b', creationDate: '2013-01-01T00:00:00Z', size: 7, treeHash: HASH_A },
    ]);
  });

  it('accepts LF line ends, quoted simple fields, blank lines and a last line without a line break', async () => {
    const doc = `"ArchiveId","ArchiveDescription","CreationDate","Size","SHA256TreeHash"\n\n"x","d","2013-01-01T00:00:00Z","3","${HASH_A}"\n\ny,,2013-01-01T00:00:00Z,4,${HASH_B}`;
    expect(archivesOf(await collect([doc])).map((a) => [a.archiveId, a.description, a.size])).toEqual([
      ['x', 'd', 3],
      ['y', '', 4],
    ]);
  });

  it('gives the same events however the bytes are split, down to one byte at a time', async () => {
    const bytes = glacierCsv(QUIRKY_ARCHIVES.slice(2, 8));
    const whole = await collect([bytes]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await collect(sliced(bytes, [cut])), `split at byte ${cut}`).toEqual(whole);
    }
    expect(await collect(sliced(bytes, [...bytes.keys()].slice(1)))).toEqual(whole);
    const random = seededRandom('csv slices');
    for (let round = 0; round < 50; round++) {
      const cuts = [...bytes.keys()].filter(() => random() < 0.05);
      expect(await collect(sliced(bytes, cuts)), `cuts ${cuts.join(',')}`).toEqual(whole);
    }
  });

  it('reports a bad row with its line number and reason, and goes on with the next', async () => {
    const doc = [
      'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash',
      `good-1,a,2013-01-01T00:00:00Z,1,${HASH_A}`,
      `neg,a,2013-01-01T00:00:00Z,-5,${HASH_A}`,
      `nan,a,2013-01-01T00:00:00Z,12kb,${HASH_A}`,
      `short,a,2013-01-01T00:00:00Z,1,deadbeef`,
      `,a,2013-01-01T00:00:00Z,1,${HASH_A}`,
      `few,2013-01-01T00:00:00Z,1`,
      `good-2,"b,c",2013-01-01T00:00:00Z,2,${HASH_B}`,
    ].join('\r\n');
    const events = await collect([doc]);
    expect(archivesOf(events).map((a) => a.archiveId)).toEqual(['good-1', 'good-2']);
    expect(events.filter((e) => e.kind === 'bad-row')).toEqual([
      { kind: 'bad-row', entry: 2, line: 3, archiveId: 'neg', reason: 'Size "-5" is negative' },
      { kind: 'bad-row', entry: 3, line: 4, archiveId: 'nan', reason: 'Size "12kb" is not a whole number of bytes' },
      { kind: 'bad-row', entry: 4, line: 5, archiveId: 'short', reason: 'SHA256TreeHash "deadbeef" is not 64 hex digits' },
      { kind: 'bad-row', entry: 5, line: 6, archiveId: undefined, reason: 'ArchiveId is empty' },
      { kind: 'bad-row', entry: 6, line: 7, reason: 'expected 5 comma-separated fields, found 3' },
    ]);
  });

  it('refuses a document cut inside a record, after yielding the records before it', async () => {
    const bytes = glacierCsv(QUIRKY_ARCHIVES.slice(0, 3));
    const lastLineStart = bytes.lastIndexOf('\r\n', bytes.length - 3) + 2;
    const lastLineEnd = bytes.length - 2;
    for (let end = lastLineStart + 1; end < lastLineEnd; end++) {
      const error = await formatErrorOf([bytes.subarray(0, end)]);
      expect(error.message).toBe('CSV inventory ends in the middle of line 4 (truncated download?)');
    }
    const events: InventoryEvent[] = [];
    await expect(
      (async () => {
        for await (const event of readInventory([bytes.subarray(0, lastLineEnd - 1)])) events.push(event);
      })(),
    ).rejects.toThrow(InventoryFormatError);
    expect(archivesOf(events)).toEqual(QUIRKY_ARCHIVES.slice(0, 2));
  });

  it('tells the byte offset of a cut record after lines of multibyte characters, wherever the chunks end', async () => {
    const bytes = glacierCsv([QUIRKY_ARCHIVES[7]!, QUIRKY_ARCHIVES[7]!, QUIRKY_ARCHIVES[0]!]);
    const lastLineStart = bytes.lastIndexOf('\r\n', bytes.length - 3) + 2;
    const cut = bytes.subarray(0, bytes.length - 5);
    for (let at = 1; at < cut.length; at += 7) {
      const error = await formatErrorOf(sliced(cut, [at]));
      expect(error.message).toBe('CSV inventory ends in the middle of line 4 (truncated download?)');
      expect(error.offset).toBe(lastLineStart);
    }
  });

  it('cannot tell a document cut exactly at a line break (callers compare the byte count)', async () => {
    const bytes = glacierCsv(QUIRKY_ARCHIVES.slice(0, 3));
    const cutAtLineBreak = bytes.subarray(0, bytes.lastIndexOf('\r\n', bytes.length - 3) + 2);
    expect(archivesOf(await collect([cutAtLineBreak]))).toEqual(QUIRKY_ARCHIVES.slice(0, 2));
  });

  it('refuses a document cut inside its header', async () => {
    expect((await formatErrorOf(['ArchiveId,ArchiveDesc'])).message).toBe(
      'CSV inventory ends inside its header line (truncated download?)',
    );
  });
});

describe('telling what is not an inventory', () => {
  it.each([
    ['an empty document', '', 'inventory is empty'],
    ['only blank lines', ' \r\n\t\n', 'inventory is empty'],
    ['a JSON array', '[1,2,3]', /^not a Glacier vault inventory: expected JSON or the CSV header/],
    ['some other CSV', 'name,size\r\na,1\r\n', /^not a Glacier vault inventory: expected JSON or the CSV header/],
    ['a header naming a column twice', 'ArchiveId,ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n', 'CSV inventory header names column ArchiveId twice'],
  ])('refuses %s with a one-line message', async (_, doc, message) => {
    const error = await formatErrorOf([doc]);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });

  it('refuses a large binary file without reading it all', async () => {
    const noise = Buffer.alloc(256 * 1024, 0x41);
    let chunksRead = 0;
    const source = (function* () {
      for (let i = 0; i < 1000; i++) {
        chunksRead++;
        yield noise;
      }
    })();
    expect((await formatErrorOf(source)).message).toMatch(/line 1 is longer than 65536 bytes/);
    expect(chunksRead).toBe(1);
  });

  it('refuses a document of nothing but whitespace without reading it all', async () => {
    const blank = Buffer.alloc(32 * 1024, 0x20);
    expect((await formatErrorOf(Array(100).fill(blank))).message).toMatch(/bytes are blank$/);
  });
});

describe('reading a large inventory', () => {
  const COUNT = 200_000;
  const ENTRIES_PER_CHUNK = 500;

  function entry(i: number): InventoryArchive {
    return {
      archiveId: `${i}`.padStart(138, 'A'),
      description: `mt2 ${'x'.repeat(150)}${i}`,
      creationDate: '2013-01-01T00:00:00Z',
      size: i,
      treeHash: HASH_A,
    };
  }

  /** Generated as it is read, so that the test holds no more of the document than the parser does. */
  async function* largeJson(): AsyncGenerator<Buffer> {
    yield Buffer.from('{"VaultARN":"arn:v","InventoryDate":"2024-01-01T00:00:00Z","ArchiveList":[');
    for (let i = 0; i < COUNT; i += ENTRIES_PER_CHUNK) {
      const entries = [];
      for (let j = i; j < i + ENTRIES_PER_CHUNK; j++) {
        const a = entry(j);
        entries.push(
          JSON.stringify({
            ArchiveId: a.archiveId,
            ArchiveDescription: a.description,
            CreationDate: a.creationDate,
            Size: a.size,
            SHA256TreeHash: a.treeHash,
          }),
        );
      }
      yield Buffer.from((i > 0 ? ',' : '') + entries.join(','));
    }
    yield Buffer.from(']}');
  }

  async function* largeCsv(): AsyncGenerator<Buffer> {
    yield Buffer.from('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n');
    for (let i = 0; i < COUNT; i += ENTRIES_PER_CHUNK) {
      const lines = [];
      for (let j = i; j < i + ENTRIES_PER_CHUNK; j++) {
        const a = entry(j);
        lines.push(`${a.archiveId},"${a.description}",${a.creationDate},${a.size},${a.treeHash}\r\n`);
      }
      yield Buffer.from(lines.join(''));
    }
  }

  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heapUsed = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };

  it.each([
    ['JSON', largeJson],
    ['CSV', largeCsv],
  ])('streams %s entries one at a time with memory that does not grow with their number', async (_, source) => {
    // The document is about 70 MB; holding its entries would take far more than the allowance.
    const allowance = 16 * 1024 * 1024;
    let count = 0;
    let baseline = 0;
    let peak = 0;
    for await (const event of readInventory(source())) {
      if (event.kind !== 'archive') continue;
      expect(event.archive.size).toBe(count);
      count++;
      if (count === 1000) baseline = heapUsed();
      else if (count % 25_000 === 0) peak = Math.max(peak, heapUsed() - baseline);
    }
    expect(count).toBe(COUNT);
    expect(peak).toBeLessThan(allowance);
  });
});
