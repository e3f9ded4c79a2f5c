//! Syncing (or planning) many apps' webhooks with bounded concurrency: one
//! outcome per app, a failure in one stopping or hiding none of the others,
//! and each outcome handed to the caller as it comes.
use super::prelude::*;
use crate::operations::{SyncOptions, SyncPlan, SyncReport};
use crate::validate::NewWebhook;

/// One app's desired webhooks for [`Client::sync_many`], with its
/// [`SyncOptions`]. A pair `(app_id, webhooks)` converts into one with the
/// default options.
///
/// ```
/// use sinch_conversation::{AppSync, NewWebhook};
///
/// let keep: AppSync = ("tenant-1".to_owned(), vec![NewWebhook::new("tenant-1", "https://e.com/h")]).into();
/// let clear = AppSync::new("tenant-2", []).allow_empty();
/// assert!(clear.options().allows_empty() && !keep.options().allows_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AppSync {
    pub(super) app_id: String,
    pub(super) webhooks: Vec<NewWebhook>,
    pub(super) options: SyncOptions,
}

impl AppSync {
    /// `app_id`'s desired webhooks, with the default options.
    pub fn new(app_id: impl Into<String>, webhooks: impl IntoIterator<Item = NewWebhook>) -> Self {
        let app_id = app_id.into();
        let webhooks = webhooks
            .into_iter()
            .map(|mut webhook| {
                webhook.app_id.clone_from(&app_id);
                webhook
            })
            .collect();
        Self {
            app_id,
            webhooks,
            options: SyncOptions::default(),
        }
    }

    /// The checks [`SyncWebhooks::validate`](crate::SyncWebhooks::validate)
    /// makes, without a client: nothing is sent.
    pub fn validate(&self) -> Result<(), crate::ValidationErrors> {
        super::sync::validate_set(&self.app_id, &self.webhooks, self.options).map(drop)
    }

    /// The desired webhooks.
    pub fn webhooks(&self) -> &[NewWebhook] {
        &self.webhooks
    }

    /// Accept an empty set for this app (delete all its webhooks).
    pub fn allow_empty(mut self) -> Self {
        self.options = self.options.allow_empty();
        self
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    /// The app.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Its options.
    pub fn options(&self) -> SyncOptions {
        self.options
    }
}

impl From<(String, Vec<NewWebhook>)> for AppSync {
    fn from((app_id, webhooks): (String, Vec<NewWebhook>)) -> Self {
        Self::new(app_id, webhooks)
    }
}

/// One app's result from [`Client::sync_many`] (a [`SyncReport`]) or
/// [`Client::plan_many`] (a [`SyncPlan`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct AppOutcome<T = SyncReport> {
    /// The app.
    pub app_id: String,
    /// What its sync did (or would do), or why it failed.
    pub result: Result<T, Error>,
}

impl Client {
    /// Syncs each app's webhooks to its desired set
    /// ([`sync_webhooks`](Client::sync_webhooks); `(app_id, webhooks)`
    /// pairs or [`AppSync`]s with options), at most `concurrency`
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
        on_outcome: impl FnMut(&AppOutcome),
    ) -> Vec<AppOutcome>
    where
        I: IntoIterator,
        I::Item: Into<AppSync>,
    {
        self.for_each_app(apps, concurrency, on_outcome, |client, app| async move {
            client
                .sync_webhooks(app.app_id, app.webhooks)
                .options(app.options)
                .send()
                .await
        })
        .await
    }

    /// The dry run of [`sync_many`](Self::sync_many): each app's
    /// [`plan`](crate::SyncWebhooks::plan), with the same concurrency and
    /// order. Changes nothing.
    pub async fn plan_many<I>(
        &self,
        apps: I,
        concurrency: usize,
        on_outcome: impl FnMut(&AppOutcome<SyncPlan>),
    ) -> Vec<AppOutcome<SyncPlan>>
    where
        I: IntoIterator,
        I::Item: Into<AppSync>,
    {
        self.for_each_app(apps, concurrency, on_outcome, |client, app| async move {
            client
                .sync_webhooks(app.app_id, app.webhooks)
                .options(app.options)
                .plan()
                .await
        })
        .await
    }

    /// Runs `run` for each app, at most `concurrency` at a time; outcomes
    /// to `on_outcome` as they finish, returned in the order given.
    async fn for_each_app<I, T, Fut>(
        &self,
        apps: I,
        concurrency: usize,
        mut on_outcome: impl FnMut(&AppOutcome<T>),
        run: impl Fn(Client, AppSync) -> Fut,
    ) -> Vec<AppOutcome<T>>
    where
        I: IntoIterator,
        I::Item: Into<AppSync>,
        T: Send + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let mut pending = apps.into_iter().enumerate();
        let mut running = tokio::task::JoinSet::new();
        let mut outcomes: Vec<Option<AppOutcome<T>>> = Vec::new();
        let mut start = |running: &mut tokio::task::JoinSet<_>| {
            let (index, app) = pending.next()?;
            let app: AppSync = app.into();
            let app_id = app.app_id.clone();
            let work = run(self.clone(), app);
            running.spawn(async move {
                (
                    index,
                    AppOutcome {
                        app_id,
                        result: work.await,
                    },
                )
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
