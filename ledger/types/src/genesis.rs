//! Genesis: the parties a ledger starts with (validators, AEO authorities, customs offices with
//! their administrations, auditors), the
//! verifying keys it accepts, and its rule parameters. Its hash is the chain id that every block
//! links back to and every signature covers.
//!
//! `zkcustoms genesis --dev` writes a development genesis with fresh keys: the genesis file, a
//! node configuration with random API tokens, and the matching secret key files.

use crate::crypto::{self, PublicKey};
use crate::tx::{check_party_id, sha256, Hash, Role};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;
use zkcustoms_verifier::{KeyDir, KeyId};

/// Format tag of a genesis file.
pub const GENESIS_FORMAT: &str = "zkcustoms-genesis/v2";
/// Format tag of a node configuration file.
pub const NODE_CONFIG_FORMAT: &str = "zkcustoms-node/v1";

/// Why a genesis or node configuration is not usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The content is not valid.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(s: impl Into<String>) -> GenesisError {
    GenesisError::Invalid(s.into())
}

/// A validator (one per customs administration).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    /// A readable name.
    pub name: String,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Address its peer-to-peer endpoint listens on and is dialled at.
    pub p2p_address: SocketAddr,
}

/// A party listed in genesis with its key (AEO authority, customs office, auditor).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignerEntry {
    /// Identifier (an authority as named in its certificates, a customs office code, an
    /// auditor's id).
    pub id: String,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// For a customs office: its administration (e.g. `DE`), which vouches for the traders the
    /// office registers. Absent for other parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administration: Option<String>,
}

/// A customs office as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Office {
    /// The office's key.
    pub key: PublicKey,
    /// Its administration.
    pub administration: String,
}

/// A verifying key the ledger accepts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PinnedKey {
    /// Statement id.
    pub statement: String,
    /// Size class, for statements that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_class: Option<SizeClass>,
    /// The key's id (SHA-256 of its canonical bytes).
    pub id: KeyId,
}

/// Rule parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How long a superseded registry root stays acceptable, in seconds.
    pub root_grace_seconds: u64,
    /// How many days an aeo-status proof's as-of day may differ from the block's day; `null`
    /// turns the check off (replaying historical proofs in tests).
    pub as_of_tolerance_days: Option<u32>,
    /// Most transactions per block.
    pub max_block_txs: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            root_grace_seconds: 86_400,
            as_of_tolerance_days: Some(1),
            max_block_txs: 512,
        }
    }
}

/// The genesis file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    /// Always [`GENESIS_FORMAT`].
    pub format: String,
    /// A readable name of the ledger.
    pub chain_name: String,
    /// The validators.
    pub validators: Vec<ValidatorEntry>,
    /// AEO authorities allowed to publish registry roots.
    pub authorities: Vec<SignerEntry>,
    /// Customs offices, each of an administration: they mark declarations under examination
    /// and register traders.
    pub customs_offices: Vec<SignerEntry>,
    /// Auditors (read-only parties).
    #[serde(default)]
    pub auditors: Vec<SignerEntry>,
    /// Verifying keys accepted, by id.
    pub verifying_keys: Vec<PinnedKey>,
    /// Rule parameters.
    pub params: Params,
    /// A development ledger's genesis (`genesis --dev`, `cluster init`): only it may pin
    /// development keys (made from a public seed, so anyone can forge proofs under them) or
    /// accept proofs of any as-of day. Absent (false) in a production genesis.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
}

/// A validated genesis, with its hash (the chain id).
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The file's content.
    pub file: GenesisFile,
    /// SHA-256 of the file's bytes.
    pub chain_id: Hash,
    /// Validators' keys, in genesis order.
    pub validators: Vec<PublicKey>,
    /// Authorities' keys by id.
    pub authorities: BTreeMap<String, PublicKey>,
    /// Customs offices by id.
    pub offices: BTreeMap<String, Office>,
    /// Auditors' keys by id.
    pub auditors: BTreeMap<String, PublicKey>,
    /// Pinned key id per circuit.
    pub pinned: BTreeMap<CircuitId, KeyId>,
}

