//! One memory: the fused module rewritten so that it has exactly one linear
//! memory (`--single-memory`), for runtimes and tools without the
//! multi-memory proposal (V8 before 12.0, wasm3, WAMR's interpreter,
//! binaryen's older passes, wasm2c).
//!
//! Every memory of the fused module becomes a *region* of the one memory:
//! a run of pages at a base address, with its own size in pages. Regions
//! lie end to end in a fixed order (memories that cannot grow first, then
//! the others, then a scratch region for the host boundary, below). Code
//! keeps the addresses it had: every load, store, bulk operation,
//! `memory.size` and `memory.grow` of memory `i` is rewritten to check its
//! address against region `i`'s size (so an access outside the region
//! traps where the original would have, and never reaches another
//! component's data) and to add region `i`'s base. Growing a region moves
//! the regions after it up and zeroes its new pages, so every region keeps
//! its data; the bases are globals that growth updates.
//!
//! The host, unlike the code inside, sees absolute addresses: a component
//! runtime lowering a host import or lifting a root export reads the one
//! memory at the pointers it is given. The functions at that boundary are
//! wrapped ([`shims`]): pointers the guest gives the host are checked
//! against the guest's region and rebased (a list whose elements hold
//! pointers is copied to the scratch region, rebased there, so the guest's
//! memory is never changed), pointers the host writes are moved back, and
//! the `realloc` the host calls returns absolute addresses.
//!
//! The pass runs on the encoded fused module (a copy, made only when asked
//! for), after [`crate::merge`] and before [`crate::emit`] wraps it: the
//! function, global and table indices the wrapper uses stay as they were;
//! exports of the boundary functions name their wrappers instead, and
//! every memory export names the one memory.

mod shims;

use crate::error::{Error, Result};
use crate::instantiate::{CoreDef, Func, Graph, HostLower, HostLowerId, Item};
use crate::merge::builder::FuncIdx;
use crate::parse::StringEncoding;
use shims::Shims;
use std::collections::HashMap;
use wasm_encoder::Encode;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, Instruction as I, MemoryType, Module, RawSection,
    TypeSection, ValType,
};
use wasmparser::component_types::ComponentFuncTypeId;
use wasmparser::types::TypesRef;
use wasmparser::{Operator, Payload};

impl<'t> Boundary<'t> {
    /// The boundary of the fused module `layout` lays out: every root
    /// export lifted with a memory and every host function lowered with
    /// one, as fused indices.
    pub fn of(
        types: TypesRef<'t>,
        graph: &Graph<'_>,
        layout: &crate::merge::Layout<'_, '_>,
        core: bool,
    ) -> Result<Self> {
        let func = |d: &Option<CoreDef<'_>>| -> Result<Option<u32>> {
            d.as_ref()
                .map(|d| layout.resolve(d, wasmparser::ExternalKind::Func, "root"))
                .transpose()
        };
        let memory = |d: &Option<CoreDef<'_>>| -> Result<Option<u32>> {
            d.as_ref()
                .map(|d| layout.resolve(d, wasmparser::ExternalKind::Memory, "root"))
                .transpose()
        };
        let mut lifts = Vec::new();
        for (interface, name, item) in crate::emit::root_export_items(graph) {
            let Item::Func(Func::Lifted(l)) = item else {
                continue;
            };
            let Some(m) = memory(&l.options.memory)? else {
                continue;
            };
            let f = layout.export_func(l)?;
            // The names `emit` gives: a core export per lifted function,
            // or the wrapper's own.
            let export = match (core, interface) {
                (true, Some(i)) => format!("{i}#{name}"),
                (true, None) => name.to_string(),
                (false, _) => layout.lifted_export(FuncIdx(f), true).name(),
            };
            lifts.push(Lift {
                export,
                func: f,
                ty: l.ty,
                memory: m,
                realloc: func(&l.options.realloc)?,
                post_return: func(&l.options.post_return)?,
                encoding: l.options.string_encoding,
            });
        }
        let mut lowers = Vec::new();
        for (i, h) in graph.host_lowers.iter().enumerate() {
            let HostLower::Func { options, ty, .. } = h else {
                continue;
            };
            let Some(m) = memory(&options.memory)? else {
                continue;
            };
            let id = HostLowerId(i as u32);
            let call = match layout.indirect.iter().position(|x| *x == id) {
                Some(slot) => HostCall::Slot(slot as u32),
                None => match layout.host_import(id) {
                    Some(f) => HostCall::Import(f),
                    None => continue,
                },
            };
            lowers.push(Lower {
                call,
                ty: *ty,
                memory: m,
                realloc: func(&options.realloc)?,
                encoding: options.string_encoding,
            });
        }
        Ok(Boundary {
            types,
            lifts,
            lowers,
            host_table: layout.host_table(),
        })
    }
}

/// Globals per region: base, pages, bytes, capacity.
const GLOBALS: u32 = 4;

/// Bytes in a page.
const PAGE: u64 = 65536;
/// Pages a 32-bit memory may have.
const MAX_PAGES: u64 = 65536;

