//! The `serve` configuration file (TOML), read once into a typed struct.
//!
//! ```toml
//! interval_secs = 60            # poll interval
//! data_dir = ".artifact-monitor"
//! registry = "https://registry.npmjs.org"
//! github_api = "https://api.github.com"   # or github = false
//! webhook_url_env = "ARTIFACT_MONITOR_WEBHOOK_URL"   # the URL itself stays out of the file
//! changes_feed_url = "https://replicate.npmjs.com/registry"   # or changes_feed = false
//! index = "https://pypi.org"   # the Python package index (PyPI artifacts)
//! index_feed = true             # follow the index's RSS of new releases
//! registry_requests_per_sec = 1.0   # the request budget shared by all registry traffic
//!
//! [[artifacts]]
//! name = "sigstore"
//! repository = "sigstore/sigstore-js"
//! workflows = [".github/workflows/release.yml"]
//! allowed_refs = ["refs/heads/main"]
//!
//! [[artifacts]]
//! type = "pypi"
//! name = "sampleproject"
//! repository = "pypa/sampleproject"
//! workflows = [".github/workflows/release.yml"]
//! ```
//!
//! Every artifact entry takes the release-policy fields of [`PolicySpec`]; unknown keys are
//! refused, so a typo cannot silently weaken a policy.

use artifact_monitor_core::domain::{Artifact, Declarations, PolicySpec};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// An error about the file, cut to a readable length (the TOML parser quotes the offending
/// line, which may be hundreds of kilobytes long) and printable.
fn bounded(error: &str) -> String {
    const MAX: usize = 400;
    let lines: Vec<String> = error
        .lines()
        .map(|line| artifact_monitor_core::domain::printable(line).into_owned())
        .map(|line| {
            if line.chars().count() > MAX {
                let cut: String = line.chars().take(MAX).collect();
                format!("{cut}… ({} characters in all)", line.chars().count())
            } else {
                line.to_owned()
            }
        })
        .take(12)
        .collect();
    lines.join("\n")
}

/// Room for tens of thousands of artifacts; anything larger is not a config file.
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    interval_secs: Option<u64>,
    data_dir: Option<PathBuf>,
    registry: Option<String>,
    github_api: Option<String>,
    github: Option<bool>,
    webhook_url_env: Option<String>,
    concurrency: Option<usize>,
    changes_feed_url: Option<String>,
    changes_feed: Option<bool>,
    index: Option<String>,
    index_feed: Option<bool>,
    registry_requests_per_sec: Option<f64>,
    timeout_secs: Option<u64>,
    max_packument_bytes: Option<u64>,
    max_bytes_in_flight: Option<u64>,
    unverifiable_after_secs: Option<i64>,
    listen: Option<String>,
    #[serde(default)]
    artifacts: Vec<toml::Table>,
}

/// The parsed configuration.
#[derive(Debug, Default)]
pub struct Config {
    pub interval_secs: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub registry: Option<String>,
    pub github_api: Option<String>,
    pub github: Option<bool>,
    pub webhook_url_env: Option<String>,
    pub concurrency: Option<usize>,
    pub changes_feed_url: Option<String>,
    pub changes_feed: Option<bool>,
    pub index: Option<String>,
    pub index_feed: Option<bool>,
    pub registry_requests_per_sec: Option<f64>,
    pub timeout_secs: Option<u64>,
    pub max_packument_bytes: Option<u64>,
    pub max_bytes_in_flight: Option<u64>,
    pub unverifiable_after_secs: Option<i64>,
    pub listen: Option<String>,
    pub artifacts: Vec<Artifact>,
}

pub fn load(path: &Path) -> Result<Config, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "{} is larger than {MAX_CONFIG_BYTES} bytes",
            path.display()
        ));
    }
    parse(&text).map_err(|e| format!("{}: {}", path.display(), bounded(&e)))
}