impl Genesis {
    /// Parses and validates genesis bytes (keys decode, ids are unique, circuits known).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GenesisError> {
        let file: GenesisFile = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("genesis is not valid: {e}")))?;
        if file.format != GENESIS_FORMAT {
            return Err(invalid(format!(
                "unknown genesis format {:?}, expected {GENESIS_FORMAT:?}",
                file.format
            )));
        }
        if file.validators.is_empty() {
            return Err(invalid("genesis lists no validator"));
        }
        let mut validators = Vec::new();
        let mut seen = BTreeSet::new();
        for v in &file.validators {
            let key = crypto::public_from_hex(&v.public_key)
                .map_err(|e| invalid(format!("validator {}: {e}", v.name)))?;
            // By the key's bytes: hex in upper and lower case names one key.
            if !seen.insert(crypto::public_bytes(&key)) {
                return Err(invalid(format!("validator {} is listed twice", v.name)));
            }
            validators.push(key);
        }
        let signers = |entries: &[SignerEntry], what: &'static str| {
            let mut out = BTreeMap::new();
            for e in entries {
                check_party_id(what, &e.id).map_err(|err| invalid(err.to_string()))?;
                match (&e.administration, what) {
                    (None, "customs office") => {
                        return Err(invalid(format!(
                            "customs office {} names no administration",
                            e.id
                        )))
                    }
                    (Some(a), "customs office") => check_party_id("administration", a)
                        .map_err(|err| invalid(format!("customs office {}: {err}", e.id)))?,
                    (Some(_), _) => {
                        return Err(invalid(format!(
                            "{what} {}: only customs offices have an administration",
                            e.id
                        )))
                    }
                    (None, _) => {}
                }
                let key = crypto::public_from_hex(&e.public_key)
                    .map_err(|err| invalid(format!("{what} {}: {err}", e.id)))?;
                if out.insert(e.id.clone(), key).is_some() {
                    return Err(invalid(format!("{what} {} is listed twice", e.id)));
                }
            }
            Ok::<_, GenesisError>(out)
        };
        let authorities = signers(&file.authorities, "authority")?;
        let office_keys = signers(&file.customs_offices, "customs office")?;
        let auditors = signers(&file.auditors, "auditor")?;
        // A key id names one party: an id listed under two roles would authenticate as the
        // first one looked up only.
        let mut ids = BTreeSet::new();
        for id in authorities
            .keys()
            .chain(office_keys.keys())
            .chain(auditors.keys())
        {
            if !ids.insert(id) {
                return Err(invalid(format!(
                    "{id} is listed under two roles (authority, customs office, auditor): a \
                     party id names one party"
                )));
            }
        }
        // One key signs for one party: a validator's key doubling as an office's, or one key
        // under two administrations' offices, would let its holder act as both.
        let parties = [
            ("authority", &authorities),
            ("customs office", &office_keys),
            ("auditor", &auditors),
        ];
        for (what, keys) in parties {
            for (id, key) in keys {
                if !seen.insert(crypto::public_bytes(key)) {
                    return Err(invalid(format!(
                        "the key of {what} {id} is also another party's or a validator's: each \
                         signs with its own key"
                    )));
                }
            }
        }
        let offices = file
            .customs_offices
            .iter()
            .map(|e| {
                let office = Office {
                    key: office_keys[&e.id].clone(),
                    administration: e.administration.clone().unwrap_or_default(),
                };
                (e.id.clone(), office)
            })
            .collect();
        let mut pinned = BTreeMap::new();
        for k in &file.verifying_keys {
            let circuit = CircuitId::from_parts(&k.statement, k.size_class).map_err(invalid)?;
            if pinned.insert(circuit, k.id).is_some() {
                return Err(invalid(format!("two verifying keys pinned for {circuit}")));
            }
        }
        if file.params.as_of_tolerance_days.is_none() && !file.development {
            return Err(invalid(
                "as_of_tolerance_days is null (proofs of any as-of day): only a development \
                 genesis may turn the check off",
            ));
        }
        if file.params.max_block_txs == 0 || file.params.max_block_txs > crate::block::MAX_BLOCK_TXS
        {
            return Err(invalid(format!(
                "max_block_txs must be 1 to {}",
                crate::block::MAX_BLOCK_TXS
            )));
        }
        Ok(Self {
            chain_id: sha256(bytes),
            file,
            validators,
            authorities,
            offices,
            auditors,
            pinned,
        })
    }

    /// Reads and validates a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// The rule parameters.
    pub fn params(&self) -> &Params {
        &self.file.params
    }

    /// Whether this is a development ledger's genesis ([`GenesisFile::development`]).
    pub fn is_development(&self) -> bool {
        self.file.development
    }

    /// Refuses a key directory of development keys (made from a public seed: anyone can forge
    /// proofs under them) for a ledger whose genesis is not a development one.
    pub fn check_key_dir(&self, keys: &KeyDir) -> Result<(), GenesisError> {
        if keys.manifest().development && !self.file.development {
            return Err(invalid(
                "the key directory holds development keys (from a public seed: anyone can forge \
                 proofs under them) and this genesis is not a development one: use the keys of \
                 the ceremony (docs/ceremony.md)",
            ));
        }
        Ok(())
    }

    /// The p2p address of a validator.
    pub fn validator_address(&self, key: &PublicKey) -> Option<SocketAddr> {
        self.validators
            .iter()
            .position(|k| k == key)
            .map(|i| self.file.validators[i].p2p_address)
    }
}

