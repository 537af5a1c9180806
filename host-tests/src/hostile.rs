//! Generated hostile inputs: small components that ask for much (many
//! instances, deep nesting, huge adapters), and broken wiring (missing
//! imports, mismatched types). The bad-input corpus and the limit tests
//! share them.

use anyhow::Result;

/// A hostile input and the error kind the fuser must answer with.
pub struct Case {
    /// What the case tries.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
    /// The expected error kind.
    pub kind: solder::ErrorKind,
    /// A word the error message must contain.
    pub says: &'static str,
}

fn case(name: &str, wat: &str, kind: solder::ErrorKind, says: &'static str) -> Result<Case> {
    Ok(Case {
        name: name.to_string(),
        bytes: wat::parse_str(wat)?,
        kind,
        says,
    })
}

fn repeat(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join("\n")
}

/// A root that instantiates `(core module $m <items>)` `n` times.
fn module_instances(items: &str, n: usize) -> String {
    format!(
        "(component (core module $m {items}) {})",
        repeat(n, |_| "(core instance (instantiate $m))".into())
    )
}

/// `$callee` lifts `f` with parameter type `param` (spilled to memory, so
/// the core function takes a pointer); `$caller` lowers it `lowers` times
/// (with `encoding`, a `string-encoding=` option or nothing); the root
/// instantiates the caller `callers` times.
pub fn adapters(param: &str, encoding: &str, lowers: usize, callers: usize) -> String {
    format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "memory") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
      (func (export "f") (param i32)))
    (core instance $i (instantiate $m))
    (func (export "f") (param "x" {param})
      (canon lift (core func $i "f") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
  (component $caller
    (import "f" (func $f (param "x" {param})))
    (core module $mem (memory (export "memory") 1))
    (core instance $mem (instantiate $mem))
    {lowers})
  (instance $callee (instantiate $callee))
  {callers})"#,
        lowers = repeat(lowers, |_| {
            format!(
                r#"(core func (canon lower (func $f) (memory (core memory $mem "memory")) {encoding}))"#
            )
        }),
        callers = repeat(callers, |_| {
            r#"(instance (instantiate $caller (with "f" (func $callee "f"))))"#.into()
        }),
    )
}

/// `$callee` lifts `f: func(x: u32)`; `$caller` lowers it `lowers` times;
/// the root instantiates the caller `callers` times.
fn scalar_adapters(lowers: usize, callers: usize) -> String {
    format!(
        r#"(component
  (component $callee
    (core module $m (func (export "f") (param i32)))
    (core instance $i (instantiate $m))
    (func (export "f") (param "x" u32) (canon lift (core func $i "f"))))
  (component $caller
    (import "f" (func $f (param "x" u32)))
    {lowers})
  (instance $callee (instantiate $callee))
  {callers})"#,
        lowers = repeat(lowers, |_| "(core func (canon lower (func $f)))".into()),
        callers = repeat(callers, |_| {
            r#"(instance (instantiate $caller (with "f" (func $callee "f"))))"#.into()
        }),
    )
}

