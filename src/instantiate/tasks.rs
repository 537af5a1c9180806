//! Async tasks that wait, kept by the fused module itself.
//!
//! A call from one component into another's async lift whose task may
//! wait (it returns `YIELD` or `WAIT` from its `callback`) needs a
//! scheduler: the caller's async lower gets a subtask, the caller waits on
//! waitable sets holding it, and someone must run the callee's callback
//! again when what it waits for has happened. Inside one fused module that
//! someone is the module itself (`merge::tasks`): every component
//! instance's waitable sets and subtasks live in its handle table, and a
//! task that waits on its own stack (`waitable-set.wait`, or a synchronous
//! call of a callee that waits) runs the other tasks' turns in a loop
//! until what it waits for has happened.
//!
//! Tasks are stackless: a `callback` lift's task holds no stack between
//! its turns, so its turns can run from that loop. A task that waits on
//! its own stack must never be needed by the loop it runs: its component
//! instance lifts no `callback` function, is entered only by the host and
//! by synchronous calls from instances that wait on their own stack too
//! (so that no caller expects it to return `STARTED` instead), and only
//! through functions whose type is `async` (a task of another may not
//! block). The instances form a graph without cycles (an instance can
//! only import what was instantiated before it), so no task can enter an
//! instance whose task is running or waiting on the stack: the spec's
//! exclusive lock and backpressure never hold a call back.
//!
//! The scheduler keeps tasks, subtasks and waitable sets
//! (`waitable-set.new`, `.wait`, `.poll`, `.drop`, `waitable.join`,
//! `subtask.drop`, `task.return` and the `YIELD`, `WAIT` and `EXIT`
//! codes), each task's context (`context.get` and `.set`) and
//! cancellation (`subtask.cancel`, `task.cancel`). A root export lifted
//! async with a `callback` by an instance whose calls it keeps is wrapped
//! (`merge::roots`): the host runs its task, the fused module the tasks
//! it waits on. A composition that needs the scheduler and uses anything
//! else of the async ABI is refused with what stands in the way.

use super::{ComponentInstanceId, Graph, HostLower};
use crate::error::{Error, Result};
use crate::parse::Input;
use std::collections::BTreeSet;
use wasmparser::CanonicalFunction as C;

/// The component instances whose tasks the fused module keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Instances whose async built-ins are the fused module's: every one
    /// that uses the async ABI, but for `task.return` of an instance whose
    /// async lifts the root exports, which stays the host's.
    pub instances: BTreeSet<ComponentInstanceId>,
    /// Instances whose async lifts the root exports.
    pub roots: BTreeSet<ComponentInstanceId>,
    /// Instances that wait on their own stack.
    pub stack: BTreeSet<ComponentInstanceId>,
    /// Instances whose root exports are lifted async with a `callback`:
    /// the fused module wraps those lifts, keeps a record of each of
    /// their tasks and runs the other tasks' turns while one waits.
    pub callback_roots: BTreeSet<ComponentInstanceId>,
    /// Instances that use `context.get`, `.set` or `task.cancel`: a task
    /// that enters one without a record gets a fresh context.
    pub per_task: BTreeSet<ComponentInstanceId>,
    /// The host's `context.get` and `.set` (indices into
    /// [`Graph::host_lowers`]), through which those wrappers find their
    /// task's record.
    pub host_context: Option<[usize; 2]>,
}

impl Schedule {
    /// Whether host lower `h` (index `id`) is an async built-in the fused
    /// module defines (not `task.return` of a root export's task, nor the
    /// host's context the wrappers of root exports keep their records in).
    pub fn internal(&self, id: usize, h: &HostLower<'_>) -> bool {
        if self.host_context.is_some_and(|c| c.contains(&id)) {
            return false;
        }
        match h {
            HostLower::Async {
                builtin, instance, ..
            } => {
                self.instances.contains(instance)
                    && !(matches!(builtin.canon, C::TaskReturn { .. } | C::TaskCancel)
                        && self.roots.contains(instance))
            }
            _ => false,
        }
    }
}

fn refuse(what: String) -> Error {
    Error::unsupported(
        "async",
        format!(
            "{what}; the fused module keeps tasks that wait only with waitable sets, subtasks, `task.return`, `context` and cancellation, and tasks that wait on their own stack only where no other task needs them to go on"
        ),
    )
}

/// Whether built-in `c` is one this scheduler keeps.
fn kept(c: &C) -> bool {
    matches!(
        c,
        C::TaskReturn { .. }
            | C::WaitableSetNew
            | C::WaitableSetWait { .. }
            | C::WaitableSetPoll { .. }
            | C::WaitableSetDrop
            | C::WaitableJoin
            | C::SubtaskDrop
            | C::ContextGet { slot: 0, .. }
            | C::ContextSet { slot: 0, .. }
            | C::TaskCancel
            | C::SubtaskCancel { .. }
    )
}

