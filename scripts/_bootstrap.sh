# Sourced by the scripts beside it: makes .venv with what Coffee Coach needs,
# and reinstalls only when pyproject.toml changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
stamp="$venv/.coffee-coach-installed"
want="$("$venv/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$root/pyproject.toml")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing Coffee Coach and its dependencies into .venv (first run only)..." >&2
    "$venv/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install -qq --disable-pip-version-check -e "$root[test]" >&2
    echo "$want" > "$stamp"
fi
