//! Several separate components as inputs, wired by interface name: fused
//! natively and through the fuser component (byte for byte the same), and
//! run under wasmtime against the same components composed with
//! wac-graph's `plug`. Then every way wiring can fail, both ways, with the
//! error naming the inputs involved.

use anyhow::{Result, bail};
use host_tests::fuser::{FuseError, Options, OutputKind};
use host_tests::{artifact, compose, run};

use host_tests::shared as ctx;

const SCALARS: &str = "solder:fixtures/scalars";

fn options() -> Options {
    Options {
        output: OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    }
}

fn artifacts(names: &[&str]) -> Result<Vec<Vec<u8>>> {
    names
        .iter()
        .map(|n| artifact(&format!("{n}.wasm")))
        .collect()
}

/// Fuses `inputs` natively and through the component; both must succeed
/// with the same bytes, which validate.
fn fuse_both_ways(inputs: &[Vec<u8>]) -> Result<Vec<u8>> {
    let slices: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let native = solder::fuse(&slices, &solder::Options::default())?.bytes;
    let via_component = match ctx().fuser.fuse(inputs, options())? {
        Ok(f) => f.bytes,
        Err(e) => bail!("fuse through the component failed: {e:?}"),
    };
    assert!(
        native == via_component,
        "native and component fusers disagree"
    );
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&native)?;
    let again = solder::fuse(&slices, &solder::Options::default())?.bytes;
    assert!(native == again, "deterministic");
    let core = solder::fuse(
        &slices,
        &solder::Options {
            output: solder::OutputKind::CoreModule,
            validate: true,
            ..solder::Options::default()
        },
    )?;
    assert!(wasmparser::Parser::is_core_wasm(&core.bytes));
    Ok(native)
}

/// The reference: the same components composed as `wac plug` does.
fn plugged(inputs: &[Vec<u8>]) -> Result<Vec<u8>> {
    let plugs: Vec<&[u8]> = inputs[1..].iter().map(Vec::as_slice).collect();
    compose::plug(&inputs[0], &plugs)
}

fn commands_match(names: &[&str], argv: &[&[&str]]) -> Result<()> {
    let inputs = artifacts(names)?;
    let fused = fuse_both_ways(&inputs)?;
    let reference = plugged(&inputs)?;
    let fused_cmd = run::Command::new(&ctx().engine, &fused)?;
    let reference_cmd = run::Command::new(&ctx().engine, &reference)?;
    for args in argv {
        let a = reference_cmd.run(args)?.0;
        let b = fused_cmd.run(args)?.0;
        assert_eq!(
            a,
            b,
            "{names:?} {args:?}:\nwac: {}\nfused: {}",
            a.stdout_text(),
            b.stdout_text()
        );
        assert!(!a.stdout.is_empty(), "{names:?} {args:?} printed nothing");
    }
    Ok(())
}

#[test]
fn scalars_app_and_lib_as_two_inputs() -> Result<()> {
    commands_match(
        &["scalars-app", "scalars_lib"],
        &[&[], &["trap"], &["exit3"]],
    )
}

#[test]
fn compound_values_app_and_lib_as_two_inputs() -> Result<()> {
    commands_match(&["types-app", "types_lib"], &[&[]])
}

#[test]
fn resources_app_and_lib_as_two_inputs() -> Result<()> {
    commands_match(
        &["counter-app", "counter_lib"],
        &[&[], &["bench", "resource", "20"]],
    )
}

/// A library chain given as separate inputs in any order: `mid` plugs
/// `lib`, and the socket's exports are the result's.
#[test]
fn library_chain_as_separate_inputs() -> Result<()> {
    let inputs = artifacts(&["scalars_mid", "scalars_lib"])?;
    let fused = fuse_both_ways(&inputs)?;
    let reference = plugged(&inputs)?;
    for seed in 1..3 {
        let a = run::call_exports(&ctx().engine, &reference, seed, 10)?;
        let b = run::call_exports(&ctx().engine, &fused, seed, 10)?;
        assert_eq!(a, b, "seed {seed}");
    }
    Ok(())
}

/// A wiring failure, as the native library and the component report it.
struct Expected {
    case: &'static str,
    inputs: Vec<Vec<u8>>,
    kind: solder::ErrorKind,
    path: &'static str,
    /// Words the message must contain.
    mentions: &'static [&'static str],
}

