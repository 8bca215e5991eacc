import re
import shutil

import pytest
from stackcast.pipeline.results.runs import REPO, git_commit, new_run_id


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
def test_git_commit_names_the_checkout_and_flags_local_changes():
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", git_commit() or "")


def test_run_ids_sort_by_time_and_name_their_kind():
    a, b = new_run_id("backtest"), new_run_id("daily")
    assert re.fullmatch(r"\d{8}T\d{6}Z-backtest-[0-9a-f]{4}", a)
    assert a[:16] <= b[:16] and "-daily-" in b
