//! A reader over one JSON object that takes fields by name and, at the end,
//! rejects every field nobody asked for. Hand-written readers give the exact
//! v0 error messages (which serde derive cannot) while still refusing
//! unknown fields.

use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::error::{ProtocolError, Result};
use crate::text::non_empty_token;

pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    taken: Vec<&'static str>,
    context: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(value: &'a Value, context: &'static str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                taken: Vec::new(),
                context,
            }),
            _ => Err(ProtocolError::invalid(context, "must be an object")),
        }
    }

    pub(crate) fn opt(&mut self, name: &'static str) -> Option<&'a Value> {
        self.taken.push(name);
        self.map.get(name)
    }

    pub(crate) fn req(&mut self, name: &'static str) -> Result<&'a Value> {
        self.opt(name)
            .ok_or_else(|| ProtocolError::invalid(name, "is required"))
    }

    pub(crate) fn str(&mut self, name: &'static str) -> Result<&'a str> {
        match self.req(name)? {
            Value::String(s) => Ok(s),
            _ => Err(ProtocolError::invalid(name, "must be a string")),
        }
    }

    pub(crate) fn opt_str(&mut self, name: &'static str) -> Result<Option<&'a str>> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ProtocolError::invalid(name, "must be a string")),
        }
    }

    /// A non-empty string without control characters, at most `max` bytes.
    pub(crate) fn token(&mut self, name: &'static str, max: usize) -> Result<&'a str> {
        let s = self.str(name)?;
        non_empty_token(name, s, max)?;
        Ok(s)
    }

    pub(crate) fn opt_token(&mut self, name: &'static str, max: usize) -> Result<Option<&'a str>> {
        let s = self.opt_str(name)?;
        if let Some(s) = s {
            non_empty_token(name, s, max)?;
        }
        Ok(s)
    }

    pub(crate) fn constant(&mut self, name: &'static str, expected: &str) -> Result<()> {
        match self.opt(name) {
            Some(Value::String(s)) if s == expected => Ok(()),
            _ => Err(ProtocolError::invalid(
                name,
                format!("{} {name} must be {expected}", self.context),
            )),
        }
    }

    pub(crate) fn digest(&mut self, name: &'static str) -> Result<Digest> {
        Digest::parse(self.str(name)?)
            .map_err(|_| ProtocolError::invalid(name, format!("{name} must be a sha256 digest")))
    }

    pub(crate) fn digests(&mut self, name: &'static str, max: usize) -> Result<Vec<Digest>> {
        let Value::Array(items) = self.req(name)? else {
            return Err(ProtocolError::invalid(
                name,
                format!("{name} must be an array"),
            ));
        };
        if items.len() > max {
            return Err(ProtocolError::invalid(
                name,
                format!("at most {max} entries"),
            ));
        }
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|s| Digest::parse(s).ok())
                    .ok_or_else(|| {
                        ProtocolError::invalid(name, format!("{name} must be a sha256 digest"))
                    })
            })
            .collect()
    }

    /// Rejects fields that were never taken.
    pub(crate) fn finish(self) -> Result<()> {
        match self.map.keys().find(|k| !self.taken.contains(&k.as_str())) {
            None => Ok(()),
            Some(extra) => {
                let shown: String = extra.chars().take(64).collect();
                Err(ProtocolError::invalid(
                    shown,
                    format!("unknown field in {}", self.context),
                ))
            }
        }
    }
}
