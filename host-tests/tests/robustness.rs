//! Bad input never panics the fuser: a fixed-seed run of mutated fixtures
//! (bit flips, overwritten bytes, truncations, cut and repeated ranges)
//! through `solder::fuse`. Every input must give either an error or an
//! output that validates.

use anyhow::Result;
use host_tests::run::Rng;

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.next_u64() % 4 {
        if v.is_empty() {
            break;
        }
        let at = (rng.next_u64() % v.len() as u64) as usize;
        match rng.next_u64() % 5 {
            0 => v[at] ^= 1 << (rng.next_u64() % 8),
            1 => v[at] = rng.next_u64() as u8,
            2 => v.truncate(at),
            3 => {
                let end = (at + 1 + (rng.next_u64() % 64) as usize).min(v.len());
                v.drain(at..end);
            }
            _ => {
                let end = (at + 1 + (rng.next_u64() % 64) as usize).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
        }
    }
    v
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
    let runs = 4000;
    let (mut ok, mut errors) = (0, 0);
    for i in 0..runs {
        let input = mutate(&mut rng, &corpus[i % corpus.len()]);
        let outcome =
            std::panic::catch_unwind(|| solder::fuse(&[&input], &solder::Options::default()));
        match outcome {
            Err(_) => panic!(
                "the fuser panicked on mutation {i} (input of {} bytes)",
                input.len()
            ),
            Ok(Ok(fused)) => {
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&fused.bytes)?;
                ok += 1;
            }
            Ok(Err(e)) => {
                assert!(!e.to_string().contains('\n'), "one-line errors: {e}");
                errors += 1;
            }
        }
    }
    println!("{runs} mutated inputs: {ok} fused and validated, {errors} rejected with an error");
    assert_eq!(ok + errors, runs);
    Ok(())
}
