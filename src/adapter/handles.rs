//! Handle tables: the canonical ABI's per-component-instance table of
//! resource handles, compiled into the fused module.
//!
//! Every component instance that holds handles gets one table. All tables
//! live in one memory of their own (no component's code can reach it),
//! each a run of slots at a base address; a table that fills up moves to a
//! region twice its size at the memory's end. Per table, five globals:
//! base, capacity, length in slots, the head of its free list, and the
//! number of borrows the instance's current call still holds. A slot is
//! 16 bytes:
//!
//! | offset | field                                                       |
//! |--------|-------------------------------------------------------------|
//! | 0      | tag: 0 free, `2·type + 1` owned, `2·type + 2` borrowed      |
//! | 4      | representation (the next free slot when free)               |
//! | 8      | the call that last lent the handle (`u64`)                  |
//!
//! Slot 0 is never handed out; freed slots are reused last-in first-out, as
//! the spec's `Table` does; a table grows without a fixed capacity, up to
//! the spec's limit of 2^28 - 1 handles. Each resource type of the run has
//! a number, so a handle used with the wrong type traps.
//!
//! Lending: a call that lifts a `borrow` marks the lent slot with a fresh
//! call number; lifting the same handle as `own`, or dropping it, in that
//! call traps (the spec's `num_lends`). The call number moves on when the
//! call returns, which ends every lend it made: in a synchronous call the
//! lender cannot run until then.

use super::code::Code;
use super::{At, Gen, Loc, Side};
use crate::abi::{MAX_FLAT_PARAMS, Shape, any_inside, shape};
use crate::instantiate::ComponentInstanceId;
use crate::merge::builder::{FuncIdx, GlobalIdx, MemIdx};
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};
use wasmparser::component_types::{ComponentValType, ResourceId};
use wasmparser::types::TypesRef;

/// Bytes per slot.
const SLOT: u32 = 16;
/// The spec's largest handle index.
pub const MAX_HANDLE: u32 = (1 << 28) - 1;

/// One component instance's handle table in the fused module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table {
    /// The memory all tables live in.
    pub memory: MemIdx,
    /// Global: the end of the tables' memory in use (shared).
    pub top: GlobalIdx,
    /// Global: the address of slot 0.
    pub base: GlobalIdx,
    /// Global: slots the table's region holds.
    pub capacity: GlobalIdx,
    /// Global: slots in use or freed, slot 0 included.
    pub len: GlobalIdx,
    /// Global: the most recently freed slot, 0 when none.
    pub free: GlobalIdx,
    /// Global: borrows the instance's current call holds.
    pub borrows: GlobalIdx,
    /// Function `(tag, rep) -> index`.
    pub alloc: FuncIdx,
    /// Function `(index) -> slot address`, trapping unless in use.
    pub get: FuncIdx,
    /// Function `(index)`: frees an in-use slot.
    pub release: FuncIdx,
}

/// The tag of a slot that holds a stream or future end, a waitable set, a
/// subtask or an error context: an async instance's own table
/// (`merge::asyncs`) keeps them beside its resource handles, holding the
/// host's index.
pub const ASYNC_TAG: i32 = i32::MAX;

/// What [`Gen::fixup`] does at each handle it reaches.
///
/// A host call whose parameters hold handles in the caller's memory (a
/// list of handles, a record in a list, more than 16 flat parameters) must
/// show the host its own handles there, and leave the caller's memory as
/// it was: the spec's lowering only reads it. The handles in memory are
/// saved to the tables' memory, converted in place for the call, and
/// written back after it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Leaf {
    /// Converts it from the `from` side's numbering to the `to` side's.
    Translate { from: Side, to: Side },
    /// Copies a handle that lies in memory to the save area: `cursor` (a
    /// local) in `memory`, growing it as needed.
    Save { memory: MemIdx, cursor: u32 },
    /// Writes back, in the same order, what `Save` copied.
    Restore { memory: MemIdx, cursor: u32 },
    /// Copies each borrow of `resource`, as its lender numbers it, to the
    /// save area, wherever the borrow lies (locals or memory), so that
    /// the lender's borrows can be ended after the call.
    Lent {
        memory: MemIdx,
        cursor: u32,
        resource: ResourceId,
    },
}

/// What an adapter needs to know about a resource type.
#[derive(Debug, Clone, Copy)]
pub struct ResourceInfo {
    /// The run's number of the type.
    pub number: u32,
    /// The component instance implementing it (`None`: the host).
    pub owner: Option<ComponentInstanceId>,
    /// The host's `resource.drop` of a host type, when the fused module
    /// imports one.
    pub host_drop: Option<u32>,
    /// For a type the root exports: its built-ins in the output
    /// component, where the host's handles to it live.
    pub exported: Option<ExportedFns>,
}

/// The output component's built-ins of a resource type the root exports.
#[derive(Debug, Clone, Copy)]
pub struct ExportedFns {
    /// `resource.new`.
    pub new: u32,
    /// `resource.rep`.
    pub rep: u32,
    /// `resource.drop`.
    pub drop: u32,
    /// The global that tells the destructor a handle is only moving.
    pub suppress: u32,
}

/// The destructor the output component gives a resource type the root
/// exports: the defining instance's own, unless the handle is only moving
/// from the host's table into the composition.
pub fn exported_dtor(suppress: u32, dtor: Option<u32>) -> Function {
    let mut c = Code::new(1);
    c.push(I::GlobalGet(suppress));
    c.push(I::If(BlockType::Empty));
    c.push(I::I32Const(0));
    c.push(I::GlobalSet(suppress));
    if let Some(d) = dtor {
        c.push(I::Else);
        c.push(I::LocalGet(0));
        c.push(I::Call(d));
    }
    c.push(I::End);
    c.finish()
}

/// The tag of an owned handle of resource type `number`.
pub fn own_tag(number: u32) -> i32 {
    (number * 2 + 1) as i32
}

/// The tag of an owned (`own`) or borrowed handle of resource type
/// `number`.
pub fn handle_tag(own: bool, number: u32) -> i32 {
    own_tag(number) + i32::from(!own)
}

