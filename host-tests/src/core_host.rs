//! A host for the bare `--core` module on wasmi, a WebAssembly interpreter
//! that knows nothing of components: the fused module runs there with its
//! imports implemented by the canonical ABI's core signatures, as the
//! README's `--core` section says a host must. It shows that contract is
//! enough to run a `wasi:cli/run` command outside wasmtime.
//!
//! The host implements the WASI 0.2 functions a Rust `wasm32-wasip2`
//! command imports when it only prints: `wasi:cli/{stdin,stdout,stderr}`,
//! `wasi:io/streams` output, `wasi:cli/exit`, and as an empty environment
//! `wasi:cli/environment` (no variables, no working directory; the
//! arguments are the program name and `args`), `wasi:cli/terminal-*` (not
//! a terminal), `wasi:io/poll` (every pollable is ready) and
//! `wasi:io/streams` input (standard input is empty). It also implements
//! two functions of a host of its own, `solder:host/fns` (as
//! `fixtures/wat/own-host-functions.wat` imports them): `greet: func(name:
//! string) -> string` answers `hello, {name}`, `sum: func(xs: list<u32>) ->
//! u64` adds. Any other import is refused by name before the module runs.

use crate::run::Outcome;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use wasmi::{Caller, Config, Engine, Extern, ExternType, Linker, Memory, Module, Store, Val};

/// A handle the host gave the module: what it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    Stdin,
    Stdout,
    Stderr,
    Pollable,
}

/// The store's data: the host's handle table and what the module wrote.
struct State {
    handles: HashMap<i32, Resource>,
    next: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    args: Vec<String>,
}

impl State {
    fn new_handle(&mut self, r: Resource) -> i32 {
        self.next += 1;
        self.handles.insert(self.next, r);
        self.next
    }

    fn get(&self, handle: i32) -> Result<Resource, wasmi::Error> {
        self.handles
            .get(&handle)
            .copied()
            .ok_or_else(|| wasmi::Error::new(format!("unknown handle {handle}")))
    }
}

/// What an import does, found from its core name once.
#[derive(Clone, Copy, Debug)]
enum Import {
    /// `[resource-drop]type`: `(handle)`.
    Drop,
    /// `get-stdin`, `get-stdout`, `get-stderr`: `() -> handle`.
    GetStream(Resource),
    /// `[method]output-stream.check-write`: `(self, ret)`, `ret` gets a
    /// `result<u64, stream-error>`.
    CheckWrite,
    /// `[method]output-stream.write` and `blocking-write-and-flush`:
    /// `(self, ptr, len, ret)`, `ret` gets a `result<_, stream-error>`.
    Write,
    /// `[method]output-stream.flush` and `blocking-flush`: `(self, ret)`.
    Flush,
    /// `[method]output-stream.subscribe`, `[method]input-stream.subscribe`:
    /// `(self) -> pollable`.
    Subscribe,
    /// `[method]pollable.block`: `(self)`.
    Block,
    /// `[method]pollable.ready`: `(self) -> bool`.
    Ready,
    /// `[method]input-stream.read` and `blocking-read`: `(self, len, ret)`,
    /// `ret` gets a `result<list<u8>, stream-error>`: always `closed`.
    Read,
    /// `get-environment`: `(ret)`, `ret` gets a `list<tuple<string, string>>`.
    Environment,
    /// `get-arguments`: `(ret)`, `ret` gets a `list<string>`.
    Arguments,
    /// `initial-cwd`, `get-terminal-std*`: `(ret)`, `ret` gets `none`.
    None,
    /// `exit`: `(result)`, `0` for `ok`.
    Exit,
    /// `solder:host/fns#greet`: `(ptr, len, ret)`, `ret` gets a string.
    Greet,
    /// `solder:host/fns#sum`: `(ptr, len) -> u64`.
    Sum,
}

