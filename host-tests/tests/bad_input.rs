//! The bad-input corpus: inputs generated from the fixtures and by hand,
//! by category, each with the error kind it must get. Every input is fused
//! natively and through the fuser component; both must give the same
//! answer (kind, message, path, offset), and the component must never trap.

use anyhow::{Result, bail};
use host_tests::fuser::{FuseError, FuserComponent, Options, OutputKind};
use host_tests::run::Rng;
use solder::ErrorKind;
use std::collections::BTreeMap;
use wasm_encoder::{Component, ComponentSectionId, Module, RawSection};

/// What an input must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// An error of this kind whose message contains the text.
    Error(ErrorKind, &'static str),
    /// A prefix of a fixture: `malformed` unless the cut fell on a section
    /// boundary and left a valid component, which then fuses (or is
    /// declined as unsupported).
    Truncated,
    /// A changed fixture: an invalid one is `malformed` or `unresolved`;
    /// a valid one fuses, or is declined as unsupported or over a limit.
    Changed,
    /// A valid input that fuses.
    Fuses,
}

struct Sample {
    category: &'static str,
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

/// The fuser's answer: `Ok` (fused, output validated) or the error.
type Answer = Result<(), (ErrorKind, String, String, Option<u64>)>;

fn native(bytes: &[u8]) -> Answer {
    match solder::fuse(&[bytes], &solder::Options::default()) {
        Ok(fused) => {
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(&fused.bytes)
                .expect("every output validates");
            Ok(())
        }
        Err(e) => Err((
            e.kind(),
            e.message().to_string(),
            e.path().to_string(),
            e.offset(),
        )),
    }
}

fn through_component(fuser: &FuserComponent, bytes: &[u8]) -> Result<Answer> {
    let options = Options {
        output: OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    };
    // An outer error is a trap of the fuser component: never acceptable.
    let answer = fuser.fuse(&[bytes.to_vec()], options)?;
    Ok(match answer {
        Ok(_) => Ok(()),
        Err(e) => {
            let (kind, info) = match e {
                FuseError::Malformed(i) => (ErrorKind::Malformed, i),
                FuseError::Unsupported(i) => (ErrorKind::Unsupported, i),
                FuseError::Unresolved(i) => (ErrorKind::Unresolved, i),
                FuseError::LimitExceeded(i) => (ErrorKind::LimitExceeded, i),
                FuseError::Internal(i) => (ErrorKind::Internal, i),
            };
            Err((kind, info.message, info.path, info.offset))
        }
    })
}

fn check(sample: &Sample, answer: &Answer) -> Result<()> {
    let valid = wasmparser::Parser::is_component(&sample.bytes)
        && wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&sample.bytes)
            .is_ok();
    let kind = answer.as_ref().err().map(|e| e.0);
    let ok = match (sample.expect, answer) {
        (Expect::Error(want, says), Err((kind, message, path, _))) => {
            *kind == want && message.contains(says) && !path.is_empty()
        }
        (Expect::Error(..), Ok(())) => false,
        (Expect::Truncated, _) if !valid => kind == Some(ErrorKind::Malformed),
        (Expect::Truncated, _) => matches!(kind, None | Some(ErrorKind::Unsupported)),
        (Expect::Changed, _) if !valid => {
            matches!(kind, Some(ErrorKind::Malformed | ErrorKind::Unresolved))
        }
        (Expect::Changed, _) => matches!(
            kind,
            None | Some(ErrorKind::Unsupported | ErrorKind::LimitExceeded)
        ),
        (Expect::Fuses, answer) => answer.is_ok(),
    };
    if !ok {
        bail!(
            "{} / {}: expected {:?} (input valid: {valid}), got {answer:?}",
            sample.category,
            sample.name,
            sample.expect
        );
    }
    Ok(())
}

fn leb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A component holding one core module made of `sections`.
fn component_with_module(sections: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut module = Module::new();
    for (id, data) in sections {
        module.section(&RawSection { id: *id, data });
    }
    let mut c = Component::new();
    c.section(&RawSection {
        id: ComponentSectionId::CoreModule as u8,
        data: module.as_slice(),
    });
    c.finish()
}

/// A component with one raw section.
fn component_with(id: ComponentSectionId, data: Vec<u8>) -> Vec<u8> {
    let mut c = Component::new();
    c.section(&RawSection {
        id: id as u8,
        data: &data,
    });
    c.finish()
}

/// `depth` components, each nested in the next.
fn nested(depth: usize) -> Vec<u8> {
    let mut c = Component::new();
    for _ in 1..depth {
        let mut outer = Component::new();
        outer.section(&wasm_encoder::NestedComponentSection(&c));
        c = outer;
    }
    c.finish()
}

