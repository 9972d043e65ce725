//! The custom resource provider: `Custom::MonitoredArtifact` declares a watched artifact in
//! a CloudFormation stack (its properties are the fields of `POST /artifacts`, in
//! CloudFormation's PascalCase, checked the same way). The stack owns the artifact: the API
//! refuses to change or remove it (409, naming the stack).
//!
//! `Custom::DashboardSignIn` (the monitor's own stack) turns Cognito's managed login on for
//! the dashboard's app client once the API's URL is known, which breaks the cycle between
//! the client's callback URL and the API's authorizer. Its Delete leaves the
//! client alone: the client goes with the stack.
//!
//! Translation only: the request's properties into the core's checked `Artifact`, then the
//! watch-list use-cases; and always an answer to CloudFormation's response URL, also on
//! errors, so a stack never waits out the timeout. A Delete of a resource whose Create failed
//! (its physical id is no artifact key), or of one the stack does not own, succeeds.

use artifact_monitor_aws::cognito::{self, DashboardSignIn};
use artifact_monitor_aws::{AwsSettings, DynamoStore, sdk_config};
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::{Artifact, ArtifactSource, Declarations, PolicySpec};
use artifact_monitor_core::monitor::{MonitorError, watchlist};
use artifact_monitor_core::ports::Clock as _;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// `Custom::MonitoredArtifact`'s properties. CloudFormation passes every scalar as a string,
/// so `RequireGithubHostedRunner` is read from `"true"` / `"false"` too.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Properties {
    #[serde(default)]
    service_token: Option<String>,
    #[serde(default)]
    service_timeout: Option<Value>,
    #[serde(rename = "Type", default)]
    registry: Option<String>,
    name: String,
    repository: String,
    workflows: Vec<String>,
    #[serde(default)]
    repository_id: Option<String>,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    allowed_refs: Option<Vec<String>>,
    #[serde(default)]
    allowed_events: Option<Vec<String>>,
    #[serde(default)]
    require_github_hosted_runner: Option<Value>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    allowed_reusable_workflows: Option<Vec<String>>,
}

impl Properties {
    /// The artifact the properties declare, every field checked by the core's rule (the one
    /// `POST /artifacts` and the config file use), named as the stack spells it.
    fn into_artifact(self) -> Result<Artifact, String> {
        let _ = (self.service_token, self.service_timeout);
        let require = match self.require_github_hosted_runner {
            None => true,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(format!(
                    "RequireGithubHostedRunner: {other} is not true or false"
                ));
            }
        };
        let policy = PolicySpec {
            repository: self.repository,
            repository_id: self.repository_id,
            owner_id: self.owner_id,
            workflows: self.workflows,
            allowed_refs: self.allowed_refs,
            allowed_events: self.allowed_events,
            require_github_hosted_runner: require,
            environment: self.environment,
            allowed_reusable_workflows: self.allowed_reusable_workflows.unwrap_or_default(),
        };
        Declarations::PASCAL
            .artifact(self.registry.as_deref(), &self.name, policy)
            .map_err(|e| e.to_string())
    }
}

/// `Custom::DashboardSignIn`'s properties.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SignInProperties {
    #[serde(default)]
    service_token: Option<String>,
    #[serde(default)]
    service_timeout: Option<Value>,
    /// Changed to make CloudFormation run the registration again (after a change to the
    /// client's own properties reset it).
    #[serde(default)]
    revision: Option<Value>,
    user_pool_id: String,
    client_id: String,
    callback_url: String,
    sign_out_url: String,
}

/// The resource type that registers the dashboard's sign-in.
const SIGN_IN_TYPE: &str = "Custom::DashboardSignIn";

/// The physical id a resource gets when its Create failed: no artifact key, so its Delete
/// finds nothing to remove.
fn failed_id(logical: &str) -> String {
    format!("{logical}-not-created")
}

struct Provider {
    store: DynamoStore,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    http: reqwest::Client,
}

