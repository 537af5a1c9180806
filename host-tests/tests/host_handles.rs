//! Handles to the host's resources passed in memory: `wasi:io/poll#poll`
//! takes a list of borrowed pollables from the caller's memory
//! (`fixtures/wat/host-handles.wat`). The host must see its own handles,
//! each component instance keep its own numbering, and the caller's memory
//! stay as the caller wrote it; composed and fused must agree, natively and
//! through the fuser component.

use anyhow::Result;

#[test]
fn a_list_of_borrowed_host_handles() -> Result<()> {
    let a = host_tests::exports_agree_fused("host-handles.wat", 5, 3)?;
    let runs: Vec<u64> = a
        .iter()
        .filter(|r| r.call.contains("run"))
        .map(|r| {
            r.outcome
                .trim_start_matches("U64(")
                .trim_end_matches(')')
                .parse()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}: {a:?}"))?;
    assert_eq!(runs.len(), 6, "{a:?}");
    for r in runs {
        // Three ready pollables (indices 0, 1 and 2 in the host's order),
        // and the list unchanged.
        let (list, ready) = (r / 1000 % 1000, r / 1_000_000);
        assert_eq!(list, 111, "the caller's list changed: {r}");
        let mut digits: Vec<u64> = (0..3).map(|i| ready / 10u64.pow(i) % 10).collect();
        digits.sort_unstable();
        assert_eq!((ready / 1000, digits), (3, vec![0, 1, 2]), "{r}");
    }
    Ok(())
}

/// Runs a fixed script against `host-borrows-export.wat`: the host gets
/// pollables from one instance and lends them back to both instances' root
/// exports in a list, a tuple, an option and spilled parameters. Each
/// call's result, or its trap, in order.
fn lend_script(bytes: &[u8]) -> Result<Vec<String>> {
    use wasmtime::Store;
    use wasmtime::component::{Component, Linker, Val};
    let shared = host_tests::shared();
    let engine = &shared.engine;
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(engine, host_tests::run::Host::new(&[], &[]));
    let instance = linker.instantiate(&mut store, &component)?;
    let call = |store: &mut Store<_>, name: &str, args: &[Val]| -> Result<String> {
        let func = instance
            .get_func(&mut *store, name)
            .ok_or_else(|| anyhow::anyhow!("no export {name}"))?;
        let mut results = vec![Val::Bool(false); 1];
        Ok(match func.call(&mut *store, args, &mut results) {
            Ok(()) => format!("{name} = {:?}", results[0]),
            Err(e) => format!("{name} traps: {e:?}"),
        })
    };
    let mut out = vec![call(&mut store, "a-hold", &[])?];
    let mut handles = Vec::new();
    for _ in 0..3 {
        let mut r = vec![Val::Bool(false)];
        instance
            .get_func(&mut store, "a-sub")
            .ok_or_else(|| anyhow::anyhow!("no export a-sub"))?
            .call(&mut store, &[], &mut r)?;
        match r.pop() {
            Some(Val::Resource(h)) => handles.push(h),
            other => anyhow::bail!("a-sub returned {other:?}"),
        }
    }
    let h = |i: usize| Val::Resource(handles[i]);
    let list = |ix: &[usize]| Val::List(ix.iter().map(|&i| h(i)).collect());
    for name in ["a-check", "b-check"] {
        let args = [
            list(&[0, 1, 0, 2]),
            Val::Tuple(vec![Val::U32(7), h(2)]),
            Val::Option(Some(Box::new(h(1)))),
        ];
        out.push(call(&mut store, name, &args)?);
        let args = [
            list(&[]),
            Val::Tuple(vec![Val::U32(9), h(0)]),
            Val::Option(None),
        ];
        out.push(call(&mut store, name, &args)?);
    }
    for name in ["a-spill", "b-spill"] {
        let mut args = vec![h(1)];
        args.extend((1..=15).map(Val::U32));
        args.push(h(2));
        out.push(call(&mut store, name, &args)?);
    }
    // Every borrow ended: the host can drop what it owns.
    for h in handles {
        out.push(format!("drop: {:?}", h.resource_drop(&mut store).is_ok()));
    }
    Ok(out)
}

#[test]
fn host_handles_lent_to_an_export_in_memory() -> Result<()> {
    let composed =
        wat::parse_file(host_tests::repo_root().join("fixtures/wat/host-borrows-export.wat"))?;
    let fused = host_tests::fuse_both_ways("host-borrows-export.wat", &composed)?;
    let a = lend_script(&composed)?;
    let b = lend_script(&fused)?;
    assert!(a.iter().all(|l| !l.contains("trap")), "{a:#?}");
    assert_eq!(a, b);
    Ok(())
}
