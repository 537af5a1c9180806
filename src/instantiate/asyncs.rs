//! The component model's async ABI at the boundary with the host.
//!
//! The fused component is one component instance to the host, which keeps
//! one handle table for it and runs its tasks. When all async use in a
//! composition belongs to one component instance, and only at its
//! boundary with the host (async lifts the root exports, async lowers of
//! host functions, the async built-ins), that instance's tasks are the
//! fused component's tasks: the output lifts, lowers and defines the
//! built-ins again, and the host runs them exactly as it ran them for the
//! original instance. That holds only while the host's table for the fused
//! component holds nothing but that instance's handles, numbered as it
//! created them: the host's resource handles pass to and from that
//! instance's core code, through host calls and root exports alike, as the
//! host numbers them (no table of the fused module's in between), and any other handle near it, or a host handle
//! held by another instance, refuses the input, as do async calls between
//! components, which need a scheduler inside the fused module
//! (`docs/async.md`), but for calls of async lifts whose tasks provably
//! end within the call ([`async_lifts`]), which the fused module runs.

use super::{Adapter, ComponentInstanceId, Graph, HostLower, Lifted};
use super::{Options, ResourceOwner};
use crate::abi::{MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS, Shape, any_inside, flatten, shape};
use crate::error::{Error, Result};
use crate::parse::Input;
use crate::parse::ResourceOp;
use std::collections::BTreeSet;
use wasmparser::component_types::{ComponentValType, ResourceId};
use wasmparser::types::TypesRef;

fn refuse(message: String) -> Error {
    Error::unsupported("async", message)
}

/// Whether a call from one component instance into another is a
/// synchronous lower of an `async`-typed function, which traps at the call
/// when its caller's tasks may not block, and is refused otherwise unless
/// the callee never blocks ([`blocking_calls`], [`async_lifts`]). An async
/// lower of a synchronous lift runs the callee to its end within the call
/// (`check` makes sure it uses no async), which returns `RETURNED`, as the
/// runtime's does; a call of an async lift is settled once the graph is
/// whole ([`async_lifts`]).
pub(super) fn between_components(lower: &Options<'_>, async_type: bool) -> bool {
    !lower.async_ && async_type
}

/// Settles every call between components into an async lift whose task
/// provably runs to its end within the call that starts it
/// ([`Adapter::runs_to_end`]), and returns the others, whose tasks may
/// wait, which need the tasks the fused module keeps (`super::tasks`).
/// (So does a synchronous call of a synchronous lift of an `async`
/// function from a task that may block, when the callee's instance never
/// blocks.) A task runs to its end when its component instance can never block ([`may_wait`])
/// and its lift either has no `callback` (the task ends when its core
/// function returns) or a core function that returns `EXIT` (0) on every
/// path, so that the callback is never called. The call then runs the
/// callee in the adapter, whose `task.return` is a function of the fused
/// module's; a synchronous call of such a callee from a task that may
/// block no longer needs to block.
pub(super) fn async_lifts(input: &Input<'_>, graph: &mut Graph<'_>) -> Vec<usize> {
    let types = input.types.as_ref();
    let blocking = may_block(types, graph);
    let waits = may_wait(types, graph);
    // Each lift's code is read once, however many calls it has.
    let mut proved = std::collections::HashMap::new();
    let verdicts: Vec<Option<bool>> = graph
        .adapters
        .iter()
        .map(|a| {
            // A synchronous call of an `async` function from a task that
            // may not block traps at the call, whatever the callee.
            let traps = graph.cannot_enter(a.caller, a.callee.instance)
                || (a.cannot_block && !blocking.contains(&a.caller));
            if traps {
                None
            } else if a.callee.options.async_ {
                let exits = *proved
                    .entry(std::rc::Rc::as_ptr(&a.callee))
                    .or_insert_with(|| exits_at_once(input, graph, &a.callee));
                Some(
                    !waits.contains(&a.callee.instance)
                        && exits
                        && !crate::merge::func_has_handles(types, a.ty),
                )
            } else {
                // A synchronous lift of an `async` function, called
                // synchronously from a task that may block, runs to its
                // end if its instance never blocks ([`blocking_calls`]
                // settles it otherwise).
                (a.cannot_block && !waits.contains(&a.callee.instance)).then_some(true)
            }
        })
        .collect();
    let mut waiting = Vec::new();
    for (k, (a, verdict)) in graph.adapters.iter_mut().zip(verdicts).enumerate() {
        match verdict {
            None => {}
            Some(true) => {
                a.runs_to_end = true;
                // It never blocks: a task that may block may make it
                // synchronously.
                a.cannot_block = false;
            }
            Some(false) => waiting.push(k),
        }
    }
    waiting
}

