//! The output: the fused core module wrapped in a component with exactly
//! the input's top-level imports and exports.
//!
//! The wrapper keeps the input's own leading type, import and alias
//! sections byte for byte, so imports keep their exact types and indices.
//! After them come the fused module, the host functions it imports
//! (`canon lower` of the root's imports), its instantiation, the fix-up that
//! fills its table of memory-using host functions, and finally the exports:
//! `canon lift` of fused functions, with function types regenerated from
//! the validator's view of the root's exports.

mod shim;
mod types;

use crate::error::{Error, Result};
use crate::instantiate::{
    CoreDef, Func, Graph, HostLower, HostLowerId, HostPath, InstanceVal, Item, ModuleRef, Named,
    Options, ResourceTypeId, TypeVal,
};
use crate::merge::{self, FuncIdx, FusedExport, Layout, sized};
use crate::parse::{Def, Input, ResourceOp, StringEncoding};
use shim::{Member, MemberKind};
use std::collections::HashMap;
use types::TypeScope;
use wasm_encoder::{
    Alias, CanonicalFunctionSection, CanonicalOption, Component, ComponentAliasSection,
    ComponentDefinedTypeEncoder, ComponentExportKind, ComponentExportSection,
    ComponentFuncTypeEncoder, ComponentInstanceSection, ComponentSectionId, ComponentTypeSection,
    ComponentValType, ElementSection, Elements, EntityType, ExportKind, ImportSection,
    InstanceSection, Module, ModuleArg, RawSection, RefType, StartSection, TableType, TypeSection,
};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedTypeId, ComponentEntityType, ComponentInstanceTypeId,
    ComponentValType as PValType, ResourceId,
};
use wasmparser::{ComponentExternalKind, ComponentTypeRef, ExternalKind};

/// The import module name under which the fused module imports host
/// functions in component output.
const HOST_MODULE: &str = "$host";

/// Where the root exports each resource type defined inside the
/// composition: the interface holding it (`None` for a type the root
/// exports directly) and its name there. A type exported in several places
/// belongs to the first, as an interface that uses another's resource type
/// comes after it.
fn exported_resources<'a>(
    graph: &Graph<'a>,
) -> HashMap<ResourceTypeId, (Option<&'a str>, &'a str)> {
    let mut out = HashMap::new();
    for (interface, name, item) in root_export_items(graph) {
        if let Item::Type(TypeVal::Resource(rt)) = item {
            out.entry(*rt).or_insert((interface, name));
        }
    }
    out
}

/// Every item the root exports, in order, depth first: the instance that
/// holds it (`None` at the root), its name there, and the item.
pub(crate) fn root_export_items<'g, 'a>(
    graph: &'g Graph<'a>,
) -> Vec<(Option<&'a str>, &'a str, &'g Item<'a>)> {
    let mut out = Vec::new();
    let mut stack: Vec<(Option<&'a str>, &'a str, &'g Item<'a>)> = graph
        .exports
        .iter()
        .rev()
        .map(|(n, i)| (None, *n, i))
        .collect();
    while let Some((interface, name, item)) = stack.pop() {
        if let Item::Instance(InstanceVal::Bag(items)) = item {
            stack.extend(items.iter().rev().map(|(n, i)| (Some(name), *n, i)));
        }
        out.push((interface, name, item));
    }
    out
}

/// Names for the fused module's direct imports. In component output they
/// are numbered. In core-module output they follow the component model's
/// core names: (interface, function) for a host function (`$root` for one
/// the root imports directly), (interface, `[resource-drop]type`) for the
/// host's resource types, and (`[export]interface`, `[resource-new]type`)
/// and so on for the built-ins of resource types the root exports.
/// Lowerings of one function that share an import share its name; ones
/// that differ in their options are told apart by `#2`, `#3`, ...
pub fn import_names(
    graph: &Graph<'_>,
    direct: &[HostLowerId],
    core: bool,
) -> Result<Vec<(String, String)>> {
    let owners = exported_resources(graph);
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    let mut names = Vec::with_capacity(direct.len());
    for (i, h) in direct.iter().enumerate() {
        if !core {
            names.push((HOST_MODULE.to_string(), i.to_string()));
            continue;
        }
        let (name, prefix) = match &graph.host_lowers[h.index()] {
            // The function's own name, in the instance it is an export of.
            HostLower::Func { path, .. } => match path.names.split_last() {
                Some((field, rest)) => {
                    let module = HostPath {
                        names: rest.to_vec(),
                        ..path.clone()
                    };
                    names.push(unique(&mut seen, module.display(), field.to_string()));
                    continue;
                }
                None => (path.root_name.to_string(), ""),
            },
            HostLower::ResourceDrop { resource, .. } => (
                graph.resources[resource.index()].name.clone(),
                "[resource-drop]",
            ),
            HostLower::Async { builtin, .. } => (builtin.name().to_string(), ""),
            HostLower::Exported { op, resource } => {
                let (interface, name) = owners.get(resource).ok_or_else(|| {
                    Error::internal("a built-in of a resource type the root does not export")
                })?;
                names.push((
                    format!("[export]{}", interface.unwrap_or("$root")),
                    format!("{}{name}", op.core_prefix()),
                ));
                continue;
            }
        };
        let (module, field) = match name.rsplit_once('#') {
            Some((module, last)) => (module.to_string(), format!("{prefix}{last}")),
            None => ("$root".to_string(), format!("{prefix}{name}")),
        };
        names.push(unique(&mut seen, module, field));
    }
    Ok(names)
}

/// `(module, field)`, with `#2`, `#3`, ... added to a field already
/// imported under that module.
fn unique(
    seen: &mut HashMap<(String, String), u32>,
    module: String,
    field: String,
) -> (String, String) {
    let n = seen.entry((module.clone(), field.clone())).or_insert(0);
    *n += 1;
    if *n > 1 {
        (module, format!("{field}#{n}"))
    } else {
        (module, field)
    }
}

