//! Make an app's webhooks exactly a desired set (the target is each one's
//! identity): a plan of deletes, then updates, then creates — in that order
//! so the 5-per-app limit is never crossed midway — applied step by step.
use std::fmt;

use super::compare::{Secrets, changes_for, differences};
use super::create::Create;
use super::delete::Delete;
use super::listing::MAX_PER_APP;
use super::prelude::*;
use crate::types::{CreateWebhookRequest, Webhook};
use crate::validate::{NewWebhook, Rule, ValidationErrors, Violation};

impl Client {
    /// Starts making `app_id`'s webhooks exactly `desired` (their `app_id`
    /// is set to this one). [`plan`](SyncWebhooks::plan) is the dry run;
    /// [`send`](SyncWebhooks::send) applies it.
    ///
    /// A webhook's identity is its target, compared as URLs
    /// ([`TargetUrl::identity`](crate::TargetUrl::identity)). Before any
    /// change, the list answer is checked: another app's webhook, one
    /// without an id, an id twice or more than 5 webhooks stop the sync
    /// with [`Error::UnexpectedAnswer`] and nothing is changed. Two listed
    /// webhooks with one target are reconciled: the one closest to the
    /// desired one (the first listed, on a tie) is kept, the other deleted.
    /// An empty desired set (delete everything) is refused unless
    /// [`allow_empty`](SyncWebhooks::allow_empty) says so.
    ///
    /// ```no_run
    /// # async fn run(client: sinch_conversation::Client) -> Result<(), sinch_conversation::Error> {
    /// use sinch_conversation::{NewWebhook, WebhookTrigger};
    ///
    /// let mut inbound = NewWebhook::new("01APP", "https://example.com/inbound");
    /// inbound.triggers = vec![WebhookTrigger::MessageInbound];
    /// let mut delivery = NewWebhook::new("01APP", "https://example.com/delivery");
    /// delivery.triggers = vec![WebhookTrigger::MessageDelivery];
    ///
    /// let sync = client.sync_webhooks("01APP", [inbound, delivery]);
    /// for step in sync.plan().await?.steps() {
    ///     println!("would {step}");
    /// }
    /// let report = sync.send().await?;
    /// println!("{} steps applied", report.applied().len());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "sync_event_destinations")]
    #[doc(alias = "event destination")]
    pub fn sync_webhooks(
        &self,
        app_id: impl Into<String>,
        desired: impl IntoIterator<Item = NewWebhook>,
    ) -> SyncWebhooks<'_> {
        let super::AppSync {
            app_id,
            webhooks,
            options,
        } = super::AppSync::new(app_id, desired);
        SyncWebhooks {
            client: self,
            app_id,
            desired: webhooks,
            options,
        }
    }
}

/// What a sync may do beyond the default: both off unless asked for.
///
/// ```
/// use sinch_conversation::SyncOptions;
///
/// let options = SyncOptions::default().allow_empty().rotate_secrets();
/// assert!(options.allows_empty() && options.rotates_secrets());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOptions {
    allow_empty: bool,
    rotate_secrets: bool,
}

impl SyncOptions {
    /// Accept an empty desired set: every webhook of the app is deleted.
    pub fn allow_empty(mut self) -> Self {
        self.allow_empty = true;
        self
    }

    /// Set each desired webhook's secret and client credentials even when
    /// the list answer does not show them (it may not echo secrets, and
    /// what is not shown is otherwise not compared): a rotation.
    pub fn rotate_secrets(mut self) -> Self {
        self.rotate_secrets = true;
        self
    }

    /// Whether an empty desired set is accepted.
    pub fn allows_empty(&self) -> bool {
        self.allow_empty
    }

    /// Whether secrets are set whatever the answer shows.
    pub fn rotates_secrets(&self) -> bool {
        self.rotate_secrets
    }

    pub(crate) fn secrets(&self) -> Secrets {
        if self.rotate_secrets {
            Secrets::Rotate
        } else {
            Secrets::CompareWhatIsShown
        }
    }
}

/// A sync being prepared; see [`Client::sync_webhooks`].
#[derive(Clone, Debug)]
#[must_use = "a sync does nothing until `.send().await`"]
pub struct SyncWebhooks<'a> {
    client: &'a Client,
    app_id: String,
    desired: Vec<NewWebhook>,
    options: SyncOptions,
}

/// One step of a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncStep {
    /// Delete a webhook the desired set does not have. (Targets in steps
    /// show any URL password as `***`.)
    Delete {
        /// Its id.
        id: String,
        /// Its target.
        target: String,
    },
    /// Update the fields of a webhook that differ from the desired one.
    Update {
        /// Its id.
        id: String,
        /// Its target.
        target: String,
        /// The fields that differ (update-mask names).
        fields: Vec<String>,
    },
    /// Create a desired webhook the app does not have.
    Create {
        /// Its target.
        target: String,
    },
    /// Delete a second webhook for a target the app already has one for
    /// (same target as a URL): Sinch would deliver every event twice.
    DeleteDuplicate {
        /// Its id.
        id: String,
        /// Its target.
        target: String,
        /// The id of the webhook kept for that target.
        kept: String,
    },
}