/// The component instances that may block, the rest never do: an
/// instance never blocks when its only async built-in is `task.return`,
/// it calls no other component async or an `async` function (but calls
/// that trap before they start), no host function is reached from it (the
/// host may suspend even a synchronous call, and let another task enter
/// the instance, which the fused module would not hold back as the
/// runtime's lock does), and the host starts none of its async lifts
/// (whose `task.return` would be the host's).
fn may_wait(types: TypesRef<'_>, graph: &Graph<'_>) -> BTreeSet<ComponentInstanceId> {
    let mut out = reach_the_host(graph);
    for h in &graph.host_lowers {
        if let HostLower::Async {
            builtin, instance, ..
        } = h
            && !matches!(
                builtin.canon,
                wasmparser::CanonicalFunction::TaskReturn { .. }
            )
        {
            out.insert(*instance);
        }
    }
    for a in &graph.adapters {
        if !graph.traps_at_call(a) && (a.lower.async_ || types[a.ty].async_) {
            out.insert(a.caller);
        }
    }
    for (_, f) in graph.exported_functions() {
        if f.options.async_ {
            out.insert(f.instance);
        }
    }
    out
}

/// The component instances from whose core code a host function may be
/// called: those that lower one, and those that call them.
fn reach_the_host(graph: &Graph<'_>) -> BTreeSet<ComponentInstanceId> {
    let mut callers: std::collections::HashMap<ComponentInstanceId, Vec<ComponentInstanceId>> =
        std::collections::HashMap::new();
    for a in &graph.adapters {
        callers.entry(a.callee.instance).or_default().push(a.caller);
    }
    let mut work: Vec<ComponentInstanceId> = graph
        .host_lowers
        .iter()
        .filter_map(|h| match h {
            HostLower::Func { instance, .. } => Some(*instance),
            _ => None,
        })
        .collect();
    let mut reach = BTreeSet::new();
    while let Some(i) = work.pop() {
        if reach.insert(i) {
            work.extend(callers.get(&i).into_iter().flatten().copied());
        }
    }
    reach
}

/// Whether host lower `h` is an async built-in the fused module defines
/// itself: `task.return` of an instance in `internal`
/// ([`internal_task_returns`]), or a built-in of the tasks it keeps
/// ([`super::tasks::Schedule::internal`]).
pub fn module_own(
    graph: &Graph<'_>,
    internal: &BTreeSet<ComponentInstanceId>,
    (id, h): (usize, &HostLower<'_>),
) -> bool {
    let host_context = graph.schedule.host_context.is_some_and(|c| c.contains(&id));
    !host_context
        && (matches!(h, HostLower::Async { instance, .. } if internal.contains(instance))
            || graph.schedule.internal(id, h))
}

/// The component instances whose `task.return` is the fused module's:
/// the callees of calls that run an async lift to its end.
pub fn internal_task_returns(graph: &Graph<'_>) -> BTreeSet<ComponentInstanceId> {
    let s = &graph.schedule;
    graph
        .adapters
        .iter()
        .filter(|a| a.task_in_module())
        .map(|a| a.callee.instance)
        .chain(s.instances.difference(&s.roots).copied())
        .collect()
}

/// Whether async lift `f`'s task ends when its core function returns:
/// it has no `callback`, or its core function returns the constant `EXIT`
/// (0) on every path ([`returns_zero`]).
fn exits_at_once(input: &Input<'_>, graph: &Graph<'_>, f: &Lifted<'_>) -> bool {
    if f.options.callback.is_none() {
        return true;
    }
    super::exported_func(input, graph, &f.func)
        .and_then(|(m, index)| m.body(index))
        .is_some_and(returns_zero)
}

/// Whether a core function returns the constant 0 on every path: each
/// `return`, and the body's end where control falls through to it, comes
/// right after `i32.const 0`, and no branch leaves the body with a value.
/// Anything else (a branch to the body's label, a tail call, exception
/// handling) is not proved.
fn returns_zero(body: &wasmparser::FunctionBody<'_>) -> bool {
    use wasmparser::Operator as O;
    let Ok(reader) = body.get_operators_reader() else {
        return false;
    };
    let mut depth = 0u32;
    let mut prev: Option<O<'_>> = None;
    for op in reader {
        let Ok(op) = op else { return false };
        let zero_before = matches!(prev, Some(O::I32Const { value: 0 }));
        match &op {
            O::Block { .. } | O::Loop { .. } | O::If { .. } => depth += 1,
            O::End if depth == 0 => {
                let unreachable = matches!(
                    prev,
                    Some(O::Unreachable | O::Return | O::Br { .. } | O::BrTable { .. })
                );
                return zero_before || unreachable;
            }
            O::End => depth -= 1,
            O::Return if !zero_before => return false,
            O::Br { relative_depth } | O::BrIf { relative_depth } if *relative_depth >= depth => {
                return false;
            }
            O::BrTable { targets } => {
                let mut all = targets.targets().chain([Ok(targets.default())]);
                if all.any(|t| t.map_or(true, |t| t >= depth)) {
                    return false;
                }
            }
            O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Try { .. }
            | O::TryTable { .. }
            | O::Delegate { .. }
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. } => return false,
            _ => {}
        }
        prev = Some(op);
    }
    false
}