/// Export names for core-module output: lifted functions under their core
/// names (`function`, or `interface#function` inside an interface), the
/// destructors of resource types the root exports as
/// `interface#[dtor]type` (`[dtor]type` at the root), the memories the
/// lifted functions' options name as `memory`, `memory1`, ..., and their
/// `realloc` and `post-return` functions as `f<index>`.
pub fn core_exports(
    graph: &Graph<'_>,
    layout: &Layout<'_, '_>,
) -> Result<Vec<(String, ExportKind, u32)>> {
    let mut out = Vec::new();
    let mut lifted = Vec::new();
    for (interface, name, item) in root_export_items(graph) {
        if let Item::Module(_) = item {
            return Err(Error::unsupported(
                "export-kind",
                format!("`{name}` is a core module, which only component output can export"),
            ));
        }
        if let Item::Func(Func::Lifted(l)) = item {
            let name = match interface {
                Some(i) => format!("{i}#{name}"),
                None => name.to_string(),
            };
            out.push((name, ExportKind::Func, layout.export_func(l)?));
            lifted.push(l);
        }
    }
    let owners = exported_resources(graph);
    for (rt, dtor) in &layout.exported_dtors {
        let (interface, name) = owners.get(rt).ok_or_else(|| {
            Error::internal("a destructor for a resource type the root does not export")
        })?;
        let name = match interface {
            Some(i) => format!("{i}#[dtor]{name}"),
            None => format!("[dtor]{name}"),
        };
        out.push((name, ExportKind::Func, dtor.0));
    }
    let mut memories = Vec::new();
    let mut helpers = Vec::new();
    for l in lifted {
        if let Some(m) = &l.options.memory {
            let idx = layout.resolve(m, ExternalKind::Memory, "root")?;
            if !memories.contains(&idx) {
                memories.push(idx);
            }
        }
        for f in [&l.options.realloc, &l.options.post_return]
            .into_iter()
            .flatten()
        {
            let idx = layout.resolve(f, ExternalKind::Func, "root")?;
            if !helpers.contains(&idx) {
                helpers.push(idx);
            }
        }
    }
    for (i, idx) in memories.into_iter().enumerate() {
        let name = match i {
            0 => "memory".to_string(),
            i => format!("memory{i}"),
        };
        out.push((name, ExportKind::Memory, idx));
    }
    for idx in helpers {
        out.push((format!("f{idx}"), ExportKind::Func, idx));
    }
    // A host function lowered with a `memory` or `realloc` option reads
    // and writes its caller's memory and allocates there: the host finds
    // both under the import's own name.
    for (h, (module, field)) in layout.direct.iter().zip(&layout.import_names) {
        let HostLower::Func { options, .. } = &graph.host_lowers[h.index()] else {
            continue;
        };
        if let Some(m) = &options.memory {
            let idx = layout.resolve(m, ExternalKind::Memory, "root")?;
            out.push((format!("[memory]{module}#{field}"), ExportKind::Memory, idx));
        }
        if let Some(r) = &options.realloc {
            let idx = layout.resolve(r, ExternalKind::Func, "root")?;
            out.push((format!("[realloc]{module}#{field}"), ExportKind::Func, idx));
        }
    }
    Ok(out)
}

#[derive(Default)]
enum Pending {
    #[default]
    None,
    Alias(ComponentAliasSection),
    Canon(CanonicalFunctionSection),
    CoreInstance(InstanceSection),
    Instance(ComponentInstanceSection),
    Type(ComponentTypeSection),
    Export(ComponentExportSection),
}

/// A core instance's exports as the wrapper builds them: name, kind, index.
type Bag<'n> = Vec<(&'n str, ExportKind, u32)>;

/// A component under construction that keeps count of its index spaces.
struct Out {
    component: Component,
    pending: Pending,
    funcs: u32,
    types: u32,
    instances: u32,
    components: u32,
    core_modules: u32,
    core_funcs: u32,
    core_instances: u32,
    core_memories: u32,
    core_tables: u32,
    core_globals: u32,
    core_tags: u32,
}

macro_rules! section {
    ($out:expr, $variant:ident, $ty:ty) => {{
        let out: &mut Out = &mut $out;
        if !matches!(out.pending, Pending::$variant(_)) {
            out.flush();
            out.pending = Pending::$variant(<$ty>::new());
        }
        match &mut out.pending {
            Pending::$variant(s) => s,
            _ => unreachable!("pending section was just set"),
        }
    }};
}

mod asyncs;

impl Out {
    fn flush(&mut self) {
        match std::mem::take(&mut self.pending) {
            Pending::None => {}
            Pending::Alias(s) => {
                self.component.section(&s);
            }
            Pending::Canon(s) => {
                self.component.section(&s);
            }
            Pending::CoreInstance(s) => {
                self.component.section(&s);
            }
            Pending::Instance(s) => {
                self.component.section(&s);
            }
            Pending::Type(s) => {
                self.component.section(&s);
            }
            Pending::Export(s) => {
                self.component.section(&s);
            }
        }
    }

    fn raw(&mut self, id: u8, data: &[u8]) {
        self.flush();
        self.component.section(&RawSection { id, data });
    }

    fn alias(&mut self, alias: Alias<'_>) -> u32 {
        section!(*self, Alias, ComponentAliasSection).alias(alias);
        match alias {
            Alias::InstanceExport { kind, .. } => self.bump(kind),
            Alias::CoreInstanceExport { kind, .. } => {
                let count = match kind {
                    ExportKind::Func => &mut self.core_funcs,
                    ExportKind::Memory => &mut self.core_memories,
                    ExportKind::Table => &mut self.core_tables,
                    ExportKind::Global => &mut self.core_globals,
                    ExportKind::Tag => &mut self.core_tags,
                };
                next(count)
            }
            Alias::Outer { .. } => unreachable!("the wrapper makes no outer aliases"),
        }
    }

