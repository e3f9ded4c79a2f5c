//! Make an app's webhooks exactly a desired set (the target is each one's
//! identity): a plan of updates, then creates, then deletes — make before
//! break, so a failed step leaves the app with what it had — applied step by
//! step. Only the deletes Sinch's 5-per-app limit forces go before the
//! creates.
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
    /// [`allow_empty`](SyncWebhooks::allow_empty) says so; so are triggers
    /// and target types this crate does not know (a typo would make Sinch
    /// refuse the create) unless
    /// [`allow_unknown_values`](SyncWebhooks::allow_unknown_values), and
    /// removing a secret a webhook has unless
    /// [`clear_secrets`](SyncWebhooks::clear_secrets).
    ///
    /// Make before break: updates first, then creates, then deletes, so
    /// that when an update or a create fails no delete has been applied and
    /// the app keeps what it had. Only where Sinch's limit of 5 webhooks per
    /// app would be crossed do that many deletes (duplicates first) go
    /// before the creates.
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

/// What a sync may do beyond the default: all off unless asked for.
///
/// ```
/// use sinch_conversation::SyncOptions;
///
/// let options = SyncOptions::default().allow_empty().rotate_secrets();
/// assert!(options.allows_empty() && options.rotates_secrets());
/// assert!(!options.allows_unknown_values() && !options.clears_secrets());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOptions {
    allow_empty: bool,
    rotate_secrets: bool,
    allow_unknown_values: bool,
    clear_secrets: bool,
}

impl SyncOptions {
    /// Accept triggers and target types this crate does not know (newer
    /// than it); without it they are refused before any call, as a typo
    /// would make Sinch refuse the create mid-sync. Blank ones are refused
    /// either way.
    pub fn allow_unknown_values(mut self) -> Self {
        self.allow_unknown_values = true;
        self
    }

    /// Remove the secret of a webhook that has one when its desired form
    /// has none; without it such a sync is refused before any change
    /// (anyone could forge the callbacks of a webhook without a secret).
    pub fn clear_secrets(mut self) -> Self {
        self.clear_secrets = true;
        self
    }

    /// Whether unknown triggers and target types are accepted.
    pub fn allows_unknown_values(&self) -> bool {
        self.allow_unknown_values
    }

    /// Whether a secret may be removed.
    pub fn clears_secrets(&self) -> bool {
        self.clear_secrets
    }

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

/// What a sync will do (or did): updates, then creates, then deletes (only
/// the deletes the 5-per-app limit forces go before the creates).
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

    /// Accept triggers and target types this crate does not know; see
    /// [`SyncOptions::allow_unknown_values`].
    pub fn allow_unknown_values(mut self) -> Self {
        self.options = self.options.allow_unknown_values();
        self
    }

    /// Remove the secret of a webhook whose desired form has none; see
    /// [`SyncOptions::clear_secrets`].
    pub fn clear_secrets(mut self) -> Self {
        self.options = self.options.clear_secrets();
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
        if !self.options.clear_secrets {
            refuse_secret_removals(&planned, &desired)?;
        }
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

/// Updates, then creates, then deletes (make before break); only the
/// deletes needed to stay within the per-app limit go before the creates,
/// duplicates first. For each desired webhook, of the listed ones with the
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
    let mut updates = Vec::new();
    for (i, wanted) in desired.iter().enumerate() {
        let Some(j) = kept[i] else { continue };
        let fields = differences(&existing[j], wanted, secrets);
        if !fields.is_empty() {
            let step = SyncStep::Update {
                id: id(j),
                target: wanted.target.to_string(),
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            };
            updates.push((step, Action::Update(id(j), fields, i)));
        }
    }
    let mut creates = Vec::new();
    for (i, wanted) in desired.iter().enumerate() {
        if kept[i].is_none() {
            let step = SyncStep::Create {
                target: wanted.target.to_string(),
            };
            creates.push((step, Action::Create(i)));
        }
    }
    // Duplicates first: deleting one loses nothing its target does not keep.
    let (mut duplicates, mut deletes) = (Vec::new(), Vec::new());
    for (j, webhook) in existing.iter().enumerate() {
        // Steps are printed and go into errors: `TargetUrl`'s `Display`
        // shows a password as `***`.
        let target = webhook.target.to_string();
        match wanted.iter().position(|w| *w == listed[j]) {
            None => deletes.push((
                SyncStep::Delete { id: id(j), target },
                Action::Delete(id(j)),
            )),
            Some(i) if kept[i] != Some(j) => duplicates.push((
                SyncStep::DeleteDuplicate {
                    id: id(j),
                    target,
                    kept: kept[i].map(id).unwrap_or_default(),
                },
                Action::Delete(id(j)),
            )),
            Some(_) => {}
        }
    }
    duplicates.append(&mut deletes);
    let forced = (existing.len() + creates.len()).saturating_sub(MAX_PER_APP);
    let later = duplicates.split_off(forced.min(duplicates.len()));
    let (steps, actions) = updates
        .into_iter()
        .chain(duplicates)
        .chain(creates)
        .chain(later)
        .unzip();
    Planned {
        steps,
        actions,
        kept,
    }
}

/// An update that would remove a shown secret the desired webhook does not
/// have: refused (nothing is changed) unless the caller asked for it.
fn refuse_secret_removals(
    planned: &Planned,
    desired: &[CreateWebhookRequest],
) -> Result<(), ValidationErrors> {
    let problems: Vec<Violation> = planned
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Update(_, fields, i)
                if fields.contains(&"secret") && desired[*i].secret.is_none() =>
            {
                Some(Violation::new(
                    format!("webhooks[{i}].secret"),
                    Rule::WouldRemoveSecret,
                ))
            }
            _ => None,
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors::new(problems))
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
        if !options.allow_unknown_values {
            unknown_values(webhook, i, &mut problems);
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

/// Triggers and a target type this crate does not know, as violations.
pub(crate) fn unknown_values(webhook: &NewWebhook, i: usize, problems: &mut Vec<Violation>) {
    use crate::{WebhookTargetType, WebhookTrigger};
    for (t, trigger) in webhook.triggers.iter().enumerate() {
        if !trigger.is_known() && !trigger.as_str().trim().is_empty() {
            problems.push(Violation::new(
                format!("webhooks[{i}].triggers[{t}]"),
                Rule::UnknownValue {
                    value: trigger.as_str().to_owned(),
                    allowed: WebhookTrigger::KNOWN
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                },
            ));
        }
    }
    if let Some(kind) = webhook.target_type.as_ref().filter(|k| !k.is_known()) {
        problems.push(Violation::new(
            format!("webhooks[{i}].target_type"),
            Rule::UnknownValue {
                value: kind.as_str().to_owned(),
                allowed: WebhookTargetType::KNOWN
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
        ));
    }
}
