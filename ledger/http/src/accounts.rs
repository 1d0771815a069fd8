//! The explorer's named accounts: each person who signs in to a node's explorer does so with a
//! token of their own and reads as a customs office or an auditor of genesis, so that every
//! session (and the node's log of sign-ins) names a person and a party, never a shared role.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zkcustoms_ledger_types::genesis::{check_explorer_accounts, ExplorerAccount, Genesis};
use zkcustoms_ledger_types::party::Party;

/// A person who may sign in, and the party they read as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Their name, as the configuration spells it.
    pub name: String,
    /// The office or auditor they read as.
    pub party: Party,
    token_sha256: [u8; 32],
}

/// The explorer accounts of a node, checked against its genesis.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    accounts: Vec<Account>,
}

impl Accounts {
    /// The accounts of a node configuration. Each must name a customs office or an auditor of
    /// `genesis`: an account that would read as a trader, an authority or an unknown party is
    /// refused, as is a malformed or repeated one.
    pub fn new(accounts: &[ExplorerAccount], genesis: &Genesis) -> Result<Self, String> {
        check_explorer_accounts(accounts).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(accounts.len());
        for a in accounts {
            let party = if let Some(office) = genesis.offices.get(&a.party) {
                Party::Office {
                    id: a.party.clone(),
                    administration: office.administration.clone(),
                }
            } else if genesis.auditors.contains_key(&a.party) {
                Party::Auditor(a.party.clone())
            } else {
                return Err(format!(
                    "explorer account {:?}: {} is neither a customs office nor an auditor of \
                     this ledger's genesis",
                    a.name, a.party
                ));
            };
            let mut token_sha256 = [0u8; 32];
            hex::decode_to_slice(&a.token_sha256, &mut token_sha256)
                .map_err(|e| format!("explorer account {:?}: token_sha256: {e}", a.name))?;
            out.push(Account {
                name: a.name.clone(),
                party,
                token_sha256,
            });
        }
        Ok(Accounts { accounts: out })
    }

    /// The account whose token this is. Every account's hash is compared in constant time, so
    /// the answer's timing does not tell which accounts exist.
    pub fn sign_in(&self, token: &str) -> Option<&Account> {
        let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        let mut found = None;
        for a in &self.accounts {
            if bool::from(a.token_sha256.ct_eq(&hash)) {
                found = Some(a);
            }
        }
        found
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when nobody may sign in.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkcustoms_ledger_core::testing::single_validator_genesis;
    use zkcustoms_ledger_types::crypto;
    use zkcustoms_ledger_types::genesis::{explorer_token_hash, Params, SignerEntry};

    /// A genesis with an authority, two customs offices and an auditor.
    fn dev_genesis() -> Genesis {
        let key = crypto::generate;
        let genesis = single_validator_genesis(
            "zkcustoms-accounts-test",
            ("validator-0", &key()),
            &[("DE-GZD", &key())],
            &[("DE-HAMBURG-HAFEN", &key()), ("NL-ROTTERDAM", &key())],
            vec![],
            Params::default(),
        );
        let mut file = genesis.file.clone();
        file.auditors.push(SignerEntry {
            id: "AUDIT-EU-1".into(),
            public_key: crypto::public_hex(&crypto::public_of(&key())),
            administration: None,
        });
        Genesis::from_bytes(&serde_json::to_vec(&file).unwrap()).unwrap()
    }

    fn account(name: &str, party: &str, token: &str) -> ExplorerAccount {
        ExplorerAccount {
            name: name.into(),
            party: party.into(),
            token_sha256: explorer_token_hash(token),
        }
    }

    #[test]
    fn accounts_read_as_offices_and_auditors_of_genesis_only() {
        let genesis = dev_genesis();
        let office = genesis.offices.keys().next().unwrap().clone();
        let auditor = genesis.auditors.keys().next().unwrap().clone();
        let accounts = Accounts::new(
            &[
                account("J. Schmidt", &office, "token-of-schmidt-0123456789abcdef"),
                account("A. Auditor", &auditor, "token-of-auditor-0123456789abcdef"),
            ],
            &genesis,
        )
        .unwrap();
        let schmidt = accounts
            .sign_in("token-of-schmidt-0123456789abcdef\n")
            .unwrap();
        assert_eq!(schmidt.name, "J. Schmidt");
        assert!(matches!(&schmidt.party, Party::Office { id, .. } if *id == office));
        let a = accounts
            .sign_in("token-of-auditor-0123456789abcdef")
            .unwrap();
        assert_eq!(a.party, Party::Auditor(auditor.clone()));
        assert!(accounts.sign_in("token-of-nobody").is_none());
        assert!(accounts.sign_in("").is_none());

        let authority = genesis.authorities.keys().next().unwrap().clone();
        for party in [authority.as_str(), "DE123456789012345", "NOBODY"] {
            let e = Accounts::new(&[account("X", party, "t")], &genesis).unwrap_err();
            assert!(e.contains("neither a customs office nor an auditor"), "{e}");
        }
        let e = Accounts::new(
            &[account("X", &office, "t"), account("X", &auditor, "u")],
            &genesis,
        )
        .unwrap_err();
        assert!(e.contains("listed twice"), "{e}");
        let e = Accounts::new(
            &[account("X", &office, "t"), account("Y", &auditor, "t")],
            &genesis,
        )
        .unwrap_err();
        assert!(e.contains("token of another account"), "{e}");
        // Malformed accounts: a name empty, too long or with a control character, a hash that
        // is not 64 lower-case hex digits.
        let mut bad = Vec::new();
        for name in ["", &"x".repeat(65), "J.\nSchmidt"] {
            bad.push(account(name, &office, "t"));
        }
        for hash in ["ab", &"A".repeat(64), &"g".repeat(64), &"0".repeat(66)] {
            let mut a = account("X", &office, "t");
            a.token_sha256 = hash.to_string();
            bad.push(a);
        }
        for a in bad {
            let e = Accounts::new(std::slice::from_ref(&a), &genesis).unwrap_err();
            assert!(e.contains("explorer account"), "{a:?}: {e}");
        }
    }
}
