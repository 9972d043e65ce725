//! People signing in to the dashboard behind API Gateway: the page routes have
//! no gateway authorizer (a browser cannot sign requests, and a JWT authorizer reads only
//! headers), so the router keeps the session itself, through a [`SignIn`] provider
//! (Cognito's managed login).
//!
//! - `GET /login` sends the browser to the provider with a fresh `state`, `nonce` and PKCE
//!   challenge; their secrets wait in a short-lived HttpOnly login cookie.
//! - `GET /login/callback` checks the `state` against that cookie, redeems the code with the
//!   PKCE verifier, verifies the ID token (nonce included) and keeps it as the session
//!   cookie. Every later request is verified again (signature, issuer, audience, expiry):
//!   nothing is stored server-side, and a session ends when its token expires (an hour).
//! - The CSRF token of a session is a hash of its ID token: pages embed it, writes must send
//!   it, and only a page of this origin can read it.
//! - Cookies are `__Host-` prefixed (Secure, path `/`, this host only) and `SameSite=Lax`:
//!   the provider's redirect back is a cross-site navigation, after which a `Strict` cookie
//!   would not be sent and the browser would bounce between the dashboard and the sign-in
//!   page. Lax cookies travel on top-level GETs only; writes are POSTs, CSRF-checked.

use super::auth::{self, ApiToken, b64};
use super::error::ApiError;
use super::{ApiAuth, ApiState, GatewayIdentity};
use artifact_monitor_core::domain::Writers;
use artifact_monitor_core::ports::{AuthorizeRequest, Person, SignIn, SignInError, Store};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The session cookie behind a gateway (the ID token).
pub const SESSION_COOKIE: &str = "__Host-am_session";
/// The cookie that carries a sign-in's state, nonce and PKCE verifier to the callback.
pub const LOGIN_COOKIE: &str = "__Host-am_login";
/// How long a sign-in may take at the provider.
const LOGIN_SECS: i64 = 600;
/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/login/callback";

/// People signing in at a provider, and which of them may change the watched set.
#[derive(Debug, Clone)]
pub struct People {
    pub provider: Arc<dyn SignIn>,
    /// The provider group whose members may write (`admins`).
    pub writers: Writers,
}

impl People {
    /// The identity a verified session stands for.
    pub fn identity(&self, person: &Person, id_token: &str) -> GatewayIdentity {
        GatewayIdentity {
            principal: person.principal().to_owned(),
            can_write: self.writers.admit(person.groups.iter().map(String::as_str)),
            csrf: Some(session_csrf(id_token)),
        }
    }
}

/// 32 random bytes, base64url (43 characters).
fn random() -> Result<String, ApiError> {
    ApiToken::generate()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}

/// The CSRF token of the session whose ID token this is.
pub fn session_csrf(id_token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"artifact-monitor session csrf v1\0");
    hash.update(id_token.as_bytes());
    b64(&hash.finalize())
}

/// The value of the cookie `name` in a request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &'a str) -> Option<&'a str> {
    auth::cookies(headers, name)
        .next()
        .filter(|v| !v.is_empty())
}

/// The session's ID token, when the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// `https://<host>`: where this API is, from the `Host` API Gateway routed by.
fn origin(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !valid {
        return Err(ApiError::invalid("the request names no valid host"));
    }
    Ok(format!("https://{host}"))
}

fn set_cookie(response: &mut Response, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn cookie_line(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}")
}

/// What the login cookie remembers between `/login` and the callback.
#[derive(Debug, PartialEq, Eq)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

impl Pending {
    fn encode(&self) -> String {
        // Each part is base64url: `~` cannot occur in them.
        format!(
            "{}~{}~{}~{}",
            self.state,
            self.nonce,
            self.verifier,
            b64(self.next.as_bytes())
        )
    }

    fn decode(value: &str) -> Option<Self> {
        let mut parts = value.split('~');
        let (state, nonce, verifier, next) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || [state, nonce, verifier].iter().any(|p| p.len() != 43) {
            return None;
        }
        use base64::Engine as _;
        let next = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(next)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        Some(Self {
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            verifier: verifier.to_owned(),
            next: auth::safe_next(Some(&next)),
        })
    }
}

/// `GET /login` behind a gateway: off to the provider's sign-in page.
pub fn start(people: &People, headers: &HeaderMap, next: &str) -> Response {
    let begin = || -> Result<Response, ApiError> {
        let pending = Pending {
            state: random()?,
            nonce: random()?,
            verifier: random()?,
            next: next.to_owned(),
        };
        let url = people.provider.authorize_url(&AuthorizeRequest {
            redirect_uri: format!("{}{CALLBACK_PATH}", origin(headers)?),
            state: pending.state.clone(),
            nonce: pending.nonce.clone(),
            code_challenge: pkce_challenge(&pending.verifier),
        });
        let mut response = Redirect::to(&url).into_response();
        set_cookie(
            &mut response,
            cookie_line(LOGIN_COOKIE, &pending.encode(), LOGIN_SECS),
        );
        Ok(response)
    };
    begin().unwrap_or_else(IntoResponse::into_response)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// A page saying why signing in did not work, with the way to try again.
fn failed(status: StatusCode, why: &str) -> Response {
    let markup = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign-in failed · artifact-monitor" }
            }
            body {
                main {
                    h1 { "Signing in did not work" }
                    p role="alert" { (why) }
                    p { a href="/login" { "Sign in again" } }
                }
            }
        }
    };
    let mut response = (status, axum::response::Html(markup.into_string())).into_response();
    set_cookie(&mut response, cookie_line(LOGIN_COOKIE, "", 0));
    response
}

