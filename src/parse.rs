//! Reading a component into a tree that borrows from the input bytes.
//!
//! One pass over the input drives `wasmparser::Validator` and, beside it,
//! records every definition of every (nested) component in the order it
//! appears, as [`Def`]s: the static-instantiation stage replays that list the
//! way a runtime would. Core modules are recorded as borrowed section readers
//! and function bodies, so nothing is copied until the merge stage re-encodes
//! them. The validator's type information (component function types,
//! resource identities) is kept: later stages take types from it, never from
//! names.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::ops::Range;
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedTypeId, ComponentFuncTypeId, ComponentInstanceTypeId,
    ComponentValType,
};
use wasmparser::types::Types;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentImport,
    ComponentInstance, ComponentTypeRef, DataSectionReader, ElementSectionReader, Encoding,
    ExternalKind, FunctionBody, GlobalSectionReader, Instance, MemoryType, Parser, Payload,
    TableSectionReader, TagType, TypeRef, TypeSectionReader, ValidPayload, Validator, WasmFeatures,
};

/// Index of a component definition in [`Input::components`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentId(pub u32);

/// Index of a core module in [`Input::modules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleId(pub u32);

/// Limits that keep hostile input from exhausting memory or the stack.
pub mod limits {
    /// Largest input accepted, in bytes.
    pub const MAX_INPUT_SIZE: usize = 1 << 30;
    /// Deepest nesting of components and modules.
    pub const MAX_NESTING: usize = 64;
}

/// A parsed and validated input.
pub struct Input<'a> {
    /// The input bytes.
    pub bytes: &'a [u8],
    /// Every component definition; `components[0]` is the root.
    pub components: Vec<ComponentDef<'a>>,
    /// Every core module definition.
    pub modules: Vec<ModuleDef<'a>>,
    /// The validator's types, valid for every id recorded in the tree.
    pub types: Types,
    /// The root's leading type, import and alias sections, kept verbatim.
    pub prefix: Prefix<'a>,
    /// The custom sections the output carries over: every component's
    /// `producers` and the root's `component-name`.
    pub custom: CustomSections<'a>,
}

/// Custom sections of the input's components (module ones live on each
/// [`ModuleDef`]), as `(contents, offset)`.
#[derive(Default)]
pub struct CustomSections<'a> {
    /// Every component's `producers` section, in input order.
    pub producers: Vec<(&'a [u8], u64)>,
    /// The root component's `component-name` section.
    pub root_names: Option<(&'a [u8], u64)>,
}

/// The root component's leading sections that declare its imports, copied
/// as they are into the output so its imports keep their exact types.
#[derive(Default)]
pub struct Prefix<'a> {
    /// `(section id, section contents)` in input order: the input's bytes,
    /// or a section re-encoded with only the items that belong here.
    pub sections: Vec<(u8, std::borrow::Cow<'a, [u8]>)>,
    /// Items the prefix adds to each index space.
    pub counts: SpaceCounts,
}

/// Counts of items in the component-level index spaces.
#[derive(Default, Clone, Copy, Debug)]
pub struct SpaceCounts {
    /// Component functions.
    pub funcs: u32,
    /// Component types.
    pub types: u32,
    /// Component instances.
    pub instances: u32,
    /// Nested components.
    pub components: u32,
    /// Core modules.
    pub core_modules: u32,
    /// Core types.
    pub core_types: u32,
    /// Component values.
    pub values: u32,
}

impl SpaceCounts {
    fn absorb(&mut self, other: SpaceCounts) {
        self.funcs += other.funcs;
        self.types += other.types;
        self.instances += other.instances;
        self.components += other.components;
        self.core_modules += other.core_modules;
        self.core_types += other.core_types;
        self.values += other.values;
    }

    fn add(&mut self, kind: ComponentExternalKind) -> u32 {
        let slot = match kind {
            ComponentExternalKind::Func => &mut self.funcs,
            ComponentExternalKind::Type => &mut self.types,
            ComponentExternalKind::Instance => &mut self.instances,
            ComponentExternalKind::Component => &mut self.components,
            ComponentExternalKind::Module => &mut self.core_modules,
            ComponentExternalKind::Value => &mut self.values,
        };
        *slot += 1;
        *slot - 1
    }
}

/// One component definition: its path and its definitions in order.
pub struct ComponentDef<'a> {
    /// Where it sits in the input, e.g. `root/component[1]`.
    pub path: String,
    /// Definitions in the order the binary gives them.
    pub defs: Vec<Def<'a>>,
    /// The validator's identity of each item in the component's type
    /// index space (resources keep theirs through instantiation).
    pub type_ids: Vec<ComponentAnyTypeId>,
    /// The validator's type of each item in its instance index space.
    pub instance_ids: Vec<ComponentInstanceTypeId>,
    /// The byte offset of each definition in the input, beside `defs`.
    pub offsets: Vec<u64>,
}

/// Canonical options, with indices into the defining component's spaces.
#[derive(Debug, Clone, Default)]
pub struct CanonOptions {
    /// Core memory index.
    pub memory: Option<u32>,
    /// Core function index of `realloc`.
    pub realloc: Option<u32>,
    /// Core function index of `post-return`.
    pub post_return: Option<u32>,
    /// The string encoding.
    pub string_encoding: StringEncoding,
    /// `async`: the component model's async ABI.
    pub async_: bool,
    /// Core function index of an async lift's `callback`.
    pub callback: Option<u32>,
}

/// A string encoding of the canonical ABI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StringEncoding {
    /// UTF-8.
    #[default]
    Utf8,
    /// UTF-16.
    Utf16,
    /// latin1 or UTF-16, chosen per string.
    CompactUtf16,
}

