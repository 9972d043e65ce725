//! The AWS side's settings, read once from an injected lookup (the process environment in
//! a Lambda), and the SDK clients built once from them.
//!
//! Credentials, region and endpoint come from the standard AWS environment
//! (`AWS_REGION`, `AWS_ENDPOINT_URL` — moto in tests —, the Lambda role); timeouts and
//! retries are set here, explicitly, so no call can hang past a function's deadline.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// The names of the resources the functions use (the SAM template sets them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table: String,
    /// `ALERT_TOPIC_ARN`: where alerts are published (absent: a function that sends none).
    pub alert_topic_arn: Option<String>,
    /// `EVENT_BUS_NAME`: the project's EventBridge bus (absent: a function that emits none).
    pub event_bus: Option<String>,
    /// `DASHBOARD_URL`: linked from alerts.
    pub dashboard_url: Option<String>,
}

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, String),
}

impl AwsSettings {
    /// Reads the settings through `lookup` (e.g. `|name| std::env::var(name).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let table = get("TABLE_NAME").ok_or(SettingsError::Missing("TABLE_NAME"))?;
        if table.len() > 255
            || !table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(SettingsError::Invalid(
                "TABLE_NAME",
                "3-255 letters, digits, '_', '-' or '.'".to_owned(),
            ));
        }
        let alert_topic_arn = get("ALERT_TOPIC_ARN");
        if let Some(arn) = &alert_topic_arn
            && !arn.starts_with("arn:")
        {
            return Err(SettingsError::Invalid(
                "ALERT_TOPIC_ARN",
                "an SNS topic ARN (arn:aws:sns:…)".to_owned(),
            ));
        }
        Ok(Self {
            table,
            alert_topic_arn,
            event_bus: get("EVENT_BUS_NAME"),
            dashboard_url: get("DASHBOARD_URL"),
        })
    }
}

/// How long one SDK call may take in all (retries included), and one attempt.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts per call (the first included), with the SDK's standard backoff.
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK configuration from the standard environment, with explicit timeouts and
/// retries. Build it once per process (a Lambda's cold start) and share the clients.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(OPERATION_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .connect_timeout(Duration::from_secs(2))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_are_read_once_and_checked() {
        let settings = AwsSettings::from_lookup(lookup(&[
            ("TABLE_NAME", "monitor-Table-1"),
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("EVENT_BUS_NAME", "monitor"),
        ]))
        .unwrap();
        assert_eq!(settings.table, "monitor-Table-1");
        assert_eq!(settings.dashboard_url, None);
        assert_eq!(
            AwsSettings::from_lookup(lookup(&[])),
            Err(SettingsError::Missing("TABLE_NAME"))
        );
        assert!(AwsSettings::from_lookup(lookup(&[("TABLE_NAME", "a b")])).is_err());
        assert!(
            AwsSettings::from_lookup(lookup(&[
                ("TABLE_NAME", "t"),
                ("ALERT_TOPIC_ARN", "alerts")
            ]))
            .is_err()
        );
    }
}