/// The fields of a slot, as the table above lays them out.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// The tag: free, owned or borrowed, and the resource type.
    Tag,
    /// The representation, or the next free slot.
    Rep,
    /// The call that last lent the handle.
    Lent,
}

impl Field {
    /// The field in table `t`'s memory, at the slot address on the stack.
    fn of(self, t: &Table) -> MemArg {
        let (offset, align) = match self {
            Field::Tag => (0, 2),
            Field::Rep => (4, 2),
            Field::Lent => (8, 3),
        };
        MemArg {
            offset,
            align,
            memory_index: t.memory.0,
        }
    }
}

/// Pushes the address of slot `idx` (a local).
fn slot_addr(t: &Table, idx: u32) -> [I<'static>; 5] {
    [
        t.base.get(),
        I::LocalGet(idx),
        I::I32Const(SLOT as i32),
        I::I32Mul,
        I::I32Add,
    ]
}

/// A region of `elem` bytes per entry at the address in global `base`,
/// `capacity` entries long, in the tables' memory (`memory`, whose end in
/// use is global `top`): moves it to the memory's end with room for
/// `new_cap` (a local) entries, growing the memory as needed, and copies
/// what it held. Traps when the region would pass 4 GiB.
pub fn move_region(
    c: &mut Code,
    (memory, top): (MemIdx, GlobalIdx),
    (base, capacity): (GlobalIdx, GlobalIdx),
    new_cap: u32,
    elem: u32,
) {
    let mark = c.mark();
    let (new_base, end, end_past) = (
        c.temp(ValType::I32),
        c.temp(ValType::I64),
        c.temp(ValType::I64),
    );
    c.extend([
        top.get(),
        I::LocalTee(new_base),
        I::I64ExtendI32U,
        I::LocalGet(new_cap),
        I::I64ExtendI32U,
        I::I64Const(i64::from(elem)),
        I::I64Mul,
        I::I64Add,
        I::LocalTee(end),
        I::I64Const(1 << 32),
        I::I64GeU,
    ]);
    c.trap_if();
    c.extend([
        I::LocalGet(end),
        I::MemorySize(memory.0),
        I::I64ExtendI32U,
        I::I64Const(16),
        I::I64Shl,
        I::I64Sub,
        I::LocalTee(end_past),
        I::I64Const(0),
        I::I64GtS,
        I::If(BlockType::Empty),
        I::LocalGet(end_past),
        I::I64Const(0xffff),
        I::I64Add,
        I::I64Const(16),
        I::I64ShrU,
        I::I32WrapI64,
        I::MemoryGrow(memory.0),
        I::I32Const(-1),
        I::I32Eq,
    ]);
    c.trap_if();
    c.extend([
        I::End,
        I::LocalGet(new_base),
        base.get(),
        capacity.get(),
        I::I32Const(elem as i32),
        I::I32Mul,
        I::MemoryCopy {
            src_mem: memory.0,
            dst_mem: memory.0,
        },
        I::LocalGet(new_base),
        base.set(),
        I::LocalGet(new_cap),
        capacity.set(),
        I::LocalGet(end),
        I::I32WrapI64,
        top.set(),
    ]);
    c.release(mark);
}

/// `alloc(tag, rep) -> index`: the spec's `Table.add`.
pub fn alloc_function(t: &Table) -> Function {
    let (tag, rep) = (0, 1);
    let mut c = Code::new(2);
    let idx = c.temp(ValType::I32);
    let new_cap = c.temp(ValType::I32);
    c.extend([
        t.free.get(),
        I::If(BlockType::Empty),
        // Reuse the most recently freed slot.
        t.free.get(),
        I::LocalSet(idx),
    ]);
    c.extend(slot_addr(t, idx));
    c.extend([
        I::I32Load(Field::Rep.of(t)),
        t.free.set(),
        I::Else,
        t.len.get(),
        I::LocalTee(idx),
        I::I32Const(MAX_HANDLE as i32),
        I::I32GtU,
    ]);
    c.trap_if();
    // Full: move to a region twice the size at the end of the memory.
    c.extend([
        I::LocalGet(idx),
        t.capacity.get(),
        I::I32GeU,
        I::If(BlockType::Empty),
        I::I32Const(16),
        t.capacity.get(),
        I::I32Const(1),
        I::I32Shl,
        t.capacity.get(),
        I::I32Eqz,
        I::Select,
        I::LocalSet(new_cap),
    ]);
    move_region(
        &mut c,
        (t.memory, t.top),
        (t.base, t.capacity),
        new_cap,
        SLOT,
    );
    c.extend([
        I::End,
        I::LocalGet(idx),
        I::I32Const(1),
        I::I32Add,
        t.len.set(),
        I::End,
    ]);
    // Fill the slot.
    c.extend(slot_addr(t, idx));
    c.extend([I::LocalGet(tag), I::I32Store(Field::Tag.of(t))]);
    c.extend(slot_addr(t, idx));
    c.extend([I::LocalGet(rep), I::I32Store(Field::Rep.of(t))]);
    c.extend(slot_addr(t, idx));
    c.extend([
        I::I64Const(0),
        I::I64Store(Field::Lent.of(t)),
        I::LocalGet(idx),
    ]);
    c.finish()
}

/// Where `get`'s slot address finds the slot's 64-bit field for the call
/// that last lent it (free for other uses in a slot of no resource type).
pub fn lent_field(t: &Table) -> MemArg {
    Field::Lent.of(t)
}

/// Where `get`'s slot address finds the representation (for a host's
/// handle, the host's index).
pub fn rep_field(t: &Table) -> MemArg {
    Field::Rep.of(t)
}

/// `get(index) -> address`: the spec's `Table.get`, trapping on index 0,
/// an index past the end, or a free slot.
pub fn get_function(t: &Table) -> Function {
    let mut c = Code::new(1);
    let addr = c.temp(ValType::I32);
    c.extend([
        I::LocalGet(0),
        I::I32Eqz,
        I::LocalGet(0),
        t.len.get(),
        I::I32GeU,
        I::I32Or,
    ]);
    c.trap_if();
    c.extend(slot_addr(t, 0));
    c.extend([I::LocalTee(addr), I::I32Load(Field::Tag.of(t)), I::I32Eqz]);
    c.trap_if();
    c.push(I::LocalGet(addr));
    c.finish()
}

