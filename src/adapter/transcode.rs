//! Transcoding loops, generated once per pair of encodings and memories
//! and called by every adapter that changes a string's encoding; the
//! `realloc` calls around them stay in the adapters, in the order the
//! spec's `store_string_*` functions make them.
//!
//! Each loop moves sixteen source bytes at a time while they need no
//! transcoding (ASCII; any Latin-1 byte into UTF-16; any UTF-16 unit below
//! 0x100 into Latin-1, or any unit into UTF-16): a copy, a widening of
//! bytes to UTF-16 code units, or a narrowing of code units to bytes.
//! A block whose characters are all of one other width is converted in
//! vector lanes too: two-, three- and four-byte UTF-8 to and from UTF-16,
//! Latin-1's upper half to and from UTF-8. At a block that is neither
//! (text that mixes widths within sixteen bytes), the loop decodes and
//! encodes one code point, then tries a block again.

use super::blocks;
use super::code::{Code, IOTA, inside, memarg, splat16, v128};
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

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

/// `(ptr, bytes, i, p, o) -> (i, o)`: decodes the source's code points
/// from byte `i` to `bytes` and encodes them at `p + o` in the
/// destination; returns where it stopped in both (the end of the source,
/// unless `below` stopped it first). The source was validated and the
/// destination holds the worst case.
/// `tables` is the memory of [`blocks::tables`], when the loop uses it.
pub fn transcode(t: Transcode, tables: Option<u32>) -> Function {
    let (ptr, bytes, i, p, o) = (0, 1, 2, 3, 4);
    let mut c = Code::new(5);
    let (cp, next) = (c.temp(ValType::I32), c.temp(ValType::I32));
    let (x, y) = (c.temp(ValType::V128), c.temp(ValType::V128));
    let s = Source {
        memory: t.from.1,
        ptr,
        encoding: t.from.0,
    };
    let (m, out) = (t.to.1, t.to.0);
    short_text(&mut c, t, (ptr, bytes), (i, p, o), (x, y, cp, next));
    c.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
    narrow_pairs(&mut c, t, (ptr, bytes), (i, p, o), (x, y));
    // Sixteen source bytes at a time while they need no transcoding.
    if_bytes_left(&mut c, (i, bytes), 16);
    load_at(&mut c, s.memory, (ptr, i), 0);
    c.push(I::LocalTee(x));
    no_transcoding(&mut c, t);
    c.push(I::If(BlockType::Empty));
    let written = store_block(&mut c, t, x, (p, o));
    advance(&mut c, (i, 16), (o, written));
    c.extend([I::Br(2), I::End]);
    blocks::wide(&mut c, t, x, (i, p, o));
    if let Some(tables) = tables {
        blocks::mixed(&mut c, t, tables, x, (i, p, o));
    }
    // Fewer than sixteen bytes left: the end, or the last block.
    c.extend([
        I::Else,
        I::LocalGet(i),
        I::LocalGet(bytes),
        I::I32GeU,
        I::BrIf(2),
    ]);
    last_block(&mut c, t, (ptr, bytes), (i, o), next, written);
    c.push(I::End);
    // One code point.
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
                I::I32Store8(memarg(m, 0, 0)),
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

/// In the narrow phase from UTF-16 (into Latin-1, or the ASCII start of
/// UTF-8), at the top of the loop: while 32 source bytes are left and all
/// their sixteen units are below the phase's limit, narrows them into one
/// block of sixteen bytes and goes on with the loop: half the work of two
/// blocks of eight. The phase ends at the first unit that is not, so the
/// test fails at most twice per call.
fn narrow_pairs(
    c: &mut Code,
    t: Transcode,
    (ptr, bytes): (u32, u32),
    (i, p, o): (u32, u32, u32),
    (x, y): (u32, u32),
) {
    let (Enc::Utf16, Some(below)) = (t.from.0, t.below) else {
        return;
    };
    let from = t.from.1;
    if_bytes_left(c, (i, bytes), 32);
    load_at(c, from, (ptr, i), 0);
    c.push(I::LocalTee(x));
    load_at(c, from, (ptr, i), 16);
    c.extend([
        I::LocalTee(y),
        I::V128Or,
        splat16(utf16_limit(below).1),
        I::V128And,
        I::V128AnyTrue,
        I::I32Eqz,
        I::If(BlockType::Empty),
        I::LocalGet(p),
        I::LocalGet(o),
        I::I32Add,
        I::LocalGet(x),
        I::LocalGet(y),
        I::I8x16NarrowI16x8U,
        I::V128Store(memarg(t.to.1, 0, 0)),
    ]);
    advance(c, (i, 32), (o, 16));
    // Out of the two tests, to the loop.
    c.extend([I::Br(2), I::End, I::End]);
}

/// Opens an `if` for when `n` more bytes from `i` are inside the text's
/// `bytes`.
fn if_bytes_left(c: &mut Code, (i, bytes): (u32, u32), n: i32) {
    c.extend([
        I::LocalGet(i),
        I::I32Const(n),
        I::I32Add,
        I::LocalGet(bytes),
        I::I32LeU,
        I::If(BlockType::Empty),
    ]);
}

/// Loads the sixteen bytes at `ptr + i + offset` of `memory`.
fn load_at(c: &mut Code, memory: u32, (ptr, i): (u32, u32), offset: u64) {
    c.extend([
        I::LocalGet(ptr),
        I::LocalGet(i),
        I::I32Add,
        I::V128Load(memarg(memory, offset, 0)),
    ]);
}

/// A UTF-16 narrowing below `below` (`0x100` into Latin-1, `0x80` into the
/// ASCII start of UTF-8): the limit, and the bits a unit below it never
/// has.
fn utf16_limit(below: u32) -> (i32, u16) {
    if below == 0x100 {
        (0x100, 0xFF00)
    } else {
        (0x80, 0xFF80)
    }
}

/// Replaces the block on the stack with whether it needs no
/// transcoding: all ASCII (any unit below 0x100 narrowing UTF-16 to
/// Latin-1; whatever it holds, Latin-1 into UTF-16, or UTF-16 into UTF-16
/// after a narrow phase).
fn no_transcoding(c: &mut Code, t: Transcode) {
    let (from, out) = (t.from.0, t.to.0);
    let every_byte = matches!((from, out), (Enc::Latin1 | Enc::Utf16, Enc::Utf16));
    match from {
        _ if every_byte => c.extend([I::Drop, I::I32Const(1)]),
        Enc::Utf16 => c.extend([
            splat16(utf16_limit(t.below.unwrap_or(0x80)).1),
            I::V128And,
            I::V128AnyTrue,
            I::I32Eqz,
        ]),
        _ => c.extend([I::I8x16Bitmask, I::I32Eqz]),
    }
}

/// Stores the block `x`, which needs no transcoding, at `p + o` in the
/// loop's destination encoding; returns the bytes written.
fn store_block(c: &mut Code, t: Transcode, x: u32, (p, o): (u32, u32)) -> i32 {
    let (from, (out, m)) = (t.from.0, t.to);
    let dst = |c: &mut Code, offset: u64, store: I<'static>| {
        c.extend([I::LocalGet(p), I::LocalGet(o), I::I32Add, I::LocalGet(x)]);
        if offset > 0 {
            // The high half, widened, sixteen bytes on.
            c.push(I::I16x8ExtendHighI8x16U);
        }
        c.push(store);
    };
    match (from, out) {
        (Enc::Utf16, Enc::Utf16) => {
            dst(c, 0, I::V128Store(memarg(m, 0, 0)));
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
                    memarg: memarg(m, 0, 0),
                    lane: 0,
                },
            ]);
        }
        (_, Enc::Utf16) => {
            c.extend([
                I::LocalGet(p),
                I::LocalGet(o),
                I::I32Add,
                I::LocalGet(x),
                I::I16x8ExtendLowI8x16U,
                I::V128Store(memarg(m, 0, 0)),
            ]);
            dst(c, 16, I::V128Store(memarg(m, 16, 0)));
        }
        _ => dst(c, 0, I::V128Store(memarg(m, 0, 0))),
    }
    block_output(t)
}

