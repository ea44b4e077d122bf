#!/usr/bin/env bash
# Check the Dockerfile's recipe and the image's runtime promises where no Docker engine runs.
#
# Usage (as root, on Linux, with PyPI reachable): bash scripts/check-image-recipe.sh
# Environment: PYTHON  the interpreter standing in for the image's (default /usr/bin/python3;
#                      it must be readable by user 65532, so not one under /root).
#
# It does not build the image. In a private mount namespace (nothing it does outlives it):
#   1. the build stage's commands, on the committed pyproject.toml, README.md and src:
#      a venv, `pip install --no-compile ".[kubernetes]"`, `compileall`, `nodeconf --version`;
#   2. the image's runtime promises: the root file system is remounted read-only, a tmpfs
#      stands in for the pod's emptyDir at /run/nodeconf, and `nodeconf run` runs as user and
#      group 65532 with the image's environment (HOME=/nonexistent, PYTHONDONTWRITEBYTECODE=1)
#      on a copy of examples/configmap, writing the effective config into the tmpfs;
#   3. a kubelet-style swap of the document must reach the effective file, and SIGTERM must end
#      the daemon with exit code 0.
# Prints "image recipe: ok" and exits 0 when every step held; any failure exits non-zero.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" = 0 ] || { echo "check-image-recipe: needs root (mount namespace, setpriv)" >&2; exit 2; }
    repo=$(cd "$(dirname "$0")/.." && pwd)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    chmod 755 "$work"
    git -C "$repo" archive HEAD pyproject.toml README.md src examples/configmap | tar -x -C "$work"
    unshare --mount bash "$(realpath "$0")" --inside "$work" "${PYTHON:-/usr/bin/python3}"
    exit 0
fi

work=$2
python=$3
venv=$work/opt/nodeconf
effective=/run/nodeconf/effective.json
port=19808

mount --make-rprivate /

# 1. The build stage.
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --no-compile "${work}[kubernetes]"
"$venv/bin/python" -m compileall -q -j 0 "$venv/lib"
"$venv/bin/nodeconf" --version

# 2. The runtime: a writable document directory (kubelet's side), a tmpfs for the emptyDir,
#    then everything else read-only.
config=$work/config
mkdir -p "$config" /run/nodeconf
mount -t tmpfs -o mode=755 tmpfs "$config"
cp -a "$work/examples/configmap/." "$config/"
mount -t tmpfs -o mode=1777 tmpfs /run/nodeconf
mount -o remount,bind,ro /
if touch "$work/probe" 2>/dev/null; then
    echo "check-image-recipe: the root file system is still writable" >&2
    exit 1
fi

env -i PATH="$venv/bin:/usr/bin:/bin" HOME=/nonexistent PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    setpriv --reuid=65532 --regid=65532 --clear-groups \
    "$venv/bin/nodeconf" run --source file --path "$config" --write-effective "$effective" \
    --status-addr "127.0.0.1:$port" &
daemon=$!
trap 'kill -KILL "$daemon" 2>/dev/null || true' EXIT  # never left behind by a failed step

# 3. Wait (bounded) for a predicate over the status server or the effective file.
wait_for() {
    "$venv/bin/python" - "$port" "$effective" "$1" <<'EOF'
import json, sys, time, urllib.request
port, effective, want = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        if want == "ready":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    sys.exit(0)
        else:
            with open(effective, encoding="utf-8") as f:
                if json.load(f)["evictingConfig"]["evictingCPUHighWatermark"] == int(want):
                    sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.1)  # a bounded poll from outside the daemon; the daemon itself never polls
sys.exit(f"check-image-recipe: timed out waiting for {want}")
EOF
}
wait_for ready

# A kubelet-style swap: new timestamped directory, ..data_tmp renamed over ..data, old removed.
old=$(readlink "$config/..data")
new=..2030_01_01_00_00_00.000000001
mkdir "$config/$new"
"$venv/bin/python" - "$config/$old/colocation-config" "$config/$new/colocation-config" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
doc["globalConfig"]["evictingConfig"]["evictingCPUHighWatermark"] = 71
json.dump(doc, open(sys.argv[2], "w", encoding="utf-8"), indent=2)
EOF
ln -s "$new" "$config/..data_tmp"
mv -T "$config/..data_tmp" "$config/..data"
rm -rf "${config:?}/$old"
wait_for 71

kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
trap - EXIT
if [ "$status" != 0 ]; then
    echo "check-image-recipe: the daemon exited with $status after SIGTERM" >&2
    exit 1
fi
echo "image recipe: ok"
