//! HTTP routes of the simulator, and the gate every request passes: stats, faults, the rate
//! limit and auth.

// Helpers return the error response itself; it is built once per request, so boxing it
// would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, MatchedPath, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

mod chat;
pub(super) mod studio;

use super::SimState;
use super::catalogue::SimWorkflow;
use super::faults::{self, Fault};
use super::runs::{self, Execution, Outcome, Step, unix_now};

type Shared = State<Arc<SimState>>;
type Params = Query<HashMap<String, String>>;
/// A handler's answer: Coze's error envelopes travel as `Err`, so `?` returns them.
type Reply = Result<Response, Response>;

/// The log id of the request being answered (also sent as `x-tt-logid`).
#[derive(Clone)]
struct LogId(String);

/// Which of the simulator's tokens the request used.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    Full,
    ReadOnly,
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let api = Router::new()
        .route("/v1/workspaces", get(list_workspaces))
        .route("/v1/workflows", get(list_workflows))
        .route("/v1/workflows/resume", post(resume))
        .route("/v1/workflows/{id}", get(workflow_info))
        .route("/v1/workflows/{id}/versions", get(versions))
        .route("/v1/workflows/{id}/run_histories/{eid}", get(history))
        .route("/v1/workflows/{id}/run_histories/{eid}/execute_nodes/{uuid}", get(node_output))
        .route("/v1/workflow/run", post(run))
        .route("/v1/workflow/stream_run", post(stream_run))
        .route("/v1/workflow/stream_resume", post(stream_resume))
        // Past axum's 2 MB default, so the 512 MB limit is Coze's (4302), not the framework's.
        .route(
            "/v1/files/upload",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD as usize + (1 << 20))),
        )
        .route("/v1/files/retrieve", get(retrieve))
        .route("/v1/conversation/create", post(chat::create_conversation))
        .route("/v1/workflows/chat", post(chat::chat))
        .route_layer(from_fn_with_state(state.clone(), gate));
    super::oauth::routes(Router::new())
        .merge(api)
        .route("/work_flow", get(debug_page))
        .fallback(not_found)
        .with_state(state)
}

// ---- envelopes -----------------------------------------------------------------------------

fn with_logid(mut r: Response, logid: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(logid) {
        r.headers_mut().insert("x-tt-logid", v);
    }
    r
}

fn envelope(status: StatusCode, logid: &str, mut body: Map<String, Value>) -> Response {
    body.insert("detail".into(), json!({"logid": logid}));
    with_logid((status, axum::Json(Value::Object(body))).into_response(), logid)
}

fn ok(logid: &str, data: Value) -> Response {
    let mut m = Map::new();
    m.insert("code".into(), json!(0));
    m.insert("msg".into(), json!(""));
    m.insert("data".into(), data);
    envelope(StatusCode::OK, logid, m)
}

