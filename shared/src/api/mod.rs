//! The HTTP API and the dashboard (DESIGN §5): one axum [`Router`] built from its state by
//! [`app`], served by `artifact-monitor serve` and, unchanged, by the `api` Lambda.
//!
//! - JSON routes ([`handlers`]): summary, artifacts (list, add, get, patch, delete),
//!   versions (list, one with evidence), scan, `/openapi.json`, `/healthz`. One error
//!   envelope ([`error`]); opaque cursors bound to their list ([`cursor`]); bodies bounded;
//!   every list a store query (no table read on a request path).
//! - Pages ([`pages`]): the dashboard, an artifact's detail, the add form, the sign-in form;
//!   server-rendered HTML with every asset embedded.
//! - Who may call ([`auth`]): a bearer token or the session cookie it signs in; CSRF-checked
//!   cookie writes; only `/healthz` and `/login` are public.
//! - The OpenAPI 3.1 document is generated from the handlers and the view types
//!   ([`openapi`]), so it cannot drift from them.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod handlers;
pub mod pages;
pub mod views;

use crate::ports::{Clock, Store};
use auth::{ApiToken, Credential};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use error::ApiError;
use std::sync::Arc;
use utoipa::OpenApi;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Requests handled at once; more wait (a bound on memory and store load).
pub const MAX_IN_FLIGHT: usize = 256;

/// Who may call the API.
#[derive(Debug, Clone)]
pub enum ApiAuth {
    /// A local deployment: the bearer token, or the session cookie it signs in.
    Token(ApiToken),
    /// Behind API Gateway: the gateway authenticated the request (SigV4 against IAM, or a
    /// JWT) and the entry point passed on who it is as a [`GatewayIdentity`] request
    /// extension, which no client can set. A request without one is refused (401), a write
    /// by an identity that may only read too (403); `/healthz` stays public.
    Gateway,
}

/// Who API Gateway says is calling, as the entry point read it from the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// The IAM principal's ARN, or the JWT's subject.
    pub principal: String,
    /// Whether this identity may change the watched set (add, change, remove, scan).
    pub can_write: bool,
}

/// What the router serves from.
pub struct ApiState<S> {
    pub store: S,
    pub auth: ApiAuth,
    pub clock: Arc<dyn Clock>,
    /// Woken when work was made due now (an artifact added, a scan), so a local monitor
    /// ticks at once instead of at its next interval.
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// The `Host` values requests may name (`None`: any). A monitor listening on loopback
    /// answers only to its loopback names, so a web page whose name was rebound to
    /// 127.0.0.1 (DNS rebinding) cannot talk to it even as a same-origin page.
    pub hosts: Option<Vec<String>>,
}

/// The names a monitor listening on `address` answers to when that is a loopback address.
pub fn loopback_hosts(address: std::net::SocketAddr) -> Option<Vec<String>> {
    let port = address.port();
    address.ip().is_loopback().then(|| {
        vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
    })
}

impl<S> std::fmt::Debug for ApiState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("auth", &self.auth)
            .finish()
    }
}

impl<S> ApiState<S> {
    pub fn wake(&self) {
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
    }

    /// The local token, when the API is authenticated by one.
    fn token(&self) -> Option<&ApiToken> {
        match &self.auth {
            ApiAuth::Token(token) => Some(token),
            ApiAuth::Gateway => None,
        }
    }

    /// The request's credential. Behind a gateway every request that reaches a handler
    /// was let through by [`gateway_guard`] with an identity.
    pub(crate) fn credential(&self, headers: &axum::http::HeaderMap) -> Option<Credential> {
        match &self.auth {
            ApiAuth::Token(token) => auth::credential(token, headers),
            ApiAuth::Gateway => Some(Credential::Gateway),
        }
    }

    /// Whether `csrf` is the page's CSRF token (always, behind a gateway: no cookie there
    /// carries a credential a foreign page could make the browser send).
    pub(crate) fn csrf_matches(&self, csrf: &str) -> bool {
        self.token().is_none_or(|t| t.csrf_matches(csrf))
    }

    /// The CSRF token the pages embed (none behind a gateway).
    pub(crate) fn csrf_value(&self) -> &str {
        self.token().map_or("", ApiToken::csrf_value)
    }
}

/// A request with valid credentials.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Credential);

impl<S: Store + 'static> FromRequestParts<Arc<ApiState<S>>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState<S>>,
    ) -> Result<Self, Self::Rejection> {
        state
            .credential(&parts.headers)
            .map(Caller)
            .ok_or_else(ApiError::unauthorized)
    }
}

