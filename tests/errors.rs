//! Bad and unsupported input: a typed error that says what and where,
//! never a panic.

use solder::{ErrorKind, Options, fuse};

fn fuse_err(bytes: &[u8]) -> solder::Error {
    match fuse(&[bytes], &Options::default()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn component(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT parses")
}

#[test]
fn empty_and_random_bytes_are_malformed() {
    for input in [&b""[..], b"\0asm", b"not wasm at all", &[0xff; 64]] {
        let e = fuse_err(input);
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
        assert_eq!(e.path(), "root");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

#[test]
fn a_core_module_is_not_a_component() {
    let e = fuse_err(&component("(module)"));
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains("expected a component"), "{e}");
    assert_eq!(e.offset(), Some(0));
}

#[test]
fn truncation_names_the_nested_module_and_offset() {
    let bytes = component(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 42))
             (core instance $i (instantiate $m)))"#,
    );
    let mut errors = 0;
    for cut in 0..bytes.len() {
        // A cut at a section boundary leaves a shorter, valid component.
        if let Err(e) = fuse(&[&bytes[..cut]], &Options::default()) {
            assert_eq!(e.kind(), ErrorKind::Malformed, "cut at {cut}: {e}");
            assert!(e.offset().is_some(), "cut at {cut}: {e}");
            errors += 1;
        }
    }
    assert!(
        errors > bytes.len() * 3 / 4,
        "{errors} of {} cuts rejected",
        bytes.len()
    );
}

#[test]
fn invalid_component_is_malformed() {
    // Valid syntax, invalid semantics: a lift of a core function whose
    // type does not match.
    let bytes = component(
        r#"(component
             (core module $m (func (export "f") (param i64)))
             (core instance $i (instantiate $m))
             (func (export "f") (param "x" u32) (canon lift (core func $i "f"))))"#,
    );
    let e = fuse_err(&bytes);
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
}

#[test]
fn unsupported_features_are_named() {
    let component_import = component(r#"(component (import "c" (component)))"#);
    let e = fuse_err(&component_import);
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("import-kind"));
    assert_eq!(e.path(), "root");
    let module_given_a_lowered_function = component(
        r#"(component
             (import "f" (func $f))
             (import "m" (core module $m (import "env" "f" (func))))
             (core func $lf (canon lower (func $f)))
             (core instance (instantiate $m (with "env" (instance (export "f" (func $lf)))))))"#,
    );
    let e = fuse_err(&module_given_a_lowered_function);
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("module-import"));
}

#[test]
fn more_memories_than_a_module_holds_is_a_limit() {
    // One module with a memory, instantiated 101 times: each instance
    // keeps its own memory in the fused module.
    let mut wat = String::from("(component (core module $m (memory 1))");
    for _ in 0..101 {
        wat.push_str(" (core instance (instantiate $m))");
    }
    wat.push(')');
    let e = fuse_err(&component(&wat));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert!(e.to_string().contains("memories"), "{e}");

    let mut wat = String::from("(component (core module $m (memory 1))");
    for _ in 0..100 {
        wat.push_str(" (core instance (instantiate $m))");
    }
    wat.push(')');
    fuse(&[&component(&wat)], &Options::default()).expect("100 memories fit");
}

#[test]
fn scalar_adapter_fuses_to_one_module_and_validates() {
    let wat = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/wat/char-adapter.wat"
    ))
    .expect("fixture");
    let bytes = component(&wat);
    let fused = fuse(&[&bytes], &Options::default()).expect("fuses");
    assert_eq!(fused.report.adapters.len(), 1);
    assert_eq!(fused.report.core_instances.len(), 2);
    let modules = wasmparser::Parser::new(0)
        .parse_all(&fused.bytes)
        .filter(|p| matches!(p, Ok(wasmparser::Payload::ModuleSection { .. })))
        .count();
    assert_eq!(modules, 1, "one fused core module");
    let producers = wasmparser::Parser::new(0).parse_all(&fused.bytes).any(|p| {
        matches!(p, Ok(wasmparser::Payload::CustomSection(c))
            if c.name() == "producers" && c.data().windows(6).any(|w| w == b"solder"))
    });
    assert!(producers, "the producers section names Solder");
    let core = fuse(
        &[&bytes],
        &Options {
            output: solder::OutputKind::CoreModule,
            validate: true,
            ..Options::default()
        },
    )
    .expect("fuses to a core module");
    assert!(wasmparser::Parser::is_core_wasm(&core.bytes));
    // Deterministic: the same input gives the same bytes.
    assert_eq!(
        fuse(&[&bytes], &Options::default()).expect("fuses").bytes,
        fused.bytes
    );
}

