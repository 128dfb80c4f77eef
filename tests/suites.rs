//! Test suites on the real binary against the simulator: every expectation kind passing and
//! failing, questions answered from the suite, `--failed`, `--only`, `--update` round-tripping
//! a commented file, JUnit validated by parsing it, `suites`, and `diff`.

mod common;

use std::path::Path;

use common::*;
use coze_tui::sim::{SimOptions, Simulator};
use serde_json::Value;

async fn run(sim: &Simulator, dir: &Path, args: &[&str]) -> Out {
    output_of(coze_tui(sim, dir, args), None).await
}

fn fast_config(dir: &Path) {
    std::fs::write(
        dir.join("config.toml"),
        "[profiles.default.poll]\ninitial_interval_ms = 100\nbackoff = 1.5\nmax_interval_ms = 300\nqps = 100.0\n",
    )
    .unwrap();
}

fn case<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}: {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expectation_passes_and_fails_and_runs_are_history() {
    let sim = sim_with(SimOptions { slow_ms: 600, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    std::fs::write(
        d.join("more.jsonl"),
        "{\"name\": \"jsonl echo\", \"params\": {\"k\": \"v\"}, \"expect\": {\"paths\": {\"/k\": \"v\"}}}\n",
    )
    .unwrap();
    let suite = format!(
        r#"# the echo workflow and friends
name = "friends"
workflow = "echo"          # by name
concurrency = 3
cases = "more.jsonl"

[[case]]
name = "exact output"
params = {{ city = "杭州", days = 3 }}
[case.expect]
output = {{ city = "杭州", days = 3 }}
contains = ["杭州"]
matches = "ci.y"
paths = {{ "/days" = 3 }}

[[case]]
name = "wrong output"
params = {{ city = "杭州" }}
[case.expect]
output = {{ city = "上海" }}

[[case]]
name = "missing text"
params = {{ a = "b" }}
[case.expect]
contains = ["nope"]
matches = "^x$"
paths = {{ "/a" = "c", "/nothing" = 1 }}

[[case]]
name = "answered"
workflow = "{asks}"
mode = "stream"
answers = ["杭州"]
[case.expect]
contains = ["You said 杭州"]

[[case]]
name = "unanswered"
workflow = "asks"
mode = "stream"
[case.expect]
status = "succeeded"

[[case]]
name = "expected failure"
workflow = "fails"
[case.expect]
error_code = 720702002

[[case]]
name = "wrong code"
workflow = "fails"
[case.expect]
error_code = 1

[[case]]
name = "too slow"
workflow = "slow"
[case.expect]
max_duration_ms = 50
"#,
        asks = wf(&sim, "asks")
    );
    let path = d.join("friends.toml");
    std::fs::write(&path, suite).unwrap();
    let p = path.to_str().unwrap();
    let junit = d.join("junit.xml");
    let out = run(&sim, d, &["test", p, "--json", "--junit", junit.to_str().unwrap()]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        (doc["suite"].as_str(), doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some("friends"), Some(4), Some(5)),
        "{doc:#}"
    );
    for name in ["exact output", "answered", "expected failure", "jsonl echo"] {
        assert_eq!(case(&doc, name)["passed"], true, "{name}: {doc:#}");
    }
    let first = |name: &str| case(&doc, name)["failures"][0].clone();
    let wrong = first("wrong output");
    assert_eq!((wrong["kind"].as_str(), wrong["path"].as_str()), (Some("output"), Some("/city")));
    assert_eq!((wrong["expected"].as_str(), wrong["actual"].as_str()), (Some("上海"), Some("杭州")));
    let kinds: Vec<&str> = case(&doc, "missing text")["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contains", "matches", "path", "path"]);
    assert_eq!(first("unanswered")["kind"], "status");
    assert!(first("unanswered")["message"].as_str().unwrap().contains("asked"), "{doc:#}");
    assert_eq!(case(&doc, "unanswered")["status"], "interrupted");
    assert_eq!(first("wrong code")["kind"], "error_code");
    assert_eq!(first("too slow")["kind"], "duration");
    // Every case is a task, named after it.
    let task = case(&doc, "answered")["task_id"].as_str().unwrap().to_string();
    let t = run(&sim, d, &["task", &task, "--json"]).await.json();
    assert_eq!((t["name"].as_str(), t["status"].as_str()), (Some("answered"), Some("succeeded")));
    assert!(t["description"].as_str().unwrap().contains("suite friends"));

    // JUnit: one testsuite, a testcase per case, a failure per failing one.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let parsed = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite_el = parsed.root_element();
    assert_eq!(
        (suite_el.tag_name().name(), suite_el.attribute("tests"), suite_el.attribute("failures")),
        ("testsuite", Some("9"), Some("5"))
    );
    let cases: Vec<_> = suite_el.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 9);
    assert_eq!(cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count(), 5);

    // --failed: only what failed last time; the table marks what changed.
    let out = run(&sim, d, &["test", p, "--failed", "--json"]).await;
    let again = out.json();
    assert_eq!(again["cases"].as_array().unwrap().len(), 5, "{again:#}");
    // --only filters by name.
    let only = run(&sim, d, &["test", p, "--only", "EXACT"]).await;
    assert_eq!(only.code, 0, "{}", only.stderr);
    assert!(only.stdout.contains("exact output") && !only.stdout.contains("wrong output"), "{}", only.stdout);
    // History: three runs, newest first, with their counts.
    let runs = run(&sim, d, &["suites", "--json"]).await.json();
    let counts: Vec<(u64, u64)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["passed"].as_u64().unwrap(), r["failed"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [(1, 0), (0, 5), (4, 5)]);
    assert!(run(&sim, d, &["suites"]).await.stdout.contains("friends"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_writes_snapshots_that_the_next_run_passes_and_a_bad_suite_is_exit_2() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    std::fs::write(d.join("c.jsonl"), "\n{\"params\": {\"from\": \"jsonl\"}}\n").unwrap();
    let text = format!(
        "# snapshots of echo\nworkflow = \"{}\" # the id\ncases = \"c.jsonl\"\n\n[[case]]\nname = \"one\" # keep me\nparams = {{ n = 1, s = \"多行\\ntext\" }}\n\n[[case]]\nname = \"two\"\nparams = {{ list = [1, 2] }}\n[case.expect]\ncontains = [\"1\"]\n",
        wf(&sim, "echo")
    );
    let path = d.join("snap.toml");
    std::fs::write(&path, &text).unwrap();
    let p = path.to_str().unwrap();
    let out = run(&sim, d, &["test", p, "--update"]).await;
    assert_eq!(out.code, 0, "no expectations yet: all pass; {}", out.stderr);
    assert!(out.stderr.contains("wrote 3 expected outputs"), "{}", out.stderr);
    let updated = std::fs::read_to_string(&path).unwrap();
    assert!(
        updated.starts_with("# snapshots of echo\n") && updated.contains("# the id") && updated.contains("# keep me"),
        "{updated}"
    );
    assert!(updated.contains("contains = [\"1\"]") && updated.contains("output = { list = [1, 2] }"), "{updated}");
    let jsonl = std::fs::read_to_string(d.join("c.jsonl")).unwrap();
    assert!(jsonl.starts_with('\n') && jsonl.contains("\"expect\":{\"output\":{\"from\":\"jsonl\"}}"), "{jsonl}");
    // The snapshots hold: the next run passes; a changed expectation fails with its path.
    assert_eq!(run(&sim, d, &["test", p]).await.code, 0);
    std::fs::write(&path, updated.replace("output = { list = [1, 2] }", "output = { list = [1, 3] }")).unwrap();
    let out = run(&sim, d, &["test", p]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("at /list/1: expected 3, got 2") && out.stdout.contains("newly failing"),
        "{}",
        out.stdout
    );
    // A broken suite: exit 2, file:line and key, nothing sent.
    let before = sim.stats().count("POST /v1/workflow/run");
    std::fs::write(&path, "workflow = \"1\"\n[[case]]\nname = \"a\"\n[case.expect]\nstatus = \"done\"\n").unwrap();
    let out = run(&sim, d, &["test", p]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("snap.toml:5: case.expect.status"), "{}", out.stderr);
    assert_eq!(sim.stats().count("POST /v1/workflow/run"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_compares_two_tasks() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    let echo = wf(&sim, "echo");
    let id = |out: Out| out.json()["id"].as_str().unwrap().to_string();
    let a = id(run(&sim, d, &["run", &echo, "--params", r#"{"x": 1, "text": "a\nb\nc"}"#, "--json"]).await);
    let b = id(run(&sim, d, &["run", &echo, "--params", r#"{"x": 1, "text": "a\nb\nc"}"#, "--json"]).await);
    let c = id(run(&sim, d, &["run", &echo, "--params", r#"{"x": 2, "text": "a\nB\nc", "y": true}"#, "--json"]).await);
    let same = run(&sim, d, &["diff", &a, &b, "--json"]).await;
    assert_eq!(same.code, 0);
    assert_eq!(same.json()["equal"], true);
    let other = run(&sim, d, &["diff", &a, &c, "--json"]).await;
    assert_eq!(other.code, 1);
    let doc = other.json();
    let paths: Vec<(&str, &str)> = doc["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["op"].as_str().unwrap()))
        .collect();
    assert_eq!(paths, [("/x", "change"), ("/text", "change"), ("/y", "add")]);
    assert_eq!(doc["status"], serde_json::json!(["succeeded", "succeeded"]));
    let text = run(&sim, d, &["diff", &a, &c]).await.stdout;
    assert!(text.contains("-     b") && text.contains("+     B") && text.contains("+ /y: true"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_suite_in_the_readme_passes() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    fast_config(dir.path());
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo-suite.toml");
    let out = run(&sim, dir.path(), &["test", suite, "--json"]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["passed"], 9);
    assert_eq!(sim.stats().uploads, 2);
    // Again: the files are found by content and not sent again.
    let again = run(&sim, dir.path(), &["test", suite, "--json"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(sim.stats().uploads, 2, "nothing uploaded twice");
}
