//! The HTTP client every remote adapter shares: per-request timeout, bounded concurrency,
//! retries with exponential backoff and full jitter on connection errors, 429 and 5xx
//! (honouring `Retry-After` and GitHub's `X-RateLimit-*`), and a cap on response bodies that
//! is enforced while reading, so a hostile server cannot make us buffer more than the cap.

use super::bytes::{ByteBudget, INITIAL, Reservation};
use artifact_monitor_core::ports::{Body, RemoteError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How an [`HttpClient`] behaves.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest a `Retry-After` or rate-limit reset is waited for; beyond it the request
    /// fails with [`RemoteError::RateLimited`] and the work is retried on a later tick.
    pub max_wait: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A request budget shared with other clients (everything that talks to one registry);
    /// every attempt spends one request of it. `None`: no budget beyond `concurrency`.
    pub budget: Option<Arc<RequestBudget>>,
    /// After a request failed through all its retries (no connection, or 429/5xx answers
    /// to every attempt), further requests fail at once for this long instead of each
    /// waiting out its own retries (a service that is down or overloaded costs seconds per
    /// tick, not seconds per version).
    pub unreachable_cooldown: Duration,
    /// The process's budget of response bytes in flight, shared by every client; a body's
    /// bytes are reserved before it is read and given back when the [`Body`] is dropped.
    /// `None`: each response is bounded by its own cap only.
    pub bytes: Option<Arc<ByteBudget>>,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_wait: Duration::from_secs(60),
            concurrency: 16,
            unreachable_cooldown: Duration::from_secs(30),
            budget: None,
            bytes: None,
            user_agent: concat!("artifact-monitor/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A token bucket: `per_sec` requests per second sustained, bursts up to `capacity`.
///
/// Written here rather than taken from `governor`: one async `acquire` and a read of what is
/// left are all the monitor needs, and the sweep plans its work from `available()`, which
/// `governor` does not expose.
#[derive(Debug)]
pub struct RequestBudget {
    per_sec: f64,
    capacity: f64,
    state: std::sync::Mutex<(f64, std::time::Instant)>,
    spent: AtomicU64,
}

impl artifact_monitor_core::ports::Allowance for RequestBudget {
    fn available(&self) -> f64 {
        RequestBudget::available(self)
    }
}

impl RequestBudget {
    /// A full bucket.
    pub fn new(per_sec: f64, capacity: f64) -> Self {
        let per_sec = per_sec.max(0.001);
        let capacity = capacity.max(1.0);
        Self {
            per_sec,
            capacity,
            state: std::sync::Mutex::new((capacity, std::time::Instant::now())),
            spent: AtomicU64::new(0),
        }
    }

    pub fn per_sec(&self) -> f64 {
        self.per_sec
    }

    /// Requests that may be sent now without waiting.
    pub fn available(&self) -> f64 {
        let Ok(mut state) = self.state.lock() else {
            return 0.0;
        };
        self.refill(&mut state);
        state.0
    }

    /// Requests spent so far.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    fn refill(&self, state: &mut (f64, std::time::Instant)) {
        let now = std::time::Instant::now();
        let earned = now.duration_since(state.1).as_secs_f64() * self.per_sec;
        state.0 = (state.0 + earned).min(self.capacity);
        state.1 = now;
    }

    /// Waits until one request may be sent, and spends it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                self.refill(&mut state);
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    self.spent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                (1.0 - state.0) / self.per_sec
            };
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

/// A response whose body was read completely, within the cap (and within the byte budget,
/// which the body holds its share of until it is dropped).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Body,
}

/// Characters left as they are in a URL path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` percent-encoded as one URL path segment: a name or version from a registry or a
/// user never adds a path segment or a query.
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A shared HTTP client for one remote service.
#[derive(Debug, Clone)]
pub struct HttpClient {
    service: &'static str,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    config: HttpConfig,
    /// Unix seconds before which the service asked us not to call (rate limit exhausted).
    blocked_until: Arc<AtomicI64>,
    /// Unix seconds until which the service is considered down (see `unreachable_cooldown`),
    /// and why.
    down_until: Arc<AtomicI64>,
    down_because: Arc<std::sync::Mutex<String>>,
    requests: Arc<AtomicU64>,
}

