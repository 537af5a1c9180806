//! Builds the WebAssembly artifacts the host tests run: the fuser component
//! (the crate at the workspace root, for `wasm32-wasip2`) and the guest
//! fixture components under `fixtures/`. They go to `target/wasm`, beside
//! but apart from the host build, so the nested cargo never waits on the
//! outer one's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cargo_wasm(manifest: &Path, target_dir: &Path, extra: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
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
        "building {} for wasm32-wasip2 failed",
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
        &root.join("Cargo.toml"),
        &target_dir,
        &["--bin", "solder", "-p", "solder"],
    );
    cargo_wasm(&root.join("fixtures").join("Cargo.toml"), &target_dir, &[]);
    let out = target_dir.join("wasm32-wasip2").join("release");
    println!("cargo:rustc-env=SOLDER_WASM_DIR={}", out.display());
    println!("cargo:rustc-env=SOLDER_ROOT={}", root.display());
    for dir in ["src", "wit", "fixtures", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
}