/// A root export the host calls: the lifted core function and its options,
/// as fused indices.
#[derive(Debug, Clone)]
pub struct Lift {
    /// The name of the fused module's export the wrapper (or a core host)
    /// calls it through.
    pub export: String,
    /// The core function lifted (what the wrapper's `canon lift` names).
    pub func: u32,
    /// Its component-level type.
    pub ty: ComponentFuncTypeId,
    /// The `memory` option.
    pub memory: u32,
    /// The `realloc` option.
    pub realloc: Option<u32>,
    /// The `post-return` option.
    pub post_return: Option<u32>,
    /// The string encoding.
    pub encoding: StringEncoding,
}

/// How the fused module calls a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    /// Through this slot of the host table (`i32.const slot`,
    /// `call_indirect`): component output.
    Slot(u32),
    /// Through this imported function: core-module output.
    Import(u32),
}

/// A host function the fused module calls with its `memory` option.
#[derive(Debug, Clone)]
pub struct Lower {
    /// How it is called.
    pub call: HostCall,
    /// Its component-level type.
    pub ty: ComponentFuncTypeId,
    /// The `memory` option.
    pub memory: u32,
    /// The `realloc` option.
    pub realloc: Option<u32>,
    /// The string encoding.
    pub encoding: StringEncoding,
}

/// The functions at the host boundary whose pointers need rebasing.
pub struct Boundary<'t> {
    /// The input's types.
    pub types: TypesRef<'t>,
    /// Root exports lifted with a memory.
    pub lifts: Vec<Lift>,
    /// Host functions lowered with a memory.
    pub lowers: Vec<Lower>,
    /// The table of host functions (component output).
    pub host_table: Option<u32>,
}

/// Globals of one region.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    /// `i32`: the address of the region's byte 0.
    pub base: u32,
    /// `i32`: its size in pages.
    pub pages: u32,
    /// `i64`: its size in bytes.
    pub bytes: u32,
    /// `i32`: the pages it holds, grown into or not.
    pub cap: u32,
    /// Most pages it may grow to.
    pub max: u64,
    /// Whether it is the first region, whose base is always 0.
    pub first: bool,
}

/// What the module declares, read in one pass.
#[derive(Default)]
struct Parsed<'a> {
    /// Parameters of each type that is a function type, by type index.
    params: Vec<Option<u32>>,
    /// The type section, to re-encode with the added types after it.
    type_section: Option<wasmparser::TypeSectionReader<'a>>,
    /// Type index of every function, imports first.
    func_types: Vec<u32>,
    imported_funcs: u32,
    imported_globals: u32,
    memories: Vec<wasmparser::MemoryType>,
    globals: Vec<wasmparser::Global<'a>>,
    exports: Vec<wasmparser::Export<'a>>,
    bodies: Vec<wasmparser::FunctionBody<'a>>,
    data: Vec<wasmparser::Data<'a>>,
    /// Sections copied as they are: (id, bytes), in order.
    raw: Vec<(u8, &'a [u8])>,
    customs: Vec<(&'a str, &'a [u8])>,
}

fn parse_error(e: wasmparser::BinaryReaderError) -> Error {
    Error::malformed(e.message().to_string()).at_offset(e.offset())
}

fn unsupported(message: impl Into<String>) -> Error {
    Error::unsupported("single-memory", message)
}

fn slice(bytes: &[u8], r: std::ops::Range<u64>) -> &[u8] {
    &bytes[r.start as usize..r.end as usize]
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let mut p = Parsed::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(parse_error)? {
            Payload::TypeSection(s) => {
                for group in s.clone() {
                    for ty in group.map_err(parse_error)?.into_types() {
                        p.params.push(match &ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                Some(f.params().len() as u32)
                            }
                            _ => None,
                        });
                    }
                }
                p.type_section = Some(s);
            }
            Payload::ImportSection(s) => {
                p.raw.push((2, slice(bytes, s.range())));
                for import in s.into_imports() {
                    let import = import.map_err(parse_error)?;
                    match import.ty {
                        wasmparser::TypeRef::Func(t) => {
                            p.func_types.push(t);
                            p.imported_funcs += 1;
                        }
                        wasmparser::TypeRef::Global(_) => p.imported_globals += 1,
                        wasmparser::TypeRef::Memory(_) => {
                            return Err(unsupported(format!(
                                "the fused module imports memory `{}`, which one memory cannot hold",
                                import.name
                            )));
                        }
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(s) => {
                for t in s {
                    p.func_types.push(t.map_err(parse_error)?);
                }
            }
            Payload::MemorySection(s) => {
                for m in s {
                    let m = m.map_err(parse_error)?;
                    if m.memory64 || m.shared || m.page_size_log2.is_some() {
                        return Err(unsupported(
                            "a 64-bit, shared or custom-page-size memory cannot be a region",
                        ));
                    }
                    p.memories.push(m);
                }
            }
            Payload::GlobalSection(s) => {
                for g in s {
                    p.globals.push(g.map_err(parse_error)?);
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    p.exports.push(e.map_err(parse_error)?);
                }
            }
            Payload::DataSection(s) => {
                for d in s {
                    p.data.push(d.map_err(parse_error)?);
                }
            }
            Payload::CodeSectionEntry(body) => p.bodies.push(body),
            Payload::TableSection(s) => p.raw.push((4, slice(bytes, s.range()))),
            Payload::TagSection(s) => p.raw.push((13, slice(bytes, s.range()))),
            Payload::StartSection { range, .. } => p.raw.push((8, slice(bytes, range))),
            Payload::ElementSection(s) => p.raw.push((9, slice(bytes, s.range()))),
            Payload::CustomSection(c) => p.customs.push((c.name(), c.data())),
            _ => {}
        }
    }
    Ok(p)
}

