//! Signing in without pasting a token (coze-api.md §10.3): the OAuth device authorization
//! grant, its tokens kept per profile (`credentials`), and refreshing them before they end;
//! and service apps (OAuth JWT, §10.4). A token from the environment or the config still
//! wins; signed-in tokens fill in when a profile has none. Errors carry a kind, so the
//! command line's exit code says what failed (2 a config mistake, 3 refused, 4 unreachable).

pub mod credentials;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{Settings, Source};
use crate::coze::{CozeError, ErrorKind};
use crate::secret::Secret;
pub use credentials::Credential;

/// Refreshed when it ends within this many seconds (Coze's access tokens last 15 minutes).
const REFRESH_BEFORE_S: i64 = 60;
/// A refresh token lasts 30 days (coze-api.md §10.2).
const REFRESH_TOKEN_S: i64 = 30 * 86_400;

fn fail(kind: ErrorKind, message: impl Into<String>) -> CozeError {
    CozeError::new(kind, message)
}

/// Step 1's answer: what the person types, and where.
#[derive(Clone, PartialEq)]
pub struct DeviceCode {
    device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds the code can be approved in (1 to 3600).
    pub expires_in: u64,
    /// Seconds between polls (0 to 60).
    pub interval: u64,
}

/// The device code itself can be exchanged for tokens once approved: never shown.
impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode").field("user_code", &self.user_code).field("expires_in", &self.expires_in).finish()
    }
}

impl DeviceCode {
    /// The page with the code filled in (what the SDKs show, and the QR code holds).
    pub fn verification_url(&self) -> String {
        let sep = if self.verification_uri.contains('?') { '&' } else { '?' };
        format!("{}{sep}user_code={}", self.verification_uri, self.user_code)
    }
}

/// How signing in ended without a token.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginError {
    /// The person refused.
    Denied,
    /// Nobody approved the code in time.
    Expired,
    Failed(String),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied => write!(f, "the sign-in was refused on the Coze page; run `coze-tui login` to try again"),
            Self::Expired => write!(f, "the code expired before it was approved; run `coze-tui login` for a new one"),
            Self::Failed(m) => write!(f, "{m}"),
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

fn endpoint(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// An OAuth error body's code and message, under any of the names the docs and SDKs use
/// (`error`/`error_code`, `error_description`/`error_message`).
fn oauth_error(v: &Value) -> Option<(String, String)> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let code = text("error_code").or_else(|| text("error"))?;
    let message = text("error_message").or_else(|| text("error_description")).unwrap_or_default();
    Some((code, message))
}

/// POSTs JSON (no Authorization unless `bearer`: these endpoints are how one is got) and
/// reads JSON back. A body is never quoted in an error: it may hold a token.
async fn post(url: &str, body: &Value, bearer: Option<&str>) -> Result<Value, CozeError> {
    let mut req = http().post(url).json(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let resp = req.send().await.map_err(|e| fail(ErrorKind::Network, format!("cannot reach {url}: {e}")))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| fail(ErrorKind::Network, format!("reading {url}: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        let kind = if status.is_server_error() { ErrorKind::Server } else { ErrorKind::Decode };
        fail(kind, format!("{url} answered {status} with {} bytes that are not JSON", bytes.len()))
    })
}

/// A Unix timestamp as a server may write it: an integer, a float or a string.
fn timestamp(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str()?.trim().parse().ok())
}

/// The profile's device-type OAuth app, or how to get one (a config mistake).
pub fn client_id(settings: &Settings) -> Result<String, CozeError> {
    settings.profile.oauth_client_id.clone().filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        fail(
            ErrorKind::BadParams,
            format!(
                "profile {:?} has no oauth_client_id: register a device-type OAuth app in the Coze console \
                 (README, \"Signing in\") and put its client id in {}",
                settings.profile_name,
                settings.config_path.display()
            ),
        )
    })
}

