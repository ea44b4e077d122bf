#!/usr/bin/env bash
# Run the concurrency tests and the pure model's tests on a free-threaded CPython 3.13
# (`make test-ft`).
#
# Usage: bash scripts/test-ft.sh [PREFIX]
#   PREFIX  where the free-threaded interpreter lives or is built (outside the repository);
#           default ${XDG_CACHE_HOME:-$HOME/.cache}/nodeconf/cpython-3.13-ft, or under
#           ${TMPDIR:-/tmp} when HOME is unset or not writable.
# Environment:
#   NODECONF_FT_THREADS     threads pytest-run-parallel runs each concurrency test on (default 4)
#   NODECONF_FT_ITERATIONS  times each of those threads runs the test (default 1)
#   NODECONF_FT_VENV        the virtual environment to use (default .venv-ft in the repository)
#   NODECONF_FT_RUN_TIMEOUT seconds one pytest run may take before it is stopped with a dump of
#                           every thread's stack (default 600)
#
# Steps:
#   1. scripts/build-ft-python.sh PREFIX: builds the interpreter once, then reuses it.
#   2. A venv on it with nodeconf (editable, without the kubernetes extra: lightkube needs
#      msgspec, which is free-threaded only from Python 3.14) and the test tools. Pins come from
#      pyproject.toml (the runtime dependencies and the `test` extra), except hypothesis, which
#      is pinned here to the last pure-Python release, plus pytest-run-parallel. Recreated when
#      the interpreter or the pins change. Then checks that importing them leaves the GIL off.
#   3. Four pytest runs, each with NODECONF_REQUIRE_FREE_THREADING=1 (tests/conftest.py refuses
#      a GIL interpreter) and the "GIL re-enabled by an import" warning turned into an error:
#      a. `concurrency and not stress` tests under pytest-run-parallel: each test body runs on
#         NODECONF_FT_THREADS threads at once, sharing the test's fixtures;
#      b. `stress` tests, one at a time (they start their own threads, set the switch interval
#         and check exact totals, so running several copies at once would only share the cores);
#      c. the rest of tests/model, one thread: the pure model must run unchanged on this
#         interpreter (its JSON decoder's recursion limit, for one, is not 3.11's);
#      d. tests/ft_selftest: proves the harness sees a real race there (must run, not skip).
#      Tests marked `kubernetes` are deselected, and test modules or folders that cannot import
#      the kubernetes extra are skipped with that reason (scripts/ft_pytest_plugin.py); they
#      run on the default interpreter.
#   Last line: "freethreaded: N passed, N failed, N skipped", the totals of the four runs.
#   Exit status: non-zero if any run failed, or if the self-test did not run all its tests.
#   A run that selects no test (pytest exit 5) is reported but is not a failure: the self-test
#   always has tests, so the whole never runs nothing.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
THREADS=${NODECONF_FT_THREADS:-4}
RUN_TIMEOUT=${NODECONF_FT_RUN_TIMEOUT:-600}
ITERATIONS=${NODECONF_FT_ITERATIONS:-1}
VENV=${NODECONF_FT_VENV:-$REPO/.venv-ft}
# Versions for the free-threaded venv that pyproject.toml does not give (see the header).
FT_PINS=(
    "hypothesis==6.150.3"          # 6.151+ has a compiled part with no free-threaded 3.13 wheel
    "pytest-run-parallel==0.10.0"
)

