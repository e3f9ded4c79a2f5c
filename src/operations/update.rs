//! Update a webhook:
//! `PATCH /v1/projects/{project_id}/webhooks/{webhook_id}?update_mask=a,b`.
use super::prelude::*;
use crate::secret::Secret;
use crate::types::Webhook;
use crate::validate::{
    NewClientCredentials, UpdateWebhookRequest, ValidationErrors, WebhookChanges,
};
use crate::{WebhookTargetType, WebhookTrigger};

impl Client {
    /// Starts an update of webhook `webhook_id`: set (or clear) fields on the
    /// builder, then [`send`](UpdateWebhook::send). Only what was set is
    /// changed: the update mask is derived from the setters called.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// use sinch_conversation::WebhookTrigger;
    ///
    /// let webhook = client
    ///     .update_webhook("01H8Z6WEBHOOK")
    ///     .target("https://example.com/sinch/v2")
    ///     .triggers([WebhookTrigger::MessageInbound, WebhookTrigger::MessageDelivery])
    ///     .clear_secret()
    ///     .send()
    ///     .await?;
    /// println!("now {}", webhook.target.as_str());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "update_event_destination")]
    #[doc(alias = "event destination")]
    pub fn update_webhook(&self, webhook_id: impl Into<String>) -> UpdateWebhook<'_> {
        UpdateWebhook {
            client: self,
            webhook_id: webhook_id.into(),
            changes: WebhookChanges::default(),
        }
    }
}

/// A webhook update being built. Each setter adds its field to the update
/// mask; fields not set are left as they are. [`send`](Self::send)
/// validates and sends; [`build`](Self::build) only validates.
///
/// Retried like a read (after 429, 5xx, timeouts and lost connections): a
/// masked update sets absolute values, so applying it twice leaves the same
/// webhook as applying it once.
///
/// ```
/// use sinch_conversation::{Client, Region, redacted_json};
///
/// let client = Client::builder().project_id("p").region(Region::Eu).oauth2("k", "s").build()?;
/// // A dry run: validate, look at the mask and body, send nothing.
/// let request = client
///     .update_webhook("01H8Z6WEBHOOK")
///     .target("https://example.com/new")
///     .trigger("MESSAGE_INBOUND")
///     .secret("new-secret")
///     .build()?;
/// assert_eq!(request.update_mask, ["secret", "target", "triggers"]);
/// assert_eq!(redacted_json(&request.body)["secret"], "***");
///
/// // Setting nothing is refused before anything is sent.
/// assert!(client.update_webhook("01H8Z6WEBHOOK").build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct UpdateWebhook<'a> {
    client: &'a Client,
    webhook_id: String,
    changes: WebhookChanges,
}

impl<'a> UpdateWebhook<'a> {
    /// A new target URL.
    pub fn target(mut self, target: impl Into<crate::TargetUrl>) -> Self {
        self.changes.target = Some(target.into());
        self
    }

    /// Replaces the triggers with these (at least one). Takes known variants
    /// or strings (a trigger newer than this crate is sent as written).
    pub fn triggers<T: Into<WebhookTrigger>>(
        mut self,
        triggers: impl IntoIterator<Item = T>,
    ) -> Self {
        self.changes.triggers = Some(triggers.into_iter().map(Into::into).collect());
        self
    }

    /// Adds one trigger to the new trigger list. The webhook's triggers
    /// become exactly the ones given to this update, not the old ones plus
    /// these.
    pub fn trigger(mut self, trigger: impl Into<WebhookTrigger>) -> Self {
        self.changes
            .triggers
            .get_or_insert_with(Vec::new)
            .push(trigger.into());
        self
    }

    /// A new secret Sinch signs callbacks with.
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.changes.secret = Some(Some(secret.into()));
        self
    }

    /// Removes the secret: callbacks are no longer signed.
    pub fn clear_secret(mut self) -> Self {
        self.changes.secret = Some(None);
        self
    }

    /// `HTTP` or `DISMISS`.
    pub fn target_type(mut self, target_type: impl Into<WebhookTargetType>) -> Self {
        self.changes.target_type = Some(target_type.into());
        self
    }

    /// New OAuth2 credentials Sinch uses when calling the target.
    pub fn client_credentials(mut self, credentials: NewClientCredentials) -> Self {
        self.changes.client_credentials = Some(Some(credentials));
        self
    }

    /// Removes the OAuth2 client credentials.
    pub fn clear_client_credentials(mut self) -> Self {
        self.changes.client_credentials = Some(None);
        self
    }

    /// The unchecked changes as built so far.
    pub fn changes(&self) -> &WebhookChanges {
        &self.changes
    }

    /// Validates without sending: the mask and body that
    /// [`send`](Self::send) would send, or every violation.
    pub fn build(&self) -> Result<UpdateWebhookRequest, ValidationErrors> {
        self.changes.validate(&self.webhook_id)
    }

    /// Validates, then sends. Nothing is sent if validation fails.
    pub fn send(self) -> impl Future<Output = Result<Webhook, Error>> + Send + 'a {
        self.client
            .execute(self.changes.validate(&self.webhook_id).map(Update))
    }
}

/// The validated update, sent by the shared path.
pub(super) struct Update(pub(super) UpdateWebhookRequest);

impl Operation for Update {
    // A masked update sets absolute values: repeating it changes nothing more.
    const INFO: Info = Info::new("update_webhook", "PATCH", Resend::Idempotent);
    type Answer = Webhook;
    type Output = Webhook;

    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, Webhook> {
        // progenitor writes one `update_mask=` pair per name; the `pre` hook
        // in `transport.rs` joins them into Sinch's comma form.
        let request = &self.0;
        Box::pin(api.update_webhook(
            project,
            &request.webhook_id,
            Some(&request.update_mask),
            &request.body,
        ))
    }

    fn secrets(&self) -> Vec<String> {
        crate::secret::secrets_in(&self.0.body)
    }
}
