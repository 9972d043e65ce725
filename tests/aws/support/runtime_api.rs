//! The Lambda Runtime API, served by the test so the real function binaries run as child
//! processes as they would in Lambda: the four endpoints a runtime client uses (next
//! invocation, its response, its error, an init error) and the `AWS_LAMBDA_*` environment.
//! A test queues an invocation and awaits what the function answered.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};

/// What a function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    Error(Value),
}

impl Answer {
    /// The response, or a panic naming the error.
    pub fn response(self) -> Value {
        match self {
            Answer::Response(value) => value,
            Answer::Error(error) => panic!("the function answered an error: {error}"),
        }
    }
}

struct Invocation {
    id: String,
    payload: Value,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Invocation>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    init_errors: Mutex<Vec<Value>>,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A running Runtime API for one function; the child process stops when this is dropped.
pub struct RuntimeApi {
    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` wants it.
    pub address: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    child: Option<Child>,
    /// Where the function's output goes.
    pub log: Option<PathBuf>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RuntimeApi({})", self.address)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.task.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    loop {
        let notified = shared.queued.notified();
        if let Some(invocation) = shared.queue.lock().unwrap().pop_front() {
            let mut headers = HeaderMap::new();
            let value = |v: &str| HeaderValue::from_str(v).unwrap();
            headers.insert("lambda-runtime-aws-request-id", value(&invocation.id));
            headers.insert(
                "lambda-runtime-deadline-ms",
                value(&invocation.deadline_ms.to_string()),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                value("arn:aws:lambda:us-east-1:123456789012:function:test"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                value("Root=1-00000000-000000000000000000000000"),
            );
            headers.insert("content-type", value("application/json"));
            return (StatusCode::OK, headers, invocation.payload.to_string()).into_response();
        }
        notified.await;
    }
}

fn answered(shared: &Shared, id: &str, answer: Answer) -> StatusCode {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(sender) => {
            let _ = sender.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answered(&shared, &id, Answer::Response(json(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answered(&shared, &id, Answer::Error(json(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.init_errors.lock().unwrap().push(json(&body));
    StatusCode::ACCEPTED
}

/// The path of a function binary the workspace built (`cargo build --workspace` builds
/// every binary before integration tests run).
pub fn binary(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let path = root.join("target").join(profile).join(name);
    assert!(
        path.exists(),
        "{} is missing: build the functions first (`cargo build --workspace`)",
        path.display()
    );
    path
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            shared,
            task,
            child: None,
            log: None,
        }
    }

    /// Starts the function `binary` against this API with the Lambda environment and `env`.
    /// Its log (what Lambda would send to CloudWatch) goes to `target/tmp/lambda/`.
    pub fn spawn(&mut self, binary: &PathBuf, name: &str, env: &[(&str, String)]) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/lambda");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{name}-{}-{}.log",
            std::process::id(),
            self.address.replace(':', "-")
        ));
        let log = std::fs::File::create(&path).unwrap();
        self.log = Some(path);
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        for (key, value) in env {
            command.env(key, value);
        }
        self.child = Some(command.spawn().unwrap());
    }

    /// Invokes the function with `payload`, giving it `timeout`, and waits for its answer.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Answer {
        // Unique over every function of the test process, as Lambda's request ids are (the
        // poller's lease is held by a request id).
        let id = format!(
            "00000000-0000-4000-8000-{:012}",
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let (sender, receiver) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(id.clone(), sender);
        self.shared.queue.lock().unwrap().push_back(Invocation {
            id: id.clone(),
            payload,
            deadline_ms: now_ms + timeout.as_millis() as u64,
        });
        self.shared.queued.notify_waiters();
        let started = Instant::now();
        match tokio::time::timeout(timeout + Duration::from_secs(10), receiver).await {
            Ok(Ok(answer)) => answer,
            _ => panic!(
                "no answer to invocation {id} in {:?}; init errors: {:?}",
                started.elapsed(),
                self.init_errors()
            ),
        }
    }

    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.init_errors.lock().unwrap().clone()
    }
}
