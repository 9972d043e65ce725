//! The API Lambda: the library's router, the one `serve` runs, behind an API Gateway HTTP
//! API (payload format 2.0). The gateway authenticates: SigV4 against IAM for scripts, a
//! Cognito JWT for people. Wiring and translation only: the table's client once per cold
//! start; per request, who the gateway says is calling, from its request context (never
//! from a header a client could send), handed to the router as a `GatewayIdentity`.
//!
//! An IAM caller reached the function because its policy allows `execute-api:Invoke` on
//! this method and route, so it may do what it asked (grant read-only callers `GET/*`
//! only). A JWT caller may write only when its `cognito:groups` claim names the writers'
//! group (`WRITERS_GROUP`, default `admins`).

use artifact_monitor::adapters::SystemClock;
use artifact_monitor::api::{self, ApiAuth, ApiState, GatewayIdentity};
use artifact_monitor_aws::{AwsSettings, DynamoStore, sdk_config};
use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt as _};
use std::sync::Arc;
use tower::ServiceExt as _;

/// The Cognito group whose members may change the watched set.
const DEFAULT_WRITERS_GROUP: &str = "admins";

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
fn identity(request: &lambda_http::Request, writers: &str) -> Option<GatewayIdentity> {
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else {
        return None;
    };
    let authorizer = context.authorizer.as_ref()?;
    if let Some(iam) = &authorizer.iam {
        let principal = iam.user_arn.clone().or_else(|| iam.caller_id.clone())?;
        return Some(GatewayIdentity {
            principal,
            can_write: true,
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
        .is_some_and(|claim| groups(claim).any(|g| g == writers));
    Some(GatewayIdentity {
        principal,
        can_write,
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = AwsSettings::from_lookup(|name| std::env::var(name).ok())?;
    let writers = std::env::var("WRITERS_GROUP")
        .ok()
        .filter(|g| !g.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_WRITERS_GROUP.to_owned());
    let config = sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), settings.table);
    let router = api::app(ApiState {
        store,
        auth: ApiAuth::Gateway,
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
    use super::groups;

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
