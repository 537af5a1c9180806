//! DWARF 4 carried by relocating it in place, as a linker does.
//!
//! Converting every entry through gimli's writer costs far more than the
//! rest of a fuse, and almost all of it is spent on what does not change:
//! the entries' names, types and constants. So for the common case (DWARF
//! 4, 32-bit, four-byte addresses, which is what rustc, clang, Zig and Go
//! write for WebAssembly) each input module's sections are copied into the
//! fused module's, one after another, and only the values that point
//! somewhere are changed where they lie:
//!
//! - a unit's abbreviation offset, and every string (`DW_FORM_strp`),
//!   cross-unit reference (`DW_FORM_ref_addr`), range list and location
//!   list offset, by where that module's section now starts;
//! - every code address (`DW_AT_low_pc`, `DW_AT_high_pc` as an address or
//!   a length, other address attributes, range and location list pairs),
//!   through the module's [`CodeMap`];
//! - the global of every `DW_OP_WASM_location` (a variable or frame base
//!   kept in a global, most often the stack pointer), through the module's
//!   global map;
//! - line programs: each keeps its header (so the entries' file numbers
//!   stay right) and its live sequences, with every address advance made
//!   the distance the moved instructions now lie apart; sequences of code
//!   the linker dropped are left out. The program of a unit whose code was
//!   all dropped (its ranges, or its low and high address, map nowhere) is
//!   not read at all: it keeps its header alone. The units are walked
//!   first for that, and each `DW_AT_stmt_list` set once the programs are
//!   written, after the other sections.
//!
//! Every value keeps its width, so nothing else moves. Entries of dropped
//! code stay, with the tombstone as their address, as the inputs had them.
//! Strings are not deduplicated across modules.
//!
//! Anything else (DWARF 5's indexed forms and list sections, 64-bit DWARF,
//! macro information, a value that no longer fits its width) is declined
//! here, and the caller converts the DWARF through gimli's writer instead.
//! Parsing uses gimli's reader (unit headers, abbreviations, line program
//! headers, expressions); the walk over the entries is a table per
//! abbreviation of what each attribute's bytes are.

use super::super::sized::{self, padded_uleb};
use super::{Carried, CodeMap, DebugInput, Generated};
use gimli::{LittleEndian, Reader as _, constants as dw, read};

/// Why the fast path does not apply: the caller converts instead.
#[derive(Debug)]
pub(super) struct Decline(#[cfg_attr(not(test), allow(dead_code))] pub(super) String);

impl From<gimli::Error> for Decline {
    fn from(e: gimli::Error) -> Self {
        Decline(e.to_string())
    }
}

/// Bytes that are not the DWARF they should be (cut short, most often):
/// the cheap error of the walks, declined where they end.
#[derive(Debug)]
struct Malformed;

impl From<Malformed> for Decline {
    fn from(_: Malformed) -> Self {
        Decline("malformed DWARF".into())
    }
}

fn decline<T>(why: impl Into<String>) -> Result<T, Decline> {
    Err(Decline(why.into()))
}

/// How a module's code addresses move.
#[derive(Clone, Copy)]
enum Code<'m> {
    /// Through an instance's code map, past the output's function count.
    Moved(&'m CodeMap, u32),
    /// Through that map's table ([`CodeMap::table`]).
    Table(&'m [u32], u32),
    /// Already the output's (the generated functions' unit).
    Kept,
}

impl Code<'_> {
    fn map(self, at: u64) -> Option<u64> {
        match self {
            Code::Moved(map, origin) => map.map(at, origin),
            Code::Table(table, origin) => {
                let to = *table.get(usize::try_from(at).ok()?)?;
                (to != u32::MAX).then(|| u64::from(to) + u64::from(origin))
            }
            Code::Kept => Some(at),
        }
    }
}

/// The tombstone of a 4-byte address: code the linker dropped.
const TOMBSTONE: u32 = u32::MAX;
/// The tombstone of a range or location list pair (`-1` there starts a
/// base address entry).
const PAIR_TOMBSTONE: u32 = u32::MAX - 1;

/// One module's DWARF to carry.
struct Source<'a> {
    sections: &'a [(&'a str, &'a [u8])],
    code: Code<'a>,
    /// Module global index to fused index; `None` keeps them.
    globals: Option<&'a [u32]>,
}

impl<'a> Source<'a> {
    fn section(&self, name: &str) -> &'a [u8] {
        self.sections
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, d)| *d)
    }
}

/// Sections the fast path cannot relocate (DWARF 5's, and macro
/// information); the conversion handles or drops them.
const DECLINED: [&str; 8] = [
    ".debug_addr",
    ".debug_rnglists",
    ".debug_loclists",
    ".debug_str_offsets",
    ".debug_line_str",
    ".debug_macro",
    ".debug_macinfo",
    ".debug_names",
];

