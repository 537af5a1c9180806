//! Composed vs fused, under wasmtime: every fixture composition is fused
//! through the fuser *component*, checked against the native library's
//! bytes, validated, and run side by side with the original.

use anyhow::{Result, bail};
use host_tests::fuser::{FuseError, FuserComponent, Options, OutputKind};
use host_tests::{artifact, compose, run};

use host_tests::shared as ctx;

const SCALARS: &str = "solder:fixtures/scalars";

/// Fuses through the component, checks the bytes equal the native
/// library's, and validates them.
fn fuse_both_ways(input: &[u8]) -> Result<Vec<u8>> {
    let options = Options {
        output: OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    };
    let via_component = match ctx().fuser.fuse(&[input.to_vec()], options)? {
        Ok(f) => f.bytes,
        Err(e) => bail!("fuse failed: {e:?}"),
    };
    let native = solder::fuse(&[input], &solder::Options::default())?;
    assert_eq!(
        native.bytes, via_component,
        "native and component fusers disagree"
    );
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&via_component)?;
    let core = solder::fuse(
        &[input],
        &solder::Options {
            output: solder::OutputKind::CoreModule,
            validate: true,
            ..solder::Options::default()
        },
    )?;
    assert!(wasmparser::Parser::is_core_wasm(&core.bytes));
    Ok(via_component)
}

fn chain(names: &[&str]) -> Result<Vec<u8>> {
    let parts = names
        .iter()
        .map(|n| Ok((*n, artifact(&format!("{n}.wasm"))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, SCALARS)
}

fn commands_match(composed: &[u8], argv: &[&[&str]]) -> Result<usize> {
    let fused = fuse_both_ways(composed)?;
    for args in argv {
        let a = run::run_command(&ctx().engine, composed, args)?;
        let b = run::run_command(&ctx().engine, &fused, args)?;
        assert_eq!(
            a,
            b,
            "args {args:?}:\ncomposed: {}\nfused: {}",
            a.stdout_text(),
            b.stdout_text()
        );
        assert!(!a.stdout.is_empty(), "the command printed nothing");
    }
    Ok(argv.len())
}

#[test]
fn command_through_a_chain_of_two() -> Result<()> {
    let composed = chain(&["scalars-app", "scalars_lib"])?;
    commands_match(&composed, &[&[], &["trap"], &["exit3"]])?;
    Ok(())
}

#[test]
fn command_through_a_chain_of_three() -> Result<()> {
    let composed = chain(&["scalars-app", "scalars_mid", "scalars_lib"])?;
    commands_match(&composed, &[&[], &["trap"], &["exit3"]])?;
    let trapped = run::run_command(&ctx().engine, &fuse_both_ways(&composed)?, &["trap"])?;
    assert_eq!(
        trapped.status,
        Err(()),
        "dividing by zero in the callee traps"
    );
    Ok(())
}

#[test]
fn single_rustc_component_runs_fused() -> Result<()> {
    let hello = artifact("hello.wasm")?;
    commands_match(&hello, &[&[], &["exit", "42"], &["panic"], &["a", "b c"]])?;
    Ok(())
}

fn exports_match(
    bytes: &[u8],
    seeds: std::ops::Range<u64>,
    rounds: usize,
) -> Result<(usize, usize)> {
    let fused = fuse_both_ways(bytes)?;
    let (mut calls, mut traps) = (0, 0);
    for seed in seeds {
        let a = run::call_exports(&ctx().engine, bytes, seed, rounds)?;
        let b = run::call_exports(&ctx().engine, &fused, seed, rounds)?;
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "seed {seed}");
        }
        calls += a.len();
        traps += a.iter().filter(|r| r.outcome == "trap").count();
    }
    Ok((calls, traps))
}

#[test]
fn library_exports_of_a_chain_match() -> Result<()> {
    let composed = chain(&["scalars_mid", "scalars_lib"])?;
    let (calls, traps) = exports_match(&composed, 1..4, 25)?;
    assert!(calls >= 3 * 25 * 18, "{calls} calls");
    assert!(
        traps > 0,
        "checked-div by zero must have trapped at least once"
    );
    Ok(())
}

#[test]
fn generated_chains_match() -> Result<()> {
    use host_tests::generate::{LINK_FUNCTIONS, Link, chain};
    for link in [Link::Memory, Link::Scalar] {
        let (calls, _) = exports_match(&chain(link, 8)?, 1..3, 10)?;
        assert!(calls >= 2 * 10 * LINK_FUNCTIONS, "{link:?}: {calls} calls");
    }
    Ok(())
}

#[test]
fn library_exports_of_a_single_component_match() -> Result<()> {
    let (calls, _) = exports_match(&artifact("scalars_lib.wasm")?, 7..9, 25)?;
    assert!(calls > 0);
    Ok(())
}

