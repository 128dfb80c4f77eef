//! Chatflows: `POST /v1/conversation/create` and `POST /v1/workflows/chat`, whose stream has
//! its own grammar (lower-case dotted events, no ids; coze-api.md §8.12). The `chatflow`
//! workflow remembers each conversation, so a second turn can show it knows the first.

use super::*;

pub(super) async fn create_conversation(State(s): Shared, Extension(LogId(l)): Extension<LogId>) -> Response {
    let mut inner = s.lock();
    let id = inner.new_id();
    inner.conversations.insert(id.clone(), vec![]);
    ok(&l, json!({"id": id, "created_at": runs::unix_now(), "meta_data": {}, "last_section_id": id}))
}

pub(super) async fn chat(
    State(s): Shared,
    Extension(LogId(l)): Extension<LogId>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Reply {
    let (wf, params, parsed) = runnable(&s, access, &body).map_err(|r| r.hosted(&l))?;
    if wf.behaviour != super::super::Behaviour::Chat {
        return Err(err(&l, 4000, format!("workflow {} is not a chatflow: run it with /v1/workflow/run", wf.id)));
    }
    if parsed.get("app_id").is_none() && parsed.get("bot_id").is_none() {
        return Err(err(&l, 4000, "a chatflow runs in an app (app_id) or with a bot (bot_id)"));
    }
    let messages = parsed.get("additional_messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(last) = messages.last().filter(|m| m.get("role").and_then(Value::as_str) == Some("user")) else {
        return Err(err(&l, 4000, "additional_messages must end with a message of role user"));
    };
    let said = last.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
    let (conversation, reply) = {
        let mut inner = s.lock();
        let conversation = match parsed.get("conversation_id").and_then(Value::as_str) {
            Some(id) if inner.conversations.contains_key(id) => id.to_string(),
            Some(id) => return Err(err(&l, 4000, format!("conversation {id} does not exist"))),
            None => {
                let id = inner.new_id();
                inner.conversations.insert(id.clone(), vec![]);
                id
            }
        };
        let turns = inner.conversations.entry(conversation.clone()).or_default();
        let reply = match turns.first() {
            None => format!("Turn 1: you said “{said}”. 你好！"),
            Some(first) => format!("Turn {}: you said “{said}” (and first “{first}”).", turns.len() + 1),
        };
        turns.push(said);
        (conversation, reply)
    };
    // Started only once the turn is taken (a refused one is not a run).
    let version = parsed.get("workflow_version").and_then(Value::as_str);
    let (exec, _) = start_execution(&s, &wf, &params, 1, version, &l).map_err(|r| r.hosted(&l))?;
    let chat_id = s.lock().new_id();
    let head = json!({"id": chat_id, "conversation_id": conversation, "created_at": runs::unix_now(),
                      "last_error": {"code": 0, "msg": ""}, "section_id": conversation});
    let with = |mut v: Value, extra: Value| {
        if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        v
    };
    let message = |content: &str, kind: &str| {
        json!({"id": format!("{chat_id}1"), "conversation_id": conversation, "role": "assistant", "type": kind,
               "content": content, "content_type": "text", "chat_id": chat_id, "section_id": conversation})
    };
    let pause = Duration::from_millis(20);
    let mut steps = vec![
        Step {
            delay: Duration::ZERO,
            event: "conversation.chat.created",
            data: with(head.clone(), json!({"status": "created"})),
        },
        Step {
            delay: Duration::ZERO,
            event: "conversation.chat.in_progress",
            data: with(head.clone(), json!({"status": "in_progress"})),
        },
    ];
    let chars: Vec<char> = reply.chars().collect();
    for piece in chars.chunks(chars.len().div_ceil(4).max(1)) {
        steps.push(Step {
            delay: pause,
            event: "conversation.message.delta",
            data: message(&piece.iter().collect::<String>(), "answer"),
        });
    }
    steps.push(Step {
        delay: Duration::ZERO,
        event: "conversation.message.completed",
        data: message(&reply, "answer"),
    });
    let verbose = json!({"msg_type": "generate_answer_finish", "data": "{\"finish_reason\":0}"}).to_string();
    steps.push(Step {
        delay: Duration::ZERO,
        event: "conversation.message.completed",
        data: message(&verbose, "verbose"),
    });
    steps.push(Step {
        delay: Duration::ZERO,
        event: "conversation.chat.completed",
        data: with(
            head,
            json!({"status": "completed", "completed_at": runs::unix_now(),
                                "usage": {"token_count": 32, "output_count": 11, "input_count": 21}}),
        ),
    });
    let outcome = Outcome::Success { data: reply };
    Ok(sse_response(s.clone(), &l, exec.id, steps, outcome, Grammar::Chat))
}
