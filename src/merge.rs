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

use crate::adapter;
use crate::adapter::handles::{self, ResourceInfo, Table};
use crate::error::{Error, Result};
use crate::instantiate::{
    ComponentInstanceId, CoreDef, Func, Graph, HostLower, HostLowerId, InstanceVal, Item, Lifted,
    ResourceOwner,
};
use crate::parse::ResourceOp;
use crate::parse::{Input, ModuleDef};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_encoder::reencode::Reencode;
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementSection, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, ImportSection, Instruction as I,
    MemorySection, Module, RefType, Section, StartSection, TableSection, TableType, TagSection,
    TypeSection,
};
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
pub const HOST_TABLE: &str = "$host";
/// Name of the exported start sequence, when the wrapper must call it.
pub const INIT: &str = "$init";
/// Name of the exported start sequence in core-module output whose host
/// functions need the module's memory: the WASI reactor convention, which
/// core hosts know to call once after instantiation.
pub const CORE_INIT: &str = "_initialize";

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
    /// Whether an earlier core instance has a start function: this
    /// instance's active segments must then wait for it, so they are
    /// emitted passive and applied by the start sequence at this instance's
    /// place in the instantiation order.
    deferred: bool,
    /// This instance's start function, as a fused index.
    start: Option<u32>,
}

/// The layout of the fused module, computed before anything is encoded.
pub struct Layout<'g, 'a> {
    input: &'g Input<'a>,
    graph: &'g Graph<'a>,
    maps: Vec<InstanceMap>,
    /// Host lowers that are plain imports, in import order; a lowering
    /// identical to an earlier one (same function, same options) is not
    /// listed but shares that one's import.
    pub direct: Vec<HostLowerId>,
    /// Host lowers called through the table, in slot order.
    pub indirect: Vec<HostLowerId>,
    /// The fused import of each direct host lower.
    import_index: HashMap<HostLowerId, u32>,
    host_sig: HashMap<HostLowerId, FuncType>,
    adapter_base: u32,
    trampoline_base: u32,
    builtin_base: u32,
    /// Each component instance's handle table, if it holds handles.
    tables: Vec<Option<Table>>,
    /// Root exports called through a trampoline that moves handles, with
    /// the trampoline's index.
    export_trampolines: Vec<(Rc<Lifted<'a>>, u32)>,
    /// The global numbering calls that lend handles.
    call_number: u32,
    /// Destructors the wrapper gives resource types the root exports:
    /// the type and the function's index.
    pub exported_dtors: Vec<(crate::instantiate::ResourceTypeId, u32)>,
    init: Option<u32>,
    counts: [u32; 5],
}

fn kind_index(kind: ExternalKind) -> usize {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => 0,
        ExternalKind::Table => 1,
        ExternalKind::Memory => 2,
        ExternalKind::Global => 3,
        ExternalKind::Tag => 4,
    }
}

fn kind_name(kind: ExternalKind) -> &'static str {
    ["function", "table", "memory", "global", "tag"][kind_index(kind)]
}

/// Converts a core value type for wasm-encoder.
pub(crate) fn val_type(v: wasmparser::ValType) -> Result<wasm_encoder::ValType> {
    wasm_encoder::ValType::try_from(v).map_err(|e| Error::malformed(format!("value type: {e:?}")))
}

fn import_kind(ty: &TypeRef) -> ExternalKind {
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
        HostLower::Func { options, .. } => options.memory.is_some() || options.realloc.is_some(),
        HostLower::ResourceDrop { .. } => false,
        // Defined by the wrapper after the fused module, with a destructor
        // inside it.
        HostLower::Exported { .. } => true,
    }
}