/// The regions, in memory order: each memory's, then the scratch one.
struct Layout {
    regions: Vec<Region>,
    /// Initial base and pages of each region.
    initial: Vec<(u64, u64)>,
    /// Region indices from the lowest address up.
    order: Vec<usize>,
    /// Pages of the one memory at the start.
    total: u64,
}

/// Lays the regions out: fixed-size memories first (they never move
/// another region), the others in index order, the scratch region last.
fn layout(p: &Parsed<'_>, first_global: u32) -> Result<Layout> {
    let mut sizes: Vec<(u64, Option<u64>)> =
        p.memories.iter().map(|m| (m.initial, m.maximum)).collect();
    sizes.push((1, None));
    let n = sizes.len();
    let fixed = |i: usize| i + 1 < n && sizes[i].1 == Some(sizes[i].0);
    let mut order: Vec<usize> = (0..n).filter(|&i| fixed(i)).collect();
    order.extend((0..n).filter(|&i| !fixed(i)));
    let mut initial = vec![(0, 0); n];
    let mut at = 0u64;
    for &i in &order {
        initial[i] = (at * PAGE, sizes[i].0);
        at += sizes[i].0;
    }
    if at > MAX_PAGES {
        return Err(Error::limit(format!(
            "the memories of the fused module start at {at} pages together, more than one memory's {MAX_PAGES}"
        )));
    }
    let regions = (0..n)
        .map(|i| {
            let g = first_global + GLOBALS * i as u32;
            Region {
                base: g,
                pages: g + 1,
                bytes: g + 2,
                cap: g + 3,
                max: sizes[i].1.unwrap_or(MAX_PAGES).min(MAX_PAGES),
                first: order[0] == i,
            }
        })
        .collect();
    Ok(Layout {
        regions,
        initial,
        order,
        total: at,
    })
}

/// Functions the pass adds, by index, with their bodies once written.
pub(crate) struct Added {
    /// The first added function's index.
    first: u32,
    /// The first added type's index.
    first_type: u32,
    types: Vec<(Vec<ValType>, Vec<ValType>)>,
    funcs: Vec<(u32, Option<Function>)>,
}

impl Added {
    /// Reserves a function of this signature; its body comes later.
    pub fn reserve(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let ty = self.type_index(params, results);
        self.funcs.push((ty, None));
        self.first + self.funcs.len() as u32 - 1
    }

    /// The index of a function type, added if the module lacks it here.
    pub fn type_index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let sig = (params.to_vec(), results.to_vec());
        let k = match self.types.iter().position(|t| *t == sig) {
            Some(k) => k,
            None => {
                self.types.push(sig);
                self.types.len() - 1
            }
        };
        self.first_type + k as u32
    }

    /// Gives a reserved function its body.
    pub fn define(&mut self, func: u32, body: Function) {
        self.funcs[(func - self.first) as usize].1 = Some(body);
    }
}

/// The function every rewritten `memory.grow` calls, per region.
struct Helpers {
    grow: Vec<u32>,
}

/// Rewrites `module` (the fused core module) to use one memory.
pub fn rewrite(module: &[u8], boundary: &Boundary<'_>) -> Result<Vec<u8>> {
    let p = parse(module)?;
    let first_global = p.imported_globals + p.globals.len() as u32;
    let l = layout(&p, first_global)?;
    let scratch = l.regions[l.regions.len() - 1];
    let mut added = Added {
        first: p.func_types.len() as u32,
        first_type: p.params.len() as u32,
        types: Vec::new(),
        funcs: Vec::new(),
    };
    let helpers = Helpers {
        grow: (0..l.regions.len())
            .map(|_| added.reserve(&[ValType::I32], &[ValType::I32]))
            .collect(),
    };
    let mut extra_globals = Vec::new();
    let shims = Shims::new(
        boundary,
        &l.regions,
        scratch,
        helpers.grow[l.regions.len() - 1],
        first_global + GLOBALS * l.regions.len() as u32,
        &mut added,
    )?;
    extra_globals.extend(shims.globals());
    let mut rw = Rewriter {
        regions: &l.regions,
        helpers,
        host_table: boundary.host_table,
        slot_shims: shims.slot_shims(),
        import_shims: shims.import_shims(),
    };
    let mut code = CodeSection::new();
    for (k, body) in p.bodies.iter().enumerate() {
        let ty = p.func_types[p.imported_funcs as usize + k];
        let params = p.params[ty as usize]
            .ok_or_else(|| Error::internal("a function whose type is not a function type"))?;
        code.function(&rw.body(body, params)?);
    }
    let helpers = rw.helpers;
    for (r, f) in helpers.grow.iter().enumerate() {
        added.define(*f, grow(&l, r));
    }
    let redirects = shims.finish(&mut added)?;
    for (_, body) in &added.funcs {
        match body {
            Some(b) => code.function(b),
            None => return Err(Error::internal("a function the pass added has no body")),
        };
    }
    encode(&p, &l, &added, code, &extra_globals, &redirects)
}

