//! The tasks the fused module keeps against a plain model of the spec's
//! task, subtask and waitable-set state machines: random sequences of
//! async calls into another component's `callback` lift, `subtask.cancel`
//! (async and synchronous), `subtask.drop`, `waitable-set.{new,drop,poll,
//! wait}` and `waitable.join` run on the composed component under
//! wasmtime, on the fused one, and on the model; every result (a value,
//! an event or a trap) must agree.
//!
//! The callee's tasks follow a script each call passes: yield a few
//! times, then return and exit, wait on an empty set for good, or return
//! and then wait; and when cancelled, `task.cancel`, return, go on
//! waiting, or exit without returning (a trap). The caller's core code
//! makes each built-in call on the numbers the host passes, so every
//! subtask and set number it sees is checked.
//!
//! The spec leaves to the runtime when a ready task runs, and wasmtime
//! may run a yielding task's turns between two of the host's calls where
//! the fused module runs them only while a task waits. So that each
//! result is determined, at most one callee task is ready at a time, and
//! what would see how far it got (a poll, a cancellation, reading a
//! result) waits until no task is ready. A trap ends the instance, so
//! the sequence goes on with fresh ones.

use anyhow::Result;
use host_tests::concurrent;
use host_tests::model::Table;
use host_tests::run::{Host, Rng};
use std::collections::VecDeque;
use wasmtime::Store;
use wasmtime::component::{Accessor, Component, TypedFunc};

