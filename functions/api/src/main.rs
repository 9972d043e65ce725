//! The API Lambda: the library's router, the one `serve` runs, behind an API Gateway HTTP
//! API (payload format 2.0). The gateway authenticates: SigV4 against IAM for scripts, a
//! Cognito JWT for people. Wiring and translation only: the table's client once per cold
//! start; per request, who the gateway says is calling, from its request context (never
//! from a header a client could send), handed to the router as a `GatewayIdentity`.
//!
//! People's browsers reach the pages (no gateway authorizer there) and sign in at the
//! stack's Cognito user pool: with `SIGN_IN_ISSUER`, `SIGN_IN_CLIENT_ID` and
//! `SIGN_IN_DOMAIN_URL` set, the router keeps their sessions (`api::signin`).
//!
//! An IAM caller reached the function because its policy allows `execute-api:Invoke` on
//! this method and route, so it may do what it asked (grant read-only callers `GET/*`
//! only). A JWT caller may write only when its `cognito:groups` claim names the writers'
//! group (`WRITERS_GROUP`, default `admins`).

use artifact_monitor_api::signin::People;
use artifact_monitor_api::{self as api, ApiAuth, ApiState, GatewayIdentity};
use artifact_monitor_aws::{AwsSettings, DynamoStore, sdk_config};
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::Writers;
use artifact_monitor_http::{CognitoConfig, CognitoSignIn, HttpConfig};
use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt as _};
use std::sync::Arc;
use tower::ServiceExt as _;

/// The groups of a `cognito:groups` claim as API Gateway renders it: `[a b]` (or a JSON
/// array, or one name).
fn groups(claim: &str) -> impl Iterator<Item = &str> {
    claim
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([' ', ','])
        .map(|g| g.trim().trim_matches('"'))
        .filter(|g| !g.is_empty())
}

/// Who the gateway authenticated, from the request context; `None` without one.
fn identity(request: &lambda_http::Request, writers: &Writers) -> Option<GatewayIdentity> {
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else {
        return None;
    };
    let authorizer = context.authorizer.as_ref()?;
    if let Some(iam) = &authorizer.iam {
        let principal = iam.user_arn.clone().or_else(|| iam.caller_id.clone())?;
        return Some(GatewayIdentity {
            principal,
            can_write: writers.admit_iam(),
            csrf: None,
        });
    }
    let jwt = authorizer.jwt.as_ref()?;
    let principal = jwt
        .claims
        .get("email")
        .or_else(|| jwt.claims.get("sub"))?
        .clone();
    let can_write = jwt
        .claims
        .get("cognito:groups")
        .is_some_and(|claim| writers.admit(groups(claim)));
    Some(GatewayIdentity {
        principal,
        can_write,
        csrf: None,
    })
}

/// People's requests arrive under `/ui/api/` (the route the Cognito authorizer guards):
/// the router serves them at the same paths as the IAM routes.
fn strip_user_prefix(request: &mut lambda_http::Request) {
    let uri = request.uri();
    let Some(rest) = uri.path().strip_prefix(USER_PREFIX) else {
        return;
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    if let Ok(stripped) = path_and_query.parse::<lambda_http::http::Uri>() {
        *request.uri_mut() = stripped;
    }
}

/// The prefix of the routes people call with a Cognito token.
const USER_PREFIX: &str = "/ui/api/";

/// The dashboard's sign-in provider from the environment: all three settings, or none.
fn sign_in(
    lookup: impl Fn(&str) -> Option<String>,
    writers: &Writers,
) -> Result<Option<People>, String> {
    let names = ["SIGN_IN_ISSUER", "SIGN_IN_CLIENT_ID", "SIGN_IN_DOMAIN_URL"];
    let values: Vec<Option<String>> = names
        .iter()
        .map(|n| {
            lookup(n)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
        .collect();
    let [Some(issuer), Some(client_id), Some(domain_url)] = values.as_slice() else {
        if values.iter().any(Option::is_some) {
            let missing: Vec<&str> = names
                .iter()
                .zip(&values)
                .filter(|(_, v)| v.is_none())
                .map(|(n, _)| *n)
                .collect();
            return Err(format!(
                "the dashboard's sign-in needs {} as well",
                missing.join(" and ")
            ));
        }
        return Ok(None);
    };
    for (name, url) in [
        ("SIGN_IN_ISSUER", issuer),
        ("SIGN_IN_DOMAIN_URL", domain_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("{name} must be an http(s) URL, not {url:?}"));
        }
    }
    let provider = CognitoSignIn::new(
        CognitoConfig {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            domain_url: domain_url.clone(),
        },
        HttpConfig::default(),
    )
    .map_err(|e| e.to_string())?;
    Ok(Some(People {
        provider: Arc::new(provider),
        writers: writers.clone(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
    let writers = std::env::var("WRITERS_GROUP")
        .ok()
        .filter(|g| !g.trim().is_empty())
        .map_or_else(Writers::default, Writers::new);
    let people = sign_in(|name| std::env::var(name).ok(), &writers)?;
    let config = sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), settings.table);
    let router = api::app(ApiState {
        store,
        auth: ApiAuth::Gateway { people },
        clock: Arc::new(SystemClock),
        wake: None,
        // API Gateway routes by its own host names; the function has no other listener.
        hosts: None,
    });
    let writers = &writers;
    lambda_http::run(tower::service_fn(
        move |mut request: lambda_http::Request| {
            let router = router.clone();
            async move {
                if let Some(identity) = identity(&request, writers) {
                    request.extensions_mut().insert(identity);
                }
                strip_user_prefix(&mut request);
                router.oneshot(request).await
            }
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::{Writers, groups, sign_in};

    #[test]
    fn the_sign_in_settings_come_all_together_or_not_at_all() {
        let none = sign_in(|_| None, &Writers::default()).unwrap();
        assert!(none.is_none());
        let all = |name: &str| {
            Some(match name {
                "SIGN_IN_ISSUER" => {
                    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x".into()
                }
                "SIGN_IN_CLIENT_ID" => "client".into(),
                _ => "https://am.auth.eu-west-1.amazoncognito.com".into(),
            })
        };
        assert_eq!(
            sign_in(all, &Writers::default())
                .unwrap()
                .unwrap()
                .writers
                .group(),
            "admins"
        );
        let partial = sign_in(
            |name| (name == "SIGN_IN_CLIENT_ID").then(|| "client".to_owned()),
            &Writers::default(),
        )
        .unwrap_err();
        assert!(
            partial.contains("SIGN_IN_ISSUER and SIGN_IN_DOMAIN_URL"),
            "{partial}"
        );
        let bad = sign_in(
            |name| {
                Some(if name == "SIGN_IN_ISSUER" {
                    "ftp://x".into()
                } else {
                    "https://y".into()
                })
            },
            &Writers::default(),
        )
        .unwrap_err();
        assert!(bad.contains("SIGN_IN_ISSUER"), "{bad}");
    }

    #[test]
    fn cognito_groups_are_read_as_api_gateway_renders_them() {
        assert_eq!(
            groups("[admins readers]").collect::<Vec<_>>(),
            ["admins", "readers"]
        );
        assert_eq!(
            groups("[\"admins\",\"x\"]").collect::<Vec<_>>(),
            ["admins", "x"]
        );
        assert_eq!(groups("admins").collect::<Vec<_>>(), ["admins"]);
        assert!(groups("[]").next().is_none());
        assert!(!groups("[administrators]").any(|g| g == "admins"));
    }
}
