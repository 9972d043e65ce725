//! Flags that say where the registry and GitHub are, shared by `check` and `serve`.

use artifact_monitor_http::{
    ByteBudget, DEFAULT_BYTES_IN_FLIGHT, DEFAULT_CHANGES_FEED, DEFAULT_GITHUB_API, DEFAULT_INDEX,
    DEFAULT_MAX_PACKUMENT_BYTES, DEFAULT_MAX_PAGE_BYTES, DEFAULT_REGISTRY, Feed, GithubRuns,
    HttpConfig, NpmChanges, NpmRegistry, PypiIndex, PypiUpdates, Registries, RequestBudget,
};
use clap::Args;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding an optional GitHub token (never logged).
pub const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";

/// Seconds a request may take: at least one, at most ten minutes.
pub const TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 1..=600;

/// `value` if it lies in `range`, else an error naming the setting and the range.
pub fn within<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{name} = {value} is out of range: it must be from {} to {}",
            range.start(),
            range.end()
        ))
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct RemoteArgs {
    /// The registry's base URL: npm's [default: https://registry.npmjs.org], or with
    /// `--type pypi` the package index's [default: https://pypi.org].
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// GitHub API base URL [default: https://api.github.com].
    #[arg(long, value_name = "URL", conflicts_with = "no_github")]
    pub github_api: Option<String>,
    /// Do not look up GitHub Actions runs (verdicts say so).
    #[arg(long)]
    pub no_github: bool,
    /// Per-request timeout in seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// Resolved remote settings (flags over config file over defaults).
#[derive(Debug, Clone)]
pub struct Remotes {
    pub registry: String,
    /// The Python package index's base URL.
    pub index: String,
    pub github_api: Option<String>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub max_packument_bytes: u64,
    /// npm's changes feed; `None`: the sweep alone finds new npm versions.
    pub changes_feed: Option<String>,
    /// Whether the index's RSS of new releases is followed (else the sweep alone finds
    /// new PyPI releases).
    pub index_feed: bool,
    /// The request budget every registry request (feed included) spends from.
    pub budget: Option<Arc<RequestBudget>>,
    /// Response bytes in flight at once, over every client of the process.
    pub bytes_in_flight: u64,
    bytes: Option<Arc<ByteBudget>>,
}

impl Remotes {
    pub fn defaults() -> Self {
        Self {
            registry: DEFAULT_REGISTRY.to_owned(),
            index: DEFAULT_INDEX.to_owned(),
            github_api: Some(DEFAULT_GITHUB_API.to_owned()),
            timeout: Duration::from_secs(60),
            concurrency: 16,
            max_packument_bytes: DEFAULT_MAX_PACKUMENT_BYTES,
            changes_feed: None,
            index_feed: false,
            budget: None,
            bytes_in_flight: DEFAULT_BYTES_IN_FLIGHT,
            bytes: None,
        }
    }

    /// Builds the process's byte budget, and checks that one packument of the largest
    /// allowed size fits in it.
    fn build_byte_budget(&mut self) -> Result<(), String> {
        let bytes = ByteBudget::new(self.bytes_in_flight);
        if self.max_packument_bytes > bytes.largest_body() {
            return Err(format!(
                "max_packument_bytes = {} does not fit in max_bytes_in_flight = {}: one \
                 response may take at most {} bytes of it",
                self.max_packument_bytes,
                self.bytes_in_flight,
                bytes.largest_body()
            ));
        }
        self.bytes = Some(Arc::new(bytes));
        Ok(())
    }

    /// The command line over what was set before; settles the byte budget (call last).
    pub fn apply(&mut self, args: &RemoteArgs) -> Result<(), String> {
        if let Some(registry) = &args.registry {
            self.registry = registry.clone();
        }
        if let Some(api) = &args.github_api {
            self.github_api = Some(api.clone());
        }
        if args.no_github {
            self.github_api = None;
        }
        if let Some(secs) = args.timeout {
            self.timeout = Duration::from_secs(within("--timeout", secs, TIMEOUT_SECS)?);
        }
        self.build_byte_budget()
    }

    fn http(&self) -> HttpConfig {
        HttpConfig {
            timeout: self.timeout,
            concurrency: self.concurrency,
            bytes: self.bytes.clone(),
            ..HttpConfig::default()
        }
    }

    fn registry_http(&self) -> HttpConfig {
        HttpConfig {
            budget: self.budget.clone(),
            ..self.http()
        }
    }

    pub fn registry(&self) -> Result<NpmRegistry, String> {
        NpmRegistry::new(
            &self.registry,
            self.registry_http(),
            self.max_packument_bytes,
        )
        .map_err(|e| e.to_string())
    }

    /// Every registry type's adapter (npm's and the package index), one request budget.
    pub fn registries(&self) -> Result<Registries, String> {
        let pypi = PypiIndex::new(&self.index, self.registry_http(), DEFAULT_MAX_PAGE_BYTES)
            .map_err(|e| e.to_string())?;
        Ok(Registries {
            npm: self.registry()?,
            pypi: Some(pypi),
        })
    }

    /// The feeds to follow each tick, one per registry type that has one configured
    /// (they spend the registry's budget; a type's feed is read only while an artifact of
    /// that type is watched).
    pub fn feeds(&self) -> Result<Vec<Feed>, String> {
        let mut feeds = Vec::new();
        if let Some(feed) = &self.changes_feed {
            let npm = NpmChanges::new(feed, self.registry_http()).map_err(|e| e.to_string())?;
            feeds.push(Feed::Npm(npm));
        }
        if self.index_feed {
            let pypi =
                PypiUpdates::new(&self.index, self.registry_http()).map_err(|e| e.to_string())?;
            feeds.push(Feed::Pypi(pypi));
        }
        Ok(feeds)
    }

    /// The public registry's feed when the registry is the public one.
    pub fn default_changes_feed(&self) -> Option<String> {
        (self.registry.trim_end_matches('/') == DEFAULT_REGISTRY)
            .then(|| DEFAULT_CHANGES_FEED.to_owned())
    }

    /// The GitHub adapter, with the token from the environment when one is set.
    pub fn github(&self) -> Result<Option<GithubRuns>, String> {
        let Some(api) = &self.github_api else {
            return Ok(None);
        };
        let token = std::env::var(GITHUB_TOKEN_ENV).ok();
        GithubRuns::new(api, token, self.http())
            .map(Some)
            .map_err(|e| e.to_string())
    }
}
