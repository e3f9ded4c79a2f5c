//! List an app's webhooks: `GET /v1/projects/{project_id}/apps/{app_id}/webhooks`.
use super::prelude::*;
use crate::types::{ListWebhooksResponse, Webhook};

impl Client {
    /// The webhooks of an app (at most 5; Sinch does not page them). An app
    /// with none gives an empty list: Sinch then omits the field. Retried
    /// after 429, 5xx, timeouts and lost connections: reading changes nothing.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// for webhook in client.list_webhooks("01APP").await? {
    ///     println!("{:?} {}", webhook.id, webhook.target.as_str());
    /// }
    /// # Ok(()) }
    /// ```
    #[doc(alias = "list_event_destinations")]
    #[doc(alias = "event destination")]
    pub async fn list_webhooks(&self, app_id: &str) -> Result<Vec<Webhook>, Error> {
        self.execute(validate::path_id("app_id", app_id).map(|()| List(app_id)))
            .await
    }
}

struct List<'a>(&'a str);

impl Operation for List<'_> {
    const INFO: Info = Info::new("list_webhooks", "GET", Resend::Idempotent);
    type Answer = ListWebhooksResponse;
    type Output = Vec<Webhook>;

    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, ListWebhooksResponse> {
        Box::pin(api.list_webhooks(project, self.0))
    }
}

impl From<ListWebhooksResponse> for Vec<Webhook> {
    fn from(answer: ListWebhooksResponse) -> Self {
        answer.webhooks
    }
}
