//! A smoke run of the bench command: `bench --quick` runs to the end and
//! its tables have every row. The timings themselves are for people to
//! read from a full run (BENCHMARKS.md), not for a test to judge.

use std::process::Command;

/// The start of every row the bench prints.
const ROWS: &[&str] = &[
    // Fuser speed.
    "| hello (1 component) |",
    "| scalars (3 components) |",
    "| types (3 components) |",
    "| scalars built with DWARF (3 components) |",
    "| generated chain of 10 components |",
    "| generated chain of 50 components |",
    "| the fuser itself (large, 1 component) |",
    // Real guests: measured in a full run, a skip line under --quick.
    "| Python provider (componentize-py), alone |",
    "| p1-app + Python provider (componentize-py) |",
    "| JavaScript provider (componentize-js), alone |",
    "| p1-app + JavaScript provider (componentize-js) |",
    // Scaling.
    "| string, lists, scalars; a memory each | 2 |",
    "| string, lists, scalars; a memory each | 8 |",
    "| string, lists, scalars; a memory each | 32 |",
    "| string, lists, scalars; a memory each | 96 |",
    "| string, lists, scalars; a memory each | 128 |",
    "| scalars only; no memory | 2 |",
    "| scalars only; no memory | 8 |",
    "| scalars only; no memory | 32 |",
    "| scalars only; no memory | 128 |",
    "- string, lists, scalars; a memory each: ",
    "- scalars only; no memory: ",
    // Fused vs composed.
    "| instantiation |",
    "| call: scalar (an enum) (×",
    "| call: 20-byte string, both ways (×",
    "| call: 20 KiB string, both ways (×",
    "| call: 1 MiB list<u8>, both ways (×",
    "| call: list of 1000 records, both ways (×",
    "| call: resource create + method + drop (app → lib) (×",
    "| whole program: the types app's own run",
    "| size |",
    // One memory against several.
    "| row | several memories | one memory | one / several |",
    "| whole program: the types app's own run |",
    // Text and records across one call (the string rows: see `text_rows`).
    "| scalar: add(u32, u32) -> u32, WAT guests (×",
    "| scalar: add(u32, u32) -> u32, Rust guests (×",
    "| records: list<record { id: u64, name: string, score: f32 }> of 10, both ways (×",
    "| records: the same list of 1,000, both ways (×",
    "| records: the same list of 100,000, both ways (×",
    "| list<list<string>>: 10 lists of 10 short strings, both ways (×",
    "| list<list<string>>: 100 lists of 100 short strings, both ways (×",
    "| option<string>: some(20 B), both ways (×",
    "| variant { a(string), b(u32), c(list<string>) }: each case in turn, both ways (×",
    // The copies alone, against the composed string call.
    "| caller → callee, size | composed | the copies alone | copies / composed |",
    "| latin1+utf16 → latin1+utf16, 20 B (×",
    "| latin1+utf16 → latin1+utf16, 1 KiB (×",
    "| latin1+utf16 → latin1+utf16, 20 KiB (×",
    "| latin1+utf16 → latin1+utf16, 1 MiB ",
    "| utf8 → utf8, 20 B (×",
    "| utf8 → utf8, 1 KiB (×",
    "| utf8 → utf8, 20 KiB (×",
    "| utf8 → utf8, 1 MiB ",
    // Real guests under wasmtime.
    "| Rust provider (p1-lib) | instantiation |",
    "| Rust provider (p1-lib) | start-up: instantiation + `run` making one call |",
    "| Rust provider (p1-lib) | call: flip, a variant holding a string, both ways (×",
    "| Rust provider (p1-lib) | call: classify, 12 strings in, 12 variants out (×",
    "| Rust provider (p1-lib) | call: greet, option<string> both ways (×",
    "| Rust provider (p1-lib) | call: mirror, a 300 KB string both ways (×",
    "| Rust provider (p1-lib) | whole program: p1-app's own run |",
    "| Rust provider (p1-lib) | size |",
    "| Python provider (componentize-py) |",
    "| JavaScript provider (componentize-js) |",
    // Async calls at the boundary with the host.
    "| async call: count(0), one at a time (×",
    "| async call awaiting an async host call: count(1), one at a time (×",
    "| greet: an async host call, a stream<u8> between two tasks, a call into the sync guest (which prints); one at a time (×",
    "| 1,000 greets in flight at once, per batch (×",
    "| stream<u8> between two tasks of the guest: shout, 1 KiB of mixed text, one at a time (×",
    "| 10,000 calls in flight at once: count(1), per batch (×",
    // Async calls between components whose tasks wait.
    "| run(): three async calls at once, each awaiting a callee that yields (strings with accents, CJK, emoji), one at a time (×",
    "| many(10,000): 10,000 calls in flight at once between the components, per batch (×",
    // Two wit-bindgen async guests, one calling the other.
    "| shout-all: three async calls at once into the other guest, each yielding 0 to 2 times (accents, CJK, emoji), one at a time (×",
    "| relay: 30 async calls into the other guest in turn, one at a time (×",
    "| 1,000 shout-all calls into the other guest in flight at once, per batch (×",
    // Targets.
    "| native fuse time ≤ 1× the floor (large input) |",
    "| peak memory ≤ the floor's (large input) |",
    "| native fuse time ≤ 2× the floor (DWARF carried) |",
    "| fuser component under wasmtime ≤ 1.5× native (large input) |",
    "| native fuse time ≤ 1× the floor (real guests) |",
    "| peak memory ≤ the floor's (real guests) |",
    "| every text/record call ≤ 0.5× composed |",
    "| every fused cross-component call faster than composed |",
    "| fused output no larger than the composed input (types) |",
];

/// The start of every string row: each pair of string encodings (caller
/// → callee), script and size. Under `--quick` the largest size is a skip
/// line, which starts the same.
fn text_rows() -> Vec<String> {
    const ENCODINGS: [&str; 3] = ["utf8", "utf16", "latin1+utf16"];
    const SCRIPTS: [&str; 4] = ["ASCII", "accented (Latin-1)", "CJK", "emoji"];
    const SIZES: [&str; 4] = ["20 B", "1 KiB", "20 KiB", "1 MiB"];
    let mut rows = Vec::new();
    for caller in ENCODINGS {
        for callee in ENCODINGS {
            for script in SCRIPTS {
                for size in SIZES {
                    rows.push(format!(
                        "| string {caller} → {callee}, {script}, {size}, both ways "
                    ));
                }
            }
        }
    }
    rows
}

#[test]
fn quick_bench_prints_every_row() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--quick")
        .output()
        .expect("running the bench");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench --quick failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text_rows = text_rows();
    let missing: Vec<&str> = ROWS
        .iter()
        .copied()
        .chain(text_rows.iter().map(String::as_str))
        .filter(|row| !text.contains(row))
        .collect();
    assert!(missing.is_empty(), "rows missing: {missing:#?}\n{text}");
}
