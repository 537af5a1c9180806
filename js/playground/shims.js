// preview2-shim's browser modules by WASI package, as `wasiImports` of
// `src/browser.js` takes them. Imported by path: the page's workers have
// no import map.

import * as cli from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/cli.js';
import * as clocks from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/clocks.js';
import * as filesystem from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/filesystem.js';
import * as io from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/io.js';
import * as random from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/random.js';

export const shims = { cli, clocks, filesystem, io, random };
