//! The async built-ins' handle table and waitable state machines against a
//! plain model of the spec's (`Table`, `WaitableSet`, `Waitable`, the copy
//! ends of futures and streams, error contexts, resource handles): random
//! sequences of `waitable-set.{new,drop,poll}`, `waitable.join`,
//! `stream.{new,drop-*}`, `future.{new,read,write,drop-*}`,
//! `error-context.{new,drop}` and a host resource's constructor and
//! `resource.drop` run on the composed component under wasmtime, on the
//! fused one, and on the model; every result (a value or a trap) must
//! agree. The async component sits beside one that holds three of the
//! host's resources first, so the fused module keeps the async component's
//! handles in a table of its own and gives the host its numbers: every
//! index in and out, and every index an event names, passes through that
//! translation. A trap ends the instance, so the sequence goes on with
//! fresh ones.

use anyhow::Result;
use host_tests::model::Table;
use host_tests::run::{Host, Rng};
use wasmtime::Store;
use wasmtime::component::{Component, Linker, Resource, ResourceType, TypedFunc};

/// The async component `$C`, beside `$D`, which holds three host
/// resources first. Each of `$C`'s exports takes two numbers and returns
/// one: the built-in's result, packed where it has several.
const COMPOSITION: &str = r#"(component
  (import "host" (instance $host
    (export "res" (type $r (sub resource)))
    (export "[constructor]res" (func (param "n" u32) (result (own $r))))))
  (alias export $host "res" (type $r))
  (alias export $host "[constructor]res" (func $new))
  (component $D
    (import "r" (type $r (sub resource)))
    (import "new" (func $new (param "n" u32) (result (own $r))))
    (core func $new (canon lower (func $new)))
    (core module $M
      (import "" "new" (func $new (param i32) (result i32)))
      (func (export "hold") (result i32)
        (drop (call $new (i32.const 10)))
        (drop (call $new (i32.const 11)))
        (call $new (i32.const 12))))
    (core instance $m (instantiate $M (with "" (instance (export "new" (func $new))))))
    (func (export "hold") (result u32) (canon lift (core func $m "hold"))))
  (component $C
    (import "r" (type $r (sub resource)))
    (import "new" (func $new (param "n" u32) (result (own $r))))
    (import "hold" (func $hold (result u32)))
    (type $s (stream u8))
    (type $f (future))
    (core module $Mem
      (memory (export "mem") 1)
      (data (i32.const 16) "oops"))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $new (canon lower (func $new)))
    (core func $hold (canon lower (func $hold)))
    (core func $res.drop (canon resource.drop $r))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $ws.poll (canon waitable-set.poll (memory $memory)))
    (core func $join (canon waitable.join))
    (core func $s.new (canon stream.new $s))
    (core func $s.dropr (canon stream.drop-readable $s))
    (core func $s.dropw (canon stream.drop-writable $s))
    (core func $f.new (canon future.new $f))
    (core func $f.read (canon future.read $f async))
    (core func $f.write (canon future.write $f async))
    (core func $f.dropr (canon future.drop-readable $f))
    (core func $f.dropw (canon future.drop-writable $f))
    (core func $ec.new (canon error-context.new (memory $memory)))
    (core func $ec.drop (canon error-context.drop))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "hold" (func $hold (result i32)))
      (import "" "res.drop" (func $res.drop (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "ws.poll" (func $ws.poll (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "s.new" (func $s.new (result i64)))
      (import "" "s.dropr" (func $s.dropr (param i32)))
      (import "" "s.dropw" (func $s.dropw (param i32)))
      (import "" "f.new" (func $f.new (result i64)))
      (import "" "f.read" (func $f.read (param i32 i32) (result i32)))
      (import "" "f.write" (func $f.write (param i32 i32) (result i32)))
      (import "" "f.dropr" (func $f.dropr (param i32)))
      (import "" "f.dropw" (func $f.dropw (param i32)))
      (import "" "ec.new" (func $ec.new (param i32 i32) (result i32)))
      (import "" "ec.drop" (func $ec.drop (param i32)))
      ;; Two ends as `readable | writable << 16`.
      (func $ends (param $p i64) (result i32)
        (i32.or
          (i32.wrap_i64 (local.get $p))
          (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))) (i32.const 16))))
      (func (export "hold") (param i32 i32) (result i32) (call $hold))
      (func (export "res-new") (param i32 i32) (result i32) (call $new (local.get 0)))
      (func (export "res-drop") (param i32 i32) (result i32) (call $res.drop (local.get 0)) (i32.const 0))
      (func (export "ws-new") (param i32 i32) (result i32) (call $ws.new))
      (func (export "ws-drop") (param i32 i32) (result i32) (call $ws.drop (local.get 0)) (i32.const 0))
      ;; An event as `code | payload << 4 | index << 8`.
      (func (export "poll") (param i32 i32) (result i32)
        (local $code i32)
        (i32.store (i32.const 0) (i32.const -1))
        (i32.store (i32.const 4) (i32.const -1))
        (local.set $code (call $ws.poll (local.get 0) (i32.const 0)))
        (i32.or (local.get $code)
          (i32.or
            (i32.shl (i32.load (i32.const 4)) (i32.const 4))
            (i32.shl (i32.load (i32.const 0)) (i32.const 8)))))
      (func (export "join") (param i32 i32) (result i32) (call $join (local.get 0) (local.get 1)) (i32.const 0))
      (func (export "s-new") (param i32 i32) (result i32) (call $ends (call $s.new)))
      (func (export "s-dropr") (param i32 i32) (result i32) (call $s.dropr (local.get 0)) (i32.const 0))
      (func (export "s-dropw") (param i32 i32) (result i32) (call $s.dropw (local.get 0)) (i32.const 0))
      (func (export "f-new") (param i32 i32) (result i32) (call $ends (call $f.new)))
      (func (export "f-read") (param i32 i32) (result i32) (call $f.read (local.get 0) (i32.const 32)))
      (func (export "f-write") (param i32 i32) (result i32) (call $f.write (local.get 0) (i32.const 32)))
      (func (export "f-dropr") (param i32 i32) (result i32) (call $f.dropr (local.get 0)) (i32.const 0))
      (func (export "f-dropw") (param i32 i32) (result i32) (call $f.dropw (local.get 0)) (i32.const 0))
      (func (export "ec-new") (param i32 i32) (result i32) (call $ec.new (i32.const 16) (i32.const 4)))
      (func (export "ec-drop") (param i32 i32) (result i32) (call $ec.drop (local.get 0)) (i32.const 0)))
    (core instance $m (instantiate $M
      (with "" (instance
        (export "mem" (memory $memory))
        (export "new" (func $new))
        (export "hold" (func $hold))
        (export "res.drop" (func $res.drop))
        (export "ws.new" (func $ws.new))
        (export "ws.drop" (func $ws.drop))
        (export "ws.poll" (func $ws.poll))
        (export "join" (func $join))
        (export "s.new" (func $s.new))
        (export "s.dropr" (func $s.dropr))
        (export "s.dropw" (func $s.dropw))
        (export "f.new" (func $f.new))
        (export "f.read" (func $f.read))
        (export "f.write" (func $f.write))
        (export "f.dropr" (func $f.dropr))
        (export "f.dropw" (func $f.dropw))
        (export "ec.new" (func $ec.new))
        (export "ec.drop" (func $ec.drop))))))
    (type $op (func (param "a" u32) (param "b" u32) (result u32)))
    (func (export "hold") (type $op) (canon lift (core func $m "hold")))
    (func (export "res-new") (type $op) (canon lift (core func $m "res-new")))
    (func (export "res-drop") (type $op) (canon lift (core func $m "res-drop")))
    (func (export "ws-new") (type $op) (canon lift (core func $m "ws-new")))
    (func (export "ws-drop") (type $op) (canon lift (core func $m "ws-drop")))
    (func (export "poll") (type $op) (canon lift (core func $m "poll")))
    (func (export "join") (type $op) (canon lift (core func $m "join")))
    (func (export "s-new") (type $op) (canon lift (core func $m "s-new")))
    (func (export "s-dropr") (type $op) (canon lift (core func $m "s-dropr")))
    (func (export "s-dropw") (type $op) (canon lift (core func $m "s-dropw")))
    (func (export "f-new") (type $op) (canon lift (core func $m "f-new")))
    (func (export "f-read") (type $op) (canon lift (core func $m "f-read")))
    (func (export "f-write") (type $op) (canon lift (core func $m "f-write")))
    (func (export "f-dropr") (type $op) (canon lift (core func $m "f-dropr")))
    (func (export "f-dropw") (type $op) (canon lift (core func $m "f-dropw")))
    (func (export "ec-new") (type $op) (canon lift (core func $m "ec-new")))
    (func (export "ec-drop") (type $op) (canon lift (core func $m "ec-drop"))))
  (instance $d (instantiate $D (with "r" (type $r)) (with "new" (func $new))))
  (instance $c (instantiate $C
    (with "r" (type $r))
    (with "new" (func $new))
    (with "hold" (func $d "hold"))))
  (export "hold" (func $c "hold"))
  (export "res-new" (func $c "res-new"))
  (export "res-drop" (func $c "res-drop"))
  (export "ws-new" (func $c "ws-new"))
  (export "ws-drop" (func $c "ws-drop"))
  (export "poll" (func $c "poll"))
  (export "join" (func $c "join"))
  (export "s-new" (func $c "s-new"))
  (export "s-dropr" (func $c "s-dropr"))
  (export "s-dropw" (func $c "s-dropw"))
  (export "f-new" (func $c "f-new"))
  (export "f-read" (func $c "f-read"))
  (export "f-write" (func $c "f-write"))
  (export "f-dropr" (func $c "f-dropr"))
  (export "f-dropw" (func $c "f-dropw"))
  (export "ec-new" (func $c "ec-new"))
  (export "ec-drop" (func $c "ec-drop")))"#;

