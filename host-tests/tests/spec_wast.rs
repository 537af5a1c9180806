//! The component model's own `.wast` scripts as oracles: each runs twice
//! under `wasmtime-wast`, as written and with every component replaced by
//! its fused bytes. Both runs must pass; in the fused run a trap only has
//! to be a trap (its message is the runtime's, not ours).
//!
//! The scripts come from the snapshot of the component-model repository
//! inside the `wasmtime-cli` 46.0.3 crate source, which the test obtains
//! through `cargo metadata` on a throwaway manifest; nothing of it is
//! copied into this repository.

use anyhow::{Context, Result, bail};
use std::path::Path;
use wasmtime::{Config, Engine};
use wasmtime_wast::{Async, SpectestConfig, WastContext};

/// A script runner with the host functions the scripts import.
fn context(engine: &Engine) -> Result<WastContext> {
    context_with(engine, Async::No)
}

/// A script runner that calls exports as `concurrent` says (the async
/// scripts call async-lifted exports, which need a concurrent call).
fn context_with(engine: &Engine, concurrent: Async) -> Result<WastContext> {
    let mut ctx = WastContext::new(engine, concurrent, |_| {});
    ctx.register_wasmtime()?;
    ctx.register_spectest(&SpectestConfig {
        use_shared_memory: false,
        suppress_prints: true,
    })?;
    Ok(ctx)
}

fn engine() -> Result<Engine> {
    Engine::new(&config()).map_err(Into::into)
}

/// What every script needs: components, and the fused module's memories.
fn config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(true);
    config
}

/// The engine for an async script: [`config`], the component model's
/// async features (as wasmtime's own runner enables them for its
/// component-model tests), and what the script's `;;!` header asks for
/// (`reference_types = true`, ...).
fn engine_for(path: &Path) -> Result<Engine> {
    let text = std::fs::read_to_string(path)?;
    let mut config = config();
    config.wasm_component_model_async(true);
    config.wasm_component_model_more_async_builtins(true);
    config.wasm_component_model_async_stackful(true);
    config.wasm_component_model_error_context(true);
    for line in text.lines().take_while(|l| l.starts_with(";;!")) {
        let Some((key, value)) = line.trim_start_matches(";;!").split_once('=') else {
            continue;
        };
        let on = value.trim() == "true";
        match key.trim() {
            "component_model_async" => config.wasm_component_model_async(on),
            "component_model_async_stackful" => config.wasm_component_model_async_stackful(on),
            "component_model_more_async_builtins" => {
                config.wasm_component_model_more_async_builtins(on)
            }
            "component_model_error_context" => config.wasm_component_model_error_context(on),
            "component_model_threading" => config.wasm_component_model_threading(on),
            "gc_types" => config.wasm_gc(on),
            "reference_types" => config.wasm_reference_types(on),
            "bulk_memory" => config.wasm_bulk_memory(on),
            "multi_memory" => config.wasm_multi_memory(on),
            other => bail!("{}: unknown setting `{other}`", path.display()),
        };
    }
    Engine::new(&config).map_err(Into::into)
}

/// What the fused run of one script did.
#[derive(Debug, Default)]
struct Fused {
    components: usize,
    fused: usize,
    /// Components the fuser declined, with its reason.
    unsupported: Vec<String>,
    /// The feature each declined component's error names, in order.
    features: Vec<String>,
}