/// A request with valid credentials that may write: a cookie-authenticated one also
/// carries the CSRF token and comes from the same origin.
#[derive(Debug, Clone, Copy)]
pub struct Writer(pub Credential);

impl<S: Store + 'static> FromRequestParts<Arc<ApiState<S>>> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState<S>>,
    ) -> Result<Self, Self::Rejection> {
        let Caller(credential) = Caller::from_request_parts(parts, state).await?;
        if credential == Credential::Cookie {
            let csrf = parts
                .headers
                .get(auth::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !state.csrf_matches(csrf) || !auth::same_origin(&parts.headers) {
                return Err(ApiError::forbidden(format!(
                    "a write signed in by cookie needs the {} header of the page, from the same origin",
                    auth::CSRF_HEADER
                )));
            }
        }
        Ok(Writer(credential))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "artifact-monitor",
        description = "Watched npm packages and the verdict on every version: did it come out of its owner's authorised GitHub Actions workflow?"
    ),
    paths(
        handlers::healthz,
        handlers::openapi_json,
        handlers::summary,
        handlers::list_artifacts,
        handlers::add_artifact,
        handlers::get_artifact,
        handlers::patch_artifact,
        handlers::delete_artifact,
        handlers::list_versions,
        handlers::get_version,
        handlers::scan,
    ),
    modifiers(&Security)
)]
struct Document;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The OpenAPI 3.1 document of every JSON route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

/// Headers every answer carries: no caching of verdicts, no framing, no sniffing, a strict
/// content security policy (pages load only their own embedded assets).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // `same-origin`, not `no-referrer`: with no referrer at all a browser sends `Origin:
    // null` on its own form posts, which the same-origin check must refuse.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    response
}

/// Behind a gateway: refuses a request without an identity (401) and a write by an identity
/// that may only read (403). `/healthz` is answered to anyone.
async fn gateway_guard<S: Store + 'static>(
    axum::extract::State(state): axum::extract::State<Arc<ApiState<S>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse as _;
    if !matches!(state.auth, ApiAuth::Gateway) || request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    match request.extensions().get::<GatewayIdentity>() {
        None => ApiError::unauthorized().into_response(),
        Some(identity) if writes && !identity.can_write => ApiError::forbidden(format!(
            "{} may read the monitor, not change it",
            identity.principal
        ))
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

/// Refuses a request whose `Host` is not one of the state's names (421, the envelope).
async fn known_host<S: Store + 'static>(
    axum::extract::State(state): axum::extract::State<Arc<ApiState<S>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(hosts) = &state.hosts {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return axum::response::IntoResponse::into_response(ApiError::new(
                axum::http::StatusCode::MISDIRECTED_REQUEST,
                "misdirected",
                "this monitor answers only to its own address",
            ));
        }
    }
    next.run(request).await
}

/// The router: every route of DESIGN §5 over `state`.
pub fn app<S: Store + 'static>(state: ApiState<S>) -> Router {
    let state = Arc::new(state);
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/openapi.json", get(handlers::openapi_json))
        .route("/summary", get(handlers::summary::<S>))
        .route(
            "/artifacts",
            get(handlers::list_artifacts::<S>).post(handlers::add_artifact::<S>),
        )
        .route(
            "/artifacts/{type}/{name}",
            get(handlers::get_artifact::<S>)
                .patch(handlers::patch_artifact::<S>)
                .delete(handlers::delete_artifact::<S>),
        )
        .route(
            "/artifacts/{type}/{name}/versions",
            get(handlers::list_versions::<S>),
        )
        .route(
            "/artifacts/{type}/{name}/versions/{version}",
            get(handlers::get_version::<S>),
        )
        .route("/artifacts/{type}/{name}/scan", post(handlers::scan::<S>))
        .route("/", get(pages::dashboard::<S>))
        .route("/view/{type}/{name}", get(pages::detail::<S>))
        .route("/view/add", post(pages::add::<S>))
        .route("/view/{type}/{name}/scan", post(pages::scan::<S>))
        .route("/login", get(pages::login_form).post(pages::login::<S>))
        .route("/logout", post(pages::logout::<S>))
        .route("/assets/app.css", get(pages::stylesheet::<S>))
        .route("/assets/app.js", get(pages::script::<S>))
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gateway_guard::<S>,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            known_host::<S>,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_IN_FLIGHT))
        .with_state(state)
}
