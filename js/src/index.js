// The package's entry point in Node: the jco-transpiled fuser component
// (`../generated/solder.js`) behind the API of `api.js`. The generated
// bindings stay available as `@solder/fuser/raw`.

import { fuse as fuser } from '../generated/solder.js';
import { bind } from './api.js';

export { ERROR_KINDS, FuseError, formatReport } from './api.js';

const api = bind(fuser);

/**
 * Fuses a composition. `input` is one component's bytes or an array of
 * them (today exactly one is supported). Options: `output` is
 * `'component'` (the default) or `'core-module'`; `validate` (default
 * `true`) validates the output before it is returned; `stripDebug`
 * (default `false`) leaves the inputs' DWARF out of the output;
 * `singleMemory` (default `false`) gives the fused module one memory, for
 * engines without multi-memory (Node 20).
 */
export const fuse = api.fuse;

/** Describes what fusing `component` would do, without producing output. */
export const inspect = api.inspect;
