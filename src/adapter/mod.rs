//! Adapters: one generated core function per cross-component call.
//!
//! An adapter has the core signature the caller imports (`canon lower`), and
//! calls the callee's core function (`canon lift`). In between it does what
//! the canonical ABI's `lift` from one side and `lower` into the other
//! would do, driven by the component-level type: parameters go from the
//! caller to the callee, results come back, then the callee's
//! `post-return` runs.
//!
//! Generation follows the type, as wasmtime's adapter compiler does: one
//! `translate_*` per kind of type, each moving a value from one [`Loc`]
//! (flat core values in locals, or linear memory at an address, on one
//! side of the call) to another (locals to fill, or memory, on the other
//! side). Strings and lists are copied into memory
//! the destination allocated with its own `realloc`; every check the spec
//! makes (bounds, alignment, `char` validity, discriminants, UTF-8
//! validity, length limits) is a trap here too.

use crate::abi::{self, Shape};
use crate::error::{Error, Result};
use crate::instantiate::{Adapter, ComponentInstanceId, Graph};
use crate::parse::StringEncoding;
use code::Code;
use handles::{ResourceInfo, Table};
use outline::{Helper, Outlined};

mod blocks;
pub mod code;
pub mod handles;
pub mod limits;
pub mod outline;
mod strings;
pub mod transcode;
pub mod validate;
use std::borrow::Cow;
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};
use wasmparser::PrimitiveValType as P;
use wasmparser::component_types::{ComponentValType, ResourceId};
use wasmparser::types::TypesRef;

/// How an adapter moves values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Every value travels on the stack.
    Direct,
    /// Values are copied between memories.
    Copy,
    /// Strings change encoding on the way.
    Transcode,
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strategy::Direct => "direct",
            Strategy::Copy => "copy",
            Strategy::Transcode => "transcode",
        })
    }
}

/// How an adapter moves values, for the report.
pub fn strategy(types: TypesRef<'_>, adapter: &Adapter<'_>) -> Strategy {
    let f = &types[adapter.callee.ty];
    let mut uses_memory = false;
    for t in f.params.iter().map(|(_, t)| t).chain(f.result.iter()) {
        uses_memory |= needs_memory(types, t);
    }
    let sig = abi::flatten_func(types, adapter.callee.ty);
    if adapter.lower.string_encoding != adapter.callee.options.string_encoding && uses_memory {
        Strategy::Transcode
    } else if uses_memory || sig.params_spill || sig.results_spill {
        Strategy::Copy
    } else {
        Strategy::Direct
    }
}

/// Whether the adapter would only pass its core values on, so that the
/// caller may call the callee's core function itself: neither side's
/// `may_leave` flag can be seen (`flags_seen`), there is no
/// `post-return`, nothing goes through memory, and every value is a 32-
/// or 64-bit integer or a float (or a record of them), which lifting and
/// lowering leave as they are.
pub fn is_forward(
    abi: &abi::Abi<'_>,
    graph: &Graph<'_>,
    adapter: &Adapter<'_>,
    flags_seen: (bool, bool),
) -> bool {
    fn unchanged(abi: &abi::Abi<'_>, ty: &ComponentValType) -> bool {
        match abi::shape(abi.types, ty) {
            Shape::Scalar(p) => matches!(p, P::S32 | P::U32 | P::S64 | P::U64 | P::F32 | P::F64),
            Shape::Record(fields) => fields.iter().all(|f| unchanged(abi, f)),
            Shape::Repeat(e, _) => unchanged(abi, &e),
            _ => false,
        }
    }
    let f = &abi.types[adapter.callee.ty];
    let sig = abi::flatten_func(abi.types, adapter.callee.ty);
    !graph.traps_at_call(adapter)
        && !f.async_
        && !adapter.lower.async_
        && !adapter.callee.options.async_
        && flags_seen == (false, false)
        && adapter.callee.options.post_return.is_none()
        && !sig.params_spill
        && !sig.results_spill
        && f.params
            .iter()
            .map(|(_, t)| t)
            .chain(f.result.iter())
            .all(|t| unchanged(abi, t))
}

fn needs_memory(types: TypesRef<'_>, ty: &ComponentValType) -> bool {
    abi::any_inside(types, ty, &|s| matches!(s, Shape::String | Shape::List(_)))
}

/// Checks that an adapter can be generated for this call, before any output
/// is produced.
pub fn check(types: TypesRef<'_>, adapter: &Adapter<'_>) -> Result<()> {
    if adapter.cannot_block {
        // It traps before it passes anything.
        return Ok(());
    }
    let f = &types[adapter.callee.ty];
    for t in f.params.iter().map(|(_, t)| t).chain(f.result.iter()) {
        check_type(types, t, adapter)?;
    }
    // A synchronous callee of type `async` may block, unless it is called
    // by an async lower, which `instantiate` lets through only for a
    // callee that uses no async, or its task runs to its end in the call
    // or is one the fused module keeps.
    if f.async_ && !adapter.lower.async_ && !adapter.runs_to_end && !adapter.scheduled {
        return Err(Error::unsupported(
            "async",
            format!("`{}` is an async function", adapter.name),
        ));
    }
    let (caller, callee) = signatures(types, adapter);
    let in_memory = f.params.iter().any(|(_, t)| needs_memory(types, t))
        || f.result.iter().any(|t| needs_memory(types, t));
    let spills = |s: &abi::CoreSignature| s.params_spill || s.results_spill;
    if ((in_memory || spills(&caller)) && adapter.lower.memory.is_none())
        || ((in_memory || spills(&callee)) && adapter.callee.options.memory.is_none())
    {
        return Err(Error::malformed(format!(
            "a call of `{}` passes values through memory, but a side has no `memory` option",
            adapter.name
        )));
    }
    Ok(())
}

/// The caller's and the callee's core signatures of a call: an async
/// lower's parameters and result as [`abi::async_lower_flat`] says, an
/// async lift's result as `task.return` takes it.
fn signatures(
    types: TypesRef<'_>,
    adapter: &Adapter<'_>,
) -> (abi::CoreSignature, abi::CoreSignature) {
    let sig = abi::flatten_func(types, adapter.callee.ty);
    let caller = if adapter.lower.async_ {
        abi::async_lower_flat(sig.clone(), types[adapter.callee.ty].result.is_some())
    } else {
        sig.clone()
    };
    let callee = if adapter.callee.options.async_ {
        abi::task_return_flat(sig)
    } else {
        sig
    };
    (caller, callee)
}

