//! Typed workflow stream events (`stream_run`, `stream_resume`) on top of the SSE parser,
//! with an idle timeout instead of a total one, and the end-of-stream states of §9.4.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{CozeError, ErrorKind, Result};
use super::models::{InterruptData, Usage, execute_id_from_debug_url, int_lenient, null_default, string_lenient};
use super::sse::{RawEvent, SseItem, SseParser};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MessageEvent {
    #[serde(deserialize_with = "null_default")]
    pub content: String,
    #[serde(deserialize_with = "null_default")]
    pub node_title: String,
    #[serde(deserialize_with = "int_lenient")]
    pub node_seq_id: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub node_is_finish: bool,
    #[serde(deserialize_with = "string_lenient")]
    pub node_id: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub node_execute_uuid: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub content_type: Option<String>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StreamErrorEvent {
    #[serde(deserialize_with = "int_lenient")]
    pub error_code: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub error_message: String,
    /// Coze Studio names the failed execution here.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Option::is_none")]
    pub debug_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InterruptEvent {
    #[serde(deserialize_with = "null_default")]
    pub interrupt_data: InterruptData,
    #[serde(deserialize_with = "null_default")]
    pub node_title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkflowEvent {
    Message(MessageEvent),
    Error(StreamErrorEvent),
    Interrupt(InterruptEvent),
    Done {
        debug_url: Option<String>,
    },
    Ping,
    /// A chatflow's turn is in this conversation (`conversation.chat.created`).
    Conversation {
        id: String,
    },
    Unknown {
        event: String,
        data: String,
    },
}

/// Which event names a stream speaks: a workflow's (`Message`, `Done`, with ids) or a
/// chatflow's (`conversation.message.delta`, `done`, no ids; coze-api.md §8.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    Workflow,
    Chat,
}

/// Who speaks in the conversation a chatflow reply streams into.
pub const ANSWER_NODE: &str = "Answer";

/// An event with its SSE id (counts from 0 per response; restarts after a resume).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub id: Option<u64>,
    pub event: WorkflowEvent,
}

/// One event's data as `T`; empty data is `T`'s default, malformed data a decode error.
fn parse<T: for<'de> Deserialize<'de> + Default>(name: &str, data: &str) -> Result<T> {
    if data.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(data)
        .map_err(|e| CozeError::new(ErrorKind::Decode, format!("malformed {name} event: {e}: {}", clip(data, 200))))
}

/// The parts of a chat event coze-tui reads (`Chat` and `Message` in cozepy).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChatData {
    #[serde(deserialize_with = "string_lenient")]
    conversation_id: Option<String>,
    #[serde(deserialize_with = "null_default", rename = "type")]
    kind: String,
    #[serde(deserialize_with = "null_default")]
    content: String,
    last_error: Option<ChatError>,
    usage: Option<Usage>,
    // An `error` event's own shape.
    #[serde(deserialize_with = "int_lenient")]
    code: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    msg: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChatError {
    #[serde(deserialize_with = "int_lenient")]
    code: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    msg: String,
}

impl StreamEvent {
    /// A chatflow's event as the workflow events it amounts to: the answers' deltas are
    /// messages of [`ANSWER_NODE`]; each completed answer is kept in `reply` (a turn may
    /// answer more than once) and the whole reply is the End node's output when the chat
    /// completes (with its usage); a failed chat or an `error` is an Error, `done` Done.
    /// Other messages (verbose, follow-ups) are unknown.
    pub fn from_chat_raw(raw: RawEvent, reply: &mut String) -> Result<Self> {
        let name = raw.event.unwrap_or_default();
        let answer = |d: &ChatData| d.kind.is_empty() || d.kind == "answer";
        let event = match name.as_str() {
            "conversation.chat.created" => {
                let d: ChatData = parse(&name, &raw.data)?;
                match d.conversation_id.filter(|c| !c.is_empty()) {
                    Some(id) => WorkflowEvent::Conversation { id },
                    None => WorkflowEvent::Ping,
                }
            }
            "conversation.message.delta" => {
                let d: ChatData = parse(&name, &raw.data)?;
                match answer(&d) {
                    true => WorkflowEvent::Message(MessageEvent {
                        content: d.content,
                        node_title: ANSWER_NODE.into(),
                        ..MessageEvent::default()
                    }),
                    false => WorkflowEvent::Unknown { event: name, data: raw.data },
                }
            }
            "conversation.message.completed" => {
                let d: ChatData = parse(&name, &raw.data)?;
                if answer(&d) {
                    if !reply.is_empty() {
                        reply.push_str("\n\n");
                    }
                    reply.push_str(&d.content);
                }
                WorkflowEvent::Unknown { event: name, data: raw.data }
            }
            "conversation.chat.completed" => {
                let d: ChatData = parse(&name, &raw.data)?;
                WorkflowEvent::Message(MessageEvent {
                    content: std::mem::take(reply),
                    node_title: String::new(),
                    node_seq_id: Some(0),
                    node_is_finish: true,
                    usage: d.usage,
                    ..MessageEvent::default()
                })
            }
            "conversation.chat.failed" => {
                let e = parse::<ChatData>(&name, &raw.data)?.last_error.unwrap_or_default();
                let message = if e.msg.is_empty() { "the chat failed".to_string() } else { e.msg };
                WorkflowEvent::Error(StreamErrorEvent { error_code: e.code, error_message: message, debug_url: None })
            }
            "error" => error_event(&raw.data),
            "done" => {
                let v: Value = parse(&name, &raw.data).unwrap_or(Value::Null);
                WorkflowEvent::Done { debug_url: v.get("debug_url").and_then(Value::as_str).map(str::to_string) }
            }
            _ => WorkflowEvent::Unknown { event: name, data: raw.data },
        };
        Ok(Self { id: None, event })
    }

    /// Interprets one raw SSE event. Malformed data on a known event is a decode error.
    pub fn from_raw(raw: RawEvent) -> Result<Self> {
        let id = raw.id.as_deref().and_then(|s| s.trim().parse().ok());
        let name = raw.event.unwrap_or_default();
        let event = match name.as_str() {
            "Message" => WorkflowEvent::Message(parse(&name, &raw.data)?),
            "Error" => WorkflowEvent::Error(parse(&name, &raw.data)?),
            "Interrupt" => WorkflowEvent::Interrupt(parse(&name, &raw.data)?),
            "Done" => {
                let v: Value = parse(&name, &raw.data).unwrap_or(Value::Null);
                let debug_url = v.get("debug_url").and_then(Value::as_str).map(str::to_string);
                WorkflowEvent::Done { debug_url }
            }
            "PING" => WorkflowEvent::Ping,
            // Coze Studio's own failures (its stream broke).
            "error" => error_event(&raw.data),
            _ => WorkflowEvent::Unknown { event: name, data: raw.data },
        };
        Ok(Self { id, event })
    }
}

/// A lower-case `error` event (a chat's, or a Coze Studio stream that broke): `{code, msg}`
/// or plain text.
fn error_event(data: &str) -> WorkflowEvent {
    let d: ChatData = parse("error", data).unwrap_or_default();
    let message = if d.msg.is_empty() { clip(data.trim(), 500) } else { d.msg };
    let message = if message.is_empty() { "the stream failed".to_string() } else { message };
    WorkflowEvent::Error(StreamErrorEvent { error_code: d.code, error_message: message, debug_url: None })
}

/// Turns a bare JSON line into the API error it carries.
fn bare_json_error(line: &str) -> CozeError {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let code = v.get("code").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
    let msg = v.get("msg").and_then(Value::as_str).unwrap_or(line);
    match code {
        Some(code) if code != 0 => CozeError::from_code(code, msg, None),
        _ => CozeError::new(ErrorKind::Decode, format!("unexpected line in event stream: {}", clip(line, 200))),
    }
}

pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Whether a message came from the End node, whose final message carries the run's output.
pub fn is_end_node(title: &str) -> bool {
    title.is_empty() || title == "End"
}

/// How a stream ended (coze-api.md §9.4 step 5).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// `Done` arrived.
    Completed { debug_url: Option<String>, execute_id: Option<String> },
    /// EOF after `Interrupt`: awaiting an answer.
    Interrupted(InterruptEvent),
    /// An `Error` event.
    Failed(StreamErrorEvent),
    /// EOF with none of the above: the run's fate is unknown.
    Lost,
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A live workflow event stream. Pull events with [`WorkflowStream::next_event`].
pub struct WorkflowStream {
    body: ByteStream,
    parser: SseParser,
    pending: VecDeque<SseItem>,
    idle_timeout: Duration,
    /// One timer for the whole stream, moved on lazily: re-arming a timer per chunk would cost
    /// more than parsing the chunk.
    idle: Pin<Box<tokio::time::Sleep>>,
    last_chunk: tokio::time::Instant,
    eof: bool,
    /// The response's `x-tt-logid`.
    pub logid: Option<String>,
    /// The last event that decides how the stream ended (messages only as "a message": the
    /// End node's can be megabytes).
    last: Option<WorkflowEvent>,
    grammar: Grammar,
    /// A chatflow's completed answers so far (see [`StreamEvent::from_chat_raw`]).
    chat_reply: String,
}

impl WorkflowStream {
    pub(crate) fn new(body: ByteStream, idle_timeout: Duration, logid: Option<String>) -> Self {
        let now = tokio::time::Instant::now();
        Self {
            body,
            parser: SseParser::new(),
            pending: VecDeque::new(),
            idle_timeout,
            idle: Box::pin(tokio::time::sleep_until(now + idle_timeout)),
            last_chunk: now,
            eof: false,
            logid,
            last: None,
            grammar: Grammar::Workflow,
            chat_reply: String::new(),
        }
    }

    /// The same stream read as a chatflow's events.
    pub(crate) fn chat(mut self) -> Self {
        self.grammar = Grammar::Chat;
        self
    }

    /// The next event; `Ok(None)` at the end of the stream. PINGs are returned too, so callers
    /// can show liveness; every received chunk resets the idle timer.
    pub async fn next_event(&mut self) -> Result<Option<StreamEvent>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                let ev = match item {
                    SseItem::Event(raw) if self.grammar == Grammar::Chat => {
                        StreamEvent::from_chat_raw(raw, &mut self.chat_reply)
                    }
                    SseItem::Event(raw) => StreamEvent::from_raw(raw),
                    SseItem::BareJson(line) => Err(bare_json_error(&line)),
                }
                .map_err(|e| e.with_logid(self.logid.clone()))?;
                match &ev.event {
                    WorkflowEvent::Ping | WorkflowEvent::Unknown { .. } | WorkflowEvent::Conversation { .. } => {}
                    // A chat that failed and then said `done` still failed.
                    WorkflowEvent::Done { .. } if matches!(self.last, Some(WorkflowEvent::Error(_))) => {}
                    WorkflowEvent::Message(_) => self.last = Some(WorkflowEvent::Message(MessageEvent::default())),
                    other => self.last = Some(other.clone()),
                }
                return Ok(Some(ev));
            }
            if self.eof {
                return Ok(None);
            }
            let next = loop {
                tokio::select! {
                    biased;
                    next = self.body.next() => break Some(next),
                    _ = self.idle.as_mut() => {
                        let deadline = self.last_chunk + self.idle_timeout;
                        if deadline <= tokio::time::Instant::now() {
                            break None;
                        }
                        self.idle.as_mut().reset(deadline);
                    }
                }
            };
            match next {
                None => {
                    return Err(CozeError::new(
                        ErrorKind::Timeout,
                        format!("the stream sent nothing for {} s", self.idle_timeout.as_secs()),
                    )
                    .with_logid(self.logid.clone()));
                }
                Some(Some(Ok(chunk))) => {
                    self.last_chunk = tokio::time::Instant::now();
                    self.pending.extend(self.parser.push(&chunk));
                }
                Some(Some(Err(e))) => {
                    let mut err = super::client::transport_error(&e, "reading the event stream");
                    err.delivery = super::error::Delivery::Answered;
                    return Err(err.with_logid(self.logid.clone()));
                }
                Some(None) => {
                    self.eof = true;
                    self.pending.extend(self.parser.finish());
                }
            }
        }
    }

    /// How the stream ended, judged from the last meaningful event. Call after `next_event`
    /// returned `Ok(None)`.
    pub fn end(&self) -> StreamEnd {
        match &self.last {
            Some(WorkflowEvent::Done { debug_url }) => StreamEnd::Completed {
                execute_id: debug_url.as_deref().and_then(execute_id_from_debug_url),
                debug_url: debug_url.clone(),
            },
            Some(WorkflowEvent::Interrupt(i)) => StreamEnd::Interrupted(i.clone()),
            Some(WorkflowEvent::Error(e)) => StreamEnd::Failed(e.clone()),
            _ => StreamEnd::Lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: Vec<&'static str>) -> WorkflowStream {
        let body = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))));
        WorkflowStream::new(Box::pin(body), Duration::from_secs(5), Some("L".into()))
    }

    async fn drain(s: &mut WorkflowStream) -> Result<Vec<StreamEvent>> {
        let mut out = vec![];
        while let Some(e) = s.next_event().await? {
            out.push(e);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn done_gives_completed_with_execute_id() {
        let mut s = stream_of(vec![
            "id: 0\nevent: Message\ndata: {\"content\":\"hi\",\"node_title\":\"End\",\"node_seq_id\":\"0\",\"node_is_finish\":true}\n\n",
            "id: 1\nevent: PING\ndata: {\"content\":\"{}\"}\n\nid: 2\nevent: Done\ndata: {\"debug_url\":\"https://x/work_flow?execute_id=42\"}\n\n",
        ]);
        let events = drain(&mut s).await.unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].id, Some(0));
        assert!(matches!(&events[0].event, WorkflowEvent::Message(m) if m.content == "hi" && m.node_is_finish));
        assert_eq!(events[1].event, WorkflowEvent::Ping);
        assert_eq!(
            s.end(),
            StreamEnd::Completed {
                debug_url: Some("https://x/work_flow?execute_id=42".into()),
                execute_id: Some("42".into())
            }
        );
    }

    #[tokio::test]
    async fn interrupt_then_eof_is_interrupted() {
        let mut s = stream_of(vec![
            "id: 0\nevent: Message\ndata: {\"content\":\"Which city?\"}\n\n",
            "id: 1\nevent: Interrupt\ndata: {\"interrupt_data\":{\"data\":\"\",\"event_id\":\"7/8\",\"type\":2},\"node_title\":\"Ask\"}\n\n",
        ]);
        drain(&mut s).await.unwrap();
        match s.end() {
            StreamEnd::Interrupted(i) => {
                assert_eq!(i.interrupt_data.event_id, "7/8");
                assert_eq!(i.interrupt_data.kind, Some(2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn error_event_and_lost_stream() {
        let mut s = stream_of(vec!["id: 0\nevent: Error\ndata: {\"error_code\":4000,\"error_message\":\"bad\"}\n\n"]);
        drain(&mut s).await.unwrap();
        assert_eq!(
            s.end(),
            StreamEnd::Failed(StreamErrorEvent {
                error_code: Some(4000),
                error_message: "bad".into(),
                ..Default::default()
            })
        );

        let mut s = stream_of(vec!["id: 0\nevent: Message\ndata: {\"content\":\"par"]);
        let err = drain(&mut s).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Decode, "a truncated final event is malformed");
        let mut s = stream_of(vec!["id: 0\nevent: Message\ndata: {\"content\":\"x\"}\n\n"]);
        drain(&mut s).await.unwrap();
        assert_eq!(s.end(), StreamEnd::Lost);
    }

    #[tokio::test]
    async fn bare_json_line_is_an_api_error_with_logid() {
        let mut s = stream_of(vec!["{\"code\":4100,\"msg\":\"authentication is invalid\"}\n"]);
        let err = drain(&mut s).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth);
        assert_eq!(err.code, Some(4100));
        assert_eq!(err.logid.as_deref(), Some("L"));
    }

    #[tokio::test]
    async fn a_chatflow_stream_reads_as_workflow_events() {
        // cozepy's fixture (tests/testdata/workflows_chat_stream_resp.txt), abridged.
        let fixture = concat!(
            "event: conversation.chat.created\ndata: {\"id\":\"id_1111\",\"conversation_id\":\"conv_111111111\",\"status\":\"created\"}\n\n",
            "event: conversation.chat.in_progress\ndata: {\"id\":\"id_1111\",\"conversation_id\":\"conv_111111111\",\"status\":\"in_progress\"}\n\n",
            "event: conversation.message.delta\ndata: {\"id\":\"id_2222\",\"role\":\"assistant\",\"type\":\"answer\",\"content\":\"I\",\"content_type\":\"text\"}\n\n",
            "event: conversation.message.delta\ndata: {\"id\":\"id_2222\",\"role\":\"assistant\",\"type\":\"answer\",\"content\":\"'m fine\",\"content_type\":\"text\"}\n\n",
            "event: conversation.message.completed\ndata: {\"id\":\"id_2222\",\"role\":\"assistant\",\"type\":\"answer\",\"content\":\"I'm fine\",\"content_type\":\"text\"}\n\n",
            "event: conversation.message.completed\ndata: {\"id\":\"id_2223\",\"role\":\"assistant\",\"type\":\"answer\",\"content\":\"And you?\",\"content_type\":\"text\"}\n\n",
            "event: conversation.message.completed\ndata: {\"id\":\"id_3333\",\"role\":\"assistant\",\"type\":\"verbose\",\"content\":\"{}\",\"content_type\":\"text\"}\n\n",
            "event: conversation.chat.completed\ndata: {\"id\":\"id_1111\",\"conversation_id\":\"conv_111111111\",\"status\":\"completed\",\"usage\":{\"token_count\":32,\"output_count\":11,\"input_count\":21}}\n\n",
            "event: done\ndata: {\"debug_url\":\"https://www.coze.cn/work_flow?execute_id=execute_1111\\u0026space_id=space_111\"}\n\n",
        );
        let mut s = stream_of(vec![fixture]).chat();
        let events: Vec<WorkflowEvent> = drain(&mut s).await.unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(events[0], WorkflowEvent::Conversation { id: "conv_111111111".into() });
        let said: Vec<(String, String, bool)> = events
            .iter()
            .filter_map(|e| match e {
                WorkflowEvent::Message(m) if !m.content.is_empty() => {
                    Some((m.node_title.clone(), m.content.clone(), m.node_is_finish))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            said,
            [
                (ANSWER_NODE.into(), "I".into(), false),
                (ANSWER_NODE.into(), "'m fine".into(), false),
                (String::new(), "I'm fine\n\nAnd you?".into(), true)
            ]
        );
        assert!(events.iter().any(
            |e| matches!(e, WorkflowEvent::Message(m) if m.usage.as_ref().is_some_and(|u| u.token_count == Some(32)))
        ));
        assert_eq!(
            s.end(),
            StreamEnd::Completed {
                debug_url: Some("https://www.coze.cn/work_flow?execute_id=execute_1111&space_id=space_111".into()),
                execute_id: Some("execute_1111".into()),
            }
        );

        let mut failed = stream_of(vec![
            "event: conversation.chat.failed\ndata: {\"last_error\":{\"code\":4000,\"msg\":\"bad\"}}\n\nevent: done\ndata: {}\n\n",
        ])
        .chat();
        drain(&mut failed).await.unwrap();
        assert_eq!(
            failed.end(),
            StreamEnd::Failed(StreamErrorEvent {
                error_code: Some(4000),
                error_message: "bad".into(),
                ..Default::default()
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_fires_without_data() {
        let body = futures_util::stream::pending::<reqwest::Result<Bytes>>();
        let mut s = WorkflowStream::new(Box::pin(body), Duration::from_secs(30), None);
        let err = s.next_event().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
    }
}
