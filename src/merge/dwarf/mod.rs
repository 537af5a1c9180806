//! DWARF through fusion: every input module's debugging information,
//! moved to where its code now lies in the fused module.
//!
//! In WebAssembly, a DWARF code address is an offset into the contents of
//! the module's code section (its function count first). Fusing moves each
//! function body to a new offset, and re-encoding a body may change the
//! width of its instructions' immediates (a linker pads a call's function
//! index to five bytes; the fused module writes it in as few as it needs),
//! so addresses inside a body move too. While an instance's bodies are
//! encoded, a [`CodeMap`] records for each body its old and new range and
//! the old and new place of every instruction; [`carry`] then rewrites
//! every code address through that map: the `DW_AT_low_pc`/`DW_AT_high_pc`
//! of each entry, range lists, location lists and line programs.
//!
//! DWARF 4 is relocated in place ([`relocate`]): each module's sections
//! are copied once and only what points somewhere changes, keeping its
//! width; the globals `DW_OP_WASM_location` names move to their fused
//! indices there. Anything that path declines (DWARF 5, macro information,
//! a value that no longer fits) is converted entry by entry with gimli's
//! reader and writer into one `write::Dwarf` ([`convert`]). Addresses that
//! map nowhere (code the linker dropped, whose DWARF it marked with a
//! tombstone) become the tombstone in attributes, and their line
//! sequences are left out. Data addresses (`DW_OP_addr`) pass through as
//! they are.
//!
//! The functions Solder generates (adapters, handle-table functions, shared
//! helpers, the start sequence) get one compile unit of their own,
//! `solder-generated`, with a subprogram for each, so a debugger or a
//! backtrace through an adapter names it.
//!
//! DWARF that cannot be read or converted never fails the fuse: that
//! module's units are emptied and the report says why.

use gimli::write::{self, Address, AttributeValue, ConvertResult, LineProgram};
use gimli::{LittleEndian, constants, read};
use std::ops::Range;

mod relocate;

/// The reader every input's DWARF is read through: slices of the input.
type Reader<'a> = read::EndianSlice<'a, LittleEndian>;

/// Where one core instance's function bodies moved, from input code
/// addresses to output ones.
#[derive(Debug, Default)]
pub(crate) struct CodeMap {
    /// Every body, in input order (so sorted by input address).
    funcs: Vec<Moved>,
    /// `(input, output)` addresses of every instruction, in input order.
    /// Output addresses count from the start of the output's code section
    /// bytes, before its function count; [`carry`] adds that count's width.
    instructions: Vec<(u32, u32)>,
}

/// One body's move.
#[derive(Debug)]
struct Moved {
    input: Range<u32>,
    output: Range<u32>,
    /// Its entries in [`CodeMap::instructions`].
    instructions: Range<u32>,
}

impl CodeMap {
    /// Records a body that was at `input` (DWARF addresses of the input
    /// module: its locals, then its instructions) and is now at `output`
    /// in the output's code section bytes, with its instructions'
    /// `(input, output)` offsets from the body's start.
    pub(crate) fn push(
        &mut self,
        input: Range<u32>,
        output: Range<u32>,
        instructions: &[(u32, u32)],
    ) {
        let first = self.instructions.len() as u32;
        self.instructions.extend(
            instructions
                .iter()
                .map(|(i, o)| (input.start + i, output.start + o)),
        );
        self.funcs.push(Moved {
            input,
            output,
            instructions: first..self.instructions.len() as u32,
        });
    }

    /// [`CodeMap::map`] as a table indexed by input address (`u32::MAX`
    /// where nothing maps), when the input's code is small enough for
    /// one: looking an address up then costs one load.
    fn table(&self) -> Option<Vec<u32>> {
        const MOST: u32 = 1 << 22;
        let end = self.funcs.last()?.input.end;
        if end >= MOST {
            return None;
        }
        let mut table = vec![u32::MAX; end as usize + 1];
        for &(input, output) in &self.instructions {
            *table.get_mut(input as usize)? = output;
        }
        for f in &self.funcs {
            *table.get_mut(f.input.end as usize)? = f.output.end;
            *table.get_mut(f.input.start as usize)? = f.output.start;
        }
        Some(table)
    }

