//! The pieces the generated keyed-union deserializers call (see
//! `build/keyed_union.rs`): a map key that borrows when it can, the
//! "exactly one identifying key" bookkeeping, and duplicate detection.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{RawJson, UnknownKey};

/// An object key: borrowed from the input unless it had escapes.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Sets a shared field, refusing a second occurrence (as serde's derive
/// does: two different values for one field is not a body to guess about).
pub(crate) fn once<T, E: de::Error>(
    slot: &mut Option<T>,
    name: &'static str,
    value: T,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A list or map field: `null` reads as empty, as a missing field does.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What the keys of one object said about which variant it is.
pub(crate) struct Found<T> {
    known: Option<(&'static str, T)>,
    /// The first key that is neither shared nor known and holds an object:
    /// the identifying key of something newer than this crate.
    unknown: Option<UnknownKey>,
    /// A second such key, if any (only an error when no known key came).
    second_unknown: Option<String>,
}

impl<T> Default for Found<T> {
    fn default() -> Self {
        Self {
            known: None,
            unknown: None,
            second_unknown: None,
        }
    }
}

impl<T> Found<T> {
    /// A known identifying key and its parsed payload.
    pub(crate) fn known<E: de::Error>(&mut self, key: &'static str, value: T) -> Result<(), E> {
        if let Some((first, _)) = &self.known {
            return Err(E::custom(format_args!(
                "two identifying keys, `{first}` and `{key}`: exactly one is expected"
            )));
        }
        self.known = Some((key, value));
        Ok(())
    }

    /// Any other key: ignored (a field added by a newer Sinch), unless no
    /// known key has come yet and it holds an object, when it is kept as a
    /// possible identifying key of something newer.
    pub(crate) fn other<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        key: Key<'de>,
    ) -> Result<(), A::Error> {
        if self.known.is_some() || self.second_unknown.is_some() {
            map.next_value::<IgnoredAny>()?;
            return Ok(());
        }
        let json: RawJson = map.next_value()?;
        if !json.get().starts_with('{') {
            return Ok(());
        }
        if self.unknown.is_some() {
            self.second_unknown = Some(key.0.into_owned());
        } else {
            self.unknown = Some(UnknownKey {
                key: key.0.into_owned(),
                json,
            });
        }
        Ok(())
    }

    /// The variant: the known key's; else the one unknown key holding an
    /// object; else an error naming the keys expected.
    pub(crate) fn finish<E: de::Error>(
        self,
        keys: &[&str],
        unknown: impl FnOnce(UnknownKey) -> T,
    ) -> Result<T, E> {
        if let Some((_, value)) = self.known {
            return Ok(value);
        }
        match (self.unknown, self.second_unknown) {
            (Some(only), None) => Ok(unknown(only)),
            (Some(first), Some(second)) => Err(E::custom(format_args!(
                "no known identifying key, and two unknown keys holding objects (`{}` and `{second}`): cannot tell which identifies it",
                first.key
            ))),
            (None, _) => Err(E::custom(format_args!(
                "no identifying key: expected one of {}, or one new key holding an object",
                Listed(keys)
            ))),
        }
    }
}

impl<T> Found<T> {
    /// As [`Found::finish`], for a union whose key may be absent
    /// (`x-keyed-union.optional`): no key at all is `None`.
    pub(crate) fn finish_optional<E: de::Error>(
        self,
        keys: &[&str],
        unknown: impl FnOnce(UnknownKey) -> T,
    ) -> Result<Option<T>, E> {
        if self.known.is_none() && self.unknown.is_none() {
            return Ok(None);
        }
        self.finish(keys, unknown).map(Some)
    }
}

struct Listed<'a>(&'a [&'a str]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{key}`")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_borrow_unless_escaped() {
        let mut de = serde_json::Deserializer::from_str(r#""plain""#);
        assert!(matches!(
            Key::deserialize(&mut de).map(|k| k.0),
            Ok(Cow::Borrowed("plain"))
        ));
        let mut de = serde_json::Deserializer::from_str(r#""esc\u0061ped""#);
        assert!(
            matches!(Key::deserialize(&mut de).map(|k| k.0), Ok(Cow::Owned(s)) if s == "escaped")
        );
    }
}
