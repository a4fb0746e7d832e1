"""Every error path of the command line: one line on stderr, the documented exit code, nothing pulled.

Most cases run ``cli.main`` in-process (the same code the console script runs) against a
sandbox that records every request, so "before any request" is checked, not assumed;
one case runs the real process to see exactly what a terminal shows.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolkit import cli

ROOT = Path(__file__).resolve().parent.parent


def fail(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the command line; return its exit code and its single stderr line."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's own exits (bad arguments, --help)
        code = exit_.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("wa-toolkit: error: ") and "usage:" not in captured.err
    assert "Traceback" not in captured.err and "api_key=" not in captured.err
    return code, lines[0]


@pytest.fixture
def keys(sandbox, monkeypatch):
    """Both providers' keys and servers in the environment, pointing at a recording sandbox."""
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    return sandbox


@pytest.mark.parametrize("argv", [
    ["export", "--provider", "bogus", "--out", "x.csv"],
    ["export"],
    [],
    ["export", "--out", "x.csv", "--after", "yesterday"],
    ["export", "--out", "x.csv", "--after", "today"],
    ["export", "--out", "x.csv", "--search", "x" * 65],
    ["export", "--out", "x.csv", "--recipient", "123"],
    ["report", "--within", "soon"],
    ["report", "--within", "-2h"],
    ["watch", "--every", "5"],
    ["sandbox", "--fault-rate", "3"],
    ["sandbox", "--port", "70000"],
    ["sandbox", "--wassist-conversations", "0"],
    ["sample-history", "--root", "h", "--days", "0"],
], ids=lambda argv: " ".join(argv) or "no command")
def test_a_bad_argument_is_one_line_with_exit_2_and_points_to_help(argv, capsys):
    code, line = fail(capsys, *argv)
    assert code == cli.EXIT_USAGE
    assert "--help" in line


def test_a_watched_server_is_shown_without_the_user_and_password_its_url_carries():
    assert cli._server("https://ops:hunter2@api.example.com/v1") == "https://api.example.com/v1"
    assert cli._server("http://127.0.0.1:8765") == "http://127.0.0.1:8765"