/// `release(index)`: frees an in-use slot onto the free list.
pub fn release_function(t: &Table) -> Function {
    let mut c = Code::new(1);
    let addr = c.temp(ValType::I32);
    c.extend(slot_addr(t, 0));
    c.extend([
        I::LocalTee(addr),
        I::I32Const(0),
        I::I32Store(Field::Tag.of(t)),
        I::LocalGet(addr),
        t.free.get(),
        I::I32Store(Field::Rep.of(t)),
        I::LocalGet(0),
        t.free.set(),
    ]);
    c.finish()
}

/// Where a core function of signature `sig` finds its parameters: its
/// locals, or (spilled) `side`'s memory at the pointer in local 0.
fn params_at(sig: &crate::abi::CoreSignature, side: Side) -> Loc {
    if sig.params_spill {
        Loc::memory(side, 0)
    } else {
        Loc::stack(
            side,
            sig.params
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u32, super::wasm_type(*t)))
                .collect(),
        )
    }
}

/// Borrows kept in the save area for the call that lent them.
struct Kept {
    table: Table,
    base: u32,
    cursor: u32,
    /// Where each type's borrows start, and its `resource.drop`.
    groups: Vec<(u32, u32)>,
    end: u32,
}

/// The resource types that borrows in a value of type `ty` name, added
/// to `out` once each, in the order first met.
fn borrowed_resources(types: TypesRef<'_>, ty: &ComponentValType, out: &mut Vec<ResourceId>) {
    match shape(types, ty) {
        Shape::Handle(false, r) => {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        s => s
            .parts()
            .iter()
            .for_each(|t| borrowed_resources(types, t, out)),
    }
}

/// Every resource id the handles in a value of type `ty` name.
pub fn resource_ids(types: TypesRef<'_>, ty: &ComponentValType, out: &mut Vec<ResourceId>) {
    match shape(types, ty) {
        Shape::Handle(_, r) => out.push(r),
        s => s.parts().iter().for_each(|t| resource_ids(types, t, out)),
    }
}

/// Whether a value of type `ty` holds handles; `borrow_only` asks for
/// borrowed ones.
pub fn has_handles(types: TypesRef<'_>, ty: &ComponentValType, borrow_only: bool) -> bool {
    any_inside(
        types,
        ty,
        &|s| matches!(s, Shape::Handle(own, _) if !borrow_only || !own),
    )
}

impl Gen<'_, '_> {
    /// The resource information of the type `r` names (callee's view).
    fn resource_info(&self, r: ResourceId) -> ResourceInfo {
        (self.resources)(r)
    }

    /// Moves one handle from `src` (in the `from` side's table, or the
    /// host's) to `dst` (in the `to` side's table, or the host's): the
    /// spec's `lift_own` / `lift_borrow` then `lower_own` / `lower_borrow`.
    pub(super) fn translate_handle(&mut self, own: bool, r: ResourceId, src: &Loc, dst: &Loc) {
        let value = self.load_handle(src);
        let out = self.convert_handle(own, r, value, (src.side, dst.side));
        self.store_handle(dst, out);
    }

    /// Moves a stream or future end (`gone`: it leaves the table) or an
    /// error context from `src` to `dst`, between the async instance's own
    /// table and the host's numbers: out of the table, the host's index
    /// of a slot holding an async handle (trapping on any other, as the
    /// host's lookup would); into it, a fresh slot recorded in the map
    /// from the host's numbers.
    fn translate_async(&mut self, gone: bool, map: u32, src: &Loc, dst: &Loc) {
        let value = self.load_handle(src);
        let host = match src.side.table {
            Some(t) => {
                let (addr, host) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
                self.code.body.extend([
                    I::LocalGet(value),
                    t.get.call(),
                    I::LocalTee(addr),
                    I::I32Load(Field::Tag.of(&t)),
                    I::I32Const(ASYNC_TAG),
                    I::I32Ne,
                ]);
                self.trap_if();
                self.code.body.extend([
                    I::LocalGet(addr),
                    I::I32Load(Field::Rep.of(&t)),
                    I::LocalSet(host),
                ]);
                if gone {
                    self.code.body.extend([
                        I::LocalGet(value),
                        t.release.call(),
                        I::LocalGet(host),
                        I::I32Const(0),
                        I::Call(map),
                    ]);
                }
                host
            }
            None => value,
        };
        let out = match dst.side.table {
            Some(t) => {
                let idx = self.code.temp(ValType::I32);
                self.code.body.extend([
                    I::I32Const(ASYNC_TAG),
                    I::LocalGet(host),
                    t.alloc.call(),
                    I::LocalSet(idx),
                    I::LocalGet(host),
                    I::LocalGet(idx),
                    I::Call(map),
                ]);
                idx
            }
            None => host,
        };
        self.store_handle(dst, out);
    }

    /// Loads the handle at `src` into a fresh local.
    fn load_handle(&mut self, src: &Loc) -> u32 {
        let value = self.code.temp(ValType::I32);
        match &src.at {
            At::Stack(v) => self.get(v[0], ValType::I32),
            At::Memory(m) => self
                .code
                .body
                .extend([I::LocalGet(m.addr), I::I32Load(m.arg(2))]),
        }
        self.code.body.push(I::LocalSet(value));
        value
    }

    /// Stores the handle in local `out` at `dst`.
    fn store_handle(&mut self, dst: &Loc, out: u32) {
        match &dst.at {
            At::Stack(v) => {
                self.code.body.push(I::LocalGet(out));
                self.set(ValType::I32, v[0]);
            }
            At::Memory(m) => self.code.body.extend([
                I::LocalGet(m.addr),
                I::LocalGet(out),
                I::I32Store(m.arg(2)),
            ]),
        }
    }

    /// Lifts the handle in local `value` out of the first side and lowers
    /// it into the second; returns the local with the result.
    fn convert_handle(
        &mut self,
        own: bool,
        r: ResourceId,
        value: u32,
        (from, to): (Side, Side),
    ) -> u32 {
        let info = self.resource_info(r);
        let rep = match (from.table, info.exported) {
            (Some(t), _) => self.lift_handle(own, info.number, &t, value),
            // An owned handle of an exported type leaves the host's table
            // without its destructor running.
            (None, Some(e)) if own => {
                let rep = self.code.temp(ValType::I32);
                self.code.body.extend([
                    I::LocalGet(value),
                    I::Call(e.rep),
                    I::LocalSet(rep),
                    I::I32Const(1),
                    I::GlobalSet(e.suppress),
                    I::LocalGet(value),
                    I::Call(e.drop),
                ]);
                rep
            }
            // A borrow of an exported type reaches its implementation (the
            // output component) as the representation.
            (None, _) => value,
        };
        match (to.table, info.exported) {
            (Some(t), _) => self.lower_handle(own, info, to, &t, rep),
            (None, Some(e)) if own => {
                let handle = self.code.temp(ValType::I32);
                self.code
                    .body
                    .extend([I::LocalGet(rep), I::Call(e.new), I::LocalSet(handle)]);
                handle
            }
            (None, _) => rep,
        }
    }

    /// The spec's `lift_own` / `lift_borrow` from table `t`: checks the
    /// handle's type; an owned handle leaves the table (trapping while it
    /// is lent), a borrowed one is lent for this call. Returns the local
    /// holding the representation.
    pub(super) fn lift_handle(&mut self, own: bool, number: u32, t: &Table, idx: u32) -> u32 {
        let addr = self.code.temp(ValType::I32);
        let rep = self.code.temp(ValType::I32);
        self.code.body.extend([
            I::LocalGet(idx),
            t.get.call(),
            I::LocalTee(addr),
            I::I32Load(Field::Tag.of(t)),
        ]);
        if own {
            self.code
                .body
                .extend([I::I32Const(own_tag(number)), I::I32Ne]);
        } else {
            self.type_mismatch(number);
        }
        self.trap_if();
        self.code.body.extend([
            I::LocalGet(addr),
            I::I32Load(Field::Rep.of(t)),
            I::LocalSet(rep),
        ]);
        if own {
            self.code.body.extend([
                I::LocalGet(addr),
                I::I64Load(Field::Lent.of(t)),
                I::GlobalGet(self.call_number),
                I::I64Eq,
            ]);
            self.trap_if();
            self.code.body.extend([I::LocalGet(idx), t.release.call()]);
        } else {
            self.code.body.extend([
                I::LocalGet(addr),
                I::GlobalGet(self.call_number),
                I::I64Store(Field::Lent.of(t)),
            ]);
        }
        rep
    }

    /// Leaves `tag != own or borrow of number` on the stack, given the tag.
    fn type_mismatch(&mut self, number: u32) {
        self.code.body.extend([
            I::I32Const(1),
            I::I32Sub,
            I::I32Const(1),
            I::I32ShrU,
            I::I32Const(number as i32),
            I::I32Ne,
        ]);
    }

    /// The spec's `lower_own` / `lower_borrow` into `side`'s table `t`: a
    /// new slot, or the bare representation when a borrow reaches the
    /// resource's own implementation.
    fn lower_handle(
        &mut self,
        own: bool,
        info: ResourceInfo,
        side: Side,
        t: &Table,
        rep: u32,
    ) -> u32 {
        if !own && info.owner == Some(side.instance) {
            return rep;
        }
        let idx = self.code.temp(ValType::I32);
        let tag = handle_tag(own, info.number);
        self.code.body.extend([
            I::I32Const(tag),
            I::LocalGet(rep),
            t.alloc.call(),
            I::LocalSet(idx),
        ]);
        if !own {
            self.code
                .body
                .extend([t.borrows.get(), I::I32Const(1), I::I32Add, t.borrows.set()]);
        }
        idx
    }

    /// Starts the callee's borrow count for a call that lends handles to
    /// the instance with table `table`; returns what closing needs.
    pub(super) fn open_borrow_scope(
        &mut self,
        table: Option<Table>,
        lends: bool,
    ) -> Option<(Table, u32)> {
        let t = table.filter(|_| lends)?;
        let saved = self.code.temp(ValType::I32);
        self.code.body.extend([
            t.borrows.get(),
            I::LocalSet(saved),
            I::I32Const(0),
            t.borrows.set(),
        ]);
        Some((t, saved))
    }

    /// Traps unless the callee dropped every borrow it received, and
    /// restores the count of the call it interrupted.
    pub(super) fn close_borrow_scope(&mut self, scope: Option<(Table, u32)>) {
        if let Some((t, saved)) = scope {
            self.code
                .body
                .extend([t.borrows.get(), I::I32Const(0), I::I32Ne]);
            self.trap_if();
            self.code.body.extend([I::LocalGet(saved), t.borrows.set()]);
        }
    }

    /// Starts a call that lends handles: a fresh call number.
    pub(super) fn begin_lending(&mut self) {
        self.code.body.extend([
            I::GlobalGet(self.call_number),
            I::I64Const(1),
            I::I64Add,
            I::GlobalSet(self.call_number),
        ]);
    }

    /// Does what `leaf` says at every handle of a value of type `ty` at
    /// `loc` (locals or memory), leaving everything else as it is.
    pub(super) fn fixup(&mut self, ty: &ComponentValType, loc: &Loc, leaf: Leaf) {
        let types = self.types;
        if !self.walks(ty) {
            return;
        }
        match shape(types, ty) {
            Shape::Handle(own, r) => {
                match (leaf, &loc.at) {
                    (Leaf::Translate { from, to }, _) => {
                        self.translate_handle(own, r, &loc.as_side(from), &loc.as_side(to));
                    }
                    (Leaf::Save { memory, cursor }, At::Memory(m)) => {
                        self.save_one(memory, cursor, m);
                    }
                    (
                        Leaf::Lent {
                            memory,
                            cursor,
                            resource,
                        },
                        _,
                    ) => {
                        if !own && r == resource {
                            self.reserve_save(memory, cursor);
                            self.code.body.push(I::LocalGet(cursor));
                            match &loc.at {
                                At::Stack(v) => self.get(v[0], ValType::I32),
                                At::Memory(m) => self
                                    .code
                                    .body
                                    .extend([I::LocalGet(m.addr), I::I32Load(m.arg(2))]),
                            }
                            self.code.body.push(I::I32Store(save_arg(memory)));
                            self.advance(cursor);
                        }
                    }
                    (Leaf::Restore { memory, cursor }, At::Memory(m)) => {
                        self.restore_one(memory, cursor, m);
                    }
                    // Flat values are the caller's own locals: nothing to
                    // keep.
                    (Leaf::Save { .. } | Leaf::Restore { .. }, At::Stack(_)) => {}
                }
            }
            // Only where the async instance's own table translates them
            // (`walks`).
            Shape::Async(_) | Shape::ErrorContext => match (leaf, &loc.at, self.async_map) {
                (Leaf::Translate { from, to }, _, Some(map)) => {
                    let gone = matches!(shape(types, ty), Shape::Async(_));
                    self.translate_async(gone, map, &loc.as_side(from), &loc.as_side(to));
                }
                (Leaf::Save { memory, cursor }, At::Memory(m), _) => {
                    self.save_one(memory, cursor, m);
                }
                (Leaf::Restore { memory, cursor }, At::Memory(m), _) => {
                    self.restore_one(memory, cursor, m);
                }
                _ => {}
            },
            Shape::Record(fields) => self.fixup_tuple(&fields, loc, leaf),
            Shape::Repeat(element, length) => {
                let fields = vec![element; length as usize];
                self.fixup_tuple(&fields, loc, leaf);
            }
            Shape::Variant(cases) => self.fixup_variant(&cases, loc, leaf),
            Shape::List(fields) => self.fixup_list(&fields, loc, leaf),
            _ => {}
        }
    }

    /// Whether [`Self::fixup`] has anything to do in a value of type `ty`:
    /// it holds resource handles, or streams, futures or error contexts
    /// where they are translated.
    fn walks(&self, ty: &ComponentValType) -> bool {
        let f = self.abi.facts(ty);
        f.handles || (f.async_handles && self.async_map.is_some())
    }

    /// Copies the handle in memory at `m` to the save area.
    fn save_one(&mut self, memory: MemIdx, cursor: u32, m: &super::Mem) {
        self.reserve_save(memory, cursor);
        self.code.body.extend([
            I::LocalGet(cursor),
            I::LocalGet(m.addr),
            I::I32Load(m.arg(2)),
            I::I32Store(save_arg(memory)),
        ]);
        self.advance(cursor);
    }

    /// Writes the next saved handle back to memory at `m`.
    fn restore_one(&mut self, memory: MemIdx, cursor: u32, m: &super::Mem) {
        self.code.body.extend([
            I::LocalGet(m.addr),
            I::LocalGet(cursor),
            I::I32Load(save_arg(memory)),
            I::I32Store(m.arg(2)),
        ]);
        self.advance(cursor);
    }

    /// Copies every borrow of a host type with a `resource.drop` that
    /// `params` at `loc` hold, as the host numbers them, to `t`'s save
    /// area, grouped by type.
    fn keep_lent(&mut self, t: Table, params: &[ComponentValType], loc: &Loc) -> Option<Kept> {
        let mut borrowed = Vec::new();
        for p in params {
            borrowed_resources(self.types, p, &mut borrowed);
        }
        let drops: Vec<(ResourceId, u32)> = borrowed
            .into_iter()
            .filter_map(|r| Some((r, (self.resources)(r).host_drop?)))
            .collect();
        if drops.is_empty() {
            return None;
        }
        let (base, cursor) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code
            .body
            .extend([t.top.get(), I::LocalTee(base), I::LocalSet(cursor)]);
        let mut groups = Vec::new();
        for (r, drop) in drops {
            let start = self.code.temp(ValType::I32);
            self.code
                .body
                .extend([I::LocalGet(cursor), I::LocalSet(start)]);
            let leaf = Leaf::Lent {
                memory: t.memory,
                cursor,
                resource: r,
            };
            self.fixup_tuple(params, loc, leaf);
            groups.push((start, drop));
        }
        let end = self.code.temp(ValType::I32);
        self.code
            .body
            .extend([I::LocalGet(cursor), I::LocalTee(end), t.top.set()]);
        Some(Kept {
            table: t,
            base,
            cursor,
            groups,
            end,
        })
    }

    /// Ends each borrow [`Gen::keep_lent`] kept with its type's
    /// `resource.drop`, and frees the save area unless a table grew past
    /// it meanwhile.
    fn end_lent(&mut self, k: Kept) {
        let memory = k.table.memory;
        for (i, &(start, drop)) in k.groups.iter().enumerate() {
            let stop = k.groups.get(i + 1).map_or(k.end, |g| g.0);
            self.code.body.extend([
                I::LocalGet(start),
                I::LocalSet(k.cursor),
                I::Block(BlockType::Empty),
                I::Loop(BlockType::Empty),
                I::LocalGet(k.cursor),
                I::LocalGet(stop),
                I::I32Eq,
                I::BrIf(1),
                I::LocalGet(k.cursor),
                I::I32Load(save_arg(memory)),
                I::Call(drop),
            ]);
            self.advance(k.cursor);
            self.code.body.extend([I::Br(0), I::End, I::End]);
        }
        self.code.body.extend([
            k.table.top.get(),
            I::LocalGet(k.end),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(k.base),
            k.table.top.set(),
            I::End,
        ]);
    }

    /// Grows `memory` unless four more bytes fit at `cursor`.
    fn reserve_save(&mut self, memory: MemIdx, cursor: u32) {
        self.code.body.extend([
            I::LocalGet(cursor),
            I::I64ExtendI32U,
            I::I64Const(4),
            I::I64Add,
            I::MemorySize(memory.0),
            I::I64ExtendI32U,
            I::I64Const(16),
            I::I64Shl,
            I::I64GtU,
            I::If(BlockType::Empty),
            I::I32Const(1),
            I::MemoryGrow(memory.0),
            I::I32Const(-1),
            I::I32Eq,
        ]);
        self.trap_if();
        self.code.body.push(I::End);
    }

    fn advance(&mut self, cursor: u32) {
        self.code.body.extend([
            I::LocalGet(cursor),
            I::I32Const(4),
            I::I32Add,
            I::LocalSet(cursor),
        ]);
    }

    pub(super) fn fixup_tuple(&mut self, fields: &[ComponentValType], loc: &Loc, leaf: Leaf) {
        let layout = self.abi.record_layout(fields);
        let mut at = 0;
        for (field, offset) in fields.iter().zip(&layout.offsets) {
            let n = self.abi.flat_len(field);
            let l = loc.part(at..at + n, *offset);
            at += n;
            self.fixup(field, &l, leaf);
        }
    }

    fn fixup_variant(&mut self, cases: &[Option<ComponentValType>], loc: &Loc, leaf: Leaf) {
        let layout = self.abi.variant_layout(cases);
        let disc = self.code.temp(ValType::I32);
        match &loc.at {
            At::Stack(v) => self.get(v[0], ValType::I32),
            At::Memory(m) => {
                self.code.body.push(I::LocalGet(m.addr));
                self.code.body.push(match layout.discriminant {
                    1 => I::I32Load8U(m.arg(0)),
                    2 => I::I32Load16U(m.arg(1)),
                    _ => I::I32Load(m.arg(2)),
                });
            }
        }
        self.code.body.push(I::LocalSet(disc));
        for (i, case) in cases.iter().enumerate() {
            let Some(t) = case else { continue };
            if !self.walks(t) {
                continue;
            }
            self.code.body.extend([
                I::LocalGet(disc),
                I::I32Const(i as i32),
                I::I32Eq,
                I::If(BlockType::Empty),
            ]);
            let len = self.abi.flat_len(t);
            let l = loc.part(1..1 + len, layout.payload_offset);
            self.fixup(t, &l, leaf);
            self.code.body.push(I::End);
        }
    }

    /// Fixes up each element, a record of `fields`, of a list.
    fn fixup_list(&mut self, fields: &[ComponentValType], loc: &Loc, leaf: Leaf) {
        let (ptr, len) = self.read_pair(loc);
        let (size, align) = self.abi.record_layout(fields).size_align;
        // The elements lie in the memory of the side that holds the list.
        let memory = super::memory(loc.side);
        self.list_bytes(memory, ptr, len, (size, align));
        let (cursor, n) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        self.code.extend([
            I::LocalGet(ptr),
            I::LocalSet(cursor),
            I::LocalGet(len),
            I::LocalSet(n),
        ]);
        self.count_down(n, &[cursor], size, |g| {
            g.fixup_tuple(fields, &Loc::memory(loc.side, cursor), leaf);
        });
    }
}

fn save_arg(memory: MemIdx) -> wasm_encoder::MemArg {
    wasm_encoder::MemArg {
        offset: 0,
        align: 2,
        memory_index: memory.0,
    }
}

/// What a resource built-in works on.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinTargets {
    /// The calling instance's table.
    pub table: Table,
    /// The resource type's number.
    pub number: u32,
    /// The calling instance's `may_leave` flag, if it can be seen.
    pub may_leave: Option<u32>,
    /// The global numbering calls that lend handles.
    pub call_number: u32,
    /// What ends an owned handle: the destructor in the implementing
    /// instance, or the host's `resource.drop`.
    pub destroy: Option<u32>,
    /// For the async instance's own table: its map from the host's
    /// numbers, `(rev_get, rev_set)`. A borrow the map names is one the
    /// host lent to an async task (`merge::asyncs::export_body`): dropping
    /// it forgets it and ends the host's borrow with `destroy`.
    pub async_lent: Option<(u32, u32)>,
}

