//! `cargo xtask spec-diff <file>`: what `openapi/webhooks.yaml` and a Sinch
//! OpenAPI document each give the callback events and the webhook
//! operations, as property paths (`message.contact_message.text_message.text`),
//! enum values and required fields.
//!
//! Both documents are walked the same way: `$ref`s followed (a schema
//! already on the way is not entered again), `allOf`, `oneOf` and `anyOf`
//! merged, `items` as `[]`, a map's values as `*`. Callback events are found
//! by shape: a schema with `x-keyed-union` triggers (ours: the shared fields
//! plus one key per trigger), or `ConversationWebhookEvent`'s `oneOf` (Sinch's:
//! one schema per event, the key being the property the others lack).
//! Operations are the methods of the paths ending in `/webhooks` or
//! `/webhooks/{webhook_id}`: parameters, the JSON request body and the 200
//! answer. Also used by `tests/spec_coverage.rs`.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// What one document gives one section (an event or a part of an operation).
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// Every property path, with its enum values (empty if none) and
    /// whether its parent requires it.
    pub paths: BTreeMap<String, Leaf>,
    /// Names a `required` list gives that are not properties where listed
    /// (`path: name`).
    pub dangling_required: BTreeSet<String>,
    /// Paths a schema's `x-left-out` names (left out on purpose), with why.
    pub left_out: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leaf {
    pub values: BTreeSet<String>,
    pub required: bool,
}

/// Sections by name: `event MESSAGE_INBOUND (message)`,
/// `operation POST /v1/projects/{project_id}/webhooks: request`, ...
pub type Surface = BTreeMap<String, Section>;

/// The callback events and the webhook operations of a document.
pub fn surface(doc: &Value, triggers: &BTreeMap<String, String>) -> Surface {
    let mut out = Surface::new();
    for (key, section) in events(doc) {
        let name = match triggers.get(&key) {
            Some(trigger) => format!("event {trigger} ({key})"),
            None => format!("event ? ({key})"),
        };
        out.insert(name, section);
    }
    operations(doc, &mut out);
    out
}

/// Our spec's map from identifying key to trigger (`x-keyed-union.triggers`).
pub fn trigger_keys(doc: &Value) -> BTreeMap<String, String> {
    schemas(doc)
        .values()
        .filter_map(|s| {
            s.pointer("/x-keyed-union/triggers")
                .and_then(Value::as_object)
        })
        .flat_map(|m| m.iter())
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn schemas(doc: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Each event's key and what it holds, shared fields included.
fn events(doc: &Value) -> BTreeMap<String, Section> {
    let mut out = BTreeMap::new();
    let all = schemas(doc);
    // Ours: the envelope with x-keyed-union triggers.
    for schema in all.values() {
        let Some(triggers) = schema
            .pointer("/x-keyed-union/triggers")
            .and_then(Value::as_object)
        else {
            continue;
        };
        let merged = Merged::of(doc, schema);
        for key in triggers.keys() {
            let mut walker = Walker::new(doc);
            for (name, property) in &merged.properties {
                if name == key || !triggers.contains_key(name) {
                    walker.property("", name, property, merged.required.contains(name));
                }
            }
            out.insert(key.clone(), walker.section);
        }
        return out;
    }
    // Sinch's: ConversationWebhookEvent's oneOf.
    let Some(alternatives) = all
        .get("ConversationWebhookEvent")
        .and_then(|s| s.get("oneOf"))
        .and_then(Value::as_array)
    else {
        return out;
    };
    let merged: Vec<Merged> = alternatives.iter().map(|a| Merged::of(doc, a)).collect();
    let shared: BTreeSet<&String> = merged
        .iter()
        .map(|m| m.properties.keys().collect::<BTreeSet<_>>())
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default();
    for event in &merged {
        let Some(key) = event.properties.keys().find(|k| !shared.contains(k)) else {
            continue;
        };
        let mut walker = Walker::new(doc);
        for (name, property) in &event.properties {
            walker.property("", name, property, event.required.contains(name));
        }
        for name in &event.required {
            if !event.properties.contains_key(name) {
                walker
                    .section
                    .dangling_required
                    .insert(format!("(event): {name}"));
            }
        }
        out.insert(key.clone(), walker.section);
    }
    out
}

fn operations(doc: &Value, out: &mut Surface) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    for (path, item) in paths {
        if !(path.ends_with("/webhooks") || path.ends_with("/webhooks/{webhook_id}")) {
            continue;
        }
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let name = format!("operation {} {path}", method.to_uppercase());
            let mut parameters = Walker::new(doc);
            let listed = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(
                    operation
                        .get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            for parameter in listed {
                let parameter = resolve(doc, parameter).1;
                let (Some(param_name), Some(place)) = (
                    parameter.get("name").and_then(Value::as_str),
                    parameter.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let schema = parameter.get("schema").unwrap_or(&Value::Null);
                let required = parameter.get("required").and_then(Value::as_bool) == Some(true);
                parameters.property("", &format!("{place}:{param_name}"), &[schema], required);
            }
            out.insert(format!("{name}: parameters"), parameters.section);
            let body = operation
                .get("requestBody")
                .map(|b| resolve(doc, b).1)
                .and_then(|b| b.pointer("/content/application~1json/schema"));
            if let Some(schema) = body {
                out.insert(format!("{name}: request"), Walker::root(doc, schema));
            }
            let answer = operation
                .pointer("/responses/200")
                .map(|r| resolve(doc, r).1)
                .and_then(|r| r.pointer("/content/application~1json/schema"));
            if let Some(schema) = answer {
                out.insert(format!("{name}: answer"), Walker::root(doc, schema));
            }
        }
    }
}

/// `(name, target)` of a `$ref`, or the value itself.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> (Option<&'a str>, &'a Value) {
    let mut current = value;
    let mut name = None;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            break;
        };
        let Some(target) = doc.pointer(pointer) else {
            break;
        };
        name = reference.rsplit('/').next();
        current = target;
    }
    (name, current)
}

