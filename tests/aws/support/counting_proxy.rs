//! A counting proxy in front of the AWS emulator: a function binary pointed at it
//! (`AWS_ENDPOINT_URL`) has every request forwarded unchanged and counted by service and
//! operation (`X-Amz-Target` for the JSON protocols, `Action=` for the query protocols), so
//! a harness can read exactly what one invocation asked of DynamoDB, SNS or EventBridge.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Operation → requests.
pub type Counts = BTreeMap<String, u64>;

#[derive(Clone)]
struct Shared {
    target: String,
    client: reqwest::Client,
    counts: Arc<Mutex<Counts>>,
}

/// A running proxy; stops when dropped.
pub struct CountingProxy {
    pub url: String,
    counts: Arc<Mutex<Counts>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for CountingProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingProxy({})", self.url)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation a request asks for: `DynamoDB.GetItem`, `SNS.Publish`, `EventBridge.PutEvents`.
fn operation(headers: &axum::http::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, action) = target.split_once('.').unwrap_or(("", target));
        let service = if service.starts_with("DynamoDB") {
            "DynamoDB"
        } else if service.starts_with("AWSEvents") {
            "EventBridge"
        } else if service.starts_with("AmazonSQS") {
            "SQS"
        } else {
            service
        };
        return format!("{service}.{action}");
    }
    let text = String::from_utf8_lossy(body);
    let action = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown");
    format!("SNS.{action}")
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    *shared
        .counts
        .lock()
        .unwrap()
        .entry(operation(&parts.headers, &body))
        .or_default() += 1;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.target));
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(body).send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::TRANSFER_ENCODING
        {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

impl CountingProxy {
    /// Forwards to `target` (the emulator's endpoint).
    pub async fn start(target: &str) -> Self {
        let counts = Arc::new(Mutex::new(Counts::new()));
        let shared = Shared {
            target: target.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            counts: Arc::clone(&counts),
        };
        let app = Router::new().fallback(forward).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, counts, task }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap().clone()
    }

    /// What was counted since `before`.
    pub fn since(&self, before: &Counts) -> Counts {
        self.counts()
            .into_iter()
            .filter_map(|(op, n)| {
                let delta = n - before.get(&op).copied().unwrap_or(0);
                (delta > 0).then_some((op, delta))
            })
            .collect()
    }
}
