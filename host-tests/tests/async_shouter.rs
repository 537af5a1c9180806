//! Two guests built with wit-bindgen's async bindings, one calling the
//! other (`fixtures/async-guest/shouter-app` plugged into
//! `shouter-lib`, world `shouter-app` of `fixtures/wit/async-guest`):
//! both lift their exports async with a callback, so the fused module
//! keeps the callee's tasks and runs their turns while the host runs the
//! caller's. Run as composed and fused under wasmtime's concurrent calls,
//! several in flight at once: the same results.

use anyhow::{Context, Result};
use host_tests::concurrent::{self, Call, engine};
use host_tests::run::Host;
use wasmtime::component::{Accessor, Component, ComponentType, Lift, Lower, TypedFunc};

/// `shouter.shouted`.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(record)]
struct Shouted {
    text: String,
    turns: u32,
}

const NAMES: &[&str] = &["héllo", "日本語", "emoji 🎉🚀", "àéîõü", "", "plain"];

/// Calls `shout-all`, `relay` and `race` with several calls in flight at
/// once; returns what each gave, in the order they were made, and then
/// what the provider printed.
fn run(bytes: &[u8], many: usize) -> Result<Vec<String>> {
    let engine = engine()?;
    let component = Component::new(&engine, bytes)?;
    let (mut store, instance) = concurrent::instantiate(&engine, &component)?;
    let all: TypedFunc<(Vec<String>,), (String,)> =
        instance.get_typed_func(&mut store, "shout-all")?;
    let relay: TypedFunc<(String, u32), (Shouted,)> =
        instance.get_typed_func(&mut store, "relay")?;
    let race: TypedFunc<(String, u32, u32), (String,)> =
        instance.get_typed_func(&mut store, "race")?;
    let mut out = concurrent::run(&mut store, async move |a: &Accessor<Host>| {
        let mut calls: Vec<Call<'_, Result<String>>> = Vec::new();
        for k in 0..many {
            let names: Vec<String> = NAMES
                .iter()
                .cycle()
                .skip(k)
                .take(1 + k % NAMES.len())
                .map(|s| s.to_string())
                .collect();
            calls.push(Box::pin(async move {
                let (s,) = all.call_concurrent(a, (names,)).await?;
                Ok(s)
            }));
            calls.push(Box::pin(async move {
                let name = NAMES[k % NAMES.len()].to_string();
                let (s,) = relay.call_concurrent(a, (name, k as u32 % 7)).await?;
                Ok(format!("{} after {}", s.text, s.turns))
            }));
            // Half of these give up before the callee returns.
            calls.push(Box::pin(async move {
                let name = NAMES[k % NAMES.len()].to_string();
                let (s,) = race.call_concurrent(a, (name, 2 + k as u32 % 3, 2)).await?;
                Ok(s)
            }));
        }
        let mut out = Vec::new();
        for r in futures::future::join_all(calls).await {
            out.push(r?);
        }
        Ok(out)
    })?;
    let (stdout, stderr) = store.data().output();
    out.push(String::from_utf8_lossy(&stdout).into_owned());
    out.push(String::from_utf8_lossy(&stderr).into_owned());
    Ok(out)
}

/// The composition fuses, and runs the same: one call of each export at
/// a time, then twelve and forty of each at once (the tasks interleave as
/// the runtime's queues have them, so that how far the callee got by the
/// time `race` gives up is the same too).
#[test]
fn async_guest_calling_an_async_guest_runs_the_same_fused() -> Result<()> {
    let app = host_tests::artifact("shouter_app.wasm")?;
    let lib = host_tests::artifact("shouter_lib.wasm")?;
    pair("shouter", &app, &lib, &[1, 12, 40], |before, many| {
        // `race` gives up on a shout that yields twice as often as it
        // waits: the callee's task is cancelled.
        assert!(before[2].starts_with("gave up, "), "{}", before[2]);
        if many > 1 {
            // `relay("日本語", 1)`: one shout, with no yield.
            assert_eq!(before[4], "日本語0 after 0");
            // `relay("emoji 🎉🚀", 2)`: the second shout yields once.
            assert_eq!(before[7], "EMOJI 🎉🚀01 after 1");
        }
    })
}