/// Coze sends most errors with HTTP 200 and a non-zero code; auth errors come as 401 here so
/// clients are exercised on both shapes.
fn err(logid: &str, code: i64, msg: impl Into<String>) -> Response {
    let status = match code {
        4100 => StatusCode::UNAUTHORIZED,
        4009 => StatusCode::TOO_MANY_REQUESTS,
        5000 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    let mut m = Map::new();
    m.insert("code".into(), json!(code));
    m.insert("msg".into(), json!(msg.into()));
    envelope(status, logid, m)
}

// ---- the gate ------------------------------------------------------------------------------

async fn gate(State(s): Shared, matched: MatchedPath, mut req: Request, next: Next) -> Response {
    let route = format!("{} {}", req.method(), matched.as_str());
    let (logid, fault) = {
        let mut inner = s.lock();
        let at = s.started.elapsed();
        *inner.stats.by_route.entry(route.clone()).or_default() += 1;
        // Bounded, so a long-running simulator does not grow without limit.
        if inner.stats.arrivals.len() < super::MAX_ARRIVALS {
            inner.stats.arrivals.push((at, route.clone()));
        }
        let logid = inner.new_logid();
        let fault = faults::take_scripted(&mut inner.script, &route).or_else(|| random_fault(&s, &mut inner.rng));
        if fault.is_some() {
            inner.stats.faults_injected += 1;
        }
        (logid, fault)
    };
    if s.opts.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(s.opts.latency_ms)).await;
    }
    let mut after: Option<Fault> = None;
    match fault {
        Some(Fault::Latency(d)) => tokio::time::sleep(d).await,
        Some(Fault::BadGateway) => return faults::bad_gateway(&logid),
        Some(Fault::InternalError) => return err(&logid, 5000, "internal server error"),
        Some(Fault::RateLimit { retry_after }) => return rate_limited(&logid, retry_after),
        Some(Fault::Drop) => return faults::dropped(),
        Some(Fault::Malformed) => return faults::malformed(&logid),
        Some(Fault::EmptyBody) => return faults::empty_body(),
        // Coze Studio's alone.
        Some(Fault::BrokenStream) => {}
        Some(Fault::ErrorCode { code, http_status, retry_after }) => {
            return refused(&logid, code, http_status, retry_after);
        }
        Some(
            f @ (Fault::DropAfterProcessing
            | Fault::TruncateAfterProcessing
            | Fault::StreamWithoutDone
            | Fault::CutStreamAfter(_)),
        ) => after = Some(f),
        None => {}
    }
    if let Some(qps) = s.opts.rate_limit_qps {
        let mut inner = s.lock();
        let now = Instant::now();
        while inner.window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            inner.window.pop_front();
        }
        if inner.window.len() >= qps as usize {
            inner.stats.rate_limited += 1;
            drop(inner);
            return rate_limited(&logid, Some(1));
        }
        inner.window.push_back(now);
    }
    let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let token = auth.strip_prefix("Bearer ").unwrap_or("").trim();
    let access = if !token.is_empty() && (token == s.opts.token || s.lock().oauth.accepts(token)) {
        Access::Full
    } else if s.opts.readonly_token.as_deref().is_some_and(|t| !token.is_empty() && t == token) {
        Access::ReadOnly
    } else {
        return err(&logid, 4100, "authentication is invalid");
    };
    req.extensions_mut().insert(LogId(logid.clone()));
    req.extensions_mut().insert(access);
    let resp = next.run(req).await;
    let resp = match after {
        Some(Fault::DropAfterProcessing) => return faults::dropped(),
        Some(Fault::TruncateAfterProcessing) => faults::truncated(resp).await,
        Some(Fault::StreamWithoutDone) => faults::filter_stream(resp, |_, frame| {
            !String::from_utf8_lossy(frame).lines().any(|l| l.trim() == "event: Done")
        }),
        Some(Fault::CutStreamAfter(n)) => faults::filter_stream(resp, move |i, _| i < n),
        _ => resp,
    };
    if resp.headers().contains_key("x-tt-logid") { resp } else { with_logid(resp, &logid) }
}

fn random_fault(s: &SimState, rng: &mut rand::rngs::StdRng) -> Option<Fault> {
    let o = &s.opts;
    if o.error_rate <= 0.0 && o.drop_rate <= 0.0 && o.malformed_rate <= 0.0 {
        return None;
    }
    let roll: f64 = rng.random();
    if roll < o.error_rate {
        Some(if rng.random_bool(0.5) { Fault::BadGateway } else { Fault::InternalError })
    } else if roll < o.error_rate + o.drop_rate {
        Some(Fault::Drop)
    } else if roll < o.error_rate + o.drop_rate + o.malformed_rate {
        Some(Fault::Malformed)
    } else {
        None
    }
}

fn rate_limited(logid: &str, retry_after: Option<u64>) -> Response {
    refused(logid, 4009, 429, retry_after)
}