/// In the loop's branch for fewer than sixteen of the text's `bytes` bytes
/// left after `i`: when the text has at least sixteen and the sixteen that
/// end it need no transcoding, steps back to their start (the bytes
/// stepped over were converted at the same fixed width, so their output is
/// the bytes just before `o`) and goes on to the loop, which takes them as
/// a block. `written` is what a block writes; `j` a spare local.
fn last_block(
    c: &mut Code,
    t: Transcode,
    (ptr, bytes): (u32, u32),
    (i, o): (u32, u32),
    j: u32,
    written: i32,
) {
    // Of at least sixteen: when the sixteen that end the text need no
    // transcoding, step back to their start (the bytes stepped over were
    // converted at the same fixed width, so their output is the bytes just
    // before `o`) and take them as a block.
    c.extend([
        I::LocalGet(bytes),
        I::I32Const(16),
        I::I32GeU,
        I::If(BlockType::Empty),
        I::LocalGet(ptr),
        I::LocalGet(bytes),
        I::I32Add,
        I::I32Const(16),
        I::I32Sub,
        I::V128Load(memarg(t.from.1, 0, 0)),
    ]);
    no_transcoding(c, t);
    c.extend([
        I::If(BlockType::Empty),
        I::LocalGet(o),
        I::LocalGet(i),
        I::LocalGet(bytes),
        I::I32Const(16),
        I::I32Sub,
        I::LocalTee(j),
        I::I32Sub,
    ]);
    scale(c, written);
    c.extend([
        I::I32Sub,
        I::LocalSet(o),
        I::LocalGet(j),
        I::LocalSet(i),
        // Out of this test, the length's and the loop's `else`: to the
        // loop.
        I::Br(3),
        I::End,
        I::End,
    ]);
}

