//! A native wasmtime host for testing Solder: it loads the fuser
//! component, calls `fuse` through its WIT interface, and runs original and
//! fused components side by side.

pub mod compose;
pub mod concurrent;
pub mod core_host;
pub mod fuser;
pub mod generate;
pub mod guests;
pub mod hostile;
pub mod model;
pub mod run;
pub mod spec;

use std::path::PathBuf;
use std::sync::OnceLock;

/// A wasmtime engine and the fuser component compiled once for it, shared
/// by a test binary's tests.
pub struct Shared {
    /// The engine everything runs on.
    pub engine: wasmtime::Engine,
    /// The fuser component.
    pub fuser: fuser::FuserComponent,
}

/// The test binary's [`Shared`] engine and fuser, made on first use.
pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let engine = run::engine().expect("engine");
        let fuser = fuser::FuserComponent::new(&engine, &fuser_component().expect("fuser built"))
            .expect("fuser component compiles");
        Shared { engine, fuser }
    })
}

/// Where the build script put the wasm artifacts.
pub fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("SOLDER_WASM_DIR"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("SOLDER_ROOT"))
}

/// The bytes of a built artifact, by file name (e.g. `scalars_lib.wasm`).
pub fn artifact(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = wasm_dir().join(name);
    std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// The fuser component's bytes.
pub fn fuser_component() -> anyhow::Result<Vec<u8>> {
    artifact("solder.wasm")
}

/// Fixtures that fuse only to a component: their core-module output is
/// refused (`unsupported`), as a core module cannot instantiate a module
/// the host supplies.
pub const COMPONENT_ONLY: &[&str] = &["host-module.wat"];

/// Every fixture, by name: the WAT components, each Rust guest alone, and
/// the compositions the tests build from them. (The fuser component itself
/// is not among them.)
pub fn fixtures() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for wat in [
        "char-adapter.wat",
        "string-adapter.wat",
        "string-transcode.wat",
        "resource-export.wat",
        "resource-interface.wat",
        "resource-interface-two.wat",
        "resource-interface-use.wat",
        "host-handles.wat",
        "host-borrows-export.wat",
        "start/host-lowered-with-memory.wat",
        "start/data-after-start.wat",
        "module-import.wat",
        "host-module.wat",
        "late-import.wat",
    ] {
        // Names are file names: `start/x.wat` is `start-x.wat`.
        out.push((
            wat.replace('/', "-"),
            wat::parse_file(repo_root().join("fixtures/wat").join(wat))?,
        ));
    }
    for guest in [
        "hello",
        "scalars-app",
        "scalars_mid",
        "scalars_lib",
        "types-app",
        "types_mid",
        "types_lib",
    ] {
        out.push((guest.to_string(), artifact(&format!("{guest}.wasm"))?));
    }
    for (interface, chain) in [
        (
            "solder:fixtures/scalars",
            &["scalars-app", "scalars_lib"][..],
        ),
        (
            "solder:fixtures/scalars",
            &["scalars-app", "scalars_mid", "scalars_lib"],
        ),
        ("solder:fixtures/scalars", &["scalars_mid", "scalars_lib"]),
        (
            "solder:typed/types",
            &["types-app", "types_mid", "types_lib"],
        ),
        ("solder:typed/types", &["types_mid", "types_lib"]),
    ] {
        let parts = chain
            .iter()
            .map(|n| Ok((*n, artifact(&format!("{n}.wasm"))?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.push((chain.join("+"), compose::chain(&parts, interface)?));
    }
    Ok(out)
}

/// Fuses `component` natively into a bare core module (`--core`).
pub fn fuse_core(component: &[u8]) -> anyhow::Result<Vec<u8>> {
    let options = solder::Options {
        output: solder::OutputKind::CoreModule,
        ..solder::Options::default()
    };
    Ok(solder::fuse(&[component], &options)?.bytes)
}

/// Parses the text fixture `fixtures/wat/{name}`, fuses it both ways
/// ([`fuse_both_ways`]), and calls every root export of the composed and
/// the fused component with the same generated arguments
/// ([`run::call_exports`]): the records must be equal; returns them.
pub fn exports_agree_fused(
    name: &str,
    seed: u64,
    rounds: usize,
) -> anyhow::Result<Vec<run::CallRecord>> {
    let composed = wat::parse_file(repo_root().join("fixtures/wat").join(name))?;
    let fused = fuse_both_ways(name, &composed)?;
    let engine = &shared().engine;
    let a = run::call_exports(engine, &composed, seed, rounds)?;
    let b = run::call_exports(engine, &fused, seed, rounds)?;
    anyhow::ensure!(a == b, "{name}: composed and fused differ:\n{a:#?}\n{b:#?}");
    Ok(a)
}

/// Fuses `component` into a component natively and through the fuser
/// component, which must give the same bytes; returns them.
pub fn fuse_both_ways(name: &str, component: &[u8]) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    let fused = solder::fuse(&[component], &solder::Options::default())
        .with_context(|| format!("fusing {name}"))?
        .bytes;
    let through = shared()
        .fuser
        .fuse(
            &[component.to_vec()],
            fuser::Options {
                output: fuser::OutputKind::Component,
                validate: true,
                strip_debug: false,
                single_memory: false,
            },
        )?
        .map_err(|e| anyhow::anyhow!("{name} through the component: {e:?}"))?;
    anyhow::ensure!(through.bytes == fused, "{name}: through the component");
    Ok(fused)
}