fn check_type(types: TypesRef<'_>, ty: &ComponentValType, adapter: &Adapter<'_>) -> Result<()> {
    let unsupported = |what: &str, feature: &str| {
        Err(Error::unsupported(
            feature,
            format!(
                "a cross-component call of `{}` passes a {what}, which is not supported yet",
                adapter.name
            ),
        ))
    };
    let shape = abi::shape(types, ty);
    match shape {
        Shape::ErrorContext => return unsupported("error-context", "error-context"),
        Shape::Async(what) => return unsupported(what, "async"),
        _ => {}
    }
    shape
        .parts()
        .iter()
        .try_for_each(|t| check_type(types, t, adapter))
}

/// One side of a call, as the fused module sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Side {
    /// The side's memory.
    pub memory: Option<u32>,
    /// The side's `realloc`.
    pub realloc: Option<u32>,
    /// The side's string encoding.
    pub encoding: StringEncoding,
    /// The side's component instance.
    pub instance: ComponentInstanceId,
    /// The instance's handle table; `None` on the host's side of a call,
    /// where handles are the host's own.
    pub table: Option<Table>,
}

/// The parts of the fused module an adapter uses.
pub struct Targets {
    /// The callee's core function.
    pub callee: u32,
    /// The callee's `post-return`, if any.
    pub post_return: Option<u32>,
    /// The caller's options.
    pub caller: Side,
    /// The callee's options.
    pub callee_side: Side,
    /// The `may_leave` flag globals of the caller's and the callee's
    /// component instances, where the flag can be seen.
    pub may_leave: (Option<u32>, Option<u32>),
    /// For a callee lifted async that runs to its end within the call
    /// ([`Adapter::runs_to_end`]): its instance's task globals.
    pub task: Option<Task>,
    /// For a callee whose task the fused module keeps
    /// ([`Adapter::scheduled`], with [`Targets::task`]): the scheduler.
    pub sched: Option<crate::merge::tasks::Sched>,
    /// For a call into an instance some of whose tasks the fused module
    /// keeps, of a task it keeps no record of: the instance's globals of
    /// the running record and of such a task's context, both reset
    /// before the call.
    pub fresh: Option<(u32, u32)>,
}

/// The globals through which a call that runs an async lift to its end
/// and the callee's `task.return` meet (one set per callee component
/// instance: its tasks never overlap, as none blocks).
#[derive(Debug, Clone, Copy)]
pub struct Task {
    /// This call's number (from 1).
    pub call: i32,
    /// Which call's task runs (its number), or 0.
    pub current: u32,
    /// Whether the task has returned its result.
    pub returned: u32,
    /// The caller's return pointer, where the result goes through memory.
    pub dest: u32,
    /// The running task's record, where the fused module keeps its tasks
    /// (`merge::tasks`).
    pub running: u32,
    /// The result where it is one flat value: an `i32`, `i64`, `f32` and
    /// `f64` global.
    pub stash: [u32; 4],
}

impl Task {
    /// The global holding a flat result of type `t`.
    fn stash(&self, t: ValType) -> u32 {
        match t {
            ValType::I64 => self.stash[1],
            ValType::F32 => self.stash[2],
            ValType::F64 => self.stash[3],
            _ => self.stash[0],
        }
    }
}

/// Where a value lies, and whose it is: the side of the call whose
/// locals or memory hold it, whose string encoding it is in, and whose
/// handle table numbers its handles.
#[derive(Debug, Clone)]
struct Loc {
    side: Side,
    at: At,
}

/// Locals or linear memory.
#[derive(Debug, Clone)]
enum At {
    /// Flat core values in locals, each with the type the local has (wider
    /// than the value's own when it is a variant payload).
    Stack(Vec<(u32, ValType)>),
    /// Linear memory.
    Memory(Mem),
}

impl Loc {
    /// `side`'s flat values in these locals.
    fn stack(side: Side, locals: Vec<(u32, ValType)>) -> Loc {
        Loc {
            side,
            at: At::Stack(locals),
        }
    }

    /// In `side`'s memory, at the address in local `addr`.
    fn memory(side: Side, addr: u32) -> Loc {
        Loc {
            side,
            at: At::Memory(Mem {
                memory: memory(side),
                addr,
                offset: 0,
            }),
        }
    }

    /// The part of this value at flat positions `flat` (in locals) or
    /// `offset` bytes in (in memory).
    fn part(&self, flat: std::ops::Range<usize>, offset: u32) -> Loc {
        Loc {
            side: self.side,
            at: match &self.at {
                At::Stack(v) => At::Stack(v[flat].to_vec()),
                At::Memory(m) => At::Memory(m.at(offset)),
            },
        }
    }

    /// The same place, seen as `side`'s: a handle converted in place
    /// belongs to one side before and to the other after.
    fn as_side(&self, side: Side) -> Loc {
        Loc {
            side,
            at: self.at.clone(),
        }
    }
}

/// An address in a memory: the local holding the base, plus an offset.
#[derive(Debug, Clone, Copy)]
struct Mem {
    memory: u32,
    addr: u32,
    offset: u32,
}

impl Mem {
    fn at(self, offset: u32) -> Mem {
        Mem {
            offset: self.offset + offset,
            ..self
        }
    }

    fn arg(self, align_log2: u32) -> MemArg {
        MemArg {
            offset: u64::from(self.offset),
            align: align_log2,
            memory_index: self.memory,
        }
    }
}

fn wasm_type(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(_) => unreachable!("flattening never yields reference types"),
    }
}

/// What generated functions that move values need of the fused module.
pub struct Env<'t, 'o> {
    /// The input's types and their ABI facts.
    pub abi: &'t abi::Abi<'t>,
    /// Resource types of handles, by the resource ids of the function type
    /// being generated.
    pub resources: &'t dyn Fn(ResourceId) -> ResourceInfo,
    /// The global numbering calls that lend handles.
    pub call_number: u32,
    /// The functions adapters share.
    pub outlined: &'o mut Outlined,
    /// The component instance whose resource ids `resources` resolves.
    pub scope: ComponentInstanceId,
    /// Values in memory heavier than this are shared moves.
    pub outline: u64,
    /// For the async instance with a table of its own: the function
    /// recording which index a host index is (`merge::asyncs`), through
    /// which its streams, futures and error contexts are translated like
    /// its resource handles. `None` elsewhere: they pass as they are.
    pub async_map: Option<u32>,
}