pub fn parse(text: &str) -> Result<Config, String> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut artifacts = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for (index, mut table) in raw.artifacts.into_iter().enumerate() {
        let entry = |e: String| format!("artifacts[{index}]: {e}");
        let name = match table.remove("name") {
            Some(toml::Value::String(name)) => name,
            _ => return Err(entry("needs a name".to_owned())),
        };
        // Shown escaped: a newline in a name must not forge a line of the error output.
        let shown = artifact_monitor_core::domain::printable(&name).into_owned();
        let registry = match table.remove("type") {
            None => None,
            Some(toml::Value::String(t)) => Some(t),
            Some(other) => return Err(entry(format!("type: {other:?} is not a string"))),
        };
        let policy: PolicySpec = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| entry(format!("{shown}: {e}")))?;
        // The same checks as `POST /artifacts` and a stack's artifact (the core's rule).
        let artifact = Declarations::SNAKE
            .artifact(registry.as_deref(), &name, policy)
            .map_err(|e| entry(format!("{shown}: {e}")))?;
        if !keys.insert(artifact.key()) {
            return Err(entry(format!("{shown} is listed twice")));
        }
        artifacts.push(artifact);
    }
    Ok(Config {
        interval_secs: raw.interval_secs,
        data_dir: raw.data_dir,
        registry: raw.registry,
        github_api: raw.github_api,
        github: raw.github,
        webhook_url_env: raw.webhook_url_env,
        concurrency: raw.concurrency,
        changes_feed_url: raw.changes_feed_url,
        changes_feed: raw.changes_feed,
        index: raw.index,
        index_feed: raw.index_feed,
        registry_requests_per_sec: raw.registry_requests_per_sec,
        timeout_secs: raw.timeout_secs,
        max_packument_bytes: raw.max_packument_bytes,
        max_bytes_in_flight: raw.max_bytes_in_flight,
        listen: raw.listen,
        unverifiable_after_secs: raw.unverifiable_after_secs,
        artifacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_artifacts_with_their_policies() {
        let config = parse(
            r#"
            interval_secs = 30
            [[artifacts]]
            name = "@scope/pkg"
            repository = "o/r"
            workflows = [".github/workflows/release.yml", ".github/workflows/hotfix.yml"]
            allowed_refs = ["refs/tags/v*"]
            "#,
        )
        .unwrap();
        assert_eq!(config.interval_secs, Some(30));
        assert_eq!(config.artifacts[0].key(), "npm/@scope/pkg");
        assert_eq!(config.artifacts[0].policy.workflows.len(), 2);
        assert!(config.artifacts[0].policy.require_github_hosted_runner);
    }

    #[test]
    fn refuses_typos_bad_policies_and_duplicates() {
        let artifact =
            "name = \"p\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n";
        assert!(parse(&format!("[[artifacts]]\n{artifact}allowed_ref = [\"x\"]\n")).is_err());
        assert!(
            parse(&format!(
                "[[artifacts]]\n{artifact}[[artifacts]]\n{artifact}"
            ))
            .is_err()
        );
        assert!(
            parse("[[artifacts]]\nname = \"p\"\nrepository = \"o/r\"\nworkflows = []\n").is_err()
        );
        assert!(parse("[[artifacts]]\nname = \"P Q\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n").is_err());
        assert!(parse("intervall_secs = 5\n").is_err());
        assert!(parse(&format!("[[artifacts]]\ntype = \"maven\"\n{artifact}")).is_err());
        // A PyPI project's name is held PEP 503-normalised; a name no index allows is refused.
        let pypi = parse("[[artifacts]]\ntype = \"pypi\"\nname = \"Sample_Project\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n").unwrap();
        assert_eq!(pypi.artifacts[0].key(), "pypi/sample-project");
        assert!(parse("[[artifacts]]\ntype = \"pypi\"\nname = \"-bad-\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n").is_err());
    }

    #[test]
    fn a_name_cannot_forge_a_line_of_the_error() {
        let error = parse(
            "[[artifacts]]\nname = \"evil\\nartifact-monitor: tick done\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n",
        )
        .unwrap_err();
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains("evil\\u{a}artifact-monitor"), "{error}");
    }

    #[test]
    fn checks_a_policy_as_the_api_does_naming_the_field() {
        let artifact =
            "name = \"p\"\nrepository = \"o/r\"\nworkflows = [\".github/workflows/r.yml\"]\n";
        let error = parse(&format!("[[artifacts]]\n{artifact}owner_id = \"abc\"\n")).unwrap_err();
        assert_eq!(
            error,
            "artifacts[0]: p: owner_id: must be GitHub's numeric id"
        );
        let error = parse(&format!(
            "[[artifacts]]\n{artifact}environment = \"a\\nb\"\n"
        ))
        .unwrap_err();
        assert!(
            error.contains("environment: contains control characters"),
            "{error}"
        );
    }
}