/// Step 1: a device code for `client_id` (optionally for one team workspace).
pub async fn device_code(base: &str, client_id: &str, workspace: Option<&str>) -> Result<DeviceCode, CozeError> {
    let path = match workspace {
        Some(ws) => format!("api/permission/oauth2/workspace_id/{ws}/device/code"),
        None => "api/permission/oauth2/device/code".to_string(),
    };
    let v = post(&endpoint(base, &path), &json!({"client_id": client_id}), None).await?;
    if let Some((code, message)) = oauth_error(&v) {
        let m = format!(
            "Coze refused the sign-in ({code}: {message}); check oauth_client_id is a device-type app of this region"
        );
        return Err(fail(ErrorKind::BadParams, m));
    }
    let text = |k: &str| match v.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // Bounded: a server's odd numbers must not overflow a deadline.
    let number = |k: &str, default: u64, max: u64| v.get(k).and_then(Value::as_u64).unwrap_or(default).min(max);
    match (text("device_code"), text("user_code"), text("verification_uri")) {
        (Some(device_code), Some(user_code), Some(verification_uri)) => Ok(DeviceCode {
            device_code,
            user_code,
            verification_uri,
            expires_in: number("expires_in", 300, 3600).max(1),
            interval: number("interval", 5, 60),
        }),
        _ => Err(fail(ErrorKind::Decode, "Coze's device-code answer lacks device_code, user_code or verification_uri")),
    }
}

fn credential_from(v: &Value, client_id: &str, base: &str) -> Option<Credential> {
    let access = v.get("access_token")?.as_str()?;
    let refresh = v.get("refresh_token").and_then(Value::as_str).unwrap_or_default();
    // An absolute Unix timestamp, not a duration (coze-api.md §10.2).
    let expires_at = v.get("expires_in").and_then(timestamp)?;
    Some(Credential {
        client_id: client_id.to_string(),
        base_url: base.to_string(),
        access_token: Secret::new(access),
        expires_at,
        refresh_until: (!refresh.is_empty()).then(|| unix_now() + REFRESH_TOKEN_S),
        refresh_token: Secret::new(refresh),
    })
}

/// Step 2: polls until the person approves (or refuses, or the code expires), at the
/// server's interval (+5 s on `slow_down`, at most 60 s). `waiting` hears each pending poll.
pub async fn wait_for_approval(
    base: &str,
    client_id: &str,
    code: &DeviceCode,
    mut waiting: impl FnMut(),
) -> Result<Credential, LoginError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(code.expires_in.clamp(1, 3600));
    // A zero interval (a test server) still leaves room between polls.
    let mut interval = Duration::from_secs(code.interval.min(60)).max(Duration::from_millis(200));
    let url = endpoint(base, "api/permission/oauth2/token");
    let body = json!({"client_id": client_id, "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                      "device_code": code.device_code});
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(LoginError::Expired);
        }
        // A poll that did not get through is tried again at the next interval.
        let Ok(v) = post(&url, &body, None).await else { continue };
        if let Some(c) = credential_from(&v, client_id, base) {
            return Ok(c);
        }
        match oauth_error(&v) {
            Some((e, _)) if e == "authorization_pending" => waiting(),
            Some((e, _)) if e == "slow_down" => {
                interval = (interval + Duration::from_secs(5)).min(Duration::from_secs(60))
            }
            Some((e, _)) if e == "access_denied" => return Err(LoginError::Denied),
            Some((e, _)) if e == "expired_token" => return Err(LoginError::Expired),
            Some((e, m)) => return Err(LoginError::Failed(format!("the sign-in failed ({e}: {m})"))),
            None => return Err(LoginError::Failed("Coze's token answer has neither a token nor an error".into())),
        }
    }
}

