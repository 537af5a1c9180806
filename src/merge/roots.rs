//! Root exports lifted async with a `callback`, beside tasks the fused
//! module keeps (`instantiate::tasks`), and the other root exports of
//! instances that keep state per task.
//!
//! The host runs such an export's task: it calls the lifted function, and
//! its `callback` after each `YIELD`, and takes its result through the
//! host's `task.return`. But the waitable sets the task waits on hold
//! subtasks of calls into other components, which the fused module keeps,
//! so the host cannot wait on them. The output therefore lifts wrappers
//! instead: each keeps a record of its task (a task record of the
//! scheduler's, found again through the host's `context` slot, while the
//! component's own `context.get` and `.set` are the fused module's) and
//! settles the code the component's function returned itself:
//!
//! - `EXIT` ends the record and goes to the host;
//! - `YIELD` queues the record at low priority and goes to the host; when
//!   the host calls back, the turns queued before it run first, so that
//!   the host's tasks and the fused module's interleave as the runtime's
//!   one queue would have them;
//! - `WAIT` on a set runs queued turns until the set has an event, which
//!   goes to the component's `callback` at once. When another root task's
//!   turn comes, or nothing is queued, the wrapper yields to the host, so
//!   that the host's other tasks go on, and goes on waiting when the host
//!   calls it back. With nothing queued, no event, and every root task
//!   having looked in vain since the last turn ran, nothing the fused
//!   module keeps can change any more: a deadlock, a trap, as the
//!   runtime's.
//!
//! Root tasks get no events from the host but `TASK_CANCELLED` (the
//! composition makes no async host calls and holds no host streams
//! beside the tasks the fused module keeps), which takes a waiting or
//! queued task out at once and goes to its `callback`.
//!
//! A root export lifted without a `callback` from an instance that keeps
//! state per task (`context`, `task.cancel`) gets a wrapper too: the task
//! the host starts has no record, and its context starts at 0.

use super::builder::{Builder, FuncIdx};
use super::tasks::{self, InstanceFns, Scheduler};
use crate::adapter::code::Code;
use crate::adapter::handles::Table;
use crate::error::{Error, Result};
use crate::instantiate::{ComponentInstanceId, CoreDef, Graph, Lifted};
use std::rc::Rc;
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};
use wasmparser::FuncType;
use wasmparser::types::TypesRef;

/// The code of a `callback` lift: `EXIT`, `YIELD`, `WAIT`.
const EXIT: i32 = 0;
const YIELD: i32 = 1;
const WAIT: i32 = 2;

/// A root task's record holds, in its [`tasks::DEST`] field (a root task
/// returns its result through the host), the set it waits on while it
/// yields to the host.
const WAITING: u64 = tasks::DEST;
/// Added to a `WAIT` code when the host called a waiting task back: it
/// goes on waiting (it is already counted among the set's waiters).
const RESUMED: i32 = 0x8;

/// One `callback` of the wrapped exports.
#[derive(Debug, Clone)]
pub struct Callback<'a> {
    /// The component's `callback`.
    pub def: CoreDef<'a>,
    /// The component instance that lifted it.
    pub instance: ComponentInstanceId,
    /// The wrapper the output names as the `callback`.
    pub wrapper: FuncIdx,
    /// `(record, code) -> code`: settles what the component returned.
    pub settle: FuncIdx,
}

/// The wrappers of root exports lifted async with a `callback`, and of
/// the other root exports of instances that keep state per task.
#[derive(Debug, Default)]
pub struct RootTasks<'a> {
    /// Each such export, the wrapper the output lifts instead, and its
    /// number of core parameters.
    pub exports: Vec<(Rc<Lifted<'a>>, FuncIdx, u32)>,
    /// The `callback`s they name.
    pub callbacks: Vec<Callback<'a>>,
}

