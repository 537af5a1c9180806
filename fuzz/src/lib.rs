//! The fuzz targets' bodies, as plain functions: `cargo fuzz` runs them
//! under libFuzzer (`fuzz_targets/`), and the host tests run them with
//! fixed seeds on stable Rust.
//!
//! Every input goes through [`check`], which holds the fuser to three
//! invariants: it never panics, every output it returns validates, and its
//! verdict agrees with wasmparser's on the input — a component wasmparser
//! rejects is `malformed` (or `unresolved`, when an instantiation's
//! arguments do not satisfy its imports) and never fuses; one it accepts
//! fuses, or is declined as `unsupported` or `limit-exceeded`, never
//! reported as malformed.

use arbitrary::{Arbitrary, Result, Unstructured};
use solder::ErrorKind;
use std::sync::OnceLock;
use wasm_encoder::{
    Alias, CanonicalFunctionSection, CodeSection, Component, ComponentAliasSection,
    ComponentExportKind, ComponentExportSection, ComponentImportSection, ComponentInstanceSection,
    ComponentSectionId, ComponentTypeRef, ComponentTypeSection, ExportKind, ExportSection,
    Function, FunctionSection, ImportSection, InstanceSection, Instruction, Module, ModuleArg,
    PrimitiveValType, RawSection, TypeSection, ValType,
};

/// What fusing one input gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Fused; the output validates.
    Fused,
    /// Rejected with an error of this kind.
    Rejected(ErrorKind),
}

/// Whether wasmparser accepts `bytes` as a component.
pub fn is_valid_component(bytes: &[u8]) -> bool {
    wasmparser::Parser::is_component(bytes)
        && wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(bytes)
            .is_ok()
}

/// Fuses `bytes` (as a component and as a core module) and checks the
/// invariants; panics when one does not hold.
pub fn check(bytes: &[u8]) -> Outcome {
    let valid = is_valid_component(bytes);
    let mut outcome = None;
    for output in [
        solder::OutputKind::Component,
        solder::OutputKind::CoreModule,
    ] {
        let options = solder::Options {
            output,
            ..solder::Options::default()
        };
        let this = judge(solder::fuse(&[bytes], &options), valid, false);
        // Both kinds of output share every stage but the last, so they
        // succeed or fail together (with the same kind).
        if let Some(first) = outcome {
            assert_eq!(first, this, "component and core-module output disagree");
        }
        outcome = Some(this);
    }
    // One memory fails as the others do, or declines what one memory
    // cannot hold (`unsupported`), and its output validates without
    // multi-memory.
    let options = solder::Options {
        single_memory: true,
        ..solder::Options::default()
    };
    let result = solder::fuse(&[bytes], &options);
    if let Ok(f) = &result {
        let features = wasmparser::WasmFeatures::all() - wasmparser::WasmFeatures::MULTI_MEMORY;
        if let Err(e) = wasmparser::Validator::new_with_features(features).validate_all(&f.bytes) {
            panic!("a one-memory output needs multi-memory: {e}");
        }
    }
    let one = judge(result, valid, false);
    match outcome {
        Some(Outcome::Fused) => assert!(
            matches!(
                one,
                Outcome::Fused | Outcome::Rejected(ErrorKind::Unsupported)
            ),
            "one memory: {one:?}"
        ),
        other => assert_eq!(other, Some(one), "one memory and several disagree"),
    }
    // `inspect` runs the stages before adapters and output: it succeeds
    // whenever fusing does, and otherwise fails as the validity says.
    match solder::inspect(bytes) {
        Ok(_) => assert!(valid, "an input wasmparser rejects was inspected"),
        Err(e) => {
            assert_ne!(outcome, Some(Outcome::Fused), "inspect failed: {e}");
            let invalid_kind = matches!(e.kind(), ErrorKind::Malformed | ErrorKind::Unresolved);
            assert_eq!(invalid_kind, !valid, "inspect: {e}");
        }
    }
    outcome.unwrap_or(Outcome::Fused)
}

