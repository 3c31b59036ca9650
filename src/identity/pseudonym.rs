//! Optional pseudonymisation of user names: a keyed hash (HMAC-SHA256) so the IDs gatewatch
//! stores mean nothing outside the school, while the same user always gets the same ID.
//!
//! The key is 32 random bytes in `identity-pseudonym.key` in the data directory, created on
//! first use with mode 0600. Whoever holds the key (the school) can recompute a user's ID from
//! their login name to find their incidents; without it the IDs cannot be reversed or matched
//! to names. Losing the key breaks continuity with earlier IDs, so back it up with the data.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "identity-pseudonym.key";
const KEY_LEN: usize = 32;

/// Why the key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymError {
    /// Reading or creating the key file failed.
    #[error(
        "pseudonymisation key {path}: {source}; check the data directory is writable by gatewatch"
    )]
    Io {
        /// The key file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key file is readable by others.
    #[error("pseudonymisation key {0} is readable by other users; run `chmod 600` on it")]
    Permissions(PathBuf),
    /// The key file is not 32 bytes.
    #[error("pseudonymisation key {0} is not 32 bytes; restore it from backup (a new key changes every ID)")]
    BadKey(PathBuf),
    /// No randomness to make a key.
    #[error("the system random generator failed; cannot create a pseudonymisation key")]
    Random,
}

/// Turns user names into keyed-hash IDs.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: hmac::Key,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(<key>)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with this key.
    pub fn from_key(key: &[u8]) -> Self {
        Pseudonymiser {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// Loads the key from `data_dir`, creating it (mode 0600) if absent.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, PseudonymError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| PseudonymError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::metadata(&path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(PseudonymError::Permissions(path));
                }
                let key = std::fs::read(&path).map_err(io)?;
                if key.len() != KEY_LEN {
                    return Err(PseudonymError::BadKey(path));
                }
                Ok(Self::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| PseudonymError::Random)?;
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io)?;
                f.write_all(&key).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Self::from_key(&key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The ID for `user`: `p-` and 32 hex digits (128 bits of HMAC-SHA256).
    pub fn pseudonymise(&self, user: &str) -> String {
        let tag = hmac::sign(&self.key, user.as_bytes());
        let mut out = String::with_capacity(34);
        out.push_str("p-");
        for b in &tag.as_ref()[..16] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_key_and_differ_between_keys() {
        let a = Pseudonymiser::from_key(b"school A key");
        let b = Pseudonymiser::from_key(b"school B key");
        let id = a.pseudonymise("alice");
        assert_eq!(id, a.pseudonymise("alice"));
        assert_eq!(id.len(), 34);
        assert!(id.starts_with("p-") && !id.contains("alice"));
        assert_ne!(id, a.pseudonymise("alice2"));
        assert_ne!(id, b.pseudonymise("alice"));
        // RFC 4231 test case 2 (key "Jefe"): the first 16 bytes of the HMAC-SHA256.
        let jefe = Pseudonymiser::from_key(b"Jefe");
        assert_eq!(
            jefe.pseudonymise("what do ya want for nothing?"),
            "p-5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pseudonymiser::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Pseudonymiser::load_or_create(dir.path()).unwrap();
        assert_eq!(first.pseudonymise("bob"), again.pseudonymise("bob"));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Pseudonymiser::load_or_create(dir.path()),
            Err(PseudonymError::Permissions(_))
        ));
        std::fs::write(&path, b"short").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            Pseudonymiser::load_or_create(dir.path()),
            Err(PseudonymError::BadKey(_))
        ));
    }
}