impl fmt::Display for SyncStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncStep::Delete { id, target } => write!(f, "delete {id} ({target})"),
            SyncStep::Update { id, target, fields } => {
                write!(f, "update {id} ({target}): {}", fields.join(", "))
            }
            SyncStep::Create { target } => write!(f, "create {target}"),
            SyncStep::DeleteDuplicate { id, target, kept } => {
                write!(f, "delete {id} ({target}): a duplicate of {kept}")
            }
        }
    }
}

/// What a sync will do (or did): deletes, then updates, then creates.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncPlan {
    steps: Vec<SyncStep>,
}

impl SyncPlan {
    /// The steps, in the order they are applied.
    pub fn steps(&self) -> &[SyncStep] {
        &self.steps
    }

    /// `true` when the app is already as desired.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// A sync that was applied in full.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncReport {
    applied: Vec<SyncStep>,
    webhooks: Vec<Webhook>,
}

impl SyncReport {
    /// The steps applied (none when the app was already as desired).
    pub fn applied(&self) -> &[SyncStep] {
        &self.applied
    }

    /// The app's webhooks now, in the desired order.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }
}

/// A sync step failed: what was applied before it, and what was not.
#[derive(Debug)]
pub struct SyncError {
    applied: Vec<SyncStep>,
    failed: SyncStep,
    not_applied: Vec<SyncStep>,
    error: Error,
}

impl SyncError {
    /// Steps applied before the failure.
    pub fn applied(&self) -> &[SyncStep] {
        &self.applied
    }

    /// The step that failed (it may or may not have taken effect, as its
    /// error says).
    pub fn failed(&self) -> &SyncStep {
        &self.failed
    }

    /// Steps not attempted.
    pub fn not_applied(&self) -> &[SyncStep] {
        &self.not_applied
    }

    /// Why the step failed.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |steps: &[SyncStep]| {
            steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        write!(
            f,
            "sync failed at \"{}\": {}; applied before it: [{}]; not applied: [{}]",
            self.failed,
            self.error,
            list(&self.applied),
            list(&self.not_applied)
        )
    }
}

impl std::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl SyncWebhooks<'_> {
    /// Accept an empty desired set, which deletes every webhook of the app.
    /// Without it an empty set is refused: it is more often a mistake (an
    /// empty or misread file) than a wish.
    pub fn allow_empty(mut self) -> Self {
        self.options = self.options.allow_empty();
        self
    }

    /// Set every desired secret (webhook secret, client credentials) even
    /// when the list answer does not show it; see
    /// [`SyncOptions::rotate_secrets`].
    pub fn rotate_secrets(mut self) -> Self {
        self.options = self.options.rotate_secrets();
        self
    }

    /// Replaces the options.
    pub fn options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the desired set before any call: not empty (unless allowed),
    /// at most 5 webhooks, no target twice (as URLs), each valid as a
    /// create. Every problem at once, with paths like `webhooks[1].target`.
    pub fn validate(&self) -> Result<Vec<CreateWebhookRequest>, ValidationErrors> {
        validate_set(&self.app_id, &self.desired, self.options)
    }

    /// Validates, lists, checks the list and plans: what both
    /// [`plan`](Self::plan) and [`send`](Self::send) start with.
    async fn prepare(&self) -> Result<Prepared, Error> {
        let desired = self.validate()?;
        let existing = self.client.list_webhooks(&self.app_id).await?;
        super::listing::check(&self.app_id, &existing)?;
        let planned = plan(&existing, &desired, self.options.secrets());
        Ok(Prepared {
            desired,
            existing,
            planned,
        })
    }

    /// The dry run: validates, lists the app's webhooks, checks the list,
    /// and returns what [`send`](Self::send) would do. Changes nothing.
    pub async fn plan(&self) -> Result<SyncPlan, Error> {
        let prepared = self.prepare().await?;
        Ok(SyncPlan {
            steps: prepared.planned.steps,
        })
    }

    /// Validates, lists, checks the list, and applies the plan step by
    /// step. A failed step stops the sync: [`Error::Sync`] says which steps
    /// were applied and which were not.
    pub async fn send(self) -> Result<SyncReport, Error> {
        let Prepared {
            desired,
            existing,
            planned,
        } = self.prepare().await?;
        let client = self.client;
        let mut applied = Vec::new();
        let mut now: Vec<Option<Webhook>> = planned
            .kept
            .iter()
            .map(|kept| kept.map(|j| existing[j].clone()))
            .collect();
        let steps = planned.steps;
        for (index, (step, action)) in steps.iter().zip(planned.actions).enumerate() {
            let result = match action {
                Action::Delete(id) => client
                    .execute(validate::path_id("webhook_id", &id).map(|()| Delete(&id)))
                    .await
                    .map(|()| None),
                Action::Update(id, fields, i) => {
                    let changes = changes_for(&fields, &self.desired[i]);
                    client
                        .execute(changes.validate(&id).map(super::update::Update))
                        .await
                        .map(|webhook| Some((i, webhook)))
                }
                Action::Create(i) => client
                    .execute(Ok(Create(desired[i].clone())))
                    .await
                    .map(|webhook| Some((i, webhook))),
            };
            match result {
                Ok(Some((i, webhook))) => now[i] = Some(webhook),
                Ok(None) => {}
                Err(error) => {
                    return Err(Error::Sync(Box::new(SyncError {
                        applied,
                        failed: step.clone(),
                        not_applied: steps[index + 1..].to_vec(),
                        error,
                    })));
                }
            }
            applied.push(step.clone());
        }
        Ok(SyncReport {
            applied,
            webhooks: now.into_iter().flatten().collect(),
        })
    }
}

