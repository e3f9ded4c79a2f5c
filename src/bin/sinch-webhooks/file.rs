//! The desired-state file of `sinch-webhooks sync --file`, read strictly:
//! an unknown table or key, a wrong type, a missing field or nothing at all
//! is refused, every problem with its line, before any request is made.
//!
//! One app (with `--app-id`):
//!
//! ```toml
//! [[webhook]]
//! target = "https://example.com/inbound"
//! triggers = ["MESSAGE_INBOUND"]
//! secret = "…"                     # optional
//! target_type = "HTTP"             # optional, HTTP by default
//! [webhook.client_credentials]     # optional
//! client_id = "…"
//! client_secret = "…"
//! endpoint = "https://auth.example.com/token"
//! ```
//!
//! Many apps (no `--app-id`): `[[app]]` tables, each with its `id` and its
//! `[[app.webhook]]` tables.
use std::fmt;

use sinch_conversation::{NewClientCredentials, NewWebhook, TokenRequestType, WebhookTargetType};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The desired state a file describes.
#[derive(Debug)]
pub struct Desired {
    /// `Some` for a file of `[[app]]` tables; `None` for `[[webhook]]`
    /// tables of the one app named on the command line.
    pub apps: Option<Vec<DesiredApp>>,
    /// The `[[webhook]]` tables of a one-app file.
    pub webhooks: Vec<DesiredWebhook>,
}

/// One `[[app]]` table.
#[derive(Debug)]
pub struct DesiredApp {
    pub id: String,
    pub line: usize,
    pub webhooks: Vec<DesiredWebhook>,
}

/// One `[[webhook]]` table, with the lines of its keys (for messages).
#[derive(Debug)]
pub struct DesiredWebhook {
    pub webhook: NewWebhook,
    /// The table's first line.
    pub line: usize,
    keys: Vec<(String, usize)>,
}

impl DesiredWebhook {
    /// The line of `field` (a top-level key, e.g. `target` of
    /// `target.host`), or the table's first line.
    pub fn line_of(&self, path: &str) -> usize {
        let field = path.split(['.', '[']).next().unwrap_or(path);
        self.keys
            .iter()
            .find(|(key, _)| key == field)
            .map_or(self.line, |(_, line)| *line)
    }
}

/// A problem with the file, at a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

const WEBHOOK_KEYS: &[&str] = &[
    "target",
    "triggers",
    "secret",
    "target_type",
    "client_credentials",
];
const CREDENTIAL_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "endpoint",
    "scope",
    "response_type",
    "token_request_type",
];

/// Reads `text` strictly. `Err` holds every problem found, in line order.
pub fn parse(text: &str) -> Result<Desired, Vec<Problem>> {
    let lines = Lines::new(text);
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut problems: Vec<Problem> = errors
            .iter()
            .map(|e| Problem {
                line: e.span().map_or(1, |s| lines.at(s.start)),
                message: format!("not valid TOML: {}", e.message()),
            })
            .collect();
        problems.sort_by_key(|p| p.line);
        return Err(problems);
    }
    let mut reader = Reader {
        lines,
        problems: Vec::new(),
    };
    let desired = reader.document(document.get_ref());
    let mut problems = reader.problems;
    if problems.is_empty() {
        return Ok(desired);
    }
    problems.sort_by_key(|p| p.line);
    Err(problems)
}

/// Byte offsets to line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    fn at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

struct Reader {
    lines: Lines,
    problems: Vec<Problem>,
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

impl Reader {
    fn problem(&mut self, offset: usize, message: String) {
        let line = self.lines.at(offset);
        self.problems.push(Problem { line, message });
    }

    fn line(&self, offset: usize) -> usize {
        self.lines.at(offset)
    }

