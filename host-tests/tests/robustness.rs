//! Bad input never panics the fuser: fixed-seed runs of the fuzz targets
//! (`fuzz/`, whose bodies this test includes), and of mutated fixtures
//! (bit flips, overwritten bytes, truncations, cut and repeated ranges).
//! Every input must give either an output that validates or an error whose
//! kind agrees with wasmparser's verdict on the input.

use anyhow::Result;
use host_tests::run::Rng;
use std::collections::BTreeMap;

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use targets::Outcome;

/// `len` pseudo-random bytes.
fn bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// Tallies outcomes by name, for the log.
fn tally(counts: &mut BTreeMap<String, usize>, outcome: Option<Outcome>) {
    let key = match outcome {
        None => "too few bytes to generate".to_string(),
        Some(Outcome::Fused) => "fused".to_string(),
        Some(Outcome::Rejected(kind)) => kind.to_string(),
    };
    *counts.entry(key).or_default() += 1;
}

#[test]
fn fuzz_targets_with_fixed_seeds() {
    let mut rng = Rng::new(0x50_1de5);
    let mut counts = BTreeMap::new();
    for i in 0..1500 {
        // Random bytes, half of them behind a component header.
        let len = (rng.next_u64() % 256) as usize;
        let mut input = bytes(&mut rng, len);
        if i % 2 == 0 {
            input.splice(0..0, *b"\0asm\x0d\0\x01\0");
        }
        tally(&mut counts, Some(targets::fuse_bytes(&input)));
    }
    println!("fuse_bytes: {counts:?}");
    let mut counts = BTreeMap::new();
    for _ in 0..600 {
        let len = 64 + (rng.next_u64() % 4096) as usize;
        let data = bytes(&mut rng, len);
        tally(&mut counts, targets::fuse_structured(&data));
    }
    println!("fuse_structured: {counts:?}");
    assert!(
        counts.get("fused").copied().unwrap_or(0) >= 100,
        "the structured target fuses most of what it generates: {counts:?}"
    );
    let mut counts = BTreeMap::new();
    for _ in 0..600 {
        let len = 16 + (rng.next_u64() % 1024) as usize;
        let data = bytes(&mut rng, len);
        tally(&mut counts, targets::fuse_several(&data));
    }
    println!("fuse_several: {counts:?}");
    for kind in ["fused", "malformed", "unresolved"] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) >= 20,
            "the several-inputs target reaches `{kind}` often: {counts:?}"
        );
    }
}

#[test]
fn mutated_fixtures_never_panic() -> Result<()> {
    let mut corpus = vec![
        host_tests::artifact("hello.wasm")?,
        host_tests::artifact("scalars_lib.wasm")?,
        host_tests::compose::chain(
            &[
                ("app", host_tests::artifact("scalars-app.wasm")?),
                ("lib", host_tests::artifact("scalars_lib.wasm")?),
            ],
            "solder:fixtures/scalars",
        )?,
    ];
    for wat in [
        "char-adapter.wat",
        "string-adapter.wat",
        "string-transcode.wat",
        "resource-export.wat",
    ] {
        corpus.push(wat::parse_file(
            host_tests::repo_root().join("fixtures/wat").join(wat),
        )?);
    }
    let mut rng = Rng::new(0xf022);
    let runs = 2000;
    let mut counts = BTreeMap::new();
    for i in 0..runs {
        let seed = bytes(&mut rng, 32);
        let mut u = arbitrary::Unstructured::new(&seed);
        let mut input = corpus[i % corpus.len()].clone();
        targets::mutate(&mut u, &mut input)?;
        tally(&mut counts, Some(targets::check(&input)));
    }
    println!("{runs} mutated inputs: {counts:?}");
    // Every input was judged (`check` panics on a broken rule), and the
    // mutations reach both sides: some still fuse (and validate), most are
    // rejected with a typed error.
    assert_eq!(counts.values().sum::<usize>(), runs);
    let fused = counts.get("fused").copied().unwrap_or(0);
    assert!(
        fused >= runs / 40,
        "too few mutated inputs fuse: {counts:?}"
    );
    assert!(
        counts.get("malformed").copied().unwrap_or(0) >= runs / 2,
        "too few mutated inputs are rejected: {counts:?}"
    );
    Ok(())
}

/// Where the contents of each `.debug_*` custom section lie in a
/// component, its nested modules' included.
fn debug_sections(bytes: &[u8]) -> Result<Vec<(String, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CustomSection(c) = payload?
            && c.name().starts_with(".debug_")
        {
            let start = usize::try_from(c.data_offset())?;
            out.push((c.name().to_string(), start..start + c.data().len()));
        }
    }
    Ok(out)
}

/// DWARF that cannot be read never fails a fuse or panics the fuser:
/// a debug-built composition with bytes of its `.debug_*` sections
/// overwritten (near a section's start, where headers lie, half the time)
/// still fuses, with an output that validates, every way `check` fuses
/// it. DWARF the relocation in place cannot read goes through the
/// conversion, which keeps what it can read.
#[test]
fn mutated_dwarf_still_fuses() -> Result<()> {
    let dir = host_tests::guests::debug_fixtures(4)?;
    let parts = ["scalars-app", "scalars_mid", "scalars_lib"]
        .iter()
        .map(|n| Ok((*n, std::fs::read(dir.join(format!("{n}.wasm")))?)))
        .collect::<Result<Vec<_>>>()?;
    let input = host_tests::compose::chain(&parts, "solder:fixtures/scalars")?;
    let sections = debug_sections(&input)?;
    assert!(sections.len() >= 12, "{sections:?}");
    let mut rng = Rng::new(0xd3a7f);
    let mut hit = BTreeMap::new();
    for _ in 0..60 {
        let mut mutated = input.clone();
        let (name, range) = &sections[rng.next_u64() as usize % sections.len()];
        for _ in 0..1 + rng.next_u64() % 4 {
            let within = if rng.next_u64().is_multiple_of(2) {
                range.len().min(64)
            } else {
                range.len()
            };
            let at = range.start + rng.next_u64() as usize % within.max(1);
            mutated[at] = rng.next_u64() as u8;
        }
        *hit.entry(name.clone()).or_insert(0) += 1;
        assert_eq!(targets::check(&mutated), Outcome::Fused, "{name}");
    }
    println!("sections mutated: {hit:?}");
    assert!(hit.len() >= 5, "{hit:?}");
    Ok(())
}
