// Types of the wrapper in `index.js`. The records it returns are the ones
// jco generates from `wit/fuser.wit`; they are re-exported from here.

import type {
  AdapterInfo,
  ErrorInfo,
  Fused,
  HandleTableInfo,
  InstanceInfo,
  OutputKind,
  Report,
} from '../generated/interfaces/solder-fuser-fuse.js';

export type { AdapterInfo, ErrorInfo, Fused, HandleTableInfo, InstanceInfo, OutputKind, Report };

/** Anything holding a component's bytes. */
export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;

/** The kinds of `fuse-error`. */
export type FuseErrorKind = 'malformed' | 'unsupported' | 'unresolved' | 'limit-exceeded' | 'internal';

/** The kinds of `fuse-error`, in the WIT's order. */
export declare const ERROR_KINDS: readonly FuseErrorKind[];

/** How to fuse; every field has a default. */
export interface FuseOptions {
  /** What to produce: a drop-in component (default) or the bare core module. */
  output?: OutputKind;
  /** Validate the output before returning it (default `true`). */
  validate?: boolean;
  /** Leave the inputs' DWARF out of the output (default `false`: carried). */
  stripDebug?: boolean;
  /** One memory in the fused module, for engines without multi-memory (default `false`). */
  singleMemory?: boolean;
}

/** Why fusing failed: the component's `fuse-error`. */
export declare class FuseError extends Error {
  readonly name: 'FuseError';
  /** What kind of problem it is. */
  readonly kind: FuseErrorKind;
  /** The component path inside the input, e.g. `root/component[1]/module[0]`. */
  readonly path: string;
  /** Byte offset into the input, when known. */
  readonly offset: number | undefined;
  /** The feature that is not supported, for `unsupported` errors. */
  readonly feature: string | undefined;
  /** The native CLI's one-line description (after its `error: `). */
  toString(): string;
}

/**
 * Fuses a composition (one component's bytes, or an array of them; today
 * exactly one is supported). Throws a `FuseError` when the input cannot be
 * fused.
 */
export declare function fuse(input: Bytes | Bytes[], options?: FuseOptions): Fused;

/** Describes what fusing `component` would do. Throws a `FuseError`. */
export declare function inspect(component: Bytes): Report;

/** The report as the native `solder inspect` prints it. */
export declare function formatReport(report: Report): string;
