//! Dependency specs that do not resolve through the registry: git repositories (also the
//! `owner/repo` GitHub shorthand), URLs, tarballs and local paths. A version that gains one
//! installs code no registry integrity vouches for, and its `prepare` script runs on
//! install (the May 2026 worm added such an `optionalDependencies` entry to each version).

use std::collections::BTreeMap;

/// Where a dependency spec resolves from, after npm's own reading of specs
/// (npm-package-arg): aliases (`npm:`) and ranges, versions and tags come from the registry;
/// anything with a scheme, a path separator or a tarball name does not.
pub fn is_registry_spec(spec: &str) -> bool {
    let spec = spec.trim();
    if spec.starts_with("npm:") {
        return true;
    }
    // A scheme (`git+https:`, `github:`, `file:`, `http:`), a scp-like git remote
    // (`git@host:o/r`), a path (`./x`, `/x`, `~/x`, `C:\x`) or the `owner/repo` shorthand.
    if spec.contains([':', '/', '\\']) {
        return false;
    }
    let lower = spec.to_ascii_lowercase();
    !(lower.ends_with(".tgz") || lower.ends_with(".tar") || lower.ends_with(".tar.gz"))
}

/// The dependency kinds npm installs for a consumer (`devDependencies` are not installed
/// from a published package).
pub const INSTALLED_KINDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

/// Most entries kept per kind: a packument listing more is hostile, and the first ones
/// already raise the signal.
pub const MAX_KEPT: usize = 64;
/// Longest name or spec kept (longer ones are cut, marked with `…`).
pub const MAX_SPEC_CHARS: usize = 200;

/// Of one version's dependencies, those not from the registry: kind → name → spec.
pub type OutsideRegistry = BTreeMap<&'static str, BTreeMap<String, String>>;

/// `name (spec)` for every dependency in `current` that `previous` did not have with the
/// same spec, kinds in [`INSTALLED_KINDS`] order, as the signal shows them.
pub fn added_outside_registry(
    previous: &OutsideRegistry,
    current: &OutsideRegistry,
) -> Vec<String> {
    let mut added = Vec::new();
    for kind in INSTALLED_KINDS {
        let Some(now) = current.get(kind) else {
            continue;
        };
        let before = previous.get(kind);
        for (name, spec) in now {
            if before.and_then(|b| b.get(name)) != Some(spec) {
                added.push(format!("{name} ({spec}) in {kind}"));
            }
        }
    }
    added
}

/// `text` cut to [`MAX_SPEC_CHARS`] characters, control characters escaped.
pub fn bounded(text: &str) -> String {
    let printable = crate::domain::printable(text);
    if printable.chars().count() <= MAX_SPEC_CHARS {
        return printable.into_owned();
    }
    let mut cut: String = printable.chars().take(MAX_SPEC_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_specs_and_the_others() {
        for spec in [
            "^1.2.3",
            "~1.2.3",
            "1.x || >=2.5.0 || 5.0.0 - 7.2.3",
            "latest",
            "next",
            "*",
            "",
            "2.0.0-beta.1",
            "npm:@scope/pkg@^1.0.0",
            "npm:string-width@^4.2.0",
            ">= 1.0.0 < 2",
        ] {
            assert!(is_registry_spec(spec), "{spec:?} is a registry spec");
        }
        for spec in [
            "git+https://github.com/o/r.git#c0ffee",
            "git://github.com/o/r.git",
            "git+ssh://git@github.com:o/r.git",
            "git@github.com:o/r.git",
            "github:tanstack/router#7a1c6f0",
            "gitlab:o/r",
            "bitbucket:o/r",
            "gist:11081aaa281",
            "tanstack/router#refs/heads/orphan",
            "o/r",
            "https://example.com/pkg.tgz",
            "http://example.com/x",
            "file:../local",
            "link:../x",
            "./local-dir",
            "../pkg",
            "/abs/path",
            "~/pkg",
            "C:\\pkg",
            "pkg-1.0.0.tgz",
            "pkg.tar.gz",
            "PKG.TAR",
            "workspace:*",
        ] {
            assert!(!is_registry_spec(spec), "{spec:?} is not from the registry");
        }
    }

    #[test]
    fn only_new_or_changed_outside_specs_count() {
        let map = |entries: &[(&'static str, &str, &str)]| {
            let mut out = OutsideRegistry::new();
            for (kind, name, spec) in entries {
                out.entry(*kind)
                    .or_default()
                    .insert((*name).to_owned(), (*spec).to_owned());
            }
            out
        };
        let before = map(&[("dependencies", "a", "github:o/a#v1")]);
        assert!(added_outside_registry(&before, &before).is_empty());
        let after = map(&[
            ("dependencies", "a", "github:o/a#v2"),
            ("optionalDependencies", "setup", "github:evil/x#orphan"),
        ]);
        assert_eq!(
            added_outside_registry(&before, &after),
            [
                "a (github:o/a#v2) in dependencies",
                "setup (github:evil/x#orphan) in optionalDependencies"
            ]
        );
        assert_eq!(
            bounded(&"x".repeat(500)).chars().count(),
            MAX_SPEC_CHARS + 1
        );
        assert_eq!(bounded("a\nb"), "a\\u{a}b");
    }
}
