//! Transcoding loops, generated once per pair of encodings and memories
//! and called by every adapter that changes a string's encoding; the
//! `realloc` calls around them stay in the adapters, in the order the
//! spec's `store_string_*` functions make them.
//!
//! Each loop moves sixteen source bytes at a time while they need no
//! transcoding (ASCII; any Latin-1 byte into UTF-16; any UTF-16 unit below
//! 0x100 into Latin-1, or any unit into UTF-16): a copy, a widening of
//! bytes to UTF-16 code units, or a narrowing of code units to bytes.
//! At the first block that is not, it decodes and encodes one code point,
//! then tries a block again.

use super::code::Code;
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

/// The encoding of one particular string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enc {
    /// UTF-8.
    Utf8,
    /// UTF-16, little-endian.
    Utf16,
    /// Latin-1: one byte per code point, up to U+00FF.
    Latin1,
}

impl Enc {
    /// Bytes per code unit.
    pub fn unit(self) -> u32 {
        match self {
            Enc::Utf16 => 2,
            Enc::Utf8 | Enc::Latin1 => 1,
        }
    }
}

/// A transcoding loop: what it reads and writes, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transcode {
    /// The source's encoding and memory.
    pub from: (Enc, u32),
    /// The destination's encoding and memory.
    pub to: (Enc, u32),
    /// Stop at the first code point at or above this, when set: the
    /// narrow phase of a store into UTF-8 (`0x80`) or Latin-1 (`0x100`),
    /// one byte per code point.
    pub below: Option<u32>,
}

/// The source string in a transcoding function.
struct Source {
    memory: u32,
    ptr: u32,
    encoding: Enc,
}

fn arg(memory: u32, offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        memory_index: memory,
    }
}

fn splat16(u: u16) -> I<'static> {
    let mut b = [0; 16];
    for lane in b.chunks_mut(2) {
        lane.copy_from_slice(&u.to_le_bytes());
    }
    I::V128Const(i128::from_le_bytes(b))
}