/// Runs `path` as written, then fused with `options`, calling exports as
/// `concurrent` says; returns what fusing did.
fn run_both_with(
    engine: &Engine,
    concurrent: Async,
    options: &solder::Options,
    path: &Path,
    work: &Path,
) -> Result<Fused> {
    let mut ctx = context_with(engine, concurrent)?;
    ctx.run_file(path)
        .map_err(|e| anyhow::anyhow!("{} as written: {e:?}", path.display()))?;

    let text = std::fs::read_to_string(path)?;
    let filename = path
        .file_name()
        .and_then(|f| f.to_str())
        .context("file name")?;
    let buf = wast::parser::ParseBuffer::new(&text)?;
    let ast = wast::parser::parse::<wast::Wast>(&buf)?;
    let converted = json_from_wast::Opts::default().convert(filename, &text, ast)?;
    let dir = work.join(filename).with_extension("fused");
    std::fs::create_dir_all(&dir)?;
    let mut report = Fused::default();
    for (name, bytes) in &converted.wasms {
        let out = Path::new(name).with_extension("cwasm");
        let compiled = if wasmparser::Parser::is_component(bytes) {
            report.components += 1;
            match solder::fuse(&[bytes], options) {
                Ok(f) => {
                    report.fused += 1;
                    engine.precompile_component(&f.bytes)
                }
                Err(e) if e.kind() == solder::ErrorKind::Unsupported => {
                    report.unsupported.push(format!("{name}: {e}"));
                    report
                        .features
                        .push(e.feature().unwrap_or("(none)").to_string());
                    engine.precompile_component(bytes)
                }
                // Invalid input: the script expects it to be rejected, and
                // the runtime must agree that it is invalid.
                Err(e) => {
                    if engine.precompile_component(bytes).is_ok() {
                        bail!("{name}: the fuser rejects a component wasmtime accepts: {e}");
                    }
                    continue;
                }
            }
        } else {
            engine.precompile_module(bytes)
        };
        if let Ok(cwasm) = compiled {
            std::fs::write(dir.join(out), cwasm)?;
        }
    }
    let mut json = serde_json::to_value(&converted)?;
    for command in json["commands"].as_array_mut().into_iter().flatten() {
        if command["type"] == "assert_trap" || command["type"] == "assert_uninstantiable" {
            command["text"] = serde_json::Value::String(String::new());
        }
    }
    std::fs::write(
        dir.join(filename).with_extension("json"),
        serde_json::to_string(&json)?,
    )?;
    let mut ctx = context_with(engine, concurrent)?;
    ctx.precompile_load(&dir);
    // What is invalid stays invalid; the message is the loader's.
    ctx.ignore_error_messages(true);
    ctx.run_file(path)
        .map_err(|e| anyhow::anyhow!("{} fused: {e:?}", path.display()))?;
    Ok(report)
}

fn run_dir(files: &[&str], test: &str) -> Result<Vec<(String, Fused)>> {
    run_dir_with(files, test, &solder::Options::default())
}

fn run_dir_with(
    files: &[&str],
    test: &str,
    options: &solder::Options,
) -> Result<Vec<(String, Fused)>> {
    let root = host_tests::spec::snapshot()?;
    let engine = engine()?;
    // Each test writes its own files: tests run in parallel.
    let work = host_tests::repo_root()
        .join("target")
        .join("spec-wast")
        .join(test);
    let mut out = Vec::new();
    for f in files {
        let report = run_both_with(&engine, Async::No, options, &root.join(f), &work)?;
        out.push((f.to_string(), report));
    }
    Ok(out)
}

/// The scripts about values and adapters: every component must fuse, and
/// both runs must pass.
#[test]
fn value_and_adapter_scripts_pass_fused() -> Result<()> {
    let reports = run_dir(
        &[
            "test/values/strings.wast",
            "test/wasmtime/fused.wast",
            "test/wasmtime/strings.wast",
            "test/wasmtime/adapter.wast",
        ],
        "values",
    )?;
    let mut total = 0;
    for (file, r) in &reports {
        println!("{file}: {} of {} components fused", r.fused, r.components);
        assert!(r.unsupported.is_empty(), "{file}: {:#?}", r.unsupported);
        total += r.fused;
    }
    assert!(total > 0);
    Ok(())
}

/// The resource scripts: handle tables, built-ins, borrows, destructors,
/// host resources, as written and fused.
#[test]
fn resource_scripts_pass_fused() -> Result<()> {
    let reports = run_dir(
        &[
            "test/resources/multiple-resources.wast",
            "test/wasmtime/resources.wast",
        ],
        "resources",
    )?;
    for (file, r) in &reports {
        println!("{file}: {} of {} components fused", r.fused, r.components);
        assert!(r.unsupported.is_empty(), "{file}: {:#?}", r.unsupported);
    }
    Ok(())
}