/// A node's own configuration: its validator key and the API tokens of each role.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Always [`NODE_CONFIG_FORMAT`].
    pub format: String,
    /// The validator's private key file, relative to this file's directory.
    pub validator_key: PathBuf,
    /// The key directory holding the pinned verifying keys, relative to this file's directory.
    pub keys: PathBuf,
    /// API token of each role (hex, 32 random bytes each).
    pub tokens: BTreeMap<Role, String>,
    /// Address of the HTTP API (the command line may override it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Data directory, relative to this file's directory (the command line may override it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// The file of the master key that wraps off-ledger document keys (64 hex digits, readable
    /// by its owner only), relative to this file's directory; it must be outside the data
    /// directory. The environment variable `ZKCUSTOMS_DOCUMENT_MASTER_KEY` takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_master_key: Option<PathBuf>,
    /// The people who may sign in to the node's explorer, each as a named customs officer or
    /// auditor with a token of their own (API tokens do not sign in).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explorer_accounts: Vec<ExplorerAccount>,
    /// The authorities (`host[:port]`) under which parties reach the node's API, for a node
    /// behind a proxy or under a public name: document requests must be signed for one of them.
    /// The command line's `--public-authority` takes precedence; none: the listen address's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_authorities: Vec<String>,
}

impl std::fmt::Debug for NodeConfig {
    /// Everything but the tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("format", &self.format)
            .field("validator_key", &self.validator_key)
            .field("keys", &self.keys)
            .field("tokens", &format_args!("<{} redacted>", self.tokens.len()))
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("document_master_key", &self.document_master_key)
            .field("explorer_accounts", &self.explorer_accounts.len())
            .field("public_authorities", &self.public_authorities)
            .finish()
    }
}

/// Most public authorities a node configuration names.
pub const MAX_PUBLIC_AUTHORITIES: usize = 16;

/// Most explorer accounts a node configuration holds.
pub const MAX_EXPLORER_ACCOUNTS: usize = 10_000;

/// A person who signs in to a node's explorer: their name, the party of genesis they read as (a
/// customs office or an auditor) and the SHA-256 of their sign-in token, so that the
/// configuration holds no token it could leak.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExplorerAccount {
    /// Who signs in, shown on every page and logged at each sign-in (1 to 64 characters, no
    /// control characters), e.g. `J. Schmidt, DE-HAMBURG-HAFEN`.
    pub name: String,
    /// The customs office or auditor of genesis they read as.
    pub party: String,
    /// SHA-256 of their sign-in token, 64 lower-case hex digits.
    pub token_sha256: String,
}

impl ExplorerAccount {
    /// A new account with a fresh random token: the account, and the token to hand to its
    /// holder (the account keeps only its hash).
    pub fn generate(name: &str, party: &str) -> Result<(Self, String), GenesisError> {
        let token = random_token();
        let account = ExplorerAccount {
            name: name.to_owned(),
            party: party.to_owned(),
            token_sha256: explorer_token_hash(&token),
        };
        account.check()?;
        Ok((account, token))
    }

