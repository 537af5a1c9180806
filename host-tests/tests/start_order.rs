//! The spec's instantiation order, kept exactly: for every core instance in
//! order, its active element and data segments, then its start function.
//!
//! Each case in `fixtures/wat/start/` is a component whose behaviour depends
//! on that order (a segment over bytes an earlier start function wrote, a
//! segment in memory or table an earlier start function grew, one out of
//! bounds, start functions that call the host through a memory or call
//! another component). Its `;; expect:` lines give what the original does;
//! the composed original must do exactly that, and the fused component,
//! natively and through the fuser component, must do the same. Cases that
//! import nothing are also run as the bare `--core` module.

use anyhow::{Context, Result, bail};
use host_tests::run::Host;
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Engine, Store};

/// Lines `;; expect: <call> -> <value>` of a case.
fn expectations(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(";; expect:"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The name of the export an expectation calls (`run()` → `run`), or
/// `None` for `instantiate`.
fn called(expectation: &str) -> Option<&str> {
    let call = expectation.split(" -> ").next().unwrap_or_default();
    call.strip_suffix("()")
}

fn is_trap(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<wasmtime::Trap>().is_some()
}

/// What a component does: instantiation, then each expected call in order
/// on one instance.
fn observe(engine: &Engine, bytes: &[u8], calls: &[&str]) -> Result<Vec<String>> {
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(engine, Host::new(&[], &[]));
    let instance = match linker.instantiate(&mut store, &component) {
        Ok(i) => i,
        Err(e) if is_trap(&e) => return Ok(vec!["instantiate -> trap".into()]),
        Err(e) => return Err(anyhow::Error::from(e).context("instantiating")),
    };
    let mut out = Vec::new();
    for name in calls {
        let func = instance
            .get_func(&mut store, name)
            .with_context(|| format!("no export `{name}`"))?;
        let mut results = [Val::U32(0)];
        let shown = match func.call(&mut store, &[], &mut results) {
            Ok(()) => match &results[0] {
                Val::U32(v) => v.to_string(),
                other => bail!("{name} returned {other:?}"),
            },
            Err(e) if is_trap(&e) => "trap".into(),
            Err(e) => return Err(e.into()),
        };
        out.push(format!("{name}() -> {shown}"));
    }
    Ok(out)
}

/// The same for a core module that imports nothing and exports `calls`.
fn observe_core(engine: &Engine, bytes: &[u8], calls: &[&str]) -> Result<Vec<String>> {
    let module = wasmtime::Module::new(engine, bytes)?;
    let mut store = Store::new(engine, ());
    let instance = match wasmtime::Instance::new(&mut store, &module, &[]) {
        Ok(i) => i,
        Err(e) if is_trap(&e) => return Ok(vec!["instantiate -> trap".into()]),
        Err(e) => return Err(anyhow::Error::from(e).context("instantiating")),
    };
    let mut out = Vec::new();
    for name in calls {
        let func = instance.get_typed_func::<(), i32>(&mut store, name)?;
        let shown = match func.call(&mut store, ()) {
            Ok(v) => (v as u32).to_string(),
            Err(e) if is_trap(&e) => "trap".into(),
            Err(e) => return Err(e.into()),
        };
        out.push(format!("{name}() -> {shown}"));
    }
    Ok(out)
}

#[test]
fn instantiation_order_is_kept() -> Result<()> {
    let shared = host_tests::shared();
    let engine = &shared.engine;
    let dir = host_tests::repo_root().join("fixtures/wat/start");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
    {
        count += 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = std::fs::read_to_string(path)?;
        let expected = expectations(&text);
        assert!(!expected.is_empty(), "{name}: no `;; expect:` line");
        let calls: Vec<&str> = expected.iter().filter_map(|e| called(e)).collect();
        let composed = wat::parse_str(&text).with_context(|| format!("{name}"))?;
        let original = observe(engine, &composed, &calls)?;
        if original != expected {
            bail!("{name}: the original does {original:?}, its expectations say {expected:?}");
        }
        let fused = host_tests::fuse_both_ways(&name, &composed)?;
        let got = observe(engine, &fused, &calls)?;
        if got != original {
            failures.push(format!("{name}: fused {got:?}, composed {original:?}"));
        }
        let core = host_tests::fuse_core(&composed)?;
        let imports = wasmparser::Parser::new(0)
            .parse_all(&core)
            .filter_map(|p| match p {
                Ok(wasmparser::Payload::ImportSection(s)) => Some(s.count()),
                _ => None,
            })
            .sum::<u32>();
        if imports == 0 {
            let got = observe_core(engine, &core, &calls)?;
            if got != original {
                failures.push(format!("{name}: --core {got:?}, composed {original:?}"));
            }
        }
    }
    assert!(count >= 7, "the cases were not found in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
