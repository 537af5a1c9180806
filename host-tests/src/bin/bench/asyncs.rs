//! Async calls at the boundary with the host: the Rust async guest
//! (`fixtures/async-guest`) as built and fused, under wasmtime's concurrent
//! calls. Fusing leaves its async ABI to the host, so these rows measure
//! what merging its core modules changes in a call the host schedules.
//! (Async calls between two components are not fused yet: they are
//! refused, so there is nothing fused to measure.)

use crate::calls::n_calls;
use crate::{Plan, ms, ratio, us};
use anyhow::Result;
use host_tests::concurrent::{AsyncGuest, engine};
use std::time::{Duration, Instant};
use wasmtime::component::Component;

/// One row: its label, calls in a full run, and what a run of `k` does.
type Row = (&'static str, u32, fn(&mut AsyncGuest, u32) -> Result<()>);

const ROWS: [Row; 4] = [
    ("async call: count(0), one at a time", 20_000, |g, k| {
        g.counts_in_turn(k, 0)
    }),
    (
        "async call awaiting an async host call: count(1), one at a time",
        10_000,
        |g, k| g.counts_in_turn(k, 1),
    ),
    (
        "stream<u8> between two tasks of the guest: shout, 1 KiB of mixed text, one at a time",
        500,
        |g, k| g.shouts(k, &TEXT.repeat(32)),
    ),
    (
        "10,000 calls in flight at once: count(1), per batch",
        2,
        |g, k| (0..k).try_for_each(|_| g.counts(10_000, 1)),
    ),
];

/// 32 bytes of mixed text (ASCII, accented, CJK): 1 KiB repeated 32 times.
const TEXT: &str = "ascii é ü 日本 text ok";

/// The async rows, fused against composed.
pub fn fused_vs_composed(plan: Plan) -> Result<()> {
    let engine = engine()?;
    let built = host_tests::artifact("async_guest.wasm")?;
    let fused = solder::fuse(&[&built], &solder::Options::default())?.bytes;
    let mut composed = AsyncGuest::new(&engine, &Component::new(&engine, &built)?)?;
    let mut fused = AsyncGuest::new(&engine, &Component::new(&engine, &fused)?)?;
    let reps = plan.runs.min(11);
    println!(
        "\n## Async calls at the boundary with the host (the Rust async guest as built and fused; median of {reps})\n"
    );
    println!("| row | as built | fused | fused / as built |");
    println!("|---|---|---|---|");
    for (label, calls, op) in ROWS {
        let n = (calls / plan.call_divisor).max(1);
        let mut run = |k: u32| -> Result<(Duration, Duration)> {
            let t = Instant::now();
            op(&mut composed, k)?;
            let a = t.elapsed();
            let t = Instant::now();
            op(&mut fused, k)?;
            Ok((a, t.elapsed()))
        };
        let (a, b) = n_calls(reps, n, &mut run)?;
        let (a, b) = (a / n, b / n);
        let time = |d: Duration| {
            if d >= Duration::from_millis(1) {
                ms(d)
            } else {
                us(d)
            }
        };
        println!(
            "| {label} (×{n}) | {} | {} | {:.2} |",
            time(a),
            time(b),
            ratio(b, a)
        );
    }
    Ok(())
}
