#!/usr/bin/env bash
# The front door of the DeepClean pipeline.
#   ./run.sh up [ARGS]        set up if needed, then run the whole pipeline here (deepclean up ARGS; Ctrl-C stops it)
#   ./run.sh setup            create .venv (project + test tools) and .triton (Triton server env); idempotent
#   ./run.sh test [ARGS]      set up if needed, lint, then run the whole test suite (pytest ARGS)
#   ./run.sh lint             ruff check and ruff format --check over the tree
#   ./run.sh simulate ARGS    deepclean simulate ARGS (the simulated detector)
#   ./run.sh triton ARGS      deepclean triton ARGS (a real Triton server on this machine)
#   ./run.sh deepclean ARGS   any deepclean subcommand
set -euo pipefail
# Paths given to commands stay relative to where you run this from; the project's own files
# are found through ROOT.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
TRITON_VENV="$ROOT/.triton/venv"
PYTHON="${PYTHON:-python3}"

pip_args=(--disable-pip-version-check)
# This machine keeps the CPU build of torch on disk; without it pip would fetch CUDA wheels.
[ -d /opt/wheels ] && pip_args+=(--find-links /opt/wheels)

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

setup_main() {
    local stamp; stamp="$(stamp_of "$ROOT/pyproject.toml" "$ROOT/setup.py" "$ROOT/constraints.txt")"
    if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$stamp" ]; then return 0; fi
    echo "run.sh: setting up $VENV" >&2
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "${pip_args[@]}" --upgrade pip
    "$VENV/bin/python" -m pip install -q "${pip_args[@]}" -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    echo "$stamp" > "$VENV/.stamp"
}

setup_triton() {
    local stamp; stamp="$(stamp_of "$ROOT/constraints-triton.txt")"
    if [ -f "$TRITON_VENV/.stamp" ] && [ "$(cat "$TRITON_VENV/.stamp")" = "$stamp" ]; then return 0; fi
    echo "run.sh: setting up the Triton server environment $TRITON_VENV" >&2
    [ -x "$TRITON_VENV/bin/python" ] || "$PYTHON" -m venv "$TRITON_VENV"
    "$TRITON_VENV/bin/python" -m pip install -q "${pip_args[@]}" --upgrade pip
    # numpy<2 is required by Triton's python backend stub (see docs/architecture.md).
    "$TRITON_VENV/bin/python" -m pip install -q "${pip_args[@]}" -r "$ROOT/constraints-triton.txt"
    echo "$stamp" > "$TRITON_VENV/.stamp"
}

setup() { setup_main; setup_triton; }

lint() {
    "$VENV/bin/ruff" check --quiet . && "$VENV/bin/ruff" format --check --quiet . \
        || { echo "run.sh: lint failed (fix with: .venv/bin/ruff check --fix . && .venv/bin/ruff format .)" >&2; return 1; }
}

cmd="${1:-help}"; shift || true
case "$cmd" in
    setup) setup ;;
    lint) setup_main; cd "$ROOT"; lint ;;
    test)
        setup
        cd "$ROOT"; lint
        export DEEPCLEAN_TRITON_VENV="$TRITON_VENV"
        cd "$ROOT"
        exec "$VENV/bin/python" -m pytest "$@" ;;
    up) setup; export DEEPCLEAN_TRITON_VENV="$TRITON_VENV"; exec "$VENV/bin/deepclean" up "$@" ;;
    simulate) setup_main; exec "$VENV/bin/deepclean" simulate "$@" ;;
    triton) setup; export DEEPCLEAN_TRITON_VENV="$TRITON_VENV"; exec "$VENV/bin/deepclean" triton "$@" ;;
    deepclean) setup; export DEEPCLEAN_TRITON_VENV="$TRITON_VENV"; exec "$VENV/bin/deepclean" "$@" ;;
    help|-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "run.sh: unknown command '$cmd'; try ./run.sh help" >&2; exit 2 ;;
esac
