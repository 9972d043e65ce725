//! The JSON routes of the HTTP API (README, "The HTTP API and the dashboard"). Each handler checks its input at the edge with the domain's
//! parsers, calls one use-case or store query, and answers a view; none reads a whole table.

use super::cursor;
use super::error::{ApiError, ErrorEnvelope};
use super::views::{
    ArtifactPage, ArtifactPatch, ArtifactView, Health, NewArtifact, ScanAccepted, SummaryView,
    VersionDetail, VersionPage, VersionView,
};
use super::{ApiState, Caller, Writer};
use artifact_monitor_core::domain::{
    Artifact, ArtifactSource, Compliance, Declarations, VersionRecord, WatchedArtifact,
};
use artifact_monitor_core::monitor::watchlist::{self, WatchChange};
use artifact_monitor_core::ports::Store;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use std::sync::Arc;

/// A list's page size when none is asked for, and the most that may be asked for.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// Entries a filtered list examines at most per request (a filtered page may hold fewer
/// items than asked for: follow its cursor).
pub const FILTER_WINDOW: usize = 2000;

/// `?limit=&cursor=&compliance=` of a list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page: 1 to 500 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only items of this compliance: `compliant`, `non_compliant` or `pending`.
    pub compliance: Option<String>,
}

/// The page size, filter and position a list request asks for.
#[derive(Debug)]
pub struct ListRequest {
    pub limit: usize,
    pub after: Option<String>,
    pub filter: Option<Compliance>,
}

impl ListParams {
    pub fn checked(&self, list: &str) -> Result<ListRequest, ApiError> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "limit: must be a number from 1 to {MAX_LIMIT}"
                    )));
                }
            },
        };
        let after = self
            .cursor
            .as_deref()
            .map(|c| cursor::decode(list, c))
            .transpose()?;
        let filter = match self.compliance.as_deref() {
            None | Some("") => None,
            Some("compliant") => Some(Compliance::Compliant),
            Some("non_compliant") => Some(Compliance::NonCompliant),
            Some("pending") => Some(Compliance::Pending),
            Some(_) => {
                return Err(ApiError::invalid(
                    "compliance: must be compliant, non_compliant or pending",
                ));
            }
        };
        Ok(ListRequest {
            limit,
            after,
            filter,
        })
    }
}

pub fn query<T>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::invalid(format!("query: {}", e.body_text())))
}

/// A JSON body, parsed by serde (unknown fields refused, named in the message).
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("body: {e}")))
}

/// The storage key of `/artifacts/{type}/{name}`, checked.
pub fn artifact_key(registry: &str, name: &str) -> Result<String, ApiError> {
    Ok(Declarations::SNAKE.key(registry, name)?)
}

async fn watched<S: Store>(state: &ApiState<S>, key: &str) -> Result<WatchedArtifact, ApiError> {
    state
        .store
        .artifact(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{key} is not watched")))
}

/// A page of artifacts in key order, filtered within a bounded window. Each store read
/// asks for no more than the page still lacks, so a page never overflows and its cursor is
/// always the store's own position.
pub async fn artifact_page<S: Store>(
    state: &ApiState<S>,
    request: &ListRequest,
) -> Result<(Vec<WatchedArtifact>, Option<String>), ApiError> {
    let matches = |a: &WatchedArtifact| request.filter.is_none_or(|f| a.versions.status() == f);
    let mut items = Vec::new();
    let mut after = request.after.clone();
    let mut examined = 0;
    loop {
        let want = request.limit - items.len();
        let page = state
            .store
            .artifacts_after(after.as_deref(), want + 1)
            .await?;
        let more = page.len() > want;
        for artifact in page.into_iter().take(want) {
            examined += 1;
            after = Some(artifact.key());
            if matches(&artifact) {
                items.push(artifact);
            }
        }
        if !more {
            return Ok((items, None));
        }
        if items.len() == request.limit || examined >= FILTER_WINDOW {
            return Ok((items, after));
        }
    }
}

/// A page of an artifact's versions, newest first, filtered within a bounded window (as
/// [`artifact_page`]).
pub async fn version_page<S: Store>(
    state: &ApiState<S>,
    key: &str,
    request: &ListRequest,
) -> Result<(Vec<VersionRecord>, Option<String>), ApiError> {
    let matches = |r: &VersionRecord| request.filter.is_none_or(|f| r.verdict.compliance == f);
    let mut items = Vec::new();
    let mut after = request.after.clone();
    let mut examined = 0;
    loop {
        let want = request.limit - items.len();
        let page = state
            .store
            .versions_page(key, after.as_deref(), want)
            .await
            .map_err(|e| match e {
                // The store refuses a position outside this artifact's list.
                artifact_monitor_core::ports::StoreError::Corrupt(_) if after.is_some() => {
                    ApiError::invalid("cursor: not a cursor of this list")
                }
                other => other.into(),
            })?;
        examined += page.items.len();
        items.extend(page.items.into_iter().filter(|r| matches(r)));
        match page.next {
            None => return Ok((items, None)),
            Some(next) if items.len() == request.limit || examined >= FILTER_WINDOW => {
                return Ok((items, Some(next)));
            }
            Some(next) => after = Some(next),
        }
    }
}

#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "The service answers", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

#[utoipa::path(get, path = "/summary", tag = "artifacts",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Artifact counts", body = SummaryView),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn summary<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _caller: Caller,
) -> Result<Json<SummaryView>, ApiError> {
    let summary = state.store.summary().await?;
    Ok(Json(SummaryView {
        total: summary.total,
        compliant: summary.compliant,
        non_compliant: summary.non_compliant,
        pending: summary.pending,
    }))
}

