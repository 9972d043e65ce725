//! The HTTP API's router, called in process (`tower::ServiceExt::oneshot`) over a seeded
//! memory store: every route's statuses and envelope, validation messages naming the field,
//! pagination across pages with cursors bound to their list, authentication (every route of
//! the OpenAPI document answers 401 without credentials, but the public one), the sign-in
//! cookie and CSRF, and every JSON answer checked against the document's own schemas.

#![allow(clippy::unwrap_used)]

use artifact_monitor_api::auth::ApiToken;
use artifact_monitor_api::{ApiAuth, ApiState, app};
use artifact_monitor_core::domain::{ArtifactSource, Compliance, WatchedArtifact, Writers};
use artifact_monitor_core::ports::{ArtifactStore, Clock, WatchStore};
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_tests::store_contract::{record, record_with, verdict, watched};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt as _;

const TOKEN: &str = "test-token-0123456789-abcdefghijklmnopqrstuvwxyz";
const NOW: i64 = 1_764_547_200; // 2025-12-01T00:00:00Z

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> i64 {
        NOW
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn error_message(&self) -> String {
        let body = self.json();
        assert!(body["error"]["code"].is_string(), "{body}");
        body["error"]["message"].as_str().unwrap().to_owned()
    }
}

struct Api {
    router: Router,
    store: MemoryStore,
}

