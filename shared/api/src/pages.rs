//! The dashboard: server-rendered HTML (maud, checked at compile time), one
//! stylesheet and one small script embedded in the binary, no request to any other origin.
//! Pages need the session cookie (or a bearer token); without one they redirect to
//! `/login`. Forms carry the CSRF token and work without the script.

use super::auth;
use super::handlers::{self, ListParams, ListRequest};
use super::views::{ArtifactView, ComplianceView, NewArtifact, VersionDetail};
use super::{ApiAuth, ApiError, ApiState, Visitor};
use artifact_monitor_core::domain::{Compliance, Declarations, Reason, WatchedArtifact};
use artifact_monitor_core::monitor::watchlist;
use artifact_monitor_core::ports::Store;
use artifact_monitor_core::registry::RegistryType;
use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use std::sync::Arc;

const STYLESHEET: &str = include_str!("assets/app.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encoded(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Where an artifact's detail page is.
pub fn detail_href(registry: &str, name: &str) -> String {
    format!("/view/{}/{}", encoded(registry), encoded(name))
}

/// A time as the pages show it: `2026-11-28 06:00 UTC`.
fn shown_time(rfc3339: Option<&str>) -> String {
    match rfc3339 {
        None => "—".to_owned(),
        Some(t) => {
            let t = t.replace('T', " ");
            match t.get(..16) {
                Some(minutes) => format!("{minutes} UTC"),
                None => t,
            }
        }
    }
}

/// The redirect to the sign-in form, for a page request without credentials.
fn page_refusal(visitor: &Visitor, uri: &axum::http::Uri) -> Option<Response> {
    visitor.0.is_none().then(|| {
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Redirect::to(&format!("/login?next={}", encoded(next))).into_response()
    })
}

/// Why a form write is refused: not signed in, or without the page's CSRF token, or from
/// another origin.
fn form_refusal(visitor: &Visitor, headers: &HeaderMap, csrf: &str) -> Option<Response> {
    let Some(access) = &visitor.0 else {
        return Some(Redirect::to("/login").into_response());
    };
    if !access.csrf_matches(csrf) || !auth::same_origin(headers) {
        return Some(
            ApiError::forbidden("the form's CSRF token is missing or not valid").into_response(),
        );
    }
    None
}

fn layout(title: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(csrf);
                title { (title) " · artifact-monitor" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" {
                        (shield_icon())
                        span { "artifact-monitor" }
                    }
                    form.signout method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button.link type="submit" { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn shield_icon() -> Markup {
    html! {
        svg.shield viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" {
            path d="M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3Z" fill="currentColor" {}
            path d="m8.5 12 2.5 2.5 4.5-5" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" {}
        }
    }
}

fn warning_icon() -> Markup {
    html! {
        svg.warn viewBox="0 0 24 24" width="18" height="18" role="img" aria-label="non-compliant versions" {
            title { "Non-compliant versions" }
            path d="M12 3 1.5 21h21L12 3Z" fill="currentColor" {}
            path d="M12 10v5" stroke="#fff" stroke-width="2" stroke-linecap="round" {}
            circle cx="12" cy="18" r="1.2" fill="#fff" {}
        }
    }
}

/// The ring chart of an artifact's versions: green compliant, red non-compliant, grey
/// pending, the number of versions in its centre, and its text alternative.
fn ring(view: &ArtifactView) -> Markup {
    let v = &view.versions;
    let circumference = 2.0 * std::f64::consts::PI * 15.0;
    let total = v.total.max(1) as f64;
    let share = |n: u64| n as f64 / total * circumference;
    let (good, bad) = (share(v.compliant), share(v.non_compliant));
    let label = format!(
        "{} versions: {} compliant, {} non-compliant, {} pending",
        v.total, v.compliant, v.non_compliant, v.pending
    );
    html! {
        svg.ring viewBox="0 0 36 36" width="44" height="44" role="img" aria-label=(label)
            data-total=(v.total) data-compliant=(v.compliant) data-non-compliant=(v.non_compliant) data-pending=(v.pending) {
            title { (label) }
            circle.track cx="18" cy="18" r="15" {}
            @if v.compliant > 0 {
                circle.good cx="18" cy="18" r="15"
                    stroke-dasharray=(format!("{good:.2} {circumference:.2}")) {}
            }
            @if v.non_compliant > 0 {
                circle.bad cx="18" cy="18" r="15"
                    stroke-dasharray=(format!("{bad:.2} {circumference:.2}"))
                    stroke-dashoffset=(format!("{:.2}", -good)) {}
            }
            text x="18" y="18" { (v.total) }
        }
    }
}

fn badge(compliance: ComplianceView) -> Markup {
    let (class, text) = match compliance {
        ComplianceView::Compliant => ("badge good", "Compliant"),
        ComplianceView::NonCompliant => ("badge bad", "Non-compliant"),
        ComplianceView::Pending => ("badge wait", "Pending"),
    };
    html! { span class=(class) { (text) } }
}

fn filter_links(base: &str, current: Option<Compliance>) -> Markup {
    let options = [
        (None, "All"),
        (Some(Compliance::NonCompliant), "Non-compliant only"),
        (Some(Compliance::Pending), "Pending only"),
    ];
    html! {
        nav.filters aria-label="Filter" {
            @for (value, text) in options {
                @let href = match value {
                    None => base.to_owned(),
                    Some(c) => format!("{base}?compliance={}", ComplianceView::from(c).as_str()),
                };
                @if value == current {
                    a.active href=(href) aria-current="page" { (text) }
                } @else {
                    a href=(href) { (text) }
                }
            }
        }
    }
}

/// What the add form was sent with, and the errors to show at its fields.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub registry: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub workflow: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Debug, Default)]
struct FormErrors {
    name: Option<String>,
    registry: Option<String>,
    repository: Option<String>,
    workflow: Option<String>,
    other: Option<String>,
}

fn field_row(
    id: &str,
    label: &str,
    value: &str,
    placeholder: &str,
    error: Option<&String>,
) -> Markup {
    let error_id = format!("{id}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(error) = error {
                input id=(id) name=(id) type="text" value=(value) placeholder=(placeholder)
                    required aria-invalid="true" aria-describedby=(error_id) autocomplete="off";
                p.error id=(error_id) role="alert" { (error) }
            } @else {
                input id=(id) name=(id) type="text" value=(value) placeholder=(placeholder)
                    required autocomplete="off";
            }
        }
    }
}