/// The value, adapter and resource scripts again, every component fused
/// with one memory (`--single-memory`): the same results and traps.
#[test]
fn value_and_resource_scripts_pass_in_one_memory() -> Result<()> {
    let options = solder::Options {
        single_memory: true,
        ..solder::Options::default()
    };
    let reports = run_dir_with(
        &[
            "test/values/strings.wast",
            "test/wasmtime/fused.wast",
            "test/wasmtime/strings.wast",
            "test/wasmtime/adapter.wast",
            "test/resources/multiple-resources.wast",
            "test/wasmtime/resources.wast",
        ],
        "one-memory",
        &options,
    )?;
    let mut total = 0;
    for (file, r) in &reports {
        println!("{file}: {} of {} components fused", r.fused, r.components);
        assert!(r.unsupported.is_empty(), "{file}: {:#?}", r.unsupported);
        total += r.fused;
    }
    assert!(total > 0);
    Ok(())
}

/// The components of the other scripts that Solder still declines, by
/// script, with the feature each one's error names, in order. Every other
/// component must fuse and its script pass fused. A change either way fails
/// the test: a component that regresses to `unsupported` cannot hide
/// among the passing scripts, and progress is recorded here.
const DECLINED: &[(&str, &[&str])] = &[
    // wasmtime rejects these too: component imports and exports.
    (
        "restrictions.wast",
        &["import-kind", "export-kind", "import-kind"],
    ),
    ("simple.wast", &["import-kind", "export-kind"]),
];

/// Every other script of the snapshot's `wasmtime/`, `values/` and
/// `resources/` directories that runs as written on this engine: the fused
/// run must pass too, and only the components [`DECLINED`] lists may keep
/// their original bytes.
#[test]
fn other_scripts_pass_fused_but_for_the_declined_list() -> Result<()> {
    other_scripts(&solder::Options::default(), "others")
}

/// [`other_scripts_pass_fused_but_for_the_declined_list`], every component
/// fused with one memory (`--single-memory`).
#[test]
fn other_scripts_pass_in_one_memory_but_for_the_declined_list() -> Result<()> {
    let options = solder::Options {
        single_memory: true,
        ..solder::Options::default()
    };
    other_scripts(&options, "others-one-memory")
}