/// The `fuse_bytes` target: arbitrary bytes, as they come.
pub fn fuse_bytes(data: &[u8]) -> Outcome {
    check(data)
}

/// The `fuse_structured` target: the bytes drive a generator of inputs
/// close to valid ones, which are then checked. Returns `None` when the
/// bytes ran out before an input was made.
pub fn fuse_structured(data: &[u8]) -> Option<Outcome> {
    let mut u = Unstructured::new(data);
    let input = structured(&mut u).ok()?;
    let outcome = check(&input.bytes);
    if input.fusable
        && !matches!(
            outcome,
            Outcome::Fused | Outcome::Rejected(ErrorKind::Unsupported | ErrorKind::LimitExceeded)
        )
    {
        let why = solder::fuse(&[&input.bytes], &solder::Options::default()).err();
        panic!("a generated composition did not fuse: {why:?}");
    }
    Some(outcome)
}

/// The `fuse_several` target: two to four inputs wired by interface name,
/// each a fixture (among them the several-inputs ones), a mutated fixture
/// or arbitrary bytes. An invalid input never fuses: the call is
/// `malformed` (or `unresolved`, for an instantiation inside it that
/// wasmparser rejects) with a path naming the input. Valid ones fuse or
/// are rejected for their wiring (`unresolved`), a feature or a limit,
/// never as malformed. Every output validates.
/// Returns `None` when the bytes ran out before the inputs were made.
pub fn fuse_several(data: &[u8]) -> Option<Outcome> {
    let mut u = Unstructured::new(data);
    let inputs = several(&mut u).ok()?;
    let slices: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let all_valid = inputs.iter().all(|i| is_valid_component(i));
    Some(judge(
        solder::fuse(&slices, &solder::Options::default()),
        all_valid,
        true,
    ))
}

/// Holds one `fuse` result to the invariants, given whether wasmparser
/// accepts the input (every input, when there are `several`): an invalid
/// input never fuses and is `malformed` or `unresolved`; a valid one is
/// never `malformed`, and only with several inputs `unresolved` (their
/// wiring); no input is Solder's fault (`internal`); every output
/// validates; errors are one line with a path.
fn judge(result: solder::Result<solder::Fused>, valid: bool, several: bool) -> Outcome {
    match result {
        Ok(fused) => {
            assert!(valid, "an input wasmparser rejects was fused");
            if let Err(e) =
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&fused.bytes)
            {
                panic!("the fused output does not validate: {e}");
            }
            Outcome::Fused
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains('\n'), "errors are one line: {text}");
            assert!(!e.path().is_empty(), "errors name a path: {text}");
            match e.kind() {
                ErrorKind::Internal => panic!("an internal error: {text}"),
                ErrorKind::Malformed => {
                    assert!(!valid, "a valid input was rejected as invalid: {text}")
                }
                ErrorKind::Unresolved => assert!(
                    !valid || several,
                    "a valid input was rejected as invalid: {text}"
                ),
                ErrorKind::Unsupported | ErrorKind::LimitExceeded => {
                    assert!(valid, "an invalid input passed validation: {text}")
                }
            }
            if several && !valid {
                assert!(e.path().starts_with("input["), "names the input: {text}");
            }
            Outcome::Rejected(e.kind())
        }
    }
}

fn several(u: &mut Unstructured<'_>) -> Result<Vec<Vec<u8>>> {
    // Mostly two inputs, and mostly the app first, so that many calls
    // wire and fuse; the rest probe the errors.
    let count = if u.ratio(2, 3)? {
        2
    } else {
        u.int_in_range(3..=4)?
    };
    let mut inputs = Vec::with_capacity(count);
    for i in 0..count {
        let mut input = if i == 0 && u.ratio(1, 2)? {
            several_seeds()[0].clone()
        } else {
            match u.int_in_range(0..=9)? {
                0 => Vec::<u8>::arbitrary(u)?,
                1 | 2 => u.choose(seeds())?.clone(),
                _ => u.choose(several_seeds())?.clone(),
            }
        };
        if u.ratio(1, 6)? {
            mutate(u, &mut input)?;
        }
        inputs.push(input);
    }
    Ok(inputs)
}