/// `(ptr, bytes, i, p, o) -> (i, o)`: decodes the source's code points
/// from byte `i` to `bytes` and encodes them at `p + o` in the
/// destination; returns where it stopped in both (the end of the source,
/// unless `below` stopped it first). The source was validated and the
/// destination holds the worst case.
pub fn transcode(t: Transcode) -> Function {
    let (ptr, bytes, i, p, o) = (0, 1, 2, 3, 4);
    let mut c = Code::new(5);
    let (cp, next) = (c.temp(ValType::I32), c.temp(ValType::I32));
    let x = c.temp(ValType::V128);
    let s = Source {
        memory: t.from.1,
        ptr,
        encoding: t.from.0,
    };
    let (m, out) = (t.to.1, t.to.0);
    c.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
    // Sixteen source bytes at a time while they need no transcoding.
    c.extend([
        I::LocalGet(i),
        I::I32Const(16),
        I::I32Add,
        I::LocalGet(bytes),
        I::I32LeU,
        I::If(BlockType::Empty),
        I::LocalGet(ptr),
        I::LocalGet(i),
        I::I32Add,
        I::V128Load(arg(s.memory, 0, 0)),
        I::LocalTee(x),
    ]);
    // Whether the block is all ASCII (Latin-1 into UTF-16, or UTF-16
    // into UTF-16 after a narrow phase: whatever it holds).
    let every_byte = matches!((s.encoding, out), (Enc::Latin1 | Enc::Utf16, Enc::Utf16));
    match s.encoding {
        _ if every_byte => c.extend([I::Drop, I::I32Const(1)]),
        // Narrowing to Latin-1: any unit below 0x100; else ASCII.
        Enc::Utf16 => c.extend([
            splat16(if t.below == Some(0x100) {
                0xFF00
            } else {
                0xFF80
            }),
            I::V128And,
            I::V128AnyTrue,
            I::I32Eqz,
        ]),
        _ => c.extend([I::I8x16Bitmask, I::I32Eqz]),
    }
    c.push(I::If(BlockType::Empty));
    let dst = |c: &mut Code, offset: u64, store: I<'static>| {
        c.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add, I::LocalGet(x)]);
        if offset > 0 {
            // The high half, widened, sixteen bytes on.
            c.push(I::I16x8ExtendHighI8x16U);
        }
        c.push(store);
    };
    let written = match (s.encoding, out) {
        (Enc::Utf16, Enc::Utf16) => {
            dst(&mut c, 0, I::V128Store(arg(m, 0, 0)));
            16
        }
        (Enc::Utf16, _) => {
            // Eight code units into eight bytes.
            c.extend([
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(x),
                I::LocalGet(x),
                I::I8x16NarrowI16x8U,
                I::V128Store64Lane {
                    memarg: arg(m, 0, 0),
                    lane: 0,
                },
            ]);
            8
        }
        (_, Enc::Utf16) => {
            c.extend([
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(x),
                I::I16x8ExtendLowI8x16U,
                I::V128Store(arg(m, 0, 0)),
            ]);
            dst(&mut c, 16, I::V128Store(arg(m, 16, 0)));
            32
        }
        _ => {
            dst(&mut c, 0, I::V128Store(arg(m, 0, 0)));
            16
        }
    };
    c.extend([
        I::LocalGet(i),
        I::I32Const(16),
        I::I32Add,
        I::LocalSet(i),
        I::LocalGet(o),
        I::I32Const(written),
        I::I32Add,
        I::LocalSet(o),
        I::Br(2),
        I::End,
    ]);
    if t.below.is_none() {
        wide_blocks(&mut c, s.encoding, out, m, x, (i, p, o));
    }
    c.push(I::End);
    // One code point.
    c.extend([I::LocalGet(i), I::LocalGet(bytes), I::I32GeU, I::BrIf(1)]);
    decode(&mut c, &s, i, cp, next);
    match t.below {
        Some(limit) => {
            c.extend([
                I::LocalGet(cp),
                I::I32Const(limit as i32),
                I::I32GeU,
                I::BrIf(1),
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(cp),
                I::I32Store8(arg(m, 0, 0)),
                I::LocalGet(o),
                I::I32Const(1),
                I::I32Add,
                I::LocalSet(o),
            ]);
        }
        None if out == Enc::Utf8 => encode_utf8(&mut c, m, p, o, cp),
        None => encode_utf16(&mut c, m, p, o, cp),
    }
    c.extend([
        I::LocalGet(next),
        I::LocalSet(i),
        I::Br(0),
        I::End,
        I::End,
        I::LocalGet(i),
        I::LocalGet(o),
    ]);
    c.finish()
}