/// `$B` calls `$A`'s `f` async; each of `$B`'s exports runs one built-in
/// on its two arguments and returns one number.
const COMPOSITION: &str = r#"(component
  (component $A
    (core module $M
      (import "" "task.return" (func $ret (param i32)))
      (import "" "task.cancel" (func $task.cancel))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      ;; The set no waitable ever joins, made on first need.
      (global $empty (mut i32) (i32.const 0))
      (func $wait (result i32)
        (if (i32.eqz (global.get $empty)) (then (global.set $empty (call $ws.new))))
        (i32.or (i32.const 2) (i32.shl (global.get $empty) (i32.const 4))))
      ;; The task's context: its script (bits 0-7), how often it yielded
      ;; (bits 8-15), and whether it returned (bit 16).
      (func $return (param $c i32)
        (if (i32.and (local.get $c) (i32.const 0x10000)) (then return))
        (call $ret (i32.add (i32.mul (i32.and (local.get $c) (i32.const 0xff)) (i32.const 7)) (i32.const 1)))
        (call $ctx.set (i32.or (local.get $c) (i32.const 0x10000))))
      (func $step (result i32)
        (local $c i32)
        (local.set $c (call $ctx.get))
        (if (i32.lt_u
              (i32.and (i32.shr_u (local.get $c) (i32.const 8)) (i32.const 0xff))
              (i32.and (local.get $c) (i32.const 3)))
          (then
            (call $ctx.set (i32.add (local.get $c) (i32.const 0x100)))
            (return (i32.const 1))))
        (block $wait-after (block $wait-only (block $exit
          (br_table $exit $wait-only $wait-after $exit
            (i32.and (i32.shr_u (local.get $c) (i32.const 2)) (i32.const 3))))
          (call $return (local.get $c))
          (return (i32.const 0)))
          (return (call $wait)))
        (call $return (local.get $c))
        (call $wait))
      (func (export "f") (param i32) (result i32)
        (call $ctx.set (i32.and (local.get 0) (i32.const 0xff)))
        (call $step))
      (func (export "cb") (param $code i32) (param i32 i32) (result i32)
        (local $c i32)
        (if (i32.ne (local.get $code) (i32.const 6)) (then (return (call $step))))
        (local.set $c (call $ctx.get))
        (block $exit (block $again (block $return (block $cancel
          (br_table $cancel $return $again $exit
            (i32.and (i32.shr_u (local.get $c) (i32.const 4)) (i32.const 3))))
          (call $task.cancel)
          (return (i32.const 0)))
          (call $return (local.get $c))
          (return (i32.const 0)))
          (return (call $wait)))
        (i32.const 0)))
    (core func $ret (canon task.return (result u32)))
    (core func $task.cancel (canon task.cancel))
    (core func $ws.new (canon waitable-set.new))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core instance $m (instantiate $M (with "" (instance
      (export "task.return" (func $ret))
      (export "task.cancel" (func $task.cancel))
      (export "ws.new" (func $ws.new))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))))))
    (func (export "f") async (param "s" u32) (result u32)
      (canon lift (core func $m "f") async (callback (core func $m "cb")))))
  (component $B
    (import "f" (func $f async (param "s" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $f (canon lower (func $f) async (memory $memory)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.poll (canon waitable-set.poll (memory $memory)))
    (core func $join (canon waitable.join))
    (core func $drop (canon subtask.drop))
    (core func $cancel (canon subtask.cancel async))
    (core func $cancel-sync (canon subtask.cancel))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "f" (func $f (param i32 i32) (result i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.poll" (func $ws.poll (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "cancel" (func $cancel (param i32) (result i32)))
      (import "" "cancel-sync" (func $cancel-sync (param i32) (result i32)))
      ;; Where the result of the call with slot `s` goes.
      (func $slot (param i32) (result i32)
        (i32.add (i32.const 1024) (i32.shl (i32.and (local.get 0) (i32.const 15)) (i32.const 2))))
      ;; An event as `code | payload << 4 | index << 8`.
      (func $event (param $code i32) (result i32)
        (i32.or (local.get $code)
          (i32.or (i32.shl (i32.load (i32.const 20)) (i32.const 4))
                  (i32.shl (i32.load (i32.const 16)) (i32.const 8)))))
      (func (export "call") (param i32 i32) (result i32)
        (call $f (local.get 0) (call $slot (local.get 1))))
      (func (export "ws-new") (param i32 i32) (result i32) (call $ws.new))
      (func (export "ws-drop") (param i32 i32) (result i32)
        (call $ws.drop (local.get 0)) (i32.const 0))
      (func (export "join") (param i32 i32) (result i32)
        (call $join (local.get 0) (local.get 1)) (i32.const 0))
      (func (export "poll") (param i32 i32) (result i32)
        (i64.store (i32.const 16) (i64.const 0))
        (call $event (call $ws.poll (local.get 0) (i32.const 16))))
      (func (export "wait") (param i32 i32) (result i32)
        (i64.store (i32.const 16) (i64.const 0))
        (call $event (call $ws.wait (local.get 0) (i32.const 16))))
      (func (export "cancel") (param i32 i32) (result i32) (call $cancel (local.get 0)))
      (func (export "cancel-sync") (param i32 i32) (result i32) (call $cancel-sync (local.get 0)))
      (func (export "drop") (param i32 i32) (result i32)
        (call $drop (local.get 0)) (i32.const 0))
      (func (export "peek") (param i32 i32) (result i32)
        (i32.load (call $slot (local.get 0)))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $memory))
      (export "f" (func $f))
      (export "ws.new" (func $ws.new))
      (export "ws.drop" (func $ws.drop))
      (export "ws.wait" (func $ws.wait))
      (export "ws.poll" (func $ws.poll))
      (export "join" (func $join))
      (export "drop" (func $drop))
      (export "cancel" (func $cancel))
      (export "cancel-sync" (func $cancel-sync))))))
    (type $op (func async (param "a" u32) (param "b" u32) (result u32)))
    (func (export "call") (type $op) (canon lift (core func $m "call")))
    (func (export "ws-new") (type $op) (canon lift (core func $m "ws-new")))
    (func (export "ws-drop") (type $op) (canon lift (core func $m "ws-drop")))
    (func (export "join") (type $op) (canon lift (core func $m "join")))
    (func (export "poll") (type $op) (canon lift (core func $m "poll")))
    (func (export "wait") (type $op) (canon lift (core func $m "wait")))
    (func (export "cancel") (type $op) (canon lift (core func $m "cancel")))
    (func (export "cancel-sync") (type $op) (canon lift (core func $m "cancel-sync")))
    (func (export "drop") (type $op) (canon lift (core func $m "drop")))
    (func (export "peek") (type $op) (canon lift (core func $m "peek"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "f" (func $a "f"))))
  (export "call" (func $b "call"))
  (export "ws-new" (func $b "ws-new"))
  (export "ws-drop" (func $b "ws-drop"))
  (export "join" (func $b "join"))
  (export "poll" (func $b "poll"))
  (export "wait" (func $b "wait"))
  (export "cancel" (func $b "cancel"))
  (export "cancel-sync" (func $b "cancel-sync"))
  (export "drop" (func $b "drop"))
  (export "peek" (func $b "peek")))"#;

