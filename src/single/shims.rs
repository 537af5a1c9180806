//! The host boundary of a one-memory module.
//!
//! Inside the module every component addresses its own region from 0; the
//! host addresses the one memory. Each function the host reaches with a
//! `memory` option gets a wrapper in the one memory's terms:
//!
//! - a **lifted root export**: the pointers the host wrote (into the
//!   component's region, through the `realloc` wrapper) are moved back to
//!   region addresses; after the call, the result the component returns
//!   through memory is copied to the scratch region and its pointers made
//!   absolute, so the host reads it where the wrapper says; `post-return`
//!   gets the component's own return pointer;
//! - a **`realloc`** the host calls: its result made absolute, checked to
//!   lie inside the region (the host would otherwise write elsewhere);
//! - a **lowered host function**: pointers the component passes are
//!   checked against its region, as the host checks them against a
//!   memory, and made absolute; a list whose elements hold pointers is
//!   copied to the scratch region and rebased there (the component's
//!   memory is never changed, and two lists sharing elements stay
//!   correct); the return pointer is made absolute, and what the host
//!   wrote there moved back to region addresses.
//!
//! The scratch region is the last: a bump allocator reset when a root
//! export is entered and after each host call.

use super::{Added, Boundary, HostCall, Region};
use crate::abi::{self, Shape};
use crate::adapter::code::{Code, memarg};
use crate::error::{Error, Result};
use crate::parse::StringEncoding;
use std::collections::HashMap;
use wasm_encoder::{BlockType, Instruction as I, ValType};
use wasmparser::component_types::{ComponentFuncTypeId, ComponentValType};
use wasmparser::types::TypesRef;

/// What a pointer points at: `length` units of `unit` bytes (a string's
/// code units, a list's elements), and the pointers in one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pointee {
    unit: u32,
    align: u32,
    /// A `latin1+utf16` length: its top bit tags UTF-16 (two-byte units).
    tagged: bool,
    elem: Vec<Item>,
}

impl Pointee {
    fn text(encoding: StringEncoding) -> Self {
        let (unit, align, tagged) = match encoding {
            StringEncoding::Utf8 => (1, 1, false),
            StringEncoding::Utf16 => (2, 2, false),
            StringEncoding::CompactUtf16 => (1, 2, true),
        };
        Pointee {
            unit,
            align,
            tagged,
            elem: Vec::new(),
        }
    }
}

/// Where pointers lie in a value in memory, from the value's address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A (pointer, length) pair at `at`.
    Pair { at: u32, to: Pointee },
    /// A variant at `at`: per case that holds pointers, its items from the
    /// payload's address.
    Variant {
        at: u32,
        discriminant: u32,
        payload: u32,
        cases: Vec<(u32, Vec<Item>)>,
    },
    /// `count` elements from `at`, `stride` bytes apart.
    Repeat {
        at: u32,
        count: u32,
        stride: u32,
        elem: Vec<Item>,
    },
}

/// Where pointers lie in flat values, by local.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flat {
    Pair {
        ptr: u32,
        len: u32,
        to: Pointee,
    },
    Variant {
        discriminant: u32,
        cases: Vec<(u32, Vec<Flat>)>,
    },
}

struct Planner<'t> {
    types: TypesRef<'t>,
    encoding: StringEncoding,
}