    fn bump(&mut self, kind: ComponentExportKind) -> u32 {
        match kind {
            ComponentExportKind::Func => next(&mut self.funcs),
            ComponentExportKind::Type => next(&mut self.types),
            ComponentExportKind::Instance => next(&mut self.instances),
            ComponentExportKind::Module => next(&mut self.core_modules),
            _ => unreachable!("the wrapper only aliases functions, types, instances and modules"),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.component.finish()
    }
}

fn next(n: &mut u32) -> u32 {
    *n += 1;
    *n - 1
}

fn encoding(e: StringEncoding) -> CanonicalOption {
    match e {
        StringEncoding::Utf8 => CanonicalOption::UTF8,
        StringEncoding::Utf16 => CanonicalOption::UTF16,
        StringEncoding::CompactUtf16 => CanonicalOption::CompactUTF16,
    }
}

/// Builds the output component around the fused module `fused`.
pub struct Emitter<'g, 'a> {
    input: &'g Input<'a>,
    graph: &'g Graph<'a>,
    layout: &'g Layout<'g, 'a>,
    out: Out,
    fused_instance: u32,
    core_aliases: HashMap<FusedExport, u32>,
    path_aliases: HashMap<(Vec<&'a str>, u32, bool), u32>,
    defined: HashMap<ComponentDefinedTypeId, u32>,
    /// The defined types the root imports (with an `eq` bound), at their
    /// index: an exported function's type names the imported type where
    /// the input's did, as it must.
    imported_types: Vec<(ComponentDefinedTypeId, u32)>,
    resources: HashMap<ResourceId, (u32, String)>,
    resource_aliases: HashMap<ResourceId, u32>,
    /// Resource types the root exports, as the wrapper defines them.
    exported_types: HashMap<ResourceTypeId, u32>,
    /// Own named types of the interfaces exported through a shim, not yet
    /// aliased: the shim's instance, the type's name, its type ids.
    interface_types: Vec<(u32, String, [ComponentDefinedTypeId; 2])>,
}

/// A wrapper component with the place of its fused module left open.
pub struct Wrapper {
    /// Its bytes before the module.
    before: Vec<u8>,
    /// And after it.
    after: Vec<u8>,
}

impl Wrapper {
    /// The output with `module` in its place.
    pub fn around(&self, module: &[u8]) -> Vec<u8> {
        let section = RawSection {
            id: ComponentSectionId::CoreModule as u8,
            data: module,
        };
        // Section id and at most five bytes of size.
        let mut bytes =
            Vec::with_capacity(self.before.len() + 1 + 5 + module.len() + self.after.len());
        bytes.extend_from_slice(&self.before);
        wasm_encoder::ComponentSection::append_to_component(&section, &mut bytes);
        bytes.extend_from_slice(&self.after);
        bytes
    }

    /// The output up to the module's bytes, to encode the module into
    /// (the section's size left to [`Wrapper::finish`]), and how many
    /// bytes [`Wrapper::finish`] adds after it.
    pub fn start(&mut self) -> (Vec<u8>, usize) {
        let mut bytes = std::mem::take(&mut self.before);
        sized::open(&mut bytes, ComponentSectionId::CoreModule as u8);
        (bytes, self.after.len())
    }

    /// The output, from `bytes` that [`Wrapper::start`] began and the
    /// module's encoding went on from its `at`.
    pub fn finish(self, mut bytes: Vec<u8>, at: usize) -> Result<Vec<u8>> {
        sized::close(&mut bytes, at)
            .ok_or_else(|| Error::limit("the fused module is over 4 GiB"))?;
        bytes.extend_from_slice(&self.after);
        Ok(bytes)
    }
}

/// The fused-module exports a wrapper needs, decided before the module is
/// encoded.
pub fn needed_exports(graph: &Graph<'_>, layout: &Layout<'_, '_>) -> Result<Vec<FusedExport>> {
    let mut out: Vec<FusedExport> = Vec::new();
    let mut add = |e: FusedExport| {
        if !out.contains(&e) {
            out.push(e);
        }
    };
    let opts = |o: &Options<'_>, add: &mut dyn FnMut(FusedExport)| -> Result<()> {
        if let Some(m) = &o.memory {
            add(layout.fused_export(m, ExternalKind::Memory)?);
        }
        for f in [&o.realloc, &o.post_return].into_iter().flatten() {
            add(layout.fused_export(f, ExternalKind::Func)?);
        }
        if let Some(c) = &o.callback {
            add(layout.callback_export(c)?);
        }
        Ok(())
    };
    for h in &layout.indirect {
        if let HostLower::Func { options, .. } | HostLower::Async { options, .. } =
            &graph.host_lowers[h.index()]
        {
            opts(options, &mut add)?;
        }
    }
    for (_, dtor) in &layout.exported_dtors {
        add(FusedExport::Func(*dtor));
    }
    for (_, l) in graph.exported_functions() {
        let f = FuncIdx(layout.export_func(l)?);
        add(layout.lifted_export(f, l.options.memory.is_some()));
        opts(&l.options, &mut add)?;
    }
    Ok(out)
}

impl<'g, 'a> Emitter<'g, 'a> {
    /// Starts a wrapper: the input's import prefix, then the fused module.
    pub fn new(input: &'g Input<'a>, graph: &'g Graph<'a>, layout: &'g Layout<'g, 'a>) -> Self {
        let c = input.prefix.counts;
        let mut out = Out {
            component: Component::new(),
            pending: Pending::None,
            funcs: c.funcs,
            types: c.types,
            instances: c.instances,
            components: c.components,
            core_modules: c.core_modules,
            core_funcs: 0,
            core_instances: 0,
            core_memories: 0,
            core_tables: 0,
            core_globals: 0,
            core_tags: 0,
        };
        for (id, data) in &input.prefix.sections {
            out.raw(*id, data);
        }
        let mut resources = HashMap::new();
        let types = input.types.as_ref();
        let mut instance_index = 0u32;
        let mut imported_types = Vec::new();
        for d in &input.components[0].defs {
            match d {
                Def::Import {
                    ty: ComponentTypeRef::Type(_),
                    root_index: Some(ix),
                    ..
                } => {
                    if let Some(ComponentAnyTypeId::Defined(id)) =
                        input.components[0].type_ids.get(*ix as usize)
                    {
                        imported_types.push((*id, *ix));
                    }
                }
                Def::Import {
                    ty: ComponentTypeRef::Instance(_),
                    instance_ty,
                    ..
                } => {
                    if let Some(id) = instance_ty {
                        for (name, item) in &types[*id].exports {
                            if let ComponentEntityType::Type {
                                created: ComponentAnyTypeId::Resource(r),
                                ..
                            } = item.ty
                            {
                                resources
                                    .entry(r.resource())
                                    .or_insert((instance_index, name.clone()));
                            }
                        }
                    }
                    instance_index += 1;
                }
                Def::Alias(wasmparser::ComponentAlias::InstanceExport {
                    kind: ComponentExternalKind::Instance,
                    ..
                }) => {
                    instance_index += 1;
                }
                _ => {}
            }
        }
        Emitter {
            input,
            graph,
            layout,
            out,
            fused_instance: 0,
            core_aliases: HashMap::new(),
            path_aliases: HashMap::new(),
            defined: HashMap::new(),
            imported_types,
            resources,
            resource_aliases: HashMap::new(),
            exported_types: HashMap::new(),
            interface_types: Vec::new(),
        }
    }

