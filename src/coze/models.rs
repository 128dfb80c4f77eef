//! Typed Coze objects. Every field has a default and unknown fields are kept in `extra`,
//! because Coze adds fields often and its JSON types drift (numbers sent as strings and back).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Accepts `"123"`, `123`, `""` and `null` (→ `None`) for numeric fields whose JSON type varies.
pub(crate) fn int_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(b as i64),
        _ => None,
    })
}

/// Accepts a string or a number and keeps it as text (ids, `cost`, `token`).
pub(crate) fn string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Like [`string_lenient`] but for required-ish ids: missing or null becomes `""`.
pub(crate) fn id_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(string_lenient(d)?.unwrap_or_default())
}

/// `null` becomes the type's default instead of an error.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Decodes JSON-in-JSON: a string that holds JSON becomes that JSON, recursively (bounded),
/// anything else is returned as it is. Coze wraps outputs in one to three layers of strings.
pub fn decode_nested_json(value: &Value) -> Value {
    fn go(v: &Value, depth: u8) -> Value {
        match v {
            Value::String(s) if depth > 0 => {
                let t = s.trim_start();
                if (t.starts_with('{') || t.starts_with('[') || t.starts_with('"'))
                    && let Ok(inner) = serde_json::from_str::<Value>(s)
                {
                    return go(&inner, depth - 1);
                }
                v.clone()
            }
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), go(v, depth))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(|v| go(v, depth)).collect()),
            _ => v.clone(),
        }
    }
    go(value, 4)
}

/// Decodes a raw output string (sync `data`, history `output`, stream content) for display:
/// JSON where it is JSON (nested layers unwrapped), otherwise the text itself.
pub fn decode_output(raw: &str) -> Value {
    decode_nested_json(&Value::String(raw.to_string()))
}

/// A run history's `output` is `{"Output": <the End node's output>, "<message node title>": …}`,
/// where the runs of `run` and `stream_run` give the End node's output alone. Splits it into
/// that output (as the other modes give it, unwrapped from `{"content_type", "data",
/// "type_for_model"}` when the docs' wrapper is there) and the other nodes' outputs.
pub fn split_history_output(raw: &str) -> (Option<String>, Option<Map<String, Value>>) {
    let Ok(Value::Object(mut all)) = serde_json::from_str::<Value>(raw) else {
        return (Some(raw.to_string()), None);
    };
    let Some(end) = all.remove("Output") else {
        return (Some(raw.to_string()), None);
    };
    let text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let mut end = text(end);
    // The docs' example: {"content_type":1,"data":"…","original_result":null,"type_for_model":2}.
    const WRAPPER: [&str; 4] = ["content_type", "data", "original_result", "type_for_model"];
    if let Ok(Value::Object(mut wrapper)) = serde_json::from_str::<Value>(&end)
        && wrapper.contains_key("content_type")
        && wrapper.keys().all(|k| WRAPPER.contains(&k.as_str()))
        && let Some(data) = wrapper.remove("data")
    {
        end = text(data);
    }
    (Some(end), (!all.is_empty()).then_some(all))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Usage {
    #[serde(deserialize_with = "int_lenient")]
    pub input_count: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub output_count: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub token_count: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Workspace {
    #[serde(deserialize_with = "id_lenient")]
    pub id: String,
    pub name: String,
    pub icon_url: String,
    pub role_type: String,
    pub workspace_type: String,
    pub enterprise_id: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Creator {
    #[serde(deserialize_with = "id_lenient")]
    pub id: String,
    pub name: String,
}

/// Which workflows a listing includes. Coze's default hides never-published ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PublishStatus {
    #[default]
    #[value(name = "all")]
    All,
    #[value(name = "published_online")]
    PublishedOnline,
    #[value(name = "unpublished_draft")]
    UnpublishedDraft,
}

impl PublishStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::PublishedOnline => "published_online",
            Self::UnpublishedDraft => "unpublished_draft",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Workflow {
    #[serde(deserialize_with = "id_lenient")]
    pub workflow_id: String,
    pub workflow_name: String,
    pub description: String,
    pub icon_url: String,
    #[serde(deserialize_with = "id_lenient")]
    pub app_id: String,
    #[serde(deserialize_with = "int_lenient")]
    pub created_at: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub updated_at: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub creator: Creator,
    /// `workflow` or `chatflow` when the server says; absent in most listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_mode: Option<String>,
    /// Set by the client from the listing it came from: `Some(false)` for drafts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_published: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One input or output parameter of a workflow; recursive for objects and arrays.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Parameter {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "null_default")]
    pub required: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Always a string on the wire, even for numbers.
    #[serde(deserialize_with = "string_lenient", skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Parameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<OrderedParams>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Parameters in the server's order (serde_json's `preserve_order` map keeps insertion order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedParams(pub Vec<(String, Parameter)>);

impl OrderedParams {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Parameter)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    pub fn get(&self, name: &str) -> Option<&Parameter> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for OrderedParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default();
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            let p = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
            out.push((k, p));
        }
        Ok(Self(out))
    }
}

