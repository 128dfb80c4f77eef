//! The Coze client against the simulator over loopback: every endpoint, pagination, every
//! error class, retries, and never re-sending a run.

mod common;

use std::time::Duration;

use common::*;
use coze_tui::coze::*;
use coze_tui::sim::{FAIL_CODE, Fault, FaultRule, SimOptions};
use serde_json::{Map, Value, json};

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn req(id: &str, p: Value) -> RunRequest {
    RunRequest { workflow_id: id.into(), parameters: params(p), ..Default::default() }
}

async fn drain(stream: &mut WorkflowStream) -> Vec<StreamEvent> {
    let mut out = vec![];
    while let Some(e) = stream.next_event().await.expect("stream event") {
        out.push(e);
    }
    out
}

async fn wait_for_history(c: &CozeClient, wf: &str, eid: &str) -> RunHistory {
    for _ in 0..200 {
        let h = c.run_history(wf, eid).await.unwrap().value;
        if h.execute_status != ExecuteStatus::Running || h.interrupt_data.is_some() {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("execution {eid} never finished");
}

#[tokio::test]
async fn workspaces_are_listed_across_pages_in_order() {
    let sim = sim_with(SimOptions { workspaces: 120, ..opts() }).await;
    let reply = client(&sim).list_workspaces().await.unwrap();
    let ids: Vec<_> = reply.value.iter().map(|w| w.id.clone()).collect();
    assert_eq!(ids.len(), 120);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 120, "no duplicates across pages");
    assert_eq!(ids[0], sim.first_workspace_id());
    assert_eq!(reply.value[1].name, "增长团队 Growth");
    assert!(reply.logid.is_some());
    assert_eq!(sim.stats().count("GET /v1/workspaces"), 3, "50 + 50 + 20");
}

#[tokio::test]
async fn workflows_are_listed_across_pages_and_drafts_are_marked() {
    let sim = sim_with(SimOptions { generic_workflows: 70, ..opts() }).await;
    let c = client(&sim);
    let ws = sim.first_workspace_id();
    let all = c.list_workflows(&ws, PublishStatus::All, None).await.unwrap().value;
    assert_eq!(all.len(), 82, "8 named + 70 generic + 4 named for inputs");
    assert_eq!(sim.stats().count("GET /v1/workflows"), 3, "30 + 30 + 22");
    let online = c.list_workflows(&ws, PublishStatus::PublishedOnline, None).await.unwrap().value;
    assert!(online.iter().all(|w| w.workflow_name != "draft_only"));
    assert_eq!(online.len(), 81);
    let drafts = c.list_workflows(&ws, PublishStatus::UnpublishedDraft, None).await.unwrap().value;
    assert_eq!(drafts.iter().map(|w| w.workflow_name.as_str()).collect::<Vec<_>>(), ["draft_only"]);
    let marked = c.list_workflows_marked(&ws).await.unwrap().value;
    let state = |name: &str| marked.iter().find(|w| w.workflow_name == name).unwrap().is_published;
    assert_eq!((state("echo"), state("draft_only")), (Some(true), Some(false)));
    // Timestamps arrive as strings in listings; they are parsed all the same.
    assert!(marked[0].created_at.unwrap() > 1_700_000_000);
    let chatflows = c.list_workflows(&ws, PublishStatus::All, Some("chatflow")).await.unwrap().value;
    let names: Vec<&str> = chatflows.iter().map(|w| w.workflow_name.as_str()).collect();
    assert_eq!(names, ["chatflow"]);
    assert_eq!(chatflows[0].workflow_mode.as_deref(), Some("chatflow"));
}

#[tokio::test]
async fn workflow_info_has_the_schema_in_server_order() {
    let sim = sim().await;
    let c = client(&sim);
    let info = c.workflow_info(&wf(&sim, "needs_params"), true).await.unwrap().value;
    assert_eq!(info.workflow_detail.workflow_name, "needs_params");
    let input = info.input.expect("schema requested");
    let names: Vec<_> = input.parameters.iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["city", "days", "units", "detailed", "options", "tags"]);
    let days = input.parameters.get("days").unwrap();
    assert_eq!((days.kind.as_str(), days.required, days.default_value.as_deref()), ("integer", true, Some("3")));
    let options = input.parameters.get("options").unwrap().properties.as_ref().unwrap();
    assert_eq!(options.get("lang").unwrap().default_value.as_deref(), Some("en"));
    assert_eq!(input.parameters.get("tags").unwrap().items.as_ref().unwrap().kind, "string");
    assert_eq!(info.output.unwrap().terminate_plan.as_deref(), Some("return_variables"));

    let plain = c.workflow_info(&wf(&sim, "echo"), false).await.unwrap().value;
    assert!(plain.input.is_none());

    let e = c.workflow_info("7000000000000000001", false).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::NotFound, Some(4200)));
    assert!(e.logid.is_some());
    // Ids from users are path-encoded, not spliced into the path.
    let e = c.workflow_info("../workspaces", false).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn workflow_versions_follow_the_token_pages() {
    let sim = sim().await;
    let c = client(&sim);
    let versions = c.workflow_versions(&wf(&sim, "echo"), PublishStatus::All).await.unwrap().value;
    assert_eq!(versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), ["v0.0.3", "v0.0.2", "v0.0.1"]);
    assert!(versions[0].created_at.is_some() && versions[0].input.is_some());
    assert!(c.workflow_versions(&wf(&sim, "draft_only"), PublishStatus::All).await.unwrap().value.is_empty());
}

