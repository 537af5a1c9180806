// End to end: the playground in headless Chromium. A composition goes in
// through the file input, through a drop event and as an example; the page
// must show the graph `inspect` reports, and its download must be byte for
// byte the native CLI's output. An invalid file must show the fuser's
// error. Commands run as they came and fused, side by side, with the same
// output, exit status or trap; the fuser runs in a worker, not on the page.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';
import { fixturesDir, fixtures, runNative } from '../../test/support.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Without the networking switches, Chromium's own background connections
// fail in sandboxed CI and take the page's down with them.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const path = (name) => join(fixturesDir, `${name}.wasm`);
const THREE = 'scalars-app+scalars_mid+scalars_lib';
const TYPES = 'types-app+types_mid+types_lib';

let server;
let context;
let page;
let profile;
let origin;
const problems = [];

before(async () => {
  fixtures(); // fails early, with a hint, when the fixtures are missing
  server = await serve(0);
  origin = `http://127.0.0.1:${server.address().port}`;
  profile = mkdtempSync(join(tmpdir(), 'solder-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => problems.push(e));
  await page.goto(`${origin}/playground/`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
});

after(async () => {
  await context?.close();
  server?.close();
  if (profile) {
    rmSync(profile, { recursive: true, force: true });
  }
});

// Runs `action` and waits until the page has handled it: the state is
// marked first, so a `done` left from the previous input does not count.
async function settled(action) {
  await page.evaluate(() => {
    document.body.dataset.state = 'test-waiting';
  });
  await action();
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 60_000 });
  return page.evaluate(() => document.body.dataset.state);
}

const cells = (selector) => page.locator(selector).evaluateAll((rows) =>
  rows.map((r) => [...r.cells].map((c) => c.textContent)));

// The core instances and adapters in the native `solder inspect` text.
function nativeGraph(file) {
  const text = runNative(['inspect', file]).stdout;
  const instances = [...text.matchAll(/^ {2}(\S+) \((\d+) functions, (\d+) memories\)$/gm)].map((m) => m.slice(1));
  const adapters = [...text.matchAll(/^ {2}(.+ -> \S+) `([^`]+)` \[(\w+)\]$/gm)].map((m) => m.slice(1));
  return { instances, adapters };
}

async function download() {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  return [file.suggestedFilename(), readFileSync(await file.path())];
}

const texts = (selector) => page.locator(selector).allTextContents();

// Drops `bytes` on the drop zone as a file named `name`, as a browser does
// when a file is dragged from the desktop.
async function drop(name, bytes) {
  const dataTransfer = await page.evaluateHandle(([fileName, base64]) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], fileName, { type: 'application/wasm' }));
    return transfer;
  }, [name, bytes.toString('base64')]);
  await page.dispatchEvent('#drop', 'dragover', { dataTransfer });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
}

test('a chosen file: the graph, and the native bytes to download', async () => {
  assert.equal(await settled(() => page.setInputFiles('#file', path(THREE))), 'done');
  assert.equal(await page.isHidden('#error'), true);

  const native = nativeGraph(path(THREE));
  assert.equal(native.instances.length, 7);
  assert.equal(native.adapters.length, 36);
  assert.deepEqual(await cells('#instances tbody tr'), native.instances);
  assert.deepEqual(await cells('#adapters tbody tr'), native.adapters);
  const edges = await texts('#edges li');
  assert.deepEqual(edges, [
    'root/component[1]#3 -> root/component[0]#1: 18 functions (18 direct)',
    'root/component[2]#5 -> root/component[1]#3: 18 functions (18 direct)',
  ]);
  const instances = await texts('#instances tbody td:first-child');
  assert.equal(instances.length, 7);
  for (const c of [0, 1, 2]) {
    assert.ok(instances.some((p) => p.startsWith(`root/component[${c}]/module[`)), `component ${c}`);
  }
  const adapters = await cells('#adapters tbody tr');
  assert.ok(adapters.some(([route, name, strategy]) =>
    route === 'root/component[2]#5 -> root/component[1]#3' && name === 'add-u64' && strategy === 'direct'));
  assert.deepEqual(await cells('#handle-tables tbody tr'), [
    ['root/component[0]#1', '—', 'memory 3'],
    ['root/component[2]#5', '—', 'memory 3'],
  ]);
  const summary = await texts('#summary dd');
  assert.equal(summary[0], '7');

  const [name, bytes] = await download();
  assert.equal(name, `${THREE}.fused.wasm`);
  assert.ok(bytes.equals(runNative(['fuse', path(THREE)], { output: true }).output));
});

test('a dropped file, fused to a component and to a core module', async () => {
  assert.equal(await settled(() => drop(`${TYPES}.wasm`, readFileSync(path(TYPES)))), 'done');
  assert.equal(await page.textContent('#file-name'), `${TYPES}.wasm`);
  assert.deepEqual(await cells('#adapters tbody tr'), nativeGraph(path(TYPES)).adapters);
  const strategies = await texts('#adapters tbody td:nth-child(3)');
  assert.ok(strategies.includes('copy'), `strategies: ${strategies}`);
  let [name, bytes] = await download();
  assert.equal(name, `${TYPES}.fused.wasm`);
  assert.ok(bytes.equals(runNative(['fuse', path(TYPES)], { output: true }).output));

  assert.equal(await settled(() => page.selectOption('#output', 'core-module')), 'done');
  [name, bytes] = await download();
  assert.equal(name, `${TYPES}.core.wasm`);
  assert.ok(bytes.equals(runNative(['fuse', path(TYPES), '--core'], { output: true }).output));
  assert.equal(await settled(() => page.selectOption('#output', 'component')), 'done');
});

test('resources show their handle tables', async () => {
  assert.equal(await settled(() => page.setInputFiles('#file', path('resource-export'))), 'done');
  assert.deepEqual(await cells('#handle-tables tbody tr'), [['root/component[0]#1', 'r', 'memory 0']]);
});

test('an invalid file shows the error', async () => {
  const notWasm = Buffer.from('this is not a component\n');
  const file = { name: 'notes.wasm', mimeType: 'application/wasm', buffer: notWasm };
  assert.equal(await settled(() => page.setInputFiles('#file', file)), 'error');
  assert.equal(await page.isHidden('#result'), true);
  const native = runNative(['inspect', '-'], { input: notWasm });
  assert.equal(native.status, 1);
  const line = native.stderr.replace(/^error: /, '').trimEnd();
  assert.equal(await page.textContent('#error .line'), line);
  assert.match(await page.textContent('#error'), /kindmalformed/);

  assert.equal(await settled(() => drop('module-import.wasm', readFileSync(path('module-import')))), 'error');
  const unsupported = runNative(['inspect', path('module-import')]).stderr.replace(/^error: /, '').trimEnd();
  assert.equal(await page.textContent('#error .line'), unsupported);
  assert.match(await page.textContent('#error'), /featuremodule-import/);
});

// Runs the current input both ways with `args`; returns what each side
// shows and the verdict.
async function runBoth(args) {
  await page.fill('#args', args);
  await page.evaluate(() => {
    document.body.dataset.run = 'test-waiting';
  });
  await page.click('#run-button');
  await page.waitForSelector('body[data-run="done"], body[data-run="error"]', { timeout: 120_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.run), 'done', await page.textContent('#run-status'));
  const side = async (id) => ({
    outcome: await page.textContent(`#run-${id} .outcome`),
    stdout: await page.textContent(`#run-${id} .stdout`),
    stderr: await page.textContent(`#run-${id} .stderr`),
  });
  return { original: await side('original'), fused: await side('fused'), verdict: await page.textContent('#run-verdict') };
}