impl Serialize for OrderedParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IoSchema {
    #[serde(deserialize_with = "null_default")]
    pub parameters: OrderedParams,
    /// Output only: `return_variables` or `use_answer_content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminate_plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkflowInfo {
    #[serde(deserialize_with = "null_default")]
    pub workflow_detail: Workflow,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<IoSchema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<IoSchema>,
    /// The server shows a token no inputs or outputs at all (Coze Studio): nothing to check
    /// parameters against.
    #[serde(skip)]
    pub io_hidden: bool,
}

impl WorkflowInfo {
    /// A chatflow talks in conversations (`/v1/workflows/chat`): the server says so, or its
    /// inputs have the two every chatflow has (`USER_INPUT`, `CONVERSATION_NAME`).
    pub fn is_chatflow(&self) -> bool {
        let mode = self
            .workflow_detail
            .workflow_mode
            .as_deref()
            .or_else(|| self.workflow_detail.extra.get("workflow_mode").and_then(Value::as_str));
        if let Some(mode) = mode {
            return mode == "chatflow";
        }
        let inputs = self.input.as_ref().map(|i| &i.parameters);
        inputs.is_some_and(|p| p.get("USER_INPUT").is_some() && p.get("CONVERSATION_NAME").is_some())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkflowVersion {
    #[serde(deserialize_with = "id_lenient")]
    pub workflow_id: String,
    pub version: String,
    pub description: String,
    #[serde(deserialize_with = "int_lenient")]
    pub created_at: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub updated_at: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub creator: Creator,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<IoSchema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<IoSchema>,
}

/// A file Coze keeps (`/v1/files/upload`, `/v1/files/retrieve`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct UploadedFile {
    #[serde(deserialize_with = "id_lenient")]
    pub id: String,
    #[serde(deserialize_with = "int_lenient")]
    pub bytes: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub created_at: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub file_name: String,
}

/// A question or input node waiting for an answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InterruptData {
    /// Opaque, contains a `/`: never put it in a URL path.
    #[serde(deserialize_with = "id_lenient")]
    pub event_id: String,
    /// 2 question node, 5 input node, 7 OAuth plugin; echoed back as received.
    #[serde(rename = "type", deserialize_with = "int_lenient")]
    pub kind: Option<i64>,
    /// JSON string like `{"content_type":"text","content":"..."}`, often empty in streams.
    #[serde(deserialize_with = "null_default")]
    pub data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_parameters: Option<OrderedParams>,
}

