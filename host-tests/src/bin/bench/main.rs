//! `cargo run --release -p host-tests --bin bench [-- --quick]`: how fast
//! the fuser is, and how much faster fused code runs.
//!
//! Every timing is the median of repeated runs, and every comparison is a
//! ratio of two medians measured in this one run, with the two sides
//! interleaved so that both see the same machine. `--quick` repeats less
//! and makes fewer calls; it prints the same rows (the tests run it),
//! except that the rows of the large real guests, which take minutes to
//! build and compile, and of the largest strings say that they were
//! skipped. `--only SECTION` runs
//! one section (`fuse`, `calls`, `one-memory`, `text`, `guests`, `async`, or
//! `async-kept`, the part of `async` whose tasks the fused module keeps)
//! and its targets;
//! `--rows TEXT` measures only the call rows whose label holds `TEXT`.

mod asyncs;
mod calls;
mod echo;
mod fuse;
mod guests;
mod text;

use anyhow::Result;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting live and peak bytes. A `realloc` counts
/// as the change in size, as the system allocator grows large blocks in
/// place.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// Counting allocations needs `GlobalAlloc`, an unsafe trait; every call is
// forwarded unchanged to the system allocator.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match new_size.checked_sub(layout.size()) {
            Some(more) => grew(more),
            None => {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// How much to repeat.
#[derive(Clone, Copy)]
pub struct Plan {
    /// Runs of each timed step; the median is reported.
    pub runs: usize,
    /// Runs of the slower steps (the fuser component under wasmtime,
    /// whole programs).
    pub slow_runs: usize,
    /// Divides the number of calls in each call benchmark.
    pub call_divisor: u32,
    /// Whether rows that take long are skipped (a line says so).
    pub quick: bool,
    /// `--rows TEXT`: only the call rows whose label holds `TEXT` are
    /// measured (to look again at a few rows; a full run measures all).
    pub rows: Option<&'static str>,
}

/// A median time and the peak of live heap bytes above the level before
/// the first run.
pub struct Measured {
    /// The median time.
    pub time: Duration,
    /// Peak live heap bytes.
    pub peak: usize,
}

/// Runs `f` `runs` times.
pub fn measure(runs: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<Measured> {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    Ok(Measured {
        time: median(times),
        peak: PEAK.load(Ordering::Relaxed) - base,
    })
}

/// The median of some durations.
pub fn median(mut times: Vec<Duration>) -> Duration {
    assert!(!times.is_empty(), "a median needs at least one time");
    times.sort();
    times[times.len() / 2]
}

/// Milliseconds, for a table cell.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Microseconds, for a table cell.
pub fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// Kibibytes, for a table cell.
pub fn kib(n: usize) -> String {
    format!("{:.0} KiB", n as f64 / 1024.0)
}

/// `a / b`.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// The call row whose fused / composed ratio is highest so far.
#[derive(Default)]
pub struct Slowest(Option<(f64, String)>);

impl Slowest {
    /// Notes a row's ratio.
    pub fn note(&mut self, ratio: f64, row: &str) {
        if self.0.as_ref().is_none_or(|(w, _)| ratio > *w) {
            self.0 = Some((ratio, row.to_string()));
        }
    }
}

/// One of the targets and how far the run is from it.
pub struct Target {
    /// The target.
    pub what: &'static str,
    /// What this run measured.
    pub measured: String,
    /// Whether it is met; `None` when part of it cannot be measured yet.
    pub met: Option<bool>,
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let args: Vec<String> = std::env::args().collect();
    let rows: Option<&'static str> = args
        .windows(2)
        .find(|w| w[0] == "--rows")
        .map(|w| &*w[1].clone().leak());
    let plan = if quick {
        Plan {
            runs: 3,
            slow_runs: 1,
            call_divisor: 20,
            quick,
            rows,
        }
    } else {
        Plan {
            runs: 21,
            slow_runs: 7,
            call_divisor: 1,
            quick,
            rows,
        }
    };
    let only = args
        .windows(2)
        .find(|w| w[0] == "--only")
        .map(|w| w[1].as_str());
    const SECTIONS: [&str; 7] = [
        "fuse",
        "calls",
        "one-memory",
        "text",
        "guests",
        "async",
        "async-kept",
    ];
    if let Some(o) = only {
        anyhow::ensure!(
            SECTIONS.contains(&o),
            "`--only {o}`: the sections are {}",
            SECTIONS.join(", ")
        );
    }
    let runs = |section: &str| only.is_none_or(|o| o == section);
    println!("{}\n", machine());
    let mut targets = Vec::new();
    let large = if runs("fuse") || runs("guests") {
        guests::large_providers(quick)?
    } else {
        Vec::new()
    };
    if runs("fuse") {
        fuse::speed(plan, &large, &mut targets)?;
        fuse::scaling(plan)?;
    }
    let mut slowest = Slowest::default();
    if runs("calls") {
        calls::fused_vs_composed(plan, &mut slowest, &mut targets)?;
    }
    if runs("one-memory") {
        calls::one_memory(plan)?;
    }
    if runs("text") {
        text::fused_vs_composed(plan, &mut slowest, &mut targets)?;
    }
    if runs("guests") {
        guests::calls(plan, &large, &mut slowest)?;
    }
    if runs("async") {
        asyncs::fused_vs_composed(plan)?;
        asyncs::beside_a_sync_guest(plan)?;
        asyncs::between_components(plan)?;
    }
    // The tasks the fused module keeps: part of `async`, or alone.
    if runs("async") || only == Some("async-kept") {
        asyncs::tasks_kept(plan)?;
        asyncs::guests_kept(plan)?;
    }
    if let Some((worst, row)) = slowest.0 {
        targets.push(Target {
            what: "every fused cross-component call faster than composed",
            measured: format!("slowest: {row} {worst:.2}×"),
            met: Some(worst < 1.0),
        });
    }

    println!("\n## Targets\n");
    println!("| target | measured | met |");
    println!("|---|---|---|");
    for t in &targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured yet",
        };
        println!("| {} | {} | {met} |", t.what, t.measured);
    }
    println!("\n{}", machine());
    Ok(())
}

/// The cores this process may use and, where the system tells, the load
/// average: timings from a busy machine are noisier.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let fields: Vec<&str> = l.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| format!("; load average {}", fields.join(" ")))
        })
        .unwrap_or_default();
    format!("Machine: {cores} cores{load}.")
}
