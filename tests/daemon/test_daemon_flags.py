"""``nodeconf run`` with bad flags or unreadable paths: one line on stderr, exit 2, before
anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodeconf.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["run", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


@pytest.fixture
def doc(tmp_path: Path) -> str:
    path = tmp_path / "doc.json"
    path.write_text('{"globalConfig": {}}', encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def outside_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBERNETES_SERVICE_HOST", "POD_NAMESPACE", "NODE_NAME", "POD_NAME"):
        monkeypatch.delenv(name, raising=False)


CASES = [
    pytest.param([], "--source file needs --path P", id="no-source-no-path"),
    pytest.param(
        ["--path", "/nonexistent/cm"], "--path /nonexistent/cm: no such file", id="missing-path"
    ),
    pytest.param(["--source", "ftp"], "invalid choice: 'ftp'", id="unknown-source"),
    pytest.param(["--bogus"], "unrecognized arguments: --bogus", id="unknown-flag"),
    pytest.param(["--status-addr", "nowhere"], "--status-addr", id="bad-status-addr"),
    pytest.param(
        ["--exec-timeout", "-1"], "--exec-timeout must be a positive", id="negative-timeout"
    ),
    pytest.param(["--shutdown-timeout", "abc"], "invalid float value: 'abc'", id="non-number"),
    pytest.param(["--log-format", "xml"], "invalid choice: 'xml'", id="bad-log-format"),
    pytest.param(["--node-labels", "novalue"], "is not of the form key=value", id="bad-label"),
    pytest.param(["--labels-file", "/nonexistent/labels"], "cannot read", id="missing-labels-file"),
    pytest.param(
        ["--write-effective", "/nonexistent/dir/out.json"], "does not exist", id="bad-out-dir"
    ),
    pytest.param(["--exec"], "--exec needs a command", id="exec-without-command"),
    pytest.param(
        ["--poll-interval", "0"], "--poll-interval must be a positive", id="zero-poll-interval"
    ),
    pytest.param(
        ["--poll-interval", "inf"], "--poll-interval must be a positive", id="inf-poll-interval"
    ),
    pytest.param(["--exec", "no-such-command-xyz"], "command not found", id="exec-not-found"),
    pytest.param(
        ["--namespace", "x"], "--namespace needs --source kubernetes", id="k8s-flag-with-file"
    ),
]


@pytest.mark.parametrize(("argv", "expected"), CASES)
def test_bad_flag_is_one_line_and_exit_2(capsys, doc, argv, expected) -> None:
    """Each bad flag or path is refused before anything starts: one line, exit 2."""
    path = [] if argv[:1] in ([], ["--path"]) else ["--path", doc]
    code, lines = run(capsys, *path, *argv)
    assert code == 2
    assert len(lines) == 1, lines
    assert expected in lines[0]


def test_fifo_as_the_document_is_refused_at_start_up(capsys, tmp_path: Path) -> None:
    """A path that exists but is no regular file (here a FIFO, which must not block the
    check either) cannot be read as a document: one line, exit 2."""
    fifo = tmp_path / "doc"
    os.mkfifo(fifo)
    code, lines = run(capsys, "--path", str(fifo))
    assert code == 2
    assert lines == [f"nodeconf: --path: {fifo}: is not a regular file"]


def test_key_naming_a_directory_is_refused_at_start_up(capsys, tmp_path: Path) -> None:
    """In a ConfigMap-like directory, a key that names a directory is unreadable: exit 2."""
    (tmp_path / "colocation-config").mkdir()
    code, lines = run(capsys, "--path", str(tmp_path))
    assert code == 2
    assert lines == [f"nodeconf: --path: {tmp_path / 'colocation-config'}: is a directory"]


def test_kubernetes_source_needs_namespace_and_node_name(capsys) -> None:
    """Without $POD_NAMESPACE and $NODE_NAME (or the flags) the Kubernetes source cannot run."""
    code, lines = run(capsys, "--source", "kubernetes")
    assert code == 2
    assert lines == [
        "nodeconf: --source kubernetes needs --namespace (or $POD_NAMESPACE) "
        "and --node-name (or $NODE_NAME)"
    ]


def test_a_kubeconfig_that_cannot_be_loaded_is_refused_at_start_up(capsys, tmp_path: Path) -> None:
    """A --kubeconfig that exists but does not parse: one line naming it, exit 2."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [\n", encoding="utf-8")
    code, lines = run(
        capsys,
        *("--source", "kubernetes", "--kubeconfig", str(kubeconfig)),
        *("--namespace", "ns", "--node-name", "node-1"),
    )
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"nodeconf: --kubeconfig: cannot load a Kubernetes client configuration from "
        f"{kubeconfig}: while parsing"
    )


