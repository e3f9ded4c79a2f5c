//! Create a webhook: `POST /v1/projects/{project_id}/webhooks`.
use super::prelude::*;
use crate::types::{CreateWebhookRequest, Webhook};
use crate::validate::{NewWebhook, ValidationErrors};

impl Client {
    /// Starts a create-webhook request for `app_id` delivering to `target`.
    ///
    /// `target_type` is `HTTP` unless you set it: Sinch's own default is
    /// `DISMISS`, a webhook that silently receives nothing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sinch_conversation::Error> {
    /// use sinch_conversation::{Client, NewClientCredentials, WebhookTrigger};
    ///
    /// let client = Client::from_env()?;
    /// let webhook = client
    ///     .create_webhook("01APP", "https://example.com/sinch")
    ///     .triggers([WebhookTrigger::MessageInbound, WebhookTrigger::MessageDelivery])
    ///     .secret("sign-with-this")
    ///     .client_credentials(NewClientCredentials::new("id", "secret", "https://auth.example.com/token"))
    ///     .send()
    ///     .await?;
    /// println!("created {:?}", webhook.id);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "create_event_destination")]
    #[doc(alias = "event destination")]
    pub fn create_webhook(
        &self,
        app_id: impl Into<String>,
        target: impl Into<crate::TargetUrl>,
    ) -> CreateWebhook<'_> {
        CreateWebhook {
            client: self,
            webhook: NewWebhook::new(app_id, target),
        }
    }
}

/// A create-webhook request being built: required arguments were given to
/// [`Client::create_webhook`], the rest are set here. [`send`](Self::send)
/// validates and sends; [`build`](Self::build) only validates.
///
/// ```
/// use sinch_conversation::{Client, Region, WebhookTrigger, redacted_json};
///
/// let client = Client::builder().project_id("p").region(Region::Eu).oauth2("k", "s").build()?;
/// // A dry run: validate and look at the body, send nothing.
/// let request = client
///     .create_webhook("01APP", "https://example.com/sinch")
///     .trigger(WebhookTrigger::MessageInbound)
///     .trigger("A_TRIGGER_NEWER_THAN_THIS_CRATE")
///     .secret("sign-with-this")
///     .build()?;
/// let body = redacted_json(&request);
/// assert_eq!(body["target_type"], "HTTP");
/// assert_eq!(body["secret"], "***");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct CreateWebhook<'a> {
    client: &'a Client,
    webhook: NewWebhook,
}

impl<'a> CreateWebhook<'a> {
    super::webhook_setters!();

    /// The unchecked request as built so far.
    pub fn as_new_webhook(&self) -> &NewWebhook {
        &self.webhook
    }

    /// Validates without sending: the request that [`send`](Self::send)
    /// would send, or every violation.
    pub fn build(&self) -> Result<CreateWebhookRequest, ValidationErrors> {
        self.webhook.validate()
    }

    /// Validates, then sends. Nothing is sent if validation fails.
    ///
    /// If the create fails after it may have reached Sinch (a 5xx, a
    /// timeout, a connection lost after sending), the app's webhooks are
    /// listed and one exactly like this request is returned as the result
    /// (see [`ClientBuilder::recover_ambiguous_creates`](crate::ClientBuilder::recover_ambiguous_creates));
    /// otherwise the original error. The POST is never sent twice.
    //
    // Not an `async fn`: the request future is returned as is rather than
    // wrapped in (and copied into) one more state machine.
    pub fn send(self) -> impl Future<Output = Result<Webhook, Error>> + Send + 'a {
        self.client.execute(self.webhook.into_request().map(Create))
    }
}

/// The validated request, sent by the shared path.
pub(super) struct Create(pub(super) CreateWebhookRequest);

impl Operation for Create {
    // Every success counts toward the 5-per-app limit.
    const INFO: Info = Info::new("create_webhook", "POST", Resend::IfNotProcessed);
    type Answer = Webhook;
    type Output = Webhook;

    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, Webhook> {
        Box::pin(api.create_webhook(project, &self.0))
    }

    fn secrets(&self) -> Vec<String> {
        crate::secret::secrets_in(&self.0)
    }

    /// The create may have reached Sinch: if the app has a webhook exactly
    /// like the one sent, that is the result. Never a second POST.
    fn recover<'c>(&'c self, client: &'c Client) -> Option<Recovery<'c, Webhook>> {
        if !client.inner().recover_creates {
            return None;
        }
        Some(Box::pin(async move {
            let existing = client.list_webhooks(&self.0.app_id).await.ok()?;
            existing
                .into_iter()
                .find(|w| super::compare::differences(w, &self.0, Default::default()).is_empty())
        }))
    }
}