/// A refusal for the rate or a quota, as Coze words each code.
fn refused(logid: &str, code: i64, http_status: u16, retry_after: Option<u64>) -> Response {
    let msg = match code {
        4009 => "the request limit has been reached, please try again later",
        4020 => "the RPM quota of this account has been exceeded",
        4013 => "the model is rate limited, please try again later",
        4008 => "the daily request quota has been used up",
        4200 | 4314 => "not found",
        _ => "request refused",
    };
    let mut m = Map::new();
    m.insert("code".into(), json!(code));
    m.insert("msg".into(), json!(msg));
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let mut r = envelope(status, logid, m);
    if let Some(secs) = retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

async fn not_found(req: Request) -> Response {
    let logid = runs::logid_with(0xF0F0);
    err(&logid, 4200, format!("no such endpoint: {} {}", req.method(), req.uri().path()))
}

// ---- query helpers -------------------------------------------------------------------------

/// A positive integer query parameter; `Err` is the 4000 message.
fn int_param(q: &HashMap<String, String>, name: &str, default: Option<usize>) -> Result<usize, String> {
    match q.get(name) {
        None if default.is_some() => Ok(default.unwrap_or(1)),
        None => Err(format!("{name} is required")),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("{name} must be a positive integer, got {v:?}")),
    }
}

fn workspace_json(w: &super::catalogue::SimWorkspace) -> Value {
    json!({"id": w.id, "name": w.name, "icon_url": "https://example.invalid/workspace.png", "role_type": w.role,
           "workspace_type": w.kind, "enterprise_id": "", "owner_uid": "2478774393000", "admin_uids": ["2478774393000"],
           "description": "", "joined_status": "joined"})
}

/// A workflow as listings and details show it: timestamps are strings there, as the docs show.
fn workflow_json(w: &SimWorkflow) -> Value {
    let ts = |t: i64| json!(t.to_string());
    let mut v = json!({"workflow_id": w.id, "workflow_name": w.name, "description": w.description,
           "icon_url": "https://example.invalid/workflow.png", "app_id": "0",
           "created_at": ts(w.created_at), "updated_at": ts(w.created_at + 60),
           "creator": {"id": "2615012345", "name": "sim"}});
    if w.behaviour == super::Behaviour::Chat {
        v["workflow_mode"] = json!("chatflow");
    }
    v
}

// ---- listing and metadata -----------------------------------------------------------------

async fn list_workspaces(State(s): Shared, Extension(LogId(l)): Extension<LogId>, Query(q): Params) -> Response {
    let page = match (int_param(&q, "page_num", Some(1)), int_param(&q, "page_size", Some(20))) {
        (Ok(p), Ok(n)) if n <= 50 => (p, n),
        (Ok(_), Ok(n)) => return err(&l, 4000, format!("page_size must be at most 50, got {n}")),
        (Err(e), _) | (_, Err(e)) => return err(&l, 4000, e),
    };
    let all = &s.catalogue.workspaces;
    let items: Vec<Value> = all.iter().skip((page.0 - 1) * page.1).take(page.1).map(workspace_json).collect();
    ok(&l, json!({"total_count": all.len(), "workspaces": items}))
}

