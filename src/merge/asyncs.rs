//! The async component instance's own handle table.
//!
//! When another component instance holds the host's handles too, the
//! host's table for the fused component holds both instances' handles, so
//! the numbers the host gives are not the ones the async instance saw
//! composed. The async instance then keeps its handles in a table of the
//! fused module's, like every instance that holds handles: one index
//! space, numbered and reused as the spec's `Table`, for the host's
//! resource handles and for its waitable sets, subtasks, stream and future
//! ends and error contexts, each slot holding the host's index.
//!
//! Every async built-in it calls goes through a function that translates:
//! indices in to the host's (trapping on one the instance does not hold,
//! as the host would), new handles out into fresh slots, removed ones out
//! of the table. Indices the host gives back (the waitable of an event,
//! written by `waitable-set.wait` and `.poll` or passed to a `callback`)
//! are mapped back through a second array in the tables' memory, indexed
//! by the host's number. The code a `callback` or an async lift returns
//! names a waitable set, which is translated to the host's; an async
//! lower's subtask gets a slot; streams, futures and error contexts passed
//! to an async export or given back by `task.return` move in and out.

use super::builder::{Builder, FuncIdx, GlobalIdx};
use crate::abi::{MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS};
use crate::adapter::RETURNED;
use crate::adapter::code::Code;
use crate::adapter::handles::{self, ASYNC_TAG, Table};
use crate::error::Result;
use crate::instantiate::asyncs::{
    Held, handle_params, handles_inside_params, lower_params_in_memory_or_inside,
};
use crate::instantiate::{CoreDef, Graph, HostLowerId, Lifted};
use std::rc::Rc;
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};
use wasmparser::CanonicalFunction as C;
use wasmparser::FuncType;
use wasmparser::component_types::{ComponentValType, ResourceId};
use wasmparser::types::TypesRef;

/// Bytes per entry of the map from the host's numbers.
const REV_ENTRY: u32 = 4;
/// The callback code that names a waitable set to wait on (`WAIT`); the
/// one after it (`POLL` in earlier revisions of the spec) names one too.
const WAIT: i32 = 2;

