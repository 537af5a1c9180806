//! Real guests, each built by its own toolchain: `wasm32-wasip1` core
//! modules adapted into components with the WASI preview1 adapter (as
//! cargo-component and `wasm-tools component new --adapt` do), and the
//! providers of `solder:p1/text` (`fixtures/wit/p1`) built with
//! cargo-component, componentize-py and componentize-js, alone or plugged
//! into the runner `p1-app`. The preview1 tests and the bench build them
//! through here.
//!
//! A toolchain that is not installed is a [`MissingToolchain`] error, so
//! that the bench can skip its rows and say why; `.ci/test` installs them
//! all.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
pub use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

/// A guest toolchain is not installed.
#[derive(Debug)]
pub struct MissingToolchain {
    /// The program or package that is missing.
    pub tool: String,
    /// How `.ci/test` installs it.
    pub install: &'static str,
}

impl std::fmt::Display for MissingToolchain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not installed (.ci/test installs it: {})",
            self.tool, self.install
        )
    }
}

impl std::error::Error for MissingToolchain {}

/// A `wasm32-wasip1` core module of `fixtures/preview1`, built by the build
/// script (e.g. `p1-app.wasm`, `p1_lib.wasm`).
pub fn core_module(name: &str) -> Result<Vec<u8>> {
    let path = Path::new(env!("SOLDER_P1_DIR")).join(name);
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// `wasm-tools component new MODULE --adapt wasi_snapshot_preview1=ADAPTER`.
pub fn adapt(module: &[u8], adapter: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)?
        .adapter("wasi_snapshot_preview1", adapter)?
        .validate(true)
        .encode()
}

/// The runner `p1-app`, adapted into a command component.
pub fn p1_app() -> Result<Vec<u8>> {
    adapt(
        &core_module("p1-app.wasm")?,
        WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    )
}

/// The Rust provider `p1-lib`, adapted into a reactor component.
pub fn p1_lib() -> Result<Vec<u8>> {
    adapt(
        &core_module("p1_lib.wasm")?,
        WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    )
}

/// A provider of `solder:p1/text` plugged into the runner `p1-app`, as
/// `wac plug` composes them.
pub fn plugged_into_p1_app(lib: &[u8]) -> Result<Vec<u8>> {
    crate::compose::plug(&p1_app()?, &[lib])
}

/// A directory for one toolchain's build output, under `target/wasm`.
pub fn out_dir(toolchain: &str) -> Result<PathBuf> {
    let dir = crate::repo_root().join("target/wasm").join(toolchain);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs a guest toolchain's build `cmd` and reads what it wrote to
/// `output`; `install` says how `.ci/test` provides the tool. A program
/// that cannot be found (or a version manager's shim that says so, with
/// status 127) is a [`MissingToolchain`]. What the tool prints goes to
/// standard error, so that the caller's standard output stays its own.
pub fn build_guest(cmd: &mut Command, output: &Path, install: &'static str) -> Result<Vec<u8>> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdout(std::io::stderr());
    let missing = || MissingToolchain {
        tool: program.clone(),
        install,
    };
    let status = match cmd.status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing().into()),
        Err(e) => return Err(e).with_context(|| format!("running {program}")),
    };
    if status.code() == Some(127) {
        return Err(missing().into());
    }
    if !status.success() {
        bail!("{program} failed ({status}); .ci/test provides it: {install}");
    }
    std::fs::read(output).with_context(|| format!("reading {}", output.display()))
}