impl InterruptData {
    /// The question text carried in `data`, when there is one.
    pub fn question(&self) -> Option<String> {
        if self.data.trim().is_empty() {
            return None;
        }
        match decode_output(&self.data) {
            // Coze Studio's input node: the form's fields are the content, not a question.
            Value::Object(m) if self.studio_form().is_some() => {
                m.get("prompt").and_then(Value::as_str).map(str::to_string).or(Some("fill in the form".into()))
            }
            // Coze Studio's question node: `{"messages": [{"content": …}]}`, an option list's
            // content being `{"question", "options": [{"name"}]}`.
            Value::Object(m) if m.get("messages").is_some_and(Value::is_array) => {
                let lines: Vec<String> = m["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|msg| match msg.get("content")? {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(o) => {
                            let q = o.get("question").and_then(Value::as_str).unwrap_or_default();
                            let options: Vec<&str> = o
                                .get("options")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(|opt| opt.get("name").and_then(Value::as_str))
                                .collect();
                            Some(if options.is_empty() {
                                q.to_string()
                            } else {
                                format!("{q} [{}]", options.join(" / "))
                            })
                        }
                        other => Some(other.to_string()),
                    })
                    .collect();
                Some(if lines.is_empty() { self.data.clone() } else { lines.join("\n") })
            }
            Value::Object(m) => match m.get("content") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
                None => Some(self.data.clone()),
            },
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    /// The fields an input node asks for: Coze's `required_parameters`, or Coze Studio's
    /// `{"content_type": "form_schema", "content": "[{\"name\", \"type\", \"required\"}]"}`.
    pub fn form_fields(&self) -> Option<OrderedParams> {
        self.required_parameters.clone().filter(|p| !p.is_empty()).or_else(|| self.studio_form())
    }

    fn studio_form(&self) -> Option<OrderedParams> {
        let v: Value = serde_json::from_str(&self.data).ok()?;
        if v.get("content_type")?.as_str()? != "form_schema" {
            return None;
        }
        let fields = match v.get("content")? {
            Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
            other => other.clone(),
        };
        let mut out = Vec::new();
        for f in fields.as_array()? {
            let name = f.get("name")?.as_str()?.to_string();
            let mut p: Parameter = serde_json::from_value(f.clone()).ok()?;
            p.extra.remove("name");
            out.push((name, p));
        }
        (!out.is_empty()).then_some(OrderedParams(out))
    }
}

/// The answer to `POST /v1/workflow/run` (sync or async) and `POST /v1/workflows/resume`.
/// These fields sit at the top level of the envelope, beside `data`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RunResult {
    /// The output as Coze sent it: usually a JSON object serialised into a string.
    #[serde(deserialize_with = "string_or_json_text")]
    pub data: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub execute_id: Option<String>,
    pub debug_url: Option<String>,
    pub usage: Option<Usage>,
    #[serde(deserialize_with = "null_default")]
    pub interrupt_data: Option<InterruptData>,
    #[serde(deserialize_with = "string_lenient")]
    pub token: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub cost: Option<String>,
}

impl RunResult {
    /// The execute id, from the field (async) or from `debug_url`'s query (sync).
    pub fn execute_id(&self) -> Option<String> {
        self.execute_id
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.debug_url.as_deref().and_then(execute_id_from_debug_url))
    }
}

/// `data` is a string in practice; if a server sends an object, keep its JSON text.
fn string_or_json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// Reads the `execute_id` query parameter of a debug URL.
pub fn execute_id_from_debug_url(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    // Coze Studio puts `execute_id=0` in the debug URL of a run refused before it started.
    parsed
        .query_pairs()
        .find(|(k, _)| k == "execute_id")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty() && v.bytes().any(|b| b != b'0'))
}

/// `execute_status` of a run history record. Coze capitalises these.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ExecuteStatus {
    #[default]
    Running,
    Success,
    Fail,
    Other(String),
}

impl<'de> Deserialize<'de> for ExecuteStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = string_lenient(d)?.unwrap_or_default();
        Ok(match s.as_str() {
            "Running" => Self::Running,
            "Success" => Self::Success,
            "Fail" => Self::Fail,
            _ => Self::Other(s),
        })
    }
}

impl Serialize for ExecuteStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ExecuteStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Running => "Running",
            Self::Success => "Success",
            Self::Fail => "Fail",
            Self::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NodeExecuteStatus {
    #[serde(deserialize_with = "id_lenient")]
    pub node_id: String,
    #[serde(deserialize_with = "null_default")]
    pub is_finish: bool,
    #[serde(deserialize_with = "int_lenient")]
    pub update_time: Option<i64>,
    #[serde(deserialize_with = "id_lenient")]
    pub node_execute_uuid: String,
    #[serde(deserialize_with = "int_lenient")]
    pub loop_index: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub batch_index: Option<i64>,
    #[serde(deserialize_with = "string_lenient")]
    pub sub_execute_id: Option<String>,
}