/// Makes the fused module keep the tasks of the calls `waiting` (adapter
/// indices into async lifts whose tasks may wait): marks them
/// [`super::Adapter::scheduled`] and records the [`Schedule`], or says
/// what stands in the way.
///
/// `blocking` are the synchronous calls of `async` functions that may
/// block ([`super::asyncs::blocking_calls`]): they run as any call where
/// the fused module keeps tasks, and are refused where it need not.
pub(super) fn plan(
    input: &Input<'_>,
    graph: &mut Graph<'_>,
    waiting: &[usize],
    blocking: &[usize],
) -> Result<()> {
    if waiting.is_empty() {
        return match blocking.first() {
            Some(&k) => Err(super::asyncs::blocking_refusal(graph, k)),
            None => Ok(()),
        };
    }
    let first = &graph.adapters[waiting[0]];
    let name = if first.name.is_empty() {
        "a function"
    } else {
        first.name
    };
    let schedule = schedule(input, graph, waiting).map_err(|what| {
        refuse(format!(
            "a call to `{name}`, which another component lifted async and whose task may wait, needs tasks the fused module keeps, but {what}"
        ))
        .at_path(&graph.component_instances[first.caller.index()])
        .at_offset(first.offset)
    })?;
    for &k in waiting {
        let a = &mut graph.adapters[k];
        a.scheduled = true;
        a.cannot_block = false;
    }
    for &k in blocking {
        graph.adapters[k].cannot_block = false;
    }
    let mut schedule = schedule;
    if let Some(&root) = schedule.callback_roots.first() {
        let at = graph.host_lowers.len();
        for canon in [
            C::ContextGet {
                ty: wasmparser::ValType::I32,
                slot: 0,
            },
            C::ContextSet {
                ty: wasmparser::ValType::I32,
                slot: 0,
            },
        ] {
            let sig = match canon {
                C::ContextGet { .. } => wasmparser::FuncType::new([], [wasmparser::ValType::I32]),
                _ => wasmparser::FuncType::new([wasmparser::ValType::I32], []),
            };
            graph.host_lowers.push(HostLower::Async {
                builtin: crate::parse::AsyncBuiltin {
                    canon,
                    options: Default::default(),
                    sig,
                    ty: None,
                    result: None,
                },
                options: Default::default(),
                instance: root,
            });
        }
        schedule.host_context = Some([at, at + 1]);
    }
    graph.schedule = schedule;
    Ok(())
}

/// The component instances whose tasks the fused module keeps for the
/// calls `waiting`, or what stands in the way.
fn schedule(
    input: &Input<'_>,
    graph: &Graph<'_>,
    waiting: &[usize],
) -> std::result::Result<Schedule, String> {
    let types = input.types.as_ref();
    let path = |i: ComponentInstanceId| graph.component_instances[i.index()].clone();
    let mut schedule = Schedule::default();
    for h in &graph.host_lowers {
        match h {
            HostLower::Func {
                options,
                instance,
                path: p,
                ..
            } if options.async_ => {
                return Err(format!(
                    "`{}` lowers host function `{}` async",
                    path(*instance),
                    p.display()
                ));
            }
            HostLower::Async {
                builtin, instance, ..
            } => {
                if !kept(&builtin.canon) {
                    return Err(format!("`{}` uses `{}`", path(*instance), builtin.name()));
                }
                schedule.instances.insert(*instance);
            }
            _ => {}
        }
    }
    for &k in waiting {
        let a = &graph.adapters[k];
        schedule.instances.insert(a.callee.instance);
        schedule.instances.insert(a.caller);
    }
    for (export, f) in graph.exported_functions() {
        if f.options.async_ {
            if f.options.callback.is_some() {
                if !schedule.instances.contains(&f.instance) {
                    return Err(format!(
                        "the root exports `{export}`, lifted async with a `callback` by `{}`, which makes no call whose task the fused module keeps",
                        path(f.instance)
                    ));
                }
                schedule.callback_roots.insert(f.instance);
            }
            schedule.roots.insert(f.instance);
        }
    }
    // No resource handles cross into or out of a task the fused module
    // keeps (its instance's own handles live in its table, beside its
    // waitable sets and subtasks, as composed).
    for a in &graph.adapters {
        let near = schedule.instances.contains(&a.caller)
            || schedule.instances.contains(&a.callee.instance);
        if near && crate::merge::func_has_handles(types, a.ty) {
            return Err(format!("the call of `{}` passes resource handles", a.name));
        }
    }
    for (export, f) in graph.exported_functions() {
        if schedule.instances.contains(&f.instance) && crate::merge::func_has_handles(types, f.ty) {
            return Err(format!(
                "the root export `{export}` passes resource handles"
            ));
        }
    }
    schedule.stack = on_the_stack(graph, waiting);
    stack_rules(input, graph, &schedule)?;
    schedule.per_task = per_task(graph, &schedule);
    Ok(schedule)
}

