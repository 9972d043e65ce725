//! Who may call the API when it is served locally: a bearer token for scripts,
//! and for a browser a session cookie obtained by signing in with the same token.
//!
//! - The token is compared in constant time (SHA-256 of both sides, compared with
//!   `subtle`), never logged, and redacted from `Debug`.
//! - The session cookie's value and the CSRF token are HMAC-SHA256 of fixed labels under the
//!   token: nothing to store, and both change when the token does.
//! - A write authenticated by the cookie must carry the CSRF token (header `x-csrf-token`,
//!   or form field `csrf`), and its `Origin`, when sent, must be the host it was sent to.
//!   SameSite=Strict already keeps the cookie off cross-site requests; this is the second
//!   lock.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "am_session";
/// The header a cookie-authenticated script or page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session lasts twelve hours.
pub const SESSION_SECS: u64 = 12 * 3600;
/// The shortest token accepted (a generated one has 43 characters).
pub const MIN_TOKEN_CHARS: usize = 32;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The API token of a local deployment.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
    session: String,
    csrf: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn label(token: &str, label: &str) -> String {
    // An HMAC key may have any length: `new_from_slice` cannot fail for HMAC.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(label.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// Why a token cannot be used or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the API token must have at least {MIN_TOKEN_CHARS} characters")]
    TooShort,
    #[error("the API token must be printable ASCII without spaces")]
    NotPrintable,
    #[error("no randomness for a token: {0}")]
    NoRandomness(String),
}

impl ApiToken {
    /// A token as configured (the environment variable or the token file).
    pub fn new(token: &str) -> Result<Self, TokenError> {
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(TokenError::TooShort);
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(TokenError::NotPrintable);
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
            session: label(token, "artifact-monitor session v1"),
            csrf: label(token, "artifact-monitor csrf v1"),
        })
    }

    /// A new random token: 32 bytes from the operating system, base64url.
    pub fn generate() -> Result<String, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::NoRandomness(e.to_string()))?;
        Ok(b64(&bytes))
    }

    /// Whether `presented` is the token (constant time whatever its length).
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        bool::from(digest.ct_eq(&self.digest))
    }

    /// The session cookie's value.
    pub fn session_value(&self) -> &str {
        &self.session
    }

    pub fn session_matches(&self, value: &str) -> bool {
        same_secret(value, &self.session)
    }

    /// The CSRF token pages embed for their forms and scripts.
    pub fn csrf_value(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_matches(&self, value: &str) -> bool {
        same_secret(value, &self.csrf)
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>` (a script): no CSRF check needed.
    Bearer,
    /// The session cookie (a browser): writes need the CSRF token.
    Cookie,
    /// Authenticated by API Gateway in front (IAM or a JWT), no cookie involved.
    Gateway,
}

/// Whether `presented` is `expected`, compared in constant time (for values of a known
/// length: the length itself is not hidden).
pub fn same_secret(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The values of the cookie `name` in a request's `Cookie` headers, in order.
pub fn cookies<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(move |line| cookie(line, name))
}

/// The value of a cookie in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// The credential a request carries, if valid.
pub fn credential(token: &ApiToken, headers: &axum::http::HeaderMap) -> Option<Credential> {
    let header = |name: axum::http::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(value) = header(axum::http::header::AUTHORIZATION) {
        let (scheme, presented) = value.split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && token.matches(presented))
            .then_some(Credential::Bearer);
    }
    cookies(headers, SESSION_COOKIE)
        .any(|value| token.session_matches(value))
        .then_some(Credential::Cookie)
}

/// Whether the `Origin` of a request, when it sends one, is the host it was sent to.
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

/// The `Set-Cookie` value that signs a browser in.
pub fn session_cookie(token: &ApiToken) -> String {
    format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECS}",
        token.session_value()
    )
}

/// The `Set-Cookie` value that signs a browser out.
pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// Where to go after signing in: a path of this site only (no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 1024
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let token = ApiToken::new(TOKEN).unwrap();
        assert!(token.matches(TOKEN));
        assert!(!token.matches("0123456789abcdefghijklmnopqrstuvwxyzABCDEFH"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("0123"));
        assert!(ApiToken::new("short").is_err());
        assert!(ApiToken::new(&format!("{TOKEN} x")).is_err());
    }

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        let a = ApiToken::generate().unwrap();
        let b = ApiToken::generate().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(ApiToken::new(&a).is_ok());
    }

    #[test]
    fn the_session_and_csrf_values_differ_from_the_token_and_each_other() {
        let token = ApiToken::new(TOKEN).unwrap();
        assert_ne!(token.session_value(), TOKEN);
        assert_ne!(token.session_value(), token.csrf_value());
        assert!(token.session_matches(token.session_value()));
        assert!(!token.session_matches(token.csrf_value()));
        let other = ApiToken::new(&TOKEN.replace('G', "H")).unwrap();
        assert_ne!(other.session_value(), token.session_value());
    }

    #[test]
    fn origins_must_be_the_host() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert("origin", "http://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.insert("origin", "null".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