#[tokio::test]
async fn sync_run_decodes_json_in_json_and_finds_the_execute_id() {
    let sim = sim().await;
    let c = client(&sim);
    let p = json!({"input": "你好 👋 \"quoted\"\nline 2", "n": 3});
    let reply = c.run(&req(&wf(&sim, "echo"), p.clone())).await.unwrap();
    let r = reply.value;
    assert_eq!(decode_output(r.data.as_deref().unwrap()), p);
    assert!(reply.logid.is_some());
    let eid = r.execute_id().expect("execute id from debug_url");
    let h = c.run_history(&wf(&sim, "echo"), &eid).await.unwrap().value;
    assert_eq!((h.execute_status, h.run_mode), (ExecuteStatus::Success, Some(0)));
    // History output is JSON whose "Output" is itself a JSON string: both layers decode.
    let out = decode_output(h.output.as_deref().unwrap());
    assert_eq!(out["Output"], p);
    assert_eq!(sim.stats().runs_started, 1);
}

#[tokio::test]
async fn big_output_arrives_whole() {
    let sim = sim().await;
    let r = client(&sim).run(&req(&wf(&sim, "big"), json!({}))).await.unwrap().value;
    let data = r.data.unwrap();
    assert!(data.len() >= 1_000_000, "{} bytes", data.len());
    assert!(decode_output(&data)["output"].as_str().unwrap().len() >= 990_000);
}

