//! Resources across components, composed vs fused: a component that
//! implements two resource types, zero to two re-exporters that pass its
//! handles on, and an application whose exports each exercise one rule of
//! the spec's handle tables. Every export runs on a fresh instance of the
//! composed and of the fused component; the results must be equal (a trap
//! on both sides counts as equal), and they must be what the spec says.

use anyhow::Result;
use host_tests::run;

/// The interface every layer imports and exports.
const API: &str = r#"
  (export "r" (type $r (sub resource)))
  (export "s" (type $s (sub resource)))
  (export "new" (func (param "v" u32) (result (own $r))))
  (export "new-s" (func (result (own $s))))
  (export "get" (func (param "h" (borrow $r)) (result u32)))
  (export "take" (func (param "h" (own $r)) (result u32)))
  (export "both" (func (param "a" (borrow $r)) (param "b" (own $r)) (result u32)))
  (export "sum" (func (param "l" (list (borrow $r))) (result u32)))
  (export "make" (func (param "n" u32) (result (list (own $r)))))
  (export "opt" (func (param "o" (option (own $r))) (result (option (own $r)))))
  (export "dtors" (func (result u32)))
  (export "leak" (func (param "h" (borrow $r))))
  (export "discard" (func (param "h" (own $r))))
"#;

/// A bump allocator over a module's first memory.
const REALLOC: &str = r#"
  (global $heap (mut i32) (i32.const 1024))
  (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block (loop
      (br_if 1 (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (drop (memory.grow (i32.const 1)))
      (br 0)))
    (local.get $p))
"#;

/// Lifts (or, with `lower`, lowers from `$api`) every function of the API.
fn api_funcs(core: &str, lower: bool) -> String {
    let sigs = [
        ("new", "(param \"v\" u32) (result (own $r))"),
        ("new-s", "(result (own $s))"),
        ("get", "(param \"h\" (borrow $r)) (result u32)"),
        ("take", "(param \"h\" (own $r)) (result u32)"),
        (
            "both",
            "(param \"a\" (borrow $r)) (param \"b\" (own $r)) (result u32)",
        ),
        ("sum", "(param \"l\" (list (borrow $r))) (result u32)"),
        ("make", "(param \"n\" u32) (result (list (own $r)))"),
        (
            "opt",
            "(param \"o\" (option (own $r))) (result (option (own $r)))",
        ),
        ("dtors", "(result u32)"),
        ("leak", "(param \"h\" (borrow $r))"),
        ("discard", "(param \"h\" (own $r))"),
    ];
    let mut out = String::new();
    for (name, sig) in sigs {
        if lower {
            out.push_str(&format!(
                "(core func $l-{name} (canon lower (func $api \"{name}\") (memory $mem) (realloc $realloc)))\n"
            ));
        } else {
            out.push_str(&format!(
                "(func (export \"{name}\") {sig} (canon lift (core func ${core} \"{name}\") (memory $mem) (realloc $realloc)))\n"
            ));
        }
    }
    out
}

/// The implementation: `r` (with a destructor that counts) and `s`.
fn implementation() -> String {
    format!(
        r#"(component
  (core module $base
    (memory (export "mem") 1)
    (global $count (export "count") (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1))))
    {REALLOC})
  (core instance $b (instantiate $base))
  (alias core export $b "dtor" (core func $dtor))
  (alias core export $b "mem" (core memory $mem))
  (alias core export $b "realloc" (core func $realloc))
  (type $r' (resource (rep i32) (dtor (core func $dtor))))
  (type $s' (resource (rep i32)))
  (export $r "r" (type $r'))
  (export $s "s" (type $s'))
  (core func $new (canon resource.new $r'))
  (core func $rep (canon resource.rep $r'))
  (core func $drop (canon resource.drop $r'))
  (core func $new-s (canon resource.new $s'))
  (core module $m
    (import "b" "mem" (memory 1))
    (import "b" "count" (global $count (mut i32)))
    (import "b" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (import "r" "new-s" (func $new-s (param i32) (result i32)))
    (func (export "new") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "new-s") (result i32) (call $new-s (i32.const 5)))
    ;; Borrows of its own resource arrive as the representation.
    (func (export "get") (param i32) (result i32) (local.get 0))
    (func (export "take") (param i32) (result i32) (local $v i32)
      (local.set $v (call $rep (local.get 0)))
      (call $drop (local.get 0))
      (local.get $v))
    (func (export "both") (param i32 i32) (result i32) (local $v i32)
      (local.set $v (i32.add (local.get 0) (call $rep (local.get 1))))
      (call $drop (local.get 1))
      (local.get $v))
    (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
      (block (loop
        (br_if 1 (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br 0)))
      (local.get $s))
    (func (export "make") (param $n i32) (result i32) (local $p i32) (local $i i32) (local $out i32)
      (local.set $p (call $realloc (i32.const 0) (i32.const 0) (i32.const 4)
        (i32.mul (local.get $n) (i32.const 4))))
      (block (loop
        (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.add (local.get $p) (i32.mul (local.get $i) (i32.const 4)))
          (call $new (i32.add (i32.const 100) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br 0)))
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store (local.get $out) (local.get $p))
      (i32.store offset=4 (local.get $out) (local.get $n))
      (local.get $out))
    (func (export "opt") (param i32 i32) (result i32) (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store (local.get $out) (local.get 0))
      (i32.store offset=4 (local.get $out) (local.get 1))
      (local.get $out))
    (func (export "dtors") (result i32) (global.get $count))
    (func (export "leak") (param i32))
    (func (export "discard") (param i32) (call $drop (local.get 0))))
  (core instance $i (instantiate $m
    (with "b" (instance $b))
    (with "r" (instance
      (export "new" (func $new))
      (export "rep" (func $rep))
      (export "drop" (func $drop))
      (export "new-s" (func $new-s))))))
  {lifts})"#,
        lifts = api_funcs("i", false)
    )
}

/// A re-exporter: forwards every call, holding the handles in its own
/// table meanwhile, and drops the borrows it received (except in `leak`).
fn re_exporter() -> String {
    format!(
        r#"(component
  (import "api" (instance $api {API}))
  (alias export $api "r" (type $r))
  (alias export $api "s" (type $s))
  (core module $base (memory (export "mem") 1) {REALLOC})
  (core instance $b (instantiate $base))
  (alias core export $b "mem" (core memory $mem))
  (alias core export $b "realloc" (core func $realloc))
  {lowers}
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "b" "mem" (memory 1))
    (import "b" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "api" "new" (func $new (param i32) (result i32)))
    (import "api" "new-s" (func $new-s (result i32)))
    (import "api" "get" (func $get (param i32) (result i32)))
    (import "api" "take" (func $take (param i32) (result i32)))
    (import "api" "both" (func $both (param i32 i32) (result i32)))
    (import "api" "sum" (func $sum (param i32 i32) (result i32)))
    (import "api" "make" (func $make (param i32 i32)))
    (import "api" "opt" (func $opt (param i32 i32 i32)))
    (import "api" "dtors" (func $dtors (result i32)))
    (import "api" "drop" (func $drop (param i32)))
    (func (export "new") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "new-s") (result i32) (call $new-s))
    (func (export "get") (param i32) (result i32) (local $v i32)
      (local.set $v (call $get (local.get 0)))
      (call $drop (local.get 0))
      (local.get $v))
    (func (export "take") (param i32) (result i32) (call $take (local.get 0)))
    (func (export "both") (param i32 i32) (result i32) (local $v i32)
      (local.set $v (call $both (local.get 0) (local.get 1)))
      (call $drop (local.get 0))
      (local.get $v))
    (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $v i32)
      (local.set $v (call $sum (local.get $p) (local.get $n)))
      (block (loop
        (br_if 1 (i32.eqz (local.get $n)))
        (call $drop (i32.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br 0)))
      (local.get $v))
    (func (export "make") (param i32) (result i32) (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (call $make (local.get 0) (local.get $out))
      (local.get $out))
    (func (export "opt") (param i32 i32) (result i32) (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (call $opt (local.get 0) (local.get 1) (local.get $out))
      (local.get $out))
    (func (export "dtors") (result i32) (call $dtors))
    ;; Keeps the borrow past the call: the callee's return traps.
    (func (export "leak") (param i32))
    ;; Drops the owned handle here: the destructor runs in the
    ;; implementation.
    (func (export "discard") (param i32) (call $drop (local.get 0))))
  (core instance $i (instantiate $m
    (with "b" (instance $b))
    (with "api" (instance
      (export "new" (func $l-new)) (export "new-s" (func $l-new-s))
      (export "get" (func $l-get)) (export "take" (func $l-take))
      (export "both" (func $l-both)) (export "sum" (func $l-sum))
      (export "make" (func $l-make)) (export "opt" (func $l-opt))
      (export "dtors" (func $l-dtors)) (export "drop" (func $drop))))))
  (export $r2 "r" (type $r))
  (export $s2 "s" (type $s))
  {lifts})"#,
        lowers = api_funcs("", true),
        lifts = api_funcs("i", false)
            .replace("$r)", "$r2)")
            .replace("$s)", "$s2)")
    )
}

/// The application: one export per rule, each returning a number built
/// from handle indices and results.
fn application() -> String {
    format!(
        r#"(component
  (import "api" (instance $api {API}))
  (alias export $api "r" (type $r))
  (core module $base (memory (export "mem") 1) {REALLOC})
  (core instance $b (instantiate $base))
  (alias core export $b "mem" (core memory $mem))
  (alias core export $b "realloc" (core func $realloc))
  {lowers}
  (core func $drop (canon resource.drop $r))
  (core module $m
    (import "b" "mem" (memory 1))
    (import "api" "new" (func $new (param i32) (result i32)))
    (import "api" "new-s" (func $new-s (result i32)))
    (import "api" "get" (func $get (param i32) (result i32)))
    (import "api" "take" (func $take (param i32) (result i32)))
    (import "api" "both" (func $both (param i32 i32) (result i32)))
    (import "api" "sum" (func $sum (param i32 i32) (result i32)))
    (import "api" "make" (func $make (param i32 i32)))
    (import "api" "opt" (func $opt (param i32 i32 i32)))
    (import "api" "dtors" (func $dtors (result i32)))
    (import "api" "leak" (func $leak (param i32)))
    (import "api" "discard" (func $discard (param i32)))
    (import "api" "drop" (func $drop (param i32)))
    (func (export "t-basic") (result i32) (local $a i32) (local $b i32)
      (local.set $a (call $new (i32.const 11)))
      (local.set $b (call $new (i32.const 22)))
      (i32.or (i32.or (i32.shl (local.get $a) (i32.const 24)) (i32.shl (local.get $b) (i32.const 16)))
        (i32.add (call $get (local.get $a)) (call $get (local.get $b)))))
    ;; Freed slots are reused last-freed first; index 0 is never used.
    (func (export "t-reuse") (result i32) (local $a i32) (local $b i32) (local $c i32)
      (local.set $a (call $new (i32.const 1)))
      (local.set $b (call $new (i32.const 2)))
      (drop (call $new (i32.const 3)))
      (call $drop (local.get $b))
      (call $drop (local.get $a))
      (local.set $a (call $new (i32.const 4)))
      (local.set $b (call $new (i32.const 5)))
      (local.set $c (call $new (i32.const 6)))
      (i32.or (i32.or (local.get $a) (i32.shl (local.get $b) (i32.const 8)))
        (i32.or (i32.shl (local.get $c) (i32.const 16)) (i32.shl (call $dtors) (i32.const 24)))))
    (func (export "t-take") (result i32)
      (i32.add (i32.mul (call $take (call $new (i32.const 7))) (i32.const 256)) (call $dtors)))
    (func (export "t-many") (result i32) (local $i i32) (local $last i32)
      (block (loop
        (br_if 1 (i32.ge_u (local.get $i) (i32.const 100000)))
        (local.set $last (call $new (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br 0)))
      (local.set $i (local.get $last))
      (block (loop
        (br_if 1 (i32.eqz (local.get $i)))
        (call $drop (local.get $i))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br 0)))
      (i32.add (local.get $last) (call $dtors)))
    (func (export "t-after-drop") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 1)))
      (call $drop (local.get $a))
      (call $get (local.get $a)))
    (func (export "t-zero") (result i32) (call $get (i32.const 0)))
    (func (export "t-range") (result i32) (drop (call $new (i32.const 1))) (call $get (i32.const 999)))
    (func (export "t-wrong-type") (result i32) (call $get (call $new-s)))
    (func (export "t-drop-twice") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 1)))
      (call $drop (local.get $a))
      (call $drop (local.get $a))
      (i32.const 0))
    (func (export "t-borrow-then-own") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 3)))
      (call $both (local.get $a) (local.get $a)))
    (func (export "t-both") (result i32)
      (i32.add (call $both (call $new (i32.const 3)) (call $new (i32.const 4)))
        (i32.mul (call $dtors) (i32.const 1000))))
    (func (export "t-moved") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 3)))
      (drop (call $take (local.get $a)))
      (call $get (local.get $a)))
    (func (export "t-leak") (result i32) (call $leak (call $new (i32.const 1))) (i32.const 1))
    (func (export "t-list") (result i32) (local $p i32) (local $s i32)
      (call $make (i32.const 3) (i32.const 16))
      (local.set $p (i32.load (i32.const 16)))
      (local.set $s (call $sum (local.get $p) (i32.load (i32.const 20))))
      (call $drop (i32.load (local.get $p)))
      (call $drop (i32.load offset=4 (local.get $p)))
      (call $drop (i32.load offset=8 (local.get $p)))
      (i32.or (i32.or (local.get $s) (i32.shl (i32.load offset=8 (local.get $p)) (i32.const 16)))
        (i32.shl (call $dtors) (i32.const 24))))
    (func (export "t-option") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 9)))
      (drop (call $new (i32.const 10)))
      (call $opt (i32.const 1) (local.get $a) (i32.const 32))
      (i32.or (i32.or (i32.shl (i32.load (i32.const 32)) (i32.const 16))
        (i32.shl (i32.load (i32.const 36)) (i32.const 8)))
        (call $get (i32.load (i32.const 36)))))
    (func (export "t-discard") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 5)))
      (call $discard (local.get $a))
      (i32.add (i32.mul (call $dtors) (i32.const 10)) (local.get $a)))
    (func (export "t-discard-twice") (result i32) (local $a i32)
      (local.set $a (call $new (i32.const 5)))
      (call $discard (local.get $a))
      (call $discard (local.get $a))
      (i32.const 0))
    (func (export "t-option-none") (result i32)
      (call $opt (i32.const 0) (i32.const 0) (i32.const 32))
      (i32.load (i32.const 32))))
  (core instance $i (instantiate $m
    (with "b" (instance $b))
    (with "api" (instance
      (export "new" (func $l-new)) (export "new-s" (func $l-new-s))
      (export "get" (func $l-get)) (export "take" (func $l-take))
      (export "both" (func $l-both)) (export "sum" (func $l-sum))
      (export "make" (func $l-make)) (export "opt" (func $l-opt))
      (export "dtors" (func $l-dtors)) (export "leak" (func $l-leak))
      (export "discard" (func $l-discard)) (export "drop" (func $drop))))))
  {exports})"#,
        lowers = api_funcs("", true),
        exports = TESTS
            .iter()
            .map(|(t, _)| format!(
                "(func (export \"{t}\") (result u32) (canon lift (core func $i \"{t}\")))\n"
            ))
            .collect::<String>()
    )
}

