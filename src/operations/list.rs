//! List an app's webhooks: `GET /v1/projects/{project_id}/apps/{app_id}/webhooks`.
use crate::client::Client;
use crate::error::Error;
use crate::generated;
use crate::request::{Answer, Info, Operation, Resend};
use crate::types::{ListWebhooksResponse, Webhook};
use crate::validate;

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
    pub fn list_webhooks<'a>(
        &'a self,
        app_id: &'a str,
    ) -> impl Future<Output = Result<Vec<Webhook>, Error>> + Send + 'a {
        self.execute(validate::path_id("app_id", app_id).map(|()| List(app_id)))
    }
}

struct List<'a>(&'a str);

impl Operation for List<'_> {
    const INFO: Info = Info::new("list_webhooks", "GET", Resend::Idempotent);
    type Answer = ListWebhooksResponse;
    type Output = Vec<Webhook>;

    fn send<'c>(
        &'c self,
        api: &'c generated::Client,
        project_id: &'c str,
    ) -> impl Future<Output = Answer<ListWebhooksResponse>> + Send + 'c {
        api.list_webhooks(project_id, self.0)
    }
}

impl From<ListWebhooksResponse> for Vec<Webhook> {
    fn from(answer: ListWebhooksResponse) -> Self {
        answer.webhooks
    }
}
