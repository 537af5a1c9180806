// Builds the fuser component (the crate at the repository root, release,
// wasm32-wasip2) with cargo and transpiles it with jco into `generated/`:
// ES module glue, the core wasm files and TypeScript declarations from the
// WIT. A second transpile, `--instantiation async`, goes into
// `generated/browser/` for `src/browser.js`: its glue imports nothing, so
// it also loads in Web Workers, which have no import maps; core modules
// identical to the first build's are not kept twice (`shared.js` names
// them). `generated/` is build output and is not committed.
//
// cargo builds into `target/wasm`, the directory where the host tests'
// build script puts the same component, so the two share one build and
// the package fuses with exactly the bytes the host tests check.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
const browser = join(out, 'browser');
run(
  process.execPath,
  [
    join(pkg, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js'),
    'transpile', component, '--name', 'solder', '-o', browser, '--quiet',
    '--instantiation', 'async', '--no-typescript',
  ],
  pkg,
);
// Its declarations are the first build's.
rmSync(join(browser, 'interfaces'), { recursive: true, force: true });
rmSync(join(browser, 'solder.d.ts'), { force: true });
const shared = [];
for (const name of readdirSync(browser).filter((f) => f.endsWith('.wasm'))) {
  let same = false;
  try {
    same = Buffer.compare(readFileSync(join(browser, name)), readFileSync(join(out, name))) === 0;
  } catch {
    same = false;
  }
  if (same) {
    rmSync(join(browser, name));
    shared.push(name);
  }
}
writeFileSync(
  join(browser, 'shared.js'),
  `// Core modules of this build that are the Node build's (\`..\`).\nexport const shared = ${JSON.stringify(shared)};\n`,
);
console.log(`transpiled the fuser component into ${out} and ${browser}`);
