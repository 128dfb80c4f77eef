//! A self-hosted Coze Studio: the simulator's Studio mode (its routes, envelopes, headers,
//! codes and streams), driven through the client and the binary as users would.

mod common;

use common::*;
use coze_tui::coze::{ErrorKind, ExecuteStatus, RunRequest, Server};
use coze_tui::sim::{Fault, FaultRule, SimOptions, Simulator, WEB_UI};

fn studio_opts() -> SimOptions {
    SimOptions { server: Server::Studio, ..opts() }
}

async fn studio() -> Simulator {
    sim_with(studio_opts()).await
}

async fn run_cli(sim: &Simulator, dir: &std::path::Path, args: &[&str]) -> Out {
    output_of(coze_tui(sim, dir, args), None).await
}

/// A UUID, as Studio's `X-Log-ID` is.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_learns_it_is_a_studio_and_reads_its_history() {
    let sim = studio().await;
    let c = client(&sim);
    assert_eq!(c.server(), None, "nothing said yet");
    let req = RunRequest { workflow_id: wf(&sim, "echo"), ..RunRequest::default() };
    let started = c.run_async(&req).await.unwrap();
    assert_eq!(c.server(), Some(Server::Studio), "learned from the first answer's X-Log-ID");
    assert!(started.logid.as_deref().is_some_and(is_uuid), "{:?}", started.logid);
    let eid = started.value.execute_id().unwrap();
    assert!(eid.parse::<u64>().unwrap() > 1 << 53, "an id a float would round");
    let h = loop {
        let h = c.run_history(&req.workflow_id, &eid).await.unwrap().value;
        if h.execute_status != ExecuteStatus::Running {
            break h;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(h.execute_id, eid, "the int64 id is kept exact");
    assert_eq!(h.execute_status, ExecuteStatus::Success);
    assert!(h.logid.as_deref().is_some_and(is_uuid), "Studio's log_id: {:?}", h.logid);
    assert_eq!(h.logid, started.logid, "the run's log id is the X-Log-ID of the reply that started it");
    let stats = sim.stats();
    assert!(stats.count("GET /v1/workflow/get_run_history") >= 1, "polled at Studio's path");
    assert_eq!(stats.count("GET /v1/workflows/{id}/run_histories/{eid}"), 0, "never at hosted Coze's");

    // An unknown execute id: Studio's 777777775, read as "no such execution".
    let e = c.run_history(&req.workflow_id, "7000000000000000001").await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::ExecutionNotFound, Some(777777775)));
    // What Studio cannot do is refused before anything is sent, in one sentence.
    let before = sim.stats().by_route.values().sum::<u64>();
    for e in [
        c.list_workspaces().await.unwrap_err(),
        c.workflow_versions(&req.workflow_id, Default::default()).await.unwrap_err(),
        c.run(&RunRequest { workflow_version: Some("v1".into()), ..req.clone() }).await.unwrap_err(),
    ] {
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert!(e.message.starts_with("Coze Studio "), "{}", e.message);
    }
    assert_eq!(sim.stats().by_route.values().sum::<u64>(), before, "nothing was sent");
    // A fresh client, its first request a streamed run of a version: it asks what the server
    // is first, and refuses rather than run the latest as that version.
    let fresh = client(&sim);
    let versioned = RunRequest { workflow_version: Some("v0.0.1".into()), ..req.clone() };
    let e = fresh.stream_run(&versioned).await.err().expect("refused");
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert_eq!(sim.stats().runs_started, 1, "only the async run above");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_ui_route_is_not_an_authentication_problem() {
    let sim = studio().await;
    let c = client(&sim);
    // The profile does not say, and the first request is one Studio keeps for its web UI.
    let e = c.list_workspaces().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert!(e.message.contains("no workspace list"), "{}", e.message);
    assert_eq!(c.server(), Some(Server::Studio));
    // A bad token is Studio's 700012006 under HTTP 200, with a hint about Studio's tokens.
    let bad = client_with(&sim, |o| o.token = coze_tui::secret::Secret::new("nope"));
    let e = bad.run(&RunRequest { workflow_id: wf(&sim, "echo"), ..RunRequest::default() }).await.unwrap_err();
    assert_eq!((e.kind, e.code, e.http_status), (ErrorKind::Auth, Some(700012006), Some(200)));
    assert!(e.hint().contains("Coze Studio"), "{}", e.hint());
    assert!(e.logid.as_deref().is_some_and(is_uuid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_every_mode_through_the_binary() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let echo = wf(&sim, "echo");
    let sync = run_cli(&sim, dir.path(), &["run", &echo, "--params", r#"{"city": "杭州"}"#, "--json"]).await;
    assert_eq!(sync.code, 0, "{}", sync.stderr);
    assert_eq!(sync.json()["output"]["city"], "杭州");
    assert!(sync.json()["logid"].as_str().is_some_and(is_uuid));

    // Async: watched through get_run_history until it ends; the id is exact.
    let out = run_cli(&sim, dir.path(), &["run", &echo, "--params", r#"{"n": 2}"#, "--mode", "async", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let t = out.json();
    assert_eq!(t["status"], "succeeded");
    assert_eq!(t["output"]["n"], 2);
    let eid = t["execute_id"].as_str().unwrap();
    assert!(eid.len() == 19 && eid.parse::<u64>().unwrap() > 1 << 53);
    assert!(sim.stats().count("GET /v1/workflow/get_run_history") >= 1);
    assert_eq!(sim.stats().count("GET /v1/workflows/{id}/run_histories/{eid}"), 0);

    // A stream without heartbeats, its execute id from Done's debug URL.
    let out = run_cli(&sim, dir.path(), &["run", &wf(&sim, "chatty"), "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["output"]["output"].as_str().unwrap().contains("chunk 39"), "{}", out.stdout);
    assert!(out.json()["execute_id"].as_str().is_some());

    // A failing run: Studio's code, its message, the execute id from the debug URL, the log id
    // from X-Log-ID.
    for mode in ["sync", "stream"] {
        let out = run_cli(&sim, dir.path(), &["run", &wf(&sim, "fails"), "--mode", mode, "--json"]).await;
        assert_eq!(out.code, 1, "{mode}: {}", out.stderr);
        let t = out.json();
        assert_eq!(t["error"]["code"], 305000002, "{mode}: {t}");
        assert!(t["error"]["message"].as_str().unwrap().contains("Function execution failed"));
        assert!(t["execute_id"].as_str().is_some_and(|e| e != "0"), "{mode}: {t}");
        assert!(t["logid"].as_str().is_some_and(is_uuid), "{mode}: {t}");
    }

    // Studio has no sign-in with a code: said in one sentence, before any OAuth request.
    let out = run_cli(&sim, dir.path(), &["login"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("Coze Studio has no sign-in with a code"), "{}", out.stderr);

    // `health` names the server.
    let h = run_cli(&sim, dir.path(), &["health", "--json"]).await;
    assert_eq!(h.code, 0, "{}", h.stderr);
    assert_eq!((h.json()["server"].as_str(), h.json()["auth_ok"].as_bool()), (Some("studio"), Some(true)));
    let h = run_cli(&sim, dir.path(), &["health"]).await;
    assert!(h.stdout.contains("Coze Studio at 127.0.0.1"), "{}", h.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_and_forms_are_answered_in_streams_only() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let asks = wf(&sim, "asks");
    // A question in a stream: Studio's `{"messages": […]}` read as the question.
    let out = run_cli(&sim, dir.path(), &["run", &asks, "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    let t = out.json();
    assert!(t["interrupt"]["question"].as_str().unwrap().starts_with("Which city"), "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    let out = run_cli(&sim, dir.path(), &["resume", &id, "--answer", "杭州", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["output"]["answer"], "杭州");

    // An input form: Studio's form_schema becomes the fields the answer is checked against.
    let out = run_cli(&sim, dir.path(), &["run", &wf(&sim, "form"), "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    let t = out.json();
    let fields = &t["interrupt"]["required_parameters"];
    assert_eq!((fields["city"]["type"].as_str(), fields["days"]["type"].as_str()), (Some("string"), Some("integer")));
    let id = t["id"].as_str().unwrap().to_string();
    let out = run_cli(&sim, dir.path(), &["resume", &id, "--answer-json", r#"{"city": "北京"}"#]).await;
    assert_eq!(out.code, 2, "the form is checked before it is sent: {}", out.stderr);
    let out =
        run_cli(&sim, dir.path(), &["resume", &id, "--answer-json", r#"{"city": "北京", "days": 2}"#, "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["output"]["days"], 2);

    // Sync: Studio refuses an interactive run with 6039 and says to stream it.
    let out = run_cli(&sim, dir.path(), &["run", &asks, "--json"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.json()["error"]["code"], 6039);
    assert_eq!(out.json()["execute_id"], serde_json::Value::Null, "execute_id=0 is no id");
    // Async: the run stops at the question (`<UNSET>`), which only a stream can answer.
    let out = run_cli(&sim, dir.path(), &["run", &asks, "--mode", "async", "--json"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.json()["error"]["message"].as_str().unwrap().contains("--mode stream"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_streams_and_refusals_are_told_apart() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let echo = wf(&sim, "echo");
    // The lower-case `error` event: plain, multi-line text.
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::BrokenStream, 1));
    let out = run_cli(&sim, dir.path(), &["run", &echo, "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("connection reset by peer\n\tat workflow/execute.go"), "{message}");

    // An empty reply before the stream: maybe a run, maybe not; never sent again.
    sim.reset_stats();
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::EmptyBody, 1));
    let out = run_cli(&sim, dir.path(), &["run", &echo, "--mode", "stream", "--json"]).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    let t = out.json();
    assert_eq!(t["status"], "unknown");
    assert!(t["error"]["message"].as_str().unwrap().contains("empty reply"), "{t}");
    assert!(t["logid"].as_str().is_some_and(is_uuid), "the log id of the empty reply: {t}");
    assert_eq!(sim.stats().count("POST /v1/workflow/stream_run"), 1, "not sent twice");

    // An unknown workflow: Studio's 720702004, a refusal (nothing ran) in both modes.
    for mode in ["sync", "stream"] {
        let out = run_cli(&sim, dir.path(), &["run", "7000000000000000009", "--mode", mode, "--json"]).await;
        assert_eq!(out.code, 3, "{mode}: {}", out.stderr);
        let t = out.json();
        assert_eq!(t["error"]["code"], 720702004, "{mode}: {t}");
        assert_eq!(t["execute_id"], serde_json::Value::Null, "{mode}: {t}");
    }
    // A draft: 6031 for a run, 720702011 before a stream; both "publish it".
    let draft = wf(&sim, "draft_only");
    for (mode, code) in [("sync", 6031), ("stream", 720702011)] {
        let out = run_cli(&sim, dir.path(), &["run", &draft, "--mode", mode, "--json"]).await;
        assert_eq!(out.code, 3, "{mode}: {}", out.stderr);
        assert_eq!(out.json()["error"]["code"], code);
    }
    // A bad token.
    let mut cmd = coze_tui(&sim, dir.path(), &["run", &echo]);
    cmd.env("COZE_API_TOKEN", "wrong-token");
    let out = output_of(cmd, None).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("700012006") && out.stderr.contains("Coze Studio"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_studio_cannot_do_exits_2_in_one_sentence() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let echo = wf(&sim, "echo");
    let file = dir.path().join("cat.png");
    std::fs::write(&file, b"png").unwrap();
    let file_arg = format!("photo={}", file.display());
    let workspace = sim.first_workspace_id();
    // The server is learned from the first answer; `server = "studio"` says it up front.
    for config in ["", "[profiles.default]\nserver = \"studio\"\n"] {
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        sim.reset_stats();
        for args in [
            vec!["workspaces"],
            vec!["workflows", "--workspace", &workspace],
            vec!["workflow", &echo, "--versions"],
            vec!["run", &echo, "--version", "v0.0.1"],
            vec!["upload", file.to_str().unwrap()],
            vec!["run", &wf(&sim, "files"), "--file", &file_arg],
        ] {
            let out = run_cli(&sim, dir.path(), &args).await;
            assert_eq!(out.code, 2, "{config:?} {args:?}: {}", out.stderr);
            let lines: Vec<&str> = out.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: one sentence: {}", out.stderr);
            assert!(lines[0].starts_with("error: Coze Studio "), "{args:?}: {}", out.stderr);
            assert!(!out.stderr.to_lowercase().contains("token"), "not an auth problem: {}", out.stderr);
        }
        let stats = sim.stats();
        assert_eq!(stats.runs_started, 0);
        let web_ui: Vec<&String> = stats.by_route.keys().filter(|k| k.starts_with(WEB_UI)).collect();
        if config.is_empty() {
            // Learning costs one web-UI request per process; an upload is never sent.
            assert!(!web_ui.iter().any(|k| k.contains("/v1/files/upload")), "{web_ui:?}");
        } else {
            assert!(web_ui.is_empty(), "a Studio said in the config is never asked its web UI's routes: {web_ui:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_streamed_answer_is_refused_on_studio() {
    // A task interrupted in a sync run (on hosted Coze), answered once the profile points at
    // a Coze Studio.
    let coze = sim().await;
    let studio = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(&coze, dir.path(), &["run", &wf(&coze, "asks"), "--json"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    let id = out.json()["id"].as_str().unwrap().to_string();
    // Learned from a first answer, or said in the config: the answer is refused either way.
    for config in ["", "[profiles.default]\nserver = \"studio\"\n"] {
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let out = run_cli(&studio, dir.path(), &["resume", &id, "--answer", "杭州"]).await;
        assert_eq!(out.code, 2, "{config:?}: {}", out.stderr);
        let said = "Coze Studio answers questions and input forms only in streamed runs";
        assert!(out.stderr.contains(said), "{}", out.stderr);
        let task = run_cli(&studio, dir.path(), &["task", &id, "--json"]).await;
        assert_eq!(task.json()["status"], "interrupted", "still waiting for an answer");
    }
    let asked = studio.stats().by_route.keys().filter(|k| k.contains("/v1/workflows/resume")).count();
    assert_eq!(asked, 0, "never sent: {:?}", studio.stats().by_route);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_name_workflows_and_list_them() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let (echo, chatty) = (wf(&sim, "echo"), wf(&sim, "chatty"));
    let config = format!(
        "[profiles.default]\n[[profiles.default.workflows]]\nid = \"{echo}\"\nname = \"回声 echo\"\n\n[[profiles.default.workflows]]\nid = \"{chatty}\"\n"
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    // A name from the bookmarks stands for the id, and names the task.
    let out = run_cli(&sim, dir.path(), &["run", "回声 echo", "--params", "{}", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        (out.json()["workflow_id"].as_str(), out.json()["workflow_name"].as_str()),
        (Some(&*echo), Some("回声 echo"))
    );
    // A workflow run by id joins the list.
    let asks = wf(&sim, "asks");
    run_cli(&sim, dir.path(), &["run", &asks, "--mode", "stream"]).await;
    let out = run_cli(&sim, dir.path(), &["workflows", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut ids: Vec<String> =
        out.json().as_array().unwrap().iter().map(|w| w["workflow_id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let mut want = [echo.clone(), chatty.clone(), asks];
    want.sort();
    assert_eq!(ids, want, "the bookmarks and the workflows run");
    // Studio says which is a chatflow, nothing more.
    let out = run_cli(&sim, dir.path(), &["workflow", &wf(&sim, "chatflow")]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("a chatflow on Coze Studio"), "{}", out.stdout);
    // A bad bookmark is a config error with the key.
    std::fs::write(dir.path().join("config.toml"), "[[profiles.default.workflows]]\nid = \"echo\"\n").unwrap();
    let out = run_cli(&sim, dir.path(), &["workflows"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("profiles.default.workflows"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatflow_talks_in_a_named_conversation() {
    let sim = studio().await;
    let dir = tempfile::tempdir().unwrap();
    let flow = wf(&sim, "chatflow");
    let out =
        run_cli(&sim, dir.path(), &["chat", &flow, "--app-id", "7400000000000000001", "--message", "你好", "--json"])
            .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.json();
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    assert!(first["reply"].as_str().unwrap().contains("你好"));
    let out = run_cli(
        &sim,
        dir.path(),
        &[
            "chat",
            &flow,
            "--app-id",
            "7400000000000000001",
            "--conversation",
            &conversation,
            "--message",
            "again",
            "--json",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["reply"].as_str().unwrap().contains("and first “你好”"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_in_a_studio_stream_is_not_a_lost_stream() {
    // Studio sends no heartbeat while a node works: gaps longer than the idle timeout are fine.
    let sim = sim_with(SimOptions { slow_ms: 2_000, ..studio_opts() }).await;
    let c = client_with(&sim, |o| o.stream_idle_timeout = std::time::Duration::from_millis(150));
    let req = RunRequest { workflow_id: wf(&sim, "slow"), ..RunRequest::default() };
    // Known to be a Studio (the commands look a workflow up first): its headers come with its
    // first event, 400 ms on, and nothing comes between events for as long.
    c.learn_server().await;
    assert_eq!(c.server(), Some(Server::Studio));
    let mut stream = c.stream_run(&req).await.unwrap();
    let mut messages = 0;
    while let Some(ev) = stream.next_event().await.unwrap() {
        messages += matches!(ev.event, coze_tui::coze::WorkflowEvent::Message(_)) as usize;
    }
    assert!(matches!(stream.end(), coze_tui::coze::StreamEnd::Completed { .. }), "{:?}", stream.end());
    assert_eq!(messages, 6, "five steps 400 ms apart, then the End node");
    // Studio's own HTTP 400 (a request it cannot bind) is a bad request, not a server error.
    let e = c.run_history("", "7000000000000000001").await.unwrap_err();
    assert_eq!((e.kind, e.http_status, e.code), (ErrorKind::BadParams, Some(400), Some(400)), "{e}");
}