/// The component instances some task of which may block: one of the
/// functions each lifts, for the host or for another component, is lifted
/// async or has an `async` type. A task of any other function (or of a
/// start function) may not block before it returns, and returns when its
/// core function does, after which only its `post-return` runs, which may
/// not call out.
fn may_block(types: TypesRef<'_>, graph: &Graph<'_>) -> BTreeSet<ComponentInstanceId> {
    let roots = graph.exported_functions();
    let lifts = roots.iter().map(|(_, f)| &***f);
    lifts
        .chain(graph.adapters.iter().map(|a| &*a.callee))
        .filter(|f| f.options.async_ || types[f.ty].async_)
        .map(|f| f.instance)
        .collect()
}

/// The synchronous lowers of `async`-typed functions between components
/// ([`Adapter::cannot_block`]) from component instances whose tasks may
/// block, to callees that may block. (From an instance whose tasks may
/// never block, the runtime traps at the call before it starts, "cannot
/// block a synchronous task before returning", whatever the callee, and
/// so does the fused module; a callee that never blocks runs to its end,
/// as [`async_lifts`] has settled.) They need the tasks the fused module
/// keeps (`super::tasks`).
pub(super) fn blocking_calls(input: &Input<'_>, graph: &Graph<'_>) -> Vec<usize> {
    let blocking = may_block(input.types.as_ref(), graph);
    graph
        .adapters
        .iter()
        .enumerate()
        .filter(|(_, a)| a.cannot_block && blocking.contains(&a.caller))
        .map(|(k, _)| k)
        .collect()
}

/// Why adapter `k`, a synchronous call of an `async` function that may
/// block ([`blocking_calls`]), is refused where no task waits otherwise.
pub(super) fn blocking_refusal(graph: &Graph<'_>, k: usize) -> Error {
    let a = &graph.adapters[k];
    refuse(format!(
        "a synchronous call between components to `{}`, whose type is `async`, from a component instance whose tasks may block, to a callee that may block (it reaches a host function or uses async), is not supported yet",
        a.name
    ))
    .at_path(&graph.component_instances[a.caller.index()])
        .at_offset(a.offset)
}

/// Whether a core module instantiated in component instance `i` has a
/// start function (or is one the input does not hold).
pub(super) fn runs_a_start(input: &Input<'_>, graph: &Graph<'_>, i: ComponentInstanceId) -> bool {
    graph
        .core_instances
        .iter()
        .filter(|c| c.component == i)
        .any(|c| {
            input
                .modules
                .get(c.module.0 as usize)
                .is_none_or(|m| m.start.is_some())
        })
}

/// Whether component instance `i`'s core code can never run: it lifts no
/// function the root exports, every call into it traps at the call, its
/// core modules have no start function, and it defines no resource type
/// with a destructor. Its async built-ins are then never called, and do
/// not make it a user of the async ABI.
fn never_runs(input: &Input<'_>, graph: &Graph<'_>, i: ComponentInstanceId) -> bool {
    graph.exported_functions().iter().all(|(_, f)| f.instance != i)
        && graph
            .adapters
            .iter()
            .all(|a| a.callee.instance != i || graph.traps_at_call(a))
        && !runs_a_start(input, graph, i)
        && graph.resources.iter().all(|r| {
            !matches!(r.owner, ResourceOwner::Instance { instance, dtor: Some(_), .. } if instance == i)
        })
}

