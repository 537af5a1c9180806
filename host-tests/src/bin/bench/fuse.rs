//! How fast the fuser is: natively and as a component under wasmtime,
//! against the floor of parsing, validating and re-encoding the same bytes,
//! for fixtures, generated chains, the fuser itself and real guests built
//! by componentize-py and componentize-js; and how its time grows with the
//! number of components.

use crate::guests::Provider;
use crate::{Measured, Plan, Target, kib, measure, median, ms, ratio};
use anyhow::{Result, bail};
use host_tests::generate::{self, Link};
use host_tests::{compose, fuser, run};
use std::time::{Duration, Instant};
use wasm_encoder::reencode::{ReencodeComponent, RoundtripReencoder};

/// The floor: what validating the bytes with wasmparser and re-encoding
/// them with wasm-encoder costs.
fn floor(bytes: &[u8]) -> Result<()> {
    let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    v.validate_all(bytes)?;
    let mut out = wasm_encoder::Component::new();
    RoundtripReencoder
        .parse_component(&mut out, wasmparser::Parser::new(0), bytes)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    std::hint::black_box(out.finish());
    Ok(())
}

fn fuse_native(bytes: &[u8]) -> Result<solder::Fused> {
    Ok(solder::fuse(&[bytes], &solder::Options::default())?)
}

