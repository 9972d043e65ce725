//! [`SignIn`] over an Amazon Cognito user pool's managed login: OpenID Connect's
//! authorization-code flow with PKCE (`/oauth2/authorize`, `/oauth2/token`, `/logout` on the
//! pool's domain) and ID tokens verified against the pool's published keys
//! (`<issuer>/.well-known/jwks.json`).
//!
//! - Only RS256 tokens signed by a key of the pool's set are accepted; the issuer, the
//!   audience (this app client), `token_use` `id` and the expiry are checked, and at the
//!   callback the nonce the login started with.
//! - The key set is fetched once and kept; a token naming an unknown key makes one new fetch,
//!   at most once a minute (keys rotate rarely; a flood of forged key ids costs one request a
//!   minute, not one per request).
//! - Every answer is bounded (token responses 64 KiB, key sets 64 KiB) and treated as hostile:
//!   an error names what was wrong, never echoes a token or a code.

use super::http::{HttpClient, HttpConfig};
use artifact_monitor_core::ports::{AuthorizeRequest, Person, RemoteError, SignIn, SignInError};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use std::time::Duration;

/// The largest token response or key set read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// The longest ID token accepted (Cognito's are 1–2 KB; a cookie holds at most 4 KB).
pub const MAX_ID_TOKEN_BYTES: usize = 3800;
/// Clock skew allowed on `exp` and `iat`.
const LEEWAY_SECS: i64 = 60;
/// The shortest time between two fetches of the key set.
const REFETCH_SECS: i64 = 60;

/// Where the user pool and its app client are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoConfig {
    /// The pool's issuer, `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub issuer: String,
    /// The app client (public, no secret) the dashboard signs in with.
    pub client_id: String,
    /// The pool's managed-login domain, `https://<prefix>.auth.<region>.amazoncognito.com`.
    pub domain_url: String,
}

#[derive(Debug, Default)]
struct Keys {
    set: Option<JwkSet>,
    /// When the set was last asked for, whether the answer came or not: a flood of tokens
    /// naming unknown keys (or a provider that is down) costs one request a minute.
    asked_at: Option<i64>,
}

/// Cognito's managed login for the dashboard.
#[derive(Debug)]
pub struct CognitoSignIn {
    config: CognitoConfig,
    http: HttpClient,
    keys: tokio::sync::Mutex<Keys>,
}

/// Escaped in a form value: everything but RFC 3986's unreserved characters.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, FORM_VALUE),
                utf8_percent_encode(v, FORM_VALUE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    token_use: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
}

/// A short printable excerpt of something a remote service sent.
fn shown(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(80)
        .collect()
}

impl CognitoSignIn {
    pub fn new(config: CognitoConfig, http: HttpConfig) -> Result<Self, RemoteError> {
        let http = HttpClient::new(
            "the sign-in provider",
            HttpConfig {
                // A person is waiting: a slow provider is an error in seconds, not minutes.
                timeout: http.timeout.min(Duration::from_secs(10)),
                max_retries: 1,
                max_wait: Duration::from_secs(2),
                ..http
            },
        )?;
        Ok(Self {
            config: CognitoConfig {
                issuer: config.issuer.trim_end_matches('/').to_owned(),
                domain_url: config.domain_url.trim_end_matches('/').to_owned(),
                client_id: config.client_id,
            },
            http,
            keys: tokio::sync::Mutex::new(Keys::default()),
        })
    }

