//! Guests built with async bindings, run as built and fused under
//! wasmtime's concurrent calls: the same results, the same output, the
//! same trap, with several calls in flight at once. One world
//! (`fixtures/wit/async-guest`): exports lifted async with a callback, a
//! `stream<u8>` between two of the guest's tasks, an async host function
//! that finishes after the call to it returned, a failure. Two
//! toolchains: Rust with wit-bindgen's async bindings
//! (`fixtures/async-guest`, which also yields), and Python with
//! componentize-py's (`fixtures/python/async_guest.py`).

use anyhow::{Context, Result};
use host_tests::run::Host;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use wasmtime::component::{Accessor, Component, Linker, TypedFunc};
use wasmtime::{Config, Engine, Store};

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(true);
    config.wasm_component_model_async(true);
    config.concurrency_support(true);
    Ok(Engine::new(&config)?)
}

/// A future that is pending once (waking itself), then ready: the host
/// function finishes after the guest's call to it has returned.
struct Later(bool);

impl Future for Later {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls every future in `all` until each is done; their outputs in order.
async fn join_all<T>(mut all: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = all.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (f, o) in all.iter_mut().zip(out.iter_mut()) {
            if o.is_none()
                && let Poll::Ready(v) = f.as_mut().poll(cx)
            {
                *o = Some(v);
            }
        }
        if out.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// What one run did: each call's result (or that it trapped), and the
/// guest's standard output and error.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    results: Vec<String>,
    stdout: String,
    stderr: String,
}

const TEXTS: &[&str] = &[
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🎉🚀 and accents àéîõü",
    "",
];

fn instantiate(
    engine: &Engine,
    component: &Component,
) -> Result<(Store<Host>, wasmtime::component::Instance)> {
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker
        .root()
        .func_wrap_concurrent("tick", |_: &Accessor<Host>, (n,): (u32,)| {
            Box::pin(async move {
                Later(false).await;
                Ok((n + 1,))
            })
        })?;
    let mut store = Store::new(engine, Host::new(&[], &[]));
    let instance =
        wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, component))?;
    Ok((store, instance))
}

/// Calls every text through `shout` and `count` with several calls in
/// flight at once, then `boom` without failing and, in a fresh instance,
/// failing.
fn run(engine: &Engine, bytes: &[u8]) -> Result<Record> {
    let component = Component::new(engine, bytes)?;
    let (mut store, instance) = instantiate(engine, &component)?;
    let shout: TypedFunc<(String,), (String,)> = instance.get_typed_func(&mut store, "shout")?;
    let count: TypedFunc<(u32,), (u32,)> = instance.get_typed_func(&mut store, "count")?;
    let boom: TypedFunc<(bool,), (u32,)> = instance.get_typed_func(&mut store, "boom")?;
    let mut results = wasmtime_wasi::runtime::in_tokio(store.run_concurrent(
        async |a: &Accessor<Host>| -> Result<Vec<String>> {
            let mut calls: Vec<Pin<Box<dyn Future<Output = Result<String>> + Send + '_>>> =
                Vec::new();
            for (i, t) in TEXTS.iter().enumerate() {
                calls.push(Box::pin(async move {
                    let (s,) = shout.call_concurrent(a, (t.to_string(),)).await?;
                    Ok(s)
                }));
                calls.push(Box::pin(async move {
                    let (n,) = count.call_concurrent(a, (i as u32 * 3,)).await?;
                    Ok(n.to_string())
                }));
            }
            let mut out = Vec::new();
            for r in join_all(calls).await {
                out.push(r?);
            }
            let (n,) = boom.call_concurrent(a, (false,)).await?;
            out.push(n.to_string());
            Ok(out)
        },
    ))??;
    let (stdout, mut stderr) = store.data().output();
    // A panic traps; it is run on an instance of its own.
    let (mut store, instance) = instantiate(engine, &component)?;
    let boom: TypedFunc<(bool,), (u32,)> = instance.get_typed_func(&mut store, "boom")?;
    let failed = wasmtime_wasi::runtime::in_tokio(
        store.run_concurrent(async |a: &Accessor<Host>| boom.call_concurrent(a, (true,)).await),
    );
    results.push(match failed {
        Ok(Ok((n,))) => format!("returned {n}"),
        Ok(Err(_)) | Err(_) => "trapped".to_string(),
    });
    stderr.extend(store.data().output().1);
    Ok(Record {
        results,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Runs `guest` as built and fused, and checks that the calls did what the
/// world says, so that the comparison compares something.
fn same_fused(name: &str, guest: &[u8]) -> Result<Record> {
    let fused = host_tests::fuse_both_ways(name, guest)?;
    let engine = engine()?;
    let composed = run(&engine, guest).context("as built")?;
    let fused = run(&engine, &fused).context("fused")?;
    println!("{name}: {composed:#?}");
    for expected in [
        "HÉLLO WÖRLD",
        "日本語のテキスト",
        "EMOJI 🎉🚀 AND ACCENTS ÀÉÎÕÜ",
        "9",
        "7",
    ] {
        assert!(
            composed.results.iter().any(|r| r == expected),
            "{name}: no `{expected}` in {:?}",
            composed.results
        );
    }
    assert_eq!(composed.results.last().map(String::as_str), Some("trapped"));
    assert!(composed.stdout.contains("shout: 日本語のテキスト"));
    assert!(composed.stderr.contains("boom: asked to fail"));
    assert_eq!(fused, composed, "{name}");
    Ok(composed)
}

#[test]
fn rust_async_guest_runs_the_same_fused() -> Result<()> {
    same_fused("async_guest", &host_tests::artifact("async_guest.wasm")?)?;
    Ok(())
}

#[test]
fn python_async_guest_runs_the_same_fused() -> Result<()> {
    same_fused("async_guest.py", &host_tests::guests::python_async_guest()?)?;
    Ok(())
}
