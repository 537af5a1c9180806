//! The canonical ABI's traps, case by case: a callee (or caller) hands the
//! adapter a bad value, and the composed and the fused component must both
//! trap — or both return the same value where the spec says the value is
//! fine. Each case is a small two-component composition in text form.

use anyhow::Result;

/// One case: the result type, the callee's core body (returning the flat
/// result or a pointer to it in the callee's memory at 0..), data in the
/// callee's memory, the caller's `realloc` body, and whether it traps.
struct Case {
    name: &'static str,
    ty: &'static str,
    core_results: &'static str,
    callee_data: &'static str,
    callee_body: &'static str,
    caller_realloc: &'static str,
    traps: bool,
}

const GOOD_REALLOC: &str = "i32.const 1024";

fn cases() -> Vec<Case> {
    let retptr = |ty, data, traps, name| Case {
        name,
        ty,
        core_results: "(result i32)",
        callee_data: data,
        callee_body: "i32.const 16",
        caller_realloc: GOOD_REALLOC,
        traps,
    };
    vec![
        retptr(
            "string",
            r#""\20\00\00\00\05\00\00\00" "\00\00\00\00\00\00\00\00" "hello""#,
            false,
            "valid string",
        ),
        retptr(
            "string",
            r#""\20\00\00\00\02\00\00\00" "\00\00\00\00\00\00\00\00" "\c0\80""#,
            true,
            "overlong UTF-8",
        ),
        retptr(
            "string",
            r#""\20\00\00\00\03\00\00\00" "\00\00\00\00\00\00\00\00" "\ed\a0\80""#,
            true,
            "UTF-8 surrogate",
        ),
        retptr(
            "string",
            r#""\20\00\00\00\02\00\00\00" "\00\00\00\00\00\00\00\00" "\e2\82""#,
            true,
            "truncated UTF-8",
        ),
        retptr(
            "string",
            r#""\20\00\00\00\04\00\00\00" "\00\00\00\00\00\00\00\00" "\f4\90\80\80""#,
            true,
            "above U+10FFFF",
        ),
        retptr(
            "string",
            r#""\f0\ff\00\00\20\00\00\00""#,
            true,
            "string out of bounds",
        ),
        retptr(
            "string",
            r#""\00\00\00\00\00\00\00\80""#,
            true,
            "string too long",
        ),
        retptr(
            "(list u32)",
            r#""\21\00\00\00\01\00\00\00""#,
            true,
            "misaligned list",
        ),
        retptr(
            "(list u32)",
            r#""\00\00\ff\ff\01\00\00\00""#,
            true,
            "list out of bounds",
        ),
        retptr(
            "(list u32)",
            r#""\00\00\01\00\00\00\00\00""#,
            false,
            "empty list at the end",
        ),
        retptr(
            "(list u32)",
            r#""\04\00\01\00\00\00\00\00""#,
            true,
            "empty list past the end",
        ),
        retptr(
            "(list u32)",
            r#""\20\00\00\00\00\00\00\40""#,
            true,
            "list byte length overflows",
        ),
        retptr(
            "(list u32)",
            r#""\20\00\00\00\02\00\00\00" "\00\00\00\00\00\00\00\00" "\01\00\00\00\02\00\00\00""#,
            false,
            "valid list",
        ),
        retptr(
            "(list char)",
            r#""\20\00\00\00\01\00\00\00" "\00\00\00\00\00\00\00\00" "\00\d8\00\00""#,
            true,
            "surrogate char in a list",
        ),
        retptr(
            "(list bool)",
            r#""\20\00\00\00\02\00\00\00" "\00\00\00\00\00\00\00\00" "\02\00""#,
            false,
            "bool byte 2 is true",
        ),
        retptr(
            "(tuple u8 u64)",
            r#""\07\00\00\00\00\00\00\00" "\09\00\00\00\00\00\00\00""#,
            false,
            "tuple through memory",
        ),
        retptr(
            "(list (option u8))",
            r#""\20\00\00\00\01\00\00\00" "\00\00\00\00\00\00\00\00" "\02\00""#,
            true,
            "bad option discriminant in memory",
        ),
        retptr(
            "(list (result u8 (error u8)))",
            r#""\20\00\00\00\01\00\00\00" "\00\00\00\00\00\00\00\00" "\01\07""#,
            false,
            "result err in memory",
        ),
        Case {
            name: "retptr misaligned",
            ty: "(tuple u32 u32)",
            core_results: "(result i32)",
            callee_data: r#""\00""#,
            callee_body: "i32.const 2",
            caller_realloc: GOOD_REALLOC,
            traps: true,
        },
        Case {
            name: "retptr out of bounds",
            ty: "(tuple u32 u32)",
            core_results: "(result i32)",
            callee_data: r#""\00""#,
            callee_body: "i32.const 65532",
            caller_realloc: GOOD_REALLOC,
            traps: true,
        },
        Case {
            name: "realloc returns a misaligned pointer",
            ty: "(list u32)",
            core_results: "(result i32)",
            callee_data: r#""\20\00\00\00\01\00\00\00" "\00\00\00\00\00\00\00\00" "\05\00\00\00""#,
            callee_body: "i32.const 16",
            caller_realloc: "i32.const 1025",
            traps: true,
        },
        Case {
            name: "realloc returns an out-of-bounds pointer",
            ty: "string",
            core_results: "(result i32)",
            callee_data: r#""\20\00\00\00\05\00\00\00" "\00\00\00\00\00\00\00\00" "hello""#,
            callee_body: "i32.const 16",
            caller_realloc: "i32.const 65534",
            traps: true,
        },
        Case {
            name: "option discriminant in range",
            ty: "(option u32)",
            core_results: "(result i32)",
            callee_data: r#""\01\00\00\00\07\00\00\00""#,
            callee_body: "i32.const 16",
            caller_realloc: GOOD_REALLOC,
            traps: false,
        },
        Case {
            name: "bad option discriminant",
            ty: "(option u32)",
            core_results: "(result i32)",
            callee_data: r#""\02\00\00\00\07\00\00\00""#,
            callee_body: "i32.const 16",
            caller_realloc: GOOD_REALLOC,
            traps: true,
        },
        Case {
            name: "char on the stack is checked",
            ty: "char",
            core_results: "(result i32)",
            callee_data: r#""\00""#,
            callee_body: "i32.const 0xdfff",
            caller_realloc: GOOD_REALLOC,
            traps: true,
        },
        Case {
            name: "bool on the stack is normalised",
            ty: "bool",
            core_results: "(result i32)",
            callee_data: r#""\00""#,
            callee_body: "i32.const 42",
            caller_realloc: GOOD_REALLOC,
            traps: false,
        },
        Case {
            name: "u8 truncates",
            ty: "u8",
            core_results: "(result i32)",
            callee_data: r#""\00""#,
            callee_body: "i32.const 0x1234",
            caller_realloc: GOOD_REALLOC,
            traps: false,
        },
    ]
}