async fn list_workflows(State(s): Shared, Extension(LogId(l)): Extension<LogId>, Query(q): Params) -> Response {
    let Some(ws) = q.get("workspace_id").filter(|w| !w.is_empty()) else {
        return err(&l, 4000, "workspace_id is required");
    };
    if s.catalogue.workspace(ws).is_none() {
        return err(&l, 4101, format!("no permission for workspace {ws}"));
    }
    let (page_num, page_size) = match (int_param(&q, "page_num", None), int_param(&q, "page_size", Some(10))) {
        (Ok(p), Ok(n)) => (p, n.min(30)),
        (Err(e), _) | (_, Err(e)) => return err(&l, 4000, e),
    };
    let status = q.get("publish_status").map(String::as_str).unwrap_or("published_online");
    let keep: fn(&SimWorkflow) -> bool = match status {
        "all" => |_| true,
        "published_online" | "published_draft" => |w| w.published,
        "unpublished_draft" => |w| !w.published,
        other => return err(&l, 4000, format!("invalid publish_status {other:?}")),
    };
    let chatflows_only = q.get("workflow_mode").is_some_and(|m| m == "chatflow");
    let matching: Vec<&SimWorkflow> = s
        .catalogue
        .workflows
        .iter()
        .filter(|w| &w.workspace_id == ws && keep(w) && (!chatflows_only || w.behaviour == super::Behaviour::Chat))
        .collect();
    let start = (page_num - 1) * page_size;
    let items: Vec<Value> = matching.iter().skip(start).take(page_size).map(|w| workflow_json(w)).collect();
    ok(&l, json!({"has_more": start + page_size < matching.len(), "items": items}))
}

async fn workflow_info(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    let Some(wf) = s.catalogue.workflow(&id) else {
        return err(&l, 4200, format!("workflow {id} not found"));
    };
    let mut data = json!({"workflow_detail": workflow_json(wf)});
    if q.get("include_input_output").is_some_and(|v| v == "true") {
        data["input"] = wf.input.clone();
        data["output"] = wf.output.clone();
    }
    ok(&l, data)
}

async fn versions(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    let Some(wf) = s.catalogue.workflow(&id) else {
        return err(&l, 4200, format!("workflow {id} not found"));
    };
    let page_size = match int_param(&q, "page_size", Some(10)) {
        Ok(n) => n.min(30),
        Err(e) => return err(&l, 4000, e),
    };
    // Newest first, as Coze lists them.
    let all: Vec<Value> = if wf.published {
        super::catalogue::versions_of(wf)
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, (version, input))| {
                let at = (wf.created_at + (i as i64 + 1) * 86_400).to_string();
                json!({"workflow_id": wf.id, "version": version, "description": format!("release {}", i + 1),
                       "created_at": at, "updated_at": at,
                       "creator": {"id": "3361000058211", "name": "sim"}, "input": input, "output": wf.output})
            })
            .collect()
    } else {
        vec![]
    };
    let start: usize = q.get("page_token").and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + page_size).min(all.len());
    let items = all.get(start..end).unwrap_or_default().to_vec();
    ok(&l, json!({"has_more": end < all.len(), "next_page_token": end.to_string(), "items": items}))
}

// ---- files ---------------------------------------------------------------------------------

/// Largest file Coze takes (4302 above it).
const MAX_UPLOAD: u64 = 512 * 1024 * 1024;

fn file_json(id: &str, name: &str, bytes: u64) -> Value {
    json!({"id": id, "bytes": bytes, "created_at": runs::unix_now(), "file_name": name})
}

async fn upload(State(s): Shared, Extension(LogId(l)): Extension<LogId>, mut form: Multipart) -> Response {
    let mut got: Option<(String, u64)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return err(&l, 4000, format!("invalid multipart body: {e}")),
        };
        if field.name() != Some("file") {
            continue;
        }
        if got.is_some() {
            return err(&l, 4301, "only one file can be uploaded at a time");
        }
        let name = field.file_name().unwrap_or("file").to_string();
        // Counted, not kept: the simulator only needs the size.
        let mut field = field;
        let mut bytes = 0u64;
        loop {
            match field.chunk().await {
                Ok(Some(c)) => bytes += c.len() as u64,
                Ok(None) => break,
                Err(e) => return err(&l, 4000, format!("invalid multipart body: {e}")),
            }
            if bytes > MAX_UPLOAD {
                return err(&l, 4302, "the file exceeds the 512 MB limit");
            }
        }
        got = Some((name, bytes));
    }
    let Some((name, bytes)) = got.filter(|(_, b)| *b > 0) else {
        return err(&l, 4300, "no file was uploaded, or it is empty");
    };
    let mut inner = s.lock();
    let id = inner.new_id();
    inner.files.insert(id.clone(), (name.clone(), bytes));
    inner.stats.uploads += 1;
    inner.stats.upload_bytes += bytes;
    ok(&l, file_json(&id, &name, bytes))
}

