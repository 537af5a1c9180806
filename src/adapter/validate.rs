//! Text validators, generated once per memory (and per destination memory
//! when they copy) and called by every adapter that moves text.
//!
//! UTF-8 is checked sixteen bytes at a time with the lookup-table method of
//! Keiser and Lemire ("Validating UTF-8 In Less Than One Instruction Per
//! Byte", 2021): three table lookups, on the high and low nibble of the
//! previous byte and the high nibble of the current one, flag every
//! invalid pair of adjacent bytes, and a saturating subtraction finds the
//! third and fourth bytes that must be continuations. A block of ASCII
//! only checks that the block before did not end inside a character. UTF-16
//! is checked eight code units at a time: every low surrogate must follow a
//! high one, and every high one must be followed by a low one.
//!
//! The last, partial block is loaded whole, with the bytes past the string
//! masked to zero (which ends any unfinished character, an error), when the
//! memory extends sixteen bytes past it; otherwise the rest is checked a
//! code unit at a time. A validator that copies stores each block it read
//! into the destination, so that the text is read once. A text shorter
//! than 32 bytes (names, keys, short messages) is loaded as two blocks,
//! checked (UTF-8 unless ASCII) and copied before any loop starts.

use super::code::{Code, IOTA, copy_ends, inside, memarg, splat8, splat16, v128};
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

/// The high nibble of the first byte of a pair → the errors it allows.
const TOO_SHORT: u8 = 1 << 0;
const TOO_LONG: u8 = 1 << 1;
const OVERLONG_3: u8 = 1 << 2;
const TOO_LARGE: u8 = 1 << 3;
const SURROGATE: u8 = 1 << 4;
const OVERLONG_2: u8 = 1 << 5;
const TOO_LARGE_1000: u8 = 1 << 6;
const OVERLONG_4: u8 = 1 << 6;
const TWO_CONTS: u8 = 1 << 7;
/// Errors decided by the first byte's high nibble alone.
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// Lookup on the first byte's high nibble.
const BYTE_1_HIGH: [u8; 16] = [
    // 0xxx: ASCII, then a continuation is one too many.
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    // 10xx: a continuation, then a continuation: fine only in a longer
    // character (decided by the third- and fourth-byte check).
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    // 1100: a two-byte lead, overlong when C0 or C1.
    TOO_SHORT | OVERLONG_2,
    // 1101: a two-byte lead.
    TOO_SHORT,
    // 1110: a three-byte lead.
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    // 1111: a four-byte lead.
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// Lookup on the first byte's low nibble.
const BYTE_1_LOW: [u8; 16] = [
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    // xxxx1101: ED, whose next byte above 9F would be a surrogate.
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// Lookup on the second byte's high nibble.
const BYTE_2_HIGH: [u8; 16] = [
    // 0xxx: ASCII after a lead is too short.
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    // 1000
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    // 1001
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    // 101x
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    // 11xx: a lead after a lead is too short.
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

/// Subtracted (saturating) from the last block: non-zero where a
/// character starts too late to end inside it.
const INCOMPLETE: [u8; 16] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF,
];

/// Blocks of sixteen bytes in one run of ASCII that the UTF-8 validator
/// checks (and copies) at once.
const RUN_BLOCKS: usize = 8;

/// The lanes of the previous block and this one, shifted by `back` bytes:
/// lane `j` is the byte `back` before this block's byte `j`.
fn previous(back: u8) -> I<'static> {
    let mut lanes = [0; 16];
    for (j, l) in lanes.iter_mut().enumerate() {
        *l = 16 + j as u8 - back;
    }
    I::I8x16Shuffle(lanes)
}

/// Which text a validator reads, and where it copies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text {
    /// The memory the text is in.
    pub from: u32,
    /// The memory to copy it to, at the address in the third parameter.
    pub to: Option<u32>,
}

/// The locals of a validator's body.
struct V {
    ptr: u32,
    len: u32,
    dst: u32,
    /// Bytes checked (and copied) so far.
    o: u32,
    /// Bytes left after the whole blocks.
    rem: u32,
    err: u32,
    prev: u32,
    /// UTF-8: the unfinished-character check of the previous block.
    carry: u32,
    input: u32,
    /// UTF-8: the previous byte of each lane.
    prev1: u32,
    /// UTF-8: the other blocks of a run of ASCII ([`RUN_BLOCKS`] in all).
    wide: Option<[u32; RUN_BLOCKS - 1]>,
}

