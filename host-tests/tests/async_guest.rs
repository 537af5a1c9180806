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
use host_tests::concurrent::{AsyncGuest, Call, Exports, engine};
use host_tests::run::Host;
use wasmtime::Engine;
use wasmtime::component::{Accessor, Component};

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

/// Calls every text through `shout` and `count` with several calls in
/// flight at once, then `boom` without failing and, in a fresh instance,
/// failing.
fn run(engine: &Engine, bytes: &[u8]) -> Result<Record> {
    let component = Component::new(engine, bytes)?;
    let mut guest = AsyncGuest::new(engine, &component)?;
    let mut results = guest.run(async |a: &Accessor<Host>, e: Exports| {
        let mut calls: Vec<Call<'_, Result<String>>> = Vec::new();
        for (i, t) in TEXTS.iter().enumerate() {
            calls.push(Box::pin(async move {
                let (s,) = e.shout.call_concurrent(a, (t.to_string(),)).await?;
                Ok(s)
            }));
            calls.push(Box::pin(async move {
                let (n,) = e.count.call_concurrent(a, (i as u32 * 3,)).await?;
                Ok(n.to_string())
            }));
        }
        let mut out = Vec::new();
        for r in futures::future::join_all(calls).await {
            out.push(r?);
        }
        let (n,) = e.boom.call_concurrent(a, (false,)).await?;
        out.push(n.to_string());
        Ok(out)
    })?;
    let (stdout, mut stderr) = guest.store.data().output();
    // A failure traps; it is run on an instance of its own.
    let mut guest = AsyncGuest::new(engine, &component)?;
    let failed = guest
        .run(async |a: &Accessor<Host>, e: Exports| Ok(e.boom.call_concurrent(a, (true,)).await?));
    results.push(match failed {
        Ok((n,)) => format!("returned {n}"),
        Err(_) => "trapped".to_string(),
    });
    stderr.extend(guest.store.data().output().1);
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

/// Plugged into a component that provides `tick` (lifted synchronously, as
/// its `async` type allows), the Rust guest calls another component
/// asynchronously, which the fused module does not run yet: the fuser
/// refuses with an `unsupported` error that names the call and the
/// component instance making it.
#[test]
fn async_call_between_components_is_refused_with_why() -> Result<()> {
    let provider = wat::parse_str(
        r#"(component
          (core module $m
            (func (export "tick") (param i32) (result i32)
              (i32.add (local.get 0) (i32.const 1))))
          (core instance $i (instantiate $m))
          (func (export "tick") async (param "n" u32) (result u32)
            (canon lift (core func $i "tick"))))"#,
    )?;
    let guest = host_tests::artifact("async_guest.wasm")?;
    let composed = host_tests::compose::plug(&guest, &[&provider])?;
    let Err(e) = solder::fuse(&[&composed], &solder::Options::default()) else {
        anyhow::bail!("an async call between components was fused");
    };
    assert_eq!(e.kind(), solder::ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("async"), "{e}");
    let message = e.to_string();
    assert!(message.contains("async lower of `tick`"), "{message}");
    assert!(message.contains("(in root/component["), "{message}");
    // Each of the two fuses alone.
    solder::fuse(&[&provider], &solder::Options::default())?;
    solder::fuse(&[&guest], &solder::Options::default())?;
    Ok(())
}
