//! Which component instances can observe their `may_leave` flag.
//!
//! The canonical ABI clears an instance's `may_leave` while its `realloc`
//! runs for a value lowered into it and while its `post-return` runs, and
//! traps if the instance calls out meanwhile. When none of those functions
//! can call out at all (no call of an imported function and no indirect
//! call is reachable from it inside its module), nothing can see the flag:
//! the fused module then keeps no flag for the instance and makes no check
//! of it, and an adapter's calls cost no flag traffic.

use crate::instantiate::{ComponentInstanceId, CoreDef, Graph, HostLower};
use crate::parse::{Input, ModuleDef};
use std::collections::HashSet;
use wasmparser::Operator;

/// For each component instance, whether its `may_leave` flag can be seen.
pub fn observed(input: &Input<'_>, graph: &Graph<'_>) -> Vec<bool> {
    let mut seen = vec![false; graph.component_instances.len()];
    let mut mark = |i: ComponentInstanceId, def: Option<&CoreDef<'_>>| {
        if let Some(d) = def
            && may_call_out(input, graph, d)
        {
            seen[i.index()] = true;
        }
    };
    for a in &graph.adapters {
        mark(a.caller, a.lower.realloc.as_ref());
        mark(a.callee.instance, a.callee.options.realloc.as_ref());
        mark(a.callee.instance, a.callee.options.post_return.as_ref());
    }
    for h in &graph.host_lowers {
        if let HostLower::Func {
            instance, options, ..
        } = h
        {
            mark(*instance, options.realloc.as_ref());
        }
    }
    seen
}

/// Whether the function `def` names may call out of its module.
fn may_call_out(input: &Input<'_>, graph: &Graph<'_>, def: &CoreDef<'_>) -> bool {
    match crate::instantiate::exported_func(input, graph, def) {
        Some((m, f)) => reaches_out(m, f),
        None => true,
    }
}

/// Whether function `f` of `m` reaches a call of an imported function or
/// an indirect call (or has code that does not read).
fn reaches_out(m: &ModuleDef<'_>, f: u32) -> bool {
    let mut visited = HashSet::new();
    let mut todo = vec![f];
    while let Some(f) = todo.pop() {
        if !visited.insert(f) {
            continue;
        }
        // An imported function, or one without code.
        let Some(body) = m.body(f) else {
            return true;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            return true;
        };
        while !ops.eof() {
            match ops.read() {
                Ok(Operator::Call { function_index } | Operator::ReturnCall { function_index }) => {
                    todo.push(function_index)
                }
                Ok(
                    Operator::CallIndirect { .. }
                    | Operator::ReturnCallIndirect { .. }
                    | Operator::CallRef { .. }
                    | Operator::ReturnCallRef { .. },
                )
                | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }
    false
}
