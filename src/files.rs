//! Writing the command line's output directories so that a crash leaves the old one or the new
//! one, never a mix of the two.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces the directory `out` with one that `build` fills: built in `OUT.partial` beside it
/// (what a crash left there is removed first), synced, then renamed into place, the earlier
/// directory (if any) moved aside first and removed last. A crash leaves the earlier directory,
/// or the new one complete, at `out` or beside it (`OUT.old`, `OUT.partial`), never the two
/// mixed at `out`.
///
/// An earlier `out` must be a directory (not a link) holding only names in `owned`: one that
/// holds anything else is refused before anything is written, never removed with it.
pub fn replace_dir(
    out: &Path,
    owned: &[&str],
    build: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(out) {
        let foreign = if meta.is_dir() {
            std::fs::read_dir(out)
                .with_context(|| format!("cannot read {}", out.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| !owned.contains(&name.as_str()))
                .map(|name| format!("it holds {name:?}"))
        } else {
            Some("it is not a directory".to_owned())
        };
        if let Some(why) = foreign {
            anyhow::bail!(
                "{} is not a directory of this command's own ({}): choose another one, or \
                 remove it",
                out.display(),
                why
            );
        }
    }
    let staging = sibling(out, "partial");
    let aside = sibling(out, "old");
    remove_dir_if_present(&staging)?;
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    if let Err(e) = build(&staging).and_then(|()| sync_dir(&staging)) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    remove_dir_if_present(&aside)?;
    let replaced = out.exists();
    if replaced {
        std::fs::rename(out, &aside)
            .with_context(|| format!("cannot move {} aside", out.display()))?;
    }
    std::fs::rename(&staging, out)
        .with_context(|| format!("cannot rename {} to {}", staging.display(), out.display()))?;
    zkcustoms_ledger_types::crypto::sync_dir(out)
        .with_context(|| format!("cannot sync the directory of {}", out.display()))?;
    if replaced {
        std::fs::remove_dir_all(&aside)
            .with_context(|| format!("cannot remove {}", aside.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to a new or truncated file at `path` and syncs it; a file it creates gets
/// `mode` (owner-only 0o600 for a witness, 0o644 for what is published).
pub fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Syncs the directory `dir`: the names made in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    zkcustoms_verifier::keys::sync_directory(dir)
        .with_context(|| format!("cannot sync {}", dir.display()))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}