/// One case per documented limit but the input size (which takes a
/// buffer over 1 GiB): each a small input that crosses it.
pub fn limits() -> Result<Vec<Case>> {
    use solder::ErrorKind::LimitExceeded as L;
    let mut v = vec![
        case(
            "nesting deeper than 64",
            &format!("{}{}", "(component ".repeat(65), ")".repeat(65)),
            L,
            "nest deeper",
        )?,
        case(
            "instantiations nested deeper than 64",
            &format!(
                "(component $root (component $c0) {} (instance (instantiate $c70)))",
                repeat(70, |k| format!(
                    "(component $c{} (alias outer $root $c{k} (component $x)) (instance (instantiate $x)))",
                    k + 1
                ))
            ),
            L,
            "nest deeper",
        )?,
        case(
            "more than 10,000 component instances",
            &format!(
                "(component $root (component $c0)
                   (component $c1 (alias outer $root $c0 (component $x)) {})
                   (component $c2 (alias outer $root $c1 (component $x)) {})
                   (instance (instantiate $c2)))",
                repeat(100, |_| "(instance (instantiate $x))".into()),
                repeat(101, |_| "(instance (instantiate $x))".into()),
            ),
            L,
            "component instances",
        )?,
        case(
            "more than 10,000 core instances",
            &format!(
                "(component $root (core module $m)
                   (component $c (alias outer $root $m (core module $x)) {})
                   {})",
                repeat(101, |_| "(core instance (instantiate $x))".into()),
                repeat(100, |_| "(instance (instantiate $c))".into()),
            ),
            L,
            "core instances",
        )?,
        case(
            "more than 100,000 adapters",
            &scalar_adapters(1000, 101),
            L,
            "adapters",
        )?,
        case(
            "a type that moves more than 10,000 values in one function",
            &adapters(&format!("(tuple {})", ["string"; 501].join(" ")), "", 1, 1),
            L,
            "in one function",
        )?,
        case(
            "adapters that move more than 1,000,000 values together",
            // Shared moves of about 18,000 values for each of sixty
            // caller instances.
            &adapters(
                &format!(
                    "(tuple (tuple {}) (list (tuple {})))",
                    ["string"; 450].join(" "),
                    ["string"; 449].join(" ")
                ),
                "",
                1,
                60,
            ),
            L,
            "together",
        )?,
        case(
            "a value larger than a 32-bit memory",
            &adapters("(list u64 1073741824)", "", 1, 1),
            L,
            "32-bit memory",
        )?,
        case(
            "items captured by nested components",
            &format!(
                "(component {} {})",
                repeat(10_000, |_| "(type (tuple u8))".into()),
                repeat(101, |_| "(component)".into()),
            ),
            L,
            "captured",
        )?,
        case(
            "more than 1 GiB of instantiated modules",
            &module_instances(
                &format!("(@custom \"pad\" \"{}\")", "x".repeat(1_100_000)),
                1000,
            ),
            L,
            "bytes of core modules instantiated",
        )?,
    ];
    // The fused module's own index spaces: one module with `k` items,
    // instantiated `n` times.
    for (what, item, k, n) in [
        ("functions", "(func)", 2000, 500),
        ("memories", "(memory 0)", 1, 101),
        ("tables", "(table 0 funcref)", 1, 100),
        ("globals", "(global i32 (i32.const 0))", 10_000, 100),
        ("tags", "(tag)", 10_000, 101),
        ("types", "(type (func))", 10_000, 101),
        ("data segments", "(data \"\")", 1000, 101),
        ("element segments", "(elem func)", 1000, 101),
    ] {
        v.push(case(
            &format!("more than the fused module's {what}"),
            &module_instances(&repeat(k, |_| item.into()), n),
            L,
            what,
        )?);
    }
    v.push(case(
        "more than 1,000,000 core imports",
        &format!(
            r#"(component
                 (core module $p {})
                 (core instance $p (instantiate $p))
                 (core module $m {})
                 {})"#,
            repeat(10_000, |i| format!("(func (export \"f{i}\"))")),
            repeat(10_000, |i| format!("(import \"\" \"f{i}\" (func))")),
            repeat(101, |_| {
                "(core instance (instantiate $m (with \"\" (instance $p))))".into()
            }),
        ),
        L,
        "core imports",
    )?);
    Ok(v)
}

/// Wiring that does not fit: imports nobody provides, arguments of the
/// wrong type, at the component and at the core level.
pub fn wiring() -> Result<Vec<Case>> {
    use solder::ErrorKind::Unresolved as U;
    let component = |import: &str, args: &str| {
        format!(
            r#"(component
                 (component $c (import "x" {import}))
                 (core module $m (func (export "f") (param i32)))
                 (core instance $i (instantiate $m))
                 (func $u32 (param "x" u32) (canon lift (core func $i "f")))
                 (component $d)
                 (instance (instantiate $c {args})))"#
        )
    };
    let core = |import: &str, args: &str| {
        format!(
            r#"(component
                 (core module $p (func (export "f") (param i32)) (memory (export "m") 1))
                 (core instance $p (instantiate $p))
                 (core module $m (import "env" {import}))
                 (core instance (instantiate $m {args})))"#
        )
    };
    Ok(vec![
        case(
            "a function import nobody provides",
            &component("(func (param \"x\" u32))", ""),
            U,
            "missing",
        )?,
        case(
            "an instance import nobody provides",
            &component("(instance)", ""),
            U,
            "missing",
        )?,
        case(
            "a function of the wrong type",
            &component("(func (param \"x\" string))", "(with \"x\" (func $u32))"),
            U,
            "type mismatch",
        )?,
        case(
            "a component where a function is expected",
            &component("(func (param \"x\" u32))", "(with \"x\" (component $d))"),
            U,
            "type mismatch",
        )?,
        case(
            "a core instance nobody provides",
            &core("\"f\" (func (param i32))", ""),
            U,
            "missing",
        )?,
        case(
            "a core export the instance does not have",
            &core("\"g\" (func (param i32))", "(with \"env\" (instance $p))"),
            U,
            "does not export",
        )?,
        case(
            "a core function of the wrong type",
            &core("\"f\" (func (param i64))", "(with \"env\" (instance $p))"),
            U,
            "type mismatch",
        )?,
        case(
            "a core function where a memory is expected",
            &core("\"f\" (memory 1)", "(with \"env\" (instance $p))"),
            U,
            "type mismatch",
        )?,
    ])
}
