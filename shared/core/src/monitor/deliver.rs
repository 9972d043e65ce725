//! Draining the alert outbox: print each alert once, deliver it to the sink, and keep it
//! until the sink accepted it.

use super::detect::Detector;
use super::error::MonitorError;
use crate::domain::Alert;
use crate::ports::{Alerts, Clock, Registry, Store};

/// Where alerts go when the outbox is drained.
#[derive(Debug)]
pub struct Delivery<'a, A> {
    /// A sink that must accept each alert (a webhook); `None` delivers by printing alone.
    pub sink: Option<&'a A>,
    /// Alerts read from the outbox at a time (the drain goes on until it is empty).
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub printed: usize,
    pub delivered: usize,
    /// The sink refused or could not be reached; those alerts stay in the outbox.
    pub failed: Vec<(String, String)>,
    /// Alerts another drain (an overlapping tick) was delivering: left to it.
    pub held_elsewhere: usize,
    /// When the oldest alert this drain left undelivered (refused, or held elsewhere) was
    /// enqueued; the outbox is oldest first, so nothing older is left. `None`: none left.
    pub oldest_left: Option<i64>,
}

impl DeliveryReport {
    fn left(&mut self, enqueued_at: i64) {
        self.oldest_left = Some(self.oldest_left.map_or(enqueued_at, |t| t.min(enqueued_at)));
    }
}

/// How long a drain holds an alert it is delivering before another may take it over.
const CLAIM_SECS: i64 = 120;

impl<R: Registry, S: Store, C: Clock> Detector<R, S, C> {
    /// Drains the outbox, page after page (`limit` alerts a page), until it is empty.
    /// `print` shows an alert locally (once per alert, ever). On the first delivery failure
    /// the drain stops; the rest waits for the next drain, in order.
    pub async fn deliver<A: Alerts>(
        &self,
        delivery: Delivery<'_, A>,
        print: impl Fn(&Alert),
    ) -> Result<DeliveryReport, MonitorError> {
        let mut report = DeliveryReport::default();
        loop {
            let page = self.store.outbox(delivery.limit.max(1)).await?;
            let full = page.len() >= delivery.limit.max(1);
            let held_before = report.held_elsewhere;
            let size = page.len();
            if !self
                .deliver_page(page, &delivery, &print, &mut report)
                .await?
                || !full
                // Every entry of the page is another deliverer's: it drains them.
                || report.held_elsewhere - held_before == size
            {
                return Ok(report);
            }
        }
    }

    /// Delivers one page; `false` when a delivery failed.
    async fn deliver_page<A: Alerts>(
        &self,
        page: Vec<crate::domain::OutboxEntry>,
        delivery: &Delivery<'_, A>,
        print: &impl Fn(&Alert),
        report: &mut DeliveryReport,
    ) -> Result<bool, MonitorError> {
        for entry in page {
            let id = entry.alert.id.clone();
            let now = self.clock.now();
            if !self.store.claim(&id, now, now + CLAIM_SECS).await? {
                report.held_elsewhere += 1;
                report.left(entry.enqueued_at);
                continue;
            }
            let Some(sink) = delivery.sink else {
                // Printing is the delivery: one write notes both.
                if !entry.printed {
                    print(&entry.alert);
                    report.printed += 1;
                }
                self.store.mark_delivered(&id).await?;
                report.delivered += 1;
                continue;
            };
            if !entry.printed {
                print(&entry.alert);
                self.store.mark_printed(&id).await?;
                report.printed += 1;
            }
            match sink.deliver(&entry.alert).await {
                Ok(()) => {
                    self.store.mark_delivered(&id).await?;
                    report.delivered += 1;
                }
                Err(e) => {
                    self.store.mark_failed(&id, &e.to_string()).await?;
                    report.failed.push((id, e.to_string()));
                    report.left(entry.enqueued_at);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
