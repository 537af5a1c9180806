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
    plugged_runs_the_same("async_guest+tick", &provider)
}

/// The Rust guest plugged into `provider`, which gives it `tick`, runs the
/// same composed and fused (`work` names the fused files).
fn plugged_runs_the_same(work: &str, provider: &[u8]) -> Result<()> {
    let guest = host_tests::artifact("async_guest.wasm")?;
    let composed = host_tests::compose::plug(&guest, &[provider])?;
    let fused = host_tests::fuse_both_ways(work, &composed)?;
    let engine = engine()?;
    let before = run(&engine, &composed).context("composed")?;
    let after = run(&engine, &fused).context("fused")?;
    // `count(9)`: nine ticks from 0.
    assert!(before.results.iter().any(|r| r == "9"), "{before:?}");
    assert_eq!(before.results.last().map(String::as_str), Some("trapped"));
    assert_eq!(after, before);
    Ok(())
}

/// Plugged into a component that lifts `tick` async with a callback whose
/// task ends on its first run, the Rust guest calls another component's
/// async lift through an async lower: the fused module runs the callee's
/// task within the call, which returns `RETURNED` with the result stored,
/// composed as fused. The same results, output and trap. When the
/// callee's code is computed (0 all the same, but not provably), the fuser
/// refuses with an `unsupported` error that names the call and the
/// component instance making it.
#[test]
fn rust_async_guest_calling_an_async_lift_that_ends_at_once_runs_the_same_fused() -> Result<()> {
    plugged_runs_the_same(
        "async_guest+async-tick",
        &concurrent::async_tick_provider("(i32.const 0 (; EXIT ;))")?,
    )?;
    let guest = host_tests::artifact("async_guest.wasm")?;
    let computed = concurrent::async_tick_provider("(i32.sub (local.get 0) (local.get 0))")?;
    let composed = host_tests::compose::plug(&guest, &[&computed])?;
    refused_for_async(
        &composed,
        &solder::Options::default(),
        "a call to `tick`, which another component lifted async",
    )?;
    Ok(())
}

