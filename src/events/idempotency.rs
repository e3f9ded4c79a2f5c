//! A stable key per callback, built from Sinch's own ids, to recognise a
//! callback delivered again (Sinch delivers at least once and retries).
use std::fmt::Write as _;

use super::{CallbackEvent, Event};

impl CallbackEvent {
    /// A key that is the same for every delivery of one event (a retry, a
    /// duplicate) and differs between events: deduplicate on it. `body` is
    /// the body this event was parsed from, as received.
    ///
    /// It is `<project_id>/<app_id>/` (so that the events of two apps, or
    /// two projects, never share a key), then the trigger (or the unknown
    /// key), then Sinch's own ids, one rule per trigger:
    ///
    /// | trigger | key from |
    /// |---|---|
    /// | MESSAGE_INBOUND, MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION | the inbound message's `id` |
    /// | MESSAGE_DELIVERY | `message_id`, `status` and the channel when given (a message may be reported on more than one channel) |
    /// | MESSAGE_SUBMIT | `message_id` and the channel when given |
    /// | EVENT_INBOUND | the inbound event's `id` |
    /// | EVENT_DELIVERY | `event_id`, `status` and the channel when given |
    /// | CONVERSATION_START, CONVERSATION_STOP, CONVERSATION_DELETE | the conversation's `id` |
    /// | CONTACT_CREATE, CONTACT_DELETE | the contact's `id` |
    /// | CONTACT_UPDATE | the contact's `id` and `accepted_time` (a contact is updated many times) |
    /// | CONTACT_MERGE | the preserved and the deleted contact's `id` |
    /// | CONTACT_IDENTITIES_DUPLICATION | every channel's `contact_ids` and `accepted_time` |
    /// | CAPABILITY, OPT_IN, OPT_OUT | `request_id` (Sinch: "can be used to detect duplicates") |
    /// | CHANNEL_EVENT | the channel, `event_type` and `accepted_time` |
    /// | SMART_CONVERSATION | `message_id` |
    /// | RECORD_NOTIFICATION | `entity_id` and `record_status` |
    /// | UNSUPPORTED | its `id` |
    ///
    /// A trigger this crate does not know, or a known one whose ids are
    /// missing, gets `sha256:<digest>` of the whole body as received, in
    /// canonical form: key order and whitespace do not count, every field
    /// does, those this crate does not know included. Sinch resends the
    /// same body, so a repeat gets the same key. The nonce is never part of
    /// the key: a retry is signed afresh.
    ///
    /// ```
    /// use sinch_conversation::events;
    ///
    /// let body = br#"{"app_id":"a","project_id":"p","message_delivery_report":
    ///     {"message_id":"01M","status":"DELIVERED","channel_identity":{"channel":"WHATSAPP"}}}"#;
    /// let key = events::parse(body)?.idempotency_key(body);
    /// assert_eq!(key, "p/a/MESSAGE_DELIVERY:01M:DELIVERED:WHATSAPP");
    /// # Ok::<(), events::ParseError>(())
    /// ```
    pub fn idempotency_key(&self, body: &[u8]) -> String {
        let accepted = || self.accepted_time.map(|t| t.to_rfc3339());
        let parts: Option<Vec<String>> = match &self.event {
            Event::MessageInbound(m) | Event::MessageInboundSmartConversationRedaction(m) => {
                all([m.id.clone()])
            }
            Event::MessageDelivery(r) => all([
                r.message_id.clone(),
                r.status.as_ref().map(ToString::to_string),
            ])
            .map(|parts| with_channel(parts, r.channel_identity.as_ref())),
            Event::MessageSubmit(s) => {
                all([s.message_id.clone()]).map(|p| with_channel(p, s.channel_identity.as_ref()))
            }
            Event::EventInbound(e) => all([e.id.clone()]),
            Event::EventDelivery(r) => all([
                r.event_id.clone(),
                r.status.as_ref().map(ToString::to_string),
            ])
            .map(|parts| with_channel(parts, r.channel_identity.as_ref())),
            Event::ConversationStart(n)
            | Event::ConversationStop(n)
            | Event::ConversationDelete(n) => {
                all([n.conversation.as_ref().and_then(|c| c.id.clone())])
            }
            Event::ContactCreate(n) | Event::ContactDelete(n) => {
                all([n.contact.as_ref().and_then(|c| c.id.clone())])
            }
            Event::ContactUpdate(n) => {
                all([n.contact.as_ref().and_then(|c| c.id.clone()), accepted()])
            }
            Event::ContactMerge(n) => all([
                n.preserved_contact.as_ref().and_then(|c| c.id.clone()),
                n.deleted_contact.as_ref().and_then(|c| c.id.clone()),
            ]),
            Event::ContactIdentitiesDuplication(n) => {
                let mut ids: Vec<&str> = n
                    .duplicated_identities
                    .iter()
                    .flat_map(|d| d.contact_ids.iter().map(String::as_str))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let ids = (!ids.is_empty()).then(|| ids.join(","));
                all([ids, accepted()])
            }
            Event::Capability(n) => all([n.request_id.clone()]),
            Event::OptIn(n) => all([n.request_id.clone()]),
            Event::OptOut(n) => all([n.request_id.clone()]),
            Event::ChannelEvent(n) => {
                let event = n.channel_event.as_ref();
                all([
                    event
                        .and_then(|e| e.channel.as_ref())
                        .map(ToString::to_string),
                    event.and_then(|e| e.event_type.clone()),
                    accepted(),
                ])
            }
            Event::SmartConversation(n) => all([n.message_id.clone()]),
            Event::RecordNotification(n) => all([
                n.entity_id.clone(),
                n.record_status.as_ref().map(|s| s.as_str().to_owned()),
            ]),
            Event::Unsupported(n) => all([n.id.clone()]),
            _ => None,
        };
        let name = match self.trigger() {
            Some(trigger) => trigger.to_string(),
            None => self.event.key().to_owned(),
        };
        let (project, app) = (&self.project_id, &self.app_id);
        match parts {
            Some(parts) => format!("{project}/{app}/{name}:{}", parts.join(":")),
            None => format!("{project}/{app}/{name}:sha256:{}", digest(body)),
        }
    }
}