/// Whether every handle `f`'s type passes is of one of the host's
/// resource types.
fn host_types_only(
    types: wasmparser::types::TypesRef<'_>,
    graph: &Graph<'_>,
    f: &Lifted<'_>,
) -> bool {
    let ty = &types[f.ty];
    let mut ids = Vec::new();
    for t in ty.params.iter().map(|(_, t)| t).chain(ty.result.iter()) {
        crate::adapter::handles::resource_ids(types, t, &mut ids);
    }
    ids.into_iter().all(|id| {
        graph.resource(f.instance, id).is_ok_and(|rt| {
            matches!(
                graph.resources[rt.index()].owner,
                ResourceOwner::Host { .. }
            )
        })
    })
}

/// Which async handles a value holds: streams, futures and error
/// contexts (`top`: the value is one; `nested`: inside a list, record,
/// variant or the like), and resource handles.
#[derive(Debug, Default, Clone, Copy)]
pub struct Held {
    /// The value is a stream, a future or an error context.
    pub top: bool,
    /// One lies inside the value.
    pub nested: bool,
    /// A resource handle lies in or is the value.
    pub resources: bool,
}

impl Held {
    /// What a value of type `ty` holds.
    pub fn of(types: wasmparser::types::TypesRef<'_>, ty: &ComponentValType) -> Held {
        let is_async = |s: &Shape| matches!(s, Shape::Async(_) | Shape::ErrorContext);
        let top = is_async(&shape(types, ty));
        Held {
            top,
            nested: !top && any_inside(types, ty, &is_async),
            resources: crate::adapter::handles::has_handles(types, ty, false),
        }
    }

    /// Whether it holds any handle.
    pub fn any(self) -> bool {
        self.top || self.nested || self.resources
    }
}

/// Whether a value of type `ty` holds a handle inside it (in a record, a
/// variant, a list) rather than being one.
fn handle_inside(types: TypesRef<'_>, ty: &ComponentValType) -> bool {
    let h = Held::of(types, ty);
    h.nested || (h.resources && !matches!(shape(types, ty), Shape::Handle(..)))
}

/// Whether a parameter of root export `f` holds a handle inside a value
/// (a stream, future or error context, or a resource handle, in a
/// record, a variant or a list), which an async export's trampoline
/// passes through `handles::async_export_params`.
pub fn handles_inside_params(types: TypesRef<'_>, f: &Lifted<'_>) -> bool {
    types[f.ty]
        .params
        .iter()
        .any(|(_, t)| handle_inside(types, t))
}

/// Whether an async lower of a host function of type `ty` passes handles
/// that [`crate::adapter::handles::async_lower_params`] moves for the async
/// instance's own table: handles inside a value (a record, a variant, a
/// list), or any handle in parameters that spill to memory.
pub fn lower_params_in_memory_or_inside(
    types: TypesRef<'_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
) -> bool {
    let params = types[ty].params.iter().map(|(_, t)| t);
    let inside = params.clone().any(|t| handle_inside(types, t));
    let in_memory = handle_params(types, params.clone(), MAX_FLAT_ASYNC_PARAMS).is_none()
        && params.clone().any(|t| Held::of(types, t).any());
    inside || in_memory
}

/// A handle at the top of a parameter list (see [`handle_params`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandleAt {
    /// Its flat position.
    pub at: u32,
    /// Whether it leaves the table when passed: an `own` handle, a stream
    /// or future end; not a `borrow` or an error context.
    pub gone: bool,
    /// The resource type of an `own` or `borrow` handle.
    pub resource: Option<ResourceId>,
}

