//! The `--core` output runs beyond wasmtime: Rust `wasm32-wasip2` commands,
//! alone and composed with libraries, are fused to a bare core module and
//! run on wasmi (`host_tests::core_host`), an interpreter with no component
//! model, whose host implements the imports by their canonical-ABI core
//! signatures and finds each import's memory and `realloc` under the names
//! the README's `--core` section gives. Standard output, standard error
//! and the exit status must be the composed component's under wasmtime.

use anyhow::{Context, Result};
use host_tests::{artifact, compose, core_host, run};

/// A composition of the Rust guests, by artifact name, through `interface`.
fn chain(interface: &str, names: &[&str]) -> Result<Vec<u8>> {
    let parts = names
        .iter()
        .map(|n| Ok((*n, artifact(&format!("{n}.wasm"))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, interface)
}

/// Whether the module has a 128-bit SIMD instruction: it fails to
/// validate without the feature.
fn uses_simd(core: &[u8]) -> bool {
    let features = wasmparser::WasmFeatures::all()
        - wasmparser::WasmFeatures::SIMD
        - wasmparser::WasmFeatures::RELAXED_SIMD;
    wasmparser::Validator::new_with_features(features)
        .validate_all(core)
        .is_err()
}

/// The number of memories the module defines.
fn memories(core: &[u8]) -> Result<u32> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        if let wasmparser::Payload::MemorySection(s) = payload? {
            return Ok(s.count());
        }
    }
    Ok(0)
}

/// `--core --single-memory`.
fn fuse_core_one_memory(component: &[u8]) -> Result<Vec<u8>> {
    let options = solder::Options {
        output: solder::OutputKind::CoreModule,
        single_memory: true,
        ..solder::Options::default()
    };
    Ok(solder::fuse(&[component], &options)?.bytes)
}

/// A command: its name, its bytes and the argument lists to run it with.
type Case = (&'static str, Vec<u8>, &'static [&'static [&'static str]]);

#[test]
fn commands_run_fused_on_wasmi_as_composed_on_wasmtime() -> Result<()> {
    let engine = run::engine()?;
    let cases: Vec<Case> = vec![
        (
            "hello",
            artifact("hello.wasm")?,
            &[&[], &["exit", "42"], &["panic"], &["a", "b c"]],
        ),
        (
            "scalars-app+scalars_lib",
            chain("solder:fixtures/scalars", &["scalars-app", "scalars_lib"])?,
            &[&[], &["trap"], &["exit3"]],
        ),
        (
            "scalars-app+scalars_mid+scalars_lib",
            chain(
                "solder:fixtures/scalars",
                &["scalars-app", "scalars_mid", "scalars_lib"],
            )?,
            &[&[], &["trap"], &["exit3"]],
        ),
        (
            "types-app+types_mid+types_lib",
            chain(
                "solder:typed/types",
                &["types-app", "types_mid", "types_lib"],
            )?,
            &[&[]],
        ),
        (
            "text-app+text_lib",
            chain("solder:text/values", &["text-app", "text_lib"])?,
            &[&[]],
        ),
        (
            "counter-app+counter_lib",
            chain("solder:resources/counter", &["counter-app", "counter_lib"])?,
            &[&[], &["bench", "resource", "20"]],
        ),
    ];
    let mut runs = 0;
    for (name, composed, argv) in cases {
        let core = host_tests::fuse_core(&composed).with_context(|| format!("fusing {name}"))?;
        let one = fuse_core_one_memory(&composed).with_context(|| format!("fusing {name}"))?;
        assert_eq!(memories(&one)?, 1, "{name}: --single-memory");
        for core in [core, one] {
            println!(
                "{name}: {} bytes, {} memories, SIMD: {}",
                core.len(),
                memories(&core)?,
                uses_simd(&core)
            );
            for args in argv {
                let expected = run::run_command(&engine, &composed, args)?;
                let got = core_host::run_command(&core, args)
                    .with_context(|| format!("{name} {args:?} on wasmi"))?;
                assert_eq!(
                    got,
                    expected,
                    "{name} {args:?}: wasmi (stdout {:?}) against wasmtime (stdout {:?})",
                    got.stdout_text(),
                    expected.stdout_text()
                );
                assert!(!got.stdout.is_empty(), "{name} {args:?}: printed nothing");
                runs += 1;
            }
        }
    }
    println!("{runs} runs alike");
    Ok(())
}