/// A schema's properties and required names, `allOf`, `oneOf` and `anyOf`
/// merged in (a `$ref` followed).
#[derive(Default)]
struct Merged<'a> {
    /// Each property with every schema given for it (alternatives of a
    /// `oneOf` may type one name differently: all count).
    properties: BTreeMap<String, Vec<&'a Value>>,
    required: BTreeSet<String>,
    values: BTreeSet<String>,
    items: Option<&'a Value>,
    map_values: Option<&'a Value>,
    left_out: BTreeMap<String, String>,
}

impl<'a> Merged<'a> {
    fn of(doc: &'a Value, schema: &'a Value) -> Self {
        let mut merged = Merged::default();
        merged.add(doc, schema, 0);
        merged
    }

    fn add(&mut self, doc: &'a Value, schema: &'a Value, depth: usize) {
        if depth > 16 {
            return;
        }
        let schema = resolve(doc, schema).1;
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                self.properties
                    .entry(name.clone())
                    .or_default()
                    .push(property);
                for alias in property
                    .get("x-aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    self.properties
                        .entry(alias.to_owned())
                        .or_default()
                        .push(property);
                }
            }
        }
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.required.insert(name.to_owned());
        }
        for value in schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            self.values.insert(text);
        }
        if let Some(items) = schema.get("items") {
            self.items = Some(items);
        }
        for (name, why) in schema
            .get("x-left-out")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let why = why.as_str().unwrap_or_default().to_owned();
            self.left_out.insert(name.clone(), why);
        }
        if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            self.map_values = Some(values);
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.add(doc, part, depth + 1);
            }
        }
    }
}

struct Walker<'a> {
    doc: &'a Value,
    /// Schemas (by `$ref` name) being walked: not entered again.
    stack: Vec<String>,
    section: Section,
}

impl<'a> Walker<'a> {
    fn new(doc: &'a Value) -> Self {
        Self {
            doc,
            stack: Vec::new(),
            section: Section::default(),
        }
    }

    /// A body: its properties from the top.
    fn root(doc: &'a Value, schema: &'a Value) -> Section {
        let mut walker = Self::new(doc);
        walker.children("", schema);
        walker.section
    }

