//! The OAuth device authorization grant (coze-api.md §10.3): device codes a test approves or
//! denies, 15-minute access tokens (configurable), single-use refresh tokens. Not enveloped,
//! and not behind the bearer gate: these endpoints are how a token is got.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::SimState;

/// What became of a device code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Approval {
    Pending,
    Approved,
    Denied,
}

#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    user_code: String,
    client_id: String,
    approval: Approval,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
}

/// Tokens the simulator issued.
#[derive(Default)]
pub(crate) struct OAuthState {
    codes: HashMap<String, DeviceCode>,
    /// Access token → when it stops working.
    pub access: HashMap<String, Instant>,
    /// Live refresh tokens (single-use) → client id.
    refresh: HashMap<String, String>,
    /// JWT ids already used (a JWT buys one token).
    jtis: std::collections::HashSet<String>,
    next: u64,
}

impl OAuthState {
    fn new_token(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:016x}{:08x}", rand::random::<u64>(), self.next)
    }

    /// Whether `token` is an access token still in force.
    pub fn accepts(&self, token: &str) -> bool {
        self.access.get(token).is_some_and(|until| Instant::now() < *until)
    }

    pub fn decide(&mut self, user_code: &str, approval: Approval) -> bool {
        match self.codes.values_mut().find(|c| c.user_code == user_code) {
            Some(c) => {
                c.approval = approval;
                true
            }
            None => false,
        }
    }

    /// Every access token stops working now (the next call needs a refresh).
    pub fn expire_access(&mut self) {
        let now = Instant::now();
        self.access.values_mut().for_each(|t| *t = now);
    }
}

/// An OAuth error body: the docs' field names and the SDKs' (coze-api.md §10.3).
fn oauth_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": code, "error_description": message, "error_code": code, "error_message": message});
    (status, axum::Json(body)).into_response()
}

fn issue(s: &SimState, client_id: &str) -> Value {
    let mut inner = s.lock();
    let access = inner.oauth.new_token("czu");
    let refresh = inner.oauth.new_token("rt");
    let ttl = Duration::from_secs(s.opts.oauth_access_ttl_s);
    inner.oauth.access.insert(access.clone(), Instant::now() + ttl);
    inner.oauth.refresh.insert(refresh.clone(), client_id.to_string());
    // `expires_in` is an absolute Unix timestamp (§10.2).
    let expires_in = super::runs::unix_now() + ttl.as_secs() as i64;
    json!({"access_token": access, "expires_in": expires_in, "refresh_token": refresh, "token_type": "Bearer"})
}

async fn device_code(s: State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    device_code_for(s, None, body).await
}

async fn device_code_in(s: State<Arc<SimState>>, Path(ws): Path<String>, body: axum::body::Bytes) -> Response {
    device_code_for(s, Some(ws), body).await
}

async fn device_code_for(
    State(s): State<Arc<SimState>>,
    workspace: Option<String>,
    body: axum::body::Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let client_id = v.get("client_id").and_then(Value::as_str).unwrap_or_default().to_string();
    if client_id != s.opts.oauth_client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client_id");
    }
    if let Some(ws) = &workspace
        && s.catalogue.workspace(ws).is_none()
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "unknown workspace");
    }
    let mut inner = s.lock();
    let device = inner.oauth.new_token("dc");
    let n = inner.oauth.next;
    let user_code = format!("{:04X}-{:04X}", (n * 7919) % 0xFFFF, (n * 104_729) % 0xFFFF);
    let ttl = Duration::from_secs(s.opts.oauth_code_ttl_s);
    let interval = Duration::from_secs(s.opts.oauth_interval_s);
    inner.oauth.codes.insert(
        device.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            client_id,
            approval: Approval::Pending,
            expires: Instant::now() + ttl,
            interval,
            last_poll: None,
        },
    );
    let uri = format!("{}/open/oauth/device", s.base_url);
    axum::Json(json!({"device_code": device, "user_code": user_code, "verification_uri": uri,
                      "expires_in": ttl.as_secs(), "interval": interval.as_secs()}))
    .into_response()
}