/// Step 3: a new access token for a refresh token (which is spent by it). `Ok(None)`: Coze
/// refused the refresh token (spent, expired, revoked): only a new sign-in helps.
pub async fn refresh(c: &Credential) -> Result<Option<Credential>, CozeError> {
    let url = endpoint(&c.base_url, "api/permission/oauth2/token");
    let body =
        json!({"grant_type": "refresh_token", "client_id": c.client_id, "refresh_token": c.refresh_token.expose()});
    let v = post(&url, &body, None).await?;
    if let Some(fresh) = credential_from(&v, &c.client_id, &c.base_url) {
        return Ok(Some(fresh));
    }
    // Only a refusal of the token itself ends the sign-in; anything else (a busy server) is
    // an error that leaves it as it is, to be tried again.
    match oauth_error(&v) {
        Some((e, _)) if matches!(e.as_str(), "invalid_grant" | "invalid_token" | "expired_token" | "access_denied") => {
            Ok(None)
        }
        Some((e, m)) => Err(fail(ErrorKind::Server, format!("the sign-in could not be renewed now ({e}: {m})"))),
        None => Err(fail(ErrorKind::Decode, "Coze's refresh answer has neither a token nor an error")),
    }
}

/// The profile's signed-in credential, refreshed first when it ends within a minute (or is
/// `refused`, the token Coze just turned down). The refresh holds the credentials lock and
/// reads again under it: another process may have refreshed already (its refresh token is
/// then the live one, and its access token is used). It runs as a task of its own, so a
/// caller that gives up (a stopped runner, Ctrl-C) cannot cut it between spending the old
/// refresh token and keeping the new one. A refresh token Coze refuses is forgotten (signed
/// out), so no process tries it again. `Ok(None)`: not signed in.
pub async fn fresh_credential(
    config_path: &Path,
    profile: &str,
    refused: Option<&Secret>,
) -> Result<Option<Credential>, CozeError> {
    let path = credentials::path_for(config_path);
    // The file busy or unreadable for now: a timeout, which callers wait out and retry.
    let io = |m: String| fail(ErrorKind::Timeout, m);
    let Some(c) = credentials::load(&path, profile).map_err(io)? else { return Ok(None) };
    if usable(&c, refused) {
        return Ok(Some(c));
    }
    let (profile, refused) = (profile.to_string(), refused.cloned());
    let renewal = tokio::spawn(async move {
        let p = path.clone();
        let lock = tokio::task::spawn_blocking(move || credentials::lock(&p))
            .await
            .map_err(|e| io(e.to_string()))?
            .map_err(io)?;
        let Some(c) = credentials::load(&path, &profile).map_err(io)? else { return Ok(None) };
        if usable(&c, refused.as_ref()) {
            return Ok(Some(c));
        }
        let fresh = refresh(&c).await?;
        // Kept (or, refused, forgotten) before the lock goes; a write that fails still
        // leaves this process its new token.
        if let Err(e) = credentials::store(&path, &profile, fresh.as_ref(), &lock) {
            tracing::warn!("the renewed sign-in could not be kept: {e}");
        }
        drop(lock);
        match fresh {
            Some(f) => Ok(Some(f)),
            None => Err(fail(
                ErrorKind::Auth,
                format!("the sign-in of profile {profile:?} has ended; run `coze-tui login`"),
            )),
        }
    });
    renewal.await.map_err(|e| fail(ErrorKind::Auth, format!("the sign-in renewal stopped: {e}")))?
}

/// A credential to use as it is: not ending within a minute, and not the one Coze refused.
fn usable(c: &Credential, refused: Option<&Secret>) -> bool {
    c.expires_at - unix_now() > REFRESH_BEFORE_S && Some(&c.access_token) != refused
}

/// Renews a profile's signed-in token for a running client (see `coze::token`).
pub struct SignedIn {
    pub config_path: std::path::PathBuf,
    pub profile: String,
}

impl crate::coze::token::Renew for SignedIn {
    fn renew<'a>(&'a self, refused: Option<&'a Secret>) -> crate::coze::token::Renewed<'a> {
        Box::pin(async move {
            match fresh_credential(&self.config_path, &self.profile, refused).await? {
                Some(c) => Ok((c.access_token, c.expires_at)),
                None => Err(fail(
                    ErrorKind::Auth,
                    format!("profile {:?} is signed out; run `coze-tui login`", self.profile),
                )),
            }
        })
    }
}

