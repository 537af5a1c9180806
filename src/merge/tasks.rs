//! The tasks the fused module keeps itself (`instantiate::tasks`): task
//! records, the run queues, subtasks and waitable sets in each component
//! instance's handle table, and the loop that runs other tasks' turns
//! while a task waits on its own stack.
//!
//! A task record (32 bytes, in the tables' memory, numbered from 1 and
//! reused most recently freed first) holds the call that started it, its
//! flags (returned, queued, cancellation delivered, cancelled), where its
//! result goes in the caller's memory, the waitable set it waits on, its
//! subtask in the caller's table, the next record in a run queue or the
//! free list, its component instance and its `context`. A subtask is a
//! slot of the caller's table (tag [`SUBTASK_TAG`]) whose rep is the
//! callee's task and whose 64-bit field holds the waitable set it is in
//! and its state (with pending-event, resolve-delivered and
//! cancellation-requested bits); a waitable set is a slot (tag
//! [`SET_TAG`]) holding how many tasks wait on it and how many waitables
//! it holds.
//!
//! There are two run queues, each first in, first out, as the runtime
//! has them: a task that yields goes on the low-priority one, a task
//! whose set gets an event (or has one when it starts to wait) on the
//! high-priority one, and a turn comes from the high one while it has
//! any. Running a queued task takes its event (none for a yield; a
//! waiting task whose event another took stays waiting) and calls its
//! `callback` with it, as the task's own code: the callee instance's
//! task globals say which call it is, whether it returned, where its
//! result goes and which record runs. A root task (`roots`) queued after
//! a yield is only taken off the queue: its wrapper runs its turn when
//! the host calls it. A task that waits on its own stack runs queued
//! tasks until what it waits for has happened; with none queued, nothing
//! can happen any more, and it traps, as the runtime does on deadlock.
//! A cancelled task's `callback` gets `TASK_CANCELLED` at once, in a turn
//! of its own (see [`Scheduler::cancel`]).

use super::builder::{Builder, FuncIdx, GlobalIdx, MemIdx};
use crate::adapter::code::Code;
use crate::adapter::handles::{self, Table};
use crate::error::{Error, Result};
use crate::instantiate::{ComponentInstanceId, Graph};
use std::collections::BTreeMap;
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};
use wasmparser::FuncType;

/// The tag of a slot holding a waitable set.
pub const SET_TAG: i32 = i32::MAX - 1;
/// The tag of a slot holding a subtask.
pub const SUBTASK_TAG: i32 = i32::MAX - 2;

/// Bytes per task record.
const RECORD: u32 = 32;
/// Task record fields.
const CALL: u64 = 0;
pub(super) const FLAGS: u64 = 4;
pub(super) const DEST: u64 = 8;
const WAIT: u64 = 12;
const SUBTASK: u64 = 16;
const NEXT: u64 = 20;
const INSTANCE: u64 = 24;
const CONTEXT: u64 = 28;
/// The call number of a root task's record, whose turns its wrapper runs
/// on the host's calls (`roots`).
pub(super) const ROOT_CALL: i32 = -1;
/// Task flags: returned (or cancelled), queued, cancellation delivered
/// to the task, and resolved by `task.cancel`.
const RETURNED_FLAG: i32 = 1;
pub(super) const QUEUED: i32 = 2;
const CANCEL_DELIVERED: i32 = 4;
const CANCELLED: i32 = 8;

/// Slot fields past the tag: a set's waiters, and (64-bit field) a
/// subtask's set and state, or a set's member count and the task that
/// last began to wait on it.
const WAITERS: u64 = 4;
const SET: u64 = 8;
const STATE: u64 = 12;
const MEMBERS: u64 = 8;
const LAST_WAITER: u64 = 12;
/// What a task waiting on its stack adds to a set's waiters: the low half
/// counts the tasks whose records wait, which `wake` may queue; a task
/// on the stack looks for its event itself after each turn it runs.
pub(super) const STACK_WAITER: i32 = 0x1_0000;
/// Subtask state bits past the spec's state: an event is pending, the
/// resolve was delivered, cancellation was requested.
const PENDING: i32 = 0x10;
const DELIVERED: i32 = 0x20;
const CANCEL_REQUESTED: i32 = 0x40;
/// The spec's subtask states and event codes.
const STARTED: i32 = 1;
const RETURNED: i32 = 2;
const CANCELLED_BEFORE_RETURNED: i32 = 4;
const EVENT_SUBTASK: i32 = 1;
const EVENT_TASK_CANCELLED: i32 = 6;
/// What an async `subtask.cancel` returns while the subtask goes on.
const BLOCKED: i32 = -1;
/// The `callback` codes past `EXIT` (0).
const YIELD: i32 = 1;
const WAIT_CODE: i32 = 2;

/// One component instance's functions.
#[derive(Debug, Clone, Copy)]
pub struct InstanceFns {
    /// `(set, consume) -> (code, index, payload)`: the first waitable of
    /// `set` with an event, taken when `consume`; code 0 when none.
    pub event: FuncIdx,
    /// `(set, delta)`: changes the count of tasks waiting on `set`.
    pub waiters: FuncIdx,
    /// `(set)`: queues a task of the instance that waits on `set`.
    pub wake: FuncIdx,
    /// `(index, state)`: subtask `index` resolved (`RETURNED` or
    /// `CANCELLED_BEFORE_RETURNED`), an event.
    pub post: FuncIdx,
    /// `(task)`: task `task`, called from this instance, returned.
    pub resolve: FuncIdx,
    /// `(task, code)`: what a turn of task `task` of this instance
    /// returned: ends it, queues it or makes it wait.
    pub settle: FuncIdx,
    /// Global: no subtask below this index has an event pending, so that
    /// finding one need not scan the whole table.
    pub low: GlobalIdx,
    /// Global: how many subtasks have an event pending, so that a scan
    /// for one stops when it has passed them all.
    pub pending: GlobalIdx,
    /// Global: the record of the instance's task that runs, or 0.
    pub running: GlobalIdx,
    /// Global: the context of a task without a record (the start
    /// function's).
    pub context: GlobalIdx,
}

/// One call whose task the fused module keeps.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Its number: the adapter's index plus one.
    pub number: i32,
    /// The caller's component instance.
    pub caller: ComponentInstanceId,
    /// The callee's component instance.
    pub callee: ComponentInstanceId,
    /// The callee's `callback`, if it has one.
    pub callback: Option<u32>,
    /// The callee instance's task globals.
    pub task: crate::adapter::Task,
}