    async fn fetch_keys(&self) -> Result<JwkSet, SignInError> {
        let url = format!("{}/.well-known/jwks.json", self.config.issuer);
        let answer = self.http.get(&url, &[], MAX_ANSWER_BYTES).await?;
        if answer.status != 200 {
            return Err(RemoteError::Status("the sign-in provider", answer.status).into());
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            RemoteError::Invalid("the sign-in provider", format!("key set: {e}")).into()
        })
    }

    /// The decoding key named `kid`, fetching the set when it is not known yet.
    async fn key(&self, kid: &str, now: i64) -> Result<DecodingKey, SignInError> {
        let mut keys = self.keys.lock().await;
        let known = |keys: &Keys| keys.set.as_ref().and_then(|s| s.find(kid).cloned());
        let jwk = match known(&keys) {
            Some(jwk) => jwk,
            None => {
                if keys.asked_at.is_some_and(|at| now - at < REFETCH_SECS) {
                    return Err(match keys.set {
                        Some(_) => SignInError::Refused(format!(
                            "the token names a key the provider does not publish ({})",
                            shown(kid)
                        )),
                        None => RemoteError::Unreachable(
                            "the sign-in provider",
                            "its key set could not be read moments ago; asked again within a minute"
                                .into(),
                        )
                        .into(),
                    });
                }
                keys.asked_at = Some(now);
                keys.set = Some(self.fetch_keys().await?);
                known(&keys).ok_or_else(|| {
                    SignInError::Refused(format!(
                        "the token names a key the provider does not publish ({})",
                        shown(kid)
                    ))
                })?
            }
        };
        DecodingKey::from_jwk(&jwk)
            .map_err(|e| SignInError::Refused(format!("the provider's key is not usable: {e}")))
    }
}

impl SignIn for CognitoSignIn {
    fn authorize_url(&self, request: &AuthorizeRequest) -> String {
        format!(
            "{}/oauth2/authorize?{}",
            self.config.domain_url,
            form(&[
                ("response_type", "code"),
                ("client_id", &self.config.client_id),
                ("redirect_uri", &request.redirect_uri),
                ("scope", "openid email"),
                ("state", &request.state),
                ("nonce", &request.nonce),
                ("code_challenge", &request.code_challenge),
                ("code_challenge_method", "S256"),
            ])
        )
    }

    fn logout_url(&self, return_to: &str) -> String {
        format!(
            "{}/logout?{}",
            self.config.domain_url,
            form(&[
                ("client_id", &self.config.client_id),
                ("logout_uri", return_to)
            ])
        )
    }

