//! What the artifact-monitor Lambda functions share. Entry-point code only: the settings
//! from the environment ([`settings`]), the adapters built once per cold start
//! ([`Services`]), and the translation of each function's event into the library's
//! use-cases and back ([`poller`], [`verifier`]). Nothing here decides a verdict.

mod error;
pub mod poller;
pub mod settings;
pub mod verifier;

pub use error::FunctionError;
pub use settings::{FunctionSettings, SettingError};

use artifact_monitor_aws::{DynamoStore, EventBridgeEvents, SnsAlerts, sdk_config};
use artifact_monitor_core::monitor::TickShape;
use artifact_monitor_http::{
    ByteBudget, DEFAULT_MAX_PAGE_BYTES, Feed, GithubRuns, HttpConfig, NpmChanges, NpmRegistry,
    PypiIndex, PypiUpdates, Registries, RequestBudget,
};
use std::sync::Arc;

/// The budget's bucket holds a minute's worth (one scheduled invocation), plus what a tick
/// keeps for the next feed read (the core's `TickShape::LAMBDA`).
const BUDGET_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// The adapters of one process, built once per cold start and shared by its invocations.
#[derive(Debug, Clone)]
pub struct Services {
    pub settings: FunctionSettings,
    pub store: DynamoStore,
    /// Every registry type's adapter.
    pub registry: Registries,
    /// The feeds each tick follows, one per registry type that has one.
    pub feeds: Vec<Feed>,
    pub runs: Option<GithubRuns>,
    /// `None`: the function was given no bus (`EVENT_BUS_NAME` unset).
    pub events: Option<EventBridgeEvents>,
    /// `None`: the function was given no topic (`ALERT_TOPIC_ARN` unset).
    pub alerts: Option<SnsAlerts>,
    pub budget: Arc<RequestBudget>,
}

impl Services {
    /// The library's tunables for these functions: its defaults, alerts linking to the
    /// dashboard when one is configured.
    pub fn monitor_config(&self) -> artifact_monitor_core::monitor::MonitorConfig {
        artifact_monitor_core::monitor::MonitorConfig {
            dashboard_url: self.settings.aws.dashboard_url.clone(),
            ..artifact_monitor_core::monitor::MonitorConfig::default()
        }
    }

    /// Builds every adapter from `settings`; reads the GitHub token from Secrets Manager
    /// when a secret is named (the token is kept only inside the GitHub adapter).
    pub async fn build(settings: FunctionSettings) -> Result<Self, FunctionError> {
        let config = sdk_config().await;
        let bytes = Arc::new(ByteBudget::new(settings.bytes_in_flight));
        if settings.max_packument_bytes > bytes.largest_body() {
            return Err(FunctionError::Settings {
                setting: "MAX_PACKUMENT_BYTES",
                message: format!(
                    "{} does not fit in MAX_BYTES_IN_FLIGHT = {}",
                    settings.max_packument_bytes, settings.bytes_in_flight
                ),
            });
        }
        let budget = Arc::new(RequestBudget::new(
            settings.registry_requests_per_second,
            TickShape::LAMBDA.budget_burst(settings.registry_requests_per_second, BUDGET_PERIOD),
        ));
        let http = HttpConfig {
            timeout: settings.timeout,
            concurrency: settings.concurrency,
            bytes: Some(bytes),
            ..HttpConfig::default()
        };
        let registry_http = HttpConfig {
            budget: Some(Arc::clone(&budget)),
            ..http.clone()
        };
        let setting = |setting: &'static str| {
            move |e: artifact_monitor_core::ports::RemoteError| FunctionError::Settings {
                setting,
                message: e.to_string(),
            }
        };
        let npm = NpmRegistry::new(
            &settings.registry,
            registry_http.clone(),
            settings.max_packument_bytes,
        )
        .map_err(setting("REGISTRY_URL"))?;
        let pypi = settings
            .index
            .as_deref()
            .map(|index| PypiIndex::new(index, registry_http.clone(), DEFAULT_MAX_PAGE_BYTES))
            .transpose()
            .map_err(setting("INDEX_URL"))?;
        let mut feeds = Vec::new();
        if let Some(feed) = settings.changes_feed.as_deref() {
            let npm = NpmChanges::new(feed, registry_http.clone())
                .map_err(setting("CHANGES_FEED_URL"))?;
            feeds.push(Feed::Npm(npm));
        }
        if let Some(index) = settings.index.as_deref().filter(|_| settings.index_feed) {
            let rss =
                PypiUpdates::new(index, registry_http.clone()).map_err(setting("INDEX_URL"))?;
            feeds.push(Feed::Pypi(rss));
        }
        let registry = Registries { npm, pypi };
        let token = match &settings.github_token_secret {
            Some(arn) => Some(github_token(&config, arn).await?),
            None => None,
        };
        let runs = settings
            .github_api
            .as_deref()
            .map(|api| GithubRuns::new(api, token, http.clone()))
            .transpose()
            .map_err(|e| FunctionError::Settings {
                setting: "GITHUB_API_URL",
                message: e.to_string(),
            })?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            settings.aws.table.clone(),
        );
        let events = settings
            .aws
            .event_bus
            .as_ref()
            .map(|bus| EventBridgeEvents::new(aws_sdk_eventbridge::Client::new(&config), bus));
        let alerts = settings.aws.alert_topic_arn.as_ref().map(|topic| {
            SnsAlerts::new(
                aws_sdk_sns::Client::new(&config),
                topic,
                settings.aws.dashboard_url.clone(),
            )
        });
        Ok(Self {
            settings,
            store,
            registry,
            feeds,
            runs,
            events,
            alerts,
            budget,
        })
    }
}

/// The GitHub token in a Secrets Manager secret: the secret string itself, trimmed. Errors
/// name the secret, never its value.
async fn github_token(config: &aws_config::SdkConfig, arn: &str) -> Result<String, FunctionError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let answer = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            FunctionError::Secret(format!(
                "cannot read {arn}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    answer
        .secret_string()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| FunctionError::Settings {
            setting: "GITHUB_TOKEN_SECRET_ARN",
            message: format!("{arn} holds no text"),
        })
}