#[test]
fn an_invalid_input_is_malformed_whatever_else_it_uses() {
    // A root import after an instance is not supported; but when the rest
    // of the input is invalid, that is what the error says.
    let mut bytes =
        component(r#"(component (component $c) (instance (instantiate $c)) (import "f" (func)))"#);
    assert_eq!(fuse_err(&bytes).kind(), ErrorKind::Unsupported);
    bytes.extend([0xff, 0x00]);
    let e = fuse_err(&bytes);
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert!(e.offset().is_some(), "{e}");
}

#[test]
fn an_instantiation_missing_an_argument_is_unresolved() {
    let e = fuse_err(&component(
        r#"(component
             (component $c (import "x" (func)))
             (instance (instantiate $c)))"#,
    ));
    assert_eq!(e.kind(), ErrorKind::Unresolved, "{e}");
    assert!(e.message().contains("missing"), "{e}");
    assert!(e.offset().is_some(), "{e}");
}

fn several(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/wat/several/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    wat::parse_file(path).expect("fixture parses")
}

#[test]
fn several_inputs_are_wired_by_interface_name() {
    let (app, lib) = (several("app"), several("lib"));
    let fused = fuse(&[&app, &lib], &Options::default()).expect("app imports what lib exports");
    let again = fuse(&[&app, &lib], &Options::default()).expect("fuses");
    assert_eq!(fused.bytes, again.bytes, "deterministic");
    // Names are for messages only.
    let named =
        solder::fuse_named(&[("a", &app), ("b", &lib)], &Options::default()).expect("fuses");
    assert_eq!(fused.bytes, named.bytes);
    assert_eq!(fused.report.adapters.len(), 1, "{:?}", fused.report);
}

#[test]
fn wiring_errors_name_every_input_involved() {
    let (app, lib, other, wrong) = (
        several("app"),
        several("lib"),
        several("other-lib"),
        several("wrong-type"),
    );
    let named = |inputs: &[(&str, &Vec<u8>)]| {
        let inputs: Vec<(&str, &[u8])> = inputs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        match solder::fuse_named(&inputs, &Options::default()) {
            Err(e) => e,
            Ok(_) => panic!("{:?} fused", inputs.iter().map(|i| i.0).collect::<Vec<_>>()),
        }
    };
    let e = named(&[("app", &app), ("lib", &lib), ("other", &other)]);
    assert_eq!(e.kind(), ErrorKind::Unresolved, "{e}");
    assert_eq!(e.path(), "app");
    assert_eq!(
        e.message(),
        "app imports `test:several/api`, which 2 inputs export: lib, other; pass only one of them"
    );

    let e = named(&[("app", &app), ("lib", &lib), ("lib again", &lib)]);
    assert!(e.message().contains("lib again"), "{e}");

    let e = named(&[("lib", &lib), ("app", &app)]);
    assert_eq!(e.kind(), ErrorKind::Unresolved, "{e}");
    assert_eq!(e.path(), "app");
    assert!(e.message().contains("nothing imports"), "{e}");

    let e = named(&[("app", &app), ("wrong", &wrong)]);
    assert_eq!(e.kind(), ErrorKind::Unresolved, "{e}");
    assert_eq!(e.path(), "app");
    assert!(
        e.message()
            .starts_with("app imports `test:several/api`, but the export `test:several/api` of wrong has a type it does not accept"),
        "{e}"
    );

    let e = named(&[("app", &app), ("broken", &app[..app.len() - 3].to_vec())]);
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert_eq!(e.path(), "broken");
    assert!(e.offset().is_some(), "{e}");
}

#[test]
fn one_input_is_fused_as_before() {
    let lib = several("lib");
    let e = fuse_err(b"garbage");
    assert_eq!(e.path(), "root", "one input keeps the paths it always had");
    let one = fuse(&[&lib], &Options::default()).expect("fuses");
    let named = solder::fuse_named(&[("lib.wasm", &lib)], &Options::default()).expect("fuses");
    assert_eq!(one.bytes, named.bytes);
}

#[test]
fn semver_compatible_names_are_plugged_when_no_name_matches_exactly() {
    let versioned = |name: &str, version: &str| {
        let wat = std::fs::read_to_string(format!(
            "{}/fixtures/wat/several/{name}.wat",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        component(&wat.replace(
            "\"test:several/api\"",
            &format!("\"test:several/api@{version}\""),
        ))
    };
    let app = versioned("app", "0.2.0");
    let lib = versioned("lib", "0.2.1");
    fuse(&[&app, &lib], &Options::default()).expect("0.2.1 serves an import of 0.2.0");
    // An exact match wins over a compatible one.
    let exact = versioned("other-lib", "0.2.0");
    let e = fuse(&[&app, &lib, &exact], &Options::default()).expect_err("lib is left unused");
    assert_eq!(e.path(), "input[1]", "{e}");
    let e = fuse(
        &[&app, &lib, &versioned("other-lib", "0.2.3")],
        &Options::default(),
    )
    .expect_err("two compatible providers");
    assert_eq!(
        e.message(),
        "input[0] imports `test:several/api@0.2.0`, which 2 inputs export: input[1] (as `test:several/api@0.2.1`), input[2] (as `test:several/api@0.2.3`); pass only one of them"
    );
    let incompatible = versioned("lib", "0.3.0");
    let e = fuse(&[&app, &incompatible], &Options::default()).expect_err("0.3 is not 0.2");
    assert_eq!(e.path(), "input[1]", "{e}");
}