/// The functions and globals of the async instance's translation.
#[derive(Debug)]
pub struct AsyncTable<'a> {
    /// `(host index, index)`: records which index a host index is.
    pub rev_set: FuncIdx,
    /// `(host index) -> index`: 0 for one the instance does not hold.
    pub rev_get: FuncIdx,
    /// Globals: the map's address and its length in entries.
    pub rev: (GlobalIdx, GlobalIdx),
    /// Each `callback` the root's async exports name, and its wrapper.
    pub callbacks: Vec<(CoreDef<'a>, FuncIdx)>,
    /// Each root export lifted async or passing streams, futures or error
    /// contexts, and its trampoline.
    pub exports: Vec<(Rc<Lifted<'a>>, FuncIdx)>,
    /// Each of those lifted async whose parameters hold handles inside
    /// values, and the function its trampoline calls to translate them
    /// (`handles::async_export_params`).
    pub inside: Vec<(Rc<Lifted<'a>>, FuncIdx)>,
    /// Each async lower of a host function whose result holds resource
    /// handles, and the function that makes the handles the host wrote
    /// there the instance's (`handles::host_result`), by number.
    pub results: Vec<(HostLowerId, FuncIdx)>,
    /// `(number, ptr)`: calls result function `number` of [`Self::results`].
    pub dispatch: Option<FuncIdx>,
}

/// The event code of a subtask's progress.
const EVENT_SUBTASK: i32 = 1;

impl<'a> AsyncTable<'a> {
    /// Declares the functions, when `graph`'s async instance has a table
    /// of its own.
    pub fn declare(
        b: &mut Builder,
        types: TypesRef<'_>,
        graph: &Graph<'a>,
    ) -> Result<Option<Self>> {
        use wasmparser::ValType::I32;
        if graph.own_async_table().is_none() {
            return Ok(None);
        }
        let rev_set = b.declare_generated(&FuncType::new([I32, I32], []))?;
        let rev_get = b.declare_generated(&FuncType::new([I32], [I32]))?;
        let mut callbacks: Vec<(CoreDef<'a>, FuncIdx)> = Vec::new();
        let mut exports: Vec<(Rc<Lifted<'a>>, FuncIdx)> = Vec::new();
        for (_, f) in graph.exported_functions() {
            if !needs_trampoline(f) || exports.iter().any(|(g, _)| Rc::ptr_eq(f, g)) {
                continue;
            }
            let idx = b.declare_generated(&lift_signature(types, f))?;
            exports.push((f.clone(), idx));
        }
        let mut inside = Vec::new();
        for (f, _) in &exports {
            if f.options.async_ && handles_inside_params(types, f) {
                inside.push((f.clone(), b.declare_generated(&lift_signature(types, f))?));
            }
        }
        // Declared in the order their bodies are written.
        for (f, _) in &exports {
            if let Some(cb) = &f.options.callback
                && !callbacks.iter().any(|(c, _)| c == cb)
            {
                let idx = b.declare_generated(&FuncType::new([I32, I32, I32], [I32]))?;
                callbacks.push((cb.clone(), idx));
            }
        }
        let mut results = Vec::new();
        for (h, ty) in graph.own_table_async_lowers() {
            if types[ty].result.is_some_and(|r| Held::of(types, &r).any()) {
                let idx = b.declare_generated(&FuncType::new([I32], []))?;
                results.push((h, idx));
            }
        }
        let dispatch = if results.is_empty() {
            None
        } else {
            Some(b.declare_generated(&FuncType::new([I32, I32], []))?)
        };
        Ok(Some(AsyncTable {
            results,
            dispatch,
            rev_set,
            rev_get,
            // Pushed later, with the handle tables' globals.
            rev: (GlobalIdx(u32::MAX), GlobalIdx(u32::MAX)),
            callbacks,
            exports,
            inside,
        }))
    }

    /// The globals of the map, pushed with the handle tables'.
    pub fn push_globals(&mut self, b: &mut Builder) {
        let zero = wasm_encoder::ConstExpr::i32_const(0);
        self.rev = (
            b.mutable_global(wasm_encoder::ValType::I32, &zero),
            b.mutable_global(wasm_encoder::ValType::I32, &zero),
        );
    }

    /// The number and function of host lower `h`'s result, if it has one.
    pub fn result(&self, h: HostLowerId) -> Option<(u32, FuncIdx)> {
        self.results
            .iter()
            .position(|(g, _)| *g == h)
            .map(|k| (k as u32, self.results[k].1))
    }

    /// `dispatch(number, ptr)`: the result function of that number on
    /// `ptr`.
    pub fn dispatch_function(&self) -> Function {
        let mut c = Code::new(2);
        for (k, (_, f)) in self.results.iter().enumerate() {
            c.extend([
                I::LocalGet(0),
                I::I32Const(k as i32),
                I::I32Eq,
                I::If(BlockType::Empty),
                I::LocalGet(1),
                f.call(),
                I::Return,
                I::End,
            ]);
        }
        c.push(I::Unreachable);
        c.finish()
    }

    /// The wrapper of `callback`, if it has one.
    pub fn callback(&self, callback: &CoreDef<'a>) -> Option<FuncIdx> {
        self.callbacks
            .iter()
            .find(|(c, _)| c == callback)
            .map(|(_, f)| *f)
    }

    /// The trampoline of root export `f`, if it has one.
    pub fn export(&self, f: &Rc<Lifted<'a>>) -> Option<FuncIdx> {
        self.exports
            .iter()
            .find(|(g, _)| Rc::ptr_eq(f, g))
            .map(|(_, i)| *i)
    }

    /// `rev_set(host, index)`: grows the map to hold `host` as needed.
    pub fn rev_set_function(&self, t: &Table) -> Function {
        let (h, i) = (0, 1);
        let mut c = Code::new(2);
        let new_cap = c.temp(ValType::I32);
        c.extend([
            I::LocalGet(h),
            self.rev.1.get(),
            I::I32GeU,
            I::If(BlockType::Empty),
        ]);
        // Twice the length, and at least the index and sixteen entries.
        c.extend([
            self.rev.1.get(),
            I::I32Const(1),
            I::I32Shl,
            I::LocalTee(new_cap),
            I::LocalGet(h),
            I::I32Const(1),
            I::I32Add,
            I::LocalGet(new_cap),
            I::LocalGet(h),
            I::I32GtU,
            I::Select,
            I::LocalTee(new_cap),
            I::I32Const(16),
            I::LocalGet(new_cap),
            I::I32Const(16),
            I::I32GtU,
            I::Select,
            I::LocalSet(new_cap),
        ]);
        handles::move_region(&mut c, (t.memory, t.top), self.rev, new_cap, REV_ENTRY);
        c.push(I::End);
        c.extend(self.address(h));
        c.extend([I::LocalGet(i), I::I32Store(self.memarg(t))]);
        c.finish()
    }

    /// `rev_get(host) -> index`.
    pub fn rev_get_function(&self, t: &Table) -> Function {
        let mut c = Code::new(1);
        c.extend([
            I::LocalGet(0),
            self.rev.1.get(),
            I::I32LtU,
            I::If(BlockType::Result(ValType::I32)),
        ]);
        c.extend(self.address(0));
        c.extend([I::I32Load(self.memarg(t)), I::Else, I::I32Const(0), I::End]);
        c.finish()
    }

    fn address(&self, h: u32) -> [I<'static>; 5] {
        [
            self.rev.0.get(),
            I::LocalGet(h),
            I::I32Const(REV_ENTRY as i32),
            I::I32Mul,
            I::I32Add,
        ]
    }

    fn memarg(&self, t: &Table) -> MemArg {
        MemArg {
            offset: 0,
            align: 2,
            memory_index: t.memory.0,
        }
    }
}

/// The core signature of the lift of `f`: for an async lift, its flat
/// parameters (or a pointer to them), and the callback code when it has a
/// `callback`.
pub fn lift_signature(types: TypesRef<'_>, f: &Lifted<'_>) -> FuncType {
    let sync = super::export_signature(types, f);
    if !f.options.async_ {
        return sync;
    }
    let results = f.options.callback.iter().map(|_| wasmparser::ValType::I32);
    FuncType::new(sync.params().iter().copied(), results)
}

/// Code that translates between the async instance's numbers and the
/// host's.
struct Tx<'t, 'a> {
    /// The function being written.
    c: Code,
    t: &'t Table,
    fns: &'t AsyncTable<'a>,
}

impl<'t, 'a> Tx<'t, 'a> {
    /// A function of `params` parameters translating through `t`.
    fn new(params: u32, t: &'t Table, fns: &'t AsyncTable<'a>) -> Self {
        Tx {
            c: Code::new(params),
            t,
            fns,
        }
    }

    /// Pushes the host's index of the instance's index in local `l`,
    /// trapping unless the instance holds it.
    fn host(&mut self, l: u32) {
        self.c.extend([
            I::LocalGet(l),
            self.t.get.call(),
            I::I32Load(handles::rep_field(self.t)),
        ]);
    }

    /// Replaces the instance's index in local `l` with the host's.
    fn host_in_place(&mut self, l: u32) {
        self.host(l);
        self.c.push(I::LocalSet(l));
    }

    /// Puts the host's index in local `h` in a fresh slot for an async
    /// handle, and leaves the slot's index in `h`.
    fn add(&mut self, h: u32) {
        self.add_tagged(h, ASYNC_TAG, true);
    }

    /// Puts the host's index in local `h` in a fresh slot tagged `tag`,
    /// recording it in the map from the host's numbers when `mapped`, and
    /// leaves the slot's index in `h`.
    fn add_tagged(&mut self, h: u32, tag: i32, mapped: bool) {
        let i = self.c.temp(ValType::I32);
        self.c.extend([
            I::I32Const(tag),
            I::LocalGet(h),
            self.t.alloc.call(),
            I::LocalSet(i),
        ]);
        if mapped {
            self.c
                .extend([I::LocalGet(h), I::LocalGet(i), self.fns.rev_set.call()]);
        }
        self.c.extend([I::LocalGet(i), I::LocalSet(h)]);
    }

    /// Frees the slot of the instance's index in local `l`, whose host
    /// index is in local `h`.
    fn remove(&mut self, l: u32, h: u32) {
        self.c.extend([
            I::LocalGet(l),
            self.t.release.call(),
            I::LocalGet(h),
            I::I32Const(0),
            self.fns.rev_set.call(),
        ]);
    }

    /// Maps the host's index in local `h` back to the instance's, in
    /// place (0 stays 0).
    fn back_from_host(&mut self, h: u32) {
        self.c
            .extend([I::LocalGet(h), self.fns.rev_get.call(), I::LocalSet(h)]);
    }

    /// After the instance learned that the subtask in slot local `slot`
    /// returned: the handles in its result, which the host wrote, become
    /// the instance's (once; the slot forgets where the result is).
    fn returned(&mut self, slot: u32) {
        let Some(dispatch) = self.fns.dispatch else {
            return;
        };
        let (addr, at) = (self.c.temp(ValType::I32), self.c.temp(ValType::I64));
        let lent = handles::lent_field(self.t);
        self.c.extend([
            I::LocalGet(slot),
            self.t.get.call(),
            I::LocalTee(addr),
            I::I64Load(lent),
            I::LocalTee(at),
            I::I64Const(0),
            I::I64Ne,
            I::If(BlockType::Empty),
            I::LocalGet(addr),
            I::I64Const(0),
            I::I64Store(lent),
            I::LocalGet(at),
            I::I64Const(32),
            I::I64ShrU,
            I::I32WrapI64,
            I::I32Const(1),
            I::I32Sub,
            I::LocalGet(at),
            I::I32WrapI64,
            dispatch.call(),
            I::End,
        ]);
    }

    /// For an event whose code, payload and waitable (the instance's
    /// index) each of `code`, `payload` and `slot` pushes: when it is a
    /// subtask's `RETURNED`, its result becomes the instance's
    /// ([`Self::returned`]).
    fn on_event(&mut self, code: &[I<'static>], payload: &[I<'static>], slot: &[I<'static>]) {
        if self.fns.dispatch.is_none() {
            return;
        }
        let s = self.c.temp(ValType::I32);
        self.c.extend(code.iter().cloned());
        self.c.extend([I::I32Const(EVENT_SUBTASK), I::I32Eq]);
        self.c.extend(payload.iter().cloned());
        self.c.extend([
            I::I32Const(RETURNED),
            I::I32Eq,
            I::I32And,
            I::If(BlockType::Empty),
        ]);
        self.c.extend(slot.iter().cloned());
        self.c.push(I::LocalSet(s));
        self.returned(s);
        self.c.push(I::End);
    }

    /// Translates the callback code on the stack: a set to wait on is the
    /// host's.
    fn code(&mut self) {
        let (code, set) = (self.c.temp(ValType::I32), self.c.temp(ValType::I32));
        self.c.extend([
            I::LocalTee(code),
            I::I32Const(0xe),
            I::I32And,
            I::I32Const(WAIT),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(code),
            I::I32Const(4),
            I::I32ShrU,
            I::LocalSet(set),
        ]);
        self.host_in_place(set);
        self.repack(code, set);
        self.c.extend([I::End, I::LocalGet(code)]);
    }

    /// Puts the index in local `index` above the low four bits of local
    /// `packed` (a callback code, an async call's status).
    fn repack(&mut self, packed: u32, index: u32) {
        self.c.extend([
            I::LocalGet(index),
            I::I32Const(4),
            I::I32Shl,
            I::LocalGet(packed),
            I::I32Const(0xf),
            I::I32And,
            I::I32Or,
            I::LocalSet(packed),
        ]);
    }

    /// Ends the function.
    fn finish(self) -> Function {
        self.c.finish()
    }
}

/// What the translation does around one host call.
#[derive(Debug, Default)]
struct Plan {
    /// Parameters that are the instance's indices.
    to_host: Vec<u32>,
    /// A parameter that is an index or 0 for none (`waitable.join`'s set).
    optional: Option<u32>,
    /// Parameters whose handle leaves the instance's table after the call.
    removed: Vec<u32>,
    /// The parameter pointing at an event the host writes.
    event: Option<u32>,
    /// What the result is.
    result: Out,
    /// The parameter naming a subtask whose result the call may report
    /// written (`subtask.cancel` returning `RETURNED`).
    cancelled: Option<u32>,
    /// An async lower's return pointer, and its result's function (see
    /// [`AsyncTable::results`]).
    written: Option<(u32, u32, FuncIdx)>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// Nothing to translate.
    #[default]
    Plain,
    /// A new handle.
    New,
    /// Two new handles, readable end low, writable end high (`i64`).
    Pair,
    /// An async lower's state, with a subtask's index above four bits.
    Subtask,
}

/// The async built-in `canon`'s translation; `result` is `task.return`'s
/// result type.
fn plan(types: TypesRef<'_>, canon: &C, result: Option<&ComponentValType>) -> Plan {
    let one = |removed: bool| Plan {
        to_host: vec![0],
        removed: if removed { vec![0] } else { Vec::new() },
        ..Plan::default()
    };
    match canon {
        C::WaitableSetNew | C::ErrorContextNew { .. } => Plan {
            result: Out::New,
            ..Plan::default()
        },
        C::StreamNew { .. } | C::FutureNew { .. } => Plan {
            result: Out::Pair,
            ..Plan::default()
        },
        C::WaitableSetWait { .. } | C::WaitableSetPoll { .. } => Plan {
            to_host: vec![0],
            event: Some(1),
            ..Plan::default()
        },
        C::WaitableJoin => Plan {
            to_host: vec![0],
            optional: Some(1),
            ..Plan::default()
        },
        C::WaitableSetDrop
        | C::SubtaskDrop
        | C::StreamDropReadable { .. }
        | C::StreamDropWritable { .. }
        | C::FutureDropReadable { .. }
        | C::FutureDropWritable { .. }
        | C::ErrorContextDrop => one(true),
        C::SubtaskCancel { .. } => Plan {
            cancelled: Some(0),
            ..one(false)
        },
        C::StreamRead { .. }
        | C::StreamWrite { .. }
        | C::StreamCancelRead { .. }
        | C::StreamCancelWrite { .. }
        | C::FutureRead { .. }
        | C::FutureWrite { .. }
        | C::FutureCancelRead { .. }
        | C::FutureCancelWrite { .. }
        | C::ErrorContextDebugMessage { .. } => one(false),
        // A stream or future end given back leaves the table; an error
        // context stays.
        C::TaskReturn { .. } => {
            match result.and_then(|r| handle_params(types, std::iter::once(r), 1)) {
                Some(v) if let [h] = v[..] => one(h.gone),
                _ => Plan::default(),
            }
        }
        _ => Plan::default(),
    }
}

/// The body around a host call (`call`, after `prologue`, before
/// `epilogue`) of signature `sig`.
pub struct Around<'c> {
    /// The signature.
    pub sig: &'c FuncType,
    /// The checks before the call.
    pub prologue: &'c [I<'static>],
    /// The call.
    pub call: &'c [I<'static>],
    /// What follows the call.
    pub epilogue: &'c [I<'static>],
    /// The instance's memory, where an event is written.
    pub memory: Option<u32>,
}

/// The function through which the async instance calls async built-in
/// `canon` (`result`: `task.return`'s result type).
pub fn builtin_body(
    types: TypesRef<'_>,
    canon: &C,
    result: Option<&ComponentValType>,
    t: &Table,
    fns: &AsyncTable<'_>,
    around: &Around<'_>,
) -> Function {
    translated(plan(types, canon, result), t, fns, around)
}

/// The function through which the async instance calls a host function
/// of type `ty` lowered async: the handles it passes are the host's, those
/// it gives away leave its table, and its subtask gets a slot.
pub fn lower_body(
    types: TypesRef<'_>,
    (ty, h): (
        wasmparser::component_types::ComponentFuncTypeId,
        HostLowerId,
    ),
    t: &Table,
    fns: &AsyncTable<'_>,
    around: &Around<'_>,
) -> Function {
    let params = types[ty].params.iter().map(|(_, t)| t);
    // Handles in values or in memory: the call `around` makes translates
    // every one (`handles::async_lower_params`).
    let handles = match lower_params_in_memory_or_inside(types, ty) {
        true => Vec::new(),
        false => handle_params(types, params, MAX_FLAT_ASYNC_PARAMS).unwrap_or_default(),
    };
    // The return pointer comes last.
    let retptr = (around.sig.params().len() as u32).saturating_sub(1);
    let p = Plan {
        to_host: handles.iter().map(|h| h.at).collect(),
        removed: handles.iter().filter(|h| h.gone).map(|h| h.at).collect(),
        result: Out::Subtask,
        written: fns.result(h).map(|(k, f)| (retptr, k, f)),
        ..Plan::default()
    };
    translated(p, t, fns, around)
}

fn translated(p: Plan, t: &Table, fns: &AsyncTable<'_>, around: &Around<'_>) -> Function {
    let params = around.sig.params().len() as u32;
    let mut x = Tx::new(params, t, fns);
    x.c.extend(around.prologue.iter().cloned());
    // The instance's indices of what leaves the table, for afterwards.
    let kept: Vec<(u32, u32)> = p
        .removed
        .iter()
        .map(|l| {
            let saved = x.c.temp(ValType::I32);
            x.c.extend([I::LocalGet(*l), I::LocalSet(saved)]);
            (*l, saved)
        })
        .collect();
    let cancelled = p.cancelled.filter(|_| fns.dispatch.is_some()).map(|l| {
        let saved = x.c.temp(ValType::I32);
        x.c.extend([I::LocalGet(l), I::LocalSet(saved)]);
        saved
    });
    for l in &p.to_host {
        x.host_in_place(*l);
    }
    if let Some(l) = p.optional {
        x.c.extend([I::LocalGet(l), I::If(BlockType::Empty)]);
        x.host_in_place(l);
        x.c.push(I::End);
    }
    x.c.extend((0..params).map(I::LocalGet));
    x.c.extend(around.call.iter().cloned());
    x.c.extend(around.epilogue.iter().cloned());
    match p.result {
        Out::Plain => {}
        Out::New => {
            let r = x.c.temp(ValType::I32);
            x.c.push(I::LocalSet(r));
            x.add(r);
            x.c.push(I::LocalGet(r));
        }
        Out::Pair => {
            let r = x.c.temp(ValType::I64);
            let (lo, hi) = (x.c.temp(ValType::I32), x.c.temp(ValType::I32));
            x.c.extend([
                I::LocalTee(r),
                I::I32WrapI64,
                I::LocalSet(lo),
                I::LocalGet(r),
                I::I64Const(32),
                I::I64ShrU,
                I::I32WrapI64,
                I::LocalSet(hi),
            ]);
            // The readable end first, as the spec adds them.
            x.add(lo);
            x.add(hi);
            x.c.extend([
                I::LocalGet(lo),
                I::I64ExtendI32U,
                I::LocalGet(hi),
                I::I64ExtendI32U,
                I::I64Const(32),
                I::I64Shl,
                I::I64Or,
            ]);
        }
        Out::Subtask => {
            let (r, s) = (x.c.temp(ValType::I32), x.c.temp(ValType::I32));
            x.c.extend([
                I::LocalTee(r),
                I::I32Const(4),
                I::I32ShrU,
                I::LocalTee(s),
                I::If(BlockType::Empty),
            ]);
            x.add(s);
            x.repack(r, s);
            if let Some((retptr, k, _)) = p.written {
                // Where the result will be, for when the instance learns
                // it was written.
                x.c.extend([
                    I::LocalGet(s),
                    x.t.get.call(),
                    I::I64Const(i64::from(k + 1) << 32),
                    I::LocalGet(retptr),
                    I::I64ExtendI32U,
                    I::I64Or,
                    I::I64Store(handles::lent_field(x.t)),
                ]);
            }
            if let Some((retptr, _, f)) = p.written {
                // Returned at once: the result is written.
                x.c.extend([
                    I::Else,
                    I::LocalGet(r),
                    I::I32Const(0xf),
                    I::I32And,
                    I::I32Const(RETURNED),
                    I::I32Eq,
                    I::If(BlockType::Empty),
                    I::LocalGet(retptr),
                    f.call(),
                    I::End,
                ]);
            }
            x.c.extend([I::End, I::LocalGet(r)]);
        }
    }
    if let Some(saved) = cancelled {
        // Returned before it could be cancelled: the result is written.
        let status = x.c.temp(ValType::I32);
        x.c.extend([
            I::LocalTee(status),
            I::I32Const(RETURNED),
            I::I32Eq,
            I::If(BlockType::Empty),
        ]);
        x.returned(saved);
        x.c.extend([I::End, I::LocalGet(status)]);
    }
    for (host, saved) in kept {
        x.remove(saved, host);
    }
    if let (Some(ptr), Some(memory)) = (p.event, around.memory) {
        let at = MemArg {
            offset: 0,
            align: 2,
            memory_index: memory,
        };
        x.c.extend([
            I::LocalGet(ptr),
            I::LocalGet(ptr),
            I::I32Load(at),
            fns.rev_get.call(),
            I::I32Store(at),
        ]);
        if fns.dispatch.is_some() {
            // The event's code is the call's result.
            let code = x.c.temp(ValType::I32);
            x.c.push(I::LocalSet(code));
            let payload = MemArg { offset: 4, ..at };
            x.on_event(
                &[I::LocalGet(code)],
                &[I::LocalGet(ptr), I::I32Load(payload)],
                &[I::LocalGet(ptr), I::I32Load(at)],
            );
            x.c.push(I::LocalGet(code));
        }
    }
    x.finish()
}

/// The trampoline of a root export of the async instance (`f`, whose core
/// function is `target`) lifted async: the handles the host passes get
/// slots, and a set the returned code waits on is the host's.
pub fn export_body(
    types: TypesRef<'_>,
    f: &Lifted<'_>,
    target: u32,
    t: &Table,
    fns: &AsyncTable<'_>,
    number: &dyn Fn(ResourceId) -> u32,
) -> Function {
    let params = lift_signature(types, f).params().len() as u32;
    let mut x = Tx::new(params, t, fns);
    let ty = &types[f.ty];
    // Handles inside the parameters: every one is translated in order by
    // the function `target` is then (`handles::async_export_params`).
    let handles = match f.options.async_ && handles_inside_params(types, f) {
        true => None,
        false => handle_params(types, ty.params.iter().map(|(_, t)| t), MAX_FLAT_PARAMS),
    };
    for h in handles.unwrap_or_default() {
        match h.resource {
            // A handle of the host's resource type: an owned one is the
            // instance's now; a borrow is the task's until it drops it,
            // which ends the host's borrow (`handles::resource_drop`), so
            // that the host, which counts the task's borrows, traps where
            // it would have at `task.return`. The map from the host's
            // numbers tells such a borrow from the instance's others.
            Some(r) => x.add_tagged(h.at, handles::handle_tag(h.gone, number(r)), !h.gone),
            None => x.add(h.at),
        }
    }
    x.c.extend((0..params).map(I::LocalGet));
    x.c.push(I::Call(target));
    if f.options.callback.is_some() {
        x.code();
    }
    x.finish()
}

/// Whether root export `f` of the async instance needs a trampoline of
/// [`export_body`]'s: it is lifted async. A synchronous one passes its
/// handles through `handles::export_trampoline`, as every instance's.
pub fn needs_trampoline(f: &Lifted<'_>) -> bool {
    f.options.async_
}

/// The wrapper of a `callback` (`target`): the event's waitable is the
/// instance's, and a set the returned code waits on is the host's.
pub fn callback_body(target: u32, t: &Table, fns: &AsyncTable<'_>) -> Function {
    let mut x = Tx::new(3, t, fns);
    x.back_from_host(1);
    x.on_event(&[I::LocalGet(0)], &[I::LocalGet(2)], &[I::LocalGet(1)]);
    x.c.extend([
        I::LocalGet(0),
        I::LocalGet(1),
        I::LocalGet(2),
        I::Call(target),
    ]);
    x.code();
    x.finish()
}
