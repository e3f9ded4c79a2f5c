//! Make sure an app has a webhook for a target, as described: list the
//! app's webhooks, then create it, update only what differs, or leave it.
use super::compare::{changes_for, differences};
use super::create::Create;
use super::prelude::*;
use crate::types::Webhook;
use crate::validate::{NewWebhook, ValidationErrors};

impl Client {
    /// Makes sure `app_id` has a webhook delivering to `target` with the
    /// fields set on the returned builder (the create setters; what is not
    /// set is as [`create_webhook`](Client::create_webhook) would make it:
    /// `target_type` `HTTP`, no secret, no client credentials). The target
    /// is the webhook's identity.
    ///
    /// Idempotent: running it again with the same settings changes nothing
    /// and sends no update. Validated as a create, before any call.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// use sinch_conversation::{Ensured, WebhookTrigger};
    ///
    /// let ensured = client
    ///     .ensure_webhook("01APP", "https://example.com/sinch")
    ///     .triggers([WebhookTrigger::MessageInbound, WebhookTrigger::MessageDelivery])
    ///     .secret("sign-with-this")
    ///     .send()
    ///     .await?;
    /// match &ensured {
    ///     Ensured::Created(w) => println!("created {:?}", w.id),
    ///     Ensured::Updated { fields, .. } => println!("updated {fields:?}"),
    ///     Ensured::Unchanged(_) => println!("already as described"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ensure_webhook(
        &self,
        app_id: impl Into<String>,
        target: impl Into<String>,
    ) -> EnsureWebhook<'_> {
        EnsureWebhook {
            client: self,
            webhook: NewWebhook::new(app_id, target),
        }
    }
}

/// What [`Client::ensure_webhook`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Ensured {
    /// The app had no webhook for the target: it was created.
    Created(Webhook),
    /// It had one that differed: only these fields (update-mask names) were
    /// updated.
    Updated {
        /// The webhook after the update.
        webhook: Webhook,
        /// The fields that differed.
        fields: Vec<String>,
    },
    /// It had one exactly as described: nothing was sent but the list.
    Unchanged(Webhook),
}

impl Ensured {
    /// The webhook as it now is.
    pub fn webhook(&self) -> &Webhook {
        match self {
            Ensured::Created(webhook)
            | Ensured::Updated { webhook, .. }
            | Ensured::Unchanged(webhook) => webhook,
        }
    }

    /// The webhook as it now is.
    pub fn into_webhook(self) -> Webhook {
        match self {
            Ensured::Created(webhook)
            | Ensured::Updated { webhook, .. }
            | Ensured::Unchanged(webhook) => webhook,
        }
    }
}

/// An ensure being built: the create setters, then [`send`](Self::send).
///
/// ```
/// use sinch_conversation::{Client, Region};
///
/// let client = Client::builder().project_id("p").region(Region::Eu).oauth2("k", "s").build()?;
/// // Validated as a create, before any call.
/// let err = client.ensure_webhook("01APP", "ftp://example.com").build().unwrap_err();
/// assert!(err.at("target").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "an ensure does nothing until `.send().await`"]
pub struct EnsureWebhook<'a> {
    client: &'a Client,
    webhook: NewWebhook,
}

impl EnsureWebhook<'_> {
    // The same setters as create; what is not set is as create makes it.
    super::webhook_setters!();

    /// Validates without any call: the webhook as a create request.
    pub fn build(&self) -> Result<crate::types::CreateWebhookRequest, ValidationErrors> {
        self.webhook.validate()
    }

    /// Validates, lists the app's webhooks, then creates, updates what
    /// differs, or does nothing.
    pub async fn send(self) -> Result<Ensured, Error> {
        let desired = self.webhook.validate()?;
        let client = self.client;
        let existing = client.list_webhooks(&desired.app_id).await?;
        let Some(current) = existing.into_iter().find(|w| w.target == desired.target) else {
            return Ok(Ensured::Created(client.execute(Ok(Create(desired))).await?));
        };
        let fields = differences(&current, &desired);
        let Some(id) = current.id.clone().filter(|_| !fields.is_empty()) else {
            return Ok(Ensured::Unchanged(current));
        };
        let changes = changes_for(&fields, &self.webhook);
        let webhook = client
            .execute(changes.validate(&id).map(super::update::Update))
            .await?;
        Ok(Ensured::Updated {
            webhook,
            fields: fields.into_iter().map(str::to_owned).collect(),
        })
    }
}