/// Appends every input's DWARF and the generated functions' unit to the
/// module being written in `buf`, as custom sections, relocated; or
/// declines (with `buf` as it may then be, for the caller to cut back).
pub(super) fn carry(
    buf: &mut Vec<u8>,
    inputs: &[DebugInput<'_>],
    generated: &[Generated],
    origin: u32,
) -> Result<Carried, Decline> {
    for input in inputs {
        let declined = |(n, d): &&(&str, &[u8])| DECLINED.contains(n) && !d.is_empty();
        if let Some((name, _)) = input.sections.iter().find(declined) {
            return decline(format!("{} has {name}", input.path));
        }
    }
    let mut carried = Carried {
        warnings: super::uncarried(inputs),
        ..Carried::default()
    };
    // The generated functions' unit, written by gimli, joins the rest as
    // one more module whose addresses are already the output's.
    let written =
        super::generated_sections(generated, origin).map_err(|e| Decline(e.to_string()))?;
    let written: Vec<(&str, &[u8])> = written.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    let tables: Vec<Option<Vec<u32>>> = inputs.iter().map(|i| i.map.table()).collect();
    let mut sources: Vec<Source<'_>> = inputs
        .iter()
        .zip(&tables)
        .map(|(i, table)| Source {
            sections: i.sections,
            code: match table {
                Some(t) => Code::Table(t, origin),
                None => Code::Moved(&i.map, origin),
            },
            globals: Some(i.globals),
        })
        .collect();
    sources.push(Source {
        sections: &written,
        code: Code::Kept,
        globals: None,
    });
    let start = buf.len();
    let abbrev = Region::concat(buf, ".debug_abbrev", &sources)?;
    let str = Region::concat(buf, ".debug_str", &sources)?;
    let ranges = Region::concat(buf, ".debug_ranges", &sources)?;
    let loc = Region::concat(buf, ".debug_loc", &sources)?;
    let info = Region::concat(buf, ".debug_info", &sources)?;
    let mut units = 0;
    let mut stmts = Vec::with_capacity(sources.len());
    for (k, src) in sources.iter().enumerate() {
        let bases = Bases {
            info: info.data + info.bases[k] as usize,
            info_offset: info.bases[k],
            abbrev: abbrev.bases[k],
            str: str.bases[k],
            ranges: ranges.bases[k],
            ranges_at: ranges.data + ranges.bases[k] as usize,
            loc: loc.bases[k],
            loc_at: loc.data + loc.bases[k] as usize,
        };
        let (n, module_stmts) = relocate_units(buf, src, &bases)?;
        stmts.push(module_stmts);
        if k < inputs.len() {
            units += n;
        }
    }
    let line = Region::lines(buf, &sources, &mut stmts)?;
    for (k, module_stmts) in stmts.iter().enumerate() {
        for stmt in module_stmts {
            set_u32(buf, stmt.at, line.bases[k] + stmt.offset)?;
        }
    }
    carried.units = u32::try_from(units).map_err(|_| Decline("too many units".into()))?;
    if carried.units == 0 {
        buf.truncate(start);
    }
    carried.bytes = (buf.len() - start) as u64;
    Ok(carried)
}

/// One custom section of the output, holding every module's part.
struct Region {
    /// Where its contents start in the output.
    data: usize,
    /// Where each module's part starts, from `data`.
    bases: Vec<u32>,
}

impl Region {
    /// Starts a custom section `name` at the end of `buf`. Returns where
    /// its contents (its name first) start, and where its data starts.
    fn open(buf: &mut Vec<u8>, name: &str) -> (usize, usize) {
        let contents = sized::open(buf, 0);
        // Names are short.
        buf.push(name.len() as u8);
        buf.extend_from_slice(name.as_bytes());
        (contents, buf.len())
    }

    /// Ends the section [`Region::open`] started: its size is filled in,
    /// or, with no data, it is taken out again.
    fn close(buf: &mut Vec<u8>, (contents, data): (usize, usize)) -> Result<(), Decline> {
        if buf.len() == data {
            buf.truncate(contents - 6);
            return Ok(());
        }
        sized::close(buf, contents).ok_or_else(|| Decline("over 4 GiB".into()))
    }

    /// Each module's section `name`, one after another.
    fn concat(buf: &mut Vec<u8>, name: &str, sources: &[Source<'_>]) -> Result<Region, Decline> {
        let opened = Region::open(buf, name);
        let data = opened.1;
        let mut bases = Vec::with_capacity(sources.len());
        for src in sources {
            bases.push(offset(buf.len() - data)?);
            buf.extend_from_slice(src.section(name));
        }
        Region::close(buf, opened)?;
        Ok(Region { data, bases })
    }

    /// Each module's line programs, relocated; a program only units
    /// whose code was dropped point at keeps its header alone. Each of
    /// `stmts` (by module, sorted here) comes to hold where its program
    /// went, from the start of the module's part.
    fn lines(
        buf: &mut Vec<u8>,
        sources: &[Source<'_>],
        stmts: &mut [Vec<Stmt>],
    ) -> Result<Region, Decline> {
        let name = ".debug_line";
        let opened = Region::open(buf, name);
        let data = opened.1;
        let mut bases = Vec::with_capacity(sources.len());
        for (src, stmts) in sources.iter().zip(stmts.iter_mut()) {
            let base = buf.len() - data;
            bases.push(offset(base)?);
            let input = src.section(name);
            stmts.sort_unstable_by_key(|s| s.offset);
            let mut next = 0;
            let mut at = 0;
            while at < input.len() {
                let length = get_u32(input, at)?;
                if length >= 0xffff_fff0 {
                    return decline("a 64-bit line program");
                }
                let moved = offset(buf.len() - data - base)?;
                let here = offset(at)?;
                if stmts.get(next).is_some_and(|s| s.offset < here) {
                    // A unit whose line program is not where it says.
                    return Err(Malformed.into());
                }
                let first = next;
                while stmts.get(next).is_some_and(|s| s.offset == here) {
                    next += 1;
                }
                let users = &mut stmts[first..next];
                // A program no unit points at is kept whole.
                let live = users.is_empty() || users.iter().any(|s| s.live);
                for s in users {
                    s.offset = moved;
                }
                relocate_program(input, at, src.code, live, buf)?;
                at += 4 + length as usize;
            }
            if next < stmts.len() {
                return Err(Malformed.into());
            }
        }
        Region::close(buf, opened)?;
        Ok(Region { data, bases })
    }
}

/// A unit's `DW_AT_stmt_list`.
struct Stmt {
    /// Where it lies in the output.
    at: usize,
    /// The offset it holds in the input; once the programs are written,
    /// the program's offset in the output, from the module's first.
    offset: u32,
    /// Whether the unit's code was kept (or may have been).
    live: bool,
}

fn offset(n: usize) -> Result<u32, Decline> {
    u32::try_from(n).map_err(|_| Decline("over 4 GiB".into()))
}

/// Where a module's parts start in the output.
struct Bases {
    /// Its `.debug_info` in `buf`.
    info: usize,
    /// And from the start of that section.
    info_offset: u32,
    abbrev: u32,
    str: u32,
    ranges: u32,
    /// Its `.debug_ranges` in `buf`.
    ranges_at: usize,
    loc: u32,
    /// Its `.debug_loc` in `buf`.
    loc_at: usize,
}

/// A list an entry points at, relocated once the entry is read (a list
/// several entries share is relocated each time, to the same bytes).
struct List {
    offset: u32,
    location: bool,
    /// The unit's base address in the input, and in the output (`None`:
    /// the unit's code was dropped).
    base: u64,
    moved: Option<u64>,
}

/// Relocates a module's units, copied to `bases.info` in `buf`, and the
/// lists they point at. Returns how many units there are, and their
/// `DW_AT_stmt_list`s, left for the line programs to set.
fn relocate_units(
    buf: &mut [u8],
    src: &Source<'_>,
    bases: &Bases,
) -> Result<(usize, Vec<Stmt>), Decline> {
    let info = src.section(".debug_info");
    let mut count = 0;
    let mut stmts = Vec::new();
    let abbrev = src.section(".debug_abbrev");
    let mut plans = Plans::default();
    let mut units = read::DebugInfo::new(info, LittleEndian).units();
    while let Some(header) = units.next()? {
        let encoding = header.encoding();
        if encoding.version != 4
            || encoding.format != gimli::Format::Dwarf32
            || encoding.address_size != 4
        {
            return decline(format!(
                "a unit of DWARF {} ({:?}, {}-byte addresses)",
                encoding.version, encoding.format, encoding.address_size
            ));
        }
        // Units of `.debug_info` count from its start.
        let start = header.offset().0;
        let end = start + header.length_including_self();
        // Length (4) and version (2), then the abbreviation offset.
        add_u32(buf, bases.info + start + 6, bases.abbrev)?;
        let table = header.debug_abbrev_offset().0;
        let codes = match plans.tables.entry(table) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self::plans(abbrev, table, &mut plans.steps)?)
            }
        };
        let mut walk = Walk {
            input: info,
            out: buf,
            bases,
            src,
            steps: &plans.steps,
            plans: codes,
            ranges: src.section(".debug_ranges"),
            loc: src.section(".debug_loc"),
            stmts: &mut stmts,
        };
        walk.unit(start + header.size_of_header(), end)?;
        count += 1;
    }
    Ok((count, stmts))
}