fn typed_chain(names: &[&str]) -> Result<Vec<u8>> {
    let parts = names
        .iter()
        .map(|n| Ok((*n, artifact(&format!("{n}.wasm"))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, "solder:typed/types")
}

#[test]
fn compound_values_through_a_chain_of_three() -> Result<()> {
    let composed = typed_chain(&["types-app", "types_mid", "types_lib"])?;
    commands_match(&composed, &[&[]])?;
    Ok(())
}

#[test]
fn compound_values_of_a_library_chain_match() -> Result<()> {
    let composed = typed_chain(&["types_mid", "types_lib"])?;
    let (calls, _) = exports_match(&composed, 11..15, 20)?;
    assert_eq!(calls, 4 * 20 * 28, "every function, every round");
    Ok(())
}

/// Every value in memory moved by a shared function instead of inline
/// code: the same results as composed.
#[test]
fn shared_moves_match() -> Result<()> {
    let options = solder::Options {
        outline_weight: 0,
        ..solder::Options::default()
    };
    let composed = typed_chain(&["types_mid", "types_lib"])?;
    let fused = solder::fuse(&[&composed], &options)?.bytes;
    let mut calls = 0;
    for seed in 21..23 {
        let a = run::call_exports(&ctx().engine, &composed, seed, 10)?;
        let b = run::call_exports(&ctx().engine, &fused, seed, 10)?;
        assert_eq!(a, b, "seed {seed}");
        calls += a.len();
    }
    assert_eq!(calls, 2 * 10 * 28, "every function, every round");
    Ok(())
}

fn wat_fixture(name: &str) -> Result<Vec<u8>> {
    Ok(wat::parse_file(
        host_tests::repo_root().join("fixtures/wat").join(name),
    )?)
}

#[test]
fn invalid_char_traps_in_both() -> Result<()> {
    let composed = wat_fixture("char-adapter.wat")?;
    let fused = fuse_both_ways(&composed)?;
    for (arg, traps) in [
        (65u32, false),
        (0xD7FF, false),
        (0xD800, true),
        (0xDFFF, true),
        (0xE000, false),
        (0x10FFFF, false),
        (0x110000, true),
        (u32::MAX, true),
    ] {
        let a = call_run(&composed, arg)?;
        let b = call_run(&fused, arg)?;
        assert_eq!(a, b, "run({arg:#x})");
        assert_eq!(a.is_none(), traps, "run({arg:#x}) -> {a:?}");
    }
    Ok(())
}

#[test]
fn utf8_string_between_memories() -> Result<()> {
    let composed = wat_fixture("string-adapter.wat")?;
    let fused = fuse_both_ways(&composed)?;
    assert_eq!(call_run_with(&composed, &[])?, Some(5));
    assert_eq!(call_run_with(&fused, &[])?, Some(5));
    let composed = wat_fixture("string-transcode.wat")?;
    let fused = fuse_both_ways(&composed)?;
    assert_eq!(call_run_with(&composed, &[])?, Some(5));
    assert_eq!(call_run_with(&fused, &[])?, Some(5));
    Ok(())
}

fn call_run_with(bytes: &[u8], args: &[wasmtime::component::Val]) -> Result<Option<u32>> {
    run::call_u32(&ctx().engine, bytes, "run", args)
}

fn call_run(bytes: &[u8], arg: u32) -> Result<Option<u32>> {
    call_run_with(bytes, &[wasmtime::component::Val::U32(arg)])
}

/// Root imports after a core module, a core instance and a lifted function:
/// the output carries them first, numbered as it numbers them.
#[test]
fn late_root_imports_match() -> Result<()> {
    let composed = wat_fixture("late-import.wat")?;
    let fused = host_tests::fuse_both_ways("late-import.wat", &composed)?;
    let a = run::call_exports(&ctx().engine, &composed, 3, 2)?;
    assert_eq!(a, run::call_exports(&ctx().engine, &fused, 3, 2)?);
    assert_eq!(a.len(), 4, "{a:?}");
    Ok(())
}

#[test]
fn unsupported_input_gets_a_typed_error_through_the_component() -> Result<()> {
    let options = Options {
        output: OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    };
    let err = ctx()
        .fuser
        .fuse(&[wat_fixture("module-import.wat")?], options)?;
    match err {
        Err(FuseError::Unsupported(info)) => {
            assert_eq!(info.feature.as_deref(), Some("module-import"));
            assert_eq!(info.path, "root", "{info:?}");
        }
        other => bail!("expected unsupported, got {:?}", other.map(|f| f.report)),
    }
    for bad in [Vec::new(), b"garbage".to_vec(), wat::parse_str("(module)")?] {
        let options = Options {
            output: OutputKind::Component,
            validate: true,
            strip_debug: false,
            single_memory: false,
        };
        match ctx().fuser.fuse(&[bad], options)? {
            Err(FuseError::Malformed(info)) => assert_eq!(info.path, "root"),
            other => bail!("expected malformed, got {:?}", other.map(|f| f.report)),
        }
    }
    Ok(())
}

/// The fuser fuses itself, and the fused fuser gives byte-identical
/// answers (fused bytes or the same error) for every fixture, for a
/// rejected input, and for the fuser itself.
#[test]
fn the_fuser_fuses_itself() -> Result<()> {
    let fuser = host_tests::fuser_component()?;
    let fused_fuser = solder::fuse(&[&fuser], &solder::Options::default())?.bytes;
    let fused_component = FuserComponent::new(&ctx().engine, &fused_fuser)?;
    let mut inputs = host_tests::fixtures()?;
    inputs.push(("the fuser".into(), fuser));
    inputs.push(("the fused fuser".into(), fused_fuser));
    inputs.push(("garbage".into(), b"garbage".to_vec()));
    for (name, input) in &inputs {
        for output in [OutputKind::Component, OutputKind::CoreModule] {
            let options = || Options {
                output,
                validate: true,
                strip_debug: false,
                single_memory: false,
            };
            let a = ctx().fuser.fuse(std::slice::from_ref(input), options())?;
            let b = fused_component.fuse(std::slice::from_ref(input), options())?;
            match (a, b) {
                (Ok(a), Ok(b)) => assert!(
                    a.bytes == b.bytes,
                    "{name}: the fused fuser's output differs"
                ),
                (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}"),
                (a, b) => bail!(
                    "{name}: original {:?}, fused {:?}",
                    a.map(|f| f.report),
                    b.map(|f| f.report)
                ),
            }
        }
    }
    Ok(())
}
