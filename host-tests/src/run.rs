//! Running components under wasmtime and comparing what they do.
//!
//! A `wasi:cli/run` world is compared by stdout, stderr and exit status; a
//! library world by calling every exported function with the same
//! arguments and comparing results. A trap on one side must be a trap on
//! the other.

use anyhow::{Result, bail};
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, Linker, ResourceTable, Type, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Store data: WASI with captured output.
pub struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl Host {
    /// A host with `args` (after the program name) and `stdin`.
    pub fn new(args: &[&str], stdin: &[u8]) -> Self {
        let stdout = MemoryOutputPipe::new(64 << 20);
        let stderr = MemoryOutputPipe::new(64 << 20);
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone()).stderr(stderr.clone());
        b.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(
            stdin.to_vec(),
        ));
        b.arg("main");
        for a in args {
            b.arg(*a);
        }
        Host {
            ctx: b.build(),
            table: ResourceTable::new(),
            stdout,
            stderr,
        }
    }
}

impl Host {
    /// What the guest wrote to standard output and standard error.
    pub fn output(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.stdout.contents().to_vec(),
            self.stderr.contents().to_vec(),
        )
    }

    /// A host whose guest sees `dir` (read-write) as its working
    /// directory `.`.
    pub fn in_dir(args: &[&str], dir: &std::path::Path) -> Result<Self> {
        let mut host = Host::new(args, &[]);
        let mut b = WasiCtxBuilder::new();
        b.stdout(host.stdout.clone()).stderr(host.stderr.clone());
        b.arg("main");
        for a in args {
            b.arg(*a);
        }
        b.preopened_dir(dir, ".", wasmtime_wasi::FsPerms::ReadWrite)?;
        host.ctx = b.build();
        Ok(host)
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// An engine configured for the components Solder emits (multi-memory).
pub fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_multi_memory(true);
    config.wasm_component_model(true);
    config.wasm_component_model_map(true);
    Ok(Engine::new(&config)?)
}

/// What a command did.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Captured standard output.
    pub stdout: Vec<u8>,
    /// Captured standard error.
    pub stderr: Vec<u8>,
    /// `Ok(code)` for a normal or `exit` ending, `Err(())` for a trap.
    pub status: Result<i32, ()>,
}

impl Outcome {
    /// Standard output as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs a `wasi:cli/run` component.
pub fn run_command(engine: &Engine, bytes: &[u8], args: &[&str]) -> Result<Outcome> {
    Ok(Command::new(engine, bytes)?.run(args)?.0)
}

/// A compiled and linked `wasi:cli/run` component, ready to instantiate.
pub struct Command {
    engine: Engine,
    pre: wasmtime_wasi::p2::bindings::sync::CommandPre<Host>,
}

impl Command {
    /// Compiles and links `bytes`.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Self> {
        Self::from_component(engine, &Component::new(engine, bytes)?)
    }