#[tokio::test]
async fn refusals_map_to_typed_errors_with_hints() {
    let sim = sim_with(SimOptions { readonly_token: Some("readonly-tok".into()), ..opts() }).await;
    let c = client(&sim);

    let e = c.run(&req(&wf(&sim, "fails"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Api, Some(FAIL_CODE)));
    assert!(e.logid.is_some() && e.debug_url.is_some());

    let e = c.run(&req(&wf(&sim, "needs_params"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::BadParams, Some(4000)));
    assert!(e.message.contains("city"), "{}", e.message);
    let e = c.run(&req(&wf(&sim, "needs_params"), json!({"city": "Berlin", "days": "two"}))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadParams);

    let e = c.run(&req(&wf(&sim, "draft_only"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::NotFound, Some(4200)));
    assert!(e.hint().contains("publish"));

    let bad = client_with(&sim, |o| o.token = coze_tui::secret::Secret::new("wrong"));
    for e in [
        bad.list_workspaces().await.unwrap_err(),
        bad.run(&req(&wf(&sim, "echo"), json!({}))).await.unwrap_err(),
        bad.stream_run(&req(&wf(&sim, "echo"), json!({}))).await.err().unwrap(),
    ] {
        assert_eq!((e.kind, e.code, e.http_status), (ErrorKind::Auth, Some(4100), Some(401)));
        assert!(e.logid.is_some());
        assert!(e.hint().contains("region"));
    }

    let ro = client_with(&sim, |o| o.token = coze_tui::secret::Secret::new("readonly-tok"));
    assert!(ro.list_workspaces().await.is_ok());
    let e = ro.run(&req(&wf(&sim, "echo"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Permission, Some(4101)));

    let e = c.run_history(&wf(&sim, "echo"), "7999999999999999999").await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::ExecutionNotFound, Some(4314)));
    assert_eq!(sim.stats().runs_started, 1, "only `fails` ran; refused requests ran nothing");
}

#[tokio::test]
async fn async_run_is_polled_to_success_and_node_outputs_are_fetched() {
    let sim = sim().await;
    let c = client(&sim);
    let id = wf(&sim, "slow");
    let started = c.run_async(&req(&id, json!({"input": "async"}))).await.unwrap().value;
    let eid = started.execute_id().unwrap();
    assert!(eid.chars().all(|c| c.is_ascii_digit()) && eid.len() == 19);
    let first = c.run_history(&id, &eid).await.unwrap().value;
    assert_eq!(first.execute_status, ExecuteStatus::Running);
    let h = wait_for_history(&c, &id, &eid).await;
    assert_eq!((h.execute_status.clone(), h.run_mode), (ExecuteStatus::Success, Some(2)));
    assert!(decode_output(h.output.as_deref().unwrap()).get("Output").is_some());
    let nodes = h.nodes();
    assert!(!nodes.is_empty());
    for (_, node) in nodes {
        let out = c.node_output(&id, &eid, &node.node_execute_uuid).await.unwrap().value;
        assert!(out.is_finish && out.node_output.is_some());
    }
    let e = c.node_output(&id, &eid, "1").await.unwrap_err();
    assert_eq!(e.code, Some(4314));

    // A failing async run ends Fail with the error in the record.
    let fid = wf(&sim, "fails");
    let eid = c.run_async(&req(&fid, json!({}))).await.unwrap().value.execute_id().unwrap();
    let h = wait_for_history(&c, &fid, &eid).await;
    assert_eq!((h.error_code_number(), h.execute_status), (Some(FAIL_CODE), ExecuteStatus::Fail));
}

#[tokio::test]
async fn async_on_a_free_plan_is_6003() {
    let sim = sim_with(SimOptions { free_plan: true, ..opts() }).await;
    let e = client(&sim).run_async(&req(&wf(&sim, "echo"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::AsyncUnavailable, Some(6003)));
    assert!(e.hint().contains("stream"));
}

#[tokio::test]
async fn stream_delivers_ordered_events_and_done_with_execute_id() {
    let sim = sim_with(SimOptions { chatty_messages: 25, ..opts() }).await;
    let c = client(&sim);
    let id = wf(&sim, "chatty");
    let mut s = c.stream_run(&req(&id, json!({}))).await.unwrap();
    assert!(s.logid.is_some());
    let events = drain(&mut s).await;
    let ids: Vec<_> = events.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(ids, (0..events.len() as u64).collect::<Vec<_>>());
    let chunks: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            WorkflowEvent::Message(m) if m.node_title == "Chatter" => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.len(), 25);
    assert_eq!(chunks.iter().map(|m| m.node_seq_id.unwrap()).collect::<Vec<_>>(), (0..25).collect::<Vec<_>>());
    assert!(chunks.last().unwrap().node_is_finish);
    assert!(events.iter().any(|e| e.event == WorkflowEvent::Ping));
    let StreamEnd::Completed { execute_id: Some(eid), debug_url: Some(_) } = s.end() else { panic!("{:?}", s.end()) };
    let h = c.run_history(&id, &eid).await.unwrap().value;
    assert_eq!((h.execute_status, h.run_mode), (ExecuteStatus::Success, Some(1)));

    // Errors before the stream starts come back from stream_run itself.
    let e = c.stream_run(&req(&wf(&sim, "draft_only"), json!({}))).await.err().unwrap();
    assert_eq!(e.code, Some(4200));
    // An Error event ends the stream as Failed.
    let mut s = c.stream_run(&req(&wf(&sim, "fails"), json!({}))).await.unwrap();
    drain(&mut s).await;
    assert!(matches!(s.end(), StreamEnd::Failed(StreamErrorEvent { error_code: Some(FAIL_CODE), .. })));
}

#[tokio::test]
async fn interrupt_resume_and_the_answer_limit() {
    let sim = sim().await;
    let c = client(&sim);
    let id = wf(&sim, "asks");

    let ask = |c: CozeClient, id: String| async move {
        let mut s = c.stream_run(&req(&id, json!({}))).await.unwrap();
        let events = drain(&mut s).await;
        assert!(matches!(&events[0].event, WorkflowEvent::Message(m) if m.content.contains("Which city")));
        match s.end() {
            StreamEnd::Interrupted(i) => i.interrupt_data,
            other => panic!("{other:?}"),
        }
    };
    let resume = |i: &InterruptData, answer: &str| ResumeRequest {
        workflow_id: id.clone(),
        event_id: i.event_id.clone(),
        interrupt_type: i.kind.unwrap(),
        resume_data: answer.into(),
    };

    // A good answer finishes the run with it.
    let i = ask(c.clone(), id.clone()).await;
    assert!(i.event_id.contains('/'));
    let mut s = c.stream_resume(&resume(&i, "杭州 Hangzhou")).await.unwrap();
    let events = drain(&mut s).await;
    assert_eq!(events[0].id, Some(0), "ids restart after a resume");
    assert!(
        events.iter().any(|e| matches!(&e.event, WorkflowEvent::Message(m) if m.content.contains("杭州 Hangzhou")))
    );
    let StreamEnd::Completed { execute_id: Some(eid), .. } = s.end() else { panic!("{:?}", s.end()) };
    assert_eq!(c.run_history(&id, &eid).await.unwrap().value.execute_status, ExecuteStatus::Success);
    // Answering a finished run is 4315.
    let e = c.stream_resume(&resume(&i, "again")).await.err().unwrap();
    assert_eq!((e.kind, e.code), (ErrorKind::AlreadyFinished, Some(4315)));

    // Blank answers are asked again, up to the limit, then the run fails.
    let mut i = ask(c.clone(), id.clone()).await;
    for attempt in 1..=3 {
        let mut s = c.stream_resume(&resume(&i, "  ")).await.unwrap();
        drain(&mut s).await;
        match s.end() {
            StreamEnd::Interrupted(next) if attempt < 3 => i = next.interrupt_data,
            StreamEnd::Failed(err) if attempt == 3 => assert!(err.error_message.contains("3 attempts")),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert_eq!(sim.stats().resumes, 4, "the answer to a finished run was refused, not counted");
}

#[tokio::test]
async fn non_stream_resume_of_sync_and_async_runs() {
    let sim = sim().await;
    let c = client(&sim);
    let id = wf(&sim, "asks");
    let r = c.run(&req(&id, json!({}))).await.unwrap().value;
    let i = r.interrupt_data.expect("a sync run reports its interrupt");
    assert!(i.question().unwrap().contains("Which city"));
    let rr = ResumeRequest {
        workflow_id: id.clone(),
        event_id: i.event_id.clone(),
        interrupt_type: 2,
        resume_data: "Berlin".into(),
    };
    let done = c.resume(&rr).await.unwrap().value;
    assert!(decode_output(done.data.as_deref().unwrap())["answer"] == "Berlin");

    let eid = c.run_async(&req(&id, json!({}))).await.unwrap().value.execute_id().unwrap();
    let h = wait_for_history(&c, &id, &eid).await;
    let i = h.interrupt_data.expect("history shows the pending question");
    assert_eq!(h.execute_status, ExecuteStatus::Running);
    let rr = ResumeRequest { event_id: i.event_id, resume_data: "Paris".into(), ..rr };
    let resumed = c.resume(&rr).await.unwrap().value;
    assert_eq!(resumed.execute_id.as_deref(), Some(eid.as_str()));
    let h = wait_for_history(&c, &id, &eid).await;
    assert_eq!(h.execute_status, ExecuteStatus::Success);
    assert_eq!(decode_output(h.output.as_deref().unwrap())["Output"]["answer"], "Paris");
}

#[tokio::test]
async fn gets_honour_retry_after() {
    let sim = sim().await;
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::RateLimit { retry_after: Some(1) }, 1));
    let list = client(&sim).list_workspaces().await.unwrap().value;
    assert_eq!(list.len(), 5);
    let stats = sim.stats();
    assert_eq!(stats.count("GET /v1/workspaces"), 2);
    let times: Vec<_> = stats.arrivals.iter().map(|(t, _)| *t).collect();
    assert!(times[1] - times[0] >= Duration::from_secs(1), "waited {:?}, Retry-After said 1 s", times[1] - times[0]);
}

#[tokio::test]
async fn gets_retry_5xx_and_dropped_connections_then_give_up() {
    let sim = sim().await;
    let c = client(&sim);
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::BadGateway, 1));
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::Drop, 1));
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::InternalError, 1));
    assert_eq!(c.list_workspaces().await.unwrap().value.len(), 5);
    assert_eq!(sim.stats().count("GET /v1/workspaces"), 4);

    sim.reset_stats();
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::BadGateway, 10));
    let e = c.list_workspaces().await.unwrap_err();
    assert_eq!((e.kind, e.code, e.http_status), (ErrorKind::Server, Some(502), Some(502)));
    assert!(e.message.contains("502 Bad Gateway") && e.logid.is_some(), "{e}");
    assert_eq!(sim.stats().count("GET /v1/workspaces"), 4, "1 try + max_retries 3");
}

