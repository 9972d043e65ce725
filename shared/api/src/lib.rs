//! The HTTP API and the dashboard: one axum [`Router`] built from its state by
//! [`app`], served by `artifact-monitor serve` and, unchanged, by the `api` Lambda.
//!
//! - JSON routes ([`handlers`]): summary, artifacts (list, add, get, patch, delete),
//!   versions (list, one with evidence), scan, `/openapi.json`, `/healthz`. One error
//!   envelope ([`error`]); opaque cursors bound to their list ([`cursor`]); bodies bounded;
//!   every list a store query (no table read on a request path).
//! - Pages ([`pages`]): the dashboard, an artifact's detail, the add form, the sign-in form;
//!   server-rendered HTML with every asset embedded.
//! - Who may call ([`auth`]): a bearer token or the session cookie it signs in; CSRF-checked
//!   cookie writes; only `/healthz` and `/login` are public. Behind API Gateway the gateway
//!   authenticates scripts, and people sign in at a provider ([`signin`]).
//! - The OpenAPI 3.1 document is generated from the handlers and the view types
//!   ([`openapi`]), so it cannot drift from them.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod handlers;
pub mod pages;
pub mod signin;
pub mod views;

use artifact_monitor_core::ports::{Clock, Store};
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
    /// by an identity that may only read too (403); `/healthz` stays public. With `people`,
    /// the pages (which have no gateway authorizer) keep a session of their own, signed in
    /// at that provider.
    Gateway { people: Option<signin::People> },
}

/// Who API Gateway says is calling, as the entry point read it from the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// The IAM principal's ARN, or the JWT's subject.
    pub principal: String,
    /// Whether this identity may change the watched set (add, change, remove, scan).
    pub can_write: bool,
    /// Set when the identity is a dashboard session's (a cookie): the CSRF token its pages
    /// carry and its writes must send. `None` for the gateway's own identities.
    pub csrf: Option<String>,
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
            ApiAuth::Gateway { .. } => None,
        }
    }

    /// What a request proved: locally its token or cookie; behind a gateway the identity
    /// the entry point or [`gateway_guard`] attached.
    pub(crate) fn access(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Option<Access> {
        match &self.auth {
            ApiAuth::Token(token) => auth::credential(token, headers).map(|credential| Access {
                credential,
                csrf: token.csrf_value().to_owned(),
            }),
            ApiAuth::Gateway { .. } => {
                extensions
                    .get::<GatewayIdentity>()
                    .map(|identity| match &identity.csrf {
                        Some(csrf) => Access {
                            credential: Credential::Cookie,
                            csrf: csrf.clone(),
                        },
                        None => Access {
                            credential: Credential::Gateway,
                            csrf: String::new(),
                        },
                    })
            }
        }
    }
}

/// What a request proved, and the CSRF token its pages carry.
#[derive(Debug, Clone)]
pub struct Access {
    pub credential: Credential,
    csrf: String,
}

impl Access {
    /// The CSRF token pages embed (empty when no cookie is involved).
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether a write may go ahead with this CSRF token: always when no cookie carried the
    /// credential (a foreign page cannot make a browser send a bearer token or a signature).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.credential != Credential::Cookie || auth::same_secret(presented, &self.csrf)
    }
}

/// What a page request proved, if anything (pages redirect rather than refuse).
#[derive(Debug, Clone)]
pub struct Visitor(pub Option<Access>);

impl<S: Store + 'static> FromRequestParts<Arc<ApiState<S>>> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState<S>>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Visitor(state.access(&parts.headers, &parts.extensions)))
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
            .access(&parts.headers, &parts.extensions)
            .map(|access| Caller(access.credential))
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
        let access = state
            .access(&parts.headers, &parts.extensions)
            .ok_or_else(ApiError::unauthorized)?;
        let credential = access.credential;
        if credential == Credential::Cookie {
            let csrf = parts
                .headers
                .get(auth::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !access.csrf_matches(csrf) || !auth::same_origin(&parts.headers) {
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

/// Behind a gateway: a request the gateway did not authenticate may carry a dashboard
/// session, verified here and attached as its identity; a write by an identity that may only
/// read is refused (403). A request with no identity goes on to its handler, which refuses
/// it (401) or, for a page, sends the browser to sign in.
async fn gateway_guard<S: Store + 'static>(
    axum::extract::State(state): axum::extract::State<Arc<ApiState<S>>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse as _;
    let ApiAuth::Gateway { people } = &state.auth else {
        return next.run(request).await;
    };
    if request.extensions().get::<GatewayIdentity>().is_none()
        && let Some(people) = people
        && let Some(token) = signin::session_token(request.headers())
    {
        match people.provider.verify(token, None, state.clock.now()).await {
            Ok(person) => {
                let identity = people.identity(&person, token);
                request.extensions_mut().insert(identity);
            }
            // Expired or not valid: the request is not signed in.
            Err(artifact_monitor_core::ports::SignInError::Refused(_)) => {}
            Err(artifact_monitor_core::ports::SignInError::Remote(e)) => {
                return ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("the session cannot be checked now: {e}"),
                )
                .into_response();
            }
        }
    }
    // Signing out is not a change to the monitor: anyone signed in may.
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) && request.uri().path() != "/logout";
    match request.extensions().get::<GatewayIdentity>() {
        Some(identity) if writes && !identity.can_write => ApiError::forbidden(format!(
            "{} may read the monitor, not change it",
            identity.principal
        ))
        .into_response(),
        _ => next.run(request).await,
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

/// The router: every route of the API and the dashboard over `state`.
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
        .route("/view/summary", get(handlers::summary::<S>))
        .route(
            "/login",
            get(pages::login_form::<S>).post(pages::login::<S>),
        )
        .route(signin::CALLBACK_PATH, get(signin::callback::<S>))
        .route("/logout", post(pages::logout::<S>))
        .route("/assets/app.css", get(pages::stylesheet))
        .route("/assets/app.js", get(pages::script))
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
