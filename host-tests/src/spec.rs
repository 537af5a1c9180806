//! The component model's own tests and executable spec, from the snapshot
//! of the component-model repository inside the `wasmtime-cli` 46.0.3
//! crate source. The snapshot is obtained through `cargo metadata` on a
//! throwaway manifest; nothing of it is copied into this repository.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds (downloading if needed) the component-model snapshot.
pub fn snapshot() -> Result<PathBuf> {
    let dir = crate::repo_root().join("target").join("spec-snapshot");
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"spec-snapshot\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nwasmtime-cli = \"=46.0.3\"\n\n[workspace]\n",
    )?;
    std::fs::write(dir.join("src").join("lib.rs"), "")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest = meta["packages"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find(|p| p["name"] == "wasmtime-cli" && p["version"] == "46.0.3")
        })
        .and_then(|p| p["manifest_path"].as_str())
        .context("wasmtime-cli 46.0.3 not in the metadata")?;
    let root = Path::new(manifest)
        .parent()
        .context("manifest has a parent")?;
    Ok(root.join("tests").join("component-model"))
}