struct Gen<'t, 'o> {
    types: TypesRef<'t>,
    /// The ABI facts of the input's types.
    abi: &'t abi::Abi<'t>,
    /// Resource types of handles, by the callee's resource ids.
    resources: &'t dyn Fn(ResourceId) -> ResourceInfo,
    /// The global numbering calls that lend handles.
    call_number: u32,
    /// The functions adapters share.
    outlined: &'o mut Outlined,
    /// The component instance whose resource ids `resources` resolves.
    scope: ComponentInstanceId,
    /// Values in memory heavier than this are shared moves.
    outline: u64,
    /// See [`Env::async_map`].
    async_map: Option<u32>,
    code: Code,
}

impl<'t, 'o> Gen<'t, 'o> {
    /// A generator for a function with `params` parameters that moves
    fn new(env: Env<'t, 'o>, params: u32) -> Self {
        Gen {
            types: env.abi.types,
            abi: env.abi,
            resources: env.resources,
            call_number: env.call_number,
            outlined: env.outlined,
            scope: env.scope,
            outline: env.outline,
            async_map: env.async_map,
            code: Code::new(params),
        }
    }
}

/// Generates the adapter's body. `check` must have accepted it. The
/// environment's resources are those of the callee's function type.
pub fn generate(env: Env<'_, '_>, adapter: &Adapter<'_>, targets: &Targets) -> Function {
    let types = env.abi.types;
    let abi = env.abi;
    let f = &types[adapter.callee.ty];
    // An async lower of a callee that runs to its end within the call
    // returns `RETURNED` with the result stored.
    let (caller_sig, sig) = signatures(types, adapter);
    let param_types: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
    // The caller's core signature: flat params or one pointer, then a
    // return pointer when results go through memory.
    let caller_params: Vec<ValType> = if caller_sig.params_spill {
        vec![ValType::I32]
    } else {
        caller_sig.params.iter().copied().map(wasm_type).collect()
    };
    let retptr = caller_sig
        .results_spill
        .then_some(caller_params.len() as u32);
    let n_params = caller_params.len() as u32 + u32::from(retptr.is_some());
    let mut g = Gen::new(env, n_params);

    // A component may not call out while it is being lowered into or
    // runs its post-return.
    let (caller_flag, callee_flag) = targets.may_leave;
    if let Some(flag) = caller_flag {
        g.code.extend([I::GlobalGet(flag), I::I32Eqz]);
        g.trap_if();
    }
    let params_allocate = sig.params_spill || param_types.iter().any(|t| abi.facts(t).memory);
    let results_allocate = f.result.iter().any(|t| abi.facts(t).memory);

    // Borrowed handles: the call lends them, and the callee must drop every
    // borrow it receives before it returns.
    let lends = param_types.iter().any(|t| abi.facts(t).borrows);
    let scope = g.open_borrow_scope(targets.callee_side.table, lends);
    if lends {
        g.begin_lending();
    }

    // Parameters: caller -> callee.
    if params_allocate {
        g.set_flag(callee_flag, 0);
    }
    let callee_args = g.pass_params((&caller_sig, &sig), &param_types, &caller_params, targets);
    if params_allocate {
        g.set_flag(callee_flag, 1);
    }
    if let Some(task) = &targets.task {
        // The callee's `task.return` finds this call's task and where its
        // result goes.
        g.code.extend([
            I::I32Const(task.call),
            I::GlobalSet(task.current),
            I::I32Const(0),
            I::GlobalSet(task.returned),
        ]);
        if let Some(r) = retptr {
            g.code.extend([I::LocalGet(r), I::GlobalSet(task.dest)]);
        }
    }
    let task_id = match (&targets.task, &targets.sched) {
        (Some(task), Some(sched)) => Some(g.start_task(adapter, task, sched, retptr)),
        _ => None,
    };
    if let (None, Some((running, context))) = (task_id, targets.fresh) {
        g.code.extend([
            I::I32Const(0),
            I::GlobalSet(running),
            I::I32Const(0),
            I::GlobalSet(context),
        ]);
    }
    for a in &callee_args {
        g.code.body.push(I::LocalGet(*a));
    }
    g.code.body.push(I::Call(targets.callee));
    g.close_borrow_scope(scope);
    if let (Some(task), Some(sched), Some(id)) = (&targets.task, &targets.sched, task_id) {
        return g.end_scheduled(adapter, task, sched, id);
    }
    if lends {
        g.begin_lending();
    }
    if let Some(task) = &targets.task {
        return g.end_task(adapter, task, retptr);
    }

    // Results: callee -> caller.
    let callee_results = g.pop_results(&sig);
    let mut returns = Vec::new();
    if results_allocate {
        g.set_flag(caller_flag, 0);
    }
    if let Some(result) = &f.result {
        returns = g.pass_results(&sig, *result, &callee_results, retptr, targets);
    }
    if results_allocate {
        g.set_flag(caller_flag, 1);
    }
    if let Some(post) = targets.post_return {
        g.set_flag(callee_flag, 0);
        for (l, _) in &callee_results {
            g.code.body.push(I::LocalGet(*l));
        }
        g.code.push(I::Call(post));
        g.set_flag(callee_flag, 1);
    }
    if adapter.lower.async_ {
        g.code.push(I::I32Const(RETURNED));
    }
    g.finish(&returns)
}

/// An async call's status, and a subtask's state, when the callee has
/// returned (`RETURNED`): its result is written.
pub(crate) const RETURNED: i32 = 2;

impl Gen<'_, '_> {
    /// After the core function of an async lift that runs to its end
    /// returned: a `callback` lift's code must be `EXIT` (it is, proved),
    /// and the task must have returned its result (else it traps, as the
    /// runtime's task does that exits unresolved); the caller gets the
    /// result `task.return` left flat, or `RETURNED` from an async lower.
    fn end_task(mut self, adapter: &Adapter<'_>, task: &Task, retptr: Option<u32>) -> Function {
        if adapter.callee.options.callback.is_some() {
            self.code.extend([I::I32Eqz, I::I32Eqz]);
            self.trap_if();
        }
        self.code.extend([I::GlobalGet(task.returned), I::I32Eqz]);
        self.trap_if();
        self.code
            .extend([I::I32Const(0), I::GlobalSet(task.current)]);
        let mut returns = Vec::new();
        if adapter.lower.async_ {
            self.code.push(I::I32Const(RETURNED));
        } else if retptr.is_none() {
            returns = self.read_stash(adapter, task);
        }
        self.finish(&returns)
    }
}

