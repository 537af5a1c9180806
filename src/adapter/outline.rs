//! Functions generated once per fused module and called by every adapter
//! that needs them, instead of being written into each one.

use super::validate::{self, Text};
use std::collections::HashMap;
use wasm_encoder::Function;
use wasmparser::{FuncType, ValType};

/// A function adapters share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Helper {
    /// Validates (and copies) UTF-8: `(ptr, len[, dst])`.
    Utf8(Text),
    /// Validates (and copies) UTF-16: `(ptr, units[, dst])`.
    Utf16(Text),
}

impl Helper {
    /// The core signature.
    pub fn signature(self) -> FuncType {
        let (Helper::Utf8(t) | Helper::Utf16(t)) = self;
        let params = if t.to.is_some() { 3 } else { 2 };
        FuncType::new(vec![ValType::I32; params], [])
    }

    /// The name the fused module's name section gives it.
    pub fn name(self) -> String {
        let (what, t) = match self {
            Helper::Utf8(t) => ("utf8", t),
            Helper::Utf16(t) => ("utf16", t),
        };
        match t.to {
            Some(to) => format!("check and copy {what} from memory {} to {to}", t.from),
            None => format!("check {what} in memory {}", t.from),
        }
    }

    /// The body.
    pub fn body(self) -> Function {
        match self {
            Helper::Utf8(t) => validate::utf8(t),
            Helper::Utf16(t) => validate::utf16(t),
        }
    }
}

/// The shared functions adapters asked for, numbered from the first index
/// after every other function of the fused module.
pub struct Outlined {
    first: u32,
    order: Vec<Helper>,
    index: HashMap<Helper, u32>,
}

impl Outlined {
    /// Shared functions that will be numbered from `first` on.
    pub fn new(first: u32) -> Self {
        Outlined {
            first,
            order: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The function index of `h`, declared on first use.
    pub fn func(&mut self, h: Helper) -> u32 {
        *self.index.entry(h).or_insert_with(|| {
            self.order.push(h);
            self.first + self.order.len() as u32 - 1
        })
    }

    /// The functions asked for, in index order, from the first.
    pub fn functions(&self) -> (u32, &[Helper]) {
        (self.first, &self.order)
    }
}