/// What the model's operations are called, as the component exports them.
const OPS: &[&str] = &[
    "res-new", "res-drop", "ws-new", "ws-drop", "poll", "join", "s-new", "s-dropr", "s-dropw",
    "f-new", "f-read", "f-write", "f-dropr", "f-dropw", "ec-new", "ec-drop",
];

/// The operations that make handles, as indices into [`OPS`].
const MAKERS: &[usize] = &[0, 2, 6, 9, 14];

/// The operations to pick from, as indices into [`OPS`]: each once, and
/// those that join, copy and poll, which make and deliver events, again.
const OFTEN: &[usize] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 10, 11, 4, 5, 10, 11,
];

/// `BLOCKED`, what an async copy returns when it waits for the other end.
const BLOCKED: u32 = u32::MAX;

/// The spec's copy results this model delivers.
const COMPLETED: u32 = 0;
const DROPPED: u32 = 1;

/// A copy end's state (the spec's `CopyState`, without cancellation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    Idle,
    Copying,
    Done,
}

/// An event a waitable holds undelivered: its code and payload, and
/// whether delivering it ends the copy it reports (a copy's result does;
/// the notice that the other end was dropped does not).
#[derive(Debug, Clone, Copy)]
struct Event {
    code: u32,
    payload: u32,
    ends_copy: bool,
}