/// The caller's operations, as the composition exports them.
const OPS: &[&str] = &[
    "call",
    "ws-new",
    "ws-drop",
    "join",
    "poll",
    "wait",
    "cancel",
    "cancel-sync",
    "drop",
    "peek",
];

/// What an async `subtask.cancel` returns while the subtask goes on.
const BLOCKED: u32 = u32::MAX;
/// The spec's subtask states and the subtask event's code.
const STARTED: u32 = 1;
const RETURNED: u32 = 2;
const CANCELLED_BEFORE_RETURNED: u32 = 4;
const EVENT_SUBTASK: u32 = 1;

/// A result: `None` for a trap.
type Out = Option<u32>;

/// Where a callee task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Yielded: ready to run a turn.
    Ready,
    /// Waiting on the empty set: only a cancellation wakes it.
    Waiting,
    Exited,
}

/// One callee task.
#[derive(Debug, Clone)]
struct Task {
    script: u32,
    yields: u32,
    returned: bool,
    cancelled: bool,
    phase: Phase,
    /// Where its result goes in the caller's memory.
    slot: usize,
}

impl Task {
    fn resolved(&self) -> bool {
        self.returned || self.cancelled
    }

    fn state(&self) -> u32 {
        if self.cancelled {
            CANCELLED_BEFORE_RETURNED
        } else if self.returned {
            RETURNED
        } else {
            STARTED
        }
    }
}

/// What a slot of the caller's table holds.
#[derive(Debug, Clone)]
enum Entry {
    /// A waitable set and its subtasks, in the order they joined.
    Set(Vec<u32>),
    Subtask {
        task: usize,
        set: Option<u32>,
        cancel_requested: bool,
        /// Whether its resolve (`RETURNED` or `CANCELLED_BEFORE_RETURNED`)
        /// was delivered.
        delivered: bool,
    },
}

/// The caller's table, the callee's tasks, the ready queue and the
/// caller's result slots.
#[derive(Clone)]
struct Model {
    table: Table<Entry>,
    tasks: Vec<Task>,
    ready: VecDeque<usize>,
    memory: [u32; 16],
    /// Whether an operation waited with nothing left to run.
    deadlocked: bool,
}

impl Model {
    fn new() -> Self {
        Model {
            table: Table::default(),
            tasks: Vec::new(),
            ready: VecDeque::new(),
            memory: [0; 16],
            deadlocked: false,
        }
    }

    fn get(&self, i: u32) -> Option<&Entry> {
        self.table.get(i)
    }

    /// Task `t` returns its result, once.
    fn task_return(&mut self, t: usize) {
        let task = &mut self.tasks[t];
        if !task.returned {
            task.returned = true;
            self.memory[task.slot] = (task.script & 0xff) * 7 + 1;
        }
    }

    /// A turn of task `t` that is not a cancellation: the first, or one
    /// after a yield. Returns false for a trap.
    fn step(&mut self, t: usize) -> bool {
        let task = &mut self.tasks[t];
        if task.yields < task.script & 3 {
            task.yields += 1;
            task.phase = Phase::Ready;
            self.ready.push_back(t);
            return true;
        }
        match (task.script >> 2) & 3 {
            1 => task.phase = Phase::Waiting,
            2 => {
                task.phase = Phase::Waiting;
                self.task_return(t);
            }
            _ => {
                task.phase = Phase::Exited;
                self.task_return(t);
            }
        }
        true
    }