impl<'a> RootTasks<'a> {
    /// Declares the wrappers, where `graph` has such exports.
    pub fn declare(
        b: &mut Builder,
        types: TypesRef<'_>,
        graph: &Graph<'a>,
    ) -> Result<Option<Self>> {
        use wasmparser::ValType::I32;
        let s = &graph.schedule;
        let mut out = RootTasks::default();
        for (_, f) in graph.exported_functions() {
            let wrapped = match f.options.callback {
                Some(_) => s.callback_roots.contains(&f.instance),
                None => s.per_task.contains(&f.instance),
            };
            if !wrapped || out.export(f).is_some() {
                continue;
            }
            let sig = super::asyncs::lift_signature(types, f);
            let params = sig.params().len() as u32;
            out.exports
                .push((f.clone(), b.declare_generated(&sig)?, params));
        }
        // Declared in the order their bodies are written.
        for k in 0..out.exports.len() {
            let f = out.exports[k].0.clone();
            if let Some(cb) = &f.options.callback
                && out.callback(cb).is_none()
            {
                out.callbacks.push(Callback {
                    def: cb.clone(),
                    instance: f.instance,
                    wrapper: b.declare_generated(&FuncType::new([I32, I32, I32], [I32]))?,
                    settle: b.declare_generated(&FuncType::new([I32, I32], [I32]))?,
                });
            }
        }
        Ok((!out.exports.is_empty()).then_some(out))
    }

    /// The wrapper of root export `f`, if it has one.
    pub fn export(&self, f: &Rc<Lifted<'a>>) -> Option<FuncIdx> {
        self.exports
            .iter()
            .find(|(g, _, _)| Rc::ptr_eq(f, g))
            .map(|(_, i, _)| *i)
    }

