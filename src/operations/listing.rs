//! What an app's list answer must be before `ensure_webhook` or
//! `sync_webhooks` changes anything: only the app's own webhooks, each
//! with an id, no id twice, at most 5. Anything else is an
//! [`UnexpectedAnswer`] and nothing is changed.
use std::collections::HashMap;

use crate::error::{Error, UnexpectedAnswer};
use crate::types::Webhook;

/// Most webhooks an app can have.
pub(crate) const MAX_PER_APP: usize = 5;

/// Every problem with `listed` as the answer for `app_id`'s webhooks. An
/// entry without `app_id` counts as the app's (it was listed under it).
pub(crate) fn check(app_id: &str, listed: &[Webhook]) -> Result<(), Error> {
    let mut problems = Vec::new();
    if listed.len() > MAX_PER_APP {
        problems.push(format!(
            "{} entries, but an app has at most {MAX_PER_APP} webhooks",
            listed.len()
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, webhook) in listed.iter().enumerate() {
        match webhook.app_id.as_deref() {
            Some(own) if own == app_id => {}
            Some(other) => problems.push(format!(
                "entry {i} ({}) belongs to app {other:?}",
                describe(webhook)
            )),
            // Sinch names the app of every webhook it lists: one without
            // cannot be told to be this app's, so it is not deleted.
            None => problems.push(format!(
                "entry {i} ({}) has no app_id, so it cannot be told to be this app's",
                describe(webhook)
            )),
        }
        match webhook.id.as_deref() {
            None | Some("") => problems.push(format!(
                "entry {i} ({}) has no id, so it cannot be updated or deleted",
                describe(webhook)
            )),
            Some(id) => *seen.entry(id).or_default() += 1,
        }
    }
    let mut twice: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    twice.sort_unstable();
    for (id, n) in twice {
        problems.push(format!("id {id:?} is listed {n} times"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::UnexpectedAnswer(Box::new(UnexpectedAnswer::new(
            app_id, problems,
        ))))
    }
}

/// A listed webhook for a message: its id and target (password as `***`).
pub(crate) fn describe(webhook: &Webhook) -> String {
    match webhook.id.as_deref() {
        Some(id) if !id.is_empty() => format!("id {id:?}, target {}", webhook.target),
        _ => format!("target {}", webhook.target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: Option<&str>, app: Option<&str>, target: &str) -> Webhook {
        Webhook {
            app_id: app.map(str::to_owned),
            client_credentials: None,
            id: id.map(str::to_owned),
            secret: None,
            target: target.into(),
            target_type: None,
            triggers: vec![],
        }
    }

    fn problems(app: &str, list: &[Webhook]) -> Vec<String> {
        match check(app, list) {
            Ok(()) => vec![],
            Err(Error::UnexpectedAnswer(e)) => e.problems().to_vec(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn the_apps_own_webhooks_pass() {
        let list = [
            listed(Some("W1"), Some("app"), "https://e.com/1"),
            listed(Some("W2"), Some("app"), "https://e.com/2"),
        ];
        assert!(problems("app", &list).is_empty());
        assert!(problems("app", &[]).is_empty());
    }

    #[test]
    fn an_entry_without_app_id_is_not_taken_for_the_apps() {
        let list = [listed(Some("W2"), None, "https://e.com/2")];
        assert_eq!(
            problems("app", &list),
            [
                "entry 0 (id \"W2\", target https://e.com/2) has no app_id, so it cannot be told to be this app's"
            ]
        );
    }

    #[test]
    fn every_problem_is_named() {
        let list = [
            listed(Some("W1"), Some("other"), "https://u:pw@e.com/1"),
            listed(None, Some("app"), "https://e.com/2"),
            listed(Some("W3"), Some("app"), "https://e.com/3"),
            listed(Some("W3"), Some("app"), "https://e.com/4"),
            listed(Some(""), Some("app"), "https://e.com/5"),
            listed(Some("W6"), Some("app"), "https://e.com/6"),
        ];
        let found = problems("app", &list);
        assert_eq!(
            found,
            [
                "6 entries, but an app has at most 5 webhooks",
                "entry 0 (id \"W1\", target https://u:***@e.com/1) belongs to app \"other\"",
                "entry 1 (target https://e.com/2) has no id, so it cannot be updated or deleted",
                "entry 4 (target https://e.com/5) has no id, so it cannot be updated or deleted",
                "id \"W3\" is listed 2 times",
            ]
        );
    }
}