/// What one attribute's bytes are, and what relocating does to them.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Bytes that stay.
    Skip(u32),
    /// A NUL-terminated string.
    Cstr,
    /// A LEB128 number.
    Leb,
    /// A block (its length in 1, 2 or 4 bytes, or LEB128 as 0), kept.
    Block(u8),
    /// An expression (`DW_FORM_exprloc`), whose globals move.
    Expr,
    /// A 4-byte offset into the strings.
    Str,
    /// A 4-byte offset into `.debug_info`.
    Info,
    /// A 4-byte offset of a range list (or a location list).
    List { location: bool },
    /// A 4-byte offset of a line program.
    Lines,
    /// `DW_AT_low_pc` as an address.
    Low,
    /// `DW_AT_high_pc` as an address.
    HighAddress,
    /// `DW_AT_high_pc` as a length of 1, 2, 4 or 8 bytes.
    HighLength(u8),
    /// `DW_AT_high_pc` as a length in LEB128.
    HighLeb,
    /// Any other code address.
    Address,
}

/// An abbreviation: its steps, `steps[start..end]` of its module's
/// [`Plans`], then the bytes after the last.
#[derive(Clone, Copy)]
struct Plan {
    start: u32,
    end: u32,
    tail: u32,
}

/// A module's abbreviation tables, each read once into plans.
#[derive(Default)]
struct Plans {
    /// Every abbreviation's steps, one abbreviation after another: each
    /// step after the bytes to skip before it.
    steps: Vec<(u32, Step)>,
    /// Each table's plans by code (`None`: no abbreviation has that
    /// code), by the table's offset.
    tables: std::collections::HashMap<usize, Vec<Option<Plan>>>,
}

/// The steps for an attribute (`None`: it is declined).
fn step(name: dw::DwAt, form: dw::DwForm) -> Option<Step> {
    Some(match form {
        dw::DW_FORM_addr => match name {
            dw::DW_AT_low_pc => Step::Low,
            dw::DW_AT_high_pc => Step::HighAddress,
            _ => Step::Address,
        },
        dw::DW_FORM_data1 | dw::DW_FORM_data2 | dw::DW_FORM_data4 | dw::DW_FORM_data8
            if name == dw::DW_AT_high_pc =>
        {
            let width = match form {
                dw::DW_FORM_data1 => 1,
                dw::DW_FORM_data2 => 2,
                dw::DW_FORM_data4 => 4,
                _ => 8,
            };
            Step::HighLength(width)
        }
        dw::DW_FORM_flag_present | dw::DW_FORM_implicit_const => Step::Skip(0),
        dw::DW_FORM_data1 | dw::DW_FORM_ref1 | dw::DW_FORM_flag => Step::Skip(1),
        dw::DW_FORM_data2 | dw::DW_FORM_ref2 => Step::Skip(2),
        dw::DW_FORM_data4 | dw::DW_FORM_ref4 => Step::Skip(4),
        dw::DW_FORM_data8 | dw::DW_FORM_ref8 | dw::DW_FORM_ref_sig8 => Step::Skip(8),
        dw::DW_FORM_data16 => Step::Skip(16),
        dw::DW_FORM_udata if name == dw::DW_AT_high_pc => Step::HighLeb,
        dw::DW_FORM_udata | dw::DW_FORM_sdata | dw::DW_FORM_ref_udata => Step::Leb,
        dw::DW_FORM_string => Step::Cstr,
        dw::DW_FORM_block1 => Step::Block(1),
        dw::DW_FORM_block2 => Step::Block(2),
        dw::DW_FORM_block4 => Step::Block(4),
        dw::DW_FORM_block => Step::Block(0),
        dw::DW_FORM_exprloc => Step::Expr,
        dw::DW_FORM_strp => Step::Str,
        dw::DW_FORM_ref_addr => Step::Info,
        dw::DW_FORM_sec_offset => match name {
            dw::DW_AT_stmt_list => Step::Lines,
            dw::DW_AT_ranges | dw::DW_AT_start_scope => Step::List { location: false },
            dw::DW_AT_location
            | dw::DW_AT_frame_base
            | dw::DW_AT_string_length
            | dw::DW_AT_return_addr
            | dw::DW_AT_data_member_location
            | dw::DW_AT_segment
            | dw::DW_AT_static_link
            | dw::DW_AT_use_location
            | dw::DW_AT_vtable_elem_location => Step::List { location: true },
            _ => return None,
        },
        _ => return None,
    })
}

