//! A behavioural differential target: generated components whose core
//! modules share a memory, a table and a global, with start functions,
//! active and passive segments and calls between modules. The composed
//! original and the fused component both run under wasmtime; instantiation
//! must trap in both or in neither, and every export (a digest of the
//! shared memory, table and globals as each module sees them) must give the
//! same result or trap in both.
//!
//! This is what catches a fused module that validates but behaves
//! otherwise: segments applied before an earlier start function, a start
//! function that never runs or runs out of order, a global that is not kept
//! per instance.
//!
//! Included by `fuzz_targets/fuse_behaviour.rs` and by the host tests'
//! fixed-seed run.

use arbitrary::{Result, Unstructured};
use std::fmt::Write;
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, Store};

/// What one generated input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Composed and fused behaved the same; how many exports were called
    /// (zero when instantiation trapped in both).
    Same(usize),
    /// The fuser declined the input with an error of this kind.
    Declined(&'static str),
}

/// An engine for both sides (multi-memory for the fused module).
pub fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_multi_memory(true);
    config.wasm_component_model(true);
    Engine::new(&config).expect("engine")
}

/// Generates a component, fuses it and compares both runs. Panics (the
/// fuzzer's finding) when they differ; `None` when the bytes ran out.
pub fn fuse_behaviour(engine: &Engine, data: &[u8]) -> Option<Verdict> {
    let mut u = Unstructured::new(data);
    let text = component(&mut u).ok()?;
    Some(compare(engine, &text))
}

/// Fuses the component `text` and compares it with the original.
pub fn compare(engine: &Engine, text: &str) -> Verdict {
    let composed = wat::parse_str(text).expect("the generator writes valid text");
    let fused = match solder::fuse(&[&composed], &solder::Options::default()) {
        Ok(f) => f.bytes,
        Err(e) => match e.kind() {
            solder::ErrorKind::LimitExceeded => return Verdict::Declined("limit-exceeded"),
            kind => panic!("the fuser rejects a valid component ({kind:?}): {e}\n{text}"),
        },
    };
    let exports = exports(text);
    let a = run(engine, &composed, &exports);
    let b = run(engine, &fused, &exports);
    assert_eq!(a, b, "composed and fused differ on\n{text}");
    Verdict::Same(a.len().saturating_sub(1))
}