/// Encodes the rewritten module, sections in order.
fn encode(
    p: &Parsed<'_>,
    l: &Layout,
    added: &Added,
    code: CodeSection,
    extra_globals: &[(ValType, i64)],
    redirects: &shims::Redirects,
) -> Result<Vec<u8>> {
    let mut m = Module::new();
    let mut types = TypeSection::new();
    let mut r = RoundtripReencoder;
    if let Some(section) = &p.type_section {
        r.parse_type_section(&mut types, section.clone())
            .map_err(reencode_error)?;
    }
    for (params, results) in &added.types {
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
    }
    m.section(&types);
    raw(&mut m, p, 2);
    let mut funcs = FunctionSection::new();
    for t in &p.func_types[p.imported_funcs as usize..] {
        funcs.function(*t);
    }
    for (t, _) in &added.funcs {
        funcs.function(*t);
    }
    m.section(&funcs);
    raw(&mut m, p, 4);
    let mut memories = wasm_encoder::MemorySection::new();
    memories.memory(MemoryType {
        minimum: l.total,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    m.section(&memories);
    raw(&mut m, p, 13);
    let mut globals = GlobalSection::new();
    for g in &p.globals {
        r.parse_global(&mut globals, g.clone())
            .map_err(reencode_error)?;
    }
    for &(base, pages) in &l.initial {
        let mutable = |t| GlobalType {
            val_type: t,
            mutable: true,
            shared: false,
        };
        globals.global(mutable(ValType::I32), &ConstExpr::i32_const(base as i32));
        globals.global(mutable(ValType::I32), &ConstExpr::i32_const(pages as i32));
        globals.global(
            mutable(ValType::I64),
            &ConstExpr::i64_const((pages * PAGE) as i64),
        );
        globals.global(mutable(ValType::I32), &ConstExpr::i32_const(pages as i32));
    }
    for (t, v) in extra_globals {
        let init = match t {
            ValType::I64 => ConstExpr::i64_const(*v),
            _ => ConstExpr::i32_const(*v as i32),
        };
        globals.global(
            GlobalType {
                val_type: *t,
                mutable: true,
                shared: false,
            },
            &init,
        );
    }
    m.section(&globals);
    let mut exports = ExportSection::new();
    for e in &p.exports {
        let (kind, index) = match e.kind {
            wasmparser::ExternalKind::Memory => (ExportKind::Memory, 0),
            wasmparser::ExternalKind::Func => (
                ExportKind::Func,
                redirects
                    .by_name
                    .get(e.name)
                    .or_else(|| redirects.by_index.get(&e.index))
                    .copied()
                    .unwrap_or(e.index),
            ),
            k => (
                RoundtripReencoder.export_kind(k).map_err(reencode_error)?,
                e.index,
            ),
        };
        exports.export(e.name, kind, index);
    }
    m.section(&exports);
    raw(&mut m, p, 8);
    raw(&mut m, p, 9);
    if !p.data.is_empty() {
        m.section(&wasm_encoder::DataCountSection {
            count: p.data.len() as u32,
        });
    }
    m.section(&code);
    m.section(&data(p, l)?);
    for (name, bytes) in &p.customs {
        // Code offsets moved: DWARF would point at the wrong instructions.
        if !name.starts_with(".debug_") {
            m.section(&wasm_encoder::CustomSection {
                name: (*name).into(),
                data: (*bytes).into(),
            });
        }
    }
    Ok(m.finish())
}

fn raw(m: &mut Module, p: &Parsed<'_>, id: u8) {
    for (i, bytes) in &p.raw {
        if *i == id {
            m.section(&RawSection { id, data: bytes });
        }
    }
}

fn reencode_error(e: wasm_encoder::reencode::Error) -> Error {
    Error::malformed(e.to_string())
}

/// The data segments, active ones moved into their memory's region. A
/// segment that does not fit its memory made instantiation trap; it is put
/// past the end of the one memory, so it still does.
fn data(p: &Parsed<'_>, l: &Layout) -> Result<DataSection> {
    let mut out = DataSection::new();
    for d in &p.data {
        match &d.kind {
            wasmparser::DataKind::Passive => {
                out.passive(d.data.iter().copied());
            }
            wasmparser::DataKind::Active {
                memory_index,
                offset_expr,
            } => {
                let mut ops = offset_expr.get_operators_reader();
                let offset = match (ops.read(), ops.read()) {
                    (Ok(Operator::I32Const { value }), Ok(Operator::End)) => value as u32 as u64,
                    _ => {
                        return Err(unsupported(
                            "an active data segment whose offset is not a constant",
                        ));
                    }
                };
                let (base, pages) = l.initial[*memory_index as usize];
                let fits = offset + d.data.len() as u64 <= pages * PAGE;
                let at = if fits {
                    base + offset
                } else {
                    u64::from(u32::MAX)
                };
                out.active(
                    0,
                    &ConstExpr::i32_const(at as u32 as i32),
                    d.data.iter().copied(),
                );
            }
        }
    }
    Ok(out)
}

/// Traps unless the `i64` on the stack is at most what `limit` pushes.
fn trap_beyond(limit: I<'static>) -> [I<'static>; 5] {
    [
        limit,
        I::I64GtU,
        I::If(BlockType::Empty),
        I::Unreachable,
        I::End,
    ]
}

/// `memory.grow` of a region, or -1 when the region is at its maximum or
/// the memory cannot grow. A region holds pages it has not grown into yet
/// (its capacity, all zero): growing within them only moves its size.
/// Past them, the capacity doubles (at least to the new size, at most to
/// the maximum; exactly the new size when the memory cannot grow that
/// far), the regions after it move up by the pages added, and what they
/// left behind is zeroed; so a region growing a page at a time moves the
/// others only a logarithmic number of times.
fn grow(l: &Layout, r: usize) -> Function {
    let region = l.regions[r];
    let later: Vec<Region> = l
        .order
        .iter()
        .skip_while(|&&i| i != r)
        .skip(1)
        .map(|&i| l.regions[i])
        .collect();
    let (delta, old, new, want, shift, len) = (0, 1, 2, 3, 4, 5);
    let mut f = Function::new([(5, ValType::I32)]);
    let mut ins = vec![
        I::GlobalGet(region.pages),
        I::LocalSet(old),
        // Growing by 0 pages answers the size.
        I::LocalGet(delta),
        I::I32Eqz,
        I::If(BlockType::Empty),
        I::LocalGet(old),
        I::Return,
        I::End,
        I::LocalGet(old),
        I::I64ExtendI32U,
        I::LocalGet(delta),
        I::I64ExtendI32U,
        I::I64Add,
        I::I64Const(region.max as i64),
        I::I64GtU,
        I::If(BlockType::Empty),
        I::I32Const(-1),
        I::Return,
        I::End,
        I::LocalGet(old),
        I::LocalGet(delta),
        I::I32Add,
        I::LocalTee(new),
        I::GlobalGet(region.cap),
        I::I32GtU,
        I::If(BlockType::Empty),
        // Twice the capacity, at least the new size, at most the maximum.
        I::GlobalGet(region.cap),
        I::I32Const(1),
        I::I32Shl,
        I::LocalTee(want),
        I::LocalGet(new),
        I::LocalGet(want),
        I::LocalGet(new),
        I::I32GtU,
        I::Select,
        I::LocalTee(want),
        I::I32Const(region.max as i32),
        I::LocalGet(want),
        I::I32Const(region.max as i32),
        I::I32LtU,
        I::Select,
        I::LocalTee(want),
    ];
    // Grow the memory by the pages `want` holds past the capacity; if it
    // cannot, by those the new size needs; if not even that, fail.
    let grow_to_want = [
        I::GlobalGet(region.cap),
        I::I32Sub,
        I::MemoryGrow(0),
        I::I32Const(-1),
        I::I32Eq,
        I::If(BlockType::Empty),
    ];
    ins.extend(grow_to_want.clone());
    ins.extend([I::LocalGet(new), I::LocalTee(want)]);
    ins.extend(grow_to_want);
    ins.extend([
        I::I32Const(-1),
        I::Return,
        I::End,
        I::End,
        I::LocalGet(want),
        I::GlobalGet(region.cap),
        I::I32Sub,
        I::I32Const(16),
        I::I32Shl,
        I::LocalSet(shift),
    ]);
    if let Some(next) = later.first() {
        // Move everything from the next region's base to the old end up,
        // then zero what is left behind of it.
        ins.extend([
            I::MemorySize(0),
            I::I32Const(16),
            I::I32Shl,
            I::LocalGet(shift),
            I::I32Sub,
            I::GlobalGet(next.base),
            I::I32Sub,
            I::LocalSet(len),
            I::GlobalGet(next.base),
            I::LocalGet(shift),
            I::I32Add,
            I::GlobalGet(next.base),
            I::LocalGet(len),
            I::MemoryCopy {
                src_mem: 0,
                dst_mem: 0,
            },
            I::GlobalGet(next.base),
            I::I32Const(0),
            I::LocalGet(shift),
            I::LocalGet(len),
            I::LocalGet(shift),
            I::LocalGet(len),
            I::I32LtU,
            I::Select,
            I::MemoryFill(0),
        ]);
        for g in &later {
            ins.extend([
                I::GlobalGet(g.base),
                I::LocalGet(shift),
                I::I32Add,
                I::GlobalSet(g.base),
            ]);
        }
    }
    ins.extend([
        I::LocalGet(want),
        I::GlobalSet(region.cap),
        I::End,
        I::LocalGet(new),
        I::GlobalSet(region.pages),
        I::LocalGet(new),
        I::I64ExtendI32U,
        I::I64Const(16),
        I::I64Shl,
        I::GlobalSet(region.bytes),
        I::LocalGet(old),
        I::End,
    ]);
    for i in &ins {
        f.instruction(i);
    }
    f
}

/// Re-encodes instructions as they are, every memory index as 0, noting
/// which memory an instruction named.
#[derive(Default)]
struct ToOne {
    named: Option<u32>,
}

impl Reencode for ToOne {
    type Error = std::convert::Infallible;

    fn memory_index(&mut self, memory: u32) -> Result<u32, wasm_encoder::reencode::Error> {
        self.named = Some(memory);
        Ok(0)
    }
}

/// How an instruction reaches memory.
enum Access {
    /// Pops an address.
    Load(wasmparser::MemArg),
    /// Pops an address and a value of this type.
    Store(wasmparser::MemArg, ValType),
}

/// The loads and stores, as a flat dispatcher: every other instruction
/// that names a memory is handled on its own or refused.
fn access(op: &Operator<'_>) -> Option<Access> {
    use Operator as O;
    Some(match op {
        O::I32Load { memarg }
        | O::I64Load { memarg }
        | O::F32Load { memarg }
        | O::F64Load { memarg }
        | O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::V128Load { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load64Zero { memarg } => Access::Load(*memarg),
        O::I32Store { memarg } | O::I32Store8 { memarg } | O::I32Store16 { memarg } => {
            Access::Store(*memarg, ValType::I32)
        }
        O::I64Store { memarg }
        | O::I64Store8 { memarg }
        | O::I64Store16 { memarg }
        | O::I64Store32 { memarg } => Access::Store(*memarg, ValType::I64),
        O::F32Store { memarg } => Access::Store(*memarg, ValType::F32),
        O::F64Store { memarg } => Access::Store(*memarg, ValType::F64),
        O::V128Store { memarg }
        | O::V128Load8Lane { memarg, .. }
        | O::V128Load16Lane { memarg, .. }
        | O::V128Load32Lane { memarg, .. }
        | O::V128Load64Lane { memarg, .. }
        | O::V128Store8Lane { memarg, .. }
        | O::V128Store16Lane { memarg, .. }
        | O::V128Store32Lane { memarg, .. }
        | O::V128Store64Lane { memarg, .. } => Access::Store(*memarg, ValType::V128),
        _ => return None,
    })
}

/// Counts one more access to memory `m`.
fn count_use(used: &mut Vec<(u32, u32)>, m: u32) {
    match used.iter_mut().find(|(u, _)| *u == m) {
        Some((_, n)) => *n += 1,
        None => used.push((m, 1)),
    }
}

/// Accesses to one region from which a body keeps its base and size in
/// locals.
const CACHE_FROM: u32 = 8;

/// Rewrites function bodies.
struct Rewriter<'l> {
    regions: &'l [Region],
    helpers: Helpers,
    host_table: Option<u32>,
    /// The wrapper of each host table slot called with a memory.
    slot_shims: HashMap<u32, u32>,
    /// The wrapper of each imported host function called with a memory.
    import_shims: HashMap<u32, u32>,
}

/// A body's scratch locals, past its own.
struct Scratch {
    /// Three `i32`s.
    a: u32,
    /// The `i64`, `f32`, `f64` and `v128` to hold a stored value.
    value: [u32; 4],
    used_v128: bool,
    /// Per memory, the locals holding its region's base (none for the
    /// first region, at 0) and size in bytes, in local order.
    cache: HashMap<u32, (Option<u32>, u32)>,
}

impl Scratch {
    /// The cached regions' locals, in local order.
    fn cached(&self) -> Vec<(Option<u32>, u32)> {
        self.by_local().into_iter().map(|(_, l)| l).collect()
    }

    /// The cached memories with their locals, in local order (the output
    /// must not depend on a hash map's order).
    fn by_local(&self) -> Vec<(u32, (Option<u32>, u32))> {
        let mut v: Vec<_> = self.cache.iter().map(|(m, l)| (*m, *l)).collect();
        v.sort_by_key(|(_, (_, bytes))| *bytes);
        v
    }

    /// Reads every cached region's base and size into its locals.
    fn reload(&self, regions: &[Region], sink: &mut Vec<u8>) {
        for (m, (base, bytes)) in self.by_local() {
            let r = regions[m as usize];
            if let Some(b) = base {
                I::GlobalGet(r.base).encode(sink);
                I::LocalSet(b).encode(sink);
            }
            I::GlobalGet(r.bytes).encode(sink);
            I::LocalSet(bytes).encode(sink);
        }
    }

    /// Pushes region `m`'s size in bytes (`i64`).
    fn limit(&self, m: u32, r: Region) -> I<'static> {
        match self.cache.get(&m) {
            Some((_, bytes)) => I::LocalGet(*bytes),
            None => I::GlobalGet(r.bytes),
        }
    }

    /// Traps unless the `n` bytes from local `at` (`n` in local `n`) lie
    /// in region `m`.
    fn check_range(&self, at: u32, n: u32, m: u32, r: Region) -> Vec<I<'static>> {
        let mut ins = vec![
            I::LocalGet(at),
            I::I64ExtendI32U,
            I::LocalGet(n),
            I::I64ExtendI32U,
            I::I64Add,
        ];
        ins.extend(trap_beyond(self.limit(m, r)));
        ins
    }

    /// Pushes the address in local `at` of region `m`, made absolute.
    fn absolute(&self, at: u32, m: u32, r: Region) -> Vec<I<'static>> {
        let mut ins = vec![I::LocalGet(at)];
        if let Some(base) = self.base(m, r) {
            ins.extend([base, I::I32Add]);
        }
        ins
    }

    /// Pushes region `m`'s base, when it has one.
    fn base(&self, m: u32, r: Region) -> Option<I<'static>> {
        if r.first {
            return None;
        }
        Some(match self.cache.get(&m) {
            Some((Some(b), _)) => I::LocalGet(*b),
            _ => I::GlobalGet(r.base),
        })
    }

    fn value(&mut self, t: ValType) -> u32 {
        match t {
            ValType::I64 => self.value[0],
            ValType::F32 => self.value[1],
            ValType::F64 => self.value[2],
            ValType::V128 => {
                self.used_v128 = true;
                self.value[3]
            }
            _ => self.a + 1,
        }
    }
}

