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
//! (`docs/async.md`).

use super::{Adapter, ComponentInstanceId, Graph, HostLower, Lifted};
use super::{Options, ResourceOwner};
use crate::error::{Error, Result};
use crate::parse::Input;
use crate::parse::ResourceOp;
use std::collections::BTreeSet;

fn refuse(message: String) -> Error {
    Error::unsupported("async", message)
}

/// Refuses a call from one component instance into another when either
/// side uses the async ABI: the host cannot run such a call for the fused
/// component, and the fused module does not run tasks itself yet.
pub(super) fn between_components(
    lower: &Options<'_>,
    callee: &Lifted<'_>,
    name: &str,
    async_type: bool,
) -> Result<()> {
    let name = if name.is_empty() { "a function" } else { name };
    if lower.async_ {
        return Err(refuse(format!(
            "an async lower of `{name}`, which another component lifted, is not supported yet: only async calls to and from the host are"
        )));
    }
    if callee.options.async_ {
        return Err(refuse(format!(
            "a call to `{name}`, which another component lifted async, is not supported yet: only async calls to and from the host are"
        )));
    }
    if async_type {
        // The callee's task may block and the caller's may not: which
        // traps depends on tasks the fused module does not keep yet.
        return Err(refuse(format!(
            "a call between components to `{name}`, whose type is `async`, is not supported yet"
        )));
    }
    Ok(())
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

/// Checks that a composition's async use can be left to the host (see the
/// module's documentation), and says what stands in the way if not;
/// returns the component instance that uses it, if one does.
pub(super) fn check(input: &Input<'_>, graph: &Graph<'_>) -> Result<Option<ComponentInstanceId>> {
    let types = input.types.as_ref();
    let roots = graph.exported_functions();
    let mut users = BTreeSet::new();
    for h in &graph.host_lowers {
        match h {
            HostLower::Async { instance, .. } => {
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
    let handles = |why: &str| {
        at(refuse(format!(
            "{why} beside the async ABI: the host's handle numbers would not be the component's"
        )))
    };
    // The host's handles stay the host's numbers in this instance's core
    // code, as they were: no other instance may hold any, since the host
    // would number theirs in the same table.
    for h in &graph.host_lowers {
        match h {
            HostLower::Func {
                ty,
                path: p,
                instance,
                ..
            } if *instance != user && crate::merge::func_has_handles(types, *ty) => {
                return Err(handles(&format!(
                    "the host function `{}` passes resource handles to `{}`",
                    p.display(),
                    path(*instance)
                )));
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
        if b.instance != user && host {
            return Err(handles(&format!(
                "`{}` holds the host's resource handles",
                path(b.instance)
            )));
        }
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
    Ok(Some(user))
}
