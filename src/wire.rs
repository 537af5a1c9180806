//! Several input components wired into one composition by interface name.
//!
//! `solder fuse app.wasm lib.wasm` means what `wac plug app.wasm --plug
//! lib.wasm` means, generalised to any number of inputs that may also use
//! each other: every input is instantiated once, and each import is plugged
//! with the one other input that exports the same name. The composition is
//! built with `wac-graph` and then fused like any other composed component,
//! so this stage only decides *who provides what* and says clearly when that
//! is not decidable.
//!
//! The rules, in the order they are checked:
//!
//! 1. Every input must be a valid component (`malformed`, naming the input).
//! 2. For each import of each input, the *providers* are the other inputs
//!    that export exactly that name; when none does, those that export a
//!    semver-compatible name (`a:b/c@0.2.1` for `a:b/c@0.2.0`), as `wac plug`
//!    matches. No provider: the import stays an import of the result (WASI
//!    and other host imports). Two or more: `unresolved`, naming the
//!    importer, the import and every candidate.
//! 3. Every input but the first (the *socket*, whose exports the result
//!    has) must provide at least one import of another input; otherwise it
//!    would be instantiated for nothing, and `wac plug` rejects such a plug
//!    too (`unresolved`).
//! 4. The inputs must not import from each other in a cycle (`unresolved`,
//!    naming the cycle).
//! 5. An export must have a type the import accepts (`unresolved`, naming
//!    both sides).

use crate::error::{Error, ErrorKind, Result};
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeError, EncodeOptions, InstantiationArgumentError, NodeId};

/// One input: a name for messages (`input[1]`, or a file name) and bytes.
pub type Input<'a> = (&'a str, &'a [u8]);

/// An import of `importer` plugged with an export of `provider`.
#[derive(Debug)]
struct Plug {
    importer: usize,
    import: String,
    provider: usize,
    export: String,
}

/// Composes `inputs` (at least two) into one component whose exports are
/// the first input's, following the rules in the module documentation.
pub fn compose(inputs: &[Input<'_>]) -> Result<Vec<u8>> {
    assert!(inputs.len() >= 2, "wiring needs at least two inputs");
    for (name, bytes) in inputs {
        validate_input(name, bytes)?;
    }
    let mut graph = CompositionGraph::new();
    let mut packages = Vec::with_capacity(inputs.len());
    for (i, (name, bytes)) in inputs.iter().enumerate() {
        // The package name is internal: it must not depend on how the
        // caller names inputs, so that the output does not either.
        let package = Package::from_bytes(
            &format!("solder:input{i}"),
            None,
            bytes.to_vec(),
            graph.types_mut(),
        )
        .map_err(|e| Error::malformed(format!("{e:#}")).at_path(name))?;
        packages.push(
            graph
                .register_package(package)
                .map_err(|e| Error::malformed(e.to_string()).at_path(name))?,
        );
    }
    let plugs = plan(&graph, &packages, inputs)?;
    check_unused(&graph, &packages, &plugs, inputs)?;
    check_cycles(&plugs, inputs)?;

    let instances: Vec<NodeId> = packages.iter().map(|&p| graph.instantiate(p)).collect();
    for plug in &plugs {
        let export = graph
            .alias_instance_export(instances[plug.provider], &plug.export)
            .map_err(|e| internal(&e))?;
        match graph.set_instantiation_argument(instances[plug.importer], &plug.import, export) {
            Ok(()) => {}
            Err(InstantiationArgumentError::ArgumentTypeMismatch { source, .. }) => {
                return Err(Error::unresolved(format!(
                    "{} imports `{}`, but the export `{}` of {} has a type it does not accept: {source:#}",
                    inputs[plug.importer].0,
                    plug.import,
                    plug.export,
                    inputs[plug.provider].0,
                ))
                .at_path(inputs[plug.importer].0));
            }
            Err(other) => unreachable!(
                "each import of an input is planned once, by a name its package type lists: {other}"
            ),
        }
    }
    let socket = packages[0];
    let exports: Vec<String> = graph.types()[graph[socket].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let export = graph
            .alias_instance_export(instances[0], &name)
            .map_err(|e| internal(&e))?;
        graph
            .export(export, name)
            .map_err(|e| Error::unresolved(chain(&e)).at_path(inputs[0].0))?;
    }
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| encode_error(&e, &instances, inputs))
}

