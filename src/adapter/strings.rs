//! Strings in adapters: loading (bounds, alignment, validation), then
//! storing into the destination — a copy when the encodings agree, a
//! transcoding loop when they do not — with the exact `realloc` sequence
//! of the spec's `store_string_*` functions: allocate the optimistic size,
//! grow to the worst case when the string turns out wider, shrink to fit.

use super::outline::Helper;
use super::validate::Text;
use super::{Gen, Loc, Side, memory};
use crate::parse::StringEncoding;
use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

/// Longest string the canonical ABI allows, in bytes.
const MAX_STRING_BYTE_LENGTH: u32 = (1 << 31) - 1;
/// The tag bit of a latin1+utf16 length that says "UTF-16".
const UTF16_TAG: u32 = 1 << 31;

/// The encoding one particular string is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Simple {
    Utf8,
    Utf16,
    Latin1,
}

impl Simple {
    fn unit(self) -> u32 {
        match self {
            Simple::Utf16 => 2,
            Simple::Utf8 | Simple::Latin1 => 1,
        }
    }
}

fn alignment(e: StringEncoding) -> u32 {
    match e {
        StringEncoding::Utf8 => 1,
        StringEncoding::Utf16 | StringEncoding::CompactUtf16 => 2,
    }
}

/// A string on its way: where the source lies (memory, base pointer,
/// length in code units, byte length, encoding), and the side it goes to.
#[derive(Clone, Copy)]
struct Source {
    memory: u32,
    ptr: u32,
    units: u32,
    bytes: u32,
    encoding: Simple,
    to: Side,
}

impl Gen<'_, '_> {
    pub(super) fn translate_string(&mut self, src: &Loc, dst: &Loc) {
        let sides = (src.side, dst.side);
        let (ptr, tagged) = self.read_pair(src);
        let out_ptr = self.code.temp(ValType::I32);
        let out_len = self.code.temp(ValType::I32);
        let out = (out_ptr, out_len);
        match src.side.encoding {
            StringEncoding::Utf8 => self.string_from(sides, Simple::Utf8, ptr, tagged, out),
            StringEncoding::Utf16 => self.string_from(sides, Simple::Utf16, ptr, tagged, out),
            StringEncoding::CompactUtf16 => {
                let units = self.code.temp(ValType::I32);
                self.code.body.extend([
                    I::LocalGet(tagged),
                    I::I32Const(UTF16_TAG as i32),
                    I::I32And,
                    I::If(BlockType::Empty),
                    I::LocalGet(tagged),
                    I::I32Const(UTF16_TAG as i32),
                    I::I32Xor,
                    I::LocalSet(units),
                ]);
                self.string_from(sides, Simple::Utf16, ptr, units, out);
                self.code.body.push(I::Else);
                self.string_from(sides, Simple::Latin1, ptr, tagged, out);
                self.code.body.push(I::End);
            }
        }
        self.write_pair((out_ptr, out_len), dst);
    }

    /// Loads a string of `units` code units in `encoding` at `ptr` in the
    /// memory of the first side and stores it into the second's, leaving
    /// the new pointer and (tagged) length in `out`.
    fn string_from(
        &mut self,
        (from, to): (Side, Side),
        encoding: Simple,
        ptr: u32,
        units: u32,
        out: (u32, u32),
    ) {
        // The byte length; one beyond any memory traps in the bounds check.
        let bytes = if encoding == Simple::Utf16 {
            self.byte_length(units, 2)
        } else {
            units
        };
        self.check_ptr(memory(from), ptr, bytes, alignment(from.encoding));
        let source = Source {
            memory: memory(from),
            ptr,
            units,
            bytes,
            encoding,
            to,
        };
        let copies = matches!(
            (encoding, to.encoding),
            (Simple::Utf8, StringEncoding::Utf8) | (Simple::Utf16, StringEncoding::Utf16)
        );
        if !copies {
            self.check_text(source, None);
        }
        match (encoding, to.encoding) {
            (Simple::Utf8, StringEncoding::Utf8) | (Simple::Utf16, StringEncoding::Utf16) => {
                self.copy_string(source, encoding.unit(), alignment(to.encoding), out);
            }
            (Simple::Latin1, StringEncoding::CompactUtf16) => self.copy_string(source, 1, 2, out),
            (Simple::Latin1 | Simple::Utf8, StringEncoding::Utf16) => self.store_utf16(source, out),
            (Simple::Utf16 | Simple::Latin1, StringEncoding::Utf8) => self.store_utf8(source, out),
            // A `latin1+utf16` string tagged UTF-16 into `latin1+utf16`:
            // copied as UTF-16, narrowed afterwards if it fits Latin-1.
            (Simple::Utf16, StringEncoding::CompactUtf16)
                if from.encoding == StringEncoding::CompactUtf16 =>
            {
                self.store_probably_utf16(source, out)
            }
            (Simple::Utf8 | Simple::Utf16, StringEncoding::CompactUtf16) => {
                self.store_latin1_or_utf16(source, out)
            }
        }
    }