/// One definition in a component, in binary order. Each adds one item to
/// one index space.
#[derive(Debug)]
pub enum Def<'a> {
    /// A nested core module.
    CoreModule(ModuleId),
    /// A core instance: instantiation or a bag of exports.
    CoreInstance(Instance<'a>),
    /// A core type (only counted).
    CoreType,
    /// A nested component.
    Component(ComponentId),
    /// A component instance.
    Instance(ComponentInstance<'a>),
    /// An alias.
    Alias(ComponentAlias<'a>),
    /// A component type definition.
    Type(TypeDef),
    /// `canon lift`.
    Lift {
        /// The core function lifted.
        core_func: u32,
        /// Its options.
        options: CanonOptions,
        /// The validator's type of the lifted function.
        ty: ComponentFuncTypeId,
    },
    /// `canon lower`.
    Lower {
        /// The component function lowered.
        func: u32,
        /// Its options.
        options: CanonOptions,
        /// The validator's type of the lowered function.
        ty: ComponentFuncTypeId,
        /// The core signature of an async lower (a sync lower's follows
        /// from `ty`).
        async_sig: Option<wasmparser::FuncType>,
    },
    /// One of the component model's async built-ins (`task.return`,
    /// `waitable-set.new`, `stream.read`, ...).
    Async(AsyncBuiltin),
    /// `canon resource.new`, `.rep` or `.drop`.
    Resource {
        /// Which built-in.
        op: ResourceOp,
        /// The resource type index.
        resource: u32,
    },
    /// An import.
    Import {
        /// The import's name.
        name: &'a str,
        /// What is imported.
        ty: ComponentTypeRef,
        /// The instance type, when an instance is imported.
        instance_ty: Option<ComponentInstanceTypeId>,
        /// For a root import, its index in its kind's space in the output,
        /// which carries the root's imports ahead of everything else.
        root_index: Option<u32>,
    },
    /// An export; it also adds an item to its kind's index space.
    Export {
        /// The export's name.
        name: &'a str,
        /// Its kind.
        kind: ComponentExternalKind,
        /// The exported item's index.
        index: u32,
    },
}

/// An async built-in as the input defines it, with what the output needs
/// to define it again: its type operands as the validator knows them and
/// its core signature.
#[derive(Debug, Clone)]
pub struct AsyncBuiltin {
    /// The built-in, with indices into the defining component's spaces.
    pub canon: CanonicalFunction,
    /// Its options (memory, realloc, encoding), where it takes any.
    pub options: CanonOptions,
    /// The core function's signature.
    pub sig: wasmparser::FuncType,
    /// The `stream` or `future` type a stream or future built-in works on.
    pub ty: Option<ComponentDefinedTypeId>,
    /// `task.return`'s result type.
    pub result: Option<ComponentValType>,
}

impl AsyncBuiltin {
    /// The spec's name of the built-in, for messages.
    pub fn name(&self) -> &'static str {
        builtin_name(&self.canon)
    }
}

/// A component type definition, as far as static instantiation cares.
#[derive(Debug, Clone, Copy)]
pub enum TypeDef {
    /// A resource type defined here, with its destructor (a core
    /// function index), if any.
    Resource {
        /// The destructor.
        dtor: Option<u32>,
    },
    /// Any other type.
    Other,
}

/// The resource built-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceOp {
    /// `resource.new`.
    New,
    /// `resource.rep`.
    Rep,
    /// `resource.drop`.
    Drop,
}

impl ResourceOp {
    /// The prefix of the built-in's canonical core import name.
    pub fn core_prefix(self) -> &'static str {
        match self {
            ResourceOp::New => "[resource-new]",
            ResourceOp::Rep => "[resource-rep]",
            ResourceOp::Drop => "[resource-drop]",
        }
    }
}

