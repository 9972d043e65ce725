//! The dashboard's app client in a Cognito user pool, registered for the managed login once
//! the API's URL is known (the client's callback URL names the API, and the API's
//! authorizer names the client, so CloudFormation cannot set both on the client itself).
//!
//! `UpdateUserPoolClient` resets every field it is not given, so the client is read first and
//! everything it has is written back, with the sign-in settings on top: the code flow only,
//! scopes `openid` and `email`, the pool's own users, one callback and one sign-out URL.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::OAuthFlowType;

/// The managed login's settings for the dashboard's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSignIn {
    pub user_pool_id: String,
    pub client_id: String,
    /// `https://<api>/login/callback`.
    pub callback_url: String,
    /// Where the provider's sign-out sends the browser: the dashboard, `https://<api>/`.
    pub sign_out_url: String,
}

impl DashboardSignIn {
    /// Checks the URLs: HTTPS (Cognito refuses anything else but localhost), no fragment.
    pub fn checked(self) -> Result<Self, SignInError> {
        for (field, url) in [
            ("CallbackUrl", &self.callback_url),
            ("SignOutUrl", &self.sign_out_url),
        ] {
            if !url.starts_with("https://")
                || url.contains('#')
                || url.chars().any(char::is_whitespace)
            {
                return Err(SignInError::Url {
                    field,
                    url: url.clone(),
                });
            }
        }
        for (field, value) in [
            ("UserPoolId", &self.user_pool_id),
            ("ClientId", &self.client_id),
        ] {
            if value.trim().is_empty() {
                return Err(SignInError::Empty(field));
            }
        }
        Ok(self)
    }
}

/// Why the dashboard's sign-in could not be registered. The property names are the
/// custom resource's, as the stack spells them.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{field}: {url:?} is not an https URL without a fragment")]
    Url { field: &'static str, url: String },
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A Cognito call failed, with the service's own error context.
    #[error("{operation}: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
}

fn failed(operation: &'static str, error: impl std::error::Error) -> SignInError {
    SignInError::Call {
        operation,
        message: aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(error).to_string(),
    }
}

/// Turns the managed login on for the dashboard's client, keeping all its other settings.
pub async fn register(client: &Client, sign_in: &DashboardSignIn) -> Result<(), SignInError> {
    let described = client
        .describe_user_pool_client()
        .user_pool_id(&sign_in.user_pool_id)
        .client_id(&sign_in.client_id)
        .send()
        .await
        .map_err(|e| failed("DescribeUserPoolClient", e))?;
    let current = described
        .user_pool_client()
        .ok_or_else(|| SignInError::Call {
            operation: "DescribeUserPoolClient",
            message: "answered no client".to_owned(),
        })?;
    let list = |items: &[String]| (!items.is_empty()).then(|| items.to_vec());
    client
        .update_user_pool_client()
        .user_pool_id(&sign_in.user_pool_id)
        .client_id(&sign_in.client_id)
        .set_client_name(current.client_name().map(str::to_owned))
        .refresh_token_validity(current.refresh_token_validity())
        .set_access_token_validity(current.access_token_validity())
        .set_id_token_validity(current.id_token_validity())
        .set_token_validity_units(current.token_validity_units().cloned())
        .set_read_attributes(list(current.read_attributes()))
        .set_write_attributes(list(current.write_attributes()))
        .set_explicit_auth_flows(
            (!current.explicit_auth_flows().is_empty())
                .then(|| current.explicit_auth_flows().to_vec()),
        )
        .set_analytics_configuration(current.analytics_configuration().cloned())
        .set_prevent_user_existence_errors(current.prevent_user_existence_errors().cloned())
        .set_enable_token_revocation(current.enable_token_revocation())
        .set_enable_propagate_additional_user_context_data(
            current.enable_propagate_additional_user_context_data(),
        )
        .set_auth_session_validity(current.auth_session_validity())
        .set_refresh_token_rotation(current.refresh_token_rotation().cloned())
        .supported_identity_providers("COGNITO")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .callback_urls(&sign_in.callback_url)
        .default_redirect_uri(&sign_in.callback_url)
        .logout_urls(&sign_in.sign_out_url)
        .send()
        .await
        .map_err(|e| failed("UpdateUserPoolClient", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urls_must_be_https() {
        let good = DashboardSignIn {
            user_pool_id: "eu-west-1_abc".into(),
            client_id: "client".into(),
            callback_url: "https://a.execute-api.eu-west-1.amazonaws.com/login/callback".into(),
            sign_out_url: "https://a.execute-api.eu-west-1.amazonaws.com/".into(),
        };
        assert!(good.clone().checked().is_ok());
        let http = DashboardSignIn {
            callback_url: "http://a/login/callback".into(),
            ..good.clone()
        };
        assert!(
            http.checked()
                .unwrap_err()
                .to_string()
                .contains("CallbackUrl")
        );
        let empty = DashboardSignIn {
            client_id: " ".into(),
            ..good
        };
        assert!(
            empty
                .checked()
                .unwrap_err()
                .to_string()
                .contains("ClientId")
        );
    }
}
