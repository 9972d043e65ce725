//! Draining the alert outbox: print each alert once, deliver it to the sink, and keep it
//! until the sink accepted it.

use super::{Monitor, MonitorError};
use crate::domain::Alert;
use crate::ports::{Alerts, Clock, Registry, Runs, Store};

/// Where alerts go when the outbox is drained.
#[derive(Debug)]
pub struct Delivery<'a, A> {
    /// A sink that must accept each alert (a webhook); `None` delivers by printing alone.
    pub sink: Option<&'a A>,
    /// At most this many alerts per drain.
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub printed: usize,
    pub delivered: usize,
    /// The sink refused or could not be reached; those alerts stay in the outbox.
    pub failed: Vec<(String, String)>,
}

impl<R: Registry, G: Runs, S: Store, C: Clock> Monitor<R, G, S, C> {
    /// Drains the outbox. `print` shows an alert locally (once per alert, ever). On the
    /// first delivery failure the drain stops; the rest waits for the next drain.
    pub async fn deliver<A: Alerts>(
        &self,
        delivery: Delivery<'_, A>,
        print: impl Fn(&Alert),
    ) -> Result<DeliveryReport, MonitorError> {
        let mut report = DeliveryReport::default();
        for entry in self.store.outbox(delivery.limit).await? {
            let id = entry.alert.id.clone();
            if !entry.printed {
                print(&entry.alert);
                self.store.mark_printed(&id).await?;
                report.printed += 1;
            }
            let Some(sink) = delivery.sink else {
                self.store.mark_delivered(&id).await?;
                report.delivered += 1;
                continue;
            };
            match sink.deliver(&entry.alert).await {
                Ok(()) => {
                    self.store.mark_delivered(&id).await?;
                    report.delivered += 1;
                }
                Err(e) => {
                    self.store.mark_failed(&id, &e.to_string()).await?;
                    report.failed.push((id, e.to_string()));
                    break;
                }
            }
        }
        Ok(report)
    }
}
