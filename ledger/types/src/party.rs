//! The parties of a ledger as the API sees them once a request is authenticated, and the readers
//! an access list names.

use crate::tx::{check_party_id, Eori, TxError};
use std::fmt;

/// An authenticated party: a trader registered on the ledger, or a customs office, AEO authority
/// or auditor listed in genesis.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// A registered trader, by its EORI number.
    Trader(Eori),
    /// A customs office and its administration.
    Office {
        /// The office's id.
        id: String,
        /// Its administration (e.g. `DE`).
        administration: String,
    },
    /// An AEO authority.
    Authority(String),
    /// An auditor.
    Auditor(String),
}

impl Party {
    /// The party's id (EORI number, office, authority or auditor id).
    pub fn id(&self) -> &str {
        match self {
            Party::Trader(e) => e.as_str(),
            Party::Office { id, .. } | Party::Authority(id) | Party::Auditor(id) => id,
        }
    }

    /// The kind of party: `trader`, `customs`, `authority` or `auditor`.
    pub fn kind(&self) -> &'static str {
        match self {
            Party::Trader(_) => "trader",
            Party::Office { .. } => "customs",
            Party::Authority(_) => "authority",
            Party::Auditor(_) => "auditor",
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// Who an access list lets read a document besides the trader who uploaded it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reader {
    /// Every customs office of an administration: `customs:DE`.
    Customs(String),
    /// One party by its id: a trader's EORI number, an auditor's or an authority's id.
    Party(String),
}

/// Prefix of an administration in an access list.
pub const CUSTOMS_PREFIX: &str = "customs:";

impl Reader {
    /// Parses one entry: `customs:ADMINISTRATION` or a party id.
    pub fn parse(s: &str) -> Result<Self, TxError> {
        match s.strip_prefix(CUSTOMS_PREFIX) {
            Some(admin) => {
                check_party_id("administration", admin)?;
                Ok(Reader::Customs(admin.to_owned()))
            }
            None => {
                check_party_id("reader", s)?;
                Ok(Reader::Party(s.to_owned()))
            }
        }
    }

    /// Whether `party` is a reader by this entry.
    pub fn admits(&self, party: &Party) -> bool {
        match (self, party) {
            (Reader::Customs(a), Party::Office { administration, .. }) => a == administration,
            (Reader::Party(id), Party::Trader(_) | Party::Authority(_) | Party::Auditor(_)) => {
                id == party.id()
            }
            _ => false,
        }
    }
}

impl fmt::Display for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reader::Customs(a) => write!(f, "{CUSTOMS_PREFIX}{a}"),
            Reader::Party(id) => f.write_str(id),
        }
    }
}

/// Parses an access list: entries separated by commas (`customs:DE,AUDIT-EU-1`); empty means the
/// uploading trader alone. Sorted, without repeats.
pub fn parse_readers(s: &str) -> Result<Vec<Reader>, TxError> {
    let mut out = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        out.push(Reader::parse(entry)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_admit_whom_they_name() {
        let list = parse_readers(" customs:DE , AUDIT-EU-1,customs:DE,NL000111222").unwrap();
        assert_eq!(list.len(), 3);
        let office = |a: &str| Party::Office {
            id: format!("{a}-OFFICE"),
            administration: a.into(),
        };
        let admits = |p: &Party| list.iter().any(|r| r.admits(p));
        assert!(admits(&office("DE")));
        assert!(!admits(&office("NL")));
        assert!(admits(&Party::Auditor("AUDIT-EU-1".into())));
        assert!(!admits(&Party::Auditor("AUDIT-EU-2".into())));
        assert!(admits(&Party::Trader(Eori::parse("NL000111222").unwrap())));
        assert!(!admits(&Party::Trader(Eori::parse("DE1").unwrap())));
        // A party id names no office, and an administration names no auditor.
        assert!(!Reader::Party("DE-OFFICE".into()).admits(&office("DE")));
        assert!(!Reader::Customs("AUDIT-EU-1".into()).admits(&Party::Auditor("AUDIT-EU-1".into())));
        for bad in ["customs:", "customs:D E", "a b", &"x".repeat(65)] {
            assert!(parse_readers(bad).is_err(), "{bad}");
        }
        assert_eq!(
            list.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["customs:DE", "AUDIT-EU-1", "NL000111222"]
        );
    }
}
