// Builds the fuser component (the crate at the repository root, release,
// wasm32-wasip2) with cargo and transpiles it with jco into `generated/`:
// ES module glue, the core wasm files and TypeScript declarations from the
// WIT. `generated/` is build output and is not committed.
//
// cargo builds into `target/wasm`, the directory where the host tests'
// build script puts the same component, so the two share one build and
// the package fuses with exactly the bytes the host tests check.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const root = join(pkg, '..');
const targetDir = join(root, 'target', 'wasm');
const component = join(targetDir, 'wasm32-wasip2', 'release', 'solder.wasm');
const out = join(pkg, 'generated');

function run(cmd, args, cwd) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
}

run(
  'cargo',
  [
    'build', '--release', '--target', 'wasm32-wasip2',
    '--bin', 'solder', '-p', 'solder',
    '--target-dir', targetDir,
  ],
  root,
);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
run(
  process.execPath,
  [
    join(pkg, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js'),
    'transpile', component, '--name', 'solder', '-o', out, '--quiet',
  ],
  pkg,
);
console.log(`transpiled the fuser component into ${out}`);