impl Gen<'_, '_> {
    /// Before the first turn of a task the fused module keeps: its record
    /// (returned in a local), and the callee instance's task globals.
    fn start_task(
        &mut self,
        adapter: &Adapter<'_>,
        task: &Task,
        sched: &crate::merge::tasks::Sched,
        retptr: Option<u32>,
    ) -> u32 {
        let id = self.code.temp(ValType::I32);
        if !adapter.lower.async_ {
            self.code.extend([I::I32Const(0), sched.sync_done.set()]);
        }
        self.code.extend([
            I::I32Const(task.call),
            retptr.map_or(I::I32Const(0), I::LocalGet),
            I::I32Const(adapter.callee.instance.index() as i32 + 1),
            sched.task_new.call(),
            I::LocalTee(id),
            I::GlobalSet(task.running),
        ]);
        id
    }

    /// After the first turn of a task the fused module keeps (its code on
    /// the stack; none from a lift without `callback`, whose task ends
    /// when its core function returns): an async lower gets `RETURNED`
    /// when the task returned by then, else a subtask, `STARTED`; a
    /// synchronous one runs queued tasks until the task returns (trapping
    /// when none is queued) and gets the result `task.return` left flat.
    fn end_scheduled(
        mut self,
        adapter: &Adapter<'_>,
        task: &Task,
        sched: &crate::merge::tasks::Sched,
        id: u32,
    ) -> Function {
        let code = self.code.temp(ValType::I32);
        if adapter.callee.options.callback.is_none() {
            self.code.push(I::I32Const(0));
        }
        self.code.push(I::LocalSet(code));
        let mut returns = Vec::new();
        if adapter.lower.async_ {
            let status = self.code.temp(ValType::I32);
            self.code.extend(sched.returned(id));
            self.code.extend([
                I::If(wasm_encoder::BlockType::Empty),
                I::I32Const(RETURNED),
                I::LocalSet(status),
                I::Else,
            ]);
            sched.subtask(&mut self.code, id, status);
            self.code.extend([
                I::LocalGet(status),
                I::I32Const(4),
                I::I32Shl,
                I::I32Const(1),
                I::I32Or,
                I::LocalSet(status),
                I::End,
                I::LocalGet(id),
                I::LocalGet(code),
                sched.settle.call(),
                I::LocalGet(status),
            ]);
        } else {
            self.code.extend([
                I::LocalGet(id),
                I::LocalGet(code),
                sched.settle.call(),
                I::Block(wasm_encoder::BlockType::Empty),
                I::Loop(wasm_encoder::BlockType::Empty),
                sched.sync_done.get(),
                I::LocalGet(id),
                I::I32Eq,
                I::BrIf(1),
                sched.run_one.call(),
                I::I32Eqz,
            ]);
            self.trap_if();
            self.code.extend([I::Br(0), I::End, I::End]);
            if !abi::flatten_func(self.types, adapter.callee.ty).results_spill {
                returns = self.read_stash(adapter, task);
            }
        }
        self.finish(&returns)
    }

    /// The callee's flat result, which its `task.return` left in the task
    /// globals, read into fresh locals.
    fn read_stash(&mut self, adapter: &Adapter<'_>, task: &Task) -> Vec<(u32, ValType)> {
        let mut returns = Vec::new();
        if let Some(result) = &self.types[adapter.callee.ty].result {
            let mut flat = Vec::new();
            abi::flatten(self.types, result, &mut flat);
            for t in flat {
                let t = wasm_type(t);
                let l = self.code.temp(t);
                self.code
                    .extend([I::GlobalGet(task.stash(t)), I::LocalSet(l)]);
                returns.push((l, t));
            }
        }
        returns
    }
}

/// One call a `task.return` may end (one whose lift has the built-in's
/// result type and options): the adapter and its targets.
pub struct Returning<'r, 'a> {
    /// The call.
    pub adapter: &'r Adapter<'a>,
    /// Its targets (with [`Targets::task`]).
    pub targets: Targets,
}

/// The body of a callee instance's `task.return` (of core parameters
/// `params`), for the calls it may end: it traps if the running task has
/// returned or is none of them, else moves the result (of the type of the
/// call's function, which is the built-in's) to the caller: to its return
/// pointer, or into the flat result globals the adapter reads.
pub fn task_return(
    env: Env<'_, '_>,
    params: &[wasmparser::ValType],
    calls: &[Returning<'_, '_>],
) -> Function {
    let mut g = Gen::new(env, params.len() as u32);
    let args: Vec<(u32, ValType)> = params
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32, wasm_type(*t)))
        .collect();
    // The calls' tasks are one instance's: one `returned` flag.
    if let Some(task) = calls.iter().find_map(|c| c.targets.task) {
        g.code.push(I::GlobalGet(task.returned));
        g.trap_if();
    }
    for c in calls {
        let Some(task) = c.targets.task else { continue };
        g.code.extend([
            I::GlobalGet(task.current),
            I::I32Const(task.call),
            I::I32Eq,
            I::If(wasm_encoder::BlockType::Empty),
            I::I32Const(1),
            I::GlobalSet(task.returned),
        ]);
        if let Some(result) = g.types[c.adapter.callee.ty].result {
            let (caller_sig, sig) = signatures(g.types, c.adapter);
            let retptr = caller_sig.results_spill.then(|| {
                let r = g.code.temp(ValType::I32);
                g.code.extend([I::GlobalGet(task.dest), I::LocalSet(r)]);
                r
            });
            let allocates = g.abi.facts(&result).memory;
            let flag = c.targets.may_leave.0;
            if allocates {
                g.set_flag(flag, 0);
            }
            let returns = g.pass_results(&sig, result, &args, retptr, &c.targets);
            if allocates {
                g.set_flag(flag, 1);
            }
            for (l, t) in returns {
                g.code.extend([I::LocalGet(l), I::GlobalSet(task.stash(t))]);
            }
        }
        if let Some(sched) = &c.targets.sched {
            g.code
                .extend([I::GlobalGet(task.running), sched.caller.1.call()]);
        }
        g.code.extend([I::Return, I::End]);
    }
    g.code.push(I::Unreachable);
    g.finish(&[])
}