def test_after_now_is_this_moment_whatever_the_machines_zone(monkeypatch):
    # pandas reads "now" as the machine's wall clock; taken for UTC it was nine hours off in Tokyo.
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        read = cli._moment("now")
        assert abs(read - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(seconds=5)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("value", ["-5", "0", "inf"])
def test_every_deadline_refused_is_refused_for_the_same_reason(value, capsys):
    # Zero was once refused as "not positive" where a negative value was told "zero or more".
    code, line = fail(capsys, "export", "--out", "x.csv", "--deadline", value)
    assert code == cli.EXIT_USAGE
    assert f"a deadline is a positive, finite number of seconds or 'none', got '{value}'" in line


def test_the_real_process_prints_exactly_one_line(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WASSIST_", "BRIQ_"))}
    argv = [sys.executable, "-m", "toolkit", "export", "--provider", "nope", "--out", "x.csv"]
    result = subprocess.run(argv, capture_output=True, text=True, env=environment, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("wa-toolkit: error: argument --provider")


@pytest.mark.parametrize("argv, flags, provider", [
    (["--provider", "briq", "--agent", "abc"], "--agent", "Wassist"),
    (["--provider", "briq", "--has-unread", "true", "--after", "2026-01-01"], "--has-unread, --after",
     "Wassist"),
    (["--provider", "wassist", "--search", "hello"], "--search", "Briq"),
    (["--provider", "wassist", "--briq-status", "all"], "--briq-status", "Briq"),
])
@pytest.mark.parametrize("command", ["export", "report", "snapshot"])
def test_a_filter_of_a_provider_not_pulled_is_refused_before_any_request(command, argv, flags, provider, keys,
                                                                        tmp_path, capsys):
    out = ["--root", str(tmp_path / "h")] if command == "snapshot" else ["--out", str(tmp_path / "out.csv")]
    code, line = fail(capsys, command, *argv, *out)
    assert code == cli.EXIT_USAGE
    assert flags in line and f"{provider} is not pulled (--provider" in line
    assert keys.list_requests() == []
    assert list(tmp_path.iterdir()) == []


def test_a_filter_of_a_provider_without_a_key_is_refused(sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BRIQ_API_KEY", sandbox.config.briq_key)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "export", "--agent", "abc", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_USAGE
    assert "--agent" in line and "WASSIST_API_KEY is not set" in line
    assert sandbox.list_requests() == []


@pytest.mark.parametrize("after, before", [
    ("2026-02-01", "2026-01-01"),
    ("2026-01-01T12:00", "2026-01-01T12:00"),
    ("2026-01-01T10:00+03:00", "2026-01-01T06:30Z"),  # 07:00 UTC after 06:30 UTC
])
def test_a_reversed_or_empty_time_range_is_refused_before_any_request(after, before, keys, tmp_path, capsys):
    code, line = fail(capsys, "export", "--provider", "wassist", "--after", after, "--before", before,
                      "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_USAGE
    assert "--after" in line and "--before" in line
    assert keys.list_requests() == []


@pytest.mark.parametrize(("argv", "named", "way_out"), [
    (["snapshot", "--full-every", "2h"], "--full-every", "add --incremental"),
    (["watch", "--seed", "3", "--rounds", "1"], "--seed", "add --sandbox"),
    # The sandbox's watch checks its filters as the live one does.
    (["watch", "--sandbox", "--provider", "briq", "--agent", "abc", "--rounds", "1"], "--agent",
     "Wassist is not pulled (--provider briq)"),
    (["watch", "--sandbox", "--after", "2026-12-03", "--before", "2026-12-01", "--rounds", "1"], "--after",
     "the range is empty"),
])
def test_an_option_that_would_be_ignored_is_refused_before_any_request(argv, named, way_out, keys, tmp_path,
                                                                       capsys):
    code, line = fail(capsys, *argv, *(["--root", str(tmp_path / "h")] if argv[0] == "snapshot" else []))
    assert code == cli.EXIT_USAGE
    assert named in line and way_out in line
    assert keys.list_requests() == []
    assert list(tmp_path.iterdir()) == []


def test_a_range_given_in_another_zone_is_compared_in_utc(keys, tmp_path, capsys):
    # 10:00 at +03:00 is 07:00 UTC, which is before 07:30 UTC: a valid range, so the pull runs.
    code = cli.main(["export", "--provider", "wassist", "--after", "2026-01-01T10:00+03:00",
                     "--before", "2026-01-01T07:30Z", "--out", str(tmp_path / "x.csv"), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert keys.list_requests("wassist")


def test_a_missing_key_names_the_environment_variable(tmp_path, capsys):
    code, line = fail(capsys, "export", "--provider", "briq", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED
    assert "BRIQ_API_KEY" in line


@pytest.mark.parametrize("command", ["export", "sample"])
def test_a_file_in_a_missing_folder_is_refused_and_nothing_is_created(command, keys, tmp_path, capsys):
    target = tmp_path / "missing" / "x.csv"
    code, line = fail(capsys, command, "--out", str(target))
    assert code == cli.EXIT_USAGE
    assert "does not exist" in line and str(target.parent) in line
    assert not target.parent.exists() and keys.list_requests() == []


def test_a_report_named_by_its_data_file_makes_its_folder_as_the_folder_form_does(keys, tmp_path, capsys):
    # README: `report --out report-out` and `report --out report-out/backlog.xlsx` alike.
    folder = tmp_path / "report-out"
    assert cli.main(["report", "--no-progress", "--out", str(folder / "backlog.xlsx")]) == 0
    assert sorted(path.name for path in folder.iterdir()) == ["backlog.xlsx", "report.html"]
    code, line = fail(capsys, "report", "--out", str(tmp_path / "no" / "such" / "backlog.xlsx"))
    assert code == cli.EXIT_USAGE and "only the last folder is created" in line


def test_an_existing_folder_given_as_the_file_is_refused(keys, tmp_path, capsys):
    code, line = fail(capsys, "export", "--out", str(tmp_path))
    assert code == cli.EXIT_USAGE and "is a folder" in line
    assert keys.list_requests() == []


@pytest.mark.parametrize("command, flag", [("report", "--out"), ("snapshot", "--root"), ("demo", "--out"),
                                           ("sample-history", "--root")])
def test_an_output_folder_is_created_only_as_the_last_part_of_its_path(command, flag, keys, tmp_path, capsys):
    target = tmp_path / "missing" / "out"
    code, line = fail(capsys, command, flag, str(target))
    assert code == cli.EXIT_USAGE
    assert "does not exist" in line and "only the last folder is created" in line
    assert not (tmp_path / "missing").exists() and keys.list_requests() == []


@pytest.mark.parametrize("command, flag", [("report", "--out"), ("snapshot", "--root"), ("export", "--out")])
def test_an_output_path_under_a_file_is_refused_before_the_pull(command, flag, keys, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, line = fail(capsys, command, flag, str(blocker / "inside"))
    assert code == cli.EXIT_USAGE and "is a file, not a folder" in line
    assert keys.list_requests() == []


def test_an_unwritable_snapshot_root_is_refused_before_the_pull(keys, capsys):
    # Nobody, root included, can create files in /proc: a folder that exists and refuses writes.
    code, line = fail(capsys, "snapshot", "--root", "/proc")
    assert code == cli.EXIT_USAGE
    assert line.startswith("wa-toolkit: error: --root /proc: cannot write into /proc")
    assert keys.list_requests() == []


def test_a_missing_history_folder_is_refused_before_the_pull(keys, tmp_path, capsys):
    code, line = fail(capsys, "report", "--out", str(tmp_path / "r"), "--history", str(tmp_path / "nothing"))
    assert code == cli.EXIT_USAGE and "--history" in line and "no such folder" in line
    assert keys.list_requests() == [] and not (tmp_path / "r").exists()


def test_a_file_given_as_the_history_folder_is_named_a_file(keys, tmp_path, capsys):
    afile = tmp_path / "history.csv"
    afile.write_text("provider\n")
    code, line = fail(capsys, "report", "--out", str(tmp_path / "r"), "--history", str(afile))
    assert code == cli.EXIT_USAGE and "it is a file" in line and "no such folder" not in line
    assert keys.list_requests() == []


def test_a_history_folder_without_snapshots_is_refused_before_the_pull(keys, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, line = fail(capsys, "report", "--out", str(tmp_path / "r"), "--history", str(tmp_path / "empty"))
    assert code == cli.EXIT_USAGE and "--history" in line and "no snapshots there" in line
    assert keys.list_requests() == [] and not (tmp_path / "r").exists()


def test_an_output_folder_whose_parent_exists_is_created(keys, tmp_path):
    assert cli.main(["report", "--provider", "briq", "--out", str(tmp_path / "new"), "--no-progress"]) == 0
    assert (tmp_path / "new" / "report.html").is_file()


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_option_has_help_text(command):
    parser = _subcommands()[command]
    assert parser.description
    for action in parser._actions:
        assert action.help and action.help != argparse.SUPPRESS, (command, action.option_strings)


@pytest.mark.parametrize("command", sorted(cli.EXAMPLES))
def test_every_help_shows_examples_that_parse(command, monkeypatch):
    import shlex

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # where data/ is, as the README runs them
    text = _subcommands()[command].format_help()
    assert "examples:" in text
    parser = cli.build_parser()
    for example in cli.EXAMPLES[command]:
        assert f"  {example}" in text  # each on a line of its own, as written
        words = shlex.split(example, comments=True)
        assert words[0] == "wa-toolkit"
        arguments, unknown = parser.parse_known_args(words[1:])
        assert unknown == [] and callable(arguments.handler), example


def test_demo_help_says_what_it_writes():
    text = _subcommands()["demo"].format_help()
    for written in ("conversations.csv", "report.html", "history/"):
        assert written in text


@pytest.mark.parametrize("value, said", [("backend.wassist.app", "must be an http(s) server root"),
                                         ("ftp://example.org", "must be an http(s) server root"),
                                         ("https://example.org/?x=1", "must not carry a query")])
def test_a_bad_server_variable_is_named_as_set(value, said, sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WASSIST_API_KEY", sandbox.config.wassist_key)
    monkeypatch.setenv("WASSIST_BASE_URL", value)
    code, line = fail(capsys, "export", "--provider", "wassist", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_USAGE
    assert line.startswith(f"wa-toolkit: error: WASSIST_BASE_URL {said}")
    assert "base_url" not in line and sandbox.list_requests() == []


@pytest.mark.parametrize("provider, path", [("wassist", "/api/v1/conversations/"),
                                            ("briq", "/v1/whatsapp/conversations")])
def test_a_server_variable_with_the_apis_path_says_to_leave_it_out(provider, path, sandbox, monkeypatch,
                                                                   tmp_path, capsys):
    variable = f"{provider.upper()}_BASE_URL"
    monkeypatch.setenv(f"{provider.upper()}_API_KEY", getattr(sandbox.config, f"{provider}_key"))
    monkeypatch.setenv(variable, sandbox.base_url + path)
    code, line = fail(capsys, "export", "--provider", provider, "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_USAGE and line.startswith(f"wa-toolkit: error: {variable} is the server's root")
    assert f"use {sandbox.base_url!r}" in line and sandbox.list_requests() == []


def test_a_refused_key_names_the_variable_to_fix_and_never_the_key(sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BRIQ_API_KEY", "wrong-secret-KEY123")
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "export", "--provider", "briq", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED and "the API key was refused" in line
    assert line.endswith("(check BRIQ_API_KEY)")
    assert "wrong-secret-KEY123" not in line


def test_two_refused_keys_are_named_together(sandbox, monkeypatch, tmp_path, capsys):
    # Fixing Wassist's key only to meet Briq's refusal on the next run: both are said at once.
    monkeypatch.setenv("WASSIST_API_KEY", "wrong-wassist-KEY1")
    monkeypatch.setenv("BRIQ_API_KEY", "wrong-briq-KEY2")
    monkeypatch.setenv("WASSIST_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "export", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED and line.startswith("wa-toolkit: error: wassist: the API key was refused")
    assert line.endswith("(check WASSIST_API_KEY); briq: its API key is refused too (HTTP 401) "
                         "(check BRIQ_API_KEY)")
    assert "KEY1" not in line and "KEY2" not in line
    # Briq's key was checked with one request of one row, not a pull.
    assert [record.params for record in sandbox.list_requests("briq")] == [{"limit": "1", "offset": "0"}]


def test_a_good_second_key_is_not_named_with_a_refused_first(sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WASSIST_API_KEY", "wrong-wassist-KEY1")
    monkeypatch.setenv("BRIQ_API_KEY", sandbox.config.briq_key)
    monkeypatch.setenv("WASSIST_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "export", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED and line.endswith("(check WASSIST_API_KEY)") and "briq" not in line
    assert not (tmp_path / "x.csv").exists()


def test_two_refused_keys_are_named_together_by_an_incremental_snapshot(sandbox, monkeypatch, tmp_path,
                                                                        capsys):
    monkeypatch.setenv("WASSIST_API_KEY", "wrong-wassist-KEY1")
    monkeypatch.setenv("BRIQ_API_KEY", "wrong-briq-KEY2")
    monkeypatch.setenv("WASSIST_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "snapshot", "--root", str(tmp_path / "history"), "--incremental",
                      "--no-progress")
    assert code == cli.EXIT_FAILED and line.endswith("briq: its API key is refused too (HTTP 401) "
                                                     "(check BRIQ_API_KEY)")


def test_a_badly_copied_second_key_is_named_as_unusable_not_missing(sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WASSIST_API_KEY", "wrong-wassist-KEY1")
    monkeypatch.setenv("BRIQ_API_KEY", "sandbox\u2019key")  # a typographic apostrophe, pasted
    monkeypatch.setenv("WASSIST_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url)
    code, line = fail(capsys, "export", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED and "briq: its API key is unusable too" in line
    assert "missing too" not in line
    assert sandbox.list_requests("briq") == []  # no header carries it: nothing was sent


def test_a_server_without_the_list_says_to_check_the_base_url(sandbox, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BRIQ_API_KEY", sandbox.config.briq_key)
    monkeypatch.setenv("BRIQ_BASE_URL", sandbox.base_url + "/proxy")
    code, line = fail(capsys, "export", "--provider", "briq", "--out", str(tmp_path / "x.csv"))
    assert code == cli.EXIT_FAILED and "HTTP 404" in line and "is the base URL the server's root?" in line


def test_a_duration_without_a_unit_is_refused(capsys):
    # pandas would read a bare "2" as two nanoseconds: a report "within 2" would silently count nothing.
    code, line = fail(capsys, "report", "--within", "2")
    assert code == 2 and "unit" in line and "`wa-toolkit report --help`" in line


def test_an_unknown_option_points_to_its_own_command_help(capsys):
    code, line = fail(capsys, "export", "--bogus", "--out", "x.csv")
    assert code == 2 and "--bogus" in line and "`wa-toolkit export --help`" in line


@pytest.mark.parametrize("argv, mistyped, meant", [
    (["export", "--outt", "x.csv"], "--outt", "--out"),  # --out is required: argparse said it was missing
    (["snapshot", "--rot", "snaps"], "--rot", "--root"),
    (["watch", "--evry", "5m"], "--evry", "--every"),
    (["export", "--out", "x.csv", "--providers", "briq"], "--providers", "--provider"),
])
def test_a_mistyped_option_is_named_with_the_option_meant(argv, mistyped, meant, capsys):
    code, line = fail(capsys, *argv)
    assert code == 2 and f"unrecognized arguments: {mistyped}" in line and f"did you mean {meant}?" in line
    assert "required" not in line


@pytest.mark.parametrize("argv, said", [
    (["export", "--out", "x.csv", "--bogus"], "unrecognized arguments: --bogus ("),  # nothing like it
    (["--outt"], "required: COMMAND"),  # no command: that is what is missing
])
def test_an_unknown_option_gets_no_far_fetched_suggestion(argv, said, capsys):
    code, line = fail(capsys, *argv)
    assert code == 2 and said in line and "did you mean" not in line


@pytest.mark.parametrize("mistyped, meant", [("reprot", "report"), ("Export", "export"), ("wach", "watch")])
def test_a_mistyped_command_is_named_with_the_command_meant(mistyped, meant, capsys):
    code, line = fail(capsys, mistyped, "--out", "x.csv")
    assert code == 2 and f"invalid choice: '{mistyped}'" in line and f"did you mean {meant}?" in line


def test_an_unknown_command_gets_no_far_fetched_suggestion(capsys):
    code, line = fail(capsys, "xyz")
    assert code == 2 and "invalid choice: 'xyz'" in line and "did you mean" not in line


def test_an_abbreviated_option_is_still_taken(keys, tmp_path):
    # argparse takes a unique prefix of an option; the mistyped-option check must not refuse it.
    assert cli.main(["export", "--ou", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").exists()


def test_version_is_printed(capsys):
    import toolkit as tk

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"wa-toolkit {tk.__version__}"


def test_the_report_summary_counts_at_risk_within_the_asked_horizon(keys, tmp_path, capsys):
    import toolkit as tk

    assert cli.main(["report", "--out", str(tmp_path / "r"), "--within", "4h", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    pulled = tk.read_csv(tmp_path / "r" / "conversations.csv")
    expected = len(tk.at_risk(pulled, within="4h"))
    words = "unread conversation loses its" if expected == 1 else "unread conversations lose their"
    assert f"{expected:,} {words} window within 4 h" in printed


@pytest.mark.parametrize(("count", "words"), [
    (0, "0 unread conversations lose their window within 2 h"),
    (1, "1 unread conversation loses its window within 2 h"),
    (1411, "1,411 unread conversations lose their window within 2 h"),
])
def test_summaries_agree_in_number_with_their_counts(count, words):
    from toolkit.display import at_risk_words, counted

    assert at_risk_words(count, "2h") == words
    assert counted(1, "window closes", "windows close") == "1 window closes"
    assert counted(2, "window closes", "windows close") == "2 windows close"


def test_a_sandbox_port_in_use_is_named_with_a_way_out(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, line = fail(capsys, "sandbox", "--port", str(port))
    assert code == 2
    assert f"--port {port}" in line and "already in use" in line and "--port 0" in line


@pytest.mark.parametrize(("argv", "value", "why"), [
    (["watch", "--sandbox", "--every", "-5s"], "-5s", "must not be negative"),
    (["report", "--within", "-2h"], "-2h", "must be longer than zero"),
    (["sandbox", "--port", "-5"], "-5", "port"),
])
def test_a_value_starting_with_a_minus_is_read_and_refused_for_what_it_is(argv, value, why, capsys):
    # argparse alone would take "-5s" for an option and say only "expected one argument".
    code, line = fail(capsys, *argv)
    assert code == 2
    assert f"'{value}'" in line and "expected one argument" not in line
    assert why in line


@pytest.mark.parametrize("argv", [["--help"], ["export", "--help"], ["watch", "--help"],
                                  ["snapshot", "--help"]])
def test_help_is_printed_without_loading_pandas(argv):
    """Help is text: it must not wait the second pandas takes to load."""
    code = (f"import sys\nfrom toolkit import cli\ntry:\n    cli.main({argv!r})\n"
            "except SystemExit:\n    pass\nprint('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_warning_is_one_line_of_the_commands_own_without_python_source(tmp_path):
    """In a real process (pytest records warnings itself): one line, no file path or source."""
    script = (
        "import sys, warnings\n"
        "from toolkit import cli\n"
        "def warns(args):\n"
        "    warnings.warn('briq: 3 value(s) could not be read: sender_id (3)', UserWarning)\n"
        "    return 0\n"
        "cli._sample = warns\n"
        "code = cli.main(['sample', '--out', sys.argv[1]])\n"
        "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.csv")], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "wa-toolkit: warning: briq: 3 value(s) could not be read: sender_id (3)\n"


def test_a_warning_raised_inside_the_command_is_still_recorded_by_a_caller(monkeypatch, tmp_path):
    import warnings

    def warns(args: argparse.Namespace) -> int:
        warnings.warn("briq: 3 value(s) could not be read", UserWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(cli, "_sample", warns)
    formatted = warnings.formatwarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["sample", "--out", str(tmp_path / "s.csv")]) == 0
    assert [str(warning.message) for warning in caught] == ["briq: 3 value(s) could not be read"]
    assert warnings.formatwarning is formatted  # Python's own again once the command is over


def test_an_argument_error_comes_before_a_missing_key(tmp_path, monkeypatch, capsys):
    """Bad arguments exit 2 before anything else: a user who then sets the keys meets no new error."""
    for name in ("WASSIST_API_KEY", "BRIQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["export", "--out", str(tmp_path / "x.txt")]) == 2
    assert "the extension chooses the format" in capsys.readouterr().err
    assert cli.main(["export", "--out", str(tmp_path / "missing" / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["snapshot", "--incremental", "--root", str(tmp_path / "missing" / "h")]) == 2
    capsys.readouterr()
    # The folder above a history names an argument to correct, as an empty folder does.
    (tmp_path / "out").mkdir()
    assert cli.main(["sample-history", "--root", str(tmp_path / "out" / "history"), "--days", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["report", "--history", str(tmp_path / "out"), "--out", str(tmp_path / "r")]) == 2
    assert "holds no snapshots itself, but" in capsys.readouterr().err
    assert cli.main(["sample-history", "--root", str(tmp_path / "out"), "--days", "1"]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"wa-toolkit: error: --root {tmp_path / 'out'} holds no snapshots")
    # A reversed range, or a server variable that is no server, whatever the keys.
    output = ["--out", str(tmp_path / "x.csv")]
    assert cli.main(["export", "--after", "2026-02-01", "--before", "2026-01-01", *output]) == 2
    assert "the range is empty" in capsys.readouterr().err
    monkeypatch.setenv("WASSIST_BASE_URL", "ftp://x")
    assert cli.main(["export", "--provider", "wassist", *output]) == 2
    assert "WASSIST_BASE_URL must be an http(s) server root" in capsys.readouterr().err
