//! Tokens got by signing in, per profile, in `credentials.toml` beside the config (0600, its
//! folder 0700): kept apart from the hand-edited config, never printed, logged or put in the
//! ledger. Writes are atomic (a temp file renamed over), and a refresh holds an exclusive
//! lock on `credentials.lock`, because a refresh token works once: two processes must never
//! spend the same one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// One profile's OAuth tokens.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub client_id: String,
    /// The base URL they were issued by (a token works in its own region only).
    pub base_url: String,
    #[serde(with = "exposed")]
    pub access_token: Secret,
    /// Unix seconds when the access token stops working.
    pub expires_at: i64,
    #[serde(with = "exposed")]
    pub refresh_token: Secret,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("client_id", &self.client_id).field("expires_at", &self.expires_at).finish()
    }
}

/// Secrets are written to this file only (the type has no `Serialize` of its own on purpose).
mod exposed {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Ok(Secret::new(String::deserialize(d)?))
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Credential>,
}

/// The credentials file for a config file.
pub fn path_for(config_path: &Path) -> PathBuf {
    config_path.parent().unwrap_or(Path::new(".")).join("credentials.toml")
}

fn read(path: &Path) -> Result<File, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{} is not readable: {}", path.display(), e.message())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

pub fn load(path: &Path, profile: &str) -> Result<Option<Credential>, String> {
    Ok(read(path)?.profiles.remove(profile))
}

/// Writes (or with `None` removes) a profile's credential, leaving the others as they are.
pub fn store(path: &Path, profile: &str, credential: Option<&Credential>) -> Result<(), String> {
    let mut file = read(path)?;
    match credential {
        Some(c) => {
            file.profiles.insert(profile.to_string(), c.clone());
        }
        None => {
            file.profiles.remove(profile);
        }
    }
    let text = toml::to_string(&file).map_err(|e| format!("cannot write the credentials: {e}"))?;
    write_private(path, &text)
}

/// A file only its owner reads (0600) in a folder only its owner opens (0700), replaced whole.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".credentials.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let written = options.open(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    let done = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

/// An exclusive lock on the credentials (across processes), released when dropped.
pub struct Lock {
    _file: std::fs::File,
}

pub fn lock(path: &Path) -> Result<Lock, String> {
    let lock_path = path.with_extension("lock");
    if let Some(dir) = lock_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // Blocks until the other process's refresh is done.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!("cannot lock {}: {}", lock_path.display(), std::io::Error::last_os_error()));
        }
    }
    Ok(Lock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_private_and_per_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("cfg").join("config.toml"));
        let c = Credential {
            client_id: "c".into(),
            base_url: "https://api.coze.cn".into(),
            access_token: Secret::new("czu_secret"),
            expires_at: 42,
            refresh_token: Secret::new("rt_secret"),
        };
        store(&path, "work", Some(&c)).unwrap();
        store(&path, "home", Some(&c)).unwrap();
        assert_eq!(load(&path, "work").unwrap(), Some(c.clone()));
        assert!(!format!("{c:?}").contains("secret"), "Debug never shows a token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        store(&path, "work", None).unwrap();
        assert_eq!(load(&path, "work").unwrap(), None);
        assert!(load(&path, "home").unwrap().is_some(), "the other profile stays");
        drop(lock(&path).unwrap());
    }
}