/// Rule 1: each input is a valid component on its own.
///
/// The parse stage checks it as it would a single input, so a broken input
/// gets the same message, offset and path inside it, under its own name.
fn validate_input(name: &str, bytes: &[u8]) -> Result<()> {
    match crate::parse::parse(bytes) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::Malformed | ErrorKind::Unresolved) => {
            Err(e.within(name))
        }
        // Valid as far as the parse went, but not fused as a root on its
        // own; as part of the composition it may be. Check the rest.
        Err(_) => wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(bytes)
            .map(drop)
            .map_err(|e| Error::from_wasmparser(e, name)),
    }
}

/// Rule 2: who provides each import.
fn plan(
    graph: &CompositionGraph,
    packages: &[wac_graph::PackageId],
    inputs: &[Input<'_>],
) -> Result<Vec<Plug>> {
    let world = |i: usize| &graph.types()[graph[packages[i]].ty()];
    let mut plugs = Vec::new();
    for importer in 0..packages.len() {
        for import in world(importer).imports.keys() {
            let others = (0..packages.len()).filter(|&p| p != importer);
            let exact: Vec<(usize, String)> = others
                .clone()
                .filter(|&p| world(p).exports.contains_key(import))
                .map(|p| (p, import.clone()))
                .collect();
            let candidates = if exact.is_empty() {
                others
                    .filter_map(|p| {
                        world(p)
                            .exports
                            .keys()
                            .find(|e| are_semver_compatible(e, import))
                            .map(|e| (p, e.clone()))
                    })
                    .collect()
            } else {
                exact
            };
            match candidates.as_slice() {
                [] => {}
                [(provider, export)] => plugs.push(Plug {
                    importer,
                    import: import.clone(),
                    provider: *provider,
                    export: export.clone(),
                }),
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .map(|(p, e)| {
                            if e == import {
                                inputs[*p].0.to_string()
                            } else {
                                format!("{} (as `{e}`)", inputs[*p].0)
                            }
                        })
                        .collect();
                    return Err(Error::unresolved(format!(
                        "{} imports `{import}`, which {} inputs export: {}; pass only one of them",
                        inputs[importer].0,
                        several.len(),
                        names.join(", "),
                    ))
                    .at_path(inputs[importer].0));
                }
            }
        }
    }
    Ok(plugs)
}

