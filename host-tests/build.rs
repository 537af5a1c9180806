//! Builds the WebAssembly artifacts the host tests run: the fuser component
//! (the crate at the workspace root, for `wasm32-wasip2`), the guest
//! fixture components under `fixtures/` (the async guest, a workspace of
//! its own, among them), and the `wasm32-wasip1` core
//! modules under `fixtures/preview1/` that the tests adapt into components
//! with the WASI preview1 adapter. They go to `target/wasm`, beside but
//! apart from the host build, so the nested cargo never waits on the
//! outer one's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cargo_wasm(target: &str, manifest: &Path, target_dir: &Path, extra: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", target, "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .env("CARGO_TARGET_DIR", target_dir);
    // The outer build's settings are not the guests' settings.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && key != "CARGO_MAKEFLAGS"
            && key != "CARGO_TARGET_DIR"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let status = cmd.status().expect("running cargo for the wasm artifacts");
    assert!(
        status.success(),
        "building {} for {target} failed",
        manifest.display()
    );
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host-tests sits in the workspace")
        .to_path_buf();
    let target_dir = root.join("target").join("wasm");
    cargo_wasm(
        "wasm32-wasip2",
        &root.join("Cargo.toml"),
        &target_dir,
        &["--bin", "solder", "-p", "solder"],
    );
    cargo_wasm(
        "wasm32-wasip2",
        &root.join("fixtures").join("Cargo.toml"),
        &target_dir,
        &[],
    );
    cargo_wasm(
        "wasm32-wasip2",
        &root.join("fixtures").join("async-guest").join("Cargo.toml"),
        &target_dir,
        &["--workspace"],
    );
    // Core modules for the WASI preview1 adapter; the tests adapt them.
    cargo_wasm(
        "wasm32-wasip1",
        &root.join("fixtures").join("preview1").join("Cargo.toml"),
        &target_dir,
        &[],
    );
    let out = target_dir.join("wasm32-wasip2").join("release");
    println!("cargo:rustc-env=SOLDER_WASM_DIR={}", out.display());
    println!(
        "cargo:rustc-env=SOLDER_P1_DIR={}",
        target_dir.join("wasm32-wasip1").join("release").display()
    );
    println!("cargo:rustc-env=SOLDER_ROOT={}", root.display());
    for dir in ["src", "wit", "fixtures", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
}
