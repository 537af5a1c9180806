//! `cargo run --release -p host-tests --bin js-fixtures [-- DIR]`: writes
//! the fixtures (the WAT components, each Rust guest alone, and the
//! compositions the host tests build from them) as `.wasm` files, so that
//! the JavaScript package's tests can fuse them and compare with the native
//! CLI. `DIR` defaults to `target/js-fixtures`. Beside them, two async
//! components for the tests that run async output under jco: the Rust
//! async guest, and the async app plugged into the synchronous
//! `words-lib` (not among the host tests' fixtures, which every output
//! kind fuses, as only a component output keeps the async ABI).

use anyhow::{Context, Result};
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(
        || host_tests::repo_root().join("target").join("js-fixtures"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut fixtures = host_tests::fixtures()?;
    let app = host_tests::artifact("async_app.wasm")?;
    let words = host_tests::artifact("words_lib.wasm")?;
    fixtures.push((
        "async_guest".to_string(),
        host_tests::artifact("async_guest.wasm")?,
    ));
    fixtures.push((
        "async_app+words_lib".to_string(),
        host_tests::compose::plug(&app, &[&words])?,
    ));
    for (name, bytes) in &fixtures {
        let stem = name.strip_suffix(".wat").unwrap_or(name);
        let path = dir.join(format!("{stem}.wasm"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} fixtures to {}", fixtures.len(), dir.display());
    Ok(())
}
