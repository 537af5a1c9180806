//! Static instantiation: running a component's instantiation at fuse time.
//!
//! A runtime instantiates a component by walking its definitions in order:
//! core modules are instantiated with the exports of earlier core instances,
//! component functions are lifted and lowered, nested components are
//! instantiated with their arguments. Nothing in that walk depends on
//! run-time values, so the fuser performs it once, here, and records what it
//! saw: the flat list of **core instances** in instantiation order, and for
//! every core import its source — an export of an earlier core instance, an
//! **adapter** (a lowered function that another component lifted), or a
//! **host lower** (a function or resource built-in of the root's imports,
//! which stays an import of the fused component).

use crate::error::{Error, Result};
use crate::parse::{
    AsyncBuiltin, CanonOptions, ComponentId, Def, Input, ModuleId, ResourceOp, StringEncoding,
    TypeDef,
};
use std::collections::HashMap;
use std::rc::Rc;
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentEntityType, ComponentFuncTypeId, ComponentInstanceTypeId,
    ResourceId,
};
use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentOuterAliasKind,
    ComponentTypeRef, ExternalKind, Instance, TypeBounds,
};

pub(crate) mod asyncs;
pub mod limits;
pub(crate) mod tasks;

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// The index as a `usize`, for indexing its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A core instance, in instantiation order.
    CoreInstanceId
);
id!(
    /// A component instance, in instantiation order; 0 is the root.
    ComponentInstanceId
);
id!(
    /// An adapter: a cross-component call.
    AdapterId
);
id!(
    /// A host lower: a root import lowered into core code.
    HostLowerId
);
id!(
    /// A resource type at run time: one per definition per component
    /// instance, one per resource type of the root's imports.
    ResourceTypeId
);
id!(
    /// A resource built-in (`resource.new`, `.rep`, `.drop`) used by core
    /// code.
    BuiltinId
);
id!(
    /// A core module the root imports from the host.
    HostModuleId
);
id!(
    /// An instance of a core module the host supplies.
    HostInstanceId
);

/// A core module value: one of the input's, or one the host supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleRef {
    /// A module defined in the input.
    Defined(ModuleId),
    /// A module the root imports.
    Host(HostModuleId),
}

/// Where a core item comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CoreDef<'a> {
    /// The export `name` of a core instance.
    Export {
        /// The instance.
        instance: CoreInstanceId,
        /// The export's name.
        name: &'a str,
    },
    /// A generated adapter function.
    Adapter(AdapterId),
    /// A lowered root import.
    Host(HostLowerId),
    /// A resource built-in.
    Builtin(BuiltinId),
    /// The export `name` of an instance of a module the host supplies.
    HostExport {
        /// The instance.
        instance: HostInstanceId,
        /// The export's name.
        name: &'a str,
    },
}

/// Canonical options with every index resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Options<'a> {
    /// The memory.
    pub memory: Option<CoreDef<'a>>,
    /// `realloc`.
    pub realloc: Option<CoreDef<'a>>,
    /// `post-return`.
    pub post_return: Option<CoreDef<'a>>,
    /// The string encoding.
    pub string_encoding: StringEncoding,
    /// `async`.
    pub async_: bool,
    /// An async lift's `callback`.
    pub callback: Option<CoreDef<'a>>,
}

/// A path from one of the root's imports to an item of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPath<'a> {
    /// The root import's index in its index space (as the input numbers it).
    pub root_index: u32,
    /// The root import's kind.
    pub root_kind: ComponentExternalKind,
    /// The root import's name.
    pub root_name: &'a str,
    /// Export names walked from the root import.
    pub names: Vec<&'a str>,
}

impl HostPath<'_> {
    /// A readable form: `wasi:cli/stdout@0.2.0#get-stdout`.
    pub fn display(&self) -> String {
        let mut s = self.root_name.to_string();
        for n in &self.names {
            s.push('#');
            s.push_str(n);
        }
        s
    }
}

/// A lifted function.
#[derive(Debug)]
pub struct Lifted<'a> {
    /// The core function lifted.
    pub func: CoreDef<'a>,
    /// The lift's options.
    pub options: Options<'a>,
    /// The function type.
    pub ty: ComponentFuncTypeId,
    /// The component instance that lifted it.
    pub instance: ComponentInstanceId,
}

/// A cross-component call: `callee` lowered into `caller`.
#[derive(Debug)]
pub struct Adapter<'a> {
    /// The calling component instance.
    pub caller: ComponentInstanceId,
    /// The lower's options (the caller's memory, realloc, encoding).
    pub lower: Options<'a>,
    /// The lowered function type.
    pub ty: ComponentFuncTypeId,
    /// The callee.
    pub callee: Rc<Lifted<'a>>,
    /// The function's name where known (the last export name seen).
    pub name: &'a str,
    /// A synchronous lower of an `async`-typed function by a component
    /// instance none of whose tasks may ever block: the call traps before
    /// it starts, as in the runtime (see [`Graph::traps_at_call`]).
    pub cannot_block: bool,
    /// The callee's task provably runs to its end within the call that
    /// starts it, as its component instance never blocks
    /// (`asyncs::async_lifts`). For a callee lifted async, the fused
    /// module runs the task in the adapter, with `task.return` a function
    /// of its own.
    pub runs_to_end: bool,
    /// The callee is an async lift whose task may wait: the fused module
    /// keeps its task (`tasks`), and the caller gets a subtask when it
    /// has not returned by the end of its first turn.
    pub scheduled: bool,
    /// Where the lower is in the input.
    pub offset: u64,
}

impl Adapter<'_> {
    /// Whether the callee is an async lift whose task the fused module
    /// runs itself, within the call ([`Adapter::runs_to_end`]) or kept
    /// ([`Adapter::scheduled`]): its `task.return` is the module's own.
    pub fn task_in_module(&self) -> bool {
        (self.runs_to_end || self.scheduled) && self.callee.options.async_
    }
}

