//! Signing keys of the ledger's parties (validators, AEO authorities, customs offices): Ed25519
//! from `commonware-cryptography`, with hex text forms and key files.

use crate::codec::{DecodeError, Reader};
use commonware_codec::DecodeExt;
pub use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{Signer, Verifier};
use curve25519_dalek::edwards::CompressedEdwardsY;
use rand::RngCore;
use std::path::Path;
use zeroize::Zeroizing;

/// Length of a public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// A fresh private key from the operating system's random generator.
pub fn generate() -> PrivateKey {
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut seed[..]);
    PrivateKey::decode(&seed[..]).expect("any 32 bytes are an Ed25519 seed")
}

/// The 32 public-key bytes.
pub fn public_bytes(key: &PublicKey) -> [u8; PUBLIC_KEY_LEN] {
    key.as_ref()
        .try_into()
        .expect("Ed25519 public keys are 32 bytes")
}

/// Decodes a public key: exact length, the canonical encoding of a point of the prime-order
/// subgroup other than the identity. Verification accepts any point that decompresses (ZIP-215),
/// and under a key of small order anyone can make signatures that verify (the identity key
/// accepts the all-zero signature for every message): such a key would let its party deny
/// whatever it signed, and anyone sign as it. No key a party generates is refused.
pub fn public_from_bytes(bytes: &[u8]) -> Result<PublicKey, String> {
    let Ok(encoded) = <[u8; PUBLIC_KEY_LEN]>::try_from(bytes) else {
        return Err(format!(
            "public key must be {PUBLIC_KEY_LEN} bytes, got {}",
            bytes.len()
        ));
    };
    let point = CompressedEdwardsY(encoded)
        .decompress()
        .ok_or("invalid public key: not a curve point")?;
    if point.compress().to_bytes() != encoded {
        return Err("invalid public key: not the canonical encoding of its point".into());
    }
    if point.is_small_order() || !point.is_torsion_free() {
        return Err("invalid public key: not a point of the prime-order subgroup".into());
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

/// Writes a private key as hex to a new file readable by its owner only ([`write_secret`]).
pub fn write_private(path: &Path, key: &PrivateKey) -> std::io::Result<()> {
    let mut raw = Zeroizing::new(Vec::with_capacity(32));
    commonware_codec::Write::write(key, &mut *raw);
    let text = Zeroizing::new(format!("{}\n", hex::encode(&*raw)));
    write_secret(path, text.as_bytes())
}

/// Writes a new file readable by its owner only, whole or not at all: written to a temporary
/// file beside it, synced, linked into place and the directory synced, so that a crash leaves
/// either nothing at `path` or all of `bytes`. Whatever is at `path` already (a file, which may
/// be readable by others, or a link to somewhere else) is an error: it is neither replaced nor
/// followed. On a file system without hard links the file is created in place instead.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_new_with(path, 0o600, |f| {
        use std::io::Write;
        f.write_all(bytes)
    })
}

/// Writes a new file anyone may read (a genesis file, say), whole or not at all, never replacing
/// or following what is at `path`: as [`write_secret`], with mode 644.
pub fn write_public(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_new_with(path, 0o644, |f| {
        use std::io::Write;
        f.write_all(bytes)
    })
}

/// [`write_secret`] with the file's `mode` and the contents written by `write`: if it fails,
/// nothing is left at `path` (nor beside it).
fn write_new_with(
    path: &Path,
    mode: u32,
    mut write: impl FnMut(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // Refused before anything is written (the link below refuses a name made meanwhile).
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists", path.display()),
        ));
    }
    let tmp = beside(path);
    let written =
        create_new(&tmp, mode).and_then(|mut f| write(&mut f).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // A hard link never replaces what is at `path`, not even a dangling link.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        // No hard links here (some network and removable-disk file systems): the file is made
        // in place, still never over an existing name; a failed write removes it.
        Err(_) => {
            let mut f = create_new(path, mode)?;
            if let Err(e) = write(&mut f).and_then(|()| f.sync_all()) {
                drop(f);
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
            sync_dir(path)
        }
    }
}

/// Replaces the file at `path` whole with `bytes`, readable by its owner only: written to a new
/// temporary file beside it, synced, renamed over it, the directory synced. A crash leaves the
/// old file or the new one, never part of either.
pub fn replace_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = beside(path);
    let written = create_new(&tmp, 0o600)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// A temporary name beside `path` that no other writer uses (`.NAME.PID.RANDOM.tmp`): nothing
/// already there is removed or written into.
fn beside(path: &Path) -> std::path::PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}.{:016x}.tmp",
        std::process::id(),
        rand::rngs::OsRng.next_u64()
    ));
    path.with_file_name(name)
}

/// Creates a new file with `mode` (on Unix; `O_CREAT | O_EXCL`: fails on any existing name, a
/// dangling link included).
fn create_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

/// Syncs the directory holding `path`, so that a name just made or renamed there survives a
/// crash (on Unix; elsewhere a directory cannot be opened to sync it).
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    use zkcustoms_verifier::keys::{directory_of, sync_directory};
    sync_directory(directory_of(path))
}

/// Reads a private key written by [`write_private`].
pub fn read_private(path: &Path) -> Result<PrivateKey, String> {
    let text = read_secret(path)?;
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut bytes[..]).map_err(|_| {
        format!(
            "key file {} must hold 32 bytes in hex (64 hex digits)",
            path.display()
        )
    })?;
    PrivateKey::decode(&bytes[..]).map_err(|e| format!("key file {}: {e}", path.display()))
}

