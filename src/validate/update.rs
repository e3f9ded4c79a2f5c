//! Checks a webhook update: the fields it sets follow the create rules, and
//! the update mask is derived from what was set, so mask and body agree.
use serde::Serialize;

use super::{
    NewClientCredentials, Policy, Rule, ValidationErrors, Violation, check_client_credentials,
    check_path_safe, check_secret, check_target, check_triggers, to_client_credentials,
};
use crate::secret::Secret;
use crate::target::TargetUrl;
use crate::types::WebhookUpdate;
use crate::{WebhookTargetType, WebhookTrigger};

/// The changes to make to a webhook, as supplied: nothing is checked until
/// [`WebhookChanges::validate`].
///
/// A field left `None` is not touched. `Some(..)` sets it; for `secret` and
/// `client_credentials`, `Some(None)` clears it. Usually built through
/// [`Client::update_webhook`](crate::Client::update_webhook).
///
/// ```
/// use sinch_conversation::{WebhookChanges, WebhookTrigger};
///
/// let mut changes = WebhookChanges::default();
/// changes.triggers = Some(vec![WebhookTrigger::MessageInbound]);
/// changes.secret = Some(None); // clear it
/// let request = changes.validate("01WEBHOOK")?;
/// assert_eq!(request.update_mask, ["secret", "triggers"]);
/// assert_eq!(request.body.secret, None);
///
/// let nothing = WebhookChanges::default().validate("01WEBHOOK").unwrap_err();
/// assert_eq!(nothing.violations()[0].path(), "update_mask");
/// # Ok::<(), sinch_conversation::ValidationErrors>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct WebhookChanges {
    /// A new target URL.
    pub target: Option<TargetUrl>,
    /// A new target type.
    pub target_type: Option<WebhookTargetType>,
    /// The new, complete list of triggers (at least one).
    pub triggers: Option<Vec<WebhookTrigger>>,
    /// A new secret, or `Some(None)` to remove it.
    pub secret: Option<Option<Secret>>,
    /// New OAuth2 client credentials, or `Some(None)` to remove them.
    pub client_credentials: Option<Option<NewClientCredentials>>,
}

/// A validated update: what [`UpdateWebhook::send`](crate::UpdateWebhook::send)
/// sends.
///
/// The mask names every field that was set or cleared, sorted by name; the
/// body holds the values of those that were set. It goes on the wire as
/// `?update_mask=a,b` (one parameter, literal commas).
///
/// ```
/// use sinch_conversation::{Client, Region};
///
/// let client = Client::builder().project_id("p").region(Region::Us).basic_auth("k", "s").build()?;
/// let request = client
///     .update_webhook("01WEBHOOK")
///     .target("https://example.com/v2")
///     .clear_secret()
///     .build()?;
/// assert_eq!(request.webhook_id, "01WEBHOOK");
/// assert_eq!(request.update_mask, ["secret", "target"]);
/// assert_eq!(
///     serde_json::to_value(&request.body)?,
///     serde_json::json!({"target": "https://example.com/v2"}),
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UpdateWebhookRequest {
    /// The webhook to update.
    pub webhook_id: String,
    /// The fields to update.
    pub update_mask: Vec<String>,
    /// Their new values; a masked field absent here is cleared.
    pub body: WebhookUpdate,
}

