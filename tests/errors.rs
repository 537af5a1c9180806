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
    let module_import = component(
        r#"(component
             (import "m" (core module $m))
             (core instance (instantiate $m)))"#,
    );
    let e = fuse_err(&module_import);
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.feature(), Some("import-kind"));
    assert_eq!(e.path(), "root");

    let two = component("(component)");
    let e = match fuse(&[&two, &two], &Options::default()) {
        Err(e) => e,
        Ok(_) => panic!("two inputs are not wired yet"),
    };
    assert_eq!(e.feature(), Some("multiple-inputs"));
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
    // A root import after other definitions is not supported; but when the
    // rest of the input is invalid, that is what the error says.
    let mut bytes = component(r#"(component (core module $m) (import "f" (func)))"#);
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
