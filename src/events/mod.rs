//! Typed callback events: what Sinch POSTs to a webhook's target, parsed.
//!
//! Every type here is generated from `openapi/webhooks.yaml` (the
//! `CallbackEvent` schema and what it refers to). A callback is a
//! [`CallbackEvent`]: the fields every callback shares (`app_id`,
//! `project_id`, `accepted_time`, `event_time`, `message_metadata`,
//! `correlation_id`) and an [`Event`] with one variant per trigger, told
//! apart by the one extra key the body holds (`message` for
//! MESSAGE_INBOUND, `duplicated_contact_identities_notification` for
//! CONTACT_IDENTITIES_DUPLICATION, ...).
//!
//! Verify and parse in one call with
//! [`Verifier::verify_event`](crate::callbacks::Verifier::verify_event);
//! [`parse`] parses alone, for bodies verified elsewhere.
//!
//! # Forward compatibility
//! A callback from a newer Sinch parses:
//! - a key this crate does not know, holding an object, is
//!   [`Event::Unknown`] with the key and its JSON as received (the same for
//!   content: [`ContactMessageContent::Unknown`] holds a kind of message
//!   newer than the crate);
//! - fields this crate does not know are ignored; every field it knows may be
//!   missing or `null` (`None`, or an empty list), except `app_id` and
//!   `project_id`;
//! - enum values it does not know are kept, as `Unknown(String)`.
//!
//! What is an error ([`ParseError`]): a body that is not a JSON object; no
//! identifying key (neither a known one nor exactly one unknown key holding
//! an object); two known identifying keys (Sinch sends exactly one, and
//! picking one would mislabel the event); a field holding the wrong JSON
//! type; a shared field given twice.
//!
//! ```
//! use sinch_conversation::events::{self, ContactMessageContent, Event};
//! use sinch_conversation::WebhookTrigger;
//!
//! let body = br#"{
//!   "app_id": "01EB37HMH1M6SV18ASNS3G135H",
//!   "project_id": "c36f3d3d-1513-4edd-ae42-11995557ff61",
//!   "accepted_time": "2026-11-17T16:05:51.724083123Z",
//!   "message": {
//!     "id": "01EQBC1A3BEK731GY4YXEN0C2R",
//!     "contact_message": {"text_message": {"text": "Hello"}},
//!     "processing_mode": "CONVERSATION"
//!   }
//! }"#;
//! let callback = events::parse(body)?;
//! assert_eq!(callback.event.trigger(), Some(WebhookTrigger::MessageInbound));
//! match &callback.event {
//!     Event::MessageInbound(message) => {
//!         let content = message.contact_message.as_ref().map(|m| &m.content);
//!         assert!(matches!(content, Some(ContactMessageContent::TextMessage(t)) if t.text.as_deref() == Some("Hello")));
//!     }
//!     other => panic!("{other:?}"),
//! }
//!
//! // A trigger newer than this crate: its key and JSON, not an error.
//! let newer = events::parse(br#"{"app_id":"a","project_id":"p","shiny_new_notification":{"x":1}}"#)?;
//! assert!(matches!(&newer.event, Event::Unknown(u) if u.key == "shiny_new_notification" && u.json.get() == r#"{"x":1}"#));
//! assert_eq!(newer.event.trigger(), None);
//! # Ok::<(), sinch_conversation::events::ParseError>(())
//! ```
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub(crate) mod de;
mod idempotency;

pub use crate::generated::callback_types::*;
pub use chrono::{DateTime, Utc};

/// Parses a callback body (the raw bytes received) into a typed event,
/// without checking its signature: for receivers that verify elsewhere.
/// Prefer [`Verifier::verify_event`](crate::callbacks::Verifier::verify_event).
pub fn parse(body: &[u8]) -> Result<CallbackEvent, ParseError> {
    serde_json::from_slice(body).map_err(|error| ParseError::new(body, error))
}

impl CallbackEvent {
    /// The trigger that fired; `None` for an identifying key this version
    /// of the crate does not know ([`Event::Unknown`]).
    pub fn trigger(&self) -> Option<crate::WebhookTrigger> {
        self.event.trigger()
    }
}

/// A key this version of the crate does not know, with its JSON exactly as
/// received. Parse it with [`RawJson::parse`] when you know its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownKey {
    /// The key, e.g. the identifying key of a trigger newer than the crate.
    pub key: String,
    /// Its value.
    pub json: RawJson,
}

/// A JSON value kept as the text received: nothing is lost or reordered,
/// and nothing is parsed until asked. Free-form objects (a conversation's
/// `metadata_json`, a generic event's `payload`, Smart Conversations'
/// results, ...) are kept so: parsing them into maps would take 20-25
/// times their size in memory.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses it into `T` (e.g. `serde_json::Value`, or your own type).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// Compared as text: `{"a":1}` and `{ "a": 1 }` differ.
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl serde::Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for RawJson {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawJson".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Free-form objects and unknown keys' values, which are objects.
        schemars::json_schema!({ "type": "object", "description": "A JSON object, kept as received." })
    }
}

/// Why a body is not a callback event this crate can read. Shows where in
/// the body (a JSON path) and what was wrong; see the [module
/// docs](self#forward-compatibility) for what is and is not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    path: String,
    message: String,
}

impl ParseError {
    fn new(body: &[u8], error: serde_json::Error) -> Self {
        // Errors are rare: find the path by parsing again, so the common
        // case does not pay for tracking it.
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let (path, message) =
            match serde_path_to_error::deserialize::<_, CallbackEvent>(&mut deserializer) {
                Err(e) => (e.path().to_string(), e.into_inner().to_string()),
                Ok(_) => (".".to_owned(), error.to_string()),
            };
        Self { path, message }
    }

    /// Where in the body: a JSON path such as `message.contact_message`, or
    /// `.` for the body itself.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a Sinch callback event (at {}): {}",
            self.path, self.message
        )
    }
}

impl std::error::Error for ParseError {}
