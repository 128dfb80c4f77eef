//! The plain commands as a user runs them: the real binary against the simulator, checking
//! output, `--json` documents, exit codes, and that the token never shows.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use coze_tui::sim::{FAIL_CODE, SimOptions, Simulator};
use serde_json::Value;
use tokio::process::Command;

/// Runs the binary with a clean environment pointed at `base` (no config file, a temp data dir).
async fn run_with(base: &str, token: Option<&str>, args: &[&str], stdin: Option<&str>, dir: &Path) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coze-tui"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("COZE_API_BASE", base)
        .env("COZE_TUI_CONFIG", dir.join("config.toml"))
        .env("COZE_TUI_DATA_DIR", dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.env("COZE_API_TOKEN", t);
    }
    output_of(cmd, stdin).await
}

struct Env {
    sim: Simulator,
    dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Self {
        Self::with(opts()).await
    }
    async fn with(o: SimOptions) -> Self {
        Self { sim: sim_with(o).await, dir: tempfile::tempdir().unwrap() }
    }
    async fn run(&self, args: &[&str]) -> Out {
        run_with(&self.sim.url(), Some(TOKEN), args, None, self.dir.path()).await
    }
    fn id(&self, name: &str) -> String {
        wf(&self.sim, name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_print_tables_and_json() {
    let env = Env::new().await;
    let out = env.run(&["workspaces"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("ID ")
            && out.stdout.contains("增长团队 Growth")
            && out.stdout.contains("🚀 Launch squad")
    );

    let out = env.run(&["workspaces", "--json"]).await;
    let list = out.json();
    assert_eq!(list.as_array().unwrap().len(), 5);
    assert!(list[0]["id"].is_string() && list[0]["name"].is_string());

    let ws = env.sim.first_workspace_id();
    let out = env.run(&["workflows", "--workspace", &ws, "--json"]).await;
    let list = out.json();
    let draft = list.as_array().unwrap().iter().find(|w| w["workflow_name"] == "draft_only").unwrap();
    assert_eq!(draft["is_published"], false);
    assert!(draft["workflow_id"].as_str().unwrap().len() == 19);
    let out = env.run(&["workflows", "--workspace", &ws, "--publish-status", "published_online"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("echo") && !out.stdout.contains("draft_only"));
    let out = env.run(&["workflows", "--workspace", &ws]).await;
    assert!(out.stdout.lines().any(|l| l.contains("draft") && l.contains("draft_only")));

    let out = env.run(&["workflow", &env.id("needs_params")]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("city") && out.stdout.contains("options.lang") && out.stdout.contains("yes"));
    let out = env.run(&["workflow", &env.id("needs_params"), "--json"]).await;
    assert_eq!(out.json()["input"]["parameters"]["days"]["type"], "integer");
    let out = env.run(&["workflow", &env.id("echo"), "--versions"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("v0.0.3") && out.stdout.contains("v0.0.1"), "{}", out.stdout);
    let out = env.run(&["workflow", &env.id("echo"), "--versions", "--json"]).await;
    assert_eq!(out.json().as_array().unwrap().len(), 3);
    let out = env.run(&["workflow", "7000000000000000001"]).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("4200") && out.stderr.contains("logid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_modes_and_their_exit_codes() {
    let env = Env::new().await;
    let out = env.run(&["run", &env.id("echo"), "--params", r#"{"input": "你好"}"#, "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["mode"].as_str()), (Some("succeeded"), Some("sync")));
    assert_eq!(r["output"]["input"], "你好");
    assert_eq!(r["workflow_name"], "echo");
    for key in [
        "id",
        "name",
        "description",
        "workflow_id",
        "workspace_id",
        "profile",
        "parameters",
        "execute_id",
        "error",
        "logid",
        "debug_url",
        "usage",
        "created_at",
        "updated_at",
        "finished_at",
    ] {
        assert!(r.get(key).is_some(), "--json lacks {key}");
    }

    let out = env.run(&["run", &env.id("echo"), "--params", r#"{"input": "human"}"#]).await;
    assert_eq!(out.code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap()["input"], "human", "stdout holds only the output");
    assert!(out.stderr.contains("succeeded"));

    let out = env.run(&["run", &env.id("fails"), "--json"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["error"]["code"].as_i64()), (Some("failed"), Some(FAIL_CODE)));
    assert!(r["logid"].is_string() && r["execute_id"].is_string());

    let out = env.run(&["run", &env.id("fails"), "--mode", "stream"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("ZeroDivisionError"));

    let out = env.run(&["run", &env.id("chatty"), "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "succeeded");
    assert!(r["execute_id"].is_string());
    let detail = env.run(&["task", r["id"].as_str().unwrap(), "--json"]).await.json();
    assert!(detail["events"].as_array().unwrap().len() > 40);
    assert_eq!(detail["history"].as_array().unwrap().len(), 3, "pending, running, succeeded");

    let out = env.run(&["run", &env.id("asks"), "--mode", "stream"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("Which city") && out.stderr.contains("coze-tui resume"));
    let out = env.run(&["run", &env.id("asks"), "--json"]).await;
    assert_eq!(out.code, 5);
    assert_eq!(out.json()["interrupt"]["interrupt_type"], 2);

    let out = env.run(&["run", &env.id("slow"), "--mode", "async", "--params", r#"{"input": "a"}"#, "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["mode"].as_str()), (Some("succeeded"), Some("async")));
    // The same output shape as a sync run; the message nodes' outputs apart.
    assert!(r["output"]["output"].as_str().unwrap().contains("finished"), "{r}");
    assert!(r["node_outputs"].as_object().is_some_and(|n| !n.is_empty()), "{r}");

    let out = env.run(&["run", &env.id("slow"), "--detach", "--json"]).await;
    assert_eq!(out.code, 0);
    let r = out.json();
    assert_eq!(r["status"], "running");
    assert!(r["execute_id"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()));

    let out = env.run(&["run", &env.id("draft_only")]).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("publish"));
    let out = env.run(&["run", &env.id("echo"), "--detach", "--mode", "stream"]).await;
    assert_eq!(out.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_exit_2_and_send_nothing() {
    let env = Env::new().await;
    let out = env.run(&["run", &env.id("echo"), "--params", "{\n  \"input\": \"x\",\n}"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 3, column 1"), "{}", out.stderr);
    let out = env.run(&["run", &env.id("echo"), "--params", "[1, 2]"]).await;
    assert_eq!(out.code, 2);
    let out = env.run(&["run", &env.id("echo"), "--params", "@/nonexistent/params.json"]).await;
    assert_eq!(out.code, 2);
    assert_eq!(env.sim.stats().by_route.values().sum::<u64>(), 0, "not a single request was sent");

    let file = env.dir.path().join("p.json");
    std::fs::write(&file, r#"{"city": "杭州", "days": 2}"#).unwrap();
    let out = env.run(&["run", &env.id("needs_params"), "--params", &format!("@{}", file.display()), "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["output"]["forecast"].as_str().unwrap().contains("杭州"));
    let out = run_with(
        &env.sim.url(),
        Some(TOKEN),
        &["run", &env.id("echo"), "--params", "-", "--json"],
        Some(r#"{"from": "stdin"}"#),
        env.dir.path(),
    )
    .await;
    assert_eq!(out.json()["output"]["from"], "stdin");
    // Checked against the input schema before sending, as the editor does.
    let before = env.sim.stats().count("POST /v1/workflow/run");
    let out = env.run(&["run", &env.id("needs_params"), "--params", r#"{"days": 2}"#]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("missing required input \"city\""), "{}", out.stderr);
    let out = env.run(&["run", &env.id("needs_params"), "--params", r#"{"city": "x", "days": "two"}"#]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("\"days\" should be"), "{}", out.stderr);
    assert_eq!(env.sim.stats().count("POST /v1/workflow/run"), before, "nothing was sent");
    let out = env.run(&["run", &env.id("echo"), "--params", r#"{"input": "x", "extra": 1}"#]).await;
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("warning: --params: \"extra\" is not an input"), "{}", out.stderr);
    // A required input with a default is only a warning (Coze may fill it in; this one does
    // not, and its 4000 is a refusal); --no-validate sends even what the schema refuses.
    let out = env.run(&["run", &env.id("needs_params"), "--params", r#"{"city": "x"}"#]).await;
    assert!(out.stderr.contains("warning: --params: missing required input \"days\""), "{}", out.stderr);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("4000") && out.stderr.contains("days"));
    let out = env.run(&["run", &env.id("needs_params"), "--params", r#"{"days": 2}"#, "--no-validate"]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    // Streamed, the same refusal comes as the stream's Error event: the same exit code.
    let args = ["run", &env.id("needs_params"), "--mode", "stream", "--params", r#"{"days": 2}"#, "--no-validate"];
    let out = env.run(&args).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
}

/// Bad input from every source: exit 2, a message naming the flag, variable or file, the
/// token never echoed, and not a single request sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_sent() {
    let env = Env::new().await;
    let echo = env.id("echo");
    let dir = env.dir.path();
    let huge = dir.join("huge.toml");
    std::fs::write(&huge, "[profiles.default]\ntimeout = 18446744073709551615\n").unwrap();
    let big_timeout = dir.join("big.toml");
    std::fs::write(&big_timeout, "[profiles.default]\nrun_timeout = 99999\n").unwrap();
    let newline_token = format!("{TOKEN}\nX");
    // (arguments, extra environment, what the message must name)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--profile", "nope", "workspaces"], vec![], "--profile"),
        (vec!["workspaces"], vec![("COZE_TUI_PROFILE", "nope")], "COZE_TUI_PROFILE"),
        (vec!["workspaces"], vec![("COZE_API_TOKEN", &newline_token)], "COZE_API_TOKEN"),
        (vec!["workspaces"], vec![("COZE_API_TOKEN", "pat_密钥")], "COZE_API_TOKEN"),
        (vec!["run", "a\u{7}b"], vec![], "WORKFLOW_ID"),
        // A name is looked up only once the rest checks out.
        (vec!["run", "no such workflow", "--params", "{bad"], vec![], "--params"),
        (vec!["run", ""], vec![], "WORKFLOW_ID"),
        (vec!["workflows", "--workspace", "abc"], vec![], "--workspace"),
        (vec!["workspaces"], vec![("COZE_TUI_LOG", "[[[==")], "COZE_TUI_LOG"),
        (vec!["--config", huge.to_str().unwrap(), "workspaces"], vec![], "timeout"),
        (vec!["--config", big_timeout.to_str().unwrap(), "workspaces"], vec![], "run_timeout"),
        (vec!["run", &echo, "--params", "@/dev/zero"], vec![], "larger than 16 MiB"),
        (vec!["tasks", "--limit", "-1"], vec![], "--limit"),
        (vec!["run", &echo, "--inputs", "-", "--concurrency", "65"], vec![], "--concurrency"),
    ];
    for (args, vars, expect) in cases {
        let mut cmd = coze_tui(&env.sim, dir, &args);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = output_of(cmd, None).await;
        assert_eq!(out.code, 2, "{args:?} {vars:?}: {}", out.stderr);
        assert!(out.stderr.contains(expect), "{args:?} {vars:?} should name {expect}: {}", out.stderr);
        // output_of checks the simulator's token; the bad one must not be echoed either.
        assert!(!out.stderr.contains("密钥"), "the token was echoed: {}", out.stderr);
    }
    assert_eq!(env.sim.stats().by_route.values().sum::<u64>(), 0, "not a single request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_name_stands_for_its_id_when_unique() {
    let env = Env::new().await;
    // Never listed yet: the name is looked up across every workspace once, then remembered.
    let out = env.run(&["run", "echo", "--params", r#"{"k": "by name"}"#, "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["workflow_id"], env.id("echo"));
    let listed = env.sim.stats().count("GET /v1/workflows");
    assert!(listed > 0, "the name was looked up in the listings");
    let out = env.run(&["workflow", "ECHO", "--json"]).await;
    assert_eq!(out.code, 0, "case is forgiven when nothing matches exactly: {}", out.stderr);
    assert_eq!(out.json()["workflow_detail"]["workflow_id"], env.id("echo"));
    assert_eq!(env.sim.stats().count("GET /v1/workflows"), listed, "remembered");
    let out = env.run(&["tasks", "--workflow", "echo", "--json"]).await;
    assert_eq!(out.json().as_array().unwrap().len(), 1, "{}", out.stdout);
    // Generic names repeat in every workspace: ambiguous, so the ids are listed instead.
    let out = env.run(&["run", "summarize_url"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("workflows are named \"summarize_url\"") && out.stderr.contains("give the id"));
    let out = env.run(&["workflow", "no such workflow"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no workflow is named"), "{}", out.stderr);
    assert_eq!(env.run(&["tasks"]).await.stdout.lines().count(), 2, "refusals are not runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_network_and_missing_token_exit_codes() {
    let env = Env::new().await;
    let dir = env.dir.path();
    let out = run_with(&env.sim.url(), Some("not-the-token"), &["workspaces"], None, dir).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("4100") && out.stderr.contains("region"));
    let out = run_with(&env.sim.url(), Some("not-the-token"), &["run", &env.id("echo"), "--json"], None, dir).await;
    assert_eq!(out.code, 3);
    assert_eq!(out.json()["error"]["code"], 4100);

    // Port 1 on loopback: nothing listens there.
    let dead = "http://127.0.0.1:1".to_string();
    for args in [&["workspaces"][..], &["run", "7524966123456700000"][..], &["health"][..]] {
        let out = run_with(&dead, Some(TOKEN), args, None, dir).await;
        assert_eq!(out.code, 4, "{args:?}: {}", out.stderr);
    }

    let out = run_with(&env.sim.url(), None, &["workspaces"], None, dir).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("COZE_API_TOKEN") && out.stderr.contains("COZE_API_BASE") && out.stderr.contains("demo"),
        "{}",
        out.stderr
    );

    let out = env.run(&["health", "--json"]).await;
    assert_eq!(out.code, 0);
    let h = out.json();
    assert_eq!(
        (h["reachable"].as_bool(), h["auth_ok"].as_bool(), h["workspaces"].as_i64()),
        (Some(true), Some(true), Some(5))
    );
    assert!(h["latency_ms"].is_u64());
    let out = run_with(&env.sim.url(), Some("nope"), &["health"], None, dir).await;
    assert_eq!(out.code, 3);
    assert!(out.stdout.contains("reachable:  yes") && out.stdout.contains("refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_falls_back_to_stream_on_a_free_plan() {
    let env = Env::with(SimOptions { free_plan: true, ..opts() }).await;
    let out = env.run(&["run", &env.id("echo"), "--mode", "async", "--params", r#"{"a": 1}"#, "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["mode"].as_str(), r["status"].as_str()), (Some("stream"), Some("succeeded")));
    assert!(r["notes"][0].as_str().unwrap().contains("6003"));
    assert_eq!(r["output"]["a"], 1);
    // A detached run cannot stay in the background as a stream: it runs to its end, and says why.
    let out = env.run(&["run", &env.id("echo"), "--detach"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("6003") && out.stderr.contains("stream (asked async)"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_commands_never_show_the_token() {
    let env = Env::new().await;
    let out = env.run(&["config", "show"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("<redacted> (from environment)"), "{}", out.stdout);
    let out = env.run(&["config", "show", "--json"]).await;
    assert_eq!(out.json()["api_token"], "<redacted>");

    let out = env.run(&["config", "init"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = env.dir.path().join("config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(env.run(&["config", "init"]).await.code, 2, "no silent overwrite");
    let out = env.run(&["config", "path", "--json"]).await;
    assert_eq!(out.json()["config_exists"], true);

    std::fs::write(&path, "[profiles.default]\nbase_url = \"https://api.coze.cn\"\nmax_retries = \"many\"\n").unwrap();
    let out = env.run(&["workspaces"]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("config.toml") && out.stderr.contains("line 3") && out.stderr.contains("max_retries"),
        "{}",
        out.stderr
    );

    std::fs::write(&path, format!("[profiles.work]\napi_token = \"{TOKEN}\"\nbase_url = \"{}\"\n", env.sim.url()))
        .unwrap();
    let out = run_with("", None, &["--profile", "work", "workspaces", "--json"], None, env.dir.path()).await;
    assert_eq!(out.code, 0, "a token from the file works: {}", out.stderr);
    let out = run_with("", None, &["--profile", "work", "config", "show"], None, env.dir.path()).await;
    assert!(out.stdout.contains("<redacted> (from config file)"));
    let out = run_with("", None, &["--profile", "home", "workspaces"], None, env.dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("\"home\"") && out.stderr.contains("work"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_command_announces_its_address_first() {
    use tokio::io::AsyncBufReadExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_coze-tui"))
        .args(["sim", "--addr", "127.0.0.1:0", "--token", "T"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let url = first.strip_prefix("listening on ").expect("first line announces the address");
    let body: Value = reqwest::Client::new()
        .get(format!("{url}/v1/workspaces"))
        .bearer_auth("T")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["code"], 0);
    assert_eq!(body["data"]["total_count"], 5);
    child.kill().await.unwrap();
}

/// `coze-tui task ID | head -c 100`: the reader goes away early; coze-tui ends as `ls | head`
/// does (SIGPIPE), with no panic report.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use tokio::io::AsyncReadExt;
    let env = Env::new().await;
    let big = env.run(&["run", &env.id("big"), "--json"]).await;
    assert_eq!(big.code, 0, "{}", big.stderr);
    let id = big.json()["id"].as_str().unwrap().to_string();
    let mut child = coze_tui(&env.sim, env.dir.path(), &["task", &id]).stdin(Stdio::null()).spawn().unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).await.unwrap(); // then the pipe closes
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "status {:?}; stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `coze-tui run … --mode stream 2>&1 | head`: the reader goes away mid-stream; the run still
/// finishes and is recorded (only then may the process end).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_mid_stream_still_records_the_run() {
    use tokio::io::AsyncReadExt;
    let env = Env::with(SimOptions { chatty_messages: 400, chatty_interval_ms: 2, ..opts() }).await;
    let args = ["run", &env.id("chatty"), "--mode", "stream"];
    let mut child = coze_tui(&env.sim, env.dir.path(), &args).stdin(Stdio::null()).spawn().unwrap();
    let mut head = [0u8; 200];
    child.stderr.take().unwrap().read_exact(&mut head).await.unwrap(); // the messages, then gone
    drop(child.stdout.take());
    let _ = child.wait().await.unwrap();
    let tasks = env.run(&["tasks", "--json"]).await.json();
    assert_eq!(tasks[0]["status"], "succeeded", "{tasks}");
    assert!(tasks[0]["output"]["output"].as_str().unwrap().contains("chunk 399"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_man_page_come_from_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    // No token, no config: they need neither.
    let bash = run_with("http://127.0.0.1:1", None, &["completions", "bash"], None, dir.path()).await;
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    assert!(bash.stdout.contains("--inputs") && bash.stdout.contains("watch"), "every command and flag");
    // Bash accepts the script and registers it.
    let script = dir.path().join("coze-tui.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let loaded = std::process::Command::new("bash")
        .args(["--norc", "-c", &format!("source {} && complete -p coze-tui", script.display())])
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("coze-tui"));
    for shell in ["zsh", "fish"] {
        let out = run_with("http://127.0.0.1:1", None, &["completions", shell], None, dir.path()).await;
        assert!(out.code == 0 && out.stdout.contains("watch"), "{shell}: {}", out.stderr);
    }
    let bad = run_with("http://127.0.0.1:1", None, &["completions", "tcsh"], None, dir.path()).await;
    assert_eq!(bad.code, 2);
    let man = run_with("http://127.0.0.1:1", None, &["man"], None, dir.path()).await;
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(man.stdout.contains(".TH coze-tui 1") && man.stdout.contains("COZE_API_TOKEN"), "{}", man.stdout);
}
