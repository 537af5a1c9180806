// The package's `fuse` and `inspect` against the native CLI, on every
// fixture: the same bytes (component and core module), the same report,
// and for input the fuser rejects, a `FuseError` saying what the CLI says.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ERROR_KINDS, FuseError, formatReport, fuse, inspect } from '@solder/fuser';
import { COMPOSITIONS, fixture, fixturePath, fixtures, runNative } from './support.mjs';

const all = fixtures();

test('the fixtures include the compositions', () => {
  const names = all.map(([name]) => name);
  for (const name of COMPOSITIONS) {
    assert.ok(names.includes(name), `fixture ${name} is missing`);
  }
});

for (const [output, flags] of [['component', []], ['core-module', ['--core']]]) {
  describe(`fuse to a ${output} equals the native CLI's`, () => {
    for (const [name, path] of all) {
      test(name, () => {
        const native = runNative(['fuse', path, ...flags], { output: true });
        const input = readFileSync(path);
        if (native.status === 0) {
          const fused = fuse(input, { output });
          assert.ok(fused.bytes instanceof Uint8Array);
          assert.ok(Buffer.from(fused.bytes).equals(native.output), 'fused bytes differ');
          assert.equal(fused.report.outputSize, BigInt(native.output.length));
          assert.equal(fused.report.inputSize, BigInt(input.length));
        } else {
          assert.throws(() => fuse(input, { output }), (e) => {
            assert.ok(e instanceof FuseError, `not a FuseError: ${e}`);
            assert.equal(`error: ${e}\n`, native.stderr);
            return true;
          });
        }
      });
    }
  });
}

describe('inspect prints what the native CLI prints', () => {
  for (const [name, path] of all) {
    test(name, () => {
      const native = runNative(['inspect', path]);
      const input = readFileSync(path);
      if (native.status === 0) {
        assert.equal(`${formatReport(inspect(input))}\n`, native.stdout);
      } else {
        assert.throws(() => inspect(input), (e) => `error: ${e}\n` === native.stderr);
      }
    });
  }
});

test('inspect reports the graph of a three-component chain', () => {
  const input = fixture('scalars-app+scalars_mid+scalars_lib');
  const report = inspect(input);
  assert.equal(report.componentInstances, 7);
  const components = new Set(report.coreInstances.map((c) => c.path.split('/module')[0]));
  assert.deepEqual([...components].sort(), ['root/component[0]', 'root/component[1]', 'root/component[2]']);
  const routes = new Set(report.adapters.map((a) => a.route));
  assert.deepEqual([...routes].sort(), [
    'root/component[1]#3 -> root/component[0]#1',
    'root/component[2]#5 -> root/component[1]#3',
  ]);
  assert.ok(report.adapters.some((a) => a.name === 'add-u64' && a.strategy === 'direct'));
  assert.equal(report.outputSize, 0n);
  assert.equal(report.inputSize, BigInt(input.length));
  // `fuse` reports the same, with the output's size.
  const fused = fuse(input);
  assert.deepEqual({ ...fused.report, outputSize: 0n }, report);
});

test('inspect reports strategies and handle tables', () => {
  const strings = inspect(fixture('types-app+types_mid+types_lib'));
  const strategies = new Set(strings.adapters.map((a) => a.strategy));
  assert.ok(strategies.has('copy'), `strategies: ${[...strategies]}`);
  const transcode = inspect(fixture('string-transcode'));
  assert.ok(transcode.adapters.some((a) => a.strategy === 'transcode'));
  const resources = inspect(fixture('resource-export'));
  assert.deepEqual(resources.handleTables, [
    { instance: 'root/component[0]#1', defines: ['r'], tableMemory: 0 },
  ]);
});

test('any byte container is accepted', () => {
  const input = fixture('types_mid+types_lib');
  const expected = fuse(input).bytes;
  const copy = new Uint8Array(input);
  const padded = new Uint8Array(copy.length + 8);
  padded.set(copy, 4);
  for (const variant of [
    copy.buffer,
    new DataView(padded.buffer, 4, copy.length),
    [copy],
  ]) {
    assert.deepEqual(fuse(variant).bytes, expected);
  }
  assert.deepEqual(fuse(input, { validate: false }).bytes, expected);
});

test('several inputs are wired by interface name, as the native CLI wires them', () => {
  for (const parts of [['scalars-app', 'scalars_lib'], ['types-app', 'types_lib'], ['types_mid', 'types_lib']]) {
    const native = runNative(['fuse', ...parts.map(fixturePath)], { output: true });
    assert.equal(native.status, 0, native.stderr);
    const fused = fuse(parts.map(fixture));
    assert.ok(Buffer.from(fused.bytes).equals(native.output), `${parts}: fused bytes differ`);
    assert.deepEqual(
      fused.report.inputs.map((i) => i.name),
      parts.map((_, i) => `input[${i}]`),
    );
  }
});

describe('bad input gives a typed error', () => {
  const cases = [
    ['empty', new Uint8Array(0), 'malformed'],
    ['random bytes', Uint8Array.from({ length: 256 }, (_, i) => (i * 7919 + 13) % 251), 'malformed'],
    ['a core module', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0), 'malformed'],
    ['a truncated composition', fixture('scalars-app+scalars_lib').subarray(0, 5000), 'malformed'],
    ['a module the host supplies, given the composition\'s memory', fixture('module-import'), 'unsupported'],
    ['an input nothing uses', [fixture('types_mid+types_lib'), fixture('types_mid+types_lib')], 'unresolved'],
  ];
  for (const [what, input, kind] of cases) {
    test(what, () => {
      assert.throws(() => fuse(input), (e) => {
        assert.ok(e instanceof FuseError, `not a FuseError: ${e?.stack ?? e}`);
        assert.ok(e instanceof Error);
        assert.equal(e.name, 'FuseError');
        assert.equal(e.kind, kind);
        assert.ok(ERROR_KINDS.includes(e.kind));
        assert.equal(typeof e.message, 'string');
        assert.ok(e.message.length > 0);
        assert.equal(typeof e.path, 'string');
        assert.ok(e.offset === undefined || Number.isInteger(e.offset));
        if (kind === 'unsupported') {
          assert.equal(typeof e.feature, 'string');
        }
        return true;
      });
      if (!Array.isArray(input)) {
        assert.throws(() => inspect(input), FuseError);
      }
    });
  }

  test('the fuser still works after errors', () => {
    assert.throws(() => fuse(new Uint8Array(3)), FuseError);
    assert.equal(fuse(fixture('char-adapter')).bytes[0], 0);
  });

  test('wrong arguments are a TypeError', () => {
    assert.throws(() => fuse('app.wasm'), TypeError);
    assert.throws(() => fuse(fixture('char-adapter'), { output: 'module' }), TypeError);
    assert.throws(() => inspect(undefined), TypeError);
  });
});
