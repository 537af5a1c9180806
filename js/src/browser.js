// The package's entry point in browsers (and Web Workers, which have no
// import maps): the fuser component transpiled by jco with
// `--instantiation async` (`../generated/browser/`), instantiated with
// WASI shims the caller passes, behind the API of `api.js`.
//
//   import * as cli from '@bytecodealliance/preview2-shim/cli'; // ...
//   const { fuse, inspect } = await loadFuser({ cli, clocks, filesystem, io, random });
//
// `wasiImports` builds the same kind of import object for any component
// that jco transpiled that way, such as a fused program to run.

import { instantiate } from '../generated/browser/solder.js';
import { shared } from '../generated/browser/shared.js';
import { bind } from './api.js';

export { ERROR_KINDS, FuseError, formatReport } from './api.js';

/** `terminal-stdout` -> `terminalStdout`. */
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/**
 * The imports of a component transpiled with `--instantiation async`,
 * keyed `wasi:<package>/<interface>` (no version), from preview2-shim's
 * modules by package: `{ cli, clocks, filesystem, io, random, ... }`. An
 * interface no shim module has reads as `undefined`, as jco reports.
 */
export function wasiImports(shims) {
  return new Proxy({}, {
    get(_, key) {
      const m = typeof key === 'string' && /^wasi:([a-z-]+)\/([a-z-]+)$/.exec(key);
      return m ? shims[m[1]]?.[camel(m[2])] : undefined;
    },
  });
}

async function compile(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`could not fetch ${url}: ${response.status} ${response.statusText}`);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Instantiates the fuser with preview2-shim's browser modules `shims`
 * (the fuser reads no files and prints nothing; it needs them to link).
 * Resolves to `{ fuse, inspect }` of `api.js`.
 */
export async function loadFuser(shims) {
  // Core modules identical to the Node build's are fetched from there.
  const getCoreModule = (name) =>
    compile(new URL(shared.includes(name) ? `../generated/${name}` : `../generated/browser/${name}`, import.meta.url));
  const exports = await instantiate(getCoreModule, wasiImports(shims));
  return bind(exports.fuse);
}