/// The scheduler's globals and functions.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// Globals: the records' address, capacity and length (from 1), the
    /// free list, the high-priority queue's head and tail, the task whose
    /// synchronous caller may go on, how many root tasks the fused module
    /// wraps (`roots`) are in flight, how many of them looked for an
    /// event in vain since the last turn ran, and the low-priority queue's
    /// head and tail.
    pub globals: [GlobalIdx; 11],
    /// `(call, dest, instance) -> task`.
    pub task_new: FuncIdx,
    /// `(task)`.
    pub task_free: FuncIdx,
    /// `(task, low)`: queues the task, behind the others of its
    /// priority: a task that yields is of low priority, one that gets an
    /// event of high, as the runtime runs them.
    pub enqueue: FuncIdx,
    /// `() -> ran`: runs one queued task's turn; 0 when none is queued,
    /// 2 when the task is a root task, whose wrapper runs its turn.
    pub run_one: FuncIdx,
    /// `(task)`: delivers cancellation to the task, a turn of its own.
    pub cancel: FuncIdx,
    /// `(task)`: takes the task out of the run queue.
    pub unqueue: FuncIdx,
    /// Each instance's functions.
    pub instances: BTreeMap<ComponentInstanceId, InstanceFns>,
}

/// Which of [`Scheduler::globals`].
const BASE: usize = 0;
const CAP: usize = 1;
const LEN: usize = 2;
const FREE: usize = 3;
const HEAD: usize = 4;
const TAIL: usize = 5;
/// The task whose synchronous caller may go on.
pub const SYNC_DONE: usize = 6;
const ROOTS: usize = 7;
const IDLE: usize = 8;
/// The low-priority queue's head and tail (`HEAD` and `TAIL` are the
/// high-priority queue's).
const LOW_HEAD: usize = 9;
const LOW_TAIL: usize = 10;

impl Scheduler {
    /// Declares the functions, when the graph has tasks to keep.
    pub fn declare(b: &mut Builder, graph: &Graph<'_>) -> Result<Option<Self>> {
        use wasmparser::ValType::I32;
        if graph.schedule.instances.is_empty() {
            return Ok(None);
        }
        let task_new = b.declare_generated(&FuncType::new([I32, I32, I32], [I32]))?;
        let task_free = b.declare_generated(&FuncType::new([I32], []))?;
        let enqueue = b.declare_generated(&FuncType::new([I32, I32], []))?;
        let run_one = b.declare_generated(&FuncType::new([], [I32]))?;
        let cancel = b.declare_generated(&FuncType::new([I32], []))?;
        let unqueue = b.declare_generated(&FuncType::new([I32], []))?;
        let mut instances = BTreeMap::new();
        for &i in &graph.schedule.instances {
            instances.insert(
                i,
                InstanceFns {
                    event: b.declare_generated(&FuncType::new([I32, I32], [I32, I32, I32]))?,
                    waiters: b.declare_generated(&FuncType::new([I32, I32], []))?,
                    wake: b.declare_generated(&FuncType::new([I32], []))?,
                    post: b.declare_generated(&FuncType::new([I32, I32], []))?,
                    resolve: b.declare_generated(&FuncType::new([I32], []))?,
                    settle: b.declare_generated(&FuncType::new([I32, I32], []))?,
                    low: GlobalIdx(u32::MAX),
                    pending: GlobalIdx(u32::MAX),
                    running: GlobalIdx(u32::MAX),
                    context: GlobalIdx(u32::MAX),
                },
            );
        }
        Ok(Some(Scheduler {
            globals: [GlobalIdx(u32::MAX); 11],
            task_new,
            task_free,
            enqueue,
            run_one,
            cancel,
            unqueue,
            instances,
        }))
    }

    /// Pushes the globals. `tasks` are the instances' task globals, where
    /// they have them; the others get a global for their running task's
    /// record.
    pub fn push_globals(
        &mut self,
        b: &mut Builder,
        tasks: &std::collections::HashMap<ComponentInstanceId, crate::adapter::Task>,
    ) {
        let zero = wasm_encoder::ConstExpr::i32_const(0);
        let one = wasm_encoder::ConstExpr::i32_const(1);
        for (k, g) in self.globals.iter_mut().enumerate() {
            *g = b.mutable_global(ValType::I32, if k == LEN { &one } else { &zero });
        }
        for (i, f) in self.instances.iter_mut() {
            f.low = b.mutable_global(ValType::I32, &one);
            f.pending = b.mutable_global(ValType::I32, &zero);
            f.running = match tasks.get(i) {
                Some(t) => GlobalIdx(t.running),
                None => b.mutable_global(ValType::I32, &zero),
            };
            f.context = b.mutable_global(ValType::I32, &zero);
        }
    }

    fn g(&self, k: usize) -> GlobalIdx {
        self.globals[k]
    }

    /// The global counting the wrapped root tasks in flight.
    pub(super) fn roots(&self) -> GlobalIdx {
        self.g(ROOTS)
    }

    /// The global counting the wrapped root tasks that looked for an
    /// event in vain since the last turn ran.
    pub(super) fn idle(&self) -> GlobalIdx {
        self.g(IDLE)
    }

    /// Pushes the address of task record `id` (a local).
    pub(super) fn record(&self, id: u32) -> [I<'static>; 5] {
        [
            self.g(BASE).get(),
            I::LocalGet(id),
            I::I32Const(RECORD as i32),
            I::I32Mul,
            I::I32Add,
        ]
    }

    /// Writes every function's body. `tables` are the instances' handle
    /// tables; `calls` the calls whose tasks the module keeps.
    pub fn bodies(&self, b: &mut Builder, tables: &[Option<Table>], calls: &[Call]) -> Result<()> {
        let table = |i: ComponentInstanceId| {
            tables
                .get(i.index())
                .copied()
                .flatten()
                .ok_or_else(|| Error::internal("a component instance with tasks has no table"))
        };
        let any = self
            .instances
            .keys()
            .next()
            .map(|i| table(*i))
            .transpose()?
            .ok_or_else(|| Error::internal("tasks without a table"))?;
        let mem = any.memory;
        b.body(self.task_new, &self.task_new_body(mem, any.top))?;
        b.body(self.task_free, &self.task_free_body(mem))?;
        b.body(self.enqueue, &self.enqueue_body(mem))?;
        b.body(self.run_one, &self.run_one_body(mem, calls)?)?;
        b.body(self.cancel, &self.cancel_body(mem, calls)?)?;
        b.body(self.unqueue, &self.unqueue_body(mem))?;
        for (&i, f) in &self.instances {
            let t = table(i)?;
            b.body(f.event, &event_body(&t, f))?;
            b.body(f.waiters, &waiters_body(&t))?;
            b.body(f.wake, &self.wake_body(&t, i))?;
            b.body(f.post, &post_body(&t, f))?;
            b.body(f.resolve, &self.resolve_body(&t, f))?;
            b.body(f.settle, &self.settle_body(&t, f))?;
        }
        Ok(())
    }

