// The playground: a dropped or chosen component is inspected (its graph is
// shown) and fused, and the fused bytes are offered as a download. The
// fuser is the same jco output the npm package runs in Node; the WASI
// shims it imports are mapped to preview2-shim's browser builds by the
// page's import map.

const $ = (selector) => document.querySelector(selector);

const ui = {
  drop: $('#drop'),
  file: $('#file'),
  output: $('#output'),
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
};

// `document.body.dataset.state` says what the page is doing, for people
// and for the end-to-end test: loading, ready, working, done or error.
function setState(state, status) {
  document.body.dataset.state = state;
  ui.status.textContent = status;
}

let fuser;
let current; // { name, bytes }
let downloadUrl;

function showError(e) {
  ui.error.hidden = false;
  ui.error.replaceChildren();
  if (e instanceof fuser.FuseError) {
    const line = document.createElement('strong');
    line.className = 'line';
    line.textContent = String(e);
    const fields = document.createElement('dl');
    for (const [key, value] of [
      ['kind', e.kind],
      ['message', e.message],
      ['path', e.path],
      ['offset', e.offset === undefined ? undefined : `0x${e.offset.toString(16)}`],
      ['feature', e.feature],
    ]) {
      if (value !== undefined && value !== '') {
        fields.append(element('dt', key), element('dd', value));
      }
    }
    ui.error.append(line, fields);
  } else {
    ui.error.textContent = `The fuser failed unexpectedly: ${e && e.message ? e.message : e}`;
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

function fusedName(name, output) {
  const stem = name.replace(/\.wasm$/i, '');
  return `${stem}.${output === 'core-module' ? 'core' : 'fused'}.wasm`;
}

// Lets the page paint the status before the (synchronous) fuser runs.
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fuseCurrent() {
  if (!current || !fuser) {
    return;
  }
  const { name, bytes } = current;
  const output = ui.output.value;
  ui.error.hidden = true;
  ui.result.hidden = true;
  ui.download.setAttribute('aria-disabled', 'true');
  setState('working', `Inspecting and fusing ${name}…`);
  await nextFrame();
  try {
    const report = fuser.inspect(bytes);
    renderGraph(report);
    const started = performance.now();
    const fused = fuser.fuse(bytes, { output });
    const ms = performance.now() - started;
    if (downloadUrl) {
      URL.revokeObjectURL(downloadUrl);
    }
    downloadUrl = URL.createObjectURL(new Blob([fused.bytes], { type: 'application/wasm' }));
    ui.download.href = downloadUrl;
    ui.download.download = fusedName(name, output);
    ui.download.textContent = `Download ${ui.download.download}`;
    ui.download.removeAttribute('aria-disabled');
    ui.fileName.textContent = name;
    ui.sizes.textContent = `${bytes.length} bytes in, ${fused.bytes.length} bytes out, fused in ${ms.toFixed(0)} ms`;
    ui.result.hidden = false;
    setState('done', `Fused ${name}.`);
  } catch (e) {
    showError(e);
    setState('error', `Could not fuse ${name}.`);
  }
}

async function take(file) {
  if (!file) {
    return;
  }
  current = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  await fuseCurrent();
}

ui.file.addEventListener('change', () => take(ui.file.files[0]));
ui.output.addEventListener('change', () => fuseCurrent());
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
  fuser = await import('../src/index.js');
  setState('ready', 'Ready: drop a component.');
  await fuseCurrent();
} catch (e) {
  ui.error.hidden = false;
  ui.error.textContent = `Could not load the fuser: ${e.message}. Run \`npm run build\` first.`;
  setState('error', 'The fuser did not load.');
}
