#!/usr/bin/env python3
"""The simulator's Coze Studio mode, judged by the official Python SDK (cozepy 0.20.0).

People point cozepy at a self-hosted Coze Studio for runs and streams: whatever the
simulator learned of Studio's answers (every key present and `null`, `msg: null` on success,
raw error codes, `X-Log-ID`, streams without heartbeats, Studio's interrupt data), the SDK
must still read them. Uses the environment ../shared/conformance/run.sh made.

Usage: python studio.py --base-url URL --token TOKEN --workflows echo=ID,asks=ID,...
(`coze-tui sim --server studio` prints that list on stderr.)
Prints "PASS name" or "FAIL name: reason" per check, then "N passed, M failed"; exit 1 if any failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request

from checks import expect, run_checks
from cozepy import Coze, CozeAPIError, TokenAuth, WorkflowEventType


class Ctx:
    def __init__(self, coze: Coze, bad: Coze, ids: dict[str, str], base_url: str, token: str):
        self.coze, self.bad, self.ids = coze, bad, ids
        self.base_url, self.token = base_url, token

    def raw_interrupt(self, wid):
        """The Interrupt event of a stream run, read without the SDK (see check_interrupt)."""
        req = urllib.request.Request(
            f"{self.base_url}/v1/workflow/stream_run",
            data=json.dumps({"workflow_id": wid}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        event = None
        with urllib.request.urlopen(req, timeout=10) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event == "Interrupt":
                    return json.loads(line[len("data: "):])
        raise AssertionError("no Interrupt event")

    def wf(self, name):
        expect(name in self.ids, f"no workflow named {name!r} given")
        return self.ids[name]


def check_sync_run(ctx):
    r = ctx.coze.workflows.runs.create(workflow_id=ctx.wf("echo"), parameters={"city": "杭州"})
    expect(json.loads(r.data) == {"city": "杭州"}, f"data {r.data!r}")
    expect("execute_id=" in (r.debug_url or ""), f"debug_url {r.debug_url!r}")
    return f"data {r.data}"


def check_async_run(ctx):
    r = ctx.coze.workflows.runs.create(workflow_id=ctx.wf("echo"), parameters={}, is_async=True)
    expect(r.execute_id and int(r.execute_id) > 2**53, f"execute_id {r.execute_id!r}")
    return f"execute id {r.execute_id}"


def check_stream(ctx):
    events = list(ctx.coze.workflows.runs.stream(workflow_id=ctx.wf("chatty")))
    # (cozepy ends the iteration at Done without yielding it.)
    kinds = {e.event for e in events}
    expect(kinds == {WorkflowEventType.MESSAGE}, f"events {kinds}")
    expect(len(events) >= 40 and events[-1].message.node_is_finish, f"{len(events)} messages")
    return f"{len(events)} messages, no PING"


def check_interrupt(ctx):
    # Coze Studio's Interrupt has no node_title (convertStreamRunEvent in coze-studio's
    # backend/application/workflow/workflow.go), which cozepy 0.20.0 requires: the SDK
    # cannot read a Studio interrupt. The simulator keeps to Studio; this records the SDK's
    # limit, and fails if either side changes.
    try:
        list(ctx.coze.workflows.runs.stream(workflow_id=ctx.wf("asks")))
    except Exception as e:  # noqa: BLE001 - pydantic's ValidationError
        expect("node_title" in str(e), f"another error: {e}")
        return "cozepy 0.20.0 cannot read Studio's Interrupt (no node_title), as with a real Studio"
    raise AssertionError("cozepy read an Interrupt without node_title: the SDK changed")


def check_question_resume(ctx):
    wid = ctx.wf("asks")
    interrupt = ctx.raw_interrupt(wid)
    expect("node_title" not in interrupt and "debug_url" in interrupt, f"interrupt {interrupt}")
    data = interrupt["interrupt_data"]
    expect("/" in data["event_id"] and data["type"] == 2, f"interrupt {data!r}")
    expect(json.loads(data["data"])["messages"][0]["type"] == "question", f"data {data['data']!r}")
    resumed = list(ctx.coze.workflows.runs.resume(
        workflow_id=wid, event_id=data["event_id"], resume_data="杭州", interrupt_type=data["type"]))
    said = "".join(e.message.content for e in resumed if e.event == WorkflowEventType.MESSAGE)
    expect("You said 杭州" in said, f"resumed {said!r}")
    return "question answered through stream_resume"


def check_form_resume(ctx):
    wid = ctx.wf("form")
    data = ctx.raw_interrupt(wid)["interrupt_data"]
    schema = json.loads(data["data"])
    expect(data["type"] == 5 and schema["content_type"] == "form_schema", f"data {data['data']!r}")
    fields = [f["name"] for f in json.loads(schema["content"])]
    answer = json.dumps({"city": "杭州", "days": 2}, ensure_ascii=False)
    resumed = list(ctx.coze.workflows.runs.resume(
        workflow_id=wid, event_id=data["event_id"], resume_data=answer, interrupt_type=data["type"]))
    said = "".join(e.message.content for e in resumed if e.event == WorkflowEventType.MESSAGE)
    expect("Forecast for 杭州: 2 day(s)" in said, f"resumed {said!r}")
    return f"form fields {fields}"


def api_error(call, code):
    """The code of the CozeAPIError `call` raises, which must be `code`."""
    try:
        call()
    except CozeAPIError as e:
        expect(e.code == code, f"code {e.code}: {e}")
        return f"code {e.code}"
    raise AssertionError(f"no error (expected {code})")


def check_failure(ctx):
    return api_error(lambda: ctx.coze.workflows.runs.create(workflow_id=ctx.wf("fails"), parameters={}), 305000002)


def check_bad_token(ctx):
    return api_error(lambda: ctx.bad.workflows.runs.create(workflow_id=ctx.wf("echo"), parameters={}), 700012006)


CHECKS = [check_sync_run, check_async_run, check_stream, check_interrupt, check_question_resume,
          check_form_resume, check_failure, check_bad_token]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--workflows", required=True)
    args = ap.parse_args()
    ids = dict(pair.split("=", 1) for pair in args.workflows.split(",") if "=" in pair)
    coze = Coze(auth=TokenAuth(args.token), base_url=args.base_url)
    bad = Coze(auth=TokenAuth("not-" + args.token), base_url=args.base_url)
    ctx = Ctx(coze, bad, ids, args.base_url.rstrip("/"), args.token)
    return run_checks(CHECKS, ctx)


if __name__ == "__main__":
    sys.exit(main())
