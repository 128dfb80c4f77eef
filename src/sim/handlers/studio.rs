//! The simulator as a self-hosted Coze Studio (`sim --server studio`): the same catalogue and
//! executions, served the way Studio's OpenAPI serves them (read from coze-dev/coze-studio,
//! commit 4f786d6, and hertz's SSE writer): only the routes open to a token, everything else
//! its web UI's ("missing session_key in cookie"); `X-Log-ID` instead of `x-tt-logid`; every
//! key of a run's answer present, `null` when empty; raw error codes in streams; history at
//! another path with int64 ids; no heartbeats; `<UNSET>` for a run waiting for an answer.

use super::*;

pub(crate) fn router(state: Arc<SimState>) -> Router {
    let api = Router::new()
        .route("/v1/workflow/run", post(run))
        .route("/v1/workflow/stream_run", post(stream_run))
        .route("/v1/workflow/stream_resume", post(stream_resume))
        .route("/v1/workflow/get_run_history", get(history))
        .route("/v1/workflows/{id}", get(chatflow_role))
        .route("/v1/workflows/chat", post(chat))
        .route("/v1/workflow/conversation/create", post(create_conversation))
        .route_layer(from_fn_with_state(state.clone(), gate));
    Router::new()
        .merge(api)
        .route("/work_flow", get(super::debug_page))
        .fallback(web_ui_only)
        .layer(axum::middleware::map_response(studio_log_header))
        .with_state(state)
}

/// Every answer carries `X-Log-ID` (a UUID), never `x-tt-logid`: the gate's for the API's
/// routes (the log id its executions keep), a new one for the rest.
async fn studio_log_header(r: Response) -> Response {
    match r.headers().contains_key("x-log-id") {
        true => r,
        false => with_studio_logid(r, &uuid_like(rand::random())),
    }
}

/// A lower-case UUIDv4-shaped log id.
fn uuid_like(n: u128) -> String {
    let h = format!("{n:032x}");
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// The stats label's prefix of the requests Studio answers for its web UI only.
pub const WEB_UI: &str = "web-ui";

/// Any route that is not one of the OpenAPI's: Studio's session check answers first.
async fn web_ui_only(State(s): Shared, req: Request) -> Response {
    // Counted apart: a client that knows it talks to a Studio never asks these.
    let route = format!("{WEB_UI} {} {}", req.method(), req.uri().path());
    *s.lock().stats.by_route.entry(route).or_default() += 1;
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 401, "msg": "missing session_key in cookie"}))).into_response()
}

/// `{"code", "msg"}` with HTTP 200: Studio's answer to every error outside a run's own.
fn studio_err(code: i64, msg: impl Into<String>) -> Response {
    (StatusCode::OK, axum::Json(json!({"code": code, "msg": msg.into()}))).into_response()
}

async fn gate(State(s): Shared, matched: MatchedPath, mut req: Request, next: Next) -> Response {
    let route = format!("{} {}", req.method(), matched.as_str());
    let (logid, fault) = {
        let mut inner = s.lock();
        *inner.stats.by_route.entry(route.clone()).or_default() += 1;
        let at = s.started.elapsed();
        if inner.stats.arrivals.len() < crate::sim::MAX_ARRIVALS {
            inner.stats.arrivals.push((at, route.clone()));
        }
        let logid = uuid_like(inner.rng.random());
        let fault = faults::take_scripted(&mut inner.script, &route);
        if fault.is_some() {
            inner.stats.faults_injected += 1;
        }
        (logid, fault)
    };
    if s.opts.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(s.opts.latency_ms)).await;
    }
    match &fault {
        Some(Fault::Latency(d)) => tokio::time::sleep(*d).await,
        Some(Fault::EmptyBody) => return with_studio_logid(faults::empty_body(), &logid),
        Some(Fault::Drop) => return faults::dropped(),
        Some(Fault::BadGateway) => return faults::bad_gateway(&logid),
        Some(Fault::InternalError) => {
            let r =
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"code": 500, "msg": "internal server error"})));
            return with_studio_logid(r.into_response(), &logid);
        }
        _ => {}
    }
    // OpenapiAuthMW: every failure is HTTP 200 with 700012006.
    let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let reason = match auth.map(|a| a.split_once(' ')) {
        None => Some("missing authorization in header"),
        Some(Some(("Bearer", token))) if !token.trim().is_empty() => {
            let token = token.trim();
            let known = token == s.opts.token || s.opts.readonly_token.as_deref() == Some(token);
            (!known && !s.lock().oauth.accepts(token)).then_some("CheckPermission failed")
        }
        Some(_) => Some("missing api_key in request"),
    };
    if let Some(reason) = reason {
        return with_studio_logid(studio_err(700012006, format!("authentication failed: {reason}")), &logid);
    }
    req.extensions_mut().insert(LogId(logid.clone()));
    req.extensions_mut().insert(Access::Full);
    req.extensions_mut().insert(BrokenStream(fault == Some(Fault::BrokenStream)));
    with_studio_logid(next.run(req).await, &logid)
}