/// A synchronous call of an `async` function between components traps at
/// the call when no task of the caller's component instance may block
/// (`fixtures/wat/async/cannot-block.wast` runs such calls fused). When
/// one may (the caller lifts a function whose type is `async`), the call
/// runs if the callee never blocks: a synchronous lift, or an async one
/// whose task ends on its first run, in a component instance that reaches
/// no host function, or an async one whose task may wait (the fused
/// module keeps it, and runs its turns while the caller waits); composed
/// and fused give the same result. If the callee reaches the host, or its
/// task may wait and the caller may not block, or (from a caller that may
/// not block) its module has a start function that runs it, the fuser
/// refuses with an `unsupported` error that says why and where.
#[test]
fn sync_call_of_async_function_that_may_block_is_refused_with_why() -> Result<()> {
    let composition = |callee: &str, run_type: &str| {
        let host = callee.contains("$log");
        format!(
            r#"(component
              {import}
              (component $D
                {import}
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
              (instance $d (instantiate $D {with}))
              (instance $c (instantiate $C (with "f" (func $d "f"))))
              (func (export "run") (alias export $c "run")))"#,
            import = if host {
                r#"(import "log" (func $log))"#
            } else {
                ""
            },
            with = if host {
                r#"(with "log" (func $log))"#
            } else {
                ""
            },
            lift = if callee.contains("task.return") {
                r#"(canon lift (core func $i "f") async (callback (core func $i "f-cb")))"#
            } else {
                r#"(canon lift (core func $i "f"))"#
            }
        )
    };
    let sync_callee = r#"(core module $M (func (export "f") (result i32) (i32.const 1)))
        (core instance $i (instantiate $M))"#;
    let logging_callee = r#"(core func $log' (canon lower (func $log)))
        (core module $M
          (import "" "log" (func $log))
          (func (export "f") (result i32) (call $log) (i32.const 1)))
        (core instance $i (instantiate $M (with "" (instance (export "log" (func $log'))))))"#;
    let async_callee = |start: &str, code: &str| {
        format!(
            r#"(core module $M
              (import "" "task.return" (func $task.return (param i32)))
              (func (export "f") (result i32)
                (call $task.return (i32.const 42))
                {code})
              (func (export "f-cb") (param i32 i32 i32) (result i32) unreachable)
              (func $s) {start})
            (core func $task.return (canon task.return (result u32)))
            (core instance $i (instantiate $M
              (with "" (instance (export "task.return" (func $task.return))))))"#
        )
    };
    let exit = "(i32.const 0)";
    // The caller's `run` has an `async` type: its task may block. A callee
    // that never blocks runs to its end.
    let engine = engine()?;
    let linker = Linker::<Host>::new(&engine);
    let show = |(n,): (u32,)| n.to_string();
    // A callee whose task yields before it returns, in its callback: the
    // fused module keeps the task and runs its turns while the caller
    // waits on its stack.
    let yielding_callee = r#"(core module $M
          (import "" "task.return" (func $task.return (param i32)))
          (func (export "f") (result i32) (i32.const 1 (; YIELD ;)))
          (func (export "f-cb") (param i32 i32 i32) (result i32)
            (if (local.get 0) (then unreachable))
            (call $task.return (i32.const 43))
            (i32.const 0)))
        (core func $task.return (canon task.return (result u32)))
        (core instance $i (instantiate $M
          (with "" (instance (export "task.return" (func $task.return))))))"#;
    for (callee, expected) in [
        (sync_callee.to_string(), "1"),
        (async_callee("", exit), "42"),
        // Code computed at run time: the task may wait, and the fused
        // module keeps it.
        (
            async_callee("", "(i32.sub (i32.const 1) (i32.const 1))"),
            "42",
        ),
        (yielding_callee.to_string(), "43"),
    ] {
        let built = wat::parse_str(composition(&callee, "async"))?;
        let fused = host_tests::fuse_both_ways("sync-call-of-async", &built)?;
        for bytes in [&built, &fused] {
            let component = Component::new(&engine, bytes)?;
            assert_eq!(call_once(&linker, &component, "run", (), show)?, expected);
        }
    }
    let cases = [
        (
            composition(logging_callee, "async"),
            "a synchronous call between components to `f`, whose type is `async`, from a component instance whose tasks may block",
        ),
        // The callee's task may wait, and its instance uses what the
        // fused module does not keep.
        (
            composition(
                &yielding_callee.replace(
                    "(core func $task.return",
                    "(type $s (stream u8)) (core func $stream.new (canon stream.new $s)) (core func $task.return",
                ),
                "async",
            ),
            "a call to `f`, which another component lifted async and whose task may wait, needs tasks the fused module keeps, but `root/component[0]#1` uses `stream.new`",
        ),
        // The caller may not block, but the callee's start function runs.
        (
            composition(&async_callee("(start $s)", exit), ""),
            "beside this async component instance",
        ),
    ];
    for (wat, why) in &cases {
        refused_for_async(&wat::parse_str(wat)?, &solder::Options::default(), why)?;
    }
    // Without the start function, the same call traps at the call, as
    // composed, and fuses; so does one of a callee whose task may wait.
    for callee in [async_callee("", exit), yielding_callee.to_string()] {
        let built = wat::parse_str(composition(&callee, ""))?;
        let fused = host_tests::fuse_both_ways("sync-call-cannot-block", &built)?;
        for bytes in [&built, &fused] {
            let component = Component::new(&engine, bytes)?;
            assert_eq!(call_once(&linker, &component, "run", (), show)?, "trapped");
        }
    }
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
    ;; An owned handle inside an `option`: its number * 1000 + its value,
    ;; dropped.
    (func (export "owned") (param $some i32) (param $a i32) (result i32)
      (if (i32.ne (local.get $some) (i32.const 1)) (then unreachable))
      (call $return.u32
        (i32.add (i32.mul (local.get $a) (i32.const 1000)) (call $get (local.get $a))))
      (call $drop (local.get $a))
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
  (func (export "owned") async (param "a" (option (own $r))) (result u32)
    (canon lift (core func $i "owned") async (callback (core func $i "cb"))))
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
            "owned",
            (Some(Resource::<Res>::new_own(11)),),
            |(n,): (u32,)| n.to_string(),
        )?,
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

/// [`call_once`] with parameters `make` makes in the call's store.
fn call_with<P, R>(
    linker: &Linker<Host>,
    component: &Component,
    name: &str,
    make: impl FnOnce(&mut wasmtime::Store<Host>) -> Result<P>,
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
    let params = make(&mut store)?;
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
    // handle 1 holding 11, inside an `option`; a trap.
    assert_eq!(
        composed,
        [
            "1204207", "own 9", "ok own 4", "error 3", "peeked", "1011", "trapped"
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

/// An async component `$C` beside [`HOLDER`], so that it numbers its
/// handles in a table of its own in the fused module, getting and giving
/// streams inside values: a synchronous host call returns one inside a
/// tuple, which `$C` reads to its end (waiting in `waitable-set.wait`
/// when a read blocks); another takes one inside an `option`, which
/// leaves `$C`'s table (its number is the next stream end's); `task.return`
/// gives one back inside a tuple; an async host call returns one inside
/// an `option`, written when the call returns. `$C` reports the numbers
/// it saw, which are not the host's.
const STREAMS_INSIDE: &str = r#"(component
  (import "host" (instance $host
    (export "res" (type $r (sub resource)))
    (export "[constructor]res" (func (param "n" u32) (result (own $r))))
    (export "chunk" (func (param "n" u32) (result (tuple u32 (stream u8)))))
    (export "maybe" (func (param "s" (option (stream u8))) (result u32)))
    (export "count" (func (param "s" (list (stream u8))) (result u32)))
    (export "later" (func async (param "n" u32) (result (option (stream u8)))))
    (export "send" (func async (param "a" u32) (param "b" u32) (param "s" (option (stream u8)))
      (param "l" (list (stream u8))) (result u32)))))
  (alias export $host "res" (type $r))
  (alias export $host "[constructor]res" (func $new))
  (alias export $host "chunk" (func $chunk))
  (alias export $host "maybe" (func $maybe))
  (alias export $host "count" (func $count))
  (alias export $host "later" (func $later))
  (alias export $host "send" (func $send))
  HOLDER
  (component $C
    (import "chunk" (func $chunk (param "n" u32) (result (tuple u32 (stream u8)))))
    (import "maybe" (func $maybe (param "s" (option (stream u8))) (result u32)))
    (import "count" (func $count (param "s" (list (stream u8))) (result u32)))
    (import "later" (func $later async (param "n" u32) (result (option (stream u8)))))
    (import "send" (func $send async (param "a" u32) (param "b" u32) (param "s" (option (stream u8)))
      (param "l" (list (stream u8))) (result u32)))
    (import "hold" (func $hold (result u32)))
    (core module $Libc (memory (export "mem") 1))
    (core instance $libc (instantiate $Libc))
    (alias core export $libc "mem" (core memory $mem))
    (type $ST (stream u8))
    (core func $chunk (canon lower (func $chunk) (memory $mem)))
    (core func $maybe (canon lower (func $maybe)))
    (core func $count (canon lower (func $count) (memory $mem)))
    (core func $later (canon lower (func $later) async (memory $mem)))
    (core func $send (canon lower (func $send) async (memory $mem)))
    (core func $hold (canon lower (func $hold)))
    (core func $return (canon task.return (result u32)))
    (core func $return.pair (canon task.return (result (tuple u32 (stream u8)))))
    (core func $stream.new (canon stream.new $ST))
    (core func $stream.read (canon stream.read $ST async (memory $mem)))
    (core func $drop.r (canon stream.drop-readable $ST))
    (core func $drop.w (canon stream.drop-writable $ST))
    (core func $set.new (canon waitable-set.new))
    (core func $wait (canon waitable-set.wait (memory $mem)))
    (core func $join (canon waitable.join))
    (core func $subtask.drop (canon subtask.drop))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "chunk" (func $chunk (param i32 i32)))
      (import "" "maybe" (func $maybe (param i32 i32) (result i32)))
      (import "" "count" (func $count (param i32 i32) (result i32)))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "send" (func $send (param i32 i32) (result i32)))
      (import "" "hold" (func $hold (result i32)))
      (import "" "return" (func $return (param i32)))
      (import "" "return.pair" (func $return.pair (param i32 i32)))
      (import "" "stream.new" (func $stream.new (result i64)))
      (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
      (import "" "drop.r" (func $drop.r (param i32)))
      (import "" "drop.w" (func $drop.w (param i32)))
      (import "" "set.new" (func $set.new (result i32)))
      (import "" "wait" (func $wait (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "subtask.drop" (func $subtask.drop (param i32)))
      (global $set (mut i32) (i32.const 0))
      ;; The sum of the bytes of stream `s`, read to its end, which is
      ;; then dropped.
      (func $drain (param $s i32) (result i32)
        (local $sum i32) (local $r i32) (local $n i32) (local $i i32)
        (loop $more
          (local.set $r (call $stream.read (local.get $s) (i32.const 100) (i32.const 64)))
          (if (i32.eq (local.get $r) (i32.const -1 (; BLOCKED ;)))
            (then
              (if (i32.eqz (global.get $set)) (then (global.set $set (call $set.new))))
              (call $join (local.get $s) (global.get $set))
              (if (i32.ne (call $wait (global.get $set) (i32.const 16)) (i32.const 2 (; STREAM_READ ;)))
                (then unreachable))
              (if (i32.ne (i32.load (i32.const 16)) (local.get $s)) (then unreachable))
              (call $join (local.get $s) (i32.const 0))
              (local.set $r (i32.load offset=4 (i32.const 16)))))
          (local.set $n (i32.shr_u (local.get $r) (i32.const 4)))
          (local.set $i (i32.const 0))
          (block $done
            (loop $add
              (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
              (local.set $sum
                (i32.add (local.get $sum) (i32.load8_u offset=100 (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $add)))
          ;; COMPLETED: read on; DROPPED: the end.
          (br_if $more (i32.eqz (i32.and (local.get $r) (i32.const 0xf)))))
        (call $drop.r (local.get $s))
        (local.get $sum))
      ;; The stream's number * 100000 + n * 1000 + the sum of its bytes.
      (func (export "sum-chunk") (param $n i32) (result i32)
        (local $s i32)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (local.set $s (i32.load (i32.const 12)))
        (call $return
          (i32.add
            (i32.add
              (i32.mul (local.get $s) (i32.const 100000))
              (i32.mul (i32.load (i32.const 8)) (i32.const 1000)))
            (call $drain (local.get $s))))
        (i32.const 0 (; EXIT ;)))
      ;; The stream passed on inside `some`, then `none`: each answer, and
      ;; the numbers of the two ends of a new stream.
      (func (export "pass-on") (param $n i32) (result i32)
        (local $a i32) (local $b i32) (local $rw i64)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (local.set $a (call $maybe (i32.const 1) (i32.load (i32.const 12))))
        (local.set $b (call $maybe (i32.const 0) (i32.const 0)))
        (local.set $rw (call $stream.new))
        (call $return
          (i32.add
            (i32.add
              (i32.mul (local.get $a) (i32.const 100))
              (i32.mul (local.get $b) (i32.const 10)))
            (i32.add
              (i32.wrap_i64 (local.get $rw))
              (i32.mul
                (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32)))
                (i32.const 1000)))))
        (call $drop.r (i32.wrap_i64 (local.get $rw)))
        (call $drop.w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (i32.const 0 (; EXIT ;)))
      ;; Two streams passed on in a list: the answer * 100000, the list's two
      ;; numbers, still `$C`'s in its memory, * 1000 and * 100, and the
      ;; numbers of a new stream's ends * 10 and * 1.
      (func (export "pass-list") (param $n i32) (result i32)
        (local $rw i64) (local $sum i32)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 40) (i32.load (i32.const 12)))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 44) (i32.load (i32.const 12)))
        (local.set $rw
          (i64.extend_i32_u (i32.mul (call $count (i32.const 40) (i32.const 2)) (i32.const 100000))))
        (local.set $rw
          (i64.add (local.get $rw)
            (i64.extend_i32_u
              (i32.add
                (i32.mul (i32.load (i32.const 40)) (i32.const 1000))
                (i32.mul (i32.load (i32.const 44)) (i32.const 100))))))
        (local.set $sum (i32.wrap_i64 (local.get $rw)))
        (local.set $rw (call $stream.new))
        (call $return
          (i32.add (local.get $sum)
            (i32.add
              (i32.mul (i32.wrap_i64 (local.get $rw)) (i32.const 10))
              (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))))
        (call $drop.r (i32.wrap_i64 (local.get $rw)))
        (call $drop.w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (i32.const 0 (; EXIT ;)))
      ;; The stream back to the host inside a tuple, with its number *
      ;; 1000 + n.
      (func (export "give-back") (param $n i32) (result i32)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (call $return.pair
          (i32.add (i32.mul (i32.load (i32.const 12)) (i32.const 1000)) (i32.load (i32.const 8)))
          (i32.load (i32.const 12)))
        (i32.const 0 (; EXIT ;)))
      ;; The stream an async host call returns inside `some`, once the
      ;; call returned: its number * 100000 + the sum of its bytes.
      (func (export "later") (param $n i32) (result i32)
        (local $st i32) (local $set i32) (local $s i32)
        (drop (call $hold))
        (local.set $st (call $later (local.get $n) (i32.const 8)))
        (if (i32.ne (i32.and (local.get $st) (i32.const 0xf)) (i32.const 2 (; RETURNED ;)))
          (then
            (local.set $set (call $set.new))
            (call $join (i32.shr_u (local.get $st) (i32.const 4)) (local.get $set))
            (loop $wait
              (if (i32.ne (call $wait (local.get $set) (i32.const 16)) (i32.const 1 (; SUBTASK ;)))
                (then unreachable))
              (br_if $wait (i32.ne (i32.load offset=4 (i32.const 16)) (i32.const 2))))
            (call $subtask.drop (i32.load (i32.const 16)))))
        (if (i32.ne (i32.load8_u (i32.const 8)) (i32.const 1)) (then unreachable))
        (local.set $s (i32.load (i32.const 12)))
        (call $return
          (i32.add (i32.mul (local.get $s) (i32.const 100000)) (call $drain (local.get $s))))
        (i32.const 0 (; EXIT ;)))
      ;; Three streams to an async host call inside an `option` and a
      ;; `list`, its parameters in memory (six flat values): its answer *
      ;; 100000, the numbers still in `$C`'s memory * 10000, * 1000 and *
      ;; 100, and a new stream's ends * 10 and * 1.
      (func (export "send") (param $n i32) (result i32)
        (local $st i32) (local $set i32) (local $rw i64)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 76) (i32.load (i32.const 12)))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 40) (i32.load (i32.const 12)))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 44) (i32.load (i32.const 12)))
        (i32.store (i32.const 64) (i32.const 1))
        (i32.store (i32.const 68) (i32.const 2))
        (i32.store8 (i32.const 72) (i32.const 1))
        (i32.store (i32.const 80) (i32.const 40))
        (i32.store (i32.const 84) (i32.const 2))
        (local.set $st (call $send (i32.const 64) (i32.const 56)))
        (if (i32.ne (i32.and (local.get $st) (i32.const 0xf)) (i32.const 2 (; RETURNED ;)))
          (then
            (local.set $set (call $set.new))
            (call $join (i32.shr_u (local.get $st) (i32.const 4)) (local.get $set))
            (loop $wait
              (if (i32.ne (call $wait (local.get $set) (i32.const 16)) (i32.const 1 (; SUBTASK ;)))
                (then unreachable))
              (br_if $wait (i32.ne (i32.load offset=4 (i32.const 16)) (i32.const 2))))
            (call $subtask.drop (i32.load (i32.const 16)))))
        (local.set $rw (call $stream.new))
        (call $return
          (i32.add
            (i32.add
              (i32.mul (i32.load (i32.const 56)) (i32.const 100000))
              (i32.add
                (i32.mul (i32.load (i32.const 76)) (i32.const 10000))
                (i32.add
                  (i32.mul (i32.load (i32.const 40)) (i32.const 1000))
                  (i32.mul (i32.load (i32.const 44)) (i32.const 100)))))
            (i32.add
              (i32.mul (i32.wrap_i64 (local.get $rw)) (i32.const 10))
              (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))))
        (call $drop.r (i32.wrap_i64 (local.get $rw)))
        (call $drop.w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (i32.const 0 (; EXIT ;)))
      ;; Streams the host passes inside an `option` and a `list`, and a
      ;; whole one after them: their numbers * 1000000, * 100000, * 10000
      ;; and * 1000, and the sum of all their bytes.
      (func (export "take") (param $some i32) (param $s i32) (param $l i32) (param $len i32)
        (param $t i32) (result i32)
        (if (i32.or (i32.ne (local.get $some) (i32.const 1)) (i32.ne (local.get $len) (i32.const 2)))
          (then unreachable))
        (call $return
          (i32.add
            (i32.add
              (i32.mul (local.get $s) (i32.const 1000000))
              (i32.add
                (i32.add
                  (i32.mul (i32.load (local.get $l)) (i32.const 100000))
                  (i32.mul (i32.load offset=4 (local.get $l)) (i32.const 10000)))
                (i32.mul (local.get $t) (i32.const 1000))))
            (i32.add
              (i32.add (call $drain (local.get $s)) (call $drain (local.get $t)))
              (i32.add
                (call $drain (i32.load (local.get $l)))
                (call $drain (i32.load offset=4 (local.get $l)))))))
        (i32.const 0 (; EXIT ;)))
      ;; Synchronous exports: a stream inside a tuple returned (its number
      ;; * 1000 + n), and one taken inside an `option` and dropped (its
      ;; number * 10 + whether it came).
      (func (export "fresh") (param $n i32) (result i32)
        (drop (call $hold))
        (call $chunk (local.get $n) (i32.const 8))
        (i32.store (i32.const 200)
          (i32.add (i32.mul (i32.load (i32.const 12)) (i32.const 1000)) (local.get $n)))
        (i32.store (i32.const 204) (i32.load (i32.const 12)))
        (i32.const 200))
      (func (export "eat") (param $some i32) (param $s i32) (result i32)
        (call $drop.r (local.get $s))
        (i32.add (i32.mul (local.get $s) (i32.const 10)) (local.get $some)))
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get 3)))
        (local.get $r))
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
    (core instance $i (instantiate $M (with "" (instance
      (export "mem" (memory $mem))
      (export "chunk" (func $chunk))
      (export "maybe" (func $maybe))
      (export "count" (func $count))
      (export "later" (func $later))
      (export "send" (func $send))
      (export "hold" (func $hold))
      (export "return" (func $return))
      (export "return.pair" (func $return.pair))
      (export "stream.new" (func $stream.new))
      (export "stream.read" (func $stream.read))
      (export "drop.r" (func $drop.r))
      (export "drop.w" (func $drop.w))
      (export "set.new" (func $set.new))
      (export "wait" (func $wait))
      (export "join" (func $join))
      (export "subtask.drop" (func $subtask.drop))))))
    (func (export "sum-chunk") async (param "n" u32) (result u32)
      (canon lift (core func $i "sum-chunk") async (callback (core func $i "cb"))))
    (func (export "pass-on") async (param "n" u32) (result u32)
      (canon lift (core func $i "pass-on") async (callback (core func $i "cb"))))
    (func (export "pass-list") async (param "n" u32) (result u32)
      (canon lift (core func $i "pass-list") async (callback (core func $i "cb"))))
    (func (export "fresh") (param "n" u32) (result (tuple u32 (stream u8)))
      (canon lift (core func $i "fresh") (memory $mem)))
    (func (export "eat") (param "s" (option (stream u8))) (result u32)
      (canon lift (core func $i "eat")))
    (func (export "send") async (param "n" u32) (result u32)
      (canon lift (core func $i "send") async (callback (core func $i "cb"))))
    (func (export "take") async (param "s" (option (stream u8))) (param "l" (list (stream u8)))
      (param "t" (stream u8)) (result u32)
      (canon lift (core func $i "take") async (memory $mem) (realloc (core func $i "realloc"))
        (callback (core func $i "cb"))))
    (func (export "give-back") async (param "n" u32) (result (tuple u32 (stream u8)))
      (canon lift (core func $i "give-back") async (callback (core func $i "cb"))))
    (func (export "later") async (param "n" u32) (result u32)
      (canon lift (core func $i "later") async (callback (core func $i "cb")))))
  (instance $d (instantiate $D (with "r" (type $r)) (with "new" (func $new))))
  (instance $c (instantiate $C
    (with "chunk" (func $chunk))
    (with "maybe" (func $maybe))
    (with "count" (func $count))
    (with "later" (func $later))
    (with "send" (func $send))
    (with "hold" (func $d "hold"))))
  (export "sum-chunk" (func $c "sum-chunk"))
  (export "pass-on" (func $c "pass-on"))
  (export "pass-list" (func $c "pass-list"))
  (export "send" (func $c "send"))
  (export "fresh" (func $c "fresh"))
  (export "eat" (func $c "eat"))
  (export "take" (func $c "take"))
  (export "give-back" (func $c "give-back"))
  (export "later" (func $c "later")))"#;