#[tokio::test]
async fn replies_cut_short_are_read_again() {
    let sim = sim().await;
    sim.inject(FaultRule::new("GET /v1/workflows", Fault::Malformed, 1));
    let list = client(&sim).list_workflows(&sim.first_workspace_id(), PublishStatus::All, None).await.unwrap();
    assert!(!list.value.is_empty());
    assert_eq!(sim.stats().count("GET /v1/workflows"), 2, "the cut page is asked for once more");
    sim.reset_stats();
    sim.inject(FaultRule::new("GET /v1/workflows", Fault::Malformed, 10));
    let e = client(&sim).list_workflows(&sim.first_workspace_id(), PublishStatus::All, None).await.unwrap_err();
    assert_eq!((e.kind, e.unreadable), (ErrorKind::Decode, true));
    assert!(e.logid.is_some());
    assert_eq!(sim.stats().count("GET /v1/workflows"), 4, "1 try + max_retries 3");
}

#[tokio::test]
async fn a_run_reply_cut_short_keeps_the_execute_id() {
    let sim = sim().await;
    let c = client(&sim);
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::TruncateAfterProcessing, 1));
    let e = c.run_async(&req(&wf(&sim, "echo"), json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.unreadable), (ErrorKind::Decode, true));
    assert!(e.is_ambiguous_for_run(), "the run started; it must not be sent again");
    let eid = e.execute_id.as_deref().expect("the execute id is read from the partial body").to_string();
    assert_eq!(c.run_history(&wf(&sim, "echo"), &eid).await.unwrap().value.execute_id, eid);
    let stats = sim.stats();
    assert_eq!((stats.count("POST /v1/workflow/run"), stats.runs_started), (1, 1));
}

