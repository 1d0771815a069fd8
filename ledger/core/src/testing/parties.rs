//! Traders for tests: a fixed key per trader, and the signed transactions a trader or an office
//! makes about it, so that tests state what they do rather than how it is signed.

use zkcustoms_ledger_types::crypto::{self, PrivateKey, PublicKey};
use zkcustoms_ledger_types::tx::{
    sha256, AnchorDocument, Delegate, Eori, Hash, RegisterTrader, RevokeTrader, RotateTraderKey,
    SubmitProof, Transaction, Ucr,
};
use zkcustoms_verifier::ProofEnvelope;

/// A trader with its key.
#[derive(Clone)]
pub struct Trader {
    /// Its EORI number.
    pub eori: Eori,
    /// Its private key.
    pub key: PrivateKey,
}

impl std::fmt::Debug for Trader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trader").field("eori", &self.eori).finish()
    }
}

impl Trader {
    /// A trader whose key is derived from its EORI number (the same in every test run).
    pub fn new(eori: &str) -> Self {
        let seed = u64::from_be_bytes(sha256(eori.as_bytes())[..8].try_into().expect("8 bytes"));
        Self {
            eori: Eori::parse(eori).expect("a valid EORI number"),
            key: <PrivateKey as commonware_cryptography::Signer>::from_seed(seed),
        }
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        crypto::public_of(&self.key)
    }

    /// Its registration by `office` (id and key).
    pub fn registration(&self, chain: &Hash, office: &str, office_key: &PrivateKey) -> Transaction {
        Transaction::RegisterTrader(RegisterTrader {
            office: office.into(),
            trader: self.eori.clone(),
            public_key: self.public_key(),
            signature: crypto::unsigned(),
        })
        .signed(chain, office_key)
    }

    /// A rotation of its key to `new_key` by `office`, as key change `sequence`.
    pub fn rotation(
        &self,
        chain: &Hash,
        office: &str,
        office_key: &PrivateKey,
        sequence: u32,
        new_key: PublicKey,
    ) -> Transaction {
        Transaction::RotateTraderKey(RotateTraderKey {
            office: office.into(),
            trader: self.eori.clone(),
            sequence,
            public_key: new_key,
            signature: crypto::unsigned(),
        })
        .signed(chain, office_key)
    }

    /// A revocation of its key by `office`, as key change `sequence`.
    pub fn revocation(
        &self,
        chain: &Hash,
        office: &str,
        office_key: &PrivateKey,
        sequence: u32,
    ) -> Transaction {
        Transaction::RevokeTrader(RevokeTrader {
            office: office.into(),
            trader: self.eori.clone(),
            sequence,
            signature: crypto::unsigned(),
        })
        .signed(chain, office_key)
    }

    /// An anchor of a document under `ucr`, signed by this trader (version n supersedes n - 1).
    #[allow(clippy::too_many_arguments)]
    pub fn anchor(
        &self,
        chain: &Hash,
        ucr: &str,
        doc_type: &str,
        digest: Hash,
        reference: &str,
        version: u32,
    ) -> Transaction {
        Transaction::AnchorDocument(AnchorDocument {
            ucr: Ucr::parse(ucr).expect("a valid UCR"),
            doc_type: doc_type.into(),
            digest,
            reference: reference.into(),
            version,
            supersedes: (version > 1).then(|| version - 1),
            trader: self.eori.clone(),
            signature: crypto::unsigned(),
        })
        .signed(chain, &self.key)
    }

    /// A proof filed under `ucr`, signed by this trader.
    pub fn proof(&self, chain: &Hash, ucr: &str, envelope: ProofEnvelope) -> Transaction {
        Transaction::SubmitProof(SubmitProof {
            ucr: Ucr::parse(ucr).expect("a valid UCR"),
            envelope,
            trader: self.eori.clone(),
            signature: crypto::unsigned(),
        })
        .signed(chain, &self.key)
    }

    /// A delegation change to `delegate` (grant when `active`), as the pair's change `sequence`.
    pub fn delegation(
        &self,
        chain: &Hash,
        delegate: &Eori,
        sequence: u32,
        active: bool,
    ) -> Transaction {
        Transaction::Delegate(Delegate {
            owner: self.eori.clone(),
            delegate: delegate.clone(),
            sequence,
            active,
            signature: crypto::unsigned(),
        })
        .signed(chain, &self.key)
    }
}