/// Each test export and what the spec says it returns through a chain
/// with at least one re-exporter (`None`: it traps).
const TESTS: &[(&str, Option<u32>)] = &[
    ("t-basic", Some((1 << 24) | (2 << 16) | 33)),
    ("t-reuse", Some(1 | (2 << 8) | (4 << 16) | (2 << 24))),
    ("t-take", Some(7 * 256 + 1)),
    ("t-many", Some(100_000 + 100_000)),
    ("t-after-drop", None),
    ("t-zero", None),
    ("t-range", None),
    ("t-wrong-type", None),
    ("t-drop-twice", None),
    ("t-borrow-then-own", None),
    ("t-both", Some(7 + 1000)),
    ("t-moved", None),
    ("t-leak", None),
    ("t-list", Some(303 | (3 << 16) | (3 << 24))),
    ("t-option", Some((1 << 16) | (1 << 8) | 9)),
    ("t-option-none", Some(0)),
    ("t-discard", Some(11)),
    ("t-discard-twice", None),
];

/// The composition: the implementation, `re_exporters` re-exporting
/// instances (of one component), the application on top.
fn composition(re_exporters: usize) -> String {
    let named =
        |text: String, name: &str| text.replacen("(component", &format!("(component ${name}"), 1);
    let mut c = format!(
        "(component\n{}\n{}\n{}\n(instance $c0 (instantiate $impl))\n",
        named(implementation(), "impl"),
        named(re_exporter(), "mid"),
        named(application(), "app")
    );
    for i in 1..=re_exporters {
        c.push_str(&format!(
            "(instance $c{i} (instantiate $mid (with \"api\" (instance $c{}))))\n",
            i - 1
        ));
    }
    c.push_str(&format!(
        "(instance $app (instantiate $app (with \"api\" (instance $c{re_exporters}))))\n"
    ));
    for (t, _) in TESTS {
        c.push_str(&format!("(export \"{t}\" (func $app \"{t}\"))\n"));
    }
    c.push(')');
    c
}