async fn retrieve(State(s): Shared, Extension(LogId(l)): Extension<LogId>, Query(q): Params) -> Response {
    let id = q.get("file_id").cloned().unwrap_or_default();
    match s.lock().files.get(&id) {
        Some((name, bytes)) => ok(&l, file_json(&id, name, *bytes)),
        None => err(&l, 4200, format!("file {id} not found")),
    }
}

// ---- runs ----------------------------------------------------------------------------------

/// Why a run or an answer is refused, in hosted Coze's codes; each server words it its way.
#[derive(Debug)]
pub(super) struct Refusal {
    pub code: i64,
    pub msg: String,
    /// Which of hosted Coze's 4200s it is (Coze Studio tells them apart).
    pub workflow: Option<Missing>,
}

#[derive(Debug)]
pub(super) enum Missing {
    /// No workflow has this id.
    Unknown(String),
    /// It has never been published.
    Draft,
}

impl Refusal {
    fn new(code: i64, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into(), workflow: None }
    }

    fn missing(workflow: Missing, msg: String) -> Self {
        Self { workflow: Some(workflow), ..Self::new(4200, msg) }
    }

    /// Hosted Coze's envelope.
    fn hosted(self, l: &str) -> Response {
        err(l, self.code, self.msg)
    }
}

/// The workflow a run body names, checked the way Coze checks it.
fn runnable(s: &SimState, access: Access, body: &Bytes) -> Result<(SimWorkflow, Map<String, Value>, Value), Refusal> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|e| Refusal::new(4000, format!("invalid request body: {e}")))?;
    let Some(id) = parsed.get("workflow_id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Err(Refusal::new(4000, "workflow_id is required"));
    };
    if access == Access::ReadOnly {
        return Err(Refusal::new(4101, "the token lacks the run permission for this workflow"));
    }
    let Some(wf) = s.catalogue.workflow(id) else {
        return Err(Refusal::missing(Missing::Unknown(id.to_string()), format!("workflow {id} not found")));
    };
    if !wf.published {
        let msg = format!("workflow {id} is not published; publish it before running it through the API");
        return Err(Refusal::missing(Missing::Draft, msg));
    }
    if parsed.get("bot_id").is_some() && parsed.get("app_id").is_some() {
        return Err(Refusal::new(4000, "bot_id and app_id cannot both be set"));
    }
    // Parameters are an object; the docs also allow a JSON-serialised string.
    let params = match parsed.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => return Err(Refusal::new(4000, "parameters must be a JSON object")),
        },
        Some(_) => return Err(Refusal::new(4000, "parameters must be a JSON object")),
    };
    Ok((wf.clone(), params, parsed))
}

/// A chatflow talks through `/v1/workflows/chat`; a run of it is refused.
fn refuse_chatflow(wf: &SimWorkflow) -> Result<(), Refusal> {
    match wf.behaviour {
        super::Behaviour::Chat => {
            Err(Refusal::new(4000, format!("workflow {} is a chatflow: talk to it with /v1/workflows/chat", wf.id)))
        }
        _ => Ok(()),
    }
}

