//! DWARF through fusion, on the Rust fixtures `scalars-app`, `scalars-mid`
//! and `scalars-lib` built with debugging information and composed in a
//! chain:
//!
//! - `llvm-dwarfdump --verify` accepts the fused core module's DWARF, which
//!   keeps every input's compile units and adds one for the generated
//!   functions;
//! - every source file of the inputs' line tables is in the fused one's;
//! - each function's address-to-line mapping is the original's, instruction
//!   by instruction, at the function's new place;
//! - a trap's backtrace under wasmtime shows the same files and lines fused
//!   as composed;
//! - a frame base kept in a global names that module's own global in the
//!   fused module;
//! - the same holds for units of DWARF 5;
//! - `strip_debug` leaves no `.debug_*` section, nor does an input without
//!   DWARF; the outputs validate and the fuser component gives the same
//!   bytes as the library.

use anyhow::{Context, Result, bail, ensure};
use gimli::{EndianSlice, LittleEndian};
use host_tests::{compose, fuser, guests};
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::OnceLock;

type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// The three debug-built components, in chain order.
const CHAIN: [&str; 3] = ["scalars-app", "scalars_mid", "scalars_lib"];

/// The debug-built components and their composition, made once.
struct Inputs {
    components: Vec<Vec<u8>>,
    composed: Vec<u8>,
}

/// The components built with DWARF 4 (rustc's default for WebAssembly).
fn inputs() -> Result<&'static Inputs> {
    static INPUTS: OnceLock<std::result::Result<Inputs, String>> = OnceLock::new();
    inputs_of(&INPUTS, 4)
}

/// The components built with DWARF 5 for their own code (the standard
/// library's units stay DWARF 4).
fn inputs_5() -> Result<&'static Inputs> {
    static INPUTS: OnceLock<std::result::Result<Inputs, String>> = OnceLock::new();
    inputs_of(&INPUTS, 5)
}

fn inputs_of(
    once: &'static OnceLock<std::result::Result<Inputs, String>>,
    version: u32,
) -> Result<&'static Inputs> {
    let made = once.get_or_init(|| {
        let make = || -> Result<Inputs> {
            let dir = guests::debug_fixtures(version)?;
            let components = CHAIN
                .iter()
                .map(|n| Ok(std::fs::read(dir.join(format!("{n}.wasm")))?))
                .collect::<Result<Vec<_>>>()?;
            let parts: Vec<(&str, Vec<u8>)> =
                CHAIN.iter().copied().zip(components.clone()).collect();
            let composed = compose::chain(&parts, "solder:fixtures/scalars")?;
            Ok(Inputs {
                components,
                composed,
            })
        };
        make().map_err(|e| format!("{e:#}"))
    });
    made.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

fn fuse(bytes: &[u8], output: solder::OutputKind, strip_debug: bool) -> Result<solder::Fused> {
    Ok(solder::fuse(
        &[bytes],
        &solder::Options {
            output,
            strip_debug,
            ..solder::Options::default()
        },
    )?)
}

/// The core modules in `bytes` (a module, or a component at any depth).
fn modules(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Ok(vec![bytes]);
    }
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ModuleSection {
            unchecked_range, ..
        } = payload?
        {
            out.push(&bytes[unchecked_range.start as usize..unchecked_range.end as usize]);
        }
    }
    Ok(out)
}

/// A core module's custom sections, by name.
fn custom_sections(module: &[u8]) -> Result<Vec<(&str, &[u8])>> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CustomSection(c) = payload? {
            out.push((c.name(), c.data()));
        }
    }
    Ok(out)
}

fn debug_sections(bytes: &[u8]) -> Result<usize> {
    let mut n = 0;
    for m in modules(bytes)? {
        n += custom_sections(m)?
            .iter()
            .filter(|(name, _)| name.starts_with(".debug_"))
            .count();
    }
    Ok(n)
}