/// Looks up the handle in local 0 into `addr` (and its tag into `tag`),
/// trapping unless it is an owned or borrowed handle of the built-in's type.
fn checked_slot(c: &mut Code, b: &BuiltinTargets, addr: u32, tag: Option<u32>) {
    let t = &b.table;
    c.extend([
        I::LocalGet(0),
        t.get.call(),
        I::LocalTee(addr),
        I::I32Load(Field::Tag.of(t)),
    ]);
    if let Some(tag) = tag {
        c.push(I::LocalTee(tag));
    }
    c.extend([
        I::I32Const(1),
        I::I32Sub,
        I::I32Const(1),
        I::I32ShrU,
        I::I32Const(b.number as i32),
        I::I32Ne,
    ]);
    c.trap_if();
}

/// `resource.new`: `(rep) -> handle`.
pub fn resource_new(b: &BuiltinTargets) -> Function {
    let mut c = Code::new(1);
    if let Some(flag) = b.may_leave {
        c.extend([I::GlobalGet(flag), I::I32Eqz]);
        c.trap_if();
    }
    c.extend([
        I::I32Const(own_tag(b.number)),
        I::LocalGet(0),
        b.table.alloc.call(),
    ]);
    c.finish()
}

/// `resource.rep`: `(handle) -> rep`, for owned and borrowed handles.
pub fn resource_rep(b: &BuiltinTargets) -> Function {
    let t = &b.table;
    let mut c = Code::new(1);
    let addr = c.temp(ValType::I32);
    checked_slot(&mut c, b, addr, None);
    c.extend([I::LocalGet(addr), I::I32Load(Field::Rep.of(t))]);
    c.finish()
}