    fn task_new_body(&self, mem: MemIdx, top: GlobalIdx) -> Function {
        let (call, dest, inst) = (0, 1, 2);
        let mut c = Code::new(3);
        let id = c.temp(ValType::I32);
        let new_cap = c.temp(ValType::I32);
        c.extend([
            self.g(FREE).get(),
            I::If(BlockType::Empty),
            self.g(FREE).get(),
            I::LocalSet(id),
        ]);
        c.extend(self.record(id));
        c.extend([
            I::I32Load(field(mem, NEXT)),
            self.g(FREE).set(),
            I::Else,
            self.g(LEN).get(),
            I::LocalTee(id),
            self.g(CAP).get(),
            I::I32GeU,
            I::If(BlockType::Empty),
            I::I32Const(16),
            self.g(CAP).get(),
            I::I32Const(1),
            I::I32Shl,
            self.g(CAP).get(),
            I::I32Eqz,
            I::Select,
            I::LocalSet(new_cap),
        ]);
        handles::move_region(
            &mut c,
            (mem, top),
            (self.g(BASE), self.g(CAP)),
            new_cap,
            RECORD,
        );
        c.extend([
            I::End,
            I::LocalGet(id),
            I::I32Const(1),
            I::I32Add,
            self.g(LEN).set(),
            I::End,
        ]);
        c.extend(self.record(id));
        c.extend([I::I32Const(0), I::I32Const(RECORD as i32)]);
        c.push(I::MemoryFill(mem.0));
        for (f, v) in [(CALL, call), (DEST, dest), (INSTANCE, inst)] {
            c.extend(self.record(id));
            c.extend([I::LocalGet(v), I::I32Store(field(mem, f))]);
        }
        c.push(I::LocalGet(id));
        c.finish()
    }

    fn task_free_body(&self, mem: MemIdx) -> Function {
        let mut c = Code::new(1);
        c.extend(self.record(0));
        c.extend([I::I32Const(0), I::I32Store(field(mem, CALL))]);
        c.extend(self.record(0));
        c.extend([self.g(FREE).get(), I::I32Store(field(mem, NEXT))]);
        c.extend([I::LocalGet(0), self.g(FREE).set()]);
        c.finish()
    }

    fn enqueue_body(&self, mem: MemIdx) -> Function {
        let (id, low) = (0, 1);
        let mut c = Code::new(2);
        let rec = c.temp(ValType::I32);
        c.extend(self.record(id));
        c.extend([
            I::LocalTee(rec),
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(QUEUED),
            I::I32And,
            I::If(BlockType::Empty),
            I::Return,
            I::End,
        ]);
        c.extend(update(rec, field(mem, FLAGS), !0, QUEUED));
        c.extend([
            I::LocalGet(rec),
            I::I32Const(0),
            I::I32Store(field(mem, NEXT)),
            I::LocalGet(low),
            I::If(BlockType::Empty),
        ]);
        self.push_back(&mut c, mem, (LOW_HEAD, LOW_TAIL));
        c.push(I::Else);
        self.push_back(&mut c, mem, (HEAD, TAIL));
        c.push(I::End);
        c.finish()
    }

    /// Appends task 0 to the queue of globals `head` and `tail`.
    fn push_back(&self, c: &mut Code, mem: MemIdx, (head, tail): (usize, usize)) {
        c.extend([
            self.g(tail).get(),
            I::If(BlockType::Empty),
            self.g(BASE).get(),
            self.g(tail).get(),
            I::I32Const(RECORD as i32),
            I::I32Mul,
            I::I32Add,
            I::LocalGet(0),
            I::I32Store(field(mem, NEXT)),
            I::Else,
            I::LocalGet(0),
            self.g(head).set(),
            I::End,
            I::LocalGet(0),
            self.g(tail).set(),
        ]);
    }

    /// `run_one`: takes the queue's head and runs its turn.
    fn run_one_body(&self, mem: MemIdx, calls: &[Call]) -> Result<Function> {
        let mut c = Code::new(0);
        let (id, rec, set) = (
            c.temp(ValType::I32),
            c.temp(ValType::I32),
            c.temp(ValType::I32),
        );
        let (code, index, payload) = (
            c.temp(ValType::I32),
            c.temp(ValType::I32),
            c.temp(ValType::I32),
        );
        // The high-priority queue first, then the low.
        for (head, tail) in [(HEAD, TAIL), (LOW_HEAD, LOW_TAIL)] {
            c.extend([self.g(head).get(), I::LocalTee(id), I::If(BlockType::Empty)]);
            c.extend(self.record(id));
            c.extend([
                I::LocalTee(rec),
                I::I32Load(field(mem, NEXT)),
                I::LocalTee(set),
                self.g(head).set(),
                I::LocalGet(set),
                I::I32Eqz,
                I::If(BlockType::Empty),
                I::I32Const(0),
                self.g(tail).set(),
                I::End,
                I::Else,
            ]);
        }
        c.extend([I::I32Const(0), I::Return, I::End, I::End]);
        c.extend(update(rec, field(mem, FLAGS), !QUEUED, 0));
        // A root task's turn is its wrapper's, on the host's call.
        c.extend([
            I::LocalGet(rec),
            I::I32Load(field(mem, CALL)),
            I::I32Const(ROOT_CALL),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::I32Const(2),
            I::Return,
            I::End,
        ]);
        for call in calls {
            let Some(callback) = call.callback else {
                continue;
            };
            let f = self.fns(call.callee)?;
            c.extend(is_call(mem, rec, call.number));
            c.extend([
                I::I32Const(0),
                I::LocalTee(code),
                I::LocalTee(index),
                I::LocalSet(payload),
                I::LocalGet(rec),
                I::I32Load(field(mem, WAIT)),
                I::LocalTee(set),
                I::If(BlockType::Empty),
                I::LocalGet(set),
                I::I32Const(1),
                f.event.call(),
                I::LocalSet(payload),
                I::LocalSet(index),
                I::LocalTee(code),
                I::I32Eqz,
                I::If(BlockType::Empty),
                // Another took the event: it goes on waiting.
                I::I32Const(1),
                I::Return,
                I::End,
            ]);
            c.extend(stop_waiting(mem, &f, (rec, set)));
            c.push(I::End);
            c.extend(turn(mem, call, (rec, id)));
            c.extend([
                I::LocalGet(code),
                I::LocalGet(index),
                I::LocalGet(payload),
                I::Call(callback),
                f.settle.call(),
                I::I32Const(1),
                I::Return,
                I::End,
            ]);
        }
        c.push(I::Unreachable);
        Ok(c.finish())
    }