/// A root import used from core code.
#[derive(Debug)]
pub enum HostLower<'a> {
    /// `canon lower` of an imported function.
    Func {
        /// The imported function.
        path: HostPath<'a>,
        /// The lower's options.
        options: Options<'a>,
        /// Its type.
        ty: ComponentFuncTypeId,
        /// The component instance that lowered it.
        instance: ComponentInstanceId,
        /// The core signature of an async lower.
        async_sig: Option<wasmparser::FuncType>,
    },
    /// An async built-in, which the output defines again for the host
    /// (see `asyncs`).
    Async {
        /// The built-in.
        builtin: AsyncBuiltin,
        /// Its options, resolved.
        options: Options<'a>,
        /// The component instance whose core code calls it.
        instance: ComponentInstanceId,
    },
    /// A built-in of a resource type the root exports, as the output
    /// component defines it for the host.
    Exported {
        /// Which built-in.
        op: ResourceOp,
        /// The resource type (defined inside the composition).
        resource: ResourceTypeId,
    },
    /// The host's `resource.drop` of one of its resource types, called
    /// by the built-ins and adapters that end a host handle.
    ResourceDrop {
        /// The resource type (a host one).
        resource: ResourceTypeId,
        /// The root's id of the type, which names it in the output.
        id: ResourceId,
        /// The first component instance that needed it.
        instance: ComponentInstanceId,
    },
}

impl HostLower<'_> {
    /// The component instance whose core code calls it.
    pub fn instance(&self) -> ComponentInstanceId {
        match self {
            HostLower::Func { instance, .. }
            | HostLower::Async { instance, .. }
            | HostLower::ResourceDrop { instance, .. } => *instance,
            HostLower::Exported { .. } => ComponentInstanceId(0),
        }
    }
}

/// The core module and function index a core definition names, when it is
/// a function export of a core instance of the composition's own.
pub(crate) fn exported_func<'i>(
    input: &'i Input<'_>,
    graph: &Graph<'_>,
    def: &CoreDef<'_>,
) -> Option<(&'i crate::parse::ModuleDef<'i>, u32)> {
    let CoreDef::Export { instance, name } = def else {
        return None;
    };
    let m = input
        .modules
        .get(graph.core_instances.get(instance.index())?.module.0 as usize)?;
    match m.export(name)? {
        (wasmparser::ExternalKind::Func, f) => Some((m, f)),
        _ => None,
    }
}

/// A core instance and where each of its imports comes from.
#[derive(Debug)]
pub struct CoreInstance<'a> {
    /// The module instantiated.
    pub module: ModuleId,
    /// One source per module import, in import order.
    pub imports: Vec<CoreDef<'a>>,
    /// The component instance it belongs to.
    pub component: ComponentInstanceId,
}

/// An item a component-level export can name.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    /// A function.
    Func(Func<'a>),
    /// An instance.
    Instance(InstanceVal<'a>),
    /// A type.
    Type(TypeVal<'a>),
    /// A component (not instantiated).
    Component(Closure<'a>),
    /// A core module.
    Module(ModuleRef),
}

/// A component function value.
#[derive(Debug, Clone)]
pub enum Func<'a> {
    /// Lifted from core code.
    Lifted(Rc<Lifted<'a>>),
    /// One of the root's imports.
    Host(HostPath<'a>),
}

/// A component instance value.
#[derive(Debug, Clone)]
pub enum InstanceVal<'a> {
    /// One of the root's imports.
    Host(HostPath<'a>),
    /// Named items: an instantiated component's exports, or a bag.
    Bag(Rc<Named<'a, Item<'a>>>),
}

/// Named items in order, looked up by name in constant time: instances
/// may have a hundred thousand exports, and every import looks one up.
#[derive(Debug)]
pub struct Named<'a, T> {
    items: Vec<(&'a str, T)>,
    index: HashMap<&'a str, usize>,
}

impl<'a, T> Named<'a, T> {
    /// Indexes `items`; of two items with one name, the first is found.
    pub fn new(items: Vec<(&'a str, T)>) -> Self {
        let mut index = HashMap::with_capacity(items.len());
        for (i, (name, _)) in items.iter().enumerate() {
            index.entry(*name).or_insert(i);
        }
        Named { items, index }
    }

    /// The item called `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).map(|i| &self.items[*i].1)
    }
}

impl<'a, T> std::ops::Deref for Named<'a, T> {
    type Target = [(&'a str, T)];
    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

/// A component type value: only resources carry identity here.
#[derive(Debug, Clone)]
pub enum TypeVal<'a> {
    /// A type from the root's imports, with its resource identity when it
    /// is a resource type.
    Host(HostPath<'a>, Option<ResourceTypeId>),
    /// A resource defined by a component instance.
    Resource(ResourceTypeId),
    /// Another type (structural; the validator knows it).
    Other,
}

impl TypeVal<'_> {
    /// The resource type this value is, if it is one.
    pub fn resource(&self) -> Option<ResourceTypeId> {
        match self {
            TypeVal::Host(_, r) => *r,
            TypeVal::Resource(r) => Some(*r),
            TypeVal::Other => None,
        }
    }
}

/// Who implements a resource type.
#[derive(Debug, Clone)]
pub enum ResourceOwner<'a> {
    /// A component instance of the composition.
    Instance {
        /// The defining instance.
        instance: ComponentInstanceId,
        /// The destructor, a core function of that instance.
        dtor: Option<CoreDef<'a>>,
        /// When the root exports the type, the output component defines
        /// it again for the host, and these are its built-ins there
        /// (`new`, `rep`, `drop`).
        exported: Option<[HostLowerId; 3]>,
    },
    /// The host: the type is one of the root's imports. Handles in the
    /// composition's tables hold the host's handle as their representation.
    Host {
        /// The root's id of the imported type.
        id: ResourceId,
        /// The host's `resource.drop`, when something drops an owned handle
        /// or ends a host borrow.
        drop: Option<HostLowerId>,
    },
}

/// A resource type at run time.
#[derive(Debug, Clone)]
pub struct ResourceType<'a> {
    /// Who implements it.
    pub owner: ResourceOwner<'a>,
    /// A readable name: the type's export or import name where known.
    pub name: String,
}

/// A resource built-in used by core code.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Which built-in.
    pub op: ResourceOp,
    /// The resource type it works on.
    pub resource: ResourceTypeId,
    /// The component instance whose core code calls it (whose handle table
    /// it uses).
    pub instance: ComponentInstanceId,
}

/// A component definition with the scope it was defined in.
#[derive(Debug, Clone)]
pub struct Closure<'a> {
    def: ComponentId,
    scope: Rc<Scope<'a>>,
}

#[derive(Debug)]
struct Scope<'a> {
    modules: Vec<ModuleRef>,
    components: Vec<Closure<'a>>,
    types: Vec<TypeVal<'a>>,
    parent: Option<Rc<Scope<'a>>>,
}

#[derive(Debug, Clone)]
enum CoreInstanceVal<'a> {
    Instance(CoreInstanceId),
    Host(HostInstanceId),
    Bag(Rc<Named<'a, CoreDef<'a>>>),
}

