//! The parts of an npm packument the monitor reads, parsed from hostile bytes.
//!
//! Only the fields a verdict needs are kept; everything else (readmes, dependency maps,
//! PGP signatures) is skipped while parsing, so a document of tens of megabytes costs little
//! more memory than its own bytes. Fields of an unexpected type are read leniently where the
//! registry has historically varied (maintainers as strings, `time.unpublished` objects) and
//! rejected otherwise.

use crate::domain::{Publisher, parse_time};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// A parsed packument (the full `application/json` document).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Packument {
    pub name: String,
    #[serde(rename = "dist-tags", default)]
    pub dist_tags: BTreeMap<String, String>,
    /// Required: a document without it is not a packument (and must not read as "every
    /// version unpublished").
    pub versions: BTreeMap<String, VersionManifest>,
    /// Publish time per version (plus `created` / `modified`), RFC 3339 strings. Entries
    /// that are not strings (such as `unpublished`) are dropped.
    #[serde(default, deserialize_with = "string_map")]
    pub time: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "people")]
    pub maintainers: Vec<String>,
}

/// One entry of `versions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionManifest {
    #[serde(default)]
    pub dist: Dist,
    #[serde(rename = "_npmUser", default, deserialize_with = "publisher")]
    pub publisher: Option<Publisher>,
    #[serde(default)]
    pub scripts: InstallScripts,
    #[serde(rename = "gitHead", default)]
    pub git_head: Option<String>,
    /// Of `dependencies`, `optionalDependencies` and `peerDependencies`, only the entries
    /// whose spec does not resolve through the registry (a git, URL, file or tarball spec).
    #[serde(default, deserialize_with = "outside_registry")]
    pub dependencies: BTreeMap<String, String>,
    #[serde(
        rename = "optionalDependencies",
        default,
        deserialize_with = "outside_registry"
    )]
    pub optional_dependencies: BTreeMap<String, String>,
    #[serde(
        rename = "peerDependencies",
        default,
        deserialize_with = "outside_registry"
    )]
    pub peer_dependencies: BTreeMap<String, String>,
}

impl VersionManifest {
    /// The dependencies from outside the registry, by kind.
    pub fn outside_registry(&self) -> super::OutsideRegistry {
        let [deps, optional, peer] = super::INSTALLED_KINDS;
        [
            (deps, &self.dependencies),
            (optional, &self.optional_dependencies),
            (peer, &self.peer_dependencies),
        ]
        .into_iter()
        .filter(|(_, map)| !map.is_empty())
        .map(|(kind, map)| (kind, map.clone()))
        .collect()
    }
}

/// `dist`: where the tarball is and what vouches for it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dist {
    pub integrity: Option<String>,
    pub tarball: Option<String>,
    pub attestations: Option<DistAttestations>,
}

/// `dist.attestations`: the registry says this version has attestations at `url`.
#[derive(Debug, Clone, Deserialize)]
pub struct DistAttestations {
    pub url: String,
    pub provenance: Option<ProvenanceHint>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProvenanceHint {
    #[serde(rename = "predicateType")]
    pub predicate_type: Option<String>,
}

/// The lifecycle scripts npm runs on install. Other scripts do not run on install and are
/// not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InstallScripts {
    #[serde(default, deserialize_with = "script")]
    pub preinstall: Option<String>,
    #[serde(default, deserialize_with = "script")]
    pub install: Option<String>,
    #[serde(default, deserialize_with = "script")]
    pub postinstall: Option<String>,
}

impl InstallScripts {
    /// Names of the install-time scripts present.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.preinstall.is_some() {
            names.push("preinstall");
        }
        if self.install.is_some() {
            names.push("install");
        }
        if self.postinstall.is_some() {
            names.push("postinstall");
        }
        names
    }
}

/// Why a packument could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packument is not valid: {0}")]
pub struct PackumentError(pub String);

impl Packument {
    /// Parses a full packument.
    pub fn parse(bytes: &[u8]) -> Result<Self, PackumentError> {
        // serde would read a struct from a JSON array too; a packument is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(PackumentError("not a JSON object".to_owned()));
        }
        serde_json::from_slice(bytes).map_err(|e| PackumentError(e.to_string()))
    }

    /// The publish time of `version` in seconds since the epoch, when the `time` map has a
    /// readable one.
    pub fn published_at(&self, version: &str) -> Option<i64> {
        parse_time(self.time.get(version)?)
    }

    /// `time.modified`: when the document last changed.
    pub fn modified(&self) -> Option<i64> {
        parse_time(self.time.get("modified")?)
    }

    /// Versions in `versions`, oldest publish first (versions without a time last, by name).
    pub fn versions_by_publish_time(&self) -> Vec<&str> {
        let mut versions: Vec<(&str, Option<i64>)> = self
            .versions
            .keys()
            .map(|v| (v.as_str(), self.published_at(v)))
            .collect();
        versions.sort_by(|a, b| match (a.1, b.1) {
            (Some(x), Some(y)) => x.cmp(&y).then(a.0.cmp(b.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.0.cmp(b.0),
        });
        versions.into_iter().map(|(v, _)| v).collect()
    }
}

fn script<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    // A script that is not a string still runs nothing npm would recognise; keep its
    // presence visible anyway, since the registry accepted it.
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct StringMap;
    impl<'de> Visitor<'de> for StringMap {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if let MaybeText(Some(value)) = map.next_value()? {
                    out.insert(key, value.into_owned());
                }
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
    }
    deserializer.deserialize_any(StringMap)
}

