//! Handles to the host's resources passed in memory: `wasi:io/poll#poll`
//! takes a list of borrowed pollables from the caller's memory
//! (`fixtures/wat/host-handles.wat`). The host must see its own handles,
//! each component instance keep its own numbering, and the caller's memory
//! stay as the caller wrote it; composed and fused must agree, natively and
//! through the fuser component.

use anyhow::Result;

#[test]
fn a_list_of_borrowed_host_handles() -> Result<()> {
    let shared = host_tests::shared();
    let composed = wat::parse_file(host_tests::repo_root().join("fixtures/wat/host-handles.wat"))?;
    let fused = host_tests::fuse_both_ways("host-handles.wat", &composed)?;
    let a = host_tests::run::call_exports(&shared.engine, &composed, 5, 3)?;
    let b = host_tests::run::call_exports(&shared.engine, &fused, 5, 3)?;
    assert_eq!(a, b);
    let runs: Vec<u64> = a
        .iter()
        .filter(|r| r.call.contains("run"))
        .map(|r| {
            r.outcome
                .trim_start_matches("U64(")
                .trim_end_matches(')')
                .parse()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}: {a:?}"))?;
    assert_eq!(runs.len(), 6, "{a:?}");
    for r in runs {
        // Three ready pollables (indices 0, 1 and 2 in the host's order),
        // and the list unchanged.
        let (list, ready) = (r / 1000 % 1000, r / 1_000_000);
        assert_eq!(list, 111, "the caller's list changed: {r}");
        let mut digits: Vec<u64> = (0..3).map(|i| ready / 10u64.pow(i) % 10).collect();
        digits.sort_unstable();
        assert_eq!((ready / 1000, digits), (3, vec![0, 1, 2]), "{r}");
    }
    Ok(())
}
