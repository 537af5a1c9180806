//! The canonical ABI as data: how component-level values flatten to core
//! values. Pure functions over the validator's types.
//!
//! See `design/mvp/CanonicalABI.md` (WebAssembly/component-model),
//! "Flattening".

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasmparser::component_types::{
    ComponentDefinedType, ComponentDefinedTypeId, ComponentFuncTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::TypesRef;
use wasmparser::{PrimitiveValType, ValType};

/// A value type as the canonical ABI sees it, after the spec's
/// `despecialize`: tuples are records; options and results are variants;
/// a `map<k, v>` is a list of `(k, v)` records. Every walk over a type's
/// structure matches on this instead of on the validator's types, so a
/// new specialisation needs one line here.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A number, `bool` or `char`.
    Scalar(PrimitiveValType),
    /// A `string`.
    String,
    /// An `error-context` handle.
    ErrorContext,
    /// A record's or tuple's fields, in order.
    Record(Vec<ComponentValType>),
    /// A fixed-length list: `length` copies of one element, laid out as a
    /// record, kept unexpanded.
    Repeat(ComponentValType, u32),
    /// A variant's cases, with their payloads.
    Variant(Vec<Option<ComponentValType>>),
    /// An enum of this many cases (a variant without payloads).
    Enum(usize),
    /// Flags, this many.
    Flags(usize),
    /// A list whose elements are records of these fields: `[t]` for
    /// `list<t>` (a one-field record is laid out as its field), `[k, v]`
    /// for `map<k, v>`.
    List(Vec<ComponentValType>),
    /// An `own` (`true`) or `borrow` handle to a resource.
    Handle(bool, ResourceId),
    /// A `future` or `stream` handle.
    Async(&'static str),
}

/// The [`Shape`] of `ty`.
pub fn shape(types: TypesRef<'_>, ty: &ComponentValType) -> Shape {
    use PrimitiveValType as P;
    let primitive = |p: PrimitiveValType| match p {
        P::String => Shape::String,
        P::ErrorContext => Shape::ErrorContext,
        p => Shape::Scalar(p),
    };
    let id = match ty {
        ComponentValType::Primitive(p) => return primitive(*p),
        ComponentValType::Type(id) => *id,
    };
    match &types[id] {
        ComponentDefinedType::Primitive(p) => primitive(*p),
        ComponentDefinedType::Record(r) => Shape::Record(r.fields.values().copied().collect()),
        ComponentDefinedType::Tuple(t) => Shape::Record(t.types.to_vec()),
        ComponentDefinedType::FixedLengthList {
            element, length, ..
        } => Shape::Repeat(*element, *length),
        ComponentDefinedType::Variant(v) => {
            Shape::Variant(v.cases.values().map(|c| c.ty).collect())
        }
        ComponentDefinedType::Option { ty, .. } => Shape::Variant(vec![None, Some(*ty)]),
        ComponentDefinedType::Result { ok, err, .. } => Shape::Variant(vec![*ok, *err]),
        ComponentDefinedType::Enum(names) => Shape::Enum(names.len()),
        ComponentDefinedType::Flags(names) => Shape::Flags(names.len()),
        ComponentDefinedType::List { element, .. } => Shape::List(vec![*element]),
        ComponentDefinedType::Map { key, value, .. } => Shape::List(vec![*key, *value]),
        ComponentDefinedType::Own(r) => Shape::Handle(true, r.resource()),
        ComponentDefinedType::Borrow(r) => Shape::Handle(false, r.resource()),
        ComponentDefinedType::Future { .. } => Shape::Async("future"),
        ComponentDefinedType::Stream { .. } => Shape::Async("stream"),
    }
}

impl Shape {
    /// The value types directly inside: fields, payloads, a list's
    /// element fields (a fixed-length list's element once).
    pub fn parts(&self) -> Vec<ComponentValType> {
        match self {
            Shape::Record(f) | Shape::List(f) => f.clone(),
            Shape::Repeat(e, n) if *n > 0 => vec![*e],
            Shape::Variant(c) => c.iter().flatten().copied().collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether `ty`, or anything inside it, is a value `pred` holds for.
pub fn any_inside(
    types: TypesRef<'_>,
    ty: &ComponentValType,
    pred: &dyn Fn(&Shape) -> bool,
) -> bool {
    let s = shape(types, ty);
    pred(&s) || s.parts().iter().any(|t| any_inside(types, t, pred))
}

/// Most core parameters a function may take before they spill to memory.
pub const MAX_FLAT_PARAMS: usize = 16;
/// Most core results a function may return before they go through memory.
pub const MAX_FLAT_RESULTS: usize = 1;

/// Appends the flat core types of `ty` to `out`.
pub fn flatten(types: TypesRef<'_>, ty: &ComponentValType, out: &mut Vec<ValType>) {
    flatten_bounded(types, ty, usize::MAX, out);
}

/// [`flatten`], stopping once `out` holds more than `max` values: past a
/// limit only that fact matters (the values spill to memory), and a
/// fixed-length list of a billion elements stays cheap to flatten.
pub fn flatten_bounded(
    types: TypesRef<'_>,
    ty: &ComponentValType,
    max: usize,
    out: &mut Vec<ValType>,
) {
    if out.len() > max {
        return;
    }
    let flatten = |t: &ComponentValType, out: &mut Vec<ValType>| {
        flatten_bounded(types, t, max, out);
    };
    match ty {
        ComponentValType::Primitive(p) => flatten_primitive(*p, out),
        ComponentValType::Type(id) => match &types[*id] {
            ComponentDefinedType::Primitive(p) => flatten_primitive(*p, out),
            ComponentDefinedType::Record(r) => {
                for (_, t) in r.fields.iter() {
                    flatten(t, out);
                }
            }
            ComponentDefinedType::Tuple(t) => {
                for t in t.types.iter() {
                    flatten(t, out);
                }
            }
            ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => {
                for _ in 0..*length {
                    if out.len() > max {
                        break;
                    }
                    flatten(element, out);
                }
            }
            ComponentDefinedType::Variant(v) => {
                flatten_variant(types, v.cases.values().map(|c| c.ty.as_ref()), max, out);
            }
            ComponentDefinedType::Option { ty, .. } => {
                flatten_variant(types, [None, Some(ty)].into_iter(), max, out);
            }
            ComponentDefinedType::Result { ok, err, .. } => {
                flatten_variant(types, [ok.as_ref(), err.as_ref()].into_iter(), max, out);
            }
            ComponentDefinedType::Enum(_) => out.push(ValType::I32),
            ComponentDefinedType::Flags(names) => {
                out.extend(std::iter::repeat_n(ValType::I32, names.len().div_ceil(32)));
            }
            ComponentDefinedType::List { .. } | ComponentDefinedType::Map { .. } => {
                out.extend([ValType::I32, ValType::I32]);
            }
            ComponentDefinedType::Own(_)
            | ComponentDefinedType::Borrow(_)
            | ComponentDefinedType::Future { .. }
            | ComponentDefinedType::Stream { .. } => out.push(ValType::I32),
        },
    }
}

fn flatten_primitive(p: PrimitiveValType, out: &mut Vec<ValType>) {
    use PrimitiveValType as P;
    match p {
        P::Bool | P::S8 | P::U8 | P::S16 | P::U16 | P::S32 | P::U32 | P::Char => {
            out.push(ValType::I32);
        }
        P::S64 | P::U64 => out.push(ValType::I64),
        P::F32 => out.push(ValType::F32),
        P::F64 => out.push(ValType::F64),
        P::String => out.extend([ValType::I32, ValType::I32]),
        P::ErrorContext => out.push(ValType::I32),
    }
}

fn flatten_variant<'t>(
    types: TypesRef<'_>,
    cases: impl Iterator<Item = Option<&'t ComponentValType>>,
    max: usize,
    out: &mut Vec<ValType>,
) {
    out.push(ValType::I32);
    let start = out.len();
    for case in cases.flatten() {
        let mut flat = Vec::new();
        flatten_bounded(types, case, max, &mut flat);
        for (i, t) in flat.into_iter().enumerate() {
            match out.get_mut(start + i) {
                Some(slot) => *slot = join(*slot, t),
                None => out.push(t),
            }
        }
    }
}

fn join(a: ValType, b: ValType) -> ValType {
    match (a, b) {
        _ if a == b => a,
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32) => ValType::I32,
        _ => ValType::I64,
    }
}

/// The core signature of a function type, as `canon lower` or `canon lift`
/// sees it (they agree unless parameters or results spill to memory).
#[derive(Debug, Clone)]
pub struct CoreSignature {
    /// Core parameters (when they spill, only the first few).
    pub params: Vec<ValType>,
    /// Core results (when they spill, only the first few).
    pub results: Vec<ValType>,
    /// Whether parameters spill to memory.
    pub params_spill: bool,
    /// Whether results go through memory.
    pub results_spill: bool,
}

/// Flattens a function type.
pub fn flatten_func(types: TypesRef<'_>, ty: ComponentFuncTypeId) -> CoreSignature {
    let f = &types[ty];
    // Past `MAX_FLAT_PARAMS`, only the fact matters: they spill.
    let mut params = Vec::new();
    for (_, p) in f.params.iter() {
        flatten_bounded(types, p, MAX_FLAT_PARAMS, &mut params);
    }
    let mut results = Vec::new();
    if let Some(r) = &f.result {
        flatten_bounded(types, r, MAX_FLAT_PARAMS, &mut results);
    }
    CoreSignature {
        params_spill: params.len() > MAX_FLAT_PARAMS,
        results_spill: results.len() > MAX_FLAT_RESULTS,
        params,
        results,
    }
}

/// Whether two value types are the same type, as the spec compares them
/// (`task.return`'s result type against its task's): the same structure,
/// names and cases, and the same resource types.
pub fn same_type(types: TypesRef<'_>, a: &ComponentValType, b: &ComponentValType) -> bool {
    use ComponentDefinedType as D;
    let defined = |v: &ComponentValType| match v {
        ComponentValType::Primitive(p) => Err(*p),
        ComponentValType::Type(id) => match &types[*id] {
            D::Primitive(p) => Err(*p),
            d => Ok(d),
        },
    };
    let same = |x: &ComponentValType, y: &ComponentValType| same_type(types, x, y);
    let same_opt = |x: &Option<ComponentValType>, y: &Option<ComponentValType>| match (x, y) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    };
    match (defined(a), defined(b)) {
        (Err(p), Err(q)) => p == q,
        (Ok(x), Ok(y)) => match (x, y) {
            (D::Record(r), D::Record(s)) => {
                r.fields.len() == s.fields.len()
                    && r.fields
                        .iter()
                        .zip(s.fields.iter())
                        .all(|((n, t), (m, u))| n == m && same(t, u))
            }
            (D::Tuple(t), D::Tuple(u)) => {
                t.types.len() == u.types.len()
                    && t.types.iter().zip(u.types.iter()).all(|(t, u)| same(t, u))
            }
            (D::Variant(v), D::Variant(w)) => {
                v.cases.len() == w.cases.len()
                    && v.cases
                        .iter()
                        .zip(w.cases.iter())
                        .all(|((n, c), (m, d))| n == m && same_opt(&c.ty, &d.ty))
            }
            (D::Option { ty: t, .. }, D::Option { ty: u, .. }) => same(t, u),
            (D::Result { ok: o, err: e, .. }, D::Result { ok: p, err: f, .. }) => {
                same_opt(o, p) && same_opt(e, f)
            }
            (D::Enum(x), D::Enum(y)) | (D::Flags(x), D::Flags(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| a == b)
            }
            (D::List { element: t, .. }, D::List { element: u, .. }) => same(t, u),
            (
                D::FixedLengthList {
                    element: t,
                    length: n,
                    ..
                },
                D::FixedLengthList {
                    element: u,
                    length: m,
                    ..
                },
            ) => n == m && same(t, u),
            (
                D::Map {
                    key: k, value: v, ..
                },
                D::Map {
                    key: l, value: w, ..
                },
            ) => same(k, l) && same(v, w),
            (D::Own(r), D::Own(s)) | (D::Borrow(r), D::Borrow(s)) => r.resource() == s.resource(),
            _ => false,
        },
        _ => false,
    }
}

/// The callee's side of a call of an async lift: its parameters as a
/// synchronous lift's, its result as `task.return` takes it, flat up to
/// `MAX_FLAT_PARAMS` values, else through a pointer into its memory.
pub fn task_return_flat(mut sig: CoreSignature) -> CoreSignature {
    sig.results_spill = sig.results.len() > MAX_FLAT_PARAMS;
    sig
}

/// Most flat parameters an async lower passes as they are (more go
/// through memory).
pub const MAX_FLAT_ASYNC_PARAMS: usize = 4;

/// The caller's side of an async lower of a function whose flat
/// signature is `sig` (with a result if `has_result`): its parameters flat
/// up to [`MAX_FLAT_ASYNC_PARAMS`] values, else through a pointer; its
/// result, if any, always through a return pointer.
pub fn async_lower_flat(mut sig: CoreSignature, has_result: bool) -> CoreSignature {
    sig.params_spill = sig.params.len() > MAX_FLAT_ASYNC_PARAMS;
    sig.results_spill = has_result;
    sig
}

/// The core signature `canon lower` gives a function of type `ty`: flat
/// parameters or one pointer to them, flat results or a return pointer;
/// for an async lower (`async_`), parameters as [`async_lower_flat`] says
/// and the call's status as the result.
pub fn lower_signature_of(
    types: TypesRef<'_>,
    ty: ComponentFuncTypeId,
    async_: bool,
) -> wasmparser::FuncType {
    let mut s = flatten_func(types, ty);
    if async_ {
        s = async_lower_flat(s, types[ty].result.is_some());
    }
    let mut params = if s.params_spill {
        vec![ValType::I32]
    } else {
        s.params
    };
    if s.results_spill {
        params.push(ValType::I32);
    }
    let results = if async_ {
        vec![ValType::I32]
    } else if s.results_spill {
        Vec::new()
    } else {
        s.results
    };
    wasmparser::FuncType::new(params, results)
}

/// The core signature `canon lower` gives a function of type `ty`: flat
/// parameters or one pointer to them, flat results or a return pointer.
pub fn lower_signature(types: TypesRef<'_>, ty: ComponentFuncTypeId) -> wasmparser::FuncType {
    lower_signature_of(types, ty, false)
}

/// The primitive a value type is, looking through defined aliases.
pub fn as_primitive(types: TypesRef<'_>, ty: &ComponentValType) -> Option<PrimitiveValType> {
    match ty {
        ComponentValType::Primitive(p) => Some(*p),
        ComponentValType::Type(id) => match &types[*id] {
            ComponentDefinedType::Primitive(p) => Some(*p),
            _ => None,
        },
    }
}

/// A short name for a value type's kind, for messages.
pub fn describe(types: TypesRef<'_>, ty: &ComponentValType) -> &'static str {
    use PrimitiveValType as P;
    match ty {
        ComponentValType::Primitive(P::String) => "string",
        ComponentValType::Primitive(P::ErrorContext) => "error-context",
        ComponentValType::Primitive(_) => "scalar",
        ComponentValType::Type(id) => match &types[*id] {
            ComponentDefinedType::Primitive(p) => describe(types, &ComponentValType::Primitive(*p)),
            ComponentDefinedType::Record(_) => "record",
            ComponentDefinedType::Variant(_) => "variant",
            ComponentDefinedType::List { .. } => "list",
            ComponentDefinedType::Map { .. } => "map",
            ComponentDefinedType::FixedLengthList { .. } => "fixed-length list",
            ComponentDefinedType::Tuple(_) => "tuple",
            ComponentDefinedType::Flags(_) => "flags",
            ComponentDefinedType::Enum(_) => "enum",
            ComponentDefinedType::Option { .. } => "option",
            ComponentDefinedType::Result { .. } => "result",
            ComponentDefinedType::Own(_) => "own handle (resource)",
            ComponentDefinedType::Borrow(_) => "borrow handle (resource)",
            ComponentDefinedType::Future { .. } => "future",
            ComponentDefinedType::Stream { .. } => "stream",
        },
    }
}

/// Size and alignment in linear memory (`elem_size` and `alignment` in the
/// spec), for 32-bit memories. A size that does not fit in 32 bits (a
/// fixed-length list of large elements) saturates at `u32::MAX`, which
/// the adapter limits reject.
pub fn size_align(types: TypesRef<'_>, ty: &ComponentValType) -> (u32, u32) {
    use PrimitiveValType as P;
    let p = |p: PrimitiveValType| match p {
        P::Bool | P::S8 | P::U8 => (1, 1),
        P::S16 | P::U16 => (2, 2),
        P::S32 | P::U32 | P::F32 | P::Char | P::ErrorContext => (4, 4),
        P::S64 | P::U64 | P::F64 => (8, 8),
        P::String => (8, 4),
    };
    match ty {
        ComponentValType::Primitive(x) => p(*x),
        ComponentValType::Type(id) => match &types[*id] {
            ComponentDefinedType::Primitive(x) => p(*x),
            ComponentDefinedType::Record(r) => record_layout(types, r.fields.values()).size_align,
            ComponentDefinedType::Tuple(t) => record_layout(types, t.types.iter()).size_align,
            ComponentDefinedType::FixedLengthList {
                element, length, ..
            } => {
                let (s, a) = size_align(types, element);
                (s.saturating_mul(*length), a)
            }
            ComponentDefinedType::Variant(v) => {
                variant_layout(types, v.cases.values().map(|c| c.ty.as_ref())).size_align
            }
            ComponentDefinedType::Option { ty, .. } => {
                variant_layout(types, [None, Some(ty)].into_iter()).size_align
            }
            ComponentDefinedType::Result { ok, err, .. } => {
                variant_layout(types, [ok.as_ref(), err.as_ref()].into_iter()).size_align
            }
            ComponentDefinedType::Enum(names) => {
                let d = discriminant_size(names.len());
                (d, d)
            }
            ComponentDefinedType::Flags(names) => {
                let s = flags_size(names.len());
                (s, s.min(4))
            }
            ComponentDefinedType::List { .. } | ComponentDefinedType::Map { .. } => (8, 4),
            ComponentDefinedType::Own(_)
            | ComponentDefinedType::Borrow(_)
            | ComponentDefinedType::Future { .. }
            | ComponentDefinedType::Stream { .. } => (4, 4),
        },
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub fn align_to(n: u32, align: u32) -> u32 {
    n.div_ceil(align).saturating_mul(align)
}

/// Bytes of a variant's discriminant for `cases` cases.
pub fn discriminant_size(cases: usize) -> u32 {
    match cases {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ => 4,
    }
}

/// Bytes of a flags value with `n` flags.
pub fn flags_size(n: usize) -> u32 {
    match n {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        _ => 4 * n.div_ceil(32) as u32,
    }
}

/// Field offsets of a record or tuple, and its size and alignment.
pub struct RecordLayout {
    /// Offset of each field.
    pub offsets: Vec<u32>,
    /// `(size, alignment)` of the whole.
    pub size_align: (u32, u32),
}

/// Lays out fields in order, as `elem_size_record` does.
pub fn record_layout<'t>(
    types: TypesRef<'_>,
    fields: impl Iterator<Item = &'t ComponentValType>,
) -> RecordLayout {
    layout_record(fields.map(|f| size_align(types, f)))
}

fn layout_record(fields: impl Iterator<Item = (u32, u32)>) -> RecordLayout {
    let (mut size, mut align) = (0, 1);
    let mut offsets = Vec::new();
    for (s, a) in fields {
        size = align_to(size, a);
        offsets.push(size);
        size = size.saturating_add(s);
        align = align.max(a);
    }
    RecordLayout {
        offsets,
        size_align: (align_to(size, align), align),
    }
}

/// Where a variant's payload sits, and its size and alignment.
pub struct VariantLayout {
    /// Bytes of the discriminant.
    pub discriminant: u32,
    /// Offset of the payload.
    pub payload_offset: u32,
    /// `(size, alignment)` of the whole.
    pub size_align: (u32, u32),
}

/// Lays out a variant, as `elem_size_variant` does.
pub fn variant_layout<'t>(
    types: TypesRef<'_>,
    cases: impl Iterator<Item = Option<&'t ComponentValType>>,
) -> VariantLayout {
    let cases: Vec<_> = cases.collect();
    layout_variant(
        cases.len(),
        cases.iter().flatten().map(|c| size_align(types, c)),
    )
}

/// A variant of `cases` cases whose payloads have these sizes and
/// alignments.
fn layout_variant(cases: usize, payloads: impl Iterator<Item = (u32, u32)>) -> VariantLayout {
    let d = discriminant_size(cases);
    let (mut payload_size, mut payload_align) = (0, 1);
    for (s, a) in payloads {
        payload_size = payload_size.max(s);
        payload_align = payload_align.max(a);
    }
    let payload_offset = align_to(d, payload_align);
    let align = d.max(payload_align);
    VariantLayout {
        discriminant: d,
        payload_offset,
        size_align: (
            align_to(payload_offset.saturating_add(payload_size), align),
            align,
        ),
    }
}

/// Whether values of `ty` are stored identically by `lift` then `lower`,
/// so a list of them can be copied byte for byte: integers and floats,
/// and records and tuples of them.
pub fn is_byte_copyable(types: TypesRef<'_>, ty: &ComponentValType) -> bool {
    use PrimitiveValType as P;
    match shape(types, ty) {
        Shape::Scalar(p) => !matches!(p, P::Bool | P::Char),
        Shape::Record(fields) => fields.iter().all(|f| is_byte_copyable(types, f)),
        Shape::Repeat(element, _) => is_byte_copyable(types, &element),
        _ => false,
    }
}

/// What the passes ask of a value type, computed once per type by
/// [`Abi`].
#[derive(Debug)]
pub struct Facts {
    /// `(size, alignment)` in linear memory, as [`size_align`] gives.
    pub size_align: (u32, u32),
    /// The flat core types; `None` when there are more than
    /// [`MAX_FLAT_PARAMS`] (such a value only ever travels in memory).
    pub flat: Option<Vec<ValType>>,
    /// Whether a list of it copies byte for byte ([`is_byte_copyable`]).
    pub byte_copyable: bool,
    /// Whether it holds a handle.
    pub handles: bool,
    /// Whether it holds a `borrow` handle.
    pub borrows: bool,
    /// Whether it holds a stream, a future or an error context.
    pub async_handles: bool,
    /// Whether it holds a string or a list (moving it needs memory).
    pub memory: bool,
    /// How much code moving it takes, in the units of
    /// [`crate::adapter::limits`]: one per scalar, record, variant, list
    /// and loop, more for a string; a fixed-length list in memory is a
    /// loop over one element.
    pub weight: u64,
}

/// The canonical ABI's facts about the input's value types, each computed
/// once, from the facts of the types inside it.
pub struct Abi<'t> {
    /// The input's types.
    pub types: TypesRef<'t>,
    facts: RefCell<HashMap<Key, Rc<Facts>>>,
}

/// A value type as a map key (the validator's type is not `Hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A primitive, by its discriminant.
    Primitive(u8),
    /// A defined type.
    Defined(ComponentDefinedTypeId),
}