    /// The output address of the input address `at`: the start or the end
    /// of a body, or the start of an instruction. Any other address (one
    /// inside an instruction, or outside every body) describes no code of
    /// this module's, and maps to `None`.
    fn map(&self, at: u64, origin: u32) -> Option<u64> {
        let at = u32::try_from(at).ok()?;
        // Most addresses past the last body are tombstones of dropped code.
        if at > self.funcs.last()?.input.end {
            return None;
        }
        let k = self.funcs.partition_point(|f| f.input.start <= at);
        let f = self.funcs.get(k.checked_sub(1)?)?;
        let out = if at == f.input.start {
            f.output.start
        } else if at == f.input.end {
            f.output.end
        } else {
            let range = f.instructions.start as usize..f.instructions.end as usize;
            let instructions = self.instructions.get(range)?;
            let i = instructions.binary_search_by_key(&at, |(i, _)| *i).ok()?;
            instructions.get(i)?.1
        };
        Some(u64::from(out) + u64::from(origin))
    }
}

/// The instructions of a body being re-encoded: where each was and is.
#[derive(Debug, Default)]
pub(crate) struct Instructions {
    /// `(input, output)` offsets from the body's start.
    pub(crate) at: Vec<(u32, u32)>,
}

impl Instructions {
    /// Starts a body.
    pub(crate) fn clear(&mut self) {
        self.at.clear();
    }

    /// Notes an instruction at `input` in the input body that starts at
    /// `output` in the output body.
    pub(crate) fn note(&mut self, input: u64, output: usize) {
        self.at.push((input as u32, output as u32));
    }
}

/// One instance's DWARF and where its code went.
pub(crate) struct DebugInput<'a> {
    /// The module's path in the input, for the report.
    pub(crate) path: &'a str,
    /// The module's `.debug_*` sections.
    pub(crate) sections: &'a [(&'a str, &'a [u8])],
    /// Where its bodies moved.
    pub(crate) map: CodeMap,
    /// Its globals' fused indices, by module index.
    pub(crate) globals: &'a [u32],
}

/// A function Solder generated: its name and its body's place in the
/// output's code section bytes (before the function count).
pub(crate) struct Generated {
    /// The name a backtrace shows.
    pub(crate) name: String,
    /// The body.
    pub(crate) body: Range<u32>,
}

