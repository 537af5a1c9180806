//! The canonical ABI's layout tables checked against the spec's executable
//! definitions: random value types get their size, alignment and flat
//! core types from Solder (through the validator's types) and from
//! `design/mvp/canonical-abi/definitions.py` of the component-model
//! snapshot (run with python3), and the two must agree.

use anyhow::{Context, Result, bail};
use host_tests::run::Rng;
use std::process::Command;

/// Runs a python3 script that uses definitions.py; its standard output.
fn python(script: &str) -> Result<String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .context("running python3")?;
    if !out.status.success() {
        bail!(
            "definitions.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn label(n: &mut u32, prefix: &str) -> String {
    *n += 1;
    format!("{prefix}{n}")
}

/// A random type as component text and as a definitions.py expression.
fn random_type(rng: &mut Rng, depth: u32, n: &mut u32) -> (String, String) {
    random_type_of(rng, depth, n, true)
}

/// Like `random_type`; without `nominal`, no records, variants, enums or
/// flags (which a component may only use in its imports and exports under
/// a name of their own).
fn random_type_of(rng: &mut Rng, depth: u32, n: &mut u32, nominal: bool) -> (String, String) {
    let prims = [
        ("bool", "BoolType()"),
        ("s8", "S8Type()"),
        ("u8", "U8Type()"),
        ("s16", "S16Type()"),
        ("u16", "U16Type()"),
        ("s32", "S32Type()"),
        ("u32", "U32Type()"),
        ("s64", "S64Type()"),
        ("u64", "U64Type()"),
        ("f32", "F32Type()"),
        ("f64", "F64Type()"),
        ("char", "CharType()"),
        ("string", "StringType()"),
    ];
    let mut pick = rng.next_u64() % if depth == 0 { 1 } else { 10 };
    if !nominal {
        pick = [0, 1, 4, 7, 8, 0, 1, 4, 7, 8][pick as usize];
    }
    let count = |rng: &mut Rng, max: u64| 1 + (rng.next_u64() % max) as usize;
    match pick {
        0 => {
            let (w, p) = prims[(rng.next_u64() % prims.len() as u64) as usize];
            (w.into(), p.into())
        }
        1 => {
            let (w, p) = random_type_of(rng, depth - 1, n, nominal);
            (format!("(list {w})"), format!("ListType({p})"))
        }
        2 | 3 => {
            let k = count(rng, 5);
            let (mut w, mut p) = (String::from("(record"), String::from("RecordType(["));
            for _ in 0..k {
                let l = label(n, "f");
                let (fw, fp) = random_type_of(rng, depth - 1, n, nominal);
                w += &format!(" (field \"{l}\" {fw})");
                p += &format!("FieldType('{l}', {fp}),");
            }
            (w + ")", p + "])")
        }
        4 => {
            let k = count(rng, 4);
            let items: Vec<_> = (0..k)
                .map(|_| random_type_of(rng, depth - 1, n, nominal))
                .collect();
            (
                format!(
                    "(tuple {})",
                    items
                        .iter()
                        .map(|i| i.0.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                format!(
                    "TupleType([{}])",
                    items
                        .iter()
                        .map(|i| i.1.clone())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )
        }
        5 | 6 => {
            let k = count(rng, 5);
            let (mut w, mut p) = (String::from("(variant"), String::from("VariantType(["));
            for _ in 0..k {
                let l = label(n, "c");
                if rng.next_u64().is_multiple_of(3) {
                    w += &format!(" (case \"{l}\")");
                    p += &format!("CaseType('{l}', None),");
                } else {
                    let (cw, cp) = random_type_of(rng, depth - 1, n, nominal);
                    w += &format!(" (case \"{l}\" {cw})");
                    p += &format!("CaseType('{l}', {cp}),");
                }
            }
            (w + ")", p + "])")
        }
        7 => {
            let (w, p) = random_type_of(rng, depth - 1, n, nominal);
            (format!("(option {w})"), format!("OptionType({p})"))
        }
        8 => {
            let (ow, op) = random_type_of(rng, depth - 1, n, nominal);
            let (ew, ep) = random_type_of(rng, depth - 1, n, nominal);
            match rng.next_u64() % 3 {
                0 => (
                    format!("(result {ow} (error {ew}))"),
                    format!("ResultType({op}, {ep})"),
                ),
                1 => (
                    format!("(result (error {ew}))"),
                    format!("ResultType(None, {ep})"),
                ),
                _ => (format!("(result {ow})"), format!("ResultType({op}, None)")),
            }
        }
        _ => {
            let k = count(rng, 40).min(32);
            let labels: Vec<String> = (0..k).map(|_| label(n, "l")).collect();
            let kind = if rng.next_u64().is_multiple_of(2) {
                ("flags", "FlagsType")
            } else {
                ("enum", "EnumType")
            };
            (
                format!(
                    "({} {})",
                    kind.0,
                    labels
                        .iter()
                        .map(|l| format!("\"{l}\""))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                format!(
                    "{}([{}])",
                    kind.1,
                    labels
                        .iter()
                        .map(|l| format!("'{l}'"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )
        }
    }
}

#[test]
fn layouts_match_the_spec_definitions() -> Result<()> {
    let snapshot = host_tests::spec::snapshot()?;
    let defs = snapshot.join("design/mvp/canonical-abi");
    let mut rng = Rng::new(0x5eed);
    let mut n = 0;
    let types: Vec<(String, String)> = (0..300).map(|_| random_type(&mut rng, 3, &mut n)).collect();

    // Solder's view, through the validator's types. The text format
    // defines nested types first, so each type gets a component of its
    // own and is the last type defined there.
    let mut ours = Vec::new();
    for (w, _) in &types {
        let bytes = wat::parse_str(format!("(component (type {w}))"))?;
        let input = solder::parse::parse(&bytes)?;
        let tys = input.types.as_ref();
        let count = input.components[0]
            .defs
            .iter()
            .filter(|d| matches!(d, solder::parse::Def::Type(_)))
            .count() as u32;
        let ty = wasmparser::component_types::ComponentValType::Type(
            tys.component_defined_type_at(count - 1),
        );
        let (size, align) = solder::abi::size_align(tys, &ty);
        let mut flat = Vec::new();
        solder::abi::flatten(tys, &ty, &mut flat);
        // The facts the generator reads agree with the functions.
        let facts = solder::abi::Abi::new(tys).facts(&ty);
        assert_eq!(facts.size_align, (size, align), "{w}");
        let flat_facts = (flat.len() <= solder::abi::MAX_FLAT_PARAMS).then_some(&flat);
        assert_eq!(facts.flat.as_ref(), flat_facts, "{w}");
        assert_eq!(
            facts.byte_copyable,
            solder::abi::is_byte_copyable(tys, &ty),
            "{w}"
        );
        let flat: Vec<String> = flat.iter().map(|t| t.to_string()).collect();
        ours.push(format!("{size} {align} {}", flat.join(",")));
    }

    // The spec's view.
    let script = format!(
        "import sys\nsys.path.insert(0, {defs:?})\nfrom definitions import *\n\
         class O: pass\nopts = O(); opts.memory = MemInst(bytearray(), 'i32')\n\
         for t in [{}]:\n    print(elem_size(t, 'i32'), alignment(t, 'i32'), ','.join(flatten_type(t, opts)))\n",
        types
            .iter()
            .map(|(_, p)| p.clone())
            .collect::<Vec<_>>()
            .join(",\n"),
    );
    let out = python(&script)?;
    let theirs: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(theirs.len(), types.len());
    let mut mismatches = Vec::new();
    for ((ty, a), b) in types.iter().zip(&ours).zip(&theirs) {
        if a != b {
            mismatches.push(format!("{}\n  solder: {a}\n  spec:   {b}", ty.0));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        types.len(),
        mismatches.join("\n")
    );
    Ok(())
}

/// A Python helper over definitions.py: for each type (as an expression)
/// it makes a random value, stores `(u8, value)` with the spec's `store`
/// into a callee memory, and again into a caller memory at the return
/// pointer, and prints where it put it, the callee's bytes and a hash of
/// what the caller's memory must hold afterwards.
const STORE_SCRIPT: &str = r#"
import sys, random
sys.path.insert(0, DEFS)
from definitions import *

class Heap:
    def __init__(self, start):
        self.memory = bytearray(65536)
        self.last = start
    def realloc(self, old_ptr, old_size, align, new_size):
        self.last = align_to(self.last, align)
        ret = self.last
        self.last += new_size
        if old_ptr:
            n = min(old_size, new_size)
            self.memory[ret:ret + n] = self.memory[old_ptr:old_ptr + n]
        return ret

def value(t, rng, depth):
    match t:
        case BoolType(): return rng.random() < 0.5
        case U8Type(): return rng.randrange(0, 1 << 8)
        case S8Type(): return rng.randrange(-(1 << 7), 1 << 7)
        case U16Type(): return rng.randrange(0, 1 << 16)
        case S16Type(): return rng.randrange(-(1 << 15), 1 << 15)
        case U32Type(): return rng.randrange(0, 1 << 32)
        case S32Type(): return rng.randrange(-(1 << 31), 1 << 31)
        case U64Type(): return rng.randrange(0, 1 << 64)
        case S64Type(): return rng.randrange(-(1 << 63), 1 << 63)
        case F32Type(): return rng.choice([0.0, -0.0, 1.5, -2.25, 1e10, float('inf')])
        case F64Type(): return rng.choice([0.0, -0.0, 1.5, -2.25, 1e300, float('-inf')])
        case CharType(): return rng.choice(['a', '\u00ff', '\u20ac', '\U0001d11e', '\u0000'])
        case StringType():
            s = ''.join(rng.choice(['a', 'b', '\u00e9', '\u20ac', '\U0001d11e']) for _ in range(rng.randrange(0, 6)))
            return (s, 'utf8', len(s.encode('utf-8')))
        case ListType(et, None): return [value(et, rng, depth + 1) for _ in range(rng.randrange(0, 4 if depth < 3 else 1))]
        case RecordType(fields): return {f.label: value(f.t, rng, depth + 1) for f in fields}
        case TupleType(ts): return {str(i): value(x, rng, depth + 1) for i, x in enumerate(ts)}
        case VariantType(cases):
            c = rng.choice(cases)
            return {c.label: None if c.t is None else value(c.t, rng, depth + 1)}
        case EnumType(labels): return {rng.choice(labels): None}
        case OptionType(x): return {'none': None} if rng.random() < 0.3 else {'some': value(x, rng, depth + 1)}
        case ResultType(ok, err):
            if rng.random() < 0.5: return {'ok': None if ok is None else value(ok, rng, depth + 1)}
            return {'error': None if err is None else value(err, rng, depth + 1)}
        case FlagsType(labels): return {l: rng.random() < 0.5 for l in labels}

def fnv(data):
    h = 0x811c9dc5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h

rng = random.Random(1234)
for t in TYPES:
    tt = TupleType([U8Type(), t])
    v = {'0': 7, '1': value(t, rng, 0)}
    callee = Heap(1024)
    ccx = mk_cx(callee)
    ptr = callee.realloc(0, 0, alignment(tt, 'i32'), elem_size(tt, 'i32'))
    store(ccx, v, tt, ptr)
    caller = Heap(1024)
    store(mk_cx(caller), v, tt, 64)
    end = max(caller.last, 64 + elem_size(tt, 'i32'))
    print(ptr, callee.memory[:callee.last].hex(), end, fnv(caller.memory[64:end]))
"#;

/// `mk_cx` for the script: a context over a heap's memory and realloc.
const MK_CX: &str = r#"
def mk_cx(heap):
    opts = CanonicalOptions()
    opts.memory = MemInst(heap.memory, 'i32')
    opts.string_encoding = 'utf8'
    opts.realloc = heap.realloc
    return LiftLowerContext(opts, ComponentInstance(Store()))
"#;

/// A composition whose callee returns `(tuple u8 T)` stored at `ptr` in
/// its memory (initialised with `callee_bytes`); the caller's `run`
/// returns the FNV-1a hash of its memory from the return pointer (64) to
/// the end of what its bump `realloc` handed out (or of the tuple).
fn store_composition(ty: &str, ptr: u32, callee_bytes: &[u8], tuple_end: u32) -> String {
    let data: String = callee_bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "memory") 1)
      (data (i32.const 0) "{data}")
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable)
      (func (export "f") (result i32) i32.const {ptr}))
    (core instance $i (instantiate $m))
    (func (export "f") (result (tuple u8 {ty}))
      (canon lift (core func $i "f") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))
  (instance $callee (instantiate $callee))
  (alias export $callee "f" (func $f))
  (component $caller
    (import "f" (func $f (result (tuple u8 {ty}))))
    (core module $mem
      (memory (export "memory") 1)
      (global $bump (export "bump") (mut i32) (i32.const 1024))
      (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
        (local $new i32)
        global.get $bump
        local.get $align i32.const 1 i32.sub i32.add
        local.get $align i32.const 1 i32.sub i32.const -1 i32.xor i32.and
        local.tee $new local.get $size i32.add global.set $bump
        local.get $old
        if
          local.get $new local.get $old
          local.get $old_size local.get $size local.get $old_size local.get $size i32.lt_u select
          memory.copy
        end
        local.get $new))
    (core instance $mem (instantiate $mem))
    (core func $f (canon lower (func $f) (memory (core memory $mem "memory")) (realloc (core func $mem "realloc"))))
    (core module $m
      (import "" "f" (func $f (param i32)))
      (import "" "memory" (memory 1))
      (import "" "bump" (global $bump (mut i32)))
      (func (export "run") (result i32)
        (local $i i32) (local $end i32) (local $h i32)
        i32.const 64 call $f
        global.get $bump i32.const {tuple_end} global.get $bump i32.const {tuple_end} i32.gt_u select
        local.set $end
        i32.const 0x811c9dc5 local.set $h
        i32.const 64 local.set $i
        block loop
          local.get $i local.get $end i32.ge_u br_if 1
          local.get $h local.get $i i32.load8_u i32.xor i32.const 0x01000193 i32.mul local.set $h
          local.get $i i32.const 1 i32.add local.set $i
          br 0
        end end
        local.get $h))
    (core instance $i (instantiate $m (with "" (instance
      (export "f" (func $f))
      (export "memory" (memory $mem "memory"))
      (export "bump" (global $mem "bump"))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $caller (instantiate $caller (with "f" (func $f))))
  (export "run" (func $caller "run")))"#
    )
}

#[test]
fn stored_bytes_match_the_spec_definitions() -> Result<()> {
    let snapshot = host_tests::spec::snapshot()?;
    let defs = snapshot.join("design/mvp/canonical-abi");
    let mut rng = Rng::new(0xb17e5);
    let mut n = 0;
    let mut types: Vec<(String, String)> = (0..150)
        .map(|_| random_type_of(&mut rng, 3, &mut n, false))
        .collect();
    // Heavy elements, moved by the shared functions adapters call for
    // values in memory whose code would be large.
    let six = |w: &str, p: &str| {
        (
            format!("(tuple {})", [w; 6].join(" ")),
            format!("TupleType([{}])", [p; 6].join(",")),
        )
    };
    let (sw, sp) = six("string", "StringType()");
    let (lw, lp) = six("(list u16)", "ListType(U16Type())");
    types.extend([
        (format!("(list {sw})"), format!("ListType({sp})")),
        (
            format!("(list (list {sw}))"),
            format!("ListType(ListType({sp}))"),
        ),
        (
            format!("(list (result {sw} (error string)))"),
            format!("ListType(ResultType({sp}, StringType()))"),
        ),
        (
            format!("(list (tuple {lw} {sw} u8))"),
            format!("ListType(TupleType([{lp}, {sp}, U8Type()]))"),
        ),
    ]);
    let types_py = types
        .iter()
        .map(|(_, p)| p.clone())
        .collect::<Vec<_>>()
        .join(",\n");
    let script = format!("DEFS = {defs:?}\n{STORE_SCRIPT}").replace(
        "from definitions import *\n",
        &format!("from definitions import *\n{MK_CX}\nTYPES = [{types_py}]\n"),
    );
    let out = python(&script)?;
    let engine = host_tests::run::engine()?;
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), types.len());
    let mut failures = Vec::new();
    for ((w, _), line) in types.iter().zip(&lines) {
        let parts: Vec<&str> = line.split(' ').collect();
        let ptr: u32 = parts[0].parse()?;
        let bytes: Vec<u8> = (0..parts[1].len() / 2)
            .map(|i| u8::from_str_radix(&parts[1][2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()?;
        let end: u32 = parts[2].parse()?;
        let expected: u32 = parts[3].parse()?;
        // The tuple's own end; the caller's bump may go further.
        let tuple_end = end.clamp(64, 1024);
        let composed = wat::parse_str(store_composition(w, ptr, &bytes, tuple_end))?;
        let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
        let run = |bytes: &[u8]| -> Result<u32> {
            host_tests::run::call_u32(&engine, bytes, "run", &[])?.context("the call trapped")
        };
        let (a, b) = (run(&composed)?, run(&fused)?);
        if a != expected || b != expected {
            failures.push(format!(
                "{w}: spec {expected:#x}, composed {a:#x}, fused {b:#x}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        types.len(),
        failures.join("\n")
    );
    let with_memory = types
        .iter()
        .filter(|(w, _)| w.contains("string") || w.contains("list"))
        .count();
    assert!(
        with_memory > types.len() / 3,
        "only {with_memory} types allocate in the caller"
    );
    Ok(())
}