/// A core module the root imports: the host supplies it at instantiation.
#[derive(Debug)]
pub struct HostModule<'a> {
    /// Where it is in the root's imports: an import, or an export of an
    /// imported instance.
    pub path: HostPath<'a>,
    /// Its type: what it imports and exports.
    pub ty: wasmparser::component_types::ComponentCoreModuleTypeId,
}

/// An instance of a module the host supplies, which the output component
/// instantiates beside the fused module.
#[derive(Debug)]
pub struct HostInstance<'a> {
    /// The module.
    pub module: HostModuleId,
    /// Each of the module's imports, `(module, name)`, and its source.
    pub imports: Vec<(&'a str, &'a str, CoreDef<'a>)>,
    /// How many of the composition's own core instances were instantiated
    /// before it.
    pub after: usize,
    /// The component instance that instantiated it.
    pub component: ComponentInstanceId,
}

/// The result of static instantiation.
#[derive(Debug, Default)]
pub struct Graph<'a> {
    /// Path of each component instance.
    pub component_instances: Vec<String>,
    /// The component instance that instantiated each one (none for the
    /// root).
    pub parents: Vec<Option<ComponentInstanceId>>,
    /// Core instances in instantiation order.
    pub core_instances: Vec<CoreInstance<'a>>,
    /// Cross-component calls.
    pub adapters: Vec<Adapter<'a>>,
    /// Root imports lowered into core code.
    pub host_lowers: Vec<HostLower<'a>>,
    /// The root's exports.
    pub exports: Vec<(&'a str, Item<'a>)>,
    /// Every resource type of the run.
    pub resources: Vec<ResourceType<'a>>,
    /// The run-time resource type behind each resource id a component
    /// instance's types refer to.
    pub resource_ids: HashMap<(ComponentInstanceId, ResourceId), ResourceTypeId>,
    /// Resource types of the root's imports, by the root's resource id.
    host_resources: HashMap<ResourceId, ResourceTypeId>,
    /// Resource built-ins called by core code.
    pub builtins: Vec<Builtin>,
    /// Core modules the root imports.
    pub host_modules: Vec<HostModule<'a>>,
    /// Instances of those modules, in instantiation order.
    pub host_instances: Vec<HostInstance<'a>>,
    /// The component instance that uses the async ABI, if one does (its
    /// async lifts, lowers and built-ins are the output's, for the host),
    /// and whether it has a handle table of its own.
    pub async_use: Option<asyncs::AsyncUse>,
    /// The component instances whose tasks the fused module keeps.
    pub schedule: tasks::Schedule,
}

impl<'a> Graph<'a> {
    /// Every lifted function the root exports, directly or inside an
    /// exported instance, with its export name (a function exported twice
    /// comes twice).
    pub fn exported_functions(&self) -> Vec<(&'a str, &Rc<Lifted<'a>>)> {
        let mut out = Vec::new();
        let mut stack: Vec<(&'a str, &Item<'a>)> =
            self.exports.iter().map(|(n, i)| (*n, i)).collect();
        while let Some((name, item)) = stack.pop() {
            match item {
                Item::Func(Func::Lifted(f)) => out.push((name, f)),
                Item::Instance(InstanceVal::Bag(items)) => {
                    stack.extend(items.iter().map(|(n, i)| (*n, i)));
                }
                _ => {}
            }
        }
        out
    }

    /// Whether component instance `i`'s core code holds the host's handles
    /// as the host numbers them, in no table of the fused module's
    /// ([`asyncs::Numbers::Host`]).
    pub fn holds_host_numbers(&self, i: ComponentInstanceId) -> bool {
        self.async_use
            .is_some_and(|u| u.instance == i && u.numbers == asyncs::Numbers::Host)
    }

    /// The component instance that uses the async ABI, when it numbers its
    /// handles in a table of its own in the fused module
    /// ([`asyncs::Numbers::OwnTable`]).
    pub fn own_async_table(&self) -> Option<ComponentInstanceId> {
        self.async_use
            .filter(|u| u.numbers == asyncs::Numbers::OwnTable)
            .map(|u| u.instance)
    }

    /// Whether a call from component instance `a` into `b` can never enter
    /// `b`: they are the same instance, or one contains the other. The
    /// component model's reference runtime traps on such a call before it
    /// starts (its test suite's `trap-on-reenter.wast` holds it to that),
    /// and so does the fused module.
    pub fn cannot_enter(&self, a: ComponentInstanceId, b: ComponentInstanceId) -> bool {
        let contains = |outer: ComponentInstanceId, mut inner: ComponentInstanceId| loop {
            if inner == outer {
                return true;
            }
            match self.parents.get(inner.index()).copied().flatten() {
                Some(p) => inner = p,
                None => return false,
            }
        };
        contains(a, b) || contains(b, a)
    }

