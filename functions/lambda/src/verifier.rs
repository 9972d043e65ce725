//! The verifier: an SQS batch of `Version Published` events (EventBridge envelopes, from the
//! bus through a rule into a queue) judged one by one. A verdict, pending ones included, is
//! data: recorded and acknowledged (a pending version is re-emitted by the poller when due),
//! evidence the registry lists but cannot serve yet included. Only a failure to record (the
//! store) reports the message failed, so SQS delivers it again and, after the queue's
//! bound, moves it to the dead-letter queue. A
//! message that is not a `Version Published` event is logged and acknowledged: it can never
//! be judged. After the batch, the alerts its verdicts raised are published (the outbox
//! drain, which the poller's tick repeats for anything left) and each new decision is
//! emitted as `Version Verified`.

use crate::{FunctionError, Services};
use artifact_monitor_aws::eventbridge::{SOURCE, VERSION_PUBLISHED};
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::{EventError, Recorded, VersionPublished, VersionVerified};
use artifact_monitor_core::monitor::{Detector, Judge, TickShape};
use artifact_monitor_core::ports::Events as _;
use artifact_monitor_verify::ProvenanceVerifier;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures_util::StreamExt as _;
use serde::Deserialize;
use std::sync::Arc;

/// The EventBridge envelope SQS carries as the message body.
#[derive(Deserialize)]
struct Envelope<'a> {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(borrow)]
    detail: &'a serde_json::value::RawValue,
}

/// Why an SQS message can never be judged (it is logged and acknowledged, not redelivered).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not an EventBridge event: {0}")]
    NotEventBridge(#[source] serde_json::Error),
    #[error("{detail_type:?} from {sender:?} is not a {VERSION_PUBLISHED:?} event of {SOURCE:?}")]
    OtherEvent { detail_type: String, sender: String },
    #[error(transparent)]
    Event(#[from] EventError),
}

/// The `Version Published` event in an SQS message body.
pub fn event_of(body: &str) -> Result<VersionPublished, MessageError> {
    let envelope: Envelope<'_> =
        serde_json::from_str(body).map_err(MessageError::NotEventBridge)?;
    if envelope.source != SOURCE || envelope.detail_type != VERSION_PUBLISHED {
        return Err(MessageError::OtherEvent {
            detail_type: envelope.detail_type,
            sender: envelope.source,
        });
    }
    Ok(VersionPublished::from_json(
        envelope.detail.get().as_bytes(),
    )?)
}

/// The judging side of the process, built once per cold start.
#[derive(Debug)]
pub struct Verifier {
    pub services: Services,
    judge: Judge<
        artifact_monitor_http::Registries,
        artifact_monitor_http::GithubRuns,
        artifact_monitor_aws::DynamoStore,
        SystemClock,
    >,
    detector:
        Detector<artifact_monitor_http::Registries, artifact_monitor_aws::DynamoStore, SystemClock>,
}

impl Verifier {
    pub fn new(services: Services) -> Result<Self, FunctionError> {
        let verifier =
            ProvenanceVerifier::embedded().map_err(|e| FunctionError::Trust(e.to_string()))?;
        let config = services.monitor_config();
        Ok(Self {
            judge: Judge {
                registry: services.registry.clone(),
                runs: services.runs.clone(),
                store: services.store.clone(),
                clock: SystemClock,
                verifier: Arc::new(verifier),
                config: config.clone(),
            },
            detector: Detector {
                registry: services.registry.clone(),
                store: services.store.clone(),
                clock: SystemClock,
                config,
            },
            services,
        })
    }

    /// Judges one batch; the answer lists the messages SQS is to deliver again.
    pub async fn batch(&self, messages: Vec<SqsMessage>) -> SqsBatchResponse {
        let concurrency = self.services.settings.concurrency.max(1);
        let results: Vec<(Option<String>, Outcome)> = futures_util::stream::iter(messages)
            .map(|message| async move {
                let outcome = self.one(message.body.as_deref().unwrap_or("")).await;
                (message.message_id, outcome)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut failures = Vec::new();
        let mut verified = Vec::new();
        for (id, outcome) in results {
            match outcome {
                Outcome::Judged(event) => verified.push(event),
                Outcome::Done => {}
                Outcome::Retry(why) => {
                    tracing::warn!(message_id = ?id, error = %why, "judged again on redelivery");
                    if let Some(id) = id {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = id;
                        failures.push(failure);
                    }
                }
            }
        }
        let delivery = TickShape::LAMBDA.delivery(self.services.alerts.as_ref());
        let print = |alert: &artifact_monitor_core::domain::Alert| {
            tracing::info!(alert = %alert.id, severity = %alert.severity, "alert");
        };
        match self.detector.deliver(delivery, print).await {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => tracing::warn!(
                failed = report.failed.len(),
                "alerts not published yet; the poller's next tick publishes them"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "the outbox could not be drained; the poller's next tick does")
            }
        }
        if let Some(bus) = &self.services.events
            && !verified.is_empty()
        {
            let emitted = bus.verified(verified).await;
            for failed in &emitted.failed {
                tracing::warn!(
                    artifact = %failed.artifact,
                    version = %failed.version,
                    error = %failed.error,
                    "Version Verified not emitted"
                );
            }
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        response
    }

    async fn one(&self, body: &str) -> Outcome {
        let event = match event_of(body) {
            Ok(event) => event,
            Err(why) => {
                tracing::error!(error = %why, "a message that can never be judged, dropped");
                return Outcome::Done;
            }
        };
        let result = self.judge.judge_bounded(&event).await;
        match result {
            Ok(Some(judged)) => {
                tracing::info!(
                    artifact = %judged.artifact,
                    version = %judged.version,
                    compliance = judged.compliance.as_str(),
                    confidence = judged.confidence.as_str(),
                    alerts = judged.alerts,
                    "verdict"
                );
                if judged.recorded == Recorded::Unchanged {
                    Outcome::Done
                } else {
                    Outcome::Judged(VersionVerified::of(event.artifact.clone(), &judged))
                }
            }
            Ok(None) => Outcome::Done,
            Err(e) if e.retryable() => Outcome::Retry(e.to_string()),
            Err(e) => {
                tracing::error!(
                    artifact = %event.key(),
                    version = %event.version,
                    error = %e,
                    "cannot be judged; left due, the poller emits it again"
                );
                Outcome::Done
            }
        }
    }
}

enum Outcome {
    Judged(VersionVerified),
    Done,
    Retry(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_version_published_events_of_the_monitor_are_read() {
        let detail = r#"{"schema_version":1,"artifact":{"type":"npm","name":"p"},"version":"1.0.0","has_attestations":false,"earlier_had_provenance":false,"reason":"new","policy_rev":1,"detected_at":5}"#;
        let body = format!(
            r#"{{"version":"0","id":"x","detail-type":"Version Published","source":"artifact-monitor","account":"1","time":"2026-12-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{detail}}}"#
        );
        assert_eq!(event_of(&body).unwrap().version, "1.0.0");
        let other = body.replace("artifact-monitor", "aws.s3");
        assert!(event_of(&other).unwrap_err().to_string().contains("aws.s3"));
        let verified = body.replace("Version Published", "Version Verified");
        assert!(event_of(&verified).is_err());
        assert!(event_of("{}").is_err());
        assert!(event_of(&body.replace("\"schema_version\":1", "\"schema_version\":2")).is_err());
    }
}
