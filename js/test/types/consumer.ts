// Compiled with `tsc --noEmit` (npm run test:types): the package's types
// as a TypeScript user sees them, through its own name and `exports`.

import { fuse, inspect, formatReport, FuseError } from '@solder/fuser';
import type { Report, Fused, FuseErrorKind } from '@solder/fuser';
import * as raw from '@solder/fuser/raw';

const input = new Uint8Array(0);

const fused: Fused = fuse(input, { output: 'core-module' });
const bytes: Uint8Array = fused.bytes;
const sameFused: Fused = fuse([input.buffer], {});
const oneMemory: Fused = fuse(input, { singleMemory: true, stripDebug: true });
const report: Report = inspect(input);
const text: string = formatReport(report);
const adapters: string[] = report.adapters.map((a) => `${a.route} ${a.name} ${a.strategy}`);
const tableMemory: number | undefined = report.handleTables[0]?.tableMemory;
const inputSize: bigint = report.inputSize;

try {
  fuse(input);
} catch (e) {
  if (e instanceof FuseError) {
    const kind: FuseErrorKind = e.kind;
    const where: string = `${e.path} ${e.offset ?? '?'} ${e.feature ?? ''}`;
    void kind;
    void where;
  }
}

// The generated bindings, as jco emits them.
const rawFused: raw.fuse.Fused = raw.fuse.fuse([input], { output: 'component', validate: true, stripDebug: false, singleMemory: false });

// @ts-expect-error: `output` is 'component' or 'core-module'.
fuse(input, { output: 'module' });
// @ts-expect-error: a string is not bytes.
inspect('app.wasm');

void [bytes, sameFused, oneMemory, text, adapters, tableMemory, inputSize, rawFused];

// The browser entry: the fuser instantiated with shims the caller brings.
import { loadFuser, wasiImports } from '@solder/fuser/browser';
import type { Fuser } from '@solder/fuser/browser';

async function inBrowser(shims: Record<string, Record<string, unknown>>): Promise<Fused> {
  const fuser: Fuser = await loadFuser(shims);
  const imports: Record<string, unknown> = wasiImports(shims);
  void imports;
  return fuser.fuse(input, { output: 'component' });
}
void inBrowser;