impl Gen<'_, '_> {
    /// Fresh temporaries for the flat core values `flat`.
    fn flat_temps(&mut self, flat: &[wasmparser::ValType]) -> Vec<(u32, ValType)> {
        flat.iter()
            .map(|t| {
                let t = wasm_type(*t);
                (self.code.temp(t), t)
            })
            .collect()
    }

    /// Pops the results of the call just made into fresh temporaries: one
    /// pointer when they go through memory, else the flat values.
    fn pop_results(&mut self, sig: &abi::CoreSignature) -> Vec<(u32, ValType)> {
        let results = if sig.results_spill {
            vec![(self.code.temp(ValType::I32), ValType::I32)]
        } else {
            self.flat_temps(&sig.results)
        };
        for (l, _) in results.iter().rev() {
            self.code.push(I::LocalSet(*l));
        }
        results
    }

    /// Sets a `may_leave` flag, if it can be seen.
    fn set_flag(&mut self, flag: Option<u32>, value: i32) {
        if let Some(flag) = flag {
            self.code.extend([I::I32Const(value), I::GlobalSet(flag)]);
        }
    }

    /// Moves the parameters from the caller's side (flat, or spilled to
    /// the caller's memory) to the callee's, flat or through a block the
    /// callee's `realloc` gives; returns the locals to call the callee with.
    fn pass_params(
        &mut self,
        (caller_sig, sig): (&abi::CoreSignature, &abi::CoreSignature),
        param_types: &[ComponentValType],
        caller_params: &[ValType],
        targets: &Targets,
    ) -> Vec<u32> {
        let params_tuple = self.abi.record_layout(param_types).size_align;
        let src = if caller_sig.params_spill {
            self.check_range(targets.caller, 0, params_tuple);
            Loc::memory(targets.caller, 0)
        } else {
            Loc::stack(
                targets.caller,
                caller_params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (i as u32, *t))
                    .collect(),
            )
        };
        if sig.params_spill {
            let (size, align) = params_tuple;
            let size_local = self.const_local(size);
            let ptr = self.alloc(targets.callee_side, align, size_local);
            self.translate_tuple(param_types, &src, &Loc::memory(targets.callee_side, ptr));
            vec![ptr]
        } else {
            let dst = self.flat_temps(&sig.params);
            self.translate_tuple(
                param_types,
                &src,
                &Loc::stack(targets.callee_side, dst.clone()),
            );
            dst.iter().map(|(l, _)| *l).collect()
        }
    }

    /// Moves the callee's result (in `callee_results`: flat, or a pointer
    /// into its memory) to the caller: flat, or to its return pointer.
    /// Returns the locals to return.
    fn pass_results(
        &mut self,
        sig: &abi::CoreSignature,
        result: ComponentValType,
        callee_results: &[(u32, ValType)],
        retptr: Option<u32>,
        targets: &Targets,
    ) -> Vec<(u32, ValType)> {
        let results = [result];
        let size_align = self.abi.record_layout(&results).size_align;
        let src = if sig.results_spill {
            let addr = callee_results[0].0;
            self.check_range(targets.callee_side, addr, size_align);
            Loc::memory(targets.callee_side, addr)
        } else {
            Loc::stack(targets.callee_side, callee_results.to_vec())
        };
        // Through the caller's return pointer when it gave one (spilled
        // results, or any result of an async lower).
        if let Some(retptr) = retptr {
            self.check_range(targets.caller, retptr, size_align);
            self.translate_tuple(&results, &src, &Loc::memory(targets.caller, retptr));
            Vec::new()
        } else {
            let dst = self.flat_temps(&sig.results);
            self.translate_tuple(&results, &src, &Loc::stack(targets.caller, dst.clone()));
            dst
        }
    }
}

fn memory(side: Side) -> u32 {
    side.memory
        .unwrap_or_else(|| unreachable!("checked: both sides have a memory"))
}

impl Gen<'_, '_> {
    fn trap_if(&mut self) {
        self.code.trap_if();
    }

    fn const_local(&mut self, v: u32) -> u32 {
        self.code.const_local(v)
    }

    /// Traps unless `[addr, addr + size)` lies in `side`'s memory and
    /// `addr` is aligned (the spec's checks before reading or writing a
    /// tuple through a pointer).
    fn check_range(&mut self, side: Side, addr: u32, (size, align): (u32, u32)) {
        let size_local = self.const_local(size);
        self.check_ptr(memory(side), addr, size_local, align);
    }

    /// Traps unless `ptr` is `align`-aligned and `ptr + byte_len` (both
    /// i32 locals, unsigned) is within `memory`.
    fn check_ptr(&mut self, memory: u32, ptr: u32, byte_len: u32, align: u32) {
        if align > 1 {
            self.code
                .body
                .extend([I::LocalGet(ptr), I::I32Const(align as i32 - 1), I::I32And]);
            self.trap_if();
        }
        self.code.body.extend([
            I::LocalGet(ptr),
            I::I64ExtendI32U,
            I::LocalGet(byte_len),
            I::I64ExtendI32U,
            I::I64Add,
            I::MemorySize(memory),
            I::I64ExtendI32U,
            I::I64Const(16),
            I::I64Shl,
            I::I64GtU,
        ]);
        self.trap_if();
    }

    /// Calls `side`'s `realloc(0, 0, align, size)` and checks the result.
    fn alloc(&mut self, side: Side, align: u32, size: u32) -> u32 {
        self.realloc(side, None, align, size)
    }

    /// Calls `side`'s `realloc(old_ptr, old_size, align, size)` (zeros
    /// without `old`) and traps unless the result is aligned and in bounds.
    fn realloc(&mut self, side: Side, old: Option<(u32, u32)>, align: u32, size: u32) -> u32 {
        let realloc = side
            .realloc
            .unwrap_or_else(|| unreachable!("checked: destination has realloc"));
        let ptr = self.code.temp(ValType::I32);
        match old {
            Some((p, s)) => self.code.body.extend([I::LocalGet(p), I::LocalGet(s)]),
            None => self.code.body.extend([I::I32Const(0), I::I32Const(0)]),
        }
        self.code.body.extend([
            I::I32Const(align as i32),
            I::LocalGet(size),
            I::Call(realloc),
            I::LocalSet(ptr),
        ]);
        self.check_ptr(memory(side), ptr, size, align);
        ptr
    }