impl Planner<'_> {
    fn pointee(&self, ty: &ComponentValType) -> Option<Pointee> {
        match abi::shape(self.types, ty) {
            Shape::String => Some(Pointee::text(self.encoding)),
            Shape::List(fields) => {
                let layout = abi::record_layout(self.types, fields.iter());
                let mut elem = Vec::new();
                for (f, at) in fields.iter().zip(&layout.offsets) {
                    self.memory(f, *at, &mut elem);
                }
                let (unit, align) = layout.size_align;
                Some(Pointee {
                    unit,
                    align,
                    tagged: false,
                    elem,
                })
            }
            _ => None,
        }
    }

    /// The pointers of a value of `ty` at `at`, into `out`.
    fn memory(&self, ty: &ComponentValType, at: u32, out: &mut Vec<Item>) {
        if let Some(to) = self.pointee(ty) {
            out.push(Item::Pair { at, to });
            return;
        }
        match abi::shape(self.types, ty) {
            Shape::Record(fields) => {
                let layout = abi::record_layout(self.types, fields.iter());
                for (f, off) in fields.iter().zip(&layout.offsets) {
                    self.memory(f, at + off, out);
                }
            }
            Shape::Repeat(e, count) => {
                let mut elem = Vec::new();
                self.memory(&e, 0, &mut elem);
                if !elem.is_empty() {
                    let stride = abi::size_align(self.types, &e).0;
                    out.push(Item::Repeat {
                        at,
                        count,
                        stride,
                        elem,
                    });
                }
            }
            Shape::Variant(cases) => {
                let layout = abi::variant_layout(self.types, cases.iter().map(Option::as_ref));
                let mut with = Vec::new();
                for (k, c) in cases.iter().enumerate() {
                    let mut items = Vec::new();
                    if let Some(c) = c {
                        self.memory(c, 0, &mut items);
                    }
                    if !items.is_empty() {
                        with.push((k as u32, items));
                    }
                }
                if !with.is_empty() {
                    out.push(Item::Variant {
                        at,
                        discriminant: layout.discriminant,
                        payload: layout.payload_offset,
                        cases: with,
                    });
                }
            }
            _ => {}
        }
    }

    /// The parameters of `ty` as the tuple they spill to: its size and
    /// alignment, and its pointers.
    fn params_tuple(&self, ty: ComponentFuncTypeId) -> ((u32, u32), Vec<Item>) {
        let f = &self.types[ty];
        let tuple: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
        let layout = abi::record_layout(self.types, tuple.iter());
        let mut items = Vec::new();
        for (t, at) in tuple.iter().zip(&layout.offsets) {
            self.memory(t, *at, &mut items);
        }
        (layout.size_align, items)
    }

    /// The pointers of the flat parameters of `ty`.
    fn flat_params(&self, ty: ComponentFuncTypeId) -> Vec<Flat> {
        let mut flat = Vec::new();
        let mut at = 0;
        for (_, t) in self.types[ty].params.iter() {
            at += self.flat(t, at, &mut flat);
        }
        flat
    }

    /// The pointers of flat values of `ty` from local `at`; returns how
    /// many locals the values take.
    fn flat(&self, ty: &ComponentValType, at: u32, out: &mut Vec<Flat>) -> u32 {
        if let Some(to) = self.pointee(ty) {
            out.push(Flat::Pair {
                ptr: at,
                len: at + 1,
                to,
            });
            return 2;
        }
        match abi::shape(self.types, ty) {
            Shape::Record(fields) => {
                let mut n = 0;
                for f in &fields {
                    n += self.flat(f, at + n, out);
                }
                n
            }
            Shape::Repeat(e, count) => {
                let mut n = 0;
                for _ in 0..count {
                    n += self.flat(&e, at + n, out);
                }
                n
            }
            Shape::Variant(cases) => {
                let mut widest = 0;
                let mut with = Vec::new();
                for (k, c) in cases.iter().enumerate() {
                    let mut items = Vec::new();
                    if let Some(c) = c {
                        widest = widest.max(self.flat(c, at + 1, &mut items));
                    }
                    if !items.is_empty() {
                        with.push((k as u32, items));
                    }
                }
                if !with.is_empty() {
                    out.push(Flat::Variant {
                        discriminant: at,
                        cases: with,
                    });
                }
                1 + widest
            }
            _ => {
                let mut v = Vec::new();
                abi::flatten(self.types, ty, &mut v);
                v.len() as u32
            }
        }
    }
}

/// Which exports of the fused module name a wrapper instead.
#[derive(Default)]
pub(super) struct Redirects {
    /// Lifted functions, by the export the wrapper calls (a function lifted
    /// with a memory and again without keeps its plain export).
    pub by_name: HashMap<String, u32>,
    /// `realloc` and `post-return`, whose every export is for the host.
    pub by_index: HashMap<u32, u32>,
}