const withoutTime = (outcome) => outcome.replace(/ \([\d.]+ ms\)$/, '');

test('an example, fused in a worker and run beside the original', async () => {
  assert.equal(await settled(() => page.click('button[data-example="hello"]')), 'done');
  assert.equal(await page.textContent('#file-name'), 'hello.wasm');
  const [name, bytes] = await download();
  assert.equal(name, 'hello.fused.wasm');
  assert.ok(bytes.equals(runNative(['fuse', path('hello')], { output: true }).output));
  // The fuser runs in its worker: the worker fetched the fuser's core
  // module, the page did not.
  const worker = page.workers().find((w) => w.url().endsWith('/playground/fuse-worker.js'));
  assert.ok(worker, 'no fuser worker');
  const wasm = () => performance.getEntriesByType('resource').map((r) => r.name).filter((u) => u.endsWith('.wasm'));
  assert.ok((await worker.evaluate(wasm)).some((u) => u.endsWith('/generated/solder.core.wasm')));
  assert.deepEqual((await page.evaluate(wasm)).filter((u) => u.includes('/generated/')), []);

  assert.equal(await page.inputValue('#args'), 'hello, wörld 🌍');
  let run = await runBoth('hello, wörld 🌍');
  assert.equal(run.fused.stdout, 'hello from a single component, args = ["hello,", "wörld", "🌍"]\n');
  assert.equal(run.fused.stderr, 'a line on stderr\n');
  assert.equal(withoutTime(run.fused.outcome), 'exit status 0');
  assert.deepEqual({ ...run.fused, outcome: withoutTime(run.fused.outcome) },
    { ...run.original, outcome: withoutTime(run.original.outcome) });
  assert.equal(run.verdict, 'Same output, same exit status.');
  // What ran is what was fused and what came in.
  assert.equal(await page.textContent('#run-fused h3'), `Fused, ${bytes.length} bytes`);
  assert.equal(await page.textContent('#run-original h3'), `Composed, ${readFileSync(path('hello')).length} bytes`);

  // `std::process::exit(42)` is WASI 0.2's `exit(err)`: status 1, as
  // under wasmtime.
  run = await runBoth('exit 42');
  assert.equal(withoutTime(run.fused.outcome), 'exit status 1');
  assert.equal(withoutTime(run.original.outcome), 'exit status 1');
  assert.equal(run.verdict, 'Same output, same exit status.');

  run = await runBoth('panic');
  assert.match(run.fused.outcome, /^trapped: .*unreachable/);
  assert.equal(withoutTime(run.fused.outcome), withoutTime(run.original.outcome));
  assert.match(run.fused.stderr, /asked to panic/);
  assert.equal(run.fused.stderr, run.original.stderr);
  assert.equal(run.verdict, 'Same output, same exit status.');
});