    /// `cancel(task)`: the task's caller requested cancellation; as the
    /// task waits (no task of its instance runs while another component's
    /// code does), it is delivered at once: the task stops waiting or
    /// leaves the run queue, and its `callback` gets `TASK_CANCELLED`.
    fn cancel_body(&self, mem: MemIdx, calls: &[Call]) -> Result<Function> {
        let id = 0;
        let mut c = Code::new(1);
        let (rec, set) = (c.temp(ValType::I32), c.temp(ValType::I32));
        c.extend(self.record(id));
        c.push(I::LocalSet(rec));
        c.extend(update(rec, field(mem, FLAGS), !0, CANCEL_DELIVERED));
        c.extend([
            I::LocalGet(rec),
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(QUEUED),
            I::I32And,
            I::If(BlockType::Empty),
            I::LocalGet(id),
            self.unqueue.call(),
            I::End,
        ]);
        for call in calls {
            let Some(callback) = call.callback else {
                continue;
            };
            let f = self.fns(call.callee)?;
            c.extend(is_call(mem, rec, call.number));
            c.extend([
                I::LocalGet(rec),
                I::I32Load(field(mem, WAIT)),
                I::LocalTee(set),
                I::If(BlockType::Empty),
            ]);
            c.extend(stop_waiting(mem, &f, (rec, set)));
            c.push(I::End);
            c.extend(turn(mem, call, (rec, id)));
            c.extend([
                I::I32Const(EVENT_TASK_CANCELLED),
                I::I32Const(0),
                I::I32Const(0),
                I::Call(callback),
                f.settle.call(),
                I::Return,
                I::End,
            ]);
        }
        c.push(I::Unreachable);
        Ok(c.finish())
    }

    /// `unqueue(task)`: takes a queued task out of its run queue.
    fn unqueue_body(&self, mem: MemIdx) -> Function {
        let id = 0;
        let mut c = Code::new(1);
        let (prev, cur, next) = (
            c.temp(ValType::I32),
            c.temp(ValType::I32),
            c.temp(ValType::I32),
        );
        let at = |l: u32| -> Vec<I<'static>> { self.record(l).to_vec() };
        c.push(I::Block(BlockType::Empty));
        for (head, tail) in [(HEAD, TAIL), (LOW_HEAD, LOW_TAIL)] {
            c.extend([
                I::I32Const(0),
                I::LocalSet(prev),
                self.g(head).get(),
                I::LocalSet(cur),
                I::Block(BlockType::Empty),
                I::Loop(BlockType::Empty),
                I::LocalGet(cur),
                I::I32Eqz,
                I::BrIf(1),
            ]);
            c.extend(at(cur));
            c.extend([
                I::I32Load(field(mem, NEXT)),
                I::LocalSet(next),
                I::LocalGet(cur),
                I::LocalGet(id),
                I::I32Eq,
                I::If(BlockType::Empty),
                I::LocalGet(prev),
                I::If(BlockType::Empty),
            ]);
            c.extend(at(prev));
            c.extend([
                I::LocalGet(next),
                I::I32Store(field(mem, NEXT)),
                I::Else,
                I::LocalGet(next),
                self.g(head).set(),
                I::End,
                self.g(tail).get(),
                I::LocalGet(id),
                I::I32Eq,
                I::If(BlockType::Empty),
                I::LocalGet(prev),
                self.g(tail).set(),
                I::End,
                // Found: out of both loops.
                I::Br(3),
                I::End,
                I::LocalGet(cur),
                I::LocalSet(prev),
                I::LocalGet(next),
                I::LocalSet(cur),
                I::Br(0),
                I::End,
                I::End,
            ]);
        }
        c.push(I::End);
        c.extend(at(id));
        c.push(I::LocalSet(prev));
        c.extend(update(prev, field(mem, FLAGS), !QUEUED, 0));
        c.finish()
    }

    /// Instance `i`'s functions.
    pub fn fns(&self, i: ComponentInstanceId) -> Result<InstanceFns> {
        self.instances
            .get(&i)
            .copied()
            .ok_or_else(|| Error::internal("a component instance's task functions are missing"))
    }

    /// `wake(set)`: queues a task of instance `i` that waits on `set` and
    /// is not queued, if any task's record waits on it: the one that last
    /// began to wait on it if it still does, else the first such record.
    fn wake_body(&self, t: &Table, i: ComponentInstanceId) -> Function {
        let mem = t.memory;
        let mut c = Code::new(1);
        let (id, rec) = (c.temp(ValType::I32), c.temp(ValType::I32));
        c.extend([
            I::LocalGet(0),
            t.get.call(),
            I::I32Load(slot(t, WAITERS)),
            I::I32Const(STACK_WAITER - 1),
            I::I32And,
            I::I32Eqz,
            I::If(BlockType::Empty),
            I::Return,
            I::End,
            I::LocalGet(0),
            t.get.call(),
            I::I32Load(slot(t, LAST_WAITER)),
            I::LocalTee(id),
            I::LocalGet(id),
            self.g(LEN).get(),
            I::I32LtU,
            I::I32And,
            I::If(BlockType::Empty),
        ]);
        self.queue_if_waiting(&mut c, (mem, i), id, rec);
        c.extend([
            I::End,
            I::I32Const(1),
            I::LocalSet(id),
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(id),
            self.g(LEN).get(),
            I::I32GeU,
            I::BrIf(1),
        ]);
        self.queue_if_waiting(&mut c, (mem, i), id, rec);
        c.extend([
            I::LocalGet(id),
            I::I32Const(1),
            I::I32Add,
            I::LocalSet(id),
            I::Br(0),
            I::End,
            I::End,
        ]);
        c.finish()
    }

    /// Queues task `id` (a local; its record's address goes to local
    /// `rec`) and returns, if it is a task of instance `i` that waits on
    /// the set in local 0 and is not queued.
    fn queue_if_waiting(
        &self,
        c: &mut Code,
        (mem, i): (MemIdx, ComponentInstanceId),
        id: u32,
        rec: u32,
    ) {
        c.extend(self.record(id));
        c.push(I::LocalSet(rec));
        c.extend(waits_on(mem, rec, i));
        c.extend([
            I::If(BlockType::Empty),
            I::LocalGet(id),
            I::I32Const(0),
            self.enqueue.call(),
            I::Return,
            I::End,
        ]);
    }

    /// `resolve(task)`: the task returned; its subtask in this (the
    /// caller's) instance's table, if it has one, gets the event, else
    /// its synchronous caller may go on.
    fn resolve_body(&self, t: &Table, f: &InstanceFns) -> Function {
        let mem = t.memory;
        let mut c = Code::new(1);
        let (rec, sub) = (c.temp(ValType::I32), c.temp(ValType::I32));
        c.extend(self.record(0));
        c.push(I::LocalSet(rec));
        c.extend(update(rec, field(mem, FLAGS), !0, RETURNED_FLAG));
        c.extend([
            I::LocalGet(rec),
            I::I32Load(field(mem, SUBTASK)),
            I::LocalTee(sub),
            I::If(BlockType::Empty),
            I::LocalGet(sub),
            I::I32Const(CANCELLED_BEFORE_RETURNED),
            I::I32Const(RETURNED),
            I::LocalGet(rec),
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(CANCELLED),
            I::I32And,
            I::Select,
            f.post.call(),
            I::Else,
            I::LocalGet(0),
            self.g(SYNC_DONE).set(),
            I::End,
        ]);
        c.finish()
    }

