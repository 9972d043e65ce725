//! `dist.signatures`: every recorded registry signature decided as recorded.

use artifact_monitor_tests::read;
use artifact_monitor_verify::{ErrorKind, NpmKeys, verify_registry_signature};
use serde_json::Value;

/// The embedded-equivalent registry keys and the recorded `dist.signatures` tuples.
fn recorded() -> (NpmKeys, Vec<Value>) {
    let keys = NpmKeys::from_json(&String::from_utf8(read("npm/keys/keys.json")).expect("text"))
        .expect("keys");
    let entries = serde_json::from_slice(&read("npm/registry-signatures.json")).expect("JSON");
    (keys, entries)
}

#[test]
fn every_recorded_registry_signature_is_decided_as_recorded() {
    let (keys, entries) = recorded();
    assert_eq!(entries.len(), 21);
    let field = |e: &Value, name: &str| e[name].as_str().unwrap_or_default().to_owned();
    for entry in &entries {
        let result = verify_registry_signature(
            &keys,
            &field(entry, "name"),
            &field(entry, "version"),
            &field(entry, "integrity"),
            &field(entry, "keyid"),
            &field(entry, "sig"),
            None,
        );
        let valid = entry["valid"].as_bool().expect("valid flag");
        assert_eq!(result.is_ok(), valid, "{entry}: {result:?}");
    }
}

#[test]
fn a_signature_over_another_version_or_by_an_expired_key_fails() {
    let (keys, entries) = recorded();
    let entry = entries
        .iter()
        .find(|e| e["name"] == "sigstore" && e["valid"] == true)
        .expect("sigstore entry");
    let text = |name: &str| entry[name].as_str().expect("field");
    let check = |version: &str, at: Option<i64>| {
        verify_registry_signature(
            &keys,
            text("name"),
            version,
            text("integrity"),
            text("keyid"),
            text("sig"),
            at,
        )
    };
    assert!(check(text("version"), Some(1_675_965_360)).is_ok());
    assert_eq!(check("1.0.1", None).unwrap_err().kind, ErrorKind::Signature);
    // The key expired on 2025-01-29; a version published after that cannot carry its signature.
    assert_eq!(
        check(text("version"), Some(1_767_225_600))
            .unwrap_err()
            .kind,
        ErrorKind::Trust
    );
}
