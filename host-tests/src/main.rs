//! `host-tests example`: fuses the bundled example composition through the
//! fuser component, runs the original and the fused component under
//! wasmtime, and shows that they behave the same.

use anyhow::{Result, bail};
use host_tests::{compose, fuser, run};
use std::time::Instant;

fn main() -> Result<()> {
    let engine = run::engine()?;
    let composed = compose::chain(
        &[
            ("app", host_tests::artifact("scalars-app.wasm")?),
            ("mid", host_tests::artifact("scalars_mid.wasm")?),
            ("lib", host_tests::artifact("scalars_lib.wasm")?),
        ],
        "solder:fixtures/scalars",
    )?;
    let out_dir = host_tests::repo_root().join("target").join("example");
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("composed.wasm"), &composed)?;

    let t = Instant::now();
    let fuser = fuser::FuserComponent::new(&engine, &host_tests::fuser_component()?)?;
    println!("loaded the fuser component in {:.2?}", t.elapsed());
    let t = Instant::now();
    let options = fuser::Options {
        output: fuser::OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    };
    let fused = match fuser.fuse(std::slice::from_ref(&composed), options)? {
        Ok(f) => f,
        Err(e) => bail!("fuse failed: {e:?}"),
    };
    println!(
        "fused a composition of {} component instances ({} core instances, {} adapters) in {:.2?}: {} bytes -> {} bytes",
        fused.report.component_instances,
        fused.report.core_instances.len(),
        fused.report.adapters.len(),
        t.elapsed(),
        composed.len(),
        fused.bytes.len()
    );
    std::fs::write(out_dir.join("fused.wasm"), &fused.bytes)?;
    println!("wrote target/example/composed.wasm and target/example/fused.wasm\n");

    let original = run::run_command(&engine, &composed, &[])?;
    let result = run::run_command(&engine, &fused.bytes, &[])?;
    println!("--- fused component's output ---\n{}", result.stdout_text());
    if original != result {
        bail!(
            "the fused component behaves differently:\noriginal: {original:?}\nfused: {result:?}"
        );
    }
    println!(
        "--- identical to the composed original: stdout, stderr and exit status {:?} ---",
        result.status
    );

    // Fuse time, natively and inside wasmtime, measured in this one run.
    let median = |f: &mut dyn FnMut() -> Result<()>| -> Result<std::time::Duration> {
        let mut times = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            f()?;
            times.push(t.elapsed());
        }
        times.sort();
        Ok(times[times.len() / 2])
    };
    let native = median(&mut || {
        solder::fuse(&[&composed], &solder::Options::default())?;
        Ok(())
    })?;
    let in_wasmtime = median(&mut || {
        let options = fuser::Options {
            output: fuser::OutputKind::Component,
            validate: true,
            strip_debug: false,
            single_memory: false,
        };
        fuser
            .fuse(std::slice::from_ref(&composed), options)?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(())
    })?;
    println!(
        "fuse time (median of 15): native {native:.2?}, fuser component in wasmtime {in_wasmtime:.2?} (x{:.1}, instantiation included)",
        in_wasmtime.as_secs_f64() / native.as_secs_f64()
    );
    Ok(())
}
