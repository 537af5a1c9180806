#!/usr/bin/env node
// `solder-js`: the native `solder` command line's `fuse` and `inspect`,
// running the transpiled fuser component in Node. Same arguments, same
// output bytes, same one-line `error: ...` and non-zero exit on failure.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fuse, inspect, formatReport, FuseError } from '../src/index.js';
import { fuseAndRun, RunError } from '../src/run.js';

const USAGE = `usage:
  solder-js fuse <input>... [-o <output>] [--core] [--validate | --no-validate]
                 [--strip-debug] [--single-memory] [--report <file>] [-v]
  solder-js inspect <input> [--json]
  solder-js run [--node <node>] [--single-memory] <command.wasm> [<arg>...]
run fuses a wasi:cli/run component and runs it with jco in <node> (this
Node by default; the fused module needs Node 22 or later, or Node 20 with
--single-memory), with <arg>...
after the program name and an empty environment; it exits with the
program's status (134 after a trap).
'-' reads standard input or writes standard output; the output goes to
standard output unless -o names a file.`;

// Standard input and output go through the streams: a pipe may be
// non-blocking, where a synchronous read or write of fd 0 or 1 fails with
// EAGAIN.
async function read(path) {
  if (path !== '-') {
    return readFileSync(path);
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function write(path, bytes) {
  if (path === '-') {
    process.stdout.write(bytes);
  } else {
    writeFileSync(path, bytes);
  }
}

// The report as JSON, as the native CLI writes it: snake_case keys, the
// 64-bit sizes as plain numbers, and no key for an absent option.
function snakeCase(value) {
  if (typeof value === 'bigint') {
    return Number(value);
  }
  if (Array.isArray(value)) {
    return value.map(snakeCase);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCase(v)]),
    );
  }
  return value === undefined ? null : value;
}

function reportJson(report) {
  return JSON.stringify(snakeCase(report), null, 2);
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'fuse') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o', default: '-' },
        core: { type: 'boolean', default: false },
        validate: { type: 'boolean', default: false },
        'no-validate': { type: 'boolean', default: false },
        'strip-debug': { type: 'boolean', default: false },
        'single-memory': { type: 'boolean', default: false },
        report: { type: 'string' },
        verbose: { type: 'boolean', short: 'v', default: false },
      },
    });
    if (positionals.length === 0) {
      throw new UsageError('fuse needs at least one input');
    }
    if (values.report === '-' && values.output === '-') {
      throw new UsageError('the report and the output cannot both go to standard output');
    }
    if (values.output === '-' && process.stdout.isTTY) {
      throw new UsageError('refusing to write binary WebAssembly to a terminal: pass `-o FILE`');
    }
    const inputs = [];
    for (const path of positionals) {
      inputs.push(await read(path));
    }
    const fused = fuse(inputs, {
      output: values.core ? 'core-module' : 'component',
      validate: !values['no-validate'],
      stripDebug: values['strip-debug'],
      singleMemory: values['single-memory'],
    });
    for (const w of fused.report.debugInfo.warnings) {
      process.stderr.write(`warning: ${w}\n`);
    }
    write(values.output, fused.bytes);
    if (values.report !== undefined) {
      write(values.report, `${reportJson(fused.report)}\n`);
    }
    if (values.verbose) {
      process.stderr.write(`${formatReport(fused.report)}\n`);
    }
  } else if (command === 'inspect') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) {
      throw new UsageError('inspect needs exactly one input');
    }
    const report = inspect(await read(positionals[0]));
    process.stdout.write(`${values.json ? reportJson(report) : formatReport(report)}\n`);
  } else if (command === 'run') {
    // Options before the input; everything after it is the program's.
    const at = rest.findIndex((a, i) => !a.startsWith('-') && rest[i - 1] !== '--node');
    if (at === -1) {
      throw new UsageError('run needs an input');
    }
    const { values } = parseArgs({
      args: rest.slice(0, at),
      options: { node: { type: 'string' }, 'single-memory': { type: 'boolean', default: false } },
    });
    const input = rest[at];
    const result = await fuseAndRun(await read(input), {
      args: [input, ...rest.slice(at + 1)],
      singleMemory: values['single-memory'],
      ...(values.node === undefined ? {} : { node: values.node }),
    });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.trap !== null) {
      process.stderr.write(`error: the program trapped: ${result.trap}\n`);
      process.exitCode = 134;
    } else {
      process.exitCode = result.status;
    }
  } else if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
  } else {
    throw new UsageError(command === undefined ? 'no command given' : `unknown command \`${command}\``);
  }
}

class UsageError extends Error {}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof FuseError || e instanceof RunError) {
    process.stderr.write(`error: ${e instanceof RunError ? e.message : e}\n`);
    process.exitCode = 1;
  } else if (e instanceof UsageError || e.code?.startsWith?.('ERR_PARSE_ARGS')) {
    process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