/// Reads the abbreviation table at `at` in `abbrev` into plans, by
/// code: for each abbreviation, the attributes that stay become bytes to
/// skip before the next step, whose steps are appended to `steps`.
fn plans(
    abbrev: &[u8],
    at: usize,
    steps: &mut Vec<(u32, Step)>,
) -> Result<Vec<Option<Plan>>, Decline> {
    let mut plans: Vec<Option<Plan>> = Vec::new();
    let mut pos = at;
    loop {
        let code = leb(abbrev, &mut pos)?;
        if code == 0 {
            return Ok(plans);
        }
        // The tag, then whether it has children.
        leb(abbrev, &mut pos)?;
        pos += 1;
        let start = offset(steps.len())?;
        let mut skip = 0;
        loop {
            let (name, form) = (leb(abbrev, &mut pos)?, leb(abbrev, &mut pos)?);
            if name == 0 && form == 0 {
                break;
            }
            let (Ok(name), Ok(form)) = (u16::try_from(name), u16::try_from(form)) else {
                return decline(format!("attribute {name} in form {form}"));
            };
            let (name, form) = (dw::DwAt(name), dw::DwForm(form));
            if form == dw::DW_FORM_implicit_const {
                skip_leb(abbrev, &mut pos)?;
            }
            match step(name, form) {
                Some(Step::Skip(n)) => skip += n,
                Some(s) => {
                    steps.push((skip, s));
                    skip = 0;
                }
                None if form == dw::DW_FORM_sec_offset => {
                    return decline(format!("{name} as a section offset"));
                }
                None => return decline(format!("{name} in {form}")),
            }
        }
        let k = match usize::try_from(code) {
            Ok(k) if k <= 1 << 16 => k,
            _ => return decline(format!("abbreviation code {code}")),
        };
        if k >= plans.len() {
            plans.resize(k + 1, None);
        }
        plans[k] = Some(Plan {
            start,
            end: offset(steps.len())?,
            tail: skip,
        });
    }
}

/// Adds `by` to the 4-byte value at `at`.
fn add_u32(bytes: &mut [u8], at: usize, by: u32) -> Result<(), Malformed> {
    let v = get_u32(bytes, at)?;
    set_u32(bytes, at, v.wrapping_add(by))
}

fn get_u32(bytes: &[u8], at: usize) -> Result<u32, Malformed> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Malformed),
    }
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) -> Result<(), Malformed> {
    match bytes.get_mut(at..at + 4) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err(Malformed),
    }
}

/// Reads an unsigned LEB128 number at `*at`, with gimli's reader.
fn leb(bytes: &[u8], at: &mut usize) -> Result<u64, Malformed> {
    let mut r = read::EndianSlice::new(bytes.get(*at..).ok_or(Malformed)?, LittleEndian);
    let v = gimli::leb128::read::unsigned(&mut r).map_err(|_| Malformed)?;
    *at = bytes.len() - r.len();
    Ok(v)
}

/// Steps over a LEB128 number at `*at`, signed or not.
fn skip_leb(bytes: &[u8], at: &mut usize) -> Result<(), Malformed> {
    let mut r = read::EndianSlice::new(bytes.get(*at..).ok_or(Malformed)?, LittleEndian);
    gimli::leb128::read::skip(&mut r).map_err(|_| Malformed)?;
    *at = bytes.len() - r.len();
    Ok(())
}

/// The walk over one unit's entries.
struct Walk<'w, 'a> {
    input: &'a [u8],
    /// The output, this module's `.debug_info` at `bases.info`.
    out: &'w mut [u8],
    bases: &'w Bases,
    src: &'w Source<'a>,
    /// The module's abbreviations' steps.
    steps: &'w [(u32, Step)],
    /// The unit's abbreviations, by code.
    plans: &'w [Option<Plan>],
    /// The input's `.debug_ranges` and `.debug_loc`.
    ranges: &'a [u8],
    loc: &'a [u8],
    /// The module's `DW_AT_stmt_list`s so far.
    stmts: &'w mut Vec<Stmt>,
}

/// An entry's `DW_AT_low_pc` and `DW_AT_high_pc`: where each lies and
/// what it holds.
#[derive(Default)]
struct Span {
    low: Option<(usize, u64)>,
    /// Where, in what form, and the value.
    high: Option<(usize, High, u64)>,
}

/// The form of a `DW_AT_high_pc`.
#[derive(Clone, Copy)]
enum High {
    /// An address.
    Address,
    /// A length in that many bytes (1, 2, 4 or 8).
    Length(u8),
    /// A length in a LEB128 of that many bytes.
    Leb(u8),
}

impl Walk<'_, '_> {
    /// Relocates the entries in `pos..end` of the input `.debug_info`.
    fn unit(&mut self, mut pos: usize, end: usize) -> Result<(), Decline> {
        let mut root = true;
        // The unit's base address, in and out, for its lists.
        let mut base = (0, Some(0));
        let mut pending = Vec::new();
        let stmts = self.stmts.len();
        while pos < end {
            let code = leb(self.input, &mut pos)?;
            if code == 0 {
                continue;
            }
            let plan = usize::try_from(code).ok().and_then(|k| self.plans.get(k));
            let Some(&Some(Plan {
                start,
                end: stop,
                tail,
            })) = plan
            else {
                return decline(format!("abbreviation {code} is not defined"));
            };
            let mut span = Span::default();
            let steps = self.steps;
            for &(skip, step) in steps.get(start as usize..stop as usize).unwrap_or(&[]) {
                pos += skip as usize;
                self.step(step, &mut pos, &mut span, &mut pending)?;
            }
            pos += tail as usize;
            if pos > self.input.len() {
                return Err(Malformed.into());
            }
            let (moved, mapped) = self.span(&span, root)?;
            if let (true, Some((_, low))) = (root, span.low) {
                base = (low, moved);
            }
            // Whether a range list of the entry's holds kept code.
            let mut ranged: Option<bool> = None;
            for (offset, location) in pending.drain(..) {
                let list = List {
                    offset,
                    location,
                    base: base.0,
                    moved: base.1,
                };
                let (input, at) = if location {
                    (self.loc, self.bases.loc_at)
                } else {
                    (self.ranges, self.bases.ranges_at)
                };
                let any = relocate_list(input, self.out, at, &list, self.src)?;
                if !location {
                    ranged = Some(ranged.unwrap_or(false) || any);
                }
            }
            if root {
                // Whether the unit's code was kept: its range lists, else
                // its low and high address, say so; otherwise it may have
                // been.
                let kept = ranged.unwrap_or(span.high.is_none() || mapped);
                for stmt in &mut self.stmts[stmts..] {
                    stmt.live = kept;
                }
                root = false;
            }
        }
        Ok(())
    }

