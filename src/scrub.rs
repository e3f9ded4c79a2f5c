//! Takes secrets out of text a server sent back (an error page, a
//! `Location` header): as written, and in the encodings a server or proxy
//! may echo them in — percent-encoded (any case, from UTF-8, `+` for a
//! space), JSON-escaped (`\"`, `\uXXXX`, surrogate pairs), HTML-escaped
//! (named, decimal and hex entities) — each replaced by `***`, and URL
//! passwords as `***`. Callers scrub before they cut a text short, so a
//! secret straddling the cut cannot leave a prefix behind.
use std::ops::Range;

/// `text` with every needle (the request's secrets), in any of the
/// encodings above or a mix of them, replaced by `***`.
pub(crate) fn scrub_text(text: &str, needles: &[String]) -> String {
    let mut sorted: Vec<&String> = needles.iter().filter(|n| !n.is_empty()).collect();
    sorted.sort_unstable_by_key(|n| std::cmp::Reverse(n.len()));
    sorted.dedup();
    let mut text = sorted.iter().fold(text.to_owned(), |text, needle| {
        text.replace(needle.as_str(), "***")
    });
    // Encoded forms: only when the text has an escape to decode.
    if !sorted.is_empty() && text.contains(['%', '&', '\\', '+']) {
        for plus_is_space in [false, true] {
            text = scrub_decoded(&text, &sorted, plus_is_space);
        }
    }
    crate::target::redact_userinfo(&text).into_owned()
}

/// One decoded character and the bytes of `text` it came from.
struct Unit {
    ch: char,
    span: Range<usize>,
}

/// Replaces the spans of `text` whose decoded characters spell a needle.
fn scrub_decoded(text: &str, needles: &[&String], plus_is_space: bool) -> String {
    let units = decode(text, plus_is_space);
    let decoded: Vec<char> = units.iter().map(|u| u.ch).collect();
    let mut hits: Vec<Range<usize>> = Vec::new();
    for needle in needles {
        let needle: Vec<char> = needle.chars().collect();
        if needle.is_empty() || needle.len() > decoded.len() {
            continue;
        }
        let mut i = 0;
        while i + needle.len() <= decoded.len() {
            if decoded[i..i + needle.len()] == needle[..] {
                hits.push(units[i].span.start..units[i + needle.len() - 1].span.end);
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    if hits.is_empty() {
        return text.to_owned();
    }
    hits.sort_unstable_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for hit in hits {
        if hit.start < at {
            // Overlaps one replaced already: extend it.
            at = at.max(hit.end);
            continue;
        }
        out.push_str(&text[at..hit.start]);
        out.push_str("***");
        at = hit.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` as characters, each escape decoded, with where each came from.
fn decode(text: &str, plus_is_space: bool) -> Vec<Unit> {
    let bytes = text.as_bytes();
    let mut units = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let decoded = match bytes[i] {
            b'%' => percent(bytes, i),
            b'&' => entity(rest).map(|(ch, len)| (vec![ch], len)),
            b'\\' => json_escape(rest).map(|(ch, len)| (vec![ch], len)),
            b'+' if plus_is_space => Some((vec![' '], 1)),
            _ => None,
        };
        match decoded {
            Some((chars, len)) => {
                // A run of percent-escapes spells several characters: the
                // whole run's span goes to each (a match replaces it all).
                for ch in chars {
                    units.push(Unit {
                        ch,
                        span: i..i + len,
                    });
                }
                i += len;
            }
            None => {
                let ch = rest.chars().next().unwrap_or('\u{fffd}');
                units.push(Unit {
                    ch,
                    span: i..i + ch.len_utf8(),
                });
                i += ch.len_utf8().max(1);
            }
        }
    }
    units
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// A `%XX` escape starting at `at`, with the ones that follow it when they
/// complete a UTF-8 character: the characters and the bytes taken.
fn percent(bytes: &[u8], at: usize) -> Option<(Vec<char>, usize)> {
    let byte_at = |i: usize| -> Option<u8> {
        if bytes.get(i) != Some(&b'%') {
            return None;
        }
        Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?)
    };
    let first = byte_at(at)?;
    let width = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Some((vec![char::from(first)], 3)),
    };
    let mut raw = vec![first];
    for k in 1..width {
        raw.push(byte_at(at + 3 * k)?);
    }
    let text = std::str::from_utf8(&raw).ok()?;
    Some((text.chars().collect(), 3 * width))
}

/// An HTML entity (`&amp;`, `&#39;`, `&#x27;`, ...) at the start of `text`.
fn entity(text: &str) -> Option<(char, usize)> {
    let end = text.bytes().take(12).position(|b| b == b';')?;
    let name = &text[1..end];
    let ch = if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            _ => return None,
        }
    };
    Some((ch, end + 1))
}

/// A JSON string escape at the start of `text` (a surrogate pair counts as
/// one character).
fn json_escape(text: &str) -> Option<(char, usize)> {
    let bytes = text.as_bytes();
    let simple = match *bytes.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = |at: usize| u16::from_str_radix(text.get(at..at + 4)?, 16).ok();
            let high = unit(2)?;
            if (0xd800..0xdc00).contains(&high) {
                if text.get(6..8) != Some("\\u") {
                    return None;
                }
                let low = unit(8).filter(|low| (0xdc00..0xe000).contains(low))?;
                let code = 0x10000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                return Some((char::from_u32(code)?, 12));
            }
            return Some((char::from_u32(u32::from(high))?, 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(text: &str, secret: &str) -> String {
        scrub_text(text, &[secret.to_owned()])
    }

    #[test]
    fn every_encoding_of_a_secret_is_scrubbed() {
        let secret = "pé&<x>\"'y z";
        for echoed in [
            "pé&<x>\"'y z",
            "p%C3%A9%26%3Cx%3E%22%27y%20z",
            "p%c3%a9%26%3cx%3e%22%27y%20z",
            "p%C3%A9%26%3Cx%3E%22%27y+z",
            "p\\u00e9&<x>\\\"'y z",
            "p\\u00E9\\u0026\\u003cx\\u003e\\u0022\\u0027y\\u0020z",
            "pé&amp;&lt;x&gt;&quot;&#39;y z",
            "p&#233;&#x26;&#x3C;x&#62;&quot;&apos;y&#32;z",
            "pé%26&lt;x\\u003e\"'y z",
        ] {
            let text = format!("before {echoed} after");
            assert_eq!(scrubbed(&text, secret), "before *** after", "{echoed}");
        }
    }

    #[test]
    fn text_without_the_secret_is_unchanged() {
        for text in [
            "100% & \\n + %ZZ &bogus; \\uZZZZ",
            "",
            "%",
            "&#xD800;",
            "\\ud800\\u0041",
        ] {
            assert_eq!(scrubbed(text, "secret"), text);
        }
    }

    proptest::proptest! {
        /// Whatever a server sends, scrubbing never panics, and text that
        /// holds no needle in any form comes back as it was.
        #[test]
        fn any_text_is_scrubbed_without_a_panic(text in "(\\\\u[0-9a-fA-F]{0,4}|%[0-9a-fA-F]{0,2}|&#?[a-zA-Z0-9]{0,6};?|\\+|.){0,40}") {
            let out = scrub_text(&text, &["NEEDLE-9f3".to_owned()]);
            proptest::prop_assert_eq!(out, crate::target::redact_userinfo(&text).into_owned());
        }
    }

    #[test]
    fn an_astral_character_in_json_escapes_is_one_character() {
        assert_eq!(scrubbed(r#""k\ud83d\ude00s""#, "k😀s"), "\"***\"");
    }
}
