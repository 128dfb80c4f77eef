//! Executions: what each catalogue workflow produces, how runs progress over time, and how
//! they look in run history and in an event stream.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Stats;
use super::catalogue::{Behaviour, FAIL_CODE, FAIL_MESSAGE, SimWorkflow, form_fields, input_for, validate_params};
use super::faults::FaultRule;

/// The code a run ends with when its question was not answered within `max_answers`.
pub const ASK_LIMIT_CODE: i64 = 720702085;

pub(crate) struct Inner {
    next_id: u64,
    pub executions: HashMap<String, Execution>,
    pub stats: Stats,
    pub script: Vec<FaultRule>,
    pub window: VecDeque<Instant>,
    pub rng: StdRng,
    /// Uploaded files by id: (file name, bytes).
    pub files: HashMap<String, (String, u64)>,
    /// Conversations by id: the user's messages so far.
    pub conversations: HashMap<String, Vec<String>>,
    pub oauth: super::oauth::OAuthState,
}

impl Inner {
    pub fn new(seed: u64) -> Self {
        Self {
            next_id: 0,
            executions: HashMap::new(),
            stats: Stats::default(),
            script: Vec::new(),
            window: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            files: HashMap::new(),
            conversations: HashMap::new(),
            oauth: Default::default(),
        }
    }

    /// A 19-digit id, unique within this simulator.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("7{:018}", 431_040_978_805_850_000u64 + self.next_id)
    }

    /// A log id as Coze's look (34 characters): the UTC time as `YYYYMMDDhhmmss` and 20 hex
    /// digits.
    pub fn new_logid(&mut self) -> String {
        self.next_id += 1;
        logid_with((self.next_id as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))
    }
}

