// The playground: a dropped or chosen component (or an example) is
// inspected (its graph is shown) and fused, and the fused bytes are offered
// as a download. The fuser runs in a worker (`fuse-worker.js`, the npm
// package's browser entry), so the page stays responsive on a large input.
// A `wasi:cli/run` command can then be run as it came and fused, side by
// side: the page transpiles both with jco (`--instantiation async`) and
// each runs in a worker of its own (`run-worker.js`).

const $ = (selector) => document.querySelector(selector);

const ui = {
  drop: $('#drop'),
  file: $('#file'),
  output: $('#output'),
  singleMemory: $('#single-memory'),
  status: $('#status'),
  error: $('#error'),
  result: $('#result'),
  fileName: $('#file-name'),
  download: $('#download'),
  sizes: $('#sizes'),
  summary: $('#summary'),
  edges: $('#edges'),
  instances: $('#instances tbody'),
  adapters: $('#adapters tbody'),
  handleTables: $('#handle-tables tbody'),
  examples: document.querySelectorAll('#examples button'),
  run: $('#run'),
  args: $('#args'),
  runButton: $('#run-button'),
  runStatus: $('#run-status'),
  runVerdict: $('#run-verdict'),
};

/** How long a program may run before its worker is stopped. */
const RUN_LIMIT_MS = 30_000;

// `document.body.dataset.state` says what the page is doing, for people
// and for the end-to-end test: loading, ready, working, done or error.
function setState(state, status) {
  document.body.dataset.state = state;
  ui.status.textContent = status;
}

let current; // { name, bytes }
let fused; // { name, bytes } of the last component output
let downloadUrl;

// The fuser's worker, and its answers by request number.
const fuser = new Worker(new URL('./fuse-worker.js', import.meta.url), { type: 'module' });
const waiting = new Map();
let requests = 0;
const fuserReady = new Promise((resolve, reject) => {
  fuser.addEventListener('message', ({ data }) => {
    if ('ready' in data) {
      (data.ready ? resolve : reject)(data.error);
    } else {
      waiting.get(data.id)?.(data);
      waiting.delete(data.id);
    }
  });
  fuser.addEventListener('error', (e) => reject({ message: e.message ?? 'the worker did not start' }));
});

// Inspects and fuses `bytes` in the worker; resolves to `{ report, fused,
// ms }` or `{ error }`. The bytes are copied: the page keeps its own.
function fuseInWorker(bytes, output, singleMemory) {
  const id = ++requests;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    const copy = bytes.slice();
    fuser.postMessage({ id, bytes: copy, output, singleMemory }, [copy.buffer]);
  });
}

// `e` is the worker's description of an error (`fuse-worker.js`).
function showError(e) {
  ui.error.hidden = false;
  ui.error.replaceChildren();
  if (e.fuseError) {
    const line = document.createElement('strong');
    line.className = 'line';
    line.textContent = e.line;
    const fields = document.createElement('dl');
    for (const [key, value] of [
      ['kind', e.kind],
      ['message', e.message],
      ['path', e.path],
      ['offset', e.offset === undefined || e.offset === null ? undefined : `0x${e.offset.toString(16)}`],
      ['feature', e.feature],
    ]) {
      if (value !== undefined && value !== '') {
        fields.append(element('dt', key), element('dd', value));
      }
    }
    ui.error.append(line, fields);
  } else {
    ui.error.textContent = `The fuser failed unexpectedly: ${e.message}`;
  }
}