fn unix_now() -> i64 {
    use artifact_monitor_core::ports::Clock as _;
    artifact_monitor_core::SystemClock.now()
}

enum Attempt {
    Done(HttpResponse),
    /// Worth another try after at least this long (`None`: the backoff decides).
    Retry(RemoteError, Option<Duration>),
    Fail(RemoteError),
}

/// The most a response buffer is sized to before its bytes arrive.
const PRESIZE_LIMIT: u64 = 8 * 1024 * 1024;

/// Redirects followed within one answer at most.
const MAX_REDIRECTS: usize = 3;

/// Why a redirect was not followed.
#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

/// `scheme://host:port` of a URL, bounded and printable (it comes from a hostile answer).
fn origin(url: &reqwest::Url) -> String {
    let host: String = url
        .host_str()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect();
    format!(
        "{}://{host}:{}",
        url.scheme(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Redirects are followed only within the origin (scheme, host and port) the request was
/// sent to, and only a few: an answer that points at another host (a metadata address, a
/// private network, a look-alike registry) is an error that names where it pointed, never
/// a document fetched from there.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let from = attempt.previous().first().map(origin);
        let to = origin(attempt.url());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RedirectRefused(format!(
                "more than {MAX_REDIRECTS} redirects (last to {to})"
            )))
        } else if from.as_deref() != Some(to.as_str()) {
            attempt.error(RedirectRefused(format!(
                "redirect to another origin refused: {to}"
            )))
        } else {
            attempt.follow()
        }
    })
}

