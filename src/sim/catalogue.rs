//! The simulator's workspaces and workflows (DESIGN.md §3): the named test workflows in the
//! first workspace, plus generic ones with Chinese, English, emoji and very long names.

use serde_json::{Value, json};

use super::SimOptions;

/// What a workflow does when run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Output = the input parameters.
    Echo,
    /// Takes `slow_ms`.
    Slow,
    /// Ends with a workflow error.
    Fails,
    /// Asks a question, interrupts, finishes with the answer.
    Asks,
    /// About `big_bytes` of output.
    Big,
    /// Streams `chatty_messages` messages.
    Chatty,
    /// Has required typed inputs; runs without them fail with 4000.
    NeedsParams,
    /// Like echo, with a few progress messages.
    Generic,
    /// Takes an image and a list of files (`{"file_id"}` strings of uploads, or URLs) and
    /// describes them.
    Files,
    /// Stops at an input node (interrupt type 5) asking for a form of fields.
    Form,
    /// Has published versions whose input schemas differ; runs the one asked for.
    Versioned,
    /// A chatflow: answers each message of a conversation, remembering the first.
    Chat,
}

#[derive(Debug, Clone)]
pub struct SimWorkspace {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub role: &'static str,
}

#[derive(Debug, Clone)]
pub struct SimWorkflow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub workspace_id: String,
    pub behaviour: Behaviour,
    pub published: bool,
    pub created_at: i64,
    pub input: Value,
    pub output: Value,
}

/// The error code and message the `fails` workflow ends with.
pub const FAIL_CODE: i64 = 720702002;
/// The catalogue's named workflows (DESIGN.md §3), each with its own behaviour.
pub const NAMED_WORKFLOWS: [&str; 12] = [
    "echo",
    "slow",
    "fails",
    "asks",
    "big",
    "chatty",
    "needs_params",
    "draft_only",
    "files",
    "form",
    "versioned",
    "chatflow",
];
pub const FAIL_MESSAGE: &str = "node 'Code' failed: ZeroDivisionError: division by zero";

pub struct Catalogue {
    pub workspaces: Vec<SimWorkspace>,
    pub workflows: Vec<SimWorkflow>,
}

fn ws_id(n: usize) -> String {
    format!("74876004423701{:05}", n)
}

fn wf_id(n: usize) -> String {
    format!("75249661234567{:05}", n)
}

const NAMED_WORKSPACES: [(&str, &str, &str); 5] = [
    ("Demo workspace · 演示空间", "personal", "owner"),
    ("增长团队 Growth", "team", "admin"),
    ("🚀 Launch squad", "team", "member"),
    (
        "A workspace with a remarkably long name that keeps going well past any column width — 一个名字非常非常长的团队空间",
        "team",
        "member",
    ),
    ("Data & Ops 数据运维 📊", "team", "member"),
];

const GENERIC_NAMES: [&str; 6] = [
    "summarize_url",
    "翻译助手_translate",
    "weather_report_☀️",
    "image_batch_🖼️_resize",
    "customer_feedback_classifier_with_a_very_long_descriptive_name_v2",
    "日报生成器",
];

