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
    assert!(ran.len() >= 15, "ran only {ran:?}");
    Ok(())
}

const PAGE: u32 = 65536;

/// One call: an export and its arguments.
type Call = (&'static str, Vec<wasmtime::component::Val>);

fn calls(bytes: &[u8], calls: &[Call]) -> Result<Vec<Option<Vec<wasmtime::component::Val>>>> {
    run::call_script(&shared().engine, bytes, calls)
}

fn u32s(name: &'static str, args: &[u32]) -> Call {
    (
        name,
        args.iter()
            .map(|a| wasmtime::component::Val::U32(*a))
            .collect(),
    )
}

/// Reads `len` bytes of a component's memory through `peek`.
fn peeks(peek: &'static str, from: u32, len: u32) -> Vec<Call> {
    (from..from + len).map(|a| u32s(peek, &[a])).collect()
}

#[test]
fn growing_one_region_keeps_every_other_and_traps_past_its_end() -> Result<()> {
    let composed = wat::parse_file(host_tests::repo_root().join("fixtures/wat/grow.wat"))?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let one = single("grow.wat", &composed, solder::OutputKind::Component)?;
    validate_one_memory(&one)?;
    let intact = || {
        [
            peeks("keeper-peek", 0, 19),
            peeks("keeper-peek", PAGE - 6, 6),
            peeks("fixed-peek", 100, 5),
            peeks("peek", 8, 6),
        ]
        .concat()
    };
    let scenarios: Vec<(&str, Vec<Call>, bool)> = vec![
        (
            "grow, write the last new byte, the others intact",
            [
                vec![
                    u32s("grow", &[2]),
                    u32s("size", &[]),
                    u32s("peek", &[3 * PAGE - 1]),
                    (
                        "poke",
                        vec![
                            wasmtime::component::Val::U32(3 * PAGE - 1),
                            wasmtime::component::Val::U8(9),
                        ],
                    ),
                    u32s("peek", &[3 * PAGE - 1]),
                    u32s("sum", &[0, 3 * PAGE]),
                    u32s("peek64", &[3 * PAGE - 11]),
                ],
                intact(),
            ]
            .concat(),
            false,
        ),
        (
            "store past the grown end",
            vec![
                u32s("grow", &[1]),
                (
                    "poke",
                    vec![
                        wasmtime::component::Val::U32(2 * PAGE),
                        wasmtime::component::Val::U8(1),
                    ],
                ),
            ],
            true,
        ),
        (
            "an 8-byte load at offset 3 reaching one byte past the end",
            vec![u32s("peek64", &[PAGE - 11]), u32s("peek64", &[PAGE - 10])],
            true,
        ),
        (
            "grow to the maximum and no further; grow by 0",
            vec![
                u32s("grow", &[4]),
                u32s("grow", &[3]),
                u32s("grow", &[1]),
                u32s("grow", &[0]),
                u32s("fixed-grow", &[1]),
                u32s("fixed-grow", &[0]),
                u32s("size", &[]),
            ],
            false,
        ),
        (
            "the keeper grows, then the grower: both keep their data",
            [
                vec![u32s("keeper-grow", &[1]), u32s("keeper-size", &[])],
                // New pages read as zero, whatever lay there before.
                peeks("keeper-peek", PAGE, 20),
                vec![
                    u32s("grow", &[2]),
                    u32s("fill", &[0, 0xcc, 3 * PAGE]),
                    u32s("keeper-grow", &[1]),
                    u32s("sum", &[0, 3 * PAGE]),
                ],
                // The grower's writes stayed in its memory.
                peeks("keeper-peek", PAGE, 20),
                peeks("keeper-peek", 2 * PAGE - 20, 20),
                peeks("keeper-peek", 0, 19),
                peeks("fixed-peek", 100, 5),
            ]
            .concat(),
            false,
        ),
        (
            "fill and copy the grown memory, then past it",
            [
                vec![
                    u32s("grow", &[1]),
                    u32s("copy", &[100, 8, 6]),
                    u32s("peek", &[105]),
                    u32s("fill", &[0, 0xcc, 2 * PAGE]),
                    u32s("sum", &[0, 2 * PAGE]),
                ],
                peeks("keeper-peek", 0, 19),
                vec![u32s("copy", &[2 * PAGE - 4, 0, 8])],
            ]
            .concat(),
            true,
        ),
        (
            "grow a page at a time: pages held in reserve read as zero",
            [
                vec![
                    u32s("grow", &[1]),
                    u32s("grow", &[1]),
                    u32s("fill", &[0, 0xcc, 3 * PAGE]),
                    u32s("grow", &[1]),
                    u32s("peek", &[3 * PAGE + 5]),
                    u32s("peek", &[4 * PAGE - 1]),
                    u32s("sum", &[0, 4 * PAGE]),
                    u32s("keeper-grow", &[1]),
                ],
                intact(),
                peeks("keeper-peek", PAGE, 8),
                vec![u32s("peek", &[4 * PAGE])],
            ]
            .concat(),
            true,
        ),
        (
            "fill one byte past the end",
            vec![u32s("fill", &[PAGE - 2, 0xbb, 3])],
            true,
        ),
        (
            "copy from past the end",
            vec![u32s("copy", &[0, PAGE - 2, 3])],
            true,
        ),
    ];
    for (what, script, traps) in &scenarios {
        let a = calls(&composed, script)?;
        let b = calls(&fused, script)?;
        let c = calls(&one, script)?;
        assert_eq!(a, b, "{what}: composed and fused differ");
        assert_eq!(a, c, "{what}: composed and one memory differ");
        assert_eq!(
            a.last().is_some_and(Option::is_none),
            *traps,
            "{what}: {a:?}"
        );
    }
    Ok(())
}

/// One call of `fixtures/wat/host-pointers.wat` in a fresh instance: the
/// result (`None` for a trap) and how many times the host was called.
fn host_call(bytes: &[u8], name: &str, ret: u32) -> Result<(Option<u32>, u32)> {
    use wasmtime::component::{Component, Linker};
    let engine = &shared().engine;
    let mut linker = Linker::<u32>::new(engine);
    let mut host = linker.instance("host")?;
    host.func_wrap("greet", |mut cx, (name,): (String,)| {
        *cx.data_mut() += 1;
        Ok((format!("hello, {name}"),))
    })?;
    host.func_wrap("join", |mut cx, (parts,): (Vec<String>,)| {
        *cx.data_mut() += 1;
        Ok((parts.join(" + "),))
    })?;
    let mut store = wasmtime::Store::new(engine, 0u32);
    let instance = linker.instantiate(&mut store, &Component::new(engine, bytes)?)?;
    let func = instance.get_typed_func::<(u32,), (u32,)>(&mut store, name)?;
    let result = func.call(&mut store, (ret,)).ok().map(|(r,)| r);
    Ok((result, *store.data()))
}

#[test]
fn host_pointers_and_bad_return_pointers_alike_in_one_memory() -> Result<()> {
    let composed = wat::parse_file(host_tests::repo_root().join("fixtures/wat/host-pointers.wat"))?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let one = single(
        "host-pointers.wat",
        &composed,
        solder::OutputKind::Component,
    )?;
    validate_one_memory(&one)?;
    // (function, return pointer, whether the lowering traps after the host
    // ran): in bounds; misaligned; past the memory; wrapping around.
    let cases = [
        ("greet", 8, false),
        ("join", 8, false),
        ("greet", PAGE - 8, false),
        ("greet", 6, true),
        ("join", PAGE - 4, true),
        ("greet", PAGE, true),
        ("join", u32::MAX - 3, true),
    ];
    for (name, ret, traps) in cases {
        let a = host_call(&composed, name, ret)?;
        assert_eq!(a.0.is_none(), traps, "{name}({ret}): {a:?}");
        assert_eq!(a.1, 1, "{name}({ret}): the host ran once, before any trap");
        assert_eq!(host_call(&fused, name, ret)?, a, "{name}({ret}): fused");
        assert_eq!(host_call(&one, name, ret)?, a, "{name}({ret}): one memory");
    }
    Ok(())
}
