//! `zkcustoms party`: a party's key file, and the ledger transactions about traders (registration,
//! key rotation and revocation by a customs office; delegation by a consignment owner).

use crate::ledger_cli::{api_refusal, sign_and_send, ChainArgs, ClientArgs, Refusal};
use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use zkcustoms_ledger_client::Client;
use zkcustoms_ledger_types::crypto;
use zkcustoms_ledger_types::tx::{
    check_party_id, Delegate, Eori, RegisterTrader, RevokeTrader, RotateTraderKey, Transaction,
};

/// `zkcustoms party`.
#[derive(Subcommand)]
pub enum PartyCommand {
    /// Give a person an explorer account on a node: a fresh sign-in token written to
    /// `--token-out` (owner-readable only) and its hash added to the node configuration under
    /// the person's name and the customs office or auditor they read as (the node reads its
    /// accounts at start). With `--remove`, take the named account away instead.
    ExplorerAccount {
        /// The node configuration (`node.json`).
        #[arg(long)]
        config: PathBuf,
        /// The ledger's genesis file (the party must be one of its offices or auditors).
        #[arg(long)]
        genesis: PathBuf,
        /// The person's name, as the explorer shows it (e.g. `J. Schmidt, DE-HAMBURG-HAFEN`).
        #[arg(long)]
        name: String,
        /// The customs office or auditor of genesis they read as.
        #[arg(long, required_unless_present = "remove")]
        party: Option<String>,
        /// Where to write the token to hand to the person (never an existing file).
        #[arg(long, required_unless_present = "remove")]
        token_out: Option<PathBuf>,
        /// Remove the named account.
        #[arg(long, conflicts_with_all = ["party", "token_out"])]
        remove: bool,
    },
    /// Make a party's Ed25519 key file (owner-readable only; an existing file is never replaced)
    /// and print its public key, which is all that leaves the party.
    New {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a key file.
    PublicKey {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Register a trader's public key, signed by a customs office whose administration vouches
    /// for the trader (role: customs).
    Register {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        #[command(flatten)]
        office: OfficeArgs,
        /// The trader's EORI number.
        #[arg(long)]
        trader: String,
        /// The trader's public key (hex, from `party new`).
        #[arg(long)]
        public_key: String,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// Replace a trader's key (also reinstating a revoked trader), signed by an office of the
    /// administration that vouches for it (role: customs).
    Rotate {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        #[command(flatten)]
        office: OfficeArgs,
        /// The trader's EORI number.
        #[arg(long)]
        trader: String,
        /// The new public key (hex).
        #[arg(long)]
        public_key: String,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// Revoke a trader's key, signed by an office of the administration that vouches for it
    /// (role: customs).
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        #[command(flatten)]
        office: OfficeArgs,
        /// The trader's EORI number.
        #[arg(long)]
        trader: String,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// Let another registered trader (a customs broker) act for the owner on its consignments,
    /// or withdraw that, signed by the owner (role: trader).
    Delegate {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        chain: ChainArgs,
        /// The owner's EORI number.
        #[arg(long)]
        owner: String,
        /// The owner's key file.
        #[arg(long)]
        key: PathBuf,
        /// The delegate's EORI number.
        #[arg(long)]
        delegate: String,
        /// Withdraw the delegation instead of granting it.
        #[arg(long)]
        withdraw: bool,
        /// Return once accepted into the mempool.
        #[arg(long)]
        no_wait: bool,
    },
    /// A trader's key history and delegations on the ledger.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        /// The trader's EORI number.
        #[arg(long)]
        trader: String,
    },
}

/// The office that signs a trader-key change, and its key.
#[derive(clap::Args)]
pub struct OfficeArgs {
    /// The customs office, as listed in genesis.
    #[arg(long)]
    office: String,
    /// The office's signing key file.
    #[arg(long)]
    key: PathBuf,
}

impl OfficeArgs {
    fn load(&self) -> Result<(String, crypto::PrivateKey)> {
        check_party_id("office", &self.office)?;
        let key = crypto::read_private(&self.key).map_err(|e| anyhow!(e))?;
        Ok((self.office.clone(), key))
    }
}

/// The trader's record on the ledger (`GET /v1/traders/{eori}`).
fn trader_record(client: &Client, trader: &Eori) -> Result<serde_json::Value, Refusal> {
    client
        .get(&format!("/v1/traders/{trader}"))
        .map_err(api_refusal)
}

/// Runs `party`.
pub fn run(cmd: PartyCommand) -> Result<(), Refusal> {
    match cmd {
        PartyCommand::ExplorerAccount {
            config,
            genesis,
            name,
            party,
            token_out,
            remove,
        } => Ok(explorer_account(
            &config,
            &genesis,
            &name,
            party.as_deref().zip(token_out.as_deref()),
            remove,
        )?),
        PartyCommand::New { out } => {
            if out.exists() {
                return Err(anyhow!("{} exists: choose another file", out.display()).into());
            }
            let key = crypto::generate();
            crypto::write_private(&out, &key)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}", crypto::public_hex(&crypto::public_of(&key)));
            eprintln!(
                "key written to {} (readable by its owner only); the line above is its public key",
                out.display()
            );
            Ok(())
        }
        PartyCommand::PublicKey { key } => {
            let key = crypto::read_private(&key).map_err(|e| anyhow!(e))?;
            println!("{}", crypto::public_hex(&crypto::public_of(&key)));
            Ok(())
        }
        PartyCommand::Register {
            client,
            chain,
            office,
            trader,
            public_key,
            no_wait,
        } => {
            let client = client.client()?;
            let (office, key) = office.load()?;
            let tx = Transaction::RegisterTrader(RegisterTrader {
                office,
                trader: Eori::parse(&trader)?,
                public_key: crypto::public_from_hex(&public_key).map_err(|e| anyhow!(e))?,
                signature: crypto::unsigned(),
            });
            sign_and_send(&client, &chain, tx, &key, no_wait)
        }
        PartyCommand::Rotate {
            client,
            chain,
            office,
            trader,
            public_key,
            no_wait,
        } => {
            let client = client.client()?;
            let (office, key) = office.load()?;
            let trader = Eori::parse(&trader)?;
            let record = trader_record(&client, &trader)?;
            let tx = Transaction::RotateTraderKey(RotateTraderKey {
                office,
                sequence: next_sequence(&record)?,
                trader,
                public_key: crypto::public_from_hex(&public_key).map_err(|e| anyhow!(e))?,
                signature: crypto::unsigned(),
            });
            sign_and_send(&client, &chain, tx, &key, no_wait)
        }
        PartyCommand::Revoke {
            client,
            chain,
            office,
            trader,
            no_wait,
        } => {
            let client = client.client()?;
            let (office, key) = office.load()?;
            let trader = Eori::parse(&trader)?;
            let record = trader_record(&client, &trader)?;
            let tx = Transaction::RevokeTrader(RevokeTrader {
                office,
                sequence: next_sequence(&record)?,
                trader,
                signature: crypto::unsigned(),
            });
            sign_and_send(&client, &chain, tx, &key, no_wait)
        }
        PartyCommand::Delegate {
            client,
            chain,
            owner,
            key,
            delegate,
            withdraw,
            no_wait,
        } => {
            let client = client.client()?;
            let owner = Eori::parse_field("owner", &owner)?;
            let delegate = Eori::parse_field("delegate", &delegate)?;
            let key = crypto::read_private(&key).map_err(|e| anyhow!(e))?;
            let record = trader_record(&client, &owner)?;
            let sequence = record["delegations"]
                .as_array()
                .and_then(|list| {
                    list.iter()
                        .find(|d| d["delegate"] == delegate.as_str())
                        .and_then(|d| d["sequence"].as_u64())
                })
                .unwrap_or(0)
                .checked_add(1)
                .context("delegation sequence out of range")?;
            let tx = Transaction::Delegate(Delegate {
                owner,
                delegate,
                sequence: u32::try_from(sequence).context("delegation sequence out of range")?,
                active: !withdraw,
                signature: crypto::unsigned(),
            });
            sign_and_send(&client, &chain, tx, &key, no_wait)
        }
        PartyCommand::Show { client, trader } => {
            let client = client.client()?;
            let record = trader_record(&client, &Eori::parse(&trader)?)?;
            println!("{}", serde_json::to_string_pretty(&record)?);
            Ok(())
        }
    }
}

/// The next key sequence of a trader's record.
fn next_sequence(record: &serde_json::Value) -> Result<u32> {
    let latest = record["sequence"]
        .as_u64()
        .ok_or_else(|| anyhow!("the node answered no key sequence for the trader"))?;
    latest
        .checked_add(1)
        .and_then(|n| u32::try_from(n).ok())
        .context("key sequence out of range")
}

/// Adds (`new` is the party and the token file) or removes an explorer account of a node
/// configuration. The configuration is rewritten whole through a temporary file and a rename,
/// so a crash leaves the old or the new one; every other field is kept as written.
fn explorer_account(
    config: &std::path::Path,
    genesis: &std::path::Path,
    name: &str,
    new: Option<(&str, &std::path::Path)>,
    remove: bool,
) -> Result<()> {
    use zkcustoms_ledger_types::genesis::{ExplorerAccount, Genesis, NodeConfig};
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let current = NodeConfig::parse(&text, config)?;
    let genesis = Genesis::load(genesis)?;
    let mut accounts = current.explorer_accounts;
    let mut token = None;
    if remove {
        let before = accounts.len();
        accounts.retain(|a| a.name != name);
        if accounts.len() == before {
            return Err(anyhow!(
                "{} has no explorer account {name:?}",
                config.display()
            ));
        }
    } else {
        let (party, out) = new.ok_or_else(|| anyhow!("give --party and --token-out"))?;
        if accounts.iter().any(|a| a.name == name) {
            return Err(anyhow!(
                "{} already has an explorer account {name:?}: remove it first or choose another name",
                config.display()
            ));
        }
        if out.exists() {
            return Err(anyhow!("{} exists: choose another file", out.display()));
        }
        let (account, t) = ExplorerAccount::generate(name, party)?;
        accounts.push(account);
        token = Some((out, t));
    }
    // The node would refuse an account of an unknown party at start: refuse it now.
    zkcustoms_ledger_http::Accounts::new(&accounts, &genesis).map_err(|e| anyhow!(e))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)?;
    value["explorer_accounts"] = serde_json::to_value(&accounts)?;
    if accounts.is_empty() {
        value.as_object_mut().map(|o| o.remove("explorer_accounts"));
    }
    if let Some((out, t)) = &token {
        crypto::write_secret(out, format!("{t}\n").as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    // The new configuration replaces the old one whole (a crash leaves one or the other).
    let written = crypto::replace_secret(config, serde_json::to_string_pretty(&value)?.as_bytes());
    if let Err(e) = written {
        if let Some((out, _)) = &token {
            let _ = std::fs::remove_file(out);
        }
        return Err(anyhow!("cannot write {}: {e}", config.display()));
    }
    match token {
        Some((out, _)) => eprintln!(
            "explorer account {name:?} added to {}; its token is in {} (hand it to its holder); \
             restart the node to apply",
            config.display(),
            out.display()
        ),
        None => eprintln!(
            "explorer account {name:?} removed from {}; restart the node to apply",
            config.display()
        ),
    }
    Ok(())
}