/// Records a new execution with its planned outcome; `Err` is a 4000 refusal.
fn start_execution(
    s: &SimState,
    wf: &SimWorkflow,
    params: &Map<String, Value>,
    run_mode: i64,
    version: Option<&str>,
    logid: &str,
) -> Result<(Execution, runs::Planned), Refusal> {
    let mut inner = s.lock();
    let mut planned = runs::plan(wf, params, version, &s.opts, &mut inner).map_err(|m| Refusal::new(4000, m))?;
    let id = inner.new_id();
    if let Outcome::Interrupted { event_id, .. } = &mut planned.outcome {
        *event_id = format!("{id}/0");
    }
    let now = unix_now();
    let exec = Execution {
        id: id.clone(),
        workflow_id: wf.id.clone(),
        workspace_id: wf.workspace_id.clone(),
        run_mode,
        create_time: now,
        update_time: now,
        ready_at: Instant::now() + if run_mode == 2 { planned.duration } else { Duration::ZERO },
        outcome: if run_mode == 1 { Outcome::Running } else { planned.outcome.clone() },
        logid: logid.to_string(),
        nodes: planned.nodes.clone(),
        answers: 0,
        interrupts: 0,
    };
    inner.executions.insert(id, exec.clone());
    inner.stats.runs_started += 1;
    Ok((exec, planned))
}

fn usage() -> Value {
    json!({"input_count": 50, "output_count": 100, "token_count": 150})
}

/// The answer of a sync run or a sync resume, from an outcome.
fn sync_answer(s: &SimState, l: &str, exec: &Execution, outcome: &Outcome) -> Response {
    let debug_url = exec.debug_url(&s.base_url);
    let mut m = Map::new();
    match outcome {
        Outcome::Success { data } => {
            m.insert("code".into(), json!(0));
            m.insert("msg".into(), json!(""));
            m.insert("data".into(), json!(data));
            m.insert("usage".into(), usage());
            m.insert("token".into(), json!(150));
            m.insert("cost".into(), json!("0"));
        }
        Outcome::Fail { code, message } => {
            m.insert("code".into(), json!(code));
            m.insert("msg".into(), json!(message));
        }
        Outcome::Interrupted { event_id, question, form } => {
            m.insert("code".into(), json!(0));
            m.insert("msg".into(), json!(""));
            m.insert("data".into(), json!(""));
            m.insert("interrupt_data".into(), runs::interrupt_json(event_id, question, *form));
        }
        Outcome::Running => {
            m.insert("code".into(), json!(0));
            m.insert("msg".into(), json!(""));
        }
    }
    m.insert("debug_url".into(), json!(debug_url));
    envelope(StatusCode::OK, l, m)
}