#[utoipa::path(get, path = "/artifacts", tag = "artifacts",
    params(ListParams),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of watched artifacts, by name", body = ArtifactPage),
        (status = 400, description = "A bad limit, cursor or filter", body = ErrorEnvelope),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn list_artifacts<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ArtifactPage>, ApiError> {
    let request = query(params)?.checked("artifacts")?;
    let (items, next) = artifact_page(&state, &request).await?;
    Ok(Json(ArtifactPage {
        items: items.iter().map(ArtifactView::summary).collect(),
        next_cursor: next.map(|p| cursor::encode("artifacts", &p)),
    }))
}

/// Adds an artifact through the same use-case as a config file; its backfill is due now.
pub async fn add<S: Store + 'static>(
    state: &ApiState<S>,
    request: &NewArtifact,
) -> Result<WatchedArtifact, ApiError> {
    let artifact = request.artifact()?;
    let key = artifact.key();
    let now = state.clock.now();
    watchlist::add(&state.store, artifact, ArtifactSource::Api, now).await?;
    state.wake();
    watched(state, &key).await
}

#[utoipa::path(post, path = "/artifacts", tag = "artifacts",
    request_body = NewArtifact,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "Watched; its backfill starts at once", body = ArtifactView),
        (status = 400, description = "An invalid field (named), an unknown one, or an unsupported type", body = ErrorEnvelope),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 403, description = "A cookie write without its CSRF token", body = ErrorEnvelope),
        (status = 409, description = "Already watched", body = ErrorEnvelope),
        (status = 413, description = "A body over 64 KiB", body = ErrorEnvelope),
        (status = 415, description = "A body that is not JSON (Content-Type: application/json)", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn add_artifact<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _writer: Writer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ArtifactView>), ApiError> {
    let request: NewArtifact = json_body(&headers, &body)?;
    let watched = add(&state, &request).await?;
    Ok((StatusCode::CREATED, Json(ArtifactView::from(&watched))))
}

#[utoipa::path(get, path = "/artifacts/{type}/{name}", tag = "artifacts",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded (%40scope%2Fname)")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The artifact", body = ArtifactView),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 404, description = "Not watched", body = ErrorEnvelope),
        (status = 400, description = "An unsupported type, or a name its registry refuses", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn get_artifact<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _caller: Caller,
    Path((registry, name)): Path<(String, String)>,
) -> Result<Json<ArtifactView>, ApiError> {
    let key = artifact_key(&registry, &name)?;
    Ok(Json(ArtifactView::from(&watched(&state, &key).await?)))
}