/// A core module, as borrowed readers over the input.
pub struct ModuleDef<'a> {
    /// Where it sits in the input, e.g. `root/component[0]/module[1]`.
    pub path: String,
    /// Byte offset of the module in the input.
    pub offset: u64,
    /// Size of the module in bytes.
    pub size: usize,
    /// The type section.
    pub types: Option<TypeSectionReader<'a>>,
    /// Number of types (all rec group members).
    pub type_count: u32,
    /// The function type of each type index (`None` for GC types).
    pub func_types: Vec<Option<wasmparser::FuncType>>,
    /// Imports in order.
    pub imports: Vec<wasmparser::Import<'a>>,
    /// Type index of each defined function.
    pub functions: Vec<u32>,
    /// The table section.
    pub tables: Option<TableSectionReader<'a>>,
    /// Number of defined tables.
    pub table_count: u32,
    /// Defined memories.
    pub memories: Vec<MemoryType>,
    /// The global section.
    pub globals: Option<GlobalSectionReader<'a>>,
    /// Number of defined globals.
    pub global_count: u32,
    /// Defined tags.
    pub tags: Vec<TagType>,
    /// Exports.
    pub exports: Vec<(&'a str, ExternalKind, u32)>,
    /// The position of each export in `exports`, by name.
    export_index: HashMap<&'a str, usize>,
    /// The start function.
    pub start: Option<u32>,
    /// The element section.
    pub elements: Option<ElementSectionReader<'a>>,
    /// Number of element segments.
    pub element_count: u32,
    /// The data section.
    pub data: Option<DataSectionReader<'a>>,
    /// Number of data segments.
    pub data_count: u32,
    /// Function bodies.
    pub code: Vec<FunctionBody<'a>>,
    /// The `name` custom section's contents and offset.
    pub names: Option<(&'a [u8], u64)>,
    /// The `producers` custom section's contents and offset.
    pub producers: Option<(&'a [u8], u64)>,
    /// Byte offset in the input of the code section's contents (its
    /// function count), the origin of the module's DWARF code addresses.
    pub code_start: u64,
    /// The module's DWARF: every `.debug_*` custom section, by name.
    pub debug: Vec<(&'a str, &'a [u8])>,
}

impl<'a> ModuleDef<'a> {
    fn new(path: String, offset: u64, size: usize) -> Self {
        ModuleDef {
            path,
            offset,
            size,
            types: None,
            type_count: 0,
            func_types: Vec::new(),
            imports: Vec::new(),
            functions: Vec::new(),
            tables: None,
            table_count: 0,
            memories: Vec::new(),
            globals: None,
            global_count: 0,
            tags: Vec::new(),
            exports: Vec::new(),
            export_index: HashMap::new(),
            start: None,
            elements: None,
            element_count: 0,
            data: None,
            data_count: 0,
            code: Vec::new(),
            names: None,
            producers: None,
            code_start: 0,
            debug: Vec::new(),
        }
    }

    /// Number of imports of each kind: `[func, table, memory, global, tag]`.
    pub fn import_counts(&self) -> [u32; 5] {
        let mut n = [0; 5];
        for i in &self.imports {
            n[match i.ty {
                TypeRef::Func(_) | TypeRef::FuncExact(_) => 0,
                TypeRef::Table(_) => 1,
                TypeRef::Memory(_) => 2,
                TypeRef::Global(_) => 3,
                TypeRef::Tag(_) => 4,
            }] += 1;
        }
        n
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<(ExternalKind, u32)> {
        let (_, kind, index) = self.exports[*self.export_index.get(name)?];
        Some((kind, index))
    }

    /// The body of function `f`; `None` for an imported function.
    pub fn body(&self, f: u32) -> Option<&FunctionBody<'a>> {
        let imported = self.import_counts()[0];
        self.code.get(f.checked_sub(imported)? as usize)
    }
}

enum Ctx<'a> {
    Component {
        id: ComponentId,
        funcs: u32,
        modules: u32,
        components: u32,
    },
    Module(Box<ModuleDef<'a>>),
}

struct Reader<'a> {
    bytes: &'a [u8],
    components: Vec<ComponentDef<'a>>,
    modules: Vec<Option<ModuleDef<'a>>>,
    stack: Vec<Ctx<'a>>,
    prefix: Prefix<'a>,
    custom: CustomSections<'a>,
    in_prefix: bool,
    /// Whether a root-level section that defines something was met: later
    /// sections that go to the prefix move ahead of it.
    after_body: bool,
    /// Such later sections, with what they add to each index space: they
    /// join the prefix when an import follows them, and only then.
    pending: Vec<(u8, std::borrow::Cow<'a, [u8]>, SpaceCounts)>,
    validator: Validator,
    /// The offset of the section or item being read.
    offset: u64,
}

/// Parses and validates `bytes`, which must be a component.
pub fn parse(bytes: &[u8]) -> Result<Input<'_>> {
    if bytes.len() > limits::MAX_INPUT_SIZE {
        return Err(Error::limit(format!(
            "input is {} bytes; the limit is {} bytes",
            bytes.len(),
            limits::MAX_INPUT_SIZE
        )));
    }
    let mut r = Reader {
        bytes,
        components: Vec::new(),
        modules: Vec::new(),
        stack: Vec::new(),
        prefix: Prefix::default(),
        custom: CustomSections::default(),
        in_prefix: true,
        after_body: false,
        pending: Vec::new(),
        validator: Validator::new_with_features(WasmFeatures::all()),
        offset: 0,
    };
    let mut allocs = wasmparser::FuncValidatorAllocations::default();
    let mut types = None;
    // An unsupported feature is reported once the whole input has
    // validated: an invalid input is malformed, whatever else it uses.
    let mut unsupported = None;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| Error::from_wasmparser(e, &r.path()))?;
        match payload {
            Payload::Version { ref range, .. } => {
                if depth >= limits::MAX_NESTING {
                    return Err(Error::limit(format!(
                        "components and modules nest deeper than {}",
                        limits::MAX_NESTING
                    ))
                    .at_path(&r.path())
                    .at_offset(range.start));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        let valid = r.validator.payload(&payload).map_err(|e| match payload {
            Payload::InstanceSection(_) | Payload::ComponentInstanceSection(_) => {
                Error::from_instantiation(e, &r.path())
            }
            _ => Error::from_wasmparser(e, &r.path()),
        })?;
        match valid {
            ValidPayload::Func(func, body) => {
                let mut v = func.into_validator(std::mem::take(&mut allocs));
                v.validate(&body)
                    .map_err(|e| Error::from_wasmparser(e, &r.path()))?;
                allocs = v.into_allocations();
            }
            ValidPayload::End(t) if depth == 0 => types = Some(t),
            _ => {}
        }
        let adds_types = matches!(
            payload,
            Payload::ComponentTypeSection(_)
                | Payload::ComponentImportSection(_)
                | Payload::ComponentAliasSection(_)
                | Payload::ComponentInstanceSection(_)
                | Payload::ComponentExportSection(_)
                | Payload::ComponentCanonicalSection(_)
        );
        if unsupported.is_none() {
            match r.payload(payload) {
                Err(e) if e.kind() == crate::ErrorKind::Unsupported => unsupported = Some(e),
                other => other?,
            }
            if adds_types {
                r.record_type_ids()?;
            }
        }
    }
    if let Some(e) = unsupported {
        return Err(e);
    }
    let types = types.ok_or_else(|| Error::malformed("input ends before the component does"))?;
    let modules = r
        .modules
        .into_iter()
        .map(|m| m.ok_or_else(|| Error::malformed("a core module never ends")))
        .collect::<Result<_>>()?;
    Ok(Input {
        bytes,
        components: r.components,
        modules,
        types,
        prefix: r.prefix,
        custom: r.custom,
    })
}

fn options(opts: &[CanonicalOption], path: &str, offset: u64) -> Result<CanonOptions> {
    let mut o = CanonOptions::default();
    for opt in opts {
        match *opt {
            CanonicalOption::UTF8 => o.string_encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => o.string_encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => o.string_encoding = StringEncoding::CompactUtf16,
            CanonicalOption::Memory(m) => o.memory = Some(m),
            CanonicalOption::Realloc(f) => o.realloc = Some(f),
            CanonicalOption::PostReturn(f) => o.post_return = Some(f),
            CanonicalOption::Async => o.async_ = true,
            CanonicalOption::Callback(f) => o.callback = Some(f),
            CanonicalOption::CoreType(_) | CanonicalOption::Gc => {
                return Err(unsupported("gc-abi", "the GC canonical ABI", path, offset));
            }
        }
    }
    Ok(o)
}

/// The indices into the input of a range of its byte offsets. wasmparser
/// counts offsets in `u64`; an offset that does not fit a `usize` cannot
/// be in the input, and is an error rather than a panic.
fn span(range: &Range<u64>) -> Result<Range<usize>> {
    let index = |offset: u64| {
        usize::try_from(offset).map_err(|_| {
            Error::malformed(format!("byte offset {offset} is beyond the input")).at_offset(offset)
        })
    };
    Ok(index(range.start)?..index(range.end)?)
}

/// The spec's name of a canonical built-in, for messages.
fn builtin_name(c: &CanonicalFunction) -> &'static str {
    use CanonicalFunction as C;
    match c {
        C::Lift { .. } => "canon lift",
        C::Lower { .. } => "canon lower",
        C::ResourceNew { .. } => "resource.new",
        C::ResourceDrop { .. } => "resource.drop",
        C::ResourceRep { .. } => "resource.rep",
        C::ThreadSpawnRef { .. } => "thread.spawn-ref",
        C::ThreadSpawnIndirect { .. } => "thread.spawn-indirect",
        C::ThreadAvailableParallelism => "thread.available-parallelism",
        C::BackpressureInc => "backpressure.inc",
        C::BackpressureDec => "backpressure.dec",
        C::TaskReturn { .. } => "task.return",
        C::TaskCancel => "task.cancel",
        C::ContextGet { .. } => "context.get",
        C::ContextSet { .. } => "context.set",
        C::ThreadYield { .. } => "thread.yield",
        C::SubtaskDrop => "subtask.drop",
        C::SubtaskCancel { .. } => "subtask.cancel",
        C::StreamNew { .. } => "stream.new",
        C::StreamRead { .. } => "stream.read",
        C::StreamWrite { .. } => "stream.write",
        C::StreamCancelRead { .. } => "stream.cancel-read",
        C::StreamCancelWrite { .. } => "stream.cancel-write",
        C::StreamDropReadable { .. } => "stream.drop-readable",
        C::StreamDropWritable { .. } => "stream.drop-writable",
        C::FutureNew { .. } => "future.new",
        C::FutureRead { .. } => "future.read",
        C::FutureWrite { .. } => "future.write",
        C::FutureCancelRead { .. } => "future.cancel-read",
        C::FutureCancelWrite { .. } => "future.cancel-write",
        C::FutureDropReadable { .. } => "future.drop-readable",
        C::FutureDropWritable { .. } => "future.drop-writable",
        C::ErrorContextNew { .. } => "error-context.new",
        C::ErrorContextDebugMessage { .. } => "error-context.debug-message",
        C::ErrorContextDrop => "error-context.drop",
        C::WaitableSetNew => "waitable-set.new",
        C::WaitableSetWait { .. } => "waitable-set.wait",
        C::WaitableSetPoll { .. } => "waitable-set.poll",
        C::WaitableSetDrop => "waitable-set.drop",
        C::WaitableJoin => "waitable.join",
        C::ThreadIndex => "thread.index",
        C::ThreadNewIndirect { .. } => "thread.new-indirect",
        C::ThreadResumeLater => "thread.resume-later",
        C::ThreadSuspend { .. } => "thread.suspend",
        C::ThreadSuspendThenResume { .. } => "thread.suspend-then-resume",
        C::ThreadYieldThenResume { .. } => "thread.yield-then-resume",
        C::ThreadSuspendThenPromote { .. } => "thread.suspend-then-promote",
        C::ThreadYieldThenPromote { .. } => "thread.yield-then-promote",
    }
}

/// Whether `c` is an async built-in the output can define again for the
/// host (every async one but the `thread.*` family of stackful threads).
fn passes_through(c: &CanonicalFunction) -> bool {
    use CanonicalFunction as C;
    matches!(
        c,
        C::BackpressureInc
            | C::BackpressureDec
            | C::TaskReturn { .. }
            | C::TaskCancel
            | C::ContextGet { .. }
            | C::ContextSet { .. }
            | C::ThreadYield { .. }
            | C::SubtaskDrop
            | C::SubtaskCancel { .. }
            | C::StreamNew { .. }
            | C::StreamRead { .. }
            | C::StreamWrite { .. }
            | C::StreamCancelRead { .. }
            | C::StreamCancelWrite { .. }
            | C::StreamDropReadable { .. }
            | C::StreamDropWritable { .. }
            | C::FutureNew { .. }
            | C::FutureRead { .. }
            | C::FutureWrite { .. }
            | C::FutureCancelRead { .. }
            | C::FutureCancelWrite { .. }
            | C::FutureDropReadable { .. }
            | C::FutureDropWritable { .. }
            | C::ErrorContextNew { .. }
            | C::ErrorContextDebugMessage { .. }
            | C::ErrorContextDrop
            | C::WaitableSetNew
            | C::WaitableSetWait { .. }
            | C::WaitableSetPoll { .. }
            | C::WaitableSetDrop
            | C::WaitableJoin
    )
}

/// The validator's signature of core function `index` of the current
/// component.
fn core_signature(t: wasmparser::types::TypesRef<'_>, index: u32) -> Result<wasmparser::FuncType> {
    if index >= t.function_count() {
        return Err(Error::malformed(format!(
            "core function {index} has no type"
        )));
    }
    match &t[t.core_function_at(index)].composite_type.inner {
        wasmparser::CompositeInnerType::Func(f) => Ok(f.clone()),
        _ => Err(Error::malformed(format!(
            "core function {index} is not a function"
        ))),
    }
}

fn unsupported(feature: &str, what: &str, path: &str, offset: u64) -> Error {
    Error::unsupported(feature, format!("{what} is not supported yet"))
        .at_path(path)
        .at_offset(offset)
}

impl<'a> Reader<'a> {
    fn path(&self) -> String {
        match self.stack.last() {
            Some(Ctx::Component { id, .. }) => self.components[id.0 as usize].path.clone(),
            Some(Ctx::Module(m)) => m.path.clone(),
            None => "root".to_string(),
        }
    }

    fn component(&mut self) -> Result<(&mut ComponentDef<'a>, ComponentId)> {
        match self.stack.last() {
            Some(Ctx::Component { id, .. }) => {
                let id = *id;
                Ok((&mut self.components[id.0 as usize], id))
            }
            _ => Err(Error::malformed("component section outside a component")),
        }
    }

    /// Records the validator's ids of the types and instances the current
    /// component's last section added.
    fn record_type_ids(&mut self) -> Result<()> {
        let Some(types) = self.validator.types(0) else {
            return Ok(());
        };
        let (type_count, instance_count) = (
            types.component_type_count(),
            types.component_instance_count(),
        );
        let (c, _) = match self.stack.last() {
            Some(Ctx::Component { id, .. }) => {
                let id = *id;
                (&mut self.components[id.0 as usize], id)
            }
            _ => return Ok(()),
        };
        for i in c.type_ids.len() as u32..type_count {
            c.type_ids.push(types.component_any_type_at(i));
        }
        for i in c.instance_ids.len() as u32..instance_count {
            c.instance_ids.push(types.component_instance_at(i));
        }
        Ok(())
    }

    fn push_def(&mut self, def: Def<'a>) -> Result<()> {
        let offset = self.offset;
        let component = self.component()?.0;
        component.defs.push(def);
        component.offsets.push(offset);
        Ok(())
    }

    fn count_func(&mut self) -> u32 {
        match self.stack.last_mut() {
            Some(Ctx::Component { funcs, .. }) => {
                *funcs += 1;
                *funcs - 1
            }
            _ => 0,
        }
    }

    fn module(&mut self) -> Result<&mut ModuleDef<'a>> {
        match self.stack.last_mut() {
            Some(Ctx::Module(m)) => Ok(m),
            _ => Err(Error::malformed("core section outside a module")),
        }
    }

    /// Records a root-level section that only declares imports (types,
    /// imports, aliases of imported instances' exports; `adds` is what it
    /// adds to the index spaces), so the output can carry it verbatim, ahead
    /// of everything else: it stays valid there while no earlier section
    /// defined a type or an instance it could name
    /// ([`Reader::body_section`]). One that follows a definition joins the
    /// prefix only when an import follows it: the output needs it then.
    fn prefix_section(
        &mut self,
        id: u8,
        bytes: std::borrow::Cow<'a, [u8]>,
        adds: SpaceCounts,
        offset: u64,
    ) -> Result<()> {
        let import = id == wasm_encoder::ComponentSectionId::Import as u8;
        if self.stack.len() != 1 {
            return Ok(());
        }
        if !self.in_prefix {
            if import {
                return Err(unsupported(
                    "late-import",
                    "a root import after definitions of types or instances",
                    "root",
                    offset,
                ));
            }
            return Ok(());
        }
        if !self.after_body || import {
            for (id, bytes, adds) in std::mem::take(&mut self.pending) {
                self.prefix.counts.absorb(adds);
                self.prefix.sections.push((id, bytes));
            }
            self.prefix.counts.absorb(adds);
            self.prefix.sections.push((id, bytes));
        } else {
            self.pending.push((id, bytes, adds));
        }
        Ok(())
    }

    /// The input's bytes in `range`.
    fn slice(&self, range: &Range<u64>) -> Result<&'a [u8]> {
        self.bytes.get(span(range)?).ok_or_else(|| {
            Error::malformed("a section runs past the end of the input").at_offset(range.start)
        })
    }

    /// Notes a root-level section that defines something. One that adds
    /// component types, core types or instances (`defines_types`) ends the
    /// prefix: a later import could name what it added. Modules,
    /// components, core instances and functions leave it open.
    fn body_section(&mut self, defines_types: bool) {
        if self.stack.len() == 1 {
            self.after_body = true;
            if defines_types {
                self.in_prefix = false;
            }
        }
    }

    fn payload(&mut self, payload: Payload<'a>) -> Result<()> {
        use wasm_encoder::ComponentSectionId as Id;
        let path = self.path();
        if let Some((_, range)) = payload.as_section() {
            self.offset = range.start;
        }
        match payload {
            Payload::Version {
                encoding, range, ..
            } => {
                match (encoding, self.stack.is_empty()) {
                    (Encoding::Module, true) => {
                        return Err(
                            Error::malformed("expected a component, found a core module")
                                .at_path("root")
                                .at_offset(range.start),
                        );
                    }
                    (Encoding::Component, true) => {
                        self.components.push(ComponentDef {
                            path: "root".into(),
                            defs: Vec::new(),
                            type_ids: Vec::new(),
                            instance_ids: Vec::new(),
                            offsets: Vec::new(),
                        });
                        self.stack.push(Ctx::Component {
                            id: ComponentId(0),
                            funcs: 0,
                            modules: 0,
                            components: 0,
                        });
                    }
                    // Nested headers were announced by their section payloads.
                    _ => {}
                }
            }
            Payload::ModuleSection {
                unchecked_range, ..
            } => self.module_start(&unchecked_range, &path)?,
            Payload::ComponentSection { .. } => self.component_start(&path)?,
            Payload::End(_) => match self.stack.pop() {
                Some(Ctx::Module(m)) => {
                    let slot = self
                        .modules
                        .iter()
                        .rposition(Option::is_none)
                        .ok_or_else(|| Error::malformed("unbalanced module end"))?;
                    self.modules[slot] = Some(*m);
                }
                Some(Ctx::Component { .. }) => {}
                None => return Err(Error::malformed("unbalanced end")),
            },
            Payload::InstanceSection(s) => {
                self.body_section(false);
                for i in s.into_iter_with_offsets() {
                    let (offset, i) = i.map_err(|e| Error::from_wasmparser(e, &path))?;
                    self.offset = offset;
                    self.push_def(Def::CoreInstance(i))?;
                }
            }
            Payload::CoreTypeSection(s) => {
                let adds = SpaceCounts {
                    core_types: s.count(),
                    ..SpaceCounts::default()
                };
                let bytes = self.slice(&s.range())?;
                self.prefix_section(Id::CoreType as u8, bytes.into(), adds, s.range().start)?;
                for _ in 0..s.count() {
                    self.push_def(Def::CoreType)?;
                }
            }
            Payload::ComponentInstanceSection(s) => {
                self.body_section(true);
                for i in s.into_iter_with_offsets() {
                    let (offset, i) = i.map_err(|e| Error::from_wasmparser(e, &path))?;
                    self.offset = offset;
                    self.push_def(Def::Instance(i))?;
                }
            }
            Payload::ComponentAliasSection(s) => self.alias_section(s, &path)?,
            Payload::ComponentTypeSection(s) => {
                let adds = SpaceCounts {
                    types: s.count(),
                    ..SpaceCounts::default()
                };
                let bytes = self.slice(&s.range())?;
                self.prefix_section(Id::Type as u8, bytes.into(), adds, s.range().start)?;
                for t in s.into_iter_with_offsets() {
                    let (offset, t) = t.map_err(|e| Error::from_wasmparser(e, &path))?;
                    self.offset = offset;
                    let def = match t {
                        wasmparser::ComponentType::Resource { dtor, .. } => {
                            TypeDef::Resource { dtor }
                        }
                        _ => TypeDef::Other,
                    };
                    self.push_def(Def::Type(def))?;
                }
            }
            Payload::ComponentCanonicalSection(s) => {
                self.body_section(false);
                let items = s
                    .into_iter_with_offsets()
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::from_wasmparser(e, &path))?;
                // The validator has read the whole section: every item but a
                // lift added a core function, the first of them at `core`.
                let added = items
                    .iter()
                    .filter(|(_, c)| !matches!(c, CanonicalFunction::Lift { .. }))
                    .count() as u32;
                let mut core = self
                    .validator
                    .types(0)
                    .map_or(0, |t| t.function_count())
                    .saturating_sub(added);
                for (offset, c) in items {
                    self.offset = offset;
                    let lift = matches!(c, CanonicalFunction::Lift { .. });
                    self.canonical(c, core, &path, offset)?;
                    core += u32::from(!lift);
                }
            }
            Payload::ComponentStartSection { range, .. } => {
                return Err(unsupported(
                    "component-start",
                    "a component start function",
                    &path,
                    range.start,
                ));
            }
            Payload::ComponentImportSection(s) => self.import_section(s, &path)?,
            Payload::ComponentExportSection(s) => {
                self.body_section(true);
                for e in s.into_iter_with_offsets() {
                    let (offset, e) = e.map_err(|e| Error::from_wasmparser(e, &path))?;
                    self.offset = offset;
                    if e.kind == ComponentExternalKind::Func {
                        self.count_func();
                    }
                    self.push_def(Def::Export {
                        name: e.name.name,
                        kind: e.kind,
                        index: e.index,
                    })?;
                }
            }
            payload => self.core_payload(payload)?,
        }
        Ok(())
    }

    /// A component alias section.
    fn alias_section(
        &mut self,
        s: wasmparser::ComponentAliasSectionReader<'a>,
        path: &str,
    ) -> Result<()> {
        use wasm_encoder::ComponentSectionId as Id;
        // While the prefix is open, an alias of an instance's export
        // is of an imported instance's, and declares an import; an
        // alias of a core instance's export defines a core item,
        // which later imports cannot name. Before any definition the
        // prefix keeps such a section as it is; after one, only the
        // aliases of types and instances, which later imports may
        // name, re-encoded.
        let late = self.after_body;
        let mut kept = wasm_encoder::ComponentAliasSection::new();
        let mut adds = SpaceCounts::default();
        let mut defines_types = false;
        for a in s.clone().into_iter_with_offsets() {
            let (offset, a) = a.map_err(|e| Error::from_wasmparser(e, path))?;
            self.offset = offset;
            match a {
                ComponentAlias::InstanceExport {
                    kind,
                    instance_index,
                    name,
                } => {
                    if kind == ComponentExternalKind::Func {
                        self.count_func();
                    }
                    let declares = matches!(
                        kind,
                        ComponentExternalKind::Type | ComponentExternalKind::Instance
                    );
                    if declares || !late {
                        adds.add(kind);
                        kept.alias(wasm_encoder::Alias::InstanceExport {
                            instance: instance_index,
                            kind: kind.into(),
                            name,
                        });
                    }
                }
                ComponentAlias::CoreInstanceExport { .. } => {}
                ComponentAlias::Outer { .. } => defines_types = true,
            }
            self.push_def(Def::Alias(a))?;
        }
        if kept.len() == s.count() {
            let bytes = self.slice(&s.range())?;
            self.prefix_section(Id::Alias as u8, bytes.into(), adds, s.range().start)?;
        } else if !kept.is_empty() {
            // The encoding is the contents' size, then the contents.
            let mut bytes = Vec::new();
            wasm_encoder::Encode::encode(&kept, &mut bytes);
            let mut r = wasmparser::BinaryReader::new(&bytes, 0);
            r.read_var_u32()
                .map_err(|e| Error::internal(e.message().to_string()))?;
            let contents = bytes[r.current_position()..].to_vec();
            self.prefix_section(Id::Alias as u8, contents.into(), adds, s.range().start)?;
        }
        if kept.len() != s.count() {
            self.body_section(defines_types);
        }
        Ok(())
    }

    /// A component import section.
    fn import_section(
        &mut self,
        s: wasmparser::ComponentImportSectionReader<'a>,
        path: &str,
    ) -> Result<()> {
        use wasm_encoder::ComponentSectionId as Id;
        // The imports count themselves below, in order.
        let bytes = self.slice(&s.range())?;
        self.prefix_section(
            Id::Import as u8,
            bytes.into(),
            SpaceCounts::default(),
            s.range().start,
        )?;
        for i in s.into_iter_with_offsets() {
            let (offset, ComponentImport { name, ty }) =
                i.map_err(|e| Error::from_wasmparser(e, path))?;
            self.offset = offset;
            let kind = match ty {
                ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
                ComponentTypeRef::Type(_) => ComponentExternalKind::Type,
                ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
                ComponentTypeRef::Component(_) => ComponentExternalKind::Component,
                ComponentTypeRef::Module(_) => ComponentExternalKind::Module,
                ComponentTypeRef::Value(_) => ComponentExternalKind::Value,
            };
            if kind == ComponentExternalKind::Func {
                self.count_func();
            }
            let root_index =
                (self.stack.len() == 1 && self.in_prefix).then(|| self.prefix.counts.add(kind));
            let instance_ty = match ty {
                ComponentTypeRef::Instance(_) => {
                    let types = self.validator.types(0);
                    types.and_then(|t| {
                        match t.component_item_for_import(name.name).map(|i| &i.ty) {
                            Some(wasmparser::component_types::ComponentEntityType::Instance(
                                id,
                            )) => Some(*id),
                            _ => None,
                        }
                    })
                }
                _ => None,
            };
            self.push_def(Def::Import {
                name: name.name,
                ty,
                instance_ty,
                root_index,
            })?;
        }
        Ok(())
    }

    /// The start of a core module nested in the current component.
    fn module_start(&mut self, unchecked_range: &Range<u64>, path: &str) -> Result<()> {
        self.body_section(false);
        let (index, parent_path) = match self.stack.last_mut() {
            Some(Ctx::Component { modules, .. }) => {
                *modules += 1;
                (*modules - 1, path.to_string())
            }
            _ => return Err(Error::malformed("module outside a component")),
        };
        let id = ModuleId(self.modules.len() as u32);
        self.modules.push(None);
        self.push_def(Def::CoreModule(id))?;
        self.stack.push(Ctx::Module(Box::new(ModuleDef::new(
            format!("{parent_path}/module[{index}]"),
            unchecked_range.start,
            span(unchecked_range)?.len(),
        ))));
        Ok(())
    }

    /// The start of a component nested in the current one.
    fn component_start(&mut self, path: &str) -> Result<()> {
        self.body_section(false);
        let index = match self.stack.last_mut() {
            Some(Ctx::Component { components, .. }) => {
                *components += 1;
                *components - 1
            }
            _ => return Err(Error::malformed("component outside a component")),
        };
        let id = ComponentId(self.components.len() as u32);
        self.push_def(Def::Component(id))?;
        self.components.push(ComponentDef {
            path: format!("{path}/component[{index}]"),
            defs: Vec::new(),
            type_ids: Vec::new(),
            instance_ids: Vec::new(),
            offsets: Vec::new(),
        });
        self.stack.push(Ctx::Component {
            id,
            funcs: 0,
            modules: 0,
            components: 0,
        });
        Ok(())
    }

    /// Records canonical definition `c`; `core` is the index of the core
    /// function it adds, unless it is a lift.
    fn canonical(
        &mut self,
        c: CanonicalFunction,
        core: u32,
        path: &str,
        offset: u64,
    ) -> Result<()> {
        let types = || {
            self.validator
                .types(0)
                .ok_or_else(|| Error::malformed("no type information for the current component"))
        };
        let def = match c {
            CanonicalFunction::Lift {
                core_func_index,
                options: opts,
                ..
            } => {
                let index = match self.stack.last() {
                    Some(Ctx::Component { funcs, .. }) => *funcs,
                    _ => 0,
                };
                let ty = types()?.component_function_at(index);
                self.count_func();
                Def::Lift {
                    core_func: core_func_index,
                    options: options(&opts, path, offset)?,
                    ty,
                }
            }
            CanonicalFunction::Lower {
                func_index,
                options: opts,
            } => {
                let t = types()?;
                let ty = t.component_function_at(func_index);
                let options = options(&opts, path, offset)?;
                let async_sig = options
                    .async_
                    .then(|| core_signature(t, core))
                    .transpose()?;
                Def::Lower {
                    func: func_index,
                    options,
                    ty,
                    async_sig,
                }
            }
            CanonicalFunction::ResourceNew { resource } => Def::Resource {
                op: ResourceOp::New,
                resource,
            },
            CanonicalFunction::ResourceRep { resource } => Def::Resource {
                op: ResourceOp::Rep,
                resource,
            },
            CanonicalFunction::ResourceDrop { resource } => Def::Resource {
                op: ResourceOp::Drop,
                resource,
            },
            other if passes_through(&other) => {
                let sig = core_signature(types()?, core)?;
                Def::Async(self.async_builtin(other, sig, path, offset)?)
            }
            other => {
                return Err(unsupported(
                    "canon-builtin",
                    &format!("the canonical built-in `{}`", builtin_name(&other)),
                    path,
                    offset,
                ));
            }
        };
        self.push_def(def)
    }

    /// An async built-in whose core function has signature `sig`, with its
    /// type operands resolved.
    fn async_builtin(
        &mut self,
        canon: CanonicalFunction,
        sig: wasmparser::FuncType,
        path: &str,
        offset: u64,
    ) -> Result<AsyncBuiltin> {
        use CanonicalFunction as C;
        let (c, _) = self.component()?;
        let defined = |index: u32| match c.type_ids.get(index as usize) {
            Some(ComponentAnyTypeId::Defined(id)) => Ok(*id),
            _ => Err(
                Error::malformed(format!("type {index} is not a defined type"))
                    .at_path(path)
                    .at_offset(offset),
            ),
        };
        let (mut opts, mut ty, mut result) = (CanonOptions::default(), None, None);
        match &canon {
            C::TaskReturn { result: r, options } => {
                opts = self::options(options, path, offset)?;
                result = match r {
                    None => None,
                    Some(wasmparser::ComponentValType::Primitive(p)) => {
                        Some(ComponentValType::Primitive(*p))
                    }
                    Some(wasmparser::ComponentValType::Type(i)) => {
                        Some(ComponentValType::Type(defined(*i)?))
                    }
                };
            }
            C::StreamRead { ty: i, options }
            | C::StreamWrite { ty: i, options }
            | C::FutureRead { ty: i, options }
            | C::FutureWrite { ty: i, options } => {
                opts = self::options(options, path, offset)?;
                ty = Some(defined(*i)?);
            }
            C::StreamNew { ty: i }
            | C::StreamCancelRead { ty: i, .. }
            | C::StreamCancelWrite { ty: i, .. }
            | C::StreamDropReadable { ty: i }
            | C::StreamDropWritable { ty: i }
            | C::FutureNew { ty: i }
            | C::FutureCancelRead { ty: i, .. }
            | C::FutureCancelWrite { ty: i, .. }
            | C::FutureDropReadable { ty: i }
            | C::FutureDropWritable { ty: i } => ty = Some(defined(*i)?),
            C::ErrorContextNew { options } | C::ErrorContextDebugMessage { options } => {
                opts = self::options(options, path, offset)?;
            }
            C::WaitableSetWait { memory, .. } | C::WaitableSetPoll { memory, .. } => {
                opts.memory = Some(*memory);
            }
            _ => {}
        }
        Ok(AsyncBuiltin {
            canon,
            options: opts,
            sig,
            ty,
            result,
        })
    }

    fn core_payload(&mut self, payload: Payload<'a>) -> Result<()> {
        let path = self.path();
        let err = |e: wasmparser::BinaryReaderError| Error::from_wasmparser(e, &path);
        match payload {
            Payload::TypeSection(s) => {
                let m = self.module()?;
                for group in s.clone() {
                    for sub in group.map_err(err)?.into_types() {
                        m.type_count += 1;
                        m.func_types.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f.clone()),
                            _ => None,
                        });
                    }
                }
                m.types = Some(s);
            }
            Payload::ImportSection(s) => {
                let m = self.module()?;
                for i in s.into_imports() {
                    m.imports.push(i.map_err(err)?);
                }
            }
            Payload::FunctionSection(s) => {
                let m = self.module()?;
                for f in s {
                    m.functions.push(f.map_err(err)?);
                }
            }
            Payload::TableSection(s) => {
                let m = self.module()?;
                m.table_count = s.count();
                m.tables = Some(s);
            }
            Payload::MemorySection(s) => {
                let m = self.module()?;
                for mem in s {
                    m.memories.push(mem.map_err(err)?);
                }
            }
            Payload::TagSection(s) => {
                let m = self.module()?;
                for t in s {
                    m.tags.push(t.map_err(err)?);
                }
            }
            Payload::GlobalSection(s) => {
                let m = self.module()?;
                m.global_count = s.count();
                m.globals = Some(s);
            }
            Payload::ExportSection(s) => {
                let m = self.module()?;
                for e in s {
                    let e = e.map_err(err)?;
                    m.export_index.entry(e.name).or_insert(m.exports.len());
                    m.exports.push((e.name, e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => self.module()?.start = Some(func),
            Payload::ElementSection(s) => {
                let m = self.module()?;
                m.element_count = s.count();
                m.elements = Some(s);
            }
            Payload::DataSection(s) => {
                let m = self.module()?;
                m.data_count = s.count();
                m.data = Some(s);
            }
            Payload::CodeSectionEntry(body) => self.module()?.code.push(body),
            Payload::CustomSection(c) => {
                let section = (c.data(), c.data_offset());
                match (self.stack.last_mut(), c.name()) {
                    (Some(Ctx::Module(m)), "name") => m.names = Some(section),
                    (Some(Ctx::Module(m)), "producers") => m.producers = Some(section),
                    (Some(Ctx::Module(m)), name) if name.starts_with(".debug_") => {
                        m.debug.push((name, c.data()))
                    }
                    (Some(Ctx::Component { .. }), "producers") => {
                        self.custom.producers.push(section)
                    }
                    (Some(Ctx::Component { id, .. }), "component-name") if id.0 == 0 => {
                        self.custom.root_names = Some(section)
                    }
                    _ => {}
                }
            }
            Payload::CodeSectionStart { range, .. } => self.module()?.code_start = range.start,
            Payload::DataCountSection { .. } => {}
            Payload::UnknownSection { id, range, .. } => {
                return Err(Error::malformed(format!("unknown section id {id}"))
                    .at_path(&path)
                    .at_offset(range.start));
            }
            _ => {}
        }
        Ok(())
    }
}
