// What the tests share: where the fixtures and the native CLI are, and a
// way to run the native CLI on bytes.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(packageDir, '..');

/** `npm run fixtures` writes them (the host tests' fixtures, as files). */
export const fixturesDir = process.env.SOLDER_JS_FIXTURES ?? join(repoRoot, 'target', 'js-fixtures');

/** The native CLI that the package must agree with (`cargo build --release`). */
export const nativeCli = process.env.SOLDER_CLI ?? join(repoRoot, 'target', 'release', 'solder');

/** Every fixture as `[name, path]`, sorted by name. */
export function fixtures() {
  if (!existsSync(fixturesDir)) {
    throw new Error(`no fixtures in ${fixturesDir}: run \`npm run fixtures\` first`);
  }
  if (!existsSync(nativeCli)) {
    throw new Error(`no native CLI at ${nativeCli}: run \`cargo build --release\` first`);
  }
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.wasm'))
    .sort()
    .map((f) => [f.replace(/\.wasm$/, ''), join(fixturesDir, f)]);
}

/** A fixture's file, by name. */
export function fixturePath(name) {
  return join(fixturesDir, `${name}.wasm`);
}

/** A fixture's bytes, by name. */
export function fixture(name) {
  return readFileSync(fixturePath(name));
}

/** The compositions every test below uses at least. */
export const COMPOSITIONS = [
  'scalars-app+scalars_mid+scalars_lib',
  'types-app+types_mid+types_lib',
  'types_mid+types_lib',
  'string-transcode',
  'resource-export',
];

/**
 * Runs the native CLI. Returns `{ status, stdout, stderr, output }` where
 * `output` is the bytes it wrote to `-o` (for `fuse`).
 */
export function runNative(args, { input, output = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'solder-native-'));
  try {
    const out = join(dir, 'out.wasm');
    const result = spawnSync(nativeCli, output ? [...args, '-o', out] : args, { input });
    return {
      status: result.status,
      stdout: result.stdout.toString(),
      stderr: result.stderr.toString(),
      output: result.status === 0 && output ? readFileSync(out) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'solder-js-'));
  return [dir, () => rmSync(dir, { recursive: true, force: true })];
}