impl Rewriter<'_> {
    fn body(&mut self, body: &wasmparser::FunctionBody<'_>, params: u32) -> Result<Function> {
        let mut locals = Vec::new();
        let mut count = params;
        for l in body.get_locals_reader().map_err(parse_error)? {
            let (n, t) = l.map_err(parse_error)?;
            locals.push((n, RoundtripReencoder.val_type(t).map_err(reencode_error)?));
            count += n;
        }
        // The regions the body reaches often get their base and size in
        // locals, read again after every call (a callee may grow a
        // region); not where an exception could land past such a reload.
        let mut used: Vec<(u32, u32)> = Vec::new();
        let mut exceptions = false;
        let mut ops = body.get_operators_reader().map_err(parse_error)?;
        while !ops.eof() {
            let op = ops.read().map_err(parse_error)?;
            let mem = match &op {
                Operator::MemoryInit { mem, .. } | Operator::MemoryFill { mem } => Some(*mem),
                Operator::MemoryCopy { dst_mem, src_mem } => {
                    if dst_mem != src_mem {
                        count_use(&mut used, *src_mem);
                    }
                    Some(*dst_mem)
                }
                Operator::TryTable { .. }
                | Operator::Try { .. }
                | Operator::Delegate { .. }
                | Operator::Catch { .. }
                | Operator::CatchAll => {
                    exceptions = true;
                    None
                }
                op => match access(op) {
                    Some(Access::Load(m) | Access::Store(m, _)) => Some(m.memory),
                    None => None,
                },
            };
            if let Some(m) = mem {
                count_use(&mut used, m);
            }
        }
        let mut cache = HashMap::new();
        let mut next = count + 6;
        if !exceptions {
            for (m, _) in used.iter().filter(|(_, n)| *n >= CACHE_FROM) {
                let r = self.regions[*m as usize];
                let base = (!r.first).then(|| {
                    next += 1;
                    next - 1
                });
                cache.insert(*m, (base, next));
                next += 1;
            }
        }
        let mut s = Scratch {
            a: count,
            value: [count + 3, count + 4, count + 5, next],
            used_v128: false,
            cache,
        };
        let mut sink = Vec::new();
        s.reload(self.regions, &mut sink);
        let mut ops = body.get_operators_reader().map_err(parse_error)?;
        let mut held: Option<i32> = None;
        while !ops.eof() {
            let at = ops.original_position();
            let op = ops.read().map_err(parse_error)?;
            // `i32.const slot; call_indirect` of a host table slot that
            // passes memory becomes a call of the slot's wrapper.
            if let Some(k) = held.take() {
                match (&op, self.host_table) {
                    (Operator::CallIndirect { table_index, .. }, Some(t))
                        if *table_index == t && self.slot_shims.contains_key(&(k as u32)) =>
                    {
                        I::Call(self.slot_shims[&(k as u32)]).encode(&mut sink);
                        s.reload(self.regions, &mut sink);
                        continue;
                    }
                    _ => I::I32Const(k).encode(&mut sink),
                }
            }
            let calls = matches!(
                op,
                Operator::Call { .. }
                    | Operator::CallIndirect { .. }
                    | Operator::CallRef { .. }
                    | Operator::MemoryGrow { .. }
            );
            match &op {
                Operator::I32Const { value } => {
                    held = Some(*value);
                    continue;
                }
                Operator::Call { function_index } => {
                    if let Some(shim) = self.import_shims.get(function_index) {
                        I::Call(*shim).encode(&mut sink);
                        s.reload(self.regions, &mut sink);
                        continue;
                    }
                }
                _ => {}
            }
            self.instruction(op, &mut s, &mut sink)
                .map_err(|e| e.at_offset(at))?;
            if calls {
                s.reload(self.regions, &mut sink);
            }
        }
        if let Some(k) = held {
            I::I32Const(k).encode(&mut sink);
        }
        locals.extend([
            (3, ValType::I32),
            (1, ValType::I64),
            (1, ValType::F32),
            (1, ValType::F64),
        ]);
        for (base, _) in s.cached() {
            if base.is_some() {
                locals.push((1, ValType::I32));
            }
            locals.push((1, ValType::I64));
        }
        if s.used_v128 {
            locals.push((1, ValType::V128));
        }
        let mut f = Function::new(locals);
        f.raw(sink);
        Ok(f)
    }

    fn instruction(&mut self, op: Operator<'_>, s: &mut Scratch, sink: &mut Vec<u8>) -> Result<()> {
        let emit = |ins: &[I<'_>], sink: &mut Vec<u8>| ins.iter().for_each(|i| i.encode(sink));
        let region = |m: u32| self.regions[m as usize];
        match &op {
            Operator::MemorySize { mem } => emit(&[I::GlobalGet(region(*mem).pages)], sink),
            Operator::MemoryGrow { mem } => {
                emit(&[I::Call(self.helpers.grow[*mem as usize])], sink)
            }
            Operator::MemoryFill { mem } => {
                let r = region(*mem);
                let (d, v, n) = (s.a, s.a + 1, s.a + 2);
                let mut ins = vec![I::LocalSet(n), I::LocalSet(v), I::LocalSet(d)];
                ins.extend(s.check_range(d, n, *mem, r));
                ins.extend(s.absolute(d, *mem, r));
                ins.extend([I::LocalGet(v), I::LocalGet(n), I::MemoryFill(0)]);
                emit(&ins, sink);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let (rd, rs) = (region(*dst_mem), region(*src_mem));
                let (d, from, n) = (s.a, s.a + 1, s.a + 2);
                let mut ins = vec![I::LocalSet(n), I::LocalSet(from), I::LocalSet(d)];
                ins.extend(s.check_range(d, n, *dst_mem, rd));
                ins.extend(s.check_range(from, n, *src_mem, rs));
                ins.extend(s.absolute(d, *dst_mem, rd));
                ins.extend(s.absolute(from, *src_mem, rs));
                ins.extend([
                    I::LocalGet(n),
                    I::MemoryCopy {
                        src_mem: 0,
                        dst_mem: 0,
                    },
                ]);
                emit(&ins, sink);
            }
            Operator::MemoryInit { data_index, mem } => {
                let r = region(*mem);
                let (d, src, n) = (s.a, s.a + 1, s.a + 2);
                let mut ins = vec![I::LocalSet(n), I::LocalSet(src), I::LocalSet(d)];
                ins.extend(s.check_range(d, n, *mem, r));
                ins.extend(s.absolute(d, *mem, r));
                ins.extend([
                    I::LocalGet(src),
                    I::LocalGet(n),
                    I::MemoryInit {
                        mem: 0,
                        data_index: *data_index,
                    },
                ]);
                emit(&ins, sink);
            }
            _ => {
                let mut to_one = ToOne::default();
                let ins = to_one.instruction(op.clone()).map_err(reencode_error)?;
                let Some(mem) = to_one.named else {
                    ins.encode(sink);
                    return Ok(());
                };
                let (memarg, stored) = match access(&op) {
                    Some(Access::Load(m)) => (m, None),
                    Some(Access::Store(m, t)) => (m, Some(t)),
                    None => {
                        return Err(unsupported(format!(
                            "the instruction `{op:?}` in one memory (atomic and other memory instructions beyond loads, stores and bulk memory are not rewritten)"
                        )));
                    }
                };
                debug_assert_eq!(memarg.memory, mem);
                let r = region(mem);
                let mut pre = Vec::new();
                let value = stored.map(|t| s.value(t));
                if let Some(v) = value {
                    pre.push(I::LocalSet(v));
                }
                let end = memarg.offset + (1u64 << memarg.max_align);
                pre.extend([
                    I::LocalTee(s.a),
                    I::I64ExtendI32U,
                    I::I64Const(end as i64),
                    I::I64Add,
                ]);
                pre.extend(trap_beyond(s.limit(mem, r)));
                pre.extend(s.absolute(s.a, mem, r));
                if let Some(v) = value {
                    pre.push(I::LocalGet(v));
                }
                emit(&pre, sink);
                ins.encode(sink);
            }
        }
        Ok(())
    }
}
