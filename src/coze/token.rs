//! The token a client sends, and how it is renewed: a personal access token never is; a
//! signed-in one (see `crate::auth`) is renewed before it ends and once after Coze refuses it
//! (another process may have renewed it meanwhile, or it ended early).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use super::CozeError;
use crate::secret::Secret;

/// A renewed token and when it ends (Unix seconds), or why there is none.
pub type Renewed<'a> = Pin<Box<dyn Future<Output = Result<(Secret, i64), CozeError>> + Send + 'a>>;

/// Renews a signed-in token. `refused` is the token Coze just refused (renew even if it has
/// time left); `None` asks only for one that does not end within a minute.
pub trait Renew: Send + Sync {
    fn renew<'a>(&'a self, refused: Option<&'a Secret>) -> Renewed<'a>;
}

/// Renewed within this many seconds of the end.
const BEFORE_END_S: i64 = 60;
/// At most one renewal before the end this often: a clock that runs fast (every new token
/// "ends soon") must not turn each request into a refresh.
const RENEW_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct Token {
    current: Arc<RwLock<(Secret, Option<i64>)>>,
    renew: Option<Arc<dyn Renew>>,
    /// One renewal at a time in this process (the credentials lock covers the others), and
    /// when the last one before the end was.
    renewing: Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("renews", &self.renew.is_some()).finish()
    }
}

impl Token {
    /// A token that is never renewed (a personal access token).
    pub fn fixed(secret: Secret) -> Self {
        Self { current: Arc::new(RwLock::new((secret, None))), renew: None, renewing: Default::default() }
    }

    /// A signed-in token ending at `expires_at` (Unix seconds), renewed by `renew`.
    pub fn renewing(secret: Secret, expires_at: i64, renew: Arc<dyn Renew>) -> Self {
        Self {
            current: Arc::new(RwLock::new((secret, Some(expires_at)))),
            renew: Some(renew),
            renewing: Default::default(),
        }
    }

    pub fn current(&self) -> Secret {
        self.current.read().map(|c| c.0.clone()).unwrap_or_default()
    }

    pub fn renews(&self) -> bool {
        self.renew.is_some()
    }

    fn ends_soon(&self) -> bool {
        let ends = self.current.read().ok().and_then(|c| c.1);
        ends.is_some_and(|e| e - now() <= BEFORE_END_S)
    }

    /// Before a request: a token about to end is renewed first.
    pub async fn fresh(&self) -> Result<(), CozeError> {
        if self.renew.is_none() || !self.ends_soon() {
            return Ok(());
        }
        let mut last = self.renewing.lock().await;
        if !self.ends_soon() || last.is_some_and(|t| t.elapsed() < RENEW_AT_MOST_EVERY) {
            return Ok(());
        }
        *last = Some(std::time::Instant::now());
        self.renew_now(None).await
    }

    /// After Coze refused `sent`: renewed once (unless another request here already did).
    /// False when there is nothing to renew with.
    pub async fn after_refusal(&self, sent: &Secret) -> Result<bool, CozeError> {
        if self.renew.is_none() {
            return Ok(false);
        }
        let _one = self.renewing.lock().await;
        if &self.current() != sent {
            return Ok(true);
        }
        self.renew_now(Some(sent)).await.map(|()| true)
    }

    async fn renew_now(&self, refused: Option<&Secret>) -> Result<(), CozeError> {
        let Some(renew) = &self.renew else { return Ok(()) };
        let (secret, ends) = renew.renew(refused).await?;
        if let Ok(mut c) = self.current.write() {
            *c = (secret, Some(ends));
        }
        Ok(())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
