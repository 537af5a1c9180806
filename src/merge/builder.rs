//! The fused module's sections, and the typed index of each item, handed
//! out as the item is pushed.
//!
//! Small items (types, imports, function declarations, tables, memories,
//! globals, tags) are encoded the moment they are pushed, so an index can
//! never disagree with its item's place. Bulk content (function bodies,
//! element and data segments) is reserved when the layout is planned and
//! filled afterwards; the builder checks that it comes in the order it was
//! reserved in, and that nothing reserved is left unfilled.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::ops::Range;
use wasm_encoder::reencode::Reencode;
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    MemorySection, MemoryType, Module, Section, StartSection, TableSection, TableType, TagSection,
    TypeSection, ValType,
};
use wasmparser::FuncType;

macro_rules! index {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The `count` indices that follow this one.
            pub fn range(self, count: u32) -> Range<u32> {
                self.0..self.0 + count
            }
        }
    )*};
}

impl FuncIdx {
    /// `call` of this function.
    pub fn call(self) -> wasm_encoder::Instruction<'static> {
        wasm_encoder::Instruction::Call(self.0)
    }
}

impl GlobalIdx {
    /// `global.get` of this global.
    pub fn get(self) -> wasm_encoder::Instruction<'static> {
        wasm_encoder::Instruction::GlobalGet(self.0)
    }

    /// `global.set` of this global.
    pub fn set(self) -> wasm_encoder::Instruction<'static> {
        wasm_encoder::Instruction::GlobalSet(self.0)
    }
}

index! {
    /// A type in the fused module.
    TypeIdx,
    /// A function in the fused module (imports first).
    FuncIdx,
    /// A table in the fused module.
    TableIdx,
    /// A memory in the fused module.
    MemIdx,
    /// A global in the fused module.
    GlobalIdx,
    /// A tag in the fused module.
    TagIdx,
    /// An element segment in the fused module.
    ElemIdx,
    /// A data segment in the fused module.
    DataIdx,
}

/// The fused module under construction.
#[derive(Default)]
pub struct Builder {
    types: TypeSection,
    /// Types in the type section (a recursion group holds several).
    type_count: u32,
    /// Generated functions' signatures, each encoded once.
    signatures: HashMap<FuncType, TypeIdx>,
    imports: ImportSection,
    imported_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    imported_tags: u32,
    functions: FunctionSection,
    code: CodeSection,
    /// Each body's place in `code`'s bytes (after its size), in order.
    bodies: Vec<Range<u32>>,
    tables: TableSection,
    memories: MemorySection,
    globals: GlobalSection,
    tags: TagSection,
    elements: ElementSection,
    elements_reserved: u32,
    data: DataSection,
    data_reserved: u32,
    exports: ExportSection,
    start: Option<FuncIdx>,
}

impl Builder {
    /// A new, empty module.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pushes a module's recursion group, re-encoded by `r`; returns the
    /// index of its first type.
    pub fn rec_group<R: Reencode<Error = Error>>(
        &mut self,
        r: &mut R,
        group: wasmparser::RecGroup,
    ) -> Result<TypeIdx> {
        let first = self.next_type();
        let count = group.types().len() as u32;
        r.parse_recursive_type_group(self.types.ty(), group)
            .map_err(crate::merge::reencode_error)?;
        self.type_count += count;
        Ok(first)
    }

    /// The index the next type pushed gets.
    pub fn next_type(&self) -> TypeIdx {
        TypeIdx(self.type_count)
    }

    /// The type of a generated function: encoded the first time a
    /// signature is asked for.
    pub fn signature(&mut self, sig: &FuncType) -> Result<TypeIdx> {
        if let Some(t) = self.signatures.get(sig) {
            return Ok(*t);
        }
        let val = |v: &wasmparser::ValType| crate::merge::val_type(*v);
        let params: Vec<ValType> = sig.params().iter().map(val).collect::<Result<_>>()?;
        let results: Vec<ValType> = sig.results().iter().map(val).collect::<Result<_>>()?;
        let t = self.next_type();
        self.types.ty().function(params, results);
        self.type_count += 1;
        self.signatures.insert(sig.clone(), t);
        Ok(t)
    }

