//! The poller Lambda: invoked by EventBridge Scheduler (any event body), it runs the
//! library's tick until shortly before the invocation's deadline. Wiring only: settings and
//! clients once per cold start, then one `poller::run` per invocation; a tick step that
//! failed makes the invocation an error (`Retryable.Tick`, the `Errors` alarm), after the
//! lease is released.

use artifact_monitor_lambda::{FunctionError, FunctionSettings, Services, poller};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time left until `deadline_ms` (milliseconds since the epoch), less the margin.
fn time_left(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
        .saturating_sub(poller::DEADLINE_MARGIN)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = FunctionSettings::from_env()?;
    let services = Services::build(settings).await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = tokio::time::Instant::now() + time_left(event.context.deadline);
            let outcome = poller::run(services, &event.context.request_id, deadline).await;
            if let Some(line) = poller::metric_line(services, &outcome) {
                // On a line of its own, outside the JSON log records, as the format wants.
                println!("{line}");
            }
            let errors = outcome.errors();
            if errors.is_empty() {
                // The outcome is our own plain data: it always serialises.
                Ok(serde_json::to_value(&outcome).unwrap_or_default())
            } else {
                // `errorType` Retryable.Tick: the Errors alarm, and the next schedule retries.
                Err(FunctionError::Tick(
                    errors.into_iter().map(str::to_owned).collect(),
                ))
            }
        },
    ))
    .await
}