/// One end of a stream or a future.
#[derive(Debug, Clone, Copy)]
struct End {
    stream: bool,
    readable: bool,
    /// Which shared stream or future, in [`Model::shared`].
    shared: usize,
    state: Copy,
    event: Option<Event>,
    /// The waitable set it joined.
    set: Option<u32>,
}

impl End {
    /// The code of the events this end receives.
    fn code(&self) -> u32 {
        match (self.stream, self.readable) {
            (true, true) => 2,
            (true, false) => 3,
            (false, true) => 4,
            (false, false) => 5,
        }
    }
}

/// What a slot of the instance's table holds.
#[derive(Debug, Clone)]
enum Entry {
    /// A waitable set and its waitables, in the order they joined.
    Set(Vec<u32>),
    End(End),
    ErrorContext,
    Resource,
}

/// A stream's or future's shared state: its two ends (until dropped),
/// whether one was dropped, and which end's copy waits for the other.
#[derive(Debug, Default, Clone, Copy)]
struct Shared {
    ends: [Option<u32>; 2],
    dropped: bool,
    pending: Option<u32>,
}

/// The spec's table of one component instance, with what each slot holds.
#[derive(Clone)]
struct Model {
    table: Table<Entry>,
    shared: Vec<Shared>,
}

/// A result: `None` for a trap.
type Out = Option<u32>;

impl Model {
    fn new() -> Self {
        Model {
            table: Table::default(),
            shared: Vec::new(),
        }
    }

    fn add(&mut self, e: Entry) -> u32 {
        self.table.add(e)
    }

    fn get(&self, i: u32) -> Option<&Entry> {
        self.table.get(i)
    }

    fn end(&mut self, i: u32) -> Option<&mut End> {
        match self.table.get_mut(i)? {
            Entry::End(e) => Some(e),
            _ => None,
        }
    }

