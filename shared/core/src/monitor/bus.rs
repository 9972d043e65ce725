//! The in-process bus: `VersionPublished` events handed straight to judging, in the same
//! tick. The AWS deployment puts an EventBridge bus behind the same `Events` port.

use super::judge::Judge;
use crate::domain::VersionPublished;
use crate::ports::{ArtifactStore, Clock, Registry, Runs, VerdictStore, WatchStore};
use crate::ports::{Emitted, Events, FailedEvent};
use futures_util::StreamExt as _;

/// Judges every event as it is published, at most `concurrency` at once.
#[derive(Debug)]
pub struct LocalBus<'a, R, G, S, C> {
    pub judge: &'a Judge<R, G, S, C>,
    pub concurrency: usize,
}

impl<R, G, S, C> Events for LocalBus<'_, R, G, S, C>
where
    R: Registry,
    G: Runs,
    S: ArtifactStore + VerdictStore + WatchStore,
    C: Clock,
{
    async fn publish(&self, events: Vec<VersionPublished>) -> Emitted {
        let mut emitted = Emitted {
            accepted: events.len(),
            ..Emitted::default()
        };
        let judge = self.judge;
        let results: Vec<_> = futures_util::stream::iter(events)
            .map(|event| async move {
                let result = judge.judge_bounded(&event).await;
                (event, result)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for (event, result) in results {
            match result {
                Ok(Some(judged)) => emitted.judged.push(judged),
                Ok(None) => {}
                Err(e) => emitted.failed.push(FailedEvent {
                    artifact: event.key(),
                    version: event.version.clone(),
                    error: e.to_string(),
                }),
            }
        }
        emitted
    }
}

/// A bus that takes events and does nothing with them, for entry points that only detect
/// (their events are due and emitted again later by a tick that has a real bus).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBus;

impl Events for NoBus {
    async fn publish(&self, events: Vec<VersionPublished>) -> Emitted {
        Emitted {
            failed: events
                .iter()
                .map(|e| FailedEvent {
                    artifact: e.key(),
                    version: e.version.clone(),
                    error: "no bus to carry the event".to_owned(),
                })
                .collect(),
            ..Emitted::default()
        }
    }
}
