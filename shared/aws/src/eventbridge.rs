//! `EventBridgeEvents`: the `Events` port over an EventBridge bus.
//!
//! Source `artifact-monitor`, detail types `Version Published` and `Version Verified`, the
//! domain event as the detail (schemas in `infra/events/`). `PutEvents` takes at most 10
//! entries and 256 KB a call: entries are batched within both; entries the answer reports
//! failed (`FailedEntryCount`, an error code per entry) are sent again a few times, and what
//! still fails is reported so the version stays due and a later tick emits it again.

use artifact_monitor_core::domain::{VersionPublished, VersionVerified};
use artifact_monitor_core::ports::{Emitted, Events, FailedEvent};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use std::time::Duration;

pub const SOURCE: &str = "artifact-monitor";
pub const VERSION_PUBLISHED: &str = "Version Published";
pub const VERSION_VERIFIED: &str = "Version Verified";

/// Entries per `PutEvents` call (the service's limit).
const MAX_ENTRIES: usize = 10;
/// Bytes per `PutEvents` call (the service's limit), counted as the service counts them.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Attempts for entries the service reported failed.
const ATTEMPTS: usize = 3;

/// Puts events on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    client: Client,
    bus: String,
}

/// One entry to put, and what to report if it cannot be.
struct Pending {
    artifact: String,
    version: String,
    detail_type: &'static str,
    detail: String,
}

impl Pending {
    /// An entry's size as the service counts it: source, detail type and detail.
    fn size(&self) -> usize {
        SOURCE.len() + self.detail_type.len() + self.detail.len()
    }
}

impl EventBridgeEvents {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// Batches within the limits; an entry too large on its own fails at once.
    fn batches(pending: Vec<Pending>, emitted: &mut Emitted) -> Vec<Vec<Pending>> {
        let mut batches: Vec<Vec<Pending>> = Vec::new();
        let mut bytes = 0;
        for entry in pending {
            let size = entry.size();
            if size > MAX_BATCH_BYTES {
                emitted.failed.push(FailedEvent {
                    artifact: entry.artifact,
                    version: entry.version,
                    error: format!("an event of {size} bytes is over EventBridge's 256 KB"),
                });
                continue;
            }
            let fits = batches
                .last()
                .is_some_and(|b| b.len() < MAX_ENTRIES && bytes + entry.size() <= MAX_BATCH_BYTES);
            if !fits {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += entry.size();
            if let Some(batch) = batches.last_mut() {
                batch.push(entry);
            }
        }
        batches
    }

    async fn put(&self, pending: Vec<Pending>) -> Emitted {
        let mut emitted = Emitted::default();
        for batch in Self::batches(pending, &mut emitted) {
            let mut todo = batch;
            for attempt in 0..ATTEMPTS {
                let entries = todo
                    .iter()
                    .map(|p| {
                        PutEventsRequestEntry::builder()
                            .source(SOURCE)
                            .detail_type(p.detail_type)
                            .detail(&p.detail)
                            .event_bus_name(&self.bus)
                            .build()
                    })
                    .collect();
                let result = self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await;
                let answer = match result {
                    Ok(answer) => answer,
                    Err(e) => {
                        let why = match (e.code(), e.message()) {
                            (Some(code), message) => {
                                format!("EventBridge {code}: {}", message.unwrap_or("no message"))
                            }
                            (None, _) => format!("EventBridge: {}", DisplayErrorContext(&e)),
                        };
                        if attempt + 1 < ATTEMPTS {
                            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                            continue;
                        }
                        emitted.failed.extend(todo.drain(..).map(|p| FailedEvent {
                            artifact: p.artifact,
                            version: p.version,
                            error: why.clone(),
                        }));
                        break;
                    }
                };
                // The answer has one result per entry, in order; failed ones carry a code.
                let mut again = Vec::new();
                let mut errors = Vec::new();
                for (entry, result) in todo.into_iter().zip(answer.entries()) {
                    match result.error_code() {
                        None => emitted.accepted += 1,
                        Some(code) => {
                            errors.push(format!(
                                "EventBridge {code}: {}",
                                result.error_message().unwrap_or("no message")
                            ));
                            again.push(entry);
                        }
                    }
                }
                if again.is_empty() {
                    break;
                }
                if attempt + 1 == ATTEMPTS {
                    for (entry, error) in again.into_iter().zip(errors) {
                        emitted.failed.push(FailedEvent {
                            artifact: entry.artifact,
                            version: entry.version,
                            error,
                        });
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                todo = again;
            }
        }
        emitted
    }
}

impl Events for EventBridgeEvents {
    async fn publish(&self, events: Vec<VersionPublished>) -> Emitted {
        let mut emitted = Emitted::default();
        let mut pending = Vec::new();
        for event in events {
            match serde_json::to_string(&event) {
                Ok(detail) => pending.push(Pending {
                    artifact: event.key(),
                    version: event.version,
                    detail_type: VERSION_PUBLISHED,
                    detail,
                }),
                Err(e) => emitted.failed.push(FailedEvent {
                    artifact: event.key(),
                    version: event.version,
                    error: e.to_string(),
                }),
            }
        }
        let put = self.put(pending).await;
        emitted.accepted += put.accepted;
        emitted.failed.extend(put.failed);
        emitted
    }

    async fn verified(&self, events: Vec<VersionVerified>) -> Emitted {
        let mut emitted = Emitted::default();
        let mut pending = Vec::new();
        for event in events {
            let artifact = event.artifact.key();
            match serde_json::to_string(&event) {
                Ok(detail) => pending.push(Pending {
                    artifact,
                    version: event.version,
                    detail_type: VERSION_VERIFIED,
                    detail,
                }),
                Err(e) => emitted.failed.push(FailedEvent {
                    artifact,
                    version: event.version,
                    error: e.to_string(),
                }),
            }
        }
        let put = self.put(pending).await;
        emitted.accepted += put.accepted;
        emitted.failed.extend(put.failed);
        emitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(bytes: usize) -> Pending {
        Pending {
            artifact: "npm/p".into(),
            version: "1.0.0".into(),
            detail_type: VERSION_PUBLISHED,
            detail: "x".repeat(bytes),
        }
    }

    #[test]
    fn batches_keep_within_ten_entries_and_256_kb() {
        let mut emitted = Emitted::default();
        let small: Vec<Pending> = (0..25).map(|_| pending(100)).collect();
        let sizes: Vec<usize> = EventBridgeEvents::batches(small, &mut emitted)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        let large: Vec<Pending> = (0..3).map(|_| pending(100 * 1024)).collect();
        let sizes: Vec<usize> = EventBridgeEvents::batches(large, &mut emitted)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [2, 1]);
        assert!(emitted.failed.is_empty());
        let huge = vec![pending(300 * 1024)];
        assert!(EventBridgeEvents::batches(huge, &mut emitted).is_empty());
        assert_eq!(emitted.failed.len(), 1);
    }
}
