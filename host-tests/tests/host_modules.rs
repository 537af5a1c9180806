//! Core modules the host supplies (`fixtures/wat/host-module.wat`): the
//! fused component instantiates them as the composition did, beside the
//! fused module (with the composition's own core instances they take items
//! from), and passes them on; a module the root defines and exports goes
//! out as it came in. Composed and fused must agree, natively and through
//! the fuser component.

use anyhow::{Context, Result};
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Module, Store};

const PLUGIN: &str = r#"(module
  (memory (export "mem") 1)
  (global $c (export "counter") (mut i32) (i32.const 0))
  (func (export "bump") (param $n i32) (result i32)
    (global.set $c (i32.add (global.get $c) (local.get $n)))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (global.get $c)))"#;

/// `factor` times `x`, plus the number at address 16 of `table`.
const SCALE: &str = r#"(module
  (import "consts" "factor" (global $f i32))
  (import "consts" "table" (memory 1))
  (func (export "scale") (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (global.get $f)) (i32.load (i32.const 16)))))"#;

const LIB: &str = r#"(module
  (import "env" "bump" (func $bump (param i32) (result i32)))
  (func (export "twice") (param $n i32) (result i32)
    (drop (call $bump (local.get $n)))
    (call $bump (local.get $n))))"#;

/// Calls `run` and `go` in turn, then instantiates the exported modules
/// and calls what they export; every result in order.
fn script(bytes: &[u8]) -> Result<Vec<String>> {
    let engine = &host_tests::shared().engine;
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<()>::new(engine);
    linker
        .root()
        .module("plugin", &Module::new(engine, PLUGIN)?)?;
    linker.root().module("lib", &Module::new(engine, LIB)?)?;
    linker
        .root()
        .module("scale", &Module::new(engine, SCALE)?)?;
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &component)?;
    let mut out = Vec::new();
    for round in 0..3u32 {
        for (name, args) in [
            ("run", vec![Val::U32(round * 10)]),
            ("go", vec![]),
            ("scaled", vec![Val::U32(round + 1)]),
        ] {
            let f = instance
                .get_func(&mut store, name)
                .with_context(|| format!("no export {name}"))?;
            let mut results = [Val::Bool(false)];
            f.call(&mut store, &args, &mut results)?;
            out.push(format!("{name} = {:?}", results[0]));
        }
    }
    for name in ["helper", "plugin-again"] {
        let module = instance
            .get_module(&mut store, name)
            .with_context(|| format!("no module export {name}"))?;
        let exports: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
        out.push(format!("{name} exports {exports:?}"));
        let core = wasmtime::Linker::<()>::new(engine);
        let mut store = Store::new(engine, ());
        let i = core.instantiate(&mut store, &module)?;
        let answer = match i.get_typed_func::<(), i32>(&mut store, "answer") {
            Ok(f) => f.call(&mut store, ())?,
            Err(_) => i
                .get_typed_func::<i32, i32>(&mut store, "bump")?
                .call(&mut store, 9)?,
        };
        out.push(format!("{name} answers {answer}"));
    }
    Ok(out)
}

#[test]
fn modules_the_host_supplies_are_instantiated_beside_the_fused_module() -> Result<()> {
    let composed = wat::parse_file(host_tests::repo_root().join("fixtures/wat/host-module.wat"))?;
    let fused = host_tests::fuse_both_ways("host-module.wat", &composed)?;
    let a = script(&composed)?;
    assert_eq!(a, script(&fused)?);
    // The composition's own code and the plugin's instance share its
    // memory and counter (5 + 7 + 7 each round, three bumps); the nested
    // component's instance is another one.
    assert_eq!(a[0], "run = U32(19003)", "{a:#?}");
    assert_eq!(a[1], "go = U32(100)", "{a:#?}");
    // 3 * 1 + 6: the composition's own instance, instantiated beside the
    // fused module, keeps its data and is shared with the host's module.
    assert_eq!(a[2], "scaled = U32(9)", "{a:#?}");
    assert!(a.contains(&"helper answers 42".to_string()), "{a:#?}");
    Ok(())
}

#[test]
fn a_module_given_a_lowered_host_function_is_refused() -> Result<()> {
    let input = wat::parse_file(host_tests::repo_root().join("fixtures/wat/module-import.wat"))?;
    let e = solder::fuse(&[&input], &solder::Options::default())
        .err()
        .context("fused")?;
    assert_eq!(e.kind(), solder::ErrorKind::Unsupported);
    assert_eq!(e.feature(), Some("module-import"), "{e}");
    Ok(())
}