impl Api {
    async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.call(authed(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    async fn send(&self, method: Method, uri: &str, body: Value) -> Answer {
        self.call(
            authed(method, uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}

fn authed(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8080")
        .header("authorization", format!("Bearer {TOKEN}"))
}

fn anonymous(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8080")
}

/// A store with five artifacts: alpha (2 compliant), @scope/beta (1 compliant, 1
/// non-compliant), gamma (1 pending), delta and epsilon (none judged: pending); gamma comes
/// from a config file.
async fn seeded() -> Api {
    let store = MemoryStore::new();
    for name in ["alpha", "@scope/beta", "delta", "epsilon"] {
        store.put_artifact(&watched(name)).await.unwrap();
    }
    let gamma = WatchedArtifact {
        source: ArtifactSource::Config {
            file: "monitor.toml".to_owned(),
        },
        ..watched("gamma")
    };
    store.put_artifact(&gamma).await.unwrap();
    let good = verdict(Compliance::Compliant, &["provenance_verified"]);
    let bad = verdict(Compliance::NonCompliant, &["no_provenance"]);
    let wait = verdict(Compliance::Pending, &["github_unavailable"]);
    record_with(
        &store,
        "npm/alpha",
        &record("1.0.0", good.clone(), 100),
        None,
        100,
    )
    .await;
    record_with(
        &store,
        "npm/alpha",
        &record("1.1.0", good.clone(), 200),
        None,
        200,
    )
    .await;
    record_with(
        &store,
        "npm/@scope/beta",
        &record("2.0.0", good, 300),
        None,
        300,
    )
    .await;
    record_with(
        &store,
        "npm/@scope/beta",
        &record("2.0.1", bad, 400),
        None,
        400,
    )
    .await;
    record_with(&store, "npm/gamma", &record("0.1.0", wait, 500), None, 500).await;
    let state = ApiState {
        store: store.clone(),
        auth: ApiAuth::Token(ApiToken::new(TOKEN).unwrap()),
        clock: Arc::new(Fixed),
        wake: None,
        hosts: artifact_monitor_api::loopback_hosts("127.0.0.1:8080".parse().unwrap()),
    };
    Api {
        router: app(state),
        store,
    }
}

/// Validates `value` against the schema the OpenAPI document gives `component`.
fn check_schema(document: &Value, component: &str, value: &Value) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{component}"),
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{component}: {errors:?}\n{value}");
}

#[tokio::test]
async fn the_health_check_is_public_and_every_documented_route_needs_credentials() {
    let api = seeded().await;
    let health = api
        .call(
            anonymous(Method::GET, "/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), json!({"status": "ok"}));
    let document = api.get("/openapi.json").await.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 7, "{paths:?}");
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{type}", "npm")
            .replace("{name}", "alpha")
            .replace("{version}", "1.0.0");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let answer = api
                .call(
                    anonymous(method.clone(), &concrete)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            if path == "/healthz" {
                assert_eq!(answer.status, StatusCode::OK);
                continue;
            }
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(answer.json()["error"]["code"], "unauthorized");
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} routes checked");
    // A wrong token is no better than none; pages redirect to the sign-in form.
    let wrong = api
        .call(
            anonymous(Method::GET, "/summary")
                .header("authorization", "Bearer not-the-token-not-the-token-xx")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    for page in ["/", "/view/npm/alpha"] {
        let answer = api
            .call(anonymous(Method::GET, page).body(Body::empty()).unwrap())
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page}");
        let location = answer.headers["location"].to_str().unwrap();
        assert!(location.starts_with("/login?next="), "{location}");
    }
    let login = api
        .call(
            anonymous(Method::GET, "/login")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"token\""));
    let unknown = api.get("/no/such/route").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn summary_lists_and_details_match_the_store_and_the_document() {
    let api = seeded().await;
    let document = api.get("/openapi.json").await.json();
    let summary = api.get("/summary").await;
    assert_eq!(summary.status, StatusCode::OK);
    assert_eq!(
        summary.json(),
        json!({"total": 5, "compliant": 1, "non_compliant": 1, "pending": 3})
    );
    check_schema(&document, "SummaryView", &summary.json());

    // Pages of two across five artifacts, in name order, each cursor bound to its list.
    let mut names = Vec::new();
    let mut uri = "/artifacts?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = api.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        check_schema(&document, "ArtifactPage", &body);
        pages += 1;
        for item in body["items"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_owned());
            assert!(item.get("policy").is_none(), "lists leave the policy out");
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/artifacts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["@scope/beta", "alpha", "delta", "epsilon", "gamma"]);

    let beta = api.get("/artifacts/npm/%40scope%2Fbeta").await;
    assert_eq!(beta.status, StatusCode::OK, "{}", beta.text());
    let beta = beta.json();
    check_schema(&document, "ArtifactView", &beta);
    assert_eq!(beta["compliance"], "non_compliant");
    assert_eq!(
        beta["versions"],
        json!({"total": 2, "compliant": 1, "non_compliant": 1, "pending": 0})
    );
    assert_eq!(beta["workflows"], json!([".github/workflows/release.yml"]));
    assert_eq!(beta["policy"]["require_github_hosted_runner"], true);
    assert!(beta["last_published"].is_string());

    let filtered = api.get("/artifacts?compliance=pending").await.json();
    let pending: Vec<&str> = filtered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["delta", "epsilon", "gamma"]);

    // Versions newest first, as check --json prints them; one with its detail.
    let versions = api
        .get("/artifacts/npm/%40scope%2Fbeta/versions")
        .await
        .json();
    check_schema(&document, "VersionPage", &versions);
    let items = versions["items"].as_array().unwrap();
    assert_eq!(items[0]["version"], "2.0.1");
    assert_eq!(items[1]["version"], "2.0.0");
    assert_eq!(
        items[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "compliance",
            "confidence",
            "logs_url",
            "published_at",
            "reasons",
            "version"
        ]
    );
    assert_eq!(items[0]["reasons"], json!(["no_provenance"]));
    let one = api
        .get("/artifacts/npm/%40scope%2Fbeta/versions/2.0.1")
        .await;
    assert_eq!(one.status, StatusCode::OK);
    let one = one.json();
    check_schema(&document, "VersionDetail", &one);
    assert_eq!(one["compliance"], "non_compliant");
    assert_eq!(one["evidence"], Value::Null);
    assert_eq!(one["explanations"], json!(["because no_provenance"]));
    assert_eq!(one["history"], json!([]));
    let missing = api.get("/artifacts/npm/alpha/versions/9.9.9").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    check_schema(&document, "ErrorEnvelope", &missing.json());
    let unwatched = api.get("/artifacts/npm/nobody").await;
    assert_eq!(unwatched.status, StatusCode::NOT_FOUND);

    // A PyPI release: the detail lists each file's own verdict.
    let project = artifact_monitor_core::domain::Artifact::new(
        artifact_monitor_core::registry::RegistryType::Pypi,
        "SampleProject",
        artifact_monitor_core::domain::PolicySpec::new(
            "pypa/sampleproject",
            &[".github/workflows/release.yml"],
        ),
    )
    .unwrap();
    api.store
        .put_artifact(&WatchedArtifact::new(project, ArtifactSource::Api, 1))
        .await
        .unwrap();
    let mut release = verdict(Compliance::NonCompliant, &["no_provenance"]);
    release.files = vec![artifact_monitor_core::domain::FileVerdict {
        name: "sampleproject-4.0.1.tar.gz".into(),
        integrity: Some("sha256-Cs55gPgsWBXt5M17+fZpNoTOwq5Hubet6a3VM7hifGs=".into()),
        uploaded_at: Some(1_796_637_600),
        compliance: Compliance::NonCompliant,
        reasons: vec!["no_provenance".parse().unwrap()],
    }];
    record_with(
        &api.store,
        "pypi/sampleproject",
        &record("4.0.1", release, 600),
        None,
        600,
    )
    .await;
    let detail = api
        .get("/artifacts/pypi/SampleProject/versions/4.0.1")
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let detail = detail.json();
    check_schema(&document, "VersionDetail", &detail);
    assert_eq!(
        detail["files"],
        json!([{
            "filename": "sampleproject-4.0.1.tar.gz",
            "sha256": "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b",
            "uploaded_at": "2026-12-07T10:00:00Z",
            "compliance": "non_compliant",
            "reasons": ["no_provenance"],
        }])
    );
    assert_eq!(one["files"], json!([]), "an npm version is one file");
    // Its page lists the files, each with its verdict.
    let page = api.get("/view/pypi/sampleproject").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("data-file=\"sampleproject-4.0.1.tar.gz\" data-compliance=\"non_compliant\""),
        "{html}"
    );
    assert!(html.contains("sha256 0ace7980f82c"));
}

#[tokio::test]
async fn bad_limits_and_foreign_or_forged_cursors_are_refused() {
    let api = seeded().await;
    for limit in ["0", "501", "many", "-1"] {
        let answer = api.get(&format!("/artifacts?limit={limit}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "limit={limit}");
        assert!(answer.error_message().starts_with("limit:"));
    }
    assert_eq!(api.get("/artifacts?limit=500").await.status, StatusCode::OK);
    // A cursor of alpha's versions is not one of beta's, nor of the artifact list.
    let first = api
        .get("/artifacts/npm/alpha/versions?limit=1")
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = api
        .get(&format!(
            "/artifacts/npm/alpha/versions?limit=1&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(second["items"][0]["version"], "1.0.0");
    for uri in [
        format!("/artifacts/npm/%40scope%2Fbeta/versions?cursor={cursor}"),
        format!("/artifacts?cursor={cursor}"),
        "/artifacts?cursor=AAAA".to_owned(),
        format!("/artifacts/npm/alpha/versions?cursor={}", "x".repeat(3000)),
        // One character added to, or changed in, a cursor of this very list.
        format!("/artifacts/npm/alpha/versions?limit=1&cursor={cursor}A"),
        format!(
            "/artifacts/npm/alpha/versions?limit=1&cursor={}",
            cursor.replacen(|c: char| c.is_ascii_alphabetic(), "9", 1)
        ),
    ] {
        let answer = api.get(&uri).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(answer.error_message().starts_with("cursor:"), "{uri}");
    }
    // A well-formed cursor of alpha's list pointing into beta's range: the store refuses it.
    let forged = artifact_monitor_api::cursor::encode(
        "versions:npm/alpha",
        "npm/@scope/beta\u{0}00000000000000000000\u{0}2.0.0",
    );
    let answer = api
        .get(&format!("/artifacts/npm/alpha/versions?cursor={forged}"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
    let bad_filter = api.get("/artifacts?compliance=maybe").await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn adding_an_artifact_validates_every_field_and_starts_its_backfill() {
    let api = seeded().await;
    let document = api.get("/openapi.json").await.json();
    let good = json!({
        "type": "npm", "name": "@octo/new-pkg", "repository": "octo-org/new-pkg",
        "workflows": [".github/workflows/release.yml"], "allowed_refs": ["refs/tags/v*"]
    });
    let created = api.send(Method::POST, "/artifacts", good.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    check_schema(&document, "ArtifactView", &created);
    assert_eq!(created["name"], "@octo/new-pkg");
    assert_eq!(created["compliance"], "pending");
    assert_eq!(created["backfill"]["started"], false);
    assert_eq!(created["source"]["kind"], "api");
    assert_eq!(created["policy"]["allowed_refs"], json!(["refs/tags/v*"]));
    // Its first read (the backfill) is due now.
    let due = api.store.due_counts().await.unwrap();
    assert_eq!(due.reads, 1);
    let again = api.send(Method::POST, "/artifacts", good).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A PyPI project: held under its PEP 503 normal form, found by any spelling of it.
    let project = json!({
        "type": "pypi", "name": "Sample.Project", "repository": "pypa/sampleproject",
        "workflows": [".github/workflows/release.yml"]
    });
    let created = api.send(Method::POST, "/artifacts", project.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    check_schema(&document, "ArtifactView", &created);
    assert_eq!(
        (created["type"].as_str(), created["name"].as_str()),
        (Some("pypi"), Some("sample-project"))
    );
    let found = api.get("/artifacts/pypi/Sample_Project").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let again = api.send(Method::POST, "/artifacts", project).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let cases = [
        (
            json!({"name": "Bad Name", "repository": "o/r", "workflows": [".github/workflows/r.yml"]}),
            "name:",
        ),
        (
            json!({"name": "ok-pkg", "repository": "not-a-repo", "workflows": [".github/workflows/r.yml"]}),
            "repository:",
        ),
        (
            json!({"name": "ok-pkg", "repository": "o/r", "workflows": ["release.yml"]}),
            "workflows[0]:",
        ),
        (
            json!({"name": "ok-pkg", "repository": "o/r", "workflows": []}),
            "workflows:",
        ),
        (
            json!({"name": "ok-pkg", "repository": "o/r", "workflows": [".github/workflows/r.yml"], "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            json!({"type": "maven", "name": "ok-pkg", "repository": "o/r", "workflows": [".github/workflows/r.yml"]}),
            "type:",
        ),
        (
            json!({"type": "pypi", "name": "-not-a-project-", "repository": "o/r", "workflows": [".github/workflows/r.yml"]}),
            "name:",
        ),
        (
            json!({"name": "ok-pkg", "repository": "o/r", "workflows": [".github/workflows/r.yml"], "repository_id": "abc"}),
            "repository_id:",
        ),
        (
            json!({"name": "ok-pkg", "workflows": [".github/workflows/r.yml"]}),
            "missing field `repository`",
        ),
    ];
    for (body, expected) in cases {
        let answer = api.send(Method::POST, "/artifacts", body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer.error_message();
        assert!(message.contains(expected), "{body}: {message}");
    }
    let form = api
        .call(
            authed(Method::POST, "/artifacts")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("name=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = api
        .call(
            authed(Method::POST, "/artifacts")
                .header("content-type", "application/json")
                .body(Body::from(vec![b' '; 100 * 1024]))
                .unwrap(),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn patch_keeps_what_it_does_not_name_and_config_artifacts_belong_to_their_file() {
    let api = seeded().await;
    let before = api.get("/artifacts/npm/alpha").await.json();
    let patched = api
        .send(
            Method::PATCH,
            "/artifacts/npm/alpha",
            json!({"allowed_events": ["release"]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let patched = patched.json();
    assert_eq!(patched["policy"]["allowed_events"], json!(["release"]));
    assert_eq!(patched["workflows"], before["workflows"]);
    assert_eq!(patched["repository"], before["repository"]);
    assert_eq!(patched["versions"], before["versions"], "counts are kept");
    let stored = api.store.artifact("npm/alpha").await.unwrap().unwrap();
    assert_eq!(stored.policy_rev, 2, "its versions are judged again");
    let bad = api
        .send(
            Method::PATCH,
            "/artifacts/npm/alpha",
            json!({"workflows": ["x.yml"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error_message().starts_with("workflows[0]:"));
    let renamed = api
        .send(
            Method::PATCH,
            "/artifacts/npm/alpha",
            json!({"name": "other"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::BAD_REQUEST);

    for method in [Method::PATCH, Method::DELETE] {
        let answer = api
            .send(
                method.clone(),
                "/artifacts/npm/gamma",
                json!({"allowed_events": ["push"]}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{method}");
        assert!(answer.error_message().contains("monitor.toml"));
    }
    let deleted = api
        .call(
            authed(Method::DELETE, "/artifacts/npm/delta")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/artifacts/npm/delta").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/summary").await.json()["total"], 4);
}

#[tokio::test]
async fn a_scan_judges_every_version_again_through_the_due_queue() {
    let api = seeded().await;
    let answer = api
        .call(
            authed(Method::POST, "/artifacts/npm/alpha/scan")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text());
    assert_eq!(answer.json()["policy_rev"], 2);
    let due = api.store.due(i64::MAX, 10).await.unwrap();
    assert!(
        due.iter().any(|d| d.artifact == "npm/alpha"),
        "the re-judging read is due: {due:?}"
    );
    let none = api
        .call(
            authed(Method::POST, "/artifacts/npm/nobody/scan")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_browser_signs_in_with_the_token_and_its_writes_need_the_csrf_token() {
    let api = seeded().await;
    let bad = api
        .call(
            anonymous(Method::POST, "/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("token=wrong&next=%2F"))
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.headers.get("set-cookie").is_none());
    assert!(bad.text().contains("not valid"));
    let signed_in = api
        .call(
            anonymous(Method::POST, "/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", "http://127.0.0.1:8080")
                .body(Body::from(format!(
                    "token={TOKEN}&next=%2Fview%2Fnpm%2Falpha"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers["location"], "/view/npm/alpha");
    let cookie = signed_in.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    let session = cookie.split(';').next().unwrap().to_owned();
    // Signing in from another site's form is refused; an open redirect is not followed.
    let foreign = api
        .call(
            anonymous(Method::POST, "/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", "http://evil.example")
                .body(Body::from(format!("token={TOKEN}")))
                .unwrap(),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let open = api
        .call(
            anonymous(Method::POST, "/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={TOKEN}&next=%2F%2Fevil.example")))
                .unwrap(),
        )
        .await;
    assert_eq!(open.headers["location"], "/");

    let with_cookie = |method: Method, uri: &str| {
        anonymous(method, uri).header("cookie", format!("theme=dark; {session}"))
    };
    let page = api
        .call(with_cookie(Method::GET, "/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("data-metric=\"total\""));
    assert!(html.contains("data-artifact=\"npm/@scope/beta\""));
    let csrf = html
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let body = json!({"name": "cookie-pkg", "repository": "o/r", "workflows": [".github/workflows/r.yml"]});
    let without = api
        .call(
            with_cookie(Method::POST, "/artifacts")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let cross = api
        .call(
            with_cookie(Method::POST, "/artifacts")
                .header("content-type", "application/json")
                .header("x-csrf-token", &csrf)
                .header("origin", "http://evil.example")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let with = api
        .call(
            with_cookie(Method::POST, "/artifacts")
                .header("content-type", "application/json")
                .header("x-csrf-token", &csrf)
                .header("origin", "http://127.0.0.1:8080")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(with.status, StatusCode::CREATED, "{}", with.text());
    // The add form: a bad name is shown at its field; a good one goes to its page.
    let form = |fields: &str| {
        with_cookie(Method::POST, "/view/add")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(fields.to_owned()))
            .unwrap()
    };
    let refused = api
        .call(form(
            "name=x&type=npm&repository=o%2Fr&workflow=.github%2Fworkflows%2Fr.yml&csrf=nope",
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let invalid = api
        .call(form(&format!(
            "name=Bad+Name&type=npm&repository=o%2Fr&workflow=.github%2Fworkflows%2Fr.yml&csrf={csrf}"
        )))
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let html = invalid.text();
    assert!(html.contains("id=\"name-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    let added = api
        .call(form(&format!(
            "name=form-pkg&type=npm&repository=o%2Fr&workflow=.github%2Fworkflows%2Fr.yml&csrf={csrf}"
        )))
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.headers["location"], "/view/npm/form-pkg");
    assert!(api.store.artifact("npm/form-pkg").await.unwrap().is_some());
    // The form offers every type; a PyPI project is held under its normal form.
    let dashboard = api
        .call(with_cookie(Method::GET, "/").body(Body::empty()).unwrap())
        .await
        .text();
    assert!(
        dashboard.contains("<option value=\"pypi\">pypi</option>"),
        "{dashboard}"
    );
    let project = api
        .call(form(&format!(
            "name=Form_Project&type=pypi&repository=o%2Fr&workflow=.github%2Fworkflows%2Fr.yml&csrf={csrf}"
        )))
        .await;
    assert_eq!(project.status, StatusCode::SEE_OTHER, "{}", project.text());
    assert_eq!(project.headers["location"], "/view/pypi/form-project");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_show_every_version() {
    let api = seeded().await;
    let page = api.get("/view/npm/%40scope%2Fbeta").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    for (name, value) in [
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(page.headers[name], value);
    }
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let html = page.text();
    assert!(html.contains("data-version=\"2.0.1\" data-compliance=\"non_compliant\""));
    assert!(html.contains("data-version=\"2.0.0\" data-compliance=\"compliant\""));
    assert!(html.contains("because no_provenance"));
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external asset"
    );
    let css = api.get("/assets/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let anonymous_css = api
        .call(
            anonymous(Method::GET, "/assets/app.css")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous_css.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_name_rebound_to_loopback_is_not_answered() {
    let api = seeded().await;
    let rebound = api
        .call(
            Request::builder()
                .uri("/healthz")
                .header("host", "evil.example:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(rebound.status, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(rebound.json()["error"]["code"], "misdirected");
    let local = api
        .call(
            Request::builder()
                .uri("/healthz")
                .header("host", "localhost:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(local.status, StatusCode::OK);
}

/// Behind API Gateway: the gateway authenticates (IAM or a JWT) and the entry point passes
/// the identity on as a request extension; the router refuses a request without one, and a
/// write by an identity that may only read. A client cannot forge the extension: no header
/// or cookie makes one.
#[tokio::test]
async fn behind_a_gateway_the_identity_it_passes_on_decides() {
    use artifact_monitor_api::GatewayIdentity;
    let store = MemoryStore::new();
    store.put_artifact(&watched("alpha")).await.unwrap();
    let router = app(ApiState {
        store: store.clone(),
        auth: ApiAuth::Gateway { people: None },
        clock: Arc::new(Fixed),
        wake: None,
        hosts: None,
    });
    let api = Api { router, store };
    let who = |can_write: bool| GatewayIdentity {
        principal: "arn:aws:iam::123456789012:role/reader".into(),
        can_write,
        csrf: None,
    };
    let call =
        |method: Method, uri: &str, identity: Option<GatewayIdentity>, body: Option<Value>| {
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header("host", "abc123.execute-api.us-east-1.amazonaws.com")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .unwrap();
            if let Some(identity) = identity {
                request.extensions_mut().insert(identity);
            }
            request
        };
    let health = api.call(call(Method::GET, "/healthz", None, None)).await;
    assert_eq!(health.status, StatusCode::OK);
    // No identity: refused, whatever token or cookie the request carries; a page sends
    // the browser to sign in, where nothing signs it in without a provider.
    for uri in ["/summary", "/artifacts", "/assets/app.css", "/view/summary"] {
        let answer = api.call(call(Method::GET, uri, None, None)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let page = api.call(call(Method::GET, "/", None, None)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.header("location"), Some("/login?next=%2F"));
    let login = api.call(call(Method::GET, "/login", None, None)).await;
    assert_eq!(login.status, StatusCode::NOT_FOUND);
    let summary = api
        .call(call(Method::GET, "/summary", Some(who(false)), None))
        .await;
    assert_eq!(summary.status, StatusCode::OK);
    assert_eq!(summary.json()["total"], 1);
    let page = api
        .call(call(Method::GET, "/", Some(who(false)), None))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let new = json!({
        "type": "npm",
        "name": "new-pkg",
        "repository": "octo-org/octo-repo",
        "workflows": [".github/workflows/release.yml"],
    });
    let refused = api
        .call(call(
            Method::POST,
            "/artifacts",
            Some(who(false)),
            Some(new.clone()),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.error_message().contains("may read"),
        "{}",
        refused.text()
    );
    let added = api
        .call(call(Method::POST, "/artifacts", Some(who(true)), Some(new)))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let removed = api
        .call(call(
            Method::DELETE,
            "/artifacts/npm/new-pkg",
            Some(who(true)),
            None,
        ))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
}

/// A sign-in provider in process: it remembers what `/login` asked of it, issues a code
/// for a person, redeems it only with the PKCE verifier and the same redirect, and verifies
/// the tokens it issued (and no others) until they expire.
#[derive(Debug, Default)]
struct FakeProvider {
    asked: std::sync::Mutex<Vec<artifact_monitor_core::ports::AuthorizeRequest>>,
    codes: std::sync::Mutex<
        Vec<(
            String,
            artifact_monitor_core::ports::AuthorizeRequest,
            artifact_monitor_core::ports::Person,
        )>,
    >,
    tokens: std::sync::Mutex<Vec<(String, String, artifact_monitor_core::ports::Person)>>,
}

impl FakeProvider {
    /// The person signs in at the provider: the code it sends the browser back with.
    fn sign_in(&self, email: &str, groups: &[&str], expires_at: i64) -> (String, String) {
        let request = self.asked.lock().unwrap().last().cloned().unwrap();
        let code = format!("code-{}", self.codes.lock().unwrap().len());
        let person = artifact_monitor_core::ports::Person {
            subject: format!("sub-{email}"),
            email: Some(email.to_owned()),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            expires_at,
        };
        let state = request.state.clone();
        self.codes
            .lock()
            .unwrap()
            .push((code.clone(), request, person));
        (code, state)
    }
}

impl artifact_monitor_core::ports::SignIn for FakeProvider {
    fn authorize_url(&self, request: &artifact_monitor_core::ports::AuthorizeRequest) -> String {
        self.asked.lock().unwrap().push(request.clone());
        format!("https://idp.example/authorize?state={}", request.state)
    }

    fn logout_url(&self, return_to: &str) -> String {
        format!("https://idp.example/logout?back={return_to}")
    }

    fn redeem<'a>(
        &'a self,
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<String, artifact_monitor_core::ports::SignInError>,
    > {
        use artifact_monitor_core::ports::SignInError;
        Box::pin(async move {
            let mut codes = self.codes.lock().unwrap();
            let at = codes
                .iter()
                .position(|(c, _, _)| c == code)
                .ok_or_else(|| SignInError::Refused("unknown code".into()))?;
            let (_, request, person) = codes.remove(at);
            if artifact_monitor_api::signin::pkce_challenge(verifier) != request.code_challenge {
                return Err(SignInError::Refused("PKCE verifier does not match".into()));
            }
            if redirect_uri != request.redirect_uri {
                return Err(SignInError::Refused("another redirect".into()));
            }
            let token = format!(
                "token-{}.{}",
                person.subject,
                self.tokens.lock().unwrap().len()
            );
            self.tokens
                .lock()
                .unwrap()
                .push((token.clone(), request.nonce, person));
            Ok(token)
        })
    }

    fn verify<'a>(
        &'a self,
        id_token: &'a str,
        nonce: Option<&'a str>,
        now: i64,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<artifact_monitor_core::ports::Person, artifact_monitor_core::ports::SignInError>,
    > {
        use artifact_monitor_core::ports::SignInError;
        Box::pin(async move {
            let tokens = self.tokens.lock().unwrap();
            let (_, issued_nonce, person) = tokens
                .iter()
                .find(|(t, _, _)| t == id_token)
                .ok_or_else(|| SignInError::Refused("not ours".into()))?;
            if nonce.is_some_and(|n| n != issued_nonce) {
                return Err(SignInError::Refused("nonce".into()));
            }
            if person.expires_at < now {
                return Err(SignInError::Refused("expired".into()));
            }
            Ok(person.clone())
        })
    }
}

/// The `name=value` of a `Set-Cookie` line named `name`.
fn set_cookie(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|line| line.starts_with(&format!("{name}=")))
        .map(|line| line.split(';').next().unwrap().to_owned())
}

/// Behind API Gateway, people sign in at a provider (Cognito's managed login in AWS):
/// `/login` sends the browser there with state and a PKCE challenge, the callback redeems
/// the code and keeps the verified ID token as a `__Host-` session cookie; pages then answer
/// to the session, writes need its CSRF token and, for people outside the writers' group,
/// are refused; a forged, replayed or expired sign-in gets nothing.
#[tokio::test]
async fn behind_a_gateway_people_sign_in_at_the_provider() {
    use artifact_monitor_api::signin::{self, People};
    let provider = Arc::new(FakeProvider::default());
    let store = MemoryStore::new();
    store.put_artifact(&watched("alpha")).await.unwrap();
    let router = app(ApiState {
        store: store.clone(),
        auth: ApiAuth::Gateway {
            people: Some(People {
                provider: provider.clone(),
                writers: Writers::default(),
            }),
        },
        clock: Arc::new(Fixed),
        wake: None,
        hosts: None,
    });
    let api = Api { router, store };
    const HOST: &str = "abc123.execute-api.us-east-1.amazonaws.com";
    let request = |method: Method, uri: &str, cookies: &[&str]| {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST);
        if !cookies.is_empty() {
            builder = builder.header("cookie", cookies.join("; "));
        }
        builder
    };
    let get = |uri: &str, cookies: &[&str]| {
        request(Method::GET, uri, cookies)
            .body(Body::empty())
            .unwrap()
    };

    // Signing in, as a writer.
    let start = api
        .call(get("/login?next=%2Fview%2Fnpm%2Falpha", &[]))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let asked = provider.asked.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        start.header("location").unwrap(),
        format!("https://idp.example/authorize?state={}", asked.state)
    );
    assert_eq!(asked.redirect_uri, format!("https://{HOST}/login/callback"));
    let login_line = start
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|l| l.starts_with(signin::LOGIN_COOKIE))
        .unwrap();
    for attribute in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(login_line.contains(attribute), "{login_line}");
    }
    let login_cookie = set_cookie(&start, signin::LOGIN_COOKIE).unwrap();
    let (code, state) = provider.sign_in("ada@example.org", &["admins"], NOW + 3600);

    // A callback whose state is not this browser's sign-in is refused, and spends nothing.
    let forged = api
        .call(get(
            &format!("/login/callback?code={code}&state=forged"),
            &[&login_cookie],
        ))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(set_cookie(&forged, signin::SESSION_COOKIE).is_none());
    let no_cookie = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[],
        ))
        .await;
    assert_eq!(no_cookie.status, StatusCode::BAD_REQUEST);
    let denied = api
        .call(get("/login/callback?error=access_denied", &[&login_cookie]))
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert!(denied.text().contains("access_denied"));

    let back = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[&login_cookie],
        ))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text());
    assert_eq!(back.header("location"), Some("/view/npm/alpha"));
    let session = set_cookie(&back, signin::SESSION_COOKIE).unwrap();
    assert_eq!(
        set_cookie(&back, signin::LOGIN_COOKIE).unwrap(),
        format!("{}=", signin::LOGIN_COOKIE)
    );
    // The code was spent: the same callback again is refused.
    let replay = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[&login_cookie],
        ))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    // Signed in: the pages, their assets and the page's summary answer.
    for uri in ["/", "/view/npm/alpha", "/assets/app.css", "/view/summary"] {
        let page = api.call(get(uri, &[&session])).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.text());
    }
    // The API routes belong to IAM in AWS; a session does not make the router refuse
    // them (the gateway does), and a forged session is nobody.
    let forged_session = format!("{}=token-sub-mallory.0", signin::SESSION_COOKIE);
    let page = api.call(get("/", &[&forged_session])).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    // Writing from the page needs the session's CSRF token.
    let dashboard = api.call(get("/", &[&session])).await.text();
    let csrf = signin::session_csrf(session.split_once('=').unwrap().1);
    assert!(
        dashboard.contains(&csrf),
        "the page embeds the session's CSRF token"
    );
    let add = |csrf: &str, cookie: &str, name: &str| {
        request(Method::POST, "/view/add", &[cookie])
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", format!("https://{HOST}"))
            .body(Body::from(format!(
                "csrf={csrf}&type=npm&name={name}&repository=octo-org%2Focto-repo&workflow=.github%2Fworkflows%2Frelease.yml"
            )))
            .unwrap()
    };
    let without = api.call(add("wrong", &session, "beta")).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let added = api.call(add(&csrf, &session, "beta")).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    assert!(api.store.artifact("npm/beta").await.unwrap().is_some());

    // A person outside the writers' group reads and may not write.
    let _ = api.call(get("/login", &[])).await;
    let (code, state) = provider.sign_in("bob@example.org", &["readers"], NOW + 3600);
    let reader_login = set_cookie(&api.call(get("/login", &[])).await, signin::LOGIN_COOKIE);
    assert!(reader_login.is_some());
    // (the second `/login` started a new sign-in: the code belongs to the first)
    let stale = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[reader_login.as_deref().unwrap()],
        ))
        .await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    let (code, state) = provider.sign_in("bob@example.org", &["readers"], NOW + 3600);
    let back = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[reader_login.as_deref().unwrap()],
        ))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text());
    let reader = set_cookie(&back, signin::SESSION_COOKIE).unwrap();
    let reader_csrf = signin::session_csrf(reader.split_once('=').unwrap().1);
    assert_eq!(api.call(get("/", &[&reader])).await.status, StatusCode::OK);
    let refused = api.call(add(&reader_csrf, &reader, "gamma")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.text().contains("bob@example.org may read"),
        "{}",
        refused.text()
    );

    // Signing out clears the session and goes through the provider's sign-out.
    let out = api
        .call(
            request(Method::POST, "/logout", &[&reader])
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", format!("https://{HOST}"))
                .body(Body::from(format!("csrf={reader_csrf}")))
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.text());
    assert_eq!(
        out.header("location"),
        Some(format!("https://idp.example/logout?back=https://{HOST}/").as_str())
    );
    assert_eq!(
        set_cookie(&out, signin::SESSION_COOKIE).unwrap(),
        format!("{}=", signin::SESSION_COOKIE)
    );

    // An expired session is no session.
    let _ = api.call(get("/login", &[])).await;
    let login_cookie = {
        let start = api.call(get("/login", &[])).await;
        set_cookie(&start, signin::LOGIN_COOKIE).unwrap()
    };
    let (code, state) = provider.sign_in("old@example.org", &["admins"], NOW - 1);
    let back = api
        .call(get(
            &format!("/login/callback?code={code}&state={state}"),
            &[&login_cookie],
        ))
        .await;
    // The fake refuses an expired token at once, as the real verification does.
    assert_eq!(back.status, StatusCode::UNAUTHORIZED);
}

/// Whether the document lists `status` for `method` on `path` (a template).
fn documented(document: &Value, method: &str, path: &str, status: StatusCode) -> bool {
    document["paths"][path][method]["responses"]
        .get(status.as_str())
        .is_some()
}

#[tokio::test]
async fn every_status_a_route_answers_is_in_the_document() {
    let api = seeded().await;
    let document = api.get("/openapi.json").await.json();
    let type_routes = [
        (
            Method::GET,
            "/artifacts/maven/x",
            "/artifacts/{type}/{name}",
        ),
        (
            Method::PATCH,
            "/artifacts/maven/x",
            "/artifacts/{type}/{name}",
        ),
        (
            Method::DELETE,
            "/artifacts/maven/x",
            "/artifacts/{type}/{name}",
        ),
        (
            Method::GET,
            "/artifacts/maven/x/versions",
            "/artifacts/{type}/{name}/versions",
        ),
        (
            Method::GET,
            "/artifacts/maven/x/versions/1.0",
            "/artifacts/{type}/{name}/versions/{version}",
        ),
        (
            Method::POST,
            "/artifacts/maven/x/scan",
            "/artifacts/{type}/{name}/scan",
        ),
    ];
    for (method, uri, template) in type_routes {
        let answer = api
            .call(
                authed(method.clone(), uri)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method} {uri}");
        let verb = method.as_str().to_lowercase();
        assert!(
            documented(&document, &verb, template, answer.status),
            "{method} {template} answers {} undocumented",
            answer.status
        );
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert!(
                documented(&document, &verb, template, status),
                "{method} {template} {status}"
            );
        }
    }
    for (method, uri, template) in [
        (Method::POST, "/artifacts", "/artifacts"),
        (
            Method::PATCH,
            "/artifacts/npm/alpha",
            "/artifacts/{type}/{name}",
        ),
    ] {
        let verb = method.as_str().to_lowercase();
        let form = api
            .call(
                authed(method.clone(), uri)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from("name=x"))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            form.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{method} {uri}"
        );
        let huge = api
            .call(
                authed(method.clone(), uri)
                    .header("content-type", "application/json")
                    .body(Body::from(vec![b' '; 100 * 1024]))
                    .unwrap(),
            )
            .await;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{method} {uri}");
        for status in [form.status, huge.status] {
            assert!(
                documented(&document, &verb, template, status),
                "{method} {template} {status}"
            );
        }
    }
}
