//! A Cognito user pool's managed login, served locally: the key set at
//! `<issuer>/.well-known/jwks.json`, the token endpoint `/oauth2/token` (authorization code
//! and PKCE, single-use codes) and RS256 ID tokens signed with a key generated per run
//! (aws-lc-rs, the JWT assembled here by hand, independently of the verifier under test).
//! [`FakeCognito::sign_in`] plays the person at the sign-in page: it reads the authorize
//! URL the dashboard sent the browser to and returns the code Cognito would redirect with.

use artifact_monitor_tests::fake_http::{FakeServer, Reply, Request};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The app client's id.
pub const CLIENT_ID: &str = "dashboard-client";
/// The key id the pool's tokens name.
pub const KEY_ID: &str = "fake-key-1";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the sign-in page was asked for, and who signed in.
#[derive(Debug, Clone)]
struct Grant {
    challenge: String,
    redirect_uri: String,
    nonce: String,
    claims: Value,
}

#[derive(Debug)]
struct Pool {
    key: KeyPair,
    issuer: String,
    codes: HashMap<String, Grant>,
    issued: u64,
}

impl Pool {
    fn token(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing works");
        format!("{input}.{}", b64(&signature))
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            Some((decode(k), decode(v)))
        })
        .collect()
}

fn answer(pool: &Mutex<Pool>, request: &Request) -> Reply {
    let mut pool = pool.lock().expect("the pool lock");
    match (request.method.as_str(), request.path()) {
        ("GET", "/pool/.well-known/jwks.json") => {
            let public = PublicKeyComponents::<Vec<u8>>::from(pool.key.public_key());
            Reply::json(
                200,
                json!({"keys": [{
                    "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID,
                    "n": b64(&public.n), "e": b64(&public.e),
                }]})
                .to_string(),
            )
        }
        ("POST", "/oauth2/token") => {
            let fields = form(&request.body);
            let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
            let invalid = |why: &str| {
                Reply::json(
                    400,
                    json!({"error": "invalid_grant", "error_description": why}).to_string(),
                )
            };
            if field("grant_type") != "authorization_code" || field("client_id") != CLIENT_ID {
                return invalid("grant type or client");
            }
            // A code is spent by its first use, whatever happens next.
            let Some(grant) = pool.codes.remove(field("code")) else {
                return invalid("unknown or used code");
            };
            let verifier = field("code_verifier");
            let challenge = b64(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                verifier.as_bytes(),
            )
            .as_ref());
            if challenge != grant.challenge {
                return invalid("PKCE verifier");
            }
            if field("redirect_uri") != grant.redirect_uri {
                return invalid("redirect_uri");
            }
            let mut claims = grant.claims.clone();
            claims["nonce"] = json!(grant.nonce);
            pool.issued += 1;
            let id_token = pool.token(&claims);
            Reply::json(
                200,
                json!({
                    "id_token": id_token,
                    "access_token": "not-used",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                })
                .to_string(),
            )
        }
        _ => Reply::status(404),
    }
}

/// The fake user pool.
#[derive(Debug)]
pub struct FakeCognito {
    pub server: FakeServer,
    pool: Arc<Mutex<Pool>>,
}

impl FakeCognito {
    pub async fn start() -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
        let pool = Arc::new(Mutex::new(Pool {
            key,
            issuer: String::new(),
            codes: HashMap::new(),
            issued: 0,
        }));
        let server = FakeServer::start({
            let pool = pool.clone();
            move |request| answer(&pool, request)
        })
        .await;
        pool.lock().expect("the pool lock").issuer = format!("{}/pool", server.url);
        Self { server, pool }
    }

    /// The pool's issuer (`SIGN_IN_ISSUER`).
    pub fn issuer(&self) -> String {
        format!("{}/pool", self.server.url)
    }

    /// The managed-login domain (`SIGN_IN_DOMAIN_URL`).
    pub fn domain_url(&self) -> String {
        self.server.url.clone()
    }

    /// The claims of an ID token of this pool for `email` in `groups`, valid for an hour.
    pub fn claims(&self, email: &str, groups: &[&str]) -> Value {
        let now = jiff::Timestamp::now().as_second();
        json!({
            "sub": format!("sub-{email}"),
            "email": email,
            "cognito:groups": groups,
            "iss": self.issuer(),
            "aud": CLIENT_ID,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
        })
    }

    /// A token of this pool's key with any claims (for forgeries of the other checks).
    pub fn token(&self, claims: &Value) -> String {
        self.pool.lock().expect("the pool lock").token(claims)
    }

    /// The person signs in at the page `authorize_url` names: the code and state Cognito
    /// sends the browser back with. Panics when the URL is not a code + PKCE request for
    /// this pool's client.
    pub fn sign_in(&self, authorize_url: &str, email: &str, groups: &[&str]) -> (String, String) {
        let request = Request {
            method: "GET".into(),
            target: authorize_url
                .strip_prefix(&self.server.url)
                .expect("the pool's domain")
                .to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(request.path(), "/oauth2/authorize");
        let query = |name: &str| request.query(name).unwrap_or_default();
        assert_eq!(query("response_type"), "code");
        assert_eq!(query("client_id"), CLIENT_ID);
        assert_eq!(query("code_challenge_method"), "S256");
        assert!(query("scope").split(' ').any(|s| s == "openid"));
        let mut pool = self.pool.lock().expect("the pool lock");
        let code = format!("code-{}", pool.codes.len() + pool.issued as usize);
        pool.codes.insert(
            code.clone(),
            Grant {
                challenge: query("code_challenge"),
                redirect_uri: query("redirect_uri"),
                nonce: query("nonce"),
                claims: self.claims(email, groups),
            },
        );
        (code, query("state"))
    }

    /// Key set requests served so far.
    pub fn key_fetches(&self) -> usize {
        self.server
            .count(|r| r.path() == "/pool/.well-known/jwks.json")
    }
}
