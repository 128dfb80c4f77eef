#!/usr/bin/env python3
"""The simulator's input endpoints, judged by the official Python SDK (cozepy 0.20.0).

Extends ../shared/conformance/check.py (run first: it makes the virtual environment this
uses) to what issue 10 added: file upload and retrieve, a file given to a run, the versions
list, an input node's form answered through stream resume, conversations and the chatflow
stream. Looks workflows up by name in the first workspace (files, form, versioned, chatflow).

Usage: python inputs.py --base-url URL --token TOKEN
Prints "PASS name" or "FAIL name: reason" per check, then "N passed, M failed"; exit 1 if any failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from checks import expect, run_checks
from cozepy import Coze, Message, TokenAuth, WorkflowEventType


class Ctx:
    def __init__(self, coze: Coze):
        self.coze = coze
        ws = next(iter(coze.workspaces.list().items))
        items = []
        page = coze.workflows.list(workspace_id=ws.id, publish_status="all")
        for p in page.iter_pages():
            items.extend(p.items)
        self.ids = {w.workflow_name: w.workflow_id for w in items}
        self.file_id = None

    def wf(self, name):
        expect(name in self.ids, f"no workflow named {name!r} in the first workspace")
        return self.ids[name]


def check_upload(ctx):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cat.png"
        path.write_bytes(b"\x89PNG" + b"\0" * 5000)
        f = ctx.coze.files.upload(file=path)
    expect(f.id and f.bytes == 5004, f"upload answered {f!r}")
    got = ctx.coze.files.retrieve(file_id=f.id)
    expect(got.id == f.id and got.file_name == "cat.png", f"retrieve answered {got!r}")
    ctx.file_id = f.id
    return f"file {f.id}, {f.bytes} bytes"


def check_file_in_a_run(ctx):
    expect(ctx.file_id, "needs the upload check first")
    value = json.dumps({"file_id": ctx.file_id})
    r = ctx.coze.workflows.runs.create(workflow_id=ctx.wf("files"), parameters={"photo": value})
    out = json.loads(r.data)
    expect(out["files"][0]["file_name"] == "cat.png", f"the run read {r.data}")
    return "the workflow read the uploaded file"


def check_versions(ctx):
    page = ctx.coze.workflows.versions.list(workflow_id=ctx.wf("versioned"), publish_status="all")
    versions = [v.version for p in page.iter_pages() for v in p.items]
    expect(versions == ["v0.0.3", "v0.0.2", "v0.0.1"], f"versions {versions}")
    return ", ".join(versions)


def check_form_resume(ctx):
    wid = ctx.wf("form")
    events = list(ctx.coze.workflows.runs.stream(workflow_id=wid))
    interrupt = [e for e in events if e.event == WorkflowEventType.INTERRUPT]
    expect(interrupt, f"no interrupt in {[e.event for e in events]}")
    data = interrupt[0].interrupt.interrupt_data
    expect(data.type == 5, f"interrupt type {data.type}")
    answer = json.dumps({"city": "杭州", "days": 2}, ensure_ascii=False)
    resumed = list(ctx.coze.workflows.runs.resume(
        workflow_id=wid, event_id=data.event_id, resume_data=answer, interrupt_type=data.type))
    said = "".join(e.message.content for e in resumed if e.event == WorkflowEventType.MESSAGE)
    expect("Forecast for 杭州" in said, f"after the answer: {said!r}")
    return "input node answered with its form"


def turn(ctx, text, conversation_id=None):
    stream = ctx.coze.workflows.chat.stream(
        workflow_id=ctx.wf("chatflow"), bot_id="7400000000000000042", conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text(text)])
    reply, conversation, completed = "", None, False
    for e in stream:
        if e.chat is not None:
            conversation = e.chat.conversation_id
            completed = completed or e.chat.status == "completed"
        if e.message is not None and e.event.endswith("delta"):
            reply += e.message.content
    expect(completed, "no conversation.chat.completed")
    return reply, conversation


def check_chatflow(ctx):
    conv = ctx.coze.conversations.create()
    expect(conv.id, f"conversation {conv!r}")
    first, c1 = turn(ctx, "你好", conv.id)
    expect(c1 == conv.id and "你好" in first, f"first turn {first!r} in {c1}")
    second, c2 = turn(ctx, "again", conv.id)
    expect(c2 == conv.id and "first “你好”" in second, f"second turn {second!r}")
    fresh, c3 = turn(ctx, "new")
    expect(c3 and c3 != conv.id and fresh.startswith("Turn 1"), f"a turn without a conversation: {fresh!r} {c3}")
    return "two turns remembered, a new conversation made when none is given"


CHECKS = [check_upload, check_file_in_a_run, check_versions, check_form_resume, check_chatflow]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    args = ap.parse_args()
    ctx = Ctx(Coze(auth=TokenAuth(args.token), base_url=args.base_url))
    return run_checks(CHECKS, ctx)


if __name__ == "__main__":
    sys.exit(main())