fn other_scripts(options: &solder::Options, test: &str) -> Result<()> {
    let root = host_tests::spec::snapshot()?;
    let engine = engine()?;
    let work = host_tests::repo_root()
        .join("target")
        .join("spec-wast")
        .join(test);
    let mut files = Vec::new();
    for dir in ["test/wasmtime", "test/values", "test/resources"] {
        for entry in std::fs::read_dir(root.join(dir))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wast") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut fused, mut components, mut scripts) = (0, 0, 0);
    let mut seen = Vec::new();
    for path in &files {
        // Scripts this engine cannot run as written (async builtins, GC
        // ABI, ...) say nothing about fusion.
        let mut ctx = context(&engine)?;
        if ctx.run_file(path).is_err() {
            println!("{}: skipped, does not run as written here", path.display());
            continue;
        }
        let r = run_both_with(&engine, Async::No, options, path, &work)?;
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("?");
        println!("{file}: {} of {} components fused", r.fused, r.components);
        let declined = DECLINED
            .iter()
            .find(|(f, _)| *f == file)
            .map_or(&[][..], |(_, d)| *d);
        assert_eq!(r.features, declined, "{file}: {:#?}", r.unsupported);
        if !declined.is_empty() {
            seen.push(file.to_string());
        }
        fused += r.fused;
        components += r.components;
        scripts += 1;
    }
    assert_eq!(
        seen.len(),
        DECLINED.len(),
        "every listed script ran: {seen:?}"
    );
    println!("{scripts} scripts pass fused; {fused} of {components} components fused");
    assert!(scripts >= 10);
    Ok(())
}

/// The async scripts in which Solder fuses some components: how many, of
/// how many. A component whose async use stays at its boundary with the
/// host (one component instance's async lifts, async lowers of host
/// functions and async built-ins, and no resource handles beside them)
/// fuses, and the output passes the async ABI on to the host; so does an
/// async lower of another component's synchronous lift, whose callee runs
/// to the end within the call. Every other
/// component of the async scripts is declined with an `unsupported` error
/// naming what stands in the way (an async call between components, async
/// in two component instances, a handle beside the async ABI), and its
/// script must pass fused with the components that did fuse. A change
/// either way fails the test, so progress is recorded here.
const ASYNC_FUSED: &[(&str, usize, usize)] = &[
    ("misc/async/async-builtins.wast", 4, 4),
    ("misc/async/backpressure-overflow.wast", 1, 1),
    // A synchronous lower of an `async` function from a task that may not
    // block traps at the call, before the callee (lifted async) starts.
    ("misc/async/callback-yield-then-exit.wast", 1, 1),
    // The host's resource handles, borrowed by an async host call that is
    // cancelled, pass through as the host numbers them.
    ("misc/async/cancel-host.wast", 5, 5),
    ("misc/async/drop-deadlock.wast", 1, 1),
    ("misc/async/drop-host.wast", 1, 1),
    ("misc/async/error-context.wast", 4, 4),
    // An async lower of an async lift whose task ends on its first run
    // (run in the adapter), an async lower of a synchronous lift, and a
    // synchronous lower of an async lift from a task that may not block (a
    // trap at the call).
    ("misc/async/fused.wast", 3, 3),
    ("misc/async/future-cancel-read-dropped.wast", 1, 1),
    ("misc/async/future-cancel-write-dropped.wast", 1, 1),
    // The synchronous call of an `async` function from a task that may not
    // block; the others call async lifts or use async in two instances.
    ("misc/async/future-read.wast", 1, 4),
    ("misc/async/futures.wast", 8, 8),
    ("misc/async/intra-futures.wast", 1, 1),
    ("misc/async/intra-streams.wast", 4, 4),
    ("misc/async/lift.wast", 1, 1),
    ("misc/async/lower.wast", 1, 1),
    // Calls of async lifts whose tasks end on their first run, with
    // parameters and results through memory.
    ("misc/async/many-params-with-retptr.wast", 1, 1),
    // One composition makes an async call of an async lift (whose task
    // ends within it); the synchronous one traps at the call.
    ("misc/async/stackful.wast", 6, 6),
    ("misc/async/stream-big-read-and-writes.wast", 2, 2),
    ("misc/async/stream-cancel-finished-op.wast", 1, 1),
    ("misc/async/streams.wast", 11, 11),
    // Tasks the fused module keeps: an async call of a lift whose callback
    // waits on an empty set, awaited by its caller (the callee's code traps).
    ("misc/async/subtask-wait.wast", 1, 1),
    ("misc/async/trap-if-transfer-in-waitable-set.wast", 1, 1),
    // Tasks the fused module keeps: a task waits on a set nothing will
    // ever wake, synchronously called (`wait-forever`) and awaited through
    // a subtask (`wait-forever2`); both deadlock, a trap.
    ("misc/async/wait-forever.wast", 1, 1),
    ("misc/async/wait-forever2.wast", 1, 1),
    ("misc/async/waitable-set-stale-entry.wast", 1, 1),
    // Synchronous and async calls of synchronous and async lifts (whose
    // tasks end on their first run) of `async` functions, with 4, 5 and
    // 17 parameters and 1, 16 and 17 flat results.
    ("test/async/cross-abi-calls.wast", 1, 1),
    // Tasks the fused module keeps: a caller waits on its subtask of a
    // callee that waits on an empty set, a deadlock.
    ("test/async/deadlock.wast", 1, 1),
    // The second calls an `async` function from a start function, which
    // may not block: a trap at the call.
    ("test/async/dont-block-start.wast", 2, 2),
    // Tasks the fused module keeps: subtasks of a callee that yields,
    // dropped after they resolve (the result, 42) and before (a trap).
    ("test/async/drop-subtask.wast", 1, 1),
    // Tasks the fused module keeps: a task waits on a set, and a second
    // call into the same instance drops that set (a trap).
    ("test/async/drop-waitable-set.wast", 1, 1),
    ("test/async/same-component-stream-future.wast", 1, 1),
    // The two components without async (a parent calling into its child,
    // and a child calling into its parent) trap before the call starts.
    ("test/async/trap-on-reenter.wast", 2, 3),
    ("test/async/wait-during-callback.wast", 1, 1),
];

/// The async scripts of the snapshot (`test/async/` of the component model,
/// `misc_testsuite/component-model/async/` of wasmtime) that run as written
/// on this engine, each on the engine its header asks for.
#[test]
fn async_scripts_pass_fused_but_for_the_declined_list() -> Result<()> {
    let ledger = async_scripts(&solder::Options::default(), "async")?;
    assert_eq!(
        ledger,
        async_fused(),
        "the scripts with fused components changed"
    );
    Ok(())
}

/// [`ASYNC_FUSED`], owned, as [`async_scripts`] returns it.
fn async_fused() -> Vec<(String, usize, usize)> {
    ASYNC_FUSED
        .iter()
        .map(|(f, n, of)| (f.to_string(), *n, *of))
        .collect()
}

/// The same scripts, with every async component instance given a handle
/// table of its own in the fused module (what a composition gets where
/// another instance holds the host's handles too): every number the
/// scripts check passes through the translation, and the same components
/// fuse. (Here the host's numbers and the instance's agree, as no other
/// instance holds the host's handles; `fixtures/wat/async/
/// beside-host-handles.wast` is where they differ.)
#[test]
fn async_scripts_pass_fused_with_the_async_instance_s_own_table() -> Result<()> {
    let options = solder::Options {
        own_async_table: true,
        ..solder::Options::default()
    };
    let ledger = async_scripts(&options, "async-table")?;
    assert_eq!(
        ledger,
        async_fused(),
        "the scripts with fused components changed"
    );
    Ok(())
}

/// Runs every async script as written and fused with `options` (in
/// `target/spec-wast/<work>`), checks each refusal, and returns which
/// scripts had components fused: name, fused, components.
fn async_scripts(options: &solder::Options, work: &str) -> Result<Vec<(String, usize, usize)>> {
    let root = host_tests::spec::snapshot()?;
    let misc = root
        .parent()
        .context("the snapshot's parent")?
        .join("misc_testsuite/component-model/async");
    let work = host_tests::repo_root()
        .join("target")
        .join("spec-wast")
        .join(work);
    let mut files = Vec::new();
    for (dir, prefix) in [
        (root.join("test/async"), "test/async"),
        (misc, "misc/async"),
    ] {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wast") {
                let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("?");
                files.push((format!("{prefix}/{name}"), path));
            }
        }
    }
    files.sort();
    let (mut fused, mut components, mut scripts) = (0, 0, 0);
    let mut ledger = Vec::new();
    for (file, path) in &files {
        let file = file.as_str();
        let engine = engine_for(path)?;
        let mut ctx = context_with(&engine, Async::Yes)?;
        if let Err(e) = ctx.run_file(path) {
            println!("{file}: skipped, does not run as written here: {e:#}");
            continue;
        }
        let r = run_both_with(&engine, Async::Yes, options, path, &work)?;
        println!(
            "{file}: {} of {} components fused; declined: {:?}",
            r.fused, r.components, r.unsupported
        );
        for u in &r.unsupported {
            // Each refusal says where: the component instance's path.
            assert!(u.contains("(in root"), "{file}: {u}");
        }
        for f in &r.features {
            assert!(
                f == "async" || f == "canon-builtin",
                "{file}: declined for `{f}`: {:#?}",
                r.unsupported
            );
        }
        if r.fused > 0 {
            ledger.push((file.to_string(), r.fused, r.components));
        }
        fused += r.fused;
        components += r.components;
        scripts += 1;
    }
    println!("{scripts} async scripts run; {fused} of {components} components fused");
    assert!(scripts >= 40);
    Ok(ledger)
}