    /// A property (given by one or more schemas) and what is below it.
    fn property(&mut self, prefix: &str, name: &str, schemas: &[&'a Value], required: bool) {
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        let leaf = self.section.paths.entry(path.clone()).or_default();
        leaf.required |= required;
        for schema in schemas {
            let merged = Merged::of(self.doc, schema);
            leaf.values.extend(merged.values);
        }
        for schema in schemas {
            self.children(&path, schema);
        }
    }

    /// What is below `path`: properties, array items, map values.
    fn children(&mut self, path: &str, schema: &'a Value) {
        let names = reference_names(self.doc, schema);
        if names.iter().any(|n| self.stack.contains(n)) || self.stack.len() > 24 {
            return;
        }
        let pushed = names.len();
        self.stack.extend(names);
        let merged = Merged::of(self.doc, schema);
        for (name, property) in &merged.properties {
            self.property(path, name, property, merged.required.contains(name));
        }
        for (name, why) in &merged.left_out {
            let at = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            self.section.left_out.insert(at, why.clone());
        }
        for name in &merged.required {
            if !merged.properties.contains_key(name) && !merged.properties.is_empty() {
                let at = if path.is_empty() { "(body)" } else { path };
                self.section
                    .dangling_required
                    .insert(format!("{at}: {name}"));
            }
        }
        if let Some(items) = merged.items {
            self.property(path, "[]", &[items], false);
        }
        if let Some(values) = merged.map_values {
            self.property(path, "*", &[values], false);
        }
        self.stack.truncate(self.stack.len() - pushed);
    }
}

/// The `$ref` names met when resolving a schema and its combinators (to
/// stop at cycles).
fn reference_names(doc: &Value, schema: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let (name, target) = resolve(doc, schema);
    if let Some(name) = name {
        names.push(name.to_owned());
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in target
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), _) = resolve(doc, part) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// What one side lacks in one section.
#[derive(Debug, Default)]
pub struct Difference {
    pub only_theirs: Vec<String>,
    pub only_ours: Vec<String>,
    /// `path: value`.
    pub values_only_theirs: Vec<String>,
    pub values_only_ours: Vec<String>,
    /// `path: required by theirs|ours`.
    pub required: Vec<String>,
    pub dangling_theirs: Vec<String>,
    /// `path: why`: theirs has it, ours leaves it out on purpose.
    pub left_out: Vec<String>,
    pub theirs_paths: usize,
    pub theirs_values: usize,
}

pub fn compare(ours: &Surface, theirs: &Surface) -> BTreeMap<String, Difference> {
    let empty = Section::default();
    let names: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let mut out = BTreeMap::new();
    for name in names {
        let a = ours.get(name).unwrap_or(&empty);
        let b = theirs.get(name).unwrap_or(&empty);
        let mut d = Difference {
            theirs_paths: b.paths.len(),
            theirs_values: b.paths.values().map(|l| l.values.len()).sum(),
            dangling_theirs: b.dangling_required.iter().cloned().collect(),
            ..Difference::default()
        };
        for (path, leaf) in &b.paths {
            match a.paths.get(path) {
                None => match left_out(a, path) {
                    Some(why) => d.left_out.push(format!("{path}: {why}")),
                    None => d.only_theirs.push(path.clone()),
                },
                Some(mine) => {
                    for v in leaf.values.difference(&mine.values) {
                        d.values_only_theirs.push(format!("{path}: {v}"));
                    }
                    for v in mine.values.difference(&leaf.values) {
                        d.values_only_ours.push(format!("{path}: {v}"));
                    }
                    if leaf.required != mine.required {
                        let who = if leaf.required { "theirs" } else { "ours" };
                        d.required.push(format!("{path}: required by {who} only"));
                    }
                }
            }
        }
        for path in a.paths.keys() {
            if !b.paths.contains_key(path) {
                d.only_ours.push(path.clone());
            }
        }
        out.insert(name.clone(), d);
    }
    out
}

/// Why ours leaves `path` (or a path above it) out, if it says so.
fn left_out<'a>(ours: &'a Section, path: &str) -> Option<&'a String> {
    ours.left_out.iter().find_map(|(at, why)| {
        let below = path
            .strip_prefix(at.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        below.then_some(why)
    })
}

/// Totals over the events and operations Sinch's document has.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub paths: usize,
    pub paths_lacking: usize,
    pub paths_left_out: usize,
    pub values: usize,
    pub values_lacking: usize,
}

pub fn totals(diff: &BTreeMap<String, Difference>) -> Totals {
    let mut t = Totals::default();
    for d in diff.values() {
        t.paths += d.theirs_paths;
        t.paths_lacking += d.only_theirs.len();
        t.paths_left_out += d.left_out.len();
        t.values += d.theirs_values;
        t.values_lacking += d.values_only_theirs.len();
    }
    t
}

/// The report `cargo xtask spec-diff` prints.
pub fn report(diff: &BTreeMap<String, Difference>, theirs_name: &str) -> String {
    let mut out = String::new();
    let list = |out: &mut String, title: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(out, "  {title} ({}):", items.len());
            for item in items {
                let _ = writeln!(out, "    {item}");
            }
        }
    };
    for (name, d) in diff {
        let quiet = d.only_theirs.is_empty()
            && d.only_ours.is_empty()
            && d.values_only_theirs.is_empty()
            && d.values_only_ours.is_empty()
            && d.required.is_empty()
            && d.dangling_theirs.is_empty()
            && d.left_out.is_empty();
        let covered = d.theirs_paths - d.only_theirs.len() - d.left_out.len();
        let _ = writeln!(
            out,
            "{name}: {covered}/{} paths{}",
            d.theirs_paths,
            if quiet { ", the same" } else { "" }
        );
        list(&mut out, &format!("only in {theirs_name}"), &d.only_theirs);
        list(
            &mut out,
            "enum values only in theirs",
            &d.values_only_theirs,
        );
        list(&mut out, "left out on purpose (x-left-out)", &d.left_out);
        list(&mut out, "only in ours", &d.only_ours);
        list(&mut out, "enum values only in ours", &d.values_only_ours);
        list(&mut out, "required differs", &d.required);
        list(
            &mut out,
            "theirs requires names that are not properties there",
            &d.dangling_theirs,
        );
    }
    let t = totals(diff);
    let percent = |have: usize, of: usize| {
        if of == 0 {
            100.0
        } else {
            100.0 * have as f64 / of as f64
        }
    };
    let covered = t.paths - t.paths_lacking - t.paths_left_out;
    let _ = writeln!(
        out,
        "\ncoverage: {covered}/{} property paths ({:.1}%; {} left out on purpose, {} lacking), {}/{} enum values ({:.1}%)",
        t.paths,
        percent(covered, t.paths),
        t.paths_left_out,
        t.paths_lacking,
        t.values - t.values_lacking,
        t.values,
        percent(t.values - t.values_lacking, t.values),
    );
    out
}
