// Serves the playground on localhost: `node playground/serve.mjs [port]`
// (default 8080; 0 picks a free port). The package directory is the web
// root, so the page can load `src/`, `generated/` and the browser shims
// from `node_modules/`; `/examples/` is the fixtures directory that `npm
// run fixtures` writes (`SOLDER_JS_FIXTURES`, or `target/js-fixtures` at
// the repository root), where the page's examples come from. Prints the
// page's address once listening.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = process.env.SOLDER_JS_FIXTURES ?? join(root, '..', 'target', 'js-fixtures');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

function resolve(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path.endsWith('/')) {
    path += 'index.html';
  }
  const [dir, rest] = path.startsWith('/examples/') ? [examples, path.slice('/examples'.length)] : [root, path];
  const file = normalize(join(dir, rest));
  return file.startsWith(normalize(dir) + sep) ? file : undefined;
}

export function serve(port = 8080, host = '127.0.0.1') {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(302, { location: '/playground/' });
      res.end();
      return;
    }
    const file = resolve(url.pathname);
    let stat;
    try {
      stat = file && statSync(file);
    } catch {
      stat = undefined;
    }
    if (!stat || !stat.isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
    } else {
      createReadStream(file).pipe(res);
    }
  });
  return new Promise((resolve_, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve_(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const server = await serve(port);
  console.log(`Solder playground: http://127.0.0.1:${server.address().port}/playground/`);
}
