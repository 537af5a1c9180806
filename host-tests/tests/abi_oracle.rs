//! The canonical ABI's layout tables checked against the spec's executable
//! definitions: random value types get their size, alignment and flat
//! core types from Solder (through the validator's types) and from
//! `design/mvp/canonical-abi/definitions.py` of the component-model
//! snapshot (run with python3), and the two must agree.

use anyhow::{Context, Result, bail};
use host_tests::run::Rng;
use std::process::Command;

fn label(n: &mut u32, prefix: &str) -> String {
    *n += 1;
    format!("{prefix}{n}")
}

/// A random type as component text and as a definitions.py expression.
fn random_type(rng: &mut Rng, depth: u32, n: &mut u32) -> (String, String) {
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
    let pick = rng.next_u64() % if depth == 0 { 1 } else { 10 };
    let count = |rng: &mut Rng, max: u64| 1 + (rng.next_u64() % max) as usize;
    match pick {
        0 => {
            let (w, p) = prims[(rng.next_u64() % prims.len() as u64) as usize];
            (w.into(), p.into())
        }
        1 => {
            let (w, p) = random_type(rng, depth - 1, n);
            (format!("(list {w})"), format!("ListType({p})"))
        }
        2 | 3 => {
            let k = count(rng, 5);
            let (mut w, mut p) = (String::from("(record"), String::from("RecordType(["));
            for _ in 0..k {
                let l = label(n, "f");
                let (fw, fp) = random_type(rng, depth - 1, n);
                w += &format!(" (field \"{l}\" {fw})");
                p += &format!("FieldType('{l}', {fp}),");
            }
            (w + ")", p + "])")
        }
        4 => {
            let k = count(rng, 4);
            let items: Vec<_> = (0..k).map(|_| random_type(rng, depth - 1, n)).collect();
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
                    let (cw, cp) = random_type(rng, depth - 1, n);
                    w += &format!(" (case \"{l}\" {cw})");
                    p += &format!("CaseType('{l}', {cp}),");
                }
            }
            (w + ")", p + "])")
        }
        7 => {
            let (w, p) = random_type(rng, depth - 1, n);
            (format!("(option {w})"), format!("OptionType({p})"))
        }
        8 => {
            let (ow, op) = random_type(rng, depth - 1, n);
            let (ew, ep) = random_type(rng, depth - 1, n);
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
            if rng.next_u64().is_multiple_of(2) {
                (
                    format!(
                        "(flags {})",
                        labels
                            .iter()
                            .map(|l| format!("\"{l}\""))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    format!(
                        "FlagsType([{}])",
                        labels
                            .iter()
                            .map(|l| format!("'{l}'"))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                )
            } else {
                (
                    format!(
                        "(enum {})",
                        labels
                            .iter()
                            .map(|l| format!("\"{l}\""))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    format!(
                        "EnumType([{}])",
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
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .context("running python3")?;
    if !out.status.success() {
        bail!(
            "definitions.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let theirs: Vec<String> = String::from_utf8(out.stdout)?
        .lines()
        .map(str::to_string)
        .collect();
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