#[test]
fn handle_rules_match_composed_and_the_spec() -> Result<()> {
    let engine = run::engine()?;
    // With the default sharing, and with every value in memory moved by a
    // shared function (handles in lists included).
    let shared = solder::Options {
        outline_weight: 0,
        ..solder::Options::default()
    };
    for (re_exporters, options) in
        (0..=2).flat_map(|r| [(r, solder::Options::default()), (r, shared.clone())])
    {
        let composed = wat::parse_str(composition(re_exporters))?;
        let fused = solder::fuse(&[&composed], &options)?.bytes;
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&fused)?;
        // `inspect` names the defining instance's types and one table per
        // instance that holds handles.
        let report = solder::inspect(&composed)?;
        let text = report.to_text();
        assert!(
            report
                .handle_tables
                .iter()
                .any(|t| t.defines == ["r", "s"] && t.table_memory.is_some()),
            "{text}"
        );
        assert_eq!(
            report
                .handle_tables
                .iter()
                .filter(|t| t.table_memory.is_some())
                .count(),
            re_exporters + 2,
            "{text}"
        );
        if re_exporters == 2 {
            println!("{text}");
        }
        for (name, expected) in TESTS {
            let want = run::call_u32(&engine, &composed, name, &[])?;
            let got = run::call_u32(&engine, &fused, name, &[])?;
            assert_eq!(
                want,
                got,
                "{name} through {} components: composed {want:?}, fused {got:?}",
                re_exporters + 2
            );
            // Straight to the implementation, a leaked borrow is its own
            // resource's representation: nothing to drop.
            let expected = match (*name, re_exporters) {
                ("t-leak", 0) => Some(1),
                _ => *expected,
            };
            assert_eq!(
                got,
                expected,
                "{name} through {} components",
                re_exporters + 2
            );
        }
    }
    Ok(())
}