function element(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function row(...cells) {
  const tr = document.createElement('tr');
  tr.append(...cells.map((c) => element('td', c)));
  return tr;
}

// Adapters grouped by route: the edges of the component graph.
function edges(report) {
  const byRoute = new Map();
  for (const a of report.adapters) {
    const edge = byRoute.get(a.route) ?? { count: 0, strategies: new Map() };
    edge.count += 1;
    edge.strategies.set(a.strategy, (edge.strategies.get(a.strategy) ?? 0) + 1);
    byRoute.set(a.route, edge);
  }
  return [...byRoute].map(([route, { count, strategies }]) => {
    const how = [...strategies].map(([s, n]) => `${n} ${s}`).join(', ');
    return `${route}: ${count} ${count === 1 ? 'function' : 'functions'} (${how})`;
  });
}

function renderGraph(report) {
  const components = new Set(report.coreInstances.map((c) => c.path.replace(/\/module\[\d+\]$/, '')));
  ui.summary.replaceChildren(
    ...[
      ['component instances', report.componentInstances],
      ['components with code', components.size],
      ['core instances', report.coreInstances.length],
      ['adapters', report.adapters.length],
      ['host imports', report.hostImports],
      ['fused module', `${report.functions} functions, ${report.memories} memories`],
    ].flatMap(([k, v]) => [element('dt', k), element('dd', String(v))]),
  );
  const lines = edges(report);
  ui.edges.replaceChildren(
    ...(lines.length > 0 ? lines : ['none: no calls cross a component boundary']).map((l) => element('li', l)),
  );
  ui.instances.replaceChildren(
    ...report.coreInstances.map((c) => row(c.path, String(c.functions), String(c.memories))),
  );
  ui.adapters.replaceChildren(...report.adapters.map((a) => row(a.route, a.name, a.strategy)));
  ui.handleTables.replaceChildren(
    ...report.handleTables.map((t) => row(
      t.instance,
      t.defines.join(', ') || '—',
      t.tableMemory === undefined ? 'holds no handles' : `memory ${t.tableMemory}`,
    )),
  );
}

function fusedName(name, output, singleMemory) {
  const stem = name.replace(/\.wasm$/i, '');
  return `${stem}.${singleMemory ? 'one.' : ''}${output === 'core-module' ? 'core' : 'fused'}.wasm`;
}

async function fuseCurrent() {
  if (!current) {
    return;
  }
  const { name, bytes } = current;
  const output = ui.output.value;
  const singleMemory = ui.singleMemory.checked;
  ui.error.hidden = true;
  ui.result.hidden = true;
  ui.download.setAttribute('aria-disabled', 'true');
  setState('working', `Inspecting and fusing ${name}…`);
  const answer = await fuseInWorker(bytes, output, singleMemory);
  if (current.bytes !== bytes || ui.output.value !== output || ui.singleMemory.checked !== singleMemory) {
    return; // a newer input or output kind is on its way
  }
  if (answer.error) {
    showError(answer.error);
    setState('error', `Could not fuse ${name}.`);
    return;
  }
  renderGraph(answer.report);
  if (downloadUrl) {
    URL.revokeObjectURL(downloadUrl);
  }
  downloadUrl = URL.createObjectURL(new Blob([answer.fused], { type: 'application/wasm' }));
  ui.download.href = downloadUrl;
  ui.download.download = fusedName(name, output, singleMemory);
  ui.download.textContent = `Download ${ui.download.download}`;
  ui.download.removeAttribute('aria-disabled');
  ui.fileName.textContent = name;
  ui.sizes.textContent = `${bytes.length} bytes in, ${answer.fused.length} bytes out, fused in ${answer.ms.toFixed(0)} ms`;
  fused = output === 'component' ? { name, bytes: answer.fused } : undefined;
  showRun();
  ui.result.hidden = false;
  setState('done', `Fused ${name}.`);
}

async function take(file) {
  if (!file) {
    return;
  }
  current = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  await fuseCurrent();
}

// An example composition, built by `npm run fixtures` and served under
// `/examples/` (see `serve.mjs`).
async function takeExample(button) {
  const name = button.dataset.example;
  ui.args.value = button.dataset.args ?? '';
  const response = await fetch(new URL(`../examples/${name}.wasm`, import.meta.url));
  if (!response.ok) {
    ui.error.hidden = false;
    ui.error.textContent = `The example ${name} is not there (${response.status}): run \`npm run fixtures\` first.`;
    setState('error', `Could not load ${name}.`);
    return;
  }
  current = { name: `${name}.wasm`, bytes: new Uint8Array(await response.arrayBuffer()) };
  await fuseCurrent();
}

// The run section is offered for component output (a component that is
// no `wasi:cli/run` command says so when run).
function showRun() {
  ui.run.hidden = !fused;
  for (const side of ['original', 'fused']) {
    const box = $(`#run-${side}`);
    box.querySelector('.outcome').textContent = '';
    box.querySelector('.stdout').textContent = '';
    box.querySelector('.stderr').textContent = '';
  }
  ui.runStatus.textContent = '';
  ui.runVerdict.textContent = '';
  ui.runVerdict.className = '';
}

// jco's transpiler, loaded on first use (it is large).
let jco;
async function transpile(bytes) {
  jco ??= import('@bytecodealliance/jco-transpile/component').then(async (m) => {
    await m.$init;
    return m;
  });
  const { generate } = await jco;
  const { files } = generate(bytes, {
    name: 'component',
    instantiation: { tag: 'async' },
    multiMemory: true,
    noTypescript: true,
  });
  return Object.fromEntries(files);
}

// Runs transpiled `files` in a fresh worker; resolves to its answer.
function runInWorker(files, args) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./run-worker.js', import.meta.url), { type: 'module' });
    const timer = setTimeout(() => {
      worker.terminate();
      resolve({ error: `stopped after ${RUN_LIMIT_MS / 1000} s` });
    }, RUN_LIMIT_MS);
    worker.addEventListener('message', ({ data }) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(data);
    });
    worker.addEventListener('error', (e) => {
      clearTimeout(timer);
      worker.terminate();
      resolve({ error: e.message ?? 'the worker failed' });
    });
    worker.postMessage({ files, args });
  });
}