/// The functions of `b` outside the `brought` ranges of function indices
/// (the instances' code), each with its body's place and its name from
/// `names` (sorted by index), or one that says what it is.
pub(crate) fn generated(
    b: &super::Builder,
    brought: &[Range<u32>],
    names: &[(u32, std::borrow::Cow<'_, str>)],
) -> Vec<Generated> {
    let mut generated = vec![true; b.func_count() as usize];
    for r in brought {
        for g in generated.iter_mut().skip(r.start as usize).take(r.len()) {
            *g = false;
        }
    }
    let mut named = names.iter().peekable();
    (0..b.func_count())
        .filter(|f| generated[*f as usize])
        .filter_map(|f| {
            let body = b.body_range(super::FuncIdx(f))?;
            while named.next_if(|(i, _)| *i < f).is_some() {}
            let name = match named.peek() {
                Some((i, n)) if *i == f => n.to_string(),
                _ => format!("solder function {f}"),
            };
            Some(Generated { name, body })
        })
        .collect()
}

/// What carrying the inputs' DWARF did.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    /// Compile units carried from the inputs (the generated one not
    /// counted).
    pub(crate) units: u32,
    /// Bytes of the `.debug_*` custom sections written.
    pub(crate) bytes: u64,
    /// What could not be carried, and why.
    pub(crate) warnings: Vec<String>,
}

/// Appends every input's DWARF to the fused module being written in
/// `out`, as custom sections, with a compile unit for the `generated`
/// functions. `origin` is the width of the output's function count,
/// which every output address counts past.
///
/// DWARF 4 is relocated in place ([`relocate`]); anything that path
/// declines is converted through gimli's writer ([`convert`]).
pub(crate) fn carry(
    out: &mut Vec<u8>,
    inputs: &[DebugInput<'_>],
    generated: &[Generated],
    origin: u32,
) -> Carried {
    let start = out.len();
    if let Ok(carried) = relocate::carry(out, inputs, generated, origin) {
        return carried;
    }
    out.truncate(start);
    let (mut carried, sections) = convert(inputs, generated, origin);
    for (name, data) in &sections {
        wasm_encoder::Section::append_to(
            &wasm_encoder::CustomSection {
                name: (*name).into(),
                data: data.as_slice().into(),
            },
            out,
        );
    }
    carried.bytes = (out.len() - start) as u64;
    carried
}

/// The generated functions' compile unit, written as sections of its own.
fn generated_sections(generated: &[Generated], origin: u32) -> Result<Sections, write::Error> {
    let mut dwarf = write::Dwarf::new();
    generated_unit(&mut dwarf, generated, origin);
    let mut sections = write::Sections::new(write::EndianVec::new(LittleEndian));
    dwarf.write(&mut sections)?;
    Ok(taken(&mut sections))
}

/// The sections gimli wrote that hold anything, by name.
fn taken(sections: &mut write::Sections<write::EndianVec<LittleEndian>>) -> Sections {
    let mut written = Vec::new();
    let _ = sections.for_each_mut(|id, data| -> Result<(), ()> {
        let data = data.take();
        if !data.is_empty() {
            written.push((id.name(), data));
        }
        Ok(())
    });
    written
}

/// Warnings for the sections of `inputs` that are not carried.
fn uncarried(inputs: &[DebugInput<'_>]) -> Vec<String> {
    let mut warnings = Vec::new();
    for input in inputs {
        for (name, _) in input.sections {
            if matches!(*name, ".debug_frame" | ".debug_types") {
                warnings.push(format!("{name} of {} is not carried", input.path));
            }
        }
    }
    warnings
}

/// The custom sections of the conversion.
type Sections = Vec<(&'static str, Vec<u8>)>;

/// Converts every input's DWARF into the fused module's through gimli's
/// reader and writer: entry by entry, every code address moved.
fn convert(inputs: &[DebugInput<'_>], generated: &[Generated], origin: u32) -> (Carried, Sections) {
    let mut dwarf = write::Dwarf::new();
    let mut carried = Carried::default();
    // Each unit is written as soon as it is converted, which frees it.
    let mut sections = write::Sections::new(write::EndianVec::new(LittleEndian));
    for input in inputs {
        let before = dwarf.units.count();
        let converted = convert_module(&mut dwarf, &mut sections, input, origin);
        carried.units += converted.written;
        if let Some(e) = converted.error {
            // Units the conversion reserved but never reached are left
            // empty.
            for i in before + converted.reached..dwarf.units.count() {
                let id = dwarf.units.id(i);
                let encoding = dwarf.units.get(id).encoding();
                *dwarf.units.get_mut(id) = write::Unit::new(encoding, LineProgram::none());
            }
            carried.warnings.push(format!(
                "the DWARF of {} was dropped from its compile unit {} on: {e}",
                input.path, converted.written
            ));
        }
    }
    carried.warnings.extend(uncarried(inputs));
    if carried.units == 0 {
        return (carried, Vec::new());
    }
    generated_unit(&mut dwarf, generated, origin);
    if let Err(e) = dwarf.write(&mut sections) {
        carried
            .warnings
            .push(format!("DWARF could not be written: {e}"));
        carried.units = 0;
        return (carried, Vec::new());
    }
    (carried, taken(&mut sections))
}

/// How far converting a module's units went.
struct Converted {
    /// Units converted and written.
    written: u32,
    /// Units read (written or skipped).
    reached: usize,
    /// Why the rest were not, if they were not.
    error: Option<write::ConvertError>,
}

/// Converts one module's units into `dwarf`, writing each into
/// `sections`. After an error, the module's remaining units are skipped.
fn convert_module(
    dwarf: &mut write::Dwarf,
    sections: &mut write::Sections<write::EndianVec<LittleEndian>>,
    input: &DebugInput<'_>,
    origin: u32,
) -> Converted {
    let mut converted = Converted {
        written: 0,
        reached: 0,
        error: None,
    };
    let section = |id: gimli::SectionId| -> Result<Reader<'_>, gimli::Error> {
        let data = input
            .sections
            .iter()
            .find(|(name, _)| *name == id.name())
            .map_or(&[][..], |(_, data)| *data);
        Ok(read::EndianSlice::new(data, LittleEndian))
    };
    let read = match read::Dwarf::load(section) {
        Ok(read) => read,
        Err(e) => {
            converted.error = Some(e.into());
            return converted;
        }
    };
    let mut convert = match dwarf.convert(&read) {
        Ok(convert) => convert,
        Err(e) => {
            converted.error = Some(e);
            return converted;
        }
    };
    loop {
        let (mut unit, root) = match convert.read_unit() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(e) => {
                converted.error.get_or_insert(e);
                break;
            }
        };
        converted.reached += 1;
        if converted.error.is_some() {
            unit.skip();
            continue;
        }
        let tombstone = !0u64 >> (64 - 8 * u32::from(unit.read_unit.encoding().address_size));
        let mut at = Addresses {
            map: &input.map,
            origin,
            tombstone,
            rebase: false,
        };
        let done = convert_unit(&mut unit, root, &mut at)
            .and_then(|()| unit.write(sections).map_err(write::ConvertError::from));
        match done {
            Ok(()) => converted.written += 1,
            Err(e) => {
                unit.skip();
                converted.error = Some(e);
            }
        }
    }
    converted
}

/// How a unit's code addresses convert.
struct Addresses<'m> {
    map: &'m CodeMap,
    origin: u32,
    /// The tombstone of the unit's address size: an address of dropped
    /// code.
    tombstone: u64,
    /// Whether the unit's base address is not 0, so that DWARF 4 range and
    /// location lists, whose pairs count from it, start by resetting it.
    rebase: bool,
}

impl Addresses<'_> {
    fn map(&self, at: u64) -> Option<u64> {
        self.map.map(at, self.origin)
    }

    /// An address attribute's new value: the tombstone where nothing maps.
    fn attribute(&self, at: u64) -> u64 {
        self.map(at).unwrap_or(self.tombstone)
    }
}

/// Converts a unit: its line program, then every entry.
fn convert_unit<'a, R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'a, R>,
    root: write::ConvertUnitEntry<'a, R>,
    at: &mut Addresses<'_>,
) -> ConvertResult<()> {
    if let Some(program) = unit.read_line_program(None, None)? {
        let (program, files) = convert_lines(program, at)?;
        unit.set_line_program(program, files);
    }
    // A unit whose base is 0 keeps it: its lists then hold whole
    // addresses. Any other base is where its code moved.
    let base = root
        .attrs
        .iter()
        .find(|a| a.name() == constants::DW_AT_low_pc)
        .map(|a| code_address(&root, a.value()))
        .transpose()?
        .flatten();
    at.rebase = base.is_some_and(|b| b != 0) && root.read_unit.encoding().version <= 4;
    let root_id = unit.unit.root();
    convert_entry(unit, root_id, &root, at, true)?;
    let mut entry = root;
    while let Some(id) = unit.read_entry(&mut entry)? {
        if id.is_none() {
            continue;
        }
        let id = unit.add_entry(id, &entry);
        convert_entry(unit, id, &entry, at, false)?;
    }
    Ok(())
}