    fn remove(&mut self, i: u32) -> Option<Entry> {
        self.table.remove(i)
    }

    fn live(&self) -> Vec<u32> {
        self.table.live()
    }

    /// Takes waitable `w` out of its set, if it joined one.
    fn leave_set(&mut self, w: u32) {
        let Some(s) = self.end(w).and_then(|e| e.set.take()) else {
            return;
        };
        if let Some(Entry::Set(elems)) = self.table.get_mut(s) {
            elems.retain(|e| *e != w);
        }
    }

    /// Runs operation `op` with arguments `a` and `b`. A `poll` that may
    /// deliver one of several events is left to [`Model::deliver`].
    fn run(&mut self, op: &str, a: u32, b: u32) -> Out {
        match op {
            "res-new" => Some(self.add(Entry::Resource)),
            "ws-new" => Some(self.add(Entry::Set(Vec::new()))),
            "ec-new" => Some(self.add(Entry::ErrorContext)),
            "res-drop" => matches!(self.remove(a)?, Entry::Resource).then_some(0),
            "ec-drop" => matches!(self.remove(a)?, Entry::ErrorContext).then_some(0),
            "ws-drop" => matches!(self.remove(a)?, Entry::Set(e) if e.is_empty()).then_some(0),
            "join" => self.join(a, b),
            "s-new" | "f-new" => Some(self.new_ends(op == "s-new")),
            "f-read" | "f-write" => self.copy(a, op == "f-read"),
            "s-dropr" | "s-dropw" => self.drop_end(a, true, op == "s-dropr"),
            "f-dropr" | "f-dropw" => self.drop_end(a, false, op == "f-dropr"),
            _ => None,
        }
    }

    /// A new stream or future: the readable end's index and the writable
    /// end's, as `readable | writable << 16`.
    fn new_ends(&mut self, stream: bool) -> u32 {
        let shared = self.shared.len();
        let end = |readable| {
            Entry::End(End {
                stream,
                readable,
                shared,
                state: Copy::Idle,
                event: None,
                set: None,
            })
        };
        let r = self.add(end(true));
        let w = self.add(end(false));
        self.shared.push(Shared {
            ends: [Some(r), Some(w)],
            ..Shared::default()
        });
        r | w << 16
    }

    fn join(&mut self, w: u32, s: u32) -> Out {
        self.end(w)?;
        if s != 0 && !matches!(self.get(s)?, Entry::Set(_)) {
            return None;
        }
        self.leave_set(w);
        if s != 0 {
            self.end(w)?.set = Some(s);
            if let Some(Entry::Set(elems)) = self.table.get_mut(s) {
                elems.push(w);
            }
        }
        Some(0)
    }

    /// An async `future.read` (`reading`) or `future.write` of end `i`.
    fn copy(&mut self, i: u32, reading: bool) -> Out {
        let e = *self.end(i)?;
        if e.stream || e.readable != reading || e.state != Copy::Idle {
            return None;
        }
        let f = self.shared[e.shared];
        let result = if f.dropped {
            // Only a write can find the reader gone.
            DROPPED
        } else if let Some(other) = f.pending {
            let o = self.end(other)?;
            o.event = Some(Event {
                code: o.code(),
                payload: COMPLETED,
                ends_copy: true,
            });
            self.shared[e.shared].pending = None;
            COMPLETED
        } else {
            self.shared[e.shared].pending = Some(i);
            self.end(i)?.state = Copy::Copying;
            return Some(BLOCKED);
        };
        self.end(i)?.state = Copy::Done;
        Some(result)
    }

    /// `stream.drop-*` or `future.drop-*` (`stream`) of the readable end
    /// (`reading`) or the writable one.
    fn drop_end(&mut self, i: u32, stream: bool, reading: bool) -> Out {
        let e = *self.end(i)?;
        // A copy in progress may not be dropped, nor a future's writable
        // end that has not written.
        if e.stream != stream
            || e.readable != reading
            || e.state == Copy::Copying
            || (!stream && !reading && e.state != Copy::Done)
        {
            return None;
        }
        self.leave_set(i);
        self.remove(i);
        let f = &mut self.shared[e.shared];
        f.dropped = true;
        f.ends[usize::from(!reading)] = None;
        let pending = f.pending.take();
        let Some(other) = f.ends[usize::from(reading)] else {
            return Some(0);
        };
        let o = self.end(other)?;
        if pending == Some(other) {
            // The other end's copy ends, as the spec has it.
            o.event = Some(Event {
                code: o.code(),
                payload: DROPPED,
                ends_copy: true,
            });
        } else if o.state != Copy::Copying {
            // wasmtime also tells an end that copies nothing that the
            // other end is gone, with an event that leaves its state as
            // it was; the spec's `SharedStreamImpl.drop` and
            // `SharedFutureImpl.drop` notify only a pending copy.
            o.event = Some(Event {
                code: o.code(),
                payload: DROPPED,
                ends_copy: false,
            });
        }
        Some(0)
    }