/// A service app's JWT (the Authorization header), checked as Coze checks it: signed by the
/// app's key (RS256, `kid`), issued by the app, for this host, not expired, used once.
fn jwt_grant(s: &SimState, headers: &axum::http::HeaderMap, v: &Value) -> Response {
    let Some(pem) = s.opts.jwt_public_key_file.as_ref().and_then(|f| std::fs::read(f).ok()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "no service app is registered");
    };
    let jwt = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let (Some(jwt), Ok(key)) = (jwt, jsonwebtoken::DecodingKey::from_rsa_pem(&pem)) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "a signed JWT is required");
    };
    let host = s.base_url.split("//").nth(1).and_then(|h| h.split(':').next()).unwrap_or_default().to_string();
    let mut check = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    check.set_audience(&[host]);
    check.set_issuer(&[s.opts.jwt_app_id.as_str()]);
    let decoded = match jsonwebtoken::decode::<Value>(jwt, &key, &check) {
        Ok(d) => d,
        Err(e) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &format!("the JWT is not valid: {e}"));
        }
    };
    if decoded.header.kid.as_deref() != Some(s.opts.jwt_key_id.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown kid");
    }
    let jti = decoded.claims.get("jti").and_then(Value::as_str).unwrap_or_default().to_string();
    let seconds = v.get("duration_seconds").and_then(Value::as_u64).unwrap_or(900).clamp(1, 86_399);
    let mut inner = s.lock();
    if jti.is_empty() || !inner.oauth.jtis.insert(jti) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "the JWT's jti is missing or was used");
    }
    inner.stats.jwt_exchanges += 1;
    let access = inner.oauth.new_token("czs");
    inner.oauth.access.insert(access.clone(), Instant::now() + Duration::from_secs(seconds));
    let expires_in = super::runs::unix_now() + seconds as i64;
    axum::Json(json!({"access_token": access, "expires_in": expires_in, "token_type": "Bearer"})).into_response()
}

async fn token(State(s): State<Arc<SimState>>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    match field("grant_type").as_str() {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => jwt_grant(&s, &headers, &v),
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let (device, client_id) = (field("device_code"), field("client_id"));
            let decided = {
                let mut inner = s.lock();
                let Some(code) = inner.oauth.codes.get_mut(&device).filter(|c| c.client_id == client_id) else {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown device_code");
                };
                let now = Instant::now();
                if now >= code.expires {
                    return oauth_error(StatusCode::BAD_REQUEST, "expired_token", "the device code has expired");
                }
                let too_soon = code.last_poll.is_some_and(|t| now.duration_since(t) < code.interval);
                code.last_poll = Some(now);
                if too_soon {
                    return oauth_error(StatusCode::BAD_REQUEST, "slow_down", "polling too fast");
                }
                code.approval
            };
            match decided {
                Approval::Pending => {
                    oauth_error(StatusCode::BAD_REQUEST, "authorization_pending", "waiting for the user")
                }
                Approval::Denied => oauth_error(StatusCode::BAD_REQUEST, "access_denied", "the user refused"),
                Approval::Approved => {
                    s.lock().oauth.codes.remove(&device);
                    axum::Json(issue(&s, &client_id)).into_response()
                }
            }
        }
        "refresh_token" => {
            let (refresh, client_id) = (field("refresh_token"), field("client_id"));
            let used = {
                let mut inner = s.lock();
                inner.stats.oauth_refreshes += 1;
                inner.oauth.refresh.remove(&refresh)
            };
            match used {
                Some(c) if c == client_id => axum::Json(issue(&s, &client_id)).into_response(),
                // Single-use: a refresh token already spent (or never issued) is refused.
                _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the refresh token is invalid or used"),
            }
        }
        other => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &format!("grant_type {other:?}")),
    }
}

pub(crate) fn routes(r: axum::Router<Arc<SimState>>) -> axum::Router<Arc<SimState>> {
    use axum::routing::post;
    r.route("/api/permission/oauth2/device/code", post(device_code))
        .route("/api/permission/oauth2/workspace_id/{ws}/device/code", post(device_code_in))
        .route("/api/permission/oauth2/token", post(token))
}