#[utoipa::path(patch, path = "/artifacts/{type}/{name}", tag = "artifacts",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded")),
    request_body = ArtifactPatch,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The changed artifact; its versions are judged again", body = ArtifactView),
        (status = 400, description = "An invalid field (named), an unknown one, or an unsupported type", body = ErrorEnvelope),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 403, description = "A cookie write without its CSRF token", body = ErrorEnvelope),
        (status = 404, description = "Not watched", body = ErrorEnvelope),
        (status = 409, description = "Declared in a config file or a stack", body = ErrorEnvelope),
        (status = 413, description = "A body over 64 KiB", body = ErrorEnvelope),
        (status = 415, description = "A body that is not JSON (Content-Type: application/json)", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn patch_artifact<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _writer: Writer,
    Path((registry, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ArtifactView>, ApiError> {
    let key = artifact_key(&registry, &name)?;
    let patch: ArtifactPatch = json_body(&headers, &body)?;
    let existing = watched(&state, &key).await?;
    watchlist::check_owner(&existing, &ArtifactSource::Api)?;
    let policy = patch.apply(&existing.artifact.policy)?;
    let artifact = Artifact {
        policy,
        ..existing.artifact.clone()
    };
    let change = watchlist::watch(
        &state.store,
        artifact,
        ArtifactSource::Api,
        state.clock.now(),
    )
    .await?;
    if change == WatchChange::PolicyChanged {
        state.wake();
    }
    Ok(Json(ArtifactView::from(&watched(&state, &key).await?)))
}

#[utoipa::path(delete, path = "/artifacts/{type}/{name}", tag = "artifacts",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "No longer watched; its versions and verdicts are deleted"),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 403, description = "A cookie write without its CSRF token", body = ErrorEnvelope),
        (status = 404, description = "Not watched", body = ErrorEnvelope),
        (status = 409, description = "Declared in a config file or a stack", body = ErrorEnvelope),
        (status = 400, description = "An unsupported type, or a name its registry refuses", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn delete_artifact<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _writer: Writer,
    Path((registry, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = artifact_key(&registry, &name)?;
    // One read: `unwatch` looks the artifact up for its ownership check.
    if !watchlist::unwatch(&state.store, &key, &ArtifactSource::Api).await? {
        return Err(ApiError::not_found(format!("{key} is not watched")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/artifacts/{type}/{name}/versions", tag = "versions",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded"),
           ListParams),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of versions, newest first", body = VersionPage),
        (status = 400, description = "A bad limit, cursor or filter", body = ErrorEnvelope),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 404, description = "Not watched", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn list_versions<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _caller: Caller,
    Path((registry, name)): Path<(String, String)>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VersionPage>, ApiError> {
    let key = artifact_key(&registry, &name)?;
    let list = format!("versions:{key}");
    let request = query(params)?.checked(&list)?;
    let (items, next) = version_page(&state, &key, &request).await?;
    // An empty first page may be an artifact that is not watched: only then is it asked
    // (one store read fewer on every other page).
    if items.is_empty() && request.after.is_none() {
        watched(&state, &key).await?;
    }
    Ok(Json(VersionPage {
        items: items.iter().map(VersionView::from).collect(),
        next_cursor: next.map(|p| cursor::encode(&list, &p)),
    }))
}

#[utoipa::path(get, path = "/artifacts/{type}/{name}/versions/{version}", tag = "versions",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded"),
           ("version" = String, Path, description = "The version, URL-encoded")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The version with its evidence, history and explanations", body = VersionDetail),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 404, description = "No such version recorded", body = ErrorEnvelope),
        (status = 400, description = "An unsupported type, or a name its registry refuses", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn get_version<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _caller: Caller,
    Path((registry, name, version)): Path<(String, String, String)>,
) -> Result<Json<VersionDetail>, ApiError> {
    let key = artifact_key(&registry, &name)?;
    if version.len() > 256 {
        return Err(ApiError::invalid("version: longer than 256 characters"));
    }
    let record = state.store.version(&key, &version).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "{key}@{} is not recorded",
            artifact_monitor_core::domain::printable(&version)
        ))
    })?;
    Ok(Json(VersionDetail::from(&record)))
}

#[utoipa::path(post, path = "/artifacts/{type}/{name}/scan", tag = "versions",
    params(("type" = String, Path, description = "Registry type: npm"),
           ("name" = String, Path, description = "Package name, URL-encoded")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 202, description = "Every version will be judged again now", body = ScanAccepted),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope),
        (status = 403, description = "A cookie write without its CSRF token", body = ErrorEnvelope),
        (status = 404, description = "Not watched", body = ErrorEnvelope),
        (status = 400, description = "An unsupported type, or a name its registry refuses", body = ErrorEnvelope),
        (status = 500, description = "The store could not complete the request (the message carries a request id for the operator's log)", body = ErrorEnvelope),
        (status = 503, description = "The store is unavailable; try again shortly", body = ErrorEnvelope)))]
pub async fn scan<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    _writer: Writer,
    Path((registry, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<ScanAccepted>), ApiError> {
    let key = artifact_key(&registry, &name)?;
    if !watchlist::rescan(&state.store, &key, state.clock.now()).await? {
        return Err(ApiError::not_found(format!("{key} is not watched")));
    }
    state.wake();
    let watched = watched(&state, &key).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ScanAccepted {
            registry: watched.artifact.registry.to_string(),
            name: watched.artifact.name.clone(),
            policy_rev: watched.policy_rev,
        }),
    ))
}

#[utoipa::path(get, path = "/openapi.json", tag = "service",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", body = Object),
        (status = 401, description = "No valid credentials", body = ErrorEnvelope)))]
pub async fn openapi_json(_caller: Caller) -> Json<utoipa::openapi::OpenApi> {
    Json(super::openapi())
}

/// Unknown routes answer the envelope too.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
