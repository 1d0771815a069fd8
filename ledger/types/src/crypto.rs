//! Signing keys of the ledger's parties (validators, AEO authorities, customs offices): Ed25519
//! from `commonware-cryptography`, with hex text forms and key files.

use crate::codec::{DecodeError, Reader};
use commonware_codec::{DecodeExt, Encode};
pub use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer, Verifier};
use rand::RngCore;
use std::path::Path;

/// Length of a public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// A fresh private key from the operating system's random generator.
pub fn generate() -> PrivateKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    PrivateKey::decode(&seed[..]).expect("any 32 bytes are an Ed25519 seed")
}

/// The 32 public-key bytes.
pub fn public_bytes(key: &PublicKey) -> [u8; PUBLIC_KEY_LEN] {
    key.as_ref()
        .try_into()
        .expect("Ed25519 public keys are 32 bytes")
}

/// Decodes a public key (exact length, a valid point).
pub fn public_from_bytes(bytes: &[u8]) -> Result<PublicKey, String> {
    if bytes.len() != PUBLIC_KEY_LEN {
        return Err(format!(
            "public key must be {PUBLIC_KEY_LEN} bytes, got {}",
            bytes.len()
        ));
    }
    PublicKey::decode(bytes).map_err(|e| format!("invalid public key: {e}"))
}

/// Decodes a public key from hex.
pub fn public_from_hex(s: &str) -> Result<PublicKey, String> {
    public_from_bytes(&hex::decode(s).map_err(|_| "public key is not hex".to_string())?)
}

/// The public key as hex.
pub fn public_hex(key: &PublicKey) -> String {
    hex::encode(key.as_ref())
}

/// Decodes a signature (exact length).
pub fn signature_from_bytes(bytes: &[u8]) -> Result<Signature, String> {
    if bytes.len() != SIGNATURE_LEN {
        return Err(format!(
            "signature must be {SIGNATURE_LEN} bytes, got {}",
            bytes.len()
        ));
    }
    Signature::decode(bytes).map_err(|e| format!("invalid signature: {e}"))
}

/// Reads a public key from a binary reader.
pub fn read_public(r: &mut Reader<'_>, field: &'static str) -> Result<PublicKey, DecodeError> {
    public_from_bytes(r.take(PUBLIC_KEY_LEN, field)?).map_err(|e| DecodeError::invalid(field, e))
}

/// Reads a signature from a binary reader.
pub fn read_signature(r: &mut Reader<'_>, field: &'static str) -> Result<Signature, DecodeError> {
    signature_from_bytes(r.take(SIGNATURE_LEN, field)?).map_err(|e| DecodeError::invalid(field, e))
}

/// Signs `msg` under `namespace`.
pub fn sign(key: &PrivateKey, namespace: &[u8], msg: &[u8]) -> Signature {
    key.sign(namespace, msg)
}

/// Checks a signature of `msg` under `namespace`.
pub fn verify(key: &PublicKey, namespace: &[u8], msg: &[u8], sig: &Signature) -> bool {
    key.verify(namespace, msg, sig)
}

/// The public key of a private key.
pub fn public_of(key: &PrivateKey) -> PublicKey {
    key.public_key()
}

/// Writes a private key as hex to a file readable by its owner only.
pub fn write_private(path: &Path, key: &PrivateKey) -> std::io::Result<()> {
    let text = format!("{}\n", hex::encode(key.encode()));
    write_secret(path, text.as_bytes())
}

/// Writes a file readable by its owner only.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Reads a private key written by [`write_private`].
pub fn read_private(path: &Path) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    let bytes =
        hex::decode(text.trim()).map_err(|_| format!("key file {} is not hex", path.display()))?;
    if bytes.len() != 32 {
        return Err(format!(
            "key file {} must hold 32 bytes, holds {}",
            path.display(),
            bytes.len()
        ));
    }
    PrivateKey::decode(&bytes[..]).map_err(|e| format!("key file {}: {e}", path.display()))
}

/// An all-zero signature: the placeholder of a transaction about to be signed (never valid).
pub fn unsigned() -> Signature {
    signature_from_bytes(&[0; SIGNATURE_LEN]).expect("64 zero bytes decode as a signature")
}
