//! Document keys and the node's master key.
//!
//! Each document is encrypted under its own [`SealKey`]. What the database stores is that key
//! wrapped (encrypted) under the node's [`MasterKey`], which is kept outside the data directory (a
//! key file or an environment variable; a KMS or HSM can implement the same trait): a copy of the
//! data directory alone decrypts nothing.

use crate::{DocumentError, DOCUMENT_AAD_DOMAIN, KEY_LEN, NONCE_LEN};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;
use zeroize::Zeroizing;
use zkcustoms_ledger_types::codec::Writer;
use zkcustoms_ledger_types::tx::{DocumentKey, Hash};

/// Domain of the associated data that binds a wrapped key to its document.
pub const KEY_WRAP_DOMAIN: &[u8] = b"zkcustoms/document-key/v1";
/// Length of a master key identifier.
pub const MASTER_ID_LEN: usize = 8;
/// Length of a wrapped document key: nonce, encrypted key, tag.
pub const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + 16;

/// A document's key and nonce. `Debug` never shows them; the key is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    nonce: [u8; NONCE_LEN],
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// A fresh random key and nonce from the operating system's RNG.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        Self { key, nonce }
    }

    /// The raw key bytes (for tests that look for them on disk).
    #[doc(hidden)]
    pub fn key_bytes(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// The nonce the document is encrypted with (not secret).
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// A key from its parts.
    pub(crate) fn from_parts(key: Zeroizing<[u8; KEY_LEN]>, nonce: [u8; NONCE_LEN]) -> Self {
        Self { key, nonce }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.key[..]))
    }

    /// Encrypts a document under this key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.cipher()
            .encrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory")
    }

    /// Decrypts and authenticates a ciphertext bound to `aad`; `None` when it does not
    /// authenticate.
    pub fn open(&self, ciphertext: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        self.cipher()
            .decrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

/// The associated data of a document's ciphertext.
pub fn associated_data(id: &DocumentKey, digest: &Hash) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(DOCUMENT_AAD_DOMAIN)
        .str16(id.ucr.as_str())
        .str16(&id.doc_type)
        .u32(id.version)
        .fixed(digest);
    w.finish()
}

/// The associated data of a wrapped document key: `"zkcustoms/document-key/v1" | ucr str16 |
/// doc type str16 | version u32 | nonce [24]` (the document's nonce, so key and nonce stay
/// together).
pub fn key_wrap_data(id: &DocumentKey, nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(KEY_WRAP_DOMAIN)
        .str16(id.ucr.as_str())
        .str16(&id.doc_type)
        .u32(id.version)
        .fixed(nonce);
    w.finish()
}

/// What wraps and unwraps document keys: a key kept outside the data directory. A KMS or an HSM
/// can implement it; [`LocalMasterKey`] keeps it in a file or an environment variable.
pub trait MasterKey: Send + Sync {
    /// An identifier of the master key (not secret), stored beside each wrapped key so that a
    /// database opened with another master key is refused by name rather than failing to decrypt.
    fn id(&self) -> [u8; MASTER_ID_LEN];
    /// Wraps a document key, bound to `aad`: [`WRAPPED_LEN`] bytes.
    fn wrap(&self, key: &[u8; KEY_LEN], aad: &[u8]) -> Result<[u8; WRAPPED_LEN], DocumentError>;
    /// Unwraps a document key bound to `aad`; an error when it does not authenticate.
    fn unwrap(
        &self,
        wrapped: &[u8; WRAPPED_LEN],
        aad: &[u8],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, DocumentError>;
}

/// `Ok` when the key file `path` lies outside `data_dir`: a copy of a data directory must not
/// carry the key that decrypts it. Symbolic links and `..` are resolved first (for a file not yet
/// created, in its parent directory).
pub fn check_key_file_outside(path: &Path, data_dir: &Path) -> Result<(), DocumentError> {
    fn resolved(p: &Path) -> std::path::PathBuf {
        if let Ok(c) = p.canonicalize() {
            return c;
        }
        let parent = match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        match (parent.canonicalize(), p.file_name()) {
            (Ok(parent), Some(name)) => parent.join(name),
            _ => p.to_owned(),
        }
    }
    if resolved(path).starts_with(resolved(data_dir)) {
        return Err(master_error(format!(
            "{} is inside the data directory {}: keep it elsewhere",
            path.display(),
            data_dir.display()
        )));
    }
    Ok(())
}

/// A master key held in this process: 32 random bytes, from a key file (64 hex digits, readable
/// by its owner only) or from the environment variable [`LocalMasterKey::ENV`]. Document keys are
/// wrapped with XChaCha20-Poly1305 under it, each with a random nonce.
pub struct LocalMasterKey {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalMasterKey({})", hex::encode(self.id()))
    }
}