/// The nested core modules of a component, as standalone bytes.
fn core_modules(component: &[u8]) -> Vec<Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(component)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::ModuleSection {
                unchecked_range, ..
            }) => {
                let index = |offset: u64| usize::try_from(offset).expect("an in-memory offset");
                Some(component[index(unchecked_range.start)..index(unchecked_range.end)].to_vec())
            }
            _ => None,
        })
        .collect()
}

fn corpus() -> Result<Vec<Sample>> {
    let mut v = Vec::new();
    let mut rng = Rng::new(0xbad1);
    let mut add = |category, name: String, bytes, expect| {
        v.push(Sample {
            category,
            name,
            bytes,
            expect,
        });
    };
    let malformed = Expect::Error(ErrorKind::Malformed, "");

    add("empty", "no bytes".into(), Vec::new(), malformed);

    for i in 0..60 {
        let len = 1 + (rng.next_u64() % 512) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if i % 2 == 0 {
            bytes.splice(0..0, *b"\0asm\x0d\0\x01\0");
        }
        add(
            "random bytes",
            format!("#{i} ({len} bytes)"),
            bytes,
            malformed,
        );
    }

    let fixtures = host_tests::fixtures()?;
    for (name, bytes) in &fixtures {
        for k in 0..8 {
            let cut = match k {
                0..4 => bytes.len() * k / 4,
                _ => (rng.next_u64() % bytes.len() as u64) as usize,
            };
            add(
                "truncated",
                format!("{name} cut at {cut}"),
                bytes[..cut].to_vec(),
                Expect::Truncated,
            );
        }
        for k in 0..8 {
            let mut changed = bytes.clone();
            let mut flips = Vec::new();
            for _ in 0..1 + k % 3 {
                let at = (rng.next_u64() % changed.len() as u64) as usize;
                let bit = rng.next_u64() % 8;
                changed[at] ^= 1 << bit;
                flips.push(format!("{at}.{bit}"));
            }
            add(
                "bit-flipped",
                format!("{name} flipped at {}", flips.join(",")),
                changed,
                Expect::Changed,
            );
        }
        for (i, module) in core_modules(bytes).into_iter().take(2).enumerate() {
            add(
                "core module",
                format!("{name} module {i}"),
                module,
                Expect::Error(ErrorKind::Malformed, "expected a component"),
            );
        }
    }
    add(
        "core module",
        "(module)".into(),
        wat::parse_str("(module)")?,
        Expect::Error(ErrorKind::Malformed, "expected a component"),
    );

    for case in host_tests::hostile::wiring()? {
        add(
            "unsatisfied import or mismatched types",
            case.name,
            case.bytes,
            Expect::Error(case.kind, case.says),
        );
    }

    for depth in [65, 80, 1000, 5000] {
        add(
            "deeply nested",
            format!("{depth} nested components"),
            nested(depth),
            Expect::Error(ErrorKind::LimitExceeded, "nest deeper"),
        );
    }
    add(
        "deeply nested",
        "64 nested components".into(),
        nested(64),
        Expect::Fuses,
    );
    for case in host_tests::hostile::limits()? {
        if case.name.contains("nest") {
            add(
                "deeply nested",
                case.name,
                case.bytes,
                Expect::Error(case.kind, case.says),
            );
        }
    }

    let huge = u64::from(u32::MAX);
    let sizes: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "a section longer than the input",
            {
                let mut c = component_with(ComponentSectionId::CoreModule, Vec::new());
                c.truncate(8);
                c.push(ComponentSectionId::CoreModule as u8);
                c.extend(leb(huge));
                c
            },
            malformed,
        ),
        (
            "a type section of 2^32-1 types",
            component_with_module(&[(1, leb(huge))]),
            malformed,
        ),
        (
            "a custom section name of 2^32-1 bytes",
            component_with_module(&[(0, leb(huge))]),
            malformed,
        ),
        (
            "a data segment of 2^32-16 bytes",
            component_with_module(&[
                (5, [1, 0, 1].to_vec()),
                (11, {
                    let mut d = vec![1, 0, 0x41, 0, 0x0b];
                    d.extend(leb(huge - 15));
                    d.extend(b"data");
                    d
                }),
            ]),
            malformed,
        ),
        (
            "2^32-1 canonical functions",
            component_with(ComponentSectionId::CanonicalFunction, leb(huge)),
            malformed,
        ),
        (
            "a record type of 2^32-1 fields",
            component_with(ComponentSectionId::Type, {
                let mut t = vec![1, 0x72];
                t.extend(leb(huge));
                t
            }),
            malformed,
        ),
        (
            "an instantiation with 2^32-1 arguments",
            component_with(ComponentSectionId::CoreInstance, {
                let mut t = vec![1, 0, 0];
                t.extend(leb(huge));
                t
            }),
            malformed,
        ),
        (
            "a 4 GiB memory (declared, not allocated)",
            wat::parse_str(
                r#"(component (core module $m (memory 65536)) (core instance (instantiate $m)))"#,
            )?,
            Expect::Fuses,
        ),
    ];
    for (name, bytes, expect) in sizes {
        add("huge declared sizes", name.into(), bytes, expect);
    }
    for case in host_tests::hostile::limits()? {
        if case.name.contains("32-bit")
            || case
                .name
                .contains("more than 10,000 values in one function")
        {
            add(
                "huge declared sizes",
                case.name,
                case.bytes,
                Expect::Error(case.kind, case.says),
            );
        }
    }

    add(
        "unsupported",
        "module-import.wat".into(),
        fixtures
            .iter()
            .find(|(n, _)| n == "module-import.wat")
            .map(|(_, b)| b.clone())
            .unwrap_or_default(),
        Expect::Error(ErrorKind::Unsupported, "module"),
    );
    Ok(v)
}

