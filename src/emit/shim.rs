//! The small component through which the wrapper exports an interface.
//!
//! An exported interface is an instance whose functions may carry the
//! names the component model gives resource functions
//! (`[constructor]counter`, `[method]counter.inc`, `[static]counter.total`).
//! The validator checks such a name against the resource types exported
//! *beside it*, and an instance built from a bag of exports has no names in
//! scope at all; so, as wit-bindgen's components do, the wrapper
//! instantiates a nested component instead. It imports the interface's
//! resource types, its named types and its functions, exports the types
//! under their names, and exports each function again with its type
//! written in terms of those exported types.
//!
//! Resource types cross by identity: each is imported as `(sub resource)`
//! and instantiated with the wrapper's own type, so the exported instance
//! has exactly the resource types that the input's had. A named value type
//! that an earlier export named (another interface's type, as a WIT `use`
//! gives) is imported as `(eq ...)` of that export's and exported as it
//! is; the interface's own named types are defined in the shim, in terms
//! of the types it exports, as the validator requires of exported types.
//! The functions' imports use the imported types.

use super::types::{self, TypeScope};
use crate::error::{Error, Result};
use std::collections::HashMap;
use wasm_encoder::{
    ComponentBuilder, ComponentDefinedTypeEncoder, ComponentExportKind, ComponentFuncTypeEncoder,
    ComponentTypeRef, ComponentValType, TypeBounds,
};
use wasmparser::component_types::{ComponentDefinedTypeId, ComponentFuncTypeId, ResourceId};
use wasmparser::types::TypesRef;

/// One export of the interface, with the index of its value in the
/// wrapper.
pub(super) struct Member<'n> {
    /// The export name.
    pub name: &'n str,
    /// What it is.
    pub kind: MemberKind,
    /// Its index in the wrapper's index space of its kind.
    pub outer: u32,
}

/// The kinds of item an interface exports.
pub(super) enum MemberKind {
    /// A resource type.
    Resource(ResourceId),
    /// A named value type: the type it refers to and the one the export
    /// creates (the interface's functions use either).
    Type {
        referenced: ComponentDefinedTypeId,
        created: ComponentDefinedTypeId,
        /// Named by an earlier export: the interface exports that very
        /// type. Otherwise the interface defines it.
        foreign: bool,
    },
    /// A function of this type.
    Func(ComponentFuncTypeId),
}

/// The nested component's bytes and the arguments that instantiate it,
/// as (import name, kind, index in the wrapper).
pub(super) struct Shim {
    pub bytes: Vec<u8>,
    pub args: Vec<(String, ComponentExportKind, u32)>,
}

/// The nested component's type index space.
struct Scope {
    builder: ComponentBuilder,
    defined: HashMap<ComponentDefinedTypeId, u32>,
    resources: HashMap<ResourceId, u32>,
}

impl TypeScope for Scope {
    fn known(&self, id: ComponentDefinedTypeId) -> Option<u32> {
        self.defined.get(&id).copied()
    }

    fn remember(&mut self, id: ComponentDefinedTypeId, index: u32) {
        self.defined.insert(id, index);
    }

    fn resource(&mut self, r: ResourceId) -> Result<u32> {
        self.resources.get(&r).copied().ok_or_else(|| {
            Error::internal("an exported interface uses a resource type it was not given")
        })
    }

    fn define(&mut self) -> (u32, ComponentDefinedTypeEncoder<'_>) {
        self.builder.type_defined(None)
    }

    fn function(&mut self) -> (u32, ComponentFuncTypeEncoder<'_>) {
        self.builder.type_function(None)
    }
}

/// Builds the component that exports `members` (in their order, types
/// first) as one instance. `resources` gives the wrapper's index of every
/// resource type the members mention.
pub(super) fn build(
    types: TypesRef<'_>,
    members: &[Member<'_>],
    resources: &[(ResourceId, u32)],
) -> Result<Shim> {
    let mut scope = Scope {
        builder: ComponentBuilder::default(),
        defined: HashMap::new(),
        resources: HashMap::new(),
    };
    let mut args = Vec::new();
    let mut import = |scope: &mut Scope, kind, ty, outer| {
        let name = format!("import-{}", args.len());
        let index = scope.builder.import(&name, ty);
        args.push((name, kind, outer));
        index
    };

    // Imports: resource types, named types, then the functions, typed in
    // terms of the imported types.
    for (r, outer) in resources {
        let index = import(
            &mut scope,
            ComponentExportKind::Type,
            ComponentTypeRef::Type(TypeBounds::SubResource),
            *outer,
        );
        scope.resources.insert(*r, index);
    }
    let mut named = HashMap::new();
    for m in members {
        if let MemberKind::Type {
            referenced,
            created,
            ..
        } = m.kind
        {
            let local = local_type(&mut scope, types, referenced)?;
            let index = import(
                &mut scope,
                ComponentExportKind::Type,
                ComponentTypeRef::Type(TypeBounds::Eq(local)),
                m.outer,
            );
            scope.defined.insert(referenced, index);
            scope.defined.insert(created, index);
            named.insert(referenced, index);
            named.insert(created, index);
        }
    }
    // The function members with the index each is imported at.
    let mut funcs = Vec::new();
    for m in members {
        if let MemberKind::Func(f) = m.kind {
            let ty = types::func_type(&mut scope, types, f)?;
            let index = import(
                &mut scope,
                ComponentExportKind::Func,
                ComponentTypeRef::Func(ty),
                m.outer,
            );
            funcs.push((m, f, index));
        }
    }

    // Exports: the types under their names, then the functions, typed in
    // terms of the exported types (which the names are checked against).
    // Unnamed types written for the imports refer to the imported
    // resources, so they are written again.
    scope.defined = named;
    for m in members {
        match m.kind {
            MemberKind::Resource(r) => {
                let imported = scope.resource(r)?;
                let index = scope
                    .builder
                    .export(m.name, ComponentExportKind::Type, imported, None);
                scope.resources.insert(r, index);
            }
            MemberKind::Type {
                referenced,
                created,
                foreign,
            } => {
                if !foreign {
                    // The interface's own type, defined here in terms of
                    // the types exported before it, as its export names
                    // must be.
                    scope.defined.remove(&referenced);
                    scope.defined.remove(&created);
                }
                let ty = local_type(&mut scope, types, referenced)?;
                let index = scope
                    .builder
                    .export(m.name, ComponentExportKind::Type, ty, None);
                scope.defined.insert(referenced, index);
                scope.defined.insert(created, index);
            }
            MemberKind::Func(_) => {}
        }
    }
    for (m, f, func) in funcs {
        let ty = types::func_type(&mut scope, types, f)?;
        scope.builder.export(
            m.name,
            ComponentExportKind::Func,
            func,
            Some(ComponentTypeRef::Func(ty)),
        );
    }
    Ok(Shim {
        bytes: scope.builder.finish(),
        args,
    })
}

/// The index of the defined type `id` in `scope`.
fn local_type(scope: &mut Scope, types: TypesRef<'_>, id: ComponentDefinedTypeId) -> Result<u32> {
    match types::val_type(
        scope,
        types,
        &wasmparser::component_types::ComponentValType::Type(id),
    )? {
        ComponentValType::Type(i) => Ok(i),
        ComponentValType::Primitive(p) => {
            // A named primitive still needs a type index.
            let (index, enc) = scope.define();
            enc.primitive(p);
            Ok(index)
        }
    }
}