impl Import {
    /// The import `(module, field)` by its interface (without version)
    /// and function (without a `#2` suffix).
    fn classify(module: &str, field: &str) -> Option<Self> {
        let interface = module.split_once('@').map_or(module, |(i, _)| i);
        let function = field.split_once('#').map_or(field, |(f, _)| f);
        if function.starts_with("[resource-drop]") {
            return Some(Import::Drop);
        }
        Some(match (interface, function) {
            ("wasi:cli/stdin", "get-stdin") => Import::GetStream(Resource::Stdin),
            ("wasi:cli/stdout", "get-stdout") => Import::GetStream(Resource::Stdout),
            ("wasi:cli/stderr", "get-stderr") => Import::GetStream(Resource::Stderr),
            ("wasi:io/streams", "[method]output-stream.check-write") => Import::CheckWrite,
            (
                "wasi:io/streams",
                "[method]output-stream.write" | "[method]output-stream.blocking-write-and-flush",
            ) => Import::Write,
            (
                "wasi:io/streams",
                "[method]output-stream.flush" | "[method]output-stream.blocking-flush",
            ) => Import::Flush,
            (
                "wasi:io/streams",
                "[method]output-stream.subscribe" | "[method]input-stream.subscribe",
            ) => Import::Subscribe,
            ("wasi:io/poll", "[method]pollable.block") => Import::Block,
            ("wasi:io/poll", "[method]pollable.ready") => Import::Ready,
            (
                "wasi:io/streams",
                "[method]input-stream.read" | "[method]input-stream.blocking-read",
            ) => Import::Read,
            ("wasi:cli/environment", "get-environment") => Import::Environment,
            ("wasi:cli/environment", "get-arguments") => Import::Arguments,
            ("wasi:cli/environment", "initial-cwd")
            | ("wasi:cli/terminal-stdin", "get-terminal-stdin")
            | ("wasi:cli/terminal-stdout", "get-terminal-stdout")
            | ("wasi:cli/terminal-stderr", "get-terminal-stderr") => Import::None,
            ("wasi:cli/exit", "exit") => Import::Exit,
            ("solder:host/fns", "greet") => Import::Greet,
            ("solder:host/fns", "sum") => Import::Sum,
            _ => return None,
        })
    }
}

/// The memory and `realloc` of one import, as the module exports them
/// under the import's name.
struct Lowering {
    key: String,
}

impl Lowering {
    fn memory(&self, caller: &Caller<'_, State>) -> Result<Memory, wasmi::Error> {
        caller
            .get_export(&format!("[memory]{}", self.key))
            .and_then(Extern::into_memory)
            .ok_or_else(|| wasmi::Error::new(format!("no `[memory]{}` export", self.key)))
    }

    fn write(
        &self,
        caller: &mut Caller<'_, State>,
        at: i32,
        bytes: &[u8],
    ) -> Result<(), wasmi::Error> {
        let memory = self.memory(caller)?;
        memory
            .write(caller, address(at), bytes)
            .map_err(|e| wasmi::Error::new(format!("writing to the module's memory: {e}")))
    }

    fn read(&self, caller: &Caller<'_, State>, at: i32, len: i32) -> Result<Vec<u8>, wasmi::Error> {
        let memory = self.memory(caller)?;
        let mut out = vec![0; address(len)];
        memory
            .read(caller, address(at), &mut out)
            .map_err(|e| wasmi::Error::new(format!("reading the module's memory: {e}")))?;
        Ok(out)
    }

    /// `realloc(0, 0, align, size)`, as lowering a list or string calls it.
    fn alloc(
        &self,
        caller: &mut Caller<'_, State>,
        align: i32,
        size: i32,
    ) -> Result<i32, wasmi::Error> {
        let realloc = caller
            .get_export(&format!("[realloc]{}", self.key))
            .and_then(Extern::into_func)
            .ok_or_else(|| wasmi::Error::new(format!("no `[realloc]{}` export", self.key)))?;
        realloc
            .typed::<(i32, i32, i32, i32), i32>(&*caller)?
            .call(caller, (0, 0, align, size))
    }

    /// Lowers a `list<string>` of UTF-8 text; returns `(ptr, len)`.
    fn strings(
        &self,
        caller: &mut Caller<'_, State>,
        strings: &[String],
    ) -> Result<(i32, i32), wasmi::Error> {
        let len = i32::try_from(strings.len()).map_err(|e| wasmi::Error::new(e.to_string()))?;
        let list = self.alloc(caller, 4, 8 * len)?;
        for (i, s) in (0..).zip(strings) {
            let n = i32::try_from(s.len()).map_err(|e| wasmi::Error::new(e.to_string()))?;
            let ptr = self.alloc(caller, 1, n)?;
            self.write(caller, ptr, s.as_bytes())?;
            let mut pair = ptr.to_le_bytes().to_vec();
            pair.extend(n.to_le_bytes());
            self.write(caller, list + 8 * i, &pair)?;
        }
        Ok((list, len))
    }
}

