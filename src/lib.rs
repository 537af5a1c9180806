//! Solder: a static WebAssembly component fuser.
//!
//! A composition of components (what `wac` or `wasm-tools compose` write)
//! goes in; out comes the same program with every component boundary
//! compiled away: all inner core modules merged into one core module, every
//! cross-component call replaced by a generated canonical-ABI adapter, and
//! (by default) a component around it with exactly the input's top-level
//! imports and exports.
//!
//! ```no_run
//! let composed = std::fs::read("app.wasm")?;
//! let fused = solder::fuse(&[&composed], &solder::Options::default())?;
//! std::fs::write("app.fused.wasm", &fused.bytes)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Several separate components can be given instead of one composition:
//! [`wire`] plugs them together by interface name first (see [`fuse`]).
//!
//! The pipeline: [`parse`] (validate, borrow the input) → [`instantiate`]
//! (static instantiation) → [`merge`] (one index space, adapters) →
//! [`emit`] (the component wrapper) → validation of the output.

pub mod abi;
pub mod adapter;
pub mod emit;
pub mod error;
pub mod instantiate;
pub mod merge;
pub mod parse;
mod report;
pub mod single;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
pub use report::{AdapterInfo, DebugInfo, HandleTableInfo, InputInfo, InstanceInfo, Report};

/// Solder's version, as the output's `producers` section names it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputKind {
    /// A component with the input's top-level imports and exports.
    #[default]
    Component,
    /// The bare fused core module.
    CoreModule,
}

/// How to fuse.
#[derive(Debug, Clone)]
pub struct Options {
    /// The kind of artifact.
    pub output: OutputKind,
    /// Validate the output before returning it.
    pub validate: bool,
    /// A value in memory whose move would weigh more than this is moved
    /// by a function shared by every move of its type between the same
    /// two component instances (see [`adapter::limits`]). Lower shares
    /// more code; 0 moves every value in memory that way, which the tests
    /// use to run the shared path on every fixture.
    pub outline_weight: u64,
    /// Leave the inputs' DWARF (`.debug_*` sections) out of the output.
    /// By default it is carried: every compile unit of every input module,
    /// its code addresses moved to where the code now lies, and a compile
    /// unit naming the functions Solder generates.
    pub strip_debug: bool,
    /// Give the fused module exactly one memory, every component's memory
    /// a region of it (see [`single`]), for runtimes without multi-memory.
    /// The inputs' DWARF is left out: the code moves.
    pub single_memory: bool,
    /// Give a component instance that uses the async ABI a handle table of
    /// its own in the fused module, which translates its handle numbers
    /// to and from the host's, even where it could keep the host's
    /// numbers (it always does when another instance holds the host's
    /// handles too). The program is the same either way; the tests use it
    /// to run the translation on every async fixture.
    pub own_async_table: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: OutputKind::Component,
            validate: true,
            outline_weight: adapter::limits::OUTLINE_WEIGHT,
            strip_debug: false,
            single_memory: false,
            own_async_table: false,
        }
    }
}

/// The fused artifact and a report of what was done.
#[derive(Debug, Clone)]
pub struct Fused {
    /// The output bytes.
    pub bytes: Vec<u8>,
    /// What fusing did.
    pub report: Report,
}

/// Fuses `components` into one artifact.
///
/// One input is a component, usually a composition (`wac plug`, `wasm-tools
/// compose`), fused as it is. Several inputs are first wired together by
/// interface name (see [`wire`]): the first is the main component, whose
/// exports the result has; every input is instantiated once; an import is
/// plugged with the one other input that exports that name; imports no
/// input provides stay imports of the result. In errors the inputs are
/// called `input[0]`, `input[1]`, ...; [`fuse_named`] takes names instead.
///
/// Every error names a component path (`root` when nothing more precise is
/// known); the output, when `options.validate` is set (the default), has
/// been validated.
pub fn fuse(components: &[&[u8]], options: &Options) -> Result<Fused> {
    let names: Vec<String> = (0..components.len())
        .map(|i| format!("input[{i}]"))
        .collect();
    let inputs: Vec<wire::Input<'_>> = names
        .iter()
        .map(String::as_str)
        .zip(components.iter().copied())
        .collect();
    fuse_named(&inputs, options)
}