/// `(p, units) -> narrowed`: when every one of the `units` UTF-16 code
/// units at `p` fits in a byte, narrows them in place to Latin-1 and
/// returns 1; else leaves them and returns 0.
pub fn narrow_utf16(memory: u32) -> Function {
    let (p, units) = (0, 1);
    let mut c = Code::new(2);
    let (j, a, b) = (
        c.temp(ValType::I32),
        c.temp(ValType::V128),
        c.temp(ValType::V128),
    );
    // `p + (j << shift)`.
    let at = |c: &mut Code, shift: i32| {
        c.extend([
            I::LocalGet(p),
            I::LocalGet(j),
            I::I32Const(shift),
            I::I32Shl,
            I::I32Add,
        ]);
    };
    // `while j + step <= units { body; j += step }`.
    let each = |c: &mut Code, step: i32, body: &dyn Fn(&mut Code)| {
        c.extend([
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(j),
            I::I32Const(step),
            I::I32Add,
            I::LocalGet(units),
            I::I32GtU,
            I::BrIf(1),
        ]);
        body(c);
        c.extend([
            I::LocalGet(j),
            I::I32Const(step),
            I::I32Add,
            I::LocalSet(j),
            I::Br(0),
            I::End,
            I::End,
        ]);
    };
    let wide =
        |c: &mut Code| c.extend([I::If(BlockType::Empty), I::I32Const(0), I::Return, I::End]);
    // Any unit above 0xFF? Eight at a time, then one at a time.
    each(&mut c, 8, &|c| {
        at(c, 1);
        c.extend([
            I::V128Load(arg(memory, 0, 0)),
            splat16(0xFF00),
            I::V128And,
            I::V128AnyTrue,
        ]);
        wide(c);
    });
    each(&mut c, 1, &|c| {
        at(c, 1);
        c.extend([
            I::I32Load16U(arg(memory, 0, 0)),
            I::I32Const(0xFF),
            I::I32GtU,
        ]);
        wide(c);
    });
    // Narrow front to back, sixteen units at a time (each block's bytes
    // land before any unit not yet read), then one at a time.
    c.extend([I::I32Const(0), I::LocalSet(j)]);
    each(&mut c, 16, &|c| {
        at(c, 1);
        c.extend([I::V128Load(arg(memory, 0, 0)), I::LocalSet(a)]);
        at(c, 1);
        c.extend([I::V128Load(arg(memory, 16, 0)), I::LocalSet(b)]);
        at(c, 0);
        c.extend([
            I::LocalGet(a),
            I::LocalGet(b),
            I::I8x16NarrowI16x8U,
            I::V128Store(arg(memory, 0, 0)),
        ]);
    });
    each(&mut c, 1, &|c| {
        at(c, 0);
        at(c, 1);
        c.extend([
            I::I32Load8U(arg(memory, 0, 0)),
            I::I32Store8(arg(memory, 0, 0)),
        ]);
    });
    c.push(I::I32Const(1));
    c.finish()
}