/// The instances whose tasks keep state the fused module holds per task:
/// those that use `context.get`, `.set` or `task.cancel`. Calls whose
/// tasks it keeps have records; every other entry into them (a
/// synchronous call, a root export) starts a task without one, whose
/// context starts at 0.
fn per_task(graph: &Graph<'_>, schedule: &Schedule) -> BTreeSet<ComponentInstanceId> {
    graph
        .host_lowers
        .iter()
        .filter_map(|h| match h {
            HostLower::Async {
                builtin, instance, ..
            } if schedule.instances.contains(instance)
                && matches!(
                    builtin.canon,
                    C::ContextGet { .. } | C::ContextSet { .. } | C::TaskCancel
                ) =>
            {
                Some(*instance)
            }
            _ => None,
        })
        .collect()
}

/// The component instances that wait on their own stack: those that call
/// `waitable-set.wait`, or call synchronously an async lift whose task may
/// wait (`waiting`) or an instance that waits on its own stack.
fn on_the_stack(graph: &Graph<'_>, waiting: &[usize]) -> BTreeSet<ComponentInstanceId> {
    let mut out: BTreeSet<ComponentInstanceId> = graph
        .host_lowers
        .iter()
        .filter_map(|h| match h {
            HostLower::Async {
                builtin, instance, ..
            } if matches!(builtin.canon, C::WaitableSetWait { .. }) => Some(*instance),
            _ => None,
        })
        .collect();
    for &k in waiting {
        let a = &graph.adapters[k];
        if !a.lower.async_ {
            out.insert(a.caller);
        }
    }
    loop {
        let more: Vec<ComponentInstanceId> = graph
            .adapters
            .iter()
            .filter(|a| {
                !a.lower.async_ && out.contains(&a.callee.instance) && !out.contains(&a.caller)
            })
            .map(|a| a.caller)
            .collect();
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

/// Checks that every instance that waits on its own stack is needed by
/// no task the loop it runs would have to run (see the module's
/// documentation).
fn stack_rules(
    input: &Input<'_>,
    graph: &Graph<'_>,
    schedule: &Schedule,
) -> std::result::Result<(), String> {
    let types = input.types.as_ref();
    let path = |i: ComponentInstanceId| graph.component_instances[i.index()].as_str();
    for &x in &schedule.stack {
        for a in graph.adapters.iter().filter(|a| a.callee.instance == x) {
            if graph.cannot_enter(a.caller, x) {
                continue;
            }
            if a.lower.async_ || a.callee.options.async_ {
                return Err(format!(
                    "`{}` waits on its own stack and `{}` is called async (the caller would need it to return first)",
                    path(x),
                    a.name
                ));
            }
            if !types[a.ty].async_ {
                return Err(format!(
                    "`{}` waits on its own stack, entered by `{}`, whose type is not `async` (its task may not block)",
                    path(x),
                    a.name
                ));
            }
        }
        for (export, f) in graph.exported_functions() {
            if f.instance != x {
                continue;
            }
            if f.options.callback.is_some() {
                return Err(format!(
                    "`{}` waits on its own stack and lifts `{export}` with a `callback`",
                    path(x)
                ));
            }
            if !f.options.async_ && !types[f.ty].async_ {
                return Err(format!(
                    "`{}` waits on its own stack, entered by root export `{export}`, whose type is not `async` (its task may not block)",
                    path(x)
                ));
            }
        }
        if super::asyncs::runs_a_start(input, graph, x) {
            return Err(format!(
                "`{}` waits on its own stack and has a start function, which may not block",
                path(x)
            ));
        }
    }
    // A callback lift's turns run from the loop: its instance must not
    // wait on its own stack (above), and a root export's `task.return` is
    // the host's, so its instance's async lifts are the host's alone.
    for a in &graph.adapters {
        if a.callee.options.async_
            && schedule.roots.contains(&a.callee.instance)
            && !graph.cannot_enter(a.caller, a.callee.instance)
        {
            return Err(format!(
                "`{}` lifts async both what the root exports and `{}`, which another component calls",
                path(a.callee.instance),
                a.name
            ));
        }
    }
    // A synchronous `subtask.cancel` may run other tasks' turns until the
    // subtask resolves: not from a turn of a task the loop runs, whose
    // instance's other tasks would then run inside it.
    for h in &graph.host_lowers {
        if let HostLower::Async {
            builtin, instance, ..
        } = h
            && matches!(builtin.canon, C::SubtaskCancel { async_: false })
            && let Some(a) = graph.adapters.iter().find(|a| {
                a.callee.instance == *instance
                    && a.callee.options.callback.is_some()
                    && !graph.cannot_enter(a.caller, *instance)
            })
        {
            return Err(format!(
                "`{}` cancels a subtask synchronously, and another component calls its `{}`, lifted with a `callback`, whose turns the fused module runs while it waits",
                path(*instance),
                a.name
            ));
        }
    }
    Ok(())
}
