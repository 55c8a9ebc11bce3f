#!/usr/bin/env bash
# The spoken length of a whole call, with and without the client directory:
# starts `ozmap-ivr serve` on the built-in sandbox, walks the tutorial call with
# `ozmap-ivr call`, synthesises every sentence the caller hears with espeak-ng
# (pt-BR, its default rate) and sums the durations. Holds (<Pause>) are not
# counted; the caller's spoken answers are synthesised the same way, keys are
# not timed.
#
#   scripts/call-length.sh [path/to/ozmap-ivr]     (default: target/release/ozmap-ivr)
#
# Needs espeak-ng and python3 (apt-get install espeak-ng).
set -euo pipefail
BIN="${1:-target/release/ozmap-ivr}"
BIN="$(realpath "$BIN")"
command -v espeak-ng >/dev/null || { echo "espeak-ng is not installed" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

seconds_of() { # the summed length of the WAV files in a folder
  python3 - "$1" <<'PY'
import glob, sys, wave
total = 0.0
for f in glob.glob(sys.argv[1] + "/*.wav"):
    with wave.open(f) as w:
        total += w.getnframes() / w.getframerate()
print(f"{total:.1f}")
PY
}

walk() { # name, CLIENT_DIRECTORY, answers...
  local name="$1" directory="$2"; shift 2
  local port=$((18100 + RANDOM % 800))
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && env -u OZMAP_URL -u GEOCODER IVR_BIND="127.0.0.1:$port" \
     ${directory:+CLIENT_DIRECTORY=$directory} "$BIN" serve >serve.log 2>&1) &
  for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local args=()
  for a in "$@"; do args+=(--answer "$a"); done
  "$BIN" call "http://127.0.0.1:$port/voice" "${args[@]}" >"$WORK/$name/call.txt"
  kill %% 2>/dev/null || true
  wait 2>/dev/null || true
  local questions said words
  questions=$(grep -c '^⌨ gather' "$WORK/$name/call.txt" || true)
  said="$(grep '^🔊 ' "$WORK/$name/call.txt" | sed 's/^🔊 //')"
  words=$(wc -w <<<"$said")
  local i=0
  while IFS= read -r line; do
    i=$((i + 1))
    espeak-ng -v pt-br -w "$WORK/$name/$i.wav" "$line"
  done <<<"$said"
  local j=0
  mkdir -p "$WORK/$name/caller"
  for a in "$@"; do
    case "$a" in say:*) j=$((j + 1)); espeak-ng -v pt-br -w "$WORK/$name/caller/$j.wav" "${a#say:}" ;; esac
  done
  local seconds caller
  seconds=$(seconds_of "$WORK/$name")
  caller=$(seconds_of "$WORK/$name/caller")
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$questions" "$words" "$seconds" "$caller"
}

echo '| Call | Questions | Words heard | Seconds heard | Seconds the caller speaks |'
echo '|------|-----------|-------------|---------------|---------------------------|'
walk "without the directory" none keys:123*123 keys:1 "say:Gabriel Marioto" \
  "say:Rua Delminda Silveira, novecentos, Agronômica, Florianópolis" keys:1
walk "with the directory" "" keys:123*123 keys:1 keys:1
