// Runs one `wasi:cli/run` command in a Web Worker of its own, so that a
// program that never ends can be stopped (the page terminates the worker)
// and each run starts from fresh WASI state. Message in: `{ files, args }`,
// where `files` is jco's transpile output (`--instantiation async`, entry
// `component.js`); out: `{ stdout, stderr, status, trap, ms }` (`status`
// is the exit status, `null` after a trap) or `{ error }` when the program
// could not be loaded.

import { wasiImports } from '../src/browser.js';
import { shims } from './shims.js';

// Collects what a stream writes.
function sink(chunks) {
  return {
    write(bytes) {
      chunks.push(bytes.slice());
    },
    blockingFlush() {},
    flush() {},
  };
}

function joined(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

self.onmessage = async ({ data: { files, args } }) => {
  const stdout = [];
  const stderr = [];
  shims.cli._setArgs(args);
  shims.cli._setEnv({});
  shims.cli._setStdout(sink(stdout));
  shims.cli._setStderr(sink(stderr));
  let run;
  try {
    const entry = new Blob([files['component.js']], { type: 'text/javascript' });
    const url = URL.createObjectURL(entry);
    const { instantiate } = await import(url);
    URL.revokeObjectURL(url);
    const exports = await instantiate((name) => WebAssembly.compile(files[name]), wasiImports(shims));
    run = exports.run?.run;
    if (typeof run !== 'function') {
      throw new Error('the component exports no `wasi:cli/run`: there is nothing to run');
    }
  } catch (e) {
    self.postMessage({ error: String(e && e.message ? e.message : e) });
    return;
  }
  let status = 0;
  let trap = null;
  const started = performance.now();
  try {
    run();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      status = null;
      trap = e.message;
    } else if (e && e.exitError) {
      status = e.code;
    } else if (e && 'payload' in Object(e)) {
      status = 1; // `run` returned `err`
    } else {
      self.postMessage({ error: String(e && e.stack ? e.stack : e) });
      return;
    }
  }
  const ms = performance.now() - started;
  self.postMessage({ stdout: joined(stdout), stderr: joined(stderr), status, trap, ms });
};
