//! Make an app's webhooks exactly a desired set (the target is each one's
//! identity): a plan of deletes, then updates, then creates — in that order
//! so the 5-per-app limit is never crossed midway — applied step by step.
use std::fmt;

use super::compare::{changes_for, differences};
use super::create::Create;
use super::delete::Delete;
use super::prelude::*;
use crate::types::{CreateWebhookRequest, Webhook};
use crate::validate::{NewWebhook, Rule, ValidationErrors, Violation};

/// Most webhooks an app can have.
const MAX_PER_APP: usize = 5;

impl Client {
    /// Starts making `app_id`'s webhooks exactly `desired` (their `app_id`
    /// is set to this one). [`plan`](SyncWebhooks::plan) is the dry run;
    /// [`send`](SyncWebhooks::send) applies it.
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
    pub fn sync_webhooks(
        &self,
        app_id: impl Into<String>,
        desired: impl IntoIterator<Item = NewWebhook>,
    ) -> SyncWebhooks<'_> {
        let app_id = app_id.into();
        let desired = desired
            .into_iter()
            .map(|mut webhook| {
                webhook.app_id.clone_from(&app_id);
                webhook
            })
            .collect();
        SyncWebhooks {
            client: self,
            app_id,
            desired,
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
}

impl fmt::Display for SyncStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncStep::Delete { id, target } => write!(f, "delete {id} ({target})"),
            SyncStep::Update { id, target, fields } => {
                write!(f, "update {id} ({target}): {}", fields.join(", "))
            }
            SyncStep::Create { target } => write!(f, "create {target}"),
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
    /// Checks the desired set before any call: at most 5 webhooks, no
    /// target twice, each valid as a create. Every problem at once, with
    /// paths like `webhooks[1].target`.
    pub fn validate(&self) -> Result<Vec<CreateWebhookRequest>, ValidationErrors> {
        let mut problems = Vec::new();
        crate::validate::check_path_safe("app_id", &self.app_id, &mut problems);
        if self.desired.len() > MAX_PER_APP {
            problems.push(Violation::new(
                "webhooks",
                Rule::TooManyWebhooks {
                    max: MAX_PER_APP,
                    actual: self.desired.len(),
                },
            ));
        }
        let mut requests = Vec::new();
        for (i, webhook) in self.desired.iter().enumerate() {
            if self.desired[..i].iter().any(|w| w.target == webhook.target) {
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

    /// The dry run: validates, lists the app's webhooks, and returns what
    /// [`send`](Self::send) would do. Changes nothing.
    pub async fn plan(&self) -> Result<SyncPlan, Error> {
        let desired = self.validate()?;
        let existing = self.client.list_webhooks(&self.app_id).await?;
        let steps = plan(&existing, &desired).into_iter().map(|(step, _)| step);
        Ok(SyncPlan {
            steps: steps.collect(),
        })
    }

    /// Validates, lists, and applies the plan step by step. A failed step
    /// stops the sync: [`Error::Sync`] says which steps were applied and
    /// which were not.
    pub async fn send(self) -> Result<SyncReport, Error> {
        let desired = self.validate()?;
        let client = self.client;
        let existing = client.list_webhooks(&self.app_id).await?;
        let (steps, actions): (Vec<SyncStep>, Vec<Action>) =
            plan(&existing, &desired).into_iter().unzip();
        let mut applied = Vec::new();
        let mut now: Vec<Option<Webhook>> = desired
            .iter()
            .map(|d| existing.iter().find(|w| w.target == d.target).cloned())
            .collect();
        for (index, (step, action)) in steps.iter().zip(actions).enumerate() {
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

/// How to carry out a step: ids, and indexes into the desired set.
enum Action {
    Delete(String),
    Update(String, Vec<&'static str>, usize),
    Create(usize),
}

/// A target as steps show it (they are printed and go into errors): any
/// password in it as `***`.
fn shown(target: &str) -> String {
    crate::error::without_userinfo(target)
}

/// Deletes first (so the per-app limit is never crossed), then updates,
/// then creates; each step with how to carry it out.
fn plan(existing: &[Webhook], desired: &[CreateWebhookRequest]) -> Vec<(SyncStep, Action)> {
    let current =
        |wanted: &CreateWebhookRequest| existing.iter().find(|w| w.target == wanted.target);
    let mut steps = Vec::new();
    for webhook in existing {
        if !desired.iter().any(|d| d.target == webhook.target) {
            let id = webhook.id.clone().unwrap_or_default();
            let target = shown(&webhook.target);
            steps.push((
                SyncStep::Delete {
                    id: id.clone(),
                    target,
                },
                Action::Delete(id),
            ));
        }
    }
    for (i, wanted) in desired.iter().enumerate() {
        let Some(webhook) = current(wanted) else {
            continue;
        };
        let fields = differences(webhook, wanted);
        if !fields.is_empty() {
            let id = webhook.id.clone().unwrap_or_default();
            let step = SyncStep::Update {
                id: id.clone(),
                target: shown(&wanted.target),
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            };
            steps.push((step, Action::Update(id, fields, i)));
        }
    }
    for (i, wanted) in desired.iter().enumerate() {
        if current(wanted).is_none() {
            let target = shown(&wanted.target);
            steps.push((SyncStep::Create { target }, Action::Create(i)));
        }
    }
    steps
}