/// Which way pointers move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the component's region to the host: checked, made absolute,
    /// lists of pointers copied to the scratch region.
    ToHost,
    /// From the host back to the region, in place (the host wrote them,
    /// through the `realloc` wrapper).
    FromHost,
}

/// The wrappers of one module, reserved when the pass starts and written
/// when it ends.
pub(super) struct Shims<'b, 't> {
    boundary: &'b Boundary<'t>,
    regions: &'b [Region],
    scratch: Region,
    grow_scratch: u32,
    /// Global: bytes of the scratch region in use.
    top: u32,
    /// Global: the return pointer of the root export last called, in its
    /// region.
    saved: u32,
    alloc: u32,
    lifts: HashMap<u32, (usize, u32)>,
    posts: HashMap<u32, u32>,
    reallocs: HashMap<u32, (u32, u32)>,
    lowers: Vec<(u32, u32)>,
    /// The call-indirect type of each host slot wrapped.
    slot_types: HashMap<u32, u32>,
}

fn lift_sig(types: TypesRef<'_>, ty: ComponentFuncTypeId) -> (Vec<ValType>, Vec<ValType>) {
    let s = abi::flatten_func(types, ty);
    let params = if s.params_spill {
        vec![ValType::I32]
    } else {
        s.params.iter().map(|t| val(*t)).collect()
    };
    let results = if s.results_spill {
        vec![ValType::I32]
    } else {
        s.results.iter().map(|t| val(*t)).collect()
    };
    (params, results)
}

fn lower_sig(types: TypesRef<'_>, ty: ComponentFuncTypeId) -> (Vec<ValType>, Vec<ValType>) {
    let s = abi::lower_signature(types, ty);
    (
        s.params().iter().map(|t| val(*t)).collect(),
        s.results().iter().map(|t| val(*t)).collect(),
    )
}

fn val(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        _ => ValType::I32,
    }
}

/// What a lift's wrapper does, to tell whether two lifts of one function
/// (the same function exported under two names, say a `string` and a
/// `list<u8>` echo merged by the compiler) can share it.
fn plans(types: TypesRef<'_>, l: &super::Lift) -> (Vec<Flat>, Vec<Item>, String) {
    let planner = Planner {
        types,
        encoding: l.encoding,
    };
    let f = &types[l.ty];
    let mut flat = planner.flat_params(l.ty);
    // Parameters come from the host: their strings and pointer-free lists
    // are only moved back, whatever their unit.
    fn erase(to: &mut Pointee) {
        if to.elem.is_empty() {
            (to.unit, to.align, to.tagged) = (0, 0, false);
        }
    }
    fn erase_flat(items: &mut [Flat]) {
        for item in items {
            match item {
                Flat::Pair { to, .. } => erase(to),
                Flat::Variant { cases, .. } => {
                    cases.iter_mut().for_each(|(_, c)| erase_flat(c));
                }
            }
        }
    }
    erase_flat(&mut flat);
    let mut result = Vec::new();
    if let Some(r) = &f.result {
        planner.memory(r, 0, &mut result);
    }
    (flat, result, format!("{:?}", lift_sig(types, l.ty)))
}

fn conflict(what: &str, f: u32) -> Error {
    Error::unsupported(
        "single-memory",
        format!(
            "function {f} is the {what} of two host-facing functions with different memories or types"
        ),
    )
}