/// The code address an attribute value holds, if it holds one.
fn code_address<R: gimli::Reader<Offset = usize>>(
    entry: &write::ConvertUnitEntry<'_, R>,
    value: read::AttributeValue<R>,
) -> ConvertResult<Option<u64>> {
    Ok(match value {
        read::AttributeValue::Addr(a) => Some(a),
        read::AttributeValue::DebugAddrIndex(i) => Some(entry.read_unit.address(i)?),
        _ => None,
    })
}

/// Converts an entry's attributes, moving every code address.
fn convert_entry<'a, R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'a, R>,
    id: write::UnitEntryId,
    entry: &write::ConvertUnitEntry<'a, R>,
    at: &Addresses<'_>,
    root: bool,
) -> ConvertResult<()> {
    let read_unit = entry.read_unit;
    let span = Span::of(entry, at)?;
    for attr in entry.attrs.iter() {
        let name = attr.name();
        let value = attr.value();
        let converted = if name == constants::DW_AT_GNU_locviews
            || matches!(
                value,
                read::AttributeValue::DebugMacinfoRef(_) | read::AttributeValue::DebugMacroRef(_)
            ) {
            // A GNU extension gimli does not write, and references to macro
            // sections, which are not carried: left out.
            continue;
        } else if name == constants::DW_AT_low_pc || name == constants::DW_AT_high_pc {
            span.attribute(name, attr, root)
        } else if let Some(address) = code_address(entry, value.clone())? {
            // In WebAssembly, only code addresses are attribute values.
            AttributeValue::Address(Address::Constant(at.attribute(address)))
        } else {
            match value {
                read::AttributeValue::RangeListsRef(raw) => {
                    ranges(unit, read_unit.ranges_offset_from_raw(raw), at)?
                }
                read::AttributeValue::DebugRngListsIndex(i) => {
                    ranges(unit, read_unit.ranges_offset(i)?, at)?
                }
                read::AttributeValue::LocationListsRef(offset) => locations(unit, offset, at)?,
                read::AttributeValue::DebugLocListsIndex(i) => {
                    locations(unit, read_unit.locations_offset(i)?, at)?
                }
                _ => {
                    unit.convert_attribute_value(read_unit, attr, &|a| Some(Address::Constant(a)))?
                }
            }
        };
        unit.unit.get_mut(id).set(name, converted);
    }
    Ok(())
}