/// A core `i32` as an address in memory: the ABI's pointers are unsigned.
fn address(v: i32) -> usize {
    v.cast_unsigned() as usize
}

fn arg(params: &[Val], i: usize) -> Result<i32, wasmi::Error> {
    match params.get(i) {
        Some(Val::I32(v)) => Ok(*v),
        other => Err(wasmi::Error::new(format!(
            "parameter {i} is {other:?}, not an i32"
        ))),
    }
}

impl Import {
    /// Serves one call of the import `key` (`module#field`).
    fn call(
        self,
        lowering: &Lowering,
        mut caller: Caller<'_, State>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), wasmi::Error> {
        let caller = &mut caller;
        match self {
            Import::Drop => {
                let handle = arg(params, 0)?;
                caller.data().get(handle)?;
                caller.data_mut().handles.remove(&handle);
            }
            Import::GetStream(r) => results[0] = Val::I32(caller.data_mut().new_handle(r)),
            Import::CheckWrite => {
                caller.data().get(arg(params, 0)?)?;
                let ret = arg(params, 1)?;
                // `ok(4096)`: the discriminant, then the `u64` at offset 8.
                let mut bytes = [0u8; 16];
                bytes[8..].copy_from_slice(&4096u64.to_le_bytes());
                lowering.write(caller, ret, &bytes)?;
            }
            Import::Write => {
                let stream = caller.data().get(arg(params, 0)?)?;
                let bytes = lowering.read(caller, arg(params, 1)?, arg(params, 2)?)?;
                match stream {
                    Resource::Stdout => caller.data_mut().stdout.extend(bytes),
                    Resource::Stderr => caller.data_mut().stderr.extend(bytes),
                    r => return Err(wasmi::Error::new(format!("writing to {r:?}"))),
                }
                lowering.write(caller, arg(params, 3)?, &[0])?;
            }
            Import::Flush => {
                caller.data().get(arg(params, 0)?)?;
                lowering.write(caller, arg(params, 1)?, &[0])?;
            }
            Import::Subscribe => {
                caller.data().get(arg(params, 0)?)?;
                results[0] = Val::I32(caller.data_mut().new_handle(Resource::Pollable));
            }
            Import::Block => {
                caller.data().get(arg(params, 0)?)?;
            }
            Import::Ready => {
                caller.data().get(arg(params, 0)?)?;
                results[0] = Val::I32(1);
            }
            Import::Read => {
                caller.data().get(arg(params, 0)?)?;
                // `err(closed)`: the result's discriminant, then the
                // `stream-error`'s at offset 4.
                let ret = arg(params, 2)?;
                lowering.write(caller, ret, &[1, 0, 0, 0, 1])?;
            }
            Import::Environment | Import::Arguments => {
                let strings = match self {
                    Import::Arguments => caller.data().args.clone(),
                    _ => Vec::new(),
                };
                let (ptr, len) = lowering.strings(caller, &strings)?;
                let mut pair = ptr.to_le_bytes().to_vec();
                pair.extend(len.to_le_bytes());
                lowering.write(caller, arg(params, 0)?, &pair)?;
            }
            Import::None => lowering.write(caller, arg(params, 0)?, &[0])?,
            Import::Exit => return Err(wasmi::Error::i32_exit(i32::from(arg(params, 0)? != 0))),
            Import::Greet => {
                let name = lowering.read(caller, arg(params, 0)?, arg(params, 1)?)?;
                let mut text = b"hello, ".to_vec();
                text.extend(name);
                let n = i32::try_from(text.len()).map_err(|e| wasmi::Error::new(e.to_string()))?;
                let ptr = lowering.alloc(caller, 1, n)?;
                lowering.write(caller, ptr, &text)?;
                let mut pair = ptr.to_le_bytes().to_vec();
                pair.extend(n.to_le_bytes());
                lowering.write(caller, arg(params, 2)?, &pair)?;
            }
            Import::Sum => {
                let len = arg(params, 1)?;
                let bytes = lowering.read(caller, arg(params, 0)?, len.wrapping_mul(4))?;
                let sum: u64 = bytes
                    .chunks_exact(4)
                    .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .sum();
                results[0] = Val::I64(sum.cast_signed());
            }
        }
        Ok(())
    }
}