impl<'g, 'a> Layout<'g, 'a> {
    /// Assigns every fused index.
    pub fn new(input: &'g Input<'a>, graph: &'g Graph<'a>, mode: HostCalls) -> Result<Self> {
        let mut l = Layout {
            input,
            graph,
            maps: Vec::with_capacity(graph.core_instances.len()),
            direct: Vec::new(),
            indirect: Vec::new(),
            import_index: HashMap::new(),
            host_sig: HashMap::new(),
            adapter_base: 0,
            trampoline_base: 0,
            builtin_base: 0,
            tables: Vec::new(),
            export_trampolines: Vec::new(),
            call_number: 0,
            exported_dtors: Vec::new(),
            init: None,
            counts: [0; 5],
        };
        // Every host lower gets a function: a plain import, or a trampoline
        // into the host table when it needs the fused memory.
        let types = input.types.as_ref();
        // One function lowered again with the same options is the same
        // import.
        let mut imported = HashMap::new();
        for (i, host) in graph.host_lowers.iter().enumerate() {
            let h = HostLowerId(i as u32);
            let sig = match host {
                HostLower::Func { ty, .. } => crate::abi::lower_signature(types, *ty),
                HostLower::ResourceDrop { .. }
                | HostLower::Exported {
                    op: ResourceOp::Drop,
                    ..
                } => FuncType::new([wasmparser::ValType::I32], []),
                HostLower::Exported { .. } => {
                    FuncType::new([wasmparser::ValType::I32], [wasmparser::ValType::I32])
                }
            };
            l.host_sig.insert(h, sig);
            if mode == HostCalls::Indirect && needs_memory(host) {
                l.indirect.push(h);
            } else {
                let key = match host {
                    HostLower::Func { path, options, .. } => {
                        Some((path.root_index, &path.names, options))
                    }
                    HostLower::Exported { .. } | HostLower::ResourceDrop { .. } => None,
                };
                let index = match key.and_then(|k| imported.get(&k).copied()) {
                    Some(index) => index,
                    None => {
                        let index = l.direct.len() as u32;
                        l.direct.push(h);
                        if let Some(k) = key {
                            imported.insert(k, index);
                        }
                        index
                    }
                };
                l.import_index.insert(h, index);
            }
        }
        // Function index space: direct host imports, trampolines into the
        // host table, adapters, every instance's functions, the start
        // sequence.
        // Core code calls every host function through a wrapper that
        // checks its component instance may leave.
        l.counts[0] = l.direct.len() as u32;
        l.trampoline_base = l.counts[0];
        l.counts[0] += graph.host_lowers.len() as u32;
        l.adapter_base = l.counts[0];
        l.counts[0] += graph.adapters.len() as u32;
        // Resource built-ins, each table's three functions, and the
        // trampolines of root exports that move handles.
        l.builtin_base = l.counts[0];
        l.counts[0] += graph.builtins.len() as u32;
        let holders = l.handle_holders(types)?;
        let table_fns = l.counts[0];
        l.counts[0] += 3 * holders.iter().filter(|h| **h).count() as u32;
        let mut exported: Vec<&Rc<Lifted<'a>>> = Vec::new();
        let mut stack: Vec<&Item<'a>> = graph.exports.iter().map(|(_, i)| i).collect();
        while let Some(item) = stack.pop() {
            match item {
                Item::Func(Func::Lifted(f)) if func_has_handles(types, f.ty) => exported.push(f),
                Item::Instance(InstanceVal::Bag(items)) => {
                    stack.extend(items.iter().map(|(_, i)| i))
                }
                _ => {}
            }
        }
        for f in exported {
            if l.export_trampolines.iter().any(|(g, _)| Rc::ptr_eq(f, g)) {
                continue;
            }
            l.export_trampolines.push((f.clone(), l.counts[0]));
            l.counts[0] += 1;
        }
        for (i, r) in graph.resources.iter().enumerate() {
            if let ResourceOwner::Instance {
                exported: Some(_), ..
            } = r.owner
            {
                l.exported_dtors
                    .push((crate::instantiate::ResourceTypeId(i as u32), l.counts[0]));
                l.counts[0] += 1;
            }
        }
        let mut types = 0u32;
        let (mut data, mut elements) = (0u32, 0u32);
        let mut started = false;
        for i in 0..graph.core_instances.len() {
            let inst = &graph.core_instances[i];
            let m = &input.modules[inst.module.0 as usize];
            let mut map = InstanceMap {
                types,
                data,
                elements,
                deferred: started,
                ..Default::default()
            };
            for (import, def) in m.imports.iter().zip(&inst.imports) {
                let kind = import_kind(&import.ty);
                let idx = l.resolve(def, kind, &m.path)?;
                map.space(kind).push(idx);
            }
            let defined = [
                m.functions.len() as u32,
                m.table_count,
                m.memories.len() as u32,
                m.global_count,
                m.tags.len() as u32,
            ];
            for (k, n) in defined.into_iter().enumerate() {
                let space = match k {
                    0 => &mut map.funcs,
                    1 => &mut map.tables,
                    2 => &mut map.memories,
                    3 => &mut map.globals,
                    _ => &mut map.tags,
                };
                space.extend(l.counts[k]..l.counts[k] + n);
                l.counts[k] += n;
            }
            if let Some(s) = m.start {
                map.start = Some(map.get(ExternalKind::Func, s)?);
                started = true;
            }
            types += m.type_count;
            data += m.data_count;
            elements += m.element_count;
            l.maps.push(map);
        }
        if started {
            l.init = Some(l.counts[0]);
            l.counts[0] += 1;
        }
        // Handle tables: a memory and three globals each, after the
        // `may_leave` flags and the call counter.
        l.call_number = l.counts[3] + graph.component_instances.len() as u32;
        // All tables share one memory (and its bump pointer, the global
        // after the call counter and the suppress flag).
        let mut k = 0u32;
        let memory = l.counts[2];
        let top = l.call_number + 2;
        for holds in holders {
            l.tables.push(holds.then(|| {
                let globals = top + 1 + 5 * k;
                let t = Table {
                    memory,
                    top,
                    base: globals,
                    capacity: globals + 1,
                    len: globals + 2,
                    free: globals + 3,
                    borrows: globals + 4,
                    alloc: table_fns + 3 * k,
                    get: table_fns + 3 * k + 1,
                    release: table_fns + 3 * k + 2,
                };
                k += 1;
                t
            }));
        }
        if k > 0 {
            l.counts[2] += 1;
        }
        Ok(l)
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
        let mut stack: Vec<&Item<'a>> = graph.exports.iter().map(|(_, i)| i).collect();
        while let Some(item) = stack.pop() {
            match item {
                Item::Func(Func::Lifted(f)) if func_has_handles(types, f.ty) => {
                    bound(f.ty, f.instance)?;
                    mark(f.instance);
                }
                Item::Instance(InstanceVal::Bag(items)) => {
                    stack.extend(items.iter().map(|(_, i)| i))
                }
                _ => {}
            }
        }
        Ok(holds)
    }