    fn redeem<'a>(
        &'a self,
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<String, SignInError>> {
        Box::pin(async move {
            let body = form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.config.client_id),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ]);
            let url = format!("{}/oauth2/token", self.config.domain_url);
            let answer = self
                .http
                .post_form(&url, body.into_bytes(), MAX_ANSWER_BYTES)
                .await?;
            let parsed: Option<TokenAnswer> = serde_json::from_slice(&answer.body).ok();
            if answer.status != 200 {
                // 400 `invalid_grant`: a code used twice, expired, or not ours.
                let error = parsed.and_then(|a| a.error).unwrap_or_default();
                return Err(if answer.status == 400 || answer.status == 401 {
                    SignInError::Refused(format!(
                        "the provider refused the code ({})",
                        shown(&error)
                    ))
                } else {
                    RemoteError::Status("the sign-in provider", answer.status).into()
                });
            }
            parsed.and_then(|a| a.id_token).ok_or_else(|| {
                RemoteError::Invalid("the sign-in provider", "no id_token in its answer".into())
                    .into()
            })
        })
    }

    fn verify<'a>(
        &'a self,
        id_token: &'a str,
        nonce: Option<&'a str>,
        now: i64,
    ) -> futures_util::future::BoxFuture<'a, Result<Person, SignInError>> {
        Box::pin(async move {
            let refused = |why: String| SignInError::Refused(why);
            if id_token.len() > MAX_ID_TOKEN_BYTES {
                return Err(refused("the token is too long".into()));
            }
            let header = jsonwebtoken::decode_header(id_token)
                .map_err(|e| refused(format!("not a token: {e}")))?;
            if header.alg != Algorithm::RS256 {
                return Err(refused(format!(
                    "tokens signed with {:?} are not accepted",
                    header.alg
                )));
            }
            let kid = header
                .kid
                .ok_or_else(|| refused("the token names no key".into()))?;
            let key = self.key(&kid, now).await?;
            let mut validation = Validation::new(Algorithm::RS256);
            validation.set_issuer(&[&self.config.issuer]);
            validation.set_audience(&[&self.config.client_id]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // The expiry is checked below against the injected clock.
            validation.validate_exp = false;
            let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
                .map_err(|e| refused(format!("the token is not valid: {e}")))?
                .claims;
            if claims.token_use != "id" {
                return Err(refused(format!(
                    "a {} token is not an ID token",
                    shown(&claims.token_use)
                )));
            }
            if claims.exp + LEEWAY_SECS < now {
                return Err(refused("the token has expired".into()));
            }
            if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS) {
                return Err(refused("the token was issued in the future".into()));
            }
            if let Some(expected) = nonce
                && claims.nonce.as_deref() != Some(expected)
            {
                return Err(refused("the token's nonce is not this sign-in's".into()));
            }
            Ok(Person {
                subject: claims.sub,
                email: claims.email,
                groups: claims.groups,
                expires_at: claims.exp,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> CognitoSignIn {
        CognitoSignIn::new(
            CognitoConfig {
                issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/".into(),
                client_id: "client123".into(),
                domain_url: "https://am-1.auth.eu-west-1.amazoncognito.com/".into(),
            },
            HttpConfig::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_authorize_url_asks_for_a_code_with_pkce() {
        let url = provider().authorize_url(&AuthorizeRequest {
            redirect_uri: "https://api.example/login/callback".into(),
            state: "s1".into(),
            nonce: "n1".into(),
            code_challenge: "c1".into(),
        });
        assert_eq!(
            url,
            "https://am-1.auth.eu-west-1.amazoncognito.com/oauth2/authorize?response_type=code&client_id=client123&redirect_uri=https%3A%2F%2Fapi.example%2Flogin%2Fcallback&scope=openid%20email&state=s1&nonce=n1&code_challenge=c1&code_challenge_method=S256"
        );
        assert_eq!(
            provider().logout_url("https://api.example/"),
            "https://am-1.auth.eu-west-1.amazoncognito.com/logout?client_id=client123&logout_uri=https%3A%2F%2Fapi.example%2F"
        );
    }

    #[tokio::test]
    async fn the_key_set_is_asked_for_once_a_minute_even_while_the_provider_fails() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let asked = std::sync::Arc::new(AtomicUsize::new(0));
        let count = std::sync::Arc::clone(&asked);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let p = CognitoSignIn::new(
            CognitoConfig {
                issuer: format!("http://{address}/pool"),
                client_id: "client123".into(),
                domain_url: format!("http://{address}"),
            },
            HttpConfig {
                max_retries: 0,
                // The client's own pause after a failure is not what is tested here.
                unreachable_cooldown: std::time::Duration::ZERO,
                ..HttpConfig::default()
            },
        )
        .unwrap();
        // {"alg":"RS256","kid":"k1"}
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln";
        assert!(p.verify(token, None, 100).await.is_err());
        let first = asked.load(Ordering::SeqCst);
        assert!(first > 0);
        for now in [110, 159] {
            let error = p.verify(token, None, now).await.unwrap_err();
            assert!(error.to_string().contains("within a minute"), "{error}");
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            first,
            "not asked again within the minute"
        );
        assert!(p.verify(token, None, 160).await.is_err());
        assert!(asked.load(Ordering::SeqCst) > first, "asked again after it");
    }

    #[tokio::test]
    async fn malformed_and_oversized_tokens_are_refused_without_asking_anyone() {
        let p = provider();
        for token in ["", "abc", "a.b.c", &"x".repeat(MAX_ID_TOKEN_BYTES + 1)] {
            assert!(matches!(
                p.verify(token, None, 0).await,
                Err(SignInError::Refused(_))
            ));
        }
        // An HS256 token (the classic algorithm-confusion forgery) is refused by its header.
        let hs = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln";
        let refused = p.verify(hs, None, 0).await.unwrap_err();
        assert!(refused.to_string().contains("HS256"), "{refused}");
    }
}