/// `resource.drop`: `(handle)`. An owned handle runs the destructor (or
/// the host's drop); a borrowed one ends the borrow.
pub fn resource_drop(b: &BuiltinTargets) -> Function {
    let t = &b.table;
    let mut c = Code::new(1);
    let (addr, tag, rep) = (
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
    );
    if let Some(flag) = b.may_leave {
        c.extend([I::GlobalGet(flag), I::I32Eqz]);
        c.trap_if();
    }
    checked_slot(&mut c, b, addr, Some(tag));
    c.extend([
        I::LocalGet(addr),
        I::I32Load(Field::Rep.of(t)),
        I::LocalSet(rep),
        I::LocalGet(tag),
        I::I32Const(own_tag(b.number)),
        I::I32Eq,
        I::If(BlockType::Empty),
        // An owned handle lent to the current call cannot go.
        I::LocalGet(addr),
        I::I64Load(Field::Lent.of(t)),
        I::GlobalGet(b.call_number),
        I::I64Eq,
    ]);
    c.trap_if();
    c.push(I::LocalGet(0));
    c.push(t.release.call());
    if let Some(d) = b.destroy {
        c.push(I::LocalGet(rep));
        c.push(I::Call(d));
    }
    c.push(I::Else);
    if let (Some((rev_get, rev_set)), Some(d)) = (b.async_lent, b.destroy) {
        c.extend([
            I::LocalGet(rep),
            I::Call(rev_get),
            I::LocalGet(0),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(rep),
            I::I32Const(0),
            I::Call(rev_set),
            I::LocalGet(0),
            t.release.call(),
            I::LocalGet(rep),
            I::Call(d),
            I::Return,
            I::End,
        ]);
    }
    c.extend([
        I::LocalGet(0),
        t.release.call(),
        t.borrows.get(),
        I::I32Const(1),
        I::I32Sub,
        t.borrows.set(),
        I::End,
    ]);
    c.finish()
}