/// `YYYYMMDDhhmmss` (UTC) and the low 80 bits of `n` as 20 hex digits.
pub fn logid_with(n: u128) -> String {
    let now = jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string();
    format!("{now}{:020X}", n & ((1u128 << 80) - 1))
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Still producing (a stream in flight).
    Running,
    Success {
        data: String,
    },
    Fail {
        code: i64,
        message: String,
    },
    Interrupted {
        event_id: String,
        question: String,
        /// An input node (type 5) asking for `form_fields`, not a question (type 2).
        form: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub workspace_id: String,
    /// 0 sync, 1 stream, 2 async.
    pub run_mode: i64,
    pub create_time: i64,
    pub update_time: i64,
    /// Before this instant an async run shows `Running` whatever its outcome.
    pub ready_at: Instant,
    pub outcome: Outcome,
    pub logid: String,
    /// Output nodes: (title, node_execute_uuid, output).
    pub nodes: Vec<(String, String, String)>,
    pub answers: u32,
    pub interrupts: u32,
}

impl Execution {
    pub fn debug_url(&self, base: &str) -> String {
        format!(
            "{base}/work_flow?execute_id={}&space_id={}&workflow_id={}",
            self.id, self.workspace_id, self.workflow_id
        )
    }

    /// What the run shows at `now`: an async run is running until `ready_at`, whatever its
    /// outcome.
    pub fn shown_at(&self, now: Instant) -> &Outcome {
        static RUNNING: Outcome = Outcome::Running;
        if now < self.ready_at { &RUNNING } else { &self.outcome }
    }

    /// The record `GET .../run_histories/{execute_id}` returns.
    pub fn history_json(&self, base: &str, now: Instant) -> Value {
        let (status, output, error_code, error_message, interrupt) = match self.shown_at(now) {
            Outcome::Running => ("Running", "", String::new(), String::new(), Value::Null),
            Outcome::Success { data } => ("Success", data.as_str(), String::new(), String::new(), Value::Null),
            Outcome::Fail { code, message } => ("Fail", "", code.to_string(), message.clone(), Value::Null),
            Outcome::Interrupted { event_id, question, form } => {
                ("Running", "", String::new(), String::new(), interrupt_json(event_id, question, *form))
            }
        };
        let output = if status == "Success" {
            let mut m = Map::new();
            m.insert("Output".into(), Value::String(output.to_string()));
            for (title, _, out) in &self.nodes {
                m.insert(title.clone(), Value::String(out.clone()));
            }
            Value::Object(m).to_string()
        } else {
            String::new()
        };
        let nodes: Map<String, Value> = self
            .nodes
            .iter()
            .map(|(title, uuid, _)| {
                (
                    title.clone(),
                    json!({"node_id": "135279", "is_finish": status != "Running", "update_time": self.update_time,
                    "node_execute_uuid": uuid, "loop_index": null, "batch_index": null, "sub_execute_id": null}),
                )
            })
            .collect();
        json!({
            "execute_id": self.id, "execute_status": status, "run_mode": self.run_mode,
            "bot_id": "0", "connector_id": "1024", "connector_uid": "2236870734640000",
            "output": output, "create_time": self.create_time, "update_time": self.update_time,
            "error_code": error_code, "error_message": error_message,
            "debug_url": self.debug_url(base), "logid": self.logid,
            "usage": {"input_count": 50, "output_count": 100, "token_count": 150},
            "token": "150", "cost": "0.00000", "is_output_trimmed": false,
            "node_execute_status": nodes, "interrupt_data": interrupt,
        })
    }
}

pub fn interrupt_json(event_id: &str, question: &str, form: bool) -> Value {
    if form {
        return json!({
            "event_id": event_id, "type": 5,
            "data": json!({"content_type": "form_schema", "content": question,
                           "fields": [{"name": "city", "type": "string"}, {"name": "days", "type": "integer"}]}).to_string(),
            "required_parameters": form_fields(),
        });
    }
    json!({
        "event_id": event_id, "type": 2,
        "data": json!({"content_type": "text", "content": question}).to_string(),
    })
}

pub const FORM_QUESTION: &str = "Fill in the forecast form 请填写表单";

pub const QUESTION: &str = "Which city do you want the weather for? 想查哪个城市的天气？";

/// The finished result of a run, decided when it starts.
pub struct Planned {
    pub outcome: Outcome,
    /// How long the run takes before its outcome is visible.
    pub duration: Duration,
    pub nodes: Vec<(String, String, String)>,
}

/// What a workflow does with these parameters. `Err` is a 4000 refusal before anything runs.
pub fn plan(
    wf: &SimWorkflow,
    params: &Map<String, Value>,
    version: Option<&str>,
    opts: &super::SimOptions,
    inner: &mut Inner,
) -> Result<Planned, String> {
    let schema = input_for(wf, version)?;
    let progress = |inner: &mut Inner, text: String| {
        vec![("Progress".to_string(), format!("7{:018}", inner.rng.random_range(10u64.pow(17)..10u64.pow(18))), text)]
    };
    let quick = Duration::from_millis(opts.async_ms);
    let planned = match wf.behaviour {
        Behaviour::Echo | Behaviour::Generic => Planned {
            outcome: Outcome::Success { data: Value::Object(params.clone()).to_string() },
            duration: quick,
            nodes: progress(inner, format!("received {} parameter(s)", params.len())),
        },
        Behaviour::Slow => Planned {
            outcome: Outcome::Success {
                data: json!({"output": format!("finished after {} ms", opts.slow_ms), "input": params}).to_string(),
            },
            duration: Duration::from_millis(opts.slow_ms).max(quick),
            nodes: progress(inner, "step 5/5 done".into()),
        },
        Behaviour::Fails => Planned {
            outcome: Outcome::Fail { code: FAIL_CODE, message: FAIL_MESSAGE.into() },
            duration: quick,
            nodes: vec![],
        },
        Behaviour::Asks => Planned {
            outcome: Outcome::Interrupted { event_id: String::new(), question: QUESTION.into(), form: false },
            duration: quick,
            nodes: vec![],
        },
        // Its answer is made by the chat endpoint, which knows the conversation.
        Behaviour::Chat => {
            Planned { outcome: Outcome::Success { data: String::new() }, duration: quick, nodes: vec![] }
        }
        Behaviour::Form => Planned {
            outcome: Outcome::Interrupted { event_id: String::new(), question: FORM_QUESTION.into(), form: true },
            duration: quick,
            nodes: vec![],
        },
        Behaviour::Files => {
            validate_params(&schema, params)?;
            let mut described = vec![];
            for (input, value) in params {
                let values = match value {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                for v in values {
                    described.push(describe_file(input, &v, &inner.files)?);
                }
            }
            Planned {
                outcome: Outcome::Success { data: json!({"files": described}).to_string() },
                duration: quick,
                nodes: progress(inner, format!("{} file(s) read", described.len())),
            }
        }
        Behaviour::Versioned => {
            validate_params(&schema, params)?;
            let text = params.get("text").and_then(Value::as_str).unwrap_or("");
            let version = version.unwrap_or("latest");
            Planned {
                outcome: Outcome::Success {
                    data: json!({"version": version, "output": format!("[{version}] {text}")}).to_string(),
                },
                duration: quick,
                nodes: progress(inner, format!("ran {version}")),
            }
        }
        Behaviour::Big => Planned {
            outcome: Outcome::Success { data: json!({"output": big_text(opts.big_bytes)}).to_string() },
            duration: quick,
            nodes: vec![],
        },
        Behaviour::Chatty => Planned {
            outcome: Outcome::Success { data: json!({"output": chatty_text(opts.chatty_messages)}).to_string() },
            duration: quick.max(Duration::from_millis(opts.chatty_interval_ms * opts.chatty_messages as u64)),
            nodes: progress(inner, format!("{} chunks", opts.chatty_messages)),
        },
        Behaviour::NeedsParams => {
            validate_params(&wf.input, params)?;
            let city = params.get("city").and_then(Value::as_str).unwrap_or("?");
            let days = params.get("days").and_then(Value::as_i64).unwrap_or(0);
            Planned {
                outcome: Outcome::Success {
                    data: json!({"forecast": format!("Sunny in {city} for the next {days} day(s) ☀️"), "days": days})
                        .to_string(),
                },
                duration: quick,
                nodes: progress(inner, format!("forecast for {city}")),
            }
        }
    };
    Ok(planned)
}

/// One file input's value as the `files` workflow reads it: an uploaded file's id in the
/// documented `{"file_id":…}` *string*, or a URL. An object is refused (4000), as Coze does.
fn describe_file(input: &str, v: &Value, files: &HashMap<String, (String, u64)>) -> Result<Value, String> {
    let Some(text) = v.as_str() else {
        return Err(format!(
            "Parameter '{input}' is a file: pass a URL or a JSON string {{\"file_id\":\"…\"}}, not {v}"
        ));
    };
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(json!({"input": input, "url": text}));
    }
    let id = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|p| p.get("file_id").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| format!("Parameter '{input}' is not a file URL or {{\"file_id\"}} string: {text:?}"))?;
    let (name, bytes) = files.get(&id).ok_or_else(|| format!("Parameter '{input}': file {id} does not exist"))?;
    Ok(json!({"input": input, "file_id": id, "file_name": name, "bytes": bytes}))
}