log() { printf 'test-ft: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Is DIR (created if need be) a directory we can write to?
writable_dir() {
    local dir=$1 probe
    mkdir -p "$dir" 2>/dev/null || return 1
    probe=$dir/.nodeconf-write-probe.$$
    { : >"$probe"; } 2>/dev/null || return 1
    rm -f "$probe"
}

default_prefix() {
    local cache=${XDG_CACHE_HOME:-}
    if [[ -z $cache && -n ${HOME:-} ]]; then cache=$HOME/.cache; fi
    if [[ -n $cache ]] && writable_dir "$cache/nodeconf"; then
        printf '%s\n' "$cache/nodeconf/cpython-3.13-ft"
    else
        printf '%s\n' "${TMPDIR:-/tmp}/nodeconf-cache-$(id -u)/cpython-3.13-ft"
    fi
}

main() {
    prefix=${1:-}
    # The Makefile's default is $(HOME)/.cache/...: with HOME unset that is /.cache/...
    if [[ -z ${HOME:-} && $prefix == /.cache/* ]]; then prefix=; fi
    if [[ -n $prefix ]] && ! writable_dir "$(dirname "$prefix")"; then
        log "cannot write beside $prefix; using the default location instead"
        prefix=
    fi
    [[ -n $prefix ]] || prefix=$(default_prefix)
    writable_dir "$(dirname "$prefix")" || die "no writable place for the interpreter ($prefix)"

    started=$(date +%s)
    # ---- 1. the interpreter ----------------------------------------------------------------------
    bash "$REPO/scripts/build-ft-python.sh" "$prefix"
    FT_PYTHON=$prefix/bin/python3.13t
    built=$(date +%s)

    # ---- 2. the venv -----------------------------------------------------------------------------
    # Nothing in the environment may force the GIL either way: we check what the imports do.
    unset PYTHON_GIL
    cd "$REPO"
    mapfile -t requirements < <("$FT_PYTHON" - "${FT_PINS[@]}" <<'EOF'
import re, sys, tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
overridden = {re.split(r"[<>=!~ \[;]", pin)[0].lower() for pin in sys.argv[1:]}
test = project["optional-dependencies"]["test"]
for req in [*project["dependencies"], *test]:
    if re.split(r"[<>=!~ \[;]", req)[0].lower() not in overridden:
        print(req)
print(*sys.argv[1:], sep="\n")
EOF
    )
    [[ ${#requirements[@]} -gt ${#FT_PINS[@]} ]] || die "cannot read the pins in pyproject.toml"
    # pyproject.toml's hash: entry points and metadata of the editable install change with it.
    venv_stamp_text="$(cat "$prefix/.nodeconf-ft-stamp") prefix=$prefix ${requirements[*]} pyproject=$(sha256sum pyproject.toml | cut -c1-16)"
    venv_stamp=$VENV/.nodeconf-ft-installed
    VPY=$VENV/bin/python
    pip_log=$VENV/pip.log
    if [[ -f $venv_stamp && "$(cat "$venv_stamp")" == "$venv_stamp_text" && -x $VPY ]]; then
        log "reusing venv $VENV"
    else
        log "creating venv $VENV with ${requirements[*]}"
        rm -rf "$VENV"
        "$FT_PYTHON" -m venv "$VENV"
        pip=("$VPY" -m pip install --disable-pip-version-check --no-input)
        if ! { "${pip[@]}" --no-deps -e . && "${pip[@]}" "${requirements[@]}"; } \
            >"$pip_log" 2>&1; then
            tail -n 40 "$pip_log" >&2
            die "installing into $VENV failed (log: $pip_log)"
        fi
    fi
    # Stamp only after the GIL check passes, so a bad install is redone next time.
    if ! "$VPY" - >&2 <<'EOF'; then
import sys
import yaml, prometheus_client, inotify_simple, jsonschema, pytest, hypothesis
import pytest_run_parallel.plugin, pytest_timeout
if yaml.__with_libyaml__:
    import yaml._yaml  # compiled against libyaml: its C extension must keep the GIL off
assert not sys._is_gil_enabled(), "importing the test dependencies re-enabled the GIL"
print(f"yaml C extension: {yaml.__with_libyaml__}; GIL enabled: {sys._is_gil_enabled()}")
EOF
        rm -f "$venv_stamp"
        die "the free-threaded venv fails its check (see above)"
    fi
    printf '%s\n' "$venv_stamp_text" >"$venv_stamp"
    installed=$(date +%s)

    # ---- 3. the tests ----------------------------------------------------------------------------
    results=$(mktemp -d "${TMPDIR:-/tmp}/nodeconf-test-ft.XXXXXX")
    trap 'rm -rf "$results"' EXIT
    export NODECONF_REQUIRE_FREE_THREADING=1
    # Also fail when an import during the run re-enables the GIL (a module without Py_mod_gil).
    # ft_pytest_plugin (scripts/) skips, with the reason, what cannot import the kubernetes extra.
    export PYTHONPATH=$REPO/scripts${PYTHONPATH:+:$PYTHONPATH}
    common=(-p pytest_run_parallel -p ft_pytest_plugin
        -W "error:The global interpreter lock:RuntimeWarning")
    failed=()

    # A run that deadlocks is stopped by `timeout` with SIGABRT: faulthandler then prints the stack
    # of every thread (pytest-timeout covers single tests; this also covers a hang at exit).
    export PYTHONFAULTHANDLER=1

    # run_pytest NAME ARGS...: one pytest run, its JUnit XML kept for the summary.
    run_pytest() {
        local name=$1 rc=0
        shift
        log "pytest ($name): ${*}"
        timeout --signal=ABRT --kill-after=30 "$RUN_TIMEOUT" \
            "$VPY" -m pytest "${common[@]}" --junitxml="$results/$name.xml" "$@" || rc=$?
        case $rc in
            0) ;;
            5) log "pytest ($name) selected no test" ;;
            124 | 134 | 137) failed+=("$name (stopped after ${RUN_TIMEOUT} s, exit $rc)") ;;
            *) failed+=("$name (exit $rc)") ;;
        esac
    }

    export PYTEST_RUN_PARALLEL_VERBOSE=1  # name the tests that could not run on several threads
    run_pytest parallel -m "concurrency and not stress and not kubernetes" \
        --parallel-threads="$THREADS" --iterations="$ITERATIONS" --mark-hypothesis-as-unsafe \
        --ignore=tests/ft_selftest tests
    run_pytest stress -m "stress and not kubernetes" --ignore=tests/ft_selftest tests
    run_pytest model -m "not concurrency and not stress" tests/model
    run_pytest selftest tests/ft_selftest

    # Totals over the four runs; the self-test must have run every test it has.
    summary=$("$VPY" - "$results" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
selftest = dict(totals)
for xml in sorted(Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(xml).getroot().iter("testsuite"):
        for key in totals:
            n = int(suite.get(key, 0))
            totals[key] += n
            if xml.stem == "selftest":
                selftest[key] += n
passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
if selftest["tests"] == 0 or selftest["skipped"]:
    print("SELFTEST-NOT-RUN", end=" ")
print(f"{passed} passed, {totals['failures'] + totals['errors']} failed, "
      f"{totals['skipped']} skipped")
EOF
    ) || summary="SELFTEST-NOT-RUN (no results)"
    if [[ $summary == SELFTEST-NOT-RUN* ]]; then
        summary=${summary#SELFTEST-NOT-RUN }
        failed+=("selftest (tests/ft_selftest collected nothing or skipped tests)")
    fi
    finished=$(date +%s)
    log "interpreter $((built - started)) s, venv $((installed - built)) s," \
        "tests $((finished - installed)) s, total $((finished - started)) s"
    if [[ ${#failed[@]} -gt 0 ]]; then
        log "FAILED: ${failed[*]}"
        printf 'freethreaded: %s\n' "$summary"
        exit 1
    fi
    printf 'freethreaded: %s\n' "$summary"
}

main "$@"; exit  # on one line: bash stops here even if this file changes while it runs