    /// Calls the shared validator of `s`'s encoding and memory, which
    /// also copies the text to `copy_to` in the destination memory.
    fn check_text(&mut self, s: Source, copy_to: Option<u32>) {
        let text = Text {
            from: s.memory,
            to: copy_to.map(|_| memory(s.to)),
        };
        let helper = match s.encoding {
            Simple::Utf8 => Helper::Utf8(text),
            Simple::Utf16 => Helper::Utf16(text),
            Simple::Latin1 => return,
        };
        let f = self.outlined.func(helper);
        self.code.extend([I::LocalGet(s.ptr), I::LocalGet(s.units)]);
        if let Some(p) = copy_to {
            self.code.push(I::LocalGet(p));
        }
        self.code.push(I::Call(f));
    }

    /// `units * factor` in a fresh local, trapping when it exceeds the
    /// spec's longest string.
    fn byte_length(&mut self, units: u32, factor: u32) -> u32 {
        let out = self.code.temp(ValType::I32);
        self.code.body.extend([
            I::LocalGet(units),
            I::I64ExtendI32U,
            I::I64Const(i64::from(factor)),
            I::I64Mul,
            I::I64Const(i64::from(MAX_STRING_BYTE_LENGTH)),
            I::I64GtU,
        ]);
        self.trap_if();
        self.code.body.extend([
            I::LocalGet(units),
            I::I32Const(factor as i32),
            I::I32Mul,
            I::LocalSet(out),
        ]);
        out
    }

