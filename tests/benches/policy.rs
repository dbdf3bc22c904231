//! Benchmark: a typical `where` clause evaluated through the Wasm engine (the built-in
//! `predicate` module, a fresh instance per evaluation) beside the same predicate evaluated
//! by the same evaluator compiled natively, in the same run; the cost of instantiating and
//! calling a trivial module; and evaluations per second from 2 threads.
//!
//! Run on demand (not in CI): `cargo bench -p portcullis-tests --bench policy --profile dev`
//! (`BENCH_SECONDS=N` changes the time of the throughput measurement, default 3).
//! `PROFILE_WASM=predicate` (or `trivial`) only evaluates that module in a loop for 3 s, for
//! a profiler (`perf record`); `PROFILE_WASM=parse` only parses the clause natively.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_policy::{Engine, EngineConfig, SharedHost, SystemHost};

const EXPRESSION: &str =
    r#"contains(user.spec.traits["team"], "dba") && !equals(user.metadata.name, "mallory")"#;
const SAMPLES: usize = 20_000;

const TRIVIAL: &str = r#"(module
  (@custom "portcullis.metadata" "{\"abi\":1,\"name\":\"trivial\",\"version\":\"1\",\"hooks\":[\"where\"],\"functions\":[],\"capabilities\":[]}")
  (memory (export "memory") 1)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 16) "{\"result\":true}")
  (func (export "portcullis_where") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 15))))"#;

fn time<F: FnMut()>(op: F) -> (Duration, Duration) {
    portcullis_tests::bench::latency(SAMPLES, op)
}

fn us(d: Duration) -> String {
    format!("{:.2} us", d.as_secs_f64() * 1e6)
}

fn main() {
    // Shared, as the server shares each evaluation's input with the call (no copy).
    let input = Arc::new(serde_json::json!({
        "expression": EXPRESSION,
        "user": {"kind": "user", "version": "v2", "metadata": {"name": "alice"},
                 "spec": {"roles": ["dev", "dba"], "traits": {"team": ["web", "dba"], "logins": ["alice"]}}},
        "resource": {"kind": "role", "version": "v3", "metadata": {"name": "dba"}},
        "verb": "read",
        "kind": "role",
    }));
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let predicate = engine
        .load(portcullis_server::modules::BUILTIN_PREDICATE, None)
        .unwrap();
    let trivial = engine
        .load(&wat::parse_str(TRIVIAL).unwrap(), None)
        .unwrap();
    let host: SharedHost = Arc::new(SystemHost);
    assert!(predicate.eval_where(input.clone(), &host).unwrap());
    assert!(predicate::evaluate(EXPRESSION, &input).unwrap());

    if std::env::var_os("PROFILE_WASM").is_some_and(|which| which == "parse") {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            std::hint::black_box(predicate::parse(EXPRESSION).unwrap());
        }
        return;
    }
    if let Some(which) = std::env::var_os("PROFILE_WASM") {
        let module = if which == "trivial" {
            &trivial
        } else {
            &predicate
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            module.eval_where(input.clone(), &host).unwrap();
        }
        return;
    }
    let (wasm50, wasm99) = time(|| {
        assert!(predicate.eval_where(input.clone(), &host).unwrap());
    });
    let (native50, native99) = time(|| {
        assert!(predicate::evaluate(EXPRESSION, &input).unwrap());
    });
    let (parse50, parse99) = time(|| {
        assert!(predicate::parse(EXPRESSION).is_ok());
    });
    let (inst50, inst99) = time(|| {
        assert!(trivial.eval_where(input.clone(), &host).unwrap());
    });
    println!("{:<44} {:>12} {:>12}", "where clause", "p50", "p99");
    println!(
        "{:<44} {:>12} {:>12}",
        "Wasm (predicate module, fresh instance)",
        us(wasm50),
        us(wasm99)
    );
    println!(
        "{:<44} {:>12} {:>12}",
        "native (same evaluator, no sandbox)",
        us(native50),
        us(native99)
    );
    println!(
        "{:<44} {:>12} {:>12}",
        "  of which parsing the clause (native)",
        us(parse50),
        us(parse99)
    );
    println!(
        "{:<44} {:>12.1} {:>12.1}",
        "ratio Wasm / native",
        wasm50.as_secs_f64() / native50.as_secs_f64(),
        wasm99.as_secs_f64() / native99.as_secs_f64()
    );
    println!(
        "{:<44} {:>12} {:>12}",
        "instantiate + call a trivial module",
        us(inst50),
        us(inst99)
    );

    let seconds = portcullis_tests::bench::seconds();
    let deadline = Instant::now() + seconds;
    let start = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let module = predicate.clone();
            let input = input.clone();
            let host = host.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    module.eval_where(input.clone(), &host).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    println!(
        "{:<44} {:>12.0}",
        "evaluations/s, 2 threads (Wasm)",
        total as f64 / start.elapsed().as_secs_f64()
    );
}
