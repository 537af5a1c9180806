// The package as a user gets it: `npm pack`, installed into a fresh
// project, imported by name and run through `npx solder-js`.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixturesDir, packageDir, runNative, tempDir } from './support.mjs';

const [dir, cleanup] = tempDir();
after(cleanup);
const project = join(dir, 'project');
let packed;

before(() => {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: packageDir,
    encoding: 'utf8',
  }));
  packed = info;
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)], {
    cwd: project,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});

test('the tarball holds every entry point', () => {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const files = new Set(packed.files.map((f) => f.path));
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  for (const entry of Object.values(pkg.exports)) {
    targets.push(...Object.values(entry));
  }
  for (const target of targets) {
    assert.ok(files.has(target.replace(/^\.\//, '')), `${target} is not in the tarball`);
  }
  assert.ok(files.has('generated/solder.core.wasm'));
  assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('playground/')));
});

test('an installed copy fuses by package name', () => {
  const input = join(fixturesDir, 'types_mid+types_lib.wasm');
  const script = join(project, 'use.js');
  writeFileSync(script, `
import { readFileSync } from 'node:fs';
import { fuse } from '@solder/fuser';
process.stdout.write(fuse(readFileSync(process.argv[2])).bytes);
`);
  const out = execFileSync(process.execPath, [script, input], { cwd: project, maxBuffer: 1 << 28 });
  assert.ok(out.equals(runNative(['fuse', input], { output: true }).output));
});

test('npx solder-js runs the installed bin', () => {
  const input = join(fixturesDir, 'string-transcode.wasm');
  const out = join(dir, 'out.wasm');
  const result = spawnSync('npx', ['--offline', '--no', 'solder-js', 'fuse', input, '-o', out, '--core'], {
    cwd: project,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(readFileSync(out).equals(runNative(['fuse', input, '--core'], { output: true }).output));
});
