//! Syncing many apps' webhooks with bounded concurrency: one outcome per
//! app, a failure in one stopping or hiding none of the others, and each
//! outcome handed to the caller as it comes.
use super::prelude::*;
use crate::operations::SyncReport;
use crate::validate::NewWebhook;

/// One app's result from [`Client::sync_many`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AppOutcome {
    /// The app.
    pub app_id: String,
    /// What its sync did, or why it failed.
    pub result: Result<SyncReport, Error>,
}

impl Client {
    /// Syncs each app's webhooks to its desired set
    /// ([`sync_webhooks`](Client::sync_webhooks)), at most `concurrency`
    /// apps at a time (at least 1). `on_outcome` sees each app's outcome as
    /// it finishes (progress); the returned list has one per app, in the
    /// order given. Combine with
    /// [`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit) to
    /// stay within Sinch's 800 requests a second.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) {
    /// use sinch_conversation::{NewWebhook, WebhookTrigger};
    ///
    /// let apps = (0..2000).map(|i| {
    ///     let app = format!("tenant-{i}");
    ///     let mut webhook = NewWebhook::new(&app, format!("https://example.com/{app}"));
    ///     webhook.triggers = vec![WebhookTrigger::MessageInbound];
    ///     (app, vec![webhook])
    /// });
    /// let mut done = 0;
    /// let outcomes = client
    ///     .sync_many(apps, 32, |outcome| {
    ///         done += 1;
    ///         if let Err(e) = &outcome.result {
    ///             eprintln!("{}: {e}", outcome.app_id);
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(outcomes.len(), 2000);
    /// # }
    /// ```
    pub async fn sync_many<I>(
        &self,
        apps: I,
        concurrency: usize,
        mut on_outcome: impl FnMut(&AppOutcome),
    ) -> Vec<AppOutcome>
    where
        I: IntoIterator<Item = (String, Vec<NewWebhook>)>,
    {
        let mut pending = apps.into_iter().enumerate();
        let mut running = tokio::task::JoinSet::new();
        let mut outcomes: Vec<Option<AppOutcome>> = Vec::new();
        let mut start = |running: &mut tokio::task::JoinSet<_>| {
            let (index, (app_id, desired)) = pending.next()?;
            let client = self.clone();
            running.spawn(async move {
                let result = client.sync_webhooks(&app_id, desired).send().await;
                (index, AppOutcome { app_id, result })
            });
            Some(())
        };
        for _ in 0..concurrency.max(1) {
            if start(&mut running).is_none() {
                break;
            }
        }
        while let Some(joined) = running.join_next().await {
            // A task that panicked or was cancelled has no outcome to give;
            // the others go on.
            if let Ok((index, outcome)) = joined {
                on_outcome(&outcome);
                if outcomes.len() <= index {
                    outcomes.resize_with(index + 1, || None);
                }
                outcomes[index] = Some(outcome);
            }
            start(&mut running);
        }
        outcomes.into_iter().flatten().collect()
    }
}
