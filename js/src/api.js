// The fuser's JavaScript API over jco's bindings of the fuser component,
// wherever they were instantiated (`index.js` in Node, `browser.js` in a
// browser). It accepts any byte container, fills in default options, and
// turns the component's `fuse-error` into a thrown `FuseError`, so callers
// handle one kind of failure the JavaScript way.

/** The kinds of `fuse-error`, in the WIT's order. */
export const ERROR_KINDS = Object.freeze(['malformed', 'unsupported', 'unresolved', 'limit-exceeded', 'internal']);

/**
 * Why fusing failed: the component's `fuse-error`, with its kind and the
 * fields of its `error-info`. `message` is the one-line reason;
 * `toString()` gives the same line as the native CLI's `error: ...`.
 */
export class FuseError extends Error {
  constructor(kind, info) {
    super(info.message);
    this.name = 'FuseError';
    /** `malformed`, `unsupported`, `unresolved`, `limit-exceeded` or `internal`. */
    this.kind = kind;
    /** The component path inside the input, e.g. `root/component[1]/module[0]`. */
    this.path = info.path;
    /** Byte offset into the input, when known. */
    this.offset = info.offset === undefined ? undefined : Number(info.offset);
    /** The unsupported feature, for `unsupported` errors. */
    this.feature = info.feature;
  }

  toString() {
    let line = `${this.kind.replace('-', ' ')}: ${this.message}`;
    const at = this.offset === undefined ? '' : `at byte offset 0x${this.offset.toString(16)}`;
    if (this.path) {
      line += ` (in ${this.path}${at ? ` ${at}` : ''})`;
    } else if (at) {
      line += ` (${at})`;
    }
    return line;
  }
}

function bytesOf(input, what) {
  if (input instanceof Uint8Array) {
    return input;
  }
  if (input instanceof ArrayBuffer) {
    return new Uint8Array(input);
  }
  if (ArrayBuffer.isView(input)) {
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  throw new TypeError(`${what} must be a Uint8Array, an ArrayBuffer or a typed array view`);
}

// The transpiled bindings throw a `ComponentError` whose `payload` is the
// `err` case of the WIT result; anything else (a trap, a bad argument) is
// passed on unchanged.
function call(f) {
  try {
    return f();
  } catch (e) {
    const payload = e && Object.hasOwn(e, 'payload') ? e.payload : undefined;
    if (payload && ERROR_KINDS.includes(payload.tag)) {
      throw new FuseError(payload.tag, payload.val);
    }
    throw e;
  }
}

// `fuse` of `index.js` and `browser.js`, over `fuser`.
function fuseWith(fuser, input, options = {}) {
  const inputs = Array.isArray(input) ? input : [input];
  const components = inputs.map((c, i) => bytesOf(c, `component ${i}`));
  const { output = 'component', validate = true, stripDebug = false, singleMemory = false } = options;
  if (output !== 'component' && output !== 'core-module') {
    throw new TypeError(`options.output must be 'component' or 'core-module', not ${JSON.stringify(output)}`);
  }
  return call(() => fuser.fuse(components, {
    output,
    validate: Boolean(validate),
    stripDebug: Boolean(stripDebug),
    singleMemory: Boolean(singleMemory),
  }));
}

// `inspect` of `index.js` and `browser.js`, over `fuser`.
function inspectWith(fuser, component) {
  const bytes = bytesOf(component, 'the component');
  return call(() => fuser.inspect(bytes));
}

/**
 * `{ fuse, inspect }` over `fuser`, jco's bindings of the fuser
 * component's `fuse` interface.
 */
export function bind(fuser) {
  return {
    fuse: (input, options) => fuseWith(fuser, input, options),
    inspect: (component) => inspectWith(fuser, component),
  };
}

/**
 * The report as text, line for line what the native `solder inspect`
 * prints (without its final newline).
 */
export function formatReport(report) {
  const lines = [];
  for (const i of report.inputs) {
    lines.push(`${i.name}: ${i.size} bytes, sha256 ${i.sha256}`);
  }
  lines.push(`component instances: ${report.componentInstances}`);
  lines.push(`core instances: ${report.coreInstances.length}`);
  for (const c of report.coreInstances) {
    lines.push(`  ${c.path} (${c.functions} functions, ${c.memories} memories)`);
  }
  lines.push(`adapters: ${report.adapters.length}`);
  for (const a of report.adapters) {
    lines.push(`  ${a.route} \`${a.name}\` [${a.strategy}]`);
  }
  lines.push(`host imports: ${report.hostImports}`);
  if (report.handleTables.length > 0) {
    lines.push('resources and handle tables:');
  }
  for (const t of report.handleTables) {
    let line = `  ${t.instance}`;
    if (t.defines.length > 0) {
      line += ` defines ${t.defines.join(', ')}`;
    }
    line += t.tableMemory === undefined
      ? '; holds no handles'
      : `; handle table in memory ${t.tableMemory}`;
    lines.push(line);
  }
  lines.push(`fused module: ${report.functions} functions, ${report.memories} memories`);
  const debug = report.debugInfo;
  if (debug && (debug.compileUnits > 0 || debug.warnings.length > 0)) {
    lines.push(`DWARF: ${debug.compileUnits} compile units, ${debug.bytes} bytes`);
    for (const w of debug.warnings) {
      lines.push(`  warning: ${w}`);
    }
  }
  let size = `size: ${report.inputSize} bytes in`;
  if (report.outputSize > 0n) {
    size += `, ${report.outputSize} bytes out`;
  }
  lines.push(size);
  return lines.join('\n');
}
