//! How Coze Studio's answers differ from hosted Coze's, turned into the same models, so the
//! runner, the ledger and the dashboard never know which server they talk to.

use std::time::Duration;

use serde_json::{Map, Value};

use super::client::{ChatRequest, Reply};
use super::error::{CozeError, ErrorKind, Result};
use super::models::{ExecuteStatus, RunHistory, Workflow, WorkflowInfo};

/// Studio's streams send no heartbeat while a node works: silence is not a lost stream. A
/// dead connection is left to TCP; this only bounds a stream no one would wait for.
pub const STREAM_IDLE_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Studio's answer when the workflow exists but is not a chatflow ("ChatFlowRole operation
/// failure: {cause}", the braces literally).
const NOT_A_CHATFLOW: i64 = 777777780;

/// Studio wraps every failure of its history route in 777777775; an execute id it does not
/// know reads "… does not have access to space 0" (it looks it up as a record of space 0).
pub(super) fn history_error(e: CozeError) -> CozeError {
    match e.code {
        Some(777777775) if e.message.contains("space 0") => CozeError { kind: ErrorKind::ExecutionNotFound, ..e },
        _ => e,
    }
}

/// `GET /v1/workflows/{id}` on Studio looks up a chatflow's role: a role (or an empty reply)
/// means a chatflow, 777777780 a plain workflow, 720702004 no such workflow. It has no name
/// and no input schema.
pub(super) fn workflow_info(id: &str, answer: Result<Reply<Map<String, Value>>>) -> Result<Reply<WorkflowInfo>> {
    let (mode, logid) = match answer {
        Ok(reply) => ("chatflow", reply.logid),
        Err(e) if e.code == Some(NOT_A_CHATFLOW) => ("workflow", e.logid),
        Err(e) => return Err(e),
    };
    let workflow_detail =
        Workflow { workflow_id: id.to_string(), workflow_mode: Some(mode.to_string()), ..Workflow::default() };
    Ok(Reply { value: WorkflowInfo { workflow_detail, input: None, output: None, io_hidden: true }, logid })
}

/// `GET /v1/workflow/get_run_history`: `{"data": [record]}` without a `code`; the record
/// names its fields `log_id` and `error_msg` (read as hosted Coze's), its ids are int64 numbers
/// (kept as text, never through a float), and its statuses include `Cancel` and `<UNSET>`
/// (a run stopped at a question or input node, which only a stream can answer).
pub(super) fn run_history(reply: Reply<Map<String, Value>>, execute_id: &str) -> Result<Reply<RunHistory>> {
    let Reply { mut value, logid } = reply;
    let mut data = value.remove("data").unwrap_or(Value::Null);
    for record in data.as_array_mut().into_iter().flatten() {
        if let Value::Object(m) = record {
            for (studio, coze) in [("error_msg", "error_message"), ("log_id", "logid")] {
                if let Some(v) = m.remove(studio).filter(|_| !m.contains_key(coze)) {
                    m.insert(coze.into(), v);
                }
            }
        }
    }
    let list: Vec<RunHistory> = match data {
        Value::Null => vec![],
        other => serde_json::from_value(other).map_err(|e| {
            CozeError::new(ErrorKind::Decode, format!("unexpected run history from Coze Studio: {e}"))
                .with_logid(logid.clone())
        })?,
    };
    let Some(mut h) = list.into_iter().next() else {
        return Err(CozeError::new(ErrorKind::ExecutionNotFound, format!("no run history for execution {execute_id}"))
            .with_logid(logid));
    };
    if let ExecuteStatus::Other(status) = &h.execute_status {
        let why = match status.as_str() {
            "Cancel" => "the run was cancelled in Coze Studio",
            "<UNSET>" => {
                "the run stopped at a question or input node, which Coze Studio answers only in streamed runs: run it again with --mode stream"
            }
            _ => "",
        };
        if !why.is_empty() {
            if !h.error_message.is_empty() {
                h.error_message = format!("{why} ({})", h.error_message);
            } else {
                h.error_message = why.to_string();
            }
            h.execute_status = ExecuteStatus::Fail;
        }
    }
    Ok(Reply { value: h, logid })
}

/// Studio starts a conversation only by name: a turn without a conversation names one (the
/// user's `CONVERSATION_NAME` if given), and the created conversation's id comes back as on
/// hosted Coze.
pub(super) fn named_conversation(req: &ChatRequest) -> ChatRequest {
    let mut req = req.clone();
    if req.conversation_id.is_none() && !req.run.parameters.contains_key("CONVERSATION_NAME") {
        // Unique: Studio finds a conversation by its name, and two at once must not share one.
        let stamp = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S");
        let name = format!("coze-tui {stamp} {:08x}", rand::random::<u32>());
        req.run.parameters.insert("CONVERSATION_NAME".into(), Value::String(name));
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(v: Value) -> Reply<Map<String, Value>> {
        let Value::Object(m) = v else { panic!() };
        Reply { value: m, logid: Some("L".into()) }
    }

    #[test]
    fn history_records_keep_big_ids_and_studio_field_names() {
        let raw = r#"{"data":[{"execute_id":7512345678901234567,"execute_status":"Fail","bot_id":null,
            "connector_id":1024,"log_id":"0b6f","error_code":"305000002","error_msg":"boom","token":0}],
            "BaseResp":null}"#;
        let v: Value = serde_json::from_str(raw).unwrap();
        let h = run_history(reply(v), "7512345678901234567").unwrap().value;
        assert_eq!(h.execute_id, "7512345678901234567", "above 2^53, exact");
        assert_eq!((h.logid.as_deref(), h.error_message.as_str()), (Some("0b6f"), "boom"));
        assert_eq!(h.error_code_number(), Some(305000002));
        assert_eq!(h.connector_id.as_deref(), Some("1024"));
        // Both names at once: hosted Coze's wins, and nothing fails to decode.
        let both = json!({"data": [{"error_msg": "studio", "error_message": "coze", "execute_status": "Fail"}]});
        assert_eq!(run_history(reply(both), "1").unwrap().value.error_message, "coze");
    }

    #[test]
    fn cancelled_and_interrupted_runs_are_failures_that_say_why() {
        for (status, says) in [("Cancel", "cancelled"), ("<UNSET>", "--mode stream")] {
            let h = run_history(reply(json!({"data": [{"execute_status": status}]})), "1").unwrap().value;
            assert_eq!(h.execute_status, ExecuteStatus::Fail);
            assert!(h.error_message.contains(says), "{}", h.error_message);
        }
        let e = run_history(reply(json!({"data": []})), "9").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ExecutionNotFound);
    }

    #[test]
    fn the_role_lookup_tells_chatflows_from_workflows() {
        let chat = workflow_info("1", Ok(reply(json!({"BaseResp": null})))).unwrap().value;
        assert!(chat.is_chatflow() && chat.input.is_none());
        let plain = CozeError::from_code(NOT_A_CHATFLOW, "ChatFlowRole operation failure: {cause}", Some(200));
        assert!(!workflow_info("1", Err(plain)).unwrap().value.is_chatflow());
        let missing = CozeError::from_code(720702004, "workflow 1 not found", Some(200)).from_studio();
        assert_eq!(workflow_info("1", Err(missing)).unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn a_new_conversation_gets_a_name() {
        let req = named_conversation(&ChatRequest::default());
        assert!(req.run.parameters["CONVERSATION_NAME"].as_str().unwrap().starts_with("coze-tui "));
        let given = ChatRequest { conversation_id: Some("7".into()), ..ChatRequest::default() };
        assert!(!named_conversation(&given).run.parameters.contains_key("CONVERSATION_NAME"));
    }
}