impl From<&ComponentValType> for Key {
    fn from(ty: &ComponentValType) -> Key {
        match ty {
            ComponentValType::Primitive(p) => Key::Primitive(*p as u8),
            ComponentValType::Type(id) => Key::Defined(*id),
        }
    }
}

impl<'t> Abi<'t> {
    /// An empty cache over `types`.
    pub fn new(types: TypesRef<'t>) -> Self {
        Abi {
            types,
            facts: RefCell::new(HashMap::new()),
        }
    }

    /// The facts of `ty`.
    pub fn facts(&self, ty: &ComponentValType) -> Rc<Facts> {
        let key = Key::from(ty);
        if let Some(f) = self.facts.borrow().get(&key) {
            return f.clone();
        }
        let f = Rc::new(self.compute(ty));
        self.facts.borrow_mut().insert(key, f.clone());
        f
    }

    /// The number of flat core values of `ty`, which must be flat.
    pub fn flat_len(&self, ty: &ComponentValType) -> usize {
        self.facts(ty).flat.as_ref().map_or(usize::MAX, Vec::len)
    }

    /// [`record_layout`] of `fields`.
    pub fn record_layout(&self, fields: &[ComponentValType]) -> RecordLayout {
        layout_record(fields.iter().map(|f| self.facts(f).size_align))
    }

