//! The npm registry's signing keys (the `/-/npm/v1/keys` document) and the two things signed
//! with them: publish attestations and `dist.signatures`.

use super::{ErrorKind, VerificationError};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sigstore_verify::crypto::{SigningScheme, sha256, verify_signature};
use sigstore_verify::types::{DerPublicKey, SignatureBytes};
use spki::ObjectIdentifier;

/// More keys than the registry has ever published at once; a larger document is refused.
const MAX_KEYS: usize = 64;
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// One registry key: P-256, identified by its OpenSSH-style `SHA256:` fingerprint.
#[derive(Debug, Clone)]
pub struct NpmKey {
    pub keyid: String,
    /// The end of the key's validity, seconds since the epoch; `None` for a current key.
    pub expires: Option<i64>,
    spki: DerPublicKey,
}

/// The registry's keys, as served by `/-/npm/v1/keys`.
#[derive(Debug, Clone)]
pub struct NpmKeys {
    keys: Vec<NpmKey>,
}

#[derive(serde::Deserialize)]
struct KeysDocument {
    keys: Vec<KeyEntry>,
}

#[derive(serde::Deserialize)]
struct KeyEntry {
    keyid: String,
    keytype: String,
    scheme: String,
    key: String,
    expires: Option<String>,
}

fn trust(message: impl Into<String>) -> VerificationError {
    VerificationError::new(ErrorKind::Trust, message)
}

impl NpmKeys {
    /// Parses the keys document. Every key must be an ECDSA P-256 key whose declared keyid is
    /// its actual fingerprint: a document that mislabels a key is refused whole.
    pub fn from_json(json: &str) -> Result<Self, VerificationError> {
        let document: KeysDocument = serde_json::from_str(json)
            .map_err(|e| trust(format!("npm registry keys document is not valid: {e}")))?;
        if document.keys.is_empty() || document.keys.len() > MAX_KEYS {
            return Err(trust(format!(
                "npm registry keys document must hold 1 to {MAX_KEYS} keys, it holds {}",
                document.keys.len()
            )));
        }
        let keys = document
            .keys
            .into_iter()
            .map(NpmKey::from_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// The key with this keyid.
    pub fn get(&self, keyid: &str) -> Result<&NpmKey, VerificationError> {
        self.keys.iter().find(|k| k.keyid == keyid).ok_or_else(|| {
            trust(format!(
                "npm registry key {keyid:?} is not a known registry key"
            ))
        })
    }

    pub fn keys(&self) -> &[NpmKey] {
        &self.keys
    }
}

impl NpmKey {
    fn from_entry(entry: KeyEntry) -> Result<Self, VerificationError> {
        if entry.keytype != "ecdsa-sha2-nistp256" || entry.scheme != "ecdsa-sha2-nistp256" {
            return Err(trust(format!(
                "npm registry key {:?} has type {:?}/{:?}; only ecdsa-sha2-nistp256 is used",
                entry.keyid, entry.keytype, entry.scheme
            )));
        }
        let der = STANDARD.decode(entry.key.as_bytes()).map_err(|e| {
            trust(format!(
                "npm registry key {:?} is not base64: {e}",
                entry.keyid
            ))
        })?;
        let fingerprint = ssh_fingerprint(&der).map_err(|e| {
            trust(format!(
                "npm registry key {:?} is not a P-256 public key: {e}",
                entry.keyid
            ))
        })?;
        if fingerprint != entry.keyid {
            return Err(trust(format!(
                "npm registry key {:?} has fingerprint {fingerprint}: the keyid does not name the key",
                entry.keyid
            )));
        }
        let expires = entry
            .expires
            .map(|text| {
                text.parse::<jiff::Timestamp>()
                    .map(|t| t.as_second())
                    .map_err(|e| {
                        trust(format!(
                            "npm registry key {:?} has an unreadable expiry {text:?}: {e}",
                            entry.keyid
                        ))
                    })
            })
            .transpose()?;
        Ok(Self {
            keyid: entry.keyid,
            expires,
            spki: DerPublicKey::new(der),
        })
    }

    pub(crate) fn spki(&self) -> &DerPublicKey {
        &self.spki
    }

    /// Whether the key was valid at `time` (seconds since the epoch): the expiry instant
    /// itself is already outside the key's life.
    pub fn valid_at(&self, time: i64) -> bool {
        self.expires.is_none_or(|expires| time < expires)
    }

    /// Fails with a trust error when the key had expired at `time`.
    pub fn check_valid_at(&self, time: i64) -> Result<(), VerificationError> {
        if self.valid_at(time) {
            return Ok(());
        }
        let show = |t: i64| {
            jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |t| t.to_string())
        };
        Err(trust(format!(
            "npm registry key {} expired at {} but signed an entry logged at {}",
            self.keyid,
            show(self.expires.unwrap_or_default()),
            show(time)
        )))
    }
}

/// Why bytes are not a P-256 public key in SubjectPublicKeyInfo DER form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("not a DER SubjectPublicKeyInfo: {0}")]
    NotDer(String),
    #[error("not an elliptic-curve key")]
    NotEllipticCurve,
    #[error("no named curve")]
    NoNamedCurve,
    #[error("not on the P-256 curve")]
    NotP256,
    #[error("not an uncompressed P-256 point")]
    BadPoint,
}