    fn step(
        &mut self,
        step: Step,
        pos: &mut usize,
        span: &mut Span,
        lists: &mut Vec<(u32, bool)>,
    ) -> Result<(), Malformed> {
        let at = *pos;
        match step {
            Step::Skip(n) => *pos += n as usize,
            Step::Cstr => match self
                .input
                .get(at..)
                .and_then(|b| b.iter().position(|&c| c == 0))
            {
                Some(n) => *pos += n + 1,
                None => return Err(Malformed),
            },
            Step::Leb => skip_leb(self.input, pos)?,
            Step::Block(width) => {
                let n = match width {
                    1 => self.input.get(at).map(|b| u64::from(*b)).unwrap_or(0),
                    2 => self
                        .input
                        .get(at..at + 2)
                        .map_or(0, |b| u64::from(b[0]) | u64::from(b[1]) << 8),
                    4 => u64::from(get_u32(self.input, at)?),
                    _ => leb(self.input, pos)?,
                };
                *pos = (*pos + usize::from(width)).saturating_add(n as usize);
            }
            Step::Expr => {
                let n = leb(self.input, pos)? as usize;
                let expr = *pos..pos.saturating_add(n);
                *pos = expr.end;
                relocate_expression(
                    self.input,
                    self.out,
                    self.bases.info,
                    expr,
                    self.src.globals,
                )
                .map_err(|_| Malformed)?;
            }
            Step::Str => {
                add_u32(self.out, self.bases.info + at, self.bases.str)?;
                *pos += 4;
            }
            Step::Info => {
                add_u32(self.out, self.bases.info + at, self.bases.info_offset)?;
                *pos += 4;
            }
            Step::List { location } => {
                let offset = get_u32(self.input, at)?;
                let base = if location {
                    self.bases.loc
                } else {
                    self.bases.ranges
                };
                set_u32(self.out, self.bases.info + at, offset.wrapping_add(base))?;
                lists.push((offset, location));
                *pos += 4;
            }
            Step::Lines => {
                self.stmts.push(Stmt {
                    at: self.bases.info + at,
                    offset: get_u32(self.input, at)?,
                    live: true,
                });
                *pos += 4;
            }
            Step::Low => {
                span.low = Some((at, u64::from(get_u32(self.input, at)?)));
                *pos += 4;
            }
            Step::HighAddress => {
                span.high = Some((at, High::Address, u64::from(get_u32(self.input, at)?)));
                *pos += 4;
            }
            Step::HighLeb => {
                let length = leb(self.input, pos)?;
                let n = u8::try_from(*pos - at).map_err(|_| Malformed)?;
                span.high = Some((at, High::Leb(n), length));
            }
            Step::HighLength(width) => {
                let w = usize::from(width);
                let b = self.input.get(at..at + w).ok_or(Malformed)?;
                // Byte by byte: a copy of a few bytes would call `memcpy`.
                let length = b.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b));
                span.high = Some((at, High::Length(width), length));
                *pos += w;
            }
            Step::Address => {
                let a = get_u32(self.input, at)?;
                let moved = self.src.code.map(a.into()).map_or(TOMBSTONE, |m| m as u32);
                set_u32(self.out, self.bases.info + at, moved)?;
                *pos += 4;
            }
        }
        Ok(())
    }

    /// Moves an entry's code range: both ends move together, and when
    /// either maps nowhere the entry's code was dropped and its start
    /// becomes the tombstone. A unit's base of 0 stays 0 (its lists hold
    /// whole addresses). Returns the new start, and whether the code may
    /// have been kept (a kept base of 0 may have been).
    fn span(&mut self, span: &Span, root: bool) -> Result<(Option<u64>, bool), Decline> {
        let Some((low_at, low)) = span.low else {
            return Ok((None, true));
        };
        let code = self.src.code;
        let high = span.high.map(|(_, form, v)| match form {
            High::Address => v,
            High::Length(_) | High::Leb(_) => low + v,
        });
        let moved = match high {
            Some(h) => code.map(low).zip(code.map(h)).filter(|(l, h)| l <= h),
            None => code.map(low).map(|l| (l, l)),
        };
        let kept_zero = root && low == 0;
        let new_low = if kept_zero {
            0
        } else {
            moved.map_or(u64::from(TOMBSTONE), |m| m.0)
        };
        set_u32(self.out, self.bases.info + low_at, new_low as u32)?;
        if let Some((high_at, form, _)) = span.high {
            let at = self.bases.info + high_at;
            match (form, moved) {
                (High::Address, Some((_, h))) => set_u32(self.out, at, h as u32)?,
                (High::Address, None) => set_u32(self.out, at, TOMBSTONE)?,
                (High::Leb(n), Some((l, h))) => {
                    let n = usize::from(n);
                    let fits = u32::try_from(h - l)
                        .is_ok_and(|length| padded_uleb(&mut self.out[at..at + n], length));
                    if !fits {
                        return decline("a code length no longer fits its LEB128");
                    }
                }
                (High::Length(w), Some((l, h))) => {
                    let length = (h - l).to_le_bytes();
                    let w = usize::from(w);
                    if length[w..].iter().any(|b| *b != 0) {
                        return decline("a code length no longer fits its form");
                    }
                    self.out[at..at + w].copy_from_slice(&length[..w]);
                }
                (_, None) => {}
            }
        }
        Ok(if kept_zero {
            (Some(0), true)
        } else {
            (moved.map(|m| m.0), moved.is_some())
        })
    }
}