/// The several-inputs fixtures: an app, two libraries that export what it
/// imports, and one that exports it with the wrong type.
fn several_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            include_str!("../../fixtures/wat/several/app.wat"),
            include_str!("../../fixtures/wat/several/lib.wat"),
            include_str!("../../fixtures/wat/several/other-lib.wat"),
            include_str!("../../fixtures/wat/several/wrong-type.wat"),
        ]
        .iter()
        .map(|wat| wat::parse_str(wat).expect("the WAT fixtures parse"))
        .collect()
    })
}

/// A generated input, and whether it is valid by construction.
struct Input {
    bytes: Vec<u8>,
    fusable: bool,
}

fn structured(u: &mut Unstructured<'_>) -> Result<Input> {
    let mut input = match u.int_in_range(0..=3)? {
        0 | 1 => Input {
            bytes: composition(u)?,
            fusable: true,
        },
        2 => Input {
            bytes: smith_component(u)?,
            fusable: false,
        },
        _ => Input {
            bytes: u.choose(seeds())?.clone(),
            fusable: true,
        },
    };
    if u.ratio(1, 3)? {
        mutate(u, &mut input.bytes)?;
        input.fusable = false;
    }
    Ok(input)
}

/// The WAT fixtures, as seeds for mutation.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            include_str!("../../fixtures/wat/char-adapter.wat"),
            include_str!("../../fixtures/wat/string-adapter.wat"),
            include_str!("../../fixtures/wat/string-transcode.wat"),
            include_str!("../../fixtures/wat/resource-export.wat"),
            include_str!("../../fixtures/wat/module-import.wat"),
        ]
        .iter()
        .map(|wat| wat::parse_str(wat).expect("the WAT fixtures parse"))
        .collect()
    })
}