#[test]
fn bad_input_gets_its_error_natively_and_through_the_component() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let fuser = FuserComponent::new(&engine, &host_tests::fuser_component()?)?;
    let corpus = corpus()?;
    let mut tally: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    for sample in &corpus {
        let a = native(&sample.bytes);
        let b = through_component(&fuser, &sample.bytes)?;
        if a != b {
            failures.push(format!(
                "{} / {}: native {a:?}, component {b:?}",
                sample.category, sample.name
            ));
            continue;
        }
        if let Err(e) = check(sample, &a) {
            failures.push(e.to_string());
        }
        let outcome = match &a {
            Ok(()) => "fused".to_string(),
            Err((kind, ..)) => kind.to_string(),
        };
        *tally
            .entry(sample.category)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }
    for (category, outcomes) in &tally {
        println!("{category}: {outcomes:?}");
    }
    println!("{} inputs", corpus.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// No input is malformed; two inputs of which the second provides nothing
/// to the first are a wiring error naming the second (the cases of
/// wiring are in `several_inputs.rs`).
#[test]
fn no_input_and_an_unused_input_both_ways() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let fuser = FuserComponent::new(&engine, &host_tests::fuser_component()?)?;
    let one = wat::parse_str("(component)")?;
    let e = match solder::fuse(&[&one, &one], &solder::Options::default()) {
        Err(e) => e,
        Ok(_) => bail!("the second input provides nothing"),
    };
    assert_eq!(e.kind(), solder::ErrorKind::Unresolved, "{e}");
    assert_eq!(e.path(), "input[1]");
    let options = || Options {
        output: OutputKind::Component,
        validate: true,
        strip_debug: false,
        single_memory: false,
    };
    match fuser.fuse(&[one.clone(), one], options())? {
        Err(FuseError::Unresolved(info)) => {
            assert_eq!(info.message, e.message());
            assert_eq!(info.path, "input[1]");
        }
        other => bail!("expected unresolved, got {:?}", other.map(|f| f.report)),
    }
    match fuser.fuse(&[], options())? {
        Err(FuseError::Malformed(info)) => assert_eq!(info.path, "root"),
        other => bail!("expected malformed, got {:?}", other.map(|f| f.report)),
    }
    Ok(())
}

/// Every sample of the corpus beside a good component, as either input:
/// no panic, and an input that is malformed alone is malformed beside
/// another, with the same message and offset, and its path inside that
/// input (`input[1]/component[0]` for `root/component[0]`).
#[test]
fn bad_input_beside_a_good_one_names_the_input() -> Result<()> {
    let good = host_tests::artifact("scalars-app.wasm")?;
    let mut malformed = 0;
    for sample in corpus()? {
        let alone = native(&sample.bytes);
        for (position, inputs) in [
            ("input[1]", [good.as_slice(), &sample.bytes]),
            ("input[0]", [&sample.bytes, good.as_slice()]),
        ] {
            let answer = solder::fuse(&inputs, &solder::Options::default());
            if let Err((ErrorKind::Malformed, message, path, offset)) = &alone {
                let Err(e) = answer else {
                    bail!(
                        "{} / {}: fused beside a good input",
                        sample.category,
                        sample.name
                    );
                };
                assert_eq!(e.kind(), ErrorKind::Malformed, "{}: {e}", sample.name);
                assert_eq!(
                    e.path(),
                    path.replacen("root", position, 1),
                    "{}: {e}",
                    sample.name
                );
                assert_eq!(e.message(), message, "{}", sample.name);
                assert_eq!(e.offset(), *offset, "{}", sample.name);
                malformed += 1;
            }
        }
    }
    assert!(malformed > 100, "{malformed} malformed pairs");
    Ok(())
}
