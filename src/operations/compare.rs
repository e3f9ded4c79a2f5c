//! How a stored webhook differs from a validated create request: what
//! `ensure_webhook` and `sync_webhooks` update, and how an ambiguous create
//! recognises its webhook.
use crate::generated::spec;
use crate::types::{ClientCredentials, CreateWebhookRequest, StoredClientCredentials, Webhook};
use crate::validate::{NewWebhook, WebhookChanges};
use crate::{TokenRequestType, WebhookTargetType, WebhookTrigger};

/// How secrets are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Secrets {
    /// A secret the answer does not carry cannot be known, so it is not
    /// compared: a second run sends nothing.
    #[default]
    CompareWhatIsShown,
    /// Set the desired secrets (webhook secret, client credentials) even
    /// where they may already be so: a rotation.
    Rotate,
}

/// The fields (as update-mask names, sorted) in which `existing` differs
/// from what `desired` would create. Omitted values compare as Sinch's
/// defaults (`target_type` `DISMISS`, `token_request_type` `BASIC`),
/// triggers as a set and targets by [`TargetUrl::identity`]. A secret the
/// answer leaves out is not compared unless `secrets` says rotate.
///
/// [`TargetUrl::identity`]: crate::TargetUrl::identity
pub(crate) fn differences(
    existing: &Webhook,
    desired: &CreateWebhookRequest,
    secrets: Secrets,
) -> Vec<&'static str> {
    let rotate = secrets == Secrets::Rotate;
    let mut fields = Vec::new();
    let credentials = (
        existing.client_credentials.as_ref(),
        desired.client_credentials.as_ref(),
    );
    let credentials_differ = match credentials {
        (None, None) => false,
        (Some(a), Some(b)) => rotate || !same_credentials(a, b),
        _ => true,
    };
    if credentials_differ {
        fields.push("client_credentials");
    }
    let secret_differs = match (&existing.secret, &desired.secret) {
        // Not shown: unknown, unless told to set it.
        (None, Some(_)) => rotate,
        (None, None) => false,
        (Some(_), None) => true,
        (Some(a), Some(b)) => rotate || a.expose() != b.expose(),
    };
    if secret_differs {
        fields.push("secret");
    }
    if !existing.target.same_as(&desired.target) {
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

/// Equal where both are known: a `client_secret` the answer leaves out is
/// not compared.
fn same_credentials(a: &StoredClientCredentials, b: &ClientCredentials) -> bool {
    let kind = |t: Option<&TokenRequestType>| {
        t.cloned()
            .unwrap_or_else(|| spec::TOKEN_REQUEST_TYPE_SERVER_DEFAULT.into())
    };
    a.client_id == b.client_id
        && a.client_secret
            .as_ref()
            .is_none_or(|s| s.expose() == b.client_secret.expose())
        && a.endpoint.same_as(&b.endpoint)
        && a.scope.as_deref() == b.scope.as_deref()
        && a.response_type.as_deref() == b.response_type.as_deref()
        && kind(a.token_request_type.as_ref()) == kind(b.token_request_type.as_ref())
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
            client_credentials: request.client_credentials.clone().map(Into::into),
            id: Some("W1".into()),
            secret: request.secret.clone(),
            target: request.target.clone(),
            target_type: request.target_type.clone(),
            triggers: request.triggers.clone(),
        }
    }

    const SHOWN: Secrets = Secrets::CompareWhatIsShown;

    #[test]
    fn the_same_webhook_has_no_differences_whatever_the_trigger_order_or_spelling() {
        let desired = desired();
        let mut existing = stored(&desired);
        existing.triggers.reverse();
        existing.target = "HTTPS://E.COM:443/h".into();
        assert!(differences(&existing, &desired, SHOWN).is_empty());
    }

    #[test]
    fn each_difference_is_named_by_its_mask_field() {
        let desired = desired();
        let mut existing = stored(&desired);
        existing.secret = Some("other".into());
        existing.triggers = vec![WebhookTrigger::MessageInbound];
        existing.target_type = None; // DISMISS, as Sinch reads it
        assert_eq!(
            differences(&existing, &desired, SHOWN),
            ["secret", "target_type", "triggers"]
        );
        let mut with_credentials = stored(&desired);
        with_credentials.client_credentials = Some(StoredClientCredentials {
            client_id: "c".into(),
            client_secret: Some("s".into()),
            endpoint: "https://a.example.com".into(),
            response_type: None,
            scope: None,
            token_request_type: None,
        });
        assert_eq!(
            differences(&with_credentials, &desired, SHOWN),
            ["client_credentials"]
        );
    }

    #[test]
    fn secrets_the_answer_leaves_out_are_not_compared_unless_rotating() {
        let mut wanted = NewWebhook::new("app", "https://e.com/h");
        wanted.triggers = vec![WebhookTrigger::MessageInbound];
        wanted.secret = Some("s".into());
        wanted.client_credentials = Some(crate::NewClientCredentials::new(
            "c",
            "cs",
            "https://a.example.com/t",
        ));
        let desired = wanted.validate().unwrap();
        let mut existing = stored(&desired);
        existing.secret = None;
        if let Some(cc) = &mut existing.client_credentials {
            cc.client_secret = None;
        }
        assert!(differences(&existing, &desired, SHOWN).is_empty());
        assert_eq!(
            differences(&existing, &desired, Secrets::Rotate),
            ["client_credentials", "secret"]
        );
        // What is shown is still compared.
        if let Some(cc) = &mut existing.client_credentials {
            cc.client_id = "other".into();
        }
        assert_eq!(
            differences(&existing, &desired, SHOWN),
            ["client_credentials"]
        );
    }
}
