//! The fuser as a step of a component pipeline: the `bundler` fixture (a
//! command that imports `solder:fuser/fuse`) composed with the fuser
//! component as `wac plug` does, run under wasmtime on fixture files. Its
//! output must equal the native library's byte for byte and run like the
//! wac composition of the same inputs. Then the pipeline itself is fused
//! by Solder from its two parts, and must give the same answers.

use anyhow::{Result, ensure};
use host_tests::{artifact, compose, run};
use std::path::{Path, PathBuf};
use wasmtime::Engine;

/// A scratch directory the bundler sees as its working directory.
fn scratch(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("solder-pipeline-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for (file, artifact_name) in [
        ("app.wasm", "scalars-app.wasm"),
        ("mid.wasm", "scalars_mid.wasm"),
        ("lib.wasm", "scalars_lib.wasm"),
    ] {
        std::fs::write(dir.join(file), artifact(artifact_name)?)?;
    }
    Ok(dir)
}

/// Runs the pipeline in `dir` and checks it against the library: fused
/// bytes equal `solder::fuse`'s, a failure names the same error.
fn check_pipeline(engine: &Engine, pipeline: &[u8], dir: &Path) -> Result<Vec<u8>> {
    let bundler = run::Command::new(engine, pipeline)?;
    let read = |f: &str| std::fs::read(dir.join(f));

    // Two separate inputs, wired by interface name.
    let out = bundler.run_in(&["out.wasm", "app.wasm", "lib.wasm"], dir)?;
    ensure!(
        out.status == Ok(0),
        "bundler failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.stdout_text().starts_with("out.wasm: "),
        "{}",
        out.stdout_text()
    );
    let bundled = read("out.wasm")?;
    let native = solder::fuse(
        &[&read("app.wasm")?, &read("lib.wasm")?],
        &solder::Options::default(),
    )?;
    ensure!(
        bundled == native.bytes,
        "the pipeline's output differs from the library's"
    );

    // An ambiguous wiring: the error crosses the pipeline intact.
    let out = bundler.run_in(&["bad.wasm", "app.wasm", "mid.wasm", "lib.wasm"], dir)?;
    ensure!(out.status == Ok(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let native = match solder::fuse(
        &[&read("app.wasm")?, &read("mid.wasm")?, &read("lib.wasm")?],
        &solder::Options::default(),
    ) {
        Err(e) => e,
        Ok(_) => anyhow::bail!("app, mid and lib are ambiguous"),
    };
    ensure!(
        stderr.trim_end()
            == format!(
                "error: unresolved: {} (in {})",
                native.message(),
                native.path()
            ),
        "{stderr}"
    );
    ensure!(!dir.join("bad.wasm").exists());
    Ok(bundled)
}

#[test]
fn bundler_plugged_with_the_fuser_fuses_like_the_library() -> Result<()> {
    let engine = run::engine()?;
    let bundler = artifact("bundler.wasm")?;
    let fuser = host_tests::fuser_component()?;
    let pipeline = compose::plug(&bundler, &[&fuser])?;
    let dir = scratch("plugged")?;
    let bundled = check_pipeline(&engine, &pipeline, &dir)?;

    // What the pipeline bundled runs like wac's composition of the inputs.
    let reference = compose::plug(
        &artifact("scalars-app.wasm")?,
        &[&artifact("scalars_lib.wasm")?],
    )?;
    for args in [&[][..], &["trap"], &["exit3"]] {
        let a = run::run_command(&engine, &reference, args)?;
        let b = run::run_command(&engine, &bundled, args)?;
        assert_eq!(a, b, "{args:?}");
    }

    // The pipeline itself, fused by Solder from its two parts, answers the
    // same.
    let fused_pipeline = solder::fuse(&[&bundler, &fuser], &solder::Options::default())?.bytes;
    let again = scratch("fused")?;
    let bundled_again = check_pipeline(&engine, &fused_pipeline, &again)?;
    assert!(
        bundled == bundled_again,
        "the fused pipeline's output differs"
    );
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&again).ok();
    Ok(())
}