/// `SHA256:` + unpadded base64 of the SHA-256 of the key in SSH wire format
/// (`string "ecdsa-sha2-nistp256" || string "nistp256" || string Q`), which is how
/// `ssh-keygen -lf` and the registry name a key. It is not a hash of the DER.
pub fn ssh_fingerprint(spki_der: &[u8]) -> Result<String, KeyFormatError> {
    use spki::der::Decode as _;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| KeyFormatError::NotDer(e.to_string()))?;
    if info.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(KeyFormatError::NotEllipticCurve);
    }
    let curve = info
        .algorithm
        .parameters_oid()
        .map_err(|_| KeyFormatError::NoNamedCurve)?;
    if curve != SECP256R1 {
        return Err(KeyFormatError::NotP256);
    }
    let point = info
        .subject_public_key
        .as_bytes()
        .ok_or(KeyFormatError::BadPoint)?;
    if point.len() != 65 || point[0] != 0x04 {
        return Err(KeyFormatError::BadPoint);
    }
    let mut wire = Vec::with_capacity(4 + 19 + 4 + 8 + 4 + 65);
    for field in [b"ecdsa-sha2-nistp256".as_slice(), b"nistp256", point] {
        let len = u32::try_from(field.len()).map_err(|_| KeyFormatError::BadPoint)?;
        wire.extend_from_slice(&len.to_be_bytes());
        wire.extend_from_slice(field);
    }
    Ok(format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha256(&wire).as_bytes())
    ))
}

/// Verifies one `dist.signatures` entry: an ECDSA P-256 / SHA-256 signature by a registry
/// key over `<name>@<version>:<integrity>`. `published_at` (seconds since the epoch), when
/// known, must fall inside the key's life.
pub fn verify_registry_signature(
    keys: &NpmKeys,
    name: &str,
    version: &str,
    integrity: &str,
    keyid: &str,
    signature_base64: &str,
    published_at: Option<i64>,
) -> Result<(), VerificationError> {
    let key = keys.get(keyid)?;
    if let Some(time) = published_at {
        key.check_valid_at(time)?;
    }
    let signature = STANDARD.decode(signature_base64.as_bytes()).map_err(|e| {
        VerificationError::new(
            ErrorKind::Malformed,
            format!("registry signature is not base64: {e}"),
        )
    })?;
    let message = format!("{name}@{version}:{integrity}");
    verify_signature(
        key.spki(),
        message.as_bytes(),
        &SignatureBytes::new(signature),
        SigningScheme::EcdsaP256Sha256,
    )
    .map_err(|_| {
        VerificationError::new(
            ErrorKind::Signature,
            format!("registry signature by {keyid} over {name}@{version} does not verify"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = include_str!("../../trust/npm-keys.json");

    #[test]
    fn embedded_keys_carry_their_own_fingerprints() {
        let keys = NpmKeys::from_json(KEYS).unwrap();
        assert_eq!(keys.keys().len(), 2);
        let old = keys
            .get("SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA")
            .unwrap();
        assert_eq!(old.expires, Some(1_738_108_800));
        assert!(old.valid_at(1_738_108_799));
        assert!(!old.valid_at(1_738_108_800));
        let current = keys
            .get("SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U")
            .unwrap();
        assert!(current.valid_at(i64::MAX));
    }

    #[test]
    fn a_mislabelled_key_is_refused() {
        let swapped = KEYS.replacen(
            "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
            "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U",
            1,
        );
        let error = NpmKeys::from_json(&swapped).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Trust);
        assert!(error.message.contains("does not name the key"), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_documents_are_trust_errors() {
        let keys = NpmKeys::from_json(KEYS).unwrap();
        assert_eq!(keys.get("SHA256:nope").unwrap_err().kind, ErrorKind::Trust);
        for bad in [
            "",
            "{}",
            r#"{"keys":[]}"#,
            r#"{"keys":[{"keyid":"x","keytype":"rsa","scheme":"rsa","key":"AA==","expires":null}]}"#,
        ] {
            assert_eq!(
                NpmKeys::from_json(bad).unwrap_err().kind,
                ErrorKind::Trust,
                "{bad}"
            );
        }
    }
}
