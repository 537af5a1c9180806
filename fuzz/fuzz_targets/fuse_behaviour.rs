//! Behaviour, not only validity: generated components of several core
//! modules sharing a memory, a table and a global, with start functions and
//! segments, run composed and fused under wasmtime (`src/behaviour.rs`).

#![no_main]

#[path = "../src/behaviour.rs"]
mod behaviour;

use std::sync::OnceLock;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(behaviour::engine);
    behaviour::fuse_behaviour(engine, data);
});
