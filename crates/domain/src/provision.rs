//! UNTOC provisions: an instrument and an article, optionally a paragraph, e.g. `UNTOC-18`,
//! `TIP-6.3`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The Convention and its three Protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Instrument {
    /// The Convention itself.
    Untoc,
    /// Protocol on trafficking in persons.
    Tip,
    /// Protocol on smuggling of migrants.
    Som,
    /// Firearms Protocol.
    Firearms,
}

impl Instrument {
    /// The prefix used in provision codes.
    pub fn prefix(self) -> &'static str {
        match self {
            Instrument::Untoc => "UNTOC",
            Instrument::Tip => "TIP",
            Instrument::Som => "SOM",
            Instrument::Firearms => "FIREARMS",
        }
    }

    /// The number of articles in the instrument.
    pub fn articles(self) -> u16 {
        match self {
            Instrument::Untoc => 41,
            Instrument::Tip => 20,
            Instrument::Som => 25,
            Instrument::Firearms => 21,
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "UNTOC" => Some(Instrument::Untoc),
            "TIP" => Some(Instrument::Tip),
            "SOM" => Some(Instrument::Som),
            "FIREARMS" => Some(Instrument::Firearms),
            _ => None,
        }
    }
}

/// A provision of an instrument: `UNTOC-18` or `UNTOC-18.13`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Provision {
    instrument: Instrument,
    article: u16,
    paragraph: Option<u16>,
}

impl Provision {
    /// Parses `INSTRUMENT-ARTICLE[.PARAGRAPH]`, checking the article exists.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (prefix, rest) = text.split_once('-').ok_or_else(|| {
            format!("`{text}` is not a provision; write it as INSTRUMENT-ARTICLE, e.g. UNTOC-18")
        })?;
        let instrument =
            Instrument::from_prefix(&prefix.to_ascii_uppercase()).ok_or_else(|| {
                format!("unknown instrument `{prefix}` (expected UNTOC, TIP, SOM or FIREARMS)")
            })?;
        let (article, paragraph) = match rest.split_once('.') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        let article: u16 = article
            .parse()
            .map_err(|_| format!("`{rest}` is not an article number"))?;
        if article == 0 || article > instrument.articles() {
            return Err(format!(
                "{} has articles 1 to {}, not {article}",
                instrument.prefix(),
                instrument.articles()
            ));
        }
        let paragraph = match paragraph {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{p}` is not a paragraph number"))?,
            ),
            None => None,
        };
        Ok(Provision {
            instrument,
            article,
            paragraph,
        })
    }

    /// The instrument.
    pub fn instrument(&self) -> Instrument {
        self.instrument
    }
}

impl fmt::Display for Provision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.instrument.prefix(), self.article)?;
        if let Some(p) = self.paragraph {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for Provision {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Provision::parse(&value)
    }
}

impl From<Provision> for String {
    fn from(value: Provision) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonical_form() {
        assert_eq!(
            Provision::parse("UNTOC-18").map(|p| p.to_string()),
            Ok("UNTOC-18".into())
        );
        assert_eq!(
            Provision::parse("tip-6.3").map(|p| p.to_string()),
            Ok("TIP-6.3".into())
        );
    }

    #[test]
    fn refuses_unknown_instruments_and_articles() {
        assert!(Provision::parse("UNCAC-18").is_err());
        assert!(Provision::parse("UNTOC-42").is_err());
        assert!(Provision::parse("UNTOC-0").is_err());
        assert!(Provision::parse("UNTOC").is_err());
        assert!(Provision::parse("TIP-6.x").is_err());
    }
}
