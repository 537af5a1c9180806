//! Limits on generated adapters.
//!
//! An adapter's code follows its type: records, tuples and variants are
//! translated field by field and fixed-length lists element by element,
//! inline, while a (dynamic) list translates its element once, inside a
//! loop. A small type can therefore ask for a huge adapter — a
//! `list<u8, 1000000000>` parameter, or records of such lists — and a value
//! can be too large for a 32-bit memory. Both are caught here, before any
//! code is generated, by weighing what generation would unroll.

use crate::abi::{self, Shape};
use crate::error::{Error, Result};
use crate::instantiate::Adapter;
use wasmparser::component_types::ComponentValType;
use wasmparser::types::TypesRef;

/// Most weight one adapter may have: one unit per scalar, record, variant
/// or list it translates, [`STRING_WEIGHT`] per string. It keeps one
/// adapter's body well inside wasmparser's limits on a function (50,000
/// locals, 7.6 MB of code): at this weight, the heaviest shapes (strings
/// transcoded to latin1+utf16) make under 1 MB.
pub const MAX_ADAPTER_WEIGHT: u64 = 10_000;

/// Most weight of all adapters together; it bounds the code adapters add
/// to the fused module to some tens of megabytes.
pub const MAX_TOTAL_ADAPTER_WEIGHT: u64 = 1_000_000;

/// The weight of a string: transcoding loops, validation and `realloc`
/// calls are a few hundred instructions and a dozen locals.
pub const STRING_WEIGHT: u64 = 20;

/// The weight of the adapter for `adapter`; fails when it exceeds
/// [`MAX_ADAPTER_WEIGHT`] or a value it moves does not fit in a 32-bit
/// memory.
pub fn weigh(types: TypesRef<'_>, adapter: &Adapter<'_>) -> Result<u64> {
    let f = &types[adapter.callee.ty];
    let params: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
    let results: Vec<ComponentValType> = f.result.iter().copied().collect();
    for tuple in [&params, &results] {
        check_size(
            abi::record_layout(types, tuple.iter()).size_align.0,
            adapter,
        )?;
    }
    let mut w = Weigher {
        types,
        adapter,
        left: MAX_ADAPTER_WEIGHT,
    };
    for t in params.iter().chain(&results) {
        w.weigh(t)?;
    }
    Ok(MAX_ADAPTER_WEIGHT - w.left)
}

fn check_size(size: u32, adapter: &Adapter<'_>) -> Result<()> {
    if size == u32::MAX {
        return Err(Error::limit(format!(
            "a value `{}` passes does not fit in a 32-bit memory",
            adapter.name
        )));
    }
    Ok(())
}

struct Weigher<'t, 'a> {
    types: TypesRef<'t>,
    adapter: &'t Adapter<'a>,
    left: u64,
}

impl Weigher<'_, '_> {
    fn spend(&mut self, w: u64) -> Result<()> {
        self.left = self.left.checked_sub(w).ok_or_else(|| {
            Error::limit(format!(
                "the adapter for `{}` would unroll more than {MAX_ADAPTER_WEIGHT} values (strings count {STRING_WEIGHT})",
                self.adapter.name
            ))
        })?;
        Ok(())
    }

    fn weigh(&mut self, ty: &ComponentValType) -> Result<()> {
        let types = self.types;
        match abi::shape(types, ty) {
            Shape::String => self.spend(STRING_WEIGHT),
            Shape::Scalar(_) | Shape::Enum(_) | Shape::ErrorContext => self.spend(1),
            Shape::Handle(..) | Shape::Async(_) => self.spend(1),
            Shape::Flags(n) => self.spend(1 + n.div_ceil(32) as u64),
            Shape::Record(fields) => {
                self.spend(1)?;
                fields.iter().try_for_each(|t| self.weigh(t))
            }
            Shape::Repeat(element, length) => {
                self.spend(1)?;
                // Each element spends at least one unit: the loop ends
                // within the budget.
                for _ in 0..length {
                    self.weigh(&element)?;
                }
                Ok(())
            }
            Shape::Variant(cases) => {
                self.spend(1)?;
                cases.iter().flatten().try_for_each(|t| self.weigh(t))
            }
            Shape::List(fields) => {
                self.spend(1)?;
                check_size(
                    abi::record_layout(types, fields.iter()).size_align.0,
                    self.adapter,
                )?;
                fields.iter().try_for_each(|t| self.weigh(t))
            }
        }
    }
}
