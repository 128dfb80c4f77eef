//! Real workflow inputs on the command line (DESIGN.md §5 Inputs), against the simulator:
//! files (uploaded once per content), input-node forms in every mode, published versions
//! with their own inputs, and the app or bot a workflow runs in.

mod common;

use std::path::Path;

use common::*;
use coze_tui::sim::Simulator;
use serde_json::{Value, json};

async fn run(sim: &Simulator, dir: &Path, args: &[&str]) -> Out {
    output_of(coze_tui(sim, dir, args), None).await
}

fn ok(out: Out) -> Value {
    assert_eq!(out.code, 0, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    out.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_uploaded_once_and_given_as_file_id_strings() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = d.join("猫 cat.png");
    std::fs::write(&photo, vec![7u8; 300_000]).unwrap();
    let (a, b) = (d.join("a.txt"), d.join("b.pdf"));
    std::fs::write(&a, "first").unwrap();
    std::fs::write(&b, "second doc").unwrap();
    let arg = |name: &str, p: &Path| format!("{name}={}", p.display());

    // `upload` prints the id; the same content again is not sent again.
    let up = ok(run(&sim, d, &["upload", photo.to_str().unwrap(), "--json"]).await);
    assert_eq!((up["file_name"].as_str(), up["bytes"].as_u64()), (Some("猫 cat.png"), Some(300_000)));
    let again = run(&sim, d, &["upload", photo.to_str().unwrap()]).await;
    assert_eq!(again.stdout.trim(), up["id"].as_str().unwrap(), "{}", again.stderr);
    assert!(again.stderr.contains("already uploaded"), "{}", again.stderr);
    assert_eq!(sim.stats().uploads, 1);

    // A run with files: the photo reuses the upload; repeating a name makes a list.
    let files = wf(&sim, "files");
    let t = ok(run(
        &sim,
        d,
        &[
            "run",
            &files,
            "--file",
            &arg("photo", &photo),
            "--file",
            &arg("attachments", &a),
            "--file",
            &arg("attachments", &b),
            "--json",
        ],
    )
    .await);
    assert_eq!(t["status"], "succeeded");
    assert_eq!(t["parameters"]["photo"], json!(format!("{{\"file_id\":\"{}\"}}", up["id"].as_str().unwrap())));
    assert_eq!(t["parameters"]["attachments"].as_array().unwrap().len(), 2);
    let described: Vec<&str> =
        t["output"]["files"].as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
    assert_eq!(described, ["猫 cat.png", "a.txt", "b.pdf"]);
    let names: Vec<&str> = t["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["猫 cat.png", "a.txt", "b.pdf"]);
    assert_eq!(sim.stats().uploads, 3);

    // Rerun keeps the files (no upload); `task` shows them by name.
    let rerun = ok(run(&sim, d, &["rerun", t["id"].as_str().unwrap(), "--json"]).await);
    assert_eq!((rerun["status"].as_str(), &rerun["files"]), (Some("succeeded"), &t["files"]));
    assert_eq!(sim.stats().uploads, 3);
    let shown = run(&sim, d, &["task", t["id"].as_str().unwrap()]).await;
    assert!(shown.stdout.contains("猫 cat.png") && shown.stdout.contains("b.pdf"), "{}", shown.stdout);

    // Mistakes are said before anything is sent.
    let started = sim.stats().runs_started;
    let object = run(&sim, d, &["run", &files, "--params", r#"{"photo": {"file_id": "1"}}"#]).await;
    assert_eq!(object.code, 2);
    assert!(
        object.stderr.contains("\"photo\" is a file (image)") && object.stderr.contains("not an object"),
        "{}",
        object.stderr
    );
    let unknown = run(&sim, d, &["run", &files, "--file", &arg("poster", &a)]).await;
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("no input \"poster\" (its inputs: photo, attachments)"), "{}", unknown.stderr);
    let empty = d.join("empty.png");
    std::fs::write(&empty, "").unwrap();
    let e = run(&sim, d, &["run", &files, "--file", &arg("photo", &empty)]).await;
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("is empty"), "{}", e.stderr);
    let twice =
        run(&sim, d, &["run", &files, "--params", r#"{"photo": "https://x/y.png"}"#, "--file", &arg("photo", &a)])
            .await;
    assert_eq!(twice.code, 2);
    assert!(twice.stderr.contains("give it once"), "{}", twice.stderr);
    assert_eq!(sim.stats().runs_started, started, "nothing was run");
    assert_eq!(sim.stats().uploads, 3, "nothing was uploaded");

    // A server that no longer has the file (expired, or another simulator): uploaded again.
    let other = sim_with(opts()).await;
    let fresh = run(&other, d, &["upload", photo.to_str().unwrap()]).await;
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert!(fresh.stderr.contains("(uploaded)"), "{}", fresh.stderr);
    assert_eq!(other.stats().uploads, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_node_is_answered_with_a_form_in_every_mode() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let form = wf(&sim, "form");
    for mode in ["sync", "async", "stream"] {
        let out = run(&sim, d, &["run", &form, "--mode", mode, "--json"]).await;
        assert_eq!(out.code, 5, "interrupted: {}", out.stderr);
        let t = out.json();
        assert_eq!(t["status"], "interrupted", "{mode}: {t}");
        let asked = &t["interrupt"];
        assert_eq!(asked["interrupt_type"], 5, "{mode}");
        let fields: Vec<&String> = asked["required_parameters"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["city", "days"], "{mode}");
        let id = t["id"].as_str().unwrap();

        // A form missing a field, or text, is said before anything is sent.
        let resumes = sim.stats().resumes;
        let missing = run(&sim, d, &["resume", id, "--answer-json", r#"{"city": "杭州"}"#]).await;
        assert_eq!(missing.code, 2, "{mode}");
        assert!(missing.stderr.contains("{city, days}") && missing.stderr.contains("\"days\""), "{}", missing.stderr);
        let text = run(&sim, d, &["resume", id, "--answer", "杭州"]).await;
        assert_eq!(text.code, 2, "{mode}: {}", text.stderr);
        assert_eq!(sim.stats().resumes, resumes, "{mode}: nothing sent");

        let done = ok(run(&sim, d, &["resume", id, "--answer-json", r#"{"city": "杭州", "days": 2}"#, "--json"]).await);
        assert_eq!(done["status"], "succeeded", "{mode}: {done}");
        assert_eq!(done["mode"], mode, "the original mode is kept");
        assert_eq!(done["output"]["output"], "Forecast for 杭州: 2 day(s) of sun");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_runs_with_its_own_inputs_and_reruns_keep_it() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = wf(&sim, "versioned");
    // v0.0.1 has no `style`, which the latest requires.
    let t = ok(run(&sim, d, &["run", &v, "--version", "v0.0.1", "--params", r#"{"text": "hi"}"#, "--json"]).await);
    assert_eq!((t["version"].as_str(), t["output"]["output"].as_str()), (Some("v0.0.1"), Some("[v0.0.1] hi")));
    let latest = run(&sim, d, &["run", &v, "--params", r#"{"text": "hi"}"#]).await;
    assert_eq!(latest.code, 2);
    assert!(latest.stderr.contains("missing required input \"style\""), "{}", latest.stderr);
    // v0.0.2 made `count` an integer.
    let retyped =
        run(&sim, d, &["run", &v, "--version", "v0.0.2", "--params", r#"{"text": "hi", "count": "3"}"#]).await;
    assert_eq!(retyped.code, 2);
    assert!(retyped.stderr.contains("\"count\" should be an integer"), "{}", retyped.stderr);
    let unknown = run(&sim, d, &["run", &v, "--version", "v9", "--params", r#"{"text": "hi"}"#]).await;
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("its versions: v0.0.3, v0.0.2, v0.0.1"), "{}", unknown.stderr);
    let again = ok(run(&sim, d, &["rerun", t["id"].as_str().unwrap(), "--json"]).await);
    assert_eq!((again["version"].as_str(), again["output"]["output"].as_str()), (Some("v0.0.1"), Some("[v0.0.1] hi")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_or_bot_is_remembered_per_workflow_and_never_both() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let echo = wf(&sim, "echo");
    let both = run(&sim, d, &["run", &echo, "--app-id", "1", "--bot-id", "2"]).await;
    assert_eq!(both.code, 2);
    let t = ok(run(&sim, d, &["run", &echo, "--bot-id", "7400000000000000042", "--json"]).await);
    assert_eq!(t["bot_id"], "7400000000000000042");
    // The next run of the same workflow runs with it, and says so.
    let next = run(&sim, d, &["run", &echo, "--json"]).await;
    assert!(next.stderr.contains("with bot 7400000000000000042"), "{}", next.stderr);
    assert_eq!(ok(next)["bot_id"], "7400000000000000042");
    // Another workflow does not.
    assert_eq!(ok(run(&sim, d, &["run", &wf(&sim, "slow"), "--json"]).await).get("bot_id"), None);
    // An app instead replaces it; "" forgets.
    assert_eq!(ok(run(&sim, d, &["run", &echo, "--app-id", "7500", "--json"]).await)["app_id"], "7500");
    let forgot = ok(run(&sim, d, &["run", &echo, "--app-id", "", "--json"]).await);
    assert_eq!((forgot.get("app_id"), forgot.get("bot_id")), (None, None));
    let after = run(&sim, d, &["run", &echo, "--json"]).await;
    assert!(!after.stderr.contains("as this workflow last ran"), "{}", after.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatflow_holds_a_conversation_turn_by_turn() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let flow = wf(&sim, "chatflow");
    // It runs in an app or with a bot, and `run` points to `chat`.
    let no_bot = run(&sim, d, &["chat", &flow, "--message", "hi"]).await;
    assert_eq!(no_bot.code, 2);
    assert!(no_bot.stderr.contains("--bot-id"), "{}", no_bot.stderr);
    let as_run = run(&sim, d, &["run", &flow]).await;
    assert_eq!(as_run.code, 2);
    assert!(as_run.stderr.contains("coze-tui chat"), "{}", as_run.stderr);
    let not_chat = run(&sim, d, &["chat", &wf(&sim, "echo"), "--bot-id", "1", "--message", "hi"]).await;
    assert_eq!(not_chat.code, 2);
    assert_eq!(sim.stats().runs_started, 0);

    let first = ok(run(&sim, d, &["chat", &flow, "--bot-id", "7400", "--message", "你好", "--json"]).await);
    assert_eq!(
        (first["status"].as_str(), first["reply"].as_str()),
        (Some("succeeded"), Some("Turn 1: you said “你好”. 你好！"))
    );
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    // The next turn goes on in the same conversation (and the bot is remembered).
    let second = run(&sim, d, &["chat", &flow, "--conversation", &conversation, "--message", "more"]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout.trim(), "Turn 2: you said “more” (and first “你好”).");
    // Lines on stdin are turns.
    let piped = coze_tui(&sim, d, &["chat", &flow, "--conversation", &conversation, "--json"]);
    let out = output_of(piped, Some("three\n\nfour\n")).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Turn 3: you said “three”") && out.stdout.contains("Turn 4: you said “four”"));
    // Every turn is a task of mode chat with its conversation and message.
    let tasks = ok(run(&sim, d, &["tasks", "--json"]).await);
    let turns: Vec<(&str, &str, &str)> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["mode"].as_str().unwrap(), t["conversation_id"].as_str().unwrap(), t["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        turns,
        [
            ("chat", conversation.as_str(), "four"),
            ("chat", &conversation, "three"),
            ("chat", &conversation, "more"),
            ("chat", &conversation, "你好")
        ]
    );
}
