//! Benchmark: the `approve-dba` example policy in each of its languages, through the
//! server's engine — Rust, C, Zig and AssemblyScript (core modules, ABI v1), Python,
//! JavaScript and Rust again (components, ABI v2).
//!
//! Per language: compile time (once, cache off), the instantiation alone (p50, and the
//! linear memory an instance holds), and whole evaluations (p50/p99: a fresh instance, the
//! input passed, the decision read back and checked) of the first conformance case. The
//! ratio of each language's p50 to the Rust module's, measured in the same run, is printed
//! last. Languages take turns over rounds so that noise hits all of them.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench languages --profile dev`
//! (`BENCH_SAMPLES=N` evaluations per language and round, default 200; `BENCH_ROUNDS`,
//! default 5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_policy::{Engine, EngineConfig, FixedClockHost, Limits, SharedHost, Verdict};
use portcullis_tests::bench::{env_usize, p50_p99};
use portcullis_tests::policies::{build_example, conformance_cases, Lang};

fn main() {
    let samples = env_usize("BENCH_SAMPLES", 200);
    let rounds = env_usize("BENCH_ROUNDS", 5);
    let cases = conformance_cases();
    let case = &cases[0];
    let input = Arc::new(case["input"].clone());
    let host: SharedHost = Arc::new(FixedClockHost(case["now_ms"].as_i64().unwrap()));
    // Components run a language runtime: give every module room for one (the same limits
    // for all, so the ratios compare the code, not the limits).
    let limits = Limits {
        fuel: 1_000_000_000,
        timeout: Duration::from_secs(5),
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    let engine = Engine::new(EngineConfig {
        defaults: limits,
        max_memory_bytes: limits.memory_bytes,
        max_instances: 16,
        ..EngineConfig::default()
    })
    .unwrap();

    println!("language        size      compile   instantiate  memory/instance");
    let mut modules = Vec::new();
    for lang in Lang::ALL {
        let wasm = std::fs::read(build_example(lang)).unwrap();
        let start = Instant::now();
        let module = engine
            .load(&wasm, None)
            .unwrap_or_else(|e| panic!("{lang:?}: {e}"));
        let compile = start.elapsed();
        let mut probes: Vec<_> = (0..samples.min(50))
            .map(|_| module.probe_instance().unwrap())
            .collect();
        let memory = probes[0].memory_bytes;
        let mut times: Vec<Duration> = probes.iter_mut().map(|p| p.elapsed).collect();
        let (p50, _) = p50_p99(&mut times);
        println!(
            "{:<14} {:>6.1} MiB {:>8.2?} {:>11.2?} {:>10.1} MiB",
            lang.dir_name(),
            wasm.len() as f64 / f64::from(1 << 20),
            compile,
            p50,
            memory as f64 / f64::from(1 << 20),
        );
        modules.push((lang, module, Vec::new()));
    }

    for _ in 0..rounds {
        for (lang, module, times) in &mut modules {
            for _ in 0..samples {
                let start = Instant::now();
                let decision = module
                    .eval_access_request(input.clone(), &host)
                    .unwrap_or_else(|e| panic!("{lang:?}: {e}"));
                times.push(start.elapsed());
                assert_eq!(decision.verdict, Verdict::Approve, "{lang:?}");
            }
        }
    }

    println!("\nevaluation (fresh instance + decide), {rounds} rounds x {samples}:");
    println!("language        p50         p99       x Rust (p50)");
    let mut rust_p50 = None;
    let mut slowest = (Lang::Rust, 0.0);
    for (lang, _, times) in &mut modules {
        let (p50, p99) = p50_p99(times);
        let base = *rust_p50.get_or_insert(p50);
        let ratio = p50.as_secs_f64() / base.as_secs_f64();
        if ratio > slowest.1 {
            slowest = (*lang, ratio);
        }
        println!(
            "{:<14} {:>10.2?} {:>10.2?}   x{ratio:.1}",
            lang.dir_name(),
            p50,
            p99
        );
    }
    println!(
        "\nslowest: {} at x{:.1} the Rust module's p50",
        slowest.0.dir_name(),
        slowest.1
    );
}
