//! Small text rules shared by every v0 string field.

use crate::error::{ProtocolError, Result};

/// Whether `value` contains a C0 control character or DEL, which v0 forbids in
/// every identifier-like string (ids, versions, channels, media types, ...).
pub(crate) fn has_control_character(value: &str) -> bool {
    value.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}')
}

/// The v0 "non-empty string without control characters" rule, with an upper
/// bound of our own so that no single field can grow without limit.
pub(crate) fn non_empty_token(field: &str, value: &str, max_len: usize) -> Result<()> {
    if value.is_empty() {
        return Err(ProtocolError::invalid(field, "must be a non-empty string"));
    }
    if has_control_character(value) {
        return Err(ProtocolError::invalid(
            field,
            "must not include control characters",
        ));
    }
    if value.len() > max_len {
        return Err(ProtocolError::invalid(
            field,
            format!("must be at most {max_len} bytes"),
        ));
    }
    Ok(())
}

/// Generates a validated string newtype: private field, one constructor,
/// `Display`, `AsRef<str>`, serde through the constructor.
macro_rules! token_newtype {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value in bytes (our bound; v0 sets none).
            pub const MAX_LEN: usize = $max;

            /// Parses with the v0 rule: non-empty, no control characters.
            ///
            /// # Errors
            /// Empty, too long, or containing a control character.
            pub fn parse(value: &str) -> $crate::error::Result<Self> {
                $crate::text::non_empty_token($field, value, Self::MAX_LEN)?;
                Ok(Self(value.to_owned()))
            }

            /// The string form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ProtocolError;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                Self::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use token_newtype;
