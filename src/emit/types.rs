//! Component types regenerated from the validator's view of the input.
//!
//! The wrapper writes function and value types in two places: in the
//! output component itself (for `canon lift` of the fused functions), and
//! inside the small components through which it exports interfaces (see
//! `shim`). Both are a [`TypeScope`]: an index space of types that knows
//! which input types it already holds and where each resource type is.
//! The translation itself, one function per kind of type, is shared.

use crate::error::Result;
use wasm_encoder::{
    ComponentDefinedTypeEncoder, ComponentFuncTypeEncoder, ComponentValType, PrimitiveValType,
};
use wasmparser::component_types::{
    ComponentDefinedType, ComponentDefinedTypeId, ComponentFuncTypeId,
    ComponentValType as PValType, ResourceId,
};
use wasmparser::types::TypesRef;

/// A component-level type index space that input types are written into.
pub(super) trait TypeScope {
    /// The index of the type already written for `id`, if any.
    fn known(&self, id: ComponentDefinedTypeId) -> Option<u32>;
    /// Records that `id` is written at `index`.
    fn remember(&mut self, id: ComponentDefinedTypeId, index: u32);
    /// The index of resource type `r` in this scope.
    fn resource(&mut self, r: ResourceId) -> Result<u32>;
    /// Starts the next defined type: its index and its encoder.
    fn define(&mut self) -> (u32, ComponentDefinedTypeEncoder<'_>);
    /// Starts the next function type: its index and its encoder.
    fn function(&mut self) -> (u32, ComponentFuncTypeEncoder<'_>);
}

/// Writes the function type `id` into `scope`.
pub(super) fn func_type(
    scope: &mut impl TypeScope,
    types: TypesRef<'_>,
    id: ComponentFuncTypeId,
) -> Result<u32> {
    let f = &types[id];
    let mut params = Vec::new();
    for (n, t) in f.params.iter() {
        params.push((n.as_str(), val_type(scope, types, t)?));
    }
    let result = f
        .result
        .as_ref()
        .map(|r| val_type(scope, types, r))
        .transpose()?;
    let (index, mut enc) = scope.function();
    enc.async_(f.async_).params(params).result(result);
    Ok(index)
}

/// The value type `t` in `scope`, writing the types it needs first.
pub(super) fn val_type(
    scope: &mut impl TypeScope,
    types: TypesRef<'_>,
    t: &PValType,
) -> Result<ComponentValType> {
    match t {
        PValType::Primitive(p) => Ok(ComponentValType::Primitive(primitive(*p))),
        PValType::Type(id) => {
            if let Some(i) = scope.known(*id) {
                return Ok(ComponentValType::Type(i));
            }
            let i = defined_type(scope, types, &types[*id])?;
            scope.remember(*id, i);
            Ok(ComponentValType::Type(i))
        }
    }
}

fn defined_type(
    scope: &mut impl TypeScope,
    types: TypesRef<'_>,
    d: &ComponentDefinedType,
) -> Result<u32> {
    // Encode the parts first: they must precede the type that uses them.
    let opt =
        |s: &mut _, t: &Option<PValType>| t.as_ref().map(|t| val_type(s, types, t)).transpose();
    let ty = match d {
        ComponentDefinedType::Primitive(p) => Defined::Primitive(primitive(*p)),
        ComponentDefinedType::Record(r) => {
            let mut fields = Vec::new();
            for (n, t) in r.fields.iter() {
                fields.push((n.to_string(), val_type(scope, types, t)?));
            }
            Defined::Record(fields)
        }
        ComponentDefinedType::Variant(v) => {
            let mut cases = Vec::new();
            for (n, c) in v.cases.iter() {
                cases.push((n.to_string(), opt(scope, &c.ty)?));
            }
            Defined::Variant(cases)
        }
        ComponentDefinedType::List { element, .. } => {
            Defined::List(val_type(scope, types, element)?)
        }
        ComponentDefinedType::FixedLengthList {
            element, length, ..
        } => Defined::FixedList(val_type(scope, types, element)?, *length),
        ComponentDefinedType::Map { key, value, .. } => {
            Defined::Map(val_type(scope, types, key)?, val_type(scope, types, value)?)
        }
        ComponentDefinedType::Tuple(t) => {
            let mut items = Vec::new();
            for t in t.types.iter() {
                items.push(val_type(scope, types, t)?);
            }
            Defined::Tuple(items)
        }
        ComponentDefinedType::Flags(names) => {
            Defined::Flags(names.iter().map(|n| n.to_string()).collect())
        }
        ComponentDefinedType::Enum(names) => {
            Defined::Enum(names.iter().map(|n| n.to_string()).collect())
        }
        ComponentDefinedType::Option { ty, .. } => Defined::Option(val_type(scope, types, ty)?),
        ComponentDefinedType::Result { ok, err, .. } => {
            Defined::Result(opt(scope, ok)?, opt(scope, err)?)
        }
        ComponentDefinedType::Own(r) => Defined::Own(scope.resource(r.resource())?),
        ComponentDefinedType::Borrow(r) => Defined::Borrow(scope.resource(r.resource())?),
        ComponentDefinedType::Future { ty, .. } => Defined::Future(opt(scope, ty)?),
        ComponentDefinedType::Stream { ty, .. } => Defined::Stream(opt(scope, ty)?),
    };
    let (index, enc) = scope.define();
    match ty {
        Defined::Primitive(p) => enc.primitive(p),
        Defined::Record(f) => enc.record(f.iter().map(|(n, t)| (n.as_str(), *t))),
        Defined::Variant(c) => enc.variant(c.iter().map(|(n, t)| (n.as_str(), *t))),
        Defined::List(t) => enc.list(t),
        Defined::FixedList(t, n) => enc.fixed_length_list(t, n),
        Defined::Map(k, v) => enc.map(k, v),
        Defined::Tuple(t) => enc.tuple(t),
        Defined::Flags(n) => enc.flags(n.iter().map(String::as_str)),
        Defined::Enum(n) => enc.enum_type(n.iter().map(String::as_str)),
        Defined::Option(t) => enc.option(t),
        Defined::Result(o, e) => enc.result(o, e),
        Defined::Own(r) => enc.own(r),
        Defined::Borrow(r) => enc.borrow(r),
        Defined::Future(t) => enc.future(t),
        Defined::Stream(t) => enc.stream(t),
    }
    Ok(index)
}

/// Whether the defined types `a` and `b` are the same type: each a
/// subtype of the other (for defined types, the same structure).
pub(super) fn same_defined(
    types: TypesRef<'_>,
    a: ComponentDefinedTypeId,
    b: ComponentDefinedTypeId,
) -> bool {
    use wasmparser::component_types::{ComponentAnyTypeId as Any, ComponentEntityType as E};
    let ty = |d| E::Type {
        referenced: Any::Defined(d),
        created: Any::Defined(d),
    };
    let mut cx = wasmparser::component_types::SubtypeCx::new_with_refs(types, types);
    cx.component_entity_type(&ty(a), &ty(b), 0).is_ok()
        && cx.component_entity_type(&ty(b), &ty(a), 0).is_ok()
}

/// The resource types that the value type `t` mentions, in the order
/// first met, added to `out` once each.
pub(super) fn resources_in(types: TypesRef<'_>, t: &PValType, out: &mut Vec<ResourceId>) {
    match crate::abi::shape(types, t) {
        crate::abi::Shape::Handle(_, r) => {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        s => s.parts().iter().for_each(|t| resources_in(types, t, out)),
    }
}

/// A type whose parts are already encoded.
enum Defined {
    Primitive(PrimitiveValType),
    Record(Vec<(String, ComponentValType)>),
    Variant(Vec<(String, Option<ComponentValType>)>),
    List(ComponentValType),
    FixedList(ComponentValType, u32),
    Map(ComponentValType, ComponentValType),
    Tuple(Vec<ComponentValType>),
    Flags(Vec<String>),
    Enum(Vec<String>),
    Option(ComponentValType),
    Result(Option<ComponentValType>, Option<ComponentValType>),
    Own(u32),
    Borrow(u32),
    Future(Option<ComponentValType>),
    Stream(Option<ComponentValType>),
}

fn primitive(p: wasmparser::PrimitiveValType) -> PrimitiveValType {
    use wasmparser::PrimitiveValType as P;
    match p {
        P::Bool => PrimitiveValType::Bool,
        P::S8 => PrimitiveValType::S8,
        P::U8 => PrimitiveValType::U8,
        P::S16 => PrimitiveValType::S16,
        P::U16 => PrimitiveValType::U16,
        P::S32 => PrimitiveValType::S32,
        P::U32 => PrimitiveValType::U32,
        P::S64 => PrimitiveValType::S64,
        P::U64 => PrimitiveValType::U64,
        P::F32 => PrimitiveValType::F32,
        P::F64 => PrimitiveValType::F64,
        P::Char => PrimitiveValType::Char,
        P::String => PrimitiveValType::String,
        P::ErrorContext => PrimitiveValType::ErrorContext,
    }
}