    /// `store_string_copy`: the same code units, re-sized to `unit` bytes.
    fn copy_string(&mut self, s: Source, unit: u32, align: u32, (out_ptr, out_len): (u32, u32)) {
        let to = s.to;
        let size = self.byte_length(s.units, unit);
        let p = self.alloc(to, align, size);
        debug_assert_eq!(unit, s.encoding.unit(), "a copy keeps the code unit size");
        if s.encoding == Simple::Latin1 {
            self.code.body.extend([
                I::LocalGet(p),
                I::LocalGet(s.ptr),
                I::LocalGet(s.bytes),
                I::MemoryCopy {
                    src_mem: s.memory,
                    dst_mem: memory(to),
                },
            ]);
        } else {
            // Checked as it is copied: the text is read once. The
            // destination was allocated first, as the runtime's own
            // adapters do; an invalid text traps all the same.
            self.check_text(s, Some(p));
        }
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(s.units),
            I::LocalSet(out_len),
        ]);
    }

    /// `store_utf8_to_utf16` (and latin1, whose worst case is exact).
    fn store_utf16(&mut self, s: Source, (out_ptr, out_len): (u32, u32)) {
        let to = s.to;
        let worst = self.byte_length(s.units, 2);
        let p = self.alloc(to, 2, worst);
        let o = self.code.temp(ValType::I32);
        self.code.body.extend([I::I32Const(0), I::LocalSet(o)]);
        self.transcode_loop(s, None, p, o, Simple::Utf16);
        self.shrink(s.to, p, worst, o, 2);
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(o),
            I::I32Const(1),
            I::I32ShrU,
            I::LocalSet(out_len),
        ]);
    }

    /// `store_string_to_utf8`: ASCII first; on the first wider code point,
    /// grow to the worst case and go on in UTF-8; then shrink to fit.
    fn store_utf8(&mut self, s: Source, (out_ptr, out_len): (u32, u32)) {
        let to = s.to;
        let p = self.alloc(to, 1, s.units);
        let (i, o) = self.narrow_phase(s, p, 0x80);
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(o),
            I::LocalSet(out_len),
        ]);
        // Not all of it was narrow: widen.
        self.code.body.extend([
            I::LocalGet(i),
            I::LocalGet(s.bytes),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        let worst = self.byte_length(s.units, if s.encoding == Simple::Utf16 { 3 } else { 2 });
        let q = self.realloc(to, Some((p, s.units)), 1, worst);
        self.transcode_loop(s, Some(i), q, o, Simple::Utf8);
        self.shrink(s.to, q, worst, o, 1);
        self.code.body.extend([
            I::LocalGet(q),
            I::LocalSet(out_ptr),
            I::LocalGet(o),
            I::LocalSet(out_len),
            I::End,
        ]);
    }

    /// `store_string_to_latin1_or_utf16`: latin1 while code points fit a
    /// byte; on the first that does not, grow, widen what was written, and
    /// go on in UTF-16 with the length tagged.
    fn store_latin1_or_utf16(&mut self, s: Source, (out_ptr, out_len): (u32, u32)) {
        let to = s.to;
        let p = self.alloc(to, 2, s.units);
        let (i, o) = self.narrow_phase(s, p, 0x100);
        self.code.body.extend([
            I::LocalGet(i),
            I::LocalGet(s.bytes),
            I::I32GeU,
            I::If(BlockType::Empty),
        ]);
        // All latin1: shrink if shorter.
        let units = s.units;
        self.code.body.extend([
            I::LocalGet(o),
            I::LocalGet(units),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        let shrunk = self.realloc(to, Some((p, units)), 2, o);
        self.code
            .body
            .extend([I::LocalGet(shrunk), I::LocalSet(p), I::End]);
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(o),
            I::LocalSet(out_len),
            I::Else,
        ]);
        // Widen to UTF-16.
        let worst = self.byte_length(units, 2);
        let q = self.realloc(to, Some((p, units)), 2, worst);
        let mem = memory(to);
        let j = self.code.temp(ValType::I32);
        // for j in (0..o).rev(): q[2j] = q[j]; q[2j+1] = 0
        self.code.body.extend([
            I::LocalGet(o),
            I::LocalSet(j),
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
        ]);
        self.code
            .body
            .extend([I::LocalGet(j), I::I32Eqz, I::BrIf(1)]);
        self.code
            .body
            .extend([I::LocalGet(j), I::I32Const(1), I::I32Sub, I::LocalSet(j)]);
        self.code.body.extend([
            I::LocalGet(q),
            I::LocalGet(j),
            I::I32Const(1),
            I::I32Shl,
            I::I32Add,
            I::LocalGet(q),
            I::LocalGet(j),
            I::I32Add,
            I::I32Load8U(arg(mem, 0, 0)),
            I::I32Store16(arg(mem, 0, 1)),
            I::Br(0),
            I::End,
            I::End,
        ]);
        self.code
            .body
            .extend([I::LocalGet(o), I::I32Const(1), I::I32Shl, I::LocalSet(o)]);
        self.transcode_loop(s, Some(i), q, o, Simple::Utf16);
        self.shrink(s.to, q, worst, o, 2);
        self.code.body.extend([
            I::LocalGet(q),
            I::LocalSet(out_ptr),
            I::LocalGet(o),
            I::I32Const(1),
            I::I32ShrU,
            I::I32Const(UTF16_TAG as i32),
            I::I32Or,
            I::LocalSet(out_len),
            I::End,
        ]);
    }

    /// `store_probably_utf16_to_latin1_or_utf16`: allocate the UTF-16
    /// size, copy, and if every code unit fits a byte, narrow in place and
    /// shrink to the Latin-1 size (with alignment 1, as the spec asks).
    fn store_probably_utf16(&mut self, s: Source, (out_ptr, out_len): (u32, u32)) {
        let to = s.to;
        let mem = memory(to);
        let size = s.bytes;
        let p = self.alloc(to, 2, size);
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalGet(s.ptr),
            I::LocalGet(size),
            I::MemoryCopy {
                src_mem: s.memory,
                dst_mem: mem,
            },
        ]);
        // Scan for a code unit above 0xff: `j` stops at it, or at `units`.
        let j = self.code.temp(ValType::I32);
        self.count_up(j, s.units, |g| {
            g.code.body.extend([
                I::LocalGet(p),
                I::LocalGet(j),
                I::I32Const(1),
                I::I32Shl,
                I::I32Add,
                I::I32Load16U(arg(mem, 0, 1)),
                I::I32Const(0xff),
                I::I32GtU,
                I::BrIf(1),
            ]);
        });
        self.code.body.extend([
            I::LocalGet(j),
            I::LocalGet(s.units),
            I::I32LtU,
            I::If(BlockType::Empty),
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(s.units),
            I::I32Const(UTF16_TAG as i32),
            I::I32Or,
            I::LocalSet(out_len),
            I::Else,
        ]);
        // Narrow: q[i] = q[2i], front to back.
        self.count_up(j, s.units, |g| {
            g.code.body.extend([
                I::LocalGet(p),
                I::LocalGet(j),
                I::I32Add,
                I::LocalGet(p),
                I::LocalGet(j),
                I::I32Const(1),
                I::I32Shl,
                I::I32Add,
                I::I32Load8U(arg(mem, 0, 0)),
                I::I32Store8(arg(mem, 0, 0)),
            ]);
        });
        let q = self.realloc(to, Some((p, size)), 1, s.units);
        self.code.body.extend([
            I::LocalGet(q),
            I::LocalSet(out_ptr),
            I::LocalGet(s.units),
            I::LocalSet(out_len),
            I::End,
        ]);
    }

    /// `for j in 0..n { body }`, where `body` may leave the loop early with
    /// `br_if 1` (leaving `j` where it stopped).
    fn count_up(&mut self, j: u32, n: u32, body: impl FnOnce(&mut Self)) {
        self.code.body.extend([
            I::I32Const(0),
            I::LocalSet(j),
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(j),
            I::LocalGet(n),
            I::I32GeU,
            I::BrIf(1),
        ]);
        body(self);
        self.code.body.extend([
            I::LocalGet(j),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(j),
            I::Br(0),
            I::End,
            I::End,
        ]);
    }

    /// Copies code points below `limit` one byte each from the start of
    /// the source to `p`, stopping at the first that is not; returns the
    /// source index and the bytes written so far.
    fn narrow_phase(&mut self, s: Source, p: u32, limit: i32) -> (u32, u32) {
        let (i, o) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code.body.extend([
            I::I32Const(0),
            I::LocalSet(i),
            I::I32Const(0),
            I::LocalSet(o),
        ]);
        let (cp, next) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        let mem = memory(s.to);
        self.code
            .body
            .extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
        self.code
            .body
            .extend([I::LocalGet(i), I::LocalGet(s.bytes), I::I32GeU, I::BrIf(1)]);
        self.decode(s, i, cp, next);
        self.code
            .body
            .extend([I::LocalGet(cp), I::I32Const(limit), I::I32GeU, I::BrIf(1)]);
        self.code.body.extend([
            I::LocalGet(p),
            I::LocalGet(o),
            I::I32Add,
            I::LocalGet(cp),
            I::I32Store8(arg(mem, 0, 0)),
            I::LocalGet(o),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(o),
            I::LocalGet(next),
            I::LocalSet(i),
            I::Br(0),
            I::End,
            I::End,
        ]);
        (i, o)
    }

    /// Decodes every code point from source index `i` (0 when `None`) and
    /// encodes it in `out` at `p + o`; `o` ends as the bytes written.
    fn transcode_loop(&mut self, s: Source, i: Option<u32>, p: u32, o: u32, out: Simple) {
        let i = i.unwrap_or_else(|| {
            let l = self.code.temp(ValType::I32);
            self.code.body.extend([I::I32Const(0), I::LocalSet(l)]);
            l
        });
        let (cp, next) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code
            .body
            .extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
        self.code
            .body
            .extend([I::LocalGet(i), I::LocalGet(s.bytes), I::I32GeU, I::BrIf(1)]);
        self.decode(s, i, cp, next);
        match out {
            Simple::Utf8 => self.encode_utf8(memory(s.to), p, o, cp),
            Simple::Utf16 => self.encode_utf16(memory(s.to), p, o, cp),
            Simple::Latin1 => unreachable!("nothing transcodes into plain latin1"),
        }
        self.code
            .body
            .extend([I::LocalGet(next), I::LocalSet(i), I::Br(0), I::End, I::End]);
    }

    /// Shrinks an allocation of `size` bytes at `p` to `used` if smaller.
    fn shrink(&mut self, to: Side, p: u32, size: u32, used: u32, align: u32) {
        self.code.body.extend([
            I::LocalGet(used),
            I::LocalGet(size),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        let q = self.realloc(to, Some((p, size)), align, used);
        self.code
            .body
            .extend([I::LocalGet(q), I::LocalSet(p), I::End]);
    }

    /// Reads the code point at source byte index `i` into `cp`, and the
    /// index after it into `next`. The source was validated.
    fn decode(&mut self, s: Source, i: u32, cp: u32, next: u32) {
        let m = s.memory;
        let at = |g: &mut Self| {
            g.code
                .body
                .extend([I::LocalGet(s.ptr), I::LocalGet(i), I::I32Add])
        };
        match s.encoding {
            Simple::Latin1 => {
                at(self);
                self.code
                    .body
                    .extend([I::I32Load8U(arg(m, 0, 0)), I::LocalSet(cp)]);
                self.code.body.extend([
                    I::LocalGet(i),
                    I::I32Const(1),
                    I::I32Add,
                    I::LocalSet(next),
                ]);
            }
            Simple::Utf16 => {
                at(self);
                self.code
                    .body
                    .extend([I::I32Load16U(arg(m, 0, 1)), I::LocalTee(cp)]);
                self.code.body.extend([
                    I::I32Const(0xFC00),
                    I::I32And,
                    I::I32Const(0xD800),
                    I::I32Eq,
                    I::If(BlockType::Empty),
                ]);
                // A surrogate pair.
                self.code.body.extend([
                    I::LocalGet(cp),
                    I::I32Const(0x3FF),
                    I::I32And,
                    I::I32Const(10),
                    I::I32Shl,
                ]);
                at(self);
                self.code.body.extend([
                    I::I32Load16U(arg(m, 2, 1)),
                    I::I32Const(0x3FF),
                    I::I32And,
                    I::I32Or,
                ]);
                self.code
                    .body
                    .extend([I::I32Const(0x10000), I::I32Add, I::LocalSet(cp)]);
                self.code.body.extend([
                    I::LocalGet(i),
                    I::I32Const(4),
                    I::I32Add,
                    I::LocalSet(next),
                    I::Else,
                ]);
                self.code.body.extend([
                    I::LocalGet(i),
                    I::I32Const(2),
                    I::I32Add,
                    I::LocalSet(next),
                    I::End,
                ]);
            }
            Simple::Utf8 => {
                let b = self.code.temp(ValType::I32);
                at(self);
                self.code.body.extend([
                    I::I32Load8U(arg(m, 0, 0)),
                    I::LocalTee(b),
                    I::I32Const(0x80),
                    I::I32LtU,
                ]);
                self.code.body.extend([
                    I::If(BlockType::Empty),
                    I::LocalGet(b),
                    I::LocalSet(cp),
                    I::I32Const(1),
                    I::LocalSet(next),
                    I::Else,
                ]);
                // Continuation bits of byte k, shifted into place.
                let cont = |g: &mut Self, k: u64, shift: i32| {
                    at(g);
                    g.code
                        .body
                        .extend([I::I32Load8U(arg(m, k, 0)), I::I32Const(0x3F), I::I32And]);
                    if shift > 0 {
                        g.code.body.extend([I::I32Const(shift), I::I32Shl]);
                    }
                    g.code.body.push(I::I32Or);
                };
                // An n-byte sequence: the lead's payload bits, then each
                // continuation's six.
                let sequence = |g: &mut Self, n: u64, lead_mask: i32| {
                    let shift = |k: u64| 6 * (n - 1 - k) as i32;
                    g.code
                        .body
                        .extend([I::LocalGet(b), I::I32Const(lead_mask), I::I32And]);
                    g.code.body.extend([I::I32Const(shift(0)), I::I32Shl]);
                    for k in 1..n {
                        cont(g, k, shift(k));
                    }
                    g.code
                        .body
                        .extend([I::LocalSet(cp), I::I32Const(n as i32), I::LocalSet(next)]);
                };
                self.code.body.extend([
                    I::LocalGet(b),
                    I::I32Const(0xE0),
                    I::I32LtU,
                    I::If(BlockType::Empty),
                ]);
                sequence(self, 2, 0x1F);
                self.code.body.extend([
                    I::Else,
                    I::LocalGet(b),
                    I::I32Const(0xF0),
                    I::I32LtU,
                    I::If(BlockType::Empty),
                ]);
                sequence(self, 3, 0x0F);
                self.code.body.push(I::Else);
                sequence(self, 4, 0x07);
                self.code.body.extend([I::End, I::End, I::End]);
                self.code.body.extend([
                    I::LocalGet(next),
                    I::LocalGet(i),
                    I::I32Add,
                    I::LocalSet(next),
                ]);
            }
        }
    }

    /// Writes `cp` as UTF-8 at `p + o` and advances `o`.
    fn encode_utf8(&mut self, m: u32, p: u32, o: u32, cp: u32) {
        let store = |g: &mut Self, k: u64, value: &[I<'static>]| {
            g.code
                .body
                .extend([I::LocalGet(p), I::LocalGet(o), I::I32Add]);
            g.code.body.extend(value.iter().cloned());
            g.code.body.push(I::I32Store8(arg(m, k, 0)));
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
        let advance = |g: &mut Self, n: i32| {
            g.code
                .body
                .extend([I::LocalGet(o), I::I32Const(n), I::I32Add, I::LocalSet(o)])
        };
        self.code.body.extend([
            I::LocalGet(cp),
            I::I32Const(0x80),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        store(self, 0, &[I::LocalGet(cp)]);
        advance(self, 1);
        self.code.body.extend([
            I::Else,
            I::LocalGet(cp),
            I::I32Const(0x800),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        store(self, 0, &bits(6, 0x1F, 0xC0));
        store(self, 1, &bits(0, 0x3F, 0x80));
        advance(self, 2);
        self.code.body.extend([
            I::Else,
            I::LocalGet(cp),
            I::I32Const(0x10000),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        store(self, 0, &bits(12, 0x0F, 0xE0));
        store(self, 1, &bits(6, 0x3F, 0x80));
        store(self, 2, &bits(0, 0x3F, 0x80));
        advance(self, 3);
        self.code.body.push(I::Else);
        store(self, 0, &bits(18, 0x07, 0xF0));
        store(self, 1, &bits(12, 0x3F, 0x80));
        store(self, 2, &bits(6, 0x3F, 0x80));
        store(self, 3, &bits(0, 0x3F, 0x80));
        advance(self, 4);
        self.code.body.extend([I::End, I::End, I::End]);
    }

    /// Writes `cp` as UTF-16 at `p + o` and advances `o`.
    fn encode_utf16(&mut self, m: u32, p: u32, o: u32, cp: u32) {
        let addr = |g: &mut Self| {
            g.code
                .body
                .extend([I::LocalGet(p), I::LocalGet(o), I::I32Add])
        };
        self.code.body.extend([
            I::LocalGet(cp),
            I::I32Const(0x10000),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        addr(self);
        self.code
            .body
            .extend([I::LocalGet(cp), I::I32Store16(arg(m, 0, 1))]);
        self.code.body.extend([
            I::LocalGet(o),
            I::I32Const(2),
            I::I32Add,
            I::LocalSet(o),
            I::Else,
        ]);
        addr(self);
        self.code.body.extend([
            I::LocalGet(cp),
            I::I32Const(0x10000),
            I::I32Sub,
            I::I32Const(10),
            I::I32ShrU,
        ]);
        self.code
            .body
            .extend([I::I32Const(0xD800), I::I32Or, I::I32Store16(arg(m, 0, 1))]);
        addr(self);
        self.code.body.extend([
            I::LocalGet(cp),
            I::I32Const(0x3FF),
            I::I32And,
            I::I32Const(0xDC00),
            I::I32Or,
        ]);
        self.code.body.extend([I::I32Store16(arg(m, 2, 1))]);
        self.code.body.extend([
            I::LocalGet(o),
            I::I32Const(4),
            I::I32Add,
            I::LocalSet(o),
            I::End,
        ]);
    }
}

fn arg(memory: u32, offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        memory_index: memory,
    }
}
