//! How a stored webhook differs from a validated create request: what
//! `ensure_webhook` updates, and how an ambiguous create recognises its
//! webhook.
use crate::generated::spec;
use crate::secret::Secret;
use crate::types::{ClientCredentials, CreateWebhookRequest, Webhook};
use crate::validate::{NewWebhook, WebhookChanges};
use crate::{TokenRequestType, WebhookTargetType, WebhookTrigger};

/// The fields (as update-mask names, sorted) in which `existing` differs
/// from what `desired` would create. Omitted values compare as Sinch's
/// defaults (`target_type` `DISMISS`, `token_request_type` `BASIC`) and
/// triggers as a set.
pub(crate) fn differences(existing: &Webhook, desired: &CreateWebhookRequest) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if !same_credentials(
        existing.client_credentials.as_ref(),
        desired.client_credentials.as_ref(),
    ) {
        fields.push("client_credentials");
    }
    if existing.secret.as_ref().map(Secret::expose) != desired.secret.as_ref().map(Secret::expose) {
        fields.push("secret");
    }
    if existing.target != desired.target {
        fields.push("target");
    }
    let target_type = |t: Option<&WebhookTargetType>| {
        t.cloned()
            .unwrap_or_else(|| spec::WEBHOOK_TARGET_TYPE_SERVER_DEFAULT.into())
    };
    if target_type(existing.target_type.as_ref()) != target_type(desired.target_type.as_ref()) {
        fields.push("target_type");
    }
    let set = |t: &[WebhookTrigger]| {
        let mut t = t.to_vec();
        t.sort();
        t.dedup();
        t
    };
    if set(&existing.triggers) != set(&desired.triggers) {
        fields.push("triggers");
    }
    fields
}

/// The update that makes a webhook's `fields` what `wanted` says (the
/// target is the identity: never changed).
pub(crate) fn changes_for(fields: &[&str], wanted: &NewWebhook) -> WebhookChanges {
    let mut changes = WebhookChanges::default();
    for field in fields {
        match *field {
            "client_credentials" => {
                changes.client_credentials = Some(wanted.client_credentials.clone())
            }
            "secret" => changes.secret = Some(wanted.secret.clone()),
            "target_type" => changes.target_type = wanted.target_type.clone(),
            "triggers" => changes.triggers = Some(wanted.triggers.clone()),
            _ => {}
        }
    }
    changes
}

fn same_credentials(a: Option<&ClientCredentials>, b: Option<&ClientCredentials>) -> bool {
    let kind = |t: Option<&TokenRequestType>| {
        t.cloned()
            .unwrap_or_else(|| spec::TOKEN_REQUEST_TYPE_SERVER_DEFAULT.into())
    };
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.client_id == b.client_id
                && a.client_secret.expose() == b.client_secret.expose()
                && a.endpoint == b.endpoint
                && a.scope == b.scope
                && a.response_type == b.response_type
                && kind(a.token_request_type.as_ref()) == kind(b.token_request_type.as_ref())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewWebhook;

    fn desired() -> CreateWebhookRequest {
        let mut w = NewWebhook::new("app", "https://e.com/h");
        w.triggers = vec![
            WebhookTrigger::MessageInbound,
            WebhookTrigger::MessageDelivery,
        ];
        w.secret = Some("s".into());
        w.validate().unwrap()
    }

    fn stored(request: &CreateWebhookRequest) -> Webhook {
        Webhook {
            app_id: Some(request.app_id.clone()),
            client_credentials: request.client_credentials.clone(),
            id: Some("W1".into()),
            secret: request.secret.clone(),
            target: request.target.clone(),
            target_type: request.target_type.clone(),
            triggers: request.triggers.clone(),
        }
    }

    #[test]
    fn the_same_webhook_has_no_differences_whatever_the_trigger_order() {
        let desired = desired();
        let mut existing = stored(&desired);
        existing.triggers.reverse();
        assert!(differences(&existing, &desired).is_empty());
    }

    #[test]
    fn each_difference_is_named_by_its_mask_field() {
        let desired = desired();
        let mut existing = stored(&desired);
        existing.secret = None;
        existing.triggers = vec![WebhookTrigger::MessageInbound];
        existing.target_type = None; // DISMISS, as Sinch reads it
        assert_eq!(
            differences(&existing, &desired),
            ["secret", "target_type", "triggers"]
        );
        let mut with_credentials = stored(&desired);
        with_credentials.client_credentials = Some(ClientCredentials {
            client_id: "c".into(),
            client_secret: "s".into(),
            endpoint: "https://a.example.com".into(),
            response_type: None,
            scope: None,
            token_request_type: None,
        });
        assert_eq!(
            differences(&with_credentials, &desired),
            ["client_credentials"]
        );
    }
}