    /// `settle(task, code)`: `EXIT` ends the task (which must have
    /// returned), `YIELD` queues it, `WAIT` on a set makes it wait (queued
    /// at once if the set has an event); any other code traps.
    fn settle_body(&self, t: &Table, f: &InstanceFns) -> Function {
        let mem = t.memory;
        let (id, code) = (0, 1);
        let mut c = Code::new(2);
        let (rec, set, kind) = (
            c.temp(ValType::I32),
            c.temp(ValType::I32),
            c.temp(ValType::I32),
        );
        c.extend(self.record(id));
        c.extend([
            I::LocalSet(rec),
            I::LocalGet(code),
            I::I32Const(0xf),
            I::I32And,
            I::LocalTee(kind),
            I::I32Eqz,
            I::If(BlockType::Empty),
            I::LocalGet(rec),
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(RETURNED_FLAG),
            I::I32And,
            I::I32Eqz,
        ]);
        c.trap_if();
        c.extend([
            I::LocalGet(id),
            self.task_free.call(),
            I::Return,
            I::End,
            I::LocalGet(kind),
            I::I32Const(YIELD),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(id),
            I::I32Const(1),
            self.enqueue.call(),
            I::Return,
            I::End,
            I::LocalGet(kind),
            I::I32Const(WAIT_CODE),
            I::I32Ne,
        ]);
        c.trap_if();
        let addr = c.temp(ValType::I32);
        c.extend([
            I::LocalGet(code),
            I::I32Const(4),
            I::I32ShrU,
            I::LocalSet(set),
        ]);
        c.extend(typed(t, set, SET_TAG, addr));
        c.extend(self.begin_wait((t, f), (rec, id, set)));
        c.finish()
    }

    /// Task `id` (a local; its record's address in local `rec`) begins to
    /// wait on the set in local `set`: its record says so, the set counts
    /// it and remembers it as its last waiter, and it is queued (high
    /// priority) at once if the set has an event.
    pub(super) fn begin_wait(
        &self,
        (t, f): (&Table, &InstanceFns),
        (rec, id, set): (u32, u32, u32),
    ) -> [I<'static>; 20] {
        [
            I::LocalGet(rec),
            I::LocalGet(set),
            I::I32Store(field(t.memory, WAIT)),
            I::LocalGet(set),
            t.get.call(),
            I::LocalGet(id),
            I::I32Store(slot(t, LAST_WAITER)),
            I::LocalGet(set),
            I::I32Const(1),
            f.waiters.call(),
            I::LocalGet(set),
            I::I32Const(0),
            f.event.call(),
            I::Drop,
            I::Drop,
            I::If(BlockType::Empty),
            I::LocalGet(id),
            I::I32Const(0),
            self.enqueue.call(),
            I::End,
        ]
    }

    /// The body of an async built-in of instance `i` (`table`, functions
    /// `f`), kept by the fused module: `memory` is the built-in's memory
    /// option, `may_leave` the instance's flag where it is seen, `calls`
    /// the calls whose tasks the module keeps.
    pub fn builtin_body(
        &self,
        canon: &wasmparser::CanonicalFunction,
        (i, t, f): (ComponentInstanceId, &Table, &InstanceFns),
        (memory, may_leave): (Option<u32>, Option<u32>),
        calls: &[Call],
    ) -> Result<Function> {
        use wasmparser::CanonicalFunction as C;
        let params = match canon {
            C::WaitableSetNew | C::ContextGet { .. } | C::TaskCancel => 0,
            C::WaitableSetDrop
            | C::SubtaskDrop
            | C::ContextSet { .. }
            | C::SubtaskCancel { .. } => 1,
            _ => 2,
        };
        let mut c = Code::new(params);
        if let Some(flag) = may_leave {
            c.extend([I::GlobalGet(flag), I::I32Eqz]);
            c.trap_if();
        }
        match canon {
            C::WaitableSetNew => {
                c.extend([I::I32Const(SET_TAG), I::I32Const(0), t.alloc.call()]);
            }
            C::WaitableSetDrop => {
                let addr = c.temp(ValType::I32);
                c.extend(typed(t, 0, SET_TAG, addr));
                // No task waits on it, and it holds no waitable.
                c.extend([
                    I::LocalGet(addr),
                    I::I32Load(slot(t, WAITERS)),
                    I::LocalGet(addr),
                    I::I32Load(slot(t, MEMBERS)),
                    I::I32Or,
                ]);
                c.trap_if();
                c.extend([I::LocalGet(0), t.release.call()]);
            }
            C::SubtaskDrop => {
                let addr = c.temp(ValType::I32);
                c.extend(typed(t, 0, SUBTASK_TAG, addr));
                c.extend([
                    I::LocalGet(addr),
                    I::I32Load(slot(t, STATE)),
                    I::I32Const(DELIVERED),
                    I::I32And,
                    I::I32Eqz,
                ]);
                c.trap_if();
                leave_set(&mut c, t, addr);
                c.extend([I::LocalGet(0), t.release.call()]);
            }
            C::WaitableJoin => {
                let (addr, set) = (c.temp(ValType::I32), c.temp(ValType::I32));
                c.extend(typed(t, 0, SUBTASK_TAG, addr));
                c.extend([I::LocalGet(1), I::If(BlockType::Empty)]);
                c.extend(typed(t, 1, SET_TAG, set));
                c.push(I::End);
                // `get` may not move the table: reread the address.
                c.extend([I::LocalGet(0), t.get.call(), I::LocalSet(addr)]);
                leave_set(&mut c, t, addr);
                c.extend([
                    I::LocalGet(addr),
                    I::LocalGet(1),
                    I::I32Store(slot(t, SET)),
                    I::LocalGet(1),
                    I::If(BlockType::Empty),
                    I::LocalGet(1),
                    t.get.call(),
                    I::LocalTee(set),
                    I::LocalGet(set),
                    I::I32Load(slot(t, MEMBERS)),
                    I::I32Const(1),
                    I::I32Add,
                    I::I32Store(slot(t, MEMBERS)),
                    I::LocalGet(addr),
                    I::I32Load(slot(t, STATE)),
                    I::I32Const(PENDING),
                    I::I32And,
                    I::If(BlockType::Empty),
                    I::LocalGet(1),
                    f.wake.call(),
                    I::End,
                    I::End,
                ]);
            }
            C::ContextGet { .. } | C::ContextSet { .. } => {
                self.context(&mut c, (t, f), matches!(canon, C::ContextSet { .. }));
            }
            C::TaskCancel => self.task_cancel(&mut c, (i, t, f), calls)?,
            C::SubtaskCancel { async_ } => self.subtask_cancel(&mut c, (t, f), *async_),
            C::WaitableSetWait { .. } | C::WaitableSetPoll { .. } => {
                let memory =
                    memory.ok_or_else(|| Error::internal("a wait or poll without a memory"))?;
                let wait = matches!(canon, C::WaitableSetWait { .. });
                self.wait_or_poll(&mut c, (t, f), memory, wait);
            }
            _ => {
                return Err(Error::internal(
                    "an async built-in the scheduler does not keep",
                ));
            }
        }
        Ok(c.finish())
    }