    /// [`variant_layout`] of `cases`.
    pub fn variant_layout(&self, cases: &[Option<ComponentValType>]) -> VariantLayout {
        layout_variant(
            cases.len(),
            cases.iter().flatten().map(|c| self.facts(c).size_align),
        )
    }

    fn compute(&self, ty: &ComponentValType) -> Facts {
        use crate::adapter::limits::STRING_WEIGHT;
        use PrimitiveValType as P;
        let leaf = |size_align, flat: Vec<ValType>| Facts {
            size_align,
            flat: Some(flat),
            byte_copyable: false,
            handles: false,
            borrows: false,
            async_handles: false,
            memory: false,
            weight: 1,
        };
        match shape(self.types, ty) {
            Shape::Scalar(p) => {
                let mut flat = Vec::new();
                flatten_primitive(p, &mut flat);
                Facts {
                    byte_copyable: !matches!(p, P::Bool | P::Char),
                    ..leaf(size_align(self.types, ty), flat)
                }
            }
            Shape::String => Facts {
                memory: true,
                weight: STRING_WEIGHT,
                ..leaf((8, 4), vec![ValType::I32; 2])
            },
            Shape::ErrorContext | Shape::Async(_) => Facts {
                async_handles: true,
                ..leaf((4, 4), vec![ValType::I32])
            },
            Shape::Handle(own, _) => Facts {
                handles: true,
                borrows: !own,
                ..leaf((4, 4), vec![ValType::I32])
            },
            Shape::Enum(n) => {
                let d = discriminant_size(n);
                leaf((d, d), vec![ValType::I32])
            }
            Shape::Flags(n) => {
                let s = flags_size(n);
                Facts {
                    weight: 1 + n.div_ceil(32) as u64,
                    ..leaf((s, s.min(4)), vec![ValType::I32; n.div_ceil(32)])
                }
            }
            Shape::Record(fields) => {
                let parts: Vec<Rc<Facts>> = fields.iter().map(|f| self.facts(f)).collect();
                let mut flat = Some(Vec::new());
                for p in &parts {
                    flat = concat(flat, p.flat.as_deref());
                }
                Facts {
                    size_align: layout_record(parts.iter().map(|p| p.size_align)).size_align,
                    flat,
                    byte_copyable: parts.iter().all(|p| p.byte_copyable),
                    ..any_of(&parts)
                }
            }
            Shape::Repeat(element, length) => {
                let e = self.facts(&element);
                let (s, a) = e.size_align;
                let flat = match &e.flat {
                    Some(f) if f.len().saturating_mul(length as usize) <= MAX_FLAT_PARAMS => {
                        Some(f.repeat(length as usize))
                    }
                    _ => None,
                };
                let inside = if length > 0 {
                    any_of(std::slice::from_ref(&e))
                } else {
                    any_of(&[])
                };
                // Flat, it is unrolled; in memory, a loop.
                let copies = if flat.is_some() { u64::from(length) } else { 1 };
                Facts {
                    size_align: (s.saturating_mul(length), a),
                    flat,
                    byte_copyable: e.byte_copyable,
                    weight: 1 + e.weight.saturating_mul(copies),
                    ..inside
                }
            }
            Shape::Variant(cases) => {
                let parts: Vec<Rc<Facts>> = cases.iter().flatten().map(|c| self.facts(c)).collect();
                let mut flat = Some(vec![ValType::I32]);
                for p in &parts {
                    flat = match (flat, &p.flat) {
                        (Some(mut out), Some(case)) if case.len() < MAX_FLAT_PARAMS => {
                            for (i, t) in case.iter().enumerate() {
                                match out.get_mut(1 + i) {
                                    Some(slot) => *slot = join(*slot, *t),
                                    None => out.push(*t),
                                }
                            }
                            Some(out)
                        }
                        _ => None,
                    };
                }
                Facts {
                    size_align: layout_variant(cases.len(), parts.iter().map(|p| p.size_align))
                        .size_align,
                    flat,
                    byte_copyable: false,
                    ..any_of(&parts)
                }
            }
            Shape::List(fields) => {
                let parts: Vec<Rc<Facts>> = fields.iter().map(|f| self.facts(f)).collect();
                Facts {
                    memory: true,
                    ..any_of(&parts)
                }
                .with_pointer_pair()
            }
        }
    }
}