    /// Task `t` hears it is cancelled. Returns false for a trap.
    fn hear_cancel(&mut self, t: usize) -> bool {
        self.ready.retain(|r| *r != t);
        let task = &mut self.tasks[t];
        match (task.script >> 4) & 3 {
            // `task.cancel` traps once the task returned.
            0 if task.returned => false,
            0 => {
                task.cancelled = true;
                task.phase = Phase::Exited;
                true
            }
            1 => {
                task.phase = Phase::Exited;
                self.task_return(t);
                true
            }
            2 => {
                task.phase = Phase::Waiting;
                true
            }
            // Exiting unresolved traps.
            _ => {
                task.phase = Phase::Exited;
                task.returned
            }
        }
    }

    /// The subtasks of set `s` with an event; `None` if `s` is no set.
    fn ready_in(&self, s: u32) -> Option<Vec<u32>> {
        let Entry::Set(elems) = self.get(s)? else {
            return None;
        };
        Some(elems.iter().copied().filter(|w| self.pending(*w)).collect())
    }

    fn pending(&self, w: u32) -> bool {
        matches!(self.get(w), Some(Entry::Subtask { task, delivered: false, .. })
            if self.tasks[*task].resolved())
    }

    /// Delivers subtask `w`'s event, as `poll` and `wait` pack it.
    fn deliver(&mut self, w: u32) -> Out {
        let Some(Entry::Subtask {
            task, delivered, ..
        }) = self.table.get_mut(w)
        else {
            return None;
        };
        *delivered = true;
        let state = self.tasks[*task].state();
        Some(EVENT_SUBTASK | state << 4 | w << 8)
    }

    /// Runs `op` with arguments `a` and `b`. A `poll` or `wait` that may
    /// deliver one of several events delivers `choice` if given.
    fn run(&mut self, op: &str, a: u32, b: u32, choice: Option<u32>) -> Out {
        match op {
            "call" => self.call(a, b),
            "ws-new" => Some(self.table.add(Entry::Set(Vec::new()))),
            "ws-drop" => match self.get(a)? {
                Entry::Set(e) if e.is_empty() => self.table.remove(a).map(|_| 0),
                _ => None,
            },
            "join" => self.join(a, b),
            "poll" => {
                let ready = self.ready_in(a)?;
                match choice
                    .filter(|c| ready.contains(c))
                    .or(ready.first().copied())
                {
                    Some(w) => self.deliver(w),
                    None => Some(0),
                }
            }
            "wait" => loop {
                let ready = self.ready_in(a)?;
                if let Some(w) = choice
                    .filter(|c| ready.contains(c))
                    .or(ready.first().copied())
                {
                    break self.deliver(w);
                }
                let Some(t) = self.ready.pop_front() else {
                    self.deadlocked = true;
                    break None;
                };
                if !self.step(t) {
                    break None;
                }
            },
            "cancel" | "cancel-sync" => self.cancel(a, op == "cancel"),
            "drop" => match self.get(a)? {
                Entry::Subtask {
                    delivered: true,
                    set,
                    ..
                } => {
                    let set = *set;
                    self.leave(a, set);
                    self.table.remove(a).map(|_| 0)
                }
                _ => None,
            },
            "peek" => Some(self.memory[(a & 15) as usize]),
            _ => None,
        }
    }

    /// An async call of the callee with script `script`, its result to
    /// slot `slot`.
    fn call(&mut self, script: u32, slot: u32) -> Out {
        let t = self.tasks.len();
        self.tasks.push(Task {
            script: script & 0xff,
            yields: 0,
            returned: false,
            cancelled: false,
            phase: Phase::Ready,
            slot: (slot & 15) as usize,
        });
        if !self.step(t) {
            return None;
        }
        let task = &self.tasks[t];
        if task.phase == Phase::Exited && !task.resolved() {
            return None;
        }
        if task.resolved() {
            return Some(RETURNED);
        }
        let i = self.table.add(Entry::Subtask {
            task: t,
            set: None,
            cancel_requested: false,
            delivered: false,
        });
        Some(STARTED | i << 4)
    }