/// Reads the code point at source byte index `i` into `cp`, and the
/// index after it into `next`. The source was validated.
fn decode(c: &mut Code, s: &Source, i: u32, cp: u32, next: u32) {
    let m = s.memory;
    let at = |c: &mut Code| {
        c.body
            .extend([I::LocalGet(s.ptr), I::LocalGet(i), I::I32Add])
    };
    match s.encoding {
        Enc::Latin1 => {
            at(c);
            c.body.extend([I::I32Load8U(arg(m, 0, 0)), I::LocalSet(cp)]);
            c.body
                .extend([I::LocalGet(i), I::I32Const(1), I::I32Add, I::LocalSet(next)]);
        }
        Enc::Utf16 => {
            at(c);
            c.body
                .extend([I::I32Load16U(arg(m, 0, 1)), I::LocalTee(cp)]);
            c.body.extend([
                I::I32Const(0xFC00),
                I::I32And,
                I::I32Const(0xD800),
                I::I32Eq,
                I::If(BlockType::Empty),
            ]);
            // A surrogate pair.
            c.body.extend([
                I::LocalGet(cp),
                I::I32Const(0x3FF),
                I::I32And,
                I::I32Const(10),
                I::I32Shl,
            ]);
            at(c);
            c.body.extend([
                I::I32Load16U(arg(m, 2, 1)),
                I::I32Const(0x3FF),
                I::I32And,
                I::I32Or,
            ]);
            c.body
                .extend([I::I32Const(0x10000), I::I32Add, I::LocalSet(cp)]);
            c.body.extend([
                I::LocalGet(i),
                I::I32Const(4),
                I::I32Add,
                I::LocalSet(next),
                I::Else,
            ]);
            c.body.extend([
                I::LocalGet(i),
                I::I32Const(2),
                I::I32Add,
                I::LocalSet(next),
                I::End,
            ]);
        }
        Enc::Utf8 => {
            let b = c.temp(ValType::I32);
            at(c);
            c.body.extend([
                I::I32Load8U(arg(m, 0, 0)),
                I::LocalTee(b),
                I::I32Const(0x80),
                I::I32LtU,
            ]);
            c.body.extend([
                I::If(BlockType::Empty),
                I::LocalGet(b),
                I::LocalSet(cp),
                I::I32Const(1),
                I::LocalSet(next),
                I::Else,
            ]);
            // Continuation bits of byte k, shifted into place.
            let cont = |c: &mut Code, k: u64, shift: i32| {
                at(c);
                c.body
                    .extend([I::I32Load8U(arg(m, k, 0)), I::I32Const(0x3F), I::I32And]);
                if shift > 0 {
                    c.body.extend([I::I32Const(shift), I::I32Shl]);
                }
                c.body.push(I::I32Or);
            };
            // An n-byte sequence: the lead's payload bits, then each
            // continuation's six.
            let sequence = |c: &mut Code, n: u64, lead_mask: i32| {
                let shift = |k: u64| 6 * (n - 1 - k) as i32;
                c.body
                    .extend([I::LocalGet(b), I::I32Const(lead_mask), I::I32And]);
                c.body.extend([I::I32Const(shift(0)), I::I32Shl]);
                for k in 1..n {
                    cont(c, k, shift(k));
                }
                c.body
                    .extend([I::LocalSet(cp), I::I32Const(n as i32), I::LocalSet(next)]);
            };
            c.body.extend([
                I::LocalGet(b),
                I::I32Const(0xE0),
                I::I32LtU,
                I::If(BlockType::Empty),
            ]);
            sequence(c, 2, 0x1F);
            c.body.extend([
                I::Else,
                I::LocalGet(b),
                I::I32Const(0xF0),
                I::I32LtU,
                I::If(BlockType::Empty),
            ]);
            sequence(c, 3, 0x0F);
            c.body.push(I::Else);
            sequence(c, 4, 0x07);
            c.body.extend([I::End, I::End, I::End]);
            c.body.extend([
                I::LocalGet(next),
                I::LocalGet(i),
                I::I32Add,
                I::LocalSet(next),
            ]);
        }
    }
}

/// Writes `cp` as UTF-8 at `p + o` and advances `o`.
fn encode_utf8(c: &mut Code, m: u32, p: u32, o: u32, cp: u32) {
    let store = |c: &mut Code, k: u64, value: &[I<'static>]| {
        c.body.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add]);
        c.body.extend(value.iter().cloned());
        c.body.push(I::I32Store8(arg(m, k, 0)));
    };
    let bits = |shift: i32, mask: i32, tag: i32| -> Vec<I<'static>> {
        vec![
            I::LocalGet(cp),
            I::I32Const(shift),
            I::I32ShrU,
            I::I32Const(mask),
            I::I32And,
            I::I32Const(tag),
            I::I32Or,
        ]
    };
    let advance = |c: &mut Code, n: i32| {
        c.body
            .extend([I::LocalGet(o), I::I32Const(n), I::I32Add, I::LocalSet(o)])
    };
    c.body.extend([
        I::LocalGet(cp),
        I::I32Const(0x80),
        I::I32LtU,
        I::If(BlockType::Empty),
    ]);
    store(c, 0, &[I::LocalGet(cp)]);
    advance(c, 1);
    c.body.extend([
        I::Else,
        I::LocalGet(cp),
        I::I32Const(0x800),
        I::I32LtU,
        I::If(BlockType::Empty),
    ]);
    store(c, 0, &bits(6, 0x1F, 0xC0));
    store(c, 1, &bits(0, 0x3F, 0x80));
    advance(c, 2);
    c.body.extend([
        I::Else,
        I::LocalGet(cp),
        I::I32Const(0x10000),
        I::I32LtU,
        I::If(BlockType::Empty),
    ]);
    store(c, 0, &bits(12, 0x0F, 0xE0));
    store(c, 1, &bits(6, 0x3F, 0x80));
    store(c, 2, &bits(0, 0x3F, 0x80));
    advance(c, 3);
    c.body.push(I::Else);
    store(c, 0, &bits(18, 0x07, 0xF0));
    store(c, 1, &bits(12, 0x3F, 0x80));
    store(c, 2, &bits(6, 0x3F, 0x80));
    store(c, 3, &bits(0, 0x3F, 0x80));
    advance(c, 4);
    c.body.extend([I::End, I::End, I::End]);
}