/// One execution, from `GET /v1/workflows/{id}/run_histories/{execute_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RunHistory {
    #[serde(deserialize_with = "id_lenient")]
    pub execute_id: String,
    pub execute_status: ExecuteStatus,
    /// 0 sync, 1 stream, 2 async.
    #[serde(deserialize_with = "int_lenient")]
    pub run_mode: Option<i64>,
    #[serde(deserialize_with = "string_lenient")]
    pub bot_id: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub connector_id: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub connector_uid: Option<String>,
    #[serde(deserialize_with = "string_or_json_text")]
    pub output: Option<String>,
    #[serde(deserialize_with = "int_lenient")]
    pub create_time: Option<i64>,
    #[serde(deserialize_with = "int_lenient")]
    pub update_time: Option<i64>,
    /// `""` on success, a numeric string (or number) on failure; kept as text, since not every
    /// server sends a number (see [`RunHistory::error_code_number`]).
    #[serde(deserialize_with = "string_lenient")]
    pub error_code: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub error_message: String,
    #[serde(deserialize_with = "null_default")]
    pub debug_url: Option<String>,
    /// The execution's own log id (not the HTTP response's).
    #[serde(deserialize_with = "string_lenient")]
    pub logid: Option<String>,
    pub usage: Option<Usage>,
    #[serde(deserialize_with = "string_lenient")]
    pub token: Option<String>,
    #[serde(deserialize_with = "string_lenient")]
    pub cost: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub is_output_trimmed: bool,
    #[serde(deserialize_with = "null_default")]
    pub node_execute_status: Map<String, Value>,
    #[serde(deserialize_with = "null_default")]
    pub interrupt_data: Option<InterruptData>,
}

impl RunHistory {
    /// The error code when it is a number.
    pub fn error_code_number(&self) -> Option<i64> {
        self.error_code.as_deref().and_then(|c| c.trim().parse().ok())
    }

    /// The error message, led by the error code when that is not a number (so it is not lost).
    pub fn error_message_with_code(&self) -> String {
        match self.error_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) if self.error_code_number().is_none() => format!("{code}: {}", self.error_message),
            _ => self.error_message.clone(),
        }
    }

    /// Node statuses keyed by node title, decoded leniently (bad entries are skipped).
    pub fn nodes(&self) -> Vec<(String, NodeExecuteStatus)> {
        self.node_execute_status
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), serde_json::from_value(v.clone()).ok()?)))
            .collect()
    }
}