/// Before the loop, when fewer than sixteen bytes of the text are left
/// from `i` (a short text): when they need no transcoding, and the
/// sixteen bytes from `i` and a whole block's output at `p + o` are inside
/// their memories, converts them as one block (the lanes past the end
/// zeroed), stores only the bytes of the result
/// ([`blocks::store_first`]), and returns. (Longer texts end with
/// [`last_block`].) `y` is a spare vector, `n` and `at` spare locals.
fn short_text(
    c: &mut Code,
    t: Transcode,
    (ptr, bytes): (u32, u32),
    (i, p, o): (u32, u32, u32),
    (x, y, n, at): (u32, u32, u32, u32),
) {
    let (from, (out, m)) = (t.from, t.to);
    let written = block_output(t);
    // One to fifteen bytes left.
    c.extend([
        I::LocalGet(bytes),
        I::LocalGet(i),
        I::I32Sub,
        I::I32Const(1),
        I::I32Sub,
        I::I32Const(15),
        I::I32LtU,
        I::If(BlockType::Empty),
    ]);
    // Where not every unit passes as it is, the first must: a second
    // phase starts at the character that stopped the first, and finds out
    // here for a few instructions.
    let every_unit = matches!((from.0, out), (Enc::Latin1 | Enc::Utf16, Enc::Utf16));
    let first = (!every_unit).then(|| match from.0 {
        Enc::Utf16 => (
            I::I32Load16U(memarg(from.1, 0, 1)),
            utf16_limit(t.below.unwrap_or(0x80)).0,
        ),
        _ => (I::I32Load8U(memarg(from.1, 0, 0)), 0x80),
    });
    // The `if`s open, closed at the end.
    let mut open = 3;
    if let Some((load, limit)) = first {
        c.extend([
            I::LocalGet(ptr),
            I::LocalGet(i),
            I::I32Add,
            load,
            I::I32Const(limit),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        open += 1;
    }
    inside(c, from.1, &[ptr, i], 16);
    inside(c, m, &[p, o], i64::from(written));
    c.extend([I::I32And, I::If(BlockType::Empty)]);
    load_at(c, from.1, (ptr, i), 0);
    c.extend([
        v128(IOTA),
        I::LocalGet(bytes),
        I::LocalGet(i),
        I::I32Sub,
        I::I8x16Splat,
        I::I8x16LtU,
        I::V128And,
        I::LocalTee(x),
    ]);
    no_transcoding(c, t);
    // The bytes of output: the bytes left, at the block's ratio.
    c.extend([
        I::If(BlockType::Empty),
        I::LocalGet(bytes),
        I::LocalGet(i),
        I::I32Sub,
    ]);
    scale(c, written);
    c.push(I::LocalSet(n));
    match (from.0, out) {
        (Enc::Utf16, Enc::Utf16) | (Enc::Utf8 | Enc::Latin1, Enc::Utf8 | Enc::Latin1) => {
            blocks::store_first(c, m, x, (n, false), (p, o));
        }
        (Enc::Utf16, _) => {
            c.extend([
                I::LocalGet(x),
                I::LocalGet(x),
                I::I8x16NarrowI16x8U,
                I::LocalSet(y),
            ]);
            blocks::store_first(c, m, y, (n, true), (p, o));
        }
        (_, Enc::Utf16) => {
            // Up to thirty bytes: the low half's sixteen, then the rest of
            // the high half's when there are more, sixteen bytes on.
            c.extend([I::LocalGet(x), I::I16x8ExtendLowI8x16U, I::LocalSet(y)]);
            blocks::store_first(c, m, y, (n, false), (p, o));
            c.extend([
                I::LocalGet(n),
                I::I32Const(16),
                I::I32GtU,
                I::If(BlockType::Empty),
                I::LocalGet(x),
                I::I16x8ExtendHighI8x16U,
                I::LocalSet(y),
                I::LocalGet(o),
                I::I32Const(16),
                I::I32Add,
                I::LocalSet(at),
                I::LocalGet(n),
                I::I32Const(16),
                I::I32Sub,
                I::LocalSet(n),
            ]);
            blocks::store_first(c, m, y, (n, false), (p, at));
            c.extend([
                I::LocalGet(n),
                I::I32Const(16),
                I::I32Add,
                I::LocalSet(n),
                I::End,
            ]);
        }
    }
    c.extend([
        I::LocalGet(bytes),
        I::LocalGet(o),
        I::LocalGet(n),
        I::I32Add,
        I::Return,
    ]);
    c.extend((0..open).map(|_| I::End));
}

/// The bytes a block of sixteen that needs no transcoding becomes.
fn block_output(t: Transcode) -> i32 {
    match (t.from.0, t.to.0) {
        (Enc::Utf16, Enc::Utf16) => 16,
        (Enc::Utf16, _) => 8,
        (_, Enc::Utf16) => 32,
        _ => 16,
    }
}

/// Scales the source bytes on the stack to the output bytes of a block
/// that writes `written` (see [`block_output`]).
fn scale(c: &mut Code, written: i32) {
    match written {
        32 => c.extend([I::I32Const(1), I::I32Shl]),
        8 => c.extend([I::I32Const(1), I::I32ShrU]),
        _ => {}
    }
}

/// Moves the source index `i` on by `read` bytes and the destination
/// offset `o` by `written`.
pub(super) fn advance(c: &mut Code, (i, read): (u32, i32), (o, written): (u32, i32)) {
    c.extend([
        I::LocalGet(i),
        I::I32Const(read),
        I::I32Add,
        I::LocalSet(i),
        I::LocalGet(o),
        I::I32Const(written),
        I::I32Add,
        I::LocalSet(o),
    ]);
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
            I::V128Load(memarg(memory, 0, 0)),
            splat16(0xFF00),
            I::V128And,
            I::V128AnyTrue,
        ]);
        wide(c);
    });
    each(&mut c, 1, &|c| {
        at(c, 1);
        c.extend([
            I::I32Load16U(memarg(memory, 0, 0)),
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
        c.extend([I::V128Load(memarg(memory, 0, 0)), I::LocalSet(a)]);
        at(c, 1);
        c.extend([I::V128Load(memarg(memory, 16, 0)), I::LocalSet(b)]);
        at(c, 0);
        c.extend([
            I::LocalGet(a),
            I::LocalGet(b),
            I::I8x16NarrowI16x8U,
            I::V128Store(memarg(memory, 0, 0)),
        ]);
    });
    each(&mut c, 1, &|c| {
        at(c, 0);
        at(c, 1);
        c.extend([
            I::I32Load8U(memarg(memory, 0, 0)),
            I::I32Store8(memarg(memory, 0, 0)),
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
            c.body
                .extend([I::I32Load8U(memarg(m, 0, 0)), I::LocalSet(cp)]);
            c.body
                .extend([I::LocalGet(i), I::I32Const(1), I::I32Add, I::LocalSet(next)]);
        }
        Enc::Utf16 => {
            at(c);
            c.body
                .extend([I::I32Load16U(memarg(m, 0, 1)), I::LocalTee(cp)]);
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
                I::I32Load16U(memarg(m, 2, 1)),
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
                I::I32Load8U(memarg(m, 0, 0)),
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
                    .extend([I::I32Load8U(memarg(m, k, 0)), I::I32Const(0x3F), I::I32And]);
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
        c.body.push(I::I32Store8(memarg(m, k, 0)));
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
        .extend([I::LocalGet(cp), I::I32Store16(memarg(m, 0, 1))]);
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
    c.body.extend([
        I::I32Const(0xD800),
        I::I32Or,
        I::I32Store16(memarg(m, 0, 1)),
    ]);
    addr(c);
    c.body.extend([
        I::LocalGet(cp),
        I::I32Const(0x3FF),
        I::I32And,
        I::I32Const(0xDC00),
        I::I32Or,
    ]);
    c.body.extend([I::I32Store16(memarg(m, 2, 1))]);
    c.body.extend([
        I::LocalGet(o),
        I::I32Const(4),
        I::I32Add,
        I::LocalSet(o),
        I::End,
    ]);
}