/// `GET /login/callback`: the provider sent the browser back with a code.
pub async fn callback<S: Store + 'static>(
    State(state): State<Arc<ApiState<S>>>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ApiAuth::Gateway {
        people: Some(people),
    } = &state.auth
    else {
        return ApiError::not_found("no sign-in provider here").into_response();
    };
    let Ok(Query(query)) = query else {
        return failed(
            StatusCode::BAD_REQUEST,
            "The provider's answer is not readable.",
        );
    };
    if let Some(error) = &query.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(60)
            .collect();
        return failed(
            StatusCode::UNAUTHORIZED,
            &format!("The sign-in provider answered: {error}."),
        );
    }
    let Some(pending) = cookie(&headers, LOGIN_COOKIE).and_then(Pending::decode) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here, or took longer than ten minutes.",
        );
    };
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|s| auth::same_secret(s, &pending.state));
    let Some(code) = query.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return failed(StatusCode::BAD_REQUEST, "The provider sent no code.");
    };
    if !state_matches {
        return failed(
            StatusCode::BAD_REQUEST,
            "The answer does not belong to the sign-in this browser started.",
        );
    }
    let redirect_uri = match origin(&headers) {
        Ok(origin) => format!("{origin}{CALLBACK_PATH}"),
        Err(e) => return e.into_response(),
    };
    let outcome = async {
        let token = people
            .provider
            .redeem(&code, &pending.verifier, &redirect_uri)
            .await?;
        let person = people
            .provider
            .verify(&token, Some(&pending.nonce), state.clock.now())
            .await?;
        Ok::<_, SignInError>((token, person))
    }
    .await;
    match outcome {
        Ok((token, person)) => {
            let max_age = (person.expires_at - state.clock.now()).max(0);
            let mut response = Redirect::to(&pending.next).into_response();
            set_cookie(&mut response, cookie_line(SESSION_COOKIE, &token, max_age));
            set_cookie(&mut response, cookie_line(LOGIN_COOKIE, "", 0));
            tracing::info!(principal = %person.principal(), "signed in");
            response
        }
        Err(SignInError::Refused(why)) => {
            tracing::warn!(%why, "sign-in refused");
            failed(
                StatusCode::UNAUTHORIZED,
                "The provider's answer was not accepted.",
            )
        }
        Err(SignInError::Remote(e)) => {
            tracing::warn!(error = %e, "sign-in provider unavailable");
            failed(
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in provider did not answer; try again in a moment.",
            )
        }
    }
}

/// `POST /logout` behind a gateway: the session cookie cleared, then the provider's own
/// sign-out, which sends the browser back to the dashboard.
pub fn sign_out(people: &People, headers: &HeaderMap) -> Response {
    let back = match origin(headers) {
        Ok(origin) => format!("{origin}/"),
        Err(e) => return e.into_response(),
    };
    let mut response = Redirect::to(&people.provider.logout_url(&back)).into_response();
    set_cookie(&mut response, cookie_line(SESSION_COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_login_cookie_round_trips_and_refuses_anything_else() {
        let pending = Pending {
            state: "s".repeat(43),
            nonce: "n".repeat(43),
            verifier: "v".repeat(43),
            next: "/view/npm/x?cursor=1".into(),
        };
        assert_eq!(Pending::decode(&pending.encode()), Some(pending));
        assert_eq!(Pending::decode("a~b~c~d"), None);
        let far = Pending {
            state: "s".repeat(43),
            nonce: "n".repeat(43),
            verifier: "v".repeat(43),
            next: "//evil.example/".into(),
        };
        // A `next` that leaves the site is read as the dashboard.
        assert_eq!(Pending::decode(&far.encode()).unwrap().next, "/");
    }

    #[test]
    fn hosts_are_checked_before_they_become_urls() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            "abc.execute-api.eu-west-1.amazonaws.com".parse().unwrap(),
        );
        assert_eq!(
            origin(&headers).unwrap(),
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        );
        headers.insert("host", "evil.example/x?".parse().unwrap());
        assert!(origin(&headers).is_err());
        headers.remove("host");
        assert!(origin(&headers).is_err());
    }

    #[test]
    fn a_sessions_csrf_token_depends_on_its_token() {
        assert_ne!(session_csrf("a.b.c"), session_csrf("a.b.d"));
        assert_eq!(session_csrf("a.b.c").len(), 43);
    }
}