    /// Links a compiled component.
    pub fn from_component(engine: &Engine, component: &Component) -> Result<Self> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre =
            wasmtime_wasi::p2::bindings::sync::CommandPre::new(linker.instantiate_pre(component)?)?;
        Ok(Command {
            engine: engine.clone(),
            pre,
        })
    }

    /// Instantiates and runs it with `args`; also returns how long `run`
    /// itself took (instantiation excluded).
    pub fn run(&self, args: &[&str]) -> Result<(Outcome, std::time::Duration)> {
        self.run_with(Host::new(args, &[]))
    }

    /// Instantiates and runs it with `args` and `stdin` as its standard
    /// input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Result<Outcome> {
        Ok(self.run_with(Host::new(args, stdin))?.0)
    }

    /// Instantiates and runs it with `args` in the working directory `dir`.
    pub fn run_in(&self, args: &[&str], dir: &std::path::Path) -> Result<Outcome> {
        Ok(self.run_with(Host::in_dir(args, dir)?)?.0)
    }

    /// Instantiates and runs it with `args`; also returns how long
    /// instantiation took and how long `run` took.
    pub fn start_up(
        &self,
        args: &[&str],
    ) -> Result<(Outcome, std::time::Duration, std::time::Duration)> {
        self.run_timed(Host::new(args, &[]))
    }

    /// Instantiates and runs it with `args`; returns the error `run`
    /// ended with (a trap, with its backtrace), if it did.
    pub fn run_error(&self, args: &[&str]) -> Result<Option<wasmtime::Error>> {
        let mut store = Store::new(&self.engine, Host::new(args, &[]));
        let command = self.pre.instantiate(&mut store)?;
        Ok(command.wasi_cli_run().call_run(&mut store).err())
    }

    fn run_with(&self, host: Host) -> Result<(Outcome, std::time::Duration)> {
        let (outcome, _, run) = self.run_timed(host)?;
        Ok((outcome, run))
    }

    fn run_timed(&self, host: Host) -> Result<(Outcome, std::time::Duration, std::time::Duration)> {
        let mut store = Store::new(&self.engine, host);
        let start = std::time::Instant::now();
        let command = self.pre.instantiate(&mut store)?;
        let instantiated = start.elapsed();
        let start = std::time::Instant::now();
        let result = command.wasi_cli_run().call_run(&mut store);
        let elapsed = start.elapsed();
        let status = match result {
            Ok(Ok(())) => Ok(0),
            Ok(Err(())) => Ok(1),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => Ok(exit.0),
                None => Err(()),
            },
        };
        let host = store.into_data();
        let outcome = Outcome {
            stdout: host.stdout.contents().to_vec(),
            stderr: host.stderr.contents().to_vec(),
            status,
        };
        Ok((outcome, instantiated, elapsed))
    }
}

/// A deterministic generator of test values (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, edges: &[T], random: T) -> T {
        let n = self.next_u64() % (edges.len() as u64 + 2);
        edges.get(n as usize).copied().unwrap_or(random)
    }
}

/// A random value of any type, biased toward edge cases; compound values
/// nest at most `depth` levels more.
pub fn random_val(rng: &mut Rng, ty: &Type) -> Result<Val> {
    random_nested(rng, ty, 3)
}

fn random_string(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "",
        "a",
        "hello",
        "grüße",
        "世界",
        "🦀",
        "\u{0}",
        "\u{10FFFF}",
        "\u{FEFF}",
        " ",
    ];
    let n = rng.next_u64() % 6;
    (0..n)
        .map(|_| PIECES[(rng.next_u64() % PIECES.len() as u64) as usize])
        .collect()
}

