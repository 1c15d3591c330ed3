#!/usr/bin/env bash
# Create or refresh .venv-rasa (Python 3.10) for the Rasa NLU server.
# Idempotent: does nothing when the venv exists and nlu/requirements-rasa.txt is unchanged
# (sha256 stored in .venv-rasa/.requirements.sha256). Set FORCE=1 to reinstall.
# Python 3.10 is found as $PYTHON310, or pyenv's 3.10.x, or python3.10 on PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-rasa"
REQ="$ROOT/nlu/requirements-rasa.txt"
STAMP="$VENV/.requirements.sha256"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/rasa" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -z "${FORCE:-}" ]]; then
  echo "setup_rasa: $VENV is up to date"
  exit 0
fi

find_python() {
  if [[ -n "${PYTHON310:-}" ]]; then echo "$PYTHON310"; return; fi
  if command -v pyenv >/dev/null 2>&1; then
    local root; root="$(pyenv root)"
    local cand
    for cand in "$root"/versions/3.10.*/bin/python; do
      if [[ -x "$cand" ]]; then echo "$cand"; return; fi
    done
  fi
  if command -v python3.10 >/dev/null 2>&1; then command -v python3.10; return; fi
  echo "setup_rasa: no Python 3.10 found (set PYTHON310)" >&2
  exit 1
}

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  echo "setup_rasa: $VENV is not Python 3.10, recreating"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  py="$(find_python)"
  echo "setup_rasa: creating $VENV with $py"
  "$py" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
"$VENV/bin/python" -m pip install --quiet -r "$REQ"
"$VENV/bin/python" -m pip check
# Segmenters must work offline with what their wheels ship.
"$VENV/bin/python" - <<'PY'
from pythainlp.tokenize import word_tokenize
from laonlp.tokenize import word_tokenize as lao_tokenize
from khmernltk import word_tokenize as khmer_tokenize
assert len(word_tokenize("นายจ้างไม่จ่ายเงินเดือน", engine="newmm")) > 1
assert len(lao_tokenize("ນາຍຈ້າງບໍ່ຈ່າຍເງິນເດືອນ")) > 1
assert len(khmer_tokenize("ថៅកែមិនបើកប្រាក់ខែ")) > 1
print("setup_rasa: thai/lao/khmer segmenters work offline")
PY
echo "$want" > "$STAMP"
echo "setup_rasa: done ($("$VENV/bin/rasa" --version 2>/dev/null | head -1))"