/// `after` (fused) gives each call the same result as `before` (composed)
/// and prints the same lines. With many calls at once, lines of different
/// tasks may come in another order: the spec leaves the order in which
/// ready tasks run to the runtime, and the fused module follows wasmtime's
/// queues but gives a waiting root task its event as soon as the turn that
/// made it ends.
fn same(before: &[String], after: &[String], many: usize) {
    let (results, printed) = before.split_at(3 * many);
    assert_eq!(&after[..3 * many], results, "{many} calls at once");
    let lines = |s: &str| {
        let mut l: Vec<String> = s.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    assert_eq!(
        lines(&after[3 * many]),
        lines(&printed[0]),
        "{many} calls at once"
    );
    assert_eq!(after[3 * many + 1], printed[1]);
    if many == 1 {
        assert_eq!(after, before, "one call at a time");
    }
}

/// Plugs `app` into `lib`, fuses the composition and runs both with
/// each of `manys` calls of each export at once: what the composed one
/// gives must pass `check` (with how many calls of each there were) and
/// be the same fused.
fn pair(
    name: &str,
    app: &[u8],
    lib: &[u8],
    manys: &[usize],
    check: impl Fn(&[String], usize),
) -> Result<()> {
    let composed = host_tests::compose::plug(app, &[lib])?;
    let fused = host_tests::fuse_both_ways(name, &composed)?;
    for &many in manys {
        let before = run(&composed, many).context("composed")?;
        let after = run(&fused, many).context("fused")?;
        println!("{many}: {before:#?}");
        assert_eq!(before.len(), 3 * many + 2);
        // The provider printed each shout that finished, nothing failed.
        assert!(before[3 * many].contains("shouted héllo after 0\n"));
        assert_eq!(before[3 * many + 1], "");
        // `shout-all` of the first names: each upper-cased, after as many
        // yields as its index.
        assert_eq!(before[0], "HÉLLO(0)");
        if many > 1 {
            assert_eq!(before[3], "日本語(0) EMOJI 🎉🚀(1)");
        }
        check(&before, many);
        same(&before, &after, many);
    }
    Ok(())
}

/// Plugs a Python app or provider into its Rust counterpart and runs
/// them with one and twelve calls of each export at once: `race` (the
/// third result) gives `race`.
fn python_pair(name: &str, app: &[u8], lib: &[u8], race: &str) -> Result<()> {
    pair(name, app, lib, &[1, 12], |before, _| {
        assert_eq!(before[2], race)
    })
}

/// The same calls from an app written in Python with componentize-py's
/// async support (`fixtures/python/shouter_app.py`), plugged into the same
/// Rust provider: its exports are lifted async with a callback and keep
/// their state in the task's context, as wit-bindgen's do. Its runtime
/// does not cancel a call it started, so its `race` waits for the shout.
#[test]
fn python_async_guest_calling_an_async_guest_runs_the_same_fused() -> Result<()> {
    python_pair(
        "python shouter app",
        &host_tests::guests::python_shouter_app()?,
        &host_tests::artifact("shouter_lib.wasm")?,
        "HÉLLO(2) after patience 2, 0 cancelled",
    )
}

/// The Rust app plugged into a provider written in Python
/// (`fixtures/python/shouter_lib.py`), whose tasks the fused module keeps:
/// componentize-py runs a task's coroutines to the end in one turn when
/// nothing they await is another component's, so each `shout` returns in
/// its first turn and `race` never gives up.
#[test]
fn async_guest_calling_a_python_async_guest_runs_the_same_fused() -> Result<()> {
    python_pair(
        "python shouter lib",
        &host_tests::artifact("shouter_app.wasm")?,
        &host_tests::guests::python_shouter_lib()?,
        "HÉLLO(2), 0 cancelled",
    )
}
