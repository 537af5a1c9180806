//! What users pass across one call, fused against composed: strings of
//! every size and script in every pair of string encodings, lists of
//! records that hold strings, nested lists, options and variants of
//! strings, and a scalar call beside them for reference.
//!
//! The strings run between WAT components (`echo.rs`), as only they can
//! use all three encodings; the other values between the Rust guests
//! `text-app` and `text-lib` (`solder:text/values`, UTF-8). Either way the
//! loop that repeats a call runs inside the guest, and a call's cost is a
//! run of `n` calls less a run of none, paired composed and fused run by
//! run (`calls::per_call`). Every row sizes `n` to take about [`BUDGET`]
//! per run, so that rows as different as a 20-byte string and a 1 MiB one
//! are timed alike; the row label says the `n` chosen.

use crate::calls::{Pair, Runs, calls_in_budget, n_calls};
use crate::echo::{self, Encoding, Script};
use crate::fuse::fixture_chain;
use crate::{Plan, Slowest, Target, ratio, us};
use anyhow::{Context, Result, ensure};
use host_tests::run::{self, Command};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

/// How long one run of a row's calls takes in a full run, on one side.
const BUDGET: Duration = Duration::from_millis(40);

/// The string sizes, in bytes of UTF-8, with their labels.
pub const SIZES: [(&str, usize); 4] = [
    ("20 B", 20),
    ("1 KiB", 1024),
    ("20 KiB", 20 * 1024),
    ("1 MiB", 1 << 20),
];

/// The sizes `--quick` measures: the first ones.
const QUICK_SIZES: usize = 3;

/// The most calls a string row makes in a run.
const MOST_CALLS: u32 = 1_000_000;

/// The kinds of call `text-app bench KIND N` repeats, with a row label.
pub const RUST_CALLS: [(&str, &str); 8] = [
    ("add", "scalar: add(u32, u32) -> u32, Rust guests"),
    (
        "entries-10",
        "records: list<record { id: u64, name: string, score: f32 }> of 10, both ways",
    ),
    ("entries-1000", "records: the same list of 1,000, both ways"),
    (
        "entries-100000",
        "records: the same list of 100,000, both ways",
    ),
    (
        "nested-10x10",
        "list<list<string>>: 10 lists of 10 short strings, both ways",
    ),
    (
        "nested-100x100",
        "list<list<string>>: 100 lists of 100 short strings, both ways",
    ),
    ("option", "option<string>: some(20 B), both ways"),
    (
        "variant",
        "variant { a(string), b(u32), c(list<string>) }: each case in turn, both ways",
    ),
];

/// Row label of the WAT guests' scalar call.
pub const WAT_ADD_ROW: &str = "scalar: add(u32, u32) -> u32, WAT guests";

/// The label of a string row.
pub fn string_row(caller: Encoding, callee: Encoding, script: Script, size: &str) -> String {
    format!(
        "string {} → {}, {}, {size}, both ways",
        caller.name(),
        callee.name(),
        script.name()
    )
}

/// A component whose root export `run(kind, units, n) -> u32` repeats a
/// call inside the guest (`echo.rs`), compiled and linked.
struct Root {
    engine: Engine,
    pre: InstancePre<()>,
}

impl Root {
    fn new(engine: &Engine, bytes: &[u8]) -> Result<Self> {
        let component = Component::new(engine, bytes)?;
        let pre = Linker::new(engine).instantiate_pre(&component)?;
        Ok(Root {
            engine: engine.clone(),
            pre,
        })
    }

    /// A fresh instance's `run(kind, units, n)`: what it returned and how
    /// long the call took.
    fn run(&self, kind: u32, units: u32, n: u32) -> Result<(u32, Duration)> {
        let mut store = Store::new(&self.engine, ());
        let instance = self.pre.instantiate(&mut store)?;
        let run = instance.get_typed_func::<(u32, u32, u32), (u32,)>(&mut store, "run")?;
        let start = Instant::now();
        let (sum,) = run.call(&mut store, (kind, units, n))?;
        Ok((sum, start.elapsed()))
    }
}

/// A WAT composition and its fused counterpart.
struct RootPair {
    composed: Root,
    fused: Root,
}

impl RootPair {
    /// Runs `run(kind, units, k)` composed, then fused, which must return
    /// the same; the two times.
    fn run(&self, kind: u32, units: u32, k: u32) -> Result<(Duration, Duration)> {
        let (a, ta) = self.composed.run(kind, units, k)?;
        let (b, tb) = self.fused.run(kind, units, k)?;
        ensure!(
            a == b,
            "run({kind}, {units}, {k}): composed gave {a}, fused {b}"
        );
        Ok((ta, tb))
    }
}

/// The section's settings and what its rows found.
struct Rows<'a> {
    reps: usize,
    budget: Duration,
    /// The section's own worst ratio, for its target.
    worst: Slowest,
    /// Every call row's worst, for the run's target.
    slowest: &'a mut Slowest,
    /// Only the rows whose label holds this, when set.
    only: Option<&'static str>,
}