    /// The async lowers of host functions by the async instance with a
    /// table of its own, with their function types.
    pub fn own_table_async_lowers(
        &self,
    ) -> impl Iterator<Item = (HostLowerId, ComponentFuncTypeId)> + '_ {
        let user = self.own_async_table();
        self.host_lowers
            .iter()
            .enumerate()
            .filter_map(move |(i, h)| match h {
                HostLower::Func {
                    ty,
                    options,
                    instance,
                    ..
                } if options.async_ && Some(*instance) == user => {
                    Some((HostLowerId(i as u32), *ty))
                }
                _ => None,
            })
    }

    /// Whether a cross-component call traps before it starts, whatever it
    /// passes: it could not enter its callee ([`Graph::cannot_enter`]), or
    /// it is a synchronous call of an `async`-typed function from a task
    /// that may not block ([`Adapter::cannot_block`]).
    pub fn traps_at_call(&self, a: &Adapter<'_>) -> bool {
        a.cannot_block || self.cannot_enter(a.caller, a.callee.instance)
    }

    /// The run-time resource type of `id` as `instance`'s types see it.
    pub fn resource(
        &self,
        instance: ComponentInstanceId,
        id: ResourceId,
    ) -> Result<ResourceTypeId> {
        self.resource_ids
            .get(&(instance, id))
            .copied()
            .ok_or_else(|| {
                Error::malformed(format!(
                    "a resource type of {} is not bound to a definition",
                    self.component_instances
                        .get(instance.index())
                        .map_or("?", String::as_str)
                ))
            })
    }

    /// The host's `resource.drop` for a host resource type, added on first
    /// use.
    pub fn host_drop(
        &mut self,
        rt: ResourceTypeId,
        instance: ComponentInstanceId,
    ) -> Option<HostLowerId> {
        let ResourceOwner::Host { id, drop } = &mut self.resources.get_mut(rt.index())?.owner
        else {
            return None;
        };
        if let Some(d) = drop {
            return Some(*d);
        }
        let lower = HostLowerId(self.host_lowers.len() as u32);
        *drop = Some(lower);
        let id = *id;
        self.host_lowers.push(HostLower::ResourceDrop {
            resource: rt,
            id,
            instance,
        });
        Some(lower)
    }
}

struct Frame<'a> {
    id: ComponentInstanceId,
    def: ComponentId,
    path: String,
    outer: Option<Rc<Scope<'a>>>,
    args: Named<'a, Item<'a>>,
    core_funcs: Vec<CoreDef<'a>>,
    core_tables: Vec<CoreDef<'a>>,
    core_memories: Vec<CoreDef<'a>>,
    core_globals: Vec<CoreDef<'a>>,
    core_tags: Vec<CoreDef<'a>>,
    core_modules: Vec<ModuleRef>,
    core_instances: Vec<CoreInstanceVal<'a>>,
    funcs: Vec<Func<'a>>,
    types: Vec<TypeVal<'a>>,
    instances: Vec<InstanceVal<'a>>,
    components: Vec<Closure<'a>>,
    exports: Vec<(&'a str, Item<'a>)>,
    /// The last name each function was exported or imported under.
    func_names: Vec<&'a str>,
}

/// Runs the root component's instantiation.
pub fn instantiate<'a>(input: &'a Input<'a>) -> Result<Graph<'a>> {
    instantiate_with(input, false)
}

/// [`instantiate`]; `async_table` gives a component instance that uses the
/// async ABI a handle table of its own in the fused module even where it
/// could hold the host's numbers (see `asyncs`).
pub fn instantiate_with<'a>(input: &'a Input<'a>, async_table: bool) -> Result<Graph<'a>> {
    let mut graph = Graph::default();
    let root = Closure {
        def: ComponentId(0),
        scope: Rc::new(Scope {
            modules: vec![],
            components: vec![],
            types: vec![],
            parent: None,
        }),
    };
    let exports = Instantiator {
        input,
        graph: &mut graph,
        budget: limits::Budget::default(),
        depth: 0,
    }
    .run(&root, Vec::new(), None)?;
    graph.exports = exports;
    // Host borrows lent to root exports end through the host's drop;
    // resource types the root exports get their built-ins for the host.
    let types = input.types.as_ref();
    let mut stack: Vec<Item<'a>> = graph.exports.iter().map(|(_, i)| i.clone()).collect();
    while let Some(item) = stack.pop() {
        match item {
            Item::Type(TypeVal::Resource(rt)) => {
                let first = HostLowerId(graph.host_lowers.len() as u32);
                let Some(ResourceType {
                    owner: ResourceOwner::Instance { exported, .. },
                    ..
                }) = graph.resources.get_mut(rt.index())
                else {
                    continue;
                };
                if exported.is_some() {
                    continue;
                }
                *exported = Some([first, HostLowerId(first.0 + 1), HostLowerId(first.0 + 2)]);
                for op in [ResourceOp::New, ResourceOp::Rep, ResourceOp::Drop] {
                    graph
                        .host_lowers
                        .push(HostLower::Exported { op, resource: rt });
                }
            }
            Item::Func(Func::Lifted(f)) => {
                for (_, t) in types[f.ty].params.iter() {
                    if let wasmparser::component_types::ComponentValType::Type(id) = t
                        && let wasmparser::component_types::ComponentDefinedType::Borrow(r) =
                            &types[*id]
                        && let Ok(rt) = graph.resource(f.instance, r.resource())
                    {
                        graph.host_drop(rt, f.instance);
                    }
                }
            }
            Item::Instance(InstanceVal::Bag(items)) => {
                stack.extend(items.iter().map(|(_, i)| i.clone()))
            }
            _ => {}
        }
    }
    let waiting = asyncs::async_lifts(input, &mut graph);
    let blocking: Vec<usize> = asyncs::blocking_calls(input, &graph)
        .into_iter()
        .filter(|k| !waiting.contains(k))
        .collect();
    tasks::plan(input, &mut graph, &waiting, &blocking)?;
    graph.async_use = asyncs::check(input, &graph, async_table)?;
    Ok(graph)
}

struct Instantiator<'g, 'a> {
    input: &'a Input<'a>,
    graph: &'g mut Graph<'a>,
    budget: limits::Budget,
    /// Component instantiations in progress.
    depth: usize,
}

fn lookup<'b, T>(space: &'b [T], index: u32, what: &str) -> Result<&'b T> {
    space
        .get(index as usize)
        .ok_or_else(|| Error::malformed(format!("{what} index {index} out of bounds")))
}

fn kind_of(item: &Item<'_>) -> ComponentExternalKind {
    match item {
        Item::Func(_) => ComponentExternalKind::Func,
        Item::Instance(_) => ComponentExternalKind::Instance,
        Item::Type(_) => ComponentExternalKind::Type,
        Item::Component(_) => ComponentExternalKind::Component,
        Item::Module(_) => ComponentExternalKind::Module,
    }
}