    /// `task.cancel` of instance `i`'s running task: its cancellation must
    /// have been delivered, and it must not have returned; its caller's
    /// subtask resolves as `CANCELLED_BEFORE_RETURNED`.
    fn task_cancel(
        &self,
        c: &mut Code,
        (i, t, f): (ComponentInstanceId, &Table, &InstanceFns),
        calls: &[Call],
    ) -> Result<()> {
        let mem = t.memory;
        let (id, rec) = (c.temp(ValType::I32), c.temp(ValType::I32));
        c.extend([f.running.get(), I::LocalTee(id), I::I32Eqz]);
        c.trap_if();
        c.extend(self.record(id));
        c.extend([
            I::LocalTee(rec),
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(CANCEL_DELIVERED | RETURNED_FLAG),
            I::I32And,
            I::I32Const(CANCEL_DELIVERED),
            I::I32Ne,
        ]);
        c.trap_if();
        c.extend(update(rec, field(mem, FLAGS), !0, CANCELLED));
        for call in calls.iter().filter(|k| k.callee == i) {
            let caller = self.fns(call.caller)?;
            c.extend(is_call(mem, rec, call.number));
            c.extend([
                I::I32Const(1),
                I::GlobalSet(call.task.returned),
                I::LocalGet(id),
                caller.resolve.call(),
                I::Return,
                I::End,
            ]);
        }
        c.push(I::Unreachable);
        Ok(())
    }

    /// `subtask.cancel` (`async_` or not) of subtask 0 of this (the
    /// caller's) instance: a subtask resolved already gives its state, its
    /// event taken; one that goes on gets cancellation delivered, and then
    /// gives its state if that resolved it, else `BLOCKED` when async,
    /// else it runs queued tasks until it resolves.
    fn subtask_cancel(&self, c: &mut Code, (t, f): (&Table, &InstanceFns), async_: bool) {
        let (addr, st) = (c.temp(ValType::I32), c.temp(ValType::I32));
        c.extend(typed(t, 0, SUBTASK_TAG, addr));
        c.extend([
            I::LocalGet(addr),
            I::I32Load(slot(t, STATE)),
            I::LocalTee(st),
            I::I32Const(DELIVERED | CANCEL_REQUESTED),
            I::I32And,
        ]);
        c.trap_if();
        if !async_ {
            // A synchronous cancel may not take an event a set would give.
            c.extend([I::LocalGet(addr), I::I32Load(slot(t, SET))]);
            c.trap_if();
        }
        c.extend([
            I::LocalGet(st),
            I::I32Const(0xf),
            I::I32And,
            I::I32Const(STARTED),
            I::I32Eq,
            I::If(BlockType::Empty),
            I::LocalGet(addr),
            I::LocalGet(st),
            I::I32Const(CANCEL_REQUESTED),
            I::I32Or,
            I::I32Store(slot(t, STATE)),
            I::LocalGet(addr),
            I::I32Load(slot(t, 4)),
            self.cancel.call(),
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(0),
            t.get.call(),
            I::LocalTee(addr),
            I::I32Load(slot(t, STATE)),
            I::I32Const(0xf),
            I::I32And,
            I::I32Const(STARTED),
            I::I32Ne,
            I::BrIf(1),
        ]);
        if async_ {
            c.extend([I::I32Const(BLOCKED), I::Return]);
        } else {
            c.extend([self.run_one.call(), I::I32Eqz]);
            c.trap_if();
            c.push(I::Br(0));
        }
        c.extend([I::End, I::End, I::End]);
        // Resolved: its event is taken here.
        c.extend([
            I::LocalGet(addr),
            I::I32Load(slot(t, STATE)),
            I::LocalTee(st),
            I::I32Const(PENDING),
            I::I32And,
            I::If(BlockType::Empty),
            f.pending.get(),
            I::I32Const(1),
            I::I32Sub,
            f.pending.set(),
            I::End,
            I::LocalGet(addr),
            I::LocalGet(st),
            I::I32Const(!PENDING),
            I::I32And,
            I::I32Const(DELIVERED),
            I::I32Or,
            I::I32Store(slot(t, STATE)),
            I::LocalGet(st),
            I::I32Const(0xf),
            I::I32And,
        ]);
    }

    /// `context.get`, or `context.set` (`set`) of local 0: the running
    /// task's record holds its context, and a global of the instance's
    /// that of a task without one.
    fn context(&self, c: &mut Code, (t, f): (&Table, &InstanceFns), set: bool) {
        let (mem, id) = (t.memory, c.temp(ValType::I32));
        c.extend([f.running.get(), I::LocalTee(id), I::If(BlockType::Empty)]);
        c.extend(self.record(id));
        if set {
            c.extend([
                I::LocalGet(0),
                I::I32Store(field(mem, CONTEXT)),
                I::Else,
                I::LocalGet(0),
                f.context.set(),
                I::End,
            ]);
        } else {
            c.extend([
                I::I32Load(field(mem, CONTEXT)),
                I::Return,
                I::End,
                f.context.get(),
            ]);
        }
    }

    /// `waitable-set.wait` (`wait`) or `.poll` of set 0 writing the event
    /// at pointer 1 of `memory`: a wait runs queued tasks until the set
    /// has an event, and traps when none is queued (deadlock).
    fn wait_or_poll(&self, c: &mut Code, (t, f): (&Table, &InstanceFns), memory: u32, wait: bool) {
        let addr = c.temp(ValType::I32);
        let (code, index, payload) = (
            c.temp(ValType::I32),
            c.temp(ValType::I32),
            c.temp(ValType::I32),
        );
        c.extend(typed(t, 0, SET_TAG, addr));
        // The event's two words, aligned.
        c.extend([I::LocalGet(1), I::I32Const(3), I::I32And]);
        c.trap_if();
        if wait {
            c.extend([
                I::LocalGet(0),
                I::I32Const(STACK_WAITER),
                f.waiters.call(),
                I::Block(BlockType::Empty),
                I::Loop(BlockType::Empty),
                I::LocalGet(0),
                I::I32Const(1),
                f.event.call(),
                I::LocalSet(payload),
                I::LocalSet(index),
                I::LocalTee(code),
                I::BrIf(1),
                self.run_one.call(),
                I::I32Eqz,
            ]);
            c.trap_if();
            c.extend([
                I::Br(0),
                I::End,
                I::End,
                I::LocalGet(0),
                I::I32Const(-STACK_WAITER),
                f.waiters.call(),
            ]);
        } else {
            c.extend([
                I::LocalGet(0),
                I::I32Const(1),
                f.event.call(),
                I::LocalSet(payload),
                I::LocalSet(index),
                I::LocalSet(code),
            ]);
        }
        let word = |offset| MemArg {
            offset,
            align: 2,
            memory_index: memory,
        };
        c.extend([
            I::LocalGet(1),
            I::LocalGet(index),
            I::I32Store(word(0)),
            I::LocalGet(1),
            I::LocalGet(payload),
            I::I32Store(word(4)),
            I::LocalGet(code),
        ]);
    }
}

