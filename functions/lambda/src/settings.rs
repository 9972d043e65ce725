//! The functions' settings, read once per cold start from the environment the SAM template
//! sets, each checked with the setting named in the error.

use artifact_monitor_aws::AwsSettings;
use artifact_monitor_http::{
    ByteBudget, DEFAULT_BYTES_IN_FLIGHT, DEFAULT_GITHUB_API, DEFAULT_INDEX,
    DEFAULT_MAX_PACKUMENT_BYTES, DEFAULT_REGISTRY,
};
use std::time::Duration;

/// Sub-minute ticks a poller invocation may run: 60 s divided evenly.
pub const TICK_SECONDS: [u64; 4] = [15, 20, 30, 60];

/// Everything a function reads from its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSettings {
    pub aws: AwsSettings,
    /// `REGISTRY_URL`: the npm registry (a private one, or the public default).
    pub registry: String,
    /// `CHANGES_FEED_URL`: the registry's changes feed; empty or unset: none, the sweep
    /// alone finds new versions.
    pub changes_feed: Option<String>,
    /// `INDEX_URL`: the Python package index (a private one, or the public default);
    /// `none` turns PyPI off (its artifacts are then refused when read).
    pub index: Option<String>,
    /// `INDEX_FEED`: `true` (the default) follows the index's RSS of new releases each
    /// tick while a PyPI artifact is watched; `false` leaves it to the sweep.
    pub index_feed: bool,
    /// `GITHUB_API_URL`: GitHub's API (GitHub Enterprise Server's `https://host/api/v3`);
    /// `none` turns GitHub lookups off (verdicts say so).
    pub github_api: Option<String>,
    /// `GITHUB_TOKEN_SECRET_ARN`: a Secrets Manager secret holding a GitHub token.
    pub github_token_secret: Option<String>,
    /// `REGISTRY_REQUESTS_PER_SECOND`: the request budget toward the registry.
    pub registry_requests_per_second: f64,
    /// `TICK_SECONDS`: 60 (one tick an invocation) or 15, 20, 30 (several, evenly apart).
    pub tick_seconds: u64,
    /// `HTTP_TIMEOUT_SECONDS`: one request to the registry or GitHub, at most.
    pub timeout: Duration,
    /// `CONCURRENCY`: requests in flight at once.
    pub concurrency: usize,
    /// `MAX_PACKUMENT_BYTES` and `MAX_BYTES_IN_FLIGHT`: the body bounds; in Lambda by
    /// default half the function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) in flight and
    /// the largest packument that budget holds, up to the library's 128 MiB.
    pub max_packument_bytes: u64,
    pub bytes_in_flight: u64,
    /// `METRICS_NAMESPACE`: where the poller reports its metrics (the age of the oldest
    /// undelivered alert), under the function's name (`AWS_LAMBDA_FUNCTION_NAME`); empty or
    /// unset: none (custom metrics are billed, the template sets it with its alarms).
    pub metrics: Option<MetricSettings>,
}

/// Where the poller's metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSettings {
    pub namespace: String,
    /// The `FunctionName` dimension.
    pub function: String,
}

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct SettingError {
    pub name: &'static str,
    pub message: String,
}

fn invalid(name: &'static str, message: impl Into<String>) -> SettingError {
    SettingError {
        name,
        message: message.into(),
    }
}

