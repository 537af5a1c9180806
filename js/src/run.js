// Fusing a `wasi:cli/run` command and running the fused component in Node:
// the fused component is transpiled with jco (an optional peer dependency,
// loaded only here) into a temporary directory and run by a child Node
// process, so that its `exit` ends that process and not the caller's, and
// so that the fuser can run in one Node while the program runs in another
// (the fused module has several memories, which V8 compiles from Node 22
// on; `options.node` names that Node).

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fuse } from './index.js';

/** Running failed before the program could run (not a trap or an exit). */
export class RunError extends Error {}

const CHILD = fileURLToPath(new URL('./run-child.js', import.meta.url));

/** The WASI shims the transpiled code imports, by absolute URL. */
function shimMap() {
  const map = {};
  for (const api of ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets']) {
    map[`wasi:${api}/*`] = `${import.meta.resolve(`@bytecodealliance/preview2-shim/${api}`)}#*`;
  }
  return map;
}

/**
 * Transpiles a component with jco for Node, as `jco transpile
 * --multi-memory` does (the flag lets jco accept a core module with more
 * than one memory, as every fused module is unless fused with
 * `singleMemory`; `{ multiMemory: false }` leaves it out), its WASI imports bound to
 * this package's `@bytecodealliance/preview2-shim`. Returns the files as
 * `{ name: Uint8Array }`; the entry is `component.js`.
 */
export async function transpile(component, { multiMemory = true } = {}) {
  let jco;
  try {
    jco = await import('@bytecodealliance/jco');
  } catch (e) {
    throw new RunError(`running needs @bytecodealliance/jco installed beside @solder/fuser: ${e.message}`);
  }
  const { files } = await jco.transpile(component, {
    name: 'component',
    multiMemory,
    map: shimMap(),
    quiet: true,
  });
  return files;
}

/**
 * Fuses a `wasi:cli/run` command (unless `options.fuse` is false: then the
 * input runs as it is) and runs it under jco in a child Node process.
 * Options: `args` (the whole argument list, program name first; `['main']`
 * by default), `env` (an object; empty by default), `stdin` (bytes),
 * `node` (the Node binary; this one by default), `singleMemory` (fuse
 * to one memory, which Node 20 can run, and transpile without
 * `--multi-memory`). Resolves to `{ status,
 * trap, stdout, stderr, fused }`: the exit status, or `status: null` and
 * the trap's message.
 */
export async function fuseAndRun(input, options = {}) {
  const { args = ['main'], env = {}, stdin, node = process.execPath } = options;
  const { singleMemory = false } = options;
  const component = options.fuse === false ? input : fuse(input, { singleMemory }).bytes;
  const files = await transpile(component, { multiMemory: !singleMemory });
  const dir = mkdtempSync(join(tmpdir(), 'solder-run-'));
  try {
    for (const [name, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    const entry = pathToFileURL(join(dir, 'component.js')).href;
    const spec = JSON.stringify({ entry, args, env });
    const result = await new Promise((resolve, reject) => {
      const child = spawn(node, [CHILD, spec], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      const out = [[], [], []];
      for (const [i, stream] of [child.stdout, child.stderr, child.stdio[3]].entries()) {
        stream.on('data', (d) => out[i].push(d));
      }
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, out: out.map((o) => Buffer.concat(o)) }));
      child.stdin.end(stdin ?? new Uint8Array());
    });
    const [stdout, stderr, report] = result.out;
    const ended = report.length ? JSON.parse(report.toString()) : {};
    if (ended.error) {
      if (/exceeds internal limit of 1/.test(ended.error)) {
        throw new RunError(
          `Node ${ended.version} cannot compile a module with several memories (V8 has multi-memory from Node 22 on): ${ended.error}`,
        );
      }
      throw new RunError(`running the transpiled component: ${ended.error}`);
    }
    return {
      status: ended.trap ? null : result.status,
      trap: ended.trap ?? null,
      stdout,
      stderr,
      fused: component,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
