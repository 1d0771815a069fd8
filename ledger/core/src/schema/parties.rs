//! The column families of parties and consignments: traders' keys with their history, the owner
//! of each consignment, and delegations between traders.

use super::{exact, read_loc, read_ucr, write_loc, Schema, TxLocation};
use zkcustoms_ledger_types::codec::{DecodeError, Reader, Writer};
use zkcustoms_ledger_types::crypto::{self, PublicKey};
use zkcustoms_ledger_types::tx::{Eori, Ucr};

fn read_eori(r: &mut Reader<'_>, field: &'static str) -> Result<Eori, DecodeError> {
    Eori::parse_field(field, r.str16(field, Eori::MAX_LEN)?)
        .map_err(|e| DecodeError::invalid(field, e.to_string()))
}

/// One step of a trader's key history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraderKeyEntry {
    /// The key from this step on; `None` once revoked.
    pub public_key: Option<PublicKey>,
    /// The office that made the change (its administration vouches for the trader).
    pub office: String,
    /// Where the change was recorded.
    pub location: TxLocation,
}

/// `trader_keys`: each registered trader's key history. Key: `eori str16 | sequence u32`
/// (registration is 1). Value: `version | state u8 (1 | 0 revoked) | public key [32] when 1
/// | office str16 | height u64 | index u32`.
pub struct TraderKeys;

impl Schema for TraderKeys {
    const CF: &'static str = "trader_keys";
    type Key = (Eori, u32);
    type Value = TraderKeyEntry;
    fn encode_key((eori, seq): &(Eori, u32)) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(eori.as_str()).u32(*seq);
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(Eori, u32), DecodeError> {
        exact(bytes, |r| Ok((read_eori(r, "trader")?, r.u32("sequence")?)))
    }
    fn write_value(v: &TraderKeyEntry, w: &mut Writer) {
        match &v.public_key {
            Some(k) => w.u8(1).fixed(k.as_ref()),
            None => w.u8(0),
        };
        w.str16(&v.office);
        write_loc(w, &v.location);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<TraderKeyEntry, DecodeError> {
        let public_key = match r.u8("state")? {
            1 => Some(crypto::read_public(r, "public key")?),
            0 => None,
            s => return Err(DecodeError::invalid("state", format!("unknown state {s}"))),
        };
        Ok(TraderKeyEntry {
            public_key,
            office: r.str16("office", 64)?.to_owned(),
            location: read_loc(r)?,
        })
    }
}

/// Prefix of a trader's key history.
pub fn trader_keys_prefix(eori: &Eori) -> Vec<u8> {
    let mut w = Writer::new();
    w.str16(eori.as_str());
    w.finish()
}

/// The owner of a consignment: the trader whose anchor came first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerEntry {
    /// The owner.
    pub owner: Eori,
    /// Where the consignment was bound to it.
    pub location: TxLocation,
}

/// `owners`: consignment → owner. Key: `ucr str16`. Value: `version | eori str16 | height u64
/// | index u32`.
pub struct Owners;

impl Schema for Owners {
    const CF: &'static str = "owners";
    type Key = Ucr;
    type Value = OwnerEntry;
    fn encode_key(k: &Ucr) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(k.as_str());
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<Ucr, DecodeError> {
        exact(bytes, read_ucr)
    }
    fn write_value(v: &OwnerEntry, w: &mut Writer) {
        w.str16(v.owner.as_str());
        write_loc(w, &v.location);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<OwnerEntry, DecodeError> {
        Ok(OwnerEntry {
            owner: read_eori(r, "owner")?,
            location: read_loc(r)?,
        })
    }
}

/// The latest state of a delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationEntry {
    /// The latest change's sequence.
    pub sequence: u32,
    /// Whether the delegate may act for the owner.
    pub active: bool,
    /// Where the latest change was recorded.
    pub location: TxLocation,
}

/// `delegations`: (owner, delegate) → latest state. Key: `owner str16 | delegate str16`.
/// Value: `version | sequence u32 | active u8 | height u64 | index u32`.
pub struct Delegations;

impl Schema for Delegations {
    const CF: &'static str = "delegations";
    type Key = (Eori, Eori);
    type Value = DelegationEntry;
    fn encode_key((o, d): &(Eori, Eori)) -> Vec<u8> {
        let mut w = Writer::new();
        w.str16(o.as_str()).str16(d.as_str());
        w.finish()
    }
    fn decode_key(bytes: &[u8]) -> Result<(Eori, Eori), DecodeError> {
        exact(bytes, |r| {
            Ok((read_eori(r, "owner")?, read_eori(r, "delegate")?))
        })
    }
    fn write_value(v: &DelegationEntry, w: &mut Writer) {
        w.u32(v.sequence).u8(u8::from(v.active));
        write_loc(w, &v.location);
    }
    fn read_value(r: &mut Reader<'_>) -> Result<DelegationEntry, DecodeError> {
        let sequence = r.u32("sequence")?;
        let active = match r.u8("active")? {
            0 => false,
            1 => true,
            a => return Err(DecodeError::invalid("active", format!("{a}"))),
        };
        Ok(DelegationEntry {
            sequence,
            active,
            location: read_loc(r)?,
        })
    }
}
