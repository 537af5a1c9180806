//! Functions generated once per fused module and called by every adapter
//! that needs them, instead of being written into each one.

use super::transcode::{self, Transcode};
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
    /// Transcodes: `(ptr, bytes, i, p, o) -> (i, o)`.
    Transcode(Transcode),
    /// Narrows UTF-16 to Latin-1 in place if it fits: `(p, units) ->
    /// narrowed`.
    NarrowUtf16(u32),
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
            Helper::Transcode(t) => transcode::transcode(t),
            Helper::NarrowUtf16(m) => transcode::narrow_utf16(m),
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
