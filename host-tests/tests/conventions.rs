//! The fused output follows the ecosystem's conventions, so the usual
//! tools work on it and a build can be audited:
//!
//! - it prints as text (`wasm-tools print` is wasmprinter) and the text
//!   assembles again into a valid binary;
//! - its WIT (`wasm-tools component wit`) is the input's, word for word;
//! - its `producers` sections name Solder and carry every input's;
//! - its `name` sections keep the original function names, so a trap's
//!   backtrace in wasmtime names the same functions fused as composed;
//! - the report names each input by size and SHA-256 and each
//!   cross-component call by the adapter strategy chosen.

use anyhow::{Context, Result, bail};
use host_tests::fuser::{FuserComponent, Options, OutputKind};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};

fn inputs() -> Result<Vec<(String, Vec<u8>)>> {
    let mut inputs = host_tests::fixtures()?;
    inputs.retain(|(name, _)| {
        name != "module-import.wat" && !host_tests::COMPONENT_ONLY.contains(&name.as_str())
    });
    Ok(inputs)
}

fn fuse(input: &[u8], output: solder::OutputKind) -> Result<Vec<u8>> {
    let options = solder::Options {
        output,
        ..Default::default()
    };
    Ok(solder::fuse(&[input], &options)?.bytes)
}

/// The component's WIT, as `wasm-tools component wit` prints it.
fn wit(bytes: &[u8]) -> Result<String> {
    let decoded = wit_parser::decoding::decode(bytes)?;
    let mut printer = wit_component::WitPrinter::default();
    printer.print(decoded.resolve(), decoded.package(), &[])?;
    Ok(printer.output.to_string())
}

#[test]
fn output_prints_as_text_and_keeps_its_wit() -> Result<()> {
    let mut wits = 0;
    for (name, input) in inputs()? {
        for kind in [
            solder::OutputKind::Component,
            solder::OutputKind::CoreModule,
        ] {
            let fused = fuse(&input, kind)?;
            let text = wasmprinter::print_bytes(&fused)
                .with_context(|| format!("{name} ({kind:?}) prints"))?;
            let again = wat::parse_str(&text)
                .with_context(|| format!("{name} ({kind:?}): the printed text assembles"))?;
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(&again)
                .with_context(|| format!("{name} ({kind:?}): the reassembled text validates"))?;
            if kind == solder::OutputKind::Component {
                // A component whose WIT cannot be written (one that exports
                // a bare resource type) gives the same error fused.
                let (before, after) = (wit(&input), wit(&fused));
                match (&before, &after) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(b, a, "{name}: the fused component has the input's WIT");
                        wits += 1;
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
                    _ => bail!("{name}: WIT before {before:?}, after {after:?}"),
                }
            }
        }
    }
    assert!(wits >= 10, "most fixtures have WIT: {wits}");
    Ok(())
}

/// One value of a `producers` field, and where its section sits.
struct Produced {
    /// 1 for the outermost module or component.
    depth: usize,
    in_module: bool,
    field: String,
    name: String,
    version: String,
}