/// A component whose start function calls a host function lowered with a
/// memory and a `realloc` (`wasi:cli/environment#get-arguments`): its
/// `--core` module leaves the start sequence to the host as
/// `_initialize`, and the host allocates the arguments in the memory
/// through the `realloc` exported under the import's name. The results
/// are the file's `;; expect:` lines, as under wasmtime.
#[test]
fn start_sequence_calls_the_host_through_memory_on_wasmi() -> Result<()> {
    let path = host_tests::repo_root().join("fixtures/wat/start/host-lowered-with-memory.wat");
    let text = std::fs::read_to_string(&path)?;
    let mut calls = Vec::new();
    let mut expected = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix(";; expect: ") {
            let (call, value) = e
                .split_once("() -> ")
                .with_context(|| format!("`{e}` is not `name() -> value`"))?;
            calls.push(call);
            expected.push(value.parse::<i32>()?);
        }
    }
    let core = host_tests::fuse_core(&wat::parse_str(&text)?)?;
    let exports = wasmparser::Parser::new(0)
        .parse_all(&core)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::ExportSection(s)) => Some(s),
            _ => None,
        })
        .flatten()
        .map(|e| Ok(e?.name.to_string()))
        .collect::<Result<Vec<_>>>()?;
    for name in [
        "_initialize",
        "[memory]wasi:cli/environment@0.2.0#get-arguments",
        "[realloc]wasi:cli/environment@0.2.0#get-arguments",
    ] {
        assert!(
            exports.iter().any(|e| e == name),
            "no `{name}`: {exports:?}"
        );
    }
    assert_eq!(core_host::call_exports(&core, &[], &calls)?, expected);
    let one = fuse_core_one_memory(&wat::parse_str(&text)?)?;
    assert_eq!(core_host::call_exports(&one, &[], &calls)?, expected);
    Ok(())
}

/// A composition whose root imports functions of its own host
/// (`fixtures/wat/own-host-functions.wat`: a string both ways, the host
/// allocating the result through the caller's `realloc`, and a list read
/// from the caller's memory), through a library component: its `--core`
/// module on wasmi gives what the composed component gives on wasmtime with
/// the same host functions, and what the fixture's comment says.
#[test]
fn own_host_functions_on_wasmi_as_on_wasmtime() -> Result<()> {
    use wasmtime::component::{Component, Linker};
    let composed =
        wat::parse_file(host_tests::repo_root().join("fixtures/wat/own-host-functions.wat"))?;
    let engine = run::engine()?;
    let mut linker = Linker::<()>::new(&engine);
    let mut fns = linker.instance("solder:host/fns")?;
    fns.func_wrap("greet", |_, (name,): (String,)| {
        Ok((format!("hello, {name}"),))
    })?;
    fns.func_wrap("sum", |_, (xs,): (Vec<u32>,)| {
        Ok((xs.iter().map(|x| u64::from(*x)).sum::<u64>(),))
    })?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &Component::new(&engine, &composed)?)?;
    let (on_wasmtime,) = instance
        .get_typed_func::<(), (u32,)>(&mut store, "run")?
        .call(&mut store, ())?;

    // What it computes: the shouted greeting's bytes hashed onto the sum
    // of 1, 2, 3 and its length.
    let shouted = b"HELLO, WASMI";
    let expected = shouted.iter().fold(6 + shouted.len() as u32, |h, b| {
        h.wrapping_mul(31).wrapping_add(u32::from(*b))
    });
    assert_eq!(on_wasmtime, expected);

    for core in [
        host_tests::fuse_core(&composed)?,
        fuse_core_one_memory(&composed)?,
    ] {
        let on_wasmi = core_host::call_exports(&core, &[], &["run"])?;
        assert_eq!(on_wasmi, vec![expected.cast_signed()]);
    }
    Ok(())
}
