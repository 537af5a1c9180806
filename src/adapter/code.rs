//! The one way generated functions are written: typed locals from an
//! allocator that hands freed ones out again, the instruction list, and
//! the idioms every generated function shares.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

/// An access to `memory` at the static `offset`, aligned to `2^align`.
pub fn memarg(memory: u32, offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        memory_index: memory,
    }
}

/// The sixteen bytes `b` as a `v128.const`.
pub fn v128(b: [u8; 16]) -> I<'static> {
    I::V128Const(i128::from_le_bytes(b))
}

/// `pattern` repeated as many whole times as sixteen bytes hold, the rest
/// zero, as a `v128.const`.
pub fn repeat(pattern: &[u8]) -> I<'static> {
    let mut b = [0; 16];
    let whole = 16 / pattern.len() * pattern.len();
    for (lane, v) in b.iter_mut().zip(pattern.iter().cycle()).take(whole) {
        *lane = *v;
    }
    v128(b)
}

/// `v` in every 8-bit lane.
pub fn splat8(v: u8) -> I<'static> {
    v128([v; 16])
}

/// `v` in every 16-bit lane.
pub fn splat16(v: u16) -> I<'static> {
    repeat(&v.to_le_bytes())
}

/// `v` in every 32-bit lane.
pub fn splat32(v: u32) -> I<'static> {
    repeat(&v.to_le_bytes())
}

/// The lanes 0 to 15, in order.
pub const IOTA: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Leaves whether `bytes` bytes from the sum of the `i32` locals `at` are
/// inside `memory`.
pub fn inside(c: &mut Code, memory: u32, at: &[u32], bytes: i64) {
    for (k, l) in at.iter().enumerate() {
        c.extend([I::LocalGet(*l), I::I64ExtendI32U]);
        if k > 0 {
            c.push(I::I64Add);
        }
    }
    c.extend([
        I::I64Const(bytes),
        I::I64Add,
        I::MemorySize(memory),
        I::I64ExtendI32U,
        I::I64Const(16),
        I::I64Shl,
        I::I64LeU,
    ]);
}

/// Up to this many bytes, [`copy_bytes`] copies with loads and stores
/// in the code: a `memory.copy` is a call into the runtime, which costs
/// more than the copy itself for a short string.
pub const INLINE_COPY: u32 = 32;

/// Copies the `len` bytes at the `i32` local `src` in memory `from` to the
/// `i32` local `dst` in memory `to`; both ranges are in bounds. Up to
/// [`INLINE_COPY`] bytes with [`copy_ends`], more with `memory.copy`.
pub fn copy_bytes(c: &mut Code, (from, src): (u32, u32), (to, dst): (u32, u32), len: u32) {
    c.extend([
        I::LocalGet(len),
        I::I32Const(INLINE_COPY as i32),
        I::I32GtU,
        I::If(BlockType::Empty),
        I::LocalGet(dst),
        I::LocalGet(src),
        I::LocalGet(len),
        I::MemoryCopy {
            src_mem: from,
            dst_mem: to,
        },
        I::Else,
    ]);
    copy_ends(c, (from, src), (to, dst), len, true);
    c.push(I::End);
}

/// Copies the `len` bytes (at most 32) at the `i32` local `src` in memory
/// `from` to the `i32` local `dst` in memory `to`, both in bounds, with
/// the widest access that fits from both ends (overlapping in the middle,
/// never past either end), both loads before either store. Without
/// `head`, sixteen bytes or more have only their last sixteen copied (the
/// rest were already): `len` may then be any length.
pub fn copy_ends(
    c: &mut Code,
    (from, src): (u32, u32),
    (to, dst): (u32, u32),
    len: u32,
    head: bool,
) {
    type Access = fn(MemArg) -> I<'static>;
    let accesses: [(i32, ValType, Access, Access); 4] = [
        (16, ValType::V128, I::V128Load, I::V128Store),
        (8, ValType::I64, I::I64Load, I::I64Store),
        (4, ValType::I32, I::I32Load, I::I32Store),
        (2, ValType::I32, I::I32Load16U, I::I32Store16),
    ];
    // The last `width` bytes, and the first when `first`: loaded, then
    // stored.
    let ends = |c: &mut Code, width: i32, (ty, load, store): (ValType, Access, Access), first| {
        let mark = c.mark();
        let (a, b) = (c.temp(ty), c.temp(ty));
        let end = |c: &mut Code, base: u32| {
            c.extend([
                I::LocalGet(base),
                I::LocalGet(len),
                I::I32Add,
                I::I32Const(width),
                I::I32Sub,
            ]);
        };
        if first {
            c.extend([I::LocalGet(src), load(memarg(from, 0, 0)), I::LocalSet(a)]);
        }
        end(c, src);
        c.extend([load(memarg(from, 0, 0)), I::LocalSet(b)]);
        if first {
            c.extend([I::LocalGet(dst), I::LocalGet(a), store(memarg(to, 0, 0))]);
        }
        end(c, dst);
        c.extend([I::LocalGet(b), store(memarg(to, 0, 0))]);
        c.release(mark);
    };
    for (width, ty, load, store) in accesses {
        c.extend([
            I::LocalGet(len),
            I::I32Const(width),
            I::I32GeU,
            I::If(BlockType::Empty),
        ]);
        ends(c, width, (ty, load, store), head || width < 16);
        c.push(I::Else);
    }
    // One byte, or none.
    c.extend([
        I::LocalGet(len),
        I::If(BlockType::Empty),
        I::LocalGet(dst),
        I::LocalGet(src),
        I::I32Load8U(memarg(from, 0, 0)),
        I::I32Store8(memarg(to, 0, 0)),
        I::End,
    ]);
    c.extend(std::iter::repeat_n(I::End, accesses.len()));
}