impl Catalogue {
    pub fn build(opts: &SimOptions) -> Self {
        let mut workspaces = Vec::new();
        for n in 0..opts.workspaces.max(1) {
            let (name, kind, role) = NAMED_WORKSPACES
                .get(n)
                .map(|(a, b, c)| (a.to_string(), *b, *c))
                .unwrap_or_else(|| (format!("Workspace {n:03}"), "team", "member"));
            workspaces.push(SimWorkspace { id: ws_id(n), name, kind, role });
        }
        let mut workflows = Vec::new();
        let mut next = 0usize;
        let mut add =
            |workflows: &mut Vec<SimWorkflow>, ws: &str, name: String, desc: &str, b: Behaviour, published: bool| {
                let (input, output) = schema(b);
                workflows.push(SimWorkflow {
                    id: wf_id(next),
                    name,
                    description: desc.to_string(),
                    workspace_id: ws.to_string(),
                    behaviour: b,
                    published,
                    created_at: 1_752_060_786 + next as i64 * 3_600,
                    input,
                    output,
                });
                next += 1;
            };
        let first = workspaces[0].id.clone();
        let named: [(&str, &str, Behaviour, bool); 8] = [
            ("echo", "Returns its input parameters as its output", Behaviour::Echo, true),
            ("slow", "Takes a few seconds before it answers", Behaviour::Slow, true),
            ("fails", "Always ends with a workflow error", Behaviour::Fails, true),
            ("asks", "Asks a question and finishes with the answer", Behaviour::Asks, true),
            ("big", "Produces about 1 MB of output", Behaviour::Big, true),
            ("chatty", "Streams many messages", Behaviour::Chatty, true),
            ("needs_params", "Weather forecast: needs a city and a number of days", Behaviour::NeedsParams, true),
            ("draft_only", "Never published: running it gives 4200", Behaviour::Echo, false),
        ];
        for (name, desc, b, published) in named {
            add(&mut workflows, &first, name.to_string(), desc, b, published);
        }
        // After every other workflow, so the ids of those stay what they were.
        let inputs: [(&str, &str, Behaviour); 4] = [
            ("files", "Describes an image and a list of files", Behaviour::Files),
            ("form", "Stops at an input node that asks for a city and a number of days", Behaviour::Form),
            ("versioned", "Three published versions with different inputs", Behaviour::Versioned),
            ("chatflow", "A chatflow: talks in conversations (coze-tui chat)", Behaviour::Chat),
        ];
        for (ws_index, ws) in workspaces.iter().enumerate() {
            let count = if ws_index == 0 { opts.generic_workflows } else { opts.workflows_per_workspace };
            for i in 0..count {
                let base = GENERIC_NAMES[i % GENERIC_NAMES.len()];
                let name = if i < GENERIC_NAMES.len() { base.to_string() } else { format!("{base}_{i}") };
                add(
                    &mut workflows,
                    &ws.id,
                    name,
                    "A generic workflow: echoes its input after a few steps",
                    Behaviour::Generic,
                    true,
                );
            }
        }
        for (name, desc, b) in inputs {
            add(&mut workflows, &first, name.to_string(), desc, b, true);
        }
        Self { workspaces, workflows }
    }

    pub fn workflow(&self, id: &str) -> Option<&SimWorkflow> {
        self.workflows.iter().find(|w| w.id == id)
    }

    pub fn workspace(&self, id: &str) -> Option<&SimWorkspace> {
        self.workspaces.iter().find(|w| w.id == id)
    }
}

/// Input and output schemas, in the shape of `GET /v1/workflows/{id}?include_input_output=true`.
fn schema(b: Behaviour) -> (Value, Value) {
    let text_in = json!({"parameters": {"input": {"type": "string", "required": false, "description": "Any text", "default_value": "hello"}}});
    let text_out = json!({"terminate_plan": "return_variables", "parameters": {"output": {"type": "string"}}});
    match b {
        Behaviour::NeedsParams => (
            json!({"parameters": {
                "city": {"type": "string", "required": true, "description": "City name, e.g. 杭州 or Berlin"},
                "days": {"type": "integer", "required": true, "description": "Days to forecast (1-7)", "default_value": "3"},
                "units": {"type": "string", "required": false, "description": "metric or imperial", "default_value": "metric"},
                "detailed": {"type": "boolean", "required": false, "default_value": "false"},
                "options": {"type": "object", "required": false, "description": "Extra options", "properties": {
                    "lang": {"type": "string", "required": false, "default_value": "en"},
                    "max_alerts": {"type": "number", "required": false}
                }},
                "tags": {"type": "array", "required": false, "items": {"type": "string"}}
            }}),
            json!({"terminate_plan": "return_variables", "parameters": {"forecast": {"type": "string"}, "days": {"type": "integer"}}}),
        ),
        Behaviour::Files => (
            json!({"parameters": {
                "photo": {"type": "image", "required": true, "description": "A picture to describe"},
                "attachments": {"type": "array", "required": false, "items": {"type": "file"}, "description": "Any documents"}
            }}),
            json!({"terminate_plan": "return_variables", "parameters": {"files": {"type": "array", "items": {"type": "object"}}}}),
        ),
        Behaviour::Versioned => {
            let (_, latest) = versions().pop().expect("versions");
            (latest, text_out)
        }
        Behaviour::Chat => (
            json!({"parameters": {
                "USER_INPUT": {"type": "string", "required": false},
                "CONVERSATION_NAME": {"type": "string", "required": false, "default_value": ""},
                "tone": {"type": "string", "required": false, "default_value": "friendly"}
            }}),
            json!({"terminate_plan": "use_answer_content", "content": "{{reply}}", "parameters": {"reply": {"type": "string"}}}),
        ),
        Behaviour::Asks | Behaviour::Form => (
            json!({"parameters": {}}),
            json!({"terminate_plan": "use_answer_content", "content": "You said {{answer}}", "parameters": {"answer": {"type": "string"}}}),
        ),
        _ => (text_in, text_out),
    }
}

