//! The monitor's tunables, shared by every use-case.

/// Tunables of the monitor.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// A version pending this long is alerted as unverifiable (and still retried).
    pub unverifiable_after_secs: i64,
    /// A pending version (or a failed read) is due again after this long.
    pub retry_pending_secs: i64,
    /// An event handed to the bus is emitted again after this long if no verdict came.
    pub redeliver_after_secs: i64,
    /// Runs created this long before a publish are searched for (versions without provenance).
    pub run_search_before_secs: i64,
    /// ... and this long after.
    pub run_search_after_secs: i64,
    /// Where the dashboard lives, for links in alerts (optional).
    pub dashboard_url: Option<String>,
    /// One judgement may take this long in all (every request and retry it makes); past
    /// it, the version stays due and is judged again later.
    pub judge_timeout_secs: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            unverifiable_after_secs: 30 * 60,
            retry_pending_secs: 60,
            redeliver_after_secs: 5 * 60,
            run_search_before_secs: 6 * 3600,
            run_search_after_secs: 15 * 60,
            dashboard_url: None,
            judge_timeout_secs: 300,
        }
    }
}
