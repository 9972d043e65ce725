//! Verification throughput over the real npm attestations responses in tests/fixtures
//! (each response: one keyless SLSA provenance bundle and one keyed publish attestation).
//!
//! Run: `cargo bench -p artifact-monitor-verify --bench verify`. Criterion reports the time per
//! response; responses/s per core = 1 / that time (the loop is single-threaded).

use artifact_monitor_verify::{Expectation, ProvenanceVerifier};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

const RESPONSES: &[&str] = &[
    "sigstore@1.0.0.json",
    "sigstore@2.3.1.json",
    "@laurentsimon__provenance-npm-test@1.0.0.json",
    "@laurentsimon__provenance-npm-test@1.0.3.json",
    "@laurentsimon__provenance-npm-test@1.0.5.json",
    "@playwright__cli@0.1.1.json",
];

fn load(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/npm/attestations")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let verifier = ProvenanceVerifier::embedded().expect("embedded trust material");
    let documents: Vec<(&str, Vec<u8>)> = RESPONSES.iter().map(|n| (*n, load(n))).collect();
    let expectation = Expectation::none();
    for (_, document) in &documents {
        verifier
            .verify_document(document, &expectation)
            .expect("every benchmarked response verifies");
    }

    let mut group = c.benchmark_group("npm_attestations_response");
    group.throughput(Throughput::Elements(1));
    for (name, document) in &documents {
        group.bench_function(*name, |b| {
            b.iter(|| verifier.verify_document(black_box(document), &expectation))
        });
    }
    group.finish();

    let mut all = c.benchmark_group("npm_attestations_all");
    all.throughput(Throughput::Elements(documents.len() as u64));
    all.bench_function("six_real_responses", |b| {
        b.iter(|| {
            for (_, document) in &documents {
                black_box(verifier.verify_document(black_box(document), &expectation)).ok();
            }
        })
    });
    all.finish();

    // The cryptographic floor: one ECDSA P-256 verification by a registry key (what the
    // SET, checkpoint, SCT and DSSE checks each cost; a keyless and a keyed bundle need
    // seven between them, plus two P-384 verifications for the Fulcio chain).
    let keys = verifier.npm_keys();
    c.bench_function("one_p256_registry_signature", |b| {
        b.iter(|| {
            artifact_monitor_verify::verify_registry_signature(
                keys,
                "sigstore",
                "1.0.0",
                "sha512-e+qfbn/zf1+rCza/BhIA//Awmf0v1pa5HQS8Xk8iXrn9bgytytVLqYD0P7NSqZ6IELTgq+tcDvLPkQjNHyWLNg==",
                "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
                "MEQCIBlpcHT68iWOpx8pJr3WUzD1EqQ7tb0CmY36ebbceR6IAiAVGRaxrFoyh0/5B7H1o4VFhfsHw9F8G+AxOZQq87q+lg==",
                None,
            )
            .expect("the recorded signature verifies")
        })
    });

    c.bench_function("verifier_construction", |b| {
        b.iter(|| ProvenanceVerifier::embedded().expect("trust"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
