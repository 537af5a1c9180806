//! The string rows' components, written in WAT: Rust guests always pass
//! strings as UTF-8, and the canonical ABI has three string encodings
//! (`string-encoding=utf8 | utf16 | latin1+utf16`) that adapters
//! transcode between.
//!
//! [`composition`] writes a caller and a callee, each with its own memory
//! and a bump-allocating `realloc`, the caller lowering `echo: func(s:
//! string) -> string` in one encoding and the callee lifting it in
//! another. The callee returns the string it was given (in its own
//! encoding, as the adapter stored it) and resets its allocator in
//! `post-return`. The caller holds about 20 bytes of each [`Script`] in
//! its own encoding, repeats them into the input string, and exports
//! `run: func(kind: u32, units: u32, n: u32) -> u32`:
//!
//! - `kind` < [`ADD`]: the input is `units` repetitions of
//!   [`Script::DATA`]`[kind]`;
//!   one call checks that the string came back unchanged (a trap if not),
//!   then `n` calls follow, the caller's allocator reset before each;
//! - `kind` = [`ADD`]: `n` calls of `add: func(a: u32, b: u32) -> u32`.
//!
//! `run` returns the sum of the lengths that came back (or of the sums),
//! so that two sides can be compared. The checked call is made whatever
//! `n` is: a run of no calls costs the same set-up and check as a run of
//! many, and their difference is the calls alone.

use std::fmt::Write;

/// The `kind` of `run` that calls `add` instead of `echo`.
pub const ADD: u32 = Script::DATA.len() as u32;

/// A string encoding of the canonical ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `utf8`.
    Utf8,
    /// `utf16`: 16-bit code units, 2-aligned.
    Utf16,
    /// `latin1+utf16`: one byte per char when every char fits Latin-1,
    /// else UTF-16 with the top bit of the length set.
    Latin1Utf16,
}

/// The top bit of a `latin1+utf16` length: the string is UTF-16.
const UTF16_TAG: u32 = 1 << 31;

impl Encoding {
    /// Every encoding.
    pub const ALL: [Encoding; 3] = [Encoding::Utf8, Encoding::Utf16, Encoding::Latin1Utf16];

    /// The value of the `string-encoding=` canon option.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Utf16 => "utf16",
            Encoding::Latin1Utf16 => "latin1+utf16",
        }
    }

    /// `text` in this encoding: its bytes, and the length that a core
    /// function passes beside them (code units, tagged for UTF-16 in
    /// `latin1+utf16`).
    pub fn encode(self, text: &str) -> (Vec<u8>, u32) {
        let utf16 = || -> (Vec<u8>, u32) {
            let units: Vec<u16> = text.encode_utf16().collect();
            let bytes = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            (bytes, code_units(units.len()))
        };
        match self {
            Encoding::Utf8 => (text.as_bytes().to_vec(), code_units(text.len())),
            Encoding::Utf16 => utf16(),
            Encoding::Latin1Utf16 => {
                let latin1: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
                match latin1 {
                    Some(bytes) => {
                        let len = code_units(bytes.len());
                        (bytes, len)
                    }
                    None => {
                        let (bytes, len) = utf16();
                        (bytes, len | UTF16_TAG)
                    }
                }
            }
        }
    }
}

/// A length in code units, as a core function passes it.
fn code_units(n: usize) -> u32 {
    u32::try_from(n).expect("the scripts' units are a few dozen bytes")
}

/// A kind of text, by the width of its characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// One byte per char in UTF-8.
    Ascii,
    /// Accented Latin letters: two bytes in UTF-8, one in Latin-1.
    Accented,
    /// Chinese and Japanese: three bytes in UTF-8, one unit in UTF-16.
    Cjk,
    /// Emoji: four bytes in UTF-8, a surrogate pair in UTF-16.
    Emoji,
    /// French-like text: ASCII with an accented letter every few bytes,
    /// so that blocks of sixteen bytes mix one- and two-byte characters.
    Mixed,
    /// Eight bytes of ASCII, shorter than a block: only the instruction
    /// counts use it.
    Short,
}