/// Like [`fuse`], with a name for each input (a file name, say) that errors
/// about several inputs use in their messages and paths. Names do not
/// affect the output, and one input is fused exactly as by [`fuse`]
/// (its errors' paths start at `root`).
///
/// On a native target, the inputs' digests for the report are taken on a
/// second thread while the fuse runs, when there is more than a mebibyte
/// to hash.
pub fn fuse_named(inputs: &[wire::Input<'_>], options: &Options) -> Result<Fused> {
    let describe = || -> Vec<InputInfo> {
        inputs
            .iter()
            .enumerate()
            .map(|(i, (_, bytes))| InputInfo::new(i, bytes))
            .collect()
    };
    let size: usize = inputs.iter().map(|(_, bytes)| bytes.len()).sum();
    let (infos, fused) = if cfg!(target_family = "wasm") || size < 1 << 20 {
        (describe(), fuse_wired(inputs, options))
    } else {
        std::thread::scope(|s| {
            let side = std::thread::Builder::new()
                .name("solder-digest".into())
                .spawn_scoped(s, describe);
            let fused = fuse_wired(inputs, options);
            // A thread that could not start, or did not finish, leaves
            // the digests to this one.
            let infos = side.ok().and_then(|h| h.join().ok());
            (infos.unwrap_or_else(describe), fused)
        })
    };
    let mut fused = fused?;
    fused.report.inputs = infos;
    Ok(fused)
}

fn fuse_wired(inputs: &[wire::Input<'_>], options: &Options) -> Result<Fused> {
    match inputs {
        [] => Err(Error::malformed("no input component given").at_path("root")),
        [(_, one)] => fuse_unlocated(one, options).map_err(|e| e.at_path("root")),
        several => {
            let composed = wire::compose(several)?;
            // Later errors point into the composition that wiring built.
            fuse_unlocated(&composed, options).map_err(|e| e.at_path("root"))
        }
    }
}

fn fuse_unlocated(bytes: &[u8], options: &Options) -> Result<Fused> {
    let input = parse::parse(bytes)?;
    let graph = instantiate::instantiate_with(&input, options.own_async_table)?;
    let types = input.types.as_ref();
    // The ABI facts the budget computes are the ones generation reads.
    let abi = abi::Abi::new(types);
    let mut budget = adapter::limits::Budget::new(&abi, options.outline_weight);
    for a in &graph.adapters {
        let at = |e: Error| e.at_path(&graph.component_instances[a.caller.index()]);
        adapter::check(types, a).map_err(at)?;
        budget.adapter(a).map_err(at)?;
    }
    let core = options.output == OutputKind::CoreModule;
    if let Some(user) = graph.async_use.map(|u| u.instance)
        && (core || options.single_memory)
    {
        let output = if core {
            "core-module output"
        } else {
            "one-memory output"
        };
        return Err(Error::unsupported(
            "async",
            format!("{output} of a component that uses the async ABI: its async built-ins need a component model host"),
        )
        .at_path(&graph.component_instances[user.index()]));
    }
    let mode = if core {
        merge::HostCalls::Direct
    } else {
        merge::HostCalls::Indirect
    };
    let mut layout = merge::Layout::new(&input, &graph, mode, abi, options.outline_weight)?;
    layout.carry_debug(!options.strip_debug && !options.single_memory);
    layout.set_single_memory(options.single_memory);
    // Static instantiation counted the instances' memories; the handle
    // tables' memory comes on top.
    let max_memories = instantiate::limits::MAX_MEMORIES;
    if layout.memory_count() as usize > max_memories {
        return Err(Error::limit(format!(
            "the fused module would need {} memories, one for each component instance that has one and one for the handle tables, but a core module may have at most {max_memories}",
            layout.memory_count()
        )));
    }
    let boundary = options
        .single_memory
        .then(|| single::Boundary::of(types, &graph, &layout, core))
        .transpose()?;
    let one = |module: Vec<u8>| -> Result<Vec<u8>> {
        match &boundary {
            Some(b) => single::rewrite(&module, b),
            None => Ok(module),
        }
    };
    let out = if core {
        let exports = emit::core_exports(&graph, &layout)?;
        one(layout.encode(&exports, Vec::new(), 0)?)?
    } else {
        let needed = emit::needed_exports(&graph, &layout)?;
        let exports = merge::Layout::export_entries(&needed);
        let mut wrapper = emit::Emitter::new(&input, &graph, &layout).wrap()?;
        if boundary.is_some() {
            wrapper.around(&one(layout.encode(&exports, Vec::new(), 0)?)?)
        } else {
            // The module is encoded in its place in the output.
            let (bytes, after) = wrapper.start();
            let at = bytes.len();
            let bytes = layout.encode(&exports, bytes, after)?;
            wrapper.finish(bytes, at)?
        }
    };
    if options.validate {
        validate(&out)?;
    }
    let mut report = report::Report::new(&input, &graph, &layout);
    report.output_size = out.len() as u64;
    Ok(Fused { bytes: out, report })
}

/// Describes what fusing `component` would do.
pub fn inspect(component: &[u8]) -> Result<Report> {
    inspect_unlocated(component).map_err(|e| e.at_path("root"))
}

fn inspect_unlocated(component: &[u8]) -> Result<Report> {
    let input = parse::parse(component)?;
    let graph = instantiate::instantiate(&input)?;
    let layout = merge::Layout::new(
        &input,
        &graph,
        merge::HostCalls::Indirect,
        abi::Abi::new(input.types.as_ref()),
        adapter::limits::OUTLINE_WEIGHT,
    )?;
    let mut report = report::Report::new(&input, &graph, &layout);
    report.inputs = vec![InputInfo::new(0, component)];
    Ok(report)
}

/// Validates an output with the features the fused module may use.
fn validate(bytes: &[u8]) -> Result<()> {
    let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    v.validate_all(bytes).map_err(|e| {
        Error::internal(format!(
            "the fused output does not validate: {}",
            e.message()
        ))
        .at_path("output")
        .at_offset(e.offset())
    })?;
    Ok(())
}