/// Our own async scripts (`fixtures/wat/async/`): compositions whose async
/// use stays at their boundary with the host. Every component in them
/// fuses, and each script passes as written and fused.
#[test]
fn own_async_scripts_pass_fused() -> Result<()> {
    let dir = host_tests::repo_root().join("fixtures/wat/async");
    let work = host_tests::repo_root()
        .join("target")
        .join("spec-wast")
        .join("own-async");
    let mut scripts = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "wast") {
            continue;
        }
        let engine = engine_for(&path)?;
        // As the composition needs, and with the async instance's own
        // table.
        for own_async_table in [false, true] {
            let options = solder::Options {
                own_async_table,
                ..solder::Options::default()
            };
            let r = run_both_with(&engine, Async::Yes, &options, &path, &work)?;
            assert!(r.components > 0, "{}: no component", path.display());
            assert_eq!(
                r.fused,
                r.components,
                "{}: declined: {:#?}",
                path.display(),
                r.unsupported
            );
        }
        scripts += 1;
    }
    assert!(scripts >= 1);
    Ok(())
}

/// The first component a script's text defines, as bytes.
fn first_component(text: &str) -> Result<Vec<u8>> {
    let buf = wast::parser::ParseBuffer::new(text)?;
    let ast = wast::parser::parse::<wast::Wast>(&buf)?;
    let converted = json_from_wast::Opts::default().convert("script.wast", text, ast)?;
    let (_, bytes) = converted
        .wasms
        .into_iter()
        .next()
        .context("the script's component")?;
    Ok(bytes)
}

