//! One core module from many: the merged index spaces of every core
//! instance, plus the generated functions (adapters, host trampolines, the
//! start sequence).
//!
//! Each core instance keeps its own functions, tables, memories, globals and
//! tags; its imports are bound to whatever static instantiation found for
//! them. Code is re-indexed with `wasm_encoder::reencode`, overriding only
//! the index hooks, so every instruction (SIMD, atomics, GC, exceptions, ...)
//! passes through untouched.
//!
//! Host functions lowered with a `memory` or `realloc` option need the fused
//! module's own memory, which does not exist before the module is
//! instantiated. In component output they are therefore called through a
//! table of the fused module (`call_indirect` from a small trampoline), and
//! the wrapper fills the table after instantiation; in core-module output
//! they are plain imports.

pub(crate) mod asyncs;
pub(crate) mod builder;
pub(crate) mod dwarf;
mod leave;
pub(crate) mod roots;
pub(crate) mod sized;
pub(crate) mod tasks;

use crate::adapter;
use crate::adapter::handles::{self, ResourceInfo, Table};
use crate::adapter::outline::Outlined;
use crate::error::{Error, Result};
use crate::instantiate::{
    ComponentInstanceId, CoreDef, CoreInstanceId, Graph, HostInstanceId, HostLower, HostLowerId,
    Lifted, ResourceOwner,
};
use crate::parse::ResourceOp;
use crate::parse::{Input, ModuleDef};
pub use builder::{
    Builder, DataIdx, ElemIdx, FuncIdx, GlobalIdx, MemIdx, TableIdx, TagIdx, TypeIdx,
};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_encoder::reencode::Reencode;
use wasm_encoder::{ConstExpr, ExportKind, Function, Instruction as I, RefType, TableType};
use wasmparser::{ExternalKind, FuncType, TypeRef};

/// How calls to the host leave the fused module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCalls {
    /// Every host function is a plain import (core-module output).
    Direct,
    /// Host functions that need the module's memory go through a table.
    Indirect,
}

/// Name of the exported table of host functions.
const HOST_TABLE: &str = "$host";
/// Prefix of the import module under which the fused module imports the
/// exports of a core instance of the composition's that the output
/// instantiates on its own (`$core3` for core instance 3).
pub const HOISTED: &str = "$core";
/// Prefix of the import module under which the fused module imports the
/// exports of an instance of a module the host supplies (`$instance0`,
/// ...).
pub const HOST_INSTANCE: &str = "$instance";
/// Name of the exported start sequence, when the wrapper must call it.
const INIT: &str = "$init";
/// Name of the exported start sequence in core-module output whose host
/// functions need the module's memory: the WASI reactor convention, which
/// core hosts know to call once after instantiation.
pub const CORE_INIT: &str = "_initialize";

/// An item of the fused module that the wrapper component reaches through
/// an export: one definition of the names both sides use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FusedExport {
    /// A function (a lifted export, a `realloc`, a `post-return`, a
    /// destructor).
    Func(FuncIdx),
    /// A function lifted with a `memory` option, in one-memory output: the
    /// one-memory pass makes this export its host-facing wrapper.
    Lifted(FuncIdx),
    /// A memory a lifting or lowering names.
    Memory(MemIdx),
    /// The table of host functions the wrapper fills.
    HostTable,
    /// The start sequence, which the wrapper calls once the table is
    /// filled.
    Init,
}

impl FusedExport {
    /// The export's name.
    pub fn name(self) -> String {
        match self {
            FusedExport::Func(f) => format!("f{}", f.0),
            FusedExport::Lifted(f) => format!("l{}", f.0),
            FusedExport::Memory(m) => format!("m{}", m.0),
            FusedExport::HostTable => HOST_TABLE.to_string(),
            FusedExport::Init => INIT.to_string(),
        }
    }

    /// The export's kind.
    pub fn kind(self) -> ExportKind {
        match self {
            FusedExport::Func(_) | FusedExport::Lifted(_) | FusedExport::Init => ExportKind::Func,
            FusedExport::Memory(_) => ExportKind::Memory,
            FusedExport::HostTable => ExportKind::Table,
        }
    }
}

/// The number of a resource type the run does not know (no handle of it
/// can exist): above every real number, and small enough to tag a slot.
const UNKNOWN_RESOURCE: u32 = u32::MAX >> 2;

/// Fused indices of one core instance's items, module index to fused index.
#[derive(Default)]
struct InstanceMap {
    types: u32,
    funcs: Vec<u32>,
    tables: Vec<u32>,
    memories: Vec<u32>,
    globals: Vec<u32>,
    tags: Vec<u32>,
    data: u32,
    elements: u32,
    /// The first of the functions the instance defines (after its
    /// imports), whose bodies are its code.
    first_func: u32,
    /// Whether an earlier core instance has a start function: this
    /// instance's active segments must then wait for it, so they are
    /// emitted passive and applied by the start sequence at this instance's
    /// place in the instantiation order.
    deferred: bool,
    /// This instance's start function, as a fused index.
    start: Option<u32>,
}

/// The globals every fused module has: one `may_leave` flag per component
/// instance, the call counter and the destructor-suppress flag.
struct Flags {
    may_leave: Vec<Option<GlobalIdx>>,
    call_number: GlobalIdx,
    suppress: GlobalIdx,
    /// The task globals of each component instance whose async lifts run
    /// to their end within the calls into them (`adapter::Task`).
    tasks: HashMap<ComponentInstanceId, adapter::Task>,
}

/// The layout of the fused module: every item pushed into a [`Builder`]
/// with its index, the bodies of functions and the segments left for
/// [`Layout::encode`].
pub struct Layout<'g, 'a> {
    input: &'g Input<'a>,
    graph: &'g Graph<'a>,
    builder: Builder,
    maps: Vec<InstanceMap>,
    /// Host lowers that are plain imports, in import order; a lowering
    /// identical to an earlier one (same function, same options) is not
    /// listed but shares that one's import.
    pub direct: Vec<HostLowerId>,
    /// The `(module, field)` each direct host lower is imported as.
    pub import_names: Vec<(String, String)>,
    /// Host lowers called through the table, in slot order.
    pub indirect: Vec<HostLowerId>,
    /// The fused import each host lower that is one calls.
    import_of: HashMap<HostLowerId, FuncIdx>,
    host_sig: HashMap<HostLowerId, FuncType>,
    /// Each host lower's trampoline, in host lower order.
    trampolines: Vec<FuncIdx>,
    /// The async lowers of the async instance with a table of its own
    /// whose parameters hold handles inside values or in memory, and the
    /// function its trampoline calls to translate them and call the host
    /// (`handles::async_lower_params`), in host lower order.
    lower_params: LowerParams,
    /// Each adapter's function; `None` where the caller calls the callee's
    /// core function itself.
    adapters: Vec<Option<FuncIdx>>,
    builtins: Vec<FuncIdx>,
    /// Each component instance's handle table, if it holds handles.
    tables: Vec<Option<Table>>,
    /// Root exports called through a trampoline that moves handles, with
    /// the trampoline.
    export_trampolines: Vec<(Rc<Lifted<'a>>, FuncIdx)>,
    /// The async instance's translation, when it has a table of its own.
    async_table: Option<asyncs::AsyncTable<'a>>,
    /// The tasks the fused module keeps (`tasks`), if any.
    scheduler: Option<tasks::Scheduler>,
    /// The wrappers of root exports lifted async with a `callback` beside
    /// the tasks the fused module keeps.
    root_tasks: Option<roots::RootTasks<'a>>,
    flags: Flags,
    /// Destructors the wrapper gives resource types the root exports:
    /// the type and the function.
    pub exported_dtors: Vec<(crate::instantiate::ResourceTypeId, FuncIdx)>,
    init: Option<FuncIdx>,
    host_table: Option<TableIdx>,
    /// The fused import of each export of each instance of a module the
    /// host supplies.
    host_exports: HostExports<'g>,
    /// Which core instances the output instantiates on its own.
    pub hoisted: Vec<bool>,
    hoisted_exports: HoistedExports<'a>,
    func_count: u32,
    memory_count: u32,
    /// The shared functions adapters called, with their names.
    helper_names: Vec<(u32, String)>,
    /// The ABI facts of the input's types, as generation needs them.
    abi: crate::abi::Abi<'g>,
    /// Values in memory heavier than this are shared moves.
    outline_weight: u64,
    /// Whether the inputs' DWARF is carried into the output.
    carry_debug: bool,
    /// The DWARF [`Layout::encode`] carried, if any.
    debug: Option<dwarf::Carried>,
    /// Whether the output gets one memory.
    single_memory: bool,
}

/// How host lowers leave the fused module.
struct HostLowers {
    /// Plain imports, each lowering once.
    direct: Vec<HostLowerId>,
    /// Calls through the host table, in slot order.
    indirect: Vec<HostLowerId>,
    /// Each imported lower's position in `direct`.
    position: HashMap<HostLowerId, usize>,
    /// Each lower's core signature.
    sigs: HashMap<HostLowerId, FuncType>,
}

/// Host lowers, split into plain imports and calls through the host table.
fn classify_host_lowers(
    types: wasmparser::types::TypesRef<'_>,
    graph: &Graph<'_>,
    mode: HostCalls,
) -> HostLowers {
    let (mut direct, mut indirect) = (Vec::new(), Vec::new());
    let mut position = HashMap::new();
    let mut sigs = HashMap::new();
    // One function lowered again with the same options is the same
    // import.
    let mut imported = HashMap::new();
    let internal = crate::instantiate::asyncs::internal_task_returns(graph);
    for (i, host) in graph.host_lowers.iter().enumerate() {
        let h = HostLowerId(i as u32);
        let sig = match host {
            HostLower::Func {
                async_sig: Some(sig),
                ..
            } => sig.clone(),
            HostLower::Func { ty, .. } => crate::abi::lower_signature(types, *ty),
            HostLower::Async { builtin, .. } => builtin.sig.clone(),
            HostLower::ResourceDrop { .. }
            | HostLower::Exported {
                op: ResourceOp::Drop,
                ..
            } => FuncType::new([wasmparser::ValType::I32], []),
            HostLower::Exported { .. } => {
                FuncType::new([wasmparser::ValType::I32], [wasmparser::ValType::I32])
            }
        };
        sigs.insert(h, sig);
        if crate::instantiate::asyncs::module_own(graph, &internal, (i, host)) {
            // A `task.return` of the fused module's own.
            continue;
        }
        if mode == HostCalls::Indirect && needs_memory(host) {
            indirect.push(h);
            continue;
        }
        let key = match host {
            HostLower::Func { path, options, .. } => Some((path.root_index, &path.names, options)),
            HostLower::Exported { .. }
            | HostLower::ResourceDrop { .. }
            | HostLower::Async { .. } => None,
        };
        let index = match key.and_then(|k| imported.get(&k).copied()) {
            Some(index) => index,
            None => {
                direct.push(h);
                if let Some(k) = key {
                    imported.insert(k, direct.len() - 1);
                }
                direct.len() - 1
            }
        };
        position.insert(h, index);
    }
    HostLowers {
        direct,
        indirect,
        position,
        sigs,
    }
}

/// Imports into the fused module every export of every instance of a
/// module the host supplies, which the output component instantiates
/// before the fused module. Such an instance may only take what the host
/// supplies (other such instances' exports), and must not come after a
/// start function of the composition's own, which would then run after
/// it.
fn import_host_instances<'g>(
    b: &mut Builder,
    input: &'g Input<'_>,
    graph: &Graph<'_>,
    mode: HostCalls,
    hoisted: &[bool],
) -> Result<HostExports<'g>> {
    let types = input.types.as_ref();
    let mut out = HashMap::new();
    for (k, inst) in graph.host_instances.iter().enumerate() {
        let m = &graph.host_modules[inst.module.index()];
        let refuse = |why: &str| {
            Err(Error::unsupported(
                "module-import",
                format!(
                    "an instance of `{}`, a core module the host supplies, {why}",
                    m.path.display()
                ),
            )
            .at_path(&graph.component_instances[inst.component.index()]))
        };
        if mode == HostCalls::Direct {
            return refuse("needs component output: a core module cannot instantiate a module");
        }
        if !inst.imports.iter().all(|(_, _, d)| match d {
            CoreDef::HostExport { instance, .. } => instance.index() < k,
            CoreDef::Export { .. } => true,
            _ => false,
        }) {
            return refuse(
                "is instantiated with the composition's own functions, memories, tables or globals",
            );
        }
        // What comes before it must have happened when it is instantiated:
        // no start function may come before it, nor a merged instance's
        // segments that write into a memory or table from outside the
        // fused module (applied only when the fused module is).
        let before = &graph.core_instances[..inst.after];
        let outside = |d: &CoreDef<'_>| match d {
            CoreDef::HostExport { .. } => true,
            CoreDef::Export { instance, .. } => hoisted[instance.index()],
            _ => false,
        };
        if before
            .iter()
            .any(|c| input.modules[c.module.0 as usize].start.is_some())
            || before.iter().enumerate().any(|(i, c)| {
                let m = &input.modules[c.module.0 as usize];
                !hoisted[i]
                    && (m.data_count > 0 || m.element_count > 0)
                    && m.imports.iter().zip(&c.imports).any(|(import, d)| {
                        matches!(import.ty, TypeRef::Memory(_) | TypeRef::Table(_)) && outside(d)
                    })
            })
        {
            return refuse(
                "is instantiated after a start function of the composition's, or after segments it writes into an instance outside the fused module, which is not supported yet",
            );
        }
        let ty = types
            .get(m.ty)
            .ok_or_else(|| Error::internal("a module import without its type"))?;
        let module = format!("{HOST_INSTANCE}{k}");
        let id = HostInstanceId(k as u32);
        for (name, entity) in &ty.exports {
            let func = |t: wasmparser::types::CoreTypeId| {
                types
                    .get(t)
                    .map(|s| s.unwrap_func().clone())
                    .ok_or_else(|| Error::internal("a module type's function type is missing"))
            };
            let item = match entity {
                wasmparser::types::EntityType::Func(t)
                | wasmparser::types::EntityType::FuncExact(t) => ImportItem::Func(func(*t)?),
                wasmparser::types::EntityType::Table(t) => ImportItem::Table(*t),
                wasmparser::types::EntityType::Memory(t) => ImportItem::Memory(*t),
                wasmparser::types::EntityType::Global(t) => ImportItem::Global(*t),
                wasmparser::types::EntityType::Tag(t) => ImportItem::Tag(func(*t)?),
            };
            let (space, index) = import_item(b, &module, name, item)?;
            out.insert((id, name.as_str()), (space, index));
        }
    }
    Ok(out)
}

