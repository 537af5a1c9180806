//! Blocks of sixteen source bytes that a transcoding loop converts in
//! vector lanes when they are not ASCII ([`super::transcode`] moves ASCII
//! itself).
//!
//! - [`wide`]: every character of the block is one width: two-, three-
//!   or four-byte UTF-8 to and from UTF-16, Latin-1's upper half to and
//!   from UTF-8. Each is a fixed rearrangement of lanes.
//! - [`mixed`]: one- and two-byte characters mixed, as in most European
//!   text: eight characters are converted as if each took two bytes (or
//!   one UTF-16 unit), then the bytes that are not part of the result are
//!   squeezed out by one `i8x16.swizzle` whose lane indices come from a
//!   table indexed by which of the eight were wide ([`tables`], 8 KiB in a
//!   memory of the fused module's own), and the result is stored with the
//!   bytes past its end kept as they were.
//!
//! Every store stays inside the destination's worst-case allocation: the
//! loop only takes a block while sixteen source bytes remain, and the
//! worst case leaves room for what each block stores: at most sixteen
//! bytes into Latin-1 (whose allocation holds a byte per source byte),
//! thirty-two into UTF-16 from UTF-8 or into UTF-8 from Latin-1 (two bytes
//! per source byte), twenty-four into UTF-8 from eight UTF-16 units (three
//! per unit). A store that covers bytes past the block's result either is
//! written over by the next store of the same block or puts back the
//! bytes that were there.

use super::code::{Code, IOTA, memarg, repeat, splat16, splat32, v128};
use super::transcode::{Enc, Transcode, advance};
use wasm_encoder::{BlockType, Instruction as I, ValType};

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
    /// Latin-1 bytes 0x80 to 0xFF into two-byte UTF-8: sixteen bytes.
    Latin1High,
    /// Two-byte UTF-8 of U+0080 to U+00FF into Latin-1: eight characters.
    Latin1Pairs,
}