impl Rows<'_> {
    /// Measures and prints one row: `n` sized to the budget (at most
    /// `most`), then the paired per-call times; notes the ratio.
    fn measure(&mut self, label: &str, most: u32, run: &mut Runs<'_>) -> Result<()> {
        if self.only.is_some_and(|o| !label.contains(o)) {
            return Ok(());
        }
        let mut measured = || -> Result<_> {
            let n = round_calls(calls_in_budget(self.budget, most, run)?);
            Ok((n, n_calls(self.reps, n, run)?))
        };
        let (n, (a, b)) = measured().with_context(|| format!("row `{label}`"))?;
        let r = ratio(b, a);
        self.worst.note(r, label);
        self.slowest.note(r, label);
        println!(
            "| {label} (×{n}) | {} | {} | {r:.2} |",
            call_time(a, n),
            call_time(b, n)
        );
        Ok(())
    }
}

/// The time of one of `n` calls that took `total`, for a table cell: in
/// nanoseconds below a microsecond, as whole runs keep that precision.
fn call_time(total: Duration, n: u32) -> String {
    let ns = total.as_secs_f64() * 1e9 / f64::from(n);
    if ns < 1000.0 {
        format!("{ns:.1} ns")
    } else {
        us(total / n)
    }
}

/// `n` rounded down to one, two or five times a power of ten, so that a
/// row's label keeps its count from run to run.
fn round_calls(n: u32) -> u32 {
    let mut step = 1u32;
    while step <= n / 10 {
        step *= 10;
    }
    [5, 2, 1]
        .into_iter()
        .map(|m| m * step)
        .find(|&c| c <= n)
        .unwrap_or(1)
}

/// The section's table; every row's ratio goes to `slowest`, and its
/// target (the worst row against 0.5×) to `targets`.
pub fn fused_vs_composed(
    plan: Plan,
    slowest: &mut Slowest,
    targets: &mut Vec<Target>,
) -> Result<()> {
    let engine = run::engine()?;
    let reps = plan.runs.min(7);
    println!("\n## Text and records across one call (fused vs composed)\n");
    println!(
        "One call from a caller component to a callee, repeated inside the caller; \
         per-call medians of {reps} paired runs. Strings: WAT guests, `string-encoding` \
         caller → callee, sizes in bytes of UTF-8. The rest: Rust guests (UTF-8).\n"
    );
    println!("| row | composed | fused | fused / composed |");
    println!("|---|---|---|---|");
    let mut rows = Rows {
        reps,
        budget: BUDGET / plan.call_divisor,
        worst: Slowest::default(),
        slowest,
        only: plan.rows,
    };
    strings(&engine, plan, &mut rows)?;
    values(&engine, &mut rows)?;
    if plan.rows.is_none() {
        copies_alone(&engine, plan, &rows)?;
        instructions_per_byte()?;
    }
    let Some((worst, row)) = rows.worst.0 else {
        // `--rows` left none of this section's rows.
        return Ok(());
    };
    targets.push(Target {
        what: "every text/record call ≤ 0.5× composed",
        measured: format!("worst: {row} {worst:.2}×"),
        met: Some(worst <= 0.5),
    });
    Ok(())
}

/// The string rows, every encoding pair, script and size, and the WAT
/// guests' scalar row.
fn strings(engine: &Engine, plan: Plan, rows: &mut Rows<'_>) -> Result<()> {
    for caller in Encoding::ALL {
        for callee in Encoding::ALL {
            let composed = wat::parse_str(echo::composition(caller, callee))?;
            let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
            let pair = RootPair {
                composed: Root::new(engine, &composed)?,
                fused: Root::new(engine, &fused)?,
            };
            if (caller, callee) == (Encoding::Utf8, Encoding::Utf8) {
                rows.measure(WAT_ADD_ROW, MOST_CALLS, &mut |k| pair.run(echo::ADD, 0, k))?;
            }
            for (kind, script) in (0u32..).zip(Script::ALL) {
                for (i, (size, bytes)) in SIZES.into_iter().enumerate() {
                    let label = string_row(caller, callee, script, size);
                    if plan.quick && i >= QUICK_SIZES {
                        println!(
                            "| {label} | skipped under --quick (a full run measures it) | | |"
                        );
                        continue;
                    }
                    let units = script.units(bytes);
                    rows.measure(&label, MOST_CALLS, &mut |k| pair.run(kind, units, k))?;
                }
            }
        }
    }
    Ok(())
}