/// What a sync starts from.
struct Prepared {
    desired: Vec<CreateWebhookRequest>,
    existing: Vec<Webhook>,
    planned: Planned,
}

/// The steps, how to carry each out, and which listed webhook (by index)
/// is kept for each desired one.
struct Planned {
    steps: Vec<SyncStep>,
    actions: Vec<Action>,
    kept: Vec<Option<usize>>,
}

/// How to carry out a step: ids, and indexes into the desired set.
enum Action {
    Delete(String),
    Update(String, Vec<&'static str>, usize),
    Create(usize),
}

/// Deletes first (so the per-app limit is never crossed), then updates,
/// then creates. For each desired webhook, of the listed ones with the
/// same target (as URLs) the one with the fewest differences is kept (the
/// first listed on a tie) and the others are deleted as duplicates. The
/// list was checked: every entry has an id.
fn plan(existing: &[Webhook], desired: &[CreateWebhookRequest], secrets: Secrets) -> Planned {
    let listed: Vec<String> = existing.iter().map(|w| w.target.identity()).collect();
    let wanted: Vec<String> = desired.iter().map(|d| d.target.identity()).collect();
    let kept: Vec<Option<usize>> = desired
        .iter()
        .zip(&wanted)
        .map(|(d, identity)| {
            (0..existing.len())
                .filter(|&j| &listed[j] == identity)
                .min_by_key(|&j| (differences(&existing[j], d, secrets).len(), j))
        })
        .collect();
    let id = |j: usize| existing[j].id.clone().unwrap_or_default();
    let mut steps = Vec::new();
    let mut actions = Vec::new();
    for (j, webhook) in existing.iter().enumerate() {
        // Steps are printed and go into errors: `TargetUrl`'s `Display`
        // shows a password as `***`.
        let target = webhook.target.to_string();
        match wanted.iter().position(|w| *w == listed[j]) {
            None => steps.push(SyncStep::Delete { id: id(j), target }),
            Some(i) if kept[i] != Some(j) => steps.push(SyncStep::DeleteDuplicate {
                id: id(j),
                target,
                kept: kept[i].map(id).unwrap_or_default(),
            }),
            Some(_) => continue,
        }
        actions.push(Action::Delete(id(j)));
    }
    for (i, wanted) in desired.iter().enumerate() {
        let Some(j) = kept[i] else { continue };
        let fields = differences(&existing[j], wanted, secrets);
        if !fields.is_empty() {
            steps.push(SyncStep::Update {
                id: id(j),
                target: wanted.target.to_string(),
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            });
            actions.push(Action::Update(id(j), fields, i));
        }
    }
    for (i, wanted) in desired.iter().enumerate() {
        if kept[i].is_none() {
            steps.push(SyncStep::Create {
                target: wanted.target.to_string(),
            });
            actions.push(Action::Create(i));
        }
    }
    Planned {
        steps,
        actions,
        kept,
    }
}

/// The checks of [`SyncWebhooks::validate`], for `app_id`'s `desired` set.
pub(crate) fn validate_set(
    app_id: &str,
    desired: &[NewWebhook],
    options: SyncOptions,
) -> Result<Vec<CreateWebhookRequest>, ValidationErrors> {
    let mut problems = Vec::new();
    crate::validate::check_path_safe("app_id", app_id, &mut problems);
    if desired.is_empty() && !options.allow_empty {
        problems.push(Violation::new("webhooks", Rule::EmptyDesiredSet));
    }
    if desired.len() > MAX_PER_APP {
        problems.push(Violation::new(
            "webhooks",
            Rule::TooManyWebhooks {
                max: MAX_PER_APP,
                actual: desired.len(),
            },
        ));
    }
    let identities: Vec<String> = desired.iter().map(|w| w.target.identity()).collect();
    let mut requests = Vec::new();
    for (i, webhook) in desired.iter().enumerate() {
        if identities[..i].contains(&identities[i]) {
            problems.push(Violation::new(
                format!("webhooks[{i}].target"),
                Rule::DuplicateTarget,
            ));
        }
        match webhook.validate() {
            Ok(request) => requests.push(request),
            Err(errors) => problems.extend(
                errors
                    .violations()
                    .iter()
                    .filter(|v| v.path() != "app_id")
                    .map(|v| {
                        Violation::new(format!("webhooks[{i}].{}", v.path()), v.rule().clone())
                    }),
            ),
        }
    }
    if problems.is_empty() {
        Ok(requests)
    } else {
        Err(ValidationErrors::new(problems))
    }
}