fn add_form(csrf: &str, form: &AddForm, errors: &FormErrors) -> Markup {
    html! {
        section.card.add id="add" aria-labelledby="add-title" {
            h2 id="add-title" { "Add artifact" }
            p.hint { "Its existing versions are judged at once; new ones as they appear." }
            form method="post" action="/view/add" novalidate {
                input type="hidden" name="csrf" value=(csrf);
                div.grid {
                    (field_row("name", "Package or project name", &form.name, "@scope/name or project", errors.name.as_ref()))
                    div.field {
                        label for="type" { "Type" }
                        select id="type" name="type" {
                            @for registry in RegistryType::ALL {
                                option value=(registry.as_str()) selected[registry.as_str() == form.registry || (form.registry.is_empty() && registry == RegistryType::Npm)] { (registry.as_str()) }
                            }
                        }
                        @if let Some(error) = &errors.registry { p.error role="alert" { (error) } }
                    }
                    (field_row("repository", "Repository", &form.repository, "owner/repo", errors.repository.as_ref()))
                    (field_row("workflow", "Workflow file", &form.workflow, ".github/workflows/release.yml", errors.workflow.as_ref()))
                }
                @if let Some(error) = &errors.other { p.error role="alert" { (error) } }
                button.primary type="submit" { "Add artifact" }
            }
        }
    }
}

fn metric(name: &str, label: &str, value: u64, class: &str) -> Markup {
    html! {
        div class=(format!("metric {class}")) data-metric=(name) {
            span.value { (value) }
            span.label { (label) }
        }
    }
}