/// The composition for one case. `run` returns a checksum of what the
/// caller received: its flat result, or the words stored at its return
/// pointer and the first words they point to.
fn composition(c: &Case) -> String {
    let ty = c.ty;
    let spilled = c.core_results == "(result i32)" && (c.ty.starts_with('(') || c.ty == "string");
    let (caller_sig, caller_call) = if spilled {
        (
            "(param i32)",
            "i32.const 64 call $f
             i32.const 64 i32.load i32.const 64 i32.load offset=4 i32.add
             i32.const 64 i32.load i32.load i32.add
             i32.const 64 i32.load i32.load offset=4 i32.add",
        )
    } else {
        ("(result i32)", "call $f")
    };
    let (callee_results, callee_body) = (c.core_results, c.callee_body);
    format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "memory") 1)
      (data (i32.const 16) {data})
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 512)
      (func (export "f") {callee_results} {callee_body}))
    (core instance $i (instantiate $m))
    (func (export "f") (result {ty})
      (canon lift (core func $i "f") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
  (instance $callee (instantiate $callee))
  (alias export $callee "f" (func $cf))
  (component $caller
    (import "f" (func $f (result {ty})))
    (core module $mem
      (memory (export "memory") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) {realloc}))
    (core instance $mem (instantiate $mem))
    (core func $f (canon lower (func $f) (memory (core memory $mem "memory")) (realloc (core func $mem "realloc"))))
    (core module $m
      (import "" "f" (func $f {caller_sig}))
      (import "" "memory" (memory 1))
      (func (export "run") (result i32) {caller_call}))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $f)) (export "memory" (memory $mem "memory"))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $caller (instantiate $caller (with "f" (func $cf))))
  (export "run" (func $caller "run")))"#,
        data = c.callee_data,
        realloc = c.caller_realloc,
    )
}