    fn document(&mut self, document: &DeTable<'_>) -> Desired {
        let mut desired = Desired {
            apps: None,
            webhooks: Vec::new(),
        };
        let mut saw_webhook = None;
        for (key, value) in document.iter() {
            match key.get_ref().as_ref() {
                "webhook" => {
                    saw_webhook = Some(key.span().start);
                    for table in self.tables(key, value, "webhook") {
                        desired.webhooks.push(self.webhook(table, "webhook"));
                    }
                }
                "app" => {
                    let apps = self
                        .tables(key, value, "app")
                        .into_iter()
                        .filter_map(|table| self.app(table))
                        .collect();
                    desired.apps = Some(apps);
                }
                other => self.problem(
                    key.span().start,
                    format!(
                        "unknown table or key {other:?}: a file holds [[webhook]] tables (one app, with --app-id) or [[app]] tables (many apps)"
                    ),
                ),
            }
        }
        if let (Some(offset), Some(_)) = (saw_webhook, &desired.apps) {
            self.problem(
                offset,
                "both [[webhook]] and [[app]] tables: use [[app.webhook]] inside each [[app]]"
                    .to_owned(),
            );
        }
        if let Some(apps) = &desired.apps {
            for (i, app) in apps.iter().enumerate() {
                if let Some(first) = apps[..i].iter().find(|a| a.id == app.id) {
                    let message = format!(
                        "app {:?} again (first at line {}): give each app one [[app]] table",
                        app.id, first.line
                    );
                    self.problems.push(Problem {
                        line: app.line,
                        message,
                    });
                }
            }
        }
        desired
    }