/// Whether a value of type `ty` holds a list whose elements hold handles
/// (`async_too`: streams, futures and error contexts count).
fn list_with_handles(types: TypesRef<'_>, ty: &ComponentValType, async_too: bool) -> bool {
    let held = |t: &ComponentValType| {
        any_inside(types, t, &|s| match s {
            Shape::Handle(..) => true,
            Shape::Async(_) | Shape::ErrorContext => async_too,
            _ => false,
        })
    };
    any_inside(
        types,
        ty,
        &|s| matches!(s, Shape::List(fields) if fields.iter().any(held)),
    )
}

/// The instructions around a host call: checks before it, the call
/// itself (with the converted parameters on the stack), and what follows
/// it.
pub struct HostCallCode<'c> {
    /// Before the parameters are converted.
    pub prologue: &'c [I<'static>],
    /// The call.
    pub call: &'c [I<'static>],
    /// Right after the call.
    pub epilogue: &'c [I<'static>],
}

/// A call from a component instance's core code out to the host whose
/// type carries handles: handles in the (flat) parameters leave the
/// caller's table for the host's, handles in the results come back into
/// it.
pub fn host_call(
    env: super::Env<'_, '_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
    caller: Side,
    code: &HostCallCode<'_>,
) -> Function {
    let types = env.abi.types;
    let f = &types[ty];
    let params: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
    let sig = crate::abi::flatten_func(types, ty);
    let n = crate::abi::lower_signature(types, ty).params().len() as u32;
    host_call_of(env, (&params, f.result.as_ref()), (sig, n), caller, code)
}