    /// The waitables of set `s` that hold an event, any of which
    /// `waitable-set.poll` may deliver; `None` if `s` is no set.
    fn ready_in(&self, s: u32) -> Option<Vec<u32>> {
        let Entry::Set(elems) = self.get(s)? else {
            return None;
        };
        Some(
            elems
                .iter()
                .copied()
                .filter(|w| matches!(self.get(*w), Some(Entry::End(End { event: Some(_), .. }))))
                .collect(),
        )
    }

    /// Whether `op` with arguments `a` and `b` traps.
    fn traps(&self, op: &str, a: u32, b: u32) -> bool {
        match op {
            "poll" => self.ready_in(a).is_none(),
            _ => self.clone().run(op, a, b).is_none(),
        }
    }

    /// Whether naming `i` as the first argument of `op` makes or
    /// delivers an event: polling a set with one, joining an end that has
    /// one or copies, a copy that meets the other end's.
    fn promising(&self, op: &str, i: u32) -> bool {
        let Some(Entry::End(e)) = self.get(i) else {
            return op == "poll" && self.ready_in(i).is_some_and(|r| !r.is_empty());
        };
        match op {
            "join" => e.set.is_none() && (e.event.is_some() || e.state == Copy::Copying),
            "f-read" | "f-write" => self.shared[e.shared].pending.is_some(),
            _ => false,
        }
    }

    /// Delivers waitable `w`'s event, as `poll` packs it.
    fn deliver(&mut self, w: u32) -> Out {
        let e = self.end(w)?;
        let event = e.event.take()?;
        if event.ends_copy {
            // A stream's end may copy again after a copy completes; a
            // future's is done, and so is either once the other is gone.
            e.state = if e.stream && event.payload == COMPLETED {
                Copy::Idle
            } else {
                Copy::Done
            };
        }
        Some(event.code | event.payload << 4 | w << 8)
    }
}

/// A live instance of one of the two components.
struct Live {
    store: Store<Host>,
    ops: Vec<TypedFunc<(u32, u32), (u32,)>>,
}

fn linker(engine: &wasmtime::Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::<Host>::new(engine);
    let mut host = linker.instance("host")?;
    host.resource("res", ResourceType::host::<u32>(), |_, _| Ok(()))?;
    host.func_wrap("[constructor]res", |_, (n,): (u32,)| {
        Ok((Resource::<u32>::new_own(n),))
    })?;
    Ok(linker)
}

impl Live {
    fn new(linker: &Linker<Host>, component: &Component) -> Result<Self> {
        let mut store = Store::new(component.engine(), Host::new(&[], &[]));
        let instance =
            wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, component))?;
        let mut ops = Vec::new();
        for name in OPS.iter().chain(["hold"].iter()) {
            ops.push(instance.get_typed_func(&mut store, name)?);
        }
        let mut live = Live { store, ops };
        // `$D` takes its three host resources first.
        live.call(OPS.len(), 0, 0);
        Ok(live)
    }

    fn call(&mut self, op: usize, a: u32, b: u32) -> Out {
        let f = self.ops[op];
        wasmtime_wasi::runtime::in_tokio(f.call_async(&mut self.store, (a, b)))
            .ok()
            .map(|(r,)| r)
    }
}

/// Whether argument `at` (0 or 1) of operation `op` is meant to name
/// `e`: the pick favours those, so that copies meet and events arrive.
fn fits(op: &str, at: usize, e: &Entry) -> bool {
    let end = |s: bool, r: bool| matches!(e, Entry::End(x) if x.stream == s && x.readable == r);
    match (op, at) {
        ("res-drop", 0) => matches!(e, Entry::Resource),
        ("ec-drop", 0) => matches!(e, Entry::ErrorContext),
        ("ws-drop" | "poll", 0) | ("join", 1) => matches!(e, Entry::Set(_)),
        ("join", 0) => matches!(e, Entry::End(_)),
        ("s-dropr", 0) => end(true, true),
        ("s-dropw", 0) => end(true, false),
        ("f-read" | "f-dropr", 0) => end(false, true),
        ("f-write" | "f-dropw", 0) => end(false, false),
        _ => false,
    }
}

