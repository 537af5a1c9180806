//! `cargo run --release -p host-tests --bin bench [-- --quick]`: how fast
//! the fuser is, and how much faster fused code runs. Every comparison is a
//! ratio of medians measured in this one run.

use anyhow::{Result, bail};
use host_tests::{compose, fuser, run};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wasm_encoder::reencode::{ReencodeComponent, RoundtripReencoder};
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

/// The system allocator, counting live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// Counting allocations needs `GlobalAlloc`, an unsafe trait; every call is
// forwarded unchanged to the system allocator.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Median time of `runs` calls, and the peak bytes allocated above the
/// level before the first call.
fn measure(runs: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<(Duration, usize)> {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[times.len() / 2], PEAK.load(Ordering::Relaxed) - base))
}

/// The floor: what parsing, validating and re-encoding the same bytes
/// costs with wasmparser and wasm-encoder.
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

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn kib(n: usize) -> String {
    format!("{:.0} KiB", n as f64 / 1024.0)
}

fn chain(names: &[&str], iface: &str) -> Result<Vec<u8>> {
    let parts = names
        .iter()
        .map(|n| Ok((*n, host_tests::artifact(&format!("{n}.wasm"))?)))
        .collect::<Result<Vec<_>>>()?;
    compose::chain(&parts, iface)
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 21 };
    let engine = run::engine()?;
    let fuser_bytes = host_tests::fuser_component()?;
    let fuser = fuser::FuserComponent::new(&engine, &fuser_bytes)?;
    let inputs = [
        ("hello (1 component)", host_tests::artifact("hello.wasm")?),
        (
            "scalars (3 components)",
            chain(
                &["scalars-app", "scalars_mid", "scalars_lib"],
                "solder:fixtures/scalars",
            )?,
        ),
        (
            "types (3 components)",
            chain(
                &["types-app", "types_mid", "types_lib"],
                "solder:typed/types",
            )?,
        ),
        ("the fuser itself (large)", fuser_bytes.clone()),
    ];

    println!("## Fuser speed (median of {runs}; ratios from this run)\n");
    println!(
        "| input | size in | size out | floor | native fuse | x floor | peak mem fuse / floor | in wasmtime | x native |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, bytes) in &inputs {
        let (floor_t, floor_mem) = measure(runs, &mut || floor(bytes))?;
        let mut out_len = 0;
        let (native_t, native_mem) = measure(runs, &mut || {
            out_len = solder::fuse(&[bytes], &solder::Options::default())?
                .bytes
                .len();
            Ok(())
        })?;
        let (comp_t, _) = measure(runs.min(7), &mut || {
            let options = fuser::Options {
                output: fuser::OutputKind::Component,
                validate: true,
            };
            match fuser.fuse(std::slice::from_ref(bytes), options)? {
                Ok(_) => Ok(()),
                Err(e) => bail!("{e:?}"),
            }
        })?;
        println!(
            "| {name} | {} | {} | {} | {} | {:.2} | {} / {} = {:.2} | {} | {:.2} |",
            kib(bytes.len()),
            kib(out_len),
            ms(floor_t),
            ms(native_t),
            native_t.as_secs_f64() / floor_t.as_secs_f64(),
            kib(native_mem),
            kib(floor_mem),
            native_mem as f64 / floor_mem.max(1) as f64,
            ms(comp_t),
            comp_t.as_secs_f64() / native_t.as_secs_f64(),
        );
    }

    println!("\n## Fused vs composed under wasmtime (median of {runs})\n");
    let composed = chain(
        &["types-app", "types_mid", "types_lib"],
        "solder:typed/types",
    )?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let instantiate = |bytes: &[u8]| -> Result<Duration> {
        let component = Component::new(&engine, bytes)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = linker.instantiate_pre(&component)?;
        Ok(measure(runs, &mut || {
            let mut store = Store::new(&engine, run::Host::new(&[], &[]));
            pre.instantiate(&mut store)?;
            Ok(())
        })?
        .0)
    };
    let (a, b) = (instantiate(&composed)?, instantiate(&fused)?);
    println!("| row | composed | fused | fused / composed |");
    println!("|---|---|---|---|");
    println!(
        "| instantiation | {} | {} | {:.2} |",
        ms(a),
        ms(b),
        b.as_secs_f64() / a.as_secs_f64()
    );
    let calls = if quick { 20 } else { 200 };
    for (kind, n) in [
        ("scalar", calls * 50),
        ("string-20", calls * 50),
        ("string-20k", calls),
        ("bytes-1m", calls / 10),
        ("records-1000", calls),
    ] {
        let per_call = |bytes: &[u8]| -> Result<Duration> {
            let command = run::Command::new(&engine, bytes)?;
            let n_str = n.to_string();
            let time = |args: &[&str]| -> Result<Duration> {
                let mut times = Vec::new();
                for _ in 0..runs.min(9) {
                    let (outcome, t) = command.run(args)?;
                    if outcome.status != Ok(0) {
                        bail!("bench {kind} failed: {outcome:?}");
                    }
                    times.push(t);
                }
                times.sort();
                Ok(times[times.len() / 2])
            };
            let zero = time(&["bench", kind, "0"])?;
            let full = time(&["bench", kind, &n_str])?;
            Ok(full.saturating_sub(zero) / n as u32)
        };
        let (a, b) = (per_call(&composed)?, per_call(&fused)?);
        println!(
            "| call: {kind} (x{n}, app -> mid -> lib) | {:.2} µs | {:.2} µs | {:.2} |",
            a.as_secs_f64() * 1e6,
            b.as_secs_f64() * 1e6,
            b.as_secs_f64() / a.as_secs_f64().max(1e-12)
        );
    }
    println!(
        "| size | {} | {} | {:.2} |",
        kib(composed.len()),
        kib(fused.len()),
        fused.len() as f64 / composed.len() as f64
    );
    Ok(())
}
