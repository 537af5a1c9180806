//! Functions generated once per fused module and called by every adapter
//! that needs them, instead of being written into each one.

use super::Side;
use super::blocks;
pub use super::blocks::tables;
use super::transcode::{self, Transcode};
use super::validate::{self, Text};
use crate::error::{Error, Result};
use crate::instantiate::ComponentInstanceId;
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
    /// Transcodes: `(ptr, bytes, i, p, o) -> (i, o)`.
    Transcode(Transcode),
    /// Narrows UTF-16 to Latin-1 in place if it fits: `(p, units) ->
    /// narrowed`.
    NarrowUtf16(u32),
    /// Moves one value between two sides' memories: `(src, dst)`.
    Translate(Translation),
}

/// A value's move between the memories of two sides of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The value's type.
    pub ty: crate::abi::Key,
    /// Where it comes from.
    pub from: Side,
    /// Where it goes.
    pub to: Side,
    /// The component instance whose resource ids the type uses.
    pub scope: ComponentInstanceId,
}

impl Helper {
    /// The core signature.
    pub fn signature(self) -> FuncType {
        let i32s = |n| vec![ValType::I32; n];
        match self {
            Helper::Utf8(t) | Helper::Utf16(t) => {
                FuncType::new(i32s(if t.to.is_some() { 3 } else { 2 }), [])
            }
            Helper::Transcode(_) => FuncType::new(i32s(5), i32s(2)),
            Helper::Translate(_) => FuncType::new(i32s(2), []),
            Helper::NarrowUtf16(_) => FuncType::new(i32s(2), i32s(1)),
        }
    }

    /// The name the fused module's name section gives it.
    pub fn name(self) -> String {
        let (what, t) = match self {
            Helper::Utf8(t) => ("utf8", t),
            Helper::Utf16(t) => ("utf16", t),
            Helper::Transcode(t) => {
                let stop = t
                    .below
                    .map(|b| format!(" below {b:#x}"))
                    .unwrap_or_default();
                return format!(
                    "transcode {:?} in memory {} to {:?} in memory {}{stop}",
                    t.from.0, t.from.1, t.to.0, t.to.1
                );
            }
            Helper::NarrowUtf16(m) => return format!("narrow utf16 to latin1 in memory {m}"),
            Helper::Translate(t) => {
                return format!(
                    "move {:?} from component instance {} to {}",
                    t.ty, t.from.instance.0, t.to.instance.0
                );
            }
        };
        match t.to {
            Some(to) => format!("check and copy {what} from memory {} to {to}", t.from),
            None => format!("check {what} in memory {}", t.from),
        }
    }

    /// Whether the body reads the text tables ([`tables`]).
    fn uses_tables(self) -> bool {
        matches!(self, Helper::Transcode(t) if blocks::uses_tables(t))
    }

    /// The body, for the functions written from their key alone; `tables`
    /// is the memory of the text tables.
    fn body(self, tables: Option<u32>) -> Option<Function> {
        Some(match self {
            Helper::Utf8(t) => validate::utf8(t),
            Helper::Utf16(t) => validate::utf16(t),
            Helper::Transcode(t) => transcode::transcode(t, tables),
            Helper::NarrowUtf16(m) => transcode::narrow_utf16(m),
            Helper::Translate(_) => return None,
        })
    }
}

/// The shared functions adapters asked for, numbered from the first index
/// after every other function of the fused module.
pub struct Outlined {
    first: u32,
    order: Vec<Helper>,
    index: HashMap<Helper, u32>,
    /// Bodies written by the adapter generator, by key.
    built: HashMap<Helper, Function>,
}

impl Outlined {
    /// Shared functions that will be numbered from `first` on.
    pub fn new(first: u32) -> Self {
        Outlined {
            first,
            order: Vec::new(),
            index: HashMap::new(),
            built: HashMap::new(),
        }
    }

    /// The function index of `h`, declared on first use.
    pub fn func(&mut self, h: Helper) -> u32 {
        *self.index.entry(h).or_insert_with(|| {
            self.order.push(h);
            self.first + self.order.len() as u32 - 1
        })
    }

    /// The function index of `h`, if it was asked for.
    pub fn get(&self, h: Helper) -> Option<u32> {
        self.index.get(&h).copied()
    }

    /// Gives `h` (asked for already) the body the generator wrote.
    pub fn built(&mut self, h: Helper, body: Function) {
        self.built.insert(h, body);
    }

    /// Whether a function asked for reads the text tables: then the fused
    /// module holds them ([`tables`]) in a memory of their own.
    pub fn uses_tables(&self) -> bool {
        self.order.iter().any(|h| h.uses_tables())
    }

    /// The functions asked for, in index order from the first, each with
    /// its body; `tables` is the memory of the text tables, when
    /// [`Outlined::uses_tables`].
    pub fn functions(&mut self, tables: Option<u32>) -> Result<(u32, Vec<(Helper, Function)>)> {
        let mut out = Vec::with_capacity(self.order.len());
        for h in &self.order {
            let body = match self.built.remove(h) {
                Some(b) => b,
                None => h.body(tables).ok_or_else(|| {
                    Error::internal(format!("shared function {} has no body", h.name()))
                })?,
            };
            out.push((*h, body));
        }
        Ok((self.first, out))
    }
}