fn chatty_chunk(i: usize) -> String {
    format!("chunk {i}: the quick brown fox 敏捷的棕色狐狸 🦊 ")
}

fn chatty_text(n: usize) -> String {
    (0..n).map(chatty_chunk).collect()
}

fn big_text(bytes: usize) -> String {
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit — 大输出测试 — ";
    let mut s = String::with_capacity(bytes + 128);
    let mut n = 0;
    while s.len() < bytes {
        s.push_str(&format!("{n:06} {line}\n"));
        n += 1;
    }
    s
}

/// One event of a simulated stream: the pause before it, its name and data.
pub struct Step {
    pub delay: Duration,
    pub event: &'static str,
    pub data: Value,
}

fn msg(content: impl Into<String>, node: &str, seq: usize, finish: bool) -> Value {
    json!({"content": content.into(), "content_type": "text", "node_title": node, "node_seq_id": seq.to_string(),
           "node_is_finish": finish, "node_id": "112233", "node_execute_uuid": "7811200000000000001"})
}

fn end_message(data: &str) -> Value {
    json!({"content": data, "content_type": "text", "node_title": "End", "node_seq_id": "0", "node_is_finish": true,
           "cost": "0.00", "token": 138, "usage": {"input_count": 120, "output_count": 18, "token_count": 138}})
}

