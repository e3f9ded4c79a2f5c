//! A stable key per callback, built from Sinch's own ids, to recognise a
//! callback delivered again (Sinch delivers at least once and retries).
use std::fmt::Write as _;

use super::{CallbackEvent, Event};

impl CallbackEvent {
    /// A key that is the same for every delivery of one event (a retry, a
    /// duplicate) and differs between events: deduplicate on it.
    ///
    /// It starts with the trigger (or the unknown key) and is built from
    /// Sinch's own ids, one rule per trigger:
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
    /// missing, gets `<key>:sha256:<digest>` of the whole event as parsed:
    /// Sinch resends the same body, so a repeat gets the same key. The
    /// nonce is never part of the key: a retry is signed afresh.
    ///
    /// ```
    /// use sinch_conversation::events;
    ///
    /// let body = br#"{"app_id":"a","project_id":"p","message_delivery_report":
    ///     {"message_id":"01M","status":"DELIVERED","channel_identity":{"channel":"WHATSAPP"}}}"#;
    /// let key = events::parse(body)?.idempotency_key();
    /// assert_eq!(key, "MESSAGE_DELIVERY:01M:DELIVERED:WHATSAPP");
    /// # Ok::<(), events::ParseError>(())
    /// ```
    pub fn idempotency_key(&self) -> String {
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
        match parts {
            Some(parts) => format!("{name}:{}", parts.join(":")),
            None => format!("{name}:sha256:{}", self.digest()),
        }
    }

    /// The first 128 bits of SHA-256 of the event serialised, in hex.
    fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let mut hex = String::with_capacity(32);
        for byte in &digest.as_ref()[..16] {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
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
        parse(body.as_bytes()).unwrap().idempotency_key()
    }

    fn envelope(inner: &str) -> String {
        format!(
            r#"{{"app_id":"a","project_id":"p","accepted_time":"2026-01-02T03:04:05Z",{inner}}}"#
        )
    }

    #[test]
    fn each_trigger_is_keyed_by_sinchs_own_ids() {
        let cases = [
            (r#""message":{"id":"M1"}"#, "MESSAGE_INBOUND:M1"),
            (
                r#""message_redaction":{"id":"M1"}"#,
                "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION:M1",
            ),
            (
                r#""message_delivery_report":{"message_id":"M1","status":"FAILED"}"#,
                "MESSAGE_DELIVERY:M1:FAILED",
            ),
            (
                r#""message_submit_notification":{"message_id":"M1","channel_identity":{"channel":"SMS"}}"#,
                "MESSAGE_SUBMIT:M1:SMS",
            ),
            (r#""event":{"id":"E1"}"#, "EVENT_INBOUND:E1"),
            (
                r#""event_delivery_report":{"event_id":"E1","status":"DELIVERED"}"#,
                "EVENT_DELIVERY:E1:DELIVERED",
            ),
            (
                r#""conversation_stop_notification":{"conversation":{"id":"C1"}}"#,
                "CONVERSATION_STOP:C1",
            ),
            (
                r#""contact_create_notification":{"contact":{"id":"K1"}}"#,
                "CONTACT_CREATE:K1",
            ),
            (
                r#""contact_update_notification":{"contact":{"id":"K1"}}"#,
                "CONTACT_UPDATE:K1:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""contact_merge_notification":{"preserved_contact":{"id":"K1"},"deleted_contact":{"id":"K2"}}"#,
                "CONTACT_MERGE:K1:K2",
            ),
            (
                r#""duplicated_contact_identities_notification":{"duplicated_identities":[{"contact_ids":["K2","K1"]},{"contact_ids":["K1"]}]}"#,
                "CONTACT_IDENTITIES_DUPLICATION:K1,K2:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""capability_notification":{"request_id":"R1"}"#,
                "CAPABILITY:R1",
            ),
            (r#""opt_in_notification":{"request_id":"R1"}"#, "OPT_IN:R1"),
            (
                r#""opt_out_notification":{"request_id":"R1"}"#,
                "OPT_OUT:R1",
            ),
            (
                r#""channel_event_notification":{"channel_event":{"channel":"WHATSAPP","event_type":"QUALITY"}}"#,
                "CHANNEL_EVENT:WHATSAPP:QUALITY:2026-01-02T03:04:05+00:00",
            ),
            (
                r#""smart_conversation_notification":{"message_id":"M1"}"#,
                "SMART_CONVERSATION:M1",
            ),
            (
                r#""record_notification":{"entity_id":"X1","record_status":"DONE"}"#,
                "RECORD_NOTIFICATION:X1:DONE",
            ),
            (r#""unsupported_callback":{"id":"U1"}"#, "UNSUPPORTED:U1"),
        ];
        for (inner, expected) in cases {
            assert_eq!(key(&envelope(inner)), expected, "{inner}");
        }
    }

    #[test]
    fn without_ids_the_key_is_a_digest_of_the_event() {
        let a = key(&envelope(r#""message":{"contact_id":"K1"}"#));
        assert!(a.starts_with("MESSAGE_INBOUND:sha256:"), "{a}");
        assert_eq!(a.len(), "MESSAGE_INBOUND:sha256:".len() + 32);
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
            newer.starts_with("shiny_new_notification:sha256:"),
            "{newer}"
        );
    }
}
