// Types of the browser entry in `browser.js`.

import type { Bytes, FuseOptions } from './index.js';
import type { Fused, Report } from '../generated/interfaces/solder-fuser-fuse.js';

export type {
  AdapterInfo,
  Bytes,
  ErrorInfo,
  Fused,
  FuseErrorKind,
  FuseOptions,
  HandleTableInfo,
  InstanceInfo,
  OutputKind,
  Report,
} from './index.js';
export { ERROR_KINDS, FuseError, formatReport } from './index.js';

/** preview2-shim's modules by WASI package: `{ cli, clocks, filesystem, io, random, ... }`. */
export type Shims = Record<string, Record<string, unknown> | undefined>;

/** The fuser, instantiated. */
export interface Fuser {
  /** As `fuse` of `@solder/fuser`. */
  fuse(input: Bytes | Bytes[], options?: FuseOptions): Fused;
  /** As `inspect` of `@solder/fuser`. */
  inspect(component: Bytes): Report;
}

/** Instantiates the fuser with preview2-shim's browser modules. */
export declare function loadFuser(shims: Shims): Promise<Fuser>;

/**
 * The import object of a component transpiled by jco with
 * `--instantiation async`, keyed `wasi:<package>/<interface>`.
 */
export declare function wasiImports(shims: Shims): Record<string, unknown>;
