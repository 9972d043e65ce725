//! What the AWS tests share: moto (the endpoint from `ARTIFACT_MONITOR_AWS_ENDPOINT`, or a
//! server started from `.venv`), a Lambda Runtime API the real function binaries run
//! against, a proxy that counts AWS requests, and a local Cognito user pool. The fakes of
//! the registry and GitHub, the local HTTP server and the store contract are the base test
//! crate's (`artifact-monitor-tests`).

pub mod aws;
pub mod counting_proxy;
pub mod fake_cognito;
pub mod runtime_api;