/// What the host sees of a resource type the root exports, composed and
/// fused: handles from a constructor, a borrow passed back, an own passed
/// back (destructor in the component), a handle the host drops
/// (destructor too).
fn host_view(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Vec<u32>> {
    use wasmtime::component::{Component, Linker, Val};
    let component = Component::new(engine, bytes)?;
    let mut store = wasmtime::Store::new(engine, ());
    let instance = Linker::<()>::new(engine).instantiate(&mut store, &component)?;
    let func = |store: &mut wasmtime::Store<()>, name: &str| {
        instance
            .get_func(&mut *store, name)
            .ok_or_else(|| anyhow::anyhow!("no export `{name}`"))
    };
    let call = |store: &mut wasmtime::Store<()>, name: &str, args: &[Val]| -> Result<Val> {
        let f = func(store, name)?;
        let mut out = [Val::Bool(false)];
        f.call(&mut *store, args, &mut out)?;
        Ok(out[0].clone())
    };
    let mut seen = Vec::new();
    let a = call(&mut store, "make", &[Val::U32(5)])?;
    let b = call(&mut store, "make", &[Val::U32(7)])?;
    for r in [&a, &b] {
        match call(&mut store, "get", std::slice::from_ref(r))? {
            Val::U32(v) => seen.push(v),
            other => anyhow::bail!("get returned {other:?}"),
        }
    }
    match call(&mut store, "consume", &[b])? {
        Val::U32(v) => seen.push(v),
        other => anyhow::bail!("consume returned {other:?}"),
    }
    let Val::Resource(a) = a else {
        anyhow::bail!("make returned no resource");
    };
    a.resource_drop(&mut store)?;
    match call(&mut store, "dropped", &[])? {
        Val::U32(v) => seen.push(v),
        other => anyhow::bail!("dropped returned {other:?}"),
    }
    Ok(seen)
}

#[test]
fn a_resource_type_the_root_exports_works_from_the_host() -> Result<()> {
    let engine = run::engine()?;
    let path = host_tests::repo_root().join("fixtures/wat/resource-export.wat");
    let composed = wat::parse_file(path)?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let want = host_view(&engine, &composed)?;
    assert_eq!(want, [5, 7, 7, 12], "composed");
    assert_eq!(host_view(&engine, &fused)?, want, "fused");
    Ok(())
}

/// One instance of a component whose root exports interfaces, called from
/// the host through wasmtime's component API.
struct Library {
    store: wasmtime::Store<()>,
    instance: wasmtime::component::Instance,
}

impl Library {
    fn new(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Self> {
        use wasmtime::component::{Component, Linker};
        let component = Component::new(engine, bytes)?;
        let mut store = wasmtime::Store::new(engine, ());
        let instance = Linker::<()>::new(engine).instantiate(&mut store, &component)?;
        Ok(Library { store, instance })
    }

    /// Calls function `name` of the root export `interface` (a root
    /// function when `interface` is empty).
    fn call(
        &mut self,
        interface: &str,
        name: &str,
        args: &[wasmtime::component::Val],
    ) -> Result<Option<wasmtime::component::Val>> {
        let scope = match interface {
            "" => None,
            i => Some(
                self.instance
                    .get_export_index(&mut self.store, None, i)
                    .ok_or_else(|| anyhow::anyhow!("no export `{i}`"))?,
            ),
        };
        let index = self
            .instance
            .get_export_index(&mut self.store, scope.as_ref(), name)
            .ok_or_else(|| anyhow::anyhow!("no export `{interface}` `{name}`"))?;
        let func = self
            .instance
            .get_func(&mut self.store, index)
            .ok_or_else(|| anyhow::anyhow!("`{interface}` `{name}` is not a function"))?;
        let mut out =
            vec![wasmtime::component::Val::Bool(false); func.ty(&self.store).results().len()];
        func.call(&mut self.store, args, &mut out)?;
        Ok(out.pop())
    }

    /// Like `call`, for a function returning a number.
    fn number(
        &mut self,
        interface: &str,
        name: &str,
        args: &[wasmtime::component::Val],
    ) -> Result<u64> {
        use wasmtime::component::Val;
        match self.call(interface, name, args)? {
            Some(Val::U32(v)) => Ok(v.into()),
            Some(Val::U64(v)) => Ok(v),
            other => anyhow::bail!("`{interface}` `{name}` returned {other:?}"),
        }
    }

    /// Like `call`, for a constructor.
    fn resource(
        &mut self,
        interface: &str,
        name: &str,
        args: &[wasmtime::component::Val],
    ) -> Result<wasmtime::component::ResourceAny> {
        use wasmtime::component::Val;
        match self.call(interface, name, args)? {
            Some(Val::Resource(r)) => Ok(r),
            other => anyhow::bail!("`{interface}` `{name}` returned {other:?}"),
        }
    }

    fn drop_resource(&mut self, r: wasmtime::component::ResourceAny) -> Result<()> {
        Ok(r.resource_drop(&mut self.store)?)
    }
}

/// What the host sees of `t:p/api` in `resource-interface.wat`: a counter
/// made, counted up through a borrow and dropped by the host (its
/// destructor logs its rep, as `[static]counter.total` shows), twice.
fn one_resource(lib: &mut Library) -> Result<Vec<u64>> {
    use wasmtime::component::Val;
    let api = "t:p/api";
    let mut seen = Vec::new();
    for start in [5, 7] {
        let c = lib.resource(api, "[constructor]counter", &[Val::U32(start)])?;
        let by = [Val::Resource(c), Val::U32(3)];
        seen.push(lib.number(api, "[method]counter.inc", &by)?);
        lib.drop_resource(c)?;
        seen.push(lib.number(api, "[static]counter.total", &[])?);
    }
    Ok(seen)
}

/// `resource-interface-two.wat`: two resource types in one interface; a
/// counter takes ownership of a gauge (whose destructor then runs in the
/// library), and the host drops a gauge and a counter.
fn two_resources(lib: &mut Library) -> Result<Vec<u64>> {
    use wasmtime::component::Val;
    let api = "t:p/api";
    let mut seen = Vec::new();
    let c = lib.resource(api, "[constructor]counter", &[Val::U32(5)])?;
    let g = lib.resource(api, "[constructor]gauge", &[Val::U32(7)])?;
    seen.push(lib.number(api, "[method]gauge.read", &[Val::Resource(g)])?);
    let absorb = [Val::Resource(c), Val::Resource(g)];
    seen.push(lib.number(api, "[method]counter.absorb", &absorb)?);
    seen.push(lib.number(api, "[method]counter.inc", &[Val::Resource(c), Val::U32(1)])?);
    let g = lib.resource(api, "[constructor]gauge", &[Val::U32(3)])?;
    seen.push(lib.number(api, "[method]gauge.read", &[Val::Resource(g)])?);
    lib.drop_resource(g)?;
    lib.drop_resource(c)?;
    seen.push(lib.number(api, "[static]counter.total", &[])?);
    Ok(seen)
}

/// `resource-interface-use.wat`: `t:p/ops` uses `t:p/api`'s counter; a
/// counter made by either interface works with the other's functions, and
/// `t:p/api` names an enum of its own.
fn used_resource(lib: &mut Library) -> Result<Vec<u64>> {
    use wasmtime::component::Val;
    let (api, ops) = ("t:p/api", "t:p/ops");
    let mut seen = Vec::new();
    for start in [12, 2] {
        let c = lib.resource(api, "[constructor]counter", &[Val::U32(start)])?;
        let name = "[method]counter.kind";
        match lib.call(api, name, &[Val::Resource(c)])? {
            Some(Val::Enum(k)) => seen.push(u64::from(k == "big")),
            other => anyhow::bail!("`{name}` returned {other:?}"),
        }
        lib.drop_resource(c)?;
    }
    let c = lib.resource(ops, "make", &[Val::U32(4)])?;
    seen.push(lib.number(api, "[method]counter.inc", &[Val::Resource(c), Val::U32(1)])?);
    seen.push(lib.number(ops, "bump", &[Val::Resource(c), Val::U32(2)])?);
    seen.push(lib.number(ops, "consume", &[Val::Resource(c)])?);
    let d = lib.resource(api, "[constructor]counter", &[Val::U32(9)])?;
    seen.push(lib.number(ops, "bump", &[Val::Resource(d), Val::U32(1)])?);
    lib.drop_resource(d)?;
    seen.push(lib.number(api, "[static]counter.total", &[])?);
    Ok(seen)
}

type Script = fn(&mut Library) -> Result<Vec<u64>>;

#[test]
fn resource_interfaces_the_root_exports_work_from_the_host() -> Result<()> {
    let engine = run::engine()?;
    let cases: [(&str, Script, &[u64]); 3] = [
        ("resource-interface.wat", one_resource, &[8, 1, 10, 102]),
        (
            "resource-interface-two.wat",
            two_resources,
            &[7, 12, 13, 3, 575301],
        ),
        (
            "resource-interface-use.wat",
            used_resource,
            &[1, 0, 5, 7, 7, 10, 1020304],
        ),
    ];
    for (file, script, expected) in cases {
        let path = host_tests::repo_root().join("fixtures/wat").join(file);
        let composed = wat::parse_file(path)?;
        let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
        let want = script(&mut Library::new(&engine, &composed)?)?;
        assert_eq!(want, expected, "{file} composed");
        let got = script(&mut Library::new(&engine, &fused)?)?;
        assert_eq!(got, want, "{file} fused");
    }
    Ok(())
}

#[test]
fn a_component_using_an_interface_it_also_exports_runs_the_same_fused() -> Result<()> {
    let engine = run::engine()?;
    let path = host_tests::repo_root().join("fixtures/wat/resource-interface.wat");
    let composed = wat::parse_file(path)?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    // A drive and the handle numbers, each on a fresh instance.
    for (name, expected) in [("drive", 1_122_140_201), ("handles", 121)] {
        let want = Library::new(&engine, &composed)?.number("", name, &[])?;
        assert_eq!(want, expected, "{name} composed");
        let got = Library::new(&engine, &fused)?.number("", name, &[])?;
        assert_eq!(got, want, "{name} fused");
    }
    Ok(())
}
