//! The Coze HTTP client: auth, timeouts, the response envelope, log ids, retries, endpoints.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{CozeError, Delivery, ErrorKind, Result};
use super::gate::{RequestGate, RequestKind};
use super::models::*;
use super::retry::RetryPolicy;
use super::server::Server;
use super::stream::{WorkflowStream, clip};
use super::studio;
use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.coze.cn";
const NO_VERSIONS: &str = "has no workflow versions to choose from: a run always uses the latest published one";
const NO_UPLOADS: &str = "takes no file uploads from coze-tui: give a file input a URL instead";
const NO_WORKSPACES: &str = "has no workspace list: name its workflows in the profile ([[profiles.NAME.workflows]]) or add them in the dashboard";
const NO_WORKFLOW_LIST: &str =
    "cannot list workflows: name them in the profile ([[profiles.NAME.workflows]]) or add them in the dashboard";
const NO_RESUME: &str = "answers questions and input forms only in streamed runs: run it again with --mode stream";
/// Coze caps page sizes: 50 for workspaces, 30 for workflows and versions.
const WORKSPACE_PAGE_SIZE: u32 = 50;
const WORKFLOW_PAGE_SIZE: u32 = 30;
/// A listing that has not ended after this many pages is a server bug, not data.
const MAX_PAGES: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    pub token: Secret,
    /// Whole-request limit for ordinary calls.
    pub timeout: Duration,
    /// Whole-request limit for sync runs and non-stream resumes (Coze cuts them at 90 s).
    pub run_timeout: Duration,
    /// Streams have no total limit; they fail after this long without a byte.
    pub stream_idle_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// A signed-in token's end and how to renew it; `None` for a personal access token.
    pub renewal: Option<Renewal>,
    /// Hosted Coze or a self-hosted Coze Studio: which routes exist and how they answer.
    /// `None`: learned from the server's first answer (see [`CozeClient::server`]).
    pub server: Option<Server>,
}

/// How a signed-in token is renewed.
#[derive(Clone)]
pub struct Renewal {
    /// Unix seconds.
    pub expires_at: i64,
    pub renew: Arc<dyn super::token::Renew>,
}

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal").field("expires_at", &self.expires_at).finish()
    }
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        Self {
            base_url: base_url.into(),
            token,
            timeout: Duration::from_secs(30),
            run_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            renewal: None,
            server: None,
        }
    }
}

/// A decoded answer together with the `x-tt-logid` of the response it came from.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub value: T,
    pub logid: Option<String>,
}

impl<T> Reply<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        Reply { value: f(self.value), logid: self.logid }
    }
}

/// Body of `run`, `stream_run` (without `is_async`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunRequest {
    pub workflow_id: String,
    pub parameters: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<Map<String, Value>>,
}

/// Body of `POST /v1/workflows/chat`: one user message into a conversation (a new one
/// when `conversation_id` is absent).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatRequest {
    /// The workflow, its parameters, app or bot and version, as a run sends them.
    #[serde(flatten)]
    pub run: RunRequest,
    pub additional_messages: Vec<ChatMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

/// A message sent into a conversation (cozepy's `Message.build_user_question_text`).
#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub content: String,
    pub content_type: &'static str,
}

impl ChatMessage {
    pub fn user(text: &str) -> Self {
        Self { role: "user", kind: "question", content: text.to_string(), content_type: "text" }
    }
}

/// Body of `stream_resume` and the non-stream `resume`.
#[derive(Debug, Clone, Serialize)]
pub struct ResumeRequest {
    pub workflow_id: String,
    pub event_id: String,
    pub interrupt_type: i64,
    pub resume_data: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct WorkspacePage {
    #[serde(deserialize_with = "int_lenient")]
    total_count: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    workspaces: Vec<Workspace>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct ItemsPage<T> {
    #[serde(default, deserialize_with = "null_default")]
    items: Vec<T>,
    #[serde(default)]
    has_more: Option<bool>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Clone)]
pub struct CozeClient {
    http: reqwest::Client,
    base: Url,
    token: super::token::Token,
    opts: ClientOptions,
    /// Paces every request (retries included); none means unpaced.
    gate: Option<Arc<dyn RequestGate>>,
    /// What this client knows of its server, shared by its clones (0 not yet known).
    server: Arc<AtomicU8>,
    /// One probe at a time asks what the server is (see [`CozeClient::learn_server`]).
    probing: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for CozeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CozeClient").field("base", &self.base.as_str()).field("token", &self.token).finish()
    }
}

/// Checks a base URL: http(s), a host, no query. Returns it without trailing slashes.
pub fn parse_base_url(raw: &str) -> std::result::Result<Url, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|e| format!("invalid base URL {trimmed:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid base URL {trimmed:?}: it must look like https://api.coze.cn"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("invalid base URL {trimmed:?}: it must not have a query or fragment"));
    }
    Ok(url)
}