/// Moves the globals a DWARF expression names (`DW_OP_WASM_location`
/// 1 and 3) to their fused indices, in place, keeping every width.
fn relocate_expression(
    input: &[u8],
    out: &mut [u8],
    at: usize,
    expr: std::ops::Range<usize>,
    globals: Option<&[u32]>,
) -> Result<(), Decline> {
    let Some(globals) = globals else {
        return Ok(());
    };
    let Some(bytes) = input.get(expr.clone()) else {
        return decline("truncated expression");
    };
    // Most expressions name no WebAssembly location at all.
    if !bytes.contains(&0xed) {
        return Ok(());
    }
    let encoding = gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 4,
        address_size: 4,
    };
    let mut r = read::EndianSlice::new(bytes, LittleEndian);
    while !r.is_empty() {
        let start = bytes.len() - r.len();
        // An operation gimli does not know ends the walk; what follows
        // it is kept as it is.
        let Ok(op) = read::Operation::parse(&mut r, encoding) else {
            return Ok(());
        };
        let read::Operation::WasmGlobal { index } = op else {
            continue;
        };
        let Some(&fused) = globals.get(index as usize) else {
            continue;
        };
        let end = bytes.len() - r.len();
        let operand = at + expr.start + start + 2..at + expr.start + end;
        let kind = bytes.get(start + 1).copied();
        let dst = &mut out[operand.clone()];
        if kind == Some(3) {
            dst.copy_from_slice(&fused.to_le_bytes());
        } else if !padded_uleb(dst, fused) {
            return decline("a global index no longer fits its LEB128");
        }
    }
    Ok(())
}

/// Relocates one range or location list of the input, written at `base`
/// in the output: every pair moved to the unit's new base, pairs of
/// dropped code tombstoned, and each location's globals moved. Returns
/// whether any pair's code was kept.
fn relocate_list(
    input: &[u8],
    out: &mut [u8],
    base: usize,
    list: &List,
    src: &Source<'_>,
) -> Result<bool, Decline> {
    let mut pos = list.offset as usize;
    let (mut from, mut to) = (list.base, list.moved);
    let mut kept = false;
    loop {
        let (begin, end) = (get_u32(input, pos)?, get_u32(input, pos + 4)?);
        let at = base + pos;
        pos += 8;
        if begin == 0 && end == 0 {
            return Ok(kept);
        }
        if begin == u32::MAX {
            // A new base address.
            from = end.into();
            to = src.code.map(from);
            if let Some(m) = to {
                set_u32(out, at + 4, m as u32)?;
            }
            continue;
        }
        if let Some(to) = to {
            let moved = src
                .code
                .map(from + u64::from(begin))
                .zip(src.code.map(from + u64::from(end)))
                .filter(|(b, e)| b <= e && *b >= to);
            kept |= moved.is_some();
            let (b, e) = match moved {
                Some((b, e)) => ((b - to) as u32, (e - to) as u32),
                None => {
                    let t = PAIR_TOMBSTONE.wrapping_sub(to as u32);
                    (t, t)
                }
            };
            set_u32(out, at, b)?;
            set_u32(out, at + 4, e)?;
        }
        if list.location {
            let n = input
                .get(pos..pos + 2)
                .map(|b| usize::from(b[0]) | usize::from(b[1]) << 8);
            let Some(n) = n else {
                return decline("truncated location list");
            };
            relocate_expression(input, out, base, pos + 2..pos + 2 + n, src.globals)?;
            pos += 2 + n;
        }
    }
}

/// Appends the line program at `at` in `input`: its header as it was,
/// then its live sequences (none, unless `live`).
fn relocate_program(
    input: &[u8],
    at: usize,
    code: Code<'_>,
    live: bool,
    out: &mut Vec<u8>,
) -> Result<(), Decline> {
    let program = read::DebugLine::new(input, LittleEndian).program(
        gimli::DebugLineOffset(at),
        4,
        None,
        None,
    )?;
    let header = program.header();
    if !(2..=4).contains(&header.version())
        || header.format() != gimli::Format::Dwarf32
        || header.minimum_instruction_length() != 1
        || header.maximum_operations_per_instruction() != 1
        || header.line_range() == 0
    {
        return decline("a line program this path does not relocate");
    }
    let ops = header.raw_program_buf();
    let start = ops.offset_from(read::EndianSlice::new(input, LittleEndian));
    let Some(head) = input.get(at..start) else {
        return decline("line program header");
    };
    let written = out.len();
    out.extend_from_slice(head);
    let codes = Opcodes {
        base: header.opcode_base(),
        range: header.line_range(),
        lengths: header.standard_opcode_lengths().slice(),
    };
    if live {
        sequences(code, ops.slice(), &codes, out)?;
    }
    let length = offset(out.len() - written - 4)?;
    Ok(set_u32(out, written, length)?)
}