/// A composition of fixture components, `names[0] <- names[1] <- ...`.
pub fn fixture_chain(names: &[&str], interface: &str) -> Result<Vec<u8>> {
    let parts = names
        .iter()
        .map(|n| Ok((*n, host_tests::artifact(&format!("{n}.wasm"))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, interface)
}

/// Times `steps` interleaved, `runs` times each: step `i` runs in the
/// first `counts[i]` rounds only. Returns each step's median.
fn interleaved(
    runs: usize,
    steps: &mut [(usize, &mut dyn FnMut() -> Result<()>)],
) -> Result<Vec<Duration>> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
    for round in 0..runs {
        for (i, (count, step)) in steps.iter_mut().enumerate() {
            if round < *count {
                let t = Instant::now();
                step()?;
                times[i].push(t.elapsed());
            }
        }
    }
    Ok(times.into_iter().map(median).collect())
}

/// What one row of the speed table measured, as ratios.
struct Ratios {
    /// Native fuse time ÷ the floor's.
    time: f64,
    /// Peak memory of the native fuse ÷ the floor's.
    memory: f64,
    /// Fuse time of the fuser component under wasmtime ÷ native.
    in_wasmtime: f64,
}

/// Measures and prints one row of the speed table.
fn speed_row(
    plan: Plan,
    fuser: &fuser::FuserComponent,
    name: &str,
    bytes: &[u8],
) -> Result<Ratios> {
    // Peak memory in runs of their own, times interleaved.
    let Measured {
        peak: floor_peak, ..
    } = measure(1, &mut || floor(bytes))?;
    let mut out_len = 0;
    let Measured {
        peak: fuse_peak, ..
    } = measure(1, &mut || {
        out_len = fuse_native(bytes)?.bytes.len();
        Ok(())
    })?;
    let input = [bytes.to_vec()];
    let times = interleaved(
        plan.runs,
        &mut [
            (plan.runs, &mut || floor(bytes)),
            (plan.runs, &mut || fuse_native(bytes).map(drop)),
            (plan.slow_runs, &mut || {
                let options = fuser::Options {
                    output: fuser::OutputKind::Component,
                    validate: true,
                    strip_debug: false,
                    single_memory: false,
                };
                match fuser.fuse(&input, options)? {
                    Ok(_) => Ok(()),
                    Err(e) => bail!("the fuser component failed: {e:?}"),
                }
            }),
        ],
    )?;
    let (floor_t, native_t, wasmtime_t) = (times[0], times[1], times[2]);
    let ratios = Ratios {
        time: ratio(native_t, floor_t),
        memory: fuse_peak as f64 / floor_peak.max(1) as f64,
        in_wasmtime: ratio(wasmtime_t, native_t),
    };
    println!(
        "| {name} | {} | {} | {:.2} | {} | {} | {:.2} | {} | {} | {:.2} | {} | {:.2} |",
        kib(bytes.len()),
        kib(out_len),
        out_len as f64 / bytes.len() as f64,
        ms(floor_t),
        ms(native_t),
        ratios.time,
        kib(floor_peak),
        kib(fuse_peak),
        ratios.memory,
        ms(wasmtime_t),
        ratios.in_wasmtime,
    );
    Ok(ratios)
}

/// The label of the large input, whose row the first targets read.
const LARGE: &str = "the fuser itself (large, 1 component)";
/// The label of the input built with DWARF, whose row a target reads.
const DWARF: &str = "scalars built with DWARF (3 components)";

/// The scalars chain built with debugging information
/// ([`guests::debug_fixtures`]): most of its bytes are DWARF, which the
/// fuser carries into the output.
fn debug_chain() -> Result<Vec<u8>> {
    let dir = host_tests::guests::debug_fixtures(4)?;
    let parts = ["scalars-app", "scalars_mid", "scalars_lib"]
        .iter()
        .map(|n| Ok((*n, std::fs::read(dir.join(format!("{n}.wasm")))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, "solder:fixtures/scalars")
}

/// The ladder of inputs, then the real guests: fuse time and peak memory
/// against the floor.
pub fn speed(plan: Plan, real: &[Provider], targets: &mut Vec<Target>) -> Result<()> {
    let engine = run::engine()?;
    let fuser_bytes = host_tests::fuser_component()?;
    let fuser = fuser::FuserComponent::new(&engine, &fuser_bytes)?;
    let inputs = [
        ("hello (1 component)", host_tests::artifact("hello.wasm")?),
        (
            "scalars (3 components)",
            fixture_chain(
                &["scalars-app", "scalars_mid", "scalars_lib"],
                "solder:fixtures/scalars",
            )?,
        ),
        (
            "types (3 components)",
            fixture_chain(
                &["types-app", "types_mid", "types_lib"],
                "solder:typed/types",
            )?,
        ),
        (DWARF, debug_chain()?),
        (
            "generated chain of 10 components",
            generate::chain(Link::Memory, 10)?,
        ),
        (
            "generated chain of 50 components",
            generate::chain(Link::Memory, 50)?,
        ),
        (LARGE, fuser_bytes.clone()),
    ];

    println!(
        "## Fuser speed (median of {} runs, {} under wasmtime; ratios from this run)\n",
        plan.runs, plan.slow_runs
    );
    println!(
        "| input | size in | size out | out / in | floor | native fuse | × floor | peak memory floor | peak memory fuse | × floor | fuse in wasmtime | × native |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut worst_wasmtime = (0.0, String::new());
    let mut large = None;
    let mut dwarf = None;
    let mut note_wasmtime = |r: &Ratios, name: &str| {
        if r.in_wasmtime > worst_wasmtime.0 {
            worst_wasmtime = (r.in_wasmtime, name.to_string());
        }
    };
    for (name, bytes) in &inputs {
        let r = speed_row(plan, &fuser, name, bytes)?;
        note_wasmtime(&r, name);
        if *name == LARGE {
            large = Some(r);
        } else if *name == DWARF {
            dwarf = Some(r.time);
        }
    }
    // The real guests: each provider alone and plugged into `p1-app`.
    let mut worst_time: Option<(f64, String)> = None;
    let mut worst_memory: Option<(f64, String)> = None;
    let mut skipped = Vec::new();
    for provider in real {
        let built = match &provider.built {
            Ok(built) => built,
            Err(why) => {
                for name in provider.fuse_rows() {
                    println!("| {name} | {why} | | | | | | | | | | |");
                }
                skipped.push(provider.name);
                continue;
            }
        };
        for (name, bytes) in provider
            .fuse_rows()
            .iter()
            .zip([&built.lib, &built.plugged])
        {
            let r = speed_row(plan, &fuser, name, bytes)?;
            note_wasmtime(&r, name);
            if worst_time.as_ref().is_none_or(|(w, _)| r.time > *w) {
                worst_time = Some((r.time, name.clone()));
            }
            if worst_memory.as_ref().is_none_or(|(w, _)| r.memory > *w) {
                worst_memory = Some((r.memory, name.clone()));
            }
        }
    }
    let large = large.expect("the ladder has the large input");
    targets.push(Target {
        what: "native fuse time ≤ 1× the floor (large input)",
        measured: format!("{:.2}×", large.time),
        met: Some(large.time <= 1.0),
    });
    targets.push(Target {
        what: "peak memory ≤ the floor's (large input)",
        measured: format!("{:.2}×", large.memory),
        met: Some(large.memory <= 1.0),
    });
    let dwarf = dwarf.expect("the ladder has the input with DWARF");
    targets.push(Target {
        what: "native fuse time ≤ 2× the floor (DWARF carried)",
        measured: format!("{dwarf:.2}×"),
        met: Some(dwarf <= 2.0),
    });
    targets.push(Target {
        what: "fuser component under wasmtime ≤ 1.5× native (large input)",
        measured: format!(
            "{:.2}× (most: {:.2}×, {})",
            large.in_wasmtime, worst_wasmtime.0, worst_wasmtime.1
        ),
        met: Some(large.in_wasmtime <= 1.5),
    });
    // A provider that was not built is named, and the target is unmet
    // only by what was measured.
    let real_target = |what, worst: Option<(f64, String)>, limit: f64| {
        let skipped = skipped.join(", ");
        match worst {
            Some((w, row)) if skipped.is_empty() => Target {
                what,
                measured: format!("most: {w:.2}× ({row})"),
                met: Some(w <= limit),
            },
            Some((w, row)) => Target {
                what,
                measured: format!("most: {w:.2}× ({row}); not measured: {skipped}"),
                met: Some(w <= limit),
            },
            None => Target {
                what,
                measured: format!("not measured: {skipped}"),
                met: None,
            },
        }
    };
    targets.push(real_target(
        "native fuse time ≤ 1× the floor (real guests)",
        worst_time,
        1.0,
    ));
    targets.push(real_target(
        "peak memory ≤ the floor's (real guests)",
        worst_memory,
        1.0,
    ));
    Ok(())
}

/// Fuse time as chains grow: per component and per adapter, and a check
/// that from 32 components to the largest chain that fuses, time per
/// component grows by at most a quarter (and if not, whether the floor
/// grows as much). The sizes of a series are timed round-robin, so a change
/// in the machine's load hits them all alike.
pub fn scaling(plan: Plan) -> Result<()> {
    println!(
        "\n## Scaling (generated chains, native fuse, median of {} runs)\n",
        plan.runs
    );
    println!(
        "| link | components | adapters | functions | size in | floor | native fuse | × floor | per component | per adapter |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let series = [
        (
            Link::Memory,
            "string, lists, scalars; a memory each",
            &[2, 8, 32, 96, 128][..],
        ),
        (
            Link::Scalar,
            "scalars only; no memory",
            &[2, 8, 32, 128][..],
        ),
    ];
    let mut checks = Vec::new();
    let mut limited = Vec::new();
    for (link, label, sizes) in series {
        // Every size that fuses, timed round-robin so that all see the
        // same machine.
        let mut chains = Vec::new();
        for &n in sizes {
            let bytes = generate::chain(link, n)?;
            match fuse_native(&bytes) {
                Ok(f) => chains.push((n, bytes, f.report)),
                Err(e) => match e.downcast_ref::<solder::Error>() {
                    Some(e) if e.kind() == solder::ErrorKind::LimitExceeded => {
                        limited.push(format!(
                            "| {label} | {n} | | | {} | | n/a: {e} | | | |",
                            kib(bytes.len())
                        ));
                    }
                    _ => return Err(e),
                },
            }
        }
        let mut floors: Vec<Box<dyn FnMut() -> Result<()> + '_>> = Vec::new();
        let mut fuses: Vec<Box<dyn FnMut() -> Result<()> + '_>> = Vec::new();
        for (_, bytes, _) in &chains {
            floors.push(Box::new(move || floor(bytes)));
            fuses.push(Box::new(move || fuse_native(bytes).map(drop)));
        }
        let mut steps: Vec<(usize, &mut dyn FnMut() -> Result<()>)> = Vec::new();
        for (f, g) in floors.iter_mut().zip(fuses.iter_mut()) {
            steps.push((plan.runs, f.as_mut()));
            steps.push((plan.runs, g.as_mut()));
        }
        let times = interleaved(plan.runs, &mut steps)?;
        let mut fused_sizes: Vec<(usize, Duration, Duration)> = Vec::new();
        for ((n, bytes, report), t) in chains.iter().zip(times.chunks(2)) {
            let (floor_t, fuse_t) = (t[0], t[1]);
            let adapters = report.adapters.len();
            println!(
                "| {label} | {n} | {adapters} | {} | {} | {} | {} | {:.2} | {} | {} |",
                report.functions,
                kib(bytes.len()),
                ms(floor_t),
                ms(fuse_t),
                ratio(fuse_t, floor_t),
                crate::us(fuse_t / *n as u32),
                crate::us(fuse_t / adapters.max(1) as u32),
            );
            fused_sizes.push((*n, floor_t, fuse_t));
        }
        for row in limited.drain(..) {
            println!("{row}");
        }
        // Linear: from 32 components to the largest chain that fused,
        // time per component grows by at most a quarter. Where it grows
        // more, say whether the floor (wasmparser's validation, which the
        // fuser runs on its input too) grows as much.
        let at = |n: usize| fused_sizes.iter().find(|(m, ..)| *m == n);
        let (Some(&(largest, floor_l, fuse_l)), Some(&(_, floor_32, fuse_32))) =
            (fused_sizes.last(), at(32))
        else {
            bail!("the {label} chain of 32 did not fuse");
        };
        let more = largest as f64 / 32.0;
        let fuse_growth = ratio(fuse_l, fuse_32) / more;
        let floor_growth = ratio(floor_l, floor_32) / more;
        let verdict = if fuse_growth <= 1.25 {
            "linear (≤ 1.25)".to_string()
        } else if fuse_growth <= 1.25 * floor_growth {
            format!(
                "**worse than linear** (> 1.25), as the floor is ({floor_growth:.2}× per component): the fuser adds no growth of its own"
            )
        } else {
            "**worse than linear** (> 1.25), and faster than the floor".to_string()
        };
        checks.push(format!(
            "- {label}: {more:.1}× the components (32 → {largest}) take {:.2}× the time: {fuse_growth:.2}× per component, {verdict}",
            ratio(fuse_l, fuse_32),
        ));
    }
    println!();
    for c in checks {
        println!("{c}");
    }
    Ok(())
}
