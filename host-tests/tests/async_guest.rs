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
use host_tests::concurrent::{self, AsyncGuest, Call, Exports, engine};
use host_tests::run::Host;
use wasmtime::Engine;
use wasmtime::component::{
    Accessor, Component, ComponentNamedList, Lift, Linker, Lower, Resource, ResourceType,
    StreamReader, TypedFunc,
};

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
    let results = guest.run(async |a: &Accessor<Host>, e: Exports| {
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
    failing(engine, &component, results, guest.store.data().output())
}

/// `boom(true)`, a failure that traps, on an instance of its own; then
/// what the run did: `results` and the failure's outcome, and the output
/// before (`stdout`, `stderr`) and of the failure.
fn failing(
    engine: &Engine,
    component: &Component,
    mut results: Vec<String>,
    (stdout, mut stderr): (Vec<u8>, Vec<u8>),
) -> Result<Record> {
    let (mut store, instance) = concurrent::instantiate(engine, component)?;
    let boom: TypedFunc<(bool,), (u32,)> = instance.get_typed_func(&mut store, "boom")?;
    let failed = concurrent::run(&mut store, async move |a: &Accessor<Host>| {
        Ok(boom.call_concurrent(a, (true,)).await?)
    });
    results.push(match failed {
        Ok((n,)) => format!("returned {n}"),
        Err(_) => "trapped".to_string(),
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

/// Plugged into a component that provides `tick` lifted synchronously (as
/// its `async` type allows), the Rust guest calls another component
/// through an async lower: the callee runs to the end within the call,
/// which returns `RETURNED` with the result stored, composed as fused.
/// The same results, output and trap.
#[test]
fn rust_async_guest_calling_a_sync_lift_runs_the_same_fused() -> Result<()> {
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
    let fused = host_tests::fuse_both_ways("async_guest+tick", &composed)?;
    let engine = engine()?;
    let before = run(&engine, &composed).context("composed")?;
    let after = run(&engine, &fused).context("fused")?;
    // `count(9)`: nine ticks from 0.
    assert!(before.results.iter().any(|r| r == "9"), "{before:?}");
    assert_eq!(before.results.last().map(String::as_str), Some("trapped"));
    assert_eq!(after, before);
    Ok(())
}

/// Plugged into a component that lifts `tick` async with a callback, the
/// Rust guest calls another component's async lift, which the fused module
/// does not run yet: the fuser refuses with an `unsupported` error that
/// names the call and the component instance making it.
#[test]
fn async_call_between_components_is_refused_with_why() -> Result<()> {
    let provider = wat::parse_str(
        r#"(component
          (core module $m
            (import "" "task.return" (func $return (param i32)))
            (func (export "tick") (param i32) (result i32)
              (call $return (i32.add (local.get 0) (i32.const 1)))
              (i32.const 0 (; EXIT ;)))
            (func (export "tick-cb") (param i32 i32 i32) (result i32)
              unreachable))
          (core func $return (canon task.return (result u32)))
          (core instance $i (instantiate $m
            (with "" (instance (export "task.return" (func $return))))))
          (func (export "tick") async (param "n" u32) (result u32)
            (canon lift (core func $i "tick") async
              (callback (core func $i "tick-cb")))))"#,
    )?;
    let guest = host_tests::artifact("async_guest.wasm")?;
    let composed = host_tests::compose::plug(&guest, &[&provider])?;
    let Err(e) = solder::fuse(&[&composed], &solder::Options::default()) else {
        anyhow::bail!("an async call between components was fused");
    };
    assert_eq!(e.kind(), solder::ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("async"), "{e}");
    let message = e.to_string();
    assert!(
        message.contains("a call to `tick`, which another component lifted async"),
        "{message}"
    );
    assert!(message.contains("(in root/component["), "{message}");
    // Each of the two fuses alone.
    solder::fuse(&[&provider], &solder::Options::default())?;
    solder::fuse(&[&guest], &solder::Options::default())?;
    Ok(())
}

/// A synchronous call of an `async` function between components traps at
/// the call when no task of the caller's component instance may block
/// (`fixtures/wat/async/cannot-block.wast` runs such calls fused). When
/// one may (the caller lifts a function whose type is `async`), or when the
/// callee lifted async can run after all (its module has a start
/// function), the call needs tasks the fused module does not keep yet: the
/// fuser refuses with an `unsupported` error that says why and where.
#[test]
fn sync_call_of_async_function_that_may_block_is_refused_with_why() -> Result<()> {
    let composition = |callee: &str, run_type: &str| {
        format!(
            r#"(component
              (component $D
                {callee}
                (func (export "f") async (result u32) {lift}))
              (component $C
                (import "f" (func $f async (result u32)))
                (core func $f' (canon lower (func $f)))
                (core module $M
                  (import "" "f" (func $f (result i32)))
                  (func (export "run") (result i32) (call $f)))
                (core instance $i (instantiate $M (with "" (instance (export "f" (func $f'))))))
                (func (export "run") {run_type} (result u32) (canon lift (core func $i "run"))))
              (instance $d (instantiate $D))
              (instance $c (instantiate $C (with "f" (func $d "f"))))
              (func (export "run") (alias export $c "run")))"#,
            lift = if callee.contains("task.return") {
                r#"(canon lift (core func $i "f") async (callback (core func $i "f-cb")))"#
            } else {
                r#"(canon lift (core func $i "f"))"#
            }
        )
    };
    let sync_callee = r#"(core module $M (func (export "f") (result i32) (i32.const 1)))
        (core instance $i (instantiate $M))"#;
    let async_callee = |start: &str| {
        format!(
            r#"(core module $M
              (import "" "task.return" (func $task.return (param i32)))
              (func (export "f") (result i32)
                (call $task.return (i32.const 42))
                (i32.const 0))
              (func (export "f-cb") (param i32 i32 i32) (result i32) unreachable)
              (func $s) {start})
            (core func $task.return (canon task.return (result u32)))
            (core instance $i (instantiate $M
              (with "" (instance (export "task.return" (func $task.return))))))"#
        )
    };
    let cases = [
        // The caller's `run` has an `async` type: its task may block.
        (
            composition(sync_callee, "async"),
            "a synchronous call between components to `f`, whose type is `async`, from a component instance whose tasks may block",
        ),
        (
            composition(&async_callee(""), "async"),
            "a call to `f`, which another component lifted async",
        ),
        // The caller may not block, but the callee's start function runs.
        (
            composition(&async_callee("(start $s)"), ""),
            "beside this async component instance",
        ),
    ];
    for (wat, why) in &cases {
        let bytes = wat::parse_str(wat)?;
        let Err(e) = solder::fuse(&[&bytes], &solder::Options::default()) else {
            anyhow::bail!("fused: {wat}");
        };
        assert_eq!(e.kind(), solder::ErrorKind::Unsupported, "{e}");
        assert_eq!(e.feature(), Some("async"), "{e}");
        let message = e.to_string();
        assert!(message.contains(why), "{message}");
        assert!(message.contains("(in root"), "{message}");
    }
    // Without the start function, the same call traps at the call, as
    // composed, and fuses.
    let bytes = wat::parse_str(composition(&async_callee(""), ""))?;
    solder::fuse(&[&bytes], &solder::Options::default())?;
    Ok(())
}

/// A component whose async exports take and give handles of a host
/// resource type: the host lends two handles, and the guest reads them
/// (with a host method), drops its borrows and returns the numbers it saw
/// with what it read; it makes an owned one with the host's constructor
/// and returns it, alone or inside a `result`; one export reads and drops its borrow and returns
/// nothing; one returns without dropping its borrow, which traps. As built and fused: the same results (handle numbers included)
/// and the same trap.
const HOST_HANDLES: &str = r#"(component
  (import "host" (instance $host
    (export "res" (type $r (sub resource)))
    (export "[constructor]res" (func (param "n" u32) (result (own $r))))
    (export "[method]res.get" (func (param "self" (borrow $r)) (result u32)))))
  (alias export $host "res" (type $r))
  (core func $new (canon lower (func $host "[constructor]res")))
  (core func $get (canon lower (func $host "[method]res.get")))
  (core func $drop (canon resource.drop $r))
  (core func $return.u32 (canon task.return (result u32)))
  (core func $return.own (canon task.return (result (own $r))))
  (core func $return (canon task.return))
  (core func $return.either (canon task.return (result (result (own $r) (error u32)))))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "get" (func $get (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "return.u32" (func $return.u32 (param i32)))
    (import "" "return.own" (func $return.own (param i32)))
    (import "" "return" (func $return))
    (import "" "return.either" (func $return.either (param i32 i32)))
    ;; a * 1000000 + b * 100000 + a.get() * 100 + b.get()
    (func (export "total") (param $a i32) (param $b i32) (result i32)
      (local $sum i32)
      (local.set $sum
        (i32.add
          (i32.add
            (i32.mul (local.get $a) (i32.const 1000000))
            (i32.mul (local.get $b) (i32.const 100000)))
          (i32.add
            (i32.mul (call $get (local.get $a)) (i32.const 100))
            (call $get (local.get $b)))))
      (call $drop (local.get $a))
      (call $drop (local.get $b))
      (call $return.u32 (local.get $sum))
      (i32.const 0 (; EXIT ;)))
    (func (export "make") (param $n i32) (result i32)
      (call $return.own (call $new (local.get $n)))
      (i32.const 0 (; EXIT ;)))
    ;; `ok` with a new resource holding `n` when `n` is even, else
    ;; `error(n)`.
    (func (export "either") (param $n i32) (result i32)
      (if (i32.and (local.get $n) (i32.const 1))
        (then (call $return.either (i32.const 1) (local.get $n)))
        (else (call $return.either (i32.const 0) (call $new (local.get $n)))))
      (i32.const 0 (; EXIT ;)))
    ;; Reads the borrow, drops it and returns nothing.
    (func (export "peek") (param $a i32) (result i32)
      (drop (call $get (local.get $a)))
      (call $drop (local.get $a))
      (call $return)
      (i32.const 0 (; EXIT ;)))
    ;; Returns while it still holds the borrow: a trap.
    (func (export "keep") (param $a i32) (result i32)
      (call $return.u32 (call $get (local.get $a)))
      (i32.const 0 (; EXIT ;)))
    (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
  (core instance $i (instantiate $m (with "" (instance
    (export "new" (func $new))
    (export "get" (func $get))
    (export "drop" (func $drop))
    (export "return.u32" (func $return.u32))
    (export "return.own" (func $return.own))
    (export "return" (func $return))
    (export "return.either" (func $return.either))))))
  (func (export "total") async (param "a" (borrow $r)) (param "b" (borrow $r)) (result u32)
    (canon lift (core func $i "total") async (callback (core func $i "cb"))))
  (func (export "make") async (param "n" u32) (result (own $r))
    (canon lift (core func $i "make") async (callback (core func $i "cb"))))
  (func (export "either") async (param "n" u32) (result (result (own $r) (error u32)))
    (canon lift (core func $i "either") async (callback (core func $i "cb"))))
  (func (export "peek") async (param "a" (borrow $r))
    (canon lift (core func $i "peek") async (callback (core func $i "cb"))))
  (func (export "keep") async (param "a" (borrow $r)) (result u32)
    (canon lift (core func $i "keep") async (callback (core func $i "cb")))))"#;

/// The host's resource type of [`HOST_HANDLES`]: its representation is
/// Calls `greet` with every text twice and `drain` with a host stream of
/// each, all in flight at once, then `boom`
/// without failing and, in a fresh instance, failing: the async guest of
/// world `app` composed with a synchronous provider of `words`.
fn run_app(engine: &Engine, bytes: &[u8]) -> Result<Record> {
    type Greet = TypedFunc<(String,), (String,)>;
    type Boom = TypedFunc<(bool,), (u32,)>;
    type Drain = TypedFunc<(StreamReader<u8>,), (u32,)>;
    let component = Component::new(engine, bytes)?;
    let (mut store, instance) = concurrent::instantiate(engine, &component)?;
    let greet: Greet = instance.get_typed_func(&mut store, "greet")?;
    let drain: Drain = instance.get_typed_func(&mut store, "drain")?;
    let boom: Boom = instance.get_typed_func(&mut store, "boom")?;
    let results = concurrent::run(&mut store, async move |a: &Accessor<Host>| {
        let mut calls: Vec<Call<'_, Result<String>>> = Vec::new();
        for t in TEXTS.iter().chain(TEXTS) {
            calls.push(Box::pin(async move {
                Ok(greet.call_concurrent(a, (t.to_string(),)).await?.0)
            }));
            // The host's stream end moves into the guest's table.
            let bytes = t.as_bytes().to_vec();
            calls.push(Box::pin(async move {
                let s = a.with(|mut store| StreamReader::new(&mut store, bytes))?;
                Ok(drain.call_concurrent(a, (s,)).await?.0.to_string())
            }));
        }
        let mut out = Vec::new();
        for r in futures::future::join_all(calls).await {
            out.push(r?);
        }
        out.push(boom.call_concurrent(a, (false,)).await?.0.to_string());
        Ok(out)
    })?;
    failing(engine, &component, results, store.data().output())
}

/// An async guest of world `app` (`app`, named `name`) plugged with wac
/// into a synchronous `wasm32-wasip2` component it calls
/// (`fixtures/words-lib`). Both print, so both hold the host's handles
/// (their standard streams): the fused module numbers the async
/// instance's handles in a table of its own, host resources, waitable
/// sets, subtasks and stream ends alike. Run as composed and fused,
/// sixteen calls in flight (eight taking a stream from the host): the same
/// results, output and trap.
fn beside_a_sync_guest(name: &str, app: &[u8]) -> Result<()> {
    let words = host_tests::artifact("words_lib.wasm")?;
    let composed = host_tests::compose::plug(app, &[&words])?;
    let report = solder::fuse(&[&composed], &solder::Options::default())?.report;
    // Two tables: the async instance's own, and the provider's.
    let tables = report
        .handle_tables
        .iter()
        .filter(|t| t.table_memory.is_some())
        .count();
    assert_eq!(tables, 2, "{name}: {:#?}", report.handle_tables);
    let fused = host_tests::fuse_both_ways(name, &composed)?;
    let engine = engine()?;
    let before = run_app(&engine, &composed).context("composed")?;
    let after = run_app(&engine, &fused).context("fused")?;
    println!("{name}: {before:#?}");
    for expected in [
        "héllo wörld: 11 characters in 13 bytes; tick 14",
        "日本語のテキスト: 8 characters in 24 bytes; tick 25",
        ": 0 characters in 0 bytes; tick 1",
        "24",
        "7",
    ] {
        assert!(
            before.results.iter().any(|r| r == expected),
            "{name}: no `{expected}` in {:?}",
            before.results
        );
    }
    assert_eq!(before.results.last().map(String::as_str), Some("trapped"));
    assert!(before.stdout.contains("words: describing emoji 🎉🚀"));
    assert!(before.stdout.contains("app: greeted 日本語のテキスト"));
    assert!(before.stderr.contains("boom: asked to fail"));
    assert_eq!(after, before, "{name}");
    Ok(())
}

#[test]
fn rust_async_guest_beside_a_sync_guest_runs_the_same_fused() -> Result<()> {
    beside_a_sync_guest("async_app", &host_tests::artifact("async_app.wasm")?)
}

#[test]
fn python_async_guest_beside_a_sync_guest_runs_the_same_fused() -> Result<()> {
    beside_a_sync_guest("async_app.py", &host_tests::guests::python_async_app()?)
}

/// the number `get` returns.
struct Res;

/// A linker with the `host` instance of [`HOST_HANDLES`].
fn host_linker(engine: &Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::<Host>::new(engine);
    let mut host = linker.instance("host")?;
    host.resource("res", ResourceType::host::<Res>(), |_, _| Ok(()))?;
    host.func_wrap("[constructor]res", |_, (n,): (u32,)| {
        Ok((Resource::<Res>::new_own(n),))
    })?;
    host.func_wrap("[method]res.get", |_, (r,): (Resource<Res>,)| {
        Ok((r.rep(),))
    })?;
    Ok(linker)
}

fn host_handles(engine: &Engine, bytes: &[u8]) -> Result<Vec<String>> {
    let component = Component::new(engine, bytes)?;
    let linker = host_linker(engine)?;
    let (l, c) = (&linker, &component);
    Ok(vec![
        call_once(
            l,
            c,
            "total",
            (
                Resource::<Res>::new_borrow(42),
                Resource::<Res>::new_borrow(7),
            ),
            |(n,): (u32,)| n.to_string(),
        )?,
        call_once(l, c, "make", (9u32,), |(r,): (Resource<Res>,)| {
            format!("own {}", r.rep())
        })?,
        call_once(l, c, "either", (4u32,), show_either)?,
        call_once(l, c, "either", (3u32,), show_either)?,
        call_once(l, c, "peek", (Resource::<Res>::new_borrow(5),), |()| {
            "peeked".to_string()
        })?,
        call_once(
            l,
            c,
            "keep",
            (Resource::<Res>::new_borrow(3),),
            |(n,): (u32,)| n.to_string(),
        )?,
    ])
}

/// What `either` gave, for a test's table.
fn show_either((r,): (Result<Resource<Res>, u32>,)) -> String {
    match r {
        Ok(r) => format!("ok own {}", r.rep()),
        Err(n) => format!("error {n}"),
    }
}

/// Calls export `name` of a fresh instance with `params`, as a concurrent
/// call: its result as `show` writes it, or `trapped`.
fn call_once<P, R>(
    linker: &Linker<Host>,
    component: &Component,
    name: &str,
    params: P,
    show: fn(R) -> String,
) -> Result<String>
where
    P: ComponentNamedList + Lower + Send + Sync + 'static,
    R: ComponentNamedList + Lift + Send + Sync + 'static,
{
    let engine = component.engine();
    let mut store = wasmtime::Store::new(engine, Host::new(&[], &[]));
    let instance =
        wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, component))?;
    let f = instance.get_typed_func::<P, R>(&mut store, name)?;
    let result = wasmtime_wasi::runtime::in_tokio(
        store.run_concurrent(async move |a| f.call_concurrent(a, params).await),
    );
    Ok(match result {
        Ok(Ok(r)) => show(r),
        Ok(Err(_)) | Err(_) => "trapped".to_string(),
    })
}

#[test]
fn async_exports_take_and_give_host_handles_the_same_fused() -> Result<()> {
    let built = wat::parse_str(HOST_HANDLES)?;
    let fused = host_tests::fuse_both_ways("host-handles", &built)?;
    let engine = engine()?;
    let composed = host_handles(&engine, &built)?;
    // Handles 1 and 2, holding 42 and 7; an owned 9; one inside a
    // `result`, and an error; a borrow dropped by a call without results;
    // a trap.
    assert_eq!(
        composed,
        [
            "1204207", "own 9", "ok own 4", "error 3", "peeked", "trapped"
        ]
    );
    assert_eq!(host_handles(&engine, &fused)?, composed);
    // With a table of its own in the fused module (as beside another
    // instance that holds the host's handles): the lent handles take its
    // slots 1 and 2, the owned one leaves it through `task.return`, and
    // the borrow `keep` never drops is still the host's to count.
    let options = solder::Options {
        own_async_table: true,
        ..solder::Options::default()
    };
    let own = solder::fuse(&[&built], &options)?.bytes;
    assert_eq!(host_handles(&engine, &own)?, composed);
    Ok(())
}

/// `$D` of the compositions below: it makes three of the host's
/// resources and keeps them, so that they come first in the host's table
/// for the fused component (`hold` returns the number of the last).
const HOLDER: &str = r#"(component $D
    (import "r" (type $r (sub resource)))
    (import "new" (func $new (param "n" u32) (result (own $r))))
    (core func $new (canon lower (func $new)))
    (core module $M
      (import "" "new" (func $new (param i32) (result i32)))
      (func (export "hold") (result i32)
        (drop (call $new (i32.const 10)))
        (drop (call $new (i32.const 11)))
        (call $new (i32.const 12))))
    (core instance $m (instantiate $M (with "" (instance (export "new" (func $new))))))
    (func (export "hold") (result u32) (canon lift (core func $m "hold"))))"#;

/// A composition of [`BESIDE_A_HOLDER`] or [`OPENED`], with [`HOLDER`].
fn beside_a_holder(wat: &str) -> Result<Vec<u8>> {
    Ok(wat::parse_str(wat.replace("HOLDER", HOLDER))?)
}

/// An async component `$C` whose export gives back a host resource inside
/// a `result`, beside `$D`, which holds three of the host's resources
/// first: the host numbers both instances' handles in one table for the
/// fused component, so `$C`'s own table in the fused module must give the
/// host its index of the new resource, not `$C`'s.
const BESIDE_A_HOLDER: &str = r#"(component
  (import "host" (instance $host
    (export "res" (type $r (sub resource)))
    (export "[constructor]res" (func (param "n" u32) (result (own $r))))))
  (alias export $host "res" (type $r))
  (alias export $host "[constructor]res" (func $new))
  HOLDER
  (component $C
    (import "r" (type $r (sub resource)))
    (import "new" (func $new (param "n" u32) (result (own $r))))
    (import "hold" (func $hold (result u32)))
    (core func $new (canon lower (func $new)))
    (core func $hold (canon lower (func $hold)))
    (core func $return.either (canon task.return (result (result (own $r) (error u32)))))
    (core module $M
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "hold" (func $hold (result i32)))
      (import "" "return.either" (func $return.either (param i32 i32)))
      ;; `$D` takes its resources first; then `ok` with a new resource
      ;; holding `n` when `n` is even, else `error(n)`.
      (func (export "either") (param $n i32) (result i32)
        (drop (call $hold))
        (if (i32.and (local.get $n) (i32.const 1))
          (then (call $return.either (i32.const 1) (local.get $n)))
          (else (call $return.either (i32.const 0) (call $new (local.get $n)))))
        (i32.const 0 (; EXIT ;)))
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
    (core instance $i (instantiate $M (with "" (instance
      (export "new" (func $new))
      (export "hold" (func $hold))
      (export "return.either" (func $return.either))))))
    (func (export "either") async (param "n" u32) (result (result (own $r) (error u32)))
      (canon lift (core func $i "either") async (callback (core func $i "cb")))))
  (instance $d (instantiate $D (with "r" (type $r)) (with "new" (func $new))))
  (instance $c (instantiate $C
    (with "r" (type $r))
    (with "new" (func $new))
    (with "hold" (func $d "hold"))))
  (export "either" (func $c "either")))"#;

#[test]
fn an_async_result_holding_a_host_resource_beside_another_holder_the_same_fused() -> Result<()> {
    let built = beside_a_holder(BESIDE_A_HOLDER)?;
    let fused = host_tests::fuse_both_ways("beside-a-holder", &built)?;
    let engine = engine()?;
    let linker = host_linker(&engine)?;
    let run = |bytes: &[u8]| -> Result<Vec<String>> {
        let component = Component::new(&engine, bytes)?;
        Ok(vec![
            call_once(&linker, &component, "either", (4u32,), show_either)?,
            call_once(&linker, &component, "either", (3u32,), show_either)?,
        ])
    };
    let composed = run(&built)?;
    assert_eq!(composed, ["ok own 4", "error 3"]);
    assert_eq!(run(&fused)?, composed);
    Ok(())
}

/// An async component `$C` that calls async host functions giving back a
/// host resource (`open` finishes later, `open-now` at once) and reads the
/// handle the result holds, once its subtask returned (through its
/// `callback`, `waitable-set.wait`, or `subtask.cancel` finding it
/// returned after two yields), beside `$D`, which holds three of
/// the host's resources first: fused, `$C`'s own table must make the
/// handle the host wrote its own. Each export returns the handle's number
/// times 1000 plus the resource's value.
const OPENED: &str = r#"(component
  (import "host" (instance $host
    (export "res" (type $r (sub resource)))
    (export "[constructor]res" (func (param "n" u32) (result (own $r))))
    (export "[method]res.get" (func (param "self" (borrow $r)) (result u32)))
    (export "open" (func async (param "n" u32) (result (own $r))))
    (export "open-now" (func async (param "n" u32) (result (own $r))))))
  (alias export $host "res" (type $r))
  (alias export $host "[constructor]res" (func $new))
  (alias export $host "[method]res.get" (func $get))
  (alias export $host "open" (func $open))
  (alias export $host "open-now" (func $open-now))
  HOLDER
  (component $C
    (import "r" (type $r (sub resource)))
    (import "get" (func $get (param "self" (borrow $r)) (result u32)))
    (import "open" (func $open async (param "n" u32) (result (own $r))))
    (import "open-now" (func $open-now async (param "n" u32) (result (own $r))))
    (import "hold" (func $hold (result u32)))
    (core module $Libc (memory (export "mem") 1))
    (core instance $libc (instantiate $Libc))
    (alias core export $libc "mem" (core memory $mem))
    (core func $get (canon lower (func $get)))
    (core func $open (canon lower (func $open) async (memory $mem)))
    (core func $open-now (canon lower (func $open-now) async (memory $mem)))
    (core func $hold (canon lower (func $hold)))
    (core func $drop (canon resource.drop $r))
    (core func $return (canon task.return (result u32)))
    (core func $set.new (canon waitable-set.new))
    (core func $wait (canon waitable-set.wait (memory $mem)))
    (core func $join (canon waitable.join))
    (core func $subtask.drop (canon subtask.drop))
    (core func $subtask.cancel (canon subtask.cancel))
    (core func $yield (canon thread.yield))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "get" (func $get (param i32) (result i32)))
      (import "" "open" (func $open (param i32 i32) (result i32)))
      (import "" "open-now" (func $open-now (param i32 i32) (result i32)))
      (import "" "hold" (func $hold (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "return" (func $return (param i32)))
      (import "" "set.new" (func $set.new (result i32)))
      (import "" "wait" (func $wait (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "subtask.drop" (func $subtask.drop (param i32)))
      (import "" "subtask.cancel" (func $subtask.cancel (param i32) (result i32)))
      (import "" "yield" (func $yield (result i32)))
      (global $set (mut i32) (i32.const 0))
      ;; The handle at 8: its number * 1000 + its value; dropped; returned.
      (func $finish (result i32)
        (local $h i32)
        (local.set $h (i32.load (i32.const 8)))
        (call $return
          (i32.add (i32.mul (local.get $h) (i32.const 1000)) (call $get (local.get $h))))
        (call $drop (local.get $h))
        (i32.const 0 (; EXIT ;)))
      ;; The subtask of status `st`, if any, joined to a new set.
      (func $join-new (param $st i32) (result i32)
        (global.set $set (call $set.new))
        (call $join (i32.shr_u (local.get $st) (i32.const 4)) (global.get $set))
        (global.get $set))
      ;; Returned at once, or waits through the callback.
      (func (export "opened") (param $n i32) (param $now i32) (result i32)
        (local $st i32)
        (drop (call $hold))
        (local.set $st
          (if (result i32) (local.get $now)
            (then (call $open-now (local.get $n) (i32.const 8)))
            (else (call $open (local.get $n) (i32.const 8)))))
        (if (i32.eq (i32.and (local.get $st) (i32.const 0xf)) (i32.const 2 (; RETURNED ;)))
          (then (return (call $finish))))
        (i32.or (i32.const 2 (; WAIT ;))
                (i32.shl (call $join-new (local.get $st)) (i32.const 4))))
      (func (export "cb") (param $code i32) (param $idx i32) (param $state i32) (result i32)
        (if (i32.ne (local.get $code) (i32.const 1 (; SUBTASK ;))) (then unreachable))
        (if (i32.ne (local.get $state) (i32.const 2 (; RETURNED ;)))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $set) (i32.const 4))))))
        (call $subtask.drop (local.get $idx))
        (call $finish))
      ;; Yields until the call is done, then cancels it: too late, it
      ;; returned (else the status, times a million).
      (func (export "cancelled") (param $n i32) (result i32)
        (local $st i32) (local $sub i32)
        (drop (call $hold))
        (local.set $st (call $open (local.get $n) (i32.const 8)))
        (local.set $sub (i32.shr_u (local.get $st) (i32.const 4)))
        (drop (call $yield))
        (drop (call $yield))
        (local.set $st (call $subtask.cancel (local.get $sub)))
        (if (i32.ne (local.get $st) (i32.const 2 (; RETURNED ;)))
          (then
            (call $return (i32.mul (local.get $st) (i32.const 1000000)))
            (return (i32.const 0))))
        (call $subtask.drop (local.get $sub))
        (call $finish))
      ;; Waits in `waitable-set.wait` until the subtask returned.
      (func (export "waited") (param $n i32) (result i32)
        (local $st i32) (local $set i32)
        (drop (call $hold))
        (local.set $st (call $open (local.get $n) (i32.const 8)))
        (if (i32.ne (i32.and (local.get $st) (i32.const 0xf)) (i32.const 2))
          (then
            (local.set $set (call $join-new (local.get $st)))
            (loop $wait
              (if (i32.ne (call $wait (local.get $set) (i32.const 16)) (i32.const 1))
                (then unreachable))
              (br_if $wait (i32.ne (i32.load offset=4 (i32.const 16)) (i32.const 2))))
            (call $subtask.drop (i32.load (i32.const 16)))))
        (call $finish)))
    (core instance $i (instantiate $M (with "" (instance
      (export "mem" (memory $mem))
      (export "get" (func $get))
      (export "open" (func $open))
      (export "open-now" (func $open-now))
      (export "hold" (func $hold))
      (export "drop" (func $drop))
      (export "return" (func $return))
      (export "set.new" (func $set.new))
      (export "wait" (func $wait))
      (export "join" (func $join))
      (export "subtask.drop" (func $subtask.drop))
      (export "subtask.cancel" (func $subtask.cancel))
      (export "yield" (func $yield))))))
    (func (export "opened") async (param "n" u32) (param "now" bool) (result u32)
      (canon lift (core func $i "opened") async (callback (core func $i "cb"))))
    (func (export "waited") async (param "n" u32) (result u32)
      (canon lift (core func $i "waited") async (callback (core func $i "cb"))))
    (func (export "cancelled") async (param "n" u32) (result u32)
      (canon lift (core func $i "cancelled") async (callback (core func $i "cb")))))
  (instance $d (instantiate $D (with "r" (type $r)) (with "new" (func $new))))
  (instance $c (instantiate $C
    (with "r" (type $r))
    (with "get" (func $get))
    (with "open" (func $open))
    (with "open-now" (func $open-now))
    (with "hold" (func $d "hold"))))
  (export "opened" (func $c "opened"))
  (export "waited" (func $c "waited"))
  (export "cancelled" (func $c "cancelled")))"#;

#[test]
fn async_host_results_holding_a_host_resource_the_same_fused() -> Result<()> {
    let built = beside_a_holder(OPENED)?;
    let fused = host_tests::fuse_both_ways("opened", &built)?;
    let engine = engine()?;
    let mut linker = host_linker(&engine)?;
    let mut host = linker.instance("host")?;
    host.func_wrap_concurrent("open", |_: &Accessor<Host>, (n,): (u32,)| {
        Box::pin(async move {
            concurrent::Later::default().await;
            Ok((Resource::<Res>::new_own(n),))
        })
    })?;
    host.func_wrap_concurrent("open-now", |_: &Accessor<Host>, (n,): (u32,)| {
        Box::pin(async move { Ok((Resource::<Res>::new_own(n),)) })
    })?;
    let run = |bytes: &[u8]| -> Result<Vec<String>> {
        let component = Component::new(&engine, bytes)?;
        let show = |(n,): (u32,)| n.to_string();
        Ok(vec![
            call_once(&linker, &component, "opened", (5u32, false), show)?,
            call_once(&linker, &component, "opened", (6u32, true), show)?,
            call_once(&linker, &component, "waited", (7u32,), show)?,
            call_once(&linker, &component, "cancelled", (8u32,), show)?,
        ])
    };
    let composed = run(&built)?;
    // The new resource is handle 3 after a subtask (1) and a waitable set
    // (2), handle 1 when the call returned at once, and 2 after a subtask
    // that `subtask.cancel` found returned.
    assert_eq!(composed, ["3005", "1006", "3007", "2008"]);
    assert_eq!(run(&fused)?, composed);
    Ok(())
}