/// The top-level handles among parameters of types `params`, in order.
/// `None` when the parameters pass more than `max_flat` flat values.
pub fn handle_params<'t>(
    types: TypesRef<'_>,
    params: impl Iterator<Item = &'t ComponentValType>,
    max_flat: usize,
) -> Option<Vec<HandleAt>> {
    let mut at = 0;
    let mut out = Vec::new();
    let mut flat = Vec::new();
    for ty in params {
        let handle = match shape(types, ty) {
            Shape::Handle(own, r) => Some((own, Some(r))),
            Shape::Async(_) => Some((true, None)),
            Shape::ErrorContext => Some((false, None)),
            _ => None,
        };
        if let Some((gone, resource)) = handle {
            out.push(HandleAt { at, gone, resource });
        }
        flat.clear();
        flatten(types, ty, &mut flat);
        at += flat.len() as u32;
    }
    (at as usize <= max_flat).then_some(out)
}

/// Which async use a composition has, and how the fused module keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncUse {
    /// The one component instance that uses the async ABI at the host's
    /// boundary.
    pub instance: ComponentInstanceId,
    /// How its handles are numbered.
    pub numbers: Numbers,
}

/// How the component instance that uses the async ABI numbers its
/// handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// As the host numbers them: its core code holds the host's numbers,
    /// in no table of the fused module's.
    Host,
    /// In a table of its own in the fused module (`merge::asyncs`), whose
    /// slots hold the host's numbers.
    OwnTable,
    /// In its handle table, beside the waitable sets and subtasks of the
    /// tasks the fused module keeps (`merge::tasks`).
    Kept,
}

/// Checks that a composition's async use can be left to the host (see the
/// module's documentation), and says what stands in the way if not;
/// returns the component instance that uses it, if one does, and whether
/// it needs a table of its own (`own_table` asks for one in any case).
pub(super) fn check(
    input: &Input<'_>,
    graph: &Graph<'_>,
    own_table: bool,
) -> Result<Option<AsyncUse>> {
    let types = input.types.as_ref();
    let roots = graph.exported_functions();
    let mut users = BTreeSet::new();
    let internal = internal_task_returns(graph);
    for (id, h) in graph.host_lowers.iter().enumerate() {
        match h {
            HostLower::Async { instance, .. } if !module_own(graph, &internal, (id, h)) => {
                users.insert(*instance);
            }
            HostLower::Func {
                options, instance, ..
            } if options.async_ => {
                users.insert(*instance);
            }
            _ => {}
        }
    }
    for (_, f) in &roots {
        if f.options.async_ {
            users.insert(f.instance);
        }
    }
    // An instance whose code never runs uses none of its built-ins.
    users.retain(|i| !never_runs(input, graph, *i));
    let path = |i: ComponentInstanceId| graph.component_instances[i.index()].as_str();
    // A task may block only if its function type is `async`: that is the
    // type of the task the host started, which is the lowering instance's
    // own task only if that instance lifted the root's exports.
    for h in &graph.host_lowers {
        if let HostLower::Func {
            ty,
            instance,
            path: p,
            ..
        } = h
            && types[*ty].async_
            && roots.iter().any(|(_, f)| f.instance != *instance)
        {
            return Err(refuse(format!(
                "`{}`, whose type is `async`, is lowered by a component instance that does not lift every root export; the host would let a different task block",
                p.display()
            ))
            .at_path(path(*instance)));
        }
    }
    let mut users = users.into_iter();
    let Some(user) = users.next() else {
        return Ok(None);
    };
    if let Some(other) = users.next() {
        return Err(refuse(format!(
            "component instances `{}` and `{}` both use the async ABI; fusing more than one async component instance is not supported yet",
            path(user),
            path(other)
        )));
    }
    let at = |e: Error| e.at_path(path(user));
    for (name, f) in &roots {
        if f.instance != user {
            return Err(at(refuse(format!(
                "the root exports `{name}` from `{}` beside this async component instance; the host would hold both to one instance's backpressure and task rules",
                path(f.instance)
            ))));
        }
        if !host_types_only(types, graph, f) {
            return Err(at(refuse(format!(
                "the root export `{name}` passes handles of a resource type the composition defines beside the async ABI; the host's handle numbers would not be the component's"
            ))));
        }
    }
    // An async lower of a synchronous lift returns at once only if the
    // callee cannot block: it must not be the instance that uses async.
    if let Some(a) = graph
        .adapters
        .iter()
        .find(|a| a.lower.async_ && a.callee.instance == user)
    {
        return Err(refuse(format!(
            "an async lower of `{}`, which a component instance that uses the async ABI lifted, is not supported yet: it may block, and the fused module does not keep tasks",
            a.name
        ))
        .at_path(path(a.caller)));
    }
    let others_hold = handles_beside(types, graph, user).map_err(at)?;
    // An instance whose tasks the fused module keeps has its waitable
    // sets and subtasks in its table, and so its other handles too.
    let numbers = if graph.schedule.instances.contains(&user) {
        Numbers::Kept
    } else if own_table || others_hold {
        table_check(types, graph, user, &roots).map_err(at)?;
        Numbers::OwnTable
    } else {
        Numbers::Host
    };
    Ok(Some(AsyncUse {
        instance: user,
        numbers,
    }))
}