#[tokio::test]
async fn runs_refused_for_the_rate_are_sent_again() {
    let sim = sim().await;
    let c = client(&sim);
    let id = wf(&sim, "echo");
    // (code, HTTP status, Retry-After): Coze did not start these runs.
    for (code, status, after) in [(4009, 429, Some(0)), (4020, 200, None), (4013, 429, Some(0)), (1, 429, None)] {
        sim.reset_stats();
        sim.inject(FaultRule::new(
            "POST /v1/workflow/run",
            Fault::ErrorCode { code, http_status: status, retry_after: after },
            2,
        ));
        let out = c.run(&req(&id, json!({"n": code}))).await.unwrap_or_else(|e| panic!("{code}/{status}: {e}"));
        assert!(out.value.data.is_some());
        let stats = sim.stats();
        assert_eq!((stats.count("POST /v1/workflow/run"), stats.runs_started), (3, 1), "{code}/{status}");
    }
    // A stream start refused the same way.
    sim.reset_stats();
    sim.inject(FaultRule::new(
        "POST /v1/workflow/stream_run",
        Fault::ErrorCode { code: 4009, http_status: 429, retry_after: Some(0) },
        1,
    ));
    let mut stream = c.stream_run(&req(&id, json!({}))).await.unwrap();
    while stream.next_event().await.unwrap().is_some() {}
    assert_eq!(sim.stats().count("POST /v1/workflow/stream_run"), 2);
    // A model's limit (4013 without 429) and the daily quota are final.
    for (code, kind) in [(4013, ErrorKind::RateLimited), (4008, ErrorKind::QuotaExhausted)] {
        sim.reset_stats();
        sim.inject(FaultRule::new(
            "POST /v1/workflow/run",
            Fault::ErrorCode { code, http_status: 200, retry_after: None },
            1,
        ));
        let e = c.run(&req(&id, json!({}))).await.unwrap_err();
        assert_eq!((e.kind, e.code), (kind, Some(code)));
        assert_eq!(sim.stats().count("POST /v1/workflow/run"), 1, "{code} is not sent again");
    }
}

#[tokio::test]
async fn refused_runs_give_up_after_the_window_and_say_why() {
    let sim = sim().await;
    let c = client_with(&sim, |o| o.retry.refused_run_window = Duration::from_millis(300));
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::RateLimit { retry_after: Some(0) }, 1000));
    let e = c.run(&req(&wf(&sim, "echo"), json!({}))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.message.contains("nothing ran"), "{e}");
    assert_eq!(sim.stats().runs_started, 0);
}