fn with_studio_logid(mut r: Response, logid: &str) -> Response {
    r.headers_mut().remove("x-tt-logid");
    if let Ok(v) = HeaderValue::from_str(logid) {
        r.headers_mut().insert("X-Log-ID", v);
    }
    r
}

/// The scripted [`Fault::BrokenStream`] applies to this request.
#[derive(Clone, Copy)]
struct BrokenStream(bool);

/// Studio's debug URL: query keys sorted, zeros for a run refused before it started.
fn debug_url(s: &SimState, exec: Option<&Execution>) -> String {
    let (e, w, space) =
        exec.map_or(("0", "0", "0"), |e| (e.id.as_str(), e.workflow_id.as_str(), e.workspace_id.as_str()));
    format!("{}/work_flow?execute_id={e}&execute_mode=2&space_id={space}&workflow_id={w}", s.base_url)
}

/// `/v1/workflow/run`'s answer: every key present.
fn run_answer(
    code: i64,
    msg: Option<String>,
    data: Option<String>,
    debug: String,
    execute_id: Option<&str>,
) -> Response {
    let token = data.as_ref().map(|_| json!(0)).unwrap_or(Value::Null);
    let cost = data.as_ref().map(|_| json!("0.00000")).unwrap_or(Value::Null);
    let body = json!({"code": code, "msg": msg, "data": data, "token": token, "cost": cost,
                      "debug_url": debug, "execute_id": execute_id, "BaseResp": null});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// A refusal in Studio's words: its own codes for what hosted Coze calls 4200/4314/4315, and
/// the raw codes (not the OpenAPI ones) outside `/v1/workflow/run`.
fn studio_code(r: &Refusal, for_run: bool) -> (i64, String) {
    match (&r.workflow, r.code) {
        (Some(Missing::Draft), _) => (
            if for_run { 6031 } else { 720702011 },
            "Workflow not published. The requested operation cannot be performed on an unpublished workflow. Please publish the workflow and try again.".into(),
        ),
        (Some(Missing::Unknown(id)), _) => {
            (720702004, format!("workflow {id} not found, please check if the workflow exists and not deleted"))
        }
        (None, 4000) if !for_run => (720702002, format!("Missing required parameters：’{}‘", r.msg)),
        (None, 4314 | 4315) => (720701013, format!("Workflow execution failure: {}", r.msg)),
        (None, code) => (code, r.msg.clone()),
    }
}

/// A workflow failure in Studio's words: the catalogue's failing Code node is 305000002.
fn studio_failure(code: i64, message: &str) -> (i64, String) {
    match code {
        crate::sim::FAIL_CODE => {
            (305000002, format!("Function execution failed, please check the code of the function. Detail: {message}"))
        }
        other => (other, message.to_string()),
    }
}

fn refuse_run(s: &SimState, r: Refusal) -> Response {
    let (code, msg) = studio_code(&r, true);
    run_answer(code, Some(msg), None, debug_url(s, None), None)
}

/// Errors before a stream starts: JSON `{"code", "msg"}` under HTTP 200 (hertz's hijacked
/// writer turns the event stream back into a JSON reply).
fn refuse_stream(r: Refusal) -> Response {
    let (code, msg) = studio_code(&r, false);
    studio_err(code, msg)
}

/// Studio has no question or form in a sync run: it fails with 6039.
fn interactive(wf: &SimWorkflow) -> bool {
    matches!(wf.behaviour, crate::sim::Behaviour::Asks | crate::sim::Behaviour::Form)
}

async fn run(State(s): Shared, Extension(LogId(l)): Extension<LogId>, body: Bytes) -> Reply {
    let (wf, params, parsed) = runnable(&s, Access::Full, &body).map_err(|r| refuse_run(&s, r))?;
    refuse_chatflow(&wf).map_err(|r| refuse_run(&s, r))?;
    let is_async = parsed.get("is_async").and_then(Value::as_bool).unwrap_or(false);
    if !is_async && interactive(&wf) {
        let msg = "Synchronous requests do not support interruption. Please switch to asynchronous requests for interruptible operations.";
        return Ok(run_answer(6039, Some(msg.into()), None, debug_url(&s, None), None));
    }
    // Studio ignores a version: a run always uses the latest published one.
    let (exec, planned) =
        start_execution(&s, &wf, &params, if is_async { 2 } else { 0 }, None, &l).map_err(|r| refuse_run(&s, r))?;
    let url = debug_url(&s, Some(&exec));
    if is_async {
        return Ok(run_answer(0, None, None, url, Some(&exec.id)));
    }
    if wf.behaviour == crate::sim::Behaviour::Slow {
        tokio::time::sleep(planned.duration).await;
    }
    Ok(match planned.outcome {
        Outcome::Success { data } => run_answer(0, None, Some(data), url, Some(&exec.id)),
        // The execute id only in the debug URL.
        Outcome::Fail { code, message } => {
            let (code, message) = studio_failure(code, &message);
            run_answer(code, Some(message), None, url, None)
        }
        Outcome::Interrupted { .. } | Outcome::Running => run_answer(0, None, None, url, Some(&exec.id)),
    })
}

async fn stream_run(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(BrokenStream(broken)): Extension<BrokenStream>,
    body: Bytes,
) -> Reply {
    let (wf, params, _) = runnable(&s, Access::Full, &body).map_err(refuse_stream)?;
    refuse_chatflow(&wf).map_err(refuse_stream)?;
    let checked = crate::sim::catalogue::input_for(&wf, None)
        .and_then(|schema| crate::sim::catalogue::validate_params(&schema, &params));
    if let Err(m) = checked {
        return Err(refuse_stream(Refusal::new(4000, m)));
    }
    let (exec, mut planned) = start_execution(&s, &wf, &params, 1, None, &l).map_err(refuse_stream)?;
    if broken {
        let text = "stream recv failed: rpc error: connection reset by peer\n\tat workflow/execute.go:812";
        planned.outcome = Outcome::Fail { code: 720701013, message: text.into() };
        let steps = vec![
            Step { delay: Duration::ZERO, event: "Message", data: studio_message("working…", "Progress", 0, false) },
            Step { delay: Duration::from_millis(20), event: "error", data: json!(text) },
        ];
        return Ok(sse_response(s.clone(), &l, exec.id, steps, planned.outcome, Grammar::Studio));
    }
    let steps = hold_headers(studio_steps(&s, &wf, &planned, &exec)).await;
    Ok(sse_response(s.clone(), &l, exec.id, steps, planned.outcome, Grammar::Studio))
}

/// Studio's headers go out with its first event: however long the first node works, the
/// client hears nothing before it.
async fn hold_headers(mut steps: Vec<Step>) -> Vec<Step> {
    if let Some(first) = steps.first_mut() {
        tokio::time::sleep(std::mem::take(&mut first.delay)).await;
    }
    steps
}

async fn stream_resume(State(s): Shared, Extension(LogId(l)): Extension<LogId>, body: Bytes) -> Reply {
    let (exec, outcome) = apply_answer(&s, Access::Full, &body).map_err(refuse_stream)?;
    let wf = s.catalogue.workflow(&exec.workflow_id).cloned().ok_or_else(|| studio_err(720702004, "not found"))?;
    s.lock().executions.entry(exec.id.clone()).and_modify(|e| e.outcome = Outcome::Running);
    let planned = runs::Planned { outcome: outcome.clone(), duration: Duration::ZERO, nodes: vec![] };
    let steps = hold_headers(studio_steps(&s, &wf, &planned, &exec)).await;
    Ok(sse_response(s.clone(), &l, exec.id, steps, outcome, Grammar::Studio))
}

fn studio_message(content: &str, node: &str, seq: usize, finish: bool) -> Value {
    json!({"content": content, "content_type": "text", "node_seq_id": seq.to_string(), "node_id": "154951",
           "node_is_finish": finish, "node_type": node, "node_title": node})
}

/// The hosted events reshaped: no PING; no usage; an Error with its raw code and debug URL;
/// an interrupt as Studio sends it (a Message holding the interrupt data, then an Interrupt
/// without a node title whose data is a form schema or a question message list).
fn studio_steps(s: &SimState, wf: &SimWorkflow, planned: &runs::Planned, exec: &Execution) -> Vec<Step> {
    let url = debug_url(s, Some(exec));
    let mut steps: Vec<Step> = runs::stream_steps(wf, planned, &s.opts)
        .into_iter()
        .filter(|st| st.event != "PING" && st.event != "Interrupt")
        .map(|mut st| {
            if let Value::Object(m) = &mut st.data {
                m.remove("usage");
                m.remove("cost");
                m.remove("node_execute_uuid");
                if st.event == "Error" {
                    let code = m.get("error_code").and_then(Value::as_i64).unwrap_or_default();
                    let message = m.get("error_message").and_then(Value::as_str).unwrap_or_default();
                    let (code, message) = studio_failure(code, message);
                    m.insert("error_code".into(), json!(code));
                    m.insert("error_message".into(), json!(message));
                    m.insert("debug_url".into(), json!(url));
                }
            }
            st
        })
        .collect();
    if let Outcome::Interrupted { event_id, question, form } = &planned.outcome {
        steps.pop(); // the hosted Message with the question
        let (kind, data, node) = if *form {
            let fields = json!([{"type": "string", "name": "city", "required": true},
                                {"type": "integer", "name": "days", "required": true}]);
            (5, json!({"content": fields.to_string(), "content_type": "form_schema"}), "输入")
        } else {
            let msg = json!({"type": "question", "content_type": "text", "content": question, "id": "1"});
            (2, json!({"messages": [msg]}), "问答")
        };
        let data = data.to_string();
        steps.push(Step {
            delay: Duration::from_millis(20),
            event: "Message",
            data: studio_message(&data, node, 0, true),
        });
        steps.push(Step {
            delay: Duration::ZERO,
            event: "Interrupt",
            data: json!({"debug_url": url, "interrupt_data": {"event_id": event_id, "type": kind, "data": data}}),
        });
    }
    steps
}

async fn history(State(s): Shared, Query(q): Params) -> Response {
    let Some(_) = q.get("workflow_id").filter(|w| !w.is_empty()) else {
        let msg = "'workflow_id' field is a 'required' parameter, but the request does not have this parameter";
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": 400, "msg": msg}))).into_response();
    };
    let eid = q.get("execute_id").cloned().unwrap_or_default();
    let inner = s.lock();
    let Some(e) = inner.executions.get(&eid) else {
        // Studio looks up an unknown id as a record of space 0, which no one may read.
        let msg = "Workflow operation failure: user 7000000000000000001 does not have access to space 0";
        return (StatusCode::OK, axum::Json(json!({"code": 777777775, "msg": msg, "BaseResp": null}))).into_response();
    };
    let (status, output, code, message) = match e.shown_at(Instant::now()) {
        Outcome::Running => ("Running", String::new(), String::new(), String::new()),
        Outcome::Success { data } => ("Success", data.clone(), String::new(), String::new()),
        Outcome::Fail { code, message } => {
            let (code, message) = studio_failure(*code, message);
            ("Fail", String::new(), code.to_string(), message)
        }
        Outcome::Interrupted { .. } => ("<UNSET>", String::new(), String::new(), String::new()),
    };
    // Ids are int64 numbers here (19 digits: above 2^53).
    let number = |id: &str| id.parse::<u64>().map(Value::from).unwrap_or(Value::Null);
    let record = json!({
        "execute_id": number(&e.id), "execute_status": status, "bot_id": null, "connector_id": 1024,
        "connector_uid": "7490000000000000001", "run_mode": e.run_mode, "log_id": e.logid,
        "create_time": e.create_time, "update_time": e.update_time, "debug_url": debug_url(&s, Some(e)),
        "input": "{}", "output": output, "token": 0, "cost": "0.00000", "cost_unit": null, "ext": null,
        "error_code": code, "error_msg": message,
    });
    (StatusCode::OK, axum::Json(json!({"data": [record], "BaseResp": null}))).into_response()
}

/// `GET /v1/workflows/{id}`: a chatflow's role, nothing more.
async fn chatflow_role(State(s): Shared, Path(id): Path<String>, req: Request) -> Response {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return web_ui_only(State(s), req).await;
    }
    match s.catalogue.workflow(&id) {
        None => studio_err(
            720702004,
            format!("workflow {id} not found, please check if the workflow exists and not deleted"),
        ),
        Some(wf) if wf.behaviour == crate::sim::Behaviour::Chat => {
            let role = json!({"id": "7600000000000000001", "workflow_id": id, "connector_id": "1024",
                              "name": "Assistant", "description": "", "avatar": null});
            (StatusCode::OK, axum::Json(json!({"data": {"role": role}, "BaseResp": null}))).into_response()
        }
        Some(_) => studio_err(777777780, "ChatFlowRole operation failure: {cause}"),
    }
}

/// A chat turn: Studio names a new conversation (`CONVERSATION_NAME`) instead of making one
/// on the fly; the rest is the hosted chatflow's.
async fn chat(state: Shared, logid: Extension<LogId>, access: Extension<Access>, body: Bytes) -> Reply {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let named = parsed.pointer("/parameters/CONVERSATION_NAME").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    if parsed.get("conversation_id").is_none() && !named {
        return Err(studio_err(720702002, "conversation name is requried"));
    }
    super::chat::chat(state, logid, access, body).await
}

async fn create_conversation(State(s): Shared, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if parsed.get("conversation_name").and_then(Value::as_str).is_none_or(str::is_empty) {
        return studio_err(720702002, "Missing required parameters：’conversation_name‘");
    }
    let mut inner = s.lock();
    let id = inner.new_id();
    inner.conversations.insert(id.clone(), vec![]);
    let data = json!({"id": id, "created_at": 0, "meta_data": null, "last_section_id": id});
    (StatusCode::OK, axum::Json(json!({"code": 0, "msg": "", "data": data}))).into_response()
}