/// The names of the generated component's exports, in order.
fn exports(text: &str) -> Vec<String> {
    text.split("(export \"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|n| n.starts_with("dump") && n.len() > "dump".len())
        .map(str::to_string)
        .collect()
}

/// Instantiates and calls every export once, in order: what happened.
fn run(engine: &Engine, bytes: &[u8], exports: &[String]) -> Vec<String> {
    let component = Component::new(engine, bytes).expect("compiles");
    let mut linker = Linker::<()>::new(engine);
    linker
        .root()
        .func_wrap("echo", |_, (x,): (u32,)| {
            Ok((vec![x as u8; (x % 17) as usize],))
        })
        .expect("defines the host function");
    let mut store = Store::new(engine, ());
    let Ok(instance) = linker.instantiate(&mut store, &component) else {
        return vec!["instantiation traps".into()];
    };
    let mut out = vec!["instantiated".to_string()];
    for name in exports {
        let func = instance.get_func(&mut store, name).expect("exported");
        let mut results = [Val::U32(0)];
        out.push(match func.call(&mut store, &[], &mut results) {
            Ok(()) => format!("{name}: {:?}", results[0]),
            Err(_) => format!("{name}: trap"),
        });
    }
    out
}

/// A component of two to four core modules instantiated in a chain: the
/// first defines the memory, table and global, each later one imports them
/// (and the previous one's function) from the one before.
pub fn component(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(2..=4)?;
    let table = u.int_in_range(1..=4u32)?;
    // A host function lowered with the first module's memory and realloc,
    // which later modules may call from their start functions.
    let host = u.arbitrary()?;
    let mut text = String::from("(component\n");
    if host {
        writeln!(
            text,
            "  (import \"echo\" (func $echo (param \"x\" u32) (result (list u8))))"
        )
        .unwrap();
    }
    for k in 0..n {
        module(u, k, table, host, &mut text)?;
    }
    for k in 0..n {
        if k == 0 {
            writeln!(text, "  (core instance $i0 (instantiate $m0))").unwrap();
            if host {
                writeln!(
                    text,
                    "  (core func $lecho (canon lower (func $echo) (memory (core memory $i0 \"mem\")) (realloc (core func $i0 \"realloc\"))))"
                )
                .unwrap();
            }
        } else {
            let h = if host {
                " (with \"h\" (instance (export \"echo\" (func $lecho))))"
            } else {
                ""
            };
            writeln!(
                text,
                "  (core instance $i{k} (instantiate $m{k} (with \"p\" (instance $i{})){h}))",
                k - 1
            )
            .unwrap();
        }
    }
    for k in 0..n {
        writeln!(
            text,
            "  (func (export \"dump{k}\") (result u32) (canon lift (core func $i{k} \"dump\")))"
        )
        .unwrap();
    }
    text.push_str(")\n");
    Ok(text)
}

fn module(
    u: &mut Unstructured<'_>,
    k: u32,
    table: u32,
    host: bool,
    text: &mut String,
) -> Result<()> {
    let id = 7 * k + 1;
    writeln!(text, "  (core module $m{k}").unwrap();
    writeln!(text, "    (type $r (func (result i32)))").unwrap();
    if k == 0 {
        writeln!(text, "    (memory (export \"mem\") 1)").unwrap();
        writeln!(text, "    (table (export \"t\") {table} funcref)").unwrap();
        writeln!(
            text,
            "    (global $g (export \"g\") (mut i32) (i32.const 0))"
        )
        .unwrap();
        writeln!(text, "    (func $pf (result i32) (i32.const 1000))").unwrap();
        if host {
            writeln!(
                text,
                r#"    (global $bump (mut i32) (i32.const 40000))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (global.set $bump (i32.add (global.get $bump) (i32.const 32)))
      (i32.sub (global.get $bump) (i32.const 32)))"#
            )
            .unwrap();
        }
    } else {
        if host {
            writeln!(
                text,
                "    (import \"h\" \"echo\" (func $echo (param i32 i32)))"
            )
            .unwrap();
        }
        writeln!(text, "    (import \"p\" \"mem\" (memory 1))").unwrap();
        writeln!(text, "    (import \"p\" \"t\" (table {table} funcref))").unwrap();
        writeln!(text, "    (import \"p\" \"g\" (global $g (mut i32)))").unwrap();
        writeln!(text, "    (import \"p\" \"f\" (func $pf (result i32)))").unwrap();
        writeln!(text, "    (export \"mem\" (memory 0))").unwrap();
        writeln!(text, "    (export \"t\" (table 0))").unwrap();
        writeln!(text, "    (export \"g\" (global $g))").unwrap();
    }
    let own = u.int_in_range(0..=1000)?;
    writeln!(text, "    (global $own (mut i32) (i32.const {own}))").unwrap();
    writeln!(
        text,
        "    (func $f (export \"f\") (result i32) (i32.add (i32.const {id}) (i32.load8_u (i32.const {}))))",
        u.int_in_range(0..=64)?
    )
    .unwrap();
    writeln!(text, "    (elem declare func $f $pf)").unwrap();
    // Segments: where they land depends on what earlier start functions
    // grew, so some fit only after them, and some never.
    let mut passive_data = 0;
    for _ in 0..u.int_in_range(0..=3)? {
        let bytes: String = (0..u.int_in_range(1..=8)?)
            .map(|_| u.arbitrary::<u8>().map(|b| format!("\\{b:02x}")))
            .collect::<Result<_>>()?;
        if u.ratio(1, 4)? {
            writeln!(text, "    (data $d{passive_data} \"{bytes}\")").unwrap();
            passive_data += 1;
        } else {
            let offset = offset(u, 65536)?;
            writeln!(text, "    (data (i32.const {offset}) \"{bytes}\")").unwrap();
        }
    }
    let mut passive_elems = 0;
    let mut filled = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let (funcs, len) = if u.arbitrary()? {
            ("$f", 1)
        } else {
            ("$f $pf", 2)
        };
        if u.ratio(1, 4)? {
            writeln!(text, "    (elem $e{passive_elems} func {funcs})").unwrap();
            passive_elems += 1;
        } else {
            let at = (slot(u, table)? + 1).saturating_sub(len);
            filled.push(at);
            writeln!(text, "    (elem (i32.const {at}) func {funcs})").unwrap();
        }
    }
    if u.ratio(3, 4)? {
        writeln!(text, "    (func $start").unwrap();
        for _ in 0..u.int_in_range(1..=5)? {
            let op = match u.int_in_range(0..=9)? {
                0 | 8 => format!(
                    "(i32.store (i32.const {}) (i32.const {}))",
                    offset(u, 65536)? & !3,
                    u.arbitrary::<i32>()?
                ),
                1 => "(drop (memory.grow (i32.const 1)))".to_string(),
                2 => format!(
                    "(drop (table.grow (ref.func $f) (i32.const {})))",
                    u.int_in_range(1..=3)?
                ),
                3 => {
                    "(global.set $g (i32.add (i32.mul (global.get $g) (i32.const 31)) (call $pf)))"
                        .to_string()
                }
                4 => "(global.set $own (i32.add (global.get $own) (global.get $g)))".to_string(),
                5 if passive_data > 0 => {
                    let d = u.int_in_range(0..=passive_data - 1)?;
                    format!(
                        "(memory.init $d{d} (i32.const {}) (i32.const 0) (i32.const 1)) (data.drop $d{d})",
                        offset(u, 65536)?
                    )
                }
                6 if passive_elems > 0 => {
                    let e = u.int_in_range(0..=passive_elems - 1)?;
                    format!(
                        "(table.init $e{e} (i32.const {}) (i32.const 0) (i32.const 1))",
                        slot(u, table)?
                    )
                }
                // A slot that may be empty (a trap) or filled by this or
                // an earlier module's segment or start function.
                7 if !filled.is_empty() => format!(
                    "(i32.store8 (i32.const {}) (call_indirect (type $r) (i32.const {})))",
                    u.int_in_range(0..=64)?,
                    u.choose(&filled)?
                ),
                9 if host && k > 0 => format!(
                    "(call $echo (i32.const {}) (i32.const {}))",
                    u.int_in_range(0..=40)?,
                    u.int_in_range(0..=8000)? * 8
                ),
                _ => format!(
                    "(i32.store16 (i32.const {}) (global.get $own))",
                    offset(u, 65536)? & !1
                ),
            };
            writeln!(text, "      {op}").unwrap();
        }
        writeln!(text, "    )\n    (start $start)").unwrap();
    }
    // A digest of what this module sees: the globals, the memory's size and
    // bytes, and each table slot (null, or the function's answer).
    writeln!(
        text,
        r#"    (func (export "dump") (result i32)
      (local $h i32) (local $i i32) (local $n i32)
      (local.set $h (i32.add (i32.mul (global.get $g) (i32.const 31)) (global.get $own)))
      (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (memory.size)))
      (local.set $n (i32.mul (memory.size) (i32.const 65536)))
      (block (loop
        (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (i32.load (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br 0)))
      (local.set $i (i32.const 0))
      (block (loop
        (br_if 1 (i32.ge_u (local.get $i) (table.size)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
          (if (result i32) (ref.is_null (table.get (local.get $i)))
            (then (i32.const -1))
            (else (call_indirect (type $r) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br 0)))
      (local.get $h))"#
    )
    .unwrap();
    writeln!(text, "  )").unwrap();
    Ok(())
}

/// An offset mostly inside the first page, sometimes in a second one that
/// a start function may have grown, and rarely past both.
fn offset(u: &mut Unstructured<'_>, page: u32) -> Result<u32> {
    Ok(match u.int_in_range(0..=39)? {
        0..=36 => u.int_in_range(0..=page - 8)?,
        37 | 38 => page + u.int_in_range(0..=page - 8)?,
        _ => 2 * page + u.int_in_range(0..=64)?,
    })
}

/// A table slot mostly below the table's initial size, sometimes in slots
/// a start function may have grown, and rarely past them.
fn slot(u: &mut Unstructured<'_>, table: u32) -> Result<u32> {
    Ok(match u.int_in_range(0..=19)? {
        0..=16 => u.int_in_range(0..=table - 1)?,
        17 | 18 => table + u.int_in_range(0..=2)?,
        _ => table + 10,
    })
}