#[tokio::test]
async fn a_run_is_never_sent_twice_after_an_ambiguous_failure() {
    let sim = sim().await;
    let c = client(&sim);
    let id = wf(&sim, "echo");
    // The server starts the run, then the connection breaks before the answer.
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::DropAfterProcessing, 1));
    let e = c.run(&req(&id, json!({}))).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Network), "{e:?}");
    assert_ne!(e.delivery, Delivery::NotSent);
    let stats = sim.stats();
    assert_eq!((stats.count("POST /v1/workflow/run"), stats.runs_started), (1, 1));

    // A 5xx answer to a run is final too, as is a dropped stream start.
    sim.reset_stats();
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::BadGateway, 1));
    assert_eq!(c.run_async(&req(&id, json!({}))).await.unwrap_err().kind, ErrorKind::Server);
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::DropAfterProcessing, 1));
    assert!(c.stream_run(&req(&id, json!({}))).await.is_err());
    let stats = sim.stats();
    assert_eq!(stats.count("POST /v1/workflow/run"), 1);
    assert_eq!(stats.count("POST /v1/workflow/stream_run"), 1);
}

#[tokio::test]
async fn unreachable_hosts_are_network_errors_that_never_left() {
    // Port 1 on loopback: privileged, nothing listens there, so the connection is refused.
    let mut o = ClientOptions::new("http://127.0.0.1:1", coze_tui::secret::Secret::new("t"));
    o.retry = RetryPolicy { max_retries: 1, base_delay: Duration::from_millis(10), ..RetryPolicy::default() };
    let c = CozeClient::new(o).unwrap();
    let e = c.run(&req("1", json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.delivery), (ErrorKind::Network, Delivery::NotSent));
    assert!(e.hint().contains("network"));
    assert_eq!(c.list_workspaces().await.unwrap_err().kind, ErrorKind::Network);
}

#[tokio::test]
async fn slow_answers_time_out() {
    let sim = sim().await;
    sim.inject(FaultRule::new("GET /v1/workspaces", Fault::Latency(Duration::from_secs(3)), 1));
    let c = client_with(&sim, |o| {
        o.timeout = Duration::from_millis(300);
        o.retry.max_retries = 0;
    });
    let e = c.list_workspaces().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_timeout() {
    let sim = sim_with(SimOptions { slow_ms: 10_000, ..opts() }).await;
    let c = client_with(&sim, |o| o.stream_idle_timeout = Duration::from_millis(300));
    let mut s = c.stream_run(&req(&wf(&sim, "slow"), json!({}))).await.unwrap();
    let e = loop {
        match s.next_event().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.logid.is_some());
}

#[tokio::test]
async fn the_token_never_appears_in_debug_output() {
    let sim = sim().await;
    let c = client(&sim);
    assert!(!format!("{c:?}").contains(TOKEN));
    assert!(!format!("{:?}", client_opts(&sim)).contains(TOKEN));
    let e = client_with(&sim, |o| o.token = coze_tui::secret::Secret::new("zzz-wrong"))
        .list_workspaces()
        .await
        .unwrap_err();
    assert!(!format!("{e:?} {e}").contains("zzz-wrong"));
}

/// What the docs show, so the client's paths for them are exercised: a stream refused for its
/// inputs is the stream's own Error event; log ids are 34 characters (`YYYYMMDDhhmmss` + 20
/// hex); a workflow's timestamps are strings.
#[tokio::test]
async fn the_simulator_answers_as_the_docs_show() {
    let sim = sim().await;
    let c = client(&sim);
    let mut stream = c.stream_run(&req(&wf(&sim, "needs_params"), json!({}))).await.unwrap();
    let first = stream.next_event().await.unwrap().unwrap();
    match first.event {
        coze_tui::coze::WorkflowEvent::Error(e) => {
            assert_eq!(e.error_code, Some(4000));
            assert!(e.error_message.contains("city"), "{}", e.error_message);
        }
        other => panic!("expected an Error event, got {other:?}"),
    }
    assert!(stream.next_event().await.unwrap().is_none());
    assert!(matches!(stream.end(), coze_tui::coze::StreamEnd::Failed(_)));
    assert_eq!(sim.stats().runs_started, 0, "refused before it started");

    let reply = c.workflow_info(&wf(&sim, "echo"), false).await.unwrap();
    let logid = reply.logid.unwrap();
    assert_eq!(logid.len(), 34, "{logid}");
    assert!(logid[..14].bytes().all(|b| b.is_ascii_digit()) && logid[14..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(logid.starts_with("20"), "a UTC date and time first: {logid}");
    assert!(reply.value.workflow_detail.created_at > Some(1_700_000_000), "a string timestamp is read as a number");
}
