//! A native wasmtime host for testing Solder: it loads the fuser
//! component, calls `fuse` through its WIT interface, and runs original and
//! fused components side by side.

pub mod compose;
pub mod fuser;
pub mod generate;
pub mod run;
pub mod spec;

use std::path::PathBuf;

/// Where the build script put the wasm artifacts.
pub fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("SOLDER_WASM_DIR"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("SOLDER_ROOT"))
}

/// The bytes of a built artifact, by file name (e.g. `scalars_lib.wasm`).
pub fn artifact(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = wasm_dir().join(name);
    std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// The fuser component's bytes.
pub fn fuser_component() -> anyhow::Result<Vec<u8>> {
    artifact("solder.wasm")
}
