//! Typed callback events: a corpus of realistic bodies (one or more per
//! trigger, written from Sinch's documented shapes) parsed to their
//! variants with their fields checked, and what is and is not an error.
use sinch_conversation::WebhookTrigger;
use sinch_conversation::callbacks::{CallbackError, Signer, Verifier, VerifyError};
use sinch_conversation::events::{
    self, AppMessageKind, CallbackEvent, CapabilityStatus, ContactEventKind, ContactLanguage,
    ContactMessageContent, ContactMessageEventKind, ConversationChannel, ConversationDirection,
    DeliveryStatus, Event, OptInStatus, OptOutStatus, ProcessingMode, ReactionAction, ReasonCode,
    ReasonSubCode, Sentiment,
};

fn corpus(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/corpus/events/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> CallbackEvent {
    events::parse(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const APP: &str = "01EB37HMH1M6SV18ASNS3G135H";
const PROJECT: &str = "c36f3d3d-1513-4edd-ae42-11995557ff61";

#[test]
fn message_inbound_text_with_every_shared_field() {
    let event = parse("message_inbound_text");
    assert_eq!(event.app_id, APP);
    assert_eq!(event.project_id, PROJECT);
    // Nine fractional digits, kept to the nanosecond.
    let accepted = event.accepted_time.expect("accepted_time");
    assert_eq!(accepted.to_rfc3339(), "2026-11-17T16:05:51.724083123+00:00");
    assert_eq!(accepted.timestamp_subsec_nanos(), 724_083_123);
    assert_eq!(event.event_time.map(|t| t.timestamp()), Some(1_794_931_545));
    assert_eq!(event.message_metadata.as_deref(), Some(""));
    assert_eq!(event.correlation_id.as_deref(), Some(""));
    assert_eq!(event.trigger(), Some(WebhookTrigger::MessageInbound));
    assert_eq!(event.event.key(), "message");
    let Event::MessageInbound(message) = &event.event else {
        panic!("{:?}", event.event)
    };
    assert_eq!(message.id.as_deref(), Some("01EQBC1A3BEK731GY4YXEN0C2R"));
    assert_eq!(message.direction, Some(ConversationDirection::ToApp));
    assert_eq!(message.processing_mode, Some(ProcessingMode::Conversation));
    assert_eq!(message.injected, Some(false));
    assert_eq!(
        message.contact_id.as_deref(),
        Some("01EQBC1A3BEK731GY4YXEN0C2S")
    );
    let identity = message.channel_identity.as_ref().expect("channel_identity");
    assert_eq!(identity.channel, Some(ConversationChannel::Messenger));
    assert_eq!(identity.identity.as_deref(), Some("2742085512340733"));
    assert_eq!(identity.app_id.as_deref(), Some(APP));
    let content = message.contact_message.as_ref().expect("contact_message");
    assert_eq!(content.reply_to, None);
    match &content.content {
        ContactMessageContent::TextMessage(text) => {
            assert_eq!(text.text.as_deref(), Some("Hej, är ni öppna idag?"))
        }
        other => panic!("{other:?}"),
    }
}

fn inbound(name: &str) -> sinch_conversation::events::ContactMessage {
    match parse(name).event {
        Event::MessageInbound(m) => m.contact_message.expect("contact_message"),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn message_inbound_media_with_reply_to() {
    let message = inbound("message_inbound_media");
    assert_eq!(
        message.reply_to.and_then(|r| r.message_id).as_deref(),
        Some("01EQBC0ZZZZZZZZZZZZZZZZZZZ")
    );
    let ContactMessageContent::MediaMessage(media) = message.content else {
        panic!("{:?}", message.content)
    };
    assert_eq!(
        media.url.as_deref(),
        Some("https://media.example.com/01EQBC2R5Q.jpg")
    );
    assert_eq!(
        media.thumbnail_url.as_deref(),
        Some("https://media.example.com/01EQBC2R5Q-thumb.jpg")
    );
    assert_eq!(media.filename_override, None);
}

#[test]
fn message_inbound_location_in_dispatch_mode() {
    let event = parse("message_inbound_location");
    let Event::MessageInbound(m) = &event.event else {
        panic!()
    };
    assert_eq!(m.processing_mode, Some(ProcessingMode::Dispatch));
    assert_eq!(m.contact_id.as_deref(), Some(""));
    assert_eq!(event.correlation_id, None, "absent optional field");
    let Some(ContactMessageContent::LocationMessage(location)) =
        m.contact_message.as_ref().map(|c| &c.content)
    else {
        panic!("{m:?}")
    };
    let point = location.coordinates.as_ref().expect("coordinates");
    assert_eq!(
        (point.latitude, point.longitude),
        (Some(59.3293), Some(18.0686))
    );
    assert_eq!(location.title.as_deref(), Some("Stockholm"));
    assert_eq!(location.label.as_deref(), Some("Drottninggatan 1"));
}

#[test]
fn message_inbound_choice_response() {
    let event = parse("message_inbound_choice");
    assert_eq!(event.correlation_id.as_deref(), Some("booking-42"));
    assert_eq!(
        event.message_metadata.as_deref(),
        Some(r#"{"campaign":"autumn"}"#)
    );
    assert_eq!(
        event.accepted_time.map(|t| t.timestamp_subsec_nanos()),
        Some(1)
    );
    let ContactMessageContent::ChoiceResponseMessage(choice) =
        inbound("message_inbound_choice").content
    else {
        panic!()
    };
    assert_eq!(
        choice.message_id.as_deref(),
        Some("01EQBC48R7TQ2W9G6H1MJK3V0D")
    );
    assert_eq!(
        choice.postback_data.as_deref(),
        Some("appointment:confirm:42")
    );
}

#[test]
fn a_media_card_is_typed() {
    let ContactMessageContent::MediaCardMessage(card) =
        inbound("message_inbound_media_card").content
    else {
        panic!()
    };
    assert_eq!(
        card.url.as_deref(),
        Some("https://media.example.com/card.png")
    );
    assert_eq!(card.caption.as_deref(), Some("Look at this"));
}

#[test]
fn other_content_kinds_keep_their_key_and_json() {
    let body = br#"{"app_id":"a","project_id":"p","message":{"contact_message":{"hologram_message":{"url":"https://media.example.com/h.glb","depth":3}}}}"#;
    let Event::MessageInbound(message) = events::parse(body).expect("parses").event else {
        panic!()
    };
    let ContactMessageContent::Unknown(other) = message.contact_message.expect("content").content
    else {
        panic!()
    };
    assert_eq!(other.key, "hologram_message");
    assert_eq!(
        other.json.get(),
        r#"{"url":"https://media.example.com/h.glb","depth":3}"#
    );
    let value: serde_json::Value = other.json.parse().expect("valid JSON");
    assert_eq!(value["depth"], 3);
}

#[test]
fn redaction_has_the_message_shape() {
    let event = parse("message_inbound_smart_conversation_redaction");
    assert_eq!(
        event.trigger(),
        Some(WebhookTrigger::MessageInboundSmartConversationRedaction)
    );
    let Event::MessageInboundSmartConversationRedaction(m) = event.event else {
        panic!()
    };
    let Some(ContactMessageContent::TextMessage(t)) = m.contact_message.map(|c| c.content) else {
        panic!()
    };
    assert_eq!(t.text.as_deref(), Some("My card number is {CREDIT_CARD}"));
}

#[test]
fn message_delivery_failed_with_reason() {
    let event = parse("message_delivery");
    assert_eq!(event.trigger(), Some(WebhookTrigger::MessageDelivery));
    assert_eq!(event.correlation_id.as_deref(), Some("c-77"));
    let Event::MessageDelivery(report) = event.event else {
        panic!()
    };
    assert_eq!(
        report.message_id.as_deref(),
        Some("01EQBC7C3KQ0V8N4G1W6Y2Z9RT")
    );
    assert_eq!(report.status, Some(DeliveryStatus::Failed));
    assert_eq!(report.metadata.as_deref(), Some("order-1234"));
    let reason = report.reason.expect("reason");
    assert_eq!(reason.code, Some(ReasonCode::RecipientNotReachable));
    assert_eq!(reason.sub_code, Some(ReasonSubCode::UnspecifiedSubCode));
    assert!(
        reason
            .description
            .is_some_and(|d| d.contains("Unable to find a route"))
    );
    assert_eq!(
        report.channel_identity.and_then(|c| c.channel),
        Some(ConversationChannel::Sms)
    );

    let Event::MessageDelivery(queued) = parse("message_delivery_queued").event else {
        panic!()
    };
    assert_eq!(queued.status, Some(DeliveryStatus::QueuedOnChannel));
    assert_eq!(queued.reason, None);
    assert_eq!(queued.processing_mode, Some(ProcessingMode::Dispatch));
}

#[test]
fn message_submit() {
    let Event::MessageSubmit(submit) = parse("message_submit").event else {
        panic!()
    };
    assert_eq!(
        submit.message_id.as_deref(),
        Some("01EQBC7C3KQ0V8N4G1W6Y2Z9RT")
    );
    // The submitted message is typed: an app message of any kind.
    match submit.submitted_message.and_then(|m| m.kind) {
        Some(AppMessageKind::TextMessage(text)) => {
            assert_eq!(text.text.as_deref(), Some("Your order has shipped"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn event_inbound_contact_event_and_contact_message_event() {
    let Event::EventInbound(composing) = parse("event_inbound_composing").event else {
        panic!()
    };
    assert_eq!(composing.id.as_deref(), Some("01EQBC8D"));
    assert!(matches!(
        composing.contact_event.map(|e| e.kind),
        Some(ContactEventKind::ComposingEvent(_))
    ));
    assert_eq!(composing.contact_message_event, None);

    let Event::EventInbound(reaction) = parse("event_inbound_reaction").event else {
        panic!()
    };
    let Some(ContactMessageEventKind::ReactionEvent(r)) =
        reaction.contact_message_event.map(|e| e.kind)
    else {
        panic!()
    };
    assert_eq!(r.emoji.as_deref(), Some("👍"));
    assert_eq!(r.action, Some(ReactionAction::ReactionActionReact));
    assert_eq!(r.message_id.as_deref(), Some("01EQBC7C3KQ0V8N4G1W6Y2Z9RT"));
}

#[test]
fn event_delivery() {
    let Event::EventDelivery(report) = parse("event_delivery").event else {
        panic!()
    };
    assert_eq!(report.event_id.as_deref(), Some("01EQBC9F"));
    assert_eq!(report.status, Some(DeliveryStatus::Delivered));
}

#[test]
fn conversation_notifications() {
    for (name, trigger, active) in [
        (
            "conversation_start",
            WebhookTrigger::ConversationStart,
            true,
        ),
        ("conversation_stop", WebhookTrigger::ConversationStop, false),
        (
            "conversation_delete",
            WebhookTrigger::ConversationDelete,
            false,
        ),
    ] {
        let event = parse(name);
        assert_eq!(event.trigger(), Some(trigger), "{name}");
        let notification = match event.event {
            Event::ConversationStart(n)
            | Event::ConversationStop(n)
            | Event::ConversationDelete(n) => n,
            other => panic!("{name}: {other:?}"),
        };
        let conversation = notification.conversation.expect("conversation");
        assert_eq!(
            conversation.id.as_deref(),
            Some("01EQBC1A3BEK731GY4YXEN0C2R")
        );
        assert_eq!(conversation.active, Some(active), "{name}");
        assert_eq!(
            conversation.active_channel,
            Some(ConversationChannel::Whatsapp)
        );
        assert_eq!(
            conversation
                .last_received
                .map(|t| t.timestamp_subsec_micros()),
            Some(724_083)
        );
        assert_eq!(json(conversation.metadata_json.as_ref())["tier"], "gold");
    }
}

#[test]
fn contact_notifications() {
    for (name, trigger) in [
        ("contact_create", WebhookTrigger::ContactCreate),
        ("contact_delete", WebhookTrigger::ContactDelete),
        ("contact_update", WebhookTrigger::ContactUpdate),
    ] {
        let event = parse(name);
        assert_eq!(event.trigger(), Some(trigger.clone()), "{name}");
        let notification = match event.event {
            Event::ContactCreate(n) | Event::ContactDelete(n) | Event::ContactUpdate(n) => n,
            other => panic!("{name}: {other:?}"),
        };
        let contact = notification.contact.expect("contact");
        assert_eq!(contact.id.as_deref(), Some("01EQBC1A3BEK731GY4YXEN0C2S"));
        assert_eq!(contact.channel_identities.len(), 2);
        assert_eq!(
            contact.channel_priority,
            [
                ConversationChannel::Whatsapp,
                ConversationChannel::Messenger
            ]
        );
        assert_eq!(contact.language, Some(ContactLanguage::EnUs));
        let suffix = name.trim_start_matches("contact_");
        assert_eq!(contact.display_name, Some(format!("Ada ({suffix})")));
    }
}

#[test]
fn contact_merge() {
    let Event::ContactMerge(merge) = parse("contact_merge").event else {
        panic!()
    };
    let preserved = merge.preserved_contact.expect("preserved");
    let deleted = merge.deleted_contact.expect("deleted");
    assert_eq!(preserved.id.as_deref(), Some("01EQBC1A3BEK731GY4YXEN0C2S"));
    assert_eq!(deleted.id.as_deref(), Some("01EQBCA0DELETEDCONTACT00000"));
    assert_eq!(preserved.channel_identities.len(), 2);
    assert!(deleted.channel_priority.is_empty(), "absent list is empty");
}

#[test]
fn contact_identities_duplication_under_its_real_key() {
    let event = parse("contact_identities_duplication");
    assert_eq!(
        event.trigger(),
        Some(WebhookTrigger::ContactIdentitiesDuplication)
    );
    assert_eq!(
        event.event.key(),
        "duplicated_contact_identities_notification"
    );
    assert_eq!(
        event.accepted_time.map(|t| t.timestamp_subsec_nanos()),
        Some(987_654_321)
    );
    let Event::ContactIdentitiesDuplication(dup) = event.event else {
        panic!()
    };
    assert_eq!(dup.duplicated_identities.len(), 2);
    assert_eq!(
        dup.duplicated_identities[0].channel,
        Some(ConversationChannel::Sms)
    );
    assert_eq!(dup.duplicated_identities[1].contact_ids.len(), 3);
    assert_eq!(
        dup.duplicated_identities[1].contact_ids[2],
        "01EQBCB2THIRDCONTACT000000"
    );
}

#[test]
fn capability() {
    let Event::Capability(c) = parse("capability").event else {
        panic!()
    };
    assert_eq!(c.request_id.as_deref(), Some("01EQBCC2REQ"));
    assert_eq!(c.channel, Some(ConversationChannel::Rcs));
    assert_eq!(
        c.capability_status,
        Some(CapabilityStatus::CapabilityPartial)
    );
    assert_eq!(c.channel_capabilities, ["RichCard", "ChipList"]);
    // Sinch's own `UNKNOWN` code is a known value, not the catch-all.
    assert_eq!(
        c.reason.and_then(|r| r.code),
        Some(ReasonCode::UnknownValue)
    );
}

#[test]
fn opt_in_and_opt_out() {
    let Event::OptIn(opt_in) = parse("opt_in").event else {
        panic!()
    };
    assert_eq!(opt_in.status, Some(OptInStatus::OptInSucceeded));
    assert_eq!(opt_in.identity.as_deref(), Some("46732000000"));
    assert_eq!(opt_in.error_details, None);
    let Event::OptOut(opt_out) = parse("opt_out").event else {
        panic!()
    };
    assert_eq!(opt_out.status, Some(OptOutStatus::OptOutFailed));
    assert_eq!(
        opt_out.error_details.and_then(|e| e.description).as_deref(),
        Some("The contact has no identity on the channel")
    );
}

#[test]
fn channel_event() {
    let Event::ChannelEvent(n) = parse("channel_event").event else {
        panic!()
    };
    let event = n.channel_event.expect("channel_event");
    assert_eq!(event.channel, Some(ConversationChannel::Whatsapp));
    assert_eq!(
        event.event_type.as_deref(),
        Some("WHATSAPP_QUALITY_RATING_CHANGED")
    );
    assert_eq!(
        json(event.additional_data.as_ref())["quality_rating"],
        "YELLOW"
    );
}

#[test]
fn smart_conversation() {
    let Event::SmartConversation(n) = parse("smart_conversation").event else {
        panic!()
    };
    assert_eq!(
        n.channel_identity.as_deref(),
        Some("46732000000"),
        "a string here"
    );
    let results = n.analysis_results.expect("analysis_results");
    assert_eq!(results.ml_sentiment_result.len(), 1);
    assert_eq!(
        results.ml_sentiment_result[0].sentiment,
        Some(Sentiment::Positive)
    );
    assert_eq!(
        results.ml_nlu_result[0].intent.as_deref(),
        Some("general.yes_or_agreed")
    );
    assert!(results.ml_pii_result.is_empty());
}

#[test]
fn record_notification_in_both_casings() {
    let Event::RecordNotification(snake) = parse("record_notification").event else {
        panic!()
    };
    assert_eq!(snake.entity_id.as_deref(), Some("01EQBCF5REC"));
    assert_eq!(
        snake.record_status.as_ref().map(|s| s.as_str()),
        Some("RECORD_STATUS_AVAILABLE")
    );
    assert_eq!(snake.processing_mode, Some(ProcessingMode::Conversation));
    let Event::RecordNotification(camel) = parse("record_notification_camel_case").event else {
        panic!()
    };
    assert_eq!(camel.entity_id.as_deref(), Some("01EQBCF6REC"));
    assert_eq!(
        camel.record_status.as_ref().map(|s| s.as_str()),
        Some("RECORD_STATUS_DELETED")
    );
    assert_eq!(
        camel.contact_id.as_deref(),
        Some("01EQBC1A3BEK731GY4YXEN0C2S")
    );
    assert_eq!(
        camel.conversation_id.as_deref(),
        Some("01EQBC1A3BEK731GY4YXEN0C2R")
    );
    assert_eq!(camel.processing_mode, Some(ProcessingMode::Dispatch));
    assert_eq!(
        camel.channel_identity.and_then(|c| c.channel),
        Some(ConversationChannel::Sms)
    );
}

#[test]
fn unsupported_keeps_the_channel_payload() {
    let Event::Unsupported(u) = parse("unsupported").event else {
        panic!()
    };
    let payload: serde_json::Value =
        serde_json::from_str(u.payload.as_deref().expect("payload")).expect("JSON in a string");
    assert_eq!(payload["object"], "whatsapp_business_account");
    assert_eq!(u.id.as_deref(), Some("01EQBCG7UNS"));
}

#[test]
fn a_newer_trigger_is_its_own_variant_with_key_and_json() {
    let event = parse("newer_trigger");
    assert_eq!(event.trigger(), None);
    assert_eq!(event.app_id, APP);
    let Event::Unknown(unknown) = &event.event else {
        panic!("{:?}", event.event)
    };
    assert_eq!(unknown.key, "conversation_summary_notification");
    assert_eq!(event.event.key(), "conversation_summary_notification");
    assert!(!event.event.is_known());
    let value: serde_json::Value = unknown.json.parse().expect("JSON");
    assert_eq!(value["summary"], "Ada asked about opening hours.");
}

#[test]
fn newer_fields_and_enum_values_are_kept_or_ignored() {
    let Event::MessageDelivery(report) = parse("newer_fields_and_values").event else {
        panic!()
    };
    assert_eq!(
        report.status,
        Some(DeliveryStatus::Unknown("EXPIRED_ON_CHANNEL".into()))
    );
    assert_eq!(
        report.processing_mode,
        Some(ProcessingMode::Unknown("HYBRID".into()))
    );
    let reason = report.reason.expect("reason");
    assert_eq!(
        reason.code,
        Some(ReasonCode::Unknown(
            "RECIPIENT_BLOCKED_BY_NEW_POLICY".into()
        ))
    );
    assert_eq!(
        reason.sub_code,
        Some(ReasonSubCode::Unknown("SOMETHING_NEWER".into()))
    );
    assert_eq!(
        report.channel_identity.and_then(|c| c.channel),
        Some(ConversationChannel::Unknown("NEWCHAT".into()))
    );
}

/// Every trigger the spec maps has a corpus body that parses to it.
#[test]
fn the_corpus_covers_every_trigger() {
    let dir = format!("{}/tests/corpus/events", env!("CARGO_MANIFEST_DIR"));
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let body = std::fs::read(&path).expect("read");
        let event = events::parse(&body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(trigger) = event.trigger() {
            seen.insert(trigger);
        }
    }
    let expected: Vec<WebhookTrigger> = WebhookTrigger::KNOWN
        .iter()
        .filter(|t| Event::key_of(t).is_some())
        .cloned()
        .collect();
    assert_eq!(expected.len(), Event::KEYS.len());
    assert_eq!(
        expected.len(),
        21,
        "every trigger but UNSPECIFIED_TRIGGER has a key"
    );
    for trigger in expected {
        assert!(seen.contains(&trigger), "no corpus body for {trigger}");
    }
}

#[test]
fn bodies_without_exactly_one_identifying_key_are_errors() {
    let cases: &[(&str, &str)] = &[
        (r#"{"app_id":"a","project_id":"p"}"#, "no identifying key"),
        (
            r#"{"app_id":"a","project_id":"p","new_scalar":"x"}"#,
            "no identifying key",
        ),
        (
            r#"{"app_id":"a","project_id":"p","message":{},"message_delivery_report":{}}"#,
            "two identifying keys, `message` and `message_delivery_report`",
        ),
        (
            r#"{"app_id":"a","project_id":"p","new_a":{},"new_b":{}}"#,
            "two unknown keys holding objects (`new_a` and `new_b`)",
        ),
        (
            r#"{"project_id":"p","message":{}}"#,
            "missing field `app_id`",
        ),
        (
            r#"{"app_id":"a","app_id":"b","project_id":"p","message":{}}"#,
            "duplicate field `app_id`",
        ),
        (r#"[1,2]"#, "invalid type: sequence"),
        (
            r#"{"app_id":"a","project_id":"p","message":{"injected":"yes"}}"#,
            "invalid type: string",
        ),
        (
            r#"{"app_id":"a","project_id":"p","accepted_time":"yesterday","message":{}}"#,
            "input contains invalid characters",
        ),
        ("", "EOF"),
    ];
    for (body, expected) in cases {
        let error = events::parse(body.as_bytes()).expect_err(body);
        assert!(error.to_string().contains(expected), "{body}: {error}");
    }
    // The path says where.
    let error = events::parse(br#"{"app_id":"a","project_id":"p","message":{"contact_message":{"text_message":{"text":5}}}}"#)
        .expect_err("text is a number");
    assert_eq!(error.path(), "message.contact_message.text_message.text");
}

#[test]
fn null_reads_as_absent() {
    let event = events::parse(
        br#"{"app_id":"a","project_id":"p","correlation_id":null,"accepted_time":null,"message":null,"opt_out_notification":{"status":null}}"#,
    )
    .expect("parses");
    assert_eq!((event.correlation_id, event.accepted_time), (None, None));
    assert!(matches!(event.event, Event::OptOut(n) if n.status.is_none()));
    let event = events::parse(
        br#"{"app_id":"a","project_id":"p","duplicated_contact_identities_notification":{"duplicated_identities":null},
            "conversation_start_notification":null}"#,
    )
    .expect("parses");
    assert!(
        matches!(event.event, Event::ContactIdentitiesDuplication(d) if d.duplicated_identities.is_empty())
    );
    let Event::ChannelEvent(n) = events::parse(
        br#"{"app_id":"a","project_id":"p","channel_event_notification":{"channel_event":{"additional_data":null}}}"#,
    )
    .expect("parses")
    .event
    else {
        panic!()
    };
    assert!(n.channel_event.is_some_and(|e| e.additional_data.is_none()));
    // A required field is required: `null` is not an app id.
    assert!(events::parse(br#"{"app_id":null,"project_id":"p","message":{}}"#).is_err());
}

/// From a `serde_json::Value` as well as from bytes (the JSON kept for
/// unknown keys is then `Value`'s rendering of it).
#[test]
fn parses_from_a_value_too() {
    for name in [
        "message_inbound_text",
        "newer_trigger",
        "message_inbound_media_card",
    ] {
        let value: serde_json::Value = serde_json::from_slice(&corpus(name)).expect("JSON");
        let from_value: CallbackEvent = serde_json::from_value(value.clone()).expect(name);
        let from_text = events::parse(&serde_json::to_vec(&value).expect("JSON")).expect(name);
        assert_eq!(from_value, from_text, "{name}");
    }
}

#[test]
fn a_known_key_wins_over_new_object_fields() {
    let event = events::parse(
        br#"{"new_object":{"a":1},"app_id":"a","project_id":"p","opt_in_notification":{}}"#,
    )
    .expect("parses");
    assert!(matches!(event.event, Event::OptIn(_)));
}

#[test]
fn parsed_events_serialise_back_to_equal_events() {
    for name in [
        "message_inbound_text",
        "message_inbound_media_card",
        "newer_trigger",
        "contact_merge",
    ] {
        let event = parse(name);
        let text = serde_json::to_string(&event).expect("serialises");
        let again = events::parse(text.as_bytes()).expect("parses back");
        assert_eq!(again, event, "{name}");
    }
}

#[test]
fn verify_event_verifies_then_parses() {
    let body = corpus("message_delivery");
    let verifier = Verifier::new("s3cret");
    let headers = Signer::new("s3cret").sign(&body).to_header_map();
    let event = verifier.verify_event(&headers, &body).expect("valid");
    assert_eq!(event.trigger(), Some(WebhookTrigger::MessageDelivery));

    // Same bytes with another signature: refused before parsing.
    let forged = Signer::new("other").sign(&body).to_header_map();
    assert_eq!(
        verifier.verify_event(&forged, &body),
        Err(CallbackError::Verify(VerifyError::SignatureMismatch))
    );
    // A verified body that is not an event: a parse error, not a verify error.
    let junk = b"{\"app_id\":\"a\"}";
    let headers = Signer::new("s3cret").sign(junk).to_header_map();
    assert!(matches!(
        verifier.verify_event(&headers, junk),
        Err(CallbackError::Parse(_))
    ));
    // The window applies too.
    let old = Signer::new("s3cret").sign_with(&body, "n", 1_000_000_000);
    assert!(matches!(
        verifier.verify_event(&old.to_header_map(), &body),
        Err(CallbackError::Verify(VerifyError::OutsideWindow { .. }))
    ));
    // And the pairs form.
    let signed = Signer::new("s3cret").sign(&body);
    let pairs = signed.pairs().collect::<Vec<_>>();
    assert!(verifier.verify_event_pairs(pairs, &body).is_ok());
}

/// A free-form field (kept as the JSON text received), parsed.
fn json(raw: Option<&events::RawJson>) -> serde_json::Value {
    raw.map(|r| r.parse().expect("valid JSON"))
        .unwrap_or_default()
}

/// Every shape Sinch's document gives, typed (issue 20): an app message
/// with choices of every kind, channel overrides and a channel-specific
/// flow; inbound product responses, fallbacks and channel-specific
/// replies; the shortlink event; every Smart Conversations analysis.
mod typed_from_sinchs_document {
    use sinch_conversation::events::{
        AppMessageKind, CardHeight, ChannelSpecificContactContentType, ChannelSpecificContentType,
        ChoiceKind, ContactMessageContent, ContactMessageEventKind, Event,
        OffensiveAnalysisEvaluation, ReasonCode, Sentiment,
    };

    use super::{inbound, parse};

    #[test]
    fn a_submitted_card_with_every_kind_of_choice_and_its_overrides() {
        let Event::MessageSubmit(submit) = parse("message_submit_card").event else {
            panic!()
        };
        let message = submit.submitted_message.expect("submitted_message");
        let Some(AppMessageKind::CardMessage(card)) = &message.kind else {
            panic!("{:?}", message.kind)
        };
        assert_eq!(card.height, Some(CardHeight::Medium));
        let kinds: Vec<&str> = card.choices.iter().map(|c| c.kind.key()).collect();
        assert_eq!(
            kinds,
            [
                "text_message",
                "url_message",
                "call_message",
                "calendar_message"
            ]
        );
        assert_eq!(card.choices[0].postback_data.as_deref(), Some("track:42"));
        let ChoiceKind::CalendarMessage(calendar) = &card.choices[3].kind else {
            panic!()
        };
        assert_eq!(calendar.event_title.as_deref(), Some("Delivery"));
        let sms = message
            .explicit_channel_message
            .as_ref()
            .expect("overrides");
        assert_eq!(sms["SMS"], "Your order: two items, arriving Friday");
        let rcs = &message
            .explicit_channel_omni_message
            .as_ref()
            .expect("omni")["RCS"];
        assert_eq!(rcs.kind.key(), "text_message");
        let whatsapp = &message.channel_specific_message.as_ref().expect("specific")["WHATSAPP"];
        assert_eq!(
            whatsapp.message_type,
            Some(ChannelSpecificContentType::Flows)
        );
        let flow = whatsapp.message.as_ref().expect("flow");
        assert_eq!(flow.flow_id.as_deref(), Some("1234"));
        assert_eq!(
            flow.body.as_ref().and_then(|b| b.text.as_deref()),
            Some("How did we do?")
        );
        assert_eq!(
            message
                .agent
                .as_ref()
                .and_then(|a| a.display_name.as_deref()),
            Some("Ada")
        );
    }

    #[test]
    fn inbound_product_responses_fallbacks_and_channel_specific_replies() {
        let ContactMessageContent::ProductResponseMessage(products) =
            inbound("message_inbound_product_response").content
        else {
            panic!()
        };
        assert_eq!(products.catalog_id.as_deref(), Some("cat-1"));
        assert_eq!(products.products.len(), 2);
        assert_eq!(products.products[0].quantity, Some(2));
        assert_eq!(products.products[1].item_price, Some(19.0));

        let ContactMessageContent::FallbackMessage(fallback) =
            inbound("message_inbound_fallback").content
        else {
            panic!()
        };
        let reason = fallback.reason.expect("reason");
        assert_eq!(reason.code, Some(ReasonCode::UnsupportedOperation));
        assert_eq!(reason.channel_code.as_deref(), Some("131051"));

        let ContactMessageContent::ChannelSpecificMessage(reply) =
            inbound("message_inbound_channel_specific").content
        else {
            panic!()
        };
        assert_eq!(
            reply.message_type,
            Some(ChannelSpecificContactContentType::NfmReply)
        );
        let nfm = reply.message.and_then(|m| m.nfm_reply).expect("nfm_reply");
        assert_eq!(nfm.body.as_deref(), Some("Sent"));
    }

    #[test]
    fn the_shortlink_event_is_typed() {
        let Event::EventInbound(event) = parse("event_inbound_shortlink").event else {
            panic!()
        };
        let Some(ContactMessageEventKind::ShortlinkActivatedEvent(link)) =
            event.contact_message_event.map(|e| e.kind)
        else {
            panic!()
        };
        assert_eq!(link.payload.as_deref(), Some("spring-sale"));
        assert_eq!(link.ref_.as_deref(), Some("ad-17"));
        assert_eq!(link.existing_thread, Some(false));
    }

    #[test]
    fn every_smart_conversations_analysis_is_typed() {
        let Event::SmartConversation(n) = parse("smart_conversation_full").event else {
            panic!()
        };
        let results = n.analysis_results.expect("analysis_results");
        assert_eq!(
            results.ml_sentiment_result[0].sentiment,
            Some(Sentiment::Negative)
        );
        assert_eq!(results.ml_sentiment_result[0].results.len(), 2);
        let nlu = &results.ml_nlu_result[0];
        assert_eq!(nlu.intent.as_deref(), Some("refund.request"));
        assert_eq!(nlu.results[1].intent.as_deref(), Some("general.complaint"));
        let image = &results.ml_image_recognition_result[0];
        let document = image
            .document_image_classification
            .as_ref()
            .expect("document");
        assert_eq!(document.doc_type.as_deref(), Some("receipt"));
        let ocr = image.optical_character_recognition.as_ref().expect("ocr");
        assert_eq!(ocr.result[0].data, ["TOTAL", "29.00 EUR"]);
        let fields = image
            .document_field_classification
            .as_ref()
            .expect("fields");
        assert_eq!(fields.result[0]["total"].data, ["29.00"]);
        assert_eq!(
            results.ml_pii_result[0].masked.as_deref(),
            Some("Call me at {PHONE_NUMBER}")
        );
        assert_eq!(
            results.ml_offensive_analysis_result[0].evaluation,
            Some(OffensiveAnalysisEvaluation::Safe)
        );
    }

    #[test]
    fn kinds_and_values_newer_than_the_crate_still_parse() {
        let body =
            br#"{"app_id":"a","project_id":"p","message_submit_notification":{"submitted_message":{
            "hologram_message":{"url":"https://media.example.com/h.glb"},
            "agent":{"display_name":"Bot","type":"ROBOT_V2"}}},
            "brand_new_section":{}}"#;
        let Event::MessageSubmit(submit) = sinch_conversation::events::parse(body)
            .expect("parses")
            .event
        else {
            panic!()
        };
        let message = submit.submitted_message.expect("submitted");
        assert_eq!(
            message.kind.as_ref().map(|k| k.key()),
            Some("hologram_message")
        );
        assert!(!message.kind.as_ref().is_some_and(|k| k.is_known()));
        let agent_type = message.agent.and_then(|a| a.type_).expect("type");
        assert_eq!(agent_type.as_str(), "ROBOT_V2");

        let choice = br#"{"app_id":"a","project_id":"p","message_submit_notification":{"submitted_message":{
            "choice_message":{"choices":[{"poll_message":{"question":"?"},"postback_data":"p"}]}}}}"#;
        let Event::MessageSubmit(submit) = sinch_conversation::events::parse(choice)
            .expect("parses")
            .event
        else {
            panic!()
        };
        let Some(Some(AppMessageKind::ChoiceMessage(choices))) =
            submit.submitted_message.map(|m| m.kind)
        else {
            panic!()
        };
        assert_eq!(choices.choices[0].kind.key(), "poll_message");
        assert_eq!(choices.choices[0].postback_data.as_deref(), Some("p"));
    }
}