    /// The callback `def`'s wrappers, if it has them.
    pub fn callback(&self, def: &CoreDef<'a>) -> Option<&Callback<'a>> {
        self.callbacks.iter().find(|c| &c.def == def)
    }

    /// Writes the wrappers' bodies: `resolve` gives a component's core
    /// function's fused index, `tables` are the instances' handle tables,
    /// `context` the host's `context.get` and `.set`, which the wrappers
    /// of `callback` lifts need.
    pub fn bodies(
        &self,
        b: &mut Builder,
        s: &Scheduler,
        tables: &[Option<Table>],
        resolve: &dyn Fn(&CoreDef<'a>) -> Result<u32>,
        context: Option<[u32; 2]>,
    ) -> Result<()> {
        let context = || {
            context.ok_or_else(|| Error::internal("wrapped root tasks without the host's context"))
        };
        let table = |i: ComponentInstanceId| {
            tables
                .get(i.index())
                .copied()
                .flatten()
                .ok_or_else(|| Error::internal("a root task's instance has no table"))
        };
        for (f, idx, params) in &self.exports {
            let target = resolve(&f.func)?;
            let fns = s.fns(f.instance)?;
            let Some(cb) = f.options.callback.as_ref().and_then(|d| self.callback(d)) else {
                b.body(*idx, &fresh_body(&fns, (*params, target)))?;
                continue;
            };
            let instance = f.instance.index() as i32 + 1;
            b.body(
                *idx,
                &enter_body(
                    s,
                    (&fns, instance),
                    (*params, target),
                    cb.settle,
                    context()?[1],
                ),
            )?;
        }
        for cb in &self.callbacks {
            let t = table(cb.instance)?;
            let fns = s.fns(cb.instance)?;
            let target = resolve(&cb.def)?;
            b.body(
                cb.wrapper,
                &callback_body(s, (&t, &fns), (target, cb.settle), context()?[0]),
            )?;
            b.body(cb.settle, &settle_body(s, (&t, &fns), target))?;
        }
        Ok(())
    }
}

/// The wrapper of a root export lifted without a `callback` from an
/// instance that keeps state per task (`params` core parameters, the
/// component's function `target`): the task the host starts has no
/// record, and its context starts at 0.
fn fresh_body(f: &InstanceFns, (params, target): (u32, u32)) -> Function {
    let mut c = Code::new(params);
    c.extend([
        I::I32Const(0),
        f.running.set(),
        I::I32Const(0),
        f.context.set(),
    ]);
    c.extend((0..params).map(I::LocalGet));
    c.push(I::Call(target));
    c.finish()
}

/// The wrapper of a root export (`params` core parameters, the
/// component's function `target`): a record for the task, kept in the
/// host's context slot, then the component's function, then its code
/// settled.
fn enter_body(
    s: &Scheduler,
    (f, instance): (&InstanceFns, i32),
    (params, target): (u32, u32),
    settle: FuncIdx,
    context_set: u32,
) -> Function {
    let mut c = Code::new(params);
    let rec = c.temp(ValType::I32);
    c.extend([
        I::I32Const(tasks::ROOT_CALL),
        I::I32Const(0),
        I::I32Const(instance),
        s.task_new.call(),
        I::LocalTee(rec),
        I::Call(context_set),
        s.roots().get(),
        I::I32Const(1),
        I::I32Add,
        s.roots().set(),
        I::I32Const(0),
        s.idle().set(),
        I::LocalGet(rec),
        f.running.set(),
        I::LocalGet(rec),
    ]);
    c.extend((0..params).map(I::LocalGet));
    c.extend([I::Call(target), settle.call()]);
    c.finish()
}

/// The wrapper of a root export's `callback`: the task's record from the
/// host's context slot; a task that yielded to the host while it waits
/// goes on waiting when the host calls it back with no event, and stops
/// waiting for the one the host gives (`TASK_CANCELLED`); any other gets
/// its event (`NONE` after a `YIELD`).
fn callback_body(
    s: &Scheduler,
    (t, f): (&Table, &InstanceFns),
    (target, settle): (u32, FuncIdx),
    context_get: u32,
) -> Function {
    let mem = t.memory;
    let mut c = Code::new(3);
    let (rec, set) = (c.temp(ValType::I32), c.temp(ValType::I32));
    c.extend([I::Call(context_get), I::LocalTee(rec), f.running.set()]);
    // After a `YIELD`, the tasks queued before this one run first, as the
    // runtime runs them; an event from the host (`TASK_CANCELLED`) takes
    // it out of the queue at once.
    c.extend(s.record(rec));
    c.extend([
        I::I32Load(tasks::field(mem, tasks::FLAGS)),
        I::I32Const(tasks::QUEUED),
        I::I32And,
        I::If(BlockType::Empty),
        I::LocalGet(0),
        I::If(BlockType::Empty),
        I::LocalGet(rec),
        s.unqueue.call(),
        I::Else,
        I::Block(BlockType::Empty),
        I::Loop(BlockType::Empty),
        s.run_one.call(),
        I::I32Eqz,
    ]);
    c.trap_if();
    c.extend(s.record(rec));
    c.extend([
        I::I32Load(tasks::field(mem, tasks::FLAGS)),
        I::I32Const(tasks::QUEUED),
        I::I32And,
        I::BrIf(0),
        I::End,
        I::End,
        I::End,
        I::End,
    ]);
    c.extend(s.record(rec));
    c.extend([
        I::I32Load(tasks::field(mem, WAITING)),
        I::LocalTee(set),
        I::If(BlockType::Empty),
    ]);
    c.extend(s.record(rec));
    c.extend([
        I::I32Const(0),
        I::I32Store(tasks::field(mem, WAITING)),
        I::LocalGet(0),
        I::I32Eqz,
        I::If(BlockType::Empty),
        I::LocalGet(rec),
        I::LocalGet(set),
        I::I32Const(4),
        I::I32Shl,
        I::I32Const(WAIT | RESUMED),
        I::I32Or,
        settle.call(),
        I::Return,
        I::End,
        I::LocalGet(set),
        I::I32Const(-tasks::STACK_WAITER),
        f.waiters.call(),
        I::End,
        I::I32Const(0),
        s.idle().set(),
        I::LocalGet(rec),
        I::LocalGet(0),
        I::LocalGet(1),
        I::LocalGet(2),
        I::Call(target),
        settle.call(),
    ]);
    c.finish()
}

/// `settle(record, code) -> code` of a root task of `t`'s instance whose
/// `callback` is `target` (see the module's documentation).
fn settle_body(s: &Scheduler, (t, f): (&Table, &InstanceFns), target: u32) -> Function {
    let (rec, code) = (0, 1);
    let mut c = Code::new(2);
    let (kind, set, addr, ran) = (
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
    );
    let (ev, index, payload) = (
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
    );
    c.extend([
        I::Loop(BlockType::Empty),
        I::LocalGet(code),
        I::I32Const(0xf),
        I::I32And,
        I::LocalTee(kind),
        I::I32Const(EXIT),
        I::I32Eq,
        I::If(BlockType::Empty),
        s.roots().get(),
        I::I32Const(1),
        I::I32Sub,
        s.roots().set(),
        I::LocalGet(rec),
        s.task_free.call(),
        I::I32Const(EXIT),
        I::Return,
        I::End,
        // `YIELD`: behind the tasks queued now, as the runtime queues it.
        I::LocalGet(kind),
        I::I32Const(YIELD),
        I::I32Eq,
        I::If(BlockType::Empty),
        I::I32Const(0),
        s.idle().set(),
        I::LocalGet(rec),
        I::I32Const(1),
        s.enqueue.call(),
        I::I32Const(YIELD),
        I::Return,
        I::End,
    ]);
    // `WAIT`, or a wait the host called back to go on with.
    c.extend([
        I::LocalGet(kind),
        I::I32Const(!RESUMED & 0xf),
        I::I32And,
        I::I32Const(WAIT),
        I::I32Ne,
    ]);
    c.trap_if();
    c.extend([
        I::LocalGet(code),
        I::I32Const(4),
        I::I32ShrU,
        I::LocalSet(set),
    ]);
    c.extend(tasks::typed(t, set, tasks::SET_TAG, addr));
    c.extend([
        I::LocalGet(kind),
        I::I32Const(RESUMED),
        I::I32And,
        I::I32Eqz,
        I::If(BlockType::Empty),
        I::LocalGet(set),
        I::I32Const(tasks::STACK_WAITER),
        f.waiters.call(),
        I::End,
        I::Block(BlockType::Empty),
        I::Loop(BlockType::Empty),
        I::LocalGet(set),
        I::I32Const(1),
        f.event.call(),
        I::LocalSet(payload),
        I::LocalSet(index),
        I::LocalTee(ev),
        I::If(BlockType::Empty),
        I::LocalGet(set),
        I::I32Const(-tasks::STACK_WAITER),
        f.waiters.call(),
        I::I32Const(0),
        s.idle().set(),
        I::LocalGet(rec),
        f.running.set(),
        I::LocalGet(ev),
        I::LocalGet(index),
        I::LocalGet(payload),
        I::Call(target),
        I::LocalSet(code),
        // The event's turn returned a code: settle it.
        I::Br(3),
        I::End,
        s.run_one.call(),
        I::LocalTee(ran),
        I::I32Eqz,
        I::BrIf(1),
        I::I32Const(0),
        s.idle().set(),
        I::LocalGet(ran),
        I::I32Const(2),
        I::I32Ne,
        I::BrIf(0),
    ]);
    // Another root task's turn came: the host runs it first.
    yield_waiting(&mut c, s, t, (rec, set));
    c.extend([
        I::End,
        I::End,
        // Nothing queued and no event: unless every root task looked
        // since the last progress, the host runs the others first.
        s.idle().get(),
        I::I32Const(1),
        I::I32Add,
        s.idle().set(),
        s.idle().get(),
        s.roots().get(),
        I::I32GtU,
    ]);
    c.trap_if();
    yield_waiting(&mut c, s, t, (rec, set));
    c.extend([I::End, I::Unreachable]);
    c.finish()
}

/// Returns `YIELD` to the host for root task `rec`, which waits on `set`:
/// its record remembers the set.
fn yield_waiting(c: &mut Code, s: &Scheduler, t: &Table, (rec, set): (u32, u32)) {
    c.extend(s.record(rec));
    c.extend([
        I::LocalGet(set),
        I::I32Store(tasks::field(t.memory, WAITING)),
        I::I32Const(YIELD),
        I::Return,
    ]);
}