impl V {
    fn new(c: &mut Code) -> V {
        V {
            ptr: 0,
            len: 1,
            dst: 2,
            o: c.temp(ValType::I32),
            rem: c.temp(ValType::I32),
            err: c.temp(ValType::V128),
            prev: c.temp(ValType::V128),
            carry: c.temp(ValType::V128),
            input: c.temp(ValType::V128),
            prev1: c.temp(ValType::V128),
            wide: None,
        }
    }

    /// [`RUN_BLOCKS`] blocks at a time while they are ASCII, after a block of
    /// ASCII: nothing to check but that they are (the block before ended
    /// no character). A loop of its own, which leaves at the first run
    /// that is not all ASCII or when fewer than a run's bytes are left, to the
    /// sixteen-byte blocks. `rem` holds the run's address (the blocks set
    /// it afresh).
    fn ascii_run(&self, c: &mut Code, t: Text, len: u32, wide: [u32; RUN_BLOCKS - 1]) {
        let at = self.rem;
        let run = 16 * RUN_BLOCKS as i32;
        let left_a_run = [
            I::LocalGet(len),
            I::LocalGet(self.o),
            I::I32Sub,
            I::I32Const(run),
            I::I32GeU,
        ];
        c.extend(left_a_run.clone());
        c.extend([
            I::LocalGet(self.prev),
            I::I8x16Bitmask,
            I::I32Eqz,
            I::I32And,
            I::If(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(self.ptr),
            I::LocalGet(self.o),
            I::I32Add,
            I::LocalSet(at),
        ]);
        let blocks: Vec<u32> = wide.iter().copied().chain([self.input]).collect();
        // Each block loaded, and all of them or'ed together on the stack.
        for (k, l) in blocks.iter().enumerate() {
            c.extend([
                I::LocalGet(at),
                I::V128Load(memarg(t.from, 16 * k as u64, 0)),
                I::LocalTee(*l),
            ]);
            if k > 0 {
                c.push(I::V128Or);
            }
        }
        c.extend([I::I8x16Bitmask, I::I32Eqz, I::If(BlockType::Empty)]);
        if let Some(to) = t.to {
            c.extend([
                I::LocalGet(self.dst),
                I::LocalGet(self.o),
                I::I32Add,
                I::LocalSet(at),
            ]);
            for (k, l) in blocks.iter().enumerate() {
                c.extend([
                    I::LocalGet(at),
                    I::LocalGet(*l),
                    I::V128Store(memarg(to, 16 * k as u64, 0)),
                ]);
            }
        }
        c.extend([
            I::LocalGet(self.input),
            I::LocalSet(self.prev),
            I::LocalGet(self.o),
            I::I32Const(run),
            I::I32Add,
            I::LocalSet(self.o),
        ]);
        // Another run if there are bytes enough left.
        c.extend(left_a_run);
        c.extend([I::BrIf(1), I::End, I::End, I::End]);
    }

    /// Runs `block` on every block of sixteen bytes of the `len` bytes (a
    /// local) at `ptr`, copying each whole block when asked, then calls
    /// `end` once after the last: with the last block (a partial one, or
    /// the last whole one) in `input`, or with `input` zero when the text
    /// ends with a whole block. A partial block is loaded whole with its
    /// lanes past the end set to zero when the memory extends sixteen
    /// bytes past it; otherwise the sixteen bytes that end the text are
    /// loaded, with the sixteen before them as the previous block (both
    /// within memory, since the text ends in its last sixteen bytes), the
    /// lanes before the text set to zero.
    fn blocks(&self, c: &mut Code, t: Text, len: u32, block: impl Fn(&V, &mut Code)) {
        let from = t.from;
        c.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
        if let Some(wide) = self.wide {
            self.ascii_run(c, t, len, wide);
        }
        c.extend([
            I::LocalGet(len),
            I::LocalGet(self.o),
            I::I32Sub,
            I::LocalTee(self.rem),
            I::I32Const(16),
            I::I32GeU,
            I::If(BlockType::Empty),
            I::LocalGet(self.ptr),
            I::LocalGet(self.o),
            I::I32Add,
            I::V128Load(memarg(from, 0, 0)),
            I::LocalSet(self.input),
        ]);
        if let Some(to) = t.to {
            c.extend([
                I::LocalGet(self.dst),
                I::LocalGet(self.o),
                I::I32Add,
                I::LocalGet(self.input),
                I::V128Store(memarg(to, 0, 0)),
            ]);
        }
        // The end: nothing left.
        c.extend([
            I::Else,
            I::LocalGet(self.rem),
            I::I32Eqz,
            I::If(BlockType::Empty),
            I::V128Const(0),
            I::LocalSet(self.input),
            I::Br(3),
            I::End,
        ]);
        // A partial block: does a whole one fit in memory?
        self.fits(c, from, Some(self.o), 16);
        c.extend([
            I::If(BlockType::Empty),
            I::LocalGet(self.ptr),
            I::LocalGet(self.o),
            I::I32Add,
            I::V128Load(memarg(from, 0, 0)),
            v128(IOTA),
            I::LocalGet(self.rem),
            I::I8x16Splat,
            I::I8x16LtU,
            I::V128And,
            I::LocalSet(self.input),
            I::Else,
        ]);
        self.load_ending(c, from, len, 16, self.input);
        self.load_ending(c, from, len, 32, self.prev);
        c.extend([I::End, I::End]);
        block(self, c);
        c.extend([
            I::LocalGet(self.rem),
            I::I32Const(16),
            I::I32LtU,
            I::BrIf(1),
            I::LocalGet(self.input),
            I::LocalSet(self.prev),
            I::LocalGet(self.o),
            I::I32Const(16),
            I::I32Add,
            I::LocalSet(self.o),
            I::Br(0),
            I::End,
            I::End,
        ]);
    }

    /// Loads the sixteen bytes that end `back` bytes before the end of
    /// the text into `into`, with the lanes before the text set to zero.
    fn load_ending(&self, c: &mut Code, memory: u32, len: u32, back: i32, into: u32) {
        c.extend([
            I::LocalGet(self.ptr),
            I::LocalGet(len),
            I::I32Add,
            I::I32Const(back),
            I::I32Sub,
            I::V128Load(memarg(memory, 0, 0)),
            // Lanes from `max(0, back - len)` on are the text's.
            v128(IOTA),
            I::I32Const(back),
            I::LocalGet(len),
            I::I32Sub,
            I::I32Const(0),
            I::LocalGet(len),
            I::I32Const(back),
            I::I32LtU,
            I::Select,
            I::I8x16Splat,
            I::I8x16GeU,
            I::V128And,
            I::LocalSet(into),
        ]);
    }

    /// A text shorter than 32 bytes (`len`), when the 32 bytes from its
    /// start are in memory: loaded as two blocks with the lanes past the
    /// end set to zero (which ends any unfinished character or surrogate
    /// pair, an error), checked by `block` (unless all ASCII and
    /// `ascii_is_valid`, as for UTF-8), copied
    /// when asked, and the function returns. Anything else goes on to the
    /// loop. Every local starts at zero.
    fn short(
        &self,
        c: &mut Code,
        t: Text,
        (len, [a, b]): (u32, [u32; 2]),
        (block, ascii_is_valid): (impl Fn(&V, &mut Code), bool),
    ) {
        let from = t.from;
        let second = memarg(from, 16, 0);
        let mut upper = IOTA;
        for lane in &mut upper {
            *lane += 16;
        }
        c.extend([
            I::LocalGet(len),
            I::I32Const(32),
            I::I32LtU,
            I::If(BlockType::Empty),
        ]);
        self.fits(c, from, None, 32);
        c.push(I::If(BlockType::Empty));
        for (memarg, lanes, into) in [(memarg(from, 0, 0), IOTA, a), (second, upper, b)] {
            c.extend([
                I::LocalGet(self.ptr),
                I::V128Load(memarg),
                v128(lanes),
                I::LocalGet(len),
                I::I8x16Splat,
                I::I8x16LtU,
                I::V128And,
                I::LocalSet(into),
            ]);
        }
        // All ASCII needs no check when that makes it valid (UTF-8).
        if ascii_is_valid {
            c.extend([I::LocalGet(a), I::LocalGet(b), I::V128Or, I::I8x16Bitmask]);
        } else {
            c.push(I::I32Const(1));
        }
        c.extend([
            I::If(BlockType::Empty),
            I::LocalGet(a),
            I::LocalSet(self.input),
        ]);
        block(self, c);
        c.extend([
            I::LocalGet(a),
            I::LocalSet(self.prev),
            I::LocalGet(b),
            I::LocalSet(self.input),
        ]);
        block(self, c);
        self.check(c);
        c.push(I::End);
        if let Some(to) = t.to {
            // The first sixteen bytes if there are as many, then the rest
            // as after whole blocks.
            c.extend([
                I::LocalGet(len),
                I::I32Const(16),
                I::I32GeU,
                I::If(BlockType::Empty),
                I::LocalGet(self.dst),
                I::LocalGet(a),
                I::V128Store(memarg(to, 0, 0)),
                I::End,
                I::LocalGet(len),
                I::I32Const(15),
                I::I32And,
                I::LocalSet(self.rem),
            ]);
            self.copy_tail(c, t, len);
        }
        c.extend([I::Return, I::End, I::End]);
    }

    /// Leaves whether `bytes` bytes from `ptr` (plus the local `o`) are
    /// inside `memory`.
    fn fits(&self, c: &mut Code, memory: u32, o: Option<u32>, bytes: i64) {
        match o {
            Some(o) => inside(c, memory, &[self.ptr, o], bytes),
            None => inside(c, memory, &[self.ptr], bytes),
        }
    }

    /// Traps when any error was found.
    fn check(&self, c: &mut Code) {
        c.extend([I::LocalGet(self.err), I::V128AnyTrue]);
        c.trap_if();
    }

    /// Copies bytes `[o, len)` (`rem` of them, fewer than sixteen) of the
    /// text to the destination, with stores that may overlap what the
    /// whole blocks already wrote but never go past the end.
    fn copy_tail(&self, c: &mut Code, t: Text, len: u32) {
        let Some(to) = t.to else { return };
        c.extend([I::LocalGet(self.rem), I::If(BlockType::Empty)]);
        copy_ends(c, (t.from, self.ptr), (to, self.dst), len, false);
        c.push(I::End);
    }
}

/// `(ptr, len)` or, copying, `(ptr, len, dst)`: traps unless the `len`
/// bytes at `ptr` are well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF), copying them to `dst` when asked. The caller
/// has checked that both ranges are in bounds.
pub fn utf8(t: Text) -> Function {
    let mut c = Code::new(if t.to.is_some() { 3 } else { 2 });
    let mut v = V::new(&mut c);
    v.wide = Some(std::array::from_fn(|_| c.temp(ValType::V128)));
    if let Some([a, b, ..]) = v.wide {
        v.short(&mut c, t, (v.len, [a, b]), (utf8_block, true));
    }
    v.blocks(&mut c, t, v.len, utf8_block);
    // The text must not end inside a character: the last block's check,
    // or, after a whole block, that block's.
    c.extend([
        I::LocalGet(v.err),
        I::LocalGet(v.input),
        v128(INCOMPLETE),
        I::I8x16SubSatU,
        I::LocalGet(v.carry),
        I::LocalGet(v.rem),
        I::Select,
        I::V128Or,
        I::LocalSet(v.err),
    ]);
    v.check(&mut c);
    v.copy_tail(&mut c, t, v.len);
    c.finish()
}

/// Checks the block in `input` after the one in `prev`, adding errors to
/// `err` and setting `carry` to this block's unfinished characters.
fn utf8_block(v: &V, c: &mut Code) {
    c.extend([
        I::LocalGet(v.input),
        I::I8x16Bitmask,
        I::If(BlockType::Empty),
    ]);
    // Each byte against the one before it.
    c.extend([
        v128(BYTE_1_HIGH),
        I::LocalGet(v.prev),
        I::LocalGet(v.input),
        previous(1),
        I::LocalTee(v.prev1),
        I::I32Const(4),
        I::I8x16ShrU,
        I::I8x16Swizzle,
        v128(BYTE_1_LOW),
        I::LocalGet(v.prev1),
        splat8(0x0F),
        I::V128And,
        I::I8x16Swizzle,
        I::V128And,
        v128(BYTE_2_HIGH),
        I::LocalGet(v.input),
        I::I32Const(4),
        I::I8x16ShrU,
        I::I8x16Swizzle,
        I::V128And,
    ]);
    // Where a three- or four-byte lead came two or three bytes before,
    // this byte must be a continuation: that flips the `TWO_CONTS` bit,
    // which the lookups set for every continuation after a continuation.
    c.extend([
        I::LocalGet(v.prev),
        I::LocalGet(v.input),
        previous(2),
        splat8(0xE0 - 0x80),
        I::I8x16SubSatU,
        I::LocalGet(v.prev),
        I::LocalGet(v.input),
        previous(3),
        splat8(0xF0 - 0x80),
        I::I8x16SubSatU,
        I::V128Or,
        splat8(0x80),
        I::V128And,
        I::V128Xor,
        I::LocalGet(v.err),
        I::V128Or,
        I::LocalSet(v.err),
        I::LocalGet(v.input),
        v128(INCOMPLETE),
        I::I8x16SubSatU,
        I::LocalSet(v.carry),
        I::Else,
        // ASCII: the block before must not have ended inside a character.
        I::LocalGet(v.err),
        I::LocalGet(v.carry),
        I::V128Or,
        I::LocalSet(v.err),
        I::V128Const(0),
        I::LocalSet(v.carry),
        I::End,
    ]);
}

/// `(ptr, units)` or, copying, `(ptr, units, dst)`: traps on an unpaired
/// surrogate in the `units` UTF-16 code units at `ptr`, copying them to
/// `dst` when asked. The caller has checked that both ranges are in
/// bounds.
pub fn utf16(t: Text) -> Function {
    let mut c = Code::new(if t.to.is_some() { 3 } else { 2 });
    let v = V::new(&mut c);
    let len = c.temp(ValType::I32);
    c.extend([
        I::LocalGet(v.len),
        I::I32Const(1),
        I::I32Shl,
        I::LocalSet(len),
    ]);
    let short = [c.temp(ValType::V128), c.temp(ValType::V128)];
    v.short(&mut c, t, (len, short), (utf16_block, false));
    v.blocks(&mut c, t, len, utf16_block);
    // The last unit must not be a high surrogate: the last lane of the
    // partial block, or of the last whole one.
    c.extend([
        I::LocalGet(v.input),
        I::LocalGet(v.prev),
        I::LocalGet(v.rem),
        I::Select,
    ]);
    high(&mut c);
    c.extend([
        I::V128Const(0),
        I::I8x16Shuffle([
            14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
        ]),
        I::LocalGet(v.err),
        I::V128Or,
        I::LocalSet(v.err),
    ]);
    v.check(&mut c);
    v.copy_tail(&mut c, t, len);
    c.finish()
}

/// Checks the block in `input`: each lane is a low surrogate exactly when
/// the lane before it (for the first, the last of `prev`) is a high one.
fn utf16_block(v: &V, c: &mut Code) {
    c.push(I::LocalGet(v.prev));
    high(c);
    c.push(I::LocalGet(v.input));
    high(c);
    // Each lane's previous lane: lane 7 of `prev`, then lanes 0..6.
    c.push(I::I8x16Shuffle([
        14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
    ]));
    c.extend([
        I::LocalGet(v.input),
        splat16(0xFC00),
        I::V128And,
        splat16(0xDC00),
        I::I16x8Eq,
        I::V128Xor,
        I::LocalGet(v.err),
        I::V128Or,
        I::LocalSet(v.err),
    ]);
}

/// Replaces the code units on the stack with all ones where a unit is a
/// high surrogate, zeros elsewhere.
fn high(c: &mut Code) {
    c.extend([splat16(0xFC00), I::V128And, splat16(0xD800), I::I16x8Eq]);
}