fn url(name: &'static str, value: String) -> Result<String, SettingError> {
    let trimmed = value.trim().trim_end_matches('/');
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        || trimmed.contains(char::is_whitespace)
    {
        return Err(invalid(name, format!("{value:?} is not an http(s) URL")));
    }
    Ok(trimmed.to_owned())
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    name: &'static str,
    value: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, SettingError> {
    let Some(text) = value else {
        return Ok(default);
    };
    let parsed: T = text
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("{text:?} is not a number")))?;
    if !range.contains(&parsed) {
        return Err(invalid(
            name,
            format!(
                "{parsed} is out of range: it must be from {} to {}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(parsed)
}

impl FunctionSettings {
    /// Reads the settings through `lookup` (the process environment in a Lambda).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let aws = AwsSettings::from_lookup(get).map_err(|e| SettingError {
            name: "AWS settings",
            message: e.to_string(),
        })?;
        let registry = match get("REGISTRY_URL") {
            Some(value) => url("REGISTRY_URL", value)?,
            None => DEFAULT_REGISTRY.to_owned(),
        };
        let changes_feed = get("CHANGES_FEED_URL")
            .map(|v| url("CHANGES_FEED_URL", v))
            .transpose()?;
        let index = match get("INDEX_URL") {
            Some(v) if v.trim().eq_ignore_ascii_case("none") => None,
            Some(v) => Some(url("INDEX_URL", v)?),
            None => Some(DEFAULT_INDEX.to_owned()),
        };
        let index_feed = match get("INDEX_FEED").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(invalid(
                    "INDEX_FEED",
                    format!(
                        "{:?} must be true or false",
                        artifact_monitor_core::domain::printable(other)
                    ),
                ));
            }
        };
        let github_api = match get("GITHUB_API_URL") {
            Some(v) if v.trim().eq_ignore_ascii_case("none") => None,
            Some(v) => Some(url("GITHUB_API_URL", v)?),
            None => Some(DEFAULT_GITHUB_API.to_owned()),
        };
        let github_token_secret = get("GITHUB_TOKEN_SECRET_ARN");
        if let Some(arn) = &github_token_secret
            && !arn.starts_with("arn:")
        {
            return Err(invalid(
                "GITHUB_TOKEN_SECRET_ARN",
                "a Secrets Manager secret ARN (arn:aws:secretsmanager:…)",
            ));
        }
        let tick_seconds = number("TICK_SECONDS", get("TICK_SECONDS"), 60, 1..=60)?;
        if !TICK_SECONDS.contains(&tick_seconds) {
            return Err(invalid(
                "TICK_SECONDS",
                format!("{tick_seconds} must be one of 15, 20, 30 or 60"),
            ));
        }
        let registry_requests_per_second = number(
            "REGISTRY_REQUESTS_PER_SECOND",
            get("REGISTRY_REQUESTS_PER_SECOND"),
            1.0,
            0.1..=1000.0,
        )?;
        let timeout = Duration::from_secs(number(
            "HTTP_TIMEOUT_SECONDS",
            get("HTTP_TIMEOUT_SECONDS"),
            20,
            1..=300,
        )?);
        let concurrency = number("CONCURRENCY", get("CONCURRENCY"), 8, 1..=64)?;
        // The function's memory bounds the bodies it holds at once: half of it by default
        // (parsing, the runtime and the SDK clients need the rest), never more than three
        // quarters. Outside Lambda the library's defaults apply.
        let memory = get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .map(|mb| number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Some(mb), 0, 128..=10_240))
            .transpose()?
            .map(|mb: u64| mb << 20);
        let bytes_in_flight = number(
            "MAX_BYTES_IN_FLIGHT",
            get("MAX_BYTES_IN_FLIGHT"),
            memory.map_or(DEFAULT_BYTES_IN_FLIGHT, |m| (m / 2).max(16 << 20)),
            16 << 20..=8 << 30,
        )?;
        if let Some(memory) = memory
            && bytes_in_flight > memory / 4 * 3
        {
            return Err(invalid(
                "MAX_BYTES_IN_FLIGHT",
                format!(
                    "{bytes_in_flight} is more than three quarters of the function's {} MiB",
                    memory >> 20
                ),
            ));
        }
        let max_packument_bytes = number(
            "MAX_PACKUMENT_BYTES",
            get("MAX_PACKUMENT_BYTES"),
            DEFAULT_MAX_PACKUMENT_BYTES.min(ByteBudget::new(bytes_in_flight).largest_body()),
            1 << 20..=1 << 30,
        )?;
        let metrics = match get("METRICS_NAMESPACE") {
            None => None,
            Some(namespace) => {
                let namespace = namespace.trim().to_owned();
                artifact_monitor_aws::metrics::check_namespace(&namespace)
                    .map_err(|e| invalid("METRICS_NAMESPACE", e.to_string()))?;
                let function = get("AWS_LAMBDA_FUNCTION_NAME").ok_or_else(|| {
                    invalid(
                        "AWS_LAMBDA_FUNCTION_NAME",
                        "the metrics are reported under the function's name, which Lambda sets",
                    )
                })?;
                Some(MetricSettings {
                    namespace,
                    function,
                })
            }
        };
        Ok(Self {
            aws,
            registry,
            changes_feed,
            index,
            index_feed,
            github_api,
            github_token_secret,
            registry_requests_per_second,
            tick_seconds,
            timeout,
            concurrency,
            max_packument_bytes,
            bytes_in_flight,
            metrics,
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<FunctionSettings, SettingError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FunctionSettings::from_lookup(move |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_public_services_and_one_tick_a_minute() {
        let s = read(&[("TABLE_NAME", "t")]).unwrap();
        assert_eq!(s.registry, DEFAULT_REGISTRY);
        assert_eq!(s.github_api.as_deref(), Some(DEFAULT_GITHUB_API));
        assert_eq!(s.changes_feed, None);
        assert_eq!(s.index.as_deref(), Some(DEFAULT_INDEX));
        assert!(s.index_feed);
        assert_eq!(s.tick_seconds, 60);
        assert_eq!(s.metrics, None);
        let s = read(&[
            ("TABLE_NAME", "t"),
            ("METRICS_NAMESPACE", "ArtifactMonitor"),
            ("AWS_LAMBDA_FUNCTION_NAME", "stack-Poller-1"),
        ])
        .unwrap();
        assert_eq!(
            s.metrics,
            Some(MetricSettings {
                namespace: "ArtifactMonitor".into(),
                function: "stack-Poller-1".into(),
            })
        );
        let s = read(&[
            ("TABLE_NAME", "t"),
            ("REGISTRY_URL", "https://npm.example.internal/"),
            ("CHANGES_FEED_URL", ""),
            ("GITHUB_API_URL", "none"),
            ("TICK_SECONDS", "20"),
        ])
        .unwrap();
        assert_eq!(s.registry, "https://npm.example.internal");
        assert_eq!(
            (s.changes_feed, s.github_api, s.tick_seconds),
            (None, None, 20)
        );
    }

    #[test]
    fn the_package_index_can_be_another_one_or_none_and_its_feed_turned_off() {
        let s = read(&[
            ("TABLE_NAME", "t"),
            ("INDEX_URL", "https://pypi.example.internal/"),
            ("INDEX_FEED", "false"),
        ])
        .unwrap();
        assert_eq!(s.index.as_deref(), Some("https://pypi.example.internal"));
        assert!(!s.index_feed);
        let s = read(&[("TABLE_NAME", "t"), ("INDEX_URL", "none")]).unwrap();
        assert_eq!(s.index, None);
        for (name, value) in [("INDEX_URL", "ftp://x"), ("INDEX_FEED", "yes")] {
            let refused = read(&[("TABLE_NAME", "t"), (name, value)]).unwrap_err();
            assert_eq!(refused.name, name, "{refused}");
        }
    }

    #[test]
    fn the_bodies_held_at_once_fit_the_functions_memory() {
        let s = read(&[("TABLE_NAME", "t")]).unwrap();
        assert_eq!(
            (s.bytes_in_flight, s.max_packument_bytes),
            (DEFAULT_BYTES_IN_FLIGHT, DEFAULT_MAX_PACKUMENT_BYTES),
            "outside Lambda, the library's defaults"
        );
        let in_lambda = |mb: &str| {
            let s = read(&[("TABLE_NAME", "t"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mb)]).unwrap();
            (s.bytes_in_flight >> 20, s.max_packument_bytes >> 20)
        };
        // The poller's 256 MB: 128 MiB in flight, of which 16 MiB for small bodies.
        assert_eq!(in_lambda("256"), (128, 112));
        assert_eq!(in_lambda("512"), (256, 128));
        assert_eq!(in_lambda("128"), (64, 56));
        let refused = read(&[
            ("TABLE_NAME", "t"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("MAX_BYTES_IN_FLIGHT", &(200u64 << 20).to_string()),
        ])
        .unwrap_err();
        assert_eq!(refused.name, "MAX_BYTES_IN_FLIGHT", "{refused}");
        let chosen = read(&[
            ("TABLE_NAME", "t"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("MAX_BYTES_IN_FLIGHT", &(192u64 << 20).to_string()),
        ])
        .unwrap();
        assert_eq!(chosen.bytes_in_flight, 192 << 20);
    }

    #[test]
    fn bad_settings_are_named() {
        for (pairs, name) in [
            (
                &[("TABLE_NAME", "t"), ("TICK_SECONDS", "25")][..],
                "TICK_SECONDS",
            ),
            (
                &[("TABLE_NAME", "t"), ("REGISTRY_URL", "ftp://x")][..],
                "REGISTRY_URL",
            ),
            (
                &[("TABLE_NAME", "t"), ("REGISTRY_REQUESTS_PER_SECOND", "0")][..],
                "REGISTRY_REQUESTS_PER_SECOND",
            ),
            (
                &[("TABLE_NAME", "t"), ("GITHUB_TOKEN_SECRET_ARN", "token")][..],
                "GITHUB_TOKEN_SECRET_ARN",
            ),
            (
                &[("TABLE_NAME", "t"), ("METRICS_NAMESPACE", "AWS/Lambda")][..],
                "METRICS_NAMESPACE",
            ),
            (
                &[
                    ("TABLE_NAME", "t"),
                    ("METRICS_NAMESPACE", "ArtifactMonitor"),
                ][..],
                "AWS_LAMBDA_FUNCTION_NAME",
            ),
            (&[][..], "AWS settings"),
        ] {
            assert_eq!(read(pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }
}