/// `task.return` of result type `result` called by a component instance
/// that holds handles, its result holding some: the handles leave the
/// caller's table for the host's, as parameters of a host call do.
pub fn task_return(
    env: super::Env<'_, '_>,
    result: &ComponentValType,
    caller: Side,
    code: &HostCallCode<'_>,
) -> Function {
    let mut params = Vec::new();
    crate::abi::flatten_bounded(env.abi.types, result, MAX_FLAT_PARAMS, &mut params);
    let spill = params.len() > MAX_FLAT_PARAMS;
    let n = if spill { 1 } else { params.len() as u32 };
    let sig = crate::abi::CoreSignature {
        params,
        results: Vec::new(),
        params_spill: spill,
        results_spill: false,
    };
    host_call_of(env, (&[*result], None), (sig, n), caller, code)
}

/// `(ptr)`: the result of type `result` that the host wrote at `ptr` in
/// the caller's memory, its handles the host's, made the caller's: what
/// an async lower's result needs once the caller learns it was written.
pub fn host_result(env: super::Env<'_, '_>, result: &ComponentValType, caller: Side) -> Function {
    let mut g = Gen::new(env, 1);
    let host = Side {
        table: None,
        ..caller
    };
    let back = Leaf::Translate {
        from: host,
        to: caller,
    };
    g.fixup(result, &Loc::memory(caller, 0), back);
    g.finish(&[])
}

/// [`host_call`] of a call whose parameters and result are of the types
/// `params` and `result`, whose flat signature is `sig` and whose core
/// function takes `n` parameters.
fn host_call_of(
    env: super::Env<'_, '_>,
    (params, result): (&[ComponentValType], Option<&ComponentValType>),
    (sig, n): (crate::abi::CoreSignature, u32),
    caller: Side,
    code: &HostCallCode<'_>,
) -> Function {
    let types = env.abi.types;
    let HostCallCode {
        prologue,
        call,
        epilogue,
    } = *code;
    let host = Side {
        table: None,
        ..caller
    };
    let mut g = Gen::new(env, n);
    let (out, back) = (
        Leaf::Translate {
            from: caller,
            to: host,
        },
        Leaf::Translate {
            from: host,
            to: caller,
        },
    );
    g.code.body.extend_from_slice(prologue);
    let lends = params.iter().any(|t| g.abi.facts(t).borrows);
    if lends {
        g.begin_lending();
    }
    let loc = params_at(&sig, caller);
    // Handles in the caller's memory are shown to the host converted, and
    // restored after the call.
    let saved = match caller.table {
        Some(t)
            if sig.params_spill
                || params
                    .iter()
                    .any(|p| list_with_handles(types, p, g.async_map.is_some())) =>
        {
            let (base, cursor, end) = (
                g.code.temp(ValType::I32),
                g.code.temp(ValType::I32),
                g.code.temp(ValType::I32),
            );
            g.code
                .body
                .extend([t.top.get(), I::LocalTee(base), I::LocalSet(cursor)]);
            let save = Leaf::Save {
                memory: t.memory,
                cursor,
            };
            g.fixup_tuple(params, &loc, save);
            g.code
                .body
                .extend([I::LocalGet(cursor), I::LocalTee(end), t.top.set()]);
            Some((t, base, cursor, end))
        }
        _ => None,
    };
    g.fixup_tuple(params, &loc, out);
    for p in 0..n {
        g.code.body.push(I::LocalGet(p));
    }
    g.code.body.extend_from_slice(call);
    g.code.body.extend_from_slice(epilogue);
    if let Some((t, base, cursor, end)) = saved {
        g.code.body.extend([I::LocalGet(base), I::LocalSet(cursor)]);
        let restore = Leaf::Restore {
            memory: t.memory,
            cursor,
        };
        g.fixup_tuple(params, &loc, restore);
        // Free the save area unless a table grew past it meanwhile.
        g.code.body.extend([
            t.top.get(),
            I::LocalGet(end),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(base),
            t.top.set(),
            I::End,
        ]);
    }
    if lends {
        g.begin_lending();
    }
    let mut results = Vec::new();
    if let Some(r) = result {
        if sig.results_spill {
            let retptr = n - 1;
            g.fixup(r, &Loc::memory(caller, retptr), back);
        } else {
            results = g.pop_results(&sig);
            g.fixup(r, &Loc::stack(caller, results.clone()), back);
        }
    }
    g.finish(&results)
}