/// The published versions of `versioned`, oldest first: each changes the inputs (added,
/// removed, retyped), so a client can show what changed and check against the right one.
pub fn versions() -> Vec<(&'static str, Value)> {
    vec![
        ("v0.0.1", json!({"parameters": {"text": {"type": "string", "required": true}, "count": {"type": "string"}}})),
        (
            "v0.0.2",
            json!({"parameters": {
                "text": {"type": "string", "required": true},
                "count": {"type": "integer", "description": "How many words"},
                "lang": {"type": "string", "default_value": "en"}
            }}),
        ),
        (
            "v0.0.3",
            json!({"parameters": {
                "text": {"type": "string", "required": true},
                "lang": {"type": "string", "default_value": "en"},
                "style": {"type": "string", "required": true, "description": "short or long"}
            }}),
        ),
    ]
}

/// Every published version of a workflow with its input schema, oldest first: `versioned`'s
/// differ; any other has three with its one schema.
pub fn versions_of(wf: &SimWorkflow) -> Vec<(String, Value)> {
    match wf.behaviour {
        Behaviour::Versioned => versions().into_iter().map(|(v, s)| (v.to_string(), s)).collect(),
        _ => (1..=3).map(|v| (format!("v0.0.{v}"), wf.input.clone())).collect(),
    }
}

/// The input schema a run of `version` (or the latest) is checked against; an unknown
/// version is refused as Coze refuses it.
pub fn input_for(wf: &SimWorkflow, version: Option<&str>) -> Result<Value, String> {
    match version {
        None => Ok(wf.input.clone()),
        Some(v) => versions_of(wf)
            .into_iter()
            .find(|(name, _)| name == v)
            .map(|(_, schema)| schema)
            .ok_or_else(|| format!("workflow version {v} does not exist")),
    }
}

/// The fields the `form` workflow's input node asks for (`required_parameters`).
pub fn form_fields() -> Value {
    json!({
        "city": {"type": "string", "required": true, "description": "City name"},
        "days": {"type": "integer", "required": true, "description": "Days to forecast (1-7)"}
    })
}

/// Checks parameters against a `needs_params`-style schema the way Coze does: missing required
/// inputs and wrong JSON types give 4000 with a message naming the input.
pub fn validate_params(input_schema: &Value, params: &serde_json::Map<String, Value>) -> Result<(), String> {
    let Some(spec) = input_schema.get("parameters").and_then(Value::as_object) else { return Ok(()) };
    let missing: Vec<String> = spec
        .iter()
        .filter(|(k, v)| {
            v.get("required").and_then(Value::as_bool) == Some(true) && params.get(*k).is_none_or(Value::is_null)
        })
        .map(|(k, _)| format!("'{k}'"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("Missing required parameters: {}", missing.join(", ")));
    }
    for (k, v) in params {
        let Some(kind) = spec.get(k).and_then(|s| s.get("type")).and_then(Value::as_str) else { continue };
        let ok = match kind {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => true,
        };
        if !ok && !v.is_null() {
            return Err(format!("Parameter '{k}' should be of type {kind}, got {v}"));
        }
    }
    Ok(())
}