/// Longest secret file read ([`read_secret`]): a key, a token, a node configuration.
pub const MAX_SECRET_FILE: u64 = 64 << 10;

/// Reads a file holding a secret (a private key, a token, a node configuration with its
/// tokens): a regular file, readable and writable by its owner only (as [`write_secret`] makes
/// them; `ssh` refuses an unprotected key file the same way), of at most [`MAX_SECRET_FILE`]
/// bytes, its text wiped from memory when dropped. A link is followed (secrets are often mounted
/// as links): the file it names is checked.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>, String> {
    use std::io::Read;
    let at = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(at)?;
    let meta = file.metadata().map_err(at)?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} holds a secret but others may read or change it (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!(
            "{} is larger than a secret file may be ({} bytes, at most {MAX_SECRET_FILE})",
            path.display(),
            meta.len()
        ));
    }
    let mut text = Zeroizing::new(String::with_capacity(MAX_SECRET_FILE as usize + 1));
    file.take(MAX_SECRET_FILE + 1)
        .read_to_string(&mut text)
        .map_err(at)?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("{} grew while it was read", path.display()));
    }
    Ok(text)
}

/// An all-zero signature: the placeholder of a transaction about to be signed (never valid).
pub fn unsigned() -> Signature {
    signature_from_bytes(&[0; SIGNATURE_LEN]).expect("64 zero bytes decode as a signature")
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    /// A key of small order signs for anyone: under the identity, the all-zero signature (the
    /// placeholder of an unsigned transaction) verifies for every message. Such keys, keys with
    /// a small-order part and non-canonical encodings are refused; generated keys are not.
    #[test]
    fn only_keys_of_the_prime_order_subgroup_decode() {
        let mut identity = [0u8; PUBLIC_KEY_LEN];
        identity[0] = 1;
        let raw = PublicKey::decode(&identity[..]).expect("the curve library takes it");
        assert!(verify(&raw, b"any", b"message", &unsigned()));
        assert!(public_from_bytes(&identity).is_err());
        for torsion in EIGHT_TORSION {
            let bytes = torsion.compress().to_bytes();
            assert!(public_from_bytes(&bytes).is_err(), "{}", hex::encode(bytes));
        }
        // The identity with its sign bit set: the same point, another encoding.
        let mut negative_zero = identity;
        negative_zero[31] |= 0x80;
        assert!(public_from_bytes(&negative_zero).is_err());
        let honest = public_bytes(&public_of(&generate()));
        assert!(public_from_bytes(&honest).is_ok());
        let point = CompressedEdwardsY(honest).decompress().unwrap();
        let mixed = (point + EIGHT_TORSION[1]).compress().to_bytes();
        let err = public_from_bytes(&mixed).unwrap_err();
        assert!(err.contains("prime-order subgroup"), "{err}");
        assert!(public_from_hex(&hex::encode(identity)).is_err());
    }

    #[test]
    fn a_secret_is_written_to_a_new_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("party.key");
        let key = generate();
        write_private(&path, &key).unwrap();
        assert_eq!(public_of(&read_private(&path).unwrap()), public_of(&key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // An existing file is not replaced (it keeps its key), nor is a file someone else made
        // beforehand (with its own permissions) written into.
        let err = write_private(&path, &generate()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(public_of(&read_private(&path).unwrap()), public_of(&key));
        let planted = dir.path().join("planted.token");
        std::fs::write(&planted, "").unwrap();
        assert!(write_secret(&planted, b"secret").is_err());
        assert_eq!(std::fs::read(&planted).unwrap(), b"");
    }

    /// A key file others may read or change, one that is not a regular file, and one that does
    /// not hold a key are refused, each naming the file; a link to a protected key is followed.
    #[test]
    fn a_key_file_is_read_only_when_protected_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("validator.key");
        let key = generate();
        write_private(&path, &key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let link = dir.path().join("mounted.key");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(public_of(&read_private(&link).unwrap()), public_of(&key));
            for mode in [0o644, 0o604, 0o620] {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
                let e = read_private(&path).unwrap_err();
                assert!(
                    e.contains("validator.key") && e.contains("chmod 600"),
                    "{e}"
                );
            }
        }
        let e = read_private(dir.path()).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        for (name, text) in [("short.key", "abcd\n"), ("text.key", "not a key at all")] {
            let bad = dir.path().join(name);
            write_secret(&bad, text.as_bytes()).unwrap();
            let e = read_private(&bad).unwrap_err();
            assert!(e.contains(name) && e.contains("64 hex digits"), "{e}");
        }
    }

    #[test]
    fn a_secret_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.json");
        write_secret(&path, b"old").unwrap();
        // A file of that kind of name beside it is neither in the way nor touched.
        std::fs::write(dir.path().join("node.json.tmp"), b"mine").unwrap();
        replace_secret(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(
            std::fs::read(dir.path().join("node.json.tmp")).unwrap(),
            b"mine"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_new_secret_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holder.json");
        // A write that fails part way (a full disk, a crash) leaves nothing at the name, so
        // that writing it again is not refused as "exists".
        let err = write_new_with(&path, 0o600, |f| {
            use std::io::Write;
            f.write_all(b"half")?;
            Err(std::io::Error::other("the disk is full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the disk is full");
        assert!(std::fs::symlink_metadata(&path).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Written whole, with nothing left beside it.
        write_secret(&path, b"whole").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_is_not_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        let link = dir.path().join("trader.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = write_private(&link, &generate()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(!target.exists(), "the link's target was created");
    }
}