    /// The tables of an array of tables (`[[name]]`); anything else is a
    /// problem.
    fn tables<'a, 'i>(
        &mut self,
        key: &Spanned<std::borrow::Cow<'i, str>>,
        value: &'a Spanned<DeValue<'i>>,
        name: &str,
    ) -> Vec<&'a Spanned<DeValue<'i>>> {
        match value.get_ref() {
            DeValue::Array(items) => {
                let mut tables = Vec::new();
                for item in items.iter() {
                    if matches!(item.get_ref(), DeValue::Table(_)) {
                        tables.push(item);
                    } else {
                        self.problem(
                            item.span().start,
                            format!("{name}: expected [[{name}]] tables, found {}", kind(item)),
                        );
                    }
                }
                tables
            }
            _ => {
                self.problem(
                    key.span().start,
                    format!(
                        "{name}: expected [[{name}]] tables (double brackets), found {}",
                        kind(value)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn app(&mut self, table: &Spanned<DeValue<'_>>) -> Option<DesiredApp> {
        let DeValue::Table(entries) = table.get_ref() else {
            return None;
        };
        let line = self.line(table.span().start);
        let mut id = None;
        let mut webhooks = Vec::new();
        for (key, value) in entries.iter() {
            match key.get_ref().as_ref() {
                "id" => id = self.string((key, value), "app"),
                "webhook" => {
                    for table in self.tables(key, value, "app.webhook") {
                        webhooks.push(self.webhook(table, "app.webhook"));
                    }
                }
                other => self.problem(
                    key.span().start,
                    format!(
                        "unknown key {other:?} in [[app]] (expected id and [[app.webhook]] tables)"
                    ),
                ),
            }
        }
        match id {
            Some(id) if !id.trim().is_empty() => Some(DesiredApp { id, line, webhooks }),
            _ => {
                self.problems.push(Problem {
                    line,
                    message: "[[app]] without an id: add id = \"…\"".to_owned(),
                });
                None
            }
        }
    }

    fn webhook(&mut self, table: &Spanned<DeValue<'_>>, name: &str) -> DesiredWebhook {
        let line = self.line(table.span().start);
        let mut webhook = NewWebhook::default();
        // The command line's default, as create's.
        webhook.target_type = Some(WebhookTargetType::Http);
        let mut keys = Vec::new();
        let mut has_target = false;
        let mut has_triggers = false;
        if let DeValue::Table(entries) = table.get_ref() {
            for entry @ (key, value) in entries.iter() {
                let field = key.get_ref().as_ref();
                keys.push((field.to_owned(), self.line(key.span().start)));
                match field {
                    "target" => {
                        has_target = true;
                        if let Some(target) = self.string(entry, name) {
                            webhook.target = target.into();
                        }
                    }
                    "triggers" => {
                        has_triggers = true;
                        if let Some(triggers) = self.strings(entry, name) {
                            webhook.triggers = triggers.into_iter().map(Into::into).collect();
                        }
                    }
                    "secret" => webhook.secret = self.string(entry, name).map(Into::into),
                    "target_type" => {
                        if let Some(kind) = self.string(entry, name) {
                            webhook.target_type = Some(kind.into());
                        }
                    }
                    "client_credentials" => {
                        webhook.client_credentials = self.credentials(value, name);
                    }
                    other => self.problem(
                        key.span().start,
                        format!(
                            "unknown key {other:?} in [[{name}]] (expected {})",
                            WEBHOOK_KEYS.join(", ")
                        ),
                    ),
                }
            }
        }
        for (present, field) in [(has_target, "target"), (has_triggers, "triggers")] {
            if !present {
                self.problems.push(Problem {
                    line,
                    message: format!("[[{name}]] without {field}"),
                });
            }
        }
        DesiredWebhook {
            webhook,
            line,
            keys,
        }
    }

    fn credentials(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        name: &str,
    ) -> Option<NewClientCredentials> {
        let DeValue::Table(entries) = value.get_ref() else {
            self.problem(
                value.span().start,
                format!(
                    "client_credentials: expected a table, found {}",
                    kind(value)
                ),
            );
            return None;
        };
        let mut cc = NewClientCredentials::default();
        let place = format!("{name}.client_credentials");
        for entry @ (key, _) in entries.iter() {
            match key.get_ref().as_ref() {
                "client_id" => cc.client_id = self.string(entry, &place).unwrap_or_default(),
                "client_secret" => {
                    cc.client_secret = self.string(entry, &place).unwrap_or_default().into()
                }
                "endpoint" => cc.endpoint = self.string(entry, &place).unwrap_or_default().into(),
                "scope" => cc.scope = self.string(entry, &place),
                "response_type" => cc.response_type = self.string(entry, &place),
                "token_request_type" => {
                    cc.token_request_type = self.string(entry, &place).map(TokenRequestType::from)
                }
                other => self.problem(
                    key.span().start,
                    format!(
                        "unknown key {other:?} in {place} (expected {})",
                        CREDENTIAL_KEYS.join(", ")
                    ),
                ),
            }
        }
        Some(cc)
    }

    fn string(&mut self, (key, value): Entry<'_, '_>, place: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            _ => {
                self.problem(
                    value.span().start,
                    format!(
                        "{place}.{}: expected a string, found {}",
                        key.get_ref(),
                        kind(value)
                    ),
                );
                None
            }
        }
    }

    fn strings(&mut self, (key, value): Entry<'_, '_>, place: &str) -> Option<Vec<String>> {
        let expected = format!("{place}.{}: expected an array of strings", key.get_ref());
        let DeValue::Array(items) = value.get_ref() else {
            let message = format!("{expected}, found {}", kind(value));
            self.problem(value.span().start, message);
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(text) => out.push(text.to_string()),
                _ => {
                    let message = format!("{expected}, found {} in it", kind(item));
                    self.problem(item.span().start, message);
                }
            }
        }
        Some(out)
    }
}

/// What a value is, for messages.
fn kind(value: &Spanned<DeValue<'_>>) -> &'static str {
    match value.get_ref() {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_one_app_file_is_read_with_its_defaults() {
        let desired = parse(
            r#"
[[webhook]]
target = "https://example.com/in"
triggers = ["MESSAGE_INBOUND", "SOMETHING_NEWER"]
secret = "s"

[[webhook]]
target = "https://example.com/out"
triggers = ["MESSAGE_DELIVERY"]
target_type = "DISMISS"
[webhook.client_credentials]
client_id = "c"
client_secret = "cs"
endpoint = "https://auth.example.com/t"
token_request_type = "FORM"
"#,
        )
        .unwrap();
        assert!(desired.apps.is_none());
        let [inbound, outbound] = &desired.webhooks[..] else {
            panic!("{desired:?}")
        };
        assert_eq!(inbound.webhook.target, "https://example.com/in");
        assert_eq!(inbound.webhook.triggers[1].as_str(), "SOMETHING_NEWER");
        assert_eq!(inbound.webhook.target_type, Some(WebhookTargetType::Http));
        assert_eq!(inbound.line, 2);
        assert_eq!(inbound.line_of("target"), 3);
        assert_eq!(
            outbound.webhook.target_type,
            Some(WebhookTargetType::Dismiss)
        );
        let cc = outbound.webhook.client_credentials.as_ref().unwrap();
        assert_eq!(cc.client_secret.expose(), "cs");
        assert_eq!(cc.token_request_type, Some(TokenRequestType::Form));
    }

    #[test]
    fn a_many_app_file_is_read() {
        let desired = parse(
            r#"
[[app]]
id = "tenant-1"
[[app.webhook]]
target = "https://example.com/1"
triggers = ["MESSAGE_INBOUND"]

[[app]]
id = "tenant-2"
"#,
        )
        .unwrap();
        let apps = desired.apps.unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].id, "tenant-1");
        assert_eq!(apps[0].webhooks.len(), 1);
        assert!(
            apps[1].webhooks.is_empty(),
            "empty: refused later unless allowed"
        );
    }

    #[test]
    fn misspelled_tables_and_keys_are_refused_with_their_lines() {
        assert_eq!(
            problems(
                r#"
[[webhooks]]
target = "https://example.com/h"
"#
            ),
            [
                "line 2: unknown table or key \"webhooks\": a file holds [[webhook]] tables (one app, with --app-id) or [[app]] tables (many apps)"
            ]
        );
        assert_eq!(
            problems(
                r#"[[webhook]]
target = "https://example.com/h"
triggers = ["MESSAGE_INBOUND"]
secrte = "x"
[webhook.client_credentials]
client_id = "c"
clientsecret = "x"
"#
            ),
            [
                "line 4: unknown key \"secrte\" in [[webhook]] (expected target, triggers, secret, target_type, client_credentials)",
                "line 7: unknown key \"clientsecret\" in webhook.client_credentials (expected client_id, client_secret, endpoint, scope, response_type, token_request_type)",
            ]
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_each_named() {
        assert_eq!(
            problems(
                r#"[[webhook]]
target = 5
triggers = "MESSAGE_INBOUND"

[[webhook]]
secret = "s"
triggers = ["A", 1]

[[app]]
webhook = 3
"#
            ),
            [
                "line 1: both [[webhook]] and [[app]] tables: use [[app.webhook]] inside each [[app]]",
                "line 2: webhook.target: expected a string, found an integer",
                "line 3: webhook.triggers: expected an array of strings, found a string",
                "line 5: [[webhook]] without target",
                "line 7: webhook.triggers: expected an array of strings, found an integer in it",
                "line 9: [[app]] without an id: add id = \"…\"",
                "line 10: app.webhook: expected [[app.webhook]] tables (double brackets), found an integer",
            ]
        );
    }

    #[test]
    fn syntax_errors_and_repeated_apps_are_refused() {
        let syntax = problems("[[webhook]\ntarget = \n");
        assert!(!syntax.is_empty());
        assert!(
            syntax.iter().all(|p| p.contains("not valid TOML")),
            "{syntax:?}"
        );
        assert_eq!(
            problems("[[app]]\nid = \"a\"\n[[app]]\nid = \"a\"\n"),
            ["line 3: app \"a\" again (first at line 1): give each app one [[app]] table"]
        );
    }

    #[test]
    fn an_empty_file_reads_as_nothing() {
        for text in ["", "# only a comment\n", "\n\n"] {
            let desired = parse(text).unwrap();
            assert!(desired.apps.is_none() && desired.webhooks.is_empty());
        }
    }
}