    /// The fused function a root export lifts: its trampoline when it
    /// moves handles, else the lifted core function.
    pub fn export_func(&self, f: &Rc<Lifted<'a>>) -> Result<u32> {
        if let Some((_, idx)) = self
            .export_trampolines
            .iter()
            .find(|(g, _)| Rc::ptr_eq(f, g))
        {
            return Ok(*idx);
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
            number: rt.map_or(u32::MAX >> 2, |rt| rt.0),
            owner: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Instance { instance, .. }) => Some(*instance),
                _ => None,
            },
            exported: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Instance {
                    exported: Some([new, rep, drop]),
                    ..
                }) => Some(handles::ExportedFns {
                    new: self.trampoline_base + new.0,
                    rep: self.trampoline_base + rep.0,
                    drop: self.trampoline_base + drop.0,
                    suppress: self.call_number + 1,
                }),
                _ => None,
            },
            host_drop: match r.map(|r| &r.owner) {
                Some(ResourceOwner::Host { drop: Some(d), .. }) => Some(self.trampoline_base + d.0),
                _ => None,
            },
        }
    }

    /// The memory of a component instance's handle table, if it has one.
    pub fn table_memory(&self, instance: ComponentInstanceId) -> Option<u32> {
        self.table(instance).map(|t| t.memory)
    }

    /// The handle table of a component instance.
    fn table(&self, instance: ComponentInstanceId) -> Option<Table> {
        self.tables.get(instance.index()).copied().flatten()
    }

    /// The fused index of a core item.
    pub fn resolve(&self, def: &CoreDef<'a>, kind: ExternalKind, path: &str) -> Result<u32> {
        match def {
            CoreDef::Export { instance, name } => {
                let inst = &self.graph.core_instances[instance.index()];
                let m = &self.input.modules[inst.module.0 as usize];
                let (k, idx) = m.export(name).ok_or_else(|| {
                    Error::unresolved(format!("{} has no export `{name}`", m.path)).at_path(path)
                })?;
                if kind_index(k) != kind_index(kind) {
                    return Err(Error::unresolved(format!(
                        "export `{name}` of {} is a {}, expected a {}",
                        m.path,
                        kind_name(k),
                        kind_name(kind)
                    ))
                    .at_path(path));
                }
                let map = self.maps.get(instance.index()).ok_or_else(|| {
                    Error::internal("a core instance uses one instantiated after it")
                })?;
                map.get(kind, idx)
            }
            CoreDef::Adapter(a) if kind_index(kind) == 0 => Ok(self.adapter_base + a.0),
            CoreDef::Host(h) if kind_index(kind) == 0 => Ok(self.trampoline_base + h.0),
            CoreDef::Builtin(b) if kind_index(kind) == 0 => Ok(self.builtin_base + b.0),
            _ => Err(Error::unresolved(format!(
                "a lowered function is used as a {}",
                kind_name(kind)
            ))
            .at_path(path)),
        }
    }

    /// The `name` section: every instance's function names at their fused
    /// indices (so traces name the original functions), and names for the
    /// generated functions.
    fn names(&self) -> wasm_encoder::NameSection {
        let mut names: Vec<(u32, std::borrow::Cow<'a, str>)> = Vec::new();
        for (i, host) in self.graph.host_lowers.iter().enumerate() {
            let path = match host {
                HostLower::Func { path, .. } => path.display(),
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
            names.push((
                self.trampoline_base + i as u32,
                format!("host {path}").into(),
            ));
        }
        for (a, adapter) in self.graph.adapters.iter().enumerate() {
            names.push((
                self.adapter_base + a as u32,
                format!("adapter {}", adapter.name).into(),
            ));
        }
        for (i, b) in self.graph.builtins.iter().enumerate() {
            names.push((
                self.builtin_base + i as u32,
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
            let Some((data, offset)) = m.names else {
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
            names.push((init, "start functions".into()));
        }
        names.sort_by_key(|(i, _)| *i);
        names.dedup_by_key(|(i, _)| *i);
        let mut map = wasm_encoder::NameMap::new();
        for (i, n) in &names {
            map.append(*i, n);
        }
        let mut section = wasm_encoder::NameSection::new();
        section.functions(&map);
        section
    }

    /// The `producers` section: every field of every input module's, and
    /// Solder under `processed-by`.
    fn producers(&self) -> wasm_encoder::ProducersSection {
        let mut seen = std::collections::HashSet::new();
        let sections = self.graph.core_instances.iter().filter_map(|inst| {
            let m = &self.input.modules[inst.module.0 as usize];
            m.producers.filter(|_| seen.insert(inst.module))
        });
        merge_producers(sections)
    }

    /// The global holding a component instance's `may_leave` flag.
    fn may_leave_flag(&self, instance: crate::instantiate::ComponentInstanceId) -> u32 {
        self.counts[3] + instance.0
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
    pub fn init(&self) -> Option<u32> {
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
        self.counts[0]
    }

    /// Memories in the fused module.
    pub fn memory_count(&self) -> u32 {
        self.counts[2]
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

    /// Encodes the fused module with `exports` added.
    pub fn encode(
        &self,
        exports: &[(String, ExportKind, u32)],
        import_names: &[(String, String)],
    ) -> Result<Vec<u8>> {
        let types = self.input.types.as_ref();
        let mut extra_types: Vec<FuncType> = Vec::new();
        let mut extra_index: HashMap<FuncType, u32> = HashMap::new();
        let base_types: u32 = self
            .graph
            .core_instances
            .iter()
            .map(|i| self.input.modules[i.module.0 as usize].type_count)
            .sum();
        let mut type_of = |sig: &FuncType| -> u32 {
            let pos = *extra_index.entry(sig.clone()).or_insert_with(|| {
                extra_types.push(sig.clone());
                extra_types.len() as u32 - 1
            });
            base_types + pos
        };

        let mut imports = ImportSection::new();
        for (h, (module, field)) in self.direct.iter().zip(import_names) {
            let sig = &self.host_sig[h];
            imports.import(module, field, EntityType::Function(type_of(sig)));
        }

        let mut functions = FunctionSection::new();
        let mut tables = TableSection::new();
        let mut memories = MemorySection::new();
        let mut globals = GlobalSection::new();
        let mut tags = TagSection::new();
        let mut elements = ElementSection::new();
        let mut code = CodeSection::new();
        let mut data = DataSection::new();
        let mut type_section = TypeSection::new();
        let mut data_count = 0;

        // Host function wrappers: trap unless the calling component
        // instance may leave; a host call that may call back into the
        // instance's `realloc` clears the flag meanwhile, as lowering does.
        let host_table = self.counts[1];
        let slots: HashMap<HostLowerId, u32> = self
            .indirect
            .iter()
            .enumerate()
            .map(|(slot, h)| (*h, slot as u32))
            .collect();
        for (i, host) in self.graph.host_lowers.iter().enumerate() {
            let h = HostLowerId(i as u32);
            let sig = &self.host_sig[&h];
            let ty = type_of(sig);
            functions.function(ty);
            let flag = self.may_leave_flag(host.instance());
            // The host's `resource.drop` is only called by built-ins and
            // trampolines, which make their own checks.
            let mut prologue = Vec::new();
            if matches!(host, HostLower::Func { .. }) {
                prologue.extend([
                    I::GlobalGet(flag),
                    I::I32Eqz,
                    I::If(wasm_encoder::BlockType::Empty),
                    I::Unreachable,
                    I::End,
                ]);
            }
            let calls_back =
                matches!(host, HostLower::Func { options, .. } if options.realloc.is_some());
            let mut epilogue = Vec::new();
            if calls_back {
                prologue.extend([I::I32Const(0), I::GlobalSet(flag)]);
                epilogue.extend([I::I32Const(1), I::GlobalSet(flag)]);
            }
            let call = match (slots.get(&h), self.import_index.get(&h)) {
                (Some(slot), _) => vec![
                    I::I32Const(*slot as i32),
                    I::CallIndirect {
                        type_index: ty,
                        table_index: host_table,
                    },
                ],
                (None, Some(import)) => vec![I::Call(*import)],
                (None, None) => unreachable!("every host lower is imported or in the table"),
            };
            match host {
                HostLower::Func {
                    ty: fty,
                    instance,
                    options,
                    ..
                } if func_has_handles(types, *fty) => {
                    let path = &self.graph.component_instances[instance.index()];
                    let side = self.side(options, *instance, path)?;
                    let instance = *instance;
                    let resources = |r| self.resource_info(instance, r);
                    code.function(&handles::host_call(
                        types,
                        *fty,
                        side,
                        &resources,
                        self.call_number,
                        &prologue,
                        &call,
                        &epilogue,
                    ));
                }
                _ => {
                    let mut f = Function::new([]);
                    for ins in &prologue {
                        f.instruction(ins);
                    }
                    for p in 0..sig.params().len() as u32 {
                        f.instruction(&I::LocalGet(p));
                    }
                    for ins in call.iter().chain(&epilogue) {
                        f.instruction(ins);
                    }
                    f.instruction(&I::End);
                    code.function(&f);
                }
            }
        }

        // Adapters.
        for adapter in &self.graph.adapters {
            let sig = crate::abi::lower_signature(types, adapter.ty);
            functions.function(type_of(&sig));
            let path = &self.graph.component_instances[adapter.caller.index()];
            let callee = self.resolve(&adapter.callee.func, ExternalKind::Func, path)?;
            let post_return = adapter
                .callee
                .options
                .post_return
                .as_ref()
                .map(|p| self.resolve(p, ExternalKind::Func, path))
                .transpose()?;
            let caller = self.side(&adapter.lower, adapter.caller, path)?;
            let callee_side = self.side(&adapter.callee.options, adapter.callee.instance, path)?;
            let flags = (
                self.may_leave_flag(adapter.caller),
                self.may_leave_flag(adapter.callee.instance),
            );
            if adapter.caller == adapter.callee.instance {
                // A component calling its own lifted export through a lower
                // would re-enter itself: the call traps, as in the runtime.
                let mut f = Function::new([]);
                f.instruction(&I::Unreachable);
                f.instruction(&I::End);
                code.function(&f);
                continue;
            }
            let callee_instance = adapter.callee.instance;
            let resources = |r| self.resource_info(callee_instance, r);
            code.function(&adapter::generate(
                types,
                adapter,
                &adapter::Targets {
                    callee,
                    post_return,
                    caller,
                    callee_side,
                    may_leave: flags,
                    call_number: self.call_number,
                },
                &resources,
            ));
        }

        // Resource built-ins.
        for b in &self.graph.builtins {
            let table = self
                .table(b.instance)
                .ok_or_else(|| Error::internal("a resource built-in without a table"))?;
            let path = &self.graph.component_instances[b.instance.index()];
            let r = &self.graph.resources[b.resource.index()];
            let destroy = match &r.owner {
                ResourceOwner::Instance { dtor: Some(d), .. } => {
                    Some(self.resolve(d, ExternalKind::Func, path)?)
                }
                ResourceOwner::Instance { dtor: None, .. } => None,
                ResourceOwner::Host { drop, .. } => drop.map(|d| self.trampoline_base + d.0),
            };
            let targets = handles::BuiltinTargets {
                table,
                number: b.resource.0,
                may_leave: self.may_leave_flag(b.instance),
                call_number: self.call_number,
                destroy,
            };
            let (sig, f) = match b.op {
                ResourceOp::New => (
                    FuncType::new([wasmparser::ValType::I32], [wasmparser::ValType::I32]),
                    handles::resource_new(&targets),
                ),
                ResourceOp::Rep => (
                    FuncType::new([wasmparser::ValType::I32], [wasmparser::ValType::I32]),
                    handles::resource_rep(&targets),
                ),
                ResourceOp::Drop => (
                    FuncType::new([wasmparser::ValType::I32], []),
                    handles::resource_drop(&targets),
                ),
            };
            functions.function(type_of(&sig));
            code.function(&f);
        }

        // Each table's functions.
        for t in self.tables.iter().flatten() {
            use wasmparser::ValType::I32;
            functions.function(type_of(&FuncType::new([I32, I32], [I32])));
            code.function(&handles::alloc_function(t));
            functions.function(type_of(&FuncType::new([I32], [I32])));
            code.function(&handles::get_function(t));
            functions.function(type_of(&FuncType::new([I32], [])));
            code.function(&handles::release_function(t));
        }

        // Trampolines of root exports that move handles.
        for (f, _) in &self.export_trampolines {
            let sig = crate::abi::flatten_func(types, f.ty);
            let params = if sig.params_spill {
                vec![wasmparser::ValType::I32]
            } else {
                sig.params.clone()
            };
            let results = if sig.results_spill {
                vec![wasmparser::ValType::I32]
            } else {
                sig.results.clone()
            };
            functions.function(type_of(&FuncType::new(params, results)));
            let target = self.resolve(&f.func, ExternalKind::Func, "root")?;
            let side = self.side(&f.options, f.instance, "root")?;
            let instance = f.instance;
            let resources = |r| self.resource_info(instance, r);
            code.function(&handles::export_trampoline(
                types,
                f.ty,
                side,
                &resources,
                self.call_number,
                target,
            ));
        }

        // Destructors of the resource types the root exports, as the
        // wrapper defines them: the defining instance's destructor, unless
        // the handle only moved into the composition.
        for (rt, _) in &self.exported_dtors {
            let ResourceOwner::Instance { instance, dtor, .. } =
                &self.graph.resources[rt.index()].owner
            else {
                continue;
            };
            let path = &self.graph.component_instances[instance.index()];
            let dtor = dtor
                .as_ref()
                .map(|d| self.resolve(d, ExternalKind::Func, path))
                .transpose()?;
            functions.function(type_of(&FuncType::new([wasmparser::ValType::I32], [])));
            code.function(&handles::exported_dtor(self.call_number + 1, dtor));
        }

        // The start sequence, built beside the instances: each one's
        // deferred segments, then its start function.
        let mut init = Function::new([]);
        for (i, inst) in self.graph.core_instances.iter().enumerate() {
            let m = &self.input.modules[inst.module.0 as usize];
            let mut r = Remap { map: &self.maps[i] };
            self.encode_instance(
                m,
                &mut r,
                &mut type_section,
                &mut functions,
                &mut tables,
                &mut memories,
                &mut globals,
                &mut tags,
                &mut elements,
                &mut code,
                &mut data,
                &mut init,
            )
            .map_err(|e| e.at_path(&m.path).at_offset(m.offset))?;
            if let Some(s) = self.maps[i].start {
                init.instruction(&I::Call(s));
            }
            data_count += m.data_count;
        }

        if !self.indirect.is_empty() {
            let n = self.indirect.len() as u64;
            tables.table(TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: n,
                maximum: Some(n),
                shared: false,
            });
        }

        // One `may_leave` flag per component instance, after every
        // instance's own globals; then the call counter and the tables'
        // globals (length, free list, borrows), and the tables' memories.
        let mutable = |val_type| wasm_encoder::GlobalType {
            val_type,
            mutable: true,
            shared: false,
        };
        for _ in &self.graph.component_instances {
            globals.global(
                mutable(wasm_encoder::ValType::I32),
                &wasm_encoder::ConstExpr::i32_const(1),
            );
        }
        globals.global(
            mutable(wasm_encoder::ValType::I64),
            &wasm_encoder::ConstExpr::i64_const(1),
        );
        // Set while a handle the host passed in leaves the wrapper's table:
        // the destructor there must not run.
        globals.global(
            mutable(wasm_encoder::ValType::I32),
            &wasm_encoder::ConstExpr::i32_const(0),
        );
        if self.tables.iter().flatten().next().is_some() {
            // The tables' memory and its bump pointer.
            globals.global(
                mutable(wasm_encoder::ValType::I32),
                &wasm_encoder::ConstExpr::i32_const(0),
            );
            memories.memory(wasm_encoder::MemoryType {
                minimum: 0,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        for _ in self.tables.iter().flatten() {
            // Base, capacity, length (slot 0 counts), free list, borrows.
            for init in [0, 0, 1, 0, 0] {
                globals.global(
                    mutable(wasm_encoder::ValType::I32),
                    &wasm_encoder::ConstExpr::i32_const(init),
                );
            }
        }

        // The start sequence: every instance's deferred segments and start
        // function, in instantiation order.
        let mut start = None;
        if let Some(index) = self.init {
            functions.function(type_of(&FuncType::new([], [])));
            init.instruction(&I::End);
            code.function(&init);
            if !self.init_exported() {
                start = Some(index);
            }
        }

        for t in &extra_types {
            let params: Vec<_> = t
                .params()
                .iter()
                .map(|v| val_type(*v))
                .collect::<Result<_>>()?;
            let results: Vec<_> = t
                .results()
                .iter()
                .map(|v| val_type(*v))
                .collect::<Result<_>>()?;
            type_section.ty().function(params, results);
        }

        let mut export_section = ExportSection::new();
        for (name, kind, index) in exports {
            export_section.export(name, *kind, *index);
        }
        if self.needs_fixup() {
            export_section.export(HOST_TABLE, ExportKind::Table, host_table);
        }
        if let Some(init) = self.init.filter(|_| self.init_exported()) {
            let name = if self.needs_fixup() { INIT } else { CORE_INIT };
            export_section.export(name, ExportKind::Func, init);
        }

        let mut module = Module::new();
        module.section(&type_section);
        if !imports.is_empty() {
            module.section(&imports);
        }
        module.section(&functions);
        module.section(&tables);
        module.section(&memories);
        if !tags.is_empty() {
            module.section(&tags);
        }
        module.section(&globals);
        module.section(&export_section);
        if let Some(s) = start {
            module.section(&StartSection { function_index: s });
        }
        if !elements.is_empty() {
            module.section(&elements);
        }
        if data_count > 0 {
            module.section(&DataCountSection { count: data_count });
        }
        // The code section is most of the module: copy it once into a
        // buffer of the final size, rather than into one that doubles as it
        // grows. The sections after it are encoded first to know that size.
        let mut tail = Vec::new();
        if !data.is_empty() {
            data.append_to(&mut tail);
        }
        drop(data);
        self.names().append_to(&mut tail);
        self.producers().append_to(&mut tail);
        let mut bytes = module.finish();
        // Section id, then at most five bytes each for size and count.
        bytes.reserve_exact(1 + 5 + 5 + code.byte_len() + tail.len());
        code.append_to(&mut bytes);
        drop(code);
        bytes.extend_from_slice(&tail);
        Ok(bytes)
    }

    #[allow(clippy::too_many_arguments)]
    fn encode_instance(
        &self,
        m: &ModuleDef<'a>,
        r: &mut Remap<'_>,
        type_section: &mut TypeSection,
        functions: &mut FunctionSection,
        tables: &mut TableSection,
        memories: &mut MemorySection,
        globals: &mut GlobalSection,
        tags: &mut TagSection,
        elements: &mut ElementSection,
        code: &mut CodeSection,
        data: &mut DataSection,
        init: &mut Function,
    ) -> Result<()> {
        let err = |e: wasmparser::BinaryReaderError| {
            Error::malformed(e.message().to_string()).at_offset(e.offset())
        };
        if let Some(s) = &m.types {
            for group in s.clone() {
                r.parse_recursive_type_group(type_section.ty(), group.map_err(err)?)
                    .map_err(reencode_error)?;
            }
        }
        for ty in &m.functions {
            functions.function(r.type_index(*ty).map_err(reencode_error)?);
        }
        if let Some(s) = &m.tables {
            for t in s.clone() {
                r.parse_table(tables, t.map_err(err)?)
                    .map_err(reencode_error)?;
            }
        }
        for mem in &m.memories {
            memories.memory(r.memory_type(*mem).map_err(reencode_error)?);
        }
        for tag in &m.tags {
            tags.tag(r.tag_type(*tag).map_err(reencode_error)?);
        }
        if let Some(s) = &m.globals {
            for g in s.clone() {
                r.parse_global(globals, g.map_err(err)?)
                    .map_err(reencode_error)?;
            }
        }
        // Deferred segments are applied as the spec applies an active
        // segment, `table.init` / `memory.init` then a drop, with the same
        // bounds checks, at this instance's place in the start sequence.
        let deferred = r.map.deferred;
        if let Some(s) = &m.elements {
            for (i, e) in (0u32..).zip(s.clone()) {
                let mut e = e.map_err(err)?;
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
        for body in &m.code {
            r.parse_function_body(code, body.clone())
                .map_err(reencode_error)?;
        }
        if let Some(s) = &m.data {
            for (i, d) in (0u32..).zip(s.clone()) {
                let mut d = d.map_err(err)?;
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
        match kind_index(kind) {
            0 => &mut self.funcs,
            1 => &mut self.tables,
            2 => &mut self.memories,
            3 => &mut self.globals,
            _ => &mut self.tags,
        }
    }

    fn get(&self, kind: ExternalKind, idx: u32) -> Result<u32> {
        let space = match kind_index(kind) {
            0 => &self.funcs,
            1 => &self.tables,
            2 => &self.memories,
            3 => &self.globals,
            _ => &self.tags,
        };
        space.get(idx as usize).copied().ok_or_else(|| {
            Error::malformed(format!("{} index {idx} out of bounds", kind_name(kind)))
        })
    }
}

/// Re-indexes one core instance's items into the fused module.
struct Remap<'m> {
    map: &'m InstanceMap,
}

fn reencode_error(e: wasm_encoder::reencode::Error<Error>) -> Error {
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