/// Calls of async lifts whose tasks end within the call leave no async
/// built-in to the host (the callee's `task.return` is the fused
/// module's), so the composition of `run-to-end.wast` fuses to one memory
/// too, and passes the same script; and to a core module, which
/// validates.
#[test]
fn calls_of_async_lifts_that_end_at_once_fuse_to_one_memory_and_a_core_module() -> Result<()> {
    let path = host_tests::repo_root().join("fixtures/wat/async/run-to-end.wast");
    let work = host_tests::repo_root()
        .join("target")
        .join("spec-wast")
        .join("one-memory-async");
    let engine = engine_for(&path)?;
    let one_memory = solder::Options {
        single_memory: true,
        ..solder::Options::default()
    };
    let r = run_both_with(&engine, Async::Yes, &one_memory, &path, &work)?;
    assert_eq!((r.fused, r.components), (1, 1), "{:#?}", r.unsupported);
    let bytes = first_component(&std::fs::read_to_string(&path)?)?;
    let core = solder::Options {
        output: solder::OutputKind::CoreModule,
        ..solder::Options::default()
    };
    let module = solder::fuse(&[&bytes], &core)?.bytes;
    assert!(!wasmparser::Parser::is_component(&module));
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&module)?;
    Ok(())
}

/// A call of an async lift whose task may wait (its `callback` lift
/// returns a code computed at run time: always `EXIT` in
/// `run-to-end.wast`, but not proved) needs tasks the fused module keeps.
/// In `run-to-end.wast` the caller then waits on its own stack (it calls
/// `shout` synchronously) and is entered through root exports whose type
/// is not `async`, whose tasks may not block: the call is refused with an
/// `unsupported` error that names the function and says what stands in
/// the way.
#[test]
fn an_async_lift_whose_task_may_wait_is_refused_with_why() -> Result<()> {
    let path = host_tests::repo_root().join("fixtures/wat/async/run-to-end.wast");
    let text = std::fs::read_to_string(&path)?;
    let exit = "(call $ret.string (local.get $o) (i32.add (local.get $n) (i32.const 1)))\n        (i32.const 0 (; EXIT ;)))";
    assert!(text.contains(exit));
    let computed = text.replace(
        exit,
        "(call $ret.string (local.get $o) (i32.add (local.get $n) (i32.const 1)))\n        (i32.and (local.get $n) (i32.const 0)))",
    );
    for (text, fuses) in [(text.as_str(), true), (computed.as_str(), false)] {
        let bytes = first_component(text)?;
        match solder::fuse(&[&bytes], &solder::Options::default()) {
            Ok(_) => assert!(fuses, "fused a lift whose code is not proved"),
            Err(e) => {
                assert!(!fuses, "{e}");
                let e = e.to_string();
                assert!(e.contains("unsupported"), "{e}");
                assert!(
                    e.contains("`shout`")
                        && e.contains("whose task may wait")
                        && e.contains("waits on its own stack")
                        && e.contains("whose type is not `async`"),
                    "{e}"
                );
            }
        }
    }
    Ok(())
}