/// An entry's `DW_AT_low_pc` and `DW_AT_high_pc`, which move together:
/// when either end maps nowhere, the entry's code was dropped, and its
/// start becomes the tombstone.
struct Span {
    /// The input start, if the entry has one.
    low: Option<u64>,
    /// The moved start and end, when both map.
    moved: Option<(u64, u64)>,
    tombstone: u64,
}

impl Span {
    fn of<R: gimli::Reader<Offset = usize>>(
        entry: &write::ConvertUnitEntry<'_, R>,
        at: &Addresses<'_>,
    ) -> ConvertResult<Self> {
        let (mut low, mut high) = (None, None);
        for attr in entry.attrs.iter() {
            if attr.name() == constants::DW_AT_low_pc {
                low = code_address(entry, attr.value())?;
            } else if attr.name() == constants::DW_AT_high_pc {
                high = match code_address(entry, attr.value())? {
                    Some(end) => Some(end),
                    // A length from the start.
                    None => low
                        .zip(attr.udata_value())
                        .and_then(|(l, n)| l.checked_add(n)),
                };
            }
        }
        let moved = match (low, high) {
            (Some(l), Some(h)) => at.map(l).zip(at.map(h)).filter(|(l, h)| l <= h),
            (Some(l), None) => at.map(l).map(|l| (l, l)),
            _ => None,
        };
        Ok(Span {
            low,
            moved,
            tombstone: at.tombstone,
        })
    }

    /// The new value of `DW_AT_low_pc` or `DW_AT_high_pc`.
    fn attribute<R: gimli::Reader<Offset = usize>>(
        &self,
        name: constants::DwAt,
        attr: &read::Attribute<R>,
        root: bool,
    ) -> AttributeValue {
        let address = |a| AttributeValue::Address(Address::Constant(a));
        // `DW_AT_high_pc` is an address or, more often, a length.
        let is_address = matches!(
            attr.value(),
            read::AttributeValue::Addr(_) | read::AttributeValue::DebugAddrIndex(_)
        );
        match (name == constants::DW_AT_low_pc, self.moved) {
            // A unit's base of 0 stays 0: its lists hold whole addresses.
            (true, _) if root && self.low == Some(0) => address(0),
            (true, Some((l, _))) => address(l),
            (true, None) => address(self.tombstone),
            (false, Some((_, h))) if is_address => address(h),
            (false, Some((l, h))) => AttributeValue::Udata(h - l),
            (false, None) if is_address => address(self.tombstone),
            (false, None) => AttributeValue::Udata(attr.udata_value().unwrap_or(0)),
        }
    }
}