    /// Imports a function; every import comes before the first declared
    /// function.
    pub fn import_func(&mut self, module: &str, field: &str, sig: &FuncType) -> Result<FuncIdx> {
        if !self.functions.is_empty() {
            return Err(Error::internal(
                "a function is imported after functions were declared",
            ));
        }
        let ty = self.signature(sig)?;
        self.imports
            .import(module, field, EntityType::Function(ty.0));
        self.imported_funcs += 1;
        Ok(FuncIdx(self.imported_funcs - 1))
    }

    /// Imports a table, memory, global or tag (functions go through
    /// [`Builder::import_func`]); every import of a kind comes before the
    /// first item of that kind the module defines. Returns its index.
    pub fn import(&mut self, module: &str, field: &str, ty: EntityType) -> Result<u32> {
        let (imported, defined) = match ty {
            EntityType::Table(_) => (&mut self.imported_tables, self.tables.len()),
            EntityType::Memory(_) => (&mut self.imported_memories, self.memories.len()),
            EntityType::Global(_) => (&mut self.imported_globals, self.globals.len()),
            EntityType::Tag(_) => (&mut self.imported_tags, self.tags.len()),
            EntityType::Function(_) | EntityType::FunctionExact(_) => {
                return Err(Error::internal("a function imported as another kind"));
            }
        };
        if defined > 0 {
            return Err(Error::internal(
                "an item is imported after items of its kind were defined",
            ));
        }
        *imported += 1;
        let index = *imported - 1;
        self.imports.import(module, field, ty);
        Ok(index)
    }

    /// The index the next declared function gets.
    pub fn next_func(&self) -> FuncIdx {
        FuncIdx(self.imported_funcs + self.functions.len())
    }

    /// Declares a function of type `ty`; its body comes later, in
    /// declaration order ([`Builder::body`], [`Builder::bodies`]).
    pub fn declare(&mut self, ty: TypeIdx) -> FuncIdx {
        let f = self.next_func();
        self.functions.function(ty.0);
        f
    }

    /// Declares a generated function of signature `sig`.
    pub fn declare_generated(&mut self, sig: &FuncType) -> Result<FuncIdx> {
        let ty = self.signature(sig)?;
        Ok(self.declare(ty))
    }

    /// Functions in the module, imports included.
    pub fn func_count(&self) -> u32 {
        self.imported_funcs + self.functions.len()
    }

    /// The index of the function whose body comes next.
    fn next_body(&self) -> FuncIdx {
        FuncIdx(self.imported_funcs + self.code.len())
    }

    /// Gives the declared function `f` its body; returns where the body
    /// lies in the code section's bytes after the function count (see
    /// [`Builder::code_origin`]).
    pub fn body(&mut self, f: FuncIdx, body: &Function) -> Result<Range<u32>> {
        self.expect_body(f)?;
        self.code.function(body);
        let end = self.code.byte_len() as u32;
        let range = end - body.byte_len() as u32..end;
        self.bodies.push(range.clone());
        Ok(range)
    }

    /// Where the body of the defined function `f` lies (see
    /// [`Builder::body`]).
    pub fn body_range(&self, f: FuncIdx) -> Option<Range<u32>> {
        let defined = f.0.checked_sub(self.imported_funcs)?;
        self.bodies.get(defined as usize).cloned()
    }

    /// The width of the code section's function count, once every body
    /// has come: the offset, in the section's contents, of the bytes that
    /// [`Builder::body`]'s ranges count from.
    pub fn code_origin(&self) -> u32 {
        let mut count = self.code.len();
        let mut width = 1;
        while count >= 0x80 {
            count >>= 7;
            width += 1;
        }
        width
    }

    /// Checks that the functions before `end` all have bodies.
    pub fn check_bodies(&self, end: FuncIdx) -> Result<()> {
        if self.next_body() != end {
            return Err(Error::internal(format!(
                "function bodies end at {}, expected {}",
                self.next_body().0,
                end.0
            )));
        }
        Ok(())
    }

    fn expect_body(&self, f: FuncIdx) -> Result<()> {
        if f != self.next_body() || f >= FuncIdx(self.func_count()) {
            return Err(Error::internal(format!(
                "the body of function {} comes where function {}'s belongs",
                f.0,
                self.next_body().0
            )));
        }
        Ok(())
    }

    /// The table section, for a module's own tables re-encoded in place.
    pub fn tables(&mut self) -> &mut TableSection {
        &mut self.tables
    }

    /// The index the next table pushed gets.
    pub fn next_table(&self) -> TableIdx {
        TableIdx(self.imported_tables + self.tables.len())
    }