impl Provider {
    /// Registers the dashboard's sign-in on its app client; the client id is the physical id.
    async fn register_sign_in(&self, properties: Value) -> Result<String, String> {
        let properties: SignInProperties =
            serde_json::from_value(properties).map_err(|e| format!("properties: {e}"))?;
        let _ = (
            properties.service_token,
            properties.service_timeout,
            properties.revision,
        );
        let sign_in = DashboardSignIn {
            user_pool_id: properties.user_pool_id,
            client_id: properties.client_id,
            callback_url: properties.callback_url,
            sign_out_url: properties.sign_out_url,
        }
        .checked()
        .map_err(|e| e.to_string())?;
        // CloudFormation's answer carries the reason as text: the typed error ends here.
        cognito::register(&self.cognito, &sign_in)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("dashboard-sign-in/{}", sign_in.client_id))
    }

    /// Creates or updates the resource `properties` describe.
    async fn create(&self, kind: &str, stack: &str, properties: Value) -> Result<String, String> {
        if kind == SIGN_IN_TYPE {
            self.register_sign_in(properties).await
        } else {
            self.put(stack, properties).await
        }
    }

    /// Watches what `properties` declare for `stack`; the artifact's key is the physical id.
    async fn put(&self, stack: &str, properties: Value) -> Result<String, String> {
        let properties: Properties =
            serde_json::from_value(properties).map_err(|e| format!("properties: {e}"))?;
        let artifact = properties.into_artifact()?;
        let key = artifact.key();
        // Declared by another stack, a config file or through the API: refused by the
        // watched set's ownership rule, the message naming where it is declared.
        let owner = ArtifactSource::Stack {
            stack: stack.to_owned(),
        };
        watchlist::watch(&self.store, artifact, owner, SystemClock.now())
            .await
            .map_err(|e| e.to_string())?;
        Ok(key)
    }

    /// Removes the artifact `physical` names when this stack owns it.
    async fn remove(&self, stack: &str, physical: &str) -> Result<(), String> {
        let Some((registry, name)) = physical.split_once('/') else {
            return Ok(());
        };
        let Ok(key) = Declarations::PASCAL.key(registry, name) else {
            return Ok(());
        };
        let owner = ArtifactSource::Stack {
            stack: stack.to_owned(),
        };
        // Another's artifact (or none) is left alone, and the Delete succeeds: a stack
        // must be deletable whatever happened to what it declared.
        match watchlist::unwatch(&self.store, &key, &owner).await {
            Ok(_) | Err(MonitorError::Owned { .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
        Ok(())
    }

    async fn handle(&self, request: CloudFormationCustomResourceRequest) -> Result<(), Error> {
        // Each kind: its ids, what was done, and the physical id to answer with (on success
        // the artifact's key; a Create that failed gets one that names no artifact, an
        // Update that failed keeps its old one; a new name on Update is a new physical id,
        // and CloudFormation then deletes the old one).
        let (url, stack, request_id, logical, result, physical) = match request {
            CloudFormationCustomResourceRequest::Create(r) => {
                let result = self
                    .create(&r.resource_type, &r.stack_id, r.resource_properties)
                    .await;
                let fallback = failed_id(&r.logical_resource_id);
                let physical = result.as_ref().map_or(fallback, Clone::clone);
                (
                    r.response_url,
                    r.stack_id,
                    r.request_id,
                    r.logical_resource_id,
                    result.map(|_| ()),
                    physical,
                )
            }
            CloudFormationCustomResourceRequest::Update(r) => {
                let result = self
                    .create(&r.resource_type, &r.stack_id, r.resource_properties)
                    .await;
                let physical = result.as_ref().map_or(r.physical_resource_id, Clone::clone);
                (
                    r.response_url,
                    r.stack_id,
                    r.request_id,
                    r.logical_resource_id,
                    result.map(|_| ()),
                    physical,
                )
            }
            CloudFormationCustomResourceRequest::Delete(r) => {
                let result = if r.resource_type == SIGN_IN_TYPE {
                    Ok(())
                } else {
                    self.remove(&r.stack_id, &r.physical_resource_id).await
                };
                (
                    r.response_url,
                    r.stack_id,
                    r.request_id,
                    r.logical_resource_id,
                    result,
                    r.physical_resource_id,
                )
            }
            // CloudFormation sends only the three; a new kind has no response URL we know of.
            _ => return Err(Error::from("a custom resource request of an unknown type")),
        };
        let response = answer(result, physical, stack, request_id, logical);
        self.respond(&url, &response).await
    }

    /// Sends the answer to the pre-signed response URL (a PUT with no content type, as
    /// the signature expects), retried a few times.
    async fn respond(
        &self,
        url: &str,
        response: &CloudFormationCustomResourceResponse,
    ) -> Result<(), Error> {
        let body = serde_json::to_vec(response)?;
        let mut last = String::new();
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            match self
                .http
                .put(url)
                .header("content-type", "")
                .body(body.clone())
                .send()
                .await
            {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) => last = format!("HTTP {}", answer.status()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::from(format!(
            "CloudFormation's response URL refused the answer: {last}"
        )))
    }
}

fn answer(
    result: Result<(), String>,
    physical: String,
    stack: String,
    request: String,
    logical: String,
) -> CloudFormationCustomResourceResponse {
    let mut response = CloudFormationCustomResourceResponse::default();
    match result {
        Ok(()) => {
            response.status = CloudFormationCustomResourceResponseStatus::Success;
            response.data.insert("Key".to_owned(), physical.clone());
        }
        Err(reason) => {
            tracing::warn!(resource = %logical, reason = %reason, "refused");
            response.status = CloudFormationCustomResourceResponseStatus::Failed;
            // CloudFormation shows the reason to whoever deploys; keep it short.
            response.reason = Some(reason.chars().take(900).collect());
        }
    }
    response.physical_resource_id = physical;
    response.stack_id = stack;
    response.request_id = request;
    response.logical_resource_id = logical;
    response
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
    let config = sdk_config().await;
    let provider = Provider {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), settings.table),
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
    };
    let provider = &provider;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<CloudFormationCustomResourceRequest>| async move {
            provider.handle(event.payload).await
        },
    ))
    .await
}