    fn translate_tuple(&mut self, fields: &[ComponentValType], src: &Loc, dst: &Loc) {
        let layout = self.abi.record_layout(fields);
        let (mut si, mut di) = (0, 0);
        for (field, offset) in fields.iter().zip(&layout.offsets) {
            let n = self.abi.flat_len(field);
            let s = src.part(si..si + n, *offset);
            let d = dst.part(di..di + n, *offset);
            si += n;
            di += n;
            self.translate(field, &s, &d);
        }
    }

    /// Moves one value. Temporaries it takes are free again afterwards:
    /// what it produces lives in `dst`, which the caller allocated. A
    /// value in memory whose code would weigh more than the outline weight
    /// ([`limits::OUTLINE_WEIGHT`] by default) is moved by a call to a function shared
    /// by every move of its type between the same two sides.
    fn translate(&mut self, ty: &ComponentValType, src: &Loc, dst: &Loc) {
        if let (At::Memory(s), At::Memory(d)) = (&src.at, &dst.at)
            && self.abi.facts(ty).weight > self.outline
        {
            let f = self.outlined_translation(ty, src.side, dst.side);
            for m in [s, d] {
                self.code.push(I::LocalGet(m.addr));
                if m.offset > 0 {
                    self.code.extend([I::I32Const(m.offset as i32), I::I32Add]);
                }
            }
            self.code.push(I::Call(f));
            return;
        }
        self.translate_inline(ty, src, dst);
    }

    /// The shared function `(src, dst)` that moves a value of type `ty`
    /// from `from`'s memory at `src` to `to`'s at `dst`.
    fn outlined_translation(&mut self, ty: &ComponentValType, from: Side, to: Side) -> u32 {
        let key = Helper::Translate(outline::Translation {
            ty: abi::Key::from(ty),
            from,
            to,
            scope: self.scope,
        });
        if let Some(f) = self.outlined.get(key) {
            return f;
        }
        let f = self.outlined.func(key);
        let env = Env {
            abi: self.abi,
            resources: self.resources,
            call_number: self.call_number,
            outlined: &mut *self.outlined,
            scope: self.scope,
            outline: self.outline,
            async_map: None,
        };
        let mut g = Gen::new(env, 2);
        g.translate_inline(ty, &Loc::memory(from, 0), &Loc::memory(to, 1));
        let body = g.finish(&[]);
        self.outlined.built(key, body);
        f
    }

    /// Moves one value with code written here.
    fn translate_inline(&mut self, ty: &ComponentValType, src: &Loc, dst: &Loc) {
        let mark = self.code.mark();
        match abi::shape(self.types, ty) {
            Shape::String => self.translate_string(src, dst),
            Shape::Scalar(p) => self.translate_primitive(p, src, dst),
            Shape::Record(fields) => self.translate_tuple(&fields, src, dst),
            Shape::Repeat(element, length) => match (&src.at, &dst.at) {
                (At::Memory(s), At::Memory(d)) if length > 1 => {
                    self.translate_repeat(element, length, (s, src.side), (d, dst.side))
                }
                _ => {
                    let fields = vec![element; length as usize];
                    self.translate_tuple(&fields, src, dst);
                }
            },
            Shape::Variant(cases) => self.translate_variant(&cases, src, dst),
            Shape::Enum(n) => self.translate_variant(&vec![None; n], src, dst),
            Shape::Flags(n) => self.translate_flags(n, src, dst),
            Shape::List(fields) => self.translate_list(&fields, src, dst),
            Shape::Handle(own, r) => self.translate_handle(own, r, src, dst),
            Shape::ErrorContext | Shape::Async(_) => unreachable!("rejected by `check`"),
        }
        self.code.release(mark);
    }

    /// Pushes one core value of type `want` read from a stack slot.
    fn get(&mut self, (local, has): (u32, ValType), want: ValType) {
        self.code.body.push(I::LocalGet(local));
        match (has, want) {
            (a, b) if a == b => {}
            (ValType::I64, ValType::I32) => self.code.body.push(I::I32WrapI64),
            (ValType::I64, ValType::F32) => {
                self.code.body.extend([I::I32WrapI64, I::F32ReinterpretI32])
            }
            (ValType::I64, ValType::F64) => self.code.body.push(I::F64ReinterpretI64),
            (ValType::I32, ValType::F32) => self.code.body.push(I::F32ReinterpretI32),
            (a, b) => unreachable!("no flat coercion from {a:?} to {b:?}"),
        }
    }

    /// Stores the core value of type `has` on the stack into a slot.
    fn set(&mut self, has: ValType, (local, want): (u32, ValType)) {
        match (has, want) {
            (a, b) if a == b => {}
            (ValType::I32, ValType::I64) => self.code.body.push(I::I64ExtendI32U),
            (ValType::F32, ValType::I64) => self
                .code
                .body
                .extend([I::I32ReinterpretF32, I::I64ExtendI32U]),
            (ValType::F64, ValType::I64) => self.code.body.push(I::I64ReinterpretF64),
            (ValType::F32, ValType::I32) => self.code.body.push(I::I32ReinterpretF32),
            (a, b) => unreachable!("no flat coercion from {a:?} to {b:?}"),
        }
        self.code.body.push(I::LocalSet(local));
    }