/// The bytes 1 to `n`, as a stream the host writes: none the first time
/// the reader asks, so that its read blocks, then all of them.
struct Counting {
    bytes: Vec<u8>,
    waited: bool,
}

fn counting(n: u32) -> Counting {
    Counting {
        bytes: (1..=n).map(|b| b as u8).collect(),
        waited: false,
    }
}

impl<D> wasmtime::component::StreamProducer<D> for Counting {
    type Item = u8;
    type Buffer = wasmtime::component::VecBuffer<u8>;

    fn poll_produce<'a>(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        _: wasmtime::StoreContextMut<'a, D>,
        mut dst: wasmtime::component::Destination<'a, u8, Self::Buffer>,
        finish: bool,
    ) -> std::task::Poll<wasmtime::Result<wasmtime::component::StreamResult>> {
        let me = self.get_mut();
        if !me.waited && !finish {
            me.waited = true;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        dst.set_buffer(std::mem::take(&mut me.bytes).into());
        std::task::Poll::Ready(Ok(wasmtime::component::StreamResult::Dropped))
    }
}

#[test]
fn streams_inside_values_through_the_async_instance_s_own_table_the_same_fused() -> Result<()> {
    type Pair = ((u32, StreamReader<u8>),);
    let built = beside_a_holder(STREAMS_INSIDE)?;
    let fused = host_tests::fuse_both_ways("streams-inside", &built)?;
    let engine = engine()?;
    let mut linker = host_linker(&engine)?;
    let mut host = linker.instance("host")?;
    host.func_wrap(
        "chunk",
        |mut cx: wasmtime::StoreContextMut<'_, Host>, (n,): (u32,)| {
            let s = StreamReader::new(&mut cx, counting(n))?;
            Ok(((n, s),))
        },
    )?;
    host.func_wrap(
        "maybe",
        |mut cx: wasmtime::StoreContextMut<'_, Host>, (s,): (Option<StreamReader<u8>>,)| {
            Ok((match s {
                Some(mut s) => {
                    s.close(&mut cx)?;
                    1u32
                }
                None => 0,
            },))
        },
    )?;
    host.func_wrap(
        "count",
        |mut cx: wasmtime::StoreContextMut<'_, Host>, (list,): (Vec<StreamReader<u8>>,)| {
            let n = list.len() as u32;
            for mut s in list {
                s.close(&mut cx)?;
            }
            Ok((n,))
        },
    )?;
    host.func_wrap_concurrent("later", |a: &Accessor<Host>, (n,): (u32,)| {
        Box::pin(async move {
            concurrent::Later::default().await;
            let s = a.with(|mut store| StreamReader::new(&mut store, counting(n)))?;
            Ok((Some(s),))
        })
    })?;
    host.func_wrap_concurrent(
        "send",
        |a: &Accessor<Host>,
         (x, y, s, l): (u32, u32, Option<StreamReader<u8>>, Vec<StreamReader<u8>>)| {
            Box::pin(async move {
                concurrent::Later::default().await;
                let n = u32::from(s.is_some()) + l.len() as u32;
                for mut s in s.into_iter().chain(l) {
                    s.close_with(a)?;
                }
                Ok((x + y + 10 * n,))
            })
        },
    )?;
    let run = |bytes: &[u8]| -> Result<Vec<String>> {
        let component = Component::new(&engine, bytes)?;
        let show = |(n,): (u32,)| n.to_string();
        Ok(vec![
            call_once(&linker, &component, "sum-chunk", (5u32,), show)?,
            call_once(&linker, &component, "send", (2u32,), show)?,
            call_once(&linker, &component, "pass-on", (3u32,), show)?,
            call_once(&linker, &component, "pass-list", (2u32,), show)?,
            call_once(
                &linker,
                &component,
                "give-back",
                (7u32,),
                |((n, _),): Pair| n.to_string(),
            )?,
            call_once(&linker, &component, "later", (4u32,), show)?,
            call_once(&linker, &component, "fresh", (7u32,), |((n, _),): Pair| {
                n.to_string()
            })?,
            call_with(
                &linker,
                &component,
                "eat",
                |store| Ok((Some(StreamReader::new(&mut *store, counting(1))?),)),
                show,
            )?,
            call_with(
                &linker,
                &component,
                "take",
                |store| {
                    let one = StreamReader::new(&mut *store, counting(3))?;
                    let list = vec![
                        StreamReader::new(&mut *store, counting(4))?,
                        StreamReader::new(&mut *store, counting(5))?,
                    ];
                    let last = StreamReader::new(&mut *store, counting(6))?;
                    Ok((Some(one), list, last))
                },
                show,
            )?,
        ])
    };
    let composed = run(&built)?;
    // The first stream end is `$C`'s handle 1; three passed to an async
    // call free 1 to 3, then its subtask takes 3 and a waitable set 2, and
    // after the subtask is dropped a new stream's ends are 3 and 1, with
    // `$C`'s memory as it was; passed on, its number is the
    // new stream's readable end (and 2 its writable one); two passed in a
    // list free 1 then 2, which the new stream's ends take back, last
    // freed first; after an async call's subtask (1) and waitable set (2),
    // handle 3; the synchronous exports' streams, handle 1; streams passed
    // in, 1 to 4 in order.
    assert_eq!(
        composed,
        [
            "105015", "3312331", "2101", "201221", "1007", "300010", "1007", "11", "1234052"
        ]
    );
    assert_eq!(run(&fused)?, composed);
    Ok(())
}

