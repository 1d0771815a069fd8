//! Finality: the signature namespace of a ledger's consensus messages and the offline check of a
//! stored finalization certificate against the genesis validators.

use commonware_codec::Decode as _;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::certificate::Verifier as _;
use commonware_cryptography::ed25519::PublicKey;
use commonware_cryptography::sha256::Digest;
use commonware_utils::{ordered::Set, TryCollect};
use rand_chacha_10::ChaCha20Rng;
use rand_core_10::SeedableRng;
use zkcustoms_ledger_types::genesis::Genesis;
use zkcustoms_ledger_types::tx::Hash;

/// The signing scheme of the validators.
pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

/// Prefix of the signature namespace of consensus messages.
pub const CONSENSUS_NAMESPACE: &[u8] = b"zkcustoms/consensus/v1";

/// The signature namespace of one ledger's consensus messages: [`CONSENSUS_NAMESPACE`] and the
/// chain id, so a certificate of one ledger never verifies on another, even with the same
/// validator keys.
pub fn consensus_namespace(chain_id: &Hash) -> Vec<u8> {
    let mut ns = CONSENSUS_NAMESPACE.to_vec();
    ns.push(b'/');
    ns.extend_from_slice(hex::encode(chain_id).as_bytes());
    ns
}

/// Why a finalization certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FinalityError {
    /// The genesis lists a validator key twice.
    #[error("validator keys are not unique")]
    DuplicateValidators,
    /// The certificate's bytes do not decode.
    #[error("certificate does not decode: {0}")]
    Decode(String),
    /// The certificate finalizes another block hash.
    #[error("certificate finalizes another block")]
    OtherBlock,
    /// The signatures are not a quorum of the genesis validators over this proposal.
    #[error("certificate signatures do not verify against the genesis validators")]
    Signatures,
}

/// Checks a stored finalization certificate offline: it decodes, it finalizes exactly this block
/// hash, and a quorum of the genesis validators signed it. Answers the consensus view.
pub fn verify_finalization(
    genesis: &Genesis,
    block_hash: &Hash,
    certificate: &[u8],
) -> Result<u64, FinalityError> {
    let validators: Set<PublicKey> = genesis
        .validators
        .iter()
        .cloned()
        .try_collect()
        .map_err(|_| FinalityError::DuplicateValidators)?;
    let scheme = Scheme::verifier(&consensus_namespace(&genesis.chain_id), validators);
    let finalization =
        Finalization::<Scheme, Digest>::decode_cfg(certificate, &scheme.certificate_codec_config())
            .map_err(|e| FinalityError::Decode(e.to_string()))?;
    if finalization.proposal.payload.0 != *block_hash {
        return Err(FinalityError::OtherBlock);
    }
    // Batch signature checks take random coefficients: seed them from the operating system.
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let mut rng = ChaCha20Rng::from_seed(seed);
    if !finalization.verify(&mut rng, &scheme, &commonware_parallel::Sequential) {
        return Err(FinalityError::Signatures);
    }
    Ok(finalization.proposal.round.view().get())
}
