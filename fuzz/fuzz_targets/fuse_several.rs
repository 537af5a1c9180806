//! `solder::fuse` on several inputs wired by interface name: fixtures,
//! mutated fixtures and arbitrary bytes. No panic, every output validates,
//! and the error kind agrees with wasmparser's verdict on each input.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    solder_fuzz::fuse_several(data);
});
