//! What `fuse` returns, for every fixture and for the fuser itself:
//!
//! - it validates (validation is on by default, and checked again here),
//!   as a component and as a core module;
//! - it is deterministic: the same bytes natively (twice), through the
//!   fuser component's `fuse` export (in two fresh instances), and through
//!   the fuser component's command line run in two different working
//!   directories.

use anyhow::{Result, bail};
use host_tests::fuser::{FuserComponent, Options, OutputKind};
use host_tests::run::Command;

fn validate(bytes: &[u8]) -> Result<()> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)?;
    Ok(())
}

#[test]
fn every_output_validates_and_is_the_same_everywhere() -> Result<()> {
    assert!(
        solder::Options::default().validate,
        "validation is the default"
    );
    let engine = host_tests::run::engine()?;
    let fuser_bytes = host_tests::fuser_component()?;
    let compiled = wasmtime::component::Component::new(&engine, &fuser_bytes)?;
    let fuser = FuserComponent::from_component(&engine, compiled.clone())?;
    let cli = Command::from_component(&engine, &compiled)?;
    let work = std::env::temp_dir().join(format!("solder-output-{}", std::process::id()));
    let dirs = [work.join("a"), work.join("b").join("nested")];
    for d in &dirs {
        std::fs::create_dir_all(d)?;
    }

    let mut inputs = host_tests::fixtures()?;
    inputs.retain(|(name, _)| name != "module-import.wat");
    inputs.push(("the fuser component".into(), fuser_bytes.clone()));
    for (name, input) in &inputs {
        let start = std::time::Instant::now();
        for (output, flag) in [
            (solder::OutputKind::Component, None),
            (solder::OutputKind::CoreModule, Some("--core")),
        ] {
            let options = solder::Options {
                output,
                ..solder::Options::default()
            };
            if output == solder::OutputKind::CoreModule
                && host_tests::COMPONENT_ONLY.contains(&name.as_str())
            {
                let e = solder::fuse(&[input], &options).err();
                assert_eq!(
                    e.as_ref().map(solder::Error::kind),
                    Some(solder::ErrorKind::Unsupported),
                    "{name}: core-module output"
                );
                continue;
            }
            let native = solder::fuse(&[input], &options)?.bytes;
            validate(&native)?;
            assert_eq!(
                solder::fuse(&[input], &options)?.bytes,
                native,
                "{name}: natively twice"
            );
            let wit = || Options {
                output: match output {
                    solder::OutputKind::Component => OutputKind::Component,
                    solder::OutputKind::CoreModule => OutputKind::CoreModule,
                },
                validate: true,
                strip_debug: false,
                single_memory: false,
            };
            for _ in 0..2 {
                match fuser.fuse(std::slice::from_ref(input), wit())? {
                    Ok(f) => assert!(f.bytes == native, "{name}: through the component"),
                    Err(e) => bail!("{name}: {e:?}"),
                }
            }
            for dir in &dirs {
                std::fs::write(dir.join("in.wasm"), input)?;
                let mut args = vec!["fuse", "in.wasm", "-o", "out.wasm"];
                args.extend(flag);
                let outcome = cli.run_in(&args, dir)?;
                assert_eq!(
                    outcome.status,
                    Ok(0),
                    "{name}: {}",
                    String::from_utf8_lossy(&outcome.stderr)
                );
                assert!(
                    std::fs::read(dir.join("out.wasm"))? == native,
                    "{name}: the component's command line in {}",
                    dir.display()
                );
            }
        }
        println!("{name}: {:.2?}", start.elapsed());
    }
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}
