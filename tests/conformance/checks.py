"""What the in-repo cozepy checks share: quiet imports, `expect`, and running checks."""
from __future__ import annotations

import contextlib
import io
import os
import traceback
import warnings

with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
    warnings.simplefilter("ignore")
    import cozepy  # noqa: F401 - imported once here, quietly (it warns about its environment)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_checks(checks, ctx) -> int:
    """Runs every check (none stops the rest); prints "PASS name: …" or "FAIL name: reason",
    then "N passed, M failed"; returns the exit code."""
    failed = 0
    for check in checks:
        name = check.__name__[len("check_"):]
        try:
            print(f"PASS {name}: {check(ctx)}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the rest
            failed += 1
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            print(f"FAIL {name}: {detail}")
            if os.environ.get("VERBOSE"):
                traceback.print_exc()
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0
