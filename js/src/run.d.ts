/** Running failed before the program could run (not a trap or an exit). */
export class RunError extends Error {}

/** What `fuseAndRun` gives back. */
export interface RunResult {
  /** The exit status; `null` after a trap. */
  status: number | null;
  /** The trap's message, or `null`. */
  trap: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The component that ran (the fused one unless `fuse: false`). */
  fused: Uint8Array;
}

export interface RunOptions {
  /** The whole argument list, program name first (`['main']` by default). */
  args?: string[];
  /** The environment (empty by default). */
  env?: Record<string, string>;
  /** Standard input. */
  stdin?: Uint8Array;
  /** The Node binary to run in (this one by default; Node 22 or later for fused output). */
  node?: string;
  /** `false` runs the input as it is. */
  fuse?: boolean;
  /** Fuse to one memory (runs on Node 20) and transpile without `--multi-memory`. */
  singleMemory?: boolean;
}

/** Transpiles a component with jco (`--multi-memory` unless `multiMemory: false`) for Node; the entry is `component.js`. */
export function transpile(
  component: Uint8Array,
  options?: { multiMemory?: boolean },
): Promise<Record<string, Uint8Array>>;

/** Fuses a `wasi:cli/run` command and runs it under jco in a child Node process. */
export function fuseAndRun(input: Uint8Array, options?: RunOptions): Promise<RunResult>;
