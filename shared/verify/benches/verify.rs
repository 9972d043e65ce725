//! Verification throughput over the real npm attestations responses in tests/fixtures
//! (each response: one keyless SLSA provenance bundle and one keyed publish attestation),
//! and beside them the real PyPI Integrity API provenance objects (PEP 740: one keyless
//! publish attestation each, rewrapped as a bundle, bound to the file's sha256).
//!
//! Run: `cargo bench -p artifact-monitor-verify --bench verify`. Criterion reports the time per
//! response; responses/s per core = 1 / that time (the loop is single-threaded).

use artifact_monitor_verify::pypi::PypiFile;
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

/// The PyPI provenance objects from GitHub Actions, with the file each is for.
const PROVENANCE: &[(&str, &str, &str, &str)] = &[
    (
        "sampleproject-4.0.0.tar.gz.provenance",
        "sampleproject",
        "sampleproject-4.0.0.tar.gz",
        "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b",
    ),
    (
        "pypi_attestations-0.0.19.tar.gz.provenance",
        "pypi-attestations",
        "pypi_attestations-0.0.19.tar.gz",
        "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3",
    ),
];

fn load(name: &str) -> Vec<u8> {
    load_from("npm/attestations", name)
}

fn load_from(folder: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(folder)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
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

    let provenance: Vec<(&str, Vec<u8>, PypiFile<'_>)> = PROVENANCE
        .iter()
        .map(|(name, project, filename, digest)| {
            let file = PypiFile {
                project,
                filename,
                sha256: sha256(digest),
            };
            (*name, load_from("pypi/provenance", name), file)
        })
        .collect();
    for (name, document, file) in &provenance {
        verifier
            .verify_pypi_provenance(document, file)
            .unwrap_or_else(|e| panic!("{name} verifies: {e}"));
    }
    let mut pypi = c.benchmark_group("pypi_provenance");
    pypi.throughput(Throughput::Elements(1));
    for (name, document, file) in &provenance {
        pypi.bench_function(*name, |b| {
            b.iter(|| verifier.verify_pypi_provenance(black_box(document), file))
        });
    }
    pypi.finish();

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
