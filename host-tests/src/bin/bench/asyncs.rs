//! Async calls at the boundary with the host: the Rust async guest
//! (`fixtures/async-guest`) as built and fused, under wasmtime's concurrent
//! calls. Fusing leaves its async ABI to the host, so these rows measure
//! what merging its core modules changes in a call the host schedules.
//! A second table runs the async guest of world `app` composed with the
//! synchronous `wasm32-wasip2` component it calls (`fixtures/words-lib`),
//! composed and fused: its async instance then numbers its handles in a
//! table of its own, which every async built-in it calls goes through.
//! A third table runs the Rust async guest calling another component's
//! async lift (`tick`, whose task ends on its first run,
//! `concurrent::async_tick_provider`) through async lowers, composed and
//! fused: fused, the call runs the callee's task within the adapter.
//! A fourth runs async calls between components whose tasks wait
//! (`fixtures/wat/async/kept-tasks.wast`): composed, the runtime keeps
//! the tasks; fused, the fused module does. A fifth does the same with
//! two wit-bindgen async guests (`fixtures/async-guest/shouter-app`
//! calling `shouter-lib`), whose root exports are lifted async with a
//! `callback`: fused, the host runs the app's tasks and the fused module
//! the lib's.

use crate::calls::n_calls;
use crate::{Plan, ms, ratio, us};
use anyhow::Result;
use host_tests::concurrent::{self, AsyncGuest, Call, engine};
use host_tests::run::Host;
use std::time::{Duration, Instant};
use wasmtime::Store;
use wasmtime::component::{Accessor, Component, TypedFunc};