/// A profile without a token of its own runs with its signed-in one (refreshed if need be),
/// or, with `auth = "jwt"`, a token minted for its service app; a token from the environment
/// or the config wins.
pub async fn use_signed_in(settings: &mut Settings) -> Result<(), CozeError> {
    if !settings.profile.api_token.is_empty() {
        return Ok(());
    }
    if let Some(app) = JwtApp::of(&settings.profile)? {
        let (token, expires_at) = app.token().await?;
        settings.profile.api_token = token;
        settings.token_source = Source::Jwt;
        settings.token_expires_at = Some(expires_at);
        return Ok(());
    }
    let Some(c) = fresh_credential(&settings.config_path, &settings.profile_name, None).await? else {
        return Ok(());
    };
    // A token works in the region that issued it: another base URL would only refuse it.
    let given = settings.profile.base_url.trim_end_matches('/');
    if settings.base_url_source != Source::Default && given != c.base_url.trim_end_matches('/') {
        let m = format!(
            "profile {:?} is signed in at {}, but its base URL is {given} ({}): sign in again there, or use the same base URL",
            settings.profile_name, c.base_url, settings.base_url_source
        );
        return Err(fail(ErrorKind::BadParams, m));
    }
    settings.profile.api_token = c.access_token;
    settings.token_source = Source::SignedIn;
    settings.token_expires_at = Some(c.expires_at);
    settings.sign_in_until = c.refresh_until;
    settings.profile.base_url = c.base_url;
    Ok(())
}

/// A service app (OAuth JWT, coze-api.md §10.4): no person, a private key. Each token is
/// bought with a fresh RS256 JWT; there is no refresh token, a new one is minted instead.
#[derive(Clone)]
pub struct JwtApp {
    app_id: String,
    key_id: String,
    key: jsonwebtoken::EncodingKey,
    base_url: String,
}

/// How long each minted token lasts (Coze takes up to 86,399 s).
const JWT_TOKEN_S: u64 = 900;

impl JwtApp {
    /// The profile's service app, when `auth = "jwt"`: its keys all set and its private key
    /// readable by its owner only.
    pub fn of(p: &crate::config::Profile) -> Result<Option<Self>, CozeError> {
        if p.auth.as_deref() != Some("jwt") {
            return Ok(None);
        }
        let bad = |m: String| fail(ErrorKind::BadParams, m);
        let need = |v: &Option<String>, key: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| bad(format!("auth = \"jwt\" needs {key} in the profile")))
        };
        let (app_id, key_id) = (need(&p.jwt_app_id, "jwt_app_id")?, need(&p.jwt_key_id, "jwt_key_id")?);
        let file = p
            .jwt_private_key_file
            .clone()
            .ok_or_else(|| bad("auth = \"jwt\" needs jwt_private_key_file in the profile".into()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&file).map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(bad(format!(
                    "{} can be read by others: `chmod 600` it (it signs in as the app)",
                    file.display()
                )));
            }
        }
        let pem = std::fs::read(&file).map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
            .map_err(|e| bad(format!("{} is not an RSA private key in PEM: {e}", file.display())))?;
        Ok(Some(Self { app_id, key_id, key, base_url: p.base_url.clone() }))
    }

    /// A new access token: a JWT signed now, exchanged at the token endpoint.
    pub async fn token(&self) -> Result<(Secret, i64), CozeError> {
        let now = unix_now();
        let aud =
            reqwest::Url::parse(&self.base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let claims = json!({"iss": self.app_id, "aud": aud, "iat": now, "exp": now + 3600,
                            "jti": format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>())});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| fail(ErrorKind::BadParams, format!("cannot sign the JWT: {e}")))?;
        let url = endpoint(&self.base_url, "api/permission/oauth2/token");
        let body =
            json!({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "duration_seconds": JWT_TOKEN_S});
        let v = post(&url, &body, Some(&jwt)).await?;
        let access = v.get("access_token").and_then(Value::as_str);
        match (access, v.get("expires_in").and_then(timestamp)) {
            (Some(a), Some(e)) => Ok((Secret::new(a), e)),
            _ => {
                // Named, never quoted: the answer may hold a token.
                let why = oauth_error(&v)
                    .map(|(e, m)| format!("{e}: {m}"))
                    .unwrap_or_else(|| "no token in the answer".into());
                Err(fail(
                    ErrorKind::Auth,
                    format!("the service app's token was refused ({why}); check jwt_app_id, jwt_key_id and the key"),
                ))
            }
        }
    }
}