test('three components passing strings, records and resources run alike fused', async () => {
  assert.equal(await settled(() => page.click(`button[data-example="${TYPES}"]`)), 'done');
  const run = await runBoth('');
  assert.match(run.fused.stdout, /reverse-string = "🦀 界世 ,eßürg"/);
  assert.match(run.fused.stdout, /echo-people = \[Person \{ name: "Ada"/);
  assert.equal(run.fused.stdout, run.original.stdout);
  assert.equal(withoutTime(run.fused.outcome), 'exit status 0');
  assert.equal(run.verdict, 'Same output, same exit status.');
  assert.match(await page.textContent('#run-fused h3'), /^Fused, \d+ bytes$/);
});

test('one memory: the native bytes, run beside the original', async () => {
  assert.equal(await settled(() => page.click(`button[data-example="${THREE}"]`)), 'done');
  assert.equal(await settled(() => page.check('#single-memory')), 'done');
  const [name, bytes] = await download();
  assert.equal(name, `${THREE}.one.fused.wasm`);
  assert.ok(bytes.equals(runNative(['fuse', path(THREE), '--single-memory'], { output: true }).output));
  const run = await runBoth('trap');
  assert.match(run.fused.outcome, /^trapped: /);
  assert.equal(withoutTime(run.fused.outcome), withoutTime(run.original.outcome));
  assert.equal(run.fused.stdout, run.original.stdout);
  assert.equal(run.verdict, 'Same output, same exit status.');
  assert.equal(await settled(() => page.uncheck('#single-memory')), 'done');
});

test('a component that is no command says so; core output is not run', async () => {
  assert.equal(await settled(() => page.setInputFiles('#file', path('string-transcode'))), 'done');
  const run = await runBoth('');
  assert.match(run.fused.outcome, /did not run: the component exports no `wasi:cli\/run`/);
  assert.equal(run.verdict, 'The outputs differ.');
  assert.equal(await settled(() => page.selectOption('#output', 'core-module')), 'done');
  assert.equal(await page.isHidden('#run'), true);
  assert.equal(await settled(() => page.selectOption('#output', 'component')), 'done');
});

test('no uncaught errors on the page', () => {
  assert.deepEqual(problems, []);
});