/// An item the fused module imports from an instance outside it, with
/// its type.
enum ImportItem {
    Func(FuncType),
    Table(wasmparser::TableType),
    Memory(wasmparser::MemoryType),
    Global(wasmparser::GlobalType),
    /// An exception tag of this signature.
    Tag(FuncType),
}

/// Imports `item` as `module`::`name`; returns its index space and index.
fn import_item(
    b: &mut Builder,
    module: &str,
    name: &str,
    item: ImportItem,
) -> Result<(Space, u32)> {
    use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
    let err = |e: wasm_encoder::reencode::Error| Error::malformed(e.to_string());
    Ok(match item {
        ImportItem::Func(sig) => (Space::Func, b.import_func(module, name, &sig)?.0),
        ImportItem::Table(t) => {
            let t = RoundtripReencoder.table_type(t).map_err(err)?;
            (Space::Table, b.import(module, name, t.into())?)
        }
        ImportItem::Memory(t) => {
            let t = RoundtripReencoder.memory_type(t).map_err(err)?;
            (Space::Memory, b.import(module, name, t.into())?)
        }
        ImportItem::Global(t) => {
            let t = RoundtripReencoder.global_type(t).map_err(err)?;
            (Space::Global, b.import(module, name, t.into())?)
        }
        ImportItem::Tag(sig) => {
            let sig = b.signature(&sig)?;
            let t = wasm_encoder::TagType {
                kind: wasm_encoder::TagKind::Exception,
                func_type_idx: sig.0,
            };
            (Space::Tag, b.import(module, name, t.into())?)
        }
    })
}

/// Which of the composition's core instances the output instantiates on
/// its own, beside the fused module, rather than merging them: those whose
/// items an instance of a module the host supplies takes (and what those
/// take in turn). Each must take only what such instances export, or what
/// other such instances do; none may have a start function (an instance
/// of the host's module may not follow one anyway).
fn hoisted_instances(graph: &Graph<'_>) -> Result<Vec<bool>> {
    let mut hoisted = vec![false; graph.core_instances.len()];
    let mut work: Vec<usize> = Vec::new();
    for inst in &graph.host_instances {
        for (_, _, def) in &inst.imports {
            if let CoreDef::Export { instance, .. } = def {
                work.push(instance.index());
            }
        }
    }
    while let Some(i) = work.pop() {
        if std::mem::replace(&mut hoisted[i], true) {
            continue;
        }
        for def in &graph.core_instances[i].imports {
            match def {
                CoreDef::Export { instance, .. } => work.push(instance.index()),
                CoreDef::HostExport { .. } => {}
                CoreDef::Adapter(_) | CoreDef::Host(_) | CoreDef::Builtin(_) => {
                    return Err(Error::unsupported(
                        "module-import",
                        "a core module the host supplies is instantiated with items of a core instance that calls another component or the host, which is not supported yet",
                    )
                    .at_path(&graph.component_instances[graph.core_instances[i].component.index()]));
                }
            }
        }
    }
    Ok(hoisted)
}

/// The fused import of each export of a hoisted core instance that the
/// fused module's instances import, typed as the importer declares it.
type HoistedExports<'a> = HashMap<(CoreInstanceId, &'a str), (Space, u32)>;

/// Imports into the fused module what its instances take from hoisted
/// instances ([`hoisted_instances`]), under `$core<instance>`.
fn import_hoisted<'a>(
    b: &mut Builder,
    input: &Input<'a>,
    graph: &Graph<'a>,
    hoisted: &[bool],
) -> Result<HoistedExports<'a>> {
    let mut out = HashMap::new();
    for (i, inst) in graph.core_instances.iter().enumerate() {
        if hoisted[i] {
            continue;
        }
        let m = &input.modules[inst.module.0 as usize];
        for (import, def) in m.imports.iter().zip(&inst.imports) {
            let CoreDef::Export { instance, name } = def else {
                continue;
            };
            if !hoisted[instance.index()] || out.contains_key(&(*instance, *name)) {
                continue;
            }
            let module = format!("{HOISTED}{}", instance.0);
            let func = |t: u32| {
                m.func_types
                    .get(t as usize)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| Error::malformed(format!("type {t} is not a function type")))
            };
            let item = match import.ty {
                TypeRef::Func(t) | TypeRef::FuncExact(t) => ImportItem::Func(func(t)?),
                TypeRef::Table(t) => ImportItem::Table(t),
                TypeRef::Memory(t) => ImportItem::Memory(t),
                TypeRef::Global(t) => ImportItem::Global(t),
                TypeRef::Tag(t) => ImportItem::Tag(func(t.func_type_idx)?),
            };
            let entry = import_item(b, &module, name, item)?;
            out.insert((*instance, *name), entry);
        }
    }
    Ok(out)
}

/// The fused import of each export of each instance of a module the host
/// supplies: its index space and index.
type HostExports<'g> = HashMap<(HostInstanceId, &'g str), (Space, u32)>;

/// The core signature of a resource built-in.
fn builtin_signature(op: ResourceOp) -> FuncType {
    use wasmparser::ValType::I32;
    match op {
        ResourceOp::New | ResourceOp::Rep => FuncType::new([I32], [I32]),
        ResourceOp::Drop => FuncType::new([I32], []),
    }
}

/// The core signature of a root export's trampoline: the lifted
/// function's, flat or through memory.
fn export_signature(types: wasmparser::types::TypesRef<'_>, f: &Lifted<'_>) -> FuncType {
    let sig = crate::abi::flatten_func(types, f.ty);
    let params = if sig.params_spill {
        vec![wasmparser::ValType::I32]
    } else {
        sig.params
    };
    let results = if sig.results_spill {
        vec![wasmparser::ValType::I32]
    } else {
        sig.results
    };
    FuncType::new(params, results)
}

/// Declares each adapter's function, except where the caller can call the
/// callee's core function itself (`observed`: whose `may_leave` flag can
/// be seen).
fn declare_adapters(
    b: &mut Builder,
    abi: &crate::abi::Abi<'_>,
    graph: &Graph<'_>,
    observed: &[bool],
) -> Result<Vec<Option<FuncIdx>>> {
    graph
        .adapters
        .iter()
        .map(|a| {
            let seen = (
                observed[a.caller.index()],
                observed[a.callee.instance.index()],
            );
            if adapter::is_forward(abi, graph, a, seen) {
                return Ok(None);
            }
            b.declare_generated(&crate::abi::lower_signature_of(
                abi.types,
                a.ty,
                a.lower.async_,
            ))
            .map(Some)
        })
        .collect()
}

/// Pushes the globals every fused module has, after the instances' own: a
/// `may_leave` flag for each component instance whose flag can be seen,
/// and the task globals of each whose async lifts run to their end within
/// the calls into them.
fn push_flags(b: &mut Builder, observed: &[bool], graph: &Graph<'_>) -> Flags {
    use wasm_encoder::ValType;
    let mut tasks = HashMap::new();
    for i in crate::instantiate::asyncs::internal_task_returns(graph) {
        let mut i32_global = || b.mutable_global(ValType::I32, &ConstExpr::i32_const(0)).0;
        let (current, returned, dest, running, stash32) = (
            i32_global(),
            i32_global(),
            i32_global(),
            i32_global(),
            i32_global(),
        );
        let stash = [
            stash32,
            b.mutable_global(ValType::I64, &ConstExpr::i64_const(0)).0,
            b.mutable_global(ValType::F32, &ConstExpr::f32_const(0.0.into()))
                .0,
            b.mutable_global(ValType::F64, &ConstExpr::f64_const(0.0.into()))
                .0,
        ];
        tasks.insert(
            i,
            adapter::Task {
                call: 0,
                current,
                returned,
                dest,
                running,
                stash,
            },
        );
    }
    Flags {
        tasks,
        may_leave: observed
            .iter()
            .map(|seen| seen.then(|| b.mutable_global(ValType::I32, &ConstExpr::i32_const(1))))
            .collect(),
        call_number: b.mutable_global(ValType::I64, &ConstExpr::i64_const(1)),
        // Set while a handle the host passed in leaves the wrapper's
        // table: the destructor there must not run.
        suppress: b.mutable_global(ValType::I32, &ConstExpr::i32_const(0)),
    }
}