impl<'b, 't> Shims<'b, 't> {
    /// Reserves the wrappers `boundary` needs.
    pub fn new(
        boundary: &'b Boundary<'t>,
        regions: &'b [Region],
        scratch: Region,
        grow_scratch: u32,
        first_global: u32,
        added: &mut Added,
    ) -> Result<Self> {
        let types = boundary.types;
        let mut s = Shims {
            boundary,
            regions,
            scratch,
            grow_scratch,
            top: first_global,
            saved: first_global + 1,
            alloc: added.reserve(&[ValType::I32; 2], &[ValType::I32]),
            lifts: HashMap::new(),
            posts: HashMap::new(),
            reallocs: HashMap::new(),
            lowers: Vec::new(),
            slot_types: HashMap::new(),
        };
        for (k, l) in boundary.lifts.iter().enumerate() {
            let memory = l.memory;
            let (params, results) = lift_sig(types, l.ty);
            match s.lifts.get(&l.func) {
                Some((other, _)) => {
                    let o = &boundary.lifts[*other];
                    if (o.memory, o.realloc, o.post_return) != (l.memory, l.realloc, l.post_return)
                        || plans(types, o) != plans(types, l)
                    {
                        return Err(conflict("lifted function", l.func));
                    }
                }
                None => {
                    let shim = added.reserve(&params, &results);
                    s.lifts.insert(l.func, (k, shim));
                }
            }
            if let Some(r) = l.realloc {
                s.realloc(r, memory, added)?;
            }
            if let (Some(p), true) = (l.post_return, abi::flatten_func(types, l.ty).results_spill) {
                s.posts
                    .entry(p)
                    .or_insert_with(|| added.reserve(&[ValType::I32], &[]));
            }
        }
        for l in &boundary.lowers {
            let (params, results) = lower_sig(types, l.ty);
            let shim = added.reserve(&params, &results);
            if let HostCall::Slot(slot) = l.call {
                s.slot_types
                    .insert(slot, added.type_index(&params, &results));
            }
            s.lowers.push((shim, 0));
            if let Some(r) = l.realloc {
                s.realloc(r, l.memory, added)?;
            }
        }
        Ok(s)
    }

    fn realloc(&mut self, r: u32, memory: u32, added: &mut Added) -> Result<()> {
        match self.reallocs.get(&r) {
            Some((_, m)) if *m != memory => Err(conflict("realloc", r)),
            Some(_) => Ok(()),
            None => {
                let shim = added.reserve(&[ValType::I32; 4], &[ValType::I32]);
                self.reallocs.insert(r, (shim, memory));
                Ok(())
            }
        }
    }

    /// The globals the wrappers keep: `(type, initial value)`.
    pub fn globals(&self) -> Vec<(ValType, i64)> {
        vec![(ValType::I32, 0), (ValType::I32, 0)]
    }

    /// The wrapper of each host table slot.
    pub fn slot_shims(&self) -> HashMap<u32, u32> {
        self.calls(|c| match c {
            HostCall::Slot(s) => Some(s),
            HostCall::Import(_) => None,
        })
    }

    /// The wrapper of each imported host function.
    pub fn import_shims(&self) -> HashMap<u32, u32> {
        self.calls(|c| match c {
            HostCall::Import(f) => Some(f),
            HostCall::Slot(_) => None,
        })
    }

    fn calls(&self, pick: impl Fn(HostCall) -> Option<u32>) -> HashMap<u32, u32> {
        self.boundary
            .lowers
            .iter()
            .zip(&self.lowers)
            .filter_map(|(l, (shim, _))| pick(l.call).map(|k| (k, *shim)))
            .collect()
    }

    /// Writes every wrapper; returns which exported function each
    /// replaces.
    pub fn finish(&self, added: &mut Added) -> Result<Redirects> {
        let mut redirects = Redirects::default();
        added.define(self.alloc, self.alloc_body());
        for (func, (k, shim)) in &self.lifts {
            added.define(*shim, self.lift(&self.boundary.lifts[*k], *func));
        }
        for l in &self.boundary.lifts {
            if let Some((_, shim)) = self.lifts.get(&l.func) {
                redirects.by_name.insert(l.export.clone(), *shim);
            }
        }
        for (post, shim) in &self.posts {
            let mut c = Code::new(1);
            c.extend([I::GlobalGet(self.saved), I::Call(*post)]);
            added.define(*shim, c.finish());
            redirects.by_index.insert(*post, *shim);
        }
        for (realloc, (shim, memory)) in &self.reallocs {
            added.define(*shim, self.realloc_body(*realloc, *memory));
            redirects.by_index.insert(*realloc, *shim);
        }
        for (l, (shim, _)) in self.boundary.lowers.iter().zip(&self.lowers) {
            added.define(*shim, self.lower(l)?);
        }
        Ok(redirects)
    }

