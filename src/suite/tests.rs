use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_suite_reads_with_defaults_jsonl_cases_and_overrides() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "more.jsonl",
        "{\"name\": \"from jsonl\", \"params\": {\"a\": 1}, \"expect\": {\"contains\": [\"x\"], \"status\": \"failed\", \"matches\": \"a+\", \"max_duration_ms\": 5, \"output\": {\"x\": null}}}\n\n{\"params\": {}}\n",
    );
    let p = write(
        d.path(),
        "weather.toml",
        r#"# a comment
workflow = "7524966123456700006"
mode = "stream"
concurrency = 2
cases = "more.jsonl"

[[case]]
name = "hangzhou"
params = { city = "杭州", days = 3 }
answers = ["杭州"]
[case.expect]
output = { city = "杭州" }
paths = { "/forecast/0/city" = "杭州" }
matches = "温度.*℃"

[[case]]
name = "bad city"
workflow = "other_name"
mode = "sync"
[case.expect]
error_code = 4000
"#,
    );
    let s = load(&p).unwrap();
    assert_eq!((s.name.as_str(), s.concurrency, s.timeout_s, s.cases.len()), ("weather", Some(2), 300, 4));
    let c = &s.cases[0];
    assert_eq!(
        (c.mode, c.answers.clone(), c.at.ends_with("weather.toml:7")),
        (RunMode::Stream, vec!["杭州".to_string()], true)
    );
    assert_eq!(c.expect.output, Some(serde_json::json!({"city": "杭州"})));
    assert_eq!(c.expect.status(), TaskStatus::Succeeded);
    let bad = &s.cases[1];
    assert_eq!(
        (bad.workflow.as_str(), bad.mode, bad.expect.status()),
        ("other_name", RunMode::Sync, TaskStatus::Failed)
    );
    assert_eq!((s.cases[2].name.as_str(), s.cases[2].at.ends_with("more.jsonl:1")), ("from jsonl", true));
    let e = &s.cases[2].expect;
    assert_eq!((e.status(), e.matches.as_deref(), e.max_duration_ms), (TaskStatus::Failed, Some("a+"), Some(5)));
    assert_eq!(e.output, Some(serde_json::json!({"x": null})), "JSON nulls are fine in JSONL");
    assert_eq!((s.cases[3].name.as_str(), s.cases[3].at.ends_with("more.jsonl:3")), ("case 4", true));
}

#[test]
fn every_mistake_names_its_line_and_key() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("workflow = \"1\"\n[[case]]\nname = \"a\"\nparms = {}\n", ":4", "unknown field `parms`"),
        ("workflow = \"1\"\nmode = \"fast\"\n[[case]]\n", ":2", "mode"),
        ("[[case]]\nname = \"x\"\n", ":1", "has no workflow"),
        ("workflow = \"1\"\n[[case]]\nname = \"a\"\n[case.expect]\nmatches = \"(\"\n", ":5", "case.expect.matches"),
        ("workflow = \"1\"\n[[case]]\n[case.expect]\nstatus = \"running\"\n", ":4", "case.expect.status"),
        ("workflow = \"1\"\n[[case]]\n[case.expect]\npaths = { \"forecast\" = 1 }\n", ":3", "JSON Pointer"),
        ("workflow = \"1\"\nconcurrency = 0\n[[case]]\n", ":2", "concurrency"),
        ("workflow = \"1\"\n", ":1", "no cases"),
        ("workflow = \"1\"\n[[case]]\nname = \"a\"\n[[case]]\nname = \"a\"\n", ":4", "used twice"),
        ("workflow = \"1\"\ncases = \"none.jsonl\"\n", ":2", "cannot read"),
        ("workflow = = 1\n", ":1", ""),
    ];
    for (text, line, says) in cases {
        let p = write(d.path(), "s.toml", text);
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains(&format!("s.toml{line}")) && e.contains(says), "{text:?}: {e}");
    }
    write(d.path(), "c.jsonl", "{\"params\": {}}\n{\"params\": [1]}\n");
    let p = write(d.path(), "s.toml", "workflow = \"1\"\ncases = \"c.jsonl\"\n");
    let e = load(&p).unwrap_err().to_string();
    assert!(e.contains("c.jsonl:2"), "{e}");
    write(d.path(), "c.jsonl", "{\"expect\": {\"status\": \"nope\"}}\n{\"expect\": {\"bogus\": 1}}\n");
    let e = load(&p).unwrap_err().to_string();
    assert!(e.contains("c.jsonl:1: expect.status"), "{e}");
    write(d.path(), "c.jsonl", "{\"expect\": {\"bogus\": 1}}\n");
    let e = load(&p).unwrap_err().to_string();
    assert!(e.contains("c.jsonl:1: expect: unknown field `bogus`"), "{e}");
}

#[test]
fn cases_take_files_a_version_and_an_app_or_bot() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "more.jsonl", "{\"name\": \"j\", \"files\": {\"photo\": \"b.png\"}, \"app_id\": \"75\"}\n");
    let p = write(
        d.path(),
        "s.toml",
        "workflow = \"files\"\nbot_id = \"74\"\ncases = \"more.jsonl\"\n\n[[case]]\nname = \"t\"\nversion = \"v0.0.1\"\nfiles = { photo = \"a.png\", docs = [\"x.pdf\", \"y.pdf\"] }\n",
    );
    let s = load(&p).unwrap();
    let t = &s.cases[0];
    assert_eq!(
        (t.context.version.as_deref(), t.context.bot_id.as_deref()),
        (Some("v0.0.1"), Some("74")),
        "the suite's bot"
    );
    let files: Vec<(&str, usize, bool)> = t.files.iter().map(|f| (f.input.as_str(), f.paths.len(), f.many)).collect();
    assert_eq!(files, [("docs", 2, true), ("photo", 1, false)]);
    assert_eq!(t.files[1].paths[0], d.path().join("a.png"), "paths from the suite's folder");
    let j = &s.cases[1];
    assert_eq!(
        (j.context.app_id.as_deref(), j.context.bot_id.as_deref()),
        (Some("75"), None),
        "a case's app replaces the suite's bot"
    );

    let both = write(
        d.path(),
        "both.toml",
        "workflow = \"files\"\n\n[[case]]\nname = \"t\"\napp_id = \"1\"\nbot_id = \"2\"\n",
    );
    let e = load(&both).unwrap_err();
    assert_eq!((e.at.ends_with("both.toml:3"), e.key.as_str()), (true, "case.bot_id"), "{e}");
    let chat = write(d.path(), "chat.toml", "workflow = \"x\"\nmode = \"chat\"\n\n[[case]]\nname = \"t\"\n");
    assert_eq!(load(&chat).unwrap_err().key, "mode", "chat turns are not suite cases");
}
