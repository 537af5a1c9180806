// The `solder-js` command against the native `solder`: the same output
// files, the same `inspect` text, the same error line and exit status.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COMPOSITIONS, fixturesDir, nativeCli, packageDir, runNative, tempDir } from './support.mjs';

const bin = join(packageDir, 'bin', 'solder-js.js');
const [dir, cleanup] = tempDir();
after(cleanup);

function solderJs(args, input) {
  const result = spawnSync(process.execPath, [bin, ...args], { input, maxBuffer: 1 << 28 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

const path = (name) => join(fixturesDir, `${name}.wasm`);

test('the package declares the bin', () => {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  assert.equal(pkg.bin['solder-js'], './bin/solder-js.js');
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

for (const name of COMPOSITIONS) {
  for (const flags of [[], ['--core']]) {
    test(`fuse ${[name, ...flags].join(' ')}`, () => {
      const out = join(dir, `${name}${flags.join('')}.wasm`);
      const js = solderJs(['fuse', path(name), '-o', out, ...flags]);
      assert.equal(js.stderr, '');
      assert.equal(js.status, 0);
      const native = runNative(['fuse', path(name), ...flags], { output: true });
      assert.ok(readFileSync(out).equals(native.output), 'output differs from the native CLI');
    });
  }
}

test('fuse reads standard input and writes standard output', () => {
  const name = 'types_mid+types_lib';
  const js = solderJs(['fuse', '-', '-o', '-'], readFileSync(path(name)));
  assert.equal(js.status, 0, js.stderr);
  assert.ok(js.stdout.equals(runNative(['fuse', path(name)], { output: true }).output));
});

test('standard output into a pipe that a slow reader empties', () => {
  // The pipe fills before the reader starts: a synchronous write of fd 1
  // would fail with EAGAIN.
  const name = 'types-app+types_mid+types_lib';
  const out = join(dir, 'piped.wasm');
  const result = spawnSync('sh', ['-c', `"$0" "$1" fuse "$2" -o - | (sleep 1; cat > "$3")`,
    process.execPath, bin, path(name), out]);
  assert.equal(result.status, 0, result.stderr.toString());
  assert.equal(result.stderr.toString(), '');
  assert.ok(readFileSync(out).equals(runNative(['fuse', path(name)], { output: true }).output));
});

test('fuse -v prints the report', () => {
  const name = 'string-transcode';
  const js = solderJs(['fuse', path(name), '-o', join(dir, 'v.wasm'), '-v']);
  assert.equal(js.status, 0);
  const native = runNative(['fuse', path(name), '-v'], { output: true });
  assert.equal(js.stderr, native.stderr);
});

test('inspect prints what the native CLI prints', () => {
  for (const name of COMPOSITIONS) {
    const js = solderJs(['inspect', path(name)]);
    assert.equal(js.status, 0, js.stderr);
    assert.equal(js.stdout.toString(), runNative(['inspect', path(name)]).stdout);
  }
});

test('inspect --json and --report give the native JSON', () => {
  const name = 'scalars-app+scalars_mid+scalars_lib';
  const js = solderJs(['inspect', '--json', path(name)]);
  assert.equal(js.status, 0, js.stderr);
  const report = JSON.parse(js.stdout.toString());
  assert.equal(report.component_instances, 7);
  assert.equal(report.adapters.length, 36);
  assert.deepEqual(report, JSON.parse(runNative(['inspect', '--json', path(name)]).stdout));

  const jsReport = join(dir, 'js-report.json');
  const nativeReport = join(dir, 'native-report.json');
  assert.equal(solderJs(['fuse', path(name), '-o', join(dir, 'r.wasm'), '--report', jsReport]).status, 0);
  assert.equal(runNative(['fuse', path(name), '--report', nativeReport], { output: true }).status, 0);
  const fromJs = JSON.parse(readFileSync(jsReport, 'utf8'));
  assert.deepEqual(fromJs, JSON.parse(readFileSync(nativeReport, 'utf8')));
  assert.match(fromJs.inputs[0].sha256, /^[0-9a-f]{64}$/);
});

test('without -o the output goes to standard output', () => {
  const name = 'char-adapter';
  const js = solderJs(['fuse', path(name), '--validate']);
  assert.equal(js.status, 0, js.stderr);
  assert.ok(js.stdout.equals(runNative(['fuse', path(name)], { output: true }).output));
});

test('bad input: the native error line and status 1', () => {
  const bad = join(dir, 'bad.wasm');
  for (const [input, args] of [
    [undefined, ['fuse', path('module-import'), '-o', bad]],
    [undefined, ['inspect', path('module-import')]],
    [Buffer.from('not wasm'), ['fuse', '-', '-o', bad]],
    [Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), ['inspect', '-']],
  ]) {
    const js = solderJs(args, input);
    const native = spawnSync(nativeCli, args, { input });
    assert.equal(js.status, 1, `${args}: ${js.stderr}`);
    assert.equal(native.status, 1);
    assert.equal(js.stderr, native.stderr.toString());
    assert.match(js.stderr, /^error: (malformed|unsupported): /);
  }
});

test('usage errors: status 2 and the usage', () => {
  for (const args of [[], ['frobnicate'], ['fuse'], ['inspect'], ['fuse', '--bogus'], ['fuse', path('char-adapter'), '--report', '-']]) {
    const js = solderJs(args);
    assert.equal(js.status, 2, `${args}: ${js.stderr}`);
    assert.match(js.stderr, /^error: .*\nusage:/s);
  }
});
