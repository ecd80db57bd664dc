/**
 * Where the tool's time goes, from the `.cpuprofile` files `node --cpu-prof` writes (one per thread): each
 * thread's samples grouped by what they were doing. The profiler samples wall-clock time while a thread runs
 * JavaScript or native code called from it, so on shared cores a share is of the thread's busy time, not an
 * exact CPU split; native work (the hashes, socket writes) is billed to the function that called into it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
}

interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export const SHA256_CATEGORY = 'SHA-256 (tree hash and checksum)';

/** What a thread was doing, by the function a sample was in; the first rule that matches names it. */
const CATEGORIES: [name: string, matches: (frame: CallFrame) => boolean][] = [
  // Hmac (request signing) lives beside Hash but is not one of the two passes.
  [SHA256_CATEGORY, (f) => (f.url === 'node:internal/crypto/hash' && f.functionName !== 'Hmac') || f.url.endsWith('/verify/tree-hash.js') || (f.url === 'node:crypto' && f.functionName === 'createHash')],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['messages between threads', (f) => f.functionName === 'postMessage' || f.url.startsWith('node:internal/worker')],
  [
    'loading code and reading files',
    (f) =>
      /^node:(internal\/(modules|bootstrap|deps\/cjs-module-lexer|fs)|fs)/.test(f.url) ||
      (f.url === '' && ['compileFunction', 'internalModuleStat', 'readFileUtf8', 'readPackageJSON', 'openFileHandle', 'fstat', 'close'].includes(f.functionName)),
  ],
  ['HTTP and sockets', (f) => /^node:(_http|net|internal\/stream_base_commons|internal\/net|internal\/http)/.test(f.url) || ['writeBuffer', 'writev', 'writeUtf8String', 'writeLatin1String', 'readStart', 'readStop'].includes(f.functionName)],
  ['buffers', (f) => f.url === 'node:buffer' || f.url === 'node:internal/buffer'],
  ['streams', (f) => f.url.startsWith('node:internal/streams') || f.url === 'node:stream'],
  ['AWS SDK (requests, signing, parsing)', (f) => f.url.includes('/node_modules/@smithy/') || f.url.includes('/node_modules/@aws-sdk/') || f.functionName === 'Hmac'],
  ['state (SQLite)', (f) => f.url.includes('/node_modules/better-sqlite3/') || ownCode(f, '/state/')],
  ["glacier-copy's own code", (f) => ownCode(f, '/')],
  ['promises, timers and events', (f) => f.functionName === 'runMicrotasks' || /^node:(internal\/process|internal\/timers|events|internal\/event_target)/.test(f.url)],
  ['V8 and native code, unattributed', (f) => f.functionName === '(program)'],
];
const OTHER = 'other';

/** A frame of glacier-copy's own code (built or not) under `folder`, not of a dependency's. */
function ownCode(frame: CallFrame, folder: string): boolean {
  return !frame.url.includes('/node_modules/') && /\/(dist|src)\//.test(frame.url) && frame.url.includes(folder);
}

export interface ThreadProfile {
  /** 'main', 'stream worker' or 'other worker' */
  kind: string;
  busyMs: number;
  /** busy milliseconds by category */
  categories: Map<string, number>;
  /** busy milliseconds by function ("name (where)") */
  functions: Map<string, number>;
}

function addMs(into: Map<string, number>, key: string, ms: number): void {
  into.set(key, (into.get(key) ?? 0) + ms);
}

function categoryOf(frame: CallFrame): string {
  return CATEGORIES.find(([, matches]) => matches(frame))?.[0] ?? OTHER;
}

function where(url: string): string {
  const lib = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return lib ? lib[1]! : url.replace(/^file:\/\/.*\/(dist|src)\//, '');
}

/** `CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile`: thread 0 is the main thread. */
function threadKind(file: string, profile: Profile): string {
  if (file.split('.')[4] === '0') return 'main';
  return profile.nodes.some((n) => n.callFrame.url.endsWith('/transfer/stream-worker.js') || n.callFrame.url.endsWith('/transfer/part-copy.js')) ? 'stream worker' : 'other worker';
}

export function readProfiles(dir: string): ThreadProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((file) => {
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
      const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
      const thread: ThreadProfile = { kind: threadKind(file, profile), busyMs: 0, categories: new Map(), functions: new Map() };
      profile.samples.forEach((id, i) => {
        const frame = frames.get(id)!;
        if (frame.functionName === '(idle)') return;
        const ms = profile.timeDeltas[i]! / 1000;
        const fn = `${frame.functionName || '(anonymous)'}${frame.url ? ` (${where(frame.url)})` : ''}`;
        thread.busyMs += ms;
        addMs(thread.categories, categoryOf(frame), ms);
        addMs(thread.functions, fn, ms);
      });
      return thread;
    });
}

/** The threads of one kind added up. */
export function combine(threads: ThreadProfile[]): ThreadProfile | undefined {
  if (threads.length === 0) return undefined;
  const add = (into: Map<string, number>, from: Map<string, number>) => from.forEach((ms, key) => addMs(into, key, ms));
  const total: ThreadProfile = { kind: threads[0]!.kind, busyMs: 0, categories: new Map(), functions: new Map() };
  for (const t of threads) {
    total.busyMs += t.busyMs;
    add(total.categories, t.categories);
    add(total.functions, t.functions);
  }
  return total;
}

/** "name 41%, name 12%, …": the largest entries, each at least `min` of the busy time. */
export function largestShares(thread: ThreadProfile, of: 'categories' | 'functions', min = 0.02): string {
  return [...thread[of]]
    .filter(([, ms]) => ms / thread.busyMs >= min)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${((100 * ms) / thread.busyMs).toFixed(0)}%`)
    .join(', ');
}