/// Pushes whether the record at local `rec` is a task of instance `i`
/// that waits on the set in local 0 and is not queued.
fn waits_on(mem: MemIdx, rec: u32, i: ComponentInstanceId) -> [I<'static>; 20] {
    [
        I::LocalGet(rec),
        I::I32Load(field(mem, CALL)),
        I::I32Const(0),
        I::I32Ne,
        I::LocalGet(rec),
        I::I32Load(field(mem, INSTANCE)),
        I::I32Const(i.index() as i32 + 1),
        I::I32Eq,
        I::I32And,
        I::LocalGet(rec),
        I::I32Load(field(mem, WAIT)),
        I::LocalGet(0),
        I::I32Eq,
        I::I32And,
        I::LocalGet(rec),
        I::I32Load(field(mem, FLAGS)),
        I::I32Const(QUEUED),
        I::I32And,
        I::I32Eqz,
        I::I32And,
    ]
}

/// Sets the `i32` at `at` from the address in local `addr` to its value
/// and `keep`, or `set`.
fn update(addr: u32, at: MemArg, keep: i32, set: i32) -> [I<'static>; 8] {
    [
        I::LocalGet(addr),
        I::LocalGet(addr),
        I::I32Load(at),
        I::I32Const(keep),
        I::I32And,
        I::I32Const(set),
        I::I32Or,
        I::I32Store(at),
    ]
}

/// A field of a task record at the address on the stack.
pub(super) fn field(mem: MemIdx, offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 2,
        memory_index: mem.0,
    }
}

/// A field of a table slot at the address on the stack.
fn slot(t: &Table, offset: u64) -> MemArg {
    field(t.memory, offset)
}

/// Looks up index local `idx` in table `t`, trapping unless its slot has
/// tag `tag`; leaves the slot's address in local `addr`.
pub(super) fn typed(t: &Table, idx: u32, tag: i32, addr: u32) -> Vec<I<'static>> {
    let mut out = vec![
        I::LocalGet(idx),
        t.get.call(),
        I::LocalTee(addr),
        I::I32Load(slot(t, 0)),
        I::I32Const(tag),
        I::I32Ne,
    ];
    out.extend(crate::adapter::code::TRAP_IF);
    out
}

/// Takes the subtask at address `addr` out of the set it is in, if any.
fn leave_set(c: &mut Code, t: &Table, addr: u32) {
    let set = c.temp(ValType::I32);
    c.extend([
        I::LocalGet(addr),
        I::I32Load(slot(t, SET)),
        I::LocalTee(set),
        I::If(BlockType::Empty),
        I::LocalGet(set),
        t.get.call(),
        I::LocalTee(set),
        I::LocalGet(set),
        I::I32Load(slot(t, MEMBERS)),
        I::I32Const(1),
        I::I32Sub,
        I::I32Store(slot(t, MEMBERS)),
        I::LocalGet(addr),
        I::I32Const(0),
        I::I32Store(slot(t, SET)),
        I::End,
    ]);
}

/// `event(set, consume) -> (code, index, payload)`: scans the table from
/// `low` (below which no subtask has an event pending) until it has
/// passed every pending one, and moves `low` up past the slots it finds
/// without one.
fn event_body(t: &Table, f: &InstanceFns) -> Function {
    let low = f.low;
    let mut c = Code::new(2);
    let (idx, addr, state, pending, clean, seen) = (
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
        c.temp(ValType::I32),
    );
    c.extend([
        low.get(),
        I::LocalSet(idx),
        I::I32Const(1),
        I::LocalSet(clean),
        I::Block(BlockType::Empty),
        I::Loop(BlockType::Empty),
        I::LocalGet(idx),
        t.len.get(),
        I::I32GeU,
        I::LocalGet(seen),
        f.pending.get(),
        I::I32GeU,
        I::I32Or,
        I::BrIf(1),
        t.base.get(),
        I::LocalGet(idx),
        I::I32Const(16),
        I::I32Mul,
        I::I32Add,
        I::LocalTee(addr),
        I::I32Load(slot(t, 0)),
        I::I32Const(SUBTASK_TAG),
        I::I32Eq,
        I::LocalGet(addr),
        I::I32Load(slot(t, STATE)),
        I::LocalTee(state),
        I::I32Const(PENDING),
        I::I32And,
        I::I32Const(0),
        I::I32Ne,
        I::I32And,
        I::LocalTee(pending),
        I::LocalGet(addr),
        I::I32Load(slot(t, SET)),
        I::LocalGet(0),
        I::I32Eq,
        I::I32And,
        I::If(BlockType::Empty),
        I::LocalGet(1),
        I::If(BlockType::Empty),
        // Taken: a resolved subtask's resolve is delivered.
        I::LocalGet(addr),
        I::LocalGet(state),
        I::I32Const(!PENDING),
        I::I32And,
        I::I32Const(DELIVERED),
        I::I32Const(0),
        I::LocalGet(state),
        I::I32Const(0xf),
        I::I32And,
        I::I32Const(RETURNED),
        I::I32GeU,
        I::Select,
        I::I32Or,
        I::I32Store(slot(t, STATE)),
        f.pending.get(),
        I::I32Const(1),
        I::I32Sub,
        f.pending.set(),
        I::LocalGet(clean),
        I::If(BlockType::Empty),
        I::LocalGet(idx),
        I::I32Const(1),
        I::I32Add,
        low.set(),
        I::End,
        I::End,
        I::I32Const(EVENT_SUBTASK),
        I::LocalGet(idx),
        I::LocalGet(state),
        I::I32Const(0xf),
        I::I32And,
        I::Return,
        I::End,
        // Another set's pending subtask keeps `low` where it is.
        I::LocalGet(seen),
        I::LocalGet(pending),
        I::I32Add,
        I::LocalSet(seen),
        I::LocalGet(clean),
        I::LocalGet(pending),
        I::I32Eqz,
        I::I32And,
        I::LocalTee(clean),
        I::If(BlockType::Empty),
        I::LocalGet(idx),
        I::I32Const(1),
        I::I32Add,
        low.set(),
        I::End,
        I::LocalGet(idx),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(idx),
        I::Br(0),
        I::End,
        I::End,
        I::I32Const(0),
        I::I32Const(0),
        I::I32Const(0),
    ]);
    c.finish()
}