    fn region(&self, memory: u32) -> Region {
        self.regions[memory as usize]
    }

    /// `(size, align) -> address`: bump allocation in the scratch region,
    /// which grows as needed.
    fn alloc_body(&self) -> wasm_encoder::Function {
        let s = self.scratch;
        let mut c = Code::new(2);
        let (size, align) = (0, 1);
        let at = c.temp(ValType::I32);
        let end = c.temp(ValType::I64);
        c.extend([
            I::GlobalGet(self.top),
            I::LocalGet(align),
            I::I32Add,
            I::I32Const(1),
            I::I32Sub,
            I::I32Const(0),
            I::LocalGet(align),
            I::I32Sub,
            I::I32And,
            I::LocalTee(at),
            I::I64ExtendI32U,
            I::LocalGet(size),
            I::I64ExtendI32U,
            I::I64Add,
            I::LocalTee(end),
            I::GlobalGet(s.bytes),
            I::I64GtU,
            I::If(BlockType::Empty),
            // Pages short, rounded up.
            I::LocalGet(end),
            I::GlobalGet(s.bytes),
            I::I64Sub,
            I::I64Const(65535),
            I::I64Add,
            I::I64Const(16),
            I::I64ShrU,
            I::I32WrapI64,
            I::Call(self.grow_scratch),
            I::I32Const(-1),
            I::I32Eq,
        ]);
        c.trap_if();
        c.extend([
            I::End,
            I::LocalGet(end),
            I::I32WrapI64,
            I::GlobalSet(self.top),
            I::LocalGet(at),
            I::GlobalGet(s.base),
            I::I32Add,
        ]);
        c.finish()
    }

    /// `realloc` for the host: the component's, its result made absolute
    /// and checked to lie inside the region.
    fn realloc_body(&self, realloc: u32, memory: u32) -> wasm_encoder::Function {
        let r = self.region(memory);
        let mut c = Code::new(4);
        let got = c.temp(ValType::I32);
        // An old pointer (the host never passes one) moves back too.
        c.extend([
            I::LocalGet(0),
            I::GlobalGet(r.base),
            I::I32Sub,
            I::I32Const(0),
            I::LocalGet(0),
            I::Select,
            I::LocalGet(1),
            I::LocalGet(2),
            I::LocalGet(3),
            I::Call(realloc),
            I::LocalTee(got),
            I::I64ExtendI32U,
            I::LocalGet(3),
            I::I64ExtendI32U,
            I::I64Add,
            I::GlobalGet(r.bytes),
            I::I64GtU,
        ]);
        c.trap_if();
        c.extend([I::LocalGet(got), I::GlobalGet(r.base), I::I32Add]);
        c.finish()
    }

    fn lift(&self, l: &super::Lift, func: u32) -> wasm_encoder::Function {
        let types = self.boundary.types;
        let region = self.region(l.memory);
        let planner = Planner {
            types,
            encoding: l.encoding,
        };
        let f = &types[l.ty];
        let sig = abi::flatten_func(types, l.ty);
        let (params, _) = lift_sig(types, l.ty);
        let mut c = Code::new(params.len() as u32);
        let g = Gen {
            region,
            shims: self,
        };
        c.extend([I::I32Const(0), I::GlobalSet(self.top)]);
        if sig.params_spill {
            let (_, items) = planner.params_tuple(l.ty);
            g.walk(&mut c, &items, 0, Way::FromHost);
            g.rebase(&mut c, 0, Way::FromHost);
        } else {
            g.flat(&mut c, &planner.flat_params(l.ty), &params, Way::FromHost);
        }
        c.extend((0..params.len() as u32).map(I::LocalGet));
        c.push(I::Call(func));
        if let (true, Some(result)) = (sig.results_spill, &f.result) {
            let rp = c.temp(ValType::I32);
            c.extend([I::LocalTee(rp), I::GlobalSet(self.saved)]);
            let mut items = Vec::new();
            planner.memory(result, 0, &mut items);
            let copy = g.copy_out(&mut c, rp, abi::size_align(types, result), &items);
            c.push(I::LocalGet(copy));
        }
        c.finish()
    }

