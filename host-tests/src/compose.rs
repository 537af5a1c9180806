//! Compositions of the fixture components, built with `wac-graph` as `wac
//! plug` would: each component's imports are satisfied by the exports of
//! the next one in a chain; imports left over become imports of the whole.

use anyhow::{Context, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions};

/// Composes `chain[0] <- chain[1] <- ... <- chain[n-1]`: each component's
/// `interface` import is plugged with the next component's export of it.
/// The result exports what `chain[0]` exports.
pub fn chain(chain: &[(&str, Vec<u8>)], interface: &str) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let mut instances = Vec::new();
    for (name, bytes) in chain {
        let pkg = Package::from_bytes(
            &format!("fixture:{name}"),
            None,
            bytes.clone(),
            graph.types_mut(),
        )
        .with_context(|| format!("loading {name}"))?;
        let id = graph.register_package(pkg)?;
        instances.push(graph.instantiate(id));
    }
    for pair in instances.windows(2) {
        let export = graph.alias_instance_export(pair[1], interface)?;
        graph.set_instantiation_argument(pair[0], interface, export)?;
    }
    let first = instances[0];
    let package = graph[first].package().context("instance without package")?;
    let exports: Vec<String> = graph.types()[graph[package].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let export = graph.alias_instance_export(first, &name)?;
        graph.export(export, name)?;
    }
    Ok(graph.encode(EncodeOptions::default())?)
}

/// Composes as `wac plug SOCKET --plug PLUG...` does, with wac-graph's own
/// `plug`: each plug's exports satisfy the socket's imports of the same
/// name; the result exports what the socket exports. The reference that
/// Solder's wiring of several inputs is checked against.
pub fn plug(socket: &[u8], plugs: &[&[u8]]) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let mut register = |name: String, bytes: &[u8]| -> Result<_> {
        let pkg = Package::from_bytes(&name, None, bytes.to_vec(), graph.types_mut())
            .with_context(|| format!("loading {name}"))?;
        Ok(graph.register_package(pkg)?)
    };
    let socket = register("plug:socket".into(), socket)?;
    let plugs = plugs
        .iter()
        .enumerate()
        .map(|(i, bytes)| register(format!("plug:plug{i}"), bytes))
        .collect::<Result<Vec<_>>>()?;
    wac_graph::plug(&mut graph, plugs, socket)?;
    Ok(graph.encode(EncodeOptions::default())?)
}
