//! The AWS adapters of artifact-monitor: the store ports over DynamoDB, alerts to SNS,
//! `VersionPublished` events over EventBridge, metrics in CloudWatch's embedded metric
//! format. Only the binaries that deploy to AWS link this crate; it depends on the library
//! without its Sigstore verifier, HTTP adapters or embedded store.

#[cfg(feature = "cognito")]
pub mod cognito;
pub mod config;
pub mod dynamo;
pub mod eventbridge;
pub mod metrics;
pub mod sns;

pub use config::{AwsSettings, sdk_config};
pub use dynamo::DynamoStore;
pub use eventbridge::EventBridgeEvents;
pub use sns::SnsAlerts;
