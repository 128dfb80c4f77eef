//! The API token as a type that cannot leak by accident: no `Display`, no `Serialize`, a
//! redacting `Debug`, and the raw value only through [`Secret::expose`], used once, for the
//! `Authorization` header.

use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_string())
    }

    /// The raw token. Callers must not print, log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What may be shown instead of the token.
    pub fn redacted(&self) -> &'static str {
        if self.0.is_empty() { "<not set>" } else { "<redacted>" }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::new(String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new(" pat_abcdef ");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "pat_abcdef");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(<not set>)");
    }
}