impl CozeClient {
    pub fn new(opts: ClientOptions) -> Result<Self> {
        let base = parse_base_url(&opts.base_url).map_err(|m| CozeError::new(ErrorKind::BadParams, m))?;
        let mut headers = HeaderMap::new();
        let ua =
            format!("coze-tui/{} rust {}/{}", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH);
        let client_ua = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"), "lang": "rust", "os_name": std::env::consts::OS,
        })
        .to_string();
        if let Ok(v) = HeaderValue::from_str(&client_ua) {
            headers.insert("X-Coze-Client-User-Agent", v);
        }
        let http = reqwest::Client::builder()
            .user_agent(ua)
            .default_headers(headers)
            .connect_timeout(opts.connect_timeout)
            .build()
            .map_err(|e| CozeError::new(ErrorKind::Network, format!("cannot build the HTTP client: {e}")))?;
        let token = match &opts.renewal {
            Some(r) => super::token::Token::renewing(opts.token.clone(), r.expires_at, r.renew.clone()),
            None => super::token::Token::fixed(opts.token.clone()),
        };
        let server = Arc::new(AtomicU8::new(opts.server.map_or(0, server_code)));
        Ok(Self { http, base, token, opts, gate: None, server, probing: Arc::default() })
    }

    /// The kind of server, as the profile says or as its answers showed; `None` before the
    /// first answer when the profile does not say.
    pub fn server(&self) -> Option<Server> {
        match self.server.load(Ordering::Relaxed) {
            1 => Some(Server::Coze),
            2 => Some(Server::Studio),
            _ => None,
        }
    }

    pub fn is_studio(&self) -> bool {
        self.server() == Some(Server::Studio)
    }

    /// Learns the server's kind from an answer, once: hosted Coze names its log id
    /// `x-tt-logid`, Coze Studio `X-Log-ID`, and only Studio refuses a token for a web-UI
    /// route ("missing session_key in cookie").
    fn learn(&self, headers: &HeaderMap, web_ui_only: bool) {
        if self.server.load(Ordering::Relaxed) != 0 {
            return;
        }
        if headers.contains_key("x-tt-logid") {
            self.settle(Server::Coze);
        } else if headers.contains_key("x-log-id") || web_ui_only {
            self.settle(Server::Studio);
        }
    }

    /// Records the kind of server, once.
    fn settle(&self, kind: Server) {
        if self.server.compare_exchange(0, server_code(kind), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            tracing::info!(base = self.base_url(), server = kind.as_str(), "learned the kind of server");
        }
    }

    /// A call only hosted Coze serves: refused before sending on a known Coze Studio, and
    /// Studio's web-UI refusal (when the answer showed one) says the same.
    async fn hosted_only<T>(&self, what: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.not_on_studio(what)?;
        call.await.map_err(|e| match e.kind == ErrorKind::Unsupported && self.is_studio() {
            true => CozeError { logid: e.logid, ..unsupported(what) },
            false => e,
        })
    }

    /// Coze Studio runs the latest published version whatever is asked: a run of another is
    /// refused rather than run as the wrong one.
    async fn refuse_a_version(&self, req: &RunRequest) -> Result<()> {
        if req.workflow_version.is_none() {
            return Ok(());
        }
        self.learn_server().await;
        self.not_on_studio(NO_VERSIONS)
    }

    /// Refuses, before sending, what Coze Studio cannot do.
    fn not_on_studio(&self, what: &str) -> Result<()> {
        match self.is_studio() {
            true => Err(unsupported(what)),
            false => Ok(()),
        }
    }

    /// Whether its token renews itself (signed in), so a refusal may pass once it is renewed.
    pub fn renews_token(&self) -> bool {
        self.token.renews()
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// The same client (sharing its connections) with another retry policy.
    pub fn with_retry(&self, retry: RetryPolicy) -> Self {
        let mut c = self.clone();
        c.opts.retry = retry;
        c
    }

    /// The same client (sharing its connections) with every request paced by `gate`.
    pub fn with_gate(&self, gate: Arc<dyn RequestGate>) -> Self {
        let mut c = self.clone();
        c.gate = Some(gate);
        c
    }

    pub fn has_gate(&self) -> bool {
        self.gate.is_some()
    }

    /// Sends `attempt` until it succeeds or the retry policy gives up. Every try passes the
    /// gate; every rate refusal slows the gate down. Reads retry transient errors; runs are
    /// re-sent only when they never left or Coze refused them for the rate.
    async fn with_retries<T, F: Future<Output = Result<T>>>(
        &self,
        kind: RequestKind,
        path: &str,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T> {
        let idempotent = kind != RequestKind::Run;
        let first = tokio::time::Instant::now();
        let (mut retries, mut refusals) = (0, 0);
        let mut renewed = false;
        loop {
            // A signed-in token about to end is renewed first; one that cannot be says so.
            self.token.fresh().await.map_err(|e| CozeError { delivery: Delivery::NotSent, ..e })?;
            if let Some(gate) = &self.gate {
                gate.admit(kind).await?;
            }
            let sent = self.token.current();
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // Refused for its token (nothing ran): renewed once, and sent again.
            if err.kind == ErrorKind::Auth && !renewed && self.token.renews() {
                renewed = true;
                match self.token.after_refusal(&sent).await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => return Err(CozeError { message: format!("{} ({})", err.message, e.message), ..err }),
                }
            }
            if let Some(gate) = self.gate.as_ref().filter(|_| err.is_start_refused()) {
                gate.refused(err.retry_after).await;
            }
            let delay = if !idempotent && err.is_start_refused() {
                refusals += 1;
                self.opts.retry.delay_before_resend(refusals - 1, first.elapsed(), &err)
            } else {
                retries += 1;
                self.opts.retry.delay_before_retry(retries - 1, &err, idempotent)
            };
            match delay {
                Some(delay) => {
                    tracing::debug!(path, retries, refusals, ?delay, error = %err, "sending again");
                    tokio::time::sleep(delay).await;
                }
                // The last answer was a refusal too: nothing ran, and it says how hard we tried.
                None if refusals > 0 && err.is_start_refused() => {
                    let mut err = err;
                    err.message = format!(
                        "{} (refused {refusals} times over {} s for the request rate; nothing ran)",
                        err.message,
                        first.elapsed().as_secs()
                    );
                    return Err(err);
                }
                None => return Err(err),
            }
        }
    }

    /// `base + /segments`, each segment percent-encoded (ids come from users).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url).bearer_auth(self.token.current().expose())
    }

    /// Sends one request and decodes Coze's envelope; no retries.
    async fn send_once(&self, req: reqwest::RequestBuilder) -> Result<Reply<Map<String, Value>>> {
        let resp = req.send().await.map_err(|e| transport_error(&e, "sending the request"))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let logid = header_logid(&headers);
        let body = resp.bytes().await.map_err(|e| {
            let mut err = transport_error(&e, "reading the response");
            err.delivery = Delivery::Answered;
            err.with_logid(logid.clone())
        })?;
        let decoded = decode_envelope(status, &headers, &body);
        self.learn(&headers, decoded.as_ref().is_err_and(|e| e.kind == ErrorKind::Unsupported));
        decoded.map(|value| Reply { value, logid: logid.clone() }).map_err(|e| self.read_as_server(e))
    }

    /// A Coze Studio's error, read as Studio means it.
    fn read_as_server(&self, e: CozeError) -> CozeError {
        if self.is_studio() { e.from_studio() } else { e }
    }

    /// Learns the kind of server with one cheap read, if it is not known yet: before what
    /// Coze Studio would take and do otherwise (a run of a chosen version, which it runs as
    /// the latest; an upload, whose id its file inputs do not take; a non-streamed answer).
    pub async fn learn_server(&self) {
        if self.server().is_some() {
            return;
        }
        // Callers at once share one probe; a probe that fails is not tried again here (the
        // request it comes before says what is wrong).
        let _one = self.probing.lock().await;
        if self.server().is_some() {
            return;
        }
        let probe = self.with_retry(RetryPolicy { max_retries: 0, ..self.opts.retry });
        // Hosted Coze lists a workspace; Studio keeps the route for its web UI (the answer
        // says which even when a proxy drops the log id header).
        if probe.workspaces_page(1, 1).await.is_ok() {
            self.settle(Server::Coze);
        }
    }

    /// `hosted` unless the server is a Coze Studio: `Ok(None)` when it is known to be one, or
    /// its answer showed one (the route is its web UI's).
    pub async fn unless_studio<T>(&self, hosted: impl Future<Output = Result<T>>) -> Result<Option<T>> {
        if self.is_studio() {
            return Ok(None);
        }
        match hosted.await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::Unsupported && self.is_studio() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GETs retry transient failures with backoff, honouring `Retry-After`.
    async fn get(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Reply<Map<String, Value>>> {
        self.get_as(RequestKind::Read, segments, query).await
    }

    async fn get_as(
        &self,
        kind: RequestKind,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Reply<Map<String, Value>>> {
        let url = self.url(segments);
        self.with_retries(kind, url.path(), || {
            self.send_once(self.request(Method::GET, url.clone()).query(query).timeout(self.opts.timeout))
        })
        .await
    }

    /// POSTs that start or resume runs: see [`CozeClient::with_retries`].
    async fn post(
        &self,
        segments: &[&str],
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<Reply<Map<String, Value>>> {
        let url = self.url(segments);
        self.with_retries(RequestKind::Run, url.path(), || {
            self.send_once(self.request(Method::POST, url.clone()).json(body).timeout(timeout))
        })
        .await
    }

    // ---- endpoints -------------------------------------------------------------------------

    /// One page of workspaces and the total count.
    pub async fn workspaces_page(&self, page_num: u32, page_size: u32) -> Result<Reply<(Vec<Workspace>, Option<i64>)>> {
        let q = [("page_num", page_num.to_string()), ("page_size", page_size.to_string())];
        let reply = self.hosted_only(NO_WORKSPACES, self.get(&["v1", "workspaces"], &q)).await?;
        let page: WorkspacePage = data_as(reply.value, &reply.logid)?;
        Ok(Reply { value: (page.workspaces, page.total_count), logid: reply.logid })
    }

    /// Every workspace the token can see, across all pages.
    pub async fn list_workspaces(&self) -> Result<Reply<Vec<Workspace>>> {
        let mut all = Vec::new();
        let mut logid = None;
        for page_num in 1..=MAX_PAGES {
            let reply = self.workspaces_page(page_num, WORKSPACE_PAGE_SIZE).await?;
            logid = reply.logid;
            let (items, total) = reply.value;
            let got = items.len();
            all.extend(items);
            let more = match total {
                Some(total) => (all.len() as i64) < total && got > 0,
                None => got as u32 >= WORKSPACE_PAGE_SIZE,
            };
            if !more {
                break;
            }
        }
        Ok(Reply { value: all, logid })
    }

    pub async fn workflows_page(
        &self,
        workspace_id: &str,
        page_num: u32,
        page_size: u32,
        publish_status: PublishStatus,
        workflow_mode: Option<&str>,
    ) -> Result<Reply<(Vec<Workflow>, bool)>> {
        let mut q = vec![
            ("workspace_id", workspace_id.to_string()),
            ("page_num", page_num.to_string()),
            ("page_size", page_size.to_string()),
            ("publish_status", publish_status.as_str().to_string()),
        ];
        if let Some(mode) = workflow_mode {
            q.push(("workflow_mode", mode.to_string()));
        }
        let reply = self.hosted_only(NO_WORKFLOW_LIST, self.get(&["v1", "workflows"], &q)).await?;
        let page: ItemsPage<Workflow> = data_as(reply.value, &reply.logid)?;
        let more = page.has_more.unwrap_or(page.items.len() as u32 >= page_size);
        Ok(Reply { value: (page.items, more), logid: reply.logid })
    }

    /// Every workflow of a workspace with the given publish status, across all pages.
    pub async fn list_workflows(
        &self,
        workspace_id: &str,
        publish_status: PublishStatus,
        workflow_mode: Option<&str>,
    ) -> Result<Reply<Vec<Workflow>>> {
        let mut all = Vec::new();
        let mut logid = None;
        for page_num in 1..=MAX_PAGES {
            let reply =
                self.workflows_page(workspace_id, page_num, WORKFLOW_PAGE_SIZE, publish_status, workflow_mode).await?;
            logid = reply.logid;
            let (items, more) = reply.value;
            let empty = items.is_empty();
            all.extend(items);
            if !more || empty {
                break;
            }
        }
        let published = match publish_status {
            PublishStatus::PublishedOnline => Some(true),
            PublishStatus::UnpublishedDraft => Some(false),
            PublishStatus::All => None,
        };
        for wf in &mut all {
            wf.is_published = published;
        }
        Ok(Reply { value: all, logid })
    }

    /// Every workflow (drafts included), each marked published or not. Costs two listings,
    /// because Coze marks nothing in the `all` listing.
    pub async fn list_workflows_marked(&self, workspace_id: &str) -> Result<Reply<Vec<Workflow>>> {
        let all = self.list_workflows(workspace_id, PublishStatus::All, None).await?;
        let online = self.list_workflows(workspace_id, PublishStatus::PublishedOnline, None).await?;
        let online: std::collections::HashSet<_> = online.value.into_iter().map(|w| w.workflow_id).collect();
        Ok(all.map(|mut items| {
            for wf in &mut items {
                wf.is_published = Some(online.contains(&wf.workflow_id));
            }
            items
        }))
    }

    /// Workflow details; with `include_io`, its input and output schema.
    /// On Coze Studio the same route only tells a chatflow from a workflow: no name, no schema.
    pub async fn workflow_info(&self, workflow_id: &str, include_io: bool) -> Result<Reply<WorkflowInfo>> {
        let q = [("include_input_output", include_io.to_string())];
        let answer = self.get(&["v1", "workflows", workflow_id], &q).await;
        if self.is_studio() {
            return studio::workflow_info(workflow_id, answer);
        }
        let reply = answer?;
        let info = data_as(reply.value, &reply.logid)?;
        Ok(Reply { value: info, logid: reply.logid })
    }

    /// Every version of a workflow. Token paging: `has_more` is trusted over the token.
    pub async fn workflow_versions(
        &self,
        workflow_id: &str,
        publish_status: PublishStatus,
    ) -> Result<Reply<Vec<WorkflowVersion>>> {
        let mut all = Vec::new();
        let mut token = String::new();
        let mut logid = None;
        for _ in 0..MAX_PAGES {
            let q = [
                ("page_size", WORKFLOW_PAGE_SIZE.to_string()),
                ("page_token", token.clone()),
                ("publish_status", publish_status.as_str().to_string()),
                ("include_input_output", "true".to_string()),
            ];
            let path = ["v1", "workflows", workflow_id, "versions"];
            let reply = self.hosted_only(NO_VERSIONS, self.get(&path, &q)).await?;
            logid = reply.logid.clone();
            let page: ItemsPage<WorkflowVersion> = data_as(reply.value, &reply.logid)?;
            let next = page.next_page_token.unwrap_or_default();
            let more = page.has_more.unwrap_or(!next.is_empty()) && !page.items.is_empty() && next != token;
            all.extend(page.items);
            if !more || next.is_empty() {
                break;
            }
            token = next;
        }
        Ok(Reply { value: all, logid })
    }

    /// Runs a workflow and waits for its result (or its interrupt).
    pub async fn run(&self, req: &RunRequest) -> Result<Reply<RunResult>> {
        self.run_with(req, false).await
    }

    /// Starts a workflow in the background; poll [`CozeClient::run_history`] with the execute id.
    pub async fn run_async(&self, req: &RunRequest) -> Result<Reply<RunResult>> {
        let reply = self.run_with(req, true).await?;
        if reply.value.execute_id().is_none() {
            return Err(
                CozeError::new(ErrorKind::Decode, "async run answered without an execute_id").with_logid(reply.logid)
            );
        }
        Ok(reply)
    }

    async fn run_with(&self, req: &RunRequest, is_async: bool) -> Result<Reply<RunResult>> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            req: &'a RunRequest,
            is_async: bool,
        }
        self.refuse_a_version(req).await?;
        let timeout = if is_async { self.opts.timeout } else { self.opts.run_timeout };
        let reply = self.post(&["v1", "workflow", "run"], &Body { req, is_async }, timeout).await?;
        top_level_as(reply)
    }

    /// Whether [`CozeClient::resume`] can work here: not on a Coze Studio (asked first if
    /// the server's kind is not known yet).
    pub async fn takes_unstreamed_answers(&self) -> Result<()> {
        self.learn_server().await;
        self.not_on_studio(NO_RESUME)
    }

    /// Answers an interrupt of a run started with `run`/`run_async` (not a stream).
    pub async fn resume(&self, req: &ResumeRequest) -> Result<Reply<RunResult>> {
        self.takes_unstreamed_answers().await?;
        let answer = self.post(&["v1", "workflows", "resume"], req, self.opts.run_timeout);
        let reply = self.hosted_only(NO_RESUME, answer).await?;
        top_level_as(reply)
    }

    /// Uploads a file (`POST /v1/files/upload`: one multipart part named `file`), streamed
    /// from disk; `sent` hears the bytes sent so far. A failed try is sent again whole (a
    /// duplicate upload costs nothing but space, which Coze frees after 3 months).
    pub async fn upload_file(&self, path: &Path, sent: Arc<dyn Fn(u64) + Send + Sync>) -> Result<Reply<UploadedFile>> {
        self.learn_server().await;
        let url = self.url(&["v1", "files", "upload"]);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
        let sent_whole = self.with_retries(RequestKind::Read, url.path(), || {
            let (url, name, sent) = (url.clone(), name.clone(), sent.clone());
            async move {
                let file = tokio::fs::File::open(path).await.map_err(|e| CozeError {
                    delivery: Delivery::NotSent,
                    ..CozeError::new(ErrorKind::BadParams, format!("cannot read {}: {e}", path.display()))
                })?;
                let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
                let body = reqwest::Body::wrap_stream(counted_chunks(file, sent));
                let part = reqwest::multipart::Part::stream_with_length(body, len).file_name(name);
                let form = reqwest::multipart::Form::new().part("file", part);
                // At least 128 KiB/s over the whole body: a slow uplink is not a timeout.
                let timeout = self.opts.run_timeout + Duration::from_secs(len / (128 * 1024));
                let req = self.request(Method::POST, url).multipart(form).timeout(timeout);
                self.send_once(req).await
            }
        });
        let reply = self.hosted_only(NO_UPLOADS, sent_whole).await?;
        let file = data_as(reply.value, &reply.logid)?;
        Ok(Reply { value: file, logid: reply.logid })
    }

    /// A file Coze keeps (`GET /v1/files/retrieve`); unknown or expired is 4200 (not found).
    pub async fn retrieve_file(&self, file_id: &str) -> Result<Reply<UploadedFile>> {
        let q = [("file_id", file_id.to_string())];
        let reply = self.hosted_only(NO_UPLOADS, self.get(&["v1", "files", "retrieve"], &q)).await?;
        let file = data_as(reply.value, &reply.logid)?;
        Ok(Reply { value: file, logid: reply.logid })
    }

    /// One execution's record. Works for sync, stream and async runs with a known execute id.
    pub async fn run_history(&self, workflow_id: &str, execute_id: &str) -> Result<Reply<RunHistory>> {
        // A Coze Studio keeps run history elsewhere.
        match self.unless_studio(self.coze_run_history(workflow_id, execute_id)).await? {
            Some(reply) => Ok(reply),
            None => self.studio_run_history(workflow_id, execute_id).await,
        }
    }

    async fn studio_run_history(&self, workflow_id: &str, execute_id: &str) -> Result<Reply<RunHistory>> {
        let q = [("workflow_id", workflow_id.to_string()), ("execute_id", execute_id.to_string())];
        let path = ["v1", "workflow", "get_run_history"];
        let reply = self.get_as(RequestKind::Poll, &path, &q).await.map_err(studio::history_error)?;
        studio::run_history(reply, execute_id)
    }

    async fn coze_run_history(&self, workflow_id: &str, execute_id: &str) -> Result<Reply<RunHistory>> {
        let path = ["v1", "workflows", workflow_id, "run_histories", execute_id];
        let reply = self.get_as(RequestKind::Poll, &path, &[]).await?;
        let list: Vec<RunHistory> = data_as(reply.value, &reply.logid)?;
        match list.into_iter().next() {
            Some(h) => Ok(Reply { value: h, logid: reply.logid }),
            None => {
                Err(CozeError::new(ErrorKind::ExecutionNotFound, format!("no run history for execution {execute_id}"))
                    .with_logid(reply.logid))
            }
        }
    }

    /// The output of one output node of an execution.
    pub async fn node_output(
        &self,
        workflow_id: &str,
        execute_id: &str,
        node_execute_uuid: &str,
    ) -> Result<Reply<NodeOutput>> {
        let path = ["v1", "workflows", workflow_id, "run_histories", execute_id, "execute_nodes", node_execute_uuid];
        let reply = self.hosted_only("keeps no node outputs for the API", self.get(&path, &[])).await?;
        let out = data_as(reply.value, &reply.logid)?;
        Ok(Reply { value: out, logid: reply.logid })
    }

    /// Runs a workflow and streams its events.
    pub async fn stream_run(&self, req: &RunRequest) -> Result<WorkflowStream> {
        self.refuse_a_version(req).await?;
        self.open_stream(&["v1", "workflow", "stream_run"], req).await
    }

    /// Answers an interrupt of a streamed run; the answer streams like a new run.
    pub async fn stream_resume(&self, req: &ResumeRequest) -> Result<WorkflowStream> {
        self.open_stream(&["v1", "workflow", "stream_resume"], req).await
    }

    /// One turn of a chatflow (`POST /v1/workflows/chat`, streamed): its events read as a
    /// workflow's (see [`WorkflowStream`]'s chat grammar).
    pub async fn chat_stream(&self, req: &ChatRequest) -> Result<WorkflowStream> {
        self.refuse_a_version(&req.run).await?;
        // A new conversation is started differently on Coze Studio.
        if req.conversation_id.is_none() {
            self.learn_server().await;
        }
        if self.is_studio() {
            let req = studio::named_conversation(req);
            return Ok(self.open_stream(&["v1", "workflows", "chat"], &req).await?.chat());
        }
        Ok(self.open_stream(&["v1", "workflows", "chat"], req).await?.chat())
    }

    /// Whether the server takes this token, without starting anything, with the number of
    /// workspaces on hosted Coze. Coze Studio opens only runs, history and chat to a token:
    /// the history of execute id 0 is refused for a bad token, or not found.
    pub async fn check_token(&self) -> Result<Reply<Option<i64>>> {
        if let Some(reply) = self.unless_studio(self.workspaces_page(1, 1)).await? {
            return Ok(reply.map(|(_, total)| total));
        }
        match self.studio_run_history("0", "0").await {
            Ok(reply) => Ok(Reply { value: None, logid: reply.logid }),
            Err(e) if e.kind == ErrorKind::ExecutionNotFound => Ok(Reply { value: None, logid: e.logid }),
            Err(e) => Err(e),
        }
    }

    async fn open_stream(&self, segments: &[&str], body: &impl Serialize) -> Result<WorkflowStream> {
        let url = self.url(segments);
        self.with_retries(RequestKind::Run, url.path(), || self.open_stream_once(url.clone(), body)).await
    }

    async fn open_stream_once(&self, url: Url, body: &impl Serialize) -> Result<WorkflowStream> {
        // No total timeout: only the connect timeout here, then the idle timeout per chunk.
        // Coze Studio sends its headers with the first event, however long a node works.
        let req = self.request(Method::POST, url).json(body);
        // (The server's kind is known by now in practice: a lookup comes first.)
        let wait = match self.server() {
            Some(Server::Studio) => studio::STREAM_IDLE_LIMIT.max(self.opts.stream_idle_timeout),
            _ => self.opts.stream_idle_timeout,
        };
        let resp = match tokio::time::timeout(wait, req.send()).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => return Err(transport_error(&e, "starting the stream")),
            Err(_) => {
                return Err(CozeError {
                    delivery: Delivery::Unknown,
                    ..CozeError::new(ErrorKind::Timeout, "the stream did not start in time")
                });
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let logid = header_logid(&headers);
        self.learn(&headers, false);
        let is_sse = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("event-stream"));
        if status.is_success() && is_sse {
            // Coze Studio sends no heartbeats: a node may run for minutes without a byte.
            let idle = if self.is_studio() { studio::STREAM_IDLE_LIMIT } else { self.opts.stream_idle_timeout };
            return Ok(WorkflowStream::new(Box::pin(resp.bytes_stream()), idle, logid));
        }
        // Errors before the stream starts come as an ordinary JSON envelope.
        let body = resp.bytes().await.map_err(|e| {
            let mut err = transport_error(&e, "reading the response");
            err.delivery = Delivery::Answered;
            err.with_logid(logid.clone())
        })?;
        match decode_envelope(status, &headers, &body) {
            Err(e) => Err(self.read_as_server(e)),
            Ok(_) => {
                Err(CozeError::new(ErrorKind::Decode, "expected an event stream, got a JSON reply").with_logid(logid))
            }
        }
    }
}

fn server_code(server: Server) -> u8 {
    match server {
        Server::Coze => 1,
        Server::Studio => 2,
    }
}

/// What Coze Studio cannot do, in one sentence; nothing was sent.
fn unsupported(what: &str) -> CozeError {
    CozeError { delivery: Delivery::NotSent, ..CozeError::new(ErrorKind::Unsupported, format!("Coze Studio {what}")) }
}

/// Hosted Coze names its log id `x-tt-logid`; Coze Studio `X-Log-ID`.
fn header_logid(headers: &HeaderMap) -> Option<String> {
    ["x-tt-logid", "x-log-id"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()))
        .map(str::to_string)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// Coze's envelope rules (coze-api.md §3): the body decides, whatever the status; a missing
/// `code` is 0; OAuth-style bodies carry `error_code`/`error`; non-JSON bodies become errors
/// from the HTTP status. Returns the whole JSON object on success.
pub fn decode_envelope(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>> {
    let header_id = header_logid(headers);
    let http_status = Some(status.as_u16());
    let parsed: std::result::Result<Value, _> = serde_json::from_slice(body);
    let obj = match parsed {
        Ok(Value::Object(obj)) => obj,
        Ok(_) | Err(_) => {
            let text = String::from_utf8_lossy(body);
            let snippet = clip(text.trim(), 300);
            let mut err = if status.is_success() && body.iter().all(u8::is_ascii_whitespace) {
                // Coze Studio can end a request like this when it fails before a stream starts.
                CozeError {
                    unreadable: true,
                    ..CozeError::new(ErrorKind::Decode, format!("the server sent an empty reply (HTTP {status})"))
                }
            } else if status.is_success() {
                CozeError {
                    unreadable: true,
                    execute_id: execute_id_in(&text).map(String::into_boxed_str),
                    ..CozeError::new(
                        ErrorKind::Decode,
                        format!("the reply could not be read as JSON (HTTP {status}): {snippet}"),
                    )
                }
            } else {
                let kind = match status.as_u16() {
                    429 => ErrorKind::RateLimited,
                    401 => ErrorKind::Auth,
                    403 => ErrorKind::Permission,
                    404 => ErrorKind::NotFound,
                    _ if status.is_server_error() => ErrorKind::Server,
                    _ => ErrorKind::Api,
                };
                let what = if snippet.is_empty() { "an empty body".to_string() } else { snippet };
                CozeError {
                    code: Some(status.as_u16() as i64),
                    ..CozeError::new(kind, format!("HTTP {status}: {what}"))
                }
            };
            err.http_status = http_status;
            err.retry_after = retry_after(headers);
            return Err(err.with_logid(header_id));
        }
    };
    let body_logid = obj.get("detail").and_then(|d| d.get("logid")).and_then(Value::as_str).map(str::to_string);
    let logid = header_id.or(body_logid);
    let code = match obj.get("code") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(-1),
        Some(_) => -1,
    };
    let msg = obj.get("msg").and_then(Value::as_str).unwrap_or_default().to_string();
    let debug_url = obj.get("debug_url").and_then(Value::as_str).map(str::to_string);
    let mut err = if status == StatusCode::UNAUTHORIZED && msg.contains("session_key") {
        // Coze Studio's web-UI routes: the token is fine, the route is not for tokens.
        Some(CozeError::new(ErrorKind::Unsupported, "Coze Studio serves this only to its web UI, not to a token"))
    } else if code != 0 {
        let msg = if msg.is_empty() { format!("code {code} without a message") } else { msg };
        Some(CozeError::from_code(code, msg, http_status))
    } else if let Some(oauth) = ["error_code", "error"].iter().find_map(|k| obj.get(*k).and_then(Value::as_str)) {
        let detail = ["error_message", "error_description"].iter().find_map(|k| obj.get(*k).and_then(Value::as_str));
        let kind = if status == StatusCode::UNAUTHORIZED { ErrorKind::Auth } else { ErrorKind::Api };
        Some(CozeError::new(kind, format!("{oauth}: {}", detail.unwrap_or(""))))
    } else if let Some(m) = obj.get("error_message").and_then(Value::as_str).filter(|m| !m.is_empty()) {
        Some(CozeError::new(ErrorKind::Api, m))
    } else if !status.is_success() {
        let m = if msg.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {msg}") };
        Some(CozeError {
            code: Some(status.as_u16() as i64),
            ..CozeError::from_code(status.as_u16() as i64, m, http_status)
        })
    } else {
        None
    };
    match err.take() {
        Some(mut e) => {
            e.http_status = http_status;
            e.debug_url = debug_url.map(String::into_boxed_str);
            e.retry_after = retry_after(headers);
            Err(e.with_logid(logid))
        }
        None => Ok(obj),
    }
}

/// A file's bytes as a stream of chunks, counting what has been taken so far.
fn counted_chunks(
    file: tokio::fs::File,
    sent: Arc<dyn Fn(u64) + Send + Sync>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures_util::stream::try_unfold((file, 0u64), move |(mut file, total)| {
        let sent = sent.clone();
        async move {
            let mut buf = vec![0u8; 256 * 1024];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            sent(total + n as u64);
            Ok(Some((bytes::Bytes::from(buf), (file, total + n as u64))))
        }
    })
}

/// An `"execute_id": "digits"` in a reply too broken to decode, so a run that started can
/// still be looked up.
fn execute_id_in(text: &str) -> Option<String> {
    let key = "\"execute_id\"";
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // A cut id is not an id: it must end where the string does.
    let complete = rest[digits.len()..].starts_with(['"', ',', '}']);
    (digits.len() >= 6 && complete).then_some(digits)
}

/// Decodes the envelope's `data` field.
fn data_as<T: DeserializeOwned>(mut obj: Map<String, Value>, logid: &Option<String>) -> Result<T> {
    let data = obj.remove("data").unwrap_or(Value::Null);
    serde_json::from_value(data).map_err(|e| {
        CozeError::new(ErrorKind::Decode, format!("unexpected reply shape: {e}")).with_logid(logid.clone())
    })
}

/// Decodes fields that sit at the envelope's top level (run results).
fn top_level_as<T: DeserializeOwned>(reply: Reply<Map<String, Value>>) -> Result<Reply<T>> {
    let logid = reply.logid.clone();
    let value = serde_json::from_value(Value::Object(reply.value)).map_err(|e| {
        CozeError::new(ErrorKind::Decode, format!("unexpected run reply: {e}")).with_logid(logid.clone())
    })?;
    Ok(Reply { value, logid })
}

/// Classifies a transport failure and whether the request can have reached the server.
pub(crate) fn transport_error(e: &reqwest::Error, what: &str) -> CozeError {
    let mut detail = String::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    let detail = if detail.is_empty() { e.to_string() } else { detail };
    let host = e.url().and_then(|u| u.host_str()).map(|h| format!(" {h}")).unwrap_or_default();
    let (kind, delivery, message) = if e.is_connect() {
        (ErrorKind::Network, Delivery::NotSent, format!("could not connect to{host}: {detail}"))
    } else if e.is_timeout() {
        (ErrorKind::Timeout, Delivery::Unknown, format!("timed out {what}"))
    } else {
        (ErrorKind::Network, Delivery::Unknown, format!("connection failed while {what}: {detail}"))
    };
    CozeError { delivery, ..CozeError::new(kind, message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(logid: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(l) = logid {
            h.insert("x-tt-logid", HeaderValue::from_str(l).unwrap());
        }
        h
    }

    #[test]
    fn envelope_missing_code_is_success() {
        let obj = decode_envelope(StatusCode::OK, &hdrs(None), br#"{"execute_id":"1","msg":""}"#).unwrap();
        assert_eq!(obj["execute_id"], "1");
    }

    #[test]
    fn envelope_error_prefers_header_logid_and_keeps_debug_url() {
        let body = br#"{"code":720702002,"msg":"boom","debug_url":"https://d","detail":{"logid":"BODY"}}"#;
        let e = decode_envelope(StatusCode::OK, &hdrs(Some("HDR")), body).unwrap_err();
        assert_eq!(
            (e.code, e.kind, e.logid.as_deref(), e.debug_url.as_deref()),
            (Some(720702002), ErrorKind::Api, Some("HDR"), Some("https://d"))
        );
        let e = decode_envelope(StatusCode::OK, &hdrs(None), body).unwrap_err();
        assert_eq!(e.logid.as_deref(), Some("BODY"));
    }

    #[test]
    fn envelope_html_error_page_and_status_errors() {
        let e =
            decode_envelope(StatusCode::BAD_GATEWAY, &hdrs(Some("L")), b"<html><body>502 Bad Gateway</body></html>")
                .unwrap_err();
        assert_eq!((e.kind, e.code, e.logid.as_deref()), (ErrorKind::Server, Some(502), Some("L")));
        assert!(e.message.contains("502 Bad Gateway"));
        let e = decode_envelope(StatusCode::OK, &hdrs(None), b"{\"code\":0,").unwrap_err();
        assert_eq!((e.kind, e.unreadable, e.execute_id), (ErrorKind::Decode, true, None));
        let cut = br#"{"code":0,"execute_id":"7431040978805850001","debug_url":"http://x/work_fl"#;
        let e = decode_envelope(StatusCode::OK, &hdrs(None), cut).unwrap_err();
        assert_eq!(e.execute_id.as_deref(), Some("7431040978805850001"));
        let cut_in_id = br#"{"code":0,"execute_id":"74310409"#;
        assert_eq!(decode_envelope(StatusCode::OK, &hdrs(None), cut_in_id).unwrap_err().execute_id, None);
        let e = decode_envelope(
            StatusCode::UNAUTHORIZED,
            &hdrs(None),
            br#"{"code":"4100","msg":"authentication is invalid"}"#,
        )
        .unwrap_err();
        assert_eq!((e.kind, e.code), (ErrorKind::Auth, Some(4100)));
        let e = decode_envelope(
            StatusCode::BAD_REQUEST,
            &hdrs(None),
            br#"{"error_code":"authorization_pending","error_message":"wait"}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("authorization_pending"));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28), "{d:?}");
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn base_url_validation() {
        assert_eq!(parse_base_url("https://api.coze.com/").unwrap().as_str(), "https://api.coze.com/");
        assert!(parse_base_url("api.coze.com").is_err());
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("https://x/?a=1").is_err());
    }
}