impl HttpClient {
    pub fn new(service: &'static str, config: HttpConfig) -> Result<Self, RemoteError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| RemoteError::Unreachable(service, format!("cannot build client: {e}")))?;
        Ok(Self {
            service,
            client,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            blocked_until: Arc::new(AtomicI64::new(0)),
            down_until: Arc::new(AtomicI64::new(0)),
            down_because: Arc::new(std::sync::Mutex::new(String::new())),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GET `url` with `headers`, retrying transient failures; reads at most `max_body` bytes.
    /// Statuses other than 429/5xx (and rate-limit 403s) are returned to the caller.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max_body: u64,
    ) -> Result<HttpResponse, RemoteError> {
        self.send(reqwest::Method::GET, url, headers, None, max_body)
            .await
    }

    /// A document that may not exist: its body on 200, `None` on 404, any other status an
    /// error (a registry's attestations, an index's provenance).
    pub async fn get_if_found(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max_body: u64,
    ) -> Result<Option<Body>, RemoteError> {
        let response = self.get(url, headers, max_body).await?;
        match response.status {
            200 => Ok(Some(response.body)),
            404 => Ok(None),
            status => Err(RemoteError::Status(self.service, status)),
        }
    }

    /// POST a JSON body, with the same retry rules.
    pub async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        max_body: u64,
    ) -> Result<HttpResponse, RemoteError> {
        self.post(url, "application/json", body, max_body).await
    }

    /// POST an `application/x-www-form-urlencoded` body, with the same retry rules.
    pub async fn post_form(
        &self,
        url: &str,
        body: Vec<u8>,
        max_body: u64,
    ) -> Result<HttpResponse, RemoteError> {
        self.post(url, "application/x-www-form-urlencoded", body, max_body)
            .await
    }

    async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        max_body: u64,
    ) -> Result<HttpResponse, RemoteError> {
        let headers = [("content-type", content_type)];
        self.send(reqwest::Method::POST, url, &headers, Some(body), max_body)
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        max_body: u64,
    ) -> Result<HttpResponse, RemoteError> {
        let down_until = self.down_until.load(Ordering::Relaxed);
        let now = unix_now();
        if down_until > now {
            let because = self
                .down_because
                .lock()
                .map(|b| b.clone())
                .unwrap_or_default();
            return Err(RemoteError::Unreachable(
                self.service,
                format!(
                    "failing moments ago ({because}); not asked again for {} s",
                    down_until - now
                ),
            ));
        }
        let mut attempt = 0u32;
        loop {
            self.wait_for_rate_limit().await?;
            let outcome = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    RemoteError::Unreachable(self.service, "client shut down".to_owned())
                })?;
                if let Some(budget) = &self.config.budget {
                    budget.acquire().await;
                }
                self.attempt(method.clone(), url, headers, body.clone(), max_body)
                    .await
            };
            match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(error) => return Err(error),
                // Every attempt failed to connect or was answered 429/5xx: the service is
                // down or overloaded, and the next requests fail at once for a while.
                Attempt::Retry(error, _) if attempt >= self.config.max_retries => {
                    self.cool_down(&error);
                    return Err(error);
                }
                Attempt::Retry(_, hint) => {
                    let delay = match hint {
                        // A wait longer than we accept holds every request to this service
                        // until it ends (they would each be told the same).
                        Some(wait) if wait > self.config.max_wait => {
                            let until = unix_now().saturating_add(wait.as_secs() as i64);
                            self.blocked_until.fetch_max(until, Ordering::Relaxed);
                            return Err(RemoteError::RateLimited(self.service, wait.as_secs()));
                        }
                        Some(wait) => wait,
                        None => self.backoff(attempt),
                    };
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    fn cool_down(&self, error: &RemoteError) {
        let cooldown = self.config.unreachable_cooldown.as_secs() as i64;
        if cooldown == 0 {
            return;
        }
        if let Ok(mut because) = self.down_because.lock() {
            *because = match error {
                RemoteError::Status(_, status) => format!("HTTP {status}"),
                RemoteError::Unreachable(_, detail) => detail.chars().take(200).collect(),
                other => other.to_string().chars().take(200).collect(),
            };
        }
        self.down_until
            .store(unix_now() + cooldown, Ordering::Relaxed);
    }

    /// Exponential backoff with full jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .base_backoff
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
        let cap = exp.min(self.config.max_backoff);
        cap.mul_f64(fastrand::f64())
    }

    async fn wait_for_rate_limit(&self) -> Result<(), RemoteError> {
        let until = self.blocked_until.load(Ordering::Relaxed);
        let now = unix_now();
        if until > now {
            let wait = Duration::from_secs((until - now) as u64);
            if wait > self.config.max_wait {
                return Err(RemoteError::RateLimited(self.service, wait.as_secs()));
            }
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    async fn attempt(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        max_body: u64,
    ) -> Attempt {
        let service = self.service;
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = match request.send().await {
            Ok(response) => response,
            // A refused redirect is the answer, not a transient failure: never retried.
            Err(e) if e.is_redirect() => {
                return Attempt::Fail(RemoteError::Invalid(service, describe(&e)));
            }
            // Never echo the URL's query or headers: they may carry tokens.
            Err(e) => return Attempt::Retry(RemoteError::Unreachable(service, describe(&e)), None),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, unix_now()));
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok());
        if remaining.as_deref() == Some("0")
            && let Some(reset) = reset
        {
            self.blocked_until.fetch_max(reset, Ordering::Relaxed);
        }
        let rate_limited = status == 429
            || (status == 403 && (retry_after.is_some() || remaining.as_deref() == Some("0")));
        if rate_limited {
            let wait = retry_after.or_else(|| {
                reset.map(|r| Duration::from_secs(r.saturating_sub(unix_now()).max(1) as u64))
            });
            return Attempt::Retry(RemoteError::Status(service, status), wait);
        }
        if (500..600).contains(&status) {
            return Attempt::Retry(RemoteError::Status(service, status), retry_after);
        }
        let etag = header("etag");
        let last_modified = header("last-modified");
        let cap = match &self.config.bytes {
            Some(bytes) => max_body.min(bytes.largest_body()),
            None => max_body,
        };
        let declared = response.content_length();
        if declared.is_some_and(|len| len > cap) {
            return Attempt::Fail(RemoteError::TooLarge(service, cap));
        }
        // The body's bytes are reserved before they arrive (a 304 or 204 has none).
        let mut reservation = match &self.config.bytes {
            Some(bytes) if status != 304 && status != 204 => bytes.reserve(declared, cap).await,
            _ => Reservation::unbounded(),
        };
        // A declared length is a hint, not a promise: the buffer starts at most at
        // PRESIZE_LIMIT and grows with what really arrives (a server declaring a terabyte
        // under a raised cap must not make the process allocate it). Growth past the start
        // goes straight to the declared length (or, unknown, to the reserved cap), so no
        // doubling holds two copies of a large body at once.
        let start = declared
            .unwrap_or(INITIAL)
            .min(cap)
            .min(PRESIZE_LIMIT)
            .min(reservation.bytes());
        let mut body = Vec::with_capacity(usize::try_from(start).unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let needed = body.len() as u64 + chunk.len() as u64;
                    if needed > cap {
                        return Attempt::Fail(RemoteError::TooLarge(service, cap));
                    }
                    if needed > reservation.bytes()
                        && let Some(bytes) = &self.config.bytes
                    {
                        bytes.grow(&mut reservation, cap).await;
                    }
                    if needed > body.capacity() as u64 {
                        let target = match declared {
                            Some(length) => length,
                            None if self.config.bytes.is_some() => reservation.bytes(),
                            None => needed.saturating_mul(2),
                        };
                        let target = target.min(cap).max(needed);
                        body.reserve_exact(
                            usize::try_from(target).unwrap_or(usize::MAX) - body.len(),
                        );
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // A body cut short (connection reset, length mismatch, timeout) is transient.
                Err(e) => {
                    return Attempt::Retry(
                        RemoteError::Unreachable(
                            service,
                            format!("body not received: {}", describe(&e)),
                        ),
                        None,
                    );
                }
            }
        }
        let body = reservation.into_body(body);
        Attempt::Done(HttpResponse {
            status,
            etag,
            last_modified,
            body,
        })
    }
}