    /// Takes subtask `w` out of set `set`.
    fn leave(&mut self, w: u32, set: Option<u32>) {
        if let Some(Entry::Set(elems)) = set.and_then(|s| self.table.get_mut(s)) {
            elems.retain(|e| *e != w);
        }
    }

    fn join(&mut self, w: u32, s: u32) -> Out {
        let Entry::Subtask { set, .. } = self.get(w)? else {
            return None;
        };
        let old = *set;
        if s != 0 && !matches!(self.get(s)?, Entry::Set(_)) {
            return None;
        }
        self.leave(w, old);
        if let Some(Entry::Subtask { set, .. }) = self.table.get_mut(w) {
            *set = (s != 0).then_some(s);
        }
        if let Some(Entry::Set(elems)) = self.table.get_mut(s) {
            elems.push(w);
        }
        Some(0)
    }

    fn cancel(&mut self, i: u32, async_: bool) -> Out {
        let Entry::Subtask {
            task,
            set,
            cancel_requested,
            delivered,
        } = *self.get(i)?
        else {
            return None;
        };
        if delivered || cancel_requested || (set.is_some() && !async_) {
            return None;
        }
        if !self.tasks[task].resolved() {
            if let Some(Entry::Subtask {
                cancel_requested, ..
            }) = self.table.get_mut(i)
            {
                *cancel_requested = true;
            }
            if !self.hear_cancel(task) {
                return None;
            }
            if !self.tasks[task].resolved() {
                if async_ {
                    return Some(BLOCKED);
                }
                // It waits for good, and no other task is ready.
                self.deadlocked = true;
                return None;
            }
        }
        self.deliver(i).map(|e| e >> 4 & 0xf)
    }

    /// Whether a callee task is ready to run.
    fn busy(&self) -> bool {
        !self.ready.is_empty()
    }
}

/// Whether argument `at` of operation `op` is meant to name `e`.
fn fits(model: &Model, op: &str, at: usize, e: &Entry) -> bool {
    match (op, at, e) {
        ("ws-drop" | "poll" | "wait", 0, Entry::Set(_)) | ("join", 1, Entry::Set(_)) => true,
        ("join" | "drop", 0, Entry::Subtask { .. }) => true,
        (
            "cancel" | "cancel-sync",
            0,
            Entry::Subtask {
                cancel_requested, ..
            },
        ) => !cancel_requested,
        _ => {
            let _ = model;
            false
        }
    }
}

/// Argument `at` of `op`: mostly a live index of the kind it takes,
/// sometimes any live one, a freed one, zero or one out of range.
fn pick(rng: &mut Rng, model: &Model, op: &str, at: usize) -> u32 {
    if op == "call" {
        let script = rng.next_u64() as u32 & 0x3f;
        // Only one callee task may be ready at a time.
        return if at == 0 && model.busy() {
            script & !3
        } else {
            script
        };
    }
    if op == "peek" {
        return rng.next_u64() as u32 & 15;
    }
    let live = model.table.live();
    let fitting: Vec<u32> = live
        .iter()
        .copied()
        .filter(|i| model.get(*i).is_some_and(|e| fits(model, op, at, e)))
        .collect();
    let one = |rng: &mut Rng, of: &[u32]| of[(rng.next_u64() % of.len() as u64) as usize];
    // Sets with subtasks in them, and subtasks in no set, so that events
    // come.
    let promising: Vec<u32> = fitting
        .iter()
        .copied()
        .filter(|i| match model.get(*i) {
            Some(Entry::Set(e)) => !e.is_empty(),
            Some(Entry::Subtask { set, .. }) => op != "join" || set.is_none(),
            None => false,
        })
        .collect();
    if !promising.is_empty() && rng.next_u64().is_multiple_of(2) {
        return one(rng, &promising);
    }
    // A subtask whose cancellation was requested is never cancelled again:
    // wasmtime delivers it again where the spec traps.
    let cancel = op.starts_with("cancel") && at == 0;
    match rng.next_u64() % 40 {
        _ if op == "join" && at == 1 && rng.next_u64().is_multiple_of(8) => 0,
        0 => 0,
        1 => model.table.array.len() as u32 + (rng.next_u64() % 3) as u32,
        2 if !model.table.free.is_empty() => one(rng, &model.table.free),
        3 if !live.is_empty() && !cancel => one(rng, &live),
        _ if !fitting.is_empty() => one(rng, &fitting),
        _ => 0,
    }
}