async fn dashboard_page<S: Store + 'static>(
    state: &ApiState<S>,
    csrf: &str,
    params: &ListParams,
    form: &AddForm,
    errors: &FormErrors,
) -> Result<Markup, ApiError> {
    let request: ListRequest = params.checked("artifacts")?;
    let summary = state.store.summary().await?;
    let (items, next) = handlers::artifact_page(state, &request).await?;
    let views: Vec<ArtifactView> = items.iter().map(ArtifactView::from).collect();
    let next_href = next.map(|p| {
        let mut href = format!(
            "/?cursor={}",
            encoded(&super::cursor::encode("artifacts", &p))
        );
        if let Some(filter) = request.filter {
            href.push_str(&format!(
                "&compliance={}",
                ComplianceView::from(filter).as_str()
            ));
        }
        href
    });
    Ok(layout(
        "Dashboard",
        csrf,
        html! {
            section.metrics aria-label="Artifacts" {
                (metric("total", "Artifacts", summary.total, ""))
                (metric("non_compliant", "Non-compliant", summary.non_compliant, "bad"))
                (metric("compliant", "Compliant", summary.compliant, "good"))
                (metric("pending", "Pending", summary.pending, "wait"))
            }
            section.card aria-labelledby="list-title" {
                div.card-head {
                    h1 id="list-title" { "Watched artifacts" }
                    (filter_links("/", request.filter))
                }
                @if views.is_empty() {
                    p.empty { "No artifact here yet. Add one below, or list it in the config file." }
                } @else {
                    div.table-wrap {
                        table.artifacts {
                            thead { tr {
                                th scope="col" { "Artifact" }
                                th scope="col" { "Workflow file" }
                                th scope="col" { "Type" }
                                th scope="col" { "Last published" }
                                th scope="col" { "Last monitored" }
                                th scope="col" { "Versions" }
                            } }
                            tbody {
                                @for view in &views {
                                    tr data-artifact=(format!("{}/{}", view.registry, view.name)) data-compliance=(view.compliance.as_str()) {
                                        td.name {
                                            a href=(detail_href(&view.registry, &view.name)) { (view.name) }
                                            @if view.compliance == ComplianceView::NonCompliant { " " (warning_icon()) }
                                            div.sub { (view.repository) }
                                            @if !view.backfill.complete {
                                                div.progress {
                                                    @if view.backfill.started {
                                                        "Judging existing versions: " (view.backfill.judged) " of " (view.backfill.total)
                                                    } @else {
                                                        "Waiting for its first read"
                                                    }
                                                }
                                            }
                                        }
                                        td.mono { @for w in &view.workflows { div { (w) } } }
                                        td { (view.registry) }
                                        td { (shown_time(view.last_published.as_deref())) }
                                        td { (shown_time(view.last_monitored.as_deref())) }
                                        td.ring-cell { (ring(view)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(href) = next_href {
                    nav.pager { a href=(href) { "Next page →" } }
                }
            }
            (add_form(csrf, form, errors))
        },
    ))
}

fn html_page(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

pub async fn dashboard<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    OriginalUri(uri): OriginalUri,
    visitor: Visitor,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(redirect) = page_refusal(&visitor, &uri) {
        return redirect;
    }
    let params = match handlers::query(params) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let csrf = visitor.0.as_ref().map_or("", |a| a.csrf());
    match dashboard_page(
        &state,
        csrf,
        &params,
        &AddForm::default(),
        &FormErrors::default(),
    )
    .await
    {
        Ok(markup) => html_page(markup),
        Err(e) => e.into_response(),
    }
}

/// `POST /view/add`: the add form; field errors are shown at their fields.
pub async fn add<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Response {
    if let Some(refused) = form_refusal(&visitor, &headers, &form.csrf) {
        return refused;
    }
    let request = NewArtifact {
        registry: Some(if form.registry.is_empty() {
            "npm".to_owned()
        } else {
            form.registry.clone()
        }),
        name: form.name.trim().to_owned(),
        repository: form.repository.trim().to_owned(),
        workflows: vec![form.workflow.trim().to_owned()],
        repository_id: None,
        owner_id: None,
        allowed_refs: None,
        allowed_events: None,
        require_github_hosted_runner: None,
        environment: None,
        allowed_reusable_workflows: None,
    };
    let mut errors = FormErrors::default();
    match Declarations::SNAKE.registry(request.registry.as_deref()) {
        Err(e) => errors.registry = Some(e.message),
        Ok(registry) => {
            if let Err(e) = Declarations::SNAKE.name(registry, &request.name) {
                errors.name = Some(e.message);
            }
        }
    }
    if let Err(e) = request.policy() {
        match e.field.as_str() {
            "repository" => errors.repository = Some(e.message),
            f if f.starts_with("workflows") => errors.workflow = Some(e.message),
            _ => errors.other = Some(e.message),
        }
    }
    let failed = errors.name.is_some()
        || errors.registry.is_some()
        || errors.repository.is_some()
        || errors.workflow.is_some()
        || errors.other.is_some();
    if !failed {
        match handlers::add(&state, &request).await {
            Ok(watched) => {
                return Redirect::to(&detail_href(
                    watched.artifact.registry.as_str(),
                    &watched.artifact.name,
                ))
                .into_response();
            }
            Err(e) if e.status == StatusCode::CONFLICT => errors.name = Some(e.message),
            Err(e) => errors.other = Some(e.message),
        }
    }
    let csrf = visitor.0.as_ref().map_or("", |a| a.csrf());
    match dashboard_page(&state, csrf, &ListParams::default(), &form, &errors).await {
        Ok(markup) => (StatusCode::BAD_REQUEST, Html(markup.into_string())).into_response(),
        Err(e) => e.into_response(),
    }
}

fn evidence_list(detail: &VersionDetail) -> Markup {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(serde_json::Value::Object(evidence)) = &detail.evidence {
        for (section, value) in evidence {
            if let serde_json::Value::Object(fields) = value {
                for (name, value) in fields {
                    let text = match value {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    rows.push((format!("{section} · {}", name.replace('_', " ")), text));
                }
            }
        }
    }
    html! {
        @if rows.is_empty() {
            p.muted { "No evidence: nothing vouches for this version." }
        } @else {
            dl.evidence {
                @for (name, value) in &rows {
                    dt { (name) }
                    dd.mono { (value) }
                }
            }
        }
    }
}

pub async fn detail<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    OriginalUri(uri): OriginalUri,
    visitor: Visitor,
    Path((registry, name)): Path<(String, String)>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(redirect) = page_refusal(&visitor, &uri) {
        return redirect;
    }
    let csrf = visitor.0.as_ref().map_or("", |a| a.csrf());
    match detail_page(&state, csrf, &registry, &name, params).await {
        Ok(markup) => html_page(markup),
        Err(e) => e.into_response(),
    }
}

async fn detail_page<S: Store + 'static>(
    state: &ApiState<S>,
    csrf: &str,
    registry: &str,
    name: &str,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, ApiError> {
    let key = handlers::artifact_key(registry, name)?;
    let list = format!("versions:{key}");
    let request = handlers::query(params)?.checked(&list)?;
    let watched: WatchedArtifact = state
        .store
        .artifact(&key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{key} is not watched")))?;
    let view = ArtifactView::from(&watched);
    let (records, next) = handlers::version_page(state, &key, &request).await?;
    let base = detail_href(&view.registry, &view.name);
    let next_href = next.map(|p| {
        let mut href = format!(
            "{base}?cursor={}",
            encoded(&super::cursor::encode(&list, &p))
        );
        if let Some(filter) = request.filter {
            href.push_str(&format!(
                "&compliance={}",
                ComplianceView::from(filter).as_str()
            ));
        }
        href
    });
    Ok(layout(
        &view.name,
        csrf,
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/" { "All artifacts" } " / " span { (view.name) } }
            section.card.head-card {
                div.title-row {
                    (ring(&view))
                    div {
                        h1 { (view.name) " " @if view.compliance == ComplianceView::NonCompliant { (warning_icon()) } }
                        p.sub { (view.registry) " · " (view.repository) " · " @for (i, w) in view.workflows.iter().enumerate() { @if i > 0 { ", " } span.mono { (w) } } }
                    }
                    div.spacer {}
                    form method="post" action=(format!("{base}/scan")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Judge every version again" }
                    }
                }
                dl.facts {
                    div { dt { "Status" } dd { (badge(view.compliance)) } }
                    div { dt { "Versions" } dd { (view.versions.total) } }
                    div { dt { "Last published" } dd { (shown_time(view.last_published.as_deref())) } }
                    div { dt { "Last monitored" } dd { (shown_time(view.last_monitored.as_deref())) } }
                    @if !view.backfill.complete {
                        div { dt { "Existing versions" } dd { (view.backfill.judged) " of " (view.backfill.total) " judged" } }
                    }
                }
            }
            section.card aria-labelledby="versions-title" {
                div.card-head {
                    h2 id="versions-title" { "Versions" }
                    (filter_links(&base, request.filter))
                }
                @if records.is_empty() {
                    p.empty { "No version recorded here yet." }
                } @else {
                    ul.versions {
                        @for record in &records {
                            @let detail = VersionDetail::from(record);
                            li data-version=(detail.version) data-compliance=(detail.compliance.as_str()) {
                                details {
                                    summary {
                                        span.version.mono { (detail.version) }
                                        span.date { (shown_time(detail.published_at.as_deref())) }
                                        span.conf { (format!("{:?}", detail.confidence).to_lowercase()) " confidence" }
                                        (badge(detail.compliance))
                                        @match detail.logs_url.as_deref() {
                                            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                                                a.logs href=(url) rel="noopener noreferrer" { "CI logs" }
                                            }
                                            _ => { span.logs.muted { "no run" } }
                                        }
                                    }
                                    div.explain {
                                        h3 { "Why" }
                                        ul.reasons {
                                            @for sentence in &detail.explanations { li { (sentence) } }
                                        }
                                        h3 { "Reason codes" }
                                        ul.codes {
                                            @for code in &detail.reasons {
                                                li {
                                                    code { (code) } " "
                                                    @if let Ok(reason) = code.parse::<Reason>() { (reason.plain()) }
                                                }
                                            }
                                        }
                                        @if !detail.files.is_empty() {
                                            h3 { "Files" }
                                            table.files {
                                                thead { tr { th { "File" } th { "Uploaded" } th { "Status" } th { "Reasons" } } }
                                                tbody {
                                                    @for file in &detail.files {
                                                        tr data-file=(file.filename) data-compliance=(file.compliance.as_str()) {
                                                            td.mono {
                                                                (file.filename)
                                                                @if let Some(sha256) = &file.sha256 { br; span.muted.hash { "sha256 " (sha256) } }
                                                            }
                                                            td { (shown_time(file.uploaded_at.as_deref())) }
                                                            td { (badge(file.compliance)) }
                                                            td { @for (i, code) in file.reasons.iter().enumerate() { @if i > 0 { ", " } code { (code) } } }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                        h3 { "Evidence" }
                                        (evidence_list(&detail))
                                        @if !detail.history.is_empty() {
                                            h3 { "History" }
                                            ul.history {
                                                @for t in &detail.history {
                                                    li { (shown_time(Some(&t.at))) ": " (t.from.as_str()) " → " (t.to.as_str()) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(href) = next_href {
                    nav.pager { a href=(href) { "Next page →" } }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /view/{type}/{name}/scan`: the detail page's "judge again" button.
pub async fn scan<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((registry, name)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = form_refusal(&visitor, &headers, &form.csrf) {
        return refused;
    }
    let key = match handlers::artifact_key(&registry, &name) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    match watchlist::rescan(&state.store, &key, state.clock.now()).await {
        Ok(true) => {
            state.wake();
            Redirect::to(&detail_href(&registry, &name)).into_response()
        }
        Ok(false) => ApiError::not_found(format!("{key} is not watched")).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub next: Option<String>,
}

const LOGIN_STYLE: &str = "body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f4f6fa;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#0f172a}main{width:min(420px,92vw);background:#fff;border:1px solid #e2e8f0;border-radius:14px;padding:32px;box-shadow:0 10px 30px rgba(15,23,42,.06)}h1{font-size:1.35rem;margin:0 0 4px}p{color:#475569;margin:0 0 20px}label{display:block;font-weight:600;margin-bottom:6px}input{box-sizing:border-box;width:100%;padding:10px 12px;border:1px solid #cbd5e1;border-radius:8px;font:inherit}input:focus{outline:3px solid #93c5fd;border-color:#2563eb}button{margin-top:16px;width:100%;padding:10px 14px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;font:inherit;font-weight:600;cursor:pointer}button:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}.error{color:#b91c1c;margin:10px 0 0}code{background:#f1f5f9;padding:1px 5px;border-radius:4px}";

fn login_page(next: &str, error: Option<&str>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · artifact-monitor" }
                style { (PreEscaped(LOGIN_STYLE)) }
            }
            body {
                main {
                    h1 { "artifact-monitor" }
                    p { "Sign in with the API token: " code { "ARTIFACT_MONITOR_API_TOKEN" } ", or the " code { "api-token" } " file in the data directory." }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="token" { "API token" }
                        @if let Some(error) = error {
                            input id="token" name="token" type="password" required autofocus autocomplete="current-password" aria-invalid="true" aria-describedby="token-error";
                            p.error id="token-error" role="alert" { (error) }
                        } @else {
                            input id="token" name="token" type="password" required autofocus autocomplete="current-password";
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Html(markup.into_string())).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// `GET /login`: the sign-in form (public; its styles inline), or behind a gateway the way
/// to the sign-in provider.
pub async fn login_form<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = auth::safe_next(query.ok().and_then(|Query(q)| q.next).as_deref());
    match &state.auth {
        ApiAuth::Token(_) => login_page(&next, None),
        ApiAuth::Gateway {
            people: Some(people),
        } => super::signin::start(people, &headers, &next),
        ApiAuth::Gateway { people: None } => {
            ApiError::not_found("no sign-in here: the gateway authenticates").into_response()
        }
    }
}

/// `POST /login`: the token in exchange for the session cookie.
pub async fn login<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = auth::safe_next(form.next.as_deref());
    if !auth::same_origin(&headers) {
        return ApiError::forbidden("sign in from this site's own form").into_response();
    }
    // Behind a gateway there is no token to sign in with: the gateway authenticates.
    let Some(token) = state.token() else {
        return ApiError::not_found("no sign-in form here: the gateway authenticates")
            .into_response();
    };
    if !token.matches(&form.token) {
        return login_page(&next, Some("That token is not valid."));
    }
    let mut response = Redirect::to(&next).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&auth::session_cookie(token)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /logout`: clears the session cookie (behind a gateway, then signs out at the
/// provider too).
pub async fn logout<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = form_refusal(&visitor, &headers, &form.csrf) {
        return refused;
    }
    if let ApiAuth::Gateway {
        people: Some(people),
    } = &state.auth
    {
        return super::signin::sign_out(people, &headers);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&auth::cleared_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// An embedded asset, for a signed-in caller only.
fn asset(visitor: &Visitor, content_type: &'static str, body: &'static str) -> Response {
    if visitor.0.is_none() {
        return ApiError::unauthorized().into_response();
    }
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub async fn stylesheet(visitor: Visitor) -> Response {
    asset(&visitor, "text/css; charset=utf-8", STYLESHEET)
}

pub async fn script(visitor: Visitor) -> Response {
    asset(&visitor, "text/javascript; charset=utf-8", SCRIPT)
}