@pytest.mark.parametrize("flag", [["--force-polling"], ["--poll-interval", "5"]])
def test_polling_flags_need_the_file_source(capsys, flag: list[str]) -> None:
    """The polling flags belong to the file source: refused with the Kubernetes source."""
    code, lines = run(
        capsys, "--source", "kubernetes", "--namespace", "ns", "--node-name", "n", *flag
    )
    assert code == 2
    assert lines == ["nodeconf: --poll-interval and --force-polling need --source file"]


def test_kubernetes_is_the_default_inside_a_pod(capsys, monkeypatch) -> None:
    """With KUBERNETES_SERVICE_HOST set and no --path, the source is kubernetes."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    code, lines = run(capsys, "--node-labels", "a=b")
    assert code == 2
    assert "--node-labels and --labels-file need --source file" in lines[0]


def test_bad_flags_in_a_real_process_exit_2_without_traceback(tmp_path: Path) -> None:
    """The same holds for the installed command in its own process."""
    proc = subprocess.run(
        [sys.executable, "-m", "nodeconf", "run", "--path", str(tmp_path / "missing")],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"nodeconf: --path {tmp_path / 'missing'}: no such file or directory"
    ]


def kube_options(*argv: str):  # type: ignore[no-untyped-def]
    from nodeconf.cli.daemonoptions import options_from_args
    from nodeconf.cli.main import build_parser

    args = build_parser().parse_args(["run", "--source", "kubernetes", *argv])
    return options_from_args(args, {"POD_NAMESPACE": "ns", "NODE_NAME": "n"})


def test_kubernetes_flags_become_the_source_settings() -> None:
    """--watch-idle-timeout, --backoff-max-delay and --request-timeout set KubernetesSettings;
    flags not given keep its defaults."""
    from nodeconf.sources.kubernetes import KubernetesSettings

    given = kube_options(
        "--watch-idle-timeout", "90", "--backoff-max-delay", "0.5", "--request-timeout", "4"
    ).kubernetes_settings
    assert given.watch_idle_timeout_seconds == 90
    assert given.request_timeout_seconds == 4
    assert (given.backoff.max_delay_seconds, given.backoff.initial_delay_seconds) == (0.5, 0.5)
    assert kube_options().kubernetes_settings == KubernetesSettings()
    assert kube_options().prepare is False


def test_help_defaults_are_the_settings_defaults() -> None:
    """The defaults the help text and docs name are KubernetesSettings' own."""
    from nodeconf.cli import daemonflags
    from nodeconf.sources.kubernetes import KubernetesSettings

    defaults = KubernetesSettings()
    assert defaults.watch_idle_timeout_seconds == daemonflags.DEFAULT_WATCH_IDLE_TIMEOUT_SECONDS
    assert defaults.backoff.max_delay_seconds == daemonflags.DEFAULT_BACKOFF_MAX_DELAY_SECONDS
    assert defaults.request_timeout_seconds == daemonflags.DEFAULT_REQUEST_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--source", "kubernetes", "--request-timeout", "0"], "--request-timeout must be"),
        (["--source", "kubernetes", "--watch-idle-timeout", "nan"], "--watch-idle-timeout must"),
        (["--watch-idle-timeout", "90"], "--watch-idle-timeout needs --source kubernetes"),
        (["--prepare"], "--prepare needs --source kubernetes"),
    ],
)
def test_kubernetes_flags_are_checked(capsys, monkeypatch, doc, argv, expected) -> None:
    """A bad value, or a Kubernetes flag with the file source: one line, exit 2."""
    if "--source" not in argv:
        argv = ["--source", "file", "--path", doc, *argv]
    monkeypatch.setenv("POD_NAMESPACE", "ns")
    monkeypatch.setenv("NODE_NAME", "n")
    code, err = run(capsys, *argv)
    assert code == 2
    assert len(err) == 1
    assert expected in err[0]