/// Appends the live sequences of `ops` to `out`. Advances of the
/// address are summed and written just before the next row, as the
/// distance the moved instructions now lie apart (between rows, the
/// address may point into an instruction, where nothing maps).
fn sequences(
    code: Code<'_>,
    ops: &[u8],
    codes: &Opcodes<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Decline> {
    let mut seq = Sequence::new(out.len());
    let mut pos = 0;
    while pos < ops.len() {
        if !seq.live {
            // Most sequences describe dropped code: find their end without
            // looking at their rows.
            pos = skip_sequence(ops, pos, codes)?;
            out.truncate(seq.start);
            seq = Sequence::new(out.len());
            continue;
        }
        let at = pos;
        let op = ops[pos];
        pos += 1;
        if op >= codes.base {
            // A special opcode: an advance, then a row.
            let adjusted = op - codes.base;
            let advance = u64::from(adjusted / codes.range);
            let unmoved = codes.base + adjusted % codes.range;
            seq.row(code, advance, out, |out, moved| {
                if moved == advance {
                    out.push(op);
                } else {
                    advance_pc(out, moved);
                    out.push(unmoved);
                }
            });
            continue;
        }
        match dw::DwLns(op) {
            dw::DwLns(0) => {
                let n = leb(ops, &mut pos)? as usize;
                let body = pos..pos + n;
                pos = body.end;
                match (ops.get(body.start).copied().map(dw::DwLne), n) {
                    (Some(dw::DW_LNE_end_sequence), _) => {
                        let end = &ops[at..pos.min(ops.len())];
                        seq.row(code, 0, out, |out, moved| {
                            if moved > 0 {
                                advance_pc(out, moved);
                            }
                            out.extend_from_slice(end);
                        });
                        if !seq.live {
                            out.truncate(seq.start);
                        }
                        seq = Sequence::new(out.len());
                    }
                    (Some(dw::DW_LNE_set_address), 5) => {
                        let a = u64::from(get_u32(ops, body.start + 1)?);
                        seq.set(code, a, out);
                    }
                    (Some(dw::DW_LNE_set_address), _) => {
                        return decline("a set_address of another width");
                    }
                    (None, _) => return decline("an empty extended opcode"),
                    _ => seq.copy(&ops[at..pos.min(ops.len())], out),
                }
            }
            dw::DW_LNS_copy => seq.row(code, 0, out, |out, moved| {
                if moved > 0 {
                    advance_pc(out, moved);
                }
                out.push(op);
            }),
            dw::DW_LNS_advance_pc => seq.from += leb(ops, &mut pos)?,
            dw::DW_LNS_const_add_pc => seq.from += u64::from((255 - codes.base) / codes.range),
            dw::DW_LNS_fixed_advance_pc => {
                let Some(b) = ops.get(pos..pos + 2) else {
                    return decline("truncated line program");
                };
                seq.from += u64::from(u16::from_le_bytes([b[0], b[1]]));
                pos += 2;
            }
            _ => {
                // Kept as it is.
                operands(ops, &mut pos, op, codes)?;
                seq.copy(&ops[at..pos.min(ops.len())], out);
            }
        }
    }
    if pos > ops.len() {
        return decline("truncated line program");
    }
    // A sequence the program never ended describes nothing.
    out.truncate(seq.start);
    Ok(())
}

/// The position after the `DW_LNE_end_sequence` of the sequence `pos`
/// is in (or the end of `ops`).
fn skip_sequence(ops: &[u8], mut pos: usize, codes: &Opcodes<'_>) -> Result<usize, Decline> {
    while let Some(&op) = ops.get(pos) {
        pos += 1;
        if op >= codes.base {
            continue;
        }
        match dw::DwLns(op) {
            dw::DwLns(0) => {
                let n = leb(ops, &mut pos)? as usize;
                let sub = ops.get(pos).copied();
                pos += n;
                if sub == Some(dw::DW_LNE_end_sequence.0) {
                    break;
                }
            }
            _ => operands(ops, &mut pos, op, codes)?,
        }
    }
    if pos > ops.len() {
        return decline("truncated line program");
    }
    Ok(pos)
}

/// Steps over the operands of the standard opcode `op` (not 0):
/// `DW_LNS_fixed_advance_pc`'s two bytes, else LEB128 numbers, as many as
/// the header says.
fn operands(ops: &[u8], pos: &mut usize, op: u8, codes: &Opcodes<'_>) -> Result<(), Malformed> {
    if dw::DwLns(op) == dw::DW_LNS_fixed_advance_pc {
        *pos += 2;
        return Ok(());
    }
    let count = codes.lengths.get(usize::from(op) - 1).copied().unwrap_or(0);
    for _ in 0..count {
        skip_leb(ops, pos)?;
    }
    Ok(())
}

/// A line program header's opcode parameters.
struct Opcodes<'a> {
    base: u8,
    range: u8,
    lengths: &'a [u8],
}

/// Writes `DW_LNS_advance_pc` by `n`.
fn advance_pc(out: &mut Vec<u8>, n: u64) {
    out.push(dw::DW_LNS_advance_pc.0);
    // Writing into a vector cannot fail.
    let _ = gimli::leb128::write::unsigned(out, n);
}

/// The sequence a line program walk is in.
struct Sequence {
    /// Where its bytes start in the output.
    start: usize,
    /// Its address register in the input.
    from: u64,
    /// The address of its last row in the output (or of its
    /// `DW_LNE_set_address`).
    to: u64,
    /// Whether every row so far maps: otherwise the sequence describes
    /// dropped code, and is left out.
    live: bool,
}

impl Sequence {
    fn new(start: usize) -> Self {
        Sequence {
            start,
            from: 0,
            to: 0,
            live: true,
        }
    }

    fn copy(&self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.live {
            out.extend_from_slice(bytes);
        }
    }

    /// `DW_LNE_set_address`.
    fn set(&mut self, code: Code<'_>, address: u64, out: &mut Vec<u8>) {
        self.from = address;
        if !self.live {
            return;
        }
        match code.map(address) {
            Some(to) => {
                self.to = to;
                out.extend_from_slice(&[0, 5, dw::DW_LNE_set_address.0]);
                out.extend_from_slice(&(to as u32).to_le_bytes());
            }
            None => self.live = false,
        }
    }

