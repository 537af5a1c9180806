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
use std::path::{Path, PathBuf};
use std::process::Command;
use wasmtime::{Config, Engine};
use wasmtime_wast::{Async, SpectestConfig, WastContext};

/// Finds (downloading if needed) the component-model snapshot.
fn snapshot() -> Result<PathBuf> {
    let dir = host_tests::repo_root().join("target").join("spec-snapshot");
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

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(true);
    Engine::new(&config).map_err(Into::into)
}

/// What the fused run of one script did.
#[derive(Debug, Default)]
struct Fused {
    components: usize,
    fused: usize,
    /// Components the fuser declined, with its reason.
    unsupported: Vec<String>,
}

/// Runs `path` as written, then fused; returns what fusing did.
fn run_both(engine: &Engine, path: &Path, work: &Path) -> Result<Fused> {
    let mut ctx = WastContext::new(engine, Async::No, |_| {});
    ctx.register_wasmtime()?;
    ctx.register_spectest(&SpectestConfig {
        use_shared_memory: false,
        suppress_prints: true,
    })?;
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
            match solder::fuse(&[bytes], &solder::Options::default()) {
                Ok(f) => {
                    report.fused += 1;
                    engine.precompile_component(&f.bytes)
                }
                Err(e) if e.kind() == solder::ErrorKind::Unsupported => {
                    report.unsupported.push(format!("{name}: {e}"));
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
    let mut ctx = WastContext::new(engine, Async::No, |_| {});
    ctx.register_wasmtime()?;
    ctx.register_spectest(&SpectestConfig {
        use_shared_memory: false,
        suppress_prints: true,
    })?;
    ctx.precompile_load(&dir);
    ctx.run_file(path)
        .map_err(|e| anyhow::anyhow!("{} fused: {e:?}", path.display()))?;
    Ok(report)
}

fn run_dir(files: &[&str]) -> Result<Vec<(String, Fused)>> {
    let root = snapshot()?;
    let engine = engine()?;
    let work = host_tests::repo_root().join("target").join("spec-wast");
    let mut out = Vec::new();
    for f in files {
        let report = run_both(&engine, &root.join(f), &work)?;
        out.push((f.to_string(), report));
    }
    Ok(out)
}

/// The scripts about values and adapters: every component must fuse, and
/// both runs must pass.
#[test]
fn value_and_adapter_scripts_pass_fused() -> Result<()> {
    let reports = run_dir(&[
        "test/values/strings.wast",
        "test/wasmtime/fused.wast",
        "test/wasmtime/strings.wast",
        "test/wasmtime/adapter.wast",
    ])?;
    let mut total = 0;
    for (file, r) in &reports {
        println!("{file}: {} of {} components fused", r.fused, r.components);
        assert!(r.unsupported.is_empty(), "{file}: {:#?}", r.unsupported);
        total += r.fused;
    }
    assert!(total > 0);
    Ok(())
}