function outcome(r) {
  if (r.error) {
    return `did not run: ${r.error}`;
  }
  const how = r.trap === null ? `exit status ${r.status}` : `trapped: ${r.trap}`;
  return `${how} (${r.ms.toFixed(1)} ms)`;
}

const text = (bytes) => new TextDecoder().decode(bytes);

async function runBoth() {
  if (!current || !fused) {
    return;
  }
  const args = ['main', ...ui.args.value.split(/\s+/).filter(Boolean)];
  document.body.dataset.run = 'running';
  ui.runButton.disabled = true;
  ui.runVerdict.textContent = '';
  ui.runVerdict.className = '';
  try {
    ui.runStatus.textContent = 'Transpiling both with jco…';
    const sides = [['original', current.bytes], ['fused', fused.bytes]];
    const files = [];
    for (const [, bytes] of sides) {
      files.push(await transpile(bytes));
    }
    ui.runStatus.textContent = 'Running both…';
    const results = await Promise.all(files.map((f) => runInWorker(f, args)));
    for (const [i, [side, bytes]] of sides.entries()) {
      const box = $(`#run-${side}`);
      const r = results[i];
      box.querySelector('h3').textContent = `${side === 'fused' ? 'Fused' : 'Composed'}, ${bytes.length} bytes`;
      box.querySelector('.outcome').textContent = outcome(r);
      box.querySelector('.stdout').textContent = r.error ? '' : text(r.stdout);
      box.querySelector('.stderr').textContent = r.error ? '' : text(r.stderr);
    }
    const [a, b] = results;
    const same = !a.error && !b.error && a.status === b.status && a.trap === b.trap
      && text(a.stdout) === text(b.stdout) && text(a.stderr) === text(b.stderr);
    ui.runVerdict.textContent = same
      ? 'Same output, same exit status.'
      : 'The outputs differ.';
    ui.runVerdict.className = same ? 'same' : 'differ';
    ui.runStatus.textContent = `Ran ${current.name} with ${JSON.stringify(args.slice(1))}.`;
    document.body.dataset.run = 'done';
  } catch (e) {
    ui.runStatus.textContent = `Could not run: ${e && e.message ? e.message : e}`;
    document.body.dataset.run = 'error';
  } finally {
    ui.runButton.disabled = false;
  }
}

ui.file.addEventListener('change', () => take(ui.file.files[0]));
for (const button of ui.examples) {
  button.addEventListener('click', () => takeExample(button));
}
ui.runButton.addEventListener('click', () => runBoth());
ui.output.addEventListener('change', () => fuseCurrent());
ui.singleMemory.addEventListener('change', () => fuseCurrent());
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  take(e.dataTransfer.files[0]);
});

setState('loading', 'Loading the fuser…');
try {
  await fuserReady;
  setState('ready', 'Ready: drop a component, or try an example.');
  await fuseCurrent();
} catch (e) {
  ui.error.hidden = false;
  ui.error.textContent = `Could not load the fuser: ${e?.message ?? e}. Run \`npm run build\` first.`;
  setState('error', 'The fuser did not load.');
}
