// The playground's fuser, in a Web Worker so that the page stays
// responsive however long a large input takes. Messages in:
// `{ id, bytes, output, singleMemory }`; out: `{ id, report, fused, ms }`
// or `{ id, error }`, where `error` carries a `FuseError`'s fields.

import { FuseError, loadFuser } from '../src/browser.js';
import { shims } from './shims.js';

const fuser = loadFuser(shims);

function describe(e) {
  if (e instanceof FuseError) {
    return {
      fuseError: true,
      line: String(e),
      kind: e.kind,
      message: e.message,
      path: e.path,
      offset: e.offset,
      feature: e.feature,
    };
  }
  return { fuseError: false, message: String(e && e.message ? e.message : e) };
}

self.onmessage = async ({ data: { id, bytes, output, singleMemory } }) => {
  try {
    const { fuse, inspect } = await fuser;
    const report = inspect(bytes);
    const started = performance.now();
    const fused = fuse(bytes, { output, singleMemory });
    const ms = performance.now() - started;
    self.postMessage({ id, report, fused: fused.bytes, ms }, [fused.bytes.buffer]);
  } catch (e) {
    self.postMessage({ id, error: describe(e) });
  }
};

// Tells the page the fuser is loaded (or why it is not).
fuser.then(
  () => self.postMessage({ ready: true }),
  (e) => self.postMessage({ ready: false, error: describe(e) }),
);