    /// Pushes a table.
    pub fn table(&mut self, ty: TableType) -> TableIdx {
        let t = self.next_table();
        self.tables.table(ty);
        t
    }

    /// The index the next memory pushed gets.
    pub fn next_memory(&self) -> MemIdx {
        MemIdx(self.imported_memories + self.memories.len())
    }

    /// Pushes a 32-bit memory of the fused module's own (one no input
    /// module declared): `minimum` pages, at most `maximum`.
    pub fn own_memory(&mut self, minimum: u64, maximum: Option<u64>) -> MemIdx {
        self.memory(MemoryType {
            minimum,
            maximum,
            memory64: false,
            shared: false,
            page_size_log2: None,
        })
    }

    /// Pushes a memory.
    pub fn memory(&mut self, ty: MemoryType) -> MemIdx {
        let m = self.next_memory();
        self.memories.memory(ty);
        m
    }

    /// The global section, for a module's own globals re-encoded in place.
    pub fn globals(&mut self) -> &mut GlobalSection {
        &mut self.globals
    }

    /// The index the next global pushed gets.
    pub fn next_global(&self) -> GlobalIdx {
        GlobalIdx(self.imported_globals + self.globals.len())
    }

    /// Pushes a mutable global of type `ty` starting at `init`.
    pub fn mutable_global(&mut self, ty: ValType, init: &ConstExpr) -> GlobalIdx {
        let g = self.next_global();
        self.globals.global(
            GlobalType {
                val_type: ty,
                mutable: true,
                shared: false,
            },
            init,
        );
        g
    }

    /// The index the next tag pushed gets.
    pub fn next_tag(&self) -> TagIdx {
        TagIdx(self.imported_tags + self.tags.len())
    }

    /// Pushes a tag.
    pub fn tag(&mut self, ty: wasm_encoder::TagType) -> TagIdx {
        let t = self.next_tag();
        self.tags.tag(ty);
        t
    }

    /// Reserves `count` element segments, filled later in order.
    pub fn reserve_elements(&mut self, count: u32) -> ElemIdx {
        self.elements_reserved += count;
        ElemIdx(self.elements_reserved - count)
    }

    /// The element section, for the segments reserved from `first` on.
    pub fn elements(&mut self, first: ElemIdx) -> Result<&mut ElementSection> {
        if first.0 != self.elements.len() {
            return Err(Error::internal("element segments out of order"));
        }
        Ok(&mut self.elements)
    }

    /// Reserves `count` data segments, filled later in order.
    pub fn reserve_data(&mut self, count: u32) -> DataIdx {
        self.data_reserved += count;
        DataIdx(self.data_reserved - count)
    }

    /// The data section, for the segments reserved from `first` on.
    pub fn data(&mut self, first: DataIdx) -> Result<&mut DataSection> {
        if first.0 != self.data.len() {
            return Err(Error::internal("data segments out of order"));
        }
        Ok(&mut self.data)
    }

    /// Exports an item.
    pub fn export(&mut self, name: &str, kind: ExportKind, index: u32) {
        self.exports.export(name, kind, index);
    }

    /// Makes `f` the start function.
    pub fn start(&mut self, f: FuncIdx) {
        self.start = Some(f);
    }