/// Rule 3: every input but the socket provides something.
fn check_unused(
    graph: &CompositionGraph,
    packages: &[wac_graph::PackageId],
    plugs: &[Plug],
    inputs: &[Input<'_>],
) -> Result<()> {
    for (p, (name, _)) in inputs.iter().enumerate().skip(1) {
        if plugs.iter().any(|plug| plug.provider == p) {
            continue;
        }
        let exports: Vec<String> = graph.types()[graph[packages[p]].ty()]
            .exports
            .keys()
            .map(|e| format!("`{e}`"))
            .collect();
        let what = if exports.is_empty() {
            "it exports nothing".to_string()
        } else {
            format!("nothing imports its exports ({})", exports.join(", "))
        };
        return Err(Error::unresolved(format!(
            "{name} is not used: {what}; only the first input may provide nothing to the others"
        ))
        .at_path(name));
    }
    Ok(())
}

/// Rule 4: no input imports, directly or not, from itself.
fn check_cycles(plugs: &[Plug], inputs: &[Input<'_>]) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    /// Depth-first from `at`; on a cycle, returns its plugs in order.
    fn visit<'p>(
        at: usize,
        plugs: &'p [Plug],
        marks: &mut [Mark],
        path: &mut Vec<&'p Plug>,
    ) -> Option<Vec<&'p Plug>> {
        marks[at] = Mark::OnPath;
        for plug in plugs.iter().filter(|p| p.importer == at) {
            path.push(plug);
            match marks[plug.provider] {
                Mark::OnPath => {
                    // An input on the path: the plug that leaves it starts
                    // the cycle.
                    if let Some(start) = path.iter().position(|p| p.importer == plug.provider) {
                        return Some(path[start..].to_vec());
                    }
                }
                Mark::New => {
                    if let Some(cycle) = visit(plug.provider, plugs, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
            path.pop();
        }
        marks[at] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; inputs.len()];
    for start in 0..inputs.len() {
        if marks[start] != Mark::New {
            continue;
        }
        if let Some(cycle) = visit(start, plugs, &mut marks, &mut Vec::new()) {
            let steps: Vec<String> = cycle
                .iter()
                .map(|p| {
                    format!(
                        "{} imports `{}` from {}",
                        inputs[p.importer].0, p.import, inputs[p.provider].0
                    )
                })
                .collect();
            return Err(Error::unresolved(format!(
                "the inputs import from each other in a cycle: {}",
                steps.join(", ")
            ))
            .at_path(inputs[cycle[0].importer].0));
        }
    }
    Ok(())
}

fn encode_error(e: &EncodeError, instances: &[NodeId], inputs: &[Input<'_>]) -> Error {
    let name = |node: &NodeId| {
        instances
            .iter()
            .position(|n| n == node)
            .map_or("an input", |i| inputs[i].0)
    };
    match e {
        EncodeError::ImportTypeMergeConflict {
            import,
            first,
            second,
            source,
        } => Error::unresolved(format!(
            "{} and {} both import `{import}`, with types that cannot be merged into one import: {source:#}",
            name(first),
            name(second),
        ))
        .at_path(name(second)),
        EncodeError::GraphContainsCycle { .. } => {
            unreachable!("cycles between inputs are rejected before encoding")
        }
        other => Error::unresolved(format!(
            "wiring the inputs did not give a valid composition: {}",
            chain(other)
        ))
        .at_path("composition"),
    }
}

/// An error and its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A wac-graph failure where the plan already ensured success (an export
/// the package's own type lists): a bug, reported as an error, not a panic.
fn internal(e: &dyn std::fmt::Display) -> Error {
    Error::internal(format!("wiring the inputs failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).expect("test component parses")
    }

    #[test]
    fn a_cycle_is_named_in_order() {
        let plugs = [
            Plug {
                importer: 0,
                import: "a:b/x".into(),
                provider: 1,
                export: "a:b/x".into(),
            },
            Plug {
                importer: 1,
                import: "a:b/y".into(),
                provider: 2,
                export: "a:b/y".into(),
            },
            Plug {
                importer: 2,
                import: "a:b/z".into(),
                provider: 1,
                export: "a:b/z".into(),
            },
        ];
        let inputs: Vec<Input<'_>> = vec![("p", &[]), ("q", &[]), ("r", &[])];
        let e = check_cycles(&plugs, &inputs).expect_err("q and r form a cycle");
        assert_eq!(
            e.message(),
            "the inputs import from each other in a cycle: q imports `a:b/y` from r, r imports `a:b/z` from q"
        );
        assert_eq!(e.path(), "q");
        check_cycles(&plugs[..2], &inputs).expect("a chain is no cycle");
    }

    #[test]
    fn a_core_module_is_malformed() {
        let module = component("(module)");
        let empty = component("(component)");
        let e = compose(&[("a", &empty), ("b", &module)]).expect_err("a module");
        assert_eq!(e.kind(), crate::ErrorKind::Malformed);
        assert_eq!(e.path(), "b");
    }
}