/// `waiters(set, delta)`.
fn waiters_body(t: &Table) -> Function {
    let mut c = Code::new(2);
    let addr = c.temp(ValType::I32);
    c.extend([
        I::LocalGet(0),
        t.get.call(),
        I::LocalTee(addr),
        I::LocalGet(addr),
        I::I32Load(slot(t, WAITERS)),
        I::LocalGet(1),
        I::I32Add,
        I::I32Store(slot(t, WAITERS)),
    ]);
    c.finish()
}

/// `post(index, state)`: the subtask resolved: its state becomes `state`
/// with an event pending (counted, and `low` lowered to its index), and a
/// task waiting on its set wakes.
fn post_body(t: &Table, f: &InstanceFns) -> Function {
    let mut c = Code::new(2);
    let (addr, set) = (c.temp(ValType::I32), c.temp(ValType::I32));
    c.extend([
        I::LocalGet(0),
        t.get.call(),
        I::I32Load(slot(t, STATE)),
        I::I32Const(PENDING),
        I::I32And,
        I::I32Eqz,
        I::If(BlockType::Empty),
        f.pending.get(),
        I::I32Const(1),
        I::I32Add,
        f.pending.set(),
        I::End,
        I::LocalGet(0),
        f.low.get(),
        I::I32LtU,
        I::If(BlockType::Empty),
        I::LocalGet(0),
        f.low.set(),
        I::End,
        I::LocalGet(0),
        t.get.call(),
        I::LocalSet(addr),
    ]);
    c.extend([
        I::LocalGet(addr),
        I::LocalGet(addr),
        I::I32Load(slot(t, STATE)),
        I::I32Const(!0xf),
        I::I32And,
        I::LocalGet(1),
        I::I32Or,
        I::I32Const(PENDING),
        I::I32Or,
        I::I32Store(slot(t, STATE)),
    ]);
    c.extend([
        I::LocalGet(addr),
        I::I32Load(slot(t, SET)),
        I::LocalTee(set),
        I::If(BlockType::Empty),
        I::LocalGet(set),
        f.wake.call(),
        I::End,
    ]);
    c.finish()
}

/// What an adapter of a call whose task the fused module keeps uses.
#[derive(Debug, Clone, Copy)]
pub struct Sched {
    /// `(call, dest, instance) -> task`.
    pub task_new: FuncIdx,
    /// The callee instance's `settle`.
    pub settle: FuncIdx,
    /// `run_one`.
    pub run_one: FuncIdx,
    /// The task whose synchronous caller may go on.
    pub sync_done: GlobalIdx,
    /// The records' address global and memory.
    pub records: (GlobalIdx, MemIdx),
    /// The caller's table (for its subtask) and `resolve`.
    pub caller: (Table, FuncIdx),
}

impl Sched {
    /// Pushes whether task `id` (a local) has returned.
    pub fn returned(&self, id: u32) -> [I<'static>; 8] {
        let (base, mem) = self.records;
        [
            base.get(),
            I::LocalGet(id),
            I::I32Const(RECORD as i32),
            I::I32Mul,
            I::I32Add,
            I::I32Load(field(mem, FLAGS)),
            I::I32Const(RETURNED_FLAG),
            I::I32And,
        ]
    }

    /// A subtask for task `id` (a local) in the caller's table, `STARTED`;
    /// leaves its index in local `sub`.
    pub fn subtask(&self, c: &mut Code, id: u32, sub: u32) {
        let (base, mem) = self.records;
        let t = self.caller.0;
        c.extend([
            I::I32Const(SUBTASK_TAG),
            I::LocalGet(id),
            t.alloc.call(),
            I::LocalTee(sub),
            t.get.call(),
            I::I32Const(STARTED),
            I::I32Store(slot(&t, STATE)),
            base.get(),
            I::LocalGet(id),
            I::I32Const(RECORD as i32),
            I::I32Mul,
            I::I32Add,
            I::LocalGet(sub),
            I::I32Store(field(mem, SUBTASK)),
        ]);
    }
}

impl Scheduler {
    /// What adapter code of a call from `caller` into `callee` uses.
    pub fn sched(
        &self,
        tables: &[Option<Table>],
        caller: ComponentInstanceId,
        callee: ComponentInstanceId,
    ) -> Result<Sched> {
        let t = tables
            .get(caller.index())
            .copied()
            .flatten()
            .ok_or_else(|| Error::internal("a caller with subtasks has no table"))?;
        Ok(Sched {
            task_new: self.task_new,
            settle: self.fns(callee)?.settle,
            run_one: self.run_one,
            sync_done: self.g(SYNC_DONE),
            records: (self.g(BASE), t.memory),
            caller: (t, self.fns(caller)?.resolve),
        })
    }
}

/// Sets the task globals of `call`'s callee instance for a turn of task
/// `id` (a local; its record's address in local `rec`), which stays on
/// the stack for the `settle` after the `callback`: which call runs,
/// whether it returned, where its result goes, which record runs.
fn turn(mem: MemIdx, call: &Call, (rec, id): (u32, u32)) -> Vec<I<'static>> {
    vec![
        I::LocalGet(id),
        I::I32Const(call.number),
        I::GlobalSet(call.task.current),
        I::LocalGet(rec),
        I::I32Load(field(mem, FLAGS)),
        I::I32Const(RETURNED_FLAG),
        I::I32And,
        I::GlobalSet(call.task.returned),
        I::LocalGet(rec),
        I::I32Load(field(mem, DEST)),
        I::GlobalSet(call.task.dest),
        I::LocalGet(id),
        I::GlobalSet(call.task.running),
    ]
}

/// Opens a block run if the record at local `rec` is of call `number`.
fn is_call(mem: MemIdx, rec: u32, number: i32) -> [I<'static>; 5] {
    [
        I::LocalGet(rec),
        I::I32Load(field(mem, CALL)),
        I::I32Const(number),
        I::I32Eq,
        I::If(BlockType::Empty),
    ]
}

/// The task at local `rec` no longer waits on the set in local `set`.
fn stop_waiting(mem: MemIdx, f: &InstanceFns, (rec, set): (u32, u32)) -> [I<'static>; 6] {
    [
        I::LocalGet(set),
        I::I32Const(-1),
        f.waiters.call(),
        I::LocalGet(rec),
        I::I32Const(0),
        I::I32Store(field(mem, WAIT)),
    ]
}