/// The engine: SIMD, which fused modules use, and multi-memory unless
/// `core` has one memory (`--single-memory`): then the module must run
/// without it.
fn engine(core: &[u8]) -> Engine {
    let memories = wasmparser::Parser::new(0)
        .parse_all(core)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::MemorySection(s)) => Some(s.count()),
            _ => None,
        })
        .sum::<u32>();
    let mut config = Config::default();
    config.wasm_multi_memory(memories > 1).wasm_simd(true);
    Engine::new(&config)
}

/// Instantiates a `--core` module under wasmi as a host must (its start
/// function, then its `_initialize` export if it has one) with `args`
/// after the program name, and calls each of `calls`, a function export
/// without parameters that returns an `i32`; returns the results.
pub fn call_exports(core: &[u8], args: &[&str], calls: &[&str]) -> Result<Vec<i32>> {
    let (mut store, linker, module) = prepare(core, args)?;
    let instance = linker.instantiate_and_start(&mut store, &module)?;
    if let Some(init) = instance.get_func(&store, "_initialize") {
        init.typed::<(), ()>(&store)?.call(&mut store, ())?;
    }
    calls
        .iter()
        .map(|name| {
            let f = instance.get_typed_func::<(), i32>(&store, name)?;
            Ok(f.call(&mut store, ())?)
        })
        .collect()
}

/// A store with the host's state, a linker with every import the module
/// has, and the module compiled.
fn prepare(core: &[u8], args: &[&str]) -> Result<(Store<State>, Linker<State>, Module)> {
    let engine = engine(core);
    let module = Module::new(&engine, core).context("wasmi compiles the core module")?;
    let store = Store::new(
        &engine,
        State {
            handles: HashMap::new(),
            next: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            args: std::iter::once("main")
                .chain(args.iter().copied())
                .map(str::to_string)
                .collect(),
        },
    );
    let mut linker = Linker::new(&engine);
    for import in module.imports() {
        let (module_name, field) = (import.module(), import.name());
        let ExternType::Func(ty) = import.ty() else {
            bail!("import `{module_name}` `{field}` is not a function");
        };
        let Some(what) = Import::classify(module_name, field) else {
            bail!("this host has no `{module_name}` `{field}`");
        };
        let lowering = Lowering {
            key: format!("{module_name}#{field}"),
        };
        linker.func_new(
            module_name,
            field,
            ty.clone(),
            move |caller, params, results| what.call(&lowering, caller, params, results),
        )?;
    }
    Ok((store, linker, module))
}

/// Runs the `--core` output of a `wasi:cli/run` command under wasmi with
/// `args` after the program name (`main`, as [`crate::run::Host`] has it)
/// and empty standard input: its `_initialize` export if it has one, then
/// `wasi:cli/run@0.2.0#run`.
pub fn run_command(core: &[u8], args: &[&str]) -> Result<Outcome> {
    let (mut store, linker, module) = prepare(core, args)?;
    let status = (|| {
        let instance = linker.instantiate_and_start(&mut store, &module)?;
        if let Some(init) = instance.get_func(&store, "_initialize") {
            init.typed::<(), ()>(&store)?.call(&mut store, ())?;
        }
        let run = instance.get_typed_func::<(), i32>(&store, "wasi:cli/run@0.2.0#run")?;
        run.call(&mut store, ())
    })();
    let status = match status {
        Ok(result) => Ok(i32::from(result != 0)),
        Err(e) => match e.i32_exit_status() {
            Some(code) => Ok(code),
            None if e.as_trap_code().is_some() => Err(()),
            None => return Err(anyhow::anyhow!("{e}")),
        },
    };
    let state = store.into_data();
    Ok(Outcome {
        stdout: state.stdout,
        stderr: state.stderr,
        status,
    })
}