/// Traps when the `i32` on the stack is not zero.
pub const TRAP_IF: [I<'static>; 3] = [I::If(BlockType::Empty), I::Unreachable, I::End];

/// A generated function under construction.
pub struct Code {
    /// Parameters: the first locals.
    params: u32,
    /// The type of every temporary, by index past the parameters.
    temps: Vec<ValType>,
    /// Temporaries given out and not yet released, in order.
    live: Vec<u32>,
    /// Temporaries released, free to hand out again.
    free: Vec<u32>,
    /// The instructions so far.
    pub body: Vec<I<'static>>,
}

/// A point in a function's temporaries: [`Code::release`] frees every
/// temporary handed out after it.
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

impl Code {
    /// A function with `params` parameters and no code yet.
    pub fn new(params: u32) -> Self {
        Code {
            params,
            temps: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A temporary of type `ty`: a released one of that type when there is
    /// one, else a new one. Its value is unspecified: the code sets it
    /// before reading it.
    pub fn temp(&mut self, ty: ValType) -> u32 {
        let l = match self
            .free
            .iter()
            .rposition(|l| self.temps[(l - self.params) as usize] == ty)
        {
            Some(i) => self.free.swap_remove(i),
            None => {
                self.temps.push(ty);
                self.params + self.temps.len() as u32 - 1
            }
        };
        self.live.push(l);
        l
    }

    /// The temporaries handed out so far.
    pub fn mark(&self) -> Mark {
        Mark(self.live.len())
    }

    /// Frees the temporaries handed out since `mark`: code after this
    /// point must not read them.
    pub fn release(&mut self, mark: Mark) {
        self.free.extend(self.live.drain(mark.0..));
    }

    /// Appends instructions.
    pub fn extend(&mut self, ins: impl IntoIterator<Item = I<'static>>) {
        self.body.extend(ins);
    }

    /// Appends one instruction.
    pub fn push(&mut self, ins: I<'static>) {
        self.body.push(ins);
    }

    /// Traps when the `i32` on the stack is not zero.
    pub fn trap_if(&mut self) {
        self.body.extend(TRAP_IF);
    }

    /// A fresh `i32` temporary holding `v`.
    pub fn const_local(&mut self, v: u32) -> u32 {
        let l = self.temp(ValType::I32);
        self.body.extend([I::I32Const(v as i32), I::LocalSet(l)]);
        l
    }

    /// Ends the function and encodes it.
    pub fn finish(mut self) -> Function {
        self.body.push(I::End);
        let mut f = Function::new_with_locals_types(self.temps.iter().copied());
        for ins in &self.body {
            f.instruction(ins);
        }
        f
    }

    /// The number of temporaries declared.
    #[cfg(test)]
    pub fn temp_count(&self) -> usize {
        self.temps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_temporaries_are_reused_by_type() {
        let mut c = Code::new(2);
        let a = c.temp(ValType::I32);
        assert_eq!(a, 2);
        let m = c.mark();
        let b = c.temp(ValType::I64);
        let d = c.temp(ValType::I32);
        assert_eq!((b, d), (3, 4));
        c.release(m);
        // Same types come back; a kept one is never handed out twice.
        assert_eq!(c.temp(ValType::I32), 4);
        assert_eq!(c.temp(ValType::I64), 3);
        assert_eq!(c.temp(ValType::I32), 5);
        assert_eq!(c.temp_count(), 4);
        assert_ne!(c.temp(ValType::F32), a);
    }

    #[test]
    fn trap_if_and_finish_encode_a_valid_body() -> Result<(), wasmparser::BinaryReaderError> {
        let mut c = Code::new(1);
        c.extend([I::LocalGet(0)]);
        c.trap_if();
        let f = c.finish();
        let mut m = wasm_encoder::Module::new();
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([ValType::I32], []);
        let mut funcs = wasm_encoder::FunctionSection::new();
        funcs.function(0);
        let mut code = wasm_encoder::CodeSection::new();
        code.function(&f);
        m.section(&types).section(&funcs).section(&code);
        wasmparser::validate(&m.finish())?;
        Ok(())
    }
}
