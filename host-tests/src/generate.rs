//! Generated compositions for benchmarks and tests: chains of any number
//! of distinct components, so that fuse time can be measured as the
//! number of components, functions and adapters grows.
//!
//! Every component of a chain exports `bench:chain/link`; all but the last
//! also import it and forward each call to the next component, so every
//! link of the chain is one adapter per function of the interface. The
//! [`Link::Memory`] functions cover the adapter shapes that cost the most
//! to generate: scalars, a string both ways, lists, and more parameters of
//! mixed types; each of its components has a memory. [`Link::Scalar`]
//! passes scalars only, and its components have no memory, so its chains
//! may be longer than the 100 memories a fused core module can hold. Each
//! component carries its own code (constants differ, and a few filler
//! functions give it a share of code that is merged but not adapted).

use anyhow::Result;
use std::fmt::Write;

/// The interface each link of a chain exports and imports.
pub const LINK: &str = "bench:chain/link";

/// Functions per link, one adapter each between two components.
pub const LINK_FUNCTIONS: usize = 4;

/// Filler functions in each component besides the linked ones.
const FILLER: usize = 12;

/// What the functions of a chain's link pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Scalars, strings and lists; every component has a memory.
    Memory,
    /// Scalars only; no component has a memory.
    Scalar,
}

/// The exports of the scalar link's instance type.
const SCALAR_LINK_TYPE: &str = r#"
      (export "add" (func (param "x" u32) (result u32)))
      (export "mul" (func (param "a" u64) (param "b" u64) (result u64)))
      (export "scale" (func (param "a" f32) (param "b" f64) (result f64)))
      (export "pick" (func (param "a" bool) (param "b" s8) (param "c" u16) (param "d" char) (result u32)))"#;

/// The exports of the memory link's instance type.
const MEMORY_LINK_TYPE: &str = r#"
      (export "add" (func (param "x" u32) (result u32)))
      (export "echo" (func (param "s" string) (result string)))
      (export "sum" (func (param "l" (list u32)) (result u32)))
      (export "mix" (func (param "a" u64) (param "b" f32) (param "s" string) (param "l" (list u8)) (result u64)))"#;

/// The module that defines a component's memory and a bump-allocating
/// `realloc` over it, which grows the memory as needed.
const LIBC: &str = r#"(core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
      global.get $bump
      local.get 2
      i32.add
      i32.const 1
      i32.sub
      i32.const 0
      local.get 2
      i32.sub
      i32.and
      local.tee $p
      local.get 3
      i32.add
      global.set $bump
      block
        loop
          global.get $bump
          memory.size
          i32.const 16
          i32.shl
          i32.le_u
          br_if 1
          i32.const 1
          memory.grow
          i32.const -1
          i32.eq
          if
            unreachable
          end
          br 0
        end
      end
      local.get $p))
  (core instance $libc (instantiate $libc))"#;

/// The text of component `k` of a chain of `link`s; `forward` when it
/// imports the link and forwards to it (every component but the last).
fn component(link: Link, k: usize, forward: bool) -> String {
    match link {
        Link::Memory => memory_component(k, forward),
        Link::Scalar => scalar_component(k, forward),
    }
}

fn scalar_component(k: usize, forward: bool) -> String {
    let mut w = String::new();
    w.push_str("(component\n");
    if forward {
        writeln!(
            w,
            r#"  (import "{LINK}" (instance $down {SCALAR_LINK_TYPE}))
  (core func $d_add (canon lower (func $down "add")))
  (core func $d_mul (canon lower (func $down "mul")))
  (core func $d_scale (canon lower (func $down "scale")))
  (core func $d_pick (canon lower (func $down "pick")))
  (core module $m
    (import "down" "add" (func $d_add (param i32) (result i32)))
    (import "down" "mul" (func $d_mul (param i64 i64) (result i64)))
    (import "down" "scale" (func $d_scale (param f32 f64) (result f64)))
    (import "down" "pick" (func $d_pick (param i32 i32 i32 i32) (result i32)))
    (func (export "add") (param i32) (result i32)
      local.get 0 i32.const {k} i32.add call $d_add)
    (func (export "mul") (param i64 i64) (result i64)
      local.get 0 local.get 1 call $d_mul i64.const {k} i64.add)
    (func (export "scale") (param f32 f64) (result f64)
      local.get 0 local.get 1 call $d_scale f64.const {k} f64.add)
    (func (export "pick") (param i32 i32 i32 i32) (result i32)
      local.get 0 local.get 1 local.get 2 local.get 3 call $d_pick i32.const {k} i32.add)"#
        )
        .unwrap();
    } else {
        writeln!(
            w,
            r#"  (core module $m
    (func (export "add") (param i32) (result i32)
      local.get 0 i32.const {k} i32.add)
    (func (export "mul") (param i64 i64) (result i64)
      local.get 0 local.get 1 i64.mul i64.const {k} i64.add)
    (func (export "scale") (param f32 f64) (result f64)
      local.get 0 f64.promote_f32 local.get 1 f64.mul)
    (func (export "pick") (param i32 i32 i32 i32) (result i32)
      local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add)"#
        )
        .unwrap();
    }
    for j in 0..FILLER {
        filler(&mut w, k, j);
    }
    w.push_str("  )\n");
    let down = if forward {
        r#" (with "down" (instance (export "add" (func $d_add)) (export "mul" (func $d_mul)) (export "scale" (func $d_scale)) (export "pick" (func $d_pick))))"#
    } else {
        ""
    };
    writeln!(
        w,
        r#"  (core instance $i (instantiate $m{down}))
  (func $add (param "x" u32) (result u32) (canon lift (core func $i "add")))
  (func $mul (param "a" u64) (param "b" u64) (result u64) (canon lift (core func $i "mul")))
  (func $scale (param "a" f32) (param "b" f64) (result f64) (canon lift (core func $i "scale")))
  (func $pick (param "a" bool) (param "b" s8) (param "c" u16) (param "d" char) (result u32)
    (canon lift (core func $i "pick")))
  (instance $link (export "add" (func $add)) (export "mul" (func $mul))
    (export "scale" (func $scale)) (export "pick" (func $pick)))
  (export "{LINK}" (instance $link)))"#
    )
    .unwrap();
    w
}

