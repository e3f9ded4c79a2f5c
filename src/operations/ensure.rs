//! Make sure an app has a webhook for a target, as described: list the
//! app's webhooks, then create it, update only what differs, or leave it.
use super::compare::{Secrets, changes_for, differences};
use super::create::Create;
use super::prelude::*;
use crate::types::Webhook;
use crate::validate::{NewWebhook, Rule, ValidationErrors, Violation};

impl Client {
    /// Makes sure `app_id` has a webhook delivering to `target` with the
    /// fields set on the returned builder (the create setters; what is not
    /// set is as [`create_webhook`](Client::create_webhook) would make it:
    /// `target_type` `HTTP`, no secret, no client credentials). The target
    /// is the webhook's identity, compared as a URL
    /// ([`TargetUrl::identity`](crate::TargetUrl::identity)).
    ///
    /// Idempotent: running it again with the same settings changes nothing
    /// and sends no update. Validated as a create, before any call. A secret
    /// the list answer does not show is not compared (Sinch may not echo
    /// secrets); [`rotate_secrets`](EnsureWebhook::rotate_secrets) sets it
    /// anyway. A list answer that is not safe to act on (another app's
    /// webhook, one without an id, an id twice, more than 5, or two
    /// webhooks for the target) is an [`Error::UnexpectedAnswer`] and
    /// nothing is changed.
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
    #[doc(alias = "ensure_event_destination")]
    #[doc(alias = "event destination")]
    pub fn ensure_webhook(
        &self,
        app_id: impl Into<String>,
        target: impl Into<crate::TargetUrl>,
    ) -> EnsureWebhook<'_> {
        EnsureWebhook {
            client: self,
            webhook: NewWebhook::new(app_id, target),
            secrets: Secrets::default(),
            allow_unknown_values: false,
            clear_secret: false,
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
    secrets: Secrets,
    allow_unknown_values: bool,
    clear_secret: bool,
}

impl EnsureWebhook<'_> {
    // The same setters as create; what is not set is as create makes it.
    super::webhook_setters!();

    /// Sets the secret and the client credentials even when the list answer
    /// does not show them (what is not shown is otherwise not compared): a
    /// rotation.
    pub fn rotate_secrets(mut self) -> Self {
        self.secrets = Secrets::Rotate;
        self
    }

    /// Removes the secret of the existing webhook when none is set here.
    /// Without it, that is refused ([`Rule::WouldRemoveSecret`], nothing
    /// changed): anyone could forge the callbacks of a webhook without one.
    ///
    /// [`Rule::WouldRemoveSecret`]: crate::validate::Rule::WouldRemoveSecret
    pub fn clear_secret(mut self) -> Self {
        self.clear_secret = true;
        self
    }

    /// Accepts triggers and a target type this crate does not know (newer
    /// than it); without it they are refused before any call.
    pub fn allow_unknown_values(mut self) -> Self {
        self.allow_unknown_values = true;
        self
    }

    /// Validates without any call: the webhook as a create request.
    pub fn build(&self) -> Result<crate::types::CreateWebhookRequest, ValidationErrors> {
        let mut problems = Vec::new();
        if !self.allow_unknown_values {
            super::sync::unknown_values(&self.webhook, 0, &mut problems);
        }
        let request = self.webhook.validate();
        if problems.is_empty() {
            return request;
        }
        // The paths without the sync's `webhooks[0].` prefix.
        let mut problems: Vec<Violation> = problems
            .into_iter()
            .map(|v| {
                let path = v.path().trim_start_matches("webhooks[0].").to_owned();
                Violation::new(path, v.rule().clone())
            })
            .collect();
        if let Err(errors) = request {
            problems.extend(errors.violations().iter().cloned());
        }
        Err(ValidationErrors::new(problems))
    }

    /// Validates, lists the app's webhooks, then creates, updates what
    /// differs, or does nothing.
    pub async fn send(self) -> Result<Ensured, Error> {
        let desired = self.build()?;
        let client = self.client;
        let existing = client.list_webhooks(&desired.app_id).await?;
        super::listing::check(&desired.app_id, &existing)?;
        let mut same: Vec<Webhook> = existing
            .into_iter()
            .filter(|w| w.target.same_as(&desired.target))
            .collect();
        if same.len() > 1 {
            let listed: Vec<String> = same.iter().map(super::listing::describe).collect();
            let problem = format!(
                "{} webhooks for target {} ({}); `sync_webhooks` reconciles them",
                same.len(),
                desired.target,
                listed.join("; ")
            );
            return Err(Error::UnexpectedAnswer(Box::new(
                crate::error::UnexpectedAnswer::new(&desired.app_id, vec![problem]),
            )));
        }
        let Some(current) = same.pop() else {
            return Ok(Ensured::Created(client.execute(Ok(Create(desired))).await?));
        };
        let fields = differences(&current, &desired, self.secrets);
        if fields.is_empty() {
            return Ok(Ensured::Unchanged(current));
        }
        if fields.contains(&"secret") && desired.secret.is_none() && !self.clear_secret {
            return Err(Error::Validation(ValidationErrors::new(vec![
                Violation::new("secret", Rule::WouldRemoveSecret),
            ])));
        }
        // The list was checked: every entry has an id.
        let id = current.id.clone().unwrap_or_default();
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
