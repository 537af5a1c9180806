//! The shared text validators adapters call, run on their own against
//! Rust's own checks: `str::from_utf8` for UTF-8, `char::decode_utf16` for
//! UTF-16. Every byte and pair of bytes, invalid bytes at every position a
//! sixteen-byte block can split a character (first byte, last byte, across
//! the 16- and 64-byte boundaries), random valid and damaged text in
//! several scripts, and text that ends at the very end of memory (where
//! the last block cannot be loaded whole). A validator must trap exactly
//! when the text is invalid; one that copies must copy exactly the text,
//! and write nothing around it.

use anyhow::Result;
use solder::adapter::validate::{self, Text};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, FunctionSection, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};
use wasmtime::{Engine, Instance, Memory, Store, TypedFunc};

const PAGE: usize = 65536;
/// Where copies go in the destination memory.
const DST: usize = 4096;
/// The byte around a copy, which must stay.
const FENCE: u8 = 0xA5;

/// One module with the four validators over memory 0 (source) and 1
/// (destination).
struct Validators {
    store: Store<()>,
    src: Memory,
    dst: Memory,
    utf8: TypedFunc<(u32, u32), ()>,
    utf8_copy: TypedFunc<(u32, u32, u32), ()>,
    utf16: TypedFunc<(u32, u32), ()>,
    utf16_copy: TypedFunc<(u32, u32, u32), ()>,
}

impl Validators {
    fn new() -> Result<Self> {
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32; 2], []);
        types.ty().function([ValType::I32; 3], []);
        let mut funcs = FunctionSection::new();
        let mut code = CodeSection::new();
        let mut exports = ExportSection::new();
        let check = Text { from: 0, to: None };
        let copy = Text {
            from: 0,
            to: Some(1),
        };
        let bodies = [
            ("utf8", 0, validate::utf8(check)),
            ("utf8-copy", 1, validate::utf8(copy)),
            ("utf16", 0, validate::utf16(check)),
            ("utf16-copy", 1, validate::utf16(copy)),
        ];
        for (i, (name, ty, body)) in bodies.iter().enumerate() {
            funcs.function(*ty);
            code.function(body);
            exports.export(name, ExportKind::Func, i as u32);
        }
        let mut memories = MemorySection::new();
        for _ in 0..2 {
            memories.memory(MemoryType {
                minimum: 1,
                maximum: Some(1),
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        exports.export("src", ExportKind::Memory, 0);
        exports.export("dst", ExportKind::Memory, 1);
        let mut m = Module::new();
        m.section(&types)
            .section(&funcs)
            .section(&memories)
            .section(&exports)
            .section(&code);
        let bytes = m.finish();
        wasmparser::validate(&bytes)?;
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, &bytes)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        Ok(Validators {
            src: instance.get_memory(&mut store, "src").expect("src"),
            dst: instance.get_memory(&mut store, "dst").expect("dst"),
            utf8: instance.get_typed_func(&mut store, "utf8")?,
            utf8_copy: instance.get_typed_func(&mut store, "utf8-copy")?,
            utf16: instance.get_typed_func(&mut store, "utf16")?,
            utf16_copy: instance.get_typed_func(&mut store, "utf16-copy")?,
            store,
        })
    }

    /// Places `bytes` at `at` in the source memory and fences the
    /// destination.
    fn place(&mut self, bytes: &[u8], at: usize) {
        self.src.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
        let dst = self.dst.data_mut(&mut self.store);
        dst[DST - 32..DST + bytes.len() + 32].fill(FENCE);
    }

    /// Checks that the destination holds exactly `bytes`, fenced.
    fn copied(&self, bytes: &[u8]) -> bool {
        let dst = self.dst.data(&self.store);
        dst[DST..DST + bytes.len()] == *bytes
            && dst[DST - 32..DST].iter().all(|b| *b == FENCE)
            && dst[DST + bytes.len()..DST + bytes.len() + 32]
                .iter()
                .all(|b| *b == FENCE)
    }

    /// Runs both UTF-8 validators on `bytes` at `at`; panics unless they
    /// agree with `str::from_utf8`.
    fn utf8_at(&mut self, bytes: &[u8], at: usize) {
        let valid = std::str::from_utf8(bytes).is_ok();
        let len = bytes.len() as u32;
        self.place(bytes, at);
        let checked = self.utf8.call(&mut self.store, (at as u32, len)).is_ok();
        let copied = self
            .utf8_copy
            .call(&mut self.store, (at as u32, len, DST as u32))
            .is_ok();
        assert_eq!(
            (checked, copied),
            (valid, valid),
            "UTF-8 {bytes:02x?} at {at}: expected valid = {valid}"
        );
        if valid {
            assert!(self.copied(bytes), "UTF-8 {bytes:02x?} at {at}: bad copy");
        }
    }

    /// Runs both UTF-16 validators on `units` at `at`; panics unless they
    /// agree with `char::decode_utf16`.
    fn utf16_at(&mut self, units: &[u16], at: usize) {
        let valid = char::decode_utf16(units.iter().copied()).all(|c| c.is_ok());
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let n = units.len() as u32;
        self.place(&bytes, at);
        let checked = self.utf16.call(&mut self.store, (at as u32, n)).is_ok();
        let copied = self
            .utf16_copy
            .call(&mut self.store, (at as u32, n, DST as u32))
            .is_ok();
        assert_eq!(
            (checked, copied),
            (valid, valid),
            "UTF-16 {units:04x?} at {at}: expected valid = {valid}"
        );
        if valid {
            assert!(self.copied(&bytes), "UTF-16 {units:04x?} at {at}: bad copy");
        }
    }

    /// UTF-8 at a few places: aligned, odd, and ending at the end of
    /// memory (and just before it).
    fn utf8(&mut self, bytes: &[u8]) {
        for at in [64, 101, PAGE - bytes.len(), PAGE - bytes.len() - 5] {
            self.utf8_at(bytes, at);
        }
    }

    fn utf16(&mut self, units: &[u16]) {
        for at in [64, 102, PAGE - 2 * units.len(), PAGE - 2 * units.len() - 6] {
            self.utf16_at(units, at);
        }
    }
}

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Characters of every UTF-8 length and script.
const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '\u{7f}',
    'é',
    'ü',
    'ñ',
    'ß',
    '\u{80}',
    '\u{7ff}',
    'Ω',
    'ж',
    '東',
    '京',
    '語',
    '\u{800}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '🦀',
    '😀',
    '\u{10000}',
    '\u{10ffff}',
];