/// Pushes the text tables the transcoding functions read
/// ([`adapter::outline::tables`]): one page of a memory of their own,
/// filled by an active segment.
fn push_text_tables(b: &mut Builder) -> Result<MemIdx> {
    let memory = b.own_memory(1, Some(1));
    let segment = b.reserve_data(1);
    b.data(segment)?.active(
        memory.0,
        &ConstExpr::i32_const(0),
        adapter::outline::tables(),
    );
    Ok(memory)
}

/// Pushes the handle tables of the component instances that hold handles
/// (`holders`): one memory and its bump pointer for all, five globals
/// each; `fns` are each table's alloc, get and release functions.
fn push_tables(b: &mut Builder, holders: &[bool], fns: &[[FuncIdx; 3]]) -> Vec<Option<Table>> {
    use wasm_encoder::ValType;
    if fns.is_empty() {
        return holders.iter().map(|_| None).collect();
    }
    let zero = ConstExpr::i32_const(0);
    let top = b.mutable_global(ValType::I32, &zero);
    let memory = b.own_memory(0, None);
    let mut fns = fns.iter();
    holders
        .iter()
        .map(|holds| {
            if !*holds {
                return None;
            }
            let [alloc, get, release] = *fns.next()?;
            let mut global = |init| b.mutable_global(ValType::I32, &ConstExpr::i32_const(init));
            Some(Table {
                memory,
                top,
                base: global(0),
                capacity: global(0),
                // Slot 0 counts: it is never valid.
                len: global(1),
                free: global(0),
                borrows: global(0),
                alloc,
                get,
                release,
            })
        })
        .collect()
}

/// The `i`th of a group of generated functions.
fn generated(group: &[FuncIdx], i: usize) -> Result<u32> {
    group
        .get(i)
        .map(|f| f.0)
        .ok_or_else(|| Error::internal("a generated function was not laid out"))
}

fn parse_error(e: wasmparser::BinaryReaderError) -> Error {
    Error::malformed(e.message().to_string()).at_offset(e.offset())
}

/// Which index space items of `kind` live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Space {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

impl Space {
    fn of(kind: ExternalKind) -> Self {
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => Space::Func,
            ExternalKind::Table => Space::Table,
            ExternalKind::Memory => Space::Memory,
            ExternalKind::Global => Space::Global,
            ExternalKind::Tag => Space::Tag,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Space::Func => "function",
            Space::Table => "table",
            Space::Memory => "memory",
            Space::Global => "global",
            Space::Tag => "tag",
        }
    }
}

/// Converts a core value type for wasm-encoder.
pub(crate) fn val_type(v: wasmparser::ValType) -> Result<wasm_encoder::ValType> {
    wasm_encoder::ValType::try_from(v).map_err(|e| Error::malformed(format!("value type: {e:?}")))
}

pub(crate) fn import_kind(ty: &TypeRef) -> ExternalKind {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => ExternalKind::Func,
        TypeRef::Table(_) => ExternalKind::Table,
        TypeRef::Memory(_) => ExternalKind::Memory,
        TypeRef::Global(_) => ExternalKind::Global,
        TypeRef::Tag(_) => ExternalKind::Tag,
    }
}

fn needs_memory(h: &HostLower<'_>) -> bool {
    match h {
        HostLower::Func { options, .. } | HostLower::Async { options, .. } => {
            options.memory.is_some() || options.realloc.is_some()
        }
        HostLower::ResourceDrop { .. } => false,
        // Defined by the wrapper after the fused module, with a destructor
        // inside it.
        HostLower::Exported { .. } => true,
    }
}

