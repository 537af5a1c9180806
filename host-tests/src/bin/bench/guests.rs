//! The real guests: providers of `solder:p1/text` built by componentize-py
//! (about 18 MB) and componentize-js (about 12 MB), alone and plugged into
//! the Rust runner `p1-app` (composed with wac-graph, as the preview1 tests
//! do), built through `host_tests::guests`. The fuse table times them
//! (`fuse.rs`); here, start-up and the cost of each kind of call, composed
//! against fused, with the Rust provider `p1-lib` beside them for the
//! cost of the crossing alone.
//!
//! A toolchain that is not installed skips its provider's rows, and the
//! rows say so. `--quick` skips the two large providers: building them and
//! compiling their compositions in wasmtime takes minutes.

use crate::calls::{Pair, calls_in_budget};
use crate::{Plan, Slowest, kib, median, ms, ratio, us};
use anyhow::Result;
use host_tests::guests::{self, MissingToolchain};
use host_tests::run::{self, Command};
use std::time::Duration;

/// A provider of `solder:p1/text`, or why it was not built.
pub struct Provider {
    /// Its row label, e.g. `Python provider (componentize-py)`.
    pub name: &'static str,
    /// The provider and its composition with `p1-app`, or why there are
    /// none.
    pub built: Result<Built, String>,
}

/// A provider alone and plugged into `p1-app`.
pub struct Built {
    /// The provider component.
    pub lib: Vec<u8>,
    /// `p1-app` with its `solder:p1/text` import plugged by `lib`.
    pub plugged: Vec<u8>,
}

impl Provider {
    /// The labels of its two rows in the fuse table: alone, plugged.
    pub fn fuse_rows(&self) -> [String; 2] {
        [
            format!("{}, alone", self.name),
            format!("p1-app + {}", self.name),
        ]
    }
}

/// Builds a provider's component.
type Build = fn() -> Result<Vec<u8>>;

/// Builds a provider; a toolchain that is not installed is a skip.
fn provider(name: &'static str, build: Build) -> Result<Provider> {
    let built = match build() {
        Ok(lib) => Ok(Built {
            plugged: guests::plugged_into_p1_app(&lib)?,
            lib,
        }),
        Err(e) => match e.downcast_ref::<MissingToolchain>() {
            Some(missing) => Err(format!("skipped: {missing}")),
            None => return Err(e),
        },
    };
    Ok(Provider { name, built })
}

/// The large providers, built unless `quick`.
pub fn large_providers(quick: bool) -> Result<Vec<Provider>> {
    let builds: [(&'static str, Build); 2] = [
        ("Python provider (componentize-py)", guests::python_lib),
        (
            "JavaScript provider (componentize-js)",
            guests::javascript_lib,
        ),
    ];
    builds
        .into_iter()
        .map(|(name, build)| {
            if quick {
                Ok(Provider {
                    name,
                    built: Err("skipped under --quick (a full run measures it)".into()),
                })
            } else {
                provider(name, build)
            }
        })
        .collect()
}

/// The kinds of call `p1-app bench KIND N` repeats, with a row label and
/// the most calls in a full run: fewer where a provider's own work makes
/// one call so slow that `most` would take longer than [`BUDGET`].
const CALLS: [(&str, &str, u32); 4] = [
    (
        "flip",
        "call: flip, a variant holding a string, both ways",
        20_000,
    ),
    (
        "classify",
        "call: classify, 12 strings in, 12 variants out",
        5_000,
    ),
    ("greet", "call: greet, option<string> both ways", 20_000),
    ("mirror", "call: mirror, a 300 KB string both ways", 100),
];

/// How long a full run of one kind of call may take on one side.
const BUDGET: Duration = Duration::from_millis(500);

/// Start-up and call costs of `p1-app` plugged with each provider,
/// composed against fused; every call row's ratio goes to `slowest`.
pub fn calls(plan: Plan, large: &[Provider], slowest: &mut Slowest) -> Result<()> {
    let engine = run::engine()?;
    let reps = plan.runs.min(11);
    println!(
        "\n## Real guests under wasmtime (p1-app plugged with each provider; median of {reps})\n"
    );
    println!("| provider | row | composed | fused | fused / composed |");
    println!("|---|---|---|---|---|");
    let rust = guests::plugged_into_p1_app(&guests::p1_lib()?)?;
    let compositions =
        std::iter::once(("Rust provider (p1-lib)", Ok(&rust[..]))).chain(large.iter().map(|p| {
            let plugged = p.built.as_ref().map(|b| &b.plugged[..]);
            (p.name, plugged.map_err(String::as_str))
        }));
    for (name, composed) in compositions {
        let composed = match composed {
            Ok(composed) => composed,
            Err(why) => {
                println!("| {name} | {why} | | | |");
                continue;
            }
        };
        let fused = solder::fuse(&[composed], &solder::Options::default())?.bytes;
        let pair = Pair {
            composed: Command::new(&engine, composed)?,
            fused: Command::new(&engine, &fused)?,
        };

        // Start-up: a fresh instance, and its `run` making one call.
        let (mut inst, mut start) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for _ in 0..reps {
            let args = ["bench", "flip", "1"];
            let (a, a_inst, a_run) = pair.composed.start_up(&args)?;
            let (b, b_inst, b_run) = pair.fused.start_up(&args)?;
            anyhow::ensure!(
                a == b && a.status == Ok(0),
                "{name}: composed gave {a:?}, fused {b:?}"
            );
            inst.0.push(a_inst);
            inst.1.push(b_inst);
            start.0.push(a_inst + a_run);
            start.1.push(b_inst + b_run);
        }
        for (label, (a, b)) in [
            ("instantiation", inst),
            ("start-up: instantiation + `run` making one call", start),
        ] {
            let (a, b) = (median(a), median(b));
            println!(
                "| {name} | {label} | {} | {} | {:.2} |",
                ms(a),
                ms(b),
                ratio(b, a)
            );
        }

        for (kind, label, n) in CALLS {
            let fit = calls_in_budget(BUDGET, n, &mut |k| pair.bench(kind, k))?;
            let n = (fit / plan.call_divisor).max(1);
            let (a, b) = pair.per_call(reps, kind, n)?;
            let r = ratio(b, a);
            slowest.note(r, &format!("{name} {label}"));
            println!(
                "| {name} | {label} (×{n}) | {} | {} | {r:.2} |",
                us(a),
                us(b)
            );
        }

        let (a, b) = pair.run(plan.slow_runs, &[])?;
        let (a, b) = (median(a), median(b));
        println!(
            "| {name} | whole program: p1-app's own run | {} | {} | {:.2} |",
            ms(a),
            ms(b),
            ratio(b, a)
        );
        println!(
            "| {name} | size | {} | {} | {:.2} |",
            kib(composed.len()),
            kib(fused.len()),
            fused.len() as f64 / composed.len() as f64
        );
    }
    Ok(())
}