/// A core module's functions (defined ones, in order), for comparing code
/// and lines.
struct Module<'a> {
    /// Offset of the code section's contents: DWARF's code addresses
    /// count from it.
    code_start: u64,
    /// Each defined function's name and body.
    bodies: Vec<(String, wasmparser::FunctionBody<'a>)>,
    sections: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Module<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self> {
        let mut code_start = 0;
        let mut imported = 0;
        let mut bodies = Vec::new();
        let mut names = HashMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload? {
                wasmparser::Payload::ImportSection(s) => {
                    for i in s.into_imports() {
                        if matches!(i?.ty, wasmparser::TypeRef::Func(_)) {
                            imported += 1;
                        }
                    }
                }
                wasmparser::Payload::CodeSectionStart { range, .. } => code_start = range.start,
                wasmparser::Payload::CodeSectionEntry(body) => bodies.push(body),
                wasmparser::Payload::CustomSection(c) if c.name() == "name" => {
                    let reader = wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(
                        c.data(),
                        c.data_offset(),
                    ));
                    for sub in reader {
                        if let wasmparser::Name::Function(map) = sub? {
                            for n in map {
                                let n = n?;
                                names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let bodies = (imported..)
            .zip(bodies)
            .map(|(i, b)| (names.remove(&i).unwrap_or_default(), b))
            .collect();
        Ok(Module {
            code_start,
            bodies,
            sections: custom_sections(bytes)?,
        })
    }

    fn dwarf(&self) -> Result<gimli::Dwarf<Reader<'a>>> {
        let sections = self.sections.clone();
        Ok(gimli::Dwarf::load(
            |id| -> std::result::Result<Reader<'a>, gimli::Error> {
                let data = sections
                    .iter()
                    .find(|(n, _)| *n == id.name())
                    .map_or(&[][..], |(_, d)| *d);
                Ok(EndianSlice::new(data, LittleEndian))
            },
        )?)
    }

    /// A body's DWARF address range.
    fn range(&self, body: &wasmparser::FunctionBody<'_>) -> Range<u64> {
        let r = body.range();
        r.start - self.code_start..r.end - self.code_start
    }
}

/// One row of a line table, as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    file: String,
    line: u64,
    column: u64,
}

/// A sequence of a line table: its address range and its rows.
type Sequence = (Range<u64>, Vec<(u64, Line)>);

/// A module's line table: each sequence's range and rows.
struct Lines {
    sequences: Vec<Sequence>,
    units: usize,
    unit_names: Vec<String>,
    /// Units of DWARF 5.
    version_5: usize,
}

impl Lines {
    fn new(dwarf: &gimli::Dwarf<Reader<'_>>) -> Result<Self> {
        let mut sequences = Vec::new();
        let mut units = 0;
        let mut unit_names = Vec::new();
        let mut version_5 = 0;
        let mut headers = dwarf.units();
        while let Some(header) = headers.next()? {
            version_5 += usize::from(header.version() == 5);
            let unit = dwarf.unit(header)?;
            units += 1;
            if let Some(name) = &unit.name {
                unit_names.push(name.to_string_lossy().into_owned());
            }
            let Some(program) = unit.line_program.clone() else {
                continue;
            };
            let mut rows = program.rows();
            let mut current = Vec::new();
            while let Some((header, row)) = rows.next_row()? {
                if row.end_sequence() {
                    if let Some((start, _)) = current.first() {
                        sequences.push((*start..row.address(), std::mem::take(&mut current)));
                    }
                    continue;
                }
                let file = match row.file(header) {
                    Some(f) => {
                        let mut path = String::new();
                        if let Some(dir) = f.directory(header) {
                            path.push_str(&dwarf.attr_string(&unit, dir)?.to_string_lossy());
                            path.push('/');
                        }
                        path.push_str(&dwarf.attr_string(&unit, f.path_name())?.to_string_lossy());
                        path
                    }
                    None => String::new(),
                };
                let line = Line {
                    file,
                    line: row.line().map_or(0, |l| l.get()),
                    column: match row.column() {
                        gimli::ColumnType::LeftEdge => 0,
                        gimli::ColumnType::Column(c) => c.get(),
                    },
                };
                current.push((row.address(), line));
            }
        }
        sequences.sort_by_key(|(r, _)| r.start);
        Ok(Lines {
            sequences,
            units,
            unit_names,
            version_5,
        })
    }

    /// Only the sequences that describe `m`'s code: every row at the start
    /// of a body or an instruction, and the end at the start of an
    /// instruction or the end of a body. (A linker may leave sequences of
    /// code it dropped or merged pointing into other code.)
    fn describing(mut self, m: &Module<'_>) -> Result<Self> {
        let mut starts = std::collections::HashSet::new();
        let mut ends = std::collections::HashSet::new();
        for (_, body) in &m.bodies {
            let range = m.range(body);
            starts.insert(range.start);
            ends.insert(range.end);
            for at in instructions(m, body)? {
                starts.insert(at);
                ends.insert(at);
            }
        }
        self.sequences.retain(|(range, rows)| {
            ends.contains(&range.end) && rows.iter().all(|(a, _)| starts.contains(a))
        });
        Ok(self)
    }

    /// The row that covers `address`.
    fn at(&self, address: u64) -> Option<&Line> {
        let k = self.sequences.partition_point(|(r, _)| r.start <= address);
        let (range, rows) = self.sequences.get(k.checked_sub(1)?)?;
        if !range.contains(&address) {
            return None;
        }
        let p = rows.partition_point(|(a, _)| *a <= address);
        Some(&rows.get(p.checked_sub(1)?)?.1)
    }

    /// The files of the rows within `code`.
    fn files_within(&self, code: &[Range<u64>]) -> BTreeSet<String> {
        let inside = |a: u64| {
            let k = code.partition_point(|r| r.start <= a);
            k > 0 && code[k - 1].contains(&a)
        };
        self.sequences
            .iter()
            .flat_map(|(_, rows)| rows)
            .filter(|(a, _)| inside(*a))
            .map(|(_, l)| l.file.clone())
            .collect()
    }
}

/// The module of each debug-built component that carries its DWARF.
fn input_modules(inputs: &Inputs) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in &inputs.components {
        let with_dwarf: Vec<&[u8]> = modules(c)?
            .into_iter()
            .filter(|m| {
                custom_sections(m).is_ok_and(|s| s.iter().any(|(n, _)| *n == ".debug_info"))
            })
            .collect();
        ensure!(with_dwarf.len() == 1, "one module with DWARF per component");
        out.extend(with_dwarf);
    }
    Ok(out)
}