    /// Finishes the wrapper, with a place for the fused module: it can be
    /// built before the module is encoded, and the module encoded in place
    /// ([`Wrapper::start`]).
    pub fn wrap(mut self) -> Result<Wrapper> {
        // The fused module, most of the output, goes in last, between the
        // prefix and the rest.
        let module = self.out.core_modules;
        self.out.flush();
        let module_at = self.out.component.as_slice().len();
        self.out.core_modules += 1;

        // Host functions the fused module imports directly.
        let mut direct = Vec::new();
        for h in &self.layout.direct {
            let f = match &self.graph.host_lowers[h.index()] {
                HostLower::Func { path, options, .. } => {
                    let func = self.path_alias(path, ComponentExportKind::Func)?;
                    let opts = self.canon_options(options)?;
                    section!(self.out, Canon, CanonicalFunctionSection).lower(func, opts);
                    next(&mut self.out.core_funcs)
                }
                HostLower::Async {
                    builtin, options, ..
                } => {
                    self.async_builtin(builtin, options)?;
                    next(&mut self.out.core_funcs)
                }
                HostLower::ResourceDrop { id, .. } => {
                    let ty = self.resource_alias(*id)?;
                    section!(self.out, Canon, CanonicalFunctionSection).resource_drop(ty);
                    next(&mut self.out.core_funcs)
                }
                HostLower::Exported { .. } => {
                    return Err(Error::internal(
                        "a built-in of an exported resource type is imported directly",
                    ));
                }
            };
            direct.push(f);
        }
        let mut args = self.outside_instances()?;
        if !direct.is_empty() {
            let items: Vec<_> = self
                .layout
                .import_names
                .iter()
                .zip(&direct)
                .map(|((_, field), f)| (field.as_str(), ExportKind::Func, *f))
                .collect();
            section!(self.out, CoreInstance, InstanceSection).export_items(items);
            args.push((
                HOST_MODULE.to_string(),
                ModuleArg::Instance(next(&mut self.out.core_instances)),
            ));
        }
        section!(self.out, CoreInstance, InstanceSection)
            .instantiate(module, args.iter().map(|(n, a)| (n.as_str(), *a)));
        self.fused_instance = next(&mut self.out.core_instances);

        if self.layout.needs_fixup() {
            self.fixup()?;
        }

        let types = self.input.types.as_ref();
        for (name, item) in &self.graph.exports {
            let ty = types
                .component_item_for_export(name)
                .map(|i| i.ty)
                .ok_or_else(|| Error::internal(format!("no type for export `{name}`")))?;
            let (kind, index) = self.export_item(item, &ty, name)?;
            section!(self.out, Export, ComponentExportSection).export(*name, kind, index, None);
            self.out.bump_export(kind);
            let exported = (kind == ComponentExportKind::Instance).then(|| self.out.instances - 1);
            self.alias_interface_types(index, exported);
            if let ComponentEntityType::Type {
                created: ComponentAnyTypeId::Resource(r),
                ..
            } = ty
            {
                // Later exports refer to the exported resource type.
                self.resource_aliases
                    .insert(r.resource(), self.out.types - 1);
            }
            if let ComponentEntityType::Type {
                created: ComponentAnyTypeId::Defined(c),
                ..
            } = ty
            {
                // Later exports refer to the type by its exported name.
                self.defined.insert(c, self.out.types - 1);
            }
        }
        self.custom_sections();
        let mut before = self.out.finish();
        let after = before.split_off(module_at);
        Ok(Wrapper { before, after })
    }

    /// The wrapper's custom sections: the root component's own name, and
    /// every input component's producers with Solder added. (The names of
    /// the root's items would not match the wrapper's index spaces.)
    fn custom_sections(&mut self) {
        self.out.flush();
        if let Some((data, offset)) = self.input.custom.root_names {
            let reader = wasmparser::ComponentNameSectionReader::new(
                wasmparser::BinaryReader::new(data, offset),
            );
            // Names are advice: a malformed section is skipped.
            for sub in reader.into_iter().flatten() {
                if let wasmparser::ComponentName::Component { name, .. } = sub {
                    let mut names = wasm_encoder::ComponentNameSection::new();
                    names.component(name);
                    self.out.component.section(&names);
                }
            }
        }
        let producers = merge::merge_producers(self.input.custom.producers.iter().copied());
        self.out.component.section(&producers);
    }

    /// Lowers the memory-using host functions now that the fused module's
    /// memories exist, and stores them into its host table.
    fn fixup(&mut self) -> Result<()> {
        let mut lowered = Vec::new();
        let mut fixup_types = TypeSection::new();
        let mut fixup_imports = ImportSection::new();
        fixup_imports.import(
            "",
            "table",
            EntityType::Table(TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: self.layout.indirect.len() as u64,
                maximum: Some(self.layout.indirect.len() as u64),
                shared: false,
            }),
        );
        // Resource types the root exports, defined again for the host with
        // a destructor inside the fused module.
        for (rt, dtor) in &self.layout.exported_dtors {
            let dtor = self.fused_alias(FusedExport::Func(*dtor));
            section!(self.out, Type, ComponentTypeSection)
                .resource(wasm_encoder::ValType::I32, Some(dtor));
            let ty = next(&mut self.out.types);
            self.exported_types.insert(*rt, ty);
        }
        for (slot, h) in self.layout.indirect.iter().enumerate() {
            match &self.graph.host_lowers[h.index()] {
                HostLower::Func { path, options, .. } => {
                    let func = self.path_alias(path, ComponentExportKind::Func)?;
                    let opts = self.canon_options(options)?;
                    section!(self.out, Canon, CanonicalFunctionSection).lower(func, opts);
                }
                HostLower::Async {
                    builtin, options, ..
                } => self.async_builtin(builtin, options)?,
                HostLower::Exported { op, resource } => {
                    let ty = *self.exported_types.get(resource).ok_or_else(|| {
                        Error::internal("an exported resource type was not defined")
                    })?;
                    let canon = section!(self.out, Canon, CanonicalFunctionSection);
                    match op {
                        ResourceOp::New => canon.resource_new(ty),
                        ResourceOp::Rep => canon.resource_rep(ty),
                        ResourceOp::Drop => canon.resource_drop(ty),
                    };
                }
                HostLower::ResourceDrop { .. } => {
                    unreachable!("the host's resource.drop needs no memory")
                }
            }
            lowered.push(next(&mut self.out.core_funcs));
            let sig = self
                .layout
                .host_signature(*h)
                .ok_or_else(|| Error::internal("host function without a signature"))?;
            let params: Vec<_> = sig
                .params()
                .iter()
                .map(|v| merge::val_type(*v))
                .collect::<Result<_>>()?;
            let results: Vec<_> = sig
                .results()
                .iter()
                .map(|v| merge::val_type(*v))
                .collect::<Result<_>>()?;
            fixup_types.ty().function(params, results);
            fixup_imports.import("", &slot.to_string(), EntityType::Function(slot as u32));
        }
        let n = self.layout.indirect.len() as u32;
        let has_init = self.layout.init_exported();
        let mut fixup = Module::new();
        if has_init {
            fixup_types.ty().function([], []);
            fixup_imports.import("", "init", EntityType::Function(n));
        }
        fixup.section(&fixup_types);
        fixup.section(&fixup_imports);
        if has_init {
            fixup.section(&StartSection { function_index: n });
        }
        let mut elems = ElementSection::new();
        let funcs: Vec<u32> = (0..n).collect();
        elems.active(
            Some(0),
            &wasm_encoder::ConstExpr::i32_const(0),
            Elements::Functions(funcs.into()),
        );
        fixup.section(&elems);
        let fixup = fixup.finish();
        let fixup_module = self.out.core_modules;
        self.out.raw(ComponentSectionId::CoreModule as u8, &fixup);
        self.out.core_modules += 1;

