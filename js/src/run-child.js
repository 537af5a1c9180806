// The child process of `fuseAndRun`: sets the WASI shim's arguments and
// environment, loads the transpiled component and calls its
// `wasi:cli/run#run`. The shim's `exit` ends the process with the status;
// `run` returning `err` exits with 1. A trap, or a failure to load, is
// reported as JSON on file descriptor 3, apart from the program's output.

import { writeSync } from 'node:fs';
import { _setArgs, _setCwd, _setEnv } from '@bytecodealliance/preview2-shim/cli';

const { entry, args, env } = JSON.parse(process.argv[2]);
_setArgs(args);
_setEnv(env);
_setCwd(undefined);

const report = (what) => writeSync(3, JSON.stringify({ ...what, version: process.version }));

let component;
try {
  component = await import(entry);
} catch (e) {
  report({ error: String(e?.message ?? e) });
  process.exit(1);
}
try {
  component.run.run();
} catch (e) {
  if (e instanceof WebAssembly.RuntimeError) {
    report({ trap: e.message });
    process.exit(134);
  }
  if (e?.constructor?.name === 'ComponentError' || 'payload' in Object(e)) {
    process.exit(1);
  }
  report({ error: String(e?.stack ?? e) });
  process.exit(1);
}
