//! argon2id hash and verify at the defaults (m = 19 MiB, t = 2, p = 1), through `Passwords` as a
//! login calls it (on tokio's blocking threads). Figures go in `docs/src/performance.md`.

use cortex_auth::{PasswordConfig, Passwords};
use cortex_core::config::Profile;
use criterion::{Criterion, criterion_group, criterion_main};

fn passwords(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("a tokio runtime");
    let passwords =
        Passwords::new(&PasswordConfig::default(), &Profile::PROD).expect("the default parameters");
    let stored = runtime
        .block_on(passwords.hash("correct horse battery staple"))
        .expect("a hash");

    let mut group = c.benchmark_group("argon2id_defaults");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(passwords.hash("correct horse battery staple")))
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            runtime.block_on(passwords.verify("correct horse battery staple", stored.as_str()))
        })
    });
    group.bench_function("verify_unknown", |b| {
        b.iter(|| runtime.block_on(passwords.verify_unknown("correct horse battery staple")))
    });
    group.finish();
}

criterion_group!(benches, passwords);
criterion_main!(benches);