#[test]
fn dwarfdump_verifies_the_fused_modules_dwarf() -> Result<()> {
    verify(inputs()?)
}

/// Every input unit is in the fused module with one for the generated
/// functions, and `llvm-dwarfdump --verify` accepts it.
fn verify(inputs: &Inputs) -> Result<()> {
    let fused = fuse(&inputs.composed, solder::OutputKind::CoreModule, false)?;
    let module = Module::new(&fused.bytes)?;
    let lines = Lines::new(&module.dwarf()?)?;
    let mut units = 0;
    for m in input_modules(inputs)? {
        units += Lines::new(&Module::new(m)?.dwarf()?)?.units;
    }
    // Every input unit, and the generated functions' one.
    ensure!(units > 100, "the inputs have {units} compile units");
    assert_eq!(fused.report.debug_info.compile_units as usize, units);
    assert_eq!(lines.units, units + 1);
    assert!(
        fused.report.debug_info.warnings.is_empty(),
        "{:?}",
        fused.report.debug_info
    );
    assert!(
        lines.unit_names.iter().any(|n| n == "solder-generated"),
        "the generated functions' unit"
    );
    // A directory of its own: the tests of each DWARF version run at once.
    let dir = std::env::temp_dir().join(format!(
        "solder-dwarf-{}-{}",
        std::process::id(),
        lines.version_5
    ));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("fused.core.wasm");
    std::fs::write(&path, &fused.bytes)?;
    let tool = "llvm-dwarfdump";
    match std::process::Command::new(tool)
        .arg("--verify")
        .arg(&path)
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("No errors."),
                "llvm-dwarfdump --verify: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "\n\n*** SKIPPED: {tool} is not installed, so the fused DWARF was NOT verified by LLVM (.ci/test installs Debian's `llvm`) ***\n"
            );
        }
        Err(e) => return Err(e).context(tool),
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The globals each unit's frame bases name (`DW_OP_WASM_location` of a
/// global: most often the stack pointer), unit by unit.
fn frame_globals(dwarf: &gimli::Dwarf<Reader<'_>>) -> Result<Vec<BTreeSet<u32>>> {
    let mut units = Vec::new();
    let mut headers = dwarf.units();
    while let Some(header) = headers.next()? {
        let unit = dwarf.unit(header)?;
        let mut globals = BTreeSet::new();
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs()? {
            if let Some(gimli::AttributeValue::Exprloc(expr)) =
                entry.attr_value(gimli::DW_AT_frame_base)
            {
                let mut ops = expr.operations(unit.encoding());
                while let Some(op) = ops.next()? {
                    if let gimli::Operation::WasmGlobal { index } = op {
                        globals.insert(index);
                    }
                }
            }
        }
        units.push(globals);
    }
    Ok(units)
}