impl Script {
    /// Every script, in the order of `run`'s `kind`.
    pub const ALL: [Script; 5] = [
        Script::Ascii,
        Script::Accented,
        Script::Cjk,
        Script::Emoji,
        Script::Mixed,
    ];

    /// Every script in `run`'s data, in the order of its `kind`: the rows'
    /// and the short one.
    pub const DATA: [Script; 6] = [
        Script::Ascii,
        Script::Accented,
        Script::Cjk,
        Script::Emoji,
        Script::Mixed,
        Script::Short,
    ];

    /// The name in a row label.
    pub fn name(self) -> &'static str {
        match self {
            Script::Ascii => "ASCII",
            Script::Accented => "accented (Latin-1)",
            Script::Cjk => "CJK",
            Script::Emoji => "emoji",
            Script::Mixed => "ASCII and accented",
            Script::Short => "ASCII, 8 B",
        }
    }

    /// About 20 bytes of UTF-8 text in this script, repeated to make
    /// longer strings.
    pub fn unit(self) -> &'static str {
        match self {
            Script::Ascii => "Hello, plain world! ",
            Script::Accented => "éüñàçöâèïß",
            Script::Cjk => "漢字とかな混じり",
            Script::Emoji => "🦀🚀🎉🌍🍣",
            Script::Mixed => "où ça, déjà vu? ",
            Script::Short => "Hi there",
        }
    }

    /// The repetitions of [`Script::unit`] nearest to `bytes` bytes of
    /// UTF-8, at least one.
    pub fn units(self, bytes: usize) -> u32 {
        let unit = self.unit().len();
        code_units(((bytes + unit / 2) / unit).max(1))
    }
}

/// Pages of each memory: room for the largest input (1 MiB of UTF-8, up
/// to 2 MiB as UTF-16), and the copies and growth of transcoding it.
const PAGES: u32 = 256;

/// Caller memory: the return area of `echo` (pointer, length).
const RET: u32 = 8;

/// Caller memory: 16 bytes per script (the offset of its unit, the unit's
/// bytes, its code units, and the UTF-16 tag).
const DESCRIPTORS: u32 = 256;

/// Caller memory: the units, 64 bytes apart.
const UNITS: u32 = 1024;

/// Caller memory: the input string.
const INPUT: u32 = 64 * 1024;

/// Caller memory: where the allocator starts again before each call.
const HEAP: u32 = INPUT + 4 * 1024 * 1024;

/// Callee memory: where its allocator starts again after each call.
const CALLEE_HEAP: u32 = 1024;

/// `bytes` as the contents of a WAT string.
fn wat_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for b in bytes {
        write!(s, "\\{b:02x}").expect("writing to a String");
    }
    s
}

/// A bump allocator's `realloc` over the module's `$bump` global: a
/// shrink stays in place; anything else takes fresh memory and copies the
/// old contents there, as the canonical ABI expects when a transcoder
/// grows its guess. Traps when the memory is full.
const REALLOC: &str = r#"
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0))
                   (i32.le_u (local.get $new_size) (local.get $old_size)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $bump (i32.add (local.get $p) (local.get $new_size)))
      (if (i32.gt_u (global.get $bump) (i32.shl (memory.size) (i32.const 16)))
        (then unreachable))
      (if (local.get $old)
        (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
      (local.get $p))"#;

/// The callee: `echo` returns its argument, `add` adds.
fn callee(encoding: Encoding) -> String {
    let encoding = encoding.name();
    format!(
        r#"(component $callee
    (core module $m
      (memory (export "memory") {PAGES})
      (global $bump (mut i32) (i32.const {CALLEE_HEAP}))
      {REALLOC}
      (func (export "echo") (param $ptr i32) (param $len i32) (result i32)
        (i32.store (i32.const 8) (local.get $ptr))
        (i32.store offset=4 (i32.const 8) (local.get $len))
        (i32.const 8))
      (func (export "echo-post-return") (param i32)
        (global.set $bump (i32.const {CALLEE_HEAP})))
      (func (export "add") (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1))))
    (core instance $i (instantiate $m))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $i "echo") (memory (core memory $i "memory"))
        (realloc (core func $i "realloc")) string-encoding={encoding}
        (post-return (core func $i "echo-post-return"))))
    (func (export "add") (param "a" u32) (param "b" u32) (result u32)
      (canon lift (core func $i "add"))))"#
    )
}

