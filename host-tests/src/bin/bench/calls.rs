//! How much faster fused code runs: the same composition, composed and
//! fused, under wasmtime. Instantiation, the cost of one cross-component
//! call of each kind, a whole program, and the size of the two.

use crate::fuse::fixture_chain;
use crate::{Plan, Slowest, Target, kib, median, ms, ratio, us};
use anyhow::{Result, bail};
use host_tests::run::{self, Command, Host};
use std::time::Duration;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

/// The composed program and its fused counterpart, each ready to run.
pub struct Pair {
    /// The composed program.
    pub composed: Command,
    /// The fused program.
    pub fused: Command,
}

impl Pair {
    /// Runs `args` on both sides `reps` times, alternating, and returns
    /// the times of each side's `run`; both must succeed and print the
    /// same.
    pub fn run(&self, reps: usize, args: &[&str]) -> Result<(Vec<Duration>, Vec<Duration>)> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let (composed, t) = self.composed.run(args)?;
            a.push(t);
            let (fused, t) = self.fused.run(args)?;
            b.push(t);
            if composed.status != Ok(0) || composed != fused {
                bail!(
                    "`{}`: composed gave {composed:?}, fused {fused:?}",
                    args.join(" ")
                );
            }
        }
        Ok((a, b))
    }

    /// The cost of one call of `kind` (`bench KIND N`), composed and
    /// fused: see [`per_call`].
    pub fn per_call(&self, reps: usize, kind: &str, n: u32) -> Result<(Duration, Duration)> {
        per_call(reps, n, &mut |k| self.bench(kind, k))
    }

    /// Runs `bench KIND K` on both sides: the times of each side's `run`.
    pub fn bench(&self, kind: &str, k: u32) -> Result<(Duration, Duration)> {
        let (a, b) = self.run(1, &["bench", kind, &k.to_string()])?;
        Ok((a[0], b[0]))
    }
}

/// Runs of both sides of a call benchmark: `run(k)` makes `k` calls
/// composed, then `k` calls fused, and returns the two times.
pub type Runs<'a> = dyn FnMut(u32) -> Result<(Duration, Duration)> + 'a;

/// The cost of one call, composed and fused: [`n_calls`] divided by `n`.
pub fn per_call(reps: usize, n: u32, run: &mut Runs<'_>) -> Result<(Duration, Duration)> {
    let (a, b) = n_calls(reps, n, run)?;
    Ok((a / n, b / n))
}

/// The cost of `n` calls, composed and fused: a run of `n` calls less a
/// run of none, paired run by run; the medians of `reps` pairs.
pub fn n_calls(reps: usize, n: u32, run: &mut Runs<'_>) -> Result<(Duration, Duration)> {
    let mut diffs = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (zero_a, zero_b) = run(0)?;
        let (full_a, full_b) = run(n)?;
        diffs.0.push(full_a.saturating_sub(zero_a));
        diffs.1.push(full_b.saturating_sub(zero_b));
    }
    Ok((median(diffs.0), median(diffs.1)))
}

/// The calls that fit in a run of `budget`, at most `most`, timed on the
/// composed side: runs of four times as many calls each round until one
/// takes an eighth of the budget, so that a slow first call (a guest's
/// lazy set-up) does not stand for all.
pub fn calls_in_budget(budget: Duration, most: u32, run: &mut Runs<'_>) -> Result<u32> {
    let (zero, _) = run(0)?;
    let mut k = 1;
    loop {
        let (some, _) = run(k)?;
        let took = some.saturating_sub(zero);
        if took >= budget / 8 || k >= most {
            let fit = f64::from(k) * budget.as_secs_f64() / took.as_secs_f64().max(1e-9);
            // Saturating: no budget holds more calls than a u32 counts.
            return Ok((fit as u32).clamp(1, most));
        }
        k = k.saturating_mul(4).min(most);
    }
}

/// Median instantiation times of two components, interleaved.
fn instantiation(
    engine: &wasmtime::Engine,
    runs: usize,
    a: &[u8],
    b: &[u8],
) -> Result<(Duration, Duration)> {
    let pre = |bytes: &[u8]| -> Result<_> {
        let component = Component::new(engine, bytes)?;
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Ok(linker.instantiate_pre(&component)?)
    };
    let (pa, pb) = (pre(a)?, pre(b)?);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (pre, times) in [(&pa, &mut ta), (&pb, &mut tb)] {
            let mut store = Store::new(engine, Host::new(&[], &[]));
            let t = std::time::Instant::now();
            pre.instantiate(&mut store)?;
            times.push(t.elapsed());
        }
    }
    Ok((median(ta), median(tb)))
}

/// The kinds of call the `types-app` fixture can repeat (`bench KIND N`),
/// with a row label and the number of calls in a full run.
const CALLS: [(&str, &str, u32); 5] = [
    ("scalar", "call: scalar (an enum)", 200_000),
    ("string-20", "call: 20-byte string, both ways", 100_000),
    ("string-20k", "call: 20 KiB string, both ways", 5_000),
    ("bytes-1m", "call: 1 MiB list<u8>, both ways", 100),
    (
        "records-1000",
        "call: list of 1000 records, both ways",
        5_000,
    ),
];

