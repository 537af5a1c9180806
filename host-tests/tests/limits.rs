//! Every documented limit, crossed by a small input: a `limit-exceeded`
//! error that names the limit, natively and through the fuser component,
//! and quickly (the limits stop hostile input before it costs memory).

use anyhow::{Result, bail};
use host_tests::fuser::{FuseError, FuserComponent, Options, OutputKind};
use solder::ErrorKind;
use std::time::Instant;

#[test]
fn each_limit_gives_limit_exceeded() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let fuser = FuserComponent::new(&engine, &host_tests::fuser_component()?)?;
    let mut failures = Vec::new();
    for case in host_tests::hostile::limits()? {
        let start = Instant::now();
        let native = solder::fuse(&[&case.bytes], &solder::Options::default());
        let elapsed = start.elapsed();
        match &native {
            Err(e) if e.kind() == ErrorKind::LimitExceeded && e.message().contains(case.says) => {
                println!(
                    "{}: {e} ({} input bytes, {elapsed:.2?})",
                    case.name,
                    case.bytes.len()
                );
            }
            other => failures.push(format!(
                "{}: expected limit-exceeded ({}), got {:?}",
                case.name,
                case.says,
                other.as_ref().map(|f| f.bytes.len())
            )),
        }
        let options = Options {
            output: OutputKind::Component,
            validate: true,
            strip_debug: false,
            single_memory: false,
        };
        match fuser.fuse(std::slice::from_ref(&case.bytes), options)? {
            Err(FuseError::LimitExceeded(info)) => {
                if let Err(e) = &native {
                    assert_eq!(info.message, e.message(), "{}", case.name);
                    assert_eq!(info.path, e.path(), "{}", case.name);
                    assert_eq!(info.offset, e.offset(), "{}", case.name);
                }
            }
            other => failures.push(format!(
                "{} through the component: got {:?}",
                case.name,
                other.map(|f| f.report)
            )),
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

#[test]
fn input_size() {
    // The buffer is never written, so its pages are never touched: the
    // size check comes before anything reads the input.
    let input = vec![0u8; solder::parse::limits::MAX_INPUT_SIZE + 1];
    let e = match solder::fuse(&[&input], &solder::Options::default()) {
        Err(e) => e,
        Ok(_) => panic!("an input over the limit fused"),
    };
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert_eq!(e.path(), "root");
    let e = match solder::inspect(&input) {
        Err(e) => e,
        Ok(_) => panic!("an input over the limit was inspected"),
    };
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
}

/// Adapters just under the weight limit fuse, and their output validates:
/// the limit keeps each generated function inside wasmparser's limits on
/// a function.
#[test]
fn the_heaviest_adapters_still_validate() -> Result<()> {
    let tuple = |n: usize, t: &str| format!("(tuple {})", vec![t; n].join(" "));
    for (param, encoding) in [
        ("(list u8 9998)".to_string(), ""),
        (tuple(499, "string"), "string-encoding=utf16"),
        (tuple(499, "string"), "string-encoding=latin1+utf16"),
        (
            tuple(434, "(option (result u32 (error string)))"),
            "string-encoding=utf16",
        ),
        (tuple(99, &tuple(99, "u8")), ""),
        // With sixteen more values, so that the parameters spill.
        (
            format!(
                "(tuple (list {}) {})",
                tuple(9960, "u32"),
                vec!["u8"; 16].join(" ")
            ),
            "",
        ),
        (tuple(4990, "(list u8)"), ""),
        // Fixed-length lists in memory are loops, and heavy parts of a
        // value in memory are moved by shared functions: no limit on
        // length or depth.
        ("(list u8 1000000)".to_string(), ""),
        ("(list (tuple string u32) 100000)".to_string(), ""),
        (tuple(99, &tuple(99, "string")), "string-encoding=utf16"),
    ] {
        let wat = host_tests::hostile::adapters(&param, encoding, 1, 1);
        let bytes = wat::parse_str(&wat)?;
        let start = Instant::now();
        let fused = solder::fuse(&[&bytes], &solder::Options::default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", &param[..param.len().min(40)]))?;
        println!(
            "{}... {encoding}: {} bytes in {:.2?}",
            &param[..param.len().min(40)],
            fused.bytes.len(),
            start.elapsed()
        );
    }
    Ok(())
}

/// Lookups by name are constant-time: a module importing thousands of a
/// wide instance's exports, instantiated a hundred times, fuses at once
/// (it took minutes when each import searched the exports in turn).
#[test]
fn wide_instances_fuse_in_linear_time() -> Result<()> {
    let (exports, imports, instances) = (20_000, 5_000, 100);
    let wat = format!(
        r#"(component
             (core module $p {})
             (core instance $p (instantiate $p))
             (core module $m {})
             {})"#,
        (0..exports)
            .map(|i| format!("(func (export \"f{i}\"))"))
            .collect::<String>(),
        (exports - imports..exports)
            .map(|i| format!("(import \"\" \"f{i}\" (func))"))
            .collect::<String>(),
        "(core instance (instantiate $m (with \"\" (instance $p))))".repeat(instances),
    );
    let bytes = wat::parse_str(&wat)?;
    let start = Instant::now();
    let fused = solder::fuse(&[&bytes], &solder::Options::default())?;
    let elapsed = start.elapsed();
    println!("{} bytes in {elapsed:.2?}", fused.bytes.len());
    assert!(elapsed.as_secs() < 5, "took {elapsed:.2?}");
    Ok(())
}
