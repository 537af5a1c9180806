//! A Rust command that uses std on WASI (`fixtures/std-guest`): files in a
//! preopened directory, the environment, clocks, sleep (`wasi:io/poll`) and
//! random numbers. Composed and fused, each in a fresh directory, must
//! print the same and leave the same files.

use anyhow::Result;
use host_tests::run::Command;

#[test]
fn std_on_wasi_runs_the_same_fused() -> Result<()> {
    let engine = &host_tests::shared().engine;
    let composed = host_tests::artifact("std-guest.wasm")?;
    let fused = host_tests::fuse_both_ways("std-guest", &composed)?;
    let work = std::env::temp_dir().join(format!("solder-std-guest-{}", std::process::id()));
    let mut outcomes = Vec::new();
    for (side, bytes) in [("composed", &composed), ("fused", &fused)] {
        let dir = work.join(side);
        std::fs::create_dir_all(&dir)?;
        let outcome = Command::new(engine, bytes)?.run_in(&["x", "ÿ"], &dir)?;
        let mut left: Vec<String> = std::fs::read_dir(dir.join("out/sub"))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        left.sort();
        outcomes.push((outcome, left));
    }
    std::fs::remove_dir_all(&work)?;
    let (a, b) = (&outcomes[0], &outcomes[1]);
    assert_eq!(a, b, "{}", b.0.stdout_text());
    let out = a.0.stdout_text();
    assert_eq!(a.0.status, Ok(0), "{out}");
    assert!(out.contains("read 42014 bytes, 2001 lines"), "{out}");
    assert!(out.contains("listed: [\"b.txt\"]"), "{out}");
    assert!(out.contains("exists after remove: false"), "{out}");
    assert!(out.contains("wall clock sane: true, slept: true"), "{out}");
    assert!(out.contains("buckets: 37"), "{out}");
    Ok(())
}