/// One memory against several: the fused types chain fused again with
/// `--single-memory`, under wasmtime, row for row as in the table above:
/// what checking and rebasing every access, and wrapping the host
/// boundary, cost.
pub fn one_memory(plan: Plan) -> Result<()> {
    let engine = run::engine()?;
    let composed = fixture_chain(
        &["types-app", "types_mid", "types_lib"],
        "solder:typed/types",
    )?;
    let several = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let one = solder::fuse(
        &[&composed],
        &solder::Options {
            single_memory: true,
            ..solder::Options::default()
        },
    )?
    .bytes;
    let reps = plan.runs.min(11);
    println!(
        "\n## One memory against several (`--single-memory`; types app → mid → lib; median of {reps})\n"
    );
    println!("| row | several memories | one memory | one / several |");
    println!("|---|---|---|---|");
    let (pair, _) = rows(&engine, plan, reps, &several, &one)?;
    let (a, b) = pair.run(plan.slow_runs, &[])?;
    let (a, b) = (median(a), median(b));
    println!(
        "| whole program: the types app's own run | {} | {} | {:.2} |",
        ms(a),
        ms(b),
        ratio(b, a)
    );
    println!(
        "| size | {} | {} | {:.2} |",
        kib(several.len()),
        kib(one.len()),
        one.len() as f64 / several.len() as f64
    );
    Ok(())
}

/// The rows both tables start with, `a` against `b`: instantiation and
/// each kind of call; returns the two programs ready to run, and each call
/// row's ratio with its label.
fn rows(
    engine: &wasmtime::Engine,
    plan: Plan,
    reps: usize,
    a: &[u8],
    b: &[u8],
) -> Result<(Pair, Vec<(f64, &'static str)>)> {
    let (ta, tb) = instantiation(engine, plan.runs, a, b)?;
    println!(
        "| instantiation | {} | {} | {:.2} |",
        ms(ta),
        ms(tb),
        ratio(tb, ta)
    );
    let pair = Pair {
        composed: Command::new(engine, a)?,
        fused: Command::new(engine, b)?,
    };
    let mut ratios = Vec::new();
    for (kind, label, n) in CALLS {
        let n = n / plan.call_divisor;
        let (ta, tb) = pair.per_call(reps, kind, n)?;
        let r = ratio(tb, ta);
        ratios.push((r, label));
        println!("| {label} (×{n}) | {} | {} | {r:.2} |", us(ta), us(tb));
    }
    Ok((pair, ratios))
}

/// Row label of the resource call.
const RESOURCE_ROW: &str = "call: resource create + method + drop (app → lib)";

/// Calls in a full run of the resource row.
const RESOURCE_CALLS: u32 = 100_000;

/// The fixtures' table; every call row's ratio goes to `slowest`.
pub fn fused_vs_composed(
    plan: Plan,
    slowest: &mut Slowest,
    targets: &mut Vec<Target>,
) -> Result<()> {
    let engine = run::engine()?;
    let composed = fixture_chain(
        &["types-app", "types_mid", "types_lib"],
        "solder:typed/types",
    )?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let reps = plan.runs.min(11);
    println!(
        "\n## Fused vs composed under wasmtime (types app → mid → lib unless said; median of {reps})\n"
    );
    println!("| row | composed | fused | fused / composed |");
    println!("|---|---|---|---|");

    let (pair, ratios) = rows(&engine, plan, reps, &composed, &fused)?;
    for (r, label) in ratios {
        slowest.note(r, label);
    }

    let resource = resource_row(&engine, plan, reps)?;
    slowest.note(resource, RESOURCE_ROW);

    let (a, b) = pair.run(plan.slow_runs, &[])?;
    let (a, b) = (median(a), median(b));
    println!(
        "| whole program: the types app's own run (every function; 1 MiB values, 100,000 records) | {} | {} | {:.2} |",
        ms(a),
        ms(b),
        ratio(b, a)
    );
    let size = fused.len() as f64 / composed.len() as f64;
    println!(
        "| size | {} | {} | {size:.2} |",
        kib(composed.len()),
        kib(fused.len()),
    );

    targets.push(Target {
        what: "fused output no larger than the composed input (types)",
        measured: format!("{size:.2}×"),
        met: Some(size <= 1.0),
    });
    Ok(())
}

/// The resource row: a counter defined in one component, created, used and
/// dropped from another. Returns fused / composed.
fn resource_row(engine: &wasmtime::Engine, plan: Plan, reps: usize) -> Result<f64> {
    let composed = fixture_chain(&["counter-app", "counter_lib"], "solder:resources/counter")?;
    let n = RESOURCE_CALLS / plan.call_divisor;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let pair = Pair {
        composed: Command::new(engine, &composed)?,
        fused: Command::new(engine, &fused)?,
    };
    let (a, b) = pair.per_call(reps, "resource", n)?;
    println!(
        "| {RESOURCE_ROW} (×{n}) | {} | {} | {:.2} |",
        us(a),
        us(b),
        ratio(b, a)
    );
    Ok(ratio(b, a))
}
