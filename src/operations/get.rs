//! Get one webhook: `GET /v1/projects/{project_id}/webhooks/{webhook_id}`.
use super::prelude::*;
use crate::types::Webhook;

impl Client {
    /// Gets one webhook by id. An unknown id (or the wrong region) is an
    /// [`Error::Api`] with status 404. Retried after 429, 5xx, timeouts and
    /// lost connections: reading changes nothing.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// let webhook = client.get_webhook("01H8Z6WEBHOOK").await?;
    /// println!("{} -> {:?}", webhook.target.as_str(), webhook.triggers);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get_event_destination")]
    #[doc(alias = "event destination")]
    pub fn get_webhook<'a>(
        &'a self,
        webhook_id: &'a str,
    ) -> impl Future<Output = Result<Webhook, Error>> + Send + 'a {
        self.execute(validate::path_id("webhook_id", webhook_id).map(|()| Get(webhook_id)))
    }
}

struct Get<'a>(&'a str);

impl Operation for Get<'_> {
    const INFO: Info = Info::new("get_webhook", "GET", Resend::Idempotent);
    type Answer = Webhook;
    type Output = Webhook;

    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, Webhook> {
        Box::pin(api.get_webhook(project, self.0))
    }
}