/// One row: its label, calls in a full run, and what a run of `k` does.
type Row<G> = (&'static str, u32, fn(&mut G, u32) -> Result<()>);

const ROWS: [Row<AsyncGuest>; 4] = [
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
    let built = host_tests::artifact("async_guest.wasm")?;
    guest_rows(
        plan,
        &built,
        "Async calls at the boundary with the host (the Rust async guest as built and fused",
        "as built",
        &ROWS,
    )
}

/// Prints a table of `rows` for the async guest component `built` and the
/// same fused, headed `title` and with `built` columns called `left`.
fn guest_rows(
    plan: Plan,
    built: &[u8],
    title: &str,
    left: &str,
    rows_: &[Row<AsyncGuest>],
) -> Result<()> {
    let engine = engine()?;
    let fused = solder::fuse(&[built], &solder::Options::default())?.bytes;
    let mut composed = AsyncGuest::new(&engine, &Component::new(&engine, built)?)?;
    let mut fused = AsyncGuest::new(&engine, &Component::new(&engine, &fused)?)?;
    header(plan, title, left);
    rows(plan, rows_, &mut composed, &mut fused)
}

/// A table's heading and columns.
fn header(plan: Plan, title: &str, left: &str) {
    let reps = plan.runs.min(11);
    println!("\n## {title}; median of {reps})\n");
    println!("| row | {left} | fused | fused / {left} |");
    println!("|---|---|---|---|");
}

/// Times each of `rows` on both sides, interleaved, and prints one line
/// per row: time per call (per batch), and the ratio.
fn rows<G>(plan: Plan, rows: &[Row<G>], composed: &mut G, fused: &mut G) -> Result<()> {
    let reps = plan.runs.min(11);
    for (label, calls, op) in rows {
        let n = (calls / plan.call_divisor).max(1);
        let mut run = |k: u32| -> Result<(Duration, Duration)> {
            let t = Instant::now();
            op(composed, k)?;
            let a = t.elapsed();
            let t = Instant::now();
            op(fused, k)?;
            Ok((a, t.elapsed()))
        };
        let (a, b) = n_calls(reps, n, &mut run)?;
        let (a, b) = (a / n, b / n);
        println!(
            "| {label} (×{n}) | {} | {} | {:.2} |",
            time(a),
            time(b),
            ratio(b, a)
        );
    }
    Ok(())
}

/// The async guest of world `app` beside the component it calls.
struct App {
    store: Store<Host>,
    greet: TypedFunc<(String,), (String,)>,
}

impl App {
    fn new(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Self> {
        let (mut store, instance) =
            concurrent::instantiate(engine, &Component::new(engine, bytes)?)?;
        let greet = instance.get_typed_func(&mut store, "greet")?;
        Ok(App { store, greet })
    }

    /// `greet(name)` `calls` times: one at a time, or all in flight.
    fn greets(&mut self, calls: u32, name: &str, at_once: bool) -> Result<()> {
        let (greet, name) = (self.greet, name.to_string());
        concurrent::run(&mut self.store, async move |a: &Accessor<Host>| {
            if at_once {
                let all: Vec<Call<'_, wasmtime::Result<(String,)>>> = (0..calls)
                    .map(|_| Box::pin(greet.call_concurrent(a, (name.clone(),))) as Call<'_, _>)
                    .collect();
                for r in futures::future::join_all(all).await {
                    r?;
                }
            } else {
                for _ in 0..calls {
                    greet.call_concurrent(a, (name.clone(),)).await?;
                }
            }
            Ok(())
        })
    }
}

/// The second table's rows.
const APP_ROWS: [Row<App>; 2] = [
    (
        "greet: an async host call, a stream<u8> between two tasks, a call into the sync guest (which prints); one at a time",
        2_000,
        |g, k| g.greets(k, "héllo wörld 日本", false),
    ),
    ("1,000 greets in flight at once, per batch", 2, |g, k| {
        (0..k).try_for_each(|_| g.greets(1_000, "héllo wörld 日本", true))
    }),
];

/// The async guest beside a synchronous guest, fused against composed.
pub fn beside_a_sync_guest(plan: Plan) -> Result<()> {
    let engine = engine()?;
    let app = host_tests::artifact("async_app.wasm")?;
    let words = host_tests::artifact("words_lib.wasm")?;
    let composed = host_tests::compose::plug(&app, &[&words])?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let mut composed = App::new(&engine, &composed)?;
    let mut fused = App::new(&engine, &fused)?;
    header(
        plan,
        "An async guest beside a synchronous one it calls (composed and fused",
        "composed",
    );
    rows(plan, &APP_ROWS, &mut composed, &mut fused)
}

/// The third table's rows.
const BETWEEN_ROWS: [Row<AsyncGuest>; 2] = [
    (
        "count(100): 100 async calls of the other component's async lift, one at a time",
        200,
        |g, k| g.counts_in_turn(k, 100),
    ),
    (
        "10,000 calls in flight at once: count(1), per batch",
        2,
        |g, k| (0..k).try_for_each(|_| g.counts(10_000, 1)),
    ),
];

/// The async guest calling another component's async lift, fused against
/// composed.
pub fn between_components(plan: Plan) -> Result<()> {
    let guest = host_tests::artifact("async_guest.wasm")?;
    let tick = concurrent::async_tick_provider("(i32.const 0)")?;
    guest_rows(
        plan,
        &host_tests::compose::plug(&guest, &[&tick])?,
        "Async calls between two components: the guest's async lowers of an async lift whose task ends at once (composed and fused",
        "composed",
        &BETWEEN_ROWS,
    )
}

fn time(d: Duration) -> String {
    if d >= Duration::from_millis(1) {
        ms(d)
    } else {
        us(d)
    }
}

/// The composition of `kept-tasks.wast`: its `run` (three async calls at
/// once, each awaiting a callee that yields) and `many(n)`.
struct Kept {
    store: Store<Host>,
    run: TypedFunc<(), (String,)>,
    many: TypedFunc<(u32,), (u32,)>,
}

impl Kept {
    fn new(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Self> {
        let (mut store, instance) =
            concurrent::instantiate(engine, &Component::new(engine, bytes)?)?;
        let run = instance.get_typed_func(&mut store, "run")?;
        let many = instance.get_typed_func(&mut store, "many")?;
        Ok(Kept { store, run, many })
    }

    /// `run()` `calls` times, one at a time.
    fn runs(&mut self, calls: u32) -> Result<()> {
        let run = self.run;
        concurrent::run(&mut self.store, async move |a: &Accessor<Host>| {
            for _ in 0..calls {
                let (s,) = run.call_concurrent(a, ()).await?;
                anyhow::ensure!(s == "HéLLO!7 日本!7 🎉OK!7", "run gave {s:?}");
            }
            Ok(())
        })
    }

    /// `many(n)`: `n` calls in flight at once inside the component.
    fn many(&mut self, n: u32) -> Result<()> {
        let many = self.many;
        concurrent::run(&mut self.store, async move |a: &Accessor<Host>| {
            let (sum,) = many.call_concurrent(a, (n,)).await?;
            anyhow::ensure!(sum == 8 * n, "many({n}) gave {sum}");
            Ok(())
        })
    }
}

/// The fourth table's rows.
const KEPT_ROWS: [Row<Kept>; 2] = [
    (
        "run(): three async calls at once, each awaiting a callee that yields (strings with accents, CJK, emoji), one at a time",
        2_000,
        |g, k| g.runs(k),
    ),
    (
        "many(10,000): 10,000 calls in flight at once between the components, per batch",
        2,
        |g, k| (0..k).try_for_each(|_| g.many(10_000)),
    ),
];

/// The component `(component definition ...)` of `kept-tasks.wast`.
fn kept_tasks() -> Result<Vec<u8>> {
    let path = host_tests::repo_root().join("fixtures/wat/async/kept-tasks.wast");
    let text = std::fs::read_to_string(&path)?;
    let start = text
        .find("(component definition $Kept")
        .ok_or_else(|| anyhow::anyhow!("no component definition in {}", path.display()))?;
    let end = text[start..]
        .find("\n(component instance")
        .ok_or_else(|| anyhow::anyhow!("no component instance in {}", path.display()))?;
    let definition =
        text[start..start + end].replacen("(component definition $Kept", "(component", 1);
    Ok(wat::parse_str(definition)?)
}

/// Async calls between components whose tasks wait, fused against
/// composed.
pub fn tasks_kept(plan: Plan) -> Result<()> {
    let engine = engine()?;
    let composed = kept_tasks()?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let mut composed = Kept::new(&engine, &composed)?;
    let mut fused = Kept::new(&engine, &fused)?;
    header(
        plan,
        "Async calls between components whose tasks wait, kept by the runtime composed and by the fused module fused (`kept-tasks.wast`",
        "composed",
    );
    rows(plan, &KEPT_ROWS, &mut composed, &mut fused)
}

/// `shouter.shouted`.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct Shouted {
    #[allow(dead_code, reason = "lifted whole; the bench reads `turns`")]
    text: String,
    turns: u32,
}

/// The app of `fixtures/async-guest/shouter-app` plugged into the lib:
/// its `shout-all` and `relay`.
struct Shouter {
    store: Store<Host>,
    all: TypedFunc<(Vec<String>,), (String,)>,
    relay: TypedFunc<(String, u32), (Shouted,)>,
}

impl Shouter {
    fn new(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Self> {
        let (mut store, instance) =
            concurrent::instantiate(engine, &Component::new(engine, bytes)?)?;
        let all = instance.get_typed_func(&mut store, "shout-all")?;
        let relay = instance.get_typed_func(&mut store, "relay")?;
        Ok(Shouter { store, all, relay })
    }

    /// `shout-all` of three names `calls` times, `at_once` or one at a
    /// time.
    fn alls(&mut self, calls: u32, at_once: bool) -> Result<()> {
        let all = self.all;
        concurrent::run(&mut self.store, async move |a: &Accessor<Host>| {
            let names = || vec!["héllo".to_string(), "日本".into(), "🎉 ok".into()];
            let check = |s: &str| {
                anyhow::ensure!(s == "HÉLLO(0) 日本(1) 🎉 OK(2)", "shout-all gave {s:?}");
                Ok(())
            };
            if at_once {
                let calls: Vec<Call<'_, Result<String>>> = (0..calls)
                    .map(|_| -> Call<'_, Result<String>> {
                        Box::pin(async move { Ok(all.call_concurrent(a, (names(),)).await?.0) })
                    })
                    .collect();
                for r in futures::future::join_all(calls).await {
                    check(&r?)?;
                }
            } else {
                for _ in 0..calls {
                    check(&all.call_concurrent(a, (names(),)).await?.0)?;
                }
            }
            Ok(())
        })
    }

    /// `relay("héllo", 30)` `calls` times, one at a time: 30 calls in turn.
    fn relays(&mut self, calls: u32) -> Result<()> {
        let relay = self.relay;
        concurrent::run(&mut self.store, async move |a: &Accessor<Host>| {
            for _ in 0..calls {
                let (s,) = relay.call_concurrent(a, ("héllo".into(), 30)).await?;
                // 0, 1 and 2 yields in turn: 30 in all.
                anyhow::ensure!(s.turns == 30, "relay gave {} turns", s.turns);
            }
            Ok(())
        })
    }
}

/// The fifth table's rows.
const SHOUTER_ROWS: [Row<Shouter>; 3] = [
    (
        "shout-all: three async calls at once into the other guest, each yielding 0 to 2 times (accents, CJK, emoji), one at a time",
        2_000,
        |g, k| g.alls(k, false),
    ),
    (
        "relay: 30 async calls into the other guest in turn, one at a time",
        200,
        |g, k| g.relays(k),
    ),
    (
        "1,000 shout-all calls into the other guest in flight at once, per batch",
        4,
        |g, k| (0..k).try_for_each(|_| g.alls(1_000, true)),
    ),
];

/// Two wit-bindgen async guests, one calling the other, fused against
/// composed.
pub fn guests_kept(plan: Plan) -> Result<()> {
    let engine = engine()?;
    let app = host_tests::artifact("shouter_app.wasm")?;
    let lib = host_tests::artifact("shouter_lib.wasm")?;
    let composed = host_tests::compose::plug(&app, &[&lib])?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let mut composed = Shouter::new(&engine, &composed)?;
    let mut fused = Shouter::new(&engine, &fused)?;
    header(
        plan,
        "Two wit-bindgen async guests, one calling the other: the app's tasks run by the host, the lib's by the runtime composed and by the fused module fused (`shouter-app` + `shouter-lib`",
        "composed",
    );
    rows(plan, &SHOUTER_ROWS, &mut composed, &mut fused)
}