/// The events a streamed run sends for a planned outcome (Done is appended by the sender).
pub fn stream_steps(wf: &SimWorkflow, planned: &Planned, opts: &super::SimOptions) -> Vec<Step> {
    let now = Duration::ZERO;
    let mut steps = Vec::new();
    match wf.behaviour {
        Behaviour::Chatty => {
            for i in 0..opts.chatty_messages {
                if i > 0 && i % 10 == 0 {
                    steps.push(Step { delay: now, event: "PING", data: json!({"content": "{}"}) });
                }
                let last = i + 1 == opts.chatty_messages;
                steps.push(Step {
                    delay: Duration::from_millis(opts.chatty_interval_ms),
                    event: "Message",
                    data: msg(chatty_chunk(i), "Chatter", i, last),
                });
            }
        }
        Behaviour::Slow => {
            let step = Duration::from_millis(opts.slow_ms / 5);
            for i in 0..5 {
                steps.push(Step {
                    delay: step,
                    event: "Message",
                    data: msg(format!("step {}/5", i + 1), "Progress", i, i == 4),
                });
            }
        }
        Behaviour::Generic => {
            for i in 0..3 {
                steps.push(Step {
                    delay: Duration::from_millis(50),
                    event: "Message",
                    data: msg(format!("working… {}/3", i + 1), "Progress", i, i == 2),
                });
            }
        }
        _ => {}
    }
    match &planned.outcome {
        Outcome::Success { data } => steps.push(Step { delay: now, event: "Message", data: end_message(data) }),
        Outcome::Fail { code, message } => {
            steps.push(Step { delay: now, event: "Message", data: msg("running the Code node…", "Code", 0, true) });
            steps.push(Step {
                delay: Duration::from_millis(20),
                event: "Error",
                data: json!({"error_code": code, "error_message": message}),
            });
        }
        Outcome::Interrupted { event_id, question, form } => {
            let node = if *form { "Input" } else { "Ask" };
            steps.push(Step {
                delay: Duration::from_millis(20),
                event: "Message",
                data: msg(question.clone(), node, 0, true),
            });
            let mut data = interrupt_json(event_id, question, *form);
            if !form {
                // Streams carry the question in the Message before, not in `data`.
                data["data"] = json!("");
            }
            steps.push(Step {
                delay: now,
                event: "Interrupt",
                data: json!({"interrupt_data": data, "node_title": node}),
            });
        }
        Outcome::Running => {}
    }
    steps
}

/// Applies an answer to an interrupted execution. Returns the new outcome, or a Coze error.
pub fn answer(
    exec: &mut Execution,
    event_id: &str,
    resume_data: &str,
    max_answers: u32,
) -> Result<Outcome, (i64, String)> {
    let Outcome::Interrupted { event_id: current, question, form } = &exec.outcome else {
        return Err((4315, "the execution has already finished and cannot be resumed".into()));
    };
    if current != event_id {
        return Err((4000, format!("event_id {event_id} does not match the pending interrupt")));
    }
    exec.answers += 1;
    exec.update_time = unix_now();
    let filled = if *form { form_answer(resume_data) } else { None };
    let outcome = if let Some(data) = filled {
        Outcome::Success { data }
    } else if !form && !resume_data.trim().is_empty() {
        Outcome::Success {
            data: json!({"answer": resume_data, "output": format!("You said {resume_data}")}).to_string(),
        }
    } else if exec.answers >= max_answers {
        Outcome::Fail {
            code: ASK_LIMIT_CODE,
            message: format!("the question was not answered after {max_answers} attempts"),
        }
    } else {
        exec.interrupts += 1;
        Outcome::Interrupted {
            event_id: format!("{}/{}", exec.id, exec.interrupts),
            question: question.clone(),
            form: *form,
        }
    };
    exec.outcome = outcome.clone();
    Ok(outcome)
}

/// The form's answer when it has every field with the right type (else the node asks again).
fn form_answer(resume_data: &str) -> Option<String> {
    let v: Value = serde_json::from_str(resume_data).ok()?;
    let city = v.get("city")?.as_str().filter(|c| !c.trim().is_empty())?;
    let days = v.get("days")?.as_i64()?;
    Some(
        json!({"city": city, "days": days, "output": format!("Forecast for {city}: {days} day(s) of sun")}).to_string(),
    )
}