impl<'g, 'a> Layout<'g, 'a> {
    /// Lays out the fused module: every type, import, declaration and
    /// global, in the order the module lists them.
    pub fn new(
        input: &'g Input<'a>,
        graph: &'g Graph<'a>,
        mode: HostCalls,
        abi: crate::abi::Abi<'g>,
        outline_weight: u64,
    ) -> Result<Self> {
        let types = input.types.as_ref();
        let mut b = Builder::new();
        // Every instance's own types first; generated signatures follow.
        let hoisted = hoisted_instances(graph)?;
        let mut type_bases = Vec::with_capacity(graph.core_instances.len());
        for (inst, hoisted) in graph.core_instances.iter().zip(&hoisted) {
            let m = &input.modules[inst.module.0 as usize];
            if *hoisted {
                type_bases.push(b.next_type().0);
                continue;
            }
            type_bases.push(
                Self::push_types(&mut b, m).map_err(|e| e.at_path(&m.path).at_offset(m.offset))?,
            );
        }
        let HostLowers {
            direct,
            indirect,
            position,
            sigs: host_sig,
        } = classify_host_lowers(types, graph, mode);
        let import_names = crate::emit::import_names(graph, &direct, mode == HostCalls::Direct)?;
        let mut direct_funcs = Vec::with_capacity(direct.len());
        for (h, (module, field)) in direct.iter().zip(&import_names) {
            direct_funcs.push(b.import_func(module, field, &host_sig[h])?);
        }
        let import_of = position
            .into_iter()
            .map(|(h, i)| (h, direct_funcs[i]))
            .collect();
        let host_exports = import_host_instances(&mut b, input, graph, mode, &hoisted)?;
        let hoisted_exports = import_hoisted(&mut b, input, graph, &hoisted)?;
        let (trampolines, lower_params) = declare_trampolines(&mut b, input, graph, &host_sig)?;
        let observed = leave::observed(input, graph);
        let adapters = declare_adapters(&mut b, &abi, graph, &observed)?;
        let builtins = graph
            .builtins
            .iter()
            .map(|x| b.declare_generated(&builtin_signature(x.op)))
            .collect::<Result<_>>()?;
        let mut l = Layout {
            input,
            graph,
            builder: Builder::new(),
            maps: Vec::with_capacity(graph.core_instances.len()),
            direct,
            import_names,
            indirect,
            import_of,
            host_sig,
            trampolines,
            lower_params,
            adapters,
            builtins,
            tables: Vec::new(),
            export_trampolines: Vec::new(),
            async_table: None,
            scheduler: None,
            root_tasks: None,
            flags: Flags {
                may_leave: Vec::new(),
                call_number: GlobalIdx(0),
                suppress: GlobalIdx(0),
                tasks: HashMap::new(),
            },
            exported_dtors: Vec::new(),
            init: None,
            host_table: None,
            host_exports,
            hoisted,
            hoisted_exports,
            func_count: 0,
            memory_count: 0,
            helper_names: Vec::new(),
            abi,
            outline_weight,
            carry_debug: true,
            debug: None,
            single_memory: false,
        };
        // Each handle table's three functions.
        let holders = l.handle_holders(types)?;
        let mut table_fns = Vec::new();
        for _ in holders.iter().filter(|h| **h) {
            use wasmparser::ValType::I32;
            table_fns.push([
                b.declare_generated(&FuncType::new([I32, I32], [I32]))?,
                b.declare_generated(&FuncType::new([I32], [I32]))?,
                b.declare_generated(&FuncType::new([I32], []))?,
            ]);
        }
        for f in l.exported_with_handles() {
            let f = f.clone();
            let idx = b.declare_generated(&export_signature(types, &f))?;
            l.export_trampolines.push((f, idx));
        }
        for (i, r) in graph.resources.iter().enumerate() {
            if let ResourceOwner::Instance {
                exported: Some(_), ..
            } = r.owner
            {
                let f = b.declare_generated(&FuncType::new([wasmparser::ValType::I32], []))?;
                l.exported_dtors
                    .push((crate::instantiate::ResourceTypeId(i as u32), f));
            }
        }
        let mut async_table = asyncs::AsyncTable::declare(&mut b, types, graph)?;
        let mut scheduler = tasks::Scheduler::declare(&mut b, graph)?;
        l.root_tasks = roots::RootTasks::declare(&mut b, types, graph)?;
        let mut started = false;
        for (i, base) in type_bases.into_iter().enumerate() {
            if l.hoisted[i] {
                l.maps.push(InstanceMap::default());
                continue;
            }
            let m = &input.modules[graph.core_instances[i].module.0 as usize];
            let map = l
                .push_instance(&mut b, i, base, started)
                .map_err(|e| e.at_path(&m.path).at_offset(m.offset))?;
            started |= map.start.is_some();
            l.maps.push(map);
        }
        if started {
            l.init = Some(b.declare_generated(&FuncType::new([], []))?);
        }
        if !l.indirect.is_empty() {
            let n = l.indirect.len() as u64;
            l.host_table = Some(b.table(TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: n,
                maximum: Some(n),
                shared: false,
            }));
        }
        l.flags = push_flags(&mut b, &observed, graph);
        l.tables = push_tables(&mut b, &holders, &table_fns);
        if let Some(a) = &mut async_table {
            a.push_globals(&mut b);
        }
        l.async_table = async_table;
        if let Some(s) = &mut scheduler {
            s.push_globals(&mut b, &l.flags.tasks);
        }
        l.scheduler = scheduler;
        l.func_count = b.func_count();
        l.memory_count = b.next_memory().0;
        l.builder = b;
        Ok(l)
    }

    /// Pushes a module's types; returns where they start.
    fn push_types(b: &mut Builder, m: &ModuleDef<'a>) -> Result<u32> {
        let base = b.next_type().0;
        if let Some(s) = &m.types {
            let map = InstanceMap {
                types: base,
                ..Default::default()
            };
            let mut r = Remap { map: &map };
            for group in s.clone() {
                b.rec_group(&mut r, group.map_err(parse_error)?)?;
            }
        }
        if b.next_type().0 - base != m.type_count {
            return Err(Error::internal("a module's types were not all pushed"));
        }
        Ok(base)
    }

    /// Lays out core instance `i`: binds its imports, and pushes its
    /// function declarations, tables, memories, tags and globals, and
    /// reserves its segments.
    fn push_instance(
        &self,
        b: &mut Builder,
        i: usize,
        types: u32,
        deferred: bool,
    ) -> Result<InstanceMap> {
        let inst = &self.graph.core_instances[i];
        let m = &self.input.modules[inst.module.0 as usize];
        let mut map = InstanceMap {
            types,
            deferred,
            ..Default::default()
        };
        for (import, def) in m.imports.iter().zip(&inst.imports) {
            let kind = import_kind(&import.ty);
            let idx = self.resolve(def, kind, &m.path)?;
            map.space(kind).push(idx);
        }
        // Every defined item's index is the builder's next one: reserve
        // them all first (a global's initializer may name a function or
        // an earlier global), then push and check.
        let first = [
            b.next_func().0,
            b.next_table().0,
            b.next_memory().0,
            b.next_global().0,
            b.next_tag().0,
        ];
        map.first_func = first[0];
        map.funcs
            .extend(FuncIdx(first[0]).range(m.functions.len() as u32));
        map.tables.extend(TableIdx(first[1]).range(m.table_count));
        map.memories
            .extend(MemIdx(first[2]).range(m.memories.len() as u32));
        map.globals
            .extend(GlobalIdx(first[3]).range(m.global_count));
        map.tags.extend(TagIdx(first[4]).range(m.tags.len() as u32));
        map.elements = b.reserve_elements(m.element_count).0;
        map.data = b.reserve_data(m.data_count).0;
        if let Some(s) = m.start {
            map.start = Some(map.get(ExternalKind::Func, s)?);
        }
        let mut r = Remap { map: &map };
        for ty in &m.functions {
            b.declare(TypeIdx(r.type_index(*ty).map_err(reencode_error)?));
        }
        if let Some(s) = &m.tables {
            for t in s.clone() {
                r.parse_table(b.tables(), t.map_err(parse_error)?)
                    .map_err(reencode_error)?;
            }
        }
        for mem in &m.memories {
            b.memory(r.memory_type(*mem).map_err(reencode_error)?);
        }
        for tag in &m.tags {
            b.tag(r.tag_type(*tag).map_err(reencode_error)?);
        }
        if let Some(s) = &m.globals {
            for g in s.clone() {
                r.parse_global(b.globals(), g.map_err(parse_error)?)
                    .map_err(reencode_error)?;
            }
        }
        let pushed = [
            b.next_func().0,
            b.next_table().0,
            b.next_memory().0,
            b.next_global().0,
            b.next_tag().0,
        ];
        let want = [
            m.functions.len() as u32,
            m.table_count,
            m.memories.len() as u32,
            m.global_count,
            m.tags.len() as u32,
        ];
        if (0..5).any(|k| pushed[k] - first[k] != want[k]) {
            return Err(Error::internal("a module's items were not all pushed"));
        }
        Ok(map)
    }

    /// Root exports whose types carry handles, each once.
    fn exported_with_handles(&self) -> Vec<&'g Rc<Lifted<'a>>> {
        let types = self.input.types.as_ref();
        let mut out: Vec<&Rc<Lifted<'a>>> = Vec::new();
        for (_, f) in self.graph.exported_functions() {
            // An instance that holds the host's numbers takes and gives
            // them as they are; the async instance's own table has its
            // async exports' trampolines (`asyncs::export_body`), and
            // translates the streams, futures and error contexts of its
            // synchronous ones here.
            let own_table = self.graph.own_async_table() == Some(f.instance);
            let async_table = own_table && asyncs::needs_trampoline(f);
            if (func_has_handles(types, f.ty) || own_table && func_has_async_handles(types, f.ty))
                && !self.graph.holds_host_numbers(f.instance)
                && !async_table
                && !out.iter().any(|g| Rc::ptr_eq(f, g))
            {
                out.push(f);
            }
        }
        out
    }

    /// Which component instances hold handles: those that use resource
    /// built-ins, call or are called with handles, or pass handles to or
    /// from the host.
    fn handle_holders(&self, types: wasmparser::types::TypesRef<'_>) -> Result<Vec<bool>> {
        let graph = self.graph;
        let mut holds = vec![false; graph.component_instances.len()];
        let mut mark = |i: ComponentInstanceId| {
            if let Some(h) = holds.get_mut(i.index()) {
                *h = true;
            }
        };
        // Every handle's resource type must be known before code that
        // checks it is generated.
        let bound = |ty: wasmparser::component_types::ComponentFuncTypeId,
                     instance: ComponentInstanceId|
         -> Result<()> {
            let f = &types[ty];
            let mut ids = Vec::new();
            for t in f.params.iter().map(|(_, t)| t).chain(f.result.iter()) {
                handles::resource_ids(types, t, &mut ids);
            }
            for id in ids {
                graph.resource(instance, id)?;
            }
            Ok(())
        };
        for b in &graph.builtins {
            mark(b.instance);
        }
        for a in &graph.adapters {
            if func_has_handles(types, a.callee.ty) {
                bound(a.callee.ty, a.callee.instance)?;
                mark(a.caller);
                mark(a.callee.instance);
            }
        }
        for h in &graph.host_lowers {
            if let HostLower::Func { ty, instance, .. } = h
                && func_has_handles(types, *ty)
            {
                bound(*ty, *instance)?;
                mark(*instance);
            }
        }
        for (_, f) in graph.exported_functions() {
            if func_has_handles(types, f.ty) {
                bound(f.ty, f.instance)?;
                mark(f.instance);
            }
        }
        // A table of its own holds the async instance's async handles.
        if let Some(user) = graph.own_async_table() {
            mark(user);
        }
        for (i, h) in holds.iter_mut().enumerate() {
            *h &= !graph.holds_host_numbers(ComponentInstanceId(i as u32));
        }
        // Tasks the fused module keeps have their subtasks and waitable
        // sets in their instances' tables.
        for i in &graph.schedule.instances {
            holds[i.index()] = true;
        }
        Ok(holds)
    }

    /// The fused function a root export lifts: its trampoline when it
    /// moves handles, else the lifted core function.
    pub fn export_func(&self, f: &Rc<Lifted<'a>>) -> Result<u32> {
        if let Some(idx) = self.root_tasks.as_ref().and_then(|r| r.export(f)) {
            return Ok(idx.0);
        }
        if let Some(idx) = self.async_table.as_ref().and_then(|a| a.export(f)) {
            return Ok(idx.0);
        }
        if let Some((_, idx)) = self
            .export_trampolines
            .iter()
            .find(|(g, _)| Rc::ptr_eq(f, g))
        {
            return Ok(idx.0);
        }
        self.resolve(&f.func, ExternalKind::Func, "root")
    }

    /// What adapters need to know of a resource type, by the id `instance`'s
    /// types give it.
    fn resource_info(
        &self,
        instance: ComponentInstanceId,
        id: wasmparser::component_types::ResourceId,
    ) -> ResourceInfo {
        let rt = self.graph.resource(instance, id).ok();
        let r = rt.and_then(|rt| self.graph.resources.get(rt.index()));
        ResourceInfo {
            number: rt.map_or(UNKNOWN_RESOURCE, |rt| rt.0),
            owner: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Instance { instance, .. }) => Some(*instance),
                _ => None,
            },
            exported: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Instance {
                    exported: Some([new, rep, drop]),
                    ..
                }) => Some(handles::ExportedFns {
                    new: self.trampolines[new.index()].0,
                    rep: self.trampolines[rep.index()].0,
                    drop: self.trampolines[drop.index()].0,
                    suppress: self.flags.suppress.0,
                }),
                _ => None,
            },
            host_drop: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Host { drop: Some(d), .. }) => {
                    Some(self.trampolines[d.index()].0)
                }
                _ => None,
            },
        }
    }

    /// The fused import a host lower is called through, if it is one.
    pub fn host_import(&self, h: HostLowerId) -> Option<u32> {
        self.import_of.get(&h).map(|f| f.0)
    }

    /// The table of host functions the wrapper fills, if there is one.
    pub fn host_table(&self) -> Option<u32> {
        self.host_table.map(|t| t.0)
    }

    /// The memory of a component instance's handle table, if it has one.
    pub fn table_memory(&self, instance: ComponentInstanceId) -> Option<u32> {
        self.table(instance).map(|t| t.memory.0)
    }

    /// The handle table of a component instance.
    fn table(&self, instance: ComponentInstanceId) -> Option<Table> {
        self.tables.get(instance.index()).copied().flatten()
    }

    /// The export through which the wrapper reaches a function or memory
    /// of the composition's.
    pub fn fused_export(&self, def: &CoreDef<'a>, kind: ExternalKind) -> Result<FusedExport> {
        let idx = self.resolve(def, kind, "root")?;
        Ok(match Space::of(kind) {
            Space::Memory => FusedExport::Memory(MemIdx(idx)),
            _ => FusedExport::Func(FuncIdx(idx)),
        })
    }

    /// The fused function a lift's `callback` names: its wrapper when the
    /// async instance has a table of its own.
    pub fn callback_export(&self, def: &CoreDef<'a>) -> Result<FusedExport> {
        if let Some(cb) = self.root_tasks.as_ref().and_then(|r| r.callback(def)) {
            return Ok(FusedExport::Func(cb.wrapper));
        }
        match self.async_table.as_ref().and_then(|a| a.callback(def)) {
            Some(f) => Ok(FusedExport::Func(f)),
            None => self.fused_export(def, ExternalKind::Func),
        }
    }

    /// Whether the fused module imports from hoisted core instance `i`.
    pub fn imports_hoisted(&self, i: CoreInstanceId) -> bool {
        self.hoisted_exports.keys().any(|(x, _)| *x == i)
    }

    /// The export entries of the functions and memories among `needed`
    /// (the host table and the start sequence [`Layout::encode`] exports
    /// itself).
    pub fn export_entries(needed: &[FusedExport]) -> Vec<(String, ExportKind, u32)> {
        needed
            .iter()
            .filter_map(|e| match *e {
                FusedExport::Func(FuncIdx(i))
                | FusedExport::Lifted(FuncIdx(i))
                | FusedExport::Memory(MemIdx(i)) => Some((e.name(), e.kind(), i)),
                FusedExport::HostTable | FusedExport::Init => None,
            })
            .collect()
    }

    /// The fused index of a core item.
    pub fn resolve(&self, def: &CoreDef<'a>, kind: ExternalKind, path: &str) -> Result<u32> {
        match def {
            CoreDef::Export { instance, name } if self.hoisted[instance.index()] => {
                match self.hoisted_exports.get(&(*instance, *name)) {
                    Some((space, index)) if *space == Space::of(kind) => Ok(*index),
                    _ => Err(Error::unsupported(
                        "module-import",
                        format!(
                            "export `{name}` of a core instance given to a module the host supplies is used by the composition other than through an import, which is not supported yet"
                        ),
                    )
                    .at_path(path)),
                }
            }
            CoreDef::Export { instance, name } => {
                let inst = &self.graph.core_instances[instance.index()];
                let m = &self.input.modules[inst.module.0 as usize];
                let (k, idx) = m.export(name).ok_or_else(|| {
                    Error::unresolved(format!("{} has no export `{name}`", m.path)).at_path(path)
                })?;
                if Space::of(k) != Space::of(kind) {
                    return Err(Error::unresolved(format!(
                        "export `{name}` of {} is a {}, expected a {}",
                        m.path,
                        Space::of(k).name(),
                        Space::of(kind).name()
                    ))
                    .at_path(path));
                }
                let map = self.maps.get(instance.index()).ok_or_else(|| {
                    Error::internal("a core instance uses one instantiated after it")
                })?;
                map.get(kind, idx)
            }
            CoreDef::HostExport { instance, name } => {
                match self.host_exports.get(&(*instance, *name)) {
                    Some((space, index)) if *space == Space::of(kind) => Ok(*index),
                    Some((space, _)) => Err(Error::unresolved(format!(
                        "export `{name}` of the host's module is a {}, expected a {}",
                        space.name(),
                        Space::of(kind).name()
                    ))
                    .at_path(path)),
                    None => Err(Error::unresolved(format!(
                        "the host's module has no export `{name}`"
                    ))
                    .at_path(path)),
                }
            }
            CoreDef::Adapter(a) if Space::of(kind) == Space::Func => {
                match self.adapters.get(a.index()) {
                    Some(Some(f)) => Ok(f.0),
                    // The caller calls the callee itself.
                    Some(None) => {
                        let callee = &self.graph.adapters[a.index()].callee;
                        self.resolve(&callee.func, kind, path)
                    }
                    None => Err(Error::internal(format!("no adapter {}", a.index()))),
                }
            }
            CoreDef::Host(h) if Space::of(kind) == Space::Func => {
                generated(&self.trampolines, h.index())
            }
            CoreDef::Builtin(b) if Space::of(kind) == Space::Func => {
                generated(&self.builtins, b.index())
            }
            _ => Err(Error::unresolved(format!(
                "a lowered function is used as a {}",
                Space::of(kind).name()
            ))
            .at_path(path)),
        }
    }

    /// The functions' names, by index: every instance's function names at
    /// their fused indices (so traces name the original functions), and
    /// names for the generated functions.
    fn function_names(&self) -> Vec<(u32, std::borrow::Cow<'a, str>)> {
        let mut names: Vec<(u32, std::borrow::Cow<'a, str>)> = Vec::new();
        for (i, host) in self.graph.host_lowers.iter().enumerate() {
            let path = match host {
                HostLower::Func { path, .. } => path.display(),
                HostLower::Async { builtin, .. } => builtin.name().to_string(),
                HostLower::ResourceDrop { resource, .. } => format!(
                    "[resource-drop]{}",
                    self.graph.resources[resource.index()].name
                ),
                HostLower::Exported { op, resource } => format!(
                    "[export]{}{}",
                    op.core_prefix(),
                    self.graph.resources[resource.index()].name
                ),
            };
            names.push((self.trampolines[i].0, format!("host {path}").into()));
        }
        for (adapter, idx) in self.graph.adapters.iter().zip(&self.adapters) {
            if let Some(idx) = idx {
                names.push((idx.0, format!("adapter {}", adapter.name).into()));
            }
        }
        for (i, b) in self.graph.builtins.iter().enumerate() {
            names.push((
                self.builtins[i].0,
                format!(
                    "{}{} in {}",
                    b.op.core_prefix(),
                    self.graph.resources[b.resource.index()].name,
                    self.graph.component_instances[b.instance.index()]
                )
                .into(),
            ));
        }
        for (i, inst) in self.graph.core_instances.iter().enumerate() {
            let m = &self.input.modules[inst.module.0 as usize];
            let Some((data, offset)) = m.names.filter(|_| !self.hoisted[i]) else {
                continue;
            };
            let reader =
                wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(data, offset));
            // Names are advice: a malformed name section is skipped.
            for sub in reader.into_iter().flatten() {
                if let wasmparser::Name::Function(map) = sub {
                    for naming in map.into_iter().flatten() {
                        if let Some(idx) = self.maps[i].funcs.get(naming.index as usize)
                            && naming.index as usize >= self.maps[i].funcs.len() - m.functions.len()
                        {
                            names.push((*idx, naming.name.into()));
                        }
                    }
                }
            }
        }
        if let Some(init) = self.init {
            names.push((init.0, "start functions".into()));
        }
        if let Some(a) = &self.async_table {
            names.push((
                a.rev_set.0,
                "async handles: record the host's number".into(),
            ));
            names.push((a.rev_get.0, "async handles: from the host's number".into()));
            for (_, idx) in &a.exports {
                names.push((idx.0, "async export: translate handles".into()));
            }
            for (_, idx) in &a.callbacks {
                names.push((idx.0, "async callback: translate handles".into()));
            }
            for (_, idx) in &a.results {
                names.push((idx.0, "async lower: translate its result".into()));
            }
            if let Some(idx) = a.dispatch {
                names.push((idx.0, "async lower: translate a result by number".into()));
            }
        }
        for (i, n) in &self.helper_names {
            names.push((*i, n.clone().into()));
        }
        names.sort_by_key(|(i, _)| *i);
        names.dedup_by_key(|(i, _)| *i);
        names
    }

    /// The `producers` section: every field of every input module's, and
    /// Solder under `processed-by`.
    fn producers(&self) -> wasm_encoder::ProducersSection {
        let mut seen = std::collections::HashSet::new();
        let sections = self
            .graph
            .core_instances
            .iter()
            .enumerate()
            .filter_map(|(i, inst)| {
                if self.hoisted[i] {
                    return None;
                }
                let m = &self.input.modules[inst.module.0 as usize];
                m.producers.filter(|_| seen.insert(inst.module))
            });
        merge_producers(sections)
    }

    /// What generated functions need, with the resource types of `resources`;
    /// for the async instance with a table of its own, the map of that
    /// table, so that its streams, futures and error contexts are
    /// translated too (no other value a generated function moves holds
    /// them).
    fn env<'s, 'o>(
        &'s self,
        (scope, resources): (
            ComponentInstanceId,
            &'s dyn Fn(wasmparser::component_types::ResourceId) -> ResourceInfo,
        ),
        outlined: &'o mut Outlined,
    ) -> adapter::Env<'s, 'o> {
        adapter::Env {
            abi: &self.abi,
            resources,
            call_number: self.flags.call_number.0,
            outlined,
            scope,
            outline: self.outline_weight,
            async_map: self
                .async_table
                .as_ref()
                .filter(|_| self.graph.own_async_table() == Some(scope))
                .map(|a| a.rev_set.0),
        }
    }

    /// The global holding a component instance's `may_leave` flag, if it
    /// can be seen.
    fn may_leave_flag(&self, instance: ComponentInstanceId) -> Option<u32> {
        self.flags.may_leave[instance.index()].map(|g| g.0)
    }

    /// One side's options as fused indices.
    fn side(
        &self,
        o: &crate::instantiate::Options<'a>,
        instance: ComponentInstanceId,
        path: &str,
    ) -> Result<adapter::Side> {
        Ok(adapter::Side {
            instance,
            table: self.table(instance),
            memory: o
                .memory
                .as_ref()
                .map(|m| self.resolve(m, ExternalKind::Memory, path))
                .transpose()?,
            realloc: o
                .realloc
                .as_ref()
                .map(|r| self.resolve(r, ExternalKind::Func, path))
                .transpose()?,
            encoding: o.string_encoding,
        })
    }

    /// Whether the wrapper must fill the host table and call the start
    /// sequence itself.
    pub fn needs_fixup(&self) -> bool {
        !self.indirect.is_empty()
    }

    /// The start sequence, if any core instance has a start function: every
    /// instance's deferred segments and start function, in instantiation
    /// order.
    pub fn init(&self) -> Option<FuncIdx> {
        self.init
    }

    /// Whether the start sequence is exported (as [`INIT`] for the wrapper's
    /// fix-up, or as [`CORE_INIT`] for a core host) rather than the fused
    /// module's start function.
    pub fn init_exported(&self) -> bool {
        // A core host cannot give the module its memory before
        // instantiation returns: a start sequence that might call a direct
        // import needing it (only core-module output has such imports) is
        // left to the host to call.
        self.init.is_some()
            && (self.needs_fixup()
                || self
                    .direct
                    .iter()
                    .any(|h| needs_memory(&self.graph.host_lowers[h.index()])))
    }

    /// Functions in the fused module.
    pub fn function_count(&self) -> u32 {
        self.func_count
    }

    /// Memories in the fused module.
    pub fn memory_count(&self) -> u32 {
        self.memory_count
    }

    /// Functions contributed by one core instance.
    pub fn instance_functions(&self, i: usize) -> u32 {
        let inst = &self.graph.core_instances[i];
        self.input.modules[inst.module.0 as usize].functions.len() as u32
    }

    /// The core signature a host lower is imported at.
    pub fn host_signature(&self, h: HostLowerId) -> Option<&FuncType> {
        self.host_sig.get(&h)
    }

    /// Encodes the fused module with `exports` added: the generated
    /// functions' bodies, every instance's code and segments, the start
    /// sequence. Call once. The module goes at the end of `into`, with
    /// room for `after` more bytes.
    pub fn encode(
        &mut self,
        exports: &[(String, ExportKind, u32)],
        into: Vec<u8>,
        after: usize,
    ) -> Result<Vec<u8>> {
        let mut b = std::mem::take(&mut self.builder);
        // Shared functions adapters ask for come after every other one.
        let mut outlined = Outlined::new(b.func_count());
        self.host_bodies(&mut b, &mut outlined)?;
        self.adapter_bodies(&mut b, &mut outlined)?;
        self.handle_bodies(&mut b, &mut outlined)?;
        self.async_bodies(&mut b, &mut outlined)?;
        self.task_bodies(&mut b)?;
        // The start sequence, built beside the instances: each one's
        // deferred segments, then its start function.
        let mut init = Function::new([]);
        let mut debug = Vec::new();
        for (i, inst) in self.graph.core_instances.iter().enumerate() {
            if self.hoisted[i] {
                continue;
            }
            let m = &self.input.modules[inst.module.0 as usize];
            let mut r = Remap { map: &self.maps[i] };
            // Where each body moved, for the module's DWARF.
            let mut code_map =
                (self.carry_debug && !m.debug.is_empty()).then(dwarf::CodeMap::default);
            encode_instance(m, &mut r, &mut b, &mut init, code_map.as_mut())
                .map_err(|e| e.at_path(&m.path).at_offset(m.offset))?;
            if let Some(map) = code_map {
                debug.push(dwarf::DebugInput {
                    path: &m.path,
                    sections: &m.debug,
                    map,
                    globals: &self.maps[i].globals,
                });
            }
            if let Some(s) = self.maps[i].start {
                init.instruction(&I::Call(s));
            }
        }
        if let Some(index) = self.init {
            init.instruction(&I::End);
            b.body(index, &init)?;
            if !self.init_exported() {
                b.start(index);
            }
        }
        // The text tables some transcoding functions read, in a memory of
        // their own that no component can reach; when the module has no
        // room for one more memory, those functions do without (mixed
        // text a character at a time).
        let room = (b.next_memory().0 as usize) < crate::instantiate::limits::MAX_MEMORIES;
        let tables = if outlined.uses_tables() && room {
            Some(push_text_tables(&mut b)?.0)
        } else {
            None
        };
        let (first, helpers) = outlined.functions(tables)?;
        for (k, (h, body)) in helpers.iter().enumerate() {
            let idx = b.declare_generated(&h.signature())?;
            if idx.0 != first + k as u32 {
                return Err(Error::internal(format!(
                    "shared function {} declared at {}, expected {}",
                    h.name(),
                    idx.0,
                    first + k as u32
                )));
            }
            b.body(idx, body)?;
        }
        self.helper_names = (first..)
            .zip(helpers.iter().map(|(h, _)| h.name()))
            .collect();
        self.func_count = b.func_count();
        for (name, kind, index) in exports {
            b.export(name, *kind, *index);
        }
        if let Some(t) = self.host_table {
            let e = FusedExport::HostTable;
            b.export(&e.name(), e.kind(), t.0);
        }
        if let Some(init) = self.init.filter(|_| self.init_exported()) {
            let name = if self.needs_fixup() {
                FusedExport::Init.name()
            } else {
                CORE_INIT.to_string()
            };
            b.export(&name, ExportKind::Func, init.0);
        }
        let names = self.function_names();
        let generated = if debug.is_empty() {
            Vec::new()
        } else {
            self.generated_functions(&b, &names)
        };
        let origin = b.code_origin();
        let names = names_section(&names);
        let producers = self.producers();
        let sections = [&names as &dyn wasm_encoder::Section, &producers];
        // The DWARF is written in place, at most about the inputs' size.
        let debug_len = debug
            .iter()
            .flat_map(|d| d.sections.iter().map(|(n, s)| n.len() + s.len()))
            .sum::<usize>();
        let custom_len = names.as_custom().data.len() + debug_len + 4096;
        let mut carried = None;
        let bytes = b.finish(
            into,
            after,
            |out| {
                if !debug.is_empty() {
                    carried = Some(dwarf::carry(out, &debug, &generated, origin));
                }
            },
            &sections,
            custom_len,
        )?;
        self.debug = carried;
        Ok(bytes)
    }

    /// Whether the inputs' DWARF is carried into the output (the default;
    /// `false` strips it).
    pub fn carry_debug(&mut self, carry: bool) {
        self.carry_debug = carry;
    }

    /// Whether the output gets one memory ([`crate::single`]): the wrapper
    /// then reaches a function lifted with a memory through
    /// [`FusedExport::Lifted`].
    pub fn set_single_memory(&mut self, one: bool) {
        self.single_memory = one;
    }

    /// The export through which the wrapper reaches lifted function `f`.
    pub fn lifted_export(&self, f: FuncIdx, with_memory: bool) -> FusedExport {
        if self.single_memory && with_memory {
            FusedExport::Lifted(f)
        } else {
            FusedExport::Func(f)
        }
    }

    /// The DWARF [`Layout::encode`] carried: `None` when no input had any
    /// or it was stripped.
    pub(crate) fn debug(&self) -> Option<&dwarf::Carried> {
        self.debug.as_ref()
    }

    /// Every function in the output that no instance brought, with its
    /// body's place and a name for it.
    fn generated_functions(
        &self,
        b: &Builder,
        names: &[(u32, std::borrow::Cow<'_, str>)],
    ) -> Vec<dwarf::Generated> {
        let brought: Vec<std::ops::Range<u32>> = (self.graph.core_instances.iter())
            .enumerate()
            .filter(|(i, _)| !self.hoisted[*i])
            .map(|(i, inst)| {
                let first = self.maps[i].first_func;
                first..first + self.input.modules[inst.module.0 as usize].code.len() as u32
            })
            .collect();
        dwarf::generated(b, &brought, names)
    }

    /// The host functions' wrappers: trap unless the calling component
    /// instance may leave; a host call that may call back into the
    /// instance's `realloc` clears the flag meanwhile, as lowering does.
    fn host_bodies(&self, b: &mut Builder, outlined: &mut Outlined) -> Result<()> {
        let slots: HashMap<HostLowerId, u32> = self
            .indirect
            .iter()
            .enumerate()
            .map(|(slot, h)| (*h, slot as u32))
            .collect();
        let mut lower_calls = Vec::new();
        for (i, host) in self.graph.host_lowers.iter().enumerate() {
            let h = HostLowerId(i as u32);
            let sig = &self.host_sig[&h];
            if let HostLower::Async {
                builtin,
                instance,
                options,
            } = host
                && self.flags.tasks.contains_key(instance)
                && matches!(
                    builtin.canon,
                    wasmparser::CanonicalFunction::TaskReturn { .. }
                )
            {
                let body = self.task_return((builtin, options), *instance, outlined)?;
                b.body(self.trampolines[i], &body)?;
                continue;
            }
            if let HostLower::Async {
                builtin,
                instance,
                options,
            } = host
                && self.graph.schedule.internal(i, host)
            {
                let body = self.kept_builtin((builtin, options), *instance)?;
                b.body(self.trampolines[i], &body)?;
                continue;
            }
            let flag = self.may_leave_flag(host.instance());
            // The host's `resource.drop` is only called by built-ins and
            // trampolines, which make their own checks.
            let mut prologue = Vec::new();
            let mut epilogue = Vec::new();
            if let Some(flag) = flag {
                if matches!(host, HostLower::Func { .. } | HostLower::Async { .. }) {
                    prologue.extend([I::GlobalGet(flag), I::I32Eqz]);
                    prologue.extend(adapter::code::TRAP_IF);
                }
                let calls_back = matches!(host,
                    HostLower::Func { options, .. } | HostLower::Async { options, .. }
                        if options.realloc.is_some());
                if calls_back {
                    prologue.extend([I::I32Const(0), I::GlobalSet(flag)]);
                    epilogue.extend([I::I32Const(1), I::GlobalSet(flag)]);
                }
            }
            let call = match (slots.get(&h), self.import_of.get(&h), self.host_table) {
                (Some(slot), _, Some(table)) => vec![
                    I::I32Const(*slot as i32),
                    I::CallIndirect {
                        type_index: b.signature(sig)?.0,
                        table_index: table.0,
                    },
                ],
                (None, Some(import), _) => vec![I::Call(import.0)],
                _ => {
                    return Err(Error::internal(
                        "a host lower is neither imported nor in the table",
                    ));
                }
            };
            let code = handles::HostCallCode {
                prologue: &prologue,
                call: &call,
                epilogue: &epilogue,
            };
            let inner;
            let code = match self.lower_params.iter().find(|(l, _)| *l == h) {
                // The host is called by the function that translates the
                // parameters, written below.
                Some((_, f)) => {
                    inner = [I::Call(f.0)];
                    lower_calls.push((h, *f, call.clone()));
                    handles::HostCallCode {
                        call: &inner,
                        ..code
                    }
                }
                None => code,
            };
            let body = self.host_body((h, host), sig, &code, outlined)?;
            b.body(self.trampolines[i], &body)?;
        }
        for (h, f, call) in &lower_calls {
            let HostLower::Func {
                ty,
                options,
                instance,
                ..
            } = &self.graph.host_lowers[h.index()]
            else {
                return Err(Error::internal("translated parameters of no host call"));
            };
            let path = &self.graph.component_instances[instance.index()];
            let side = self.side(options, *instance, path)?;
            let instance = *instance;
            let resources = |r| self.resource_info(instance, r);
            let env = self.env((instance, &resources), outlined);
            b.body(*f, &handles::async_lower_params(env, *ty, side, call))?;
        }
        Ok(())
    }

    /// The body of the function through which core code calls host lower
    /// `host` (signature `sig`): the call `code` makes, translating the
    /// handles it passes where the caller keeps a table of its own.
    fn host_body(
        &self,
        (h, host): (HostLowerId, &HostLower<'a>),
        sig: &FuncType,
        code: &handles::HostCallCode<'_>,
        outlined: &mut Outlined,
    ) -> Result<Function> {
        let types = self.input.types.as_ref();
        let handles::HostCallCode {
            prologue,
            call,
            epilogue,
        } = *code;
        let translating = self
            .async_table
            .as_ref()
            .zip(self.table(host.instance()))
            .filter(|_| self.graph.own_async_table() == Some(host.instance()));
        let around = |memory: Option<u32>| asyncs::Around {
            sig,
            prologue,
            call,
            epilogue,
            memory,
        };
        let body = match host {
            // A `task.return` whose result holds resource handles, or
            // streams, futures or error contexts inside it: they leave the
            // table as a host call's parameters do.
            HostLower::Async {
                builtin,
                options,
                instance,
                ..
            } if translating.is_some()
                && matches!(
                    builtin.canon,
                    wasmparser::CanonicalFunction::TaskReturn { .. }
                )
                && let Some(result) = builtin.result.as_ref().filter(|r| {
                    handles::has_handles(types, r, false)
                        || crate::instantiate::asyncs::Held::of(types, r).nested
                }) =>
            {
                let path = &self.graph.component_instances[instance.index()];
                let side = self.side(options, *instance, path)?;
                let instance = *instance;
                let resources = |r| self.resource_info(instance, r);
                handles::task_return(
                    self.env((instance, &resources), outlined),
                    result,
                    side,
                    code,
                )
            }
            HostLower::Async {
                builtin, options, ..
            } if let Some((fns, t)) = translating => {
                let path = &self.graph.component_instances[host.instance().index()];
                let memory = options
                    .memory
                    .as_ref()
                    .map(|m| self.resolve(m, ExternalKind::Memory, path))
                    .transpose()?;
                asyncs::builtin_body(
                    types,
                    &builtin.canon,
                    builtin.result.as_ref(),
                    &t,
                    fns,
                    &around(memory),
                )
            }
            HostLower::Func { options, ty, .. }
                if options.async_
                    && let Some((fns, t)) = translating =>
            {
                asyncs::lower_body(types, (*ty, h), &t, fns, &around(None))
            }
            // The async instance's core code holds the host's handles
            // as the host numbers them (`instantiate::asyncs`), unless it
            // has a table of its own, which translates its streams,
            // futures and error contexts too.
            HostLower::Func {
                ty: fty,
                instance,
                options,
                ..
            } if (func_has_handles(types, *fty)
                || translating.is_some() && func_has_async_handles(types, *fty))
                && !self.graph.holds_host_numbers(*instance) =>
            {
                let path = &self.graph.component_instances[instance.index()];
                let side = self.side(options, *instance, path)?;
                let instance = *instance;
                let resources = |r| self.resource_info(instance, r);
                handles::host_call(self.env((instance, &resources), outlined), *fty, side, code)
            }
            _ => {
                let params = sig.params().len() as u32;
                let mut c = adapter::code::Code::new(params);
                c.extend(prologue.iter().cloned());
                c.extend((0..params).map(I::LocalGet));
                c.extend(call.iter().chain(epilogue).cloned());
                c.finish()
            }
        };
        Ok(body)
    }

    /// An async built-in of component instance `instance` that the fused
    /// module keeps (`tasks`).
    fn kept_builtin(
        &self,
        (builtin, options): (
            &crate::parse::AsyncBuiltin,
            &crate::instantiate::Options<'a>,
        ),
        instance: ComponentInstanceId,
    ) -> Result<Function> {
        let s = self
            .scheduler
            .as_ref()
            .ok_or_else(|| Error::internal("a kept async built-in without tasks"))?;
        let t = self
            .table(instance)
            .ok_or_else(|| Error::internal("a component instance with tasks has no table"))?;
        let f = s.fns(instance)?;
        let path = &self.graph.component_instances[instance.index()];
        let memory = self.side(options, instance, path)?.memory;
        s.builtin_body(
            &builtin.canon,
            (instance, &t, &f),
            (memory, self.may_leave_flag(instance)),
            &self.kept_calls()?,
        )
    }

    /// The calls whose tasks the fused module keeps.
    fn kept_calls(&self) -> Result<Vec<tasks::Call>> {
        let mut calls = Vec::new();
        for (i, a) in self.graph.adapters.iter().enumerate() {
            if !a.scheduled || self.adapters[i].is_none() {
                continue;
            }
            let path = &self.graph.component_instances[a.caller.index()];
            let task = self
                .flags
                .tasks
                .get(&a.callee.instance)
                .ok_or_else(|| Error::internal("a kept task's instance has no task globals"))?;
            let callback = a
                .callee
                .options
                .callback
                .as_ref()
                .map(|cb| self.resolve(cb, ExternalKind::Func, path))
                .transpose()?;
            calls.push(tasks::Call {
                number: i as i32 + 1,
                caller: a.caller,
                callee: a.callee.instance,
                callback,
                task: *task,
            });
        }
        Ok(calls)
    }

    /// The scheduler's functions (`tasks`): the calls whose tasks the fused
    /// module keeps, and their callbacks.
    fn task_bodies(&self, b: &mut Builder) -> Result<()> {
        let Some(s) = &self.scheduler else {
            return Ok(());
        };
        s.bodies(b, &self.tables, &self.kept_calls()?)?;
        if let Some(r) = &self.root_tasks {
            let context = self.graph.schedule.host_context.and_then(|[get, set]| {
                Some([
                    self.host_import(HostLowerId(get as u32))?,
                    self.host_import(HostLowerId(set as u32))?,
                ])
            });
            let resolve = |d: &CoreDef<'a>| self.resolve(d, ExternalKind::Func, "root");
            r.bodies(b, s, &self.tables, &resolve, context)?;
        }
        Ok(())
    }

    /// The async instance's translation (`asyncs`): the map from the host's
    /// numbers, the trampolines of its async exports and the wrappers of
    /// their callbacks.
    fn async_bodies(&self, b: &mut Builder, outlined: &mut Outlined) -> Result<()> {
        let Some(fns) = &self.async_table else {
            return Ok(());
        };
        let t = self
            .graph
            .own_async_table()
            .and_then(|i| self.table(i))
            .ok_or_else(|| Error::internal("an async instance without its table"))?;
        b.body(fns.rev_set, &fns.rev_set_function(&t))?;
        b.body(fns.rev_get, &fns.rev_get_function(&t))?;
        let types = self.input.types.as_ref();
        for (f, idx) in &fns.exports {
            let target = match fns.inside.iter().find(|(g, _)| Rc::ptr_eq(f, g)) {
                Some((_, inside)) => inside.0,
                None => self.resolve(&f.func, ExternalKind::Func, "root")?,
            };
            let instance = f.instance;
            let number = |r| self.resource_info(instance, r).number;
            b.body(
                *idx,
                &asyncs::export_body(types, f, target, &t, fns, &number),
            )?;
        }
        for (f, idx) in &fns.inside {
            let target = self.resolve(&f.func, ExternalKind::Func, "root")?;
            let instance = f.instance;
            let path = &self.graph.component_instances[instance.index()];
            let side = self.side(&f.options, instance, path)?;
            let resources = |r| self.resource_info(instance, r);
            let env = self.env((instance, &resources), outlined);
            b.body(*idx, &handles::async_export_params(env, f.ty, side, target))?;
        }
        for (callback, idx) in &fns.callbacks {
            let target = self.resolve(callback, ExternalKind::Func, "root")?;
            b.body(*idx, &asyncs::callback_body(target, &t, fns))?;
        }
        for (h, idx) in &fns.results {
            let HostLower::Func {
                ty,
                options,
                instance,
                ..
            } = &self.graph.host_lowers[h.index()]
            else {
                return Err(Error::internal("an async lower's result without its lower"));
            };
            let result = types[*ty]
                .result
                .ok_or_else(|| Error::internal("an async lower's result without a type"))?;
            let path = &self.graph.component_instances[instance.index()];
            let side = self.side(options, *instance, path)?;
            let instance = *instance;
            let resources = |r| self.resource_info(instance, r);
            let env = self.env((instance, &resources), outlined);
            b.body(*idx, &handles::host_result(env, &result, side))?;
        }
        if let Some(idx) = fns.dispatch {
            b.body(idx, &fns.dispatch_function())?;
        }
        Ok(())
    }

    /// The adapters of cross-component calls.
    fn adapter_bodies(&self, b: &mut Builder, outlined: &mut Outlined) -> Result<()> {
        for (i, (adapter, idx)) in self.graph.adapters.iter().zip(&self.adapters).enumerate() {
            let Some(idx) = idx else { continue };
            let path = &self.graph.component_instances[adapter.caller.index()];
            if self.graph.traps_at_call(adapter) {
                // A component calling its own lifted function through a
                // lower would re-enter itself, a call between a component
                // and one it contains may not enter either, and a task
                // that may not block may not make a synchronous call of an
                // `async` function: the call traps, as in the runtime.
                let mut f = Function::new([]);
                f.instruction(&I::Unreachable);
                f.instruction(&I::End);
                b.body(*idx, &f)?;
                continue;
            }
            let callee_instance = adapter.callee.instance;
            let resources = |r| self.resource_info(callee_instance, r);
            let f = adapter::generate(
                self.env((callee_instance, &resources), outlined),
                adapter,
                &self.targets(i, adapter, path)?,
            );
            b.body(*idx, &f)?;
        }
        Ok(())
    }

    /// The body of component instance `instance`'s `task.return`
    /// `builtin`, which ends the tasks of the calls into its async lifts
    /// whose result type and string encoding are the built-in's, and
    /// whose memory is, if the built-in names one (a task of another
    /// traps at it, as the runtime's does).
    fn task_return(
        &self,
        (builtin, options): (
            &crate::parse::AsyncBuiltin,
            &crate::instantiate::Options<'a>,
        ),
        instance: ComponentInstanceId,
        outlined: &mut Outlined,
    ) -> Result<Function> {
        let types = self.input.types.as_ref();
        let mut calls = Vec::new();
        for (i, a) in self.graph.adapters.iter().enumerate() {
            if !a.task_in_module() || a.callee.instance != instance || self.adapters[i].is_none() {
                continue;
            }
            let result = types[a.callee.ty].result;
            let same_result = match (&result, &builtin.result) {
                (Some(r), Some(s)) => crate::abi::same_type(types, r, s),
                (None, None) => true,
                _ => false,
            };
            let path = &self.graph.component_instances[a.caller.index()];
            let targets = self.targets(i, a, path)?;
            // The same string encoding, and the same memory where the
            // built-in names one (as the runtime checks them).
            let memory = self.side(options, instance, path)?.memory;
            let same_options = options.string_encoding == a.callee.options.string_encoding
                && (memory.is_none() || memory == targets.callee_side.memory);
            if same_result && same_options {
                calls.push(adapter::Returning {
                    adapter: a,
                    targets,
                });
            }
        }
        let resources = |r| self.resource_info(instance, r);
        let env = self.env((instance, &resources), outlined);
        Ok(adapter::task_return(env, builtin.sig.params(), &calls))
    }

    /// What adapter `i` (`adapter`, called from the instance at `path`)
    /// uses of the fused module.
    fn targets(
        &self,
        i: usize,
        adapter: &crate::instantiate::Adapter<'a>,
        path: &str,
    ) -> Result<adapter::Targets> {
        let callee = self.resolve(&adapter.callee.func, ExternalKind::Func, path)?;
        let post_return = adapter
            .callee
            .options
            .post_return
            .as_ref()
            .map(|p| self.resolve(p, ExternalKind::Func, path))
            .transpose()?;
        let task = match self.flags.tasks.get(&adapter.callee.instance) {
            Some(t) if adapter.task_in_module() => Some(adapter::Task {
                call: i as i32 + 1,
                ..*t
            }),
            _ => None,
        };
        Ok(adapter::Targets {
            callee,
            post_return,
            caller: self.side(&adapter.lower, adapter.caller, path)?,
            callee_side: self.side(&adapter.callee.options, adapter.callee.instance, path)?,
            may_leave: (
                self.may_leave_flag(adapter.caller),
                self.may_leave_flag(adapter.callee.instance),
            ),
            task,
            sched: match &self.scheduler {
                Some(s) if adapter.scheduled => {
                    Some(s.sched(&self.tables, adapter.caller, adapter.callee.instance)?)
                }
                _ => None,
            },
            fresh: match &self.scheduler {
                Some(s)
                    if self
                        .graph
                        .schedule
                        .per_task
                        .contains(&adapter.callee.instance) =>
                {
                    let f = s.fns(adapter.callee.instance)?;
                    Some((f.running.0, f.context.0))
                }
                _ => None,
            },
        })
    }

    /// Resource built-ins, the handle tables' functions, the trampolines
    /// of root exports that move handles, and the destructors of resource
    /// types the root exports.
    fn handle_bodies(&self, b: &mut Builder, outlined: &mut Outlined) -> Result<()> {
        for (x, idx) in self.graph.builtins.iter().zip(&self.builtins) {
            if let ResourceOwner::Host { drop: Some(d), .. } =
                &self.graph.resources[x.resource.index()].owner
                && self.graph.holds_host_numbers(x.instance)
            {
                // Dropping a handle the host numbers is the host's
                // `resource.drop`.
                let mut c = adapter::code::Code::new(1);
                if let Some(flag) = self.may_leave_flag(x.instance) {
                    c.extend([I::GlobalGet(flag), I::I32Eqz]);
                    c.extend(adapter::code::TRAP_IF);
                }
                c.extend([I::LocalGet(0), I::Call(self.trampolines[d.index()].0)]);
                b.body(*idx, &c.finish())?;
                continue;
            }
            let table = self
                .table(x.instance)
                .ok_or_else(|| Error::internal("a resource built-in without a table"))?;
            let path = &self.graph.component_instances[x.instance.index()];
            let r = &self.graph.resources[x.resource.index()];
            let destroy = match &r.owner {
                ResourceOwner::Instance { dtor: Some(d), .. } => {
                    Some(self.resolve(d, ExternalKind::Func, path)?)
                }
                ResourceOwner::Instance { dtor: None, .. } => None,
                ResourceOwner::Host { drop, .. } => drop.map(|d| self.trampolines[d.index()].0),
            };
            let targets = handles::BuiltinTargets {
                table,
                number: x.resource.0,
                may_leave: self.may_leave_flag(x.instance),
                call_number: self.flags.call_number.0,
                destroy,
                async_lent: self
                    .async_table
                    .as_ref()
                    .filter(|_| self.graph.own_async_table() == Some(x.instance))
                    .map(|fns| (fns.rev_get.0, fns.rev_set.0)),
            };
            let f = match x.op {
                ResourceOp::New => handles::resource_new(&targets),
                ResourceOp::Rep => handles::resource_rep(&targets),
                ResourceOp::Drop => handles::resource_drop(&targets),
            };
            b.body(*idx, &f)?;
        }
        for t in self.tables.iter().flatten() {
            b.body(t.alloc, &handles::alloc_function(t))?;
            b.body(t.get, &handles::get_function(t))?;
            b.body(t.release, &handles::release_function(t))?;
        }
        for (f, idx) in &self.export_trampolines {
            let target = self.resolve(&f.func, ExternalKind::Func, "root")?;
            let side = self.side(&f.options, f.instance, "root")?;
            let instance = f.instance;
            let resources = |r| self.resource_info(instance, r);
            let body = handles::export_trampoline(
                self.env((instance, &resources), outlined),
                f.ty,
                side,
                target,
            );
            b.body(*idx, &body)?;
        }
        // The destructors as the wrapper defines them: the defining
        // instance's destructor, unless the handle only moved into the
        // composition.
        for (rt, idx) in &self.exported_dtors {
            let ResourceOwner::Instance { instance, dtor, .. } =
                &self.graph.resources[rt.index()].owner
            else {
                return Err(Error::internal("an exported destructor of a host resource"));
            };
            let path = &self.graph.component_instances[instance.index()];
            let dtor = dtor
                .as_ref()
                .map(|d| self.resolve(d, ExternalKind::Func, path))
                .transpose()?;
            b.body(*idx, &handles::exported_dtor(self.flags.suppress.0, dtor))?;
        }
        Ok(())
    }
}

/// The `name` section of the functions' `names`.
fn names_section(names: &[(u32, std::borrow::Cow<'_, str>)]) -> wasm_encoder::NameSection {
    let mut map = wasm_encoder::NameMap::new();
    for (i, n) in names {
        map.append(*i, n);
    }
    let mut section = wasm_encoder::NameSection::new();
    section.functions(&map);
    section
}

/// Encodes one core instance's element segments, code and data segments
/// into the places its layout reserved. Active segments that must wait for
/// an earlier start function are emitted passive and applied by `init`,
/// as the spec applies an active segment (`table.init` / `memory.init`,
/// then a drop, with the same bounds checks).
fn encode_instance(
    m: &ModuleDef<'_>,
    r: &mut Remap<'_>,
    b: &mut Builder,
    init: &mut Function,
    code_map: Option<&mut dwarf::CodeMap>,
) -> Result<()> {
    let deferred = r.map.deferred;
    if let Some(s) = &m.elements {
        let elements = b.elements(ElemIdx(r.map.elements))?;
        for (i, e) in (0u32..).zip(s.clone()) {
            let mut e = e.map_err(parse_error)?;
            if let (
                true,
                wasmparser::ElementKind::Active {
                    table_index,
                    offset_expr,
                },
            ) = (deferred, &e.kind)
            {
                let count = match &e.items {
                    wasmparser::ElementItems::Functions(f) => f.count(),
                    wasmparser::ElementItems::Expressions(_, x) => x.count(),
                };
                let segment = r.element_index(i).map_err(reencode_error)?;
                let table = r
                    .table_index(table_index.unwrap_or(0))
                    .map_err(reencode_error)?;
                const_expr_into(r, offset_expr, init)?;
                init.instruction(&I::I32Const(0));
                init.instruction(&I::I32Const(count as i32));
                init.instruction(&I::TableInit {
                    elem_index: segment,
                    table,
                });
                init.instruction(&I::ElemDrop(segment));
                e.kind = wasmparser::ElementKind::Passive;
            }
            r.parse_element(elements, e).map_err(reencode_error)?;
        }
    }
    encode_code(m, r, b, code_map)?;
    if let Some(s) = &m.data {
        let data = b.data(DataIdx(r.map.data))?;
        for (i, d) in (0u32..).zip(s.clone()) {
            let mut d = d.map_err(parse_error)?;
            if let (
                true,
                wasmparser::DataKind::Active {
                    memory_index,
                    offset_expr,
                },
            ) = (deferred, &d.kind)
            {
                let segment = r.data_index(i).map_err(reencode_error)?;
                let mem = r.memory_index(*memory_index).map_err(reencode_error)?;
                const_expr_into(r, offset_expr, init)?;
                init.instruction(&I::I32Const(0));
                init.instruction(&I::I32Const(d.data.len() as i32));
                init.instruction(&I::MemoryInit {
                    mem,
                    data_index: segment,
                });
                init.instruction(&I::DataDrop(segment));
                d.kind = wasmparser::DataKind::Passive;
            }
            r.parse_data(data, d).map_err(reencode_error)?;
        }
    }
    Ok(())
}

/// Encodes one core instance's function bodies, re-indexed; with a
/// `code_map`, records where each body and instruction moved.
fn encode_code(
    m: &ModuleDef<'_>,
    r: &mut Remap<'_>,
    b: &mut Builder,
    mut code_map: Option<&mut dwarf::CodeMap>,
) -> Result<()> {
    let mut instructions = dwarf::Instructions::default();
    for (k, body) in (0u32..).zip(&m.code) {
        let mut f = r
            .new_function_with_parsed_locals(body)
            .map_err(reencode_error)?;
        let mut ops = body.get_operators_reader().map_err(parse_error)?;
        let start = body.range().start;
        instructions.clear();
        while !ops.eof() {
            if code_map.is_some() {
                instructions.note(ops.original_position() - start, f.byte_len());
            }
            f.instruction(&r.parse_instruction(&mut ops).map_err(reencode_error)?);
        }
        let output = b.body(FuncIdx(r.map.first_func + k), &f)?;
        if let Some(map) = code_map.as_deref_mut() {
            let at = |offset: u64| offset.saturating_sub(m.code_start) as u32;
            map.push(at(start)..at(body.range().end), output, &instructions.at);
        }
    }
    Ok(())
}

/// Appends the instructions of a constant expression (an active segment's
/// offset), re-indexed, to `f`: it leaves the same value on the stack.
fn const_expr_into(
    r: &mut Remap<'_>,
    expr: &wasmparser::ConstExpr<'_>,
    f: &mut Function,
) -> Result<()> {
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let op = ops
            .read()
            .map_err(|e| Error::malformed(e.message().to_string()).at_offset(e.offset()))?;
        if matches!(op, wasmparser::Operator::End) && ops.eof() {
            break;
        }
        f.instruction(&r.instruction(op).map_err(reencode_error)?);
    }
    Ok(())
}

/// One `producers` section from several: the union of their fields' values
/// (the first version given for a name wins), and Solder under
/// `processed-by`.
pub(crate) fn merge_producers<'a>(
    sections: impl IntoIterator<Item = (&'a [u8], u64)>,
) -> wasm_encoder::ProducersSection {
    use std::collections::BTreeMap;
    let mut fields: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (data, offset) in sections {
        // Producers are advice: a malformed section is skipped.
        let Ok(reader) =
            wasmparser::ProducersSectionReader::new(wasmparser::BinaryReader::new(data, offset))
        else {
            continue;
        };
        for field in reader.into_iter().flatten() {
            let values = fields.entry(field.name).or_default();
            for v in field.values.into_iter().flatten() {
                values.entry(v.name).or_insert(v.version);
            }
        }
    }
    fields
        .entry("processed-by")
        .or_default()
        .insert("solder", crate::VERSION);
    let mut section = wasm_encoder::ProducersSection::new();
    for (name, values) in &fields {
        let mut field = wasm_encoder::ProducersField::new();
        for (n, v) in values {
            field.value(n, v);
        }
        section.field(name, &field);
    }
    section
}

/// Each async lower whose parameters a function of their own translates,
/// and that function.
type LowerParams = Vec<(HostLowerId, FuncIdx)>;

/// Declares the host lowers' trampolines, through which core code calls
/// every host function (each checks its component instance may leave), in
/// host lower order; then the functions between the trampolines of the
/// own-table instance's async lowers whose parameters hold handles inside
/// values or in memory and the host (`handles::async_lower_params`).
fn declare_trampolines(
    b: &mut Builder,
    input: &Input<'_>,
    graph: &Graph<'_>,
    host_sig: &HashMap<HostLowerId, FuncType>,
) -> Result<(Vec<FuncIdx>, LowerParams)> {
    let trampolines = (0..graph.host_lowers.len())
        .map(|i| b.declare_generated(&host_sig[&HostLowerId(i as u32)]))
        .collect::<Result<_>>()?;
    let mut lower_params = Vec::new();
    for (h, ty) in graph.own_table_async_lowers() {
        if crate::instantiate::asyncs::lower_params_in_memory_or_inside(input.types.as_ref(), ty) {
            lower_params.push((h, b.declare_generated(&host_sig[&h])?));
        }
    }
    Ok((trampolines, lower_params))
}

/// Whether a function's parameters or results carry streams, futures or
/// error contexts.
fn func_has_async_handles(
    types: wasmparser::types::TypesRef<'_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
) -> bool {
    let f = &types[ty];
    f.params
        .iter()
        .map(|(_, t)| t)
        .chain(f.result.iter())
        .any(|t| {
            let h = crate::instantiate::asyncs::Held::of(types, t);
            h.top || h.nested
        })
}

/// Whether a function's parameters or results carry handles.
pub(crate) fn func_has_handles(
    types: wasmparser::types::TypesRef<'_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
) -> bool {
    let f = &types[ty];
    f.params
        .iter()
        .map(|(_, t)| t)
        .chain(f.result.iter())
        .any(|t| handles::has_handles(types, t, false))
}

impl InstanceMap {
    fn space(&mut self, kind: ExternalKind) -> &mut Vec<u32> {
        match Space::of(kind) {
            Space::Func => &mut self.funcs,
            Space::Table => &mut self.tables,
            Space::Memory => &mut self.memories,
            Space::Global => &mut self.globals,
            Space::Tag => &mut self.tags,
        }
    }

    fn get(&self, kind: ExternalKind, idx: u32) -> Result<u32> {
        let space = match Space::of(kind) {
            Space::Func => &self.funcs,
            Space::Table => &self.tables,
            Space::Memory => &self.memories,
            Space::Global => &self.globals,
            Space::Tag => &self.tags,
        };
        space.get(idx as usize).copied().ok_or_else(|| {
            Error::malformed(format!(
                "{} index {idx} out of bounds",
                Space::of(kind).name()
            ))
        })
    }
}

/// Re-indexes one core instance's items into the fused module.
struct Remap<'m> {
    map: &'m InstanceMap,
}

pub(crate) fn reencode_error(e: wasm_encoder::reencode::Error<Error>) -> Error {
    match e {
        wasm_encoder::reencode::Error::UserError(e) => e,
        wasm_encoder::reencode::Error::ParseError(e) => {
            Error::malformed(e.message().to_string()).at_offset(e.offset())
        }
        other => Error::malformed(other.to_string()),
    }
}

type RResult = Result<u32, wasm_encoder::reencode::Error<Error>>;

impl Remap<'_> {
    fn pick(space: &[u32], i: u32, what: &str) -> RResult {
        space.get(i as usize).copied().ok_or_else(|| {
            wasm_encoder::reencode::Error::UserError(Error::malformed(format!(
                "{what} index {i} out of bounds"
            )))
        })
    }
}

impl Reencode for Remap<'_> {
    type Error = Error;

    fn type_index(&mut self, ty: u32) -> RResult {
        Ok(self.map.types + ty)
    }
    fn function_index(&mut self, func: u32) -> RResult {
        Self::pick(&self.map.funcs, func, "function")
    }
    fn table_index(&mut self, table: u32) -> RResult {
        Self::pick(&self.map.tables, table, "table")
    }
    fn memory_index(&mut self, memory: u32) -> RResult {
        Self::pick(&self.map.memories, memory, "memory")
    }
    fn global_index(&mut self, global: u32) -> RResult {
        Self::pick(&self.map.globals, global, "global")
    }
    fn tag_index(&mut self, tag: u32) -> RResult {
        Self::pick(&self.map.tags, tag, "tag")
    }
    fn data_index(&mut self, data: u32) -> RResult {
        Ok(self.map.data + data)
    }
    fn element_index(&mut self, element: u32) -> RResult {
        Ok(self.map.elements + element)
    }
}
