import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** What `npm pack` would put in the tarball (built by `npm test` before the suite runs). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('the published package', () => {
  const files = packedFiles();

  it('carries the command, its compiled code, the worker, the price table, the licence and the README, and nothing of the tests', () => {
    for (const needed of ['bin/glacier-copy', 'dist/cli/main.js', 'dist/transfer/stream-worker.js', 'docs/prices.json', 'LICENSE', 'README.md', 'package.json']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /^(test|src|bench)\/|\.db$|node_modules/.test(f))).toEqual([]);
  });

  it('imports at run time only its declared dependencies and Node.js itself', () => {
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.js') || f === 'bin/glacier-copy')) {
      const code = readFileSync(join(ROOT, file), 'utf8');
      for (const [, specifier] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:') || builtins.has(specifier!)) continue;
        const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
        if (!(name in manifest.dependencies)) missing.add(`${name} (${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