impl WebhookChanges {
    /// Checks every field that is set with the create rules (client policy)
    /// and `webhook_id` as a URL path segment, and derives the mask. Every
    /// violation is reported at once; an update that changes nothing is one.
    pub fn validate(&self, webhook_id: &str) -> Result<UpdateWebhookRequest, ValidationErrors> {
        let mut out = Vec::new();
        check_path_safe("webhook_id", webhook_id, &mut out);
        if let Some(target) = &self.target {
            check_target(target, &mut out);
        }
        if let Some(triggers) = &self.triggers {
            check_triggers(triggers, Policy::Client, &mut out);
        }
        if let Some(Some(secret)) = &self.secret {
            check_secret(secret, &mut out);
        }
        if let Some(Some(cc)) = &self.client_credentials {
            check_client_credentials(cc, Policy::Client, &mut out);
        }
        let update_mask: Vec<String> = [
            ("client_credentials", self.client_credentials.is_some()),
            ("secret", self.secret.is_some()),
            ("target", self.target.is_some()),
            ("target_type", self.target_type.is_some()),
            ("triggers", self.triggers.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name.to_owned())
        .collect();
        if update_mask.is_empty() {
            out.push(Violation::new("update_mask", Rule::NothingToUpdate));
        }
        if !out.is_empty() {
            return Err(ValidationErrors::new(out));
        }
        let changes = self.clone();
        Ok(UpdateWebhookRequest {
            webhook_id: webhook_id.to_owned(),
            update_mask,
            body: WebhookUpdate {
                client_credentials: changes
                    .client_credentials
                    .flatten()
                    .map(to_client_credentials)
                    .transpose()?,
                secret: changes.secret.flatten(),
                target: changes.target,
                target_type: changes.target_type,
                triggers: changes.triggers.unwrap_or_default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::spec;

    fn every_field() -> WebhookChanges {
        WebhookChanges {
            target: Some("https://example.com/new".into()),
            target_type: Some(WebhookTargetType::Dismiss),
            triggers: Some(vec![WebhookTrigger::MessageDelivery]),
            secret: Some(Some("s".into())),
            client_credentials: Some(Some(NewClientCredentials::new(
                "id",
                "cs",
                "https://auth.example.com/t",
            ))),
        }
    }

    #[test]
    fn the_mask_names_exactly_what_was_set_and_only_spec_properties() {
        let request = every_field().validate("W1").unwrap();
        assert_eq!(request.update_mask, spec::WEBHOOK_UPDATE_PROPERTIES);
        let body = serde_json::to_value(&request.body).unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, request.update_mask.iter().collect::<Vec<_>>());

        let only_target = WebhookChanges {
            target: Some("https://example.com/x".into()),
            ..WebhookChanges::default()
        };
        let request = only_target.validate("W1").unwrap();
        assert_eq!(request.update_mask, ["target"]);
        assert_eq!(
            serde_json::to_value(&request.body).unwrap(),
            serde_json::json!({"target": "https://example.com/x"})
        );
    }

    #[test]
    fn clearing_puts_the_field_in_the_mask_and_not_in_the_body() {
        let clear = WebhookChanges {
            secret: Some(None),
            client_credentials: Some(None),
            ..WebhookChanges::default()
        };
        let request = clear.validate("W1").unwrap();
        assert_eq!(request.update_mask, ["client_credentials", "secret"]);
        assert_eq!(
            serde_json::to_value(&request.body).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn set_fields_follow_the_create_rules_all_reported_at_once() {
        let bad = WebhookChanges {
            target: Some("https://conversation-api.eu.sinch.com/x".into()),
            triggers: Some(vec![]),
            client_credentials: Some(Some(NewClientCredentials::new("", "cs", "nope"))),
            ..WebhookChanges::default()
        };
        let errors = bad.validate("a/b").unwrap_err();
        let paths: Vec<&str> = errors.violations().iter().map(|v| v.path()).collect();
        assert_eq!(
            paths,
            [
                "webhook_id",
                "target",
                "triggers",
                "client_credentials.client_id",
                "client_credentials.endpoint"
            ]
        );
        assert!(matches!(
            errors.at("target").map(Violation::rule),
            Some(Rule::ForbiddenHost { .. })
        ));
        assert_eq!(
            errors.at("triggers").map(Violation::rule),
            Some(&Rule::NoTriggers)
        );
    }

    #[test]
    fn an_update_that_changes_nothing_is_refused() {
        let errors = WebhookChanges::default().validate("W1").unwrap_err();
        assert_eq!(
            errors.at("update_mask").map(Violation::rule),
            Some(&Rule::NothingToUpdate)
        );
    }
}