/// A range list with every range moved; ranges of dropped code are left
/// out.
fn ranges<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    offset: gimli::RangeListsOffset,
    at: &Addresses<'_>,
) -> ConvertResult<AttributeValue> {
    let mut list = Vec::new();
    if at.rebase {
        list.push(write::Range::BaseAddress {
            address: Address::Constant(0),
        });
    }
    let mut iter = unit.read_unit.ranges(offset)?;
    while let Some(r) = iter.next()? {
        if let (Some(begin), Some(end)) = (at.map(r.begin), at.map(r.end))
            && begin < end
        {
            list.push(write::Range::StartEnd {
                begin: Address::Constant(begin),
                end: Address::Constant(end),
            });
        }
    }
    let id = unit.unit.ranges.add(write::RangeList(list));
    Ok(AttributeValue::RangeListRef(id))
}

/// A location list with every range moved; ranges of dropped code are
/// left out, and the locations themselves pass through.
fn locations<R: gimli::Reader<Offset = usize>>(
    unit: &mut write::ConvertUnit<'_, R>,
    offset: gimli::LocationListsOffset,
    at: &Addresses<'_>,
) -> ConvertResult<AttributeValue> {
    let read_unit = unit.read_unit;
    let mut list = Vec::new();
    if at.rebase {
        list.push(write::Location::BaseAddress {
            address: Address::Constant(0),
        });
    }
    let mut iter = read_unit.locations(offset)?;
    while let Some(l) = iter.next()? {
        if let (Some(begin), Some(end)) = (at.map(l.range.begin), at.map(l.range.end))
            && begin < end
        {
            let data =
                unit.convert_expression(read_unit, l.data, &|a| Some(Address::Constant(a)))?;
            list.push(write::Location::StartEnd {
                begin: Address::Constant(begin),
                end: Address::Constant(end),
                data,
            });
        }
    }
    let id = unit.unit.locations.add(write::LocationList(list));
    Ok(AttributeValue::LocationListRef(id))
}

/// A line program with every row moved. Each run of rows between two
/// addresses the program sets becomes a sequence of its own. A run with
/// an address that maps nowhere (dropped code, or rows that do not fall
/// on this module's instructions) describes no code here, and is left
/// out.
fn convert_lines<R: gimli::Reader<Offset = usize>>(
    mut program: write::ConvertLineProgram<'_, R>,
    at: &Addresses<'_>,
) -> ConvertResult<(LineProgram, Vec<write::FileId>)> {
    let mut rows = Vec::new();
    while let Some(sequence) = program.read_sequence()? {
        let start = sequence.start.unwrap_or(0);
        let end = match sequence.end {
            write::ConvertLineSequenceEnd::Length(length) => start.checked_add(length),
            write::ConvertLineSequenceEnd::Address(address) => Some(address),
        };
        let moved = |offset: u64| start.checked_add(offset).and_then(|a| at.map(a));
        let (Some(base), Some(end)) = (at.map(start), end.and_then(|e| at.map(e))) else {
            continue;
        };
        rows.clear();
        let mut last = base;
        let mut describes = end >= base;
        for mut row in sequence.rows {
            match moved(row.address_offset).filter(|a| *a >= last && *a <= end) {
                Some(a) => {
                    row.address_offset = a - base;
                    last = a;
                    rows.push(row);
                }
                None => describes = false,
            }
        }
        if !describes || rows.is_empty() {
            continue;
        }
        program.begin_sequence(Some(Address::Constant(base)));
        for row in rows.drain(..) {
            program.generate_row(row);
        }
        program.end_sequence(end - base);
    }
    Ok(program.program())
}