/// An operation and its arguments. What would see how far a ready task
/// got is not drawn while one is ready, nor a wait that nothing will end:
/// the fused module traps on such a deadlock, as the spec does, but
/// wasmtime's concurrent calls wait for good (the spec's own scripts check
/// the deadlock traps, `fixtures/wat/async/` too).
fn next(rng: &mut Rng, model: &Model) -> (usize, u32, u32) {
    loop {
        let op = (rng.next_u64() % OPS.len() as u64) as usize;
        let name = OPS[op];
        if model.busy() && matches!(name, "poll" | "cancel" | "cancel-sync" | "peek") {
            continue;
        }
        let (a, b) = (pick(rng, model, name, 0), pick(rng, model, name, 1));
        let mut m = model.clone();
        m.run(name, a, b, None);
        if !m.deadlocked {
            return (op, a, b);
        }
    }
}

/// A live instance of the composed or the fused component.
struct Live {
    store: Store<Host>,
    ops: Vec<TypedFunc<(u32, u32), (u32,)>>,
}

impl Live {
    fn new(component: &Component) -> Result<Self> {
        let (mut store, instance) = concurrent::instantiate(component.engine(), component)?;
        let mut ops = Vec::new();
        for name in OPS {
            ops.push(instance.get_typed_func(&mut store, name)?);
        }
        Ok(Live { store, ops })
    }

    fn call(&mut self, op: usize, a: u32, b: u32) -> Out {
        let f = self.ops[op];
        concurrent::run(&mut self.store, async move |x: &Accessor<Host>| {
            Ok(f.call_concurrent(x, (a, b)).await?.0)
        })
        .ok()
    }
}

#[test]
fn random_task_operations_match_the_spec_model() -> Result<()> {
    let (composed, fused) = host_tests::model::composed_and_fused(COMPOSITION)?;
    let mut rng = Rng::new(0x7a5c_5eed);
    let (mut ops, mut traps, mut events, mut blocked) = (0, 0, 0, 0);
    for _sequence in 0..300 {
        let mut model = Model::new();
        let mut a = Live::new(&composed)?;
        let mut b = Live::new(&fused)?;
        for _ in 0..120 {
            let (mut op, mut x, mut y) = next(&mut rng, &model);
            // Most operations that would trap are drawn again, so that
            // sequences run long enough for tasks to wait and resolve.
            let keep = rng.next_u64().is_multiple_of(16);
            for _ in 0..16 {
                if keep || model.clone().run(OPS[op], x, y, None).is_some() {
                    break;
                }
                (op, x, y) = next(&mut rng, &model);
            }
            let name = OPS[op];
            let got_a = a.call(op, x, y);
            let got_b = b.call(op, x, y);
            ops += 1;
            let at = format!("{name}({x}, {y}) after {ops} operations");
            // Any subtask with an event may be the one delivered; the
            // composed component's choice is the one to check.
            let choice = match name {
                "poll" | "wait" => got_a.map(|r| r >> 8),
                _ => None,
            };
            let expected = model.run(name, x, y, choice);
            assert_eq!(got_a, expected, "composed: {at}");
            assert_eq!(got_b, expected, "fused: {at}");
            match expected {
                None => {
                    traps += 1;
                    break;
                }
                Some(BLOCKED) if name == "cancel" => blocked += 1,
                Some(e) if matches!(name, "poll" | "wait") && e != 0 => events += 1,
                _ => {}
            }
        }
    }
    println!(
        "{ops} operations, {traps} traps, {events} events, {blocked} blocked cancels, all equal"
    );
    assert!(ops > 5_000 && traps > 50 && events > 200 && blocked > 20);
    Ok(())
}