    /// Encodes the module at the end of `into` (with `room` to spare
    /// after it), with the DWARF that `debug` writes and the `custom`
    /// sections at its end, checking that every reserved item was filled.
    pub fn finish(
        self,
        into: Vec<u8>,
        room: usize,
        debug: impl FnOnce(&mut Vec<u8>),
        custom: &[&dyn Section],
        custom_len: usize,
    ) -> Result<Vec<u8>> {
        self.check_bodies(FuncIdx(self.func_count()))?;
        if self.elements.len() != self.elements_reserved || self.data.len() != self.data_reserved {
            return Err(Error::internal("reserved segments were not all filled"));
        }
        let mut module = Module::new();
        module.section(&self.types);
        if !self.imports.is_empty() {
            module.section(&self.imports);
        }
        module.section(&self.functions);
        module.section(&self.tables);
        module.section(&self.memories);
        if !self.tags.is_empty() {
            module.section(&self.tags);
        }
        module.section(&self.globals);
        module.section(&self.exports);
        if let Some(s) = self.start {
            module.section(&StartSection {
                function_index: s.0,
            });
        }
        if !self.elements.is_empty() {
            module.section(&self.elements);
        }
        if self.data_reserved > 0 {
            module.section(&DataCountSection {
                count: self.data_reserved,
            });
        }
        // The code section and the custom sections (DWARF) are most of the
        // module: each is copied once into a buffer of the final size,
        // rather than into one that doubles as it grows. `debug` appends
        // the DWARF sections in place; `custom_len` is the size of them and
        // of `custom`, give or take their headers.
        let mut tail = Vec::new();
        if !self.data.is_empty() {
            self.data.append_to(&mut tail);
        }
        drop(self.data);
        let head = module.finish();
        let mut bytes = into;
        // Section id, then at most five bytes each for size and count.
        let headers = 11 * (1 + custom.len());
        bytes.reserve_exact(
            head.len() + headers + self.code.byte_len() + tail.len() + custom_len + room,
        );
        bytes.extend_from_slice(&head);
        self.code.append_to(&mut bytes);
        drop(self.code);
        bytes.extend_from_slice(&tail);
        debug(&mut bytes);
        for s in custom {
            s.append_to(&mut bytes);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::ValType::I32;

    fn sig(params: &[wasmparser::ValType]) -> FuncType {
        FuncType::new(params.iter().copied(), [])
    }

    #[test]
    fn imports_come_first_and_number_from_zero() -> Result<()> {
        let mut b = Builder::new();
        assert_eq!(b.import_func("m", "a", &sig(&[]))?, FuncIdx(0));
        assert_eq!(b.import_func("m", "b", &sig(&[I32]))?, FuncIdx(1));
        assert_eq!(b.declare_generated(&sig(&[]))?, FuncIdx(2));
        assert!(b.import_func("m", "c", &sig(&[])).is_err());
        Ok(())
    }

    #[test]
    fn a_signature_is_encoded_once() -> Result<()> {
        let mut b = Builder::new();
        let t = b.signature(&sig(&[I32]))?;
        assert_eq!(b.signature(&sig(&[I32]))?, t);
        assert_eq!(b.signature(&sig(&[]))?, TypeIdx(t.0 + 1));
        assert_eq!(b.next_type(), TypeIdx(2));
        Ok(())
    }

    #[test]
    fn bodies_come_in_declaration_order() -> Result<()> {
        let mut b = Builder::new();
        b.import_func("m", "a", &sig(&[]))?;
        let f = b.declare_generated(&sig(&[]))?;
        let g = b.declare_generated(&sig(&[]))?;
        let mut body = Function::new([]);
        body.instruction(&wasm_encoder::Instruction::End);
        assert!(b.body(g, &body).is_err(), "g's body before f's");
        b.body(f, &body)?;
        assert!(
            b.finish(Vec::new(), 0, |_| {}, &[], 0).is_err(),
            "g has no body"
        );
        Ok(())
    }

    #[test]
    fn every_space_numbers_items_as_pushed() -> Result<()> {
        let mut b = Builder::new();
        let table = TableType {
            element_type: wasm_encoder::RefType::FUNCREF,
            table64: false,
            minimum: 1,
            maximum: None,
            shared: false,
        };
        assert_eq!(b.table(table), TableIdx(0));
        assert_eq!(b.table(table), TableIdx(1));
        let mem = MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        };
        assert_eq!(b.memory(mem), MemIdx(0));
        let zero = ConstExpr::i32_const(0);
        assert_eq!(b.mutable_global(ValType::I32, &zero), GlobalIdx(0));
        assert_eq!(b.mutable_global(ValType::I32, &zero), GlobalIdx(1));
        assert_eq!(b.reserve_data(3), DataIdx(0));
        assert_eq!(b.reserve_data(2), DataIdx(3));
        assert_eq!(b.reserve_elements(1), ElemIdx(0));
        assert!(b.data(DataIdx(3)).is_err(), "segments 0..3 come first");
        Ok(())
    }

    #[test]
    fn a_finished_module_validates() -> Result<()> {
        let mut b = Builder::new();
        let imported = b.import_func("m", "f", &sig(&[I32]))?;
        let f = b.declare_generated(&sig(&[]))?;
        let mut body = Function::new([]);
        body.instruction(&wasm_encoder::Instruction::I32Const(7));
        body.instruction(&wasm_encoder::Instruction::Call(imported.0));
        body.instruction(&wasm_encoder::Instruction::End);
        b.body(f, &body)?;
        b.export("run", ExportKind::Func, f.0);
        let bytes = b.finish(Vec::new(), 0, |_| {}, &[], 0)?;
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(())
    }
}