impl Wide {
    /// The blocks a loop from `from` to `out` (stopping at `below`) moves
    /// whole, besides ASCII.
    fn for_loop(from: Enc, out: Enc, below: Option<u32>) -> &'static [Wide] {
        match (from, out, below) {
            (Enc::Utf8, Enc::Utf16, None) | (Enc::Utf16, Enc::Utf8, None) => {
                &[Wide::Two, Wide::Three, Wide::Four]
            }
            (Enc::Latin1, Enc::Utf8, None) => &[Wide::Latin1High],
            (Enc::Utf8, Enc::Latin1, Some(0x100)) => &[Wide::Latin1Pairs],
            _ => &[],
        }
    }

    /// The first code unit's range `[low, high)` for which the block is
    /// worth testing.
    fn first_unit(self, from: Enc) -> (u32, u32) {
        match (self, from) {
            (Wide::Two, Enc::Utf8) => (0xC2, 0xE0),
            (Wide::Three, Enc::Utf8) => (0xE0, 0xF0),
            (Wide::Four, Enc::Utf8) => (0xF0, 0xF5),
            (Wide::Latin1High, _) => (0x80, 0x100),
            (Wide::Latin1Pairs, _) => (0xC2, 0xC4),
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
            (Wide::Latin1High, _) => c.extend([I::I8x16Bitmask, I::I32Const(0xFFFF), I::I32Eq]),
            // Leads C2 and C3 only.
            (Wide::Latin1Pairs, _) => c.extend([
                repeat(&[0xFE, 0xC0]),
                I::V128And,
                repeat(&[0xC2, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Two, Enc::Utf8) => c.extend([
                repeat(&[0xE0, 0xC0]),
                I::V128And,
                repeat(&[0xC0, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Three, Enc::Utf8) => c.extend([
                repeat(&[0xF0, 0xC0, 0xC0]),
                I::V128And,
                repeat(&[0xE0, 0x80, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Four, Enc::Utf8) => c.extend([
                repeat(&[0xF8, 0xC0, 0xC0, 0xC0]),
                I::V128And,
                repeat(&[0xF0, 0x80, 0x80, 0x80]),
                I::I8x16Eq,
                I::I8x16AllTrue,
            ]),
            (Wide::Two, _) => c.extend([
                splat16(0x80),
                I::I16x8Sub,
                splat16(0x780),
                I::I16x8LtU,
                I::I16x8AllTrue,
            ]),
            // At least U+0800 and not a surrogate.
            (Wide::Three, _) => c.extend([
                splat16(0x800),
                I::I16x8GeU,
                I::LocalGet(x),
                splat16(0xF800),
                I::V128And,
                splat16(0xD800),
                I::I16x8Ne,
                I::V128And,
                I::I16x8AllTrue,
            ]),
            // High and low surrogates in turn.
            (Wide::Four, _) => c.extend([
                splat16(0xFC00),
                I::V128And,
                splat32(0xDC00_D800),
                I::I16x8Eq,
                I::I16x8AllTrue,
            ]),
        }
    }

    /// Source bytes the block moves, and destination bytes it writes.
    fn size(self, from: Enc) -> (i32, i32) {
        match (self, from) {
            (Wide::Latin1High, _) => (16, 32),
            (Wide::Latin1Pairs, _) => (16, 8),
            (Wide::Two | Wide::Four, _) => (16, 16),
            (Wide::Three, Enc::Utf8) => (12, 8),
            (Wide::Three, _) => (16, 24),
        }
    }
}

/// After the ASCII block test failed: when the block at `x` holds
/// characters of one width that the loop can move whole, moves them and
/// goes on with the next block.
pub(super) fn wide(c: &mut Code, t: Transcode, x: u32, (i, p, o): (u32, u32, u32)) {
    let ((from, _), (out, m)) = (t.from, t.to);
    let wides = Wide::for_loop(from, out, t.below);
    if wides.is_empty() {
        return;
    }
    let first = c.temp(ValType::I32);
    let (v, w) = (c.temp(ValType::V128), c.temp(ValType::V128));
    c.push(I::LocalGet(x));
    c.push(if from == Enc::Utf16 {
        I::I16x8ExtractLaneU(0)
    } else {
        I::I8x16ExtractLaneU(0)
    });
    // Every width's first unit is at least 0x80: one test skips them all
    // when the block starts with ASCII (text that mixes widths).
    c.extend([
        I::LocalTee(first),
        I::I32Const(0x80),
        I::I32GeU,
        I::If(BlockType::Empty),
    ]);
    for &wide in wides {
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
            wide_from_utf8(c, wide, x, v);
        } else {
            wide_into_utf8(c, wide, x, (v, w));
        }
        store_wide(c, wide, from, m, (v, w), (p, o));
        let (read, written) = wide.size(from);
        advance(c, (i, read), (o, written));
        // Out of this test, the width's, the first unit's and the block's:
        // to the loop.
        c.extend([I::Br(4), I::End, I::End]);
    }
    c.push(I::End);
}

/// Sets `v` to the UTF-16 of the UTF-8 block `x` (to its Latin-1, for
/// [`Wide::Latin1Pairs`]).
fn wide_from_utf8(c: &mut Code, wide: Wide, x: u32, v: u32) {
    match wide {
        // Lead and continuation in one 16-bit lane (narrowed to a byte
        // into Latin-1).
        Wide::Two | Wide::Latin1Pairs => {
            c.extend([
                I::LocalGet(x),
                splat16(0x1F),
                I::V128And,
                I::I32Const(6),
                I::I16x8Shl,
                I::LocalGet(x),
                I::I32Const(8),
                I::I16x8ShrU,
                splat16(0x3F),
                I::V128And,
                I::V128Or,
            ]);
            if matches!(wide, Wide::Latin1Pairs) {
                c.extend([I::LocalTee(v), I::LocalGet(v), I::I8x16NarrowI16x8U]);
            }
        }
        // Each character's three bytes in one 32-bit lane, the code
        // point computed there and narrowed to 16 bits.
        Wide::Three => {
            c.extend([
                I::LocalGet(x),
                repeat(&[0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80]),
                I::I8x16Swizzle,
                I::LocalTee(v),
                splat32(0x0F),
                I::V128And,
                I::I32Const(12),
                I::I32x4Shl,
                I::LocalGet(v),
                I::I32Const(2),
                I::I32x4ShrU,
                splat32(0xFC0),
                I::V128And,
                I::V128Or,
                I::LocalGet(v),
                I::I32Const(16),
                I::I32x4ShrU,
                splat32(0x3F),
                I::V128And,
                I::V128Or,
            ]);
            c.extend([I::LocalTee(v), I::LocalGet(v), I::I16x8NarrowI32x4U]);
        }
        // Each character in one 32-bit lane, then its surrogate pair.
        Wide::Four => {
            c.extend([
                I::LocalGet(x),
                splat32(0x07),
                I::V128And,
                I::I32Const(18),
                I::I32x4Shl,
                I::LocalGet(x),
                splat32(0x3F00),
                I::V128And,
                I::I32Const(4),
                I::I32x4Shl,
                I::V128Or,
                I::LocalGet(x),
                I::I32Const(10),
                I::I32x4ShrU,
                splat32(0xFC0),
                I::V128And,
                I::V128Or,
                I::LocalGet(x),
                I::I32Const(24),
                I::I32x4ShrU,
                splat32(0x3F),
                I::V128And,
                I::V128Or,
                splat32(0x10000),
                I::I32x4Sub,
            ]);
            surrogates(c, v);
        }
        Wide::Latin1High => unreachable!("Latin-1 is not read as UTF-8"),
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
        splat32(0xD800),
        I::V128Or,
        I::LocalGet(v),
        splat32(0x3FF),
        I::V128And,
        splat32(0xDC00),
        I::V128Or,
        I::I32Const(16),
        I::I32x4Shl,
        I::V128Or,
    ]);
}

/// Sets `v` to the UTF-8 of the UTF-16 (or Latin-1) block `x`; for
/// three-byte characters and for Latin-1, `v` and `w` hold it in two
/// parts that [`store_wide`] interleaves or stores one after the other.
fn wide_into_utf8(c: &mut Code, wide: Wide, x: u32, (v, w): (u32, u32)) {
    // `(src >> shift) & mask | tag` in each lane of the given width.
    let part = |c: &mut Code, src: u32, lanes32: bool, (shift, mask, tag): (i32, u32, u32)| {
        let (k, shr): (fn(u32) -> I<'static>, I<'static>) = if lanes32 {
            (splat32, I::I32x4ShrU)
        } else {
            (|m| splat16(m as u16), I::I16x8ShrU)
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
        Wide::Two => two_byte_utf8(c, x),
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
                splat32(0x3FF),
                I::V128And,
                I::I32Const(10),
                I::I32x4Shl,
                I::LocalGet(x),
                I::I32Const(16),
                I::I32x4ShrU,
                splat32(0x3FF),
                I::V128And,
                I::V128Or,
                splat32(0x10000),
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
        // Sixteen Latin-1 bytes, widened: the high half's UTF-8 in `w`.
        Wide::Latin1High => {
            c.extend([I::LocalGet(x), I::I16x8ExtendHighI8x16U, I::LocalSet(w)]);
            two_byte_utf8(c, w);
            c.extend([
                I::LocalSet(w),
                I::LocalGet(x),
                I::I16x8ExtendLowI8x16U,
                I::LocalSet(v),
            ]);
            two_byte_utf8(c, v);
        }
        Wide::Latin1Pairs => unreachable!("UTF-8 into Latin-1 is read as UTF-8"),
    }
    c.push(I::LocalSet(v));
}

/// Leaves the two-byte UTF-8 of the code points below U+0800 in the
/// 16-bit lanes of `src`, lead byte first.
fn two_byte_utf8(c: &mut Code, src: u32) {
    c.extend([
        I::LocalGet(src),
        I::I32Const(6),
        I::I16x8ShrU,
        splat16(0xC0),
        I::V128Or,
        I::LocalGet(src),
        splat16(0x3F),
        I::V128And,
        splat16(0x80),
        I::V128Or,
        I::I32Const(8),
        I::I16x8Shl,
        I::V128Or,
    ]);
}

/// Writes the converted block at `p + o`: sixteen bytes, eight for
/// three-byte UTF-8 into UTF-16, twenty-four for UTF-16 into three-byte
/// UTF-8.
fn store_wide(c: &mut Code, wide: Wide, from: Enc, m: u32, (v, w): (u32, u32), (p, o): (u32, u32)) {
    c.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add]);
    match (wide, from) {
        (Wide::Latin1High, _) => c.extend([
            I::LocalGet(v),
            I::V128Store(memarg(m, 0, 0)),
            I::LocalGet(p),
            I::LocalGet(o),
            I::I32Add,
            I::LocalGet(w),
            I::V128Store(memarg(m, 16, 0)),
        ]),
        (Wide::Three, Enc::Utf8) | (Wide::Latin1Pairs, _) => c.extend([
            I::LocalGet(v),
            I::V128Store64Lane {
                memarg: memarg(m, 0, 0),
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
                I::V128Store(memarg(m, 0, 0)),
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(w),
                I::LocalGet(v),
                I::I8x16Shuffle(lanes(16, 8)),
                I::V128Store64Lane {
                    memarg: memarg(m, 16, 0),
                    lane: 0,
                },
            ]);
        }
        _ => c.extend([I::LocalGet(v), I::V128Store(memarg(m, 0, 0))]),
    }
}

/// Bytes of [`tables`].
const TABLES: usize = 2 * 256 * 16;

/// Offset in [`tables`] of the UTF-8 → UTF-16 table.
const FROM_UTF8: u64 = 256 * 16;

/// The squeeze tables of [`mixed`], at offset 0 of their memory: for each
/// 8-bit mask of eight characters,
///
/// - at 0, into UTF-8: bit `k` set when character `k` takes two bytes;
///   the bytes `2k` and, when set, `2k + 1` of its lanes, in order;
/// - at [`FROM_UTF8`], from UTF-8: bit `k` set when byte `k` continues a
///   character; the 16-bit lanes `k` whose bit is clear, in order.
///
/// Lanes past the result take index 0x80 (zero).
pub fn tables() -> Vec<u8> {
    let mut t = vec![0x80u8; TABLES];
    for mask in 0..256usize {
        let into = &mut t[mask * 16..][..16];
        let mut at = 0;
        for k in 0..8u8 {
            into[at] = 2 * k;
            at += 1;
            if mask >> k & 1 == 1 {
                into[at] = 2 * k + 1;
                at += 1;
            }
        }
        let from = &mut t[FROM_UTF8 as usize + mask * 16..][..16];
        let mut at = 0;
        for k in 0..8u8 {
            if mask >> k & 1 == 0 {
                from[at] = 2 * k;
                from[at + 1] = 2 * k + 1;
                at += 2;
            }
        }
    }
    t
}

/// Whether the loop `t` uses [`mixed`] blocks, and then its test: the
/// bound below which the first eight UTF-8 bytes must be (0 when the source
/// is not UTF-8).
fn mixed_route(t: Transcode) -> Option<u8> {
    match (t.from.0, t.to.0, t.below) {
        (Enc::Utf8, Enc::Utf16, None) => Some(0xE0),
        (Enc::Utf8, Enc::Latin1, Some(0x100)) => Some(0xC4),
        (Enc::Utf16 | Enc::Latin1, Enc::Utf8, None) => Some(0),
        _ => None,
    }
}

/// Whether the loop `t` reads [`tables`].
pub fn uses_tables(t: Transcode) -> bool {
    mixed_route(t).is_some()
}

/// Stores the first `n` bytes of `v` at `p + o` and leaves the next ones
/// of the sixteen (of the eight, when `eight`) as they were.
pub(super) fn store_first(
    c: &mut Code,
    m: u32,
    v: u32,
    (n, eight): (u32, bool),
    (p, o): (u32, u32),
) {
    c.extend([
        I::LocalGet(p),
        I::LocalGet(o),
        I::I32Add,
        I::LocalGet(v),
        I::LocalGet(p),
        I::LocalGet(o),
        I::I32Add,
    ]);
    c.push(if eight {
        I::V128Load64Zero(memarg(m, 0, 0))
    } else {
        I::V128Load(memarg(m, 0, 0))
    });
    c.extend([
        v128(IOTA),
        I::LocalGet(n),
        I::I8x16Splat,
        I::I8x16LtU,
        I::V128Bitselect,
    ]);
    c.push(if eight {
        I::V128Store64Lane {
            memarg: memarg(m, 0, 0),
            lane: 0,
        }
    } else {
        I::V128Store(memarg(m, 0, 0))
    });
}

/// Which lanes of a mixed block one squeeze takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    /// Bytes 0 to 7, widened to 16-bit lanes.
    Low,
    /// Bytes 8 to 15, widened.
    High,
    /// All sixteen bytes: eight UTF-16 units.
    Whole,
}

impl Half {
    /// `v` widened to the half's 16-bit lanes.
    fn widen(self) -> Option<I<'static>> {
        match self {
            Half::Low => Some(I::I16x8ExtendLowI8x16U),
            Half::High => Some(I::I16x8ExtendHighI8x16U),
            Half::Whole => None,
        }
    }
}

/// After the ASCII and one-width tests failed: when the block at `x`
/// holds only one- and two-byte characters (of UTF-8; for Latin-1 into
/// UTF-8, any block), converts it eight characters at a time, squeezes
/// out what is not part of the result through the table in memory
/// `tables`, and goes on with the next block. UTF-8 into UTF-16 or
/// Latin-1, UTF-16 or Latin-1 into UTF-8.
pub(super) fn mixed(c: &mut Code, t: Transcode, tables: u32, x: u32, (i, p, o): (u32, u32, u32)) {
    let Some(below) = mixed_route(t) else {
        return;
    };
    let ((from, _), (out, m)) = (t.from, t.to);
    let mark = c.mark();
    let (v, lanes) = (c.temp(ValType::V128), c.temp(ValType::V128));
    let (n, read) = (c.temp(ValType::I32), c.temp(ValType::I32));
    match from {
        // Every byte is below `below`: no character longer than two
        // bytes, or (into Latin-1) none above U+00FF.
        Enc::Utf8 => c.extend([
            I::LocalGet(x),
            repeat(&[below]),
            I::I8x16LtU,
            I::I8x16AllTrue,
        ]),
        Enc::Utf16 => c.extend([I::LocalGet(x), splat16(0x800), I::I16x8LtU, I::I16x8AllTrue]),
        _ => c.push(I::I32Const(1)),
    }
    c.push(I::If(BlockType::Empty));
    c.extend([I::I32Const(16), I::LocalSet(read)]);
    let halves: &[Half] = if from == Enc::Utf16 {
        &[Half::Whole]
    } else {
        &[Half::Low, Half::High]
    };
    for &half in halves {
        let table = if from == Enc::Utf8 {
            from_utf8(c, x, half, (v, lanes), (n, read))
        } else {
            into_utf8(c, x, half, (v, lanes), n)
        };
        // `v` swizzled by the mask's row of the table.
        c.extend([
            I::I32Const(4),
            I::I32Shl,
            I::V128Load(memarg(tables, table, 0)),
            I::I8x16Swizzle,
            I::LocalSet(v),
        ]);
        if out == Enc::Latin1 {
            c.extend([
                I::LocalGet(v),
                I::LocalGet(v),
                I::I8x16NarrowI16x8U,
                I::LocalSet(v),
            ]);
        } else if out == Enc::Utf16 {
            c.extend([I::LocalGet(n), I::I32Const(1), I::I32Shl, I::LocalSet(n)]);
        }
        // Latin-1 results are eight bytes at most, and the allocation
        // may end sixteen bytes after the block's start: eight-byte
        // stores.
        let narrow = out == Enc::Latin1;
        if half == Half::Low {
            // Whatever it writes past its result, the high half's store
            // writes over.
            c.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add, I::LocalGet(v)]);
            c.push(if narrow {
                I::V128Store64Lane {
                    memarg: memarg(m, 0, 0),
                    lane: 0,
                }
            } else {
                I::V128Store(memarg(m, 0, 0))
            });
        } else {
            store_first(c, m, v, (n, narrow), (p, o));
        }
        c.extend([I::LocalGet(o), I::LocalGet(n), I::I32Add, I::LocalSet(o)]);
    }
    c.extend([
        I::LocalGet(i),
        I::LocalGet(read),
        I::I32Add,
        I::LocalSet(i),
        // Out of this test and the block's: to the loop.
        I::Br(2),
        I::End,
    ]);
    c.release(mark);
}

/// For the UTF-8 characters that start in `half` of `x`, one- or
/// two-byte: leaves `v` and the table row's mask on the stack and returns
/// the table's offset, `v` holding each code point in the 16-bit lane of
/// its first byte; sets `n` to how many there are. A character that
/// starts in the last byte is left to the next block, and `read` (16)
/// made one less.
fn from_utf8(
    c: &mut Code,
    x: u32,
    half: Half,
    (v, lanes): (u32, u32),
    (n, read): (u32, u32),
) -> u64 {
    let widen = half.widen().unwrap_or(I::Nop);
    // Each lead's code point from its byte and the next; other lanes as
    // they are.
    c.extend([
        I::LocalGet(x),
        widen.clone(),
        I::LocalTee(lanes),
        splat16(0x1F),
        I::V128And,
        I::I32Const(6),
        I::I16x8Shl,
        I::LocalGet(x),
        I::LocalGet(x),
        I::I8x16Shuffle([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]),
        widen,
        splat16(0x3F),
        I::V128And,
        I::V128Or,
        I::LocalGet(lanes),
        I::LocalGet(lanes),
        splat16(0xC0),
        I::I16x8GeU,
        I::V128Bitselect,
        I::LocalSet(v),
    ]);
    // Which bytes continue a character: the row.
    c.extend([
        I::LocalGet(lanes),
        splat16(0xC0),
        I::V128And,
        splat16(0x80),
        I::I16x8Eq,
        I::I16x8Bitmask,
        I::LocalSet(n),
    ]);
    if half == Half::High {
        // A lead in the last byte: its character is the next block's.
        c.extend([
            I::LocalGet(lanes),
            I::I16x8ExtractLaneU(7),
            I::I32Const(0xC0),
            I::I32GeU,
            I::LocalTee(read),
            I::I32Const(7),
            I::I32Shl,
            I::LocalGet(n),
            I::I32Or,
            I::LocalSet(n),
            I::I32Const(16),
            I::LocalGet(read),
            I::I32Sub,
            I::LocalSet(read),
        ]);
    }
    c.extend([
        I::LocalGet(v),
        I::LocalGet(n),
        I::I32Const(8),
        I::LocalGet(n),
        I::I32Popcnt,
        I::I32Sub,
        I::LocalSet(n),
    ]);
    FROM_UTF8
}

/// For the UTF-16 units of `x` (all below U+0800), or the Latin-1 bytes
/// of `half` of it: leaves `v` and the table row's mask on the stack and
/// returns the table's offset, `v` holding each unit's UTF-8 in its 16-bit
/// lane (a one-byte unit's second byte to drop); sets `n` to the UTF-8's
/// length.
fn into_utf8(c: &mut Code, x: u32, half: Half, (v, lanes): (u32, u32), n: u32) -> u64 {
    c.push(I::LocalGet(x));
    if let Some(widen) = half.widen() {
        c.push(widen);
    }
    c.push(I::LocalSet(lanes));
    // Each unit's two-byte form where it takes two bytes (the row's
    // bits), else the unit and a zero byte to drop.
    two_byte_utf8(c, lanes);
    c.extend([
        I::LocalGet(lanes),
        I::LocalGet(lanes),
        splat16(0x80),
        I::I16x8GeU,
        I::LocalTee(v),
        I::V128Bitselect,
        I::LocalGet(v),
        I::I16x8Bitmask,
        I::LocalSet(n),
        I::LocalSet(v),
        I::LocalGet(v),
        I::LocalGet(n),
        I::LocalGet(n),
        I::I32Popcnt,
        I::I32Const(8),
        I::I32Add,
        I::LocalSet(n),
    ]);
    0
}

#[cfg(test)]
mod tests {
    use super::{FROM_UTF8, TABLES, tables};

    /// Every row squeezes exactly the lanes its mask keeps, in order, and
    /// zeroes the rest.
    #[test]
    fn table_rows_keep_the_masked_lanes_in_order() {
        let t = tables();
        assert_eq!(t.len(), TABLES);
        for mask in 0..256usize {
            let mut into = Vec::new();
            let mut from = Vec::new();
            for k in 0..8u8 {
                into.push(2 * k);
                if mask >> k & 1 == 1 {
                    into.push(2 * k + 1);
                } else {
                    from.extend([2 * k, 2 * k + 1]);
                }
            }
            for (row, kept) in [(mask * 16, into), (FROM_UTF8 as usize + mask * 16, from)] {
                let row = &t[row..row + 16];
                assert_eq!(&row[..kept.len()], kept.as_slice(), "mask {mask:#x}");
                assert!(
                    row[kept.len()..].iter().all(|&i| i == 0x80),
                    "mask {mask:#x}"
                );
            }
        }
    }
}