impl crate::coze::token::Renew for JwtApp {
    fn renew<'a>(&'a self, _refused: Option<&'a Secret>) -> crate::coze::token::Renewed<'a> {
        Box::pin(self.token())
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The URL as a QR code of Unicode half blocks (two rows of modules per line): light modules
/// are drawn (terminals draw in a light colour on a dark background), with a margin of two
/// light modules, so a 60-character URL takes 37 columns and 19 rows and fits beside the
/// code at 80x24.
pub fn qr_lines(text: &str) -> Option<Vec<String>> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let margin = 2isize;
    let (from, to) = (-margin, width as isize + margin);
    // Drawn (light): the margin and the light modules; a row below the last is not drawn.
    let light = |x: isize, y: isize| {
        let inside = (0..width as isize).contains(&x) && (0..width as isize).contains(&y);
        y < to && !(inside && code[(x as usize, y as usize)] == qrcode::Color::Dark)
    };
    let half = |x: isize, y: isize| match (light(x, y), light(x, y + 1)) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    };
    Some((from..to).step_by(2).map(|y| (from..to).map(|x| half(x, y)).collect()).collect())
}

/// Why signing in with a code cannot work here, when the profile's server is a Coze Studio
/// (said, or asked without a token: Studio keeps the workspace route for its web UI whoever
/// asks); `None` otherwise.
pub async fn refused_on_studio(settings: &Settings) -> Option<String> {
    let studio = match settings.server {
        Some(server) => server == crate::coze::Server::Studio,
        None => {
            let opts = crate::coze::ClientOptions::new(settings.profile.base_url.clone(), Secret::default());
            match crate::coze::CozeClient::new(opts) {
                Ok(client) => {
                    client.learn_server().await;
                    client.is_studio()
                }
                Err(_) => false,
            }
        }
    };
    studio.then(|| {
        "Coze Studio has no sign-in with a code: make a personal access token in its web UI (API authorization) and set it as api_token or COZE_API_TOKEN".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_under_every_documented_name() {
        assert_eq!(
            oauth_error(&json!({"error_code": "slow_down", "error_message": "m"})),
            Some(("slow_down".into(), "m".into()))
        );
        assert_eq!(
            oauth_error(&json!({"error": "access_denied", "error_description": "no"})),
            Some(("access_denied".into(), "no".into()))
        );
        assert_eq!(oauth_error(&json!({"access_token": "x"})), None);
        let c =
            credential_from(&json!({"access_token": "a", "refresh_token": "r", "expires_in": "1720098388"}), "id", "b");
        assert_eq!(c.map(|c| c.expires_at), Some(1_720_098_388), "an absolute timestamp, even as a string");
    }

    #[test]
    fn the_verification_url_carries_the_code_and_fits_80_columns_as_a_qr_code() {
        let code = DeviceCode {
            device_code: "d".into(),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://www.coze.cn/open/oauth/device".into(),
            expires_in: 300,
            interval: 5,
        };
        assert_eq!(code.verification_url(), "https://www.coze.cn/open/oauth/device?user_code=WDJB-MJHT");
        let qr = qr_lines(&code.verification_url()).unwrap();
        let width = qr.iter().map(|l| l.chars().count()).max().unwrap();
        assert!(width <= 40 && qr.len() <= 19, "{width} columns, {} rows", qr.len());
        assert_eq!(qr[0].chars().filter(|c| *c == '█').count(), width, "a light margin all round");
    }
}