/// The compile unit of Solder's generated functions: a subprogram for
/// each, named, with its code range.
fn generated_unit(dwarf: &mut write::Dwarf, generated: &[Generated], origin: u32) {
    let encoding = gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 4,
        address_size: 4,
    };
    let id = dwarf
        .units
        .add(write::Unit::new(encoding, LineProgram::none()));
    let unit = dwarf.units.get_mut(id);
    let strings = &mut dwarf.strings;
    let root = unit.root();
    let at = |offset: u32| Address::Constant(u64::from(offset) + u64::from(origin));
    let ranges = generated
        .iter()
        .map(|g| write::Range::StartEnd {
            begin: at(g.body.start),
            end: at(g.body.end),
        })
        .collect();
    let ranges = unit.ranges.add(write::RangeList(ranges));
    let producer = format!("solder {}", crate::VERSION);
    let cu = unit.get_mut(root);
    cu.set(
        constants::DW_AT_producer,
        AttributeValue::StringRef(strings.add(producer)),
    );
    cu.set(
        constants::DW_AT_name,
        AttributeValue::StringRef(strings.add("solder-generated")),
    );
    cu.set(
        constants::DW_AT_low_pc,
        AttributeValue::Address(Address::Constant(0)),
    );
    cu.set(
        constants::DW_AT_ranges,
        AttributeValue::RangeListRef(ranges),
    );
    for g in generated {
        let f = unit.add(root, constants::DW_TAG_subprogram);
        let f = unit.get_mut(f);
        f.set(
            constants::DW_AT_name,
            AttributeValue::StringRef(strings.add(g.name.as_str())),
        );
        f.set(
            constants::DW_AT_low_pc,
            AttributeValue::Address(at(g.body.start)),
        );
        f.set(
            constants::DW_AT_high_pc,
            AttributeValue::Udata(u64::from(g.body.end - g.body.start)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> CodeMap {
        let mut m = CodeMap::default();
        // A body at 10..30 that moved to 100..115: its locals take 1 byte,
        // a call padded to six bytes at offset 3 takes two, so from offset
        // 9 on, all is 4 earlier.
        m.push(10..30, 100..115, &[(1, 1), (3, 3), (9, 5), (19, 14)]);
        m.push(32..40, 116..124, &[(1, 1), (7, 7)]);
        m
    }

    #[test]
    fn addresses_move_with_their_instructions() {
        let m = map();
        assert_eq!(m.map(10, 2), Some(102));
        assert_eq!(m.map(13, 2), Some(105));
        assert_eq!(m.map(19, 2), Some(107));
        assert_eq!(m.map(29, 2), Some(116));
        // The end of a body is the end of its new place.
        assert_eq!(m.map(30, 2), Some(117));
        assert_eq!(m.map(32, 0), Some(116));
        assert_eq!(m.map(39, 0), Some(123));
        assert_eq!(m.map(40, 0), Some(124));
    }

    #[test]
    fn the_table_maps_as_the_map_does() -> Result<(), String> {
        let m = map();
        let table = m.table().ok_or("a small map has a table")?;
        for a in 0..64u64 {
            let looked_up = table.get(a as usize).filter(|t| **t != u32::MAX);
            assert_eq!(looked_up.map(|t| u64::from(*t) + 2), m.map(a, 2), "{a}");
        }
        Ok(())
    }

    #[test]
    fn addresses_of_no_instruction_map_nowhere() {
        let m = map();
        // Outside every body, and inside an instruction.
        for a in [0, 9, 31, 41, 15, 34, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(m.map(a, 0), None, "{a}");
        }
    }

    #[test]
    fn broken_dwarf_is_dropped_with_a_warning() {
        let sections = [(".debug_info", &[7u8, 0, 0, 0, 4, 0][..])];
        let input = DebugInput {
            path: "root/module[0]",
            sections: &sections,
            map: map(),
            globals: &[],
        };
        let carried = carry(&mut Vec::new(), &[input], &[], 1);
        assert_eq!(carried.units, 0);
        assert_eq!(carried.warnings.len(), 1, "{:?}", carried.warnings);
    }
}
