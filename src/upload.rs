//! Files given to runs: checked before anything is sent, uploaded once per content (the
//! ledger remembers each upload by hash and size while Coze keeps the file), and turned into
//! the value a file input takes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::coze::{CozeClient, CozeError};
use crate::tasks::{Ledger, LedgerError};

/// Coze's limit per file (coze-api.md §14.1).
pub const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Coze keeps files 3 months; an id older than this is not reused (a margin before that).
const REUSE_FOR_MS: i64 = 80 * 24 * 3600 * 1000;

/// A file that checked out locally, ready to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFile {
    pub path: PathBuf,
    pub name: String,
    pub bytes: u64,
}

/// A file Coze has: uploaded now, or earlier with the same content.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    pub file_id: String,
    pub file_name: String,
    pub bytes: u64,
    /// An earlier upload of the same content was used; nothing was sent.
    pub reused: bool,
}

#[derive(Debug)]
pub enum UploadError {
    Coze(CozeError),
    Ledger(LedgerError),
    Read(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Coze(e) => write!(f, "{e}"),
            Self::Ledger(e) => write!(f, "{e}"),
            Self::Read(m) => write!(f, "{m}"),
        }
    }
}

/// Checks a path before anything is sent: a readable, non-empty regular file within Coze's
/// size limit (Coze refuses empty files with 4300 and big ones with 4302).
pub fn check(path: &Path) -> Result<LocalFile, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    let bytes = meta.len();
    if bytes == 0 {
        return Err(format!("{shown} is empty (Coze refuses empty files)"));
    }
    if bytes > MAX_BYTES {
        return Err(format!("{shown} is {}; Coze takes files up to 512 MB", crate::text::human_bytes(bytes as usize)));
    }
    std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| shown.to_string());
    Ok(LocalFile { path: path.to_path_buf(), name, bytes })
}

/// The file's SHA-256, read in chunks (a 512 MB file is not held in memory).
fn sha256(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Uploads `file` for `profile`, or reuses the id of an earlier upload of the same content.
/// `sent` hears the bytes sent so far.
pub async fn upload(
    client: &CozeClient,
    ledger: &Arc<Ledger>,
    profile: &str,
    file: &LocalFile,
    sent: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<Uploaded, UploadError> {
    let path = file.path.clone();
    let hash = tokio::task::spawn_blocking(move || sha256(&path))
        .await
        .map_err(|e| UploadError::Read(e.to_string()))?
        .map_err(UploadError::Read)?;
    let (l, p, h, bytes) = (ledger.clone(), profile.to_string(), hash.clone(), file.bytes);
    let since = crate::tasks::now_ms() - REUSE_FOR_MS;
    let known = tokio::task::spawn_blocking(move || l.find_upload(&p, &h, bytes, since))
        .await
        .map_err(|e| UploadError::Read(e.to_string()))?
        .map_err(UploadError::Ledger)?;
    // Reused only while Coze says it still has it (a file expires, another account is signed
    // in, a simulator forgets): one cheap read; any doubt uploads it again.
    if let Some((file_id, _)) = known
        && client.retrieve_file(&file_id).await.is_ok()
    {
        return Ok(Uploaded { file_id, file_name: file.name.clone(), bytes, reused: true });
    }
    let got = client.upload_file(&file.path, sent).await.map_err(UploadError::Coze)?.value;
    let file_name = if got.file_name.is_empty() { file.name.clone() } else { got.file_name };
    let (l, p, id, name) = (ledger.clone(), profile.to_string(), got.id.clone(), file_name.clone());
    // Not remembering only costs a second upload next time.
    let remembered = tokio::task::spawn_blocking(move || l.record_upload(&p, &hash, bytes, &id, &name)).await;
    if let Ok(Err(e)) = remembered {
        tracing::warn!(error = %e, "an upload could not be remembered");
    }
    Ok(Uploaded { file_id: got.id, file_name, bytes, reused: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        assert!(check(&empty).unwrap_err().contains("empty"));
        assert!(check(dir.path()).unwrap_err().contains("not a file"));
        assert!(check(&dir.path().join("missing.png")).unwrap_err().contains("cannot read"));
        let big = dir.path().join("big.bin");
        std::fs::File::create(&big).unwrap().set_len(MAX_BYTES + 1).unwrap();
        assert!(check(&big).unwrap_err().contains("512 MB"), "{}", check(&big).unwrap_err());
        let ok = dir.path().join("照片 1.png");
        std::fs::write(&ok, b"png").unwrap();
        assert_eq!(check(&ok).unwrap(), LocalFile { path: ok.clone(), name: "照片 1.png".into(), bytes: 3 });
        assert_eq!(sha256(&ok).unwrap(), "8f8cbb7dcf46e0bc7d53265749a6c17d116093a6ba95e442764060c76fd4a86c");
    }
}