/// The first 128 bits of SHA-256 of `body` in canonical JSON, in hex. A
/// body that is not JSON (it cannot be: it parsed) is digested as is.
fn digest(body: &[u8]) -> String {
    let mut canonical = Vec::with_capacity(body.len());
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => canonical_json(&value, &mut canonical),
        Err(_) => canonical.extend_from_slice(body),
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);
    let mut hex = String::with_capacity(32);
    for byte in &digest.as_ref()[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// `value` with every object's keys sorted and no whitespace, whatever
/// order serde_json's maps keep (`preserve_order` may be on in a build).
fn canonical_json(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                canonical_json(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Every part, or `None` when one is missing or empty.
fn all<const N: usize>(parts: [Option<String>; N]) -> Option<Vec<String>> {
    parts
        .into_iter()
        .map(|p| p.filter(|p| !p.is_empty()))
        .collect()
}

/// `parts` and the channel, when there is one.
fn with_channel(mut parts: Vec<String>, identity: Option<&super::ChannelIdentity>) -> Vec<String> {
    if let Some(channel) = identity.and_then(|i| i.channel.as_ref()) {
        parts.push(channel.to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use crate::events::parse;

    fn key(body: &str) -> String {
        parse(body.as_bytes())
            .unwrap()
            .idempotency_key(body.as_bytes())
    }

    fn envelope(inner: &str) -> String {
        format!(
            r#"{{"app_id":"a","project_id":"p","accepted_time":"2026-01-02T03:04:05Z",{inner}}}"#
        )
    }

    #[test]
    fn each_trigger_is_keyed_by_sinchs_own_ids() {
        let cases = [
            (r#""message":{"id":"M1"}"#, "p/a/MESSAGE_INBOUND:M1"),
            (
                r#""message_redaction":{"id":"M1"}"#,
                "p/a/MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION:M1",
            ),
            (
                r#""message_delivery_report":{"message_id":"M1","status":"FAILED"}"#,
                "p/a/MESSAGE_DELIVERY:M1:FAILED",
            ),
            (
                r#""message_submit_notification":{"message_id":"M1","channel_identity":{"channel":"SMS"}}"#,
                "p/a/MESSAGE_SUBMIT:M1:SMS",
            ),
            (r#""event":{"id":"E1"}"#, "p/a/EVENT_INBOUND:E1"),
            (
                r#""event_delivery_report":{"event_id":"E1","status":"DELIVERED"}"#,
                "p/a/EVENT_DELIVERY:E1:DELIVERED",
            ),
            (
                r#""conversation_stop_notification":{"conversation":{"id":"C1"}}"#,
                "p/a/CONVERSATION_STOP:C1",
            ),
            (
                r#""contact_create_notification":{"contact":{"id":"K1"}}"#,
                "p/a/CONTACT_CREATE:K1",
            ),
            (
                r#""contact_update_notification":{"contact":{"id":"K1"}}"#,
                "p/a/CONTACT_UPDATE:K1:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""contact_merge_notification":{"preserved_contact":{"id":"K1"},"deleted_contact":{"id":"K2"}}"#,
                "p/a/CONTACT_MERGE:K1:K2",
            ),
            (
                r#""duplicated_contact_identities_notification":{"duplicated_identities":[{"contact_ids":["K2","K1"]},{"contact_ids":["K1"]}]}"#,
                "p/a/CONTACT_IDENTITIES_DUPLICATION:K1,K2:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""capability_notification":{"request_id":"R1"}"#,
                "p/a/CAPABILITY:R1",
            ),
            (
                r#""opt_in_notification":{"request_id":"R1"}"#,
                "p/a/OPT_IN:R1",
            ),
            (
                r#""opt_out_notification":{"request_id":"R1"}"#,
                "p/a/OPT_OUT:R1",
            ),
            (
                r#""channel_event_notification":{"channel_event":{"channel":"WHATSAPP","event_type":"QUALITY"}}"#,
                "p/a/CHANNEL_EVENT:WHATSAPP:QUALITY:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""smart_conversation_notification":{"message_id":"M1"}"#,
                "p/a/SMART_CONVERSATION:M1",
            ),
            (
                r#""record_notification":{"entity_id":"X1","record_status":"DONE"}"#,
                "p/a/RECORD_NOTIFICATION:X1:DONE",
            ),
            (
                r#""unsupported_callback":{"id":"U1"}"#,
                "p/a/UNSUPPORTED:U1",
            ),
        ];
        for (inner, expected) in cases {
            assert_eq!(key(&envelope(inner)), expected, "{inner}");
        }
    }

    #[test]
    fn without_ids_the_key_is_a_digest_of_the_event() {
        let a = key(&envelope(r#""message":{"contact_id":"K1"}"#));
        assert!(a.starts_with("p/a/MESSAGE_INBOUND:sha256:"), "{a}");
        assert_eq!(a.len(), "p/a/MESSAGE_INBOUND:sha256:".len() + 32);
        // Whitespace and field order do not matter; content does.
        assert_eq!(
            a,
            key(
                r#"{ "message": {"contact_id": "K1"}, "project_id":"p", "app_id":"a", "accepted_time":"2026-01-02T03:04:05Z"}"#
            )
        );
        assert_ne!(a, key(&envelope(r#""message":{"contact_id":"K2"}"#)));
        let newer = key(&envelope(r#""shiny_new_notification":{"x":1}"#));
        assert!(
            newer.starts_with("p/a/shiny_new_notification:sha256:"),
            "{newer}"
        );
        // A field this crate does not know counts: two events differing
        // only there are two events.
        assert_ne!(
            a,
            key(&envelope(r#""message":{"contact_id":"K1","new_field":1}"#))
        );
        assert_ne!(newer, key(&envelope(r#""shiny_new_notification":{"x":2}"#)));
        // Nested key order does not count either.
        assert_eq!(
            key(&envelope(
                r#""shiny_new_notification":{"x":1,"y":{"b":[1,{"d":2,"c":3}],"a":null}}"#
            )),
            key(&envelope(
                r#""shiny_new_notification":{"y":{"a":null,"b":[1,{"c":3,"d":2}]},"x":1}"#
            ))
        );
    }

    #[test]
    fn keys_are_scoped_to_the_project_and_the_app() {
        let channel = r#""channel_event_notification":{"channel_event":{"channel":"WHATSAPP","event_type":"QUALITY"}}"#;
        let a = key(&envelope(channel));
        let b = key(&envelope(channel).replace(r#""app_id":"a""#, r#""app_id":"b""#));
        let c = key(&envelope(channel).replace(r#""project_id":"p""#, r#""project_id":"q""#));
        assert_eq!(
            a,
            "p/a/CHANNEL_EVENT:WHATSAPP:QUALITY:2026-01-02T03:04:05+00:00"
        );
        assert_eq!(
            b,
            "p/b/CHANNEL_EVENT:WHATSAPP:QUALITY:2026-01-02T03:04:05+00:00"
        );
        assert_eq!(
            c,
            "q/a/CHANNEL_EVENT:WHATSAPP:QUALITY:2026-01-02T03:04:05+00:00"
        );
        let dup = r#""duplicated_contact_identities_notification":{"duplicated_identities":[{"contact_ids":["K1","K2"]}]}"#;
        assert_ne!(
            key(&envelope(dup)),
            key(&envelope(dup).replace(r#""app_id":"a""#, r#""app_id":"b""#))
        );
    }
}