    /// Checks the account's fields (not yet that genesis knows its party).
    pub fn check(&self) -> Result<(), GenesisError> {
        let n = self.name.chars().count();
        if n == 0 || n > 64 || self.name.chars().any(char::is_control) {
            return Err(invalid(format!(
                "explorer account {:?}: a name is 1 to 64 characters without control characters",
                self.name
            )));
        }
        check_party_id("explorer account party", &self.party)
            .map_err(|e| invalid(format!("explorer account {:?}: {e}", self.name)))?;
        let hash = &self.token_sha256;
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid(format!(
                "explorer account {:?}: token_sha256 is 64 lower-case hex digits",
                self.name
            )));
        }
        Ok(())
    }
}

/// The hash an explorer account keeps of its token: SHA-256 of the token's text, trimmed of
/// surrounding white space (as token files end with a newline), in lower-case hex.
pub fn explorer_token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.trim().as_bytes()))
}

impl NodeConfig {
    /// Reads a node configuration; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        // It holds the role tokens: readable by its owner only.
        let text = crypto::read_secret(path).map_err(invalid)?;
        Self::parse(&text, path)
    }

    /// Parses and checks the text of a node configuration read from `path` (named in errors;
    /// relative paths are resolved against its directory).
    pub fn parse(text: &str, path: &Path) -> Result<Self, GenesisError> {
        let mut cfg: NodeConfig =
            serde_json::from_str(text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        if cfg.format != NODE_CONFIG_FORMAT {
            return Err(invalid(format!(
                "unknown node configuration format {:?}",
                cfg.format
            )));
        }
        for role in Role::ALL {
            match cfg.tokens.get(&role) {
                Some(t) if t.trim().len() >= 32 => {}
                _ => {
                    return Err(invalid(format!(
                        "{}: the {} token is missing or shorter than 32 characters",
                        path.display(),
                        role.name()
                    )))
                }
            }
        }
        // A token shared by two roles (or with an explorer account) would sign in as one only;
        // tokens are compared as they are authenticated, trimmed.
        let mut hashes: BTreeSet<String> = cfg
            .explorer_accounts
            .iter()
            .map(|a| a.token_sha256.clone())
            .collect();
        for (role, token) in &cfg.tokens {
            if !hashes.insert(explorer_token_hash(token)) {
                return Err(invalid(format!(
                    "{}: the {} token is also another role's or an explorer account's: each \
                     needs its own",
                    path.display(),
                    role.name()
                )));
            }
        }
        check_explorer_accounts(&cfg.explorer_accounts)
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        if cfg.public_authorities.len() > MAX_PUBLIC_AUTHORITIES {
            return Err(invalid(format!(
                "{}: at most {MAX_PUBLIC_AUTHORITIES} public authorities",
                path.display()
            )));
        }
        for authority in &cfg.public_authorities {
            crate::http_signature::check_authority(authority).map_err(|e| {
                invalid(format!(
                    "{}: public authority {authority:?}: {e}",
                    path.display()
                ))
            })?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        cfg.validator_key = dir.join(&cfg.validator_key);
        cfg.keys = dir.join(&cfg.keys);
        cfg.data_dir = cfg.data_dir.map(|d| dir.join(d));
        cfg.document_master_key = cfg.document_master_key.map(|d| dir.join(d));
        Ok(cfg)
    }
}

/// Checks a list of explorer accounts: each account's fields, at most
/// [`MAX_EXPLORER_ACCOUNTS`], no name and no token twice.
pub fn check_explorer_accounts(accounts: &[ExplorerAccount]) -> Result<(), GenesisError> {
    if accounts.len() > MAX_EXPLORER_ACCOUNTS {
        return Err(invalid(format!(
            "at most {MAX_EXPLORER_ACCOUNTS} explorer accounts"
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    let mut hashes = std::collections::BTreeSet::new();
    for a in accounts {
        a.check()?;
        if !names.insert(&a.name) {
            return Err(invalid(format!(
                "explorer account {:?} is listed twice",
                a.name
            )));
        }
        if !hashes.insert(&a.token_sha256) {
            return Err(invalid(format!(
                "explorer account {:?} has the token of another account",
                a.name
            )));
        }
    }
    Ok(())
}

/// What `genesis --dev` makes.
#[derive(Clone, Debug)]
pub struct DevGenesisOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Key directory whose verifying keys are pinned.
    pub keys: PathBuf,
    /// Number of validators.
    pub validators: usize,
    /// First p2p port (validator i listens on port + i, on 127.0.0.1).
    pub p2p_port: u16,
    /// For a local cluster: the first API port (node i listens on port + i, on 127.0.0.1, and
    /// keeps its data in `node-i` next to its configuration).
    pub api_port: Option<u16>,
    /// AEO authorities.
    pub authorities: Vec<String>,
    /// Customs offices (the administration of each is the part of its id before the first `-`,
    /// `DE` for `DE-HAMBURG-HAFEN`).
    pub offices: Vec<String>,
    /// Auditors.
    pub auditors: Vec<String>,
    /// Rule parameters.
    pub params: Params,
}

/// The files `genesis --dev` wrote.
#[derive(Clone, Debug)]
pub struct DevGenesis {
    /// The genesis file.
    pub genesis: PathBuf,
    /// One node configuration per validator.
    pub node_configs: Vec<PathBuf>,
    /// Secret key files of authorities, offices and auditors, by id.
    pub signer_keys: BTreeMap<String, PathBuf>,
    /// Token file of each role (the same tokens for every node).
    pub token_files: BTreeMap<Role, PathBuf>,
    /// Explorer sign-in token file of each office and auditor, by party id (one account each,
    /// on every node).
    pub explorer_token_files: BTreeMap<String, PathBuf>,
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenesisError + '_ {
    move |source| GenesisError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a development genesis: fresh keys for every party, the pinned verifying keys of a key
/// directory, one node configuration per validator, with random API tokens shared by all nodes
/// (one development operator). Refuses to overwrite an existing genesis or any file it writes;
/// the genesis file is written last, so that a directory holding one is complete.
pub fn write_dev(opts: &DevGenesisOptions) -> Result<DevGenesis, GenesisError> {
    let keydir = KeyDir::open(&opts.keys).map_err(|e| invalid(e.to_string()))?;
    let mut verifying_keys = Vec::new();
    for entry in &keydir.manifest().keys {
        verifying_keys.push(PinnedKey {
            statement: entry.statement.clone(),
            size_class: entry.size_class,
            id: entry.vk_id,
        });
    }
    if opts.validators == 0 {
        return Err(invalid("at least one validator is needed"));
    }
    std::fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let genesis_path = opts.out.join("genesis.json");
    if genesis_path.exists() {
        return Err(invalid(format!(
            "{} exists: choose another directory",
            genesis_path.display()
        )));
    }
    let keys_abs = std::fs::canonicalize(&opts.keys).map_err(io_err(&opts.keys))?;
    let mut validators = Vec::new();
    let mut validator_keys = Vec::new();
    for i in 0..opts.validators {
        let key = crypto::generate();
        let port = opts
            .p2p_port
            .checked_add(i as u16)
            .ok_or_else(|| invalid("p2p port out of range"))?;
        validators.push(ValidatorEntry {
            name: format!("validator-{i}"),
            public_key: crypto::public_hex(&crypto::public_of(&key)),
            p2p_address: SocketAddr::from(([127, 0, 0, 1], port)),
        });
        validator_keys.push(key);
    }
    let mut signer_keys = BTreeMap::new();
    let mut signers =
        |ids: &[String], prefix: &'static str| -> Result<Vec<SignerEntry>, GenesisError> {
            let mut out = Vec::new();
            for id in ids {
                check_party_id(prefix, id).map_err(|e| invalid(e.to_string()))?;
                let key = crypto::generate();
                let path = opts.out.join(format!("{prefix}-{id}.key"));
                crypto::write_private(&path, &key).map_err(io_err(&path))?;
                signer_keys.insert(id.clone(), path);
                let administration =
                    (prefix == "customs").then(|| id.split('-').next().unwrap_or(id).to_owned());
                out.push(SignerEntry {
                    id: id.clone(),
                    public_key: crypto::public_hex(&crypto::public_of(&key)),
                    administration,
                });
            }
            Ok(out)
        };
    let authorities = signers(&opts.authorities, "authority")?;
    let customs_offices = signers(&opts.offices, "customs")?;
    let auditors = signers(&opts.auditors, "auditor")?;
    let file = GenesisFile {
        format: GENESIS_FORMAT.into(),
        chain_name: "zkcustoms-dev".into(),
        validators,
        authorities,
        customs_offices,
        auditors,
        verifying_keys,
        params: opts.params.clone(),
        development: true,
    };
    let bytes = serde_json::to_vec_pretty(&file).expect("genesis serializes");
    Genesis::from_bytes(&bytes)?;

    let mut node_configs = Vec::new();
    let mut token_files = BTreeMap::new();
    let tokens: BTreeMap<Role, String> = Role::ALL.iter().map(|r| (*r, random_token())).collect();
    for (role, token) in &tokens {
        let path = opts.out.join(format!("{}.token", role.name()));
        crypto::write_secret(&path, format!("{token}\n").as_bytes()).map_err(io_err(&path))?;
        token_files.insert(*role, path);
    }
    // One explorer account per office and auditor, named after it.
    let mut explorer_accounts = Vec::new();
    let mut explorer_token_files = BTreeMap::new();
    let people = opts
        .offices
        .iter()
        .map(|id| (format!("officer at {id}"), id))
        .chain(opts.auditors.iter().map(|id| (format!("auditor {id}"), id)));
    for (name, id) in people {
        let (account, token) = ExplorerAccount::generate(&name, id)?;
        let path = opts.out.join(format!("explorer-{id}.token"));
        crypto::write_secret(&path, format!("{token}\n").as_bytes()).map_err(io_err(&path))?;
        explorer_token_files.insert(id.clone(), path);
        explorer_accounts.push(account);
    }
    for (i, key) in validator_keys.iter().enumerate() {
        let key_file = format!("validator-{i}.key");
        let key_path = opts.out.join(&key_file);
        crypto::write_private(&key_path, key).map_err(io_err(&key_path))?;
        let (listen, data_dir) = match opts.api_port {
            Some(port) => {
                let port = port
                    .checked_add(i as u16)
                    .ok_or_else(|| invalid("API port out of range"))?;
                (
                    Some(SocketAddr::from(([127, 0, 0, 1], port))),
                    Some(PathBuf::from(format!("node-{i}"))),
                )
            }
            None => (None, None),
        };
        // Each node's document master key, beside its configuration (outside its data directory).
        let master_file = if opts.validators == 1 {
            "document-master.key".to_string()
        } else {
            format!("document-master-{i}.key")
        };
        let master_path = opts.out.join(&master_file);
        crypto::write_secret(&master_path, format!("{}\n", random_token()).as_bytes())
            .map_err(io_err(&master_path))?;
        let cfg = NodeConfig {
            format: NODE_CONFIG_FORMAT.into(),
            validator_key: PathBuf::from(key_file),
            keys: keys_abs.clone(),
            tokens: tokens.clone(),
            listen,
            data_dir,
            document_master_key: Some(PathBuf::from(master_file)),
            explorer_accounts: explorer_accounts.clone(),
            public_authorities: Vec::new(),
        };
        let path = opts.out.join(if opts.validators == 1 {
            "node.json".to_string()
        } else {
            format!("node-{i}.json")
        });
        let text = serde_json::to_string_pretty(&cfg).expect("config serializes");
        crypto::write_secret(&path, text.as_bytes()).map_err(io_err(&path))?;
        node_configs.push(path);
    }
    // Written last, whole: a genesis file stands only beside every key it names (a run cut
    // short leaves none, and a genesis pinning validator keys nobody holds is never left).
    crypto::write_public(&genesis_path, &bytes).map_err(io_err(&genesis_path))?;
    Ok(DevGenesis {
        genesis: genesis_path,
        node_configs,
        signer_keys,
        token_files,
        explorer_token_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A genesis with two validators, an authority, an office and an auditor (no keys pinned).
    fn genesis_file() -> GenesisFile {
        let key = || crypto::public_hex(&crypto::public_of(&crypto::generate()));
        let signer = |id: &str, administration: Option<&str>| SignerEntry {
            id: id.into(),
            public_key: key(),
            administration: administration.map(str::to_owned),
        };
        GenesisFile {
            format: GENESIS_FORMAT.into(),
            chain_name: "genesis-test".into(),
            validators: (0..2)
                .map(|i| ValidatorEntry {
                    name: format!("validator-{i}"),
                    public_key: key(),
                    p2p_address: SocketAddr::from(([127, 0, 0, 1], 9000 + i)),
                })
                .collect(),
            authorities: vec![signer("DE-AEO", None)],
            customs_offices: vec![signer("DE-HAMBURG-HAFEN", Some("DE"))],
            auditors: vec![signer("EU-AUDIT", None)],
            verifying_keys: Vec::new(),
            params: Params::default(),
            development: false,
        }
    }

    /// Only a development genesis may accept proofs of any as-of day, or be served by
    /// development keys; a production genesis is written without the field.
    #[test]
    fn development_switches_need_a_development_genesis() {
        let mut any_day = genesis_file();
        any_day.params.as_of_tolerance_days = None;
        let e = parse(&any_day).unwrap_err().to_string();
        assert!(e.contains("only a development genesis"), "{e}");
        any_day.development = true;
        assert!(parse(&any_day).unwrap().is_development());
        let text = serde_json::to_string(&genesis_file()).unwrap();
        assert!(!text.contains("development"), "{text}");

        let dir = tempfile::tempdir().unwrap();
        let manifest = |development: bool| {
            let m = serde_json::json!({
                "format": zkcustoms_verifier::keys::MANIFEST_FORMAT,
                "development": development,
                "keys": [],
            });
            std::fs::write(dir.path().join("manifest.json"), m.to_string()).unwrap();
            KeyDir::open(dir.path()).unwrap()
        };
        let production = parse(&genesis_file()).unwrap();
        let e = production.check_key_dir(&manifest(true)).unwrap_err();
        assert!(e.to_string().contains("development keys"), "{e}");
        production.check_key_dir(&manifest(false)).unwrap();
        parse(&any_day)
            .unwrap()
            .check_key_dir(&manifest(true))
            .unwrap();
    }

    #[test]
    fn a_development_genesis_cut_short_leaves_no_genesis_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(
            keys.join(zkcustoms_verifier::keys::MANIFEST),
            r#"{"format": "zkcustoms-keys/v1", "development": true, "keys": []}"#,
        )
        .unwrap();
        let out = dir.path().join("dev");
        std::fs::create_dir_all(&out).unwrap();
        // The validator's key file cannot be written: the run stops after the signer keys.
        std::fs::write(out.join("validator-0.key"), "someone else's").unwrap();
        let opts = DevGenesisOptions {
            out: out.clone(),
            keys,
            validators: 1,
            p2p_port: 9000,
            api_port: None,
            authorities: vec!["DE-AEO".into()],
            offices: vec!["DE-HAMBURG-HAFEN".into()],
            auditors: vec![],
            params: Params::default(),
        };
        assert!(write_dev(&opts).is_err());
        assert!(out.join("authority-DE-AEO.key").exists());
        assert!(!out.join("genesis.json").exists());
        // In a fresh directory the run completes, its genesis naming the keys written.
        let fresh = DevGenesisOptions {
            out: dir.path().join("fresh"),
            ..opts
        };
        let made = write_dev(&fresh).unwrap();
        let g = Genesis::load(&made.genesis).unwrap();
        assert_eq!(g.validators.len(), 1);
    }

    fn parse(file: &GenesisFile) -> Result<Genesis, GenesisError> {
        Genesis::from_bytes(&serde_json::to_vec(file).unwrap())
    }

    /// A validator's key listed twice (in upper and lower case hex) or a party id listed under two
    /// roles is refused: no node could run the first, and the second would authenticate as one
    /// role only.
    #[test]
    fn keys_and_party_ids_are_unique_in_genesis() {
        let file = genesis_file();
        parse(&file).expect("a valid genesis");
        let mut twice = file.clone();
        twice.validators[1].public_key = file.validators[0].public_key.to_uppercase();
        let e = parse(&twice).unwrap_err().to_string();
        assert!(e.contains("validator-1 is listed twice"), "{e}");
        let mut two_roles = file.clone();
        two_roles.auditors[0].id = "DE-AEO".into();
        let e = parse(&two_roles).unwrap_err().to_string();
        assert!(e.contains("DE-AEO is listed under two roles"), "{e}");
        // One key under two parties, or a validator's key as a party's, is refused.
        let mut shared = file.clone();
        shared.customs_offices[0].public_key = file.authorities[0].public_key.clone();
        let e = parse(&shared).unwrap_err().to_string();
        assert!(e.contains("is also another party's"), "{e}");
        let mut validator = file.clone();
        validator.auditors[0].public_key = file.validators[0].public_key.to_uppercase();
        let e = parse(&validator).unwrap_err().to_string();
        assert!(e.contains("the key of auditor"), "{e}");
        // A key of small order is not a key.
        let mut small = file;
        small.authorities[0].public_key = format!("01{}", "00".repeat(31));
        let e = parse(&small).unwrap_err().to_string();
        assert!(e.contains("authority DE-AEO"), "{e}");
    }

    fn config(public_authorities: serde_json::Value) -> Result<NodeConfig, GenesisError> {
        config_with(tokens(), public_authorities)
    }

    fn tokens() -> serde_json::Value {
        let t = |d: char| d.to_string().repeat(64);
        serde_json::json!({"authority": t('1'), "trader": t('2'), "customs": t('3'), "auditor": t('4')})
    }

    fn config_with(
        tokens: serde_json::Value,
        public_authorities: serde_json::Value,
    ) -> Result<NodeConfig, GenesisError> {
        let text = config_text(tokens, public_authorities);
        NodeConfig::parse(&text, Path::new("conf/node.json"))
    }

    fn config_text(tokens: serde_json::Value, public_authorities: serde_json::Value) -> String {
        serde_json::json!({
            "format": NODE_CONFIG_FORMAT,
            "validator_key": "validator.key",
            "keys": "keys",
            "tokens": tokens,
            "public_authorities": public_authorities,
        })
        .to_string()
    }

    /// Each role has a token of its own, and the configuration's debug form shows none.
    #[test]
    fn role_tokens_are_distinct_and_never_shown() {
        let cfg = config(serde_json::json!([])).unwrap();
        let shown = format!("{cfg:?}");
        assert!(shown.contains("<4 redacted>"), "{shown}");
        assert!(!shown.contains(&"1".repeat(64)), "{shown}");
        // The same token, also with white space around it (authentication trims it).
        let mut same = tokens();
        same["auditor"] = format!("{}\n", same["trader"].as_str().unwrap()).into();
        let e = config_with(same, serde_json::json!([]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is also another role's"), "{e}");
        let mut padded = tokens();
        padded["trader"] = format!("{:32}", "short").into();
        let e = config_with(padded, serde_json::json!([]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter than 32"), "{e}");
    }

    /// A node configuration holds tokens: one others may read is refused, as is one too large.
    #[cfg(unix)]
    #[test]
    fn a_node_configuration_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.json");
        let text = config_text(tokens(), serde_json::json!([]));
        crypto::write_secret(&path, text.as_bytes()).unwrap();
        NodeConfig::load(&path).expect("an owner-only configuration loads");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        let big = dir.path().join("big.json");
        crypto::write_secret(&big, &vec![b' '; crypto::MAX_SECRET_FILE as usize + 1]).unwrap();
        let e = NodeConfig::load(&big).unwrap_err().to_string();
        assert!(e.contains("larger than a secret file"), "{e}");
    }

    /// A node configuration's public authorities are each a lower-case `host[:port]`, and few.
    #[test]
    fn public_authorities_are_checked_when_the_configuration_is_read() {
        let names = [
            "ledger.customs.example",
            "ledger.customs.example:8443",
            "[::1]:80",
        ];
        assert_eq!(
            config(serde_json::json!(names)).unwrap().public_authorities,
            names
        );
        assert!(config(serde_json::json!([]))
            .unwrap()
            .public_authorities
            .is_empty());
        for bad in ["Ledger.Example", "", "host/path", "a b"] {
            let e = config(serde_json::json!([bad])).unwrap_err().to_string();
            assert!(
                e.contains("conf/node.json: public authority"),
                "{bad:?}: {e}"
            );
        }
        let many: Vec<String> = (0..=MAX_PUBLIC_AUTHORITIES)
            .map(|i| format!("n{i}.example"))
            .collect();
        let e = config(serde_json::json!(many)).unwrap_err().to_string();
        assert!(e.contains("at most 16 public authorities"), "{e}");
    }
}