/// Output of one node, from `.../execute_nodes/{node_execute_uuid}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NodeOutput {
    #[serde(deserialize_with = "null_default")]
    pub is_finish: bool,
    #[serde(deserialize_with = "string_or_json_text")]
    pub node_output: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_and_ids_accept_strings_and_numbers() {
        let w: Workflow = serde_json::from_value(json!({
            "workflow_id": 7524966123456789012u64, "workflow_name": "a",
            "created_at": "1752060786", "updated_at": 1752060827, "creator": null,
            "surprise": [1]
        }))
        .unwrap();
        assert_eq!(w.workflow_id, "7524966123456789012");
        assert_eq!(w.created_at, Some(1752060786));
        assert_eq!(w.updated_at, Some(1752060827));
        assert!(w.extra.contains_key("surprise"));
    }

    #[test]
    fn history_error_code_forms_and_unknown_status() {
        for (raw, want) in
            [(json!(""), None), (json!("720702002"), Some(720702002)), (json!(0), Some(0)), (Value::Null, None)]
        {
            let h: RunHistory = serde_json::from_value(json!({"error_code": raw, "execute_status": "Paused"})).unwrap();
            assert_eq!(h.error_code_number(), want);
            assert_eq!(h.execute_status, ExecuteStatus::Other("Paused".into()));
        }
        let h: RunHistory = serde_json::from_value(json!({})).unwrap();
        assert!(!h.is_output_trimmed);
        let h: RunHistory = serde_json::from_value(json!({"error_code": "E_TIMEOUT", "error_message": "m"})).unwrap();
        assert_eq!((h.error_code_number(), h.error_message_with_code().as_str()), (None, "E_TIMEOUT: m"));
    }

    #[test]
    fn history_output_splits_into_the_end_output_and_the_other_nodes() {
        let end = json!({"answer": "杭州"}).to_string();
        let raw = json!({"Output": end, "Message": "progress"}).to_string();
        let (out, nodes) = split_history_output(&raw);
        assert_eq!(out.as_deref(), Some(end.as_str()), "the same text a sync run gives");
        assert_eq!(nodes.unwrap()["Message"], "progress");
        let wrapped = json!({"content_type": 1, "data": end, "type_for_model": 2}).to_string();
        let (out, nodes) = split_history_output(&json!({"Output": wrapped}).to_string());
        assert_eq!((out.as_deref(), nodes), (Some(end.as_str()), None), "the docs' wrapper is unwrapped");
        // Verbatim from the run-history docs.
        let docs = r#"{"Output":"{\"content_type\":1,\"data\":\"来找姐姐有什么事呀\",\"original_result\":null,\"type_for_model\":2}"}"#;
        assert_eq!(split_history_output(docs).0.as_deref(), Some("来找姐姐有什么事呀"));
        assert_eq!(split_history_output("plain").0.as_deref(), Some("plain"));
        assert_eq!(split_history_output("{\"a\": 1}").0.as_deref(), Some("{\"a\": 1}"), "no Output: kept whole");
    }

    #[test]
    fn nested_json_is_unwrapped() {
        let inner = json!({"summary": "ok"}).to_string();
        let output = json!({"Output": inner, "note": "plain text"}).to_string();
        let decoded = decode_output(&output);
        assert_eq!(decoded, json!({"Output": {"summary": "ok"}, "note": "plain text"}));
        assert_eq!(decode_output("just text"), json!("just text"));
        assert_eq!(decode_output("{broken"), json!("{broken"));
    }

    #[test]
    fn schema_keeps_server_order() {
        let info: WorkflowInfo = serde_json::from_value(json!({
            "workflow_detail": {"workflow_id": "1"},
            "input": {"parameters": {
                "zeta": {"type": "string", "required": true},
                "alpha": {"type": "object", "properties": {"b": {"type": "integer", "default_value": 3}}},
                "mid": {"type": "array", "items": {"type": "image"}}
            }}
        }))
        .unwrap();
        let params = &info.input.unwrap().parameters;
        let names: Vec<_> = params.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["zeta", "alpha", "mid"]);
        let alpha = params.get("alpha").unwrap();
        assert_eq!(alpha.properties.as_ref().unwrap().get("b").unwrap().default_value.as_deref(), Some("3"));
    }

    #[test]
    fn execute_id_comes_from_debug_url_when_absent() {
        let r: RunResult = serde_json::from_value(json!({
            "data": "{}",
            "debug_url": "https://www.coze.cn/work_flow?execute_id=7413647890307280000&space_id=1"
        }))
        .unwrap();
        assert_eq!(r.execute_id().as_deref(), Some("7413647890307280000"));
    }

    #[test]
    fn studio_forms_and_questions_are_read() {
        let schema = json!([{"type": "string", "name": "city", "required": true}, {"type": "integer", "name": "days"}]);
        let form = InterruptData {
            data: json!({"content": schema.to_string(), "content_type": "form_schema"}).to_string(),
            kind: Some(5),
            ..Default::default()
        };
        let fields = form.form_fields().unwrap();
        assert_eq!(
            fields.iter().map(|(k, p)| (k, p.kind.as_str(), p.required)).collect::<Vec<_>>(),
            [("city", "string", true), ("days", "integer", false)]
        );
        assert_eq!(form.question().as_deref(), Some("fill in the form"));
        let ask = InterruptData {
            data: json!({"messages": [{"type": "question", "content_type": "option",
                "content": {"question": "Which city?", "options": [{"name": "杭州"}, {"name": "上海"}]}}]})
            .to_string(),
            ..Default::default()
        };
        assert_eq!(ask.question().as_deref(), Some("Which city? [杭州 / 上海]"));
        assert_eq!(execute_id_from_debug_url("http://h/work_flow?execute_id=0&space_id=0"), None);
    }

    #[test]
    fn interrupt_question_is_decoded() {
        let i = InterruptData {
            data: json!({"content_type": "text", "content": "Which city?"}).to_string(),
            ..Default::default()
        };
        assert_eq!(i.question().as_deref(), Some("Which city?"));
        assert_eq!(InterruptData::default().question(), None);
    }
}