/// What the async instance's own table does not translate yet is refused
/// with an `unsupported` error (feature `async`) that says what and where:
/// a borrow beside handles inside an async export's parameters or an
/// async lower's, and stream elements that hold handles.
#[test]
fn what_the_own_table_cannot_translate_is_refused_with_why() -> Result<()> {
    let component = |imports: &str, body: &str| {
        format!(
            r#"(component
              (import "host" (instance $host
                (export "res" (type $r (sub resource)))
                {imports}))
              (alias export $host "res" (type $r))
              (core module $Libc (memory (export "mem") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable))
              (core instance $libc (instantiate $Libc))
              (alias core export $libc "mem" (core memory $mem))
              (core module $M (func (export "f") (result i32) unreachable)
                (func (export "f4") (param i32 i32 i32 i32) (result i32) unreachable)
                (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
              (core instance $i (instantiate $M))
              {body})"#
        )
    };
    let cases = [
        (
            component(
                "",
                r#"(func (export "f") async (param "a" (option (borrow $r))) (param "b" (list (stream u8)))
                  (canon lift (core func $i "f4") async (memory $mem)
                    (realloc (core func $libc "realloc")) (callback (core func $i "cb"))))"#,
            ),
            "the root export `f` passes a borrow beside handles inside values",
        ),
        (
            component(
                r#"(export "g" (func async (param "b" (borrow $r)) (param "l" (list (stream u8)))))"#,
                r#"(core func $g (canon lower (func $host "g") async (memory $mem)))
                (core module $N (import "" "g" (func (param i32 i32 i32) (result i32))))
                (core instance (instantiate $N (with "" (instance (export "g" (func $g))))))
                (func (export "f") async (canon lift (core func $i "f") async (callback (core func $i "cb"))))"#,
            ),
            "the async lower of host function `host#g` passes a borrow beside handles inside values",
        ),
        (
            component(
                "",
                r#"(type $ST (stream (own $r)))
                (core func $new (canon stream.new $ST))
                (core module $N (import "" "new" (func (result i64))))
                (core instance (instantiate $N (with "" (instance (export "new" (func $new))))))
                (func (export "f") async (canon lift (core func $i "f") async (callback (core func $i "cb"))))"#,
            ),
            "moves elements that hold handles",
        ),
    ];
    let own = solder::Options {
        own_async_table: true,
        ..solder::Options::default()
    };
    for (wat, why) in &cases {
        let bytes = wat::parse_str(wat)?;
        // Holding the host's numbers, it fuses.
        solder::fuse(&[&bytes], &solder::Options::default())?;
        refused_for_async(&bytes, &own, why)?;
    }
    Ok(())
}

/// Checks that fusing `bytes` with `options` is refused with an
/// `unsupported` error for feature `async` that says `why` and names the
/// component instance.
fn refused_for_async(bytes: &[u8], options: &solder::Options, why: &str) -> Result<()> {
    let Err(e) = solder::fuse(&[bytes], options) else {
        anyhow::bail!("fused, where it should say: {why}");
    };
    assert_eq!(e.kind(), solder::ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("async"), "{e}");
    let message = e.to_string();
    assert!(message.contains(why), "{message}");
    assert!(message.contains("(in root"), "{message}");
    Ok(())
}
