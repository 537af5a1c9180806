//! Every pair of string encodings (utf8, utf16, latin1+utf16 on either
//! side), with strings that stay ASCII, fit latin1, need UTF-16, need
//! surrogate pairs, are empty or long, and with invalid input: composed and
//! fused must give the same string back, or both trap.

use anyhow::Result;

const ENCODINGS: [&str; 3] = ["utf8", "utf16", "latin1+utf16"];

/// A bump `realloc` that keeps the old contents when it grows.
const REALLOC: &str = r#"
      (global $bump (mut i32) (i32.const 4096))
      (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
        (local $new i32)
        global.get $bump
        local.get $align i32.const 1 i32.sub i32.add
        local.get $align i32.const 1 i32.sub i32.const -1 i32.xor i32.and
        local.tee $new
        local.get $size i32.add global.set $bump
        local.get $old
        if
          local.get $new local.get $old
          local.get $old_size local.get $size local.get $old_size local.get $size i32.lt_u select
          memory.copy
        end
        local.get $new)"#;

/// The string's bytes in `encoding`, and the length the ABI passes.
fn encode(s: &str, encoding: &str) -> (Vec<u8>, u32) {
    let utf16 = |s: &str| -> (Vec<u8>, u32) {
        let units: Vec<u16> = s.encode_utf16().collect();
        (
            units.iter().flat_map(|u| u.to_le_bytes()).collect(),
            units.len() as u32,
        )
    };
    match encoding {
        "utf8" => (s.as_bytes().to_vec(), s.len() as u32),
        "utf16" => utf16(s),
        _ if s.chars().all(|c| (c as u32) < 256) => {
            let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
            let n = bytes.len() as u32;
            (bytes, n)
        }
        _ => {
            let (bytes, n) = utf16(s);
            (bytes, n | (1 << 31))
        }
    }
}

fn data(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

fn composition(caller: &str, callee: &str, bytes: &[u8], len: u32) -> String {
    format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "memory") 1)
      {REALLOC}
      (func (export "echo") (param i32 i32) (result i32)
        i32.const 8 local.get 0 i32.store
        i32.const 12 local.get 1 i32.store
        i32.const 8))
    (core instance $i (instantiate $m))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc")) string-encoding={callee})))
  (instance $callee (instantiate $callee))
  (alias export $callee "echo" (func $echo))
  (component $caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (core module $mem
      (memory (export "memory") 1)
      (data (i32.const 16) "{data}")
      {REALLOC})
    (core instance $mem (instantiate $mem))
    (core func $echo (canon lower (func $echo) (memory (core memory $mem "memory")) (realloc (core func $mem "realloc")) string-encoding={caller}))
    (core module $m
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (import "" "memory" (memory 1))
      ;; A hash of the returned (pointer-free) length and bytes.
      (func (export "run") (result i32)
        (local $p i32) (local $n i32) (local $h i32) (local $i i32)
        i32.const 16 i32.const {len} i32.const 0 call $echo
        i32.const 0 i32.load local.set $p
        i32.const 4 i32.load local.tee $n local.set $h
        {byte_len}
        block loop
          local.get $i local.get $n i32.ge_u br_if 1
          local.get $h i32.const 31 i32.mul
          local.get $p local.get $i i32.add i32.load8_u i32.add local.set $h
          local.get $i i32.const 1 i32.add local.set $i
          br 0
        end end
        local.get $h))
    (core instance $i (instantiate $m (with "" (instance (export "echo" (func $echo)) (export "memory" (memory $mem "memory"))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $caller (instantiate $caller (with "echo" (func $echo))))
  (export "run" (func $caller "run")))"#,
        data = data(bytes),
        len = len as i32,
        byte_len = match caller {
            "utf8" => "",
            "utf16" => "local.get $n i32.const 1 i32.shl local.set $n",
            _ =>
                "local.get $n i32.const 0 i32.lt_s if local.get $n i32.const 1 i32.shl local.set $n end",
        },
    )
}

#[test]
fn every_encoding_pair_matches() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let long: String = "ab€𝄞ÿ".repeat(200);
    // ASCII runs around the widths the validator skips at once.
    const RUNS: [usize; 7] = [7, 8, 63, 64, 65, 128, 200];
    let runs: Vec<String> = RUNS
        .iter()
        .map(|&n| format!("{}é{}", "x".repeat(n), "y".repeat(n)))
        .collect();
    let mut strings = vec![
        "",
        "hello",
        "ÿé latin",
        "€uro",
        "𝄞 clef",
        "mixed ÿ € 𝄞 a",
        long.as_str(),
    ];
    strings.extend(runs.iter().map(String::as_str));
    let mut checked = 0;
    let mut failures = Vec::new();
    for caller in ENCODINGS {
        for callee in ENCODINGS {
            let mut cases: Vec<(String, Vec<u8>, u32, Option<bool>)> = strings
                .iter()
                .map(|s| {
                    let (b, n) = encode(s, caller);
                    (format!("{s:.12?}"), b, n, Some(false))
                })
                .collect();
            // Invalid input in the caller's encoding traps.
            match caller {
                "utf8" => {
                    cases.push(("invalid UTF-8".into(), vec![b'a', 0xC3], 2, Some(true)));
                    let mut late = b"abcdefghijklmnopq".to_vec();
                    late.push(0xC3);
                    cases.push(("invalid UTF-8 after ASCII".into(), late, 18, Some(true)));
                    for n in [63, 64, 65, 127, 128, 129] {
                        for bad in [&[0xC3, b'b'][..], &[0xFF]] {
                            let mut bytes = vec![b'a'; n];
                            bytes.extend_from_slice(bad);
                            let len = bytes.len() as u32;
                            let name = format!("invalid UTF-8 after {n} ASCII bytes");
                            cases.push((name, bytes, len, Some(true)));
                        }
                    }
                }
                "utf16" => cases.push((
                    "unpaired surrogate".into(),
                    vec![0x00, 0xD8, 0x41, 0x00],
                    2,
                    Some(true),
                )),
                _ => cases.push((
                    "unpaired surrogate (tagged)".into(),
                    vec![0x00, 0xDC],
                    1 | (1 << 31),
                    Some(true),
                )),
            }
            for (name, bytes, len, traps) in cases {
                let wat = composition(caller, callee, &bytes, len);
                let composed = wat::parse_str(&wat)?;
                let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
                let a = host_tests::run::call_u32(&engine, &composed, "run", &[])?;
                let b = host_tests::run::call_u32(&engine, &fused, "run", &[])?;
                if a != b {
                    failures.push(format!(
                        "{caller} -> {callee} {name}: composed {a:?}, fused {b:?}"
                    ));
                } else if traps.is_some_and(|t| t != a.is_none()) {
                    failures.push(format!(
                        "{caller} -> {callee} {name}: trap expected {traps:?}, got {a:?}"
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every string for each pair, and the invalid cases: fourteen for each
    // UTF-8 caller, one for each other caller.
    assert_eq!(checked, 9 * strings.len() + 3 * 14 + 6);
    Ok(())
}
