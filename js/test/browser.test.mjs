// The browser entry (`@solder/fuser/browser`) in Node, which has what it
// needs (`fetch` of file URLs aside): the fuser loaded from the
// `--instantiation async` build with preview2-shim's modules fuses as the
// Node entry does, and `wasiImports` finds each interface's shim.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as clocks from '@bytecodealliance/preview2-shim/clocks';
import * as filesystem from '@bytecodealliance/preview2-shim/filesystem';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';
import { FuseError as BrowserFuseError, loadFuser, wasiImports } from '../src/browser.js';
import { fuse } from '../src/index.js';
import { COMPOSITIONS, fixture } from './support.mjs';

const shims = { cli, clocks, filesystem, io, random };

test('wasiImports maps interface names to shim members', () => {
  const imports = wasiImports(shims);
  assert.equal(imports['wasi:cli/terminal-stdout'], cli.terminalStdout);
  assert.equal(imports['wasi:io/streams'], io.streams);
  assert.equal(imports['wasi:random/insecure-seed'], random.insecureSeed);
  assert.equal(imports['wasi:sockets/tcp'], undefined);
  assert.equal(imports['not-wasi'], undefined);
});

test('the browser build fuses as the Node build does', async (t) => {
  // Node's `fetch` takes no file URLs: read them instead, for this test.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url) => {
    const bytes = await readFile(fileURLToPath(url));
    return new Response(bytes, { status: 200 });
  };
  t.after(() => {
    globalThis.fetch = realFetch;
  });
  const browser = await loadFuser(shims);
  for (const name of COMPOSITIONS) {
    const bytes = fixture(name);
    for (const output of ['component', 'core-module']) {
      assert.deepEqual(browser.fuse(bytes, { output }).bytes, fuse(bytes, { output }).bytes, `${name} ${output}`);
    }
    assert.deepEqual(browser.inspect(bytes), (await import('../src/index.js')).inspect(bytes));
  }
  assert.throws(() => browser.fuse(new Uint8Array([1, 2, 3])), (e) => {
    assert.ok(e instanceof BrowserFuseError);
    assert.equal(e.kind, 'malformed');
    return true;
  });
});