    fn lower(&self, l: &super::Lower) -> Result<wasm_encoder::Function> {
        let types = self.boundary.types;
        let region = self.region(l.memory);
        let planner = Planner {
            types,
            encoding: l.encoding,
        };
        let f = &types[l.ty];
        let sig = abi::flatten_func(types, l.ty);
        let (params, _) = lower_sig(types, l.ty);
        let n = params.len() as u32;
        let mut c = Code::new(n);
        let g = Gen {
            region,
            shims: self,
        };
        let mark = c.temp(ValType::I32);
        c.extend([I::GlobalGet(self.top), I::LocalSet(mark)]);
        if sig.params_spill {
            let (size_align, items) = planner.params_tuple(l.ty);
            let copy = g.copy_out(&mut c, 0, size_align, &items);
            c.extend([I::LocalGet(copy), I::LocalSet(0)]);
        } else {
            g.flat(&mut c, &planner.flat_params(l.ty), &params, Way::ToHost);
        }
        let result = f.result.filter(|_| sig.results_spill);
        if let Some(result) = &result {
            // The host writes the results after its call and traps then
            // when the pointer is bad; a pointer outside the region is
            // given as one past every memory's end, so that it still does.
            let rp = n - 1;
            let (size, align) = abi::size_align(types, result);
            c.extend([
                I::LocalGet(rp),
                I::I64ExtendI32U,
                I::I64Const(i64::from(size)),
                I::I64Add,
                I::GlobalGet(region.bytes),
                I::I64GtU,
                I::If(BlockType::Result(ValType::I32)),
                I::I32Const(!(align - 1) as i32),
                I::Else,
                I::LocalGet(rp),
            ]);
            g.absolute(&mut c);
            c.extend([I::End, I::LocalSet(rp)]);
        }
        c.extend((0..n).map(I::LocalGet));
        match l.call {
            HostCall::Slot(slot) => {
                let ty = self
                    .slot_types
                    .get(&slot)
                    .copied()
                    .ok_or_else(|| Error::internal("a wrapped host slot has no call type"))?;
                let table = self.boundary.host_table.ok_or_else(|| {
                    Error::internal("a host slot is wrapped but there is no host table")
                })?;
                c.extend([
                    I::I32Const(slot as i32),
                    I::CallIndirect {
                        type_index: ty,
                        table_index: table,
                    },
                ]);
            }
            HostCall::Import(func) => c.push(I::Call(func)),
        }
        if let Some(result) = &result {
            let mut items = Vec::new();
            planner.memory(result, 0, &mut items);
            g.walk(&mut c, &items, n - 1, Way::FromHost);
        }
        c.extend([I::LocalGet(mark), I::GlobalSet(self.top)]);
        Ok(c.finish())
    }
}

/// Code generation against one region.
struct Gen<'s, 'b, 't> {
    region: Region,
    shims: &'s Shims<'b, 't>,
}