/// `cargo component build --release` of `fixtures/cargo-component/cc-lib`:
/// the component's bytes.
pub fn cargo_component_lib() -> Result<Vec<u8>> {
    let root = crate::repo_root();
    let target = root.join("target/wasm/cargo-component");
    let mut cmd = Command::new("cargo");
    cmd.args(["component", "build", "--release", "--manifest-path"])
        .arg(root.join("fixtures/cargo-component/cc-lib/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
    // The host's own cargo settings are not the guest's.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR" {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUSTFLAGS");
    build_guest(
        &mut cmd,
        &target.join("wasm32-wasip1/release/cc_lib.wasm"),
        "cargo install cargo-component",
    )
}

/// `fixtures/python/text_lib.py` built with componentize-py: about 18 MB,
/// a dozen core modules.
pub fn python_lib() -> Result<Vec<u8>> {
    componentize_py("p1", "lib", "text_lib")
}

/// `fixtures/python/async_guest.py` built with componentize-py: the
/// async guest world of `fixtures/wit/async-guest`, in Python's async
/// support (about 21 MB).
pub fn python_async_guest() -> Result<Vec<u8>> {
    componentize_py("async-guest", "guest", "async_guest")
}

/// `fixtures/python/async_app.py`, world `app` of
/// `fixtures/wit/async-guest`, built with componentize-py: an async guest
/// that calls a synchronous component.
pub fn python_async_app() -> Result<Vec<u8>> {
    componentize_py("async-guest", "app", "async_app")
}

/// `fixtures/python/shouter_app.py`, world `shouter-app` of
/// `fixtures/wit/async-guest`, built with componentize-py: an async guest
/// that awaits another async component's calls.
pub fn python_shouter_app() -> Result<Vec<u8>> {
    componentize_py("async-guest", "shouter-app", "shouter_app")
}

/// `fixtures/python/shouter_lib.py`, world `shouter-lib` of
/// `fixtures/wit/async-guest`, built with componentize-py: an async
/// provider another async component awaits.
pub fn python_shouter_lib() -> Result<Vec<u8>> {
    componentize_py("async-guest", "shouter-lib", "shouter_lib")
}

/// The Python module `fixtures/python/{module}.py` built with
/// componentize-py for `world` of `fixtures/wit/{wit}`.
fn componentize_py(wit: &str, world: &str, module: &str) -> Result<Vec<u8>> {
    let root = crate::repo_root();
    let wasm = out_dir("python")?.join(format!("{module}.wasm"));
    build_guest(
        Command::new("componentize-py")
            .arg("-d")
            .arg(root.join("fixtures/wit").join(wit))
            .args(["-w", world, "componentize", module, "-p"])
            .arg(root.join("fixtures/python"))
            .arg("-o")
            .arg(&wasm),
        &wasm,
        "pip install componentize-py",
    )
}

/// `fixtures/js/text.js` built with componentize-js (the packages of
/// `fixtures/js`, installed with `npm ci`): about 12 MB.
pub fn javascript_lib() -> Result<Vec<u8>> {
    const INSTALL: &str = "npm ci in fixtures/js";
    let dir = crate::repo_root().join("fixtures/js");
    if !dir
        .join("node_modules/@bytecodealliance/componentize-js")
        .is_dir()
    {
        return Err(MissingToolchain {
            tool: "componentize-js".into(),
            install: INSTALL,
        }
        .into());
    }
    let wasm = out_dir("js")?.join("text.wasm");
    build_guest(
        Command::new("node")
            .current_dir(&dir)
            .arg("build.mjs")
            .arg("text.js")
            .arg(crate::repo_root().join("fixtures/wit/p1"))
            .arg("lib")
            .arg(&wasm),
        &wasm,
        INSTALL,
    )
}

/// The Rust fixtures `scalars-app`, `scalars-mid` and `scalars-lib` built
/// with DWARF, as a release build with debugging information is
/// (`CARGO_PROFILE_RELEASE_DEBUG=true`, nothing stripped): `version` 4
/// (rustc's default for WebAssembly) into `target/wasm/debug-info`, or 5
/// (`-Cdwarf-version=5`; the standard library's units stay DWARF 4) into
/// `target/wasm/debug-info-5`. The other tests' fixtures are built
/// without DWARF. Built once per run (cargo skips the build when nothing
/// changed); returns the directory of the components (`scalars-app.wasm`,
/// `scalars_mid.wasm`, `scalars_lib.wasm`).
pub fn debug_fixtures(version: u32) -> Result<PathBuf> {
    type Built = std::sync::OnceLock<std::result::Result<PathBuf, String>>;
    static BUILT: [Built; 2] = [Built::new(), Built::new()];
    let (built, dir, flags) = match version {
        4 => (&BUILT[0], "debug-info", ""),
        5 => (&BUILT[1], "debug-info-5", "-Cdwarf-version=5"),
        other => bail!("no fixtures with DWARF {other}"),
    };
    let built = built.get_or_init(|| {
        let root = crate::repo_root();
        let target = root.join("target/wasm").join(dir);
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--release", "--target", "wasm32-wasip2"])
            .args([
                "-p",
                "scalars-app",
                "-p",
                "scalars-mid",
                "-p",
                "scalars-lib",
            ])
            .arg("--manifest-path")
            .arg(root.join("fixtures/Cargo.toml"));
        // The host's own cargo settings are not the guests'.
        for (key, _) in std::env::vars() {
            if key.starts_with("CARGO_") && key != "CARGO_HOME" {
                cmd.env_remove(key);
            }
        }
        cmd.env("RUSTFLAGS", flags)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_PROFILE_RELEASE_DEBUG", "true")
            .env("CARGO_PROFILE_RELEASE_STRIP", "none");
        let out = target.join("wasm32-wasip2/release");
        build_guest(
            &mut cmd,
            &out.join("scalars_lib.wasm"),
            "rustup target add wasm32-wasip2",
        )
        .map(|_| out)
        .map_err(|e| format!("{e:#}"))
    });
    built.clone().map_err(|e| anyhow::anyhow!(e))
}