fn random_text(rng: &mut Rng, chars: usize) -> String {
    (0..chars).map(|_| CHARS[rng.below(CHARS.len())]).collect()
}

#[test]
fn every_byte_and_pair_of_bytes() -> Result<()> {
    let mut v = Validators::new()?;
    for a in 0..=255u8 {
        v.utf8(&[a]);
        for b in 0..=255u8 {
            // Before a block boundary, across it, and at the end.
            let mut bytes = vec![b'x'; 15];
            bytes.extend([a, b]);
            v.utf8_at(&bytes, 64);
            v.utf8_at(&bytes[13..], PAGE - 4);
            v.utf8_at(&[a, b], 64);
        }
    }
    Ok(())
}

#[test]
fn every_character_boundary_at_every_block_position() -> Result<()> {
    let mut v = Validators::new()?;
    // Characters of each length, and each broken: cut short, a bad
    // continuation, overlong, a surrogate, too large.
    let cases: Vec<Vec<u8>> = vec![
        "é".into(),
        "東".into(),
        "🦀".into(),
        vec![0xC3],
        vec![0xE6, 0x9D],
        vec![0xF0, 0x9F, 0xA6],
        vec![0xC3, 0x41],
        vec![0xE6, 0x41, 0x80],
        vec![0xF0, 0x9F, 0x41, 0x80],
        vec![0xC0, 0x80],
        vec![0xE0, 0x80, 0x80],
        vec![0xF0, 0x80, 0x80, 0x80],
        vec![0xED, 0xA0, 0x80],
        vec![0xF4, 0x90, 0x80, 0x80],
        vec![0xF5, 0x80, 0x80, 0x80],
        vec![0x80],
        vec![0xBF, 0x80],
        vec![0xE6, 0x9D, 0xB1, 0x80],
        vec![0xFF],
    ];
    for case in &cases {
        for total in [16, 17, 31, 32, 33, 63, 64, 65, 80, 130] {
            for pos in 0..=total - case.len() {
                for filler in ["a", "é"] {
                    let mut bytes: Vec<u8> = filler.repeat(total).into_bytes();
                    bytes.truncate(total);
                    // A cut filler character stays valid before the case:
                    // pad with ASCII where `é` would be cut.
                    if filler == "é" {
                        let keep = pos - pos % 2;
                        bytes[keep..].fill(b'a');
                    }
                    bytes[pos..pos + case.len()].copy_from_slice(case);
                    v.utf8(&bytes);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn random_text_whole_and_damaged() -> Result<()> {
    let mut v = Validators::new()?;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..4000 {
        let chars = rng.below(if round % 10 == 0 { 400 } else { 40 });
        let text = random_text(&mut rng, chars);
        v.utf8(text.as_bytes());
        let units: Vec<u16> = text.encode_utf16().collect();
        v.utf16(&units);
        // Damage one byte or unit.
        let mut bytes = text.into_bytes();
        if !bytes.is_empty() {
            let at = rng.below(bytes.len());
            bytes[at] = rng.next() as u8;
            v.utf8(&bytes);
            // Cut the text anywhere.
            let cut = rng.below(bytes.len());
            v.utf8(&bytes[..cut]);
        }
        let mut units = units;
        if !units.is_empty() {
            let at = rng.below(units.len());
            let unit = [0xD800, 0xDBFF, 0xDC00, 0xDFFF, rng.next() as u16];
            units[at] = unit[rng.below(5)];
            v.utf16(&units);
            let cut = rng.below(units.len());
            v.utf16(&units[..cut]);
        }
    }
    Ok(())
}

#[test]
fn every_surrogate_position() -> Result<()> {
    let mut v = Validators::new()?;
    let cases: [&[u16]; 6] = [
        &[0xD83E, 0xDD80],
        &[0xD800],
        &[0xDC00],
        &[0xDC00, 0xD800],
        &[0xD800, 0xD800, 0xDC00],
        &[0xDBFF, 0x0041],
    ];
    for case in cases {
        for total in [1, 7, 8, 9, 15, 16, 17, 24, 40] {
            if total < case.len() {
                continue;
            }
            for pos in 0..=total - case.len() {
                let mut units = vec![0x6771u16; total];
                units[pos..pos + case.len()].copy_from_slice(case);
                v.utf16(&units);
            }
        }
    }
    Ok(())
}

#[test]
fn long_text_in_every_script() -> Result<()> {
    let mut v = Validators::new()?;
    for s in [
        "plain ascii text ",
        "déjà vu à l'été ",
        "東京の天気は晴れ",
        "🦀😀🎉",
    ] {
        let text = s.repeat(20_000 / s.len());
        v.utf8(text.as_bytes());
        let units: Vec<u16> = text.encode_utf16().collect();
        if units.len() * 2 < PAGE / 2 {
            v.utf16(&units);
        }
        // One bad byte near the end.
        let mut bytes = text.into_bytes();
        let n = bytes.len();
        bytes[n - 3] = 0xFF;
        v.utf8(&bytes);
    }
    Ok(())
}
