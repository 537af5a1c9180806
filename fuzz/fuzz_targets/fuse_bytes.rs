//! `solder::fuse` on arbitrary bytes: no panic, every output validates,
//! and the error kind agrees with wasmparser's verdict on the input.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    solder_fuzz::fuse_bytes(data);
});