impl Gen<'_, '_, '_> {
    /// Adds the region's base to the `i32` on the stack.
    fn absolute(&self, c: &mut Code) {
        if !self.region.first {
            c.extend([I::GlobalGet(self.region.base), I::I32Add]);
        }
    }

    /// Moves the pointer in local `l` to the other side.
    fn rebase(&self, c: &mut Code, l: u32, way: Way) {
        if self.region.first {
            return;
        }
        c.extend([
            I::LocalGet(l),
            I::GlobalGet(self.region.base),
            if way == Way::ToHost {
                I::I32Add
            } else {
                I::I32Sub
            },
            I::LocalSet(l),
        ]);
    }

    /// Traps unless local `l` is aligned to `align` and `size` bytes from
    /// it lie inside the region, as lifting from a memory checks.
    fn check(&self, c: &mut Code, l: u32, size: u32, align: u32) {
        if align > 1 {
            c.extend([I::LocalGet(l), I::I32Const(align as i32 - 1), I::I32And]);
            c.trap_if();
        }
        c.extend([
            I::LocalGet(l),
            I::I64ExtendI32U,
            I::I64Const(i64::from(size)),
            I::I64Add,
            I::GlobalGet(self.region.bytes),
            I::I64GtU,
        ]);
        c.trap_if();
    }

    /// Copies the value at region address `at` (`size`, `align`, with
    /// pointers `items`) to the scratch region for the host, checked as
    /// lifting it checks, its pointers made absolute; returns the local
    /// holding the copy's address.
    fn copy_out(&self, c: &mut Code, at: u32, (size, align): (u32, u32), items: &[Item]) -> u32 {
        self.check(c, at, size, align);
        let copy = self.to_scratch(c, at, &[I::I32Const(size as i32)], align);
        self.walk(c, items, copy, Way::ToHost);
        copy
    }

    /// Copies the bytes at region address `from` (as many as `len`
    /// pushes) to a new block of the scratch region aligned to `align`;
    /// returns the local holding the block's absolute address.
    fn to_scratch(&self, c: &mut Code, from: u32, len: &[I<'static>], align: u32) -> u32 {
        let copy = c.temp(ValType::I32);
        c.extend(len.iter().cloned());
        c.extend([
            I::I32Const(align as i32),
            I::Call(self.shims.alloc),
            I::LocalTee(copy),
            I::LocalGet(from),
        ]);
        self.absolute(c);
        c.extend(len.iter().cloned());
        c.push(I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        });
        copy
    }

    /// The pointers of flat values, moved in their locals.
    fn flat(&self, c: &mut Code, items: &[Flat], locals: &[ValType], way: Way) {
        for item in items {
            match item {
                Flat::Pair { ptr, len, to } => {
                    let wide = locals[*ptr as usize] == ValType::I64;
                    let get = |c: &mut Code, l: u32, wide: bool| {
                        c.push(I::LocalGet(l));
                        if wide {
                            c.push(I::I32WrapI64);
                        }
                    };
                    let m = c.mark();
                    let p = c.temp(ValType::I32);
                    let n = c.temp(ValType::I32);
                    get(c, *ptr, wide);
                    c.push(I::LocalSet(p));
                    get(c, *len, locals[*len as usize] == ValType::I64);
                    c.push(I::LocalSet(n));
                    self.pointer(c, p, n, to, way);
                    c.push(I::LocalGet(p));
                    if wide {
                        c.push(I::I64ExtendI32U);
                    }
                    c.push(I::LocalSet(*ptr));
                    c.release(m);
                }
                Flat::Variant {
                    discriminant,
                    cases,
                } => {
                    for (k, items) in cases {
                        c.extend([
                            I::LocalGet(*discriminant),
                            I::I32Const(*k as i32),
                            I::I32Eq,
                            I::If(BlockType::Empty),
                        ]);
                        self.flat(c, items, locals, way);
                        c.push(I::End);
                    }
                }
            }
        }
    }

    /// The pointers of a value in memory at the absolute address in local
    /// `at`, moved where they are.
    fn walk(&self, c: &mut Code, items: &[Item], at: u32, way: Way) {
        for item in items {
            match item {
                Item::Pair { at: off, to } => {
                    let m = c.mark();
                    let p = c.temp(ValType::I32);
                    let n = c.temp(ValType::I32);
                    c.extend([
                        I::LocalGet(at),
                        I::I32Load(memarg(0, u64::from(*off), 2)),
                        I::LocalSet(p),
                        I::LocalGet(at),
                        I::I32Load(memarg(0, u64::from(*off) + 4, 2)),
                        I::LocalSet(n),
                    ]);
                    self.pointer(c, p, n, to, way);
                    c.extend([
                        I::LocalGet(at),
                        I::LocalGet(p),
                        I::I32Store(memarg(0, u64::from(*off), 2)),
                    ]);
                    c.release(m);
                }
                Item::Variant {
                    at: off,
                    discriminant,
                    payload,
                    cases,
                } => {
                    let m = c.mark();
                    let d = c.temp(ValType::I32);
                    let sub = c.temp(ValType::I32);
                    let load = match discriminant {
                        1 => I::I32Load8U(memarg(0, u64::from(*off), 0)),
                        2 => I::I32Load16U(memarg(0, u64::from(*off), 1)),
                        _ => I::I32Load(memarg(0, u64::from(*off), 2)),
                    };
                    c.extend([
                        I::LocalGet(at),
                        load,
                        I::LocalSet(d),
                        I::LocalGet(at),
                        I::I32Const((off + payload) as i32),
                        I::I32Add,
                        I::LocalSet(sub),
                    ]);
                    for (k, items) in cases {
                        c.extend([
                            I::LocalGet(d),
                            I::I32Const(*k as i32),
                            I::I32Eq,
                            I::If(BlockType::Empty),
                        ]);
                        self.walk(c, items, sub, way);
                        c.push(I::End);
                    }
                    c.release(m);
                }
                Item::Repeat {
                    at: off,
                    count,
                    stride,
                    elem,
                } => {
                    let m = c.mark();
                    let n = c.const_local(*count);
                    let a = c.temp(ValType::I32);
                    c.extend([
                        I::LocalGet(at),
                        I::I32Const(*off as i32),
                        I::I32Add,
                        I::LocalSet(a),
                    ]);
                    self.each(c, a, n, *stride, elem, way);
                    c.release(m);
                }
            }
        }
    }

    /// Walks `n` elements of `size` bytes from the absolute address in
    /// local `a` (which it advances).
    fn each(&self, c: &mut Code, a: u32, n: u32, size: u32, elem: &[Item], way: Way) {
        let m = c.mark();
        let i = c.const_local(0);
        c.extend([
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(i),
            I::LocalGet(n),
            I::I32GeU,
            I::BrIf(1),
        ]);
        self.walk(c, elem, a, way);
        c.extend([
            I::LocalGet(a),
            I::I32Const(size as i32),
            I::I32Add,
            I::LocalSet(a),
            I::LocalGet(i),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(i),
            I::Br(0),
            I::End,
            I::End,
        ]);
        c.release(m);
    }

    /// Moves the pointer in local `p` to `n` units of `to`; to the host,
    /// checked first, and a list of pointers copied to the scratch region.
    fn pointer(&self, c: &mut Code, p: u32, n: u32, to: &Pointee, way: Way) {
        let elem = (!to.elem.is_empty()).then_some((to.unit, to.align, &to.elem));
        if way == Way::FromHost {
            if let Some((size, _, elem)) = elem {
                let m = c.mark();
                let a = c.temp(ValType::I32);
                c.extend([I::LocalGet(p), I::LocalSet(a)]);
                self.each(c, a, n, size, elem, way);
                c.release(m);
            }
            self.rebase(c, p, way);
            return;
        }
        let m = c.mark();
        let bytes = c.temp(ValType::I64);
        c.extend([I::LocalGet(n), I::I64ExtendI32U]);
        if to.tagged {
            // A tagged length counts UTF-16 units.
            c.extend([
                I::I64Const(0x7fff_ffff),
                I::I64And,
                I::LocalGet(n),
                I::I64ExtendI32U,
                I::I64Const(31),
                I::I64ShrU,
                I::I64Shl,
            ]);
        }
        if to.unit > 1 {
            c.extend([I::I64Const(i64::from(to.unit)), I::I64Mul]);
        }
        c.extend([
            I::LocalTee(bytes),
            I::LocalGet(p),
            I::I64ExtendI32U,
            I::I64Add,
            I::GlobalGet(self.region.bytes),
            I::I64GtU,
        ]);
        c.trap_if();
        match elem {
            None => self.rebase(c, p, way),
            Some((size, align, elem)) => {
                if align > 1 {
                    c.extend([I::LocalGet(p), I::I32Const(align as i32 - 1), I::I32And]);
                    c.trap_if();
                }
                let len = [I::LocalGet(bytes), I::I32WrapI64];
                let copy = self.to_scratch(c, p, &len, align);
                let a = c.temp(ValType::I32);
                c.extend([I::LocalGet(copy), I::LocalTee(a), I::LocalSet(p)]);
                self.each(c, a, n, size, elem, way);
            }
        }
        c.release(m);
    }
}