#[test]
fn every_trap_case_matches() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let mut failures = Vec::new();
    let cases = cases();
    for c in &cases {
        let wat = composition(c);
        let composed = match wat::parse_str(&wat) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: does not parse: {e}", c.name));
                continue;
            }
        };
        let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
        let one = solder::fuse(
            &[&composed],
            &solder::Options {
                single_memory: true,
                ..solder::Options::default()
            },
        )?
        .bytes;
        let a = host_tests::run::call_u32(&engine, &composed, "run", &[])?;
        let b = host_tests::run::call_u32(&engine, &fused, "run", &[])?;
        let one = host_tests::run::call_u32(&engine, &one, "run", &[])?;
        if a != b {
            failures.push(format!("{}: composed {a:?}, fused {b:?}", c.name));
        } else if a != one {
            failures.push(format!("{}: composed {a:?}, one memory {one:?}", c.name));
        } else if a.is_none() != c.traps {
            failures.push(format!("{}: expected trap={}, got {a:?}", c.name, c.traps));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}

/// A callee whose `post-return` runs `body` (with the module's other
/// `fields`), which may call out to another component: the spec forbids
/// leaving during post-return, so that call traps.
fn post_return_composition(body: &str, fields: &str) -> String {
    format!(
        r#"(component
  (component $other
    (core module $m (func (export "g")))
    (core instance $i (instantiate $m))
    (func (export "g") (canon lift (core func $i "g"))))
  (instance $other (instantiate $other))
  (alias export $other "g" (func $g))
  (component $callee
    (import "g" (func $g))
    (core func $g (canon lower (func $g)))
    (core module $m
      (import "" "g" (func $g))
      (func (export "f") (result i32) i32.const 5)
      {fields}
      (func (export "post") (param i32) {body}))
    (core instance $i (instantiate $m (with "" (instance (export "g" (func $g))))))
    (func (export "f") (result u32) (canon lift (core func $i "f") (post-return (core func $i "post")))))
  (instance $callee (instantiate $callee (with "g" (func $g))))
  (alias export $callee "f" (func $f))
  (component $caller
    (import "f" (func $f (result u32)))
    (core func $f (canon lower (func $f)))
    (core module $m
      (import "" "f" (func $f (result i32)))
      (func (export "run") (result i32) call $f))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $f))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $caller (instantiate $caller (with "f" (func $f))))
  (export "run" (func $caller "run")))"#
    )
}

/// The spec traps here (`post-return` runs with `may_leave` cleared, and
/// `canon lower` traps unless it is set); wasmtime 48 lets the call
/// through. Solder follows the spec; the README lists the case.
#[test]
fn leaving_during_post_return_traps() -> Result<()> {
    let engine = host_tests::run::engine()?;
    // How `post-return` calls out: not at all, directly, through a
    // function of its own, through a table. The fused module keeps the
    // flag (and its checks) only where the instance can call out.
    let ways = [
        ("", ""),
        ("call $g", ""),
        ("call $h", "(func $h call $g)"),
        (
            "i32.const 0 call_indirect (type $t)",
            "(type $t (func)) (table 1 funcref) (elem (i32.const 0) func $g)",
        ),
    ];
    for (way, (body, fields)) in ways.into_iter().enumerate() {
        let calls_out = way > 0;
        let (spec, wasmtime) = (if calls_out { None } else { Some(5) }, Some(5));
        let composed = wat::parse_str(post_return_composition(body, fields))?;
        let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
        let a = host_tests::run::call_u32(&engine, &composed, "run", &[])?;
        let b = host_tests::run::call_u32(&engine, &fused, "run", &[])?;
        assert_eq!(
            a, wasmtime,
            "composed under wasmtime, calls out: {calls_out}"
        );
        assert_eq!(b, spec, "fused, calls out: {calls_out}");
    }
    Ok(())
}