/// Refuses the handles the async instance `user` may not have beside the
/// async ABI (see the module's documentation); returns whether another
/// instance holds the host's handles, which gives it a table of its own.
fn handles_beside(
    types: wasmparser::types::TypesRef<'_>,
    graph: &Graph<'_>,
    user: ComponentInstanceId,
) -> Result<bool> {
    let path = |i: ComponentInstanceId| graph.component_instances[i.index()].as_str();
    let handles = |why: &str| {
        refuse(format!(
            "{why} beside the async ABI: the host's handle numbers would not be the component's"
        ))
    };
    // Another instance that holds the host's handles shares the host's
    // table for the fused component: the async instance then numbers its
    // handles in a table of its own.
    let mut others_hold = false;
    for h in &graph.host_lowers {
        match h {
            HostLower::Func {
                ty,
                path: p,
                instance,
                ..
            } if *instance != user => {
                let f = &types[*ty];
                let held = f.params.iter().map(|(_, t)| t).chain(f.result.iter());
                if held.clone().any(|t| {
                    let h = Held::of(types, t);
                    h.top || h.nested
                }) {
                    return Err(refuse(format!(
                        "the host function `{}` passes stream, future or error-context handles to `{}`, which does not use the async ABI",
                        p.display(),
                        path(*instance)
                    )));
                }
                others_hold |= crate::merge::func_has_handles(types, *ty);
            }
            HostLower::Exported { .. } => {
                return Err(handles("the root exports a resource type"));
            }
            _ => {}
        }
    }
    for b in &graph.builtins {
        let host = matches!(
            graph.resources[b.resource.index()].owner,
            ResourceOwner::Host { .. }
        );
        if b.instance == user && !(host && b.op == ResourceOp::Drop) {
            return Err(handles(
                "the component instance holds handles of its own resource types",
            ));
        }
        others_hold |= b.instance != user && host;
    }
    let holds = |a: &Adapter<'_>| {
        (a.caller == user || a.callee.instance == user)
            && crate::merge::func_has_handles(types, a.ty)
    };
    if let Some(a) = graph.adapters.iter().find(|a| holds(a)) {
        return Err(handles(&format!(
            "the call `{}` passes resource handles",
            a.name
        )));
    }
    if graph
        .resources
        .iter()
        .any(|r| matches!(r.owner, ResourceOwner::Instance { instance, .. } if instance == user))
    {
        return Err(handles("the component instance defines a resource type"));
    }
    Ok(others_hold)
}

