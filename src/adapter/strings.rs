//! Strings in adapters: loading (bounds, alignment, validation), then
//! storing into the destination — a copy when the encodings agree, a
//! transcoding loop when they do not — with the exact `realloc` sequence
//! of the spec's `store_string_*` functions: allocate the optimistic size,
//! grow to the worst case when the string turns out wider, shrink to fit.

use super::code::{copy_bytes, memarg};
use super::outline::Helper;
use super::transcode::{Enc, Transcode};
use super::validate::Text;
use super::{Gen, Loc, Side, memory};
use crate::parse::StringEncoding;
use wasm_encoder::{BlockType, Instruction as I, ValType};

/// Longest string the canonical ABI allows, in bytes.
const MAX_STRING_BYTE_LENGTH: u32 = (1 << 31) - 1;
/// The tag bit of a latin1+utf16 length that says "UTF-16".
const UTF16_TAG: u32 = 1 << 31;

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
    encoding: Enc,
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
            StringEncoding::Utf8 => self.string_from(sides, Enc::Utf8, ptr, tagged, out),
            StringEncoding::Utf16 => self.string_from(sides, Enc::Utf16, ptr, tagged, out),
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
                self.string_from(sides, Enc::Utf16, ptr, units, out);
                self.code.body.push(I::Else);
                self.string_from(sides, Enc::Latin1, ptr, tagged, out);
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
        encoding: Enc,
        ptr: u32,
        units: u32,
        out: (u32, u32),
    ) {
        // The byte length; one beyond any memory traps in the bounds check.
        let bytes = if encoding == Enc::Utf16 {
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
        // Same-encoding copies (and a UTF-16-tagged `latin1+utf16` string
        // into `latin1+utf16`, copied first) check the text as they copy it.
        let copies = matches!(
            (encoding, to.encoding),
            (Enc::Utf8, StringEncoding::Utf8) | (Enc::Utf16, StringEncoding::Utf16)
        ) || (encoding, from.encoding, to.encoding)
            == (
                Enc::Utf16,
                StringEncoding::CompactUtf16,
                StringEncoding::CompactUtf16,
            );
        // UTF-16 stored into UTF-8 or Latin-1 first moves the code units
        // below 0x80 or 0x100, which are valid whatever they are: only the
        // rest, if any, is checked, after that narrow phase.
        let narrows_first = encoding == Enc::Utf16
            && match to.encoding {
                StringEncoding::Utf8 => true,
                StringEncoding::CompactUtf16 => from.encoding != StringEncoding::CompactUtf16,
                StringEncoding::Utf16 => false,
            };
        if !copies && !narrows_first {
            self.check_text(source, None);
        }
        match (encoding, to.encoding) {
            (Enc::Utf8, StringEncoding::Utf8) | (Enc::Utf16, StringEncoding::Utf16) => {
                self.copy_string(source, encoding.unit(), alignment(to.encoding), out);
            }
            (Enc::Latin1, StringEncoding::CompactUtf16) => self.copy_string(source, 1, 2, out),
            (Enc::Latin1 | Enc::Utf8, StringEncoding::Utf16) => self.store_utf16(source, out),
            (Enc::Utf16 | Enc::Latin1, StringEncoding::Utf8) => self.store_utf8(source, out),
            // A `latin1+utf16` string tagged UTF-16 into `latin1+utf16`:
            // copied as UTF-16, narrowed afterwards if it fits Latin-1.
            (Enc::Utf16, StringEncoding::CompactUtf16)
                if from.encoding == StringEncoding::CompactUtf16 =>
            {
                self.store_probably_utf16(source, out)
            }
            (Enc::Utf8 | Enc::Utf16, StringEncoding::CompactUtf16) => {
                self.store_latin1_or_utf16(source, out)
            }
        }
    }

    /// Checks a UTF-16 source from byte index `i` on, where its narrow
    /// phase stopped (the units before it were all valid).
    fn check_rest(&mut self, s: Source, i: u32) {
        if s.encoding != Enc::Utf16 {
            return;
        }
        let (ptr, units) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code.extend([
            I::LocalGet(s.ptr),
            I::LocalGet(i),
            I::I32Add,
            I::LocalSet(ptr),
            I::LocalGet(s.units),
            I::LocalGet(i),
            I::I32Const(1),
            I::I32ShrU,
            I::I32Sub,
            I::LocalSet(units),
        ]);
        self.check_text(Source { ptr, units, ..s }, None);
    }

    /// Calls the shared validator of `s`'s encoding and memory, which
    /// also copies the text to `copy_to` in the destination memory.
    fn check_text(&mut self, s: Source, copy_to: Option<u32>) {
        let text = Text {
            from: s.memory,
            to: copy_to.map(|_| memory(s.to)),
        };
        let helper = match s.encoding {
            Enc::Utf8 => Helper::Utf8(text),
            Enc::Utf16 => Helper::Utf16(text),
            Enc::Latin1 => return,
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
        if s.encoding == Enc::Latin1 {
            copy_bytes(&mut self.code, (s.memory, s.ptr), (memory(to), p), s.bytes);
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
        self.transcode_loop(s, None, p, o, Enc::Utf16);
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
        self.check_rest(s, i);
        let worst = self.byte_length(s.units, if s.encoding == Enc::Utf16 { 3 } else { 2 });
        let q = self.realloc(to, Some((p, s.units)), 1, worst);
        self.transcode_loop(s, Some(i), q, o, Enc::Utf8);
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
        self.check_rest(s, i);
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
            I::I32Load8U(memarg(mem, 0, 0)),
            I::I32Store16(memarg(mem, 0, 1)),
            I::Br(0),
            I::End,
            I::End,
        ]);
        self.code
            .body
            .extend([I::LocalGet(o), I::I32Const(1), I::I32Shl, I::LocalSet(o)]);
        self.transcode_loop(s, Some(i), q, o, Enc::Utf16);
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
        let size = s.bytes;
        let p = self.alloc(to, 2, size);
        // Checked as it is copied, like a same-encoding copy.
        self.check_text(s, Some(p));
        let narrow = self.outlined.func(Helper::NarrowUtf16(memory(to)));
        self.code.extend([
            I::LocalGet(p),
            I::LocalGet(s.units),
            I::Call(narrow),
            I::I32Eqz,
            I::If(BlockType::Empty),
            I::LocalGet(p),
            I::LocalSet(out_ptr),
            I::LocalGet(s.units),
            I::I32Const(UTF16_TAG as i32),
            I::I32Or,
            I::LocalSet(out_len),
            I::Else,
        ]);
        let q = self.realloc(to, Some((p, size)), 1, s.units);
        self.code.extend([
            I::LocalGet(q),
            I::LocalSet(out_ptr),
            I::LocalGet(s.units),
            I::LocalSet(out_len),
            I::End,
        ]);
    }

    /// Copies code points below `limit` one byte each from the start of
    /// the source to `p`, stopping at the first that is not; returns the
    /// source index and the bytes written so far.
    fn narrow_phase(&mut self, s: Source, p: u32, limit: u32) -> (u32, u32) {
        let (i, o) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code.extend([I::I32Const(0), I::LocalSet(o)]);
        self.transcode(s, Some(limit), Enc::Latin1, (None, i), (p, o));
        (i, o)
    }

    /// Calls the shared loop that decodes the source's code points from
    /// byte index `start` (0 when `None`) and encodes them in `out` at
    /// `p + o` (stopping below `limit` if set); sets `end` and `o` to
    /// where it stopped.
    fn transcode(
        &mut self,
        s: Source,
        limit: Option<u32>,
        out: Enc,
        (start, end): (Option<u32>, u32),
        (p, o): (u32, u32),
    ) {
        let f = self.outlined.func(Helper::Transcode(Transcode {
            from: (s.encoding, s.memory),
            to: (out, memory(s.to)),
            below: limit,
        }));
        self.code.extend([
            I::LocalGet(s.ptr),
            I::LocalGet(s.bytes),
            start.map_or(I::I32Const(0), I::LocalGet),
            I::LocalGet(p),
            I::LocalGet(o),
            I::Call(f),
            I::LocalSet(o),
            I::LocalSet(end),
        ]);
    }

    /// Decodes every code point from source index `i` (0 when `None`) and
    /// encodes it in `out` at `p + o`; `o` ends as the bytes written.
    fn transcode_loop(&mut self, s: Source, i: Option<u32>, p: u32, o: u32, out: Enc) {
        let end = self.code.temp(ValType::I32);
        self.transcode(s, None, out, (i, end), (p, o));
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
}