/// A dependency map, keeping only the (bounded) entries whose spec is not a registry one;
/// the rest is read and dropped, so a large map costs no memory.
fn outside_registry<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct Outside;
    impl<'de> Visitor<'de> for Outside {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a dependency map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Names and specs are borrowed from the document where they have no escapes:
            // the registry ranges almost every entry holds cost no allocation.
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<Text<'de>>()? {
                if let MaybeText(Some(spec)) = map.next_value()?
                    && !super::is_registry_spec(spec.as_str())
                    && out.len() < super::dependency::MAX_KEPT
                {
                    out.insert(
                        super::dependency::bounded(name.as_str()),
                        super::dependency::bounded(spec.as_str()),
                    );
                }
            }
            Ok(out)
        }
        // Anything but an object (an array, a string, null) declares no dependency npm
        // would install.
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(BTreeMap::new())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
    }
    deserializer.deserialize_any(Outside)
}

/// A string, borrowed from the input when it has no escapes.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }

    fn into_owned(self) -> String {
        match self {
            Self::Borrowed(s) => s.to_owned(),
            Self::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match MaybeText::deserialize(deserializer)? {
            MaybeText(Some(text)) => Ok(text),
            MaybeText(None) => Err(de::Error::custom("expected a string")),
        }
    }
}

/// Any JSON value, kept (borrowed where it can be) only when it is a string.
struct MaybeText<'de>(Option<Text<'de>>);

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Owned(v))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A maintainer: `{"name": ...}` or the legacy `"name <email>"` string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Person {
    Object {
        #[serde(default)]
        name: Option<String>,
    },
    Text(String),
}

impl Person {
    fn name(self) -> Option<String> {
        match self {
            Self::Object { name } => name,
            Self::Text(text) => {
                let name = text.split('<').next().unwrap_or("").trim();
                (!name.is_empty()).then(|| name.to_owned())
            }
        }
    }
}

fn people<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum People {
        Many(Vec<Person>),
        One(Person),
    }
    Ok(match Option::<People>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(People::Many(list)) => list.into_iter().filter_map(Person::name).collect(),
        Some(People::One(person)) => person.name().into_iter().collect(),
    })
}

fn publisher<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Publisher>, D::Error> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(rename = "trustedPublisher", default)]
        trusted_publisher: Option<TrustedPublisher>,
    }
    #[derive(Deserialize)]
    struct TrustedPublisher {
        #[serde(default)]
        id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Object(Raw),
        Text(String),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        None => None,
        Some(Either::Text(name)) => Some(Publisher {
            name,
            email: None,
            trusted_publisher: None,
        }),
        Some(Either::Object(raw)) => Some(Publisher {
            name: raw.name.unwrap_or_default(),
            email: raw.email,
            trusted_publisher: raw
                .trusted_publisher
                .map(|t| t.id.unwrap_or_else(|| "unknown".to_owned())),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_a_verdict_needs() {
        let doc = br#"{"name":"p","dist-tags":{"latest":"1.1.0"},
            "time":{"created":"2026-01-01T00:00:00.000Z","1.0.0":"2026-01-01T00:00:00.000Z",
                    "1.1.0":"2026-02-01T00:00:00Z","unpublished":{"time":"x","versions":["0.9.0"]}},
            "maintainers":[{"name":"a","email":"a@x"},"b <b@x>"],
            "readme":"long text",
            "versions":{
              "1.1.0":{"dist":{"integrity":"sha512-x","tarball":"t","attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}},
                       "_npmUser":{"name":"GitHub Actions","email":"npm-oidc-no-reply@github.com","trustedPublisher":{"id":"github","oidcConfigId":"oidc:1"}},
                       "scripts":{"test":"x","postinstall":"node evil.js"},"gitHead":"abc"},
              "1.0.0":{"dist":{"integrity":"sha512-y"},"_npmUser":"alice <a@x>","maintainers":"alice"}}}"#;
        let p = Packument::parse(doc).unwrap();
        assert_eq!(p.maintainers, ["a", "b"]);
        assert_eq!(p.versions_by_publish_time(), ["1.0.0", "1.1.0"]);
        assert!(!p.time.contains_key("unpublished"));
        let v = &p.versions["1.1.0"];
        assert_eq!(v.scripts.names(), ["postinstall"]);
        assert_eq!(
            v.publisher.as_ref().unwrap().trusted_publisher.as_deref(),
            Some("github")
        );
        assert_eq!(v.dist.attestations.as_ref().unwrap().url, "u");
        assert_eq!(
            p.versions["1.0.0"].publisher.as_ref().unwrap().name,
            "alice <a@x>"
        );
        assert_eq!(p.published_at("1.1.0"), Some(1_769_904_000));
    }

    #[test]
    fn rejects_documents_that_are_not_packuments() {
        assert!(Packument::parse(b"[\"p\", {}]").is_err());
        assert!(Packument::parse(b"{\"name\":\"p\"}").is_err());
        assert!(Packument::parse(b"{\"versions\":[1]}").is_err());
        assert!(Packument::parse(b"{\"versions\":{").is_err());
    }
}