/// Changes `bytes` in one to four places: a flipped bit, an overwritten
/// byte, a truncation, a removed range, a repeated range.
pub fn mutate(u: &mut Unstructured<'_>, bytes: &mut Vec<u8>) -> Result<()> {
    for _ in 0..u.int_in_range(1..=4)? {
        if bytes.is_empty() {
            break;
        }
        let at = u.choose_index(bytes.len())?;
        let end = (at + 1 + u.int_in_range(0..=63)?).min(bytes.len());
        match u.int_in_range(0..=4)? {
            0 => bytes[at] ^= 1 << u.int_in_range(0..=7)?,
            1 => bytes[at] = u.arbitrary()?,
            2 => bytes.truncate(at),
            3 => {
                bytes.drain(at..end);
            }
            _ => {
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    Ok(())
}

/// A component as wasm-smith generates it (mostly types, imports and
/// exports: wasm-smith's component support is partial).
fn smith_component(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let config = wasm_smith::Config::arbitrary(u)?;
    Ok(wasm_smith::Component::new(config, u)?.to_bytes())
}

/// A core function a component can lift: numeric parameters and at most
/// one numeric result.
struct Liftable {
    export: String,
    params: Vec<ValType>,
    result: Option<ValType>,
}

/// A composition of two components around a wasm-smith module: `$callee`
/// instantiates the module and lifts some of its exported functions with
/// component types chosen to match their core types; `$caller` lowers
/// them, calls them from its own core module and lifts that again; the
/// root wires the two and exports the caller's functions. Every call from
/// the caller to the callee becomes an adapter in the fused module.
fn composition(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut config = wasm_smith::Config::arbitrary(u)?;
    config.max_imports = 0;
    config.export_everything = true;
    config.allow_invalid_funcs = false;
    let module = wasm_smith::Module::new(config, u)?.to_bytes();
    let funcs = liftable(&module);
    let mut types = Vec::new();
    for f in &funcs {
        let pick = |u: &mut Unstructured<'_>, t: ValType| -> Result<PrimitiveValType> {
            use PrimitiveValType as P;
            Ok(match t {
                ValType::I32 => *u.choose(&[
                    P::Bool,
                    P::S8,
                    P::U8,
                    P::S16,
                    P::U16,
                    P::S32,
                    P::U32,
                    P::Char,
                ])?,
                ValType::I64 => *u.choose(&[P::S64, P::U64])?,
                ValType::F32 => P::F32,
                _ => P::F64,
            })
        };
        let params = f
            .params
            .iter()
            .map(|t| pick(u, *t))
            .collect::<Result<Vec<_>>>()?;
        let result = f.result.map(|t| pick(u, t)).transpose()?;
        types.push((params, result));
    }
    let func_types = || {
        let mut section = ComponentTypeSection::new();
        for (params, result) in &types {
            let names: Vec<String> = (0..params.len()).map(|i| format!("p{i}")).collect();
            let mut f = section.function();
            f.params(
                names
                    .iter()
                    .zip(params)
                    .map(|(n, p)| (n.as_str(), wasm_encoder::ComponentValType::Primitive(*p))),
            );
            f.result(result.map(wasm_encoder::ComponentValType::Primitive));
        }
        section
    };
    let n = funcs.len() as u32;

    // The callee: the module, its instance, one lift per function.
    let mut callee = Component::new();
    callee.section(&RawSection {
        id: ComponentSectionId::CoreModule as u8,
        data: &module,
    });
    let mut instances = InstanceSection::new();
    instances.instantiate(0, Vec::<(&str, ModuleArg)>::new());
    callee.section(&instances);
    callee.section(&func_types());
    let mut aliases = ComponentAliasSection::new();
    for f in &funcs {
        aliases.alias(Alias::CoreInstanceExport {
            instance: 0,
            kind: ExportKind::Func,
            name: &f.export,
        });
    }
    callee.section(&aliases);
    let mut canon = CanonicalFunctionSection::new();
    for i in 0..n {
        canon.lift(i, i, []);
    }
    callee.section(&canon);
    let mut exports = ComponentExportSection::new();
    for i in 0..n {
        exports.export(format!("f{i}"), ComponentExportKind::Func, i, None);
    }
    callee.section(&exports);

    // The caller: imports, lowers, a core module calling them, lifts.
    let mut caller = Component::new();
    caller.section(&func_types());
    let mut imports = ComponentImportSection::new();
    for i in 0..n {
        imports.import(format!("f{i}"), ComponentTypeRef::Func(i));
    }
    caller.section(&imports);
    let mut canon = CanonicalFunctionSection::new();
    for i in 0..n {
        canon.lower(i, []);
    }
    caller.section(&canon);
    let mut instances = InstanceSection::new();
    let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    instances.export_items(
        names
            .iter()
            .zip(0..n)
            .map(|(name, i)| (name.as_str(), ExportKind::Func, i)),
    );
    caller.section(&RawSection {
        id: ComponentSectionId::CoreModule as u8,
        data: &trampolines(&funcs),
    });
    instances.instantiate(0, [("", ModuleArg::Instance(0))]);
    caller.section(&instances);
    let mut aliases = ComponentAliasSection::new();
    for i in 0..n {
        aliases.alias(Alias::CoreInstanceExport {
            instance: 1,
            kind: ExportKind::Func,
            name: &format!("g{i}"),
        });
    }
    caller.section(&aliases);
    let mut canon = CanonicalFunctionSection::new();
    for i in 0..n {
        canon.lift(n + i, i, []);
    }
    caller.section(&canon);
    let mut exports = ComponentExportSection::new();
    for i in 0..n {
        exports.export(format!("g{i}"), ComponentExportKind::Func, n + i, None);
    }
    caller.section(&exports);

    // The root: both components, wired.
    let mut root = Component::new();
    root.section(&wasm_encoder::NestedComponentSection(&callee));
    root.section(&wasm_encoder::NestedComponentSection(&caller));
    let mut instances = ComponentInstanceSection::new();
    instances.instantiate(0, Vec::<(&str, ComponentExportKind, u32)>::new());
    root.section(&instances);
    let mut aliases = ComponentAliasSection::new();
    for i in 0..n {
        aliases.alias(Alias::InstanceExport {
            instance: 0,
            kind: ComponentExportKind::Func,
            name: &format!("f{i}"),
        });
    }
    root.section(&aliases);
    let mut instances = ComponentInstanceSection::new();
    instances.instantiate(
        1,
        names
            .iter()
            .zip(0..n)
            .map(|(name, i)| (name.as_str(), ComponentExportKind::Func, i)),
    );
    root.section(&instances);
    let mut aliases = ComponentAliasSection::new();
    for i in 0..n {
        aliases.alias(Alias::InstanceExport {
            instance: 1,
            kind: ComponentExportKind::Func,
            name: &format!("g{i}"),
        });
    }
    root.section(&aliases);
    let mut exports = ComponentExportSection::new();
    for i in 0..n {
        exports.export(format!("g{i}"), ComponentExportKind::Func, n + i, None);
    }
    root.section(&exports);
    Ok(root.finish())
}

/// Up to eight exported functions of `module` a component can lift.
fn liftable(module: &[u8]) -> Vec<Liftable> {
    let numeric = |t: &wasmparser::ValType| {
        matches!(
            t,
            wasmparser::ValType::I32
                | wasmparser::ValType::I64
                | wasmparser::ValType::F32
                | wasmparser::ValType::F64
        )
    };
    let convert = |t: &wasmparser::ValType| match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        _ => ValType::F64,
    };
    let mut types = Vec::new();
    let mut functions = Vec::new();
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload {
            Ok(wasmparser::Payload::TypeSection(s)) => {
                for group in s.into_iter().flatten() {
                    // Only a plain function type (final, no supertype, alone
                    // in its recursion group) matches a lifted function's.
                    let alone = group.types().len() == 1;
                    for sub in group.into_types() {
                        types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f)
                                if alone && sub.is_final && sub.supertype_idx.is_none() =>
                            {
                                Some(f)
                            }
                            _ => None,
                        });
                    }
                }
            }
            Ok(wasmparser::Payload::FunctionSection(s)) => {
                functions.extend(s.into_iter().flatten())
            }
            Ok(wasmparser::Payload::ExportSection(s)) => {
                for e in s.into_iter().flatten() {
                    if e.kind != wasmparser::ExternalKind::Func || out.len() >= 8 {
                        continue;
                    }
                    let Some(Some(f)) = functions
                        .get(e.index as usize)
                        .and_then(|t| types.get(*t as usize))
                    else {
                        continue;
                    };
                    if f.params().len() <= 16
                        && f.results().len() <= 1
                        && f.params().iter().chain(f.results()).all(numeric)
                    {
                        out.push(Liftable {
                            export: e.name.to_string(),
                            params: f.params().iter().map(convert).collect(),
                            result: f.results().first().map(convert),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The caller's core module: imports `""."f<i>"` and exports `g<i>`,
/// which passes its parameters on and returns the result.
fn trampolines(funcs: &[Liftable]) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let n = funcs.len() as u32;
    for (i, f) in funcs.iter().enumerate() {
        types
            .ty()
            .function(f.params.iter().copied(), f.result.iter().copied());
        imports.import(
            "",
            &format!("f{i}"),
            wasm_encoder::EntityType::Function(i as u32),
        );
    }
    for (i, f) in funcs.iter().enumerate() {
        let i = i as u32;
        functions.function(i);
        exports.export(&format!("g{i}"), ExportKind::Func, n + i);
        let mut body = Function::new([]);
        for p in 0..f.params.len() as u32 {
            body.instruction(&Instruction::LocalGet(p));
        }
        body.instruction(&Instruction::Call(i));
        body.instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}
