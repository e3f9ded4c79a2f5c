//! Delete a webhook: `DELETE /v1/projects/{project_id}/webhooks/{webhook_id}`.
use super::prelude::*;

impl Client {
    /// Deletes a webhook; its slot on the app is free again. Retried after
    /// 429, 5xx, timeouts and lost connections; when an earlier attempt may
    /// have been applied and the retry answers 404, the webhook is gone and
    /// this succeeds. A 404 on the first attempt is an [`Error::Api`].
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// client.delete_webhook("01H8Z6WEBHOOK").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "delete_event_destination")]
    #[doc(alias = "event destination")]
    pub fn delete_webhook<'a>(
        &'a self,
        webhook_id: &'a str,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.execute(validate::path_id("webhook_id", webhook_id).map(|()| Delete(webhook_id)))
    }
}

pub(super) struct Delete<'a>(pub(super) &'a str);

impl Operation for Delete<'_> {
    const INFO: Info = Info::new("delete_webhook", "DELETE", Resend::Idempotent);
    type Answer = ();
    type Output = ();

    fn send<'c>(&'c self, api: &'c Api, project: &'c str) -> Attempt<'c, ()> {
        Box::pin(api.delete_webhook(project, self.0))
    }

    fn settled_by(error: &Error) -> Option<()> {
        (error.status() == Some(404)).then_some(())
    }
}