impl<'a> Instantiator<'_, 'a> {
    fn run(
        &mut self,
        closure: &Closure<'a>,
        args: Vec<(&'a str, Item<'a>)>,
        parent: Option<(ComponentInstanceId, &str)>,
    ) -> Result<Vec<(&'a str, Item<'a>)>> {
        if self.graph.component_instances.len() >= limits::MAX_COMPONENT_INSTANCES {
            return Err(Error::limit(format!(
                "more than {} component instances",
                limits::MAX_COMPONENT_INSTANCES
            )));
        }
        if self.depth >= limits::MAX_INSTANTIATION_DEPTH {
            return Err(Error::limit(format!(
                "component instantiations nest deeper than {}",
                limits::MAX_INSTANTIATION_DEPTH
            )));
        }
        let def = &self.input.components[closure.def.0 as usize];
        let id = ComponentInstanceId(self.graph.component_instances.len() as u32);
        let path = match parent {
            None => def.path.clone(),
            Some(_) => format!("{}#{}", def.path, id.0),
        };
        self.graph.component_instances.push(path.clone());
        self.graph.parents.push(parent.map(|(p, _)| p));
        let mut f = Frame {
            id,
            def: closure.def,
            path,
            outer: parent.map(|_| closure.scope.clone()),
            args: Named::new(args),
            core_funcs: vec![],
            core_tables: vec![],
            core_memories: vec![],
            core_globals: vec![],
            core_tags: vec![],
            core_modules: vec![],
            core_instances: vec![],
            funcs: vec![],
            types: vec![],
            instances: vec![],
            components: vec![],
            exports: vec![],
            func_names: vec![],
        };
        let path = f.path.clone();
        self.depth += 1;
        for (d, offset) in def.defs.iter().zip(&def.offsets) {
            let adapters = self.graph.adapters.len();
            self.def(&mut f, d)
                .map_err(|e| e.at_path(&path).at_offset(*offset))?;
            for a in &mut self.graph.adapters[adapters..] {
                a.offset = *offset;
            }
        }
        self.depth -= 1;
        Ok(f.exports)
    }

    /// Adds a cross-component call, within the limits.
    fn adapter(&mut self, a: Adapter<'a>) -> Result<AdapterId> {
        if self.graph.adapters.len() >= limits::MAX_ADAPTERS {
            return Err(Error::limit(format!(
                "more than {} cross-component calls (adapters)",
                limits::MAX_ADAPTERS
            )));
        }
        self.budget.functions(1)?;
        self.graph.adapters.push(a);
        Ok(AdapterId(self.graph.adapters.len() as u32 - 1))
    }

    fn options(&self, f: &Frame<'a>, o: &CanonOptions) -> Result<Options<'a>> {
        let func = |i: u32| lookup(&f.core_funcs, i, "core function").cloned();
        Ok(Options {
            memory: o
                .memory
                .map(|m| lookup(&f.core_memories, m, "core memory").cloned())
                .transpose()?,
            realloc: o.realloc.map(func).transpose()?,
            post_return: o.post_return.map(func).transpose()?,
            string_encoding: o.string_encoding,
            async_: o.async_,
            callback: o.callback.map(func).transpose()?,
        })
    }

    fn outer_scope(f: &Frame<'a>, count: u32) -> Result<Rc<Scope<'a>>> {
        let mut scope = f
            .outer
            .clone()
            .ok_or_else(|| Error::malformed("outer alias from the root component"))?;
        for _ in 1..count {
            scope = scope
                .parent
                .clone()
                .ok_or_else(|| Error::malformed("outer alias count too large"))?;
        }
        Ok(scope)
    }

    fn push_item(&mut self, f: &mut Frame<'a>, item: Item<'a>, name: &'a str) -> Result<()> {
        match item {
            Item::Func(x) => {
                f.funcs.push(x);
                f.func_names.push(name);
            }
            Item::Instance(x) => self.push_instance(f, x)?,
            Item::Type(x) => {
                if let (TypeVal::Resource(rt), false) = (&x, name.is_empty()) {
                    let r = &mut self.graph.resources[rt.index()];
                    if r.name.starts_with('(') {
                        r.name = name.to_string();
                    }
                }
                self.push_type(f, x);
            }
            Item::Component(x) => f.components.push(x),
            Item::Module(x) => f.core_modules.push(x),
        }
        Ok(())
    }

    /// Adds a type to the frame's type space, binding the validator's id of
    /// that index to the run-time resource type.
    fn push_type(&mut self, f: &mut Frame<'a>, t: TypeVal<'a>) {
        if let Some(rt) = t.resource() {
            let def = &self.input.components[f.def.0 as usize];
            if let Some(ComponentAnyTypeId::Resource(r)) = def.type_ids.get(f.types.len()) {
                self.graph.resource_ids.insert((f.id, r.resource()), rt);
            }
        }
        f.types.push(t);
    }

    /// Adds an instance to the frame's instance space, binding the
    /// resource ids of its type to the run-time resource types it exports.
    fn push_instance(&mut self, f: &mut Frame<'a>, v: InstanceVal<'a>) -> Result<()> {
        let def = &self.input.components[f.def.0 as usize];
        if let Some(ty) = def.instance_ids.get(f.instances.len()).copied() {
            let mut names = Vec::new();
            self.bind_instance(f.id, ty, &v, &mut names)?;
        }
        f.instances.push(v);
        Ok(())
    }

    fn bind_instance(
        &mut self,
        instance: ComponentInstanceId,
        ty: ComponentInstanceTypeId,
        v: &InstanceVal<'a>,
        names: &mut Vec<String>,
    ) -> Result<()> {
        let input = self.input;
        let types = input.types.as_ref();
        for (name, item) in &types[ty].exports {
            match item.ty {
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Resource(r),
                    ..
                } => {
                    let rt = match v {
                        InstanceVal::Bag(items) => match items.iter().find(|(n, _)| n == name) {
                            Some((_, Item::Type(t))) => t.resource(),
                            _ => None,
                        },
                        InstanceVal::Host(path) => {
                            names.push(name.clone());
                            let rt = self.host_resource(path, names);
                            names.pop();
                            rt
                        }
                    };
                    if let Some(rt) = rt {
                        self.graph.resource_ids.insert((instance, r.resource()), rt);
                    }
                }
                ComponentEntityType::Instance(nested) => match v {
                    InstanceVal::Bag(items) => {
                        if let Some((_, Item::Instance(inner))) =
                            items.iter().find(|(n, _)| n == name)
                        {
                            let inner = inner.clone();
                            self.bind_instance(instance, nested, &inner, &mut Vec::new())?;
                        }
                    }
                    InstanceVal::Host(_) => {
                        names.push(name.clone());
                        self.bind_instance(instance, nested, v, names)?;
                        names.pop();
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }

    /// The run-time type of a resource type of the root's imports: the
    /// import `path` with `more` names after it.
    fn host_resource(&mut self, path: &HostPath<'a>, more: &[String]) -> Option<ResourceTypeId> {
        let input = self.input;
        let types = input.types.as_ref();
        let mut ty = types.component_item_for_import(path.root_name)?.ty;
        for n in path
            .names
            .iter()
            .copied()
            .chain(more.iter().map(String::as_str))
        {
            let ComponentEntityType::Instance(i) = ty else {
                return None;
            };
            ty = types[i].exports.get(n)?.ty;
        }
        let ComponentEntityType::Type {
            created: ComponentAnyTypeId::Resource(r),
            ..
        } = ty
        else {
            return None;
        };
        let id = r.resource();
        if let Some(rt) = self.graph.host_resources.get(&id) {
            return Some(*rt);
        }
        let rt = ResourceTypeId(self.graph.resources.len() as u32);
        let mut name = path.display();
        for n in more {
            name.push('#');
            name.push_str(n);
        }
        self.graph.resources.push(ResourceType {
            owner: ResourceOwner::Host { id, drop: None },
            name,
        });
        self.graph.host_resources.insert(id, rt);
        Some(rt)
    }

    fn item(f: &Frame<'a>, kind: ComponentExternalKind, index: u32) -> Result<Item<'a>> {
        Ok(match kind {
            ComponentExternalKind::Func => Item::Func(lookup(&f.funcs, index, "function")?.clone()),
            ComponentExternalKind::Instance => {
                Item::Instance(lookup(&f.instances, index, "instance")?.clone())
            }
            ComponentExternalKind::Type => Item::Type(lookup(&f.types, index, "type")?.clone()),
            ComponentExternalKind::Component => {
                Item::Component(lookup(&f.components, index, "component")?.clone())
            }
            ComponentExternalKind::Module => {
                Item::Module(*lookup(&f.core_modules, index, "core module")?)
            }
            ComponentExternalKind::Value => {
                return Err(Error::unsupported(
                    "values",
                    "component values are not supported yet",
                ));
            }
        })
    }

    fn core_space<'f>(f: &'f mut Frame<'a>, kind: ExternalKind) -> &'f mut Vec<CoreDef<'a>> {
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => &mut f.core_funcs,
            ExternalKind::Table => &mut f.core_tables,
            ExternalKind::Memory => &mut f.core_memories,
            ExternalKind::Global => &mut f.core_globals,
            ExternalKind::Tag => &mut f.core_tags,
        }
    }

    fn def(&mut self, f: &mut Frame<'a>, d: &Def<'a>) -> Result<()> {
        match d {
            Def::CoreModule(id) => f.core_modules.push(ModuleRef::Defined(*id)),
            Def::CoreType => {}
            Def::Component(id) => {
                self.budget
                    .scope(f.core_modules.len() + f.components.len() + f.types.len())?;
                let scope = Rc::new(Scope {
                    modules: f.core_modules.clone(),
                    components: f.components.clone(),
                    types: f.types.clone(),
                    parent: f.outer.clone(),
                });
                f.components.push(Closure { def: *id, scope });
            }
            Def::CoreInstance(Instance::Instantiate { module_index, args }) => {
                let args: HashMap<&str, u32> = args.iter().map(|a| (a.name, a.index)).collect();
                match *lookup(&f.core_modules, *module_index, "core module")? {
                    ModuleRef::Defined(module) => self.instantiate_module(f, module, &args)?,
                    ModuleRef::Host(module) => self.instantiate_host_module(f, module, &args)?,
                }
            }
            Def::CoreInstance(Instance::FromExports(exports)) => {
                let mut items = Vec::with_capacity(exports.len());
                for e in exports.iter() {
                    let space = Self::core_space(f, e.kind);
                    items.push((e.name, lookup(space, e.index, "core item")?.clone()));
                }
                f.core_instances
                    .push(CoreInstanceVal::Bag(Rc::new(Named::new(items))));
            }
            Def::Instance(ComponentInstance::Instantiate {
                component_index,
                args,
            }) => {
                let closure = lookup(&f.components, *component_index, "component")?.clone();
                let mut items = Vec::with_capacity(args.len());
                for a in args.iter() {
                    items.push((a.name, Self::item(f, a.kind, a.index)?));
                }
                let exports = self.run(&closure, items, Some((f.id, &f.path)))?;
                self.push_instance(f, InstanceVal::Bag(Rc::new(Named::new(exports))))?;
            }
            Def::Instance(ComponentInstance::FromExports(exports)) => {
                let mut items = Vec::with_capacity(exports.len());
                for e in exports.iter() {
                    items.push((e.name.name, Self::item(f, e.kind, e.index)?));
                }
                self.push_instance(f, InstanceVal::Bag(Rc::new(Named::new(items))))?;
            }
            Def::Alias(a) => self.alias(f, a)?,
            Def::Type(TypeDef::Resource { dtor }) => {
                let dtor = dtor
                    .map(|i| lookup(&f.core_funcs, i, "core function").cloned())
                    .transpose()?;
                let rt = ResourceTypeId(self.graph.resources.len() as u32);
                self.graph.resources.push(ResourceType {
                    owner: ResourceOwner::Instance {
                        instance: f.id,
                        dtor,
                        exported: None,
                    },
                    name: format!("(type {})", f.types.len()),
                });
                self.push_type(f, TypeVal::Resource(rt));
            }
            Def::Type(TypeDef::Other) => self.push_type(f, TypeVal::Other),
            Def::Lift {
                core_func,
                options,
                ty,
            } => {
                let lifted = Lifted {
                    func: lookup(&f.core_funcs, *core_func, "core function")?.clone(),
                    options: self.options(f, options)?,
                    ty: *ty,
                    instance: f.id,
                };
                f.funcs.push(Func::Lifted(Rc::new(lifted)));
                f.func_names.push("");
            }
            Def::Lower {
                func,
                options,
                ty,
                async_sig,
            } => {
                let lower = self.options(f, options)?;
                let name = f.func_names.get(*func as usize).copied().unwrap_or("");
                let def = match lookup(&f.funcs, *func, "function")?.clone() {
                    Func::Lifted(callee) => {
                        let async_type = self.input.types.as_ref()[*ty].async_;
                        let cannot_block = asyncs::between_components(&lower, async_type);
                        CoreDef::Adapter(self.adapter(Adapter {
                            caller: f.id,
                            lower,
                            ty: *ty,
                            callee,
                            name,
                            cannot_block,
                            runs_to_end: false,
                            scheduled: false,
                            offset: 0,
                        })?)
                    }
                    Func::Host(path) => {
                        self.budget.functions(2)?;
                        let id = HostLowerId(self.graph.host_lowers.len() as u32);
                        self.graph.host_lowers.push(HostLower::Func {
                            instance: f.id,
                            path,
                            options: lower,
                            ty: *ty,
                            async_sig: async_sig.clone(),
                        });
                        CoreDef::Host(id)
                    }
                };
                f.core_funcs.push(def);
            }
            Def::Async(builtin) => {
                self.budget.functions(2)?;
                let id = HostLowerId(self.graph.host_lowers.len() as u32);
                self.graph.host_lowers.push(HostLower::Async {
                    builtin: builtin.clone(),
                    options: self.options(f, &builtin.options)?,
                    instance: f.id,
                });
                f.core_funcs.push(CoreDef::Host(id));
            }
            Def::Resource { op, resource } => {
                let rt = lookup(&f.types, *resource, "type")?
                    .resource()
                    .ok_or_else(|| {
                        Error::malformed(format!("type {resource} is not a resource type"))
                    })?;
                if *op == ResourceOp::Drop {
                    self.graph.host_drop(rt, f.id);
                }
                self.budget.functions(1)?;
                let id = BuiltinId(self.graph.builtins.len() as u32);
                self.graph.builtins.push(Builtin {
                    op: *op,
                    resource: rt,
                    instance: f.id,
                });
                f.core_funcs.push(CoreDef::Builtin(id));
            }
            Def::Import {
                name,
                ty,
                root_index,
                ..
            } => self.import(f, name, *ty, *root_index)?,
            Def::Export { name, kind, index } => {
                let item = Self::item(f, *kind, *index)?;
                self.push_item(f, item.clone(), name)?;
                f.exports.push((name, item));
            }
        }
        Ok(())
    }

    /// The source of core import `module`::`name`, from the instantiation
    /// arguments `args`; `of` names the importer for messages.
    fn core_arg(
        f: &Frame<'a>,
        args: &HashMap<&str, u32>,
        module: &str,
        name: &'a str,
        of: &str,
    ) -> Result<CoreDef<'a>> {
        let arg = args.get(module).ok_or_else(|| {
            Error::unresolved(format!(
                "core import module `{module}` of {of} is not provided"
            ))
        })?;
        Ok(match lookup(&f.core_instances, *arg, "core instance")? {
            CoreInstanceVal::Instance(i) => CoreDef::Export { instance: *i, name },
            CoreInstanceVal::Host(i) => CoreDef::HostExport { instance: *i, name },
            CoreInstanceVal::Bag(items) => items.get(name).cloned().ok_or_else(|| {
                Error::unresolved(format!(
                    "core import `{module}`::`{name}` of {of} is not provided"
                ))
            })?,
        })
    }

    /// Fails when one more core instance would pass the limit.
    fn count_core_instance(&self) -> Result<()> {
        if self.graph.host_instances.len() + self.graph.core_instances.len()
            >= limits::MAX_CORE_INSTANCES
        {
            return Err(Error::limit(format!(
                "more than {} core instances",
                limits::MAX_CORE_INSTANCES
            )));
        }
        Ok(())
    }

    fn instantiate_module(
        &mut self,
        f: &mut Frame<'a>,
        module: ModuleId,
        args: &HashMap<&str, u32>,
    ) -> Result<()> {
        let m = &self.input.modules[module.0 as usize];
        self.budget.core_instance(m)?;
        let imports = m
            .imports
            .iter()
            .map(|i| Self::core_arg(f, args, i.module, i.name, &m.path))
            .collect::<Result<Vec<_>>>()?;
        self.count_core_instance()?;
        let id = CoreInstanceId(self.graph.core_instances.len() as u32);
        self.graph.core_instances.push(CoreInstance {
            module,
            imports,
            component: f.id,
        });
        f.core_instances.push(CoreInstanceVal::Instance(id));
        Ok(())
    }

    fn instantiate_host_module(
        &mut self,
        f: &mut Frame<'a>,
        module: HostModuleId,
        args: &HashMap<&str, u32>,
    ) -> Result<()> {
        let m = &self.graph.host_modules[module.index()];
        let input: &'a Input<'a> = self.input;
        let ty = input
            .types
            .as_ref()
            .get(m.ty)
            .ok_or_else(|| Error::internal("a module import without its type"))?;
        let of = format!("the host's module `{}`", m.path.display());
        let mut imports = Vec::with_capacity(ty.imports.len());
        for (module, name) in ty.imports.keys() {
            let def = Self::core_arg(f, args, module, name, &of)?;
            imports.push((module.as_str(), name.as_str(), def));
        }
        self.count_core_instance()?;
        let id = HostInstanceId(self.graph.host_instances.len() as u32);
        self.graph.host_instances.push(HostInstance {
            module,
            imports,
            after: self.graph.core_instances.len(),
            component: f.id,
        });
        f.core_instances.push(CoreInstanceVal::Host(id));
        Ok(())
    }

    /// A core module of the root's imports (an import, or an export of an
    /// imported instance): the host supplies it, and the output component
    /// instantiates it where the composition did.
    fn host_module(&mut self, path: HostPath<'a>) -> Result<Item<'a>> {
        let types = self.input.types.as_ref();
        let mut ty = types
            .component_item_for_import(path.root_name)
            .map(|i| i.ty);
        for name in &path.names {
            ty = match ty {
                Some(ComponentEntityType::Instance(i)) => types[i].exports.get(*name).map(|i| i.ty),
                _ => None,
            };
        }
        let Some(ComponentEntityType::Module(ty)) = ty else {
            return Err(Error::internal(format!(
                "`{}` is not a core module",
                path.display()
            )));
        };
        let id = HostModuleId(self.graph.host_modules.len() as u32);
        self.graph.host_modules.push(HostModule { path, ty });
        Ok(Item::Module(ModuleRef::Host(id)))
    }

    fn import(
        &mut self,
        f: &mut Frame<'a>,
        name: &'a str,
        ty: ComponentTypeRef,
        root_index: Option<u32>,
    ) -> Result<()> {
        let kind = match ty {
            ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
            ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
            ComponentTypeRef::Type(_) => ComponentExternalKind::Type,
            ComponentTypeRef::Component(_) => ComponentExternalKind::Component,
            ComponentTypeRef::Module(_) => ComponentExternalKind::Module,
            ComponentTypeRef::Value(_) => ComponentExternalKind::Value,
        };
        if let ComponentTypeRef::Type(TypeBounds::Eq(i)) = ty {
            let t = lookup(&f.types, i, "type")?.clone();
            self.push_type(f, t);
            return Ok(());
        }
        if f.outer.is_none() {
            // The root: imports come from the host. The output numbers them
            // as the prefix does.
            let root_index = root_index.ok_or_else(|| {
                Error::internal(format!("root import `{name}` is not in the prefix"))
            })?;
            if kind == ComponentExternalKind::Module {
                let item = self.host_module(HostPath {
                    root_index,
                    root_kind: kind,
                    root_name: name,
                    names: vec![],
                })?;
                return self.push_item(f, item, name);
            }
            if !matches!(
                kind,
                ComponentExternalKind::Func
                    | ComponentExternalKind::Instance
                    | ComponentExternalKind::Type
            ) {
                return Err(Error::unsupported(
                    "import-kind",
                    format!("importing a {} (`{name}`) is not supported", kind.desc()),
                ));
            }
            let path = HostPath {
                root_index,
                root_kind: kind,
                root_name: name,
                names: vec![],
            };
            let item = match kind {
                ComponentExternalKind::Func => Item::Func(Func::Host(path)),
                ComponentExternalKind::Instance => Item::Instance(InstanceVal::Host(path)),
                _ => {
                    let rt = self.host_resource(&path, &[]);
                    Item::Type(TypeVal::Host(path, rt))
                }
            };
            self.push_item(f, item, name)?;
            return Ok(());
        }
        let item = f
            .args
            .get(name)
            .cloned()
            .ok_or_else(|| Error::unresolved(format!("import `{name}` is not provided")))?;
        if kind_of(&item) != kind {
            return Err(Error::unresolved(format!(
                "import `{name}` expects a {}, got a {}",
                kind.desc(),
                kind_of(&item).desc()
            )));
        }
        self.push_item(f, item, name)?;
        Ok(())
    }

    fn alias(&mut self, f: &mut Frame<'a>, a: &ComponentAlias<'a>) -> Result<()> {
        match *a {
            ComponentAlias::CoreInstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let def = match lookup(&f.core_instances, instance_index, "core instance")? {
                    CoreInstanceVal::Instance(i) => CoreDef::Export { instance: *i, name },
                    CoreInstanceVal::Host(i) => CoreDef::HostExport { instance: *i, name },
                    CoreInstanceVal::Bag(items) => items
                        .get(name)
                        .cloned()
                        .ok_or_else(|| Error::malformed(format!("core export `{name}` missing")))?,
                };
                Self::core_space(f, kind).push(def);
            }
            ComponentAlias::InstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let item = match lookup(&f.instances, instance_index, "instance")? {
                    InstanceVal::Host(path) => {
                        let mut path = path.clone();
                        path.names.push(name);
                        match kind {
                            ComponentExternalKind::Func => Item::Func(Func::Host(path)),
                            ComponentExternalKind::Instance => {
                                Item::Instance(InstanceVal::Host(path))
                            }
                            ComponentExternalKind::Type => {
                                let rt = self.host_resource(&path, &[]);
                                Item::Type(TypeVal::Host(path, rt))
                            }
                            ComponentExternalKind::Module => self.host_module(path)?,
                            _ => {
                                return Err(Error::unsupported(
                                    "import-kind",
                                    format!(
                                        "an imported {} (`{name}`) is not supported",
                                        kind.desc()
                                    ),
                                ));
                            }
                        }
                    }
                    InstanceVal::Bag(items) => items
                        .get(name)
                        .cloned()
                        .ok_or_else(|| Error::malformed(format!("export `{name}` missing")))?,
                };
                self.push_item(f, item, name)?;
            }
            ComponentAlias::Outer { kind, count, index } => {
                if count == 0 {
                    match kind {
                        ComponentOuterAliasKind::CoreModule => {
                            let m = *lookup(&f.core_modules, index, "core module")?;
                            f.core_modules.push(m);
                        }
                        ComponentOuterAliasKind::Component => {
                            let c = lookup(&f.components, index, "component")?.clone();
                            f.components.push(c);
                        }
                        ComponentOuterAliasKind::Type => {
                            let t = lookup(&f.types, index, "type")?.clone();
                            self.push_type(f, t);
                        }
                        ComponentOuterAliasKind::CoreType => {}
                    }
                    return Ok(());
                }
                let scope = Self::outer_scope(f, count)?;
                match kind {
                    ComponentOuterAliasKind::CoreModule => {
                        f.core_modules
                            .push(*lookup(&scope.modules, index, "core module")?);
                    }
                    ComponentOuterAliasKind::Component => {
                        f.components
                            .push(lookup(&scope.components, index, "component")?.clone());
                    }
                    ComponentOuterAliasKind::Type => {
                        let t = lookup(&scope.types, index, "type")?.clone();
                        self.push_type(f, t);
                    }
                    ComponentOuterAliasKind::CoreType => {}
                }
            }
        }
        Ok(())
    }
}