fn memory_component(k: usize, forward: bool) -> String {
    let mut w = String::new();
    w.push_str("(component\n");
    if forward {
        writeln!(
            w,
            "  (import \"{LINK}\" (instance $down {MEMORY_LINK_TYPE}))"
        )
        .unwrap();
    }
    writeln!(w, "  {LIBC}").unwrap();
    if forward {
        w.push_str(
            r#"  (core func $d_add (canon lower (func $down "add")))
  (core func $d_echo (canon lower (func $down "echo") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $d_sum (canon lower (func $down "sum") (memory (core memory $libc "memory"))))
  (core func $d_mix (canon lower (func $down "mix") (memory (core memory $libc "memory"))))
"#,
        );
    }
    w.push_str("  (core module $m\n    (import \"libc\" \"memory\" (memory 1))\n");
    if forward {
        w.push_str(
            r#"    (import "down" "add" (func $d_add (param i32) (result i32)))
    (import "down" "echo" (func $d_echo (param i32 i32 i32)))
    (import "down" "sum" (func $d_sum (param i32 i32) (result i32)))
    (import "down" "mix" (func $d_mix (param i64 f32 i32 i32 i32 i32) (result i64)))
"#,
        );
        writeln!(
            w,
            r#"    (func (export "add") (param i32) (result i32)
      local.get 0 i32.const {k} i32.add call $d_add)
    (func (export "echo") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.const 8 call $d_echo i32.const 8)
    (func (export "sum") (param i32 i32) (result i32)
      local.get 0 local.get 1 call $d_sum i32.const {k} i32.add)
    (func (export "mix") (param i64 f32 i32 i32 i32 i32) (result i64)
      local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5
      call $d_mix i64.const {k} i64.add)"#
        )
        .unwrap();
    } else {
        writeln!(
            w,
            r#"    (func (export "add") (param i32) (result i32)
      local.get 0 i32.const {k} i32.add)
    (func (export "echo") (param i32 i32) (result i32)
      i32.const 8 local.get 0 i32.store
      i32.const 12 local.get 1 i32.store
      i32.const 8)
    (func (export "sum") (param i32 i32) (result i32) (local $s i32)
      block
        loop
          local.get 1 i32.eqz br_if 1
          local.get 0 i32.load local.get $s i32.add local.set $s
          local.get 0 i32.const 4 i32.add local.set 0
          local.get 1 i32.const 1 i32.sub local.set 1
          br 0
        end
      end
      local.get $s)
    (func (export "mix") (param i64 f32 i32 i32 i32 i32) (result i64)
      local.get 0 local.get 3 i64.extend_i32_u i64.add
      local.get 5 i64.extend_i32_u i64.add
      local.get 1 i64.trunc_sat_f32_s i64.add)"#
        )
        .unwrap();
    }
    for j in 0..FILLER {
        filler(&mut w, k, j);
    }
    w.push_str("  )\n");
    let down = if forward {
        r#" (with "down" (instance (export "add" (func $d_add)) (export "echo" (func $d_echo)) (export "sum" (func $d_sum)) (export "mix" (func $d_mix))))"#
    } else {
        ""
    };
    writeln!(
        w,
        r#"  (core instance $i (instantiate $m (with "libc" (instance $libc)){down}))
  (func $add (param "x" u32) (result u32) (canon lift (core func $i "add")))
  (func $echo (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (func $sum (param "l" (list u32)) (result u32)
    (canon lift (core func $i "sum") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (func $mix (param "a" u64) (param "b" f32) (param "s" string) (param "l" (list u8)) (result u64)
    (canon lift (core func $i "mix") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (instance $link (export "add" (func $add)) (export "echo" (func $echo))
    (export "sum" (func $sum)) (export "mix" (func $mix)))
  (export "{LINK}" (instance $link)))"#
    )
    .unwrap();
    w
}

/// A function of some size that the links do not call: a hash loop with a
/// constant of its own.
fn filler(w: &mut String, k: usize, j: usize) {
    let c = (k * 131 + j * 7919) as i32;
    writeln!(
        w,
        r#"    (func $fill{j} (param i32 i32) (result i32) (local $h i32)
      i32.const {c} local.set $h
      block
        loop
          local.get 1 i32.eqz br_if 1
          local.get $h i32.const 31 i32.mul
          local.get 0 i32.add
          i32.const {c} i32.xor
          local.get $h i32.const 7 i32.rotl i32.add
          local.set $h
          local.get 0 i32.const 1 i32.add local.set 0
          local.get 1 i32.const 1 i32.sub local.set 1
          br 0
        end
      end
      local.get $h i32.const {j} i32.shr_u local.get $h i32.xor)"#
    )
    .unwrap();
}

/// A composition of `n` distinct components chained through
/// [`LINK`] with `wac-graph`: `(n - 1) * LINK_FUNCTIONS` cross-component
/// calls. It exports the first component's link.
pub fn chain(link: Link, n: usize) -> Result<Vec<u8>> {
    assert!(n >= 1, "a chain has at least one component");
    let names: Vec<String> = (0..n).map(|k| format!("link{k}")).collect();
    let parts = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            Ok((
                name.as_str(),
                wat::parse_str(component(link, k, k + 1 < n))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    crate::compose::chain(&parts, LINK)
}