        let table = self.fused_alias(FusedExport::HostTable);
        let mut items: Vec<(String, ExportKind, u32)> =
            vec![("table".into(), ExportKind::Table, table)];
        for (slot, f) in lowered.iter().enumerate() {
            items.push((slot.to_string(), ExportKind::Func, *f));
        }
        if has_init {
            let init = self.fused_alias(FusedExport::Init);
            items.push(("init".into(), ExportKind::Func, init));
        }
        section!(self.out, CoreInstance, InstanceSection)
            .export_items(items.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        let bag = next(&mut self.out.core_instances);
        section!(self.out, CoreInstance, InstanceSection)
            .instantiate(fixup_module, [("", ModuleArg::Instance(bag))]);
        next(&mut self.out.core_instances);
        Ok(())
    }

    /// Instantiates, in the composition's order, each module the host
    /// supplies and each core instance of the composition's that one of
    /// those takes items from (hoisted out of the fused module); returns
    /// the fused module's arguments that pass their exports on.
    fn outside_instances(&mut self) -> Result<Vec<(String, ModuleArg)>> {
        let types = self.input.types.as_ref();
        // A host instance comes before the composition's instance at its
        // place.
        let mut order: Vec<(usize, bool, usize)> = self
            .graph
            .host_instances
            .iter()
            .enumerate()
            .map(|(k, h)| (h.after, false, k))
            .collect();
        order.extend(
            (0..self.graph.core_instances.len())
                .filter(|i| self.layout.hoisted[*i])
                .map(|i| (i, true, i)),
        );
        order.sort_unstable();
        let mut host_index: HashMap<usize, u32> = HashMap::new();
        let mut hoisted_index: HashMap<usize, u32> = HashMap::new();
        let mut modules: HashMap<u32, u32> = HashMap::new();
        let mut args = Vec::new();
        for (_, hoisted, k) in order {
            // Each import: (module, name, kind, source).
            let imports: Vec<(&str, &str, ExportKind, &CoreDef<'a>)> = if hoisted {
                let inst = &self.graph.core_instances[k];
                let m = &self.input.modules[inst.module.0 as usize];
                m.imports
                    .iter()
                    .zip(&inst.imports)
                    .map(|(i, d)| (i.module, i.name, merge::import_kind(&i.ty).into(), d))
                    .collect()
            } else {
                let inst = &self.graph.host_instances[k];
                let m = &self.graph.host_modules[inst.module.index()];
                let ty = types
                    .get(m.ty)
                    .ok_or_else(|| Error::internal("a module import without its type"))?;
                inst.imports
                    .iter()
                    .map(|(module, name, d)| {
                        let kind = match ty.imports.get(&(module.to_string(), name.to_string())) {
                            Some(wasmparser::types::EntityType::Table(_)) => ExportKind::Table,
                            Some(wasmparser::types::EntityType::Memory(_)) => ExportKind::Memory,
                            Some(wasmparser::types::EntityType::Global(_)) => ExportKind::Global,
                            Some(wasmparser::types::EntityType::Tag(_)) => ExportKind::Tag,
                            _ => ExportKind::Func,
                        };
                        (*module, *name, kind, d)
                    })
                    .collect()
            };
            // Each import module's items, as a bag of aliases.
            let mut bags: Vec<(&str, Bag<'_>)> = Vec::new();
            for (module, name, kind, def) in imports {
                let (source, from) = match def {
                    CoreDef::HostExport { instance, name } => {
                        (host_index.get(&instance.index()), *name)
                    }
                    CoreDef::Export { instance, name } => {
                        (hoisted_index.get(&instance.index()), *name)
                    }
                    _ => (None, name),
                };
                let source = *source.ok_or_else(|| {
                    Error::internal("an instance outside the fused module takes an item of it")
                })?;
                let index = self.out.alias(Alias::CoreInstanceExport {
                    instance: source,
                    kind,
                    name: from,
                });
                match bags.iter_mut().find(|(n, _)| *n == module) {
                    Some((_, items)) => items.push((name, kind, index)),
                    None => bags.push((module, vec![(name, kind, index)])),
                }
            }
            let mut module_args = Vec::new();
            for (module, items) in bags {
                section!(self.out, CoreInstance, InstanceSection).export_items(items);
                module_args.push((
                    module,
                    ModuleArg::Instance(next(&mut self.out.core_instances)),
                ));
            }
            let module = if hoisted {
                let id = self.graph.core_instances[k].module;
                match modules.get(&id.0) {
                    Some(m) => *m,
                    None => {
                        let m = self.embed_module(id)?;
                        modules.insert(id.0, m);
                        m
                    }
                }
            } else {
                let m = &self.graph.host_modules[self.graph.host_instances[k].module.index()];
                self.path_alias(&m.path, ComponentExportKind::Module)?
            };
            section!(self.out, CoreInstance, InstanceSection).instantiate(module, module_args);
            let index = next(&mut self.out.core_instances);
            if hoisted {
                hoisted_index.insert(k, index);
                if self
                    .layout
                    .imports_hoisted(crate::instantiate::CoreInstanceId(k as u32))
                {
                    args.push((format!("{}{k}", merge::HOISTED), ModuleArg::Instance(index)));
                }
            } else {
                host_index.insert(k, index);
                args.push((
                    format!("{}{k}", merge::HOST_INSTANCE),
                    ModuleArg::Instance(index),
                ));
            }
        }
        Ok(args)
    }

    /// Carries one of the input's core modules into the output as it is;
    /// returns its index there.
    fn embed_module(&mut self, id: crate::parse::ModuleId) -> Result<u32> {
        let m = &self.input.modules[id.0 as usize];
        let bytes = usize::try_from(m.offset)
            .ok()
            .and_then(|at| self.input.bytes.get(at..at.checked_add(m.size)?))
            .ok_or_else(|| Error::internal("a module lies outside the input"))?;
        self.out.raw(ComponentSectionId::CoreModule as u8, bytes);
        Ok(next(&mut self.out.core_modules))
    }

    /// The output's canonical options for `o`: its string encoding, and its
    /// memory, `realloc`, `post-return`, `async` and `callback` as the fused
    /// module exports them.
    fn canon_options(&mut self, o: &Options<'a>) -> Result<Vec<CanonicalOption>> {
        let mut opts = vec![encoding(o.string_encoding)];
        if let Some(m) = &o.memory {
            opts.push(CanonicalOption::Memory(
                self.core_alias(m, ExternalKind::Memory)?,
            ));
        }
        if let Some(r) = &o.realloc {
            opts.push(CanonicalOption::Realloc(
                self.core_alias(r, ExternalKind::Func)?,
            ));
        }
        if let Some(p) = &o.post_return {
            opts.push(CanonicalOption::PostReturn(
                self.core_alias(p, ExternalKind::Func)?,
            ));
        }
        opts.extend(o.async_.then_some(CanonicalOption::Async));
        if let Some(c) = &o.callback {
            let e = self.layout.callback_export(c)?;
            opts.push(CanonicalOption::Callback(self.fused_alias(e)));
        }
        Ok(opts)
    }

    fn core_alias(&mut self, def: &CoreDef<'a>, kind: ExternalKind) -> Result<u32> {
        let e = self.layout.fused_export(def, kind)?;
        Ok(self.fused_alias(e))
    }

    /// The wrapper's index of an item the fused module exports, aliasing
    /// it once.
    fn fused_alias(&mut self, e: FusedExport) -> u32 {
        if let Some(i) = self.core_aliases.get(&e) {
            return *i;
        }
        let i = self.out.alias(Alias::CoreInstanceExport {
            instance: self.fused_instance,
            kind: e.kind(),
            name: &e.name(),
        });
        self.core_aliases.insert(e, i);
        i
    }

    /// The index of an item of the root's imports, aliasing as needed.
    fn path_alias(&mut self, path: &HostPath<'a>, kind: ComponentExportKind) -> Result<u32> {
        let Some((last, rest)) = path.names.split_last() else {
            return Ok(path.root_index);
        };
        let mut instance = path.root_index;
        for (i, name) in rest.iter().enumerate() {
            let key = (path.names[..=i].to_vec(), path.root_index, false);
            instance = match self.path_aliases.get(&key) {
                Some(i) => *i,
                None => {
                    let a = self.out.alias(Alias::InstanceExport {
                        instance,
                        kind: ComponentExportKind::Instance,
                        name,
                    });
                    self.path_aliases.insert(key, a);
                    a
                }
            };
        }
        let key = (
            path.names.clone(),
            path.root_index,
            kind == ComponentExportKind::Type,
        );
        if let Some(i) = self.path_aliases.get(&key) {
            return Ok(*i);
        }
        let a = self.out.alias(Alias::InstanceExport {
            instance,
            kind,
            name: last,
        });
        self.path_aliases.insert(key, a);
        Ok(a)
    }

    fn export_item(
        &mut self,
        item: &Item<'a>,
        ty: &ComponentEntityType,
        name: &str,
    ) -> Result<(ComponentExportKind, u32)> {
        let types = self.input.types.as_ref();
        match (item, ty) {
            (Item::Func(Func::Lifted(l)), ComponentEntityType::Func(fty)) => {
                let type_index = types::func_type(self, types, *fty)?;
                let idx = self.layout.export_func(l)?;
                let core = self.fused_alias(
                    self.layout
                        .lifted_export(FuncIdx(idx), l.options.memory.is_some()),
                );
                let opts = self.canon_options(&l.options)?;
                section!(self.out, Canon, CanonicalFunctionSection).lift(core, type_index, opts);
                Ok((ComponentExportKind::Func, next(&mut self.out.funcs)))
            }
            (Item::Func(Func::Host(path)), _) => Ok((
                ComponentExportKind::Func,
                self.path_alias(path, ComponentExportKind::Func)?,
            )),
            (Item::Instance(InstanceVal::Host(path)), _) => Ok((
                ComponentExportKind::Instance,
                self.path_alias(path, ComponentExportKind::Instance)?,
            )),
            (
                Item::Type(TypeVal::Other),
                ComponentEntityType::Type {
                    referenced: ComponentAnyTypeId::Defined(r),
                    ..
                },
            ) => {
                match types::val_type(self, types, &PValType::Type(*r))? {
                    ComponentValType::Type(idx) => Ok((ComponentExportKind::Type, idx)),
                    ComponentValType::Primitive(p) => {
                        // A named primitive still needs a type index.
                        let (index, enc) = self.define();
                        enc.primitive(p);
                        Ok((ComponentExportKind::Type, index))
                    }
                }
            }
            (Item::Type(TypeVal::Host(path, _)), _) => Ok((
                ComponentExportKind::Type,
                self.path_alias(path, ComponentExportKind::Type)?,
            )),
            (Item::Instance(InstanceVal::Bag(items)), ComponentEntityType::Instance(id))
                if types[*id].exports.keys().any(|n| n.starts_with('[')) =>
            {
                self.export_interface(items, *id, name)
            }
            (Item::Instance(InstanceVal::Bag(items)), ComponentEntityType::Instance(id)) => {
                // Plain names: a bag of exports is enough, and keeps the
                // types the functions use as they are.
                let mut fields = Vec::new();
                for (n, item) in items.iter() {
                    let Some(t) = types[*id].exports.get(*n).map(|i| i.ty) else {
                        continue;
                    };
                    if let ComponentEntityType::Type {
                        created: ComponentAnyTypeId::Defined(c),
                        ..
                    } = t
                    {
                        // A named type of the interface: the functions that
                        // use it refer to it by this name, as in the input.
                        let (kind, index) = self.export_item(item, &t, n)?;
                        self.defined.insert(c, index);
                        fields.push((*n, kind, index));
                        continue;
                    }
                    let (kind, index) = self.export_item(item, &t, n)?;
                    fields.push((*n, kind, index));
                }
                section!(self.out, Instance, ComponentInstanceSection).export_items(fields);
                Ok((ComponentExportKind::Instance, next(&mut self.out.instances)))
            }
            (
                Item::Type(TypeVal::Resource(rt)),
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Resource(r),
                    ..
                },
            ) => {
                let ty = *self.exported_types.get(rt).ok_or_else(|| {
                    Error::internal(format!("exported resource type `{name}` was not defined"))
                })?;
                self.resource_aliases.insert(r.resource(), ty);
                Ok((ComponentExportKind::Type, ty))
            }
            (Item::Module(ModuleRef::Host(m)), _) => Ok((
                ComponentExportKind::Module,
                self.path_alias(
                    &self.graph.host_modules[m.index()].path,
                    ComponentExportKind::Module,
                )?,
            )),
            // The module goes into the output as it is in the input.
            (Item::Module(ModuleRef::Defined(m)), _) => {
                Ok((ComponentExportKind::Module, self.embed_module(*m)?))
            }
            (Item::Type(TypeVal::Other), ComponentEntityType::Type { referenced, .. })
                if self.prefix_type(*referenced).is_some() =>
            {
                // A type the root defines among its imports' types (an
                // instance or component type, say): the output carries it
                // at the same index.
                let index = self.prefix_type(*referenced).unwrap_or_default();
                Ok((ComponentExportKind::Type, index))
            }
            _ => Err(Error::unsupported(
                "export-kind",
                format!(
                    "exporting `{name}` of this kind from a fused component is not supported yet"
                ),
            )),
        }
    }