/// Writes `cp` as UTF-16 at `p + o` and advances `o`.
fn encode_utf16(c: &mut Code, m: u32, p: u32, o: u32, cp: u32) {
    let addr = |c: &mut Code| c.body.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add]);
    c.body.extend([
        I::LocalGet(cp),
        I::I32Const(0x10000),
        I::I32LtU,
        I::If(BlockType::Empty),
    ]);
    addr(c);
    c.body
        .extend([I::LocalGet(cp), I::I32Store16(arg(m, 0, 1))]);
    c.body.extend([
        I::LocalGet(o),
        I::I32Const(2),
        I::I32Add,
        I::LocalSet(o),
        I::Else,
    ]);
    addr(c);
    c.body.extend([
        I::LocalGet(cp),
        I::I32Const(0x10000),
        I::I32Sub,
        I::I32Const(10),
        I::I32ShrU,
    ]);
    c.body
        .extend([I::I32Const(0xD800), I::I32Or, I::I32Store16(arg(m, 0, 1))]);
    addr(c);
    c.body.extend([
        I::LocalGet(cp),
        I::I32Const(0x3FF),
        I::I32And,
        I::I32Const(0xDC00),
        I::I32Or,
    ]);
    c.body.extend([I::I32Store16(arg(m, 2, 1))]);
    c.body.extend([
        I::LocalGet(o),
        I::I32Const(4),
        I::I32Add,
        I::LocalSet(o),
        I::End,
    ]);
}

/// `v` in every 16-bit lane.
fn k16(v: u16) -> I<'static> {
    splat16(v)
}

/// `v` in every 32-bit lane.
fn k32(v: u32) -> I<'static> {
    let mut b = [0; 16];
    for lane in b.chunks_mut(4) {
        lane.copy_from_slice(&v.to_le_bytes());
    }
    I::V128Const(i128::from_le_bytes(b))
}

/// Sixteen bytes, `pattern` repeated and the rest zero.
fn bytes16(pattern: &[u8]) -> I<'static> {
    let mut b = [0; 16];
    for (k, v) in pattern
        .iter()
        .cycle()
        .take(16 / pattern.len() * pattern.len())
        .enumerate()
    {
        b[k] = *v;
    }
    I::V128Const(i128::from_le_bytes(b))
}

/// A block of characters that are all one width other than ASCII, which
/// the loop moves whole: UTF-8 → UTF-16 and UTF-16 → UTF-8 of text in one
/// script (accented letters, Greek and Cyrillic; CJK; emoji) then costs a
/// few vector instructions per eight or sixteen bytes instead of a decode
/// and an encode per character.
#[derive(Clone, Copy)]
enum Wide {
    /// Two-byte UTF-8, U+0080 to U+07FF: sixteen bytes, eight characters.
    Two,
    /// Three-byte UTF-8, U+0800 to U+FFFF: twelve bytes of UTF-8 (four
    /// characters), or eight UTF-16 units.
    Three,
    /// Four-byte UTF-8, a surrogate pair in UTF-16: four characters.
    Four,
}