impl Facts {
    /// These facts for a value stored as a pointer and a length.
    fn with_pointer_pair(self) -> Facts {
        Facts {
            size_align: (8, 4),
            flat: Some(vec![ValType::I32; 2]),
            byte_copyable: false,
            ..self
        }
    }
}

/// The facts a value has when any of `parts` has them; size, alignment and
/// flattening empty.
fn any_of(parts: &[Rc<Facts>]) -> Facts {
    Facts {
        size_align: (0, 1),
        flat: Some(Vec::new()),
        byte_copyable: true,
        handles: parts.iter().any(|p| p.handles),
        borrows: parts.iter().any(|p| p.borrows),
        async_handles: parts.iter().any(|p| p.async_handles),
        memory: parts.iter().any(|p| p.memory),
        weight: parts.iter().fold(1, |w: u64, p| w.saturating_add(p.weight)),
    }
}

/// `a` followed by `b`, `None` once past [`MAX_FLAT_PARAMS`].
fn concat(a: Option<Vec<ValType>>, b: Option<&[ValType]>) -> Option<Vec<ValType>> {
    let (mut a, b) = (a?, b?);
    a.extend_from_slice(b);
    (a.len() <= MAX_FLAT_PARAMS).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_follows_the_spec() {
        assert_eq!(join(ValType::I32, ValType::F32), ValType::I32);
        assert_eq!(join(ValType::F32, ValType::F32), ValType::F32);
        assert_eq!(join(ValType::I32, ValType::I64), ValType::I64);
        assert_eq!(join(ValType::F32, ValType::F64), ValType::I64);
        assert_eq!(join(ValType::F64, ValType::F64), ValType::F64);
    }

    #[test]
    fn primitives_flatten_to_one_value() {
        use PrimitiveValType as P;
        let cases = [
            (P::Bool, ValType::I32),
            (P::S8, ValType::I32),
            (P::U16, ValType::I32),
            (P::Char, ValType::I32),
            (P::U64, ValType::I64),
            (P::F32, ValType::F32),
            (P::F64, ValType::F64),
        ];
        for (p, want) in cases {
            let mut out = Vec::new();
            flatten_primitive(p, &mut out);
            assert_eq!(out, vec![want], "{p:?}");
        }
        let mut out = Vec::new();
        flatten_primitive(P::String, &mut out);
        assert_eq!(out, vec![ValType::I32, ValType::I32]);
    }
}
