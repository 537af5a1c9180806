//! Limits on generated code.
//!
//! An adapter's code follows its type: records, tuples and variants are
//! translated field by field, and lists and fixed-length lists in memory
//! element by element in a loop. A value in memory whose code would weigh
//! more than [`OUTLINE_WEIGHT`] is moved by a function of its own, shared
//! by every move of its type between the same two sides, so that no
//! generated function grows with the depth of a type: each holds the code
//! of one type's direct parts. What is left to limit is the pathological:
//! one type with so many direct parts that its function alone would be too
//! large, a value too large for a 32-bit memory, and more generated code in
//! all than a fused module should carry. All are caught here, before any
//! code is generated.

use crate::abi::{self, Abi, Key, Shape};
use crate::error::{Error, Result};
use crate::instantiate::Adapter;
use std::collections::HashSet;
use wasmparser::component_types::ComponentValType;

/// Most weight one generated function (an adapter, or the shared move of
/// one type) may have: one unit per scalar, record, variant, list or
/// loop, [`STRING_WEIGHT`] per string. It keeps a function well inside
/// wasmparser's limits on a function (50,000 locals, 7.6 MB of code): at
/// this weight, the heaviest shapes (strings transcoded to latin1+utf16)
/// make under 1 MB.
pub const MAX_FUNCTION_WEIGHT: u64 = 10_000;

/// Most weight of all generated functions together; it bounds the code
/// adapters add to the fused module to some tens of megabytes.
pub const MAX_TOTAL_WEIGHT: u64 = 1_000_000;

/// The weight of a string: a call to a shared validator or transcoder
/// and the `realloc` calls and checks around it.
pub const STRING_WEIGHT: u64 = 20;

/// A value in memory heavier than this is moved by a shared function.
pub const OUTLINE_WEIGHT: u64 = 100;

/// The code all adapters of a fusion will generate, weighed as they are
/// checked.
pub struct Budget<'a, 't> {
    abi: &'a Abi<'t>,
    /// Values in memory heavier than this are shared moves.
    outline: u64,
    /// Types whose shared move is counted already, with the component
    /// instances they move from and to.
    outlined: HashSet<(Key, u32, u32)>,
    total: u64,
}

impl<'a, 't> Budget<'a, 't> {
    /// Nothing weighed yet; values in memory heavier than `outline` are
    /// shared moves ([`OUTLINE_WEIGHT`] unless a test asks otherwise).
    pub fn new(abi: &'a Abi<'t>, outline: u64) -> Self {
        Budget {
            abi,
            outline,
            outlined: HashSet::new(),
            total: 0,
        }
    }

    /// Adds the code of `adapter` (and the shared moves it needs that no
    /// adapter between the same two instances needed before); fails when
    /// a function would weigh more than [`MAX_FUNCTION_WEIGHT`], the total
    /// more than [`MAX_TOTAL_WEIGHT`], or a value it moves does not fit in
    /// a 32-bit memory.
    pub fn adapter(&mut self, adapter: &Adapter<'_>) -> Result<()> {
        let types = self.abi.types;
        let f = &types[adapter.callee.ty];
        let params: Vec<ComponentValType> = f.params.iter().map(|(_, t)| *t).collect();
        let results: Vec<ComponentValType> = f.result.iter().copied().collect();
        for tuple in [&params, &results] {
            check_size(self.abi.record_layout(tuple).size_align.0, adapter)?;
        }
        let sig = abi::flatten_func(types, adapter.callee.ty);
        let (caller, callee) = (adapter.caller.0, adapter.callee.instance.0);
        let mut w = Weigher {
            budget: self,
            adapter,
            direction: (caller, callee),
        };
        let mut weight = 0u64;
        for (tuple, spilled, direction) in [
            (&params, sig.params_spill, (caller, callee)),
            (&results, sig.results_spill, (callee, caller)),
        ] {
            w.direction = direction;
            for t in tuple.iter() {
                weight = weight.saturating_add(w.cost(t, spilled)?);
            }
        }
        w.check(weight, "the adapter")?;
        w.add(weight)
    }
}

struct Weigher<'b, 'a, 't, 'd> {
    budget: &'b mut Budget<'a, 't>,
    adapter: &'d Adapter<'d>,
    /// The component instances values move from and to.
    direction: (u32, u32),
}

impl Weigher<'_, '_, '_, '_> {
    /// The weight `ty` adds to the function that moves it: a call when it
    /// is in memory and heavy (counting its own function once), else its
    /// code.
    fn cost(&mut self, ty: &ComponentValType, in_memory: bool) -> Result<u64> {
        let facts = self.budget.abi.facts(ty);
        if !(in_memory && facts.weight > self.budget.outline) {
            return self.body(ty, in_memory);
        }
        let key = (Key::from(ty), self.direction.0, self.direction.1);
        if self.budget.outlined.insert(key) {
            let w = self.body(ty, true)?;
            self.check(w, "the shared move of one of its types")?;
            self.add(w)?;
        }
        Ok(1)
    }

    /// The weight of the code that moves `ty` inline.
    fn body(&mut self, ty: &ComponentValType, in_memory: bool) -> Result<u64> {
        let sum = |w: &mut Self, parts: &[ComponentValType], in_memory: bool| -> Result<u64> {
            let mut total = 1u64;
            for p in parts {
                total = total.saturating_add(w.cost(p, in_memory)?);
            }
            Ok(total)
        };
        match abi::shape(self.budget.abi.types, ty) {
            Shape::String => Ok(STRING_WEIGHT),
            Shape::Scalar(_) | Shape::Enum(_) | Shape::ErrorContext => Ok(1),
            Shape::Handle(..) | Shape::Async(_) => Ok(1),
            Shape::Flags(n) => Ok(1 + n.div_ceil(32) as u64),
            Shape::Record(fields) => sum(self, &fields, in_memory),
            Shape::Repeat(element, length) => {
                if in_memory && length > 1 {
                    // A loop over one element.
                    Ok(1 + self.cost(&element, true)?)
                } else {
                    // Flat: at most sixteen core values, unrolled.
                    let one = self.cost(&element, in_memory)?;
                    Ok(1 + one.saturating_mul(u64::from(length)))
                }
            }
            Shape::Variant(cases) => {
                let cases: Vec<ComponentValType> = cases.into_iter().flatten().collect();
                sum(self, &cases, in_memory)
            }
            Shape::List(fields) => {
                check_size(
                    self.budget.abi.record_layout(&fields).size_align.0,
                    self.adapter,
                )?;
                sum(self, &fields, true)
            }
        }
    }

    fn check(&self, weight: u64, what: &str) -> Result<()> {
        if weight > MAX_FUNCTION_WEIGHT {
            return Err(Error::limit(format!(
                "for the call of `{}`, {what} would move more than {MAX_FUNCTION_WEIGHT} values in one function (a string counts {STRING_WEIGHT}); a type with fewer direct fields or cases would be split",
                self.adapter.name
            )));
        }
        Ok(())
    }

    fn add(&mut self, weight: u64) -> Result<()> {
        self.budget.total = self.budget.total.saturating_add(weight);
        if self.budget.total > MAX_TOTAL_WEIGHT {
            return Err(Error::limit(format!(
                "the adapters together would move more than {MAX_TOTAL_WEIGHT} values (at the call of `{}`)",
                self.adapter.name
            )));
        }
        Ok(())
    }
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