/// A component with two memories whose `run(_, bytes, n)` copies `bytes`
/// bytes from the first into the second and back, `n` times, with
/// `memory.copy`: the two copies that a string of that many bytes makes
/// across a call there and back, where no transcoding is needed, and
/// nothing else. Every implementation of the call makes them: the callee
/// must get its own copy in its own memory, and the caller its own copy
/// back. It returns `bytes` × `n`.
pub fn copies_alone() -> String {
    format!(
        r#"(component
    (core module $m
      (memory $caller {PAGES})
      (memory $callee {PAGES})
      (func (export "run") (param $kind i32) (param $bytes i32) (param $n i32) (result i32)
        (local $i i32)
        (loop $calls
          (if (i32.lt_u (local.get $i) (local.get $n))
            (then
              (memory.copy $callee $caller (i32.const {CALLEE_HEAP}) (i32.const {INPUT}) (local.get $bytes))
              (memory.copy $caller $callee (i32.const {HEAP}) (i32.const {CALLEE_HEAP}) (local.get $bytes))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $calls))))
        (i32.mul (local.get $bytes) (local.get $n))))
    (core instance $i (instantiate $m))
    (func (export "run") (param "kind" u32) (param "units" u32) (param "n" u32) (result u32)
      (canon lift (core func $i "run"))))"#
    )
}

/// The caller's data: each script's descriptor and unit, in `encoding`.
fn caller_data(encoding: Encoding) -> String {
    let (mut descriptors, mut units) = (Vec::new(), Vec::new());
    for (i, script) in Script::DATA.into_iter().enumerate() {
        let (bytes, len) = encoding.encode(script.unit());
        assert!(bytes.len() <= 64, "a unit fits its 64-byte slot");
        let offset = UNITS + 64 * code_units(i);
        for word in [
            offset,
            code_units(bytes.len()),
            len & !UTF16_TAG,
            len & UTF16_TAG,
        ] {
            descriptors.extend(word.to_le_bytes());
        }
        units.resize(64 * i, 0);
        units.extend(bytes);
    }
    format!(
        r#"(data (i32.const {DESCRIPTORS}) "{}")
      (data (i32.const {UNITS}) "{}")"#,
        wat_bytes(&descriptors),
        wat_bytes(&units)
    )
}