/// What the component model asks of any implementation of a string call
/// that needs no transcoding: the text copied into the callee's memory and
/// back ([`echo::copies_alone`]), timed against the composed call in the
/// same paired runs. Where the copies alone take more than half the
/// composed call, no fused call can take half of it.
fn copies_alone(engine: &Engine, plan: Plan, rows: &Rows<'_>) -> Result<()> {
    let copies = Root::new(engine, &wat::parse_str(echo::copies_alone())?)?;
    println!(
        "\nThe copies alone: the same bytes copied with `memory.copy` into a second \
         memory and back, against the composed call (ASCII text, so that neither pair \
         transcodes); per-call medians of {} paired runs:\n",
        rows.reps
    );
    println!("| caller → callee, size | composed | the copies alone | copies / composed |");
    println!("|---|---|---|---|");
    let script = Script::Ascii;
    for (caller, callee) in [
        (Encoding::Latin1Utf16, Encoding::Latin1Utf16),
        (Encoding::Utf8, Encoding::Utf8),
    ] {
        let composed = Root::new(engine, &wat::parse_str(echo::composition(caller, callee))?)?;
        for (i, (size, bytes)) in SIZES.into_iter().enumerate() {
            let label = format!("{} → {}, {size}", caller.name(), callee.name());
            if plan.quick && i >= QUICK_SIZES {
                println!("| {label} | skipped under --quick (a full run measures it) | | |");
                continue;
            }
            let units = script.units(bytes);
            let copied = units * script.unit().len() as u32;
            let mut run = |k: u32| -> Result<(Duration, Duration)> {
                let (_, a) = composed.run(0, units, k)?;
                let (sum, b) = copies.run(0, copied, k)?;
                ensure!(sum == copied.wrapping_mul(k), "the copies returned {sum}");
                Ok((a, b))
            };
            let n = round_calls(calls_in_budget(rows.budget, MOST_CALLS, &mut run)?);
            let (a, b) = n_calls(rows.reps, n, &mut run)?;
            println!(
                "| {label} (×{n}) | {} | {} | {:.2} |",
                call_time(a, n),
                call_time(b, n),
                ratio(b, a)
            );
        }
    }
    Ok(())
}

/// The fused text functions' cost in wasm instructions per byte, which no
/// machine's noise moves: a call with 1 MiB of UTF-8 text of each script,
/// counted with wasmtime's fuel (one unit per instruction executed, block
/// structure, `nop` and `drop` free), less a run of no calls, divided by
/// the bytes of UTF-8 text crossing (twice the string: there and back).
/// Everything else in the call is a few hundred instructions.
fn instructions_per_byte() -> Result<()> {
    let mut config = wasmtime::Config::new();
    config.wasm_multi_memory(true);
    config.wasm_component_model(true);
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let (all, every): (&[Script], &[Script]) = (&Script::ALL, &Script::DATA);
    // The largest size per byte (the loops' cost), the smallest per call
    // (the fixed cost of a crossing and of a short text's conversion).
    let tables = [
        (
            all,
            SIZES[SIZES.len() - 1].1,
            true,
            "wasm instructions per byte of UTF-8 text moved (1 MiB each way; \
             validating, copying and transcoding together)",
        ),
        (
            every,
            SIZES[0].1,
            false,
            "wasm instructions per call of one unit of each script's text there \
             and back (20 to 24 bytes of UTF-8, and 8) (the crossing's fixed work, \
             the two adapters, the callee)",
        ),
    ];
    for (scripts, bytes, per_byte, title) in tables {
        let names: Vec<&str> = scripts.iter().map(|s| s.name()).collect();
        println!("\nFused, {title}:\n");
        println!("| caller → callee | {} |", names.join(" | "));
        println!("|---|{}", "---|".repeat(names.len()));
        for caller in Encoding::ALL {
            for callee in Encoding::ALL {
                let composed = wat::parse_str(echo::composition(caller, callee))?;
                let fused = Root::new(
                    &engine,
                    &solder::fuse(&[&composed], &solder::Options::default())?.bytes,
                )?;
                let mut cells = Vec::new();
                for (kind, script) in (0u32..).zip(scripts.iter().copied()) {
                    // Per call: one unit of each script.
                    let units = if per_byte { script.units(bytes) } else { 1 };
                    let fuel = |n: u32| -> Result<u64> {
                        let mut store = Store::new(&engine, ());
                        store.set_fuel(u64::MAX)?;
                        let instance = fused.pre.instantiate(&mut store)?;
                        let run = instance
                            .get_typed_func::<(u32, u32, u32), (u32,)>(&mut store, "run")?;
                        run.call(&mut store, (kind, units, n))?;
                        Ok(u64::MAX - store.get_fuel()?)
                    };
                    let per_call = fuel(1)? - fuel(0)?;
                    cells.push(if per_byte {
                        let text = 2 * units as usize * script.unit().len();
                        format!("{:.2}", per_call as f64 / text as f64)
                    } else {
                        per_call.to_string()
                    });
                }
                println!(
                    "| {} → {} | {} |",
                    caller.name(),
                    callee.name(),
                    cells.join(" | ")
                );
            }
        }
    }
    Ok(())
}

/// The Rust guests' rows: records, nested lists, an option, a variant and
/// a scalar.
fn values(engine: &Engine, rows: &mut Rows<'_>) -> Result<()> {
    let composed = fixture_chain(&["text-app", "text_lib"], "solder:text/values")?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let pair = Pair {
        composed: Command::new(engine, &composed)?,
        fused: Command::new(engine, &fused)?,
    };
    for (kind, label) in RUST_CALLS {
        rows.measure(label, MOST_CALLS, &mut |k| pair.bench(kind, k))?;
    }
    Ok(())
}
