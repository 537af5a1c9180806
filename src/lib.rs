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

pub use error::{Error, ErrorKind, Result};
pub use report::{AdapterInfo, HandleTableInfo, InputInfo, InstanceInfo, Report};

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: OutputKind::Component,
            validate: true,
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
/// Today exactly one input is accepted: a component, usually a composition.
///
/// Every error names a component path (`root` when nothing more precise is
/// known); the output, when `options.validate` is set (the default), has
/// been validated.
pub fn fuse(components: &[&[u8]], options: &Options) -> Result<Fused> {
    fuse_unlocated(components, options).map_err(|e| e.at_path("root"))
}

fn fuse_unlocated(components: &[&[u8]], options: &Options) -> Result<Fused> {
    let bytes = single(components)?;
    let input = parse::parse(bytes)?;
    let graph = instantiate::instantiate(&input)?;
    let types = input.types.as_ref();
    let mut weight = 0;
    for a in &graph.adapters {
        let at = |e: Error| e.at_path(&graph.component_instances[a.caller.index()]);
        adapter::check(types, a).map_err(at)?;
        weight += adapter::limits::weigh(types, a).map_err(at)?;
        if weight > adapter::limits::MAX_TOTAL_ADAPTER_WEIGHT {
            return Err(Error::limit(format!(
                "the adapters together would unroll more than {} values",
                adapter::limits::MAX_TOTAL_ADAPTER_WEIGHT
            )));
        }
    }
    let core = options.output == OutputKind::CoreModule;
    let mode = if core {
        merge::HostCalls::Direct
    } else {
        merge::HostCalls::Indirect
    };
    let layout = merge::Layout::new(&input, &graph, mode)?;
    // Static instantiation counted the instances' memories; the handle
    // tables' memory comes on top.
    let max_memories = instantiate::limits::MAX_MEMORIES;
    if layout.memory_count() as usize > max_memories {
        return Err(Error::limit(format!(
            "the fused module would need {} memories, one for each component instance that has one and one for the handle tables, but a core module may have at most {max_memories}",
            layout.memory_count()
        )));
    }
    let names = emit::import_names(&graph, &layout, core);
    let exports = emit::needed_exports(&graph, &layout)?;
    let out = if core {
        let exports = report::core_exports(&graph, &layout, exports)?;
        layout.encode(&exports, &names)?
    } else {
        let module = layout.encode(&exports, &names)?;
        emit::Emitter::new(&input, &graph, &layout, exports).emit(&module, &names)?
    };
    if options.validate {
        validate(&out)?;
    }
    let mut report = report::Report::new(&input, &graph, &layout);
    report.inputs = inputs(components);
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
    let layout = merge::Layout::new(&input, &graph, merge::HostCalls::Indirect)?;
    let mut report = report::Report::new(&input, &graph, &layout);
    report.inputs = inputs(&[component]);
    Ok(report)
}

fn inputs(components: &[&[u8]]) -> Vec<InputInfo> {
    components
        .iter()
        .enumerate()
        .map(|(i, c)| InputInfo::new(i, c))
        .collect()
}

fn single<'a>(components: &[&'a [u8]]) -> Result<&'a [u8]> {
    match components {
        [one] => Ok(one),
        [] => Err(Error::malformed("no input component given")),
        _ => Err(Error::unsupported(
            "multiple-inputs",
            "wiring several input components by interface name is not supported yet; compose them with `wac plug` first",
        )),
    }
}

/// Validates an output with the features the fused module may use.
fn validate(bytes: &[u8]) -> Result<()> {
    let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    v.validate_all(bytes).map_err(|e| {
        Error::malformed(format!(
            "internal error: the fused output does not validate: {}",
            e.message()
        ))
        .at_path("output")
        .at_offset(e.offset())
    })?;
    Ok(())
}