    /// The output's index of a type of the root's that the output carries
    /// verbatim with its imports.
    fn prefix_type(&self, id: ComponentAnyTypeId) -> Option<u32> {
        let prefix_types = self.input.prefix.counts.types as usize;
        self.input.components[0]
            .type_ids
            .iter()
            .take(prefix_types)
            .position(|t| *t == id)
            .map(|i| i as u32)
    }

    /// Exports the interface `items`, of instance type `id`, as the
    /// instance of a shim component (see [`shim`]) so that its functions
    /// keep their resource names.
    fn export_interface(
        &mut self,
        items: &Named<'a, Item<'a>>,
        id: ComponentInstanceTypeId,
        name: &str,
    ) -> Result<(ComponentExportKind, u32)> {
        let types = self.input.types.as_ref();
        let mut members = Vec::new();
        let mut funcs = Vec::new();
        // Types first: the functions' types refer to them.
        for (n, export) in &types[id].exports {
            let item = items.get(n).ok_or_else(|| {
                Error::internal(format!("exported interface `{name}` has no item `{n}`"))
            })?;
            let kind = match export.ty {
                ComponentEntityType::Func(f) => {
                    funcs.push((n.as_str(), item, f));
                    continue;
                }
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Resource(r),
                    ..
                } => MemberKind::Resource(r.resource()),
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Defined(c),
                    referenced: ComponentAnyTypeId::Defined(r),
                } => MemberKind::Type {
                    referenced: r,
                    created: c,
                    // A type an earlier export named (another interface's,
                    // as a WIT `use` gives) keeps its identity.
                    foreign: self.defined.contains_key(&r) || self.defined.contains_key(&c),
                },
                _ => {
                    return Err(Error::unsupported(
                        "export-kind",
                        format!(
                            "exporting `{name}`, an interface with item `{n}` of this kind, is not supported yet"
                        ),
                    ));
                }
            };
            let (_, outer) = self.export_item(item, &export.ty, n)?;
            members.push(Member {
                name: n,
                kind,
                outer,
            });
        }
        for (n, item, f) in funcs {
            let (_, outer) = self.export_item(item, &ComponentEntityType::Func(f), n)?;
            members.push(Member {
                name: n,
                kind: MemberKind::Func(f),
                outer,
            });
        }
        let mut mentioned = Vec::new();
        for m in &members {
            match m.kind {
                MemberKind::Resource(r) => {
                    if !mentioned.contains(&r) {
                        mentioned.push(r);
                    }
                }
                MemberKind::Type { referenced, .. } => {
                    types::resources_in(types, &PValType::Type(referenced), &mut mentioned);
                }
                MemberKind::Func(f) => {
                    let f = &types[f];
                    for t in f.params.iter().map(|(_, t)| t).chain(&f.result) {
                        types::resources_in(types, t, &mut mentioned);
                    }
                }
            }
        }
        let resources = mentioned
            .into_iter()
            .map(|r| Ok((r, self.resource_alias(r)?)))
            .collect::<Result<Vec<_>>>()?;
        let shim = shim::build(types, &members, &resources)?;
        self.out
            .raw(ComponentSectionId::Component as u8, &shim.bytes);
        let component = next(&mut self.out.components);
        section!(self.out, Instance, ComponentInstanceSection).instantiate(
            component,
            shim.args.iter().map(|(n, k, i)| (n.as_str(), *k, *i)),
        );
        let instance = next(&mut self.out.instances);
        for m in &members {
            if let MemberKind::Type {
                referenced,
                created,
                foreign: false,
            } = m.kind
            {
                self.interface_types
                    .push((instance, m.name.to_string(), [referenced, created]));
            }
        }
        Ok((ComponentExportKind::Instance, instance))
    }

    /// Later exports refer to the own named types of the interfaces just
    /// exported as the export names them: `exported` is the root's export
    /// of the instance `item`, if it is one.
    fn alias_interface_types(&mut self, item: u32, exported: Option<u32>) {
        for (instance, name, ids) in std::mem::take(&mut self.interface_types) {
            let instance = match exported {
                Some(e) if instance == item => e,
                _ => instance,
            };
            let index = self.out.alias(Alias::InstanceExport {
                instance,
                kind: ComponentExportKind::Type,
                name: &name,
            });
            for id in ids {
                self.defined.insert(id, index);
            }
        }
    }

    fn resource_alias(&mut self, r: ResourceId) -> Result<u32> {
        if let Some(i) = self.resource_aliases.get(&r) {
            return Ok(*i);
        }
        // A type of the kept import prefix is used as it is.
        let root = &self.input.components[0];
        let prefix_types = self.input.prefix.counts.types as usize;
        if let Some(i) = root
            .type_ids
            .iter()
            .take(prefix_types)
            .position(|t| matches!(t, ComponentAnyTypeId::Resource(x) if x.resource() == r))
        {
            self.resource_aliases.insert(r, i as u32);
            return Ok(i as u32);
        }
        // A resource type an inner component imported and was given at
        // instantiation: its exports name it by the inner component's id,
        // bound to the same run-time type as one of the root's imports (in
        // every instance of that component, or it is left unresolved).
        let same_type = |a: ResourceId, b: ResourceId| {
            let of = |x: ResourceId| {
                let mut bound = self
                    .graph
                    .resource_ids
                    .iter()
                    .filter(|((_, id), _)| *id == x)
                    .map(|(_, t)| *t);
                let first = bound.next()?;
                bound.all(|t| t == first).then_some(first)
            };
            of(a).is_some_and(|t| Some(t) == of(b))
        };
        let bound = self
            .resources
            .keys()
            .copied()
            .filter(|k| *k != r && same_type(*k, r))
            .min_by_key(|k| self.resources[k].0);
        if let (None, Some(k)) = (self.resources.get(&r), bound) {
            let i = self.resource_alias(k)?;
            self.resource_aliases.insert(r, i);
            return Ok(i);
        }
        let (instance, name) = self.resources.get(&r).cloned().ok_or_else(|| {
            Error::unsupported(
                "resources",
                "an exported function uses a resource that is not one of the root's imports",
            )
        })?;
        let i = self.out.alias(Alias::InstanceExport {
            instance,
            kind: ComponentExportKind::Type,
            name: &name,
        });
        self.resource_aliases.insert(r, i);
        Ok(i)
    }
}

