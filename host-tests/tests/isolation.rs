//! Isolation: one component writing or reading out of its own memory's
//! bounds traps in the fused module exactly as in the composed one, and
//! never reaches another component's memory (`fixtures/wat/isolation.wat`).

use anyhow::Result;
use wasmtime::component::Val;
use wasmtime::{Engine, Store};

const PAGE: u32 = 65536;
const SECRET: &[u8] = b"the victim's secret";

/// One call: an export and its arguments.
type Call = (&'static str, Vec<Val>);

fn run(engine: &Engine, bytes: &[u8], calls: &[Call]) -> Result<Vec<Option<Vec<Val>>>> {
    host_tests::run::call_script(engine, bytes, calls)
}

/// Instantiates the `--core` module `core`, lets the attacker fill one
/// byte past its memory (which must trap), and returns the contents of
/// every exported memory.
fn memories_after_overfill(engine: &Engine, core: &[u8]) -> Result<Vec<Vec<u8>>> {
    let module = wasmtime::Module::new(engine, core)?;
    let mut store = Store::new(engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
    let fill = instance.get_typed_func::<u32, ()>(&mut store, "fill")?;
    assert!(
        fill.call(&mut store, PAGE + 1).is_err(),
        "filling past the end traps"
    );
    let memories: Vec<_> = instance
        .exports(&mut store)
        .filter_map(|e| e.into_memory())
        .collect();
    Ok(memories.iter().map(|m| m.data(&store).to_vec()).collect())
}

fn u32s(args: &[u32]) -> Vec<Val> {
    args.iter().map(|a| Val::U32(*a)).collect()
}

#[test]
fn out_of_bounds_traps_alike_and_never_reaches_another_memory() -> Result<()> {
    let engine = host_tests::run::engine()?;
    let composed = wat::parse_file(host_tests::repo_root().join("fixtures/wat/isolation.wat"))?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    let one_memory = solder::Options {
        single_memory: true,
        ..solder::Options::default()
    };
    let one = solder::fuse(&[&composed], &one_memory)?.bytes;
    let peek_secret: Vec<Call> = (0..SECRET.len() as u32)
        .map(|a| ("peek", u32s(&[a])))
        .collect();
    let scenarios: Vec<(&str, Vec<Call>, bool)> = vec![
        (
            "store at the last byte of its own memory",
            vec![
                ("poke", vec![Val::U32(PAGE - 1), Val::U8(7)]),
                ("read", u32s(&[PAGE - 1])),
            ],
            false,
        ),
        (
            "fill all of its own memory, then the victim's is intact",
            [vec![("fill", u32s(&[PAGE]))], peek_secret.clone()].concat(),
            false,
        ),
        (
            "store one byte past its memory",
            vec![("poke", vec![Val::U32(PAGE), Val::U8(1)])],
            true,
        ),
        (
            "store at the top of the address space",
            vec![("poke", vec![Val::U32(u32::MAX), Val::U8(1)])],
            true,
        ),
        (
            "fill past its memory",
            vec![("fill", u32s(&[PAGE + 1]))],
            true,
        ),
        (
            "send the victim a list from the end of its memory",
            vec![("send", u32s(&[PAGE - 4096, 4096]))],
            false,
        ),
        (
            "send the victim a list past its memory",
            vec![("send", u32s(&[PAGE - 10, 11]))],
            true,
        ),
        (
            "send the victim a list whose end wraps around",
            vec![("send", u32s(&[16, u32::MAX - 8]))],
            true,
        ),
    ];
    for (what, calls, traps) in &scenarios {
        let a = run(&engine, &composed, calls)?;
        let b = run(&engine, &fused, calls)?;
        assert_eq!(a, b, "{what}: composed and fused differ");
        let c = run(&engine, &one, calls)?;
        assert_eq!(a, c, "{what}: composed and one memory differ");
        assert_eq!(
            a.last().is_some_and(Option::is_none),
            *traps,
            "{what}: {a:?}"
        );
    }
    // Where it matters most, look inside: the fused core module's memories
    // after the attacker filled its own memory and ran past its end.
    let memories = memories_after_overfill(&engine, &host_tests::fuse_core(&composed)?)?;
    assert_eq!(memories.len(), 2, "both components' memories are exported");
    let victim = memories
        .iter()
        .find(|m| m.starts_with(SECRET))
        .expect("the victim's memory");
    assert!(
        victim[SECRET.len()..].iter().all(|b| *b == 0),
        "the victim's memory is as it was"
    );
    let attacker = memories
        .iter()
        .find(|m| !m.starts_with(SECRET))
        .expect("the attacker's memory");
    assert!(
        attacker.len() == PAGE as usize && attacker.iter().all(|b| *b == 0xaa),
        "the attacker filled exactly its own page"
    );

    // In one memory: the victim's secret is there once and nothing after
    // it changed; the attacker's fill is exactly one page.
    let core = solder::fuse(
        &[&composed],
        &solder::Options {
            output: solder::OutputKind::CoreModule,
            ..one_memory
        },
    )?
    .bytes;
    let memories = memories_after_overfill(&engine, &core)?;
    assert_eq!(memories.len(), 2, "`memory` and `memory1` are exported");
    assert_eq!(
        memories[0], memories[1],
        "every memory export is the one memory"
    );
    let one = &memories[0];
    let secret = one
        .windows(SECRET.len())
        .position(|w| w == SECRET)
        .expect("the victim's secret");
    assert!(
        one[secret + SECRET.len()..secret + PAGE as usize]
            .iter()
            .take(PAGE as usize - SECRET.len())
            .all(|b| *b == 0),
        "the victim's region is as it was"
    );
    assert_eq!(
        one.iter().filter(|b| **b == 0xaa).count(),
        PAGE as usize,
        "the attacker filled exactly its own page"
    );
    Ok(())
}
