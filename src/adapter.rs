//! Adapters: one generated core function per cross-component call.
//!
//! An adapter has the core signature the caller imports (`canon lower`), and
//! calls the callee's core function (`canon lift`). In between it does what
//! the canonical ABI's `lift` from the caller and `lower` into the callee
//! would do, value by value, driven by the component-level type; then the
//! same for results in the other direction, then the callee's
//! `post-return`. Scalars are converted on the stack: small integers are
//! truncated and re-extended, `bool` is normalised to 0/1, `char` is checked
//! for being a Unicode scalar value (a trap otherwise), floats pass
//! unchanged (NaN payloads included).

use crate::abi;
use crate::error::{Error, Result};
use crate::instantiate::Adapter;
use wasm_encoder::{Function, Instruction as I, ValType};
use wasmparser::PrimitiveValType as P;
use wasmparser::component_types::ComponentValType;
use wasmparser::types::TypesRef;

/// Typed local variables of a function under construction: parameters
/// first, then temporaries handed out by type.
pub struct Locals {
    params: u32,
    temps: Vec<ValType>,
}

impl Locals {
    /// Locals for a function with `params` parameters.
    pub fn new(params: u32) -> Self {
        Locals {
            params,
            temps: Vec::new(),
        }
    }

    /// A fresh temporary of type `ty`.
    pub fn temp(&mut self, ty: ValType) -> u32 {
        self.temps.push(ty);
        self.params + self.temps.len() as u32 - 1
    }

    /// Creates the function with the declared temporaries.
    pub fn function(&self) -> Function {
        Function::new_with_locals_types(self.temps.iter().copied())
    }
}

/// How an adapter was compiled, for the report.
pub fn strategy(_types: TypesRef<'_>, _adapter: &Adapter<'_>) -> &'static str {
    "direct"
}

/// Checks that an adapter can be generated for this call, before any output
/// is produced.
pub fn check(types: TypesRef<'_>, adapter: &Adapter<'_>) -> Result<()> {
    let f = &types[adapter.callee.ty];
    let all = f.params.iter().map(|(_, t)| t).chain(f.result.iter());
    for t in all {
        if abi::as_primitive(types, t).is_none_or(|p| p == P::String || p == P::ErrorContext) {
            return Err(Error::unsupported(
                format!(
                    "adapter-{}",
                    abi::describe(types, t).split(' ').next().unwrap_or("type")
                ),
                format!(
                    "a cross-component call of `{}` passes a {}; only scalar values cross components in this version",
                    adapter.name,
                    abi::describe(types, t)
                ),
            ));
        }
    }
    Ok(())
}

/// The parts of the fused module an adapter calls.
pub struct Targets {
    /// The callee's core function.
    pub callee: u32,
    /// The callee's `post-return`, if any.
    pub post_return: Option<u32>,
}

/// Generates the adapter's body. `check` must have accepted it.
pub fn generate(types: TypesRef<'_>, adapter: &Adapter<'_>, targets: &Targets) -> Function {
    let f = &types[adapter.callee.ty];
    let params = f.params.len() as u32;
    let mut locals = Locals::new(params);
    let mut body = Vec::new();
    for (i, (_, t)) in f.params.iter().enumerate() {
        body.push(I::LocalGet(i as u32));
        translate_scalar(types, t, &mut locals, &mut body);
    }
    body.push(I::Call(targets.callee));
    match (&f.result, targets.post_return) {
        (Some(r), Some(post)) => {
            // `post-return` receives the callee's own core results; the
            // caller gets the converted value afterwards.
            let mut flat = Vec::new();
            abi::flatten(types, r, &mut flat);
            let ty = reencode_valtype(flat[0]);
            let raw = locals.temp(ty);
            let converted = locals.temp(ty);
            body.push(I::LocalTee(raw));
            translate_scalar(types, r, &mut locals, &mut body);
            body.extend([
                I::LocalSet(converted),
                I::LocalGet(raw),
                I::Call(post),
                I::LocalGet(converted),
            ]);
        }
        (Some(r), None) => translate_scalar(types, r, &mut locals, &mut body),
        (None, Some(post)) => body.push(I::Call(post)),
        (None, None) => {}
    }
    body.push(I::End);
    let mut func = locals.function();
    for ins in &body {
        func.instruction(ins);
    }
    func
}

fn reencode_valtype(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(_) => unreachable!("flattening never yields reference types"),
    }
}

/// Lifts the scalar on top of the stack from one side and lowers it for the
/// other: the composition `lower_flat(lift_flat(v))` of the spec.
fn translate_scalar(
    types: TypesRef<'_>,
    ty: &ComponentValType,
    locals: &mut Locals,
    body: &mut Vec<I<'static>>,
) {
    let p = abi::as_primitive(types, ty).unwrap_or_else(|| unreachable!("checked: scalar"));
    match p {
        P::Bool => body.extend([I::I32Const(0), I::I32Ne]),
        P::S8 => body.push(I::I32Extend8S),
        P::U8 => body.extend([I::I32Const(0xff), I::I32And]),
        P::S16 => body.push(I::I32Extend16S),
        P::U16 => body.extend([I::I32Const(0xffff), I::I32And]),
        P::Char => {
            // Trap unless a Unicode scalar value: below 0x110000 and not a
            // surrogate (0xD800..=0xDFFF).
            let c = locals.temp(ValType::I32);
            body.extend([
                I::LocalTee(c),
                I::I32Const(0x11_0000),
                I::I32GeU,
                I::LocalGet(c),
                I::I32Const(0xD800),
                I::I32Sub,
                I::I32Const(0x800),
                I::I32LtU,
                I::I32Or,
                I::If(wasm_encoder::BlockType::Empty),
                I::Unreachable,
                I::End,
                I::LocalGet(c),
            ]);
        }
        P::S32 | P::U32 | P::S64 | P::U64 | P::F32 | P::F64 => {}
        P::String | P::ErrorContext => unreachable!("checked: scalar"),
    }
}
