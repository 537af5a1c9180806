//! Limits on what static instantiation may create.
//!
//! A small input can instantiate a component or module many times (a
//! component that instantiates its nested component twice, nested 64
//! deep, is 2^64 instances), and the fused module holds a copy of every
//! core instance. These limits stop such an input while it is being
//! walked, before memory is spent on it. The fused module's own limits
//! are wasmparser's for any module: above them its output would not
//! validate.

use crate::error::{Error, Result};

/// Most core instances one input may instantiate.
pub const MAX_CORE_INSTANCES: usize = 10_000;
/// Most component instances one input may instantiate.
pub const MAX_COMPONENT_INSTANCES: usize = 10_000;
/// Deepest nesting of component instantiations (as deep as
/// definitions may nest; a component may instantiate one defined
/// beside it, so instantiation can nest deeper than definitions).
pub const MAX_INSTANTIATION_DEPTH: usize = crate::parse::limits::MAX_NESTING;
/// Most cross-component calls (adapters) in the fused module.
pub const MAX_ADAPTERS: usize = 100_000;
/// Most bytes of core modules instantiated, counted once per instance:
/// the fused module holds a copy of each, so this bounds its size.
pub const MAX_INSTANTIATED_BYTES: usize = crate::parse::limits::MAX_INPUT_SIZE;
/// Most core imports resolved, over every core instance.
pub const MAX_CORE_IMPORTS: usize = 1_000_000;
/// Most items copied into the scopes that nested component definitions
/// close over (what their outer aliases may name).
pub const MAX_SCOPE_ITEMS: usize = 1_000_000;
/// Most functions in the fused module (wasmparser's limit, less the
/// start sequence the fused module adds and the three functions of each
/// component instance's handle table).
pub const MAX_FUNCTIONS: usize = 1_000_000 - 1 - 3 * MAX_COMPONENT_INSTANCES;
/// Most memories in the fused module (wasmparser's limit).
pub const MAX_MEMORIES: usize = 100;
/// Most tables in the fused module (wasmparser's limit, less the one
/// the fused module adds for host calls).
pub const MAX_TABLES: usize = 99;
/// Most globals in the fused module (wasmparser's limit, less what the
/// fused module adds: one flag per component instance, five globals per
/// handle table, and three shared ones).
pub const MAX_GLOBALS: usize = 1_000_000 - 6 * MAX_COMPONENT_INSTANCES - 3;
/// Most tags in the fused module (wasmparser's limit).
pub const MAX_TAGS: usize = 1_000_000;
/// Most types in the fused module (wasmparser's limit, less the start
/// sequence's type); each generated function counts as one type.
pub const MAX_TYPES: usize = 1_000_000 - 1;
/// Most data segments in the fused module (wasmparser's limit).
pub const MAX_DATA_SEGMENTS: usize = 100_000;
/// Most element segments in the fused module (wasmparser's limit).
pub const MAX_ELEMENT_SEGMENTS: usize = 100_000;

/// What the core instances, adapters and host calls found so far add
/// up to, against the limits above.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    functions: usize,
    memories: usize,
    tables: usize,
    globals: usize,
    tags: usize,
    types: usize,
    data: usize,
    elements: usize,
    imports: usize,
    bytes: usize,
    scope: usize,
}

fn add(used: &mut usize, n: usize, max: usize, what: &str) -> Result<()> {
    *used = used.saturating_add(n);
    if *used > max {
        return Err(Error::limit(format!("more than {max} {what}")));
    }
    Ok(())
}

impl Budget {
    /// Counts one instance of `m`.
    pub(crate) fn core_instance(&mut self, m: &crate::parse::ModuleDef<'_>) -> Result<()> {
        add(
            &mut self.functions,
            m.functions.len(),
            MAX_FUNCTIONS,
            "functions in the fused module",
        )?;
        add(
            &mut self.memories,
            m.memories.len(),
            MAX_MEMORIES,
            "memories in the fused module",
        )?;
        add(
            &mut self.tables,
            m.table_count as usize,
            MAX_TABLES,
            "tables in the fused module",
        )?;
        add(
            &mut self.globals,
            m.global_count as usize,
            MAX_GLOBALS,
            "globals in the fused module",
        )?;
        add(
            &mut self.tags,
            m.tags.len(),
            MAX_TAGS,
            "tags in the fused module",
        )?;
        add(
            &mut self.types,
            m.type_count as usize,
            MAX_TYPES,
            "types in the fused module",
        )?;
        add(
            &mut self.data,
            m.data_count as usize,
            MAX_DATA_SEGMENTS,
            "data segments in the fused module",
        )?;
        add(
            &mut self.elements,
            m.element_count as usize,
            MAX_ELEMENT_SEGMENTS,
            "element segments in the fused module",
        )?;
        add(
            &mut self.imports,
            m.imports.len(),
            MAX_CORE_IMPORTS,
            "core imports to resolve",
        )?;
        add(
            &mut self.bytes,
            m.size,
            MAX_INSTANTIATED_BYTES,
            "bytes of core modules instantiated",
        )
    }

    /// Counts a generated function: an adapter, or the import and the
    /// wrapper of a host call.
    pub(crate) fn functions(&mut self, n: usize) -> Result<()> {
        add(
            &mut self.functions,
            n,
            MAX_FUNCTIONS,
            "functions in the fused module",
        )?;
        add(&mut self.types, 1, MAX_TYPES, "types in the fused module")
    }

    /// Counts items copied into a nested component's scope.
    pub(crate) fn scope(&mut self, n: usize) -> Result<()> {
        add(
            &mut self.scope,
            n,
            MAX_SCOPE_ITEMS,
            "items captured by nested component definitions",
        )
    }
}