fn wit_kind(e: &FuseError) -> (solder::ErrorKind, &host_tests::fuser::ErrorInfo) {
    match e {
        FuseError::Malformed(i) => (solder::ErrorKind::Malformed, i),
        FuseError::Unsupported(i) => (solder::ErrorKind::Unsupported, i),
        FuseError::Unresolved(i) => (solder::ErrorKind::Unresolved, i),
        FuseError::LimitExceeded(i) => (solder::ErrorKind::LimitExceeded, i),
        FuseError::Internal(i) => (solder::ErrorKind::Internal, i),
    }
}

#[test]
fn wiring_errors_name_the_inputs_both_ways() -> Result<()> {
    use solder::ErrorKind::{Malformed, Unresolved};
    let [app, mid, lib, types_lib] = <[Vec<u8>; 4]>::try_from(artifacts(&[
        "scalars-app",
        "scalars_mid",
        "scalars_lib",
        "types_lib",
    ])?)
    .expect("four artifacts");
    let wrong_type = wat::parse_str(format!(
        r#"(component
             (core module $m (func (export "f") (param i32)))
             (core instance $i (instantiate $m))
             (func $f (param "x" u32) (canon lift (core func $i "f")))
             (instance $api (export "negate" (func $f)))
             (export "{SCALARS}" (instance $api)))"#
    ))?;
    let cases = vec![
        Expected {
            case: "two providers",
            inputs: vec![app.clone(), mid.clone(), lib.clone()],
            kind: Unresolved,
            path: "input[0]",
            mentions: &[SCALARS, "input[1]", "input[2]"],
        },
        Expected {
            case: "an unused input",
            inputs: vec![app.clone(), lib.clone(), types_lib],
            kind: Unresolved,
            path: "input[2]",
            mentions: &["not used", "nothing imports", "solder:typed/types"],
        },
        Expected {
            case: "a cycle",
            inputs: vec![mid.clone(), mid.clone()],
            kind: Unresolved,
            path: "input[0]",
            mentions: &[
                "cycle",
                "input[0] imports",
                "from input[1]",
                "input[1] imports",
            ],
        },
        Expected {
            case: "a type mismatch",
            inputs: vec![app.clone(), wrong_type],
            kind: Unresolved,
            path: "input[0]",
            mentions: &["input[0] imports", SCALARS, "of input[1]", "type"],
        },
        Expected {
            case: "garbage",
            inputs: vec![app.clone(), b"garbage".to_vec()],
            kind: Malformed,
            path: "input[1]",
            mentions: &[],
        },
        Expected {
            case: "a truncated input",
            inputs: vec![app.clone(), lib[..lib.len() / 2].to_vec()],
            kind: Malformed,
            path: "input[1]/module[0]",
            mentions: &[],
        },
        Expected {
            case: "a core module",
            inputs: vec![wat::parse_str("(module)")?, lib],
            kind: Malformed,
            path: "input[0]",
            mentions: &["core module"],
        },
    ];
    for c in &cases {
        let slices: Vec<&[u8]> = c.inputs.iter().map(Vec::as_slice).collect();
        let native = match solder::fuse(&slices, &solder::Options::default()) {
            Err(e) => e,
            Ok(_) => bail!("{}: fused, but should fail", c.case),
        };
        assert_eq!(native.kind(), c.kind, "{}: {native}", c.case);
        assert_eq!(native.path(), c.path, "{}: {native}", c.case);
        for word in c.mentions {
            assert!(
                native.message().contains(word),
                "{}: `{word}` not in: {native}",
                c.case
            );
        }
        let via_component = match ctx().fuser.fuse(&c.inputs, options())? {
            Err(e) => e,
            Ok(_) => bail!("{}: the component fused it", c.case),
        };
        let (kind, info) = wit_kind(&via_component);
        assert_eq!(kind, c.kind, "{}", c.case);
        assert_eq!(info.message, native.message(), "{}", c.case);
        assert_eq!(info.path, native.path(), "{}", c.case);
        assert_eq!(info.offset, native.offset(), "{}", c.case);
        println!("{}: {native}", c.case);
    }
    Ok(())
}

/// What a host provides stays an import: the fused app still imports
/// WASI, and nothing of what the inputs provide each other.
#[test]
fn unprovided_imports_stay_imports() -> Result<()> {
    let inputs = artifacts(&["scalars-app", "scalars_lib"])?;
    let fused = fuse_both_ways(&inputs)?;
    let mut imports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&fused) {
        if let wasmparser::Payload::ComponentImportSection(s) = payload? {
            for import in s {
                imports.push(import?.name.name.to_string());
            }
        }
    }
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:cli/")),
        "{imports:?}"
    );
    assert!(
        !imports.iter().any(|i| i.starts_with("solder:fixtures/")),
        "{imports:?}"
    );
    Ok(())
}