/// A synchronous `subtask.cancel` may run other tasks' turns while it
/// waits: from an instance whose `callback` lift another component calls
/// (so that the loop runs its turns), the fuser refuses it and says why.
/// `cancel.wast`'s caller, called by a third component instead of the
/// host, is such an instance.
#[test]
fn a_sync_cancel_beside_turns_the_loop_runs_is_refused_with_why() -> Result<()> {
    let path = host_tests::repo_root().join("fixtures/wat/async/cancel.wast");
    let text = std::fs::read_to_string(&path)?;
    let roots = r#"  (export "now" (func $caller "now"))
  (export "sync" (func $caller "sync"))
  (export "twice" (func $caller "twice"))
  (export "in-set" (func $caller "in-set"))
  (export "early" (func $caller "early")))"#;
    assert!(text.contains(roots));
    let outer = r#"  (component $Outer
    (import "sync" (func $sync async (param "mode" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $sync.async (canon lower (func $sync) async (memory $memory)))
    (core module $M
      (import "" "sync" (func (param i32 i32) (result i32)))
      (func (export "go") (result i32) unreachable)
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
    (core instance $m (instantiate $M
      (with "" (instance (export "sync" (func $sync.async))))))
    (func (export "go") async (result u32)
      (canon lift (core func $m "go") async (callback (core func $m "cb")))))
  (instance $outer (instantiate $Outer (with "sync" (func $caller "sync"))))
  (export "go" (func $outer "go")))"#;
    let bytes = first_component(&text.replace(roots, outer))?;
    let e = match solder::fuse(&[&bytes], &solder::Options::default()) {
        Ok(_) => bail!("fused a synchronous cancel beside turns the loop runs"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("unsupported"), "{e}");
    assert!(
        e.contains("cancels a subtask synchronously") && e.contains("`sync`"),
        "{e}"
    );
    Ok(())
}

/// The fused async component's exports keep their types, `async`
/// included. An output that no component model host runs has nothing to
/// pass the async built-ins to: core-module and one-memory output of an
/// async component are refused with an `unsupported` error that names the
/// component instance.
#[test]
fn async_needs_component_output() -> Result<()> {
    let path = host_tests::repo_root().join("fixtures/wat/async/host-boundary.wast");
    let bytes = &first_component(&std::fs::read_to_string(&path)?)?;
    let fused = solder::fuse(&[bytes], &solder::Options::default())?;
    // The exports keep their types, `async` included.
    let engine = engine_for(&path)?;
    let signature = |bytes: &[u8]| -> Result<Vec<String>> {
        let component = wasmtime::component::Component::new(&engine, bytes)?;
        let ty = component.component_type();
        let mut out = Vec::new();
        for (name, item) in ty.exports(&engine) {
            let wasmtime::component::types::ComponentItem::ComponentFunc(f) = item.ty else {
                bail!("`{name}` is not a function");
            };
            let params: Vec<_> = f.params().map(|(n, t)| format!("{n}: {t:?}")).collect();
            let results: Vec<_> = f.results().map(|t| format!("{t:?}")).collect();
            out.push(format!(
                "{name}: async {} ({params:?}) -> {results:?}",
                f.async_()
            ));
        }
        Ok(out)
    };
    let composed = signature(bytes)?;
    assert_eq!(composed.len(), 3);
    assert!(
        composed.iter().all(|s| s.contains("async true")),
        "{composed:?}"
    );
    assert_eq!(signature(&fused.bytes)?, composed);
    for (what, options) in [
        (
            "core-module output",
            solder::Options {
                output: solder::OutputKind::CoreModule,
                ..Default::default()
            },
        ),
        (
            "one-memory output",
            solder::Options {
                single_memory: true,
                ..Default::default()
            },
        ),
    ] {
        let Err(e) = solder::fuse(&[bytes], &options) else {
            bail!("{what} of an async component was not refused");
        };
        assert_eq!(e.kind(), solder::ErrorKind::Unsupported, "{what}: {e}");
        assert_eq!(e.feature(), Some("async"), "{what}: {e}");
        let message = e.to_string();
        assert!(message.contains(what), "{message}");
        assert!(message.contains("root/component[1]"), "{message}");
    }
    Ok(())
}
