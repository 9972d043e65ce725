//! `SnsAlerts`: alerts published to an SNS topic.
//!
//! One message per alert: `MessageStructure=json` with the alert as JSON in `default` (every
//! protocol without its own key: SQS, Lambda, HTTPS, email-json) and a readable plain-text
//! `email`; an ASCII subject under 100 characters; string message attributes `severity`,
//! `compliance`, `kind`, `registry`, `artifact` for subscription filter policies, and
//! `alert_id` (also in the body) for subscribers to deduplicate on: SNS delivers at least
//! once, and an alert is published again only if a crash falls between the publish and the
//! outbox noting it delivered.

use artifact_monitor_core::domain::{Alert, Reason};
use artifact_monitor_core::ports::{Alerts, RemoteError};
use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;

/// SNS takes subjects up to 100 characters.
const MAX_SUBJECT: usize = 99;
/// SNS takes messages up to 256 KiB (all protocols together here).
const MAX_MESSAGE: usize = 256 * 1024;

/// Publishes alerts to one topic.
#[derive(Debug, Clone)]
pub struct SnsAlerts {
    client: Client,
    topic_arn: String,
    dashboard_url: Option<String>,
}

impl SnsAlerts {
    pub fn new(
        client: Client,
        topic_arn: impl Into<String>,
        dashboard_url: Option<String>,
    ) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            dashboard_url,
        }
    }
}

/// Printable ASCII only, one line, at most `max` characters.
fn ascii_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if out.len() > max {
        out.truncate(max.saturating_sub(3));
        out.push_str("...");
    }
    out
}

/// `[artifact-monitor] NON-COMPLIANT npm chalk@5.6.1`, and the like.
pub fn subject(alert: &Alert) -> String {
    let what = match (&alert.version, alert.compliance) {
        (Some(version), Some(compliance)) => format!(
            "{} {} {}@{version}",
            compliance.as_str().replace('_', "-").to_uppercase(),
            alert.artifact.registry,
            alert.artifact.name
        ),
        _ => format!(
            "{} {} {}",
            alert.severity.as_str().to_uppercase(),
            alert.artifact.registry,
            alert.artifact.name
        ),
    };
    ascii_line(&format!("[artifact-monitor] {what}"), MAX_SUBJECT)
}

/// The e-mail body: what happened, why, where to look.
pub fn plain_text(alert: &Alert, dashboard_url: Option<&str>) -> String {
    let mut lines = vec![alert.subject.clone(), String::new()];
    lines.push(format!(
        "Artifact:   {} {}",
        alert.artifact.registry, alert.artifact.name
    ));
    if let Some(version) = &alert.version {
        lines.push(format!("Version:    {version}"));
    }
    if let (Some(compliance), Some(confidence)) = (alert.compliance, alert.confidence) {
        lines.push(format!(
            "Verdict:    {} ({} confidence)",
            compliance.as_str(),
            confidence.as_str()
        ));
    }
    lines.push(format!("Severity:   {}", alert.severity.as_str()));
    lines.push(format!(
        "Reasons:    {}",
        Reason::join(&alert.reasons, ", ")
    ));
    if let Some(published) = &alert.published_at {
        lines.push(format!("Published:  {published}"));
    }
    lines.push(format!("Detected:   {}", alert.detected_at));
    if let Some(logs) = &alert.logs_url {
        lines.push(format!("CI logs:    {logs}"));
    }
    if let Some(dashboard) = dashboard_url {
        lines.push(format!("Dashboard:  {dashboard}"));
    }
    if !alert.details.is_empty() {
        lines.push(String::new());
        lines.push("Why:".to_owned());
        lines.extend(alert.details.iter().map(|d| format!("  - {d}")));
    }
    lines.push(String::new());
    lines.push(format!(
        "Alert id: {} (the same id is never sent twice)",
        alert.id
    ));
    lines.join("\n")
}

/// The `MessageStructure=json` message: the alert as JSON for every protocol, plain text
/// for e-mail.
pub fn message(alert: &Alert, dashboard_url: Option<&str>) -> Result<String, RemoteError> {
    let mut body = serde_json::to_value(alert)
        .map_err(|e| RemoteError::Invalid("SNS", format!("alert as JSON: {e}")))?;
    if let Some(dashboard) = dashboard_url {
        body["dashboard_url"] = json!(dashboard);
    }
    let default = body.to_string();
    let message = json!({
        "default": default,
        "email": plain_text(alert, dashboard_url),
    })
    .to_string();
    if message.len() > MAX_MESSAGE {
        return Err(RemoteError::TooLarge("SNS message", MAX_MESSAGE as u64));
    }
    Ok(message)
}

fn attribute(value: &str) -> Result<MessageAttributeValue, RemoteError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| RemoteError::Invalid("SNS", e.to_string()))
}

fn sns_error<E, R>(error: aws_sdk_sns::error::SdkError<E, R>) -> RemoteError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), message) => RemoteError::Unreachable(
            "SNS",
            format!("{code}: {}", message.unwrap_or("no message")),
        ),
        (None, _) => RemoteError::Unreachable("SNS", DisplayErrorContext(&error).to_string()),
    }
}

impl Alerts for SnsAlerts {
    async fn deliver(&self, alert: &Alert) -> Result<(), RemoteError> {
        let compliance = alert.compliance.map_or("none", |c| c.as_str());
        let kind = serde_json::to_value(alert.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_default();
        let artifact = format!("{}/{}", alert.artifact.registry, alert.artifact.name);
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(message(alert, self.dashboard_url.as_deref())?)
            .subject(subject(alert))
            .message_attributes("severity", attribute(alert.severity.as_str())?)
            .message_attributes("compliance", attribute(compliance)?)
            .message_attributes("kind", attribute(&kind)?)
            .message_attributes("registry", attribute(alert.artifact.registry.as_str())?)
            .message_attributes("artifact", attribute(&artifact)?)
            .message_attributes("alert_id", attribute(&alert.id)?)
            .send()
            .await
            .map_err(sns_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_short_ascii_lines() {
        assert_eq!(ascii_line("é\nx", 99), "??x");
        let long = "a".repeat(300);
        let line = ascii_line(&long, MAX_SUBJECT);
        assert_eq!(line.len(), MAX_SUBJECT);
        assert!(line.ends_with("..."));
    }
}