/// The caller's `run` and its helpers (see the module's doc).
fn caller_code() -> String {
    format!(
        r#"
      ;; Whether the `$len` bytes at `$a` and at `$b` are the same.
      (func $same (param $a i32) (param $b i32) (param $len i32) (result i32)
        (block $differ
          (loop $words
            (if (i32.ge_u (local.get $len) (i32.const 8))
              (then
                (br_if $differ (i64.ne (i64.load (local.get $a)) (i64.load (local.get $b))))
                (local.set $a (i32.add (local.get $a) (i32.const 8)))
                (local.set $b (i32.add (local.get $b) (i32.const 8)))
                (local.set $len (i32.sub (local.get $len) (i32.const 8)))
                (br $words))))
          (loop $bytes
            (if (local.get $len)
              (then
                (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
                (local.set $a (i32.add (local.get $a) (i32.const 1)))
                (local.set $b (i32.add (local.get $b) (i32.const 1)))
                (local.set $len (i32.sub (local.get $len) (i32.const 1)))
                (br $bytes))))
          (return (i32.const 1)))
        (i32.const 0))
      ;; One call of `echo` with the input; the length that came back.
      (func $echo_once (param $len i32) (result i32)
        (global.set $bump (i32.const {HEAP}))
        (call $echo (i32.const {INPUT}) (local.get $len) (i32.const {RET}))
        (i32.load offset=4 (i32.const {RET})))
      (func (export "run") (param $kind i32) (param $units i32) (param $n i32) (result i32)
        (local $d i32) (local $unit i32) (local $len i32) (local $i i32) (local $sum i32)
        (if (i32.eq (local.get $kind) (i32.const {ADD}))
          (then
            (loop $calls
              (if (i32.lt_u (local.get $i) (local.get $n))
                (then
                  (local.set $sum (call $add (local.get $sum) (local.get $i)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $calls))))
            (return (local.get $sum))))
        (local.set $d (i32.add (i32.const {DESCRIPTORS}) (i32.shl (local.get $kind) (i32.const 4))))
        (local.set $unit (i32.load offset=4 (local.get $d)))
        (local.set $len (i32.or (i32.mul (i32.load offset=8 (local.get $d)) (local.get $units))
                                (i32.load offset=12 (local.get $d))))
        (loop $fill
          (if (i32.lt_u (local.get $i) (local.get $units))
            (then
              (memory.copy (i32.add (i32.const {INPUT}) (i32.mul (local.get $i) (local.get $unit)))
                           (i32.load (local.get $d)) (local.get $unit))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $fill))))
        (if (i32.ne (call $echo_once (local.get $len)) (local.get $len))
          (then unreachable))
        (if (i32.eqz (call $same (i32.load (i32.const {RET})) (i32.const {INPUT})
                                 (i32.mul (local.get $unit) (local.get $units))))
          (then unreachable))
        (local.set $sum (local.get $len))
        (local.set $i (i32.const 0))
        (loop $calls
          (if (i32.lt_u (local.get $i) (local.get $n))
            (then
              (local.set $sum (i32.add (local.get $sum) (call $echo_once (local.get $len))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $calls))))
        (local.get $sum))"#
    )
}

/// The caller: `run` over the text of every script in `encoding`.
fn caller(encoding: Encoding) -> String {
    let code = caller_code();
    let data = caller_data(encoding);
    let encoding = encoding.name();
    format!(
        r#"(component $caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "add" (func $add (param "a" u32) (param "b" u32) (result u32)))
    (core module $libc
      (memory (export "memory") {PAGES})
      (global $bump (export "bump") (mut i32) (i32.const {HEAP}))
      {REALLOC})
    (core instance $libc (instantiate $libc))
    (core func $echo (canon lower (func $echo) (memory (core memory $libc "memory"))
      (realloc (core func $libc "realloc")) string-encoding={encoding}))
    (core func $add (canon lower (func $add)))
    (core module $m
      (import "libc" "memory" (memory 1))
      (import "libc" "bump" (global $bump (mut i32)))
      (import "callee" "echo" (func $echo (param i32 i32 i32)))
      (import "callee" "add" (func $add (param i32 i32) (result i32)))
      {data}
      {code})
    (core instance $i (instantiate $m
      (with "libc" (instance $libc))
      (with "callee" (instance (export "echo" (func $echo)) (export "add" (func $add))))))
    (func (export "run") (param "kind" u32) (param "units" u32) (param "n" u32) (result u32)
      (canon lift (core func $i "run"))))"#
    )
}

/// The composition of a caller passing strings in `caller` encoding to a
/// callee taking them in `callee` encoding, as WAT.
pub fn composition(caller_encoding: Encoding, callee_encoding: Encoding) -> String {
    format!(
        "(component\n  {}\n  (instance $callee (instantiate $callee))\n  {}\n  \
         (instance $caller (instantiate $caller\n    (with \"echo\" (func $callee \"echo\"))\n    \
         (with \"add\" (func $callee \"add\"))))\n  (export \"run\" (func $caller \"run\")))\n",
        callee(callee_encoding),
        caller(caller_encoding)
    )
}