impl Wide {
    /// The first code unit's range `[low, high)` for which the block is
    /// worth testing.
    fn first_unit(self, from: Enc) -> (u32, u32) {
        match (self, from) {
            (Wide::Two, Enc::Utf8) => (0xC2, 0xE0),
            (Wide::Three, Enc::Utf8) => (0xE0, 0xF0),
            (Wide::Four, Enc::Utf8) => (0xF0, 0xF5),
            (Wide::Two, _) => (0x80, 0x800),
            (Wide::Three, _) => (0x800, 0xD800),
            (Wide::Four, _) => (0xD800, 0xDC00),
        }
    }

    /// Leaves 1 when every character of the block `x` is this wide and
    /// starts where the block's lanes expect it; else 0. The source was
    /// validated, so lead and continuation bytes are the only check UTF-8
    /// needs.
    fn test(self, c: &mut Code, from: Enc, x: u32) {
        c.push(I::LocalGet(x));
        match (self, from) {
            (Wide::Two, Enc::Utf8) => c.extend([
                bytes16(&[0xE0, 0xC0]),
                I::V128And,
                bytes16(&[0xC0, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Three, Enc::Utf8) => c.extend([
                bytes16(&[0xF0, 0xC0, 0xC0]),
                I::V128And,
                bytes16(&[0xE0, 0x80, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Four, Enc::Utf8) => c.extend([
                bytes16(&[0xF8, 0xC0, 0xC0, 0xC0]),
                I::V128And,
                bytes16(&[0xF0, 0x80, 0x80, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Two, _) => c.extend([
                k16(0x80),
                I::I16x8Sub,
                k16(0x780),
                I::I16x8LtU,
                I::I16x8AllTrue,
            ]),
            // At least U+0800 and not a surrogate.
            (Wide::Three, _) => c.extend([
                k16(0x800),
                I::I16x8GeU,
                I::LocalGet(x),
                k16(0xF800),
                I::V128And,
                k16(0xD800),
                I::I16x8Ne,
                I::V128And,
                I::I16x8AllTrue,
            ]),
            // High and low surrogates in turn.
            (Wide::Four, _) => c.extend([
                k16(0xFC00),
                I::V128And,
                k32(0xDC00_D800),
                I::I16x8Eq,
                I::I16x8AllTrue,
            ]),
        }
    }

    /// Source bytes the block moves, and destination bytes it writes.
    fn size(self, from: Enc) -> (i32, i32) {
        match (self, from) {
            (Wide::Two | Wide::Four, _) => (16, 16),
            (Wide::Three, Enc::Utf8) => (12, 8),
            (Wide::Three, _) => (16, 24),
        }
    }
}

/// After the ASCII block test failed: when the block at `x` holds
/// characters of one width that the loop can move whole, moves them and
/// goes on with the next block. Only UTF-8 → UTF-16 and UTF-16 → UTF-8.
fn wide_blocks(c: &mut Code, from: Enc, out: Enc, m: u32, x: u32, (i, p, o): (u32, u32, u32)) {
    if !matches!(
        (from, out),
        (Enc::Utf8, Enc::Utf16) | (Enc::Utf16, Enc::Utf8)
    ) {
        return;
    }
    let first = c.temp(ValType::I32);
    let (v, w) = (c.temp(ValType::V128), c.temp(ValType::V128));
    c.push(I::LocalGet(x));
    c.push(if from == Enc::Utf8 {
        I::I8x16ExtractLaneU(0)
    } else {
        I::I16x8ExtractLaneU(0)
    });
    c.push(I::LocalSet(first));
    for wide in [Wide::Two, Wide::Three, Wide::Four] {
        let (low, high) = wide.first_unit(from);
        c.extend([
            I::LocalGet(first),
            I::I32Const(low as i32),
            I::I32Sub,
            I::I32Const((high - low) as i32),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        wide.test(c, from, x);
        c.push(I::If(BlockType::Empty));
        if from == Enc::Utf8 {
            utf8_to_utf16(c, wide, x, v);
        } else {
            utf16_to_utf8(c, wide, x, (v, w));
        }
        store_wide(c, wide, from, m, (v, w), (p, o));
        let (read, written) = wide.size(from);
        c.extend([
            I::LocalGet(i),
            I::I32Const(read),
            I::I32Add,
            I::LocalSet(i),
            I::LocalGet(o),
            I::I32Const(written),
            I::I32Add,
            I::LocalSet(o),
            // Out of this test, the width's, the block's: to the loop.
            I::Br(3),
            I::End,
            I::End,
        ]);
    }
}

/// Sets `v` to the UTF-16 of the UTF-8 block `x`.
fn utf8_to_utf16(c: &mut Code, wide: Wide, x: u32, v: u32) {
    match wide {
        // Lead and continuation in one 16-bit lane.
        Wide::Two => c.extend([
            I::LocalGet(x),
            k16(0x1F),
            I::V128And,
            I::I32Const(6),
            I::I16x8Shl,
            I::LocalGet(x),
            I::I32Const(8),
            I::I16x8ShrU,
            k16(0x3F),
            I::V128And,
            I::V128Or,
        ]),
        // Each character's three bytes in one 32-bit lane, the code
        // point computed there and narrowed to 16 bits.
        Wide::Three => {
            c.extend([
                I::LocalGet(x),
                bytes16(&[0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80]),
                I::I8x16Swizzle,
                I::LocalTee(v),
                k32(0x0F),
                I::V128And,
                I::I32Const(12),
                I::I32x4Shl,
                I::LocalGet(v),
                I::I32Const(2),
                I::I32x4ShrU,
                k32(0xFC0),
                I::V128And,
                I::V128Or,
                I::LocalGet(v),
                I::I32Const(16),
                I::I32x4ShrU,
                k32(0x3F),
                I::V128And,
                I::V128Or,
            ]);
            c.extend([I::LocalTee(v), I::LocalGet(v), I::I16x8NarrowI32x4U]);
        }
        // Each character in one 32-bit lane, then its surrogate pair.
        Wide::Four => {
            c.extend([
                I::LocalGet(x),
                k32(0x07),
                I::V128And,
                I::I32Const(18),
                I::I32x4Shl,
                I::LocalGet(x),
                k32(0x3F00),
                I::V128And,
                I::I32Const(4),
                I::I32x4Shl,
                I::V128Or,
                I::LocalGet(x),
                I::I32Const(10),
                I::I32x4ShrU,
                k32(0xFC0),
                I::V128And,
                I::V128Or,
                I::LocalGet(x),
                I::I32Const(24),
                I::I32x4ShrU,
                k32(0x3F),
                I::V128And,
                I::V128Or,
                k32(0x10000),
                I::I32x4Sub,
            ]);
            surrogates(c, v);
        }
    }
    c.push(I::LocalSet(v));
}

/// From `cp - 0x10000` in each 32-bit lane on the stack, its surrogate
/// pair, high unit first.
fn surrogates(c: &mut Code, v: u32) {
    c.extend([
        I::LocalTee(v),
        I::I32Const(10),
        I::I32x4ShrU,
        k32(0xD800),
        I::V128Or,
        I::LocalGet(v),
        k32(0x3FF),
        I::V128And,
        k32(0xDC00),
        I::V128Or,
        I::I32Const(16),
        I::I32x4Shl,
        I::V128Or,
    ]);
}

/// Sets `v` to the UTF-8 of the UTF-16 block `x`; for three-byte
/// characters, `v` and `w` hold it in two parts that [`store_wide`]
/// interleaves.
fn utf16_to_utf8(c: &mut Code, wide: Wide, x: u32, (v, w): (u32, u32)) {
    // `(src >> shift) & mask | tag` in each lane of the given width.
    let part = |c: &mut Code, src: u32, lanes32: bool, (shift, mask, tag): (i32, u32, u32)| {
        let (k, shr): (fn(u32) -> I<'static>, I<'static>) = if lanes32 {
            (k32, I::I32x4ShrU)
        } else {
            (|m| k16(m as u16), I::I16x8ShrU)
        };
        c.push(I::LocalGet(src));
        if shift > 0 {
            c.extend([I::I32Const(shift), shr]);
        }
        if mask != u32::MAX {
            c.extend([k(mask), I::V128And]);
        }
        c.extend([k(tag), I::V128Or]);
    };
    let shl_or = |c: &mut Code, lanes32: bool, n: i32| {
        c.extend([
            I::I32Const(n),
            if lanes32 { I::I32x4Shl } else { I::I16x8Shl },
            I::V128Or,
        ])
    };
    const LEAD: u32 = u32::MAX;
    match wide {
        Wide::Two => {
            part(c, x, false, (6, LEAD, 0xC0));
            part(c, x, false, (0, 0x3F, 0x80));
            shl_or(c, false, 8);
        }
        // Lead bytes and first continuations in `w`, second
        // continuations in `v` (twice).
        Wide::Three => {
            part(c, x, false, (12, LEAD, 0xE0));
            part(c, x, false, (6, 0x3F, 0x80));
            c.extend([I::I8x16NarrowI16x8U, I::LocalSet(w)]);
            part(c, x, false, (0, 0x3F, 0x80));
            c.extend([I::LocalTee(v), I::LocalGet(v), I::I8x16NarrowI16x8U]);
        }
        // The code point of each pair in a 32-bit lane, then its bytes.
        Wide::Four => {
            c.extend([
                I::LocalGet(x),
                k32(0x3FF),
                I::V128And,
                I::I32Const(10),
                I::I32x4Shl,
                I::LocalGet(x),
                I::I32Const(16),
                I::I32x4ShrU,
                k32(0x3FF),
                I::V128And,
                I::V128Or,
                k32(0x10000),
                I::I32x4Add,
                I::LocalSet(v),
            ]);
            part(c, v, true, (18, LEAD, 0xF0));
            part(c, v, true, (12, 0x3F, 0x80));
            shl_or(c, true, 8);
            part(c, v, true, (6, 0x3F, 0x80));
            shl_or(c, true, 16);
            part(c, v, true, (0, 0x3F, 0x80));
            shl_or(c, true, 24);
        }
    }
    c.push(I::LocalSet(v));
}

/// Writes the converted block at `p + o`: sixteen bytes, eight for
/// three-byte UTF-8 into UTF-16, twenty-four for UTF-16 into three-byte
/// UTF-8.
fn store_wide(c: &mut Code, wide: Wide, from: Enc, m: u32, (v, w): (u32, u32), (p, o): (u32, u32)) {
    c.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add]);
    match (wide, from) {
        (Wide::Three, Enc::Utf8) => c.extend([
            I::LocalGet(v),
            I::V128Store64Lane {
                memarg: arg(m, 0, 0),
                lane: 0,
            },
        ]),
        (Wide::Three, _) => {
            // Byte 3k + j of the output is part j of character k: lead
            // `w[k]`, first continuation `w[8 + k]`, second `v[k]`
            // (lane 16 + k of the pair).
            let lanes = |k0: usize, n: usize| {
                let mut l = [0u8; 16];
                for (at, b) in (k0..k0 + n).enumerate() {
                    let (k, j) = ((b / 3) as u8, b % 3);
                    l[at] = [k, 8 + k, 16 + k][j];
                }
                l
            };
            c.extend([
                I::LocalGet(w),
                I::LocalGet(v),
                I::I8x16Shuffle(lanes(0, 16)),
                I::V128Store(arg(m, 0, 0)),
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(w),
                I::LocalGet(v),
                I::I8x16Shuffle(lanes(16, 8)),
                I::V128Store64Lane {
                    memarg: arg(m, 16, 0),
                    lane: 0,
                },
            ]);
        }
        _ => c.extend([I::LocalGet(v), I::V128Store(arg(m, 0, 0))]),
    }
}