impl TypeScope for Emitter<'_, '_> {
    fn known(&self, id: ComponentDefinedTypeId) -> Option<u32> {
        let types = self.input.types.as_ref();
        self.defined.get(&id).copied().or_else(|| {
            self.imported_types
                .iter()
                .find(|(i, _)| types::same_defined(types, *i, id))
                .map(|(_, x)| *x)
        })
    }

    fn remember(&mut self, id: ComponentDefinedTypeId, index: u32) {
        self.defined.insert(id, index);
    }

    fn resource(&mut self, r: ResourceId) -> Result<u32> {
        self.resource_alias(r)
    }

    fn define(&mut self) -> (u32, ComponentDefinedTypeEncoder<'_>) {
        let index = next(&mut self.out.types);
        let section = section!(self.out, Type, ComponentTypeSection);
        (index, section.defined_type())
    }

    fn function(&mut self) -> (u32, ComponentFuncTypeEncoder<'_>) {
        let index = next(&mut self.out.types);
        let section = section!(self.out, Type, ComponentTypeSection);
        (index, section.function())
    }
}

impl Out {
    fn bump_export(&mut self, kind: ComponentExportKind) {
        match kind {
            ComponentExportKind::Func => self.funcs += 1,
            ComponentExportKind::Type => self.types += 1,
            ComponentExportKind::Instance => self.instances += 1,
            ComponentExportKind::Module => self.core_modules += 1,
            ComponentExportKind::Component => self.components += 1,
            ComponentExportKind::Value => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> Out {
        Out {
            component: Component::new(),
            pending: Pending::None,
            funcs: 2,
            types: 3,
            instances: 1,
            components: 0,
            core_modules: 1,
            core_funcs: 0,
            core_instances: 0,
            core_memories: 0,
            core_tables: 0,
            core_globals: 0,
            core_tags: 0,
        }
    }

    #[test]
    fn aliases_count_in_their_own_index_space() {
        let mut o = out();
        let core = |kind| Alias::CoreInstanceExport {
            instance: 0,
            kind,
            name: "x",
        };
        assert_eq!(o.alias(core(ExportKind::Func)), 0);
        assert_eq!(o.alias(core(ExportKind::Func)), 1);
        assert_eq!(o.alias(core(ExportKind::Memory)), 0);
        assert_eq!(o.alias(core(ExportKind::Table)), 0);
        assert_eq!(o.alias(core(ExportKind::Global)), 0);
        // Component-level aliases continue after the prefix's items.
        let export = |kind| Alias::InstanceExport {
            instance: 0,
            kind,
            name: "y",
        };
        assert_eq!(o.alias(export(ComponentExportKind::Func)), 2);
        assert_eq!(o.alias(export(ComponentExportKind::Type)), 3);
        assert_eq!(o.alias(export(ComponentExportKind::Module)), 1);
        assert_eq!(o.alias(export(ComponentExportKind::Instance)), 1);
    }

    #[test]
    fn exports_add_to_their_kinds_index_space() {
        let mut o = out();
        for kind in [
            ComponentExportKind::Func,
            ComponentExportKind::Type,
            ComponentExportKind::Instance,
            ComponentExportKind::Module,
            ComponentExportKind::Component,
        ] {
            o.bump_export(kind);
        }
        assert_eq!(
            (o.funcs, o.types, o.instances, o.core_modules, o.components),
            (3, 4, 2, 2, 1)
        );
    }

    #[test]
    fn repeated_core_import_names_are_numbered() {
        let mut seen = HashMap::new();
        let a = unique(&mut seen, "m".into(), "f".into());
        let b = unique(&mut seen, "m".into(), "f".into());
        let c = unique(&mut seen, "n".into(), "f".into());
        assert_eq!(a, ("m".to_string(), "f".to_string()));
        assert_eq!(b, ("m".to_string(), "f#2".to_string()));
        assert_eq!(c, ("n".to_string(), "f".to_string()));
    }

    #[test]
    fn fused_exports_have_one_name_each() {
        let all = [
            FusedExport::Func(FuncIdx(3)),
            FusedExport::Memory(merge::MemIdx(3)),
            FusedExport::HostTable,
            FusedExport::Init,
        ];
        let names: std::collections::HashSet<String> = all.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), all.len());
        assert_eq!(
            FusedExport::Memory(merge::MemIdx(0)).kind(),
            ExportKind::Memory
        );
        assert_eq!(FusedExport::HostTable.kind(), ExportKind::Table);
    }
}