fn master_error(message: impl Into<String>) -> DocumentError {
    DocumentError::MasterKey(message.into())
}

impl LocalMasterKey {
    /// The environment variable that may hold the master key (64 hex digits).
    pub const ENV: &'static str = "ZKCUSTOMS_DOCUMENT_MASTER_KEY";

    /// A fresh random master key from the operating system's RNG.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        Self { key }
    }

    /// A master key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, DocumentError> {
        let text = Zeroizing::new(text.trim().to_owned());
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if text.len() != 2 * KEY_LEN || hex::decode_to_slice(text.as_bytes(), &mut key[..]).is_err()
        {
            return Err(master_error(format!(
                "a master key is {} hex digits",
                2 * KEY_LEN
            )));
        }
        Ok(Self { key })
    }

    /// Reads a master key file. On Unix the file must not be readable by group or others.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        let text = zkcustoms_ledger_types::crypto::read_secret(path).map_err(master_error)?;
        Self::from_hex(&text).map_err(|e| master_error(format!("{}: {e}", path.display())))
    }

    /// Makes a new master key file (owner-only, never overwriting one, written whole and synced
    /// with its directory) and answers its key.
    pub fn create(path: &Path) -> Result<Self, DocumentError> {
        let key = Self::generate();
        let mut text = Zeroizing::new(hex::encode(&key.key[..]));
        text.push('\n');
        // Whole, synced, and its name synced into its directory: a rotation re-wraps every
        // document key under it right after, so it must survive a crash as surely as they do.
        zkcustoms_ledger_types::crypto::write_secret(path, text.as_bytes())
            .map_err(|e| master_error(format!("{}: {e}", path.display())))?;
        Ok(key)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.key[..]))
    }
}

impl MasterKey for LocalMasterKey {
    fn id(&self) -> [u8; MASTER_ID_LEN] {
        let digest: Hash = zkcustoms_ledger_types::tx::sha256(
            &[
                b"zkcustoms/document-master-key/id".as_slice(),
                &self.key[..],
            ]
            .concat(),
        );
        let mut id = [0u8; MASTER_ID_LEN];
        id.copy_from_slice(&digest[..MASTER_ID_LEN]);
        id
    }

    fn wrap(&self, key: &[u8; KEY_LEN], aad: &[u8]) -> Result<[u8; WRAPPED_LEN], DocumentError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: key, aad })
            .map_err(|_| master_error("wrapping a document key failed"))?;
        let mut out = [0u8; WRAPPED_LEN];
        out[..NONCE_LEN].copy_from_slice(&nonce);
        out[NONCE_LEN..].copy_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(
        &self,
        wrapped: &[u8; WRAPPED_LEN],
        aad: &[u8],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, DocumentError> {
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    XNonce::from_slice(&wrapped[..NONCE_LEN]),
                    Payload {
                        msg: &wrapped[NONCE_LEN..],
                        aad,
                    },
                )
                .map_err(|_| master_error("a wrapped document key does not authenticate"))?,
        );
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&plain);
        Ok(key)
    }
}