/// The parameters of a root export that the async instance with a table
/// of its own lifted async, when handles lie inside them (in a record, a
/// variant, a list), as the host passes them: every handle, inside a
/// value or whole (streams, futures, error contexts and owned resource
/// handles; no borrows), enters the instance's table, in the order of
/// the parameters, as the spec lowers them. Then calls `target` (the
/// lifted core function), whose results it returns. The trampoline that
/// calls this one (`merge::asyncs::export_body`) leaves the parameters
/// to it. The parameters must not spill.
pub fn async_export_params(
    env: super::Env<'_, '_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
    callee: Side,
    target: u32,
) -> Function {
    let types = env.abi.types;
    let sig = crate::abi::flatten_func(types, ty);
    let n = sig.params.len() as u32;
    let host = Side {
        table: None,
        ..callee
    };
    let mut g = Gen::new(env, n);
    let params: Vec<ComponentValType> = types[ty].params.iter().map(|(_, t)| *t).collect();
    let into = Leaf::Translate {
        from: host,
        to: callee,
    };
    g.fixup_tuple(&params, &params_at(&sig, callee), into);
    g.code.body.extend((0..n).map(I::LocalGet));
    g.code.body.push(I::Call(target));
    g.finish(&[])
}

/// An async lower of a host function of type `ty`, for the async instance
/// with a table of its own, whose parameters hold handles inside values
/// or in memory (and no borrows): every handle leaves the table or is
/// looked up (an error context) in the order of the parameters, as the
/// host lifts them when the call starts, for `call` (the host's lower),
/// and the caller's memory is left as it was. Returns the call's status.
/// Its results are translated when the caller learns they were written
/// (`merge::asyncs`).
pub fn async_lower_params(
    env: super::Env<'_, '_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
    caller: Side,
    call: &[I<'static>],
) -> Function {
    let types = env.abi.types;
    let sig = crate::abi::async_lower_flat(
        crate::abi::flatten_func(types, ty),
        types[ty].result.is_some(),
    );
    let n = crate::abi::lower_signature_of(types, ty, true)
        .params()
        .len() as u32;
    let params: Vec<ComponentValType> = types[ty].params.iter().map(|(_, t)| *t).collect();
    let code = HostCallCode {
        prologue: &[],
        call,
        epilogue: &[],
    };
    host_call_of(env, (&params, None), (sig, n), caller, &code)
}

/// A root export whose type carries handles, as the host calls it: host
/// handles in the parameters enter the lifting instance's table, owned
/// handles in the results leave it, and every borrow the host lent ends
/// when the call returns. `host_drops` gives the host's `resource.drop`
/// for each borrowed parameter's type.
pub fn export_trampoline(
    env: super::Env<'_, '_>,
    ty: wasmparser::component_types::ComponentFuncTypeId,
    callee: Side,
    target: u32,
) -> Function {
    let types = env.abi.types;
    let f = &types[ty];
    let sig = crate::abi::flatten_func(types, ty);
    let n = if sig.params_spill {
        1
    } else {
        sig.params.len() as u32
    };
    let host = Side {
        table: None,
        ..callee
    };
    let mut g = Gen::new(env, n);
    let params: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
    let lends = params.iter().any(|t| g.abi.facts(t).borrows);
    let scope = g.open_borrow_scope(callee.table, lends);
    let loc = params_at(&sig, callee);
    // The host's borrows end after the call: a borrow passed as a whole
    // flat parameter is kept in a local, any other (in a record, a
    // variant, a list, or spilled parameters) in the save area, before
    // the parameters are converted.
    let whole = !sig.params_spill
        && params
            .iter()
            .all(|p| !g.abi.facts(p).borrows || matches!(shape(types, p), Shape::Handle(..)));
    let originals: Vec<u32> = if whole {
        (0..n)
            .map(|p| {
                let l = g.code.temp(super::wasm_type(sig.params[p as usize]));
                g.code.body.extend([I::LocalGet(p), I::LocalSet(l)]);
                l
            })
            .collect()
    } else {
        Vec::new()
    };
    let kept = match callee.table {
        Some(t) if !whole => g.keep_lent(t, &params, &loc),
        _ => None,
    };
    let into = Leaf::Translate {
        from: host,
        to: callee,
    };
    g.fixup_tuple(&params, &loc, into);
    for p in 0..n {
        g.code.body.push(I::LocalGet(p));
    }
    g.code.body.push(I::Call(target));
    let results = g.pop_results(&sig);
    g.close_borrow_scope(scope);
    if lends && whole {
        let mut at = 0usize;
        for p in &params {
            if let Shape::Handle(false, r) = shape(types, p)
                && let Some(d) = (g.resources)(r).host_drop
            {
                g.code.body.extend([I::LocalGet(originals[at]), I::Call(d)]);
            }
            at += g.abi.flat_len(p);
        }
    }
    if let Some(kept) = kept {
        g.end_lent(kept);
    }
    let out = Leaf::Translate {
        from: callee,
        to: host,
    };
    if let Some(r) = &f.result {
        if sig.results_spill {
            g.fixup(r, &Loc::memory(callee, results[0].0), out);
        } else {
            g.fixup(r, &Loc::stack(callee, results.clone()), out);
        }
    }
    g.finish(&results)
}