/// Every value of every `producers` section in `bytes`, nested ones
/// included.
fn produced(bytes: &[u8]) -> Result<Vec<Produced>> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload? {
            wasmparser::Payload::Version { encoding, .. } => {
                stack.push(encoding == wasmparser::Encoding::Module)
            }
            wasmparser::Payload::End(_) => {
                stack.pop();
            }
            wasmparser::Payload::CustomSection(c) if c.name() == "producers" => {
                let reader = wasmparser::ProducersSectionReader::new(
                    wasmparser::BinaryReader::new(c.data(), c.data_offset()),
                )?;
                for field in reader {
                    let field = field?;
                    for v in field.values {
                        let v = v?;
                        out.push(Produced {
                            depth: stack.len(),
                            in_module: stack.last() == Some(&true),
                            field: field.name.to_string(),
                            name: v.name.to_string(),
                            version: v.version.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Field -> names, over every module's `producers` (or every module's and
/// component's).
fn producers(bytes: &[u8], modules_only: bool) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in produced(bytes)? {
        if p.in_module || !modules_only {
            out.entry(p.field).or_default().insert(p.name);
        }
    }
    Ok(out)
}

/// Field -> name -> version, of the outermost module or component only.
fn top_producers(bytes: &[u8]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in produced(bytes)? {
        if p.depth == 1 {
            out.entry(p.field).or_default().insert(p.name, p.version);
        }
    }
    Ok(out)
}

#[test]
fn producers_name_solder_and_carry_every_input() -> Result<()> {
    let mut checked = 0;
    for (name, input) in inputs()? {
        let component = fuse(&input, solder::OutputKind::Component)?;
        let core = fuse(&input, solder::OutputKind::CoreModule)?;
        for (what, bytes) in [("component", &component), ("core module", &core)] {
            let top = top_producers(bytes)?;
            assert_eq!(
                top.get("processed-by").and_then(|p| p.get("solder")),
                Some(&solder::VERSION.to_string()),
                "{name}: the fused {what} names Solder and its version"
            );
        }
        // The fused module carries every input module's fields: the
        // languages and tools that made them.
        let wanted = producers(&input, true)?;
        let got = producers(&core, true)?;
        for (field, names) in &wanted {
            for n in names {
                assert!(
                    got.get(field).is_some_and(|g| g.contains(n)),
                    "{name}: the fused module's producers keep `{field}: {n}`"
                );
                checked += 1;
            }
        }
        // And the wrapper every input component's.
        let wanted = producers(&input, false)?;
        let got = producers(&component, false)?;
        for (field, names) in &wanted {
            for n in names {
                assert!(
                    got.get(field).is_some_and(|g| g.contains(n)),
                    "{name}: the fused component's producers keep `{field}: {n}`"
                );
            }
        }
    }
    assert!(
        checked > 20,
        "the Rust fixtures name their language and tools"
    );
    Ok(())
}

/// Two components: `run` in the caller calls through an adapter into the
/// callee's `explode`, which calls `deeper`, which traps.
const TRAPPING: &str = r#"
(component
  (component $callee
    (core module $m
      (func $deeper (param i32) (result i32) unreachable)
      (func $explode (export "explode") (param i32) (result i32)
        local.get 0
        call $deeper))
    (core instance $i (instantiate $m))
    (func (export "explode") (param "x" PARAM) (result u32)
      (canon lift (core func $i "explode"))))
  (instance $callee (instantiate $callee))
  (component $caller
    (import "explode" (func $explode (param "x" PARAM) (result u32)))
    (core func $explode (canon lower (func $explode)))
    (core module $m
      (import "" "explode" (func $explode (param i32) (result i32)))
      (func $entry (export "run") (param i32) (result i32)
        local.get 0
        call $explode))
    (core instance $i (instantiate $m (with "" (instance (export "explode" (func $explode))))))
    (func (export "run") (param "x" u32) (result u32)
      (canon lift (core func $i "run"))))
  (instance $caller (instantiate $caller (with "explode" (func $callee "explode"))))
  (export "run" (func $caller "run")))
"#;

/// The function names in the backtrace of the trap `run` raises.
fn backtrace(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Vec<String>> {
    use wasmtime::component::{Component, Linker, Val};
    let component = Component::new(engine, bytes)?;
    let mut store = wasmtime::Store::new(engine, ());
    let instance = Linker::<()>::new(engine).instantiate(&mut store, &component)?;
    let func = instance
        .get_func(&mut store, "run")
        .context("`run` is exported")?;
    let mut results = [Val::U32(0)];
    let Err(err) = func.call(&mut store, &[Val::U32(1)], &mut results) else {
        bail!("`run` returned instead of trapping");
    };
    let trace = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .context("the trap carries a backtrace")?;
    Ok(trace
        .frames()
        .iter()
        .filter_map(|f| f.func_name().map(str::to_string))
        .collect())
}

#[test]
fn backtraces_name_the_original_functions() -> Result<()> {
    let engine = host_tests::run::engine()?;
    // A `u16` is masked on the way, by an adapter; a `u32` passes as it
    // is, so the caller calls the callee itself.
    for (param, adapted) in [("u16", true), ("u32", false)] {
        let composed = wat::parse_str(TRAPPING.replace("PARAM", param))?;
        let fused = fuse(&composed, solder::OutputKind::Component)?;
        let before = backtrace(&engine, &composed)?;
        let after = backtrace(&engine, &fused)?;
        for name in ["deeper", "explode", "entry"] {
            assert!(
                before.iter().any(|f| f == name),
                "composed backtrace names `{name}`: {before:?}"
            );
            assert!(
                after.iter().any(|f| f == name),
                "fused backtrace names `{name}`: {after:?}"
            );
        }
        // The adapter between them is named for what it adapts.
        let adapter = after
            .iter()
            .any(|f| f.starts_with("adapter ") && f.contains("explode"));
        assert_eq!(adapter, adapted, "{param}: the frames are {after:?}");
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_input_over_a_mebibyte_is_digested_beside_the_fuse() -> Result<()> {
    // Over a mebibyte, the digest is taken on a second thread while the
    // fuse runs.
    let large = host_tests::fuser_component()?;
    assert!(large.len() > 1 << 20, "{} bytes", large.len());
    let report = solder::fuse(&[&large], &solder::Options::default())?.report;
    assert_eq!(report.inputs.len(), 1);
    assert_eq!(report.inputs[0].name, "input[0]");
    assert_eq!(report.inputs[0].size, large.len() as u64);
    assert_eq!(report.inputs[0].sha256, sha256(&large));
    Ok(())
}

#[test]
fn the_report_names_inputs_by_digest_and_calls_by_strategy() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let fuser = FuserComponent::new(&engine, &host_tests::fuser_component()?)?;
    let all = inputs()?;
    let mut strategies = BTreeSet::new();
    for (name, input) in &all {
        let native = solder::fuse(&[input], &solder::Options::default())?.report;
        assert_eq!(native.inputs.len(), 1);
        assert_eq!(native.inputs[0].name, "input[0]");
        assert_eq!(native.inputs[0].size, input.len() as u64);
        assert_eq!(native.inputs[0].sha256, sha256(input), "{name}");
        let options = Options {
            output: OutputKind::Component,
            validate: true,
            strip_debug: false,
            single_memory: false,
        };
        let Ok(through) = fuser.fuse(std::slice::from_ref(input), options)? else {
            bail!("{name}: the fuser component fuses it");
        };
        let r = through.report;
        assert_eq!(r.inputs.len(), 1);
        assert_eq!(r.inputs[0].sha256, native.inputs[0].sha256, "{name}");
        assert_eq!(r.inputs[0].size, native.inputs[0].size, "{name}");
        assert_eq!(r.adapters.len(), native.adapters.len(), "{name}");
        for (a, b) in r.adapters.iter().zip(&native.adapters) {
            assert_eq!(
                (&a.route, &a.name, &a.strategy),
                (&b.route, &b.name, &b.strategy.to_string())
            );
        }
        let json: serde_json::Value = serde_json::from_str(&native.to_json())?;
        assert_eq!(
            json["inputs"][0]["sha256"].as_str(),
            Some(sha256(input).as_str())
        );
        assert_eq!(
            json["adapters"].as_array().map(Vec::len),
            Some(native.adapters.len())
        );
        for a in &native.adapters {
            strategies.insert((name.clone(), a.strategy.to_string()));
        }
    }
    // Each strategy where the fixture calls for it.
    for (fixture, strategy) in [
        ("char-adapter.wat", "direct"),
        ("string-adapter.wat", "copy"),
        ("string-transcode.wat", "transcode"),
    ] {
        assert!(
            strategies.contains(&(fixture.to_string(), strategy.to_string())),
            "{fixture} has a `{strategy}` adapter: {strategies:?}"
        );
    }
    Ok(())
}

/// The root's own import and export names (not those of nested
/// components), in order.
fn root_names(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>)> {
    use wasmparser::{Parser, Payload};
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(s) if depth == 0 => {
                for i in s {
                    imports.push(i?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(s) if depth == 0 => {
                for e in s {
                    exports.push(e?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// The names a component-level item offers: the item's own kind and, for
/// an instance, its exports by kind.
struct Offered {
    funcs: BTreeSet<String>,
    resources: BTreeSet<String>,
}

fn offered(types: wasmparser::types::TypesRef<'_>, ty: &ComponentEntityType) -> Offered {
    let mut o = Offered {
        funcs: BTreeSet::new(),
        resources: BTreeSet::new(),
    };
    if let ComponentEntityType::Instance(id) = ty {
        for (name, item) in &types[*id].exports {
            match item.ty {
                ComponentEntityType::Func(_) => {
                    o.funcs.insert(name.clone());
                }
                ComponentEntityType::Type {
                    referenced: ComponentAnyTypeId::Resource(_),
                    ..
                } => {
                    o.resources.insert(name.clone());
                }
                _ => {}
            }
        }
    }
    o
}

use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType};

/// The `--core` output's names follow the contract in the README
/// ("`--core` names"): every import and export name is one of the kinds
/// listed there, refers to something the input imports or exports, and no
/// lifted function is exported twice.
#[test]
fn core_output_names_follow_the_readme() -> Result<()> {
    let mut checked = 0;
    for (name, input) in inputs()? {
        let types = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&input)?;
        let types = types.as_ref();
        let (root_imports, root_exports) = root_names(&input)?;
        let import_ty = |n: &str| types.component_item_for_import(n).map(|i| i.ty);
        let export_ty = |n: &str| types.component_item_for_export(n).map(|i| i.ty);
        // Root-level functions and resource types of the input.
        let mut root_in = Offered {
            funcs: BTreeSet::new(),
            resources: BTreeSet::new(),
        };
        for n in &root_imports {
            match import_ty(n) {
                Some(ComponentEntityType::Func(_)) => {
                    root_in.funcs.insert(n.clone());
                }
                Some(ComponentEntityType::Type {
                    referenced: ComponentAnyTypeId::Resource(_),
                    ..
                }) => {
                    root_in.resources.insert(n.clone());
                }
                _ => {}
            }
        }
        let mut root_out = Offered {
            funcs: BTreeSet::new(),
            resources: BTreeSet::new(),
        };
        for n in &root_exports {
            match export_ty(n) {
                Some(ComponentEntityType::Func(_)) => {
                    root_out.funcs.insert(n.clone());
                }
                Some(ComponentEntityType::Type {
                    referenced: ComponentAnyTypeId::Resource(_),
                    ..
                }) => {
                    root_out.resources.insert(n.clone());
                }
                _ => {}
            }
        }

        let core = fuse(&input, solder::OutputKind::CoreModule)?;
        let mut imports = BTreeSet::new();
        let mut exports = BTreeMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(&core) {
            match payload? {
                wasmparser::Payload::ImportSection(s) => {
                    for i in s.into_imports() {
                        let i = i?;
                        let new = imports.insert((i.module.to_string(), i.name.to_string()));
                        assert!(new, "{name}: import {}/{} twice", i.module, i.name);
                    }
                }
                wasmparser::Payload::ExportSection(s) => {
                    for e in s {
                        let e = e?;
                        exports.insert(e.name.to_string(), (e.kind, e.index));
                    }
                }
                _ => {}
            }
        }

        // Imports.
        let builtin = |field: &str, ops: &[&str]| -> Option<String> {
            ops.iter()
                .find_map(|op| field.strip_prefix(op).map(str::to_string))
        };
        for (module, field) in &imports {
            let what = format!("{name}: import `{module}` `{field}`");
            // A suffix tells apart lowerings of one function with
            // different options; the first has none.
            let base = match field.rsplit_once('#') {
                Some((base, n)) => {
                    let n: u32 = n.parse().map_err(|_| anyhow::anyhow!("{what}: suffix"))?;
                    assert!(n >= 2, "{what}: suffixes start at 2");
                    assert!(
                        imports.contains(&(module.clone(), base.to_string())),
                        "{what}: a suffixed import without the plain one"
                    );
                    base
                }
                None => field.as_str(),
            };
            if let Some(interface) = module.strip_prefix("[export]") {
                let r = builtin(
                    base,
                    &["[resource-new]", "[resource-rep]", "[resource-drop]"],
                )
                .ok_or_else(|| anyhow::anyhow!("{what}: not a resource built-in"))?;
                let resources = match interface {
                    "$root" => root_out.resources.clone(),
                    i => {
                        let ty = export_ty(i)
                            .ok_or_else(|| anyhow::anyhow!("{what}: no such export"))?;
                        offered(types, &ty).resources
                    }
                };
                assert!(
                    resources.contains(&r),
                    "{what}: `{r}` is not exported there"
                );
                continue;
            }
            let offer = match module.as_str() {
                "$root" => &root_in,
                i => &offered(
                    types,
                    &import_ty(i).ok_or_else(|| anyhow::anyhow!("{what}: no such import"))?,
                ),
            };
            match builtin(base, &["[resource-drop]"]) {
                Some(r) => assert!(offer.resources.contains(&r), "{what}: no resource `{r}`"),
                None => assert!(offer.funcs.contains(base), "{what}: no function `{base}`"),
            }
        }

        // Exports.
        let mut lifted = BTreeMap::new();
        let mut memories = Vec::new();
        let mut helpers = Vec::new();
        for (export, (kind, index)) in &exports {
            let what = format!("{name}: export `{export}`");
            use wasmparser::ExternalKind as K;
            // The memory and `realloc` of a host import lowered with them,
            // under the import's name.
            for (prefix, want) in [("[memory]", K::Memory), ("[realloc]", K::Func)] {
                if let Some(import) = export.strip_prefix(prefix) {
                    let (module, field) = import
                        .split_once('#')
                        .ok_or_else(|| anyhow::anyhow!("{what}: no `#`"))?;
                    assert_eq!(*kind, want, "{what}");
                    assert!(
                        imports.contains(&(module.to_string(), field.to_string())),
                        "{what}: no such import"
                    );
                }
            }
            if export.starts_with("[memory]") || export.starts_with("[realloc]") {
                continue;
            }
            if let Some(n) = export.strip_prefix("memory") {
                assert_eq!(*kind, K::Memory, "{what}");
                memories.push(if n.is_empty() { 0 } else { n.parse::<u32>()? });
                continue;
            }
            assert_eq!(*kind, K::Func, "{what}: only functions and memories");
            if export == "_initialize" {
                // The start sequence, left to the host only when a host
                // function it may call needs the module's memory.
                assert!(
                    imports.iter().any(|(m, _)| !m.starts_with("[export]")),
                    "{what}: only with host imports"
                );
                continue;
            }
            if let Some(n) = export.strip_prefix('f')
                && let Ok(n) = n.parse::<u32>()
            {
                assert_eq!(n, *index, "{what}: names its index");
                helpers.push(n);
                continue;
            }
            let (interface, item) = match export.split_once('#') {
                Some((i, item)) => (Some(i), item),
                None => (None, export.as_str()),
            };
            let offer = match interface {
                None => &root_out,
                Some(i) => &offered(
                    types,
                    &export_ty(i).ok_or_else(|| anyhow::anyhow!("{what}: no such export"))?,
                ),
            };
            match item.strip_prefix("[dtor]") {
                Some(r) => assert!(offer.resources.contains(r), "{what}: no resource `{r}`"),
                None => {
                    assert!(offer.funcs.contains(item), "{what}: no function `{item}`");
                    lifted.insert(export.clone(), *index);
                }
            }
        }
        memories.sort_unstable();
        assert!(
            memories.iter().copied().eq(0..memories.len() as u32),
            "{name}: memories are `memory`, `memory1`, ... in turn: {memories:?}"
        );
        for f in &helpers {
            assert!(
                !lifted.values().any(|i| i == f),
                "{name}: a lifted function is exported again as `f{f}`"
            );
        }
        // Every function the root exports, at the root or in an interface,
        // is there under its name.
        for n in &root_exports {
            let ty = export_ty(n).expect("the root's export has a type");
            if let ComponentEntityType::Func(_) = ty {
                assert!(lifted.contains_key(n), "{name}: `{n}` is not exported");
            }
            for f in offered(types, &ty).funcs {
                let full = format!("{n}#{f}");
                assert!(
                    lifted.contains_key(&full),
                    "{name}: `{full}` is not exported"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "every fixture: {checked}");
    Ok(())
}