/// What the async instance's own table translates (`merge::asyncs`):
/// streams, futures and error contexts the host passes in or takes back
/// as an export's parameters and result (one at the top of each, not
/// inside a value); handles anywhere in `task.return`'s result, in a
/// synchronous host call's parameters and results, and in an async
/// lower's results; handles an async lower passes as whole parameters;
/// resource handles through synchronous exports, as every instance's. No
/// handle inside a value an export takes or an async lower passes, or
/// inside a stream's or future's elements.
fn table_check(
    types: wasmparser::types::TypesRef<'_>,
    graph: &Graph<'_>,
    user: ComponentInstanceId,
    roots: &[(&str, &std::rc::Rc<Lifted<'_>>)],
) -> Result<()> {
    let why = |what: String| {
        refuse(format!(
            "{what}, which a component instance that uses the async ABI beside others holding the host's handles cannot translate yet"
        ))
    };
    for (name, f) in roots {
        let ty = &types[f.ty];
        let params = ty.params.iter().map(|(_, t)| t);
        // An async lift's handles pass through its trampoline
        // (`merge::asyncs`); a synchronous lift's through the one every
        // instance's exports that move handles have.
        let refused = if f.options.async_ {
            // The trampoline finds them only in flat parameters. With
            // handles inside the parameters, every handle parameter is
            // translated in order by one function
            // (`handles::async_export_params`), which takes no borrows:
            // the task would hold them. (The result is `task.return`'s,
            // checked with the built-in.)
            let spills = handle_params(types, params.clone(), MAX_FLAT_PARAMS).is_none();
            let holds = params
                .clone()
                .chain(ty.result.iter())
                .any(|t| Held::of(types, t).any());
            let lent = params
                .clone()
                .any(|t| crate::adapter::handles::has_handles(types, t, true));
            (spills && holds) || (handles_inside_params(types, f) && lent)
        } else {
            // Every handle, anywhere in the parameters and the result,
            // passes, but for a result holding streams, futures or error
            // contexts, which its `post-return` would see as the host
            // numbers them.
            let gives_one = ty.result.as_ref().is_some_and(|r| {
                let h = Held::of(types, r);
                h.top || h.nested
            });
            gives_one && f.options.post_return.is_some()
        };
        if refused {
            return Err(why(format!(
                "the root export `{name}` passes a borrow beside handles inside values or handles in parameters that spill to memory (an async export), or a stream, future or error context to a `post-return`"
            )));
        }
    }
    for h in &graph.host_lowers {
        match h {
            HostLower::Func {
                ty,
                path,
                options,
                instance,
                ..
            } if *instance == user => {
                let f = &types[*ty];
                let params = f.params.iter().map(|(_, t)| t);
                let translated = if options.async_ {
                    // Whole handles as flat parameters are passed as they
                    // are; others, in values or in memory, by a function
                    // of their own (`handles::async_lower_params`), which
                    // keeps no borrows for the subtask. Handles in the
                    // result become the instance's when it learns the
                    // result was written (`merge::asyncs`).
                    !lower_params_in_memory_or_inside(types, *ty)
                        || !params
                            .clone()
                            .any(|t| crate::adapter::handles::has_handles(types, t, true))
                } else {
                    // Every handle, anywhere in its parameters and
                    // results (`handles::host_call`).
                    true
                };
                if !translated {
                    return Err(why(format!(
                        "the async lower of host function `{}` passes a borrow beside handles inside values or in memory",
                        path.display()
                    )));
                }
            }
            HostLower::Async {
                builtin, instance, ..
            } if *instance == user => {
                let element = builtin.ty.and_then(|id| match &types[id] {
                    wasmparser::component_types::ComponentDefinedType::Stream { ty, .. }
                    | wasmparser::component_types::ComponentDefinedType::Future { ty, .. } => *ty,
                    _ => None,
                });
                if element.is_some_and(|t| Held::of(types, &t).any()) {
                    return Err(why(format!(
                        "`{}` moves elements that hold handles",
                        builtin.name()
                    )));
                }
                // Handles anywhere in `task.return`'s result leave the
                // table as a host call's parameters do.
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::returns_zero;

    /// Whether the one function of module `wat` provably returns 0.
    fn proved(wat: &str) -> bool {
        let bytes = wat::parse_str(wat).unwrap_or_default();
        let mut body = None;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let Ok(wasmparser::Payload::CodeSectionEntry(b)) = payload {
                body = Some(b);
            }
        }
        assert!(body.is_some(), "no function in {wat}");
        body.is_some_and(|b| returns_zero(&b))
    }

    #[test]
    fn only_a_constant_exit_on_every_path_is_proved() {
        let f = |body: &str| format!("(module (func (param i32) (result i32) {body}))");
        for yes in [
            "i32.const 0",
            "(call 0 (i32.const 1)) drop i32.const 0",
            "(if (local.get 0) (then (return (i32.const 0)))) i32.const 0",
            "(block (br_if 0 (local.get 0))) i32.const 0",
            "(loop (br_if 0 (local.get 0))) i32.const 0",
            "i32.const 0 return",
            "unreachable",
        ] {
            assert!(proved(&f(yes)), "{yes}");
        }
        for no in [
            "i32.const 1",
            "local.get 0",
            "(block (result i32) (i32.const 0))",
            "(if (local.get 0) (then (return (i32.const 1)))) i32.const 0",
            "(br_if 0 (i32.const 1) (local.get 0)) drop i32.const 0",
            "(block (br_table 0 1 (local.get 0))) i32.const 0",
            "(return_call 0 (local.get 0))",
        ] {
            assert!(!proved(&f(no)), "{no}");
        }
    }
}
