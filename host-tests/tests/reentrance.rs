//! Calls between a component and a component it contains
//! (`fixtures/wat/nested-calls.wat`). The component model's reference
//! runtime traps on such a call before the callee starts, as the component
//! model's own `trap-on-reenter.wast` expects; calls between siblings run.
//! Composed and fused must agree on every call, natively and through the
//! fuser component.

use anyhow::Result;

#[test]
fn calls_into_a_containing_or_contained_component_trap() -> Result<()> {
    let a = host_tests::exports_agree_fused("nested-calls.wat", 7, 2)?;
    let outcome = |name: &str| -> Vec<&str> {
        a.iter()
            .filter(|r| r.call.contains(&format!("#{name}(")))
            .map(|r| r.outcome.as_str())
            .collect()
    };
    for traps in [
        "root-into-child",
        "root-into-grandchild",
        "middle-into-child",
        "child-into-parent",
    ] {
        let o = outcome(traps);
        assert!(
            !o.is_empty() && o.iter().all(|o| *o == "trap"),
            "{traps}: {o:?}"
        );
    }
    for runs in ["middle-into-sibling", "leaf-double", "inner-inc"] {
        let o = outcome(runs);
        assert!(
            !o.is_empty() && o.iter().all(|o| *o != "trap"),
            "{runs}: {o:?}"
        );
    }
    Ok(())
}
