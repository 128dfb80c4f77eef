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
    /// Unix seconds when the sign-in itself ends: the refresh token's 30 days (each refresh
    /// starts them again). Unknown for files written before it was kept.
    #[serde(default)]
    pub refresh_until: Option<i64>,
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
/// Only under the lock: a renewal elsewhere reads, refreshes and writes back, and a write
/// between its read and its write would be undone (a logout come back, a new sign-in lost).
pub fn store(path: &Path, profile: &str, credential: Option<&Credential>, _held: &Lock) -> Result<(), String> {
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

/// Makes the folder (0700) when it is missing; a folder that exists is the user's, and its
/// permissions are left as they are (the file itself is 0600).
fn private_dir(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))
}

/// A file only its owner reads (0600), replaced whole: written to a new temp file of its own
/// (never one left behind, never shared), then renamed over.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let tmp = dir.join(format!(".credentials.{}.{:016x}.tmp", std::process::id(), rand::random::<u64>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
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

/// Stores under the lock (sign-in, sign-out). Blocking: call it off the async threads.
pub fn store_locked(path: &Path, profile: &str, credential: Option<&Credential>) -> Result<(), String> {
    let held = lock(path)?;
    store(path, profile, credential, &held)
}

/// An exclusive lock on the credentials (across processes), released when dropped.
pub struct Lock {
    _file: std::fs::File,
}

/// How long to wait for another process's renewal (longer than one request's 30 s).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(45);

/// Takes the lock, waiting up to 45 s for whoever holds it (a stopped process must not stall
/// the others forever). Blocking: call it off the async threads.
pub fn lock(path: &Path) -> Result<Lock, String> {
    let lock_path = path.with_extension("lock");
    if let Some(dir) = lock_path.parent() {
        private_dir(dir)?;
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
        let until = std::time::Instant::now() + LOCK_WAIT;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(format!("cannot lock {}: {e}", lock_path.display()));
            }
            if std::time::Instant::now() >= until {
                return Err(format!(
                    "{} stayed locked for {} s (another coze-tui renewing the sign-in, stopped?)",
                    lock_path.display(),
                    LOCK_WAIT.as_secs()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
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
            refresh_until: None,
        };
        let held = lock(&path).unwrap();
        store(&path, "work", Some(&c), &held).unwrap();
        store(&path, "home", Some(&c), &held).unwrap();
        assert_eq!(load(&path, "work").unwrap(), Some(c.clone()));
        assert!(!format!("{c:?}").contains("secret"), "Debug never shows a token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        store(&path, "work", None, &held).unwrap();
        assert_eq!(load(&path, "work").unwrap(), None);
        assert!(load(&path, "home").unwrap().is_some(), "the other profile stays");
        let leftovers = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp")));
        assert_eq!(leftovers.count(), 0, "no temp file left behind");
    }
}