fn random_nested(rng: &mut Rng, ty: &Type, depth: u32) -> Result<Val> {
    let r = rng.next_u64();
    let len = |rng: &mut Rng| {
        if depth == 0 {
            0
        } else {
            (rng.next_u64() % 5) as usize
        }
    };
    Ok(match ty {
        Type::Bool => Val::Bool(r & 1 == 1),
        Type::S8 => Val::S8(rng.pick(&[i8::MIN, i8::MAX, 0, -1], r as i8)),
        Type::U8 => Val::U8(rng.pick(&[u8::MAX, 0, 1], r as u8)),
        Type::S16 => Val::S16(rng.pick(&[i16::MIN, i16::MAX, 0, -1], r as i16)),
        Type::U16 => Val::U16(rng.pick(&[u16::MAX, 0], r as u16)),
        Type::S32 => Val::S32(rng.pick(&[i32::MIN, i32::MAX, 0, -1], r as i32)),
        Type::U32 => Val::U32(rng.pick(&[u32::MAX, 0, 1], r as u32)),
        Type::S64 => Val::S64(rng.pick(&[i64::MIN, i64::MAX, 0, -1], r as i64)),
        Type::U64 => Val::U64(rng.pick(&[u64::MAX, 0], r)),
        Type::Float32 => Val::Float32(f32::from_bits(rng.pick(
            &[0x7fc0_0001, 0xff80_0000, 0x8000_0000, 0x7f7f_ffff],
            r as u32,
        ))),
        Type::Float64 => Val::Float64(f64::from_bits(
            rng.pick(&[0x7ff8_0000_0000_0001, 0xfff0_0000_0000_0000, 1], r),
        )),
        Type::Char => {
            let c = rng.pick(&[0, 0xD7FF, 0xE000, 0x10_FFFF], (r % 0x11_0000) as u32);
            Val::Char(char::from_u32(c).unwrap_or('\u{FFFD}'))
        }
        Type::String => Val::String(random_string(rng)),
        Type::List(l) => {
            let n = len(rng);
            Val::List(
                (0..n)
                    .map(|_| random_nested(rng, &l.ty(), depth.saturating_sub(1)))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Map(m) => {
            let n = len(rng);
            Val::Map(
                (0..n)
                    .map(|_| {
                        Ok((
                            random_nested(rng, &m.key(), depth.saturating_sub(1))?,
                            random_nested(rng, &m.value(), depth.saturating_sub(1))?,
                        ))
                    })
                    .collect::<Result<_>>()?,
            )
        }
        Type::Record(rec) => Val::Record(
            rec.fields()
                .map(|f| {
                    Ok((
                        f.name.to_string(),
                        random_nested(rng, &f.ty, depth.saturating_sub(1))?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        Type::Tuple(t) => Val::Tuple(
            t.types()
                .map(|t| random_nested(rng, &t, depth.saturating_sub(1)))
                .collect::<Result<_>>()?,
        ),
        Type::Variant(v) => {
            let cases: Vec<_> = v.cases().collect();
            let c = &cases[(r % cases.len() as u64) as usize];
            let payload = match &c.ty {
                Some(t) => Some(Box::new(random_nested(rng, t, depth.saturating_sub(1))?)),
                None => None,
            };
            Val::Variant(c.name.to_string(), payload)
        }
        Type::Enum(e) => {
            let names: Vec<_> = e.names().collect();
            Val::Enum(names[(r % names.len() as u64) as usize].to_string())
        }
        Type::Option(o) => {
            if r & 1 == 0 {
                Val::Option(None)
            } else {
                Val::Option(Some(Box::new(random_nested(
                    rng,
                    &o.ty(),
                    depth.saturating_sub(1),
                )?)))
            }
        }
        Type::Result(res) => {
            let (ok, side) = (r & 1 == 0, if r & 1 == 0 { res.ok() } else { res.err() });
            let payload = match side {
                Some(t) => Some(Box::new(random_nested(rng, &t, depth.saturating_sub(1))?)),
                None => None,
            };
            Val::Result(if ok { Ok(payload) } else { Err(payload) })
        }
        Type::Flags(f) => Val::Flags(
            f.names()
                .filter(|_| rng.next_u64() & 1 == 1)
                .map(str::to_string)
                .collect(),
        ),
        other => bail!("no generator for {other:?} yet"),
    })
}

/// A comparable rendering of a value (floats by their bits, so NaN
/// payloads count).
pub fn show(v: &Val) -> String {
    match v {
        Val::Float32(f) => format!("f32:{:#010x}", f.to_bits()),
        Val::Float64(f) => format!("f64:{:#018x}", f.to_bits()),
        Val::List(v) => format!("[{}]", v.iter().map(show).collect::<Vec<_>>().join(", ")),
        Val::Record(f) => format!(
            "{{{}}}",
            f.iter()
                .map(|(n, v)| format!("{n}: {}", show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Val::Tuple(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(", ")),
        Val::Variant(n, p) => format!("{n}({})", p.as_deref().map(show).unwrap_or_default()),
        Val::Option(o) => format!("option({})", o.as_deref().map(show).unwrap_or_default()),
        Val::Result(r) => match r {
            Ok(v) => format!("ok({})", v.as_deref().map(show).unwrap_or_default()),
            Err(v) => format!("err({})", v.as_deref().map(show).unwrap_or_default()),
        },
        other => format!("{other:?}"),
    }
}

/// One call of an exported function and what it gave.
#[derive(Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// `interface#function(args)`.
    pub call: String,
    /// The results, or `trap`.
    pub outcome: String,
}

/// Every exported function of a library component: `(instance, name, type)`.
pub fn exported_functions(
    engine: &Engine,
    component: &Component,
) -> Vec<(Option<String>, String, ComponentFunc)> {
    let mut out = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(f) => out.push((None, name.to_string(), f)),
            ComponentItem::ComponentInstance(i) => {
                for (fname, item) in i.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = item.ty {
                        out.push((Some(name.to_string()), fname.to_string(), f));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Calls every exported function `rounds` times with generated arguments
/// (seeded by `seed`) and records what happened. After a trap the instance
/// is replaced by a fresh one, as a host must.
pub fn call_exports(
    engine: &Engine,
    bytes: &[u8],
    seed: u64,
    rounds: usize,
) -> Result<Vec<CallRecord>> {
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let pre = linker.instantiate_pre(&component)?;
    let mut store = Store::new(engine, Host::new(&[], &[]));
    let mut instance = pre.instantiate(&mut store)?;
    let funcs = exported_functions(engine, &component);
    let mut rng = Rng::new(seed);
    let mut records = Vec::new();
    for round in 0..rounds {
        for (iface, name, ty) in &funcs {
            let args = ty
                .params()
                .map(|(_, t)| random_val(&mut rng, &t))
                .collect::<Result<Vec<_>>>()?;
            let parent = iface
                .as_deref()
                .and_then(|i| instance.get_export_index(&mut store, None, i));
            let Some(index) = instance.get_export_index(&mut store, parent.as_ref(), name) else {
                bail!("export {name} missing");
            };
            let Some(func) = instance.get_func(&mut store, index) else {
                bail!("{name} is not a function")
            };
            let mut results = vec![Val::Bool(false); ty.results().len()];
            let call = format!(
                "{round}: {}#{name}({})",
                iface.as_deref().unwrap_or(""),
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            );
            let outcome = match func.call(&mut store, &args, &mut results) {
                Ok(()) => results.iter().map(show).collect::<Vec<_>>().join(", "),
                Err(_) => {
                    store = Store::new(engine, Host::new(&[], &[]));
                    instance = pre.instantiate(&mut store)?;
                    "trap".to_string()
                }
            };
            records.push(CallRecord { call, outcome });
        }
    }
    Ok(records)
}

/// Instantiates a component that imports nothing and calls the root
/// exports `calls` names in order, with their arguments; returns each
/// result (`None` for a trap, after which the instance is not called
/// again).
pub fn call_script(
    engine: &Engine,
    bytes: &[u8],
    calls: &[(&str, Vec<Val>)],
) -> Result<Vec<Option<Vec<Val>>>> {
    let component = Component::new(engine, bytes)?;
    let mut store = Store::new(engine, ());
    let instance = Linker::<()>::new(engine).instantiate(&mut store, &component)?;
    let mut out = Vec::new();
    for (name, args) in calls {
        let Some(func) = instance.get_func(&mut store, name) else {
            bail!("no export `{name}`");
        };
        let mut results = vec![Val::U32(0); func.ty(&store).results().len()];
        match func.call(&mut store, args, &mut results) {
            Ok(()) => out.push(Some(results)),
            Err(_) => {
                out.push(None);
                break;
            }
        }
    }
    Ok(out)
}

/// Instantiates a component that imports nothing and calls its root
/// export `name`, which returns a `u32`; `None` when the call (or the
/// instantiation) traps.
pub fn call_u32(engine: &Engine, bytes: &[u8], name: &str, args: &[Val]) -> Result<Option<u32>> {
    let component = Component::new(engine, bytes)?;
    let linker = Linker::<()>::new(engine);
    let mut store = Store::new(engine, ());
    // The runtime's own cap on live handles (a policy, not the spec's
    // limit) would stop tests of large tables first.
    store.set_max_component_handles(1 << 22);
    let Ok(instance) = linker.instantiate(&mut store, &component) else {
        return Ok(None);
    };
    let Some(func) = instance.get_func(&mut store, name) else {
        bail!("no export `{name}`");
    };
    let mut results = [Val::U32(0)];
    Ok(match func.call(&mut store, args, &mut results) {
        Ok(()) => match results[0] {
            Val::U32(v) => Some(v),
            ref other => bail!("`{name}` returned {other:?}"),
        },
        Err(_) => None,
    })
}