async fn run(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Reply {
    let (wf, params, parsed) = runnable(&s, access, &body).map_err(|r| r.hosted(&l))?;
    refuse_chatflow(&wf).map_err(|r| r.hosted(&l))?;
    let is_async = parsed.get("is_async").and_then(Value::as_bool).unwrap_or(false);
    if is_async && s.opts.free_plan {
        return Err(err(
            &l,
            6003,
            "Workflow async execution is a premium feature available only to Coze Professional users",
        ));
    }
    let version = parsed.get("workflow_version").and_then(Value::as_str);
    let (exec, planned) =
        start_execution(&s, &wf, &params, if is_async { 2 } else { 0 }, version, &l).map_err(|r| r.hosted(&l))?;
    if is_async {
        // The async example omits `code` entirely.
        let mut m = Map::new();
        m.insert("execute_id".into(), json!(exec.id));
        m.insert("debug_url".into(), json!(exec.debug_url(&s.base_url)));
        m.insert("msg".into(), json!(""));
        return Ok(envelope(StatusCode::OK, &l, m));
    }
    if wf.behaviour == super::Behaviour::Slow {
        tokio::time::sleep(planned.duration).await;
    }
    Ok(sync_answer(&s, &l, &exec, &planned.outcome))
}

async fn stream_run(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Reply {
    let (wf, params, parsed) = runnable(&s, access, &body).map_err(|r| r.hosted(&l))?;
    refuse_chatflow(&wf).map_err(|r| r.hosted(&l))?;
    let version = parsed.get("workflow_version").and_then(Value::as_str);
    // Inputs that do not match the schema: the docs show the stream's own Error event, not a
    // JSON error (the run is refused before it starts).
    let checked = super::catalogue::input_for(&wf, version)
        .and_then(|schema| super::catalogue::validate_params(&schema, &params));
    if let Err(m) = checked {
        let event = json!({"error_code": 4000, "error_message": m});
        return Ok(with_logid(event_stream(format!("id: 0\nevent: Error\ndata: {event}\n\n")), &l));
    }
    let (exec, planned) = start_execution(&s, &wf, &params, 1, version, &l).map_err(|r| r.hosted(&l))?;
    let steps = runs::stream_steps(&wf, &planned, &s.opts);
    Ok(sse_response(s.clone(), &l, exec.id, steps, planned.outcome, Grammar::Workflow))
}

/// A complete event stream in one body.
fn event_stream(body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[derive(serde::Deserialize)]
struct ResumeBody {
    #[serde(default)]
    workflow_id: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    resume_data: Option<String>,
    #[serde(default)]
    interrupt_type: Option<Value>,
}

/// Applies an answer; returns the execution after it and the new outcome.
fn apply_answer(s: &SimState, access: Access, body: &Bytes) -> Result<(Execution, Outcome), Refusal> {
    let b: ResumeBody =
        serde_json::from_slice(body).map_err(|e| Refusal::new(4000, format!("invalid request body: {e}")))?;
    if access == Access::ReadOnly {
        return Err(Refusal::new(4101, "the token lacks the run permission for this workflow"));
    }
    if b.workflow_id.is_empty() || b.event_id.is_empty() || b.interrupt_type.is_none() {
        return Err(Refusal::new(4000, "workflow_id, event_id and interrupt_type are required"));
    }
    let Some(answer) = b.resume_data else {
        return Err(Refusal::new(4000, "resume_data is required"));
    };
    let exec_id = b.event_id.split('/').next().unwrap_or_default();
    let mut inner = s.lock();
    let Some(exec) = inner.executions.get_mut(exec_id).filter(|e| e.workflow_id == b.workflow_id) else {
        return Err(Refusal::new(4314, "execution record not found"));
    };
    let outcome = runs::answer(exec, &b.event_id, &answer, s.opts.max_answers).map_err(|(c, m)| Refusal::new(c, m))?;
    let exec = exec.clone();
    inner.stats.resumes += 1;
    Ok((exec, outcome))
}

async fn stream_resume(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Reply {
    let (exec, outcome) = apply_answer(&s, access, &body).map_err(|r| r.hosted(&l))?;
    let wf = s.catalogue.workflow(&exec.workflow_id).cloned().ok_or_else(|| err(&l, 4200, "workflow not found"))?;
    // The stream shows the run going on: the outcome becomes visible in history when it ends.
    s.lock().executions.entry(exec.id.clone()).and_modify(|e| e.outcome = Outcome::Running);
    let planned = runs::Planned { outcome: outcome.clone(), duration: Duration::ZERO, nodes: vec![] };
    let steps = runs::stream_steps(&wf, &planned, &s.opts);
    Ok(sse_response(s.clone(), &l, exec.id, steps, outcome, Grammar::Workflow))
}

async fn resume(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Reply {
    let (exec, outcome) = apply_answer(&s, access, &body).map_err(|r| r.hosted(&l))?;
    if exec.run_mode == 2 {
        // An async run goes on in the background after the answer.
        s.lock()
            .executions
            .entry(exec.id.clone())
            .and_modify(|e| e.ready_at = Instant::now() + Duration::from_millis(s.opts.async_ms));
        let mut m = Map::new();
        m.insert("code".into(), json!(0));
        m.insert("msg".into(), json!(""));
        m.insert("execute_id".into(), json!(exec.id));
        m.insert("debug_url".into(), json!(exec.debug_url(&s.base_url)));
        return Ok(envelope(StatusCode::OK, &l, m));
    }
    Ok(sync_answer(&s, &l, &exec, &outcome))
}

/// Streams `steps` as SSE, then Done (unless the run interrupted or failed), and records the
/// final outcome. The run completes even if the client goes away, as a real one would.
/// How a stream's frames are written: a workflow's carry ids and end with `Done`; a
/// chatflow's have no ids and end with `done`.
#[derive(Clone, Copy, PartialEq)]
enum Grammar {
    Workflow,
    Chat,
    /// Coze Studio's (hertz's writer): ids, and data split into one `data:` line per line of
    /// text (a string is sent as text, anything else as JSON).
    Studio,
}

fn sse_response(
    s: Arc<SimState>,
    logid: &str,
    exec_id: String,
    steps: Vec<Step>,
    outcome: Outcome,
    grammar: Grammar,
) -> Response {
    let (tx, mut rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut connected = true;
        let mut id = 0u64;
        let mut send = |event: &str, data: &Value| {
            let frame = match grammar {
                Grammar::Workflow => format!("id: {id}\nevent: {event}\ndata: {data}\n\n"),
                Grammar::Chat => format!("event: {event}\ndata: {data}\n\n"),
                Grammar::Studio => {
                    let text = match data {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let lines: String = text.split('\n').map(|l| format!("data: {l}\n")).collect();
                    format!("id: {id}\nevent: {event}\n{lines}\n")
                }
            };
            id += 1;
            Bytes::from(frame)
        };
        for (i, step) in steps.iter().enumerate() {
            if connected && !step.delay.is_zero() {
                tokio::time::sleep(step.delay).await;
            }
            if i + 1 == steps.len() {
                // Recorded before the last event goes out, so a client that answers an
                // Interrupt at once finds the execution waiting for it.
                let mut inner = s.lock();
                if let Some(e) = inner.executions.get_mut(&exec_id) {
                    e.outcome = outcome.clone();
                    e.update_time = unix_now();
                }
            }
            let frame = send(step.event, &step.data);
            if connected && tx.send(frame).await.is_err() {
                connected = false;
            }
        }
        if matches!(outcome, Outcome::Success { .. }) && connected {
            let url = s.lock().executions.get(&exec_id).map(|e| e.debug_url(&s.base_url)).unwrap_or_default();
            let done = if grammar == Grammar::Chat { "done" } else { "Done" };
            let _ = tx.send(send(done, &json!({"debug_url": url}))).await;
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<Bytes, std::convert::Infallible>))
    }));
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_logid(r, logid)
}

// ---- history --------------------------------------------------------------------------------

async fn history(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Path((id, eid)): Path<(String, String)>,
) -> Response {
    let inner = s.lock();
    match inner.executions.get(&eid).filter(|e| e.workflow_id == id) {
        Some(e) => ok(&l, json!([e.history_json(&s.base_url, Instant::now())])),
        None => err(&l, 4314, "execution record not found"),
    }
}

async fn node_output(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Path((id, eid, uuid)): Path<(String, String, String)>,
) -> Response {
    let inner = s.lock();
    let node = inner
        .executions
        .get(&eid)
        .filter(|e| e.workflow_id == id)
        .and_then(|e| e.nodes.iter().find(|(_, u, _)| u == &uuid));
    match node {
        Some((_, _, out)) => ok(&l, json!({"is_finish": true, "node_output": out})),
        None => err(&l, 4314, "node execution record not found"),
    }
}

/// Stands in for Coze's debug page: the execution's record as JSON.
pub(super) async fn debug_page(State(s): Shared, Query(q): Params) -> Response {
    let inner = s.lock();
    let record = q
        .get("execute_id")
        .and_then(|id| inner.executions.get(id))
        .map(|e| e.history_json(&s.base_url, Instant::now()));
    match record {
        Some(r) => {
            let pretty = serde_json::to_string_pretty(&r).unwrap_or_default();
            let escaped = pretty.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            Html(format!("<!doctype html><title>coze-tui simulator: execution</title><pre>{escaped}</pre>"))
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such execution").into_response(),
    }
}
