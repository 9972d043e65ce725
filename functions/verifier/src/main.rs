//! The verifier Lambda: the SQS event source mapping hands it batches of `Version
//! Published` events; it answers which messages to deliver again (`batchItemFailures`,
//! infrastructure failures only). Wiring only: settings, clients and the verifier's trust
//! material once per cold start, then `Verifier::batch` per invocation.

use artifact_monitor_lambda::verifier::Verifier;
use artifact_monitor_lambda::{FunctionSettings, Services};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = FunctionSettings::from_env()?;
    let verifier = Verifier::new(Services::build(settings).await?)?;
    let verifier = &verifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(verifier.batch(event.payload.records).await)
    }))
    .await
}
