//! `solder::fuse` on structured inputs: compositions of wasm-smith modules
//! with generated adapters, wasm-smith components, and mutated fixtures.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    solder_fuzz::fuse_structured(data);
});