    fn translate_primitive(&mut self, p: P, src: &Loc, dst: &Loc) {
        let core = match p {
            P::S64 | P::U64 => ValType::I64,
            P::F32 => ValType::F32,
            P::F64 => ValType::F64,
            _ => ValType::I32,
        };
        // Lift: the canonical core value on the stack.
        match &src.at {
            At::Stack(v) => {
                self.get(v[0], core);
                match p {
                    P::Bool => self.code.body.extend([I::I32Const(0), I::I32Ne]),
                    P::S8 => self.code.body.push(I::I32Extend8S),
                    P::U8 => self.code.body.extend([I::I32Const(0xff), I::I32And]),
                    P::S16 => self.code.body.push(I::I32Extend16S),
                    P::U16 => self.code.body.extend([I::I32Const(0xffff), I::I32And]),
                    _ => {}
                }
            }
            At::Memory(m) => {
                self.code.body.push(I::LocalGet(m.addr));
                self.code.body.push(match p {
                    P::Bool | P::U8 => I::I32Load8U(m.arg(0)),
                    P::S8 => I::I32Load8S(m.arg(0)),
                    P::S16 => I::I32Load16S(m.arg(1)),
                    P::U16 => I::I32Load16U(m.arg(1)),
                    P::S32 | P::U32 | P::Char => I::I32Load(m.arg(2)),
                    P::S64 | P::U64 => I::I64Load(m.arg(3)),
                    P::F32 => I::F32Load(m.arg(2)),
                    P::F64 => I::F64Load(m.arg(3)),
                    P::String | P::ErrorContext => unreachable!("not a scalar"),
                });
                if p == P::Bool {
                    self.code.body.extend([I::I32Const(0), I::I32Ne]);
                }
            }
        }
        if p == P::Char {
            // Trap unless a Unicode scalar value: below 0x110000 and not a
            // surrogate (0xD800..=0xDFFF).
            let c = self.code.temp(ValType::I32);
            self.code.body.extend([
                I::LocalTee(c),
                I::I32Const(0x11_0000),
                I::I32GeU,
                I::LocalGet(c),
                I::I32Const(0xD800),
                I::I32Sub,
                I::I32Const(0x800),
                I::I32LtU,
                I::I32Or,
            ]);
            self.trap_if();
            self.code.body.push(I::LocalGet(c));
        }
        // Lower.
        match &dst.at {
            At::Stack(v) => self.set(core, v[0]),
            At::Memory(m) => {
                let tmp = self.code.temp(core);
                self.code
                    .body
                    .extend([I::LocalSet(tmp), I::LocalGet(m.addr), I::LocalGet(tmp)]);
                self.code.body.push(match p {
                    P::Bool | P::U8 | P::S8 => I::I32Store8(m.arg(0)),
                    P::S16 | P::U16 => I::I32Store16(m.arg(1)),
                    P::S32 | P::U32 | P::Char => I::I32Store(m.arg(2)),
                    P::S64 | P::U64 => I::I64Store(m.arg(3)),
                    P::F32 => I::F32Store(m.arg(2)),
                    P::F64 => I::F64Store(m.arg(3)),
                    P::String | P::ErrorContext => unreachable!("not a scalar"),
                });
            }
        }
    }

    /// Reads a `(pointer, length)` pair into two fresh i32 locals.
    fn read_pair(&mut self, src: &Loc) -> (u32, u32) {
        let ptr = self.code.temp(ValType::I32);
        let len = self.code.temp(ValType::I32);
        match &src.at {
            At::Stack(v) => {
                self.get(v[0], ValType::I32);
                self.code.body.push(I::LocalSet(ptr));
                self.get(v[1], ValType::I32);
                self.code.body.push(I::LocalSet(len));
            }
            At::Memory(m) => {
                self.code.body.extend([
                    I::LocalGet(m.addr),
                    I::I32Load(m.arg(2)),
                    I::LocalSet(ptr),
                ]);
                self.code.body.extend([
                    I::LocalGet(m.addr),
                    I::I32Load(m.at(4).arg(2)),
                    I::LocalSet(len),
                ]);
            }
        }
        (ptr, len)
    }

    fn write_pair(&mut self, (ptr, len): (u32, u32), dst: &Loc) {
        match &dst.at {
            At::Stack(v) => {
                self.code.body.push(I::LocalGet(ptr));
                self.set(ValType::I32, v[0]);
                self.code.body.push(I::LocalGet(len));
                self.set(ValType::I32, v[1]);
            }
            At::Memory(m) => {
                self.code.body.extend([
                    I::LocalGet(m.addr),
                    I::LocalGet(ptr),
                    I::I32Store(m.arg(2)),
                ]);
                self.code.body.extend([
                    I::LocalGet(m.addr),
                    I::LocalGet(len),
                    I::I32Store(m.at(4).arg(2)),
                ]);
            }
        }
    }

    /// Copies a list whose elements are records of `fields` (one field
    /// for `list<t>`, key and value for a map).
    fn translate_list(&mut self, fields: &[ComponentValType], src: &Loc, dst: &Loc) {
        let (ptr, len) = self.read_pair(src);
        let (from, to) = (src.side, dst.side);
        let (size, align) = self.abi.record_layout(fields).size_align;
        let bytes = self.list_bytes(memory(from), ptr, len, (size, align));
        let new = self.alloc(to, align, bytes);
        if fields.iter().all(|f| self.abi.facts(f).byte_copyable) {
            code::copy_bytes(
                &mut self.code,
                (memory(from), ptr),
                (memory(to), new),
                bytes,
            );
        } else if size > 0 {
            // Element by element: two cursors and a countdown.
            let (s, d, n) = (
                self.code.temp(ValType::I32),
                self.code.temp(ValType::I32),
                self.code.temp(ValType::I32),
            );
            self.code.extend([
                I::LocalGet(ptr),
                I::LocalSet(s),
                I::LocalGet(new),
                I::LocalSet(d),
                I::LocalGet(len),
                I::LocalSet(n),
            ]);
            self.loop_elements(fields, size, (s, from), (d, to), n);
        }
        self.write_pair((new, len), dst);
    }

    /// A fixed-length list in memory: one element at a time, in a loop.
    fn translate_repeat(
        &mut self,
        element: ComponentValType,
        length: u32,
        (s, from): (&Mem, Side),
        (d, to): (&Mem, Side),
    ) {
        let facts = self.abi.facts(&element);
        let size = facts.size_align.0;
        if facts.byte_copyable {
            for m in [d, s] {
                self.code
                    .extend([I::LocalGet(m.addr), I::I32Const(m.offset as i32), I::I32Add]);
            }
            self.code.extend([
                I::I32Const(size.saturating_mul(length) as i32),
                I::MemoryCopy {
                    src_mem: s.memory,
                    dst_mem: d.memory,
                },
            ]);
            return;
        }
        let (sc, dc) = (self.code.temp(ValType::I32), self.code.temp(ValType::I32));
        for (m, cursor) in [(s, sc), (d, dc)] {
            self.code.extend([
                I::LocalGet(m.addr),
                I::I32Const(m.offset as i32),
                I::I32Add,
                I::LocalSet(cursor),
            ]);
        }
        let n = self.code.const_local(length);
        self.loop_elements(&[element], size, (sc, from), (dc, to), n);
    }

