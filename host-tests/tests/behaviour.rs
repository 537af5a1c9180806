//! The behavioural fuzz target (`fuzz/src/behaviour.rs`) with fixed seeds:
//! generated components of several core modules sharing a memory, a table
//! and a global, with start functions and active and passive segments, run
//! composed and fused; both must do the same. `SOLDER_BEHAVIOUR_RUNS`
//! sets how many inputs to try (default 300).

#[path = "../../fuzz/src/behaviour.rs"]
mod behaviour;

use behaviour::Verdict;
use host_tests::run::Rng;

#[test]
fn composed_and_fused_behave_the_same() {
    let runs: usize = std::env::var("SOLDER_BEHAVIOUR_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let engine = behaviour::engine();
    let mut rng = Rng::new(0xbe4a_71e5);
    let (mut same, mut trapped, mut calls, mut exhausted) = (0, 0, 0, 0);
    for _ in 0..runs {
        let len = 64 + (rng.next_u64() % 1024) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        match behaviour::fuse_behaviour(&engine, &data) {
            Some(Verdict::Same(0)) => trapped += 1,
            Some(Verdict::Same(n)) => {
                same += 1;
                calls += n;
            }
            Some(Verdict::Declined(kind)) => panic!("declined: {kind}"),
            None => exhausted += 1,
        }
    }
    println!(
        "{runs} inputs: {same} instantiated ({calls} export calls), {trapped} trapped at instantiation in both, {exhausted} too short"
    );
    assert!(
        same >= runs / 3,
        "most inputs instantiate: {same} of {runs}"
    );
    assert!(
        trapped >= runs / 50,
        "some inputs trap at instantiation: {trapped} of {runs}"
    );
}