/// A core module's globals: mutable or not, and the constant each starts
/// at.
fn globals(module: &[u8]) -> Result<Vec<(bool, Option<i64>)>> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload? {
            wasmparser::Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    if let wasmparser::TypeRef::Global(g) = import?.ty {
                        out.push((g.mutable, None));
                    }
                }
            }
            wasmparser::Payload::GlobalSection(s) => {
                for g in s {
                    let g = g?;
                    let init = match g.init_expr.get_operators_reader().read()? {
                        wasmparser::Operator::I32Const { value } => Some(i64::from(value)),
                        wasmparser::Operator::I64Const { value } => Some(value),
                        _ => None,
                    };
                    out.push((g.ty.mutable, init));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A frame base kept in a global (the stack pointer) names, in the fused
/// module, that module's own copy of the global: each input's units name
/// one of their own, never another input's, and it is mutable and starts
/// at the value the input's did.
#[test]
fn frame_bases_name_each_modules_own_global() -> Result<()> {
    let inputs = inputs()?;
    let fused = fuse(&inputs.composed, solder::OutputKind::CoreModule, false)?;
    let fused_module = Module::new(&fused.bytes)?;
    let fused_units = frame_globals(&fused_module.dwarf()?)?;
    let fused_globals = globals(&fused.bytes)?;
    let mut fused_units = fused_units.iter();
    let mut named_by: HashMap<u32, usize> = HashMap::new();
    let mut checked = 0;
    // The fused module's units come in the order of its instances, which
    // is the order of the modules' code in it.
    let mut modules = input_modules(inputs)?;
    let mut places = HashMap::new();
    for m in &modules {
        places.insert(m.as_ptr(), place(&Module::new(m)?, &fused_module)?);
    }
    modules.sort_by_key(|m| places[&m.as_ptr()]);
    for (k, m) in modules.into_iter().enumerate() {
        let input_globals = globals(m)?;
        for input in frame_globals(&Module::new(m)?.dwarf()?)? {
            let fused = fused_units
                .next()
                .context("a fused unit for every input unit")?;
            assert_eq!(
                input.len(),
                fused.len(),
                "module {k}: {input:?} became {fused:?}"
            );
            for (i, f) in input.iter().zip(fused) {
                let was = input_globals.get(*i as usize).context("an input global")?;
                let is = fused_globals.get(*f as usize).context("a fused global")?;
                assert_eq!(was, is, "module {k}: global {i} became {f}");
                let first = *named_by.entry(*f).or_insert(k);
                assert_eq!(first, k, "global {f} is named by modules {first} and {k}");
                checked += 1;
            }
        }
    }
    ensure!(checked > 100, "only {checked} frame bases name a global");
    assert!(
        named_by.values().collect::<BTreeSet<_>>().len() == 3,
        "every module names its own: {named_by:?}"
    );
    Ok(())
}

#[test]
fn every_source_file_is_in_the_fused_line_table() -> Result<()> {
    let inputs = inputs()?;
    let fused = fuse(&inputs.composed, solder::OutputKind::CoreModule, false)?;
    let out = Module::new(&fused.bytes)?;
    let everywhere = 0..u64::MAX;
    let out_files = Lines::new(&out.dwarf()?)?.files_within(std::slice::from_ref(&everywhere));
    let mut fixtures = 0;
    for m in input_modules(inputs)? {
        let m = Module::new(m)?;
        let code: Vec<Range<u64>> = m.bodies.iter().map(|(_, b)| m.range(b)).collect();
        let files = Lines::new(&m.dwarf()?)?.files_within(&code);
        ensure!(files.len() > 10, "the input's line table names its files");
        let missing: Vec<_> = files.difference(&out_files).collect();
        assert!(
            missing.is_empty(),
            "missing from the fused line table: {missing:?}"
        );
        fixtures += files
            .iter()
            .filter(|f| f.contains("scalars-") && f.ends_with(".rs"))
            .count();
    }
    assert!(fixtures >= 3, "each fixture's own source is there");
    Ok(())
}

/// Where the input module's functions are among the fused module's: the
/// one place where the same names come in the same order.
fn place(input: &Module<'_>, fused: &Module<'_>) -> Result<usize> {
    let names: Vec<&str> = input.bodies.iter().map(|(n, _)| n.as_str()).collect();
    let fused_names: Vec<&str> = fused.bodies.iter().map(|(n, _)| n.as_str()).collect();
    let places: Vec<usize> = fused_names
        .windows(names.len())
        .enumerate()
        .filter(|(_, w)| *w == names.as_slice())
        .map(|(i, _)| i)
        .collect();
    match places.as_slice() {
        [one] => Ok(*one),
        other => bail!("the module's functions are at {other:?} in the fused module"),
    }
}

/// The address of each instruction of a body, as a DWARF address.
fn instructions(m: &Module<'_>, body: &wasmparser::FunctionBody<'_>) -> Result<Vec<u64>> {
    let mut ops = body.get_operators_reader()?;
    let mut at = Vec::new();
    while !ops.eof() {
        at.push(ops.original_position() - m.code_start);
        ops.read()?;
    }
    Ok(at)
}

#[test]
fn every_instruction_keeps_its_line() -> Result<()> {
    let (functions, rows, moved) = lines_kept(inputs()?)?;
    assert!(functions > 300, "{functions} functions with lines checked");
    assert!(rows > 10_000, "{rows} instructions checked");
    assert!(moved > 100, "{moved} bodies whose instructions moved apart");
    Ok(())
}

#[test]
fn dwarf_5_is_carried_alike() -> Result<()> {
    let inputs = inputs_5()?;
    verify(inputs)?;
    let (functions, rows, _) = lines_kept(inputs)?;
    assert!(functions > 300 && rows > 10_000, "{functions}, {rows}");
    let fused = fuse(&inputs.composed, solder::OutputKind::CoreModule, false)?;
    let lines = Lines::new(&Module::new(&fused.bytes)?.dwarf()?)?;
    assert!(lines.version_5 >= 3, "{} units of DWARF 5", lines.version_5);
    Ok(())
}

/// Checks that every instruction of every input function has the same
/// line in the fused module as in its input; returns how many functions
/// with lines and instructions it checked, and how many bodies'
/// instructions moved apart.
fn lines_kept(inputs: &Inputs) -> Result<(usize, usize, usize)> {
    let fused = fuse(&inputs.composed, solder::OutputKind::CoreModule, false)?;
    let out = Module::new(&fused.bytes)?;
    let out_lines = Lines::new(&out.dwarf()?)?;
    let sequences = out_lines.sequences.len();
    // Every sequence of the output describes its code.
    let out_lines = out_lines.describing(&out)?;
    assert_eq!(out_lines.sequences.len(), sequences);
    let (mut functions, mut rows, mut moved) = (0, 0, 0);
    for m in input_modules(inputs)? {
        let m = Module::new(m)?;
        let lines = Lines::new(&m.dwarf()?)?.describing(&m)?;
        let first = place(&m, &out)?;
        for ((name, body), (_, fused_body)) in m.bodies.iter().zip(&out.bodies[first..]) {
            let before = instructions(&m, body)?;
            let after = instructions(&out, fused_body)?;
            assert_eq!(before.len(), after.len(), "{name}: instructions");
            let mut any = false;
            for (a, b) in before.iter().zip(&after) {
                let line = lines.at(*a);
                assert_eq!(
                    line,
                    out_lines.at(*b),
                    "{name}: the line of {a:#x}, now {b:#x}"
                );
                any |= line.is_some();
                rows += usize::from(line.is_some());
            }
            functions += usize::from(any);
            // Re-encoding shortens padded immediates: addresses inside a
            // body move by more than the body's own move.
            let shift = |i: usize| after[i] as i64 - before[i] as i64;
            moved += usize::from((0..before.len()).any(|i| shift(i) != shift(0)));
        }
    }
    Ok((functions, rows, moved))
}

/// The files and lines of a trap's backtrace under wasmtime.
fn trap_lines(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Vec<(String, u32)>> {
    let command = host_tests::run::Command::new(engine, bytes)?;
    let err = command
        .run_error(&["trap"])?
        .context("`run` returned instead of trapping")?;
    let trace = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .context("the trap carries a backtrace")?;
    Ok(trace
        .frames()
        .iter()
        .flat_map(|f| f.symbols())
        .filter_map(|s| Some((s.file()?.to_string(), s.line()?)))
        .collect())
}

#[test]
fn a_traps_backtrace_shows_the_same_files_and_lines() -> Result<()> {
    let inputs = inputs()?;
    let fused = fuse(&inputs.composed, solder::OutputKind::Component, false)?;
    let mut config = wasmtime::Config::new();
    config.wasm_multi_memory(true);
    config.wasm_component_model(true);
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    let engine = wasmtime::Engine::new(&config)?;
    let composed = trap_lines(&engine, &inputs.composed)?;
    let after = trap_lines(&engine, &fused.bytes)?;
    // Composed, wasmtime's trace ends a frame early: it leaves out the
    // command's outermost function (`_start`), which the fused trace
    // shows with its file and line.
    assert!(composed.len() > 20, "{composed:#?}");
    assert_eq!(
        composed,
        after[..composed.len().min(after.len())],
        "the backtrace's files and lines"
    );
    assert!(after.len() <= composed.len() + 1, "{after:#?}");
    // The panic in the callee is among them.
    let source =
        std::fs::read_to_string(host_tests::repo_root().join("fixtures/scalars-lib/src/lib.rs"))?;
    let panic = source
        .lines()
        .position(|l| l.contains("panic!(\"division by zero\")"))
        .context("the fixture panics")?;
    assert!(
        after
            .iter()
            .any(|(f, l)| f.ends_with("scalars-lib/src/lib.rs") && *l as usize == panic + 1),
        "the panic's line in {after:#?}"
    );
    Ok(())
}

#[test]
fn strip_debug_leaves_no_dwarf() -> Result<()> {
    let inputs = inputs()?;
    for output in [
        solder::OutputKind::Component,
        solder::OutputKind::CoreModule,
    ] {
        let carried = fuse(&inputs.composed, output, false)?;
        ensure!(
            debug_sections(&carried.bytes)? >= 5,
            "{output:?}: DWARF carried"
        );
        let stripped = fuse(&inputs.composed, output, true)?;
        assert_eq!(debug_sections(&stripped.bytes)?, 0, "{output:?}");
        assert_eq!(stripped.report.debug_info, solder::DebugInfo::default());
        assert!(stripped.bytes.len() * 4 < carried.bytes.len());
    }
    // Inputs built without DWARF give none, and the report says so.
    let plain = compose::chain(
        &CHAIN
            .iter()
            .map(|n| Ok((*n, host_tests::artifact(&format!("{n}.wasm"))?)))
            .collect::<Result<Vec<_>>>()?,
        "solder:fixtures/scalars",
    )?;
    ensure!(
        debug_sections(&plain)? == 0,
        "the plain fixtures have no DWARF"
    );
    let fused = fuse(&plain, solder::OutputKind::Component, false)?;
    assert_eq!(debug_sections(&fused.bytes)?, 0);
    assert_eq!(fused.report.debug_info, solder::DebugInfo::default());
    Ok(())
}

#[test]
fn the_fuser_component_carries_and_strips_alike() -> Result<()> {
    let inputs = inputs()?;
    for strip_debug in [false, true] {
        let native = fuse(&inputs.composed, solder::OutputKind::Component, strip_debug)?;
        let through = host_tests::shared()
            .fuser
            .fuse(
                std::slice::from_ref(&inputs.composed),
                fuser::Options {
                    output: fuser::OutputKind::Component,
                    validate: true,
                    strip_debug,
                    single_memory: false,
                },
            )?
            .map_err(|e| anyhow::anyhow!("through the component: {e:?}"))?;
        assert!(through.bytes == native.bytes, "strip_debug {strip_debug}");
        assert_eq!(
            through.report.debug_info.compile_units,
            native.report.debug_info.compile_units
        );
        assert_eq!(
            through.report.debug_info.bytes,
            native.report.debug_info.bytes
        );
    }
    Ok(())
}