    /// A row after an advance of `n`: `write` writes the row's
    /// instructions, given how far the output address advances since the
    /// last row.
    fn row(
        &mut self,
        code: Code<'_>,
        n: u64,
        out: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>, u64),
    ) {
        self.from += n;
        if !self.live {
            return;
        }
        match code
            .map(self.from)
            .and_then(|to| Some((to, to.checked_sub(self.to)?)))
        {
            Some((to, moved)) => {
                write(out, moved);
                self.to = to;
            }
            None => self.live = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::write::{self, Address, AttributeValue, LineProgram, LineString};

    /// A test's failure to read or write what it checks.
    type Checked<T = ()> = Result<T, Box<dyn std::error::Error>>;

    const V4: gimli::Encoding = gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 4,
        address_size: 4,
    };

    /// A module's DWARF as a compiler writes it: one unit `name` with a
    /// function whose body is at 10..30 (instructions at 11 and 19), and
    /// a line row at each of them.
    fn module(name: &str) -> Checked<Vec<(&'static str, Vec<u8>)>> {
        module_spanning(name, None)
    }

    /// The same, the unit's root giving its code as `low..high`.
    fn module_spanning(
        name: &str,
        root_span: Option<(u64, u64)>,
    ) -> Checked<Vec<(&'static str, Vec<u8>)>> {
        let mut dwarf = write::Dwarf::new();
        let file = LineString::String(b"lib.rs".to_vec());
        let mut lines = LineProgram::new(
            V4,
            gimli::LineEncoding::default(),
            LineString::String(b"/src".to_vec()),
            None,
            file.clone(),
            None,
        );
        let dir = lines.default_directory();
        let file = lines.add_file(file, dir, None);
        lines.begin_sequence(Some(Address::Constant(10)));
        for (offset, line) in [(1, 7), (9, 8)] {
            let row = lines.row();
            row.file = file;
            row.line = line;
            row.address_offset = offset;
            lines.generate_row();
        }
        lines.end_sequence(20);
        let id = dwarf.units.add(write::Unit::new(V4, lines));
        let unit = dwarf.units.get_mut(id);
        let root = unit.root();
        let name = dwarf.strings.add(name);
        unit.get_mut(root)
            .set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        if let Some((low, high)) = root_span {
            let root = unit.get_mut(root);
            root.set(
                gimli::DW_AT_low_pc,
                AttributeValue::Address(Address::Constant(low)),
            );
            root.set(gimli::DW_AT_high_pc, AttributeValue::Udata(high - low));
        }
        let f = unit.add(root, gimli::DW_TAG_subprogram);
        let f = unit.get_mut(f);
        f.set(
            gimli::DW_AT_low_pc,
            AttributeValue::Address(Address::Constant(10)),
        );
        f.set(gimli::DW_AT_high_pc, AttributeValue::Udata(20));
        let mut sections = write::Sections::new(write::EndianVec::new(LittleEndian));
        dwarf.write(&mut sections)?;
        Ok(super::super::taken(&mut sections))
    }

    fn borrow<'m>(m: &'m [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'m [u8])> {
        m.iter().map(|(n, d)| (*n, d.as_slice())).collect()
    }

    /// Where the body moved: to `at`, its call at 13 re-encoded 4 bytes
    /// shorter, so the instruction at 19 moves to `at` + 5.
    fn moved(at: u32) -> CodeMap {
        let mut map = CodeMap::default();
        map.push(10..30, at..at + 15, &[(1, 1), (3, 3), (9, 5)]);
        map
    }

    /// The custom sections `carry` wrote, by name.
    fn sections(buf: &[u8]) -> Checked<Vec<(String, Vec<u8>)>> {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend_from_slice(buf);
        let mut out = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(&module) {
            if let wasmparser::Payload::CustomSection(c) = p? {
                out.push((c.name().to_string(), c.data().to_vec()));
            }
        }
        Ok(out)
    }

    /// Two modules' DWARF as inputs, their code moved to 100 and to 200.
    fn two<'m>(
        a: &'m [(&'static str, &'m [u8])],
        b: &'m [(&'static str, &'m [u8])],
    ) -> [DebugInput<'m>; 2] {
        [(a, "a", 100), (b, "b", 200)].map(|(sections, path, at)| DebugInput {
            path,
            sections,
            map: moved(at),
            globals: &[],
        })
    }

    #[test]
    fn two_modules_are_relocated_after_one_another() -> Checked {
        let (a, b) = (module("a")?, module("bee")?);
        let (a, b) = (borrow(&a), borrow(&b));
        let inputs = two(&a, &b);
        let mut buf = Vec::new();
        let carried = carry(&mut buf, &inputs, &[], 2).map_err(|d| d.0)?;
        assert_eq!(carried.units, 2);
        assert_eq!(carried.bytes, buf.len() as u64);
        let seen = units(&buf)?;
        let expected = |name: &str, at: u64| {
            (
                Some(name.to_string()),
                Some((Some(at + 2), Some(15))),
                vec![(at + 3, 7), (at + 7, 8), (at + 17, 8)],
            )
        };
        assert_eq!(seen[0], expected("a", 100));
        assert_eq!(seen[1], expected("bee", 200));
        assert_eq!(seen[2].0.as_deref(), Some("solder-generated"));
        assert_eq!(seen.len(), 3);
        Ok(())
    }

    /// Each unit `carry` wrote: its name, its function's low and high
    /// address, and its line rows (address, line).
    type Unit = (
        Option<String>,
        Option<(Option<u64>, Option<u64>)>,
        Vec<(u64, u64)>,
    );

    fn units(buf: &[u8]) -> Checked<Vec<Unit>> {
        let sections = sections(buf)?;
        let section =
            |id: gimli::SectionId| -> Result<read::EndianSlice<'_, LittleEndian>, gimli::Error> {
                let data = sections
                    .iter()
                    .find(|(n, _)| n == id.name())
                    .map_or(&[][..], |(_, d)| d);
                Ok(read::EndianSlice::new(data, LittleEndian))
            };
        let dwarf = read::Dwarf::load(section)?;
        let mut seen = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next()? {
            let unit = dwarf.unit(header)?;
            let name = unit.name.map(|n| n.to_string_lossy().into_owned());
            let mut entries = unit.entries();
            let mut span = None;
            while let Some(e) = entries.next_dfs()? {
                if e.tag() == gimli::DW_TAG_subprogram {
                    let low = match e.attr_value(gimli::DW_AT_low_pc) {
                        Some(read::AttributeValue::Addr(a)) => Some(a),
                        _ => None,
                    };
                    let high = e
                        .attr_value(gimli::DW_AT_high_pc)
                        .and_then(|v| v.udata_value());
                    span = Some((low, high));
                }
            }
            let mut rows = Vec::new();
            if let Some(program) = unit.line_program.clone() {
                let mut r = program.rows();
                while let Some((_, row)) = r.next_row()? {
                    rows.push((row.address(), row.line().map_or(0, |l| l.get())));
                }
            }
            seen.push((name, span, rows));
        }
        Ok(seen)
    }

    #[test]
    fn a_unit_whose_code_was_dropped_keeps_its_line_header_alone() -> Checked {
        // Unit `a` says its code is at 10..30, which moved; unit `gone`
        // says 40..50, which was dropped, though its line rows (at 10..30,
        // as a stale program might have them) would map.
        let (a, gone) = (
            module_spanning("a", Some((10, 30)))?,
            module_spanning("gone", Some((40, 50)))?,
        );
        let (a, gone) = (borrow(&a), borrow(&gone));
        let inputs = two(&a, &gone);
        let mut buf = Vec::new();
        carry(&mut buf, &inputs, &[], 2).map_err(|d| d.0)?;
        let seen = units(&buf)?;
        assert_eq!(seen[0].2, vec![(103, 7), (107, 8), (117, 8)]);
        assert_eq!(seen[1].0.as_deref(), Some("gone"));
        assert_eq!(seen[1].2, vec![]);
        Ok(())
    }

    #[test]
    fn dwarf_5_is_declined_with_the_section_that_needs_it() -> Checked {
        let sections = [
            (".debug_info", &[0u8; 4][..]),
            (".debug_str_offsets", &[0u8; 8][..]),
        ];
        let inputs = [DebugInput {
            path: "m",
            sections: &sections,
            map: moved(100),
            globals: &[],
        }];
        let Err(Decline(why)) = carry(&mut Vec::new(), &inputs, &[], 2) else {
            return Err("relocated what it cannot".into());
        };
        assert!(why.contains(".debug_str_offsets"), "{why}");
        Ok(())
    }
}
