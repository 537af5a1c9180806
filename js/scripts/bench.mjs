// `npm run bench [-- input.wasm [runs]]`: fuse time of one input in Node
// (the transpiled fuser, in this process) against the native CLI (a
// process per run, reading and writing files). Defaults to the example
// composition that `cargo run --release -p host-tests` writes. Each figure
// is a median; the timed Node runs come after the first, which is shown
// apart (it runs before V8 has optimised the fuser's code).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const input = process.argv[2] ?? join(root, 'target', 'example', 'composed.wasm');
const runs = Number(process.argv[3] ?? 15);
const cli = process.env.SOLDER_CLI ?? join(root, 'target', 'release', 'solder');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;

let t = performance.now();
const { fuse } = await import('../src/index.js');
const load = performance.now() - t;

const bytes = readFileSync(input);
t = performance.now();
const first = fuse(bytes).bytes.length;
const firstTime = performance.now() - t;
// The two sides take turns, so that both see the same load on the machine.
const node = [];
const native = [];
const dir = mkdtempSync(join(tmpdir(), 'solder-bench-'));
try {
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    fuse(bytes);
    node.push(performance.now() - t);

    t = performance.now();
    const r = spawnSync(cli, ['fuse', input, '-o', join(dir, 'out.wasm')]);
    native.push(performance.now() - t);
    if (r.status !== 0) {
      throw new Error(`native CLI failed: ${r.stderr}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`input: ${input} (${bytes.length} bytes in, ${first} bytes out)`);
console.log(`node: loading the package ${ms(load)}, first fuse ${ms(firstTime)}, median of ${runs} ${ms(median(node))}`);
console.log(`native CLI (whole process): median of ${runs} ${ms(median(native))}`);
console.log(`node / native: x${(median(node) / median(native)).toFixed(1)}`);