    /// Moves `n` (a local, counted down) elements, records of `fields` of
    /// `size` bytes, from the `from` cursor to the `to` cursor.
    fn loop_elements(
        &mut self,
        fields: &[ComponentValType],
        size: u32,
        (s, from): (u32, Side),
        (d, to): (u32, Side),
        n: u32,
    ) {
        self.count_down(n, &[s, d], size, |g| {
            g.translate_tuple(fields, &Loc::memory(from, s), &Loc::memory(to, d));
        });
    }

    /// `while n != 0 { body; each cursor += size; n -= 1 }`, with `n` a
    /// local.
    fn count_down(&mut self, n: u32, cursors: &[u32], size: u32, body: impl FnOnce(&mut Self)) {
        self.code
            .extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
        self.code.extend([I::LocalGet(n), I::I32Eqz, I::BrIf(1)]);
        body(self);
        for cursor in cursors {
            self.code.extend([
                I::LocalGet(*cursor),
                I::I32Const(size as i32),
                I::I32Add,
                I::LocalSet(*cursor),
            ]);
        }
        self.code.extend([
            I::LocalGet(n),
            I::I32Const(1),
            I::I32Sub,
            I::LocalSet(n),
            I::Br(0),
            I::End,
            I::End,
        ]);
    }

    /// The byte length of a list of `len` elements of `(size, align)` at
    /// `ptr` in `memory`, trapping on overflow, misalignment or bounds.
    fn list_bytes(&mut self, memory: u32, ptr: u32, len: u32, (size, align): (u32, u32)) -> u32 {
        let bytes = self.code.temp(ValType::I32);
        self.code.body.extend([
            I::LocalGet(len),
            I::I64ExtendI32U,
            I::I64Const(i64::from(size)),
            I::I64Mul,
            I::I64Const(0xffff_ffff),
            I::I64GtU,
        ]);
        self.trap_if();
        self.code.body.extend([
            I::LocalGet(len),
            I::I32Const(size as i32),
            I::I32Mul,
            I::LocalSet(bytes),
        ]);
        self.check_ptr(memory, ptr, bytes, align);
        bytes
    }

    /// Ends the function: pushes the result locals and returns.
    fn finish(mut self, results: &[(u32, ValType)]) -> Function {
        for (l, _) in results {
            self.code.push(I::LocalGet(*l));
        }
        self.code.finish()
    }

    fn translate_flags(&mut self, n: usize, src: &Loc, dst: &Loc) {
        let words = n.div_ceil(32);
        let size = abi::flags_size(n);
        for w in 0..words {
            let bits = (n - w * 32).min(32);
            let mask = if bits == 32 {
                -1
            } else {
                ((1u32 << bits) - 1) as i32
            };
            match &src.at {
                At::Stack(v) => self.get(v[w], ValType::I32),
                At::Memory(m) => {
                    self.code.body.push(I::LocalGet(m.addr));
                    self.code.body.push(match size {
                        1 => I::I32Load8U(m.arg(0)),
                        2 => I::I32Load16U(m.arg(1)),
                        _ => I::I32Load(m.at(4 * w as u32).arg(2)),
                    });
                }
            }
            // Bits beyond the last flag are ignored by lifting.
            self.code.body.extend([I::I32Const(mask), I::I32And]);
            match &dst.at {
                At::Stack(v) => self.set(ValType::I32, v[w]),
                At::Memory(m) => {
                    let tmp = self.code.temp(ValType::I32);
                    self.code.body.extend([
                        I::LocalSet(tmp),
                        I::LocalGet(m.addr),
                        I::LocalGet(tmp),
                    ]);
                    self.code.body.push(match size {
                        1 => I::I32Store8(m.arg(0)),
                        2 => I::I32Store16(m.arg(1)),
                        _ => I::I32Store(m.at(4 * w as u32).arg(2)),
                    });
                }
            }
        }
    }

    fn translate_variant(&mut self, cases: &[Option<ComponentValType>], src: &Loc, dst: &Loc) {
        let layout = self.abi.variant_layout(cases);
        let disc = self.code.temp(ValType::I32);
        let d_arg = |m: Mem| match layout.discriminant {
            1 => (I::I32Load8U(m.arg(0)), I::I32Store8(m.arg(0))),
            2 => (I::I32Load16U(m.arg(1)), I::I32Store16(m.arg(1))),
            _ => (I::I32Load(m.arg(2)), I::I32Store(m.arg(2))),
        };
        match &src.at {
            At::Stack(v) => self.get(v[0], ValType::I32),
            At::Memory(m) => {
                self.code.body.push(I::LocalGet(m.addr));
                self.code.body.push(d_arg(*m).0);
            }
        }
        self.code.body.extend([
            I::LocalTee(disc),
            I::I32Const(cases.len() as i32),
            I::I32GeU,
        ]);
        self.trap_if();
        match &dst.at {
            At::Stack(v) => {
                self.code.body.push(I::LocalGet(disc));
                self.set(ValType::I32, v[0]);
                // Unused payload slots are zero, as `lower_flat` pads.
                for slot in &v[1..] {
                    self.code.body.push(match slot.1 {
                        ValType::I64 => I::I64Const(0),
                        ValType::F32 => I::F32Const(0.0.into()),
                        ValType::F64 => I::F64Const(0.0.into()),
                        _ => I::I32Const(0),
                    });
                    self.code.body.push(I::LocalSet(slot.0));
                }
            }
            At::Memory(m) => {
                self.code
                    .body
                    .extend([I::LocalGet(m.addr), I::LocalGet(disc)]);
                self.code.body.push(d_arg(*m).1);
            }
        }
        if cases.iter().all(Option::is_none) {
            return;
        }
        let n = cases.len() as u32;
        self.code.body.push(I::Block(BlockType::Empty));
        for _ in 0..n {
            self.code.body.push(I::Block(BlockType::Empty));
        }
        self.code.body.extend([
            I::LocalGet(disc),
            I::BrTable(Cow::Owned((0..n).collect()), n - 1),
            I::End,
        ]);
        for (i, case) in cases.iter().enumerate() {
            if let Some(t) = case {
                let len = self.abi.flat_len(t);
                let s = src.part(1..1 + len, layout.payload_offset);
                let d = dst.part(1..1 + len, layout.payload_offset);
                self.translate(t, &s, &d);
            }
            let depth = n - 1 - i as u32;
            if depth > 0 {
                self.code.body.push(I::Br(depth));
            }
            self.code.body.push(I::End);
        }
    }
}
