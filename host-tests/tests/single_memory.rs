//! One memory (`--single-memory`): every fixture fused with one memory
//! validates without the multi-memory proposal, runs under wasmtime as the
//! composed component does (commands with several argument lists,
//! libraries through every export with generated arguments), and is the
//! same bytes natively and through the fuser component.

use anyhow::{Context, Result, bail};
use host_tests::fuser::{Options, OutputKind};
use host_tests::{fixtures, run, shared};
use solder::ErrorKind;
use wasmparser::{Validator, WasmFeatures};

/// Fuses `bytes` with one memory, natively and through the fuser
/// component, which must agree.
fn single(name: &str, bytes: &[u8], output: solder::OutputKind) -> solder::Result<Vec<u8>> {
    let options = solder::Options {
        output,
        single_memory: true,
        ..solder::Options::default()
    };
    let fused = solder::fuse(&[bytes], &options)?.bytes;
    let through = shared()
        .fuser
        .fuse(
            &[bytes.to_vec()],
            Options {
                output: match output {
                    solder::OutputKind::Component => OutputKind::Component,
                    solder::OutputKind::CoreModule => OutputKind::CoreModule,
                },
                validate: true,
                strip_debug: false,
                single_memory: true,
            },
        )
        .expect("the fuser component runs")
        .expect("the fuser component fuses what the library fuses");
    assert!(through.bytes == fused, "{name}: through the component");
    Ok(fused)
}

/// Validates with every feature the fused module may use but
/// multi-memory.
fn validate_one_memory(bytes: &[u8]) -> Result<()> {
    let features = WasmFeatures::all() - WasmFeatures::MULTI_MEMORY;
    Validator::new_with_features(features).validate_all(bytes)?;
    Ok(())
}

fn is_command(bytes: &[u8]) -> Result<bool> {
    let engine = &shared().engine;
    let component = wasmtime::component::Component::new(engine, bytes)?;
    Ok(run::exported_functions(engine, &component)
        .iter()
        .any(|(i, _, _)| i.as_deref().is_some_and(|i| i.starts_with("wasi:cli/run@"))))
}

/// Fixtures that one memory cannot hold, and why.
const REFUSED: &[(&str, &str)] = &[
    // A module the host supplies imports a memory of the composition.
    ("host-module.wat", "imports memory"),
    // Refused in every output.
    ("module-import.wat", "module the host supplies"),
];

const ARGS: &[&[&str]] = &[
    &[],
    &["trap"],
    &["exit3"],
    &["panic"],
    &["exit", "42"],
    &["a", "b c"],
];

#[test]
fn every_fixture_runs_alike_in_one_memory() -> Result<()> {
    let engine = &shared().engine;
    let mut ran = Vec::new();
    for (name, composed) in fixtures()? {
        let fused = match single(&name, &composed, solder::OutputKind::Component) {
            Ok(f) => f,
            Err(e) => match REFUSED.iter().find(|(n, _)| *n == name) {
                Some((_, why)) if e.kind() == ErrorKind::Unsupported => {
                    assert!(e.to_string().contains(why), "{name}: {e}");
                    continue;
                }
                _ => bail!("{name}: {e}"),
            },
        };
        validate_one_memory(&fused).with_context(|| name.clone())?;
        let core = single(&name, &composed, solder::OutputKind::CoreModule)?;
        validate_one_memory(&core).with_context(|| format!("{name} --core"))?;
        let core_memories = wasmparser::Parser::new(0)
            .parse_all(&core)
            .filter(|p| matches!(p, Ok(wasmparser::Payload::MemorySection(_))))
            .count();
        assert_eq!(core_memories, 1, "{name}: one memory section");
        if is_command(&composed)? {
            if run::Command::new(engine, &composed).is_err() {
                // Imports beyond WASI: a library's own, run alone.
                continue;
            }
            for args in ARGS {
                let a = run::run_command(engine, &composed, args)?;
                let b = run::run_command(engine, &fused, args)?;
                assert_eq!(
                    a,
                    b,
                    "{name} {args:?}:\n{}\n{}",
                    a.stdout_text(),
                    b.stdout_text()
                );
            }
            ran.push(format!("{name} (command)"));
        } else {
            let Ok(a) = run::call_exports(engine, &composed, 7, 12) else {
                // Imports of its own host: run by the tests that provide
                // them.
                continue;
            };
            let b = run::call_exports(engine, &fused, 7, 12)?;
            assert_eq!(a, b, "{name}");
            ran.push(name);
        }
    }
    eprintln!("ran: {ran:?}");
    assert!(ran.len() >= 15, "ran only {ran:?}");
    Ok(())
}