/// A reqwest error without its URL (which could carry credentials).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "body incomplete"
    } else if error.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({detail})")
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value)
        .ok()?
        .timestamp()
        .as_second();
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        let now = "2026-11-28T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn a_service_that_is_down_fails_fast_after_the_first_failure() {
        let config = HttpConfig {
            max_retries: 1,
            base_backoff: Duration::from_millis(1),
            ..HttpConfig::default()
        };
        let client = HttpClient::new("test", config).unwrap();
        // Port 1 on loopback refuses connections.
        let first = client
            .get("http://127.0.0.1:1/", &[], 10)
            .await
            .unwrap_err();
        assert!(matches!(first, RemoteError::Unreachable(..)), "{first}");
        assert_eq!(client.requests_sent(), 2);
        let second = client
            .get("http://127.0.0.1:1/", &[], 10)
            .await
            .unwrap_err();
        assert!(second.to_string().contains("moments ago"), "{second}");
        assert!(second.to_string().contains("connection failed"), "{second}");
        assert_eq!(
            client.requests_sent(),
            2,
            "nothing sent during the cooldown"
        );
    }

    #[tokio::test]
    async fn the_budget_paces_requests() {
        let budget = RequestBudget::new(20.0, 2.0);
        let started = std::time::Instant::now();
        for _ in 0..6 {
            budget.acquire().await;
        }
        // Two from the full bucket, four earned at 20/s: at least 0.2 s.
        assert!(started.elapsed() >= Duration::from_millis(190));
        assert_eq!(budget.spent(), 6);
        assert!(budget.available() < 1.0);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let client = HttpClient::new("test", HttpConfig::default()).unwrap();
        for attempt in 0..40 {
            assert!(client.backoff(attempt) <= client.config.max_backoff);
        }
    }
}
