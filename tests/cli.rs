//! The `solder` command line: files and `-` for standard input and output,
//! `inspect`, and one line naming what is wrong and where on failure.

use sha2::Digest;
use std::io::Write;
use std::process::{Command, Stdio};

fn solder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_solder"))
}

/// Runs `solder ARGS` with `input` on standard input.
fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = solder()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("solder runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("input written");
    child.wait_with_output().expect("solder finishes")
}

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/wat/char-adapter.wat");
    wat::parse_file(path).expect("fixture parses")
}

#[test]
fn fuse_through_stdin_and_stdout_matches_the_library() {
    let input = fixture();
    let out = with_stdin(&["fuse", "-", "-o", "-"], &input);
    assert!(out.status.success());
    let library = solder::fuse(&[&input], &solder::Options::default()).expect("fuses");
    assert_eq!(
        out.stdout, library.bytes,
        "CLI and library agree byte for byte"
    );
}

#[test]
fn fuse_files_core_output_and_inspect() {
    let dir = std::env::temp_dir().join(format!("solder-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("in.wasm");
    std::fs::write(&input, fixture()).expect("input written");
    let out = dir.join("out.wasm");
    let status = solder()
        .arg("fuse")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--core")
        .status()
        .expect("runs");
    assert!(status.success());
    let core = std::fs::read(&out).expect("output");
    assert!(wasmparser::Parser::is_core_wasm(&core));
    // The same bytes again, from another working directory.
    let again = dir.join("again.wasm");
    let status = solder()
        .current_dir(&dir)
        .args(["fuse", "in.wasm", "--core", "-o", "again.wasm"])
        .status()
        .expect("runs");
    assert!(status.success());
    assert_eq!(
        std::fs::read(&again).expect("output"),
        core,
        "deterministic"
    );
    let report = solder().arg("inspect").arg(&input).output().expect("runs");
    assert!(report.status.success());
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("adapters: 1"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn errors_are_one_line_with_kind_path_and_offset() {
    let mut input = fixture();
    input.truncate(input.len() / 2);
    let out = with_stdin(&["fuse", "-", "-o", "-"], &input);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: malformed: "), "{err}");
    assert!(
        err.contains("(in root") && err.contains("byte offset 0x"),
        "{err}"
    );

    let missing = solder()
        .args(["fuse", "no-such-file.wasm", "-o", "-"])
        .output()
        .expect("runs");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-file.wasm"));
}

#[test]
fn output_defaults_to_standard_output_and_text_with_t() {
    let input = fixture();
    let library = solder::fuse(&[&input], &solder::Options::default()).expect("fuses");
    // No `-o`: the binary goes to standard output (a pipe here).
    let out = with_stdin(&["fuse", "-"], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout, library.bytes);
    // `-t` / `--wat`: the text format, as `wasm-tools print` writes it.
    for flag in ["-t", "--wat"] {
        let out = with_stdin(&["fuse", "-", flag], &input);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("text is UTF-8");
        assert_eq!(
            text,
            wasmprinter::print_bytes(&library.bytes).expect("prints")
        );
        let again = wat::parse_str(&text).expect("the text assembles");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&again)
            .expect("and validates");
    }
}

#[test]
fn validate_flags_and_the_json_report() {
    let input = fixture();
    let library = solder::fuse(&[&input], &solder::Options::default()).expect("fuses");
    for flags in [
        &["--validate"][..],
        &["--no-validate"],
        &["--no-validate", "--validate"],
    ] {
        let mut args = vec!["fuse", "-"];
        args.extend_from_slice(flags);
        let out = with_stdin(&args, &input);
        assert!(out.status.success(), "{flags:?}");
        assert_eq!(out.stdout, library.bytes, "{flags:?}");
    }

    // `--report FILE`: JSON naming the input's digest and each adapter's
    // strategy.
    let dir = std::env::temp_dir().join(format!("solder-cli-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let report = dir.join("report.json");
    let out = with_stdin(
        &[
            "fuse",
            "-",
            "-o",
            "-",
            "--report",
            report.to_str().expect("UTF-8 path"),
        ],
        &input,
    );
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("JSON");
    let digest = sha2::Sha256::digest(&input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(json["inputs"][0]["sha256"].as_str(), Some(digest.as_str()));
    assert_eq!(json["inputs"][0]["size"].as_u64(), Some(input.len() as u64));
    assert_eq!(json["adapters"][0]["strategy"].as_str(), Some("direct"));
    assert_eq!(
        json["output_size"].as_u64(),
        Some(library.bytes.len() as u64)
    );
    std::fs::remove_dir_all(&dir).ok();

    // `inspect --json` gives the same structure.
    let out = with_stdin(&["inspect", "-", "--json"], &input);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["inputs"][0]["sha256"].as_str(), Some(digest.as_str()));
    assert_eq!(json["adapters"].as_array().map(Vec::len), Some(1));

    // The report and the output cannot share standard output.
    let out = solder()
        .args(["fuse", "in.wasm", "--report", "-"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output"));
}

/// Several files: wired by interface name, the same bytes as the library,
/// and errors that name the files.
#[test]
fn several_files_are_wired_and_named_in_errors() {
    let dir = std::env::temp_dir().join(format!("solder-cli-several-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut bytes = Vec::new();
    for name in ["app", "lib", "other-lib"] {
        let wat = format!(
            "{}/fixtures/wat/several/{name}.wat",
            env!("CARGO_MANIFEST_DIR")
        );
        let wasm = wat::parse_file(wat).expect("fixture parses");
        std::fs::write(dir.join(format!("{name}.wasm")), &wasm).expect("written");
        bytes.push(wasm);
    }
    let status = solder()
        .current_dir(&dir)
        .args(["fuse", "app.wasm", "lib.wasm", "-o", "out.wasm"])
        .status()
        .expect("runs");
    assert!(status.success());
    let library =
        solder::fuse(&[&bytes[0], &bytes[1]], &solder::Options::default()).expect("fuses");
    assert_eq!(
        std::fs::read(dir.join("out.wasm")).expect("output"),
        library.bytes
    );

    let out = solder()
        .current_dir(&dir)
        .args([
            "fuse",
            "app.wasm",
            "lib.wasm",
            "other-lib.wasm",
            "-o",
            "x.wasm",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: unresolved: app.wasm imports `test:several/api`, which 2 inputs export: lib.wasm, other-lib.wasm; pass only one of them (in app.wasm)"
    );
    assert!(!dir.join("x.wasm").exists());
    std::fs::remove_dir_all(&dir).ok();
}