/// Argument `at` of operation `op`: mostly a live index of the kind it
/// takes, sometimes any live one, a freed one, zero, or one out of range.
fn pick(rng: &mut Rng, model: &Model, op: &str, at: usize) -> u32 {
    let live = model.live();
    let fitting: Vec<u32> = live
        .iter()
        .copied()
        .filter(|i| model.get(*i).is_some_and(|e| fits(op, at, e)))
        .collect();
    let promising: Vec<u32> = fitting
        .iter()
        .copied()
        .filter(|i| model.promising(op, *i))
        .collect();
    let one = |rng: &mut Rng, of: &[u32]| of[(rng.next_u64() % of.len() as u64) as usize];
    match rng.next_u64() % 80 {
        _ if !promising.is_empty() && rng.next_u64().is_multiple_of(2) => one(rng, &promising),
        0 => 0,
        1 => model.table.array.len() as u32 + (rng.next_u64() % 3) as u32,
        2 if !model.table.free.is_empty() => one(rng, &model.table.free),
        3 if !live.is_empty() => one(rng, &live),
        _ if !fitting.is_empty() => one(rng, &fitting),
        _ if !live.is_empty() => one(rng, &live),
        _ => 1,
    }
}

/// An operation and its arguments: four times in ten one that makes a
/// handle, else one whose first argument has a handle to name.
fn next(rng: &mut Rng, model: &Model) -> (usize, u32, u32) {
    let maker = MAKERS[(rng.next_u64() % MAKERS.len() as u64) as usize];
    let op = match rng.next_u64() % 10 {
        0..=3 => maker,
        _ => {
            let op = OFTEN[(rng.next_u64() % OFTEN.len() as u64) as usize];
            let named = |i: u32| model.get(i).is_some_and(|e| fits(OPS[op], 0, e));
            if model.live().into_iter().any(named) {
                op
            } else {
                maker
            }
        }
    };
    let name = OPS[op];
    (op, pick(rng, model, name, 0), pick(rng, model, name, 1))
}

#[test]
fn random_async_operations_match_the_spec_model() -> Result<()> {
    let (composed, fused) = host_tests::model::composed_and_fused(COMPOSITION)?;
    let linker = linker(composed.engine())?;
    let mut rng = Rng::new(0xa5_7ab1e);
    let (mut ops, mut traps, mut events) = (0, 0, 0);
    for _sequence in 0..500 {
        let mut model = Model::new();
        let mut a = Live::new(&linker, &composed)?;
        let mut b = Live::new(&linker, &fused)?;
        for _ in 0..150 {
            // Most operations that would trap are drawn again, so that
            // sequences run long enough for copies to meet.
            let (mut op, mut x, mut y) = next(&mut rng, &model);
            if model.traps(OPS[op], x, y) && !rng.next_u64().is_multiple_of(16) {
                (op, x, y) = next(&mut rng, &model);
            }
            let name = OPS[op];
            let got_a = a.call(op, x, y);
            let got_b = b.call(op, x, y);
            ops += 1;
            let at = format!("{name}({x}, {y}) after {ops} operations");
            let expected = match (name, model.ready_in(x)) {
                // Any waitable with an event may be the one delivered; the
                // composed component's choice is the one to check.
                ("poll", Some(ready)) if !ready.is_empty() => {
                    let w = got_a.map(|r| r >> 8);
                    assert!(
                        w.is_some_and(|w| ready.contains(&w)),
                        "composed: {at}: {got_a:?}, not one of {ready:?}"
                    );
                    events += 1;
                    w.and_then(|w| model.deliver(w))
                }
                ("poll", Some(_)) => Some(0),
                _ => model.run(name, x, y),
            };
            assert_eq!(got_a, expected, "composed: {at}");
            assert_eq!(got_b, expected, "fused: {at}");
            if expected.is_none() {
                // Both instances trapped: start over.
                traps += 1;
                break;
            }
        }
    }
    println!("{ops} operations, {traps} traps, {events} events, all equal");
    assert!(ops > 10_000 && traps > 100 && events > 300);
    Ok(())
}
