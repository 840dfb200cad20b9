# Sourced by the round-two recipes (Launch/motab-round2.sh, Launch/mot-round2.sh):
# find an SFT step count whose model lands in an accuracy window. Small models
# learn the synthetic families suddenly (15 % → 97 % within a few hundred steps),
# so the window is found per model and seed rather than fixed.
#
#   search_steps <train-fn> <dir> <lo> <hi> <acc-lo> <acc-hi>
#
# Bisection on a 50-step grid in [lo, hi]: <train-fn> <steps> <try-dir> trains one
# model from scratch into <try-dir> and prints its accuracy (%). Accuracy is assumed
# to rise with the step count. The search stops at the first try inside
# [acc-lo, acc-hi]; when the grid jumps over the window, the try nearest its middle
# is kept. Call it as `steps=$(search_steps …) || exit 1` (a failed try fails it). Every try stays in <dir>-try<steps> (log in <dir>-try<steps>.log); the
# kept one is copied to <dir> (and <dir>.log) and its step count is printed last.
search_steps() {
  local fn=$1 dir=$2 lo=$3 hi=$4 acc_lo=$5 acc_hi=$6 best="" best_gap=100000
  while [ "$lo" -le "$hi" ]; do
    local mid=$(( (lo + hi) / 100 * 50 )); [ "$mid" -lt "$lo" ] && mid=$lo
    local try="$dir-try$mid"
    rm -rf "$try"
    local acc; acc=$("$fn" "$mid" "$try") || return 1
    echo "   $(basename "$dir"): $mid SFT steps → $acc %" >&2
    local gap; gap=$(python3 -c "print(int(abs($acc - ($acc_lo + $acc_hi) / 2) * 10))") || return 1
    [ "$gap" -lt "$best_gap" ] && { best=$mid; best_gap=$gap; }
    if python3 -c "import sys; sys.exit(0 if $acc_lo <= $acc <= $acc_hi else 1)"; then break; fi
    if python3 -c "import sys; sys.exit(0 if $acc < $acc_lo else 1)"; then lo=$(( mid + 50 )); else hi=$(( mid - 50 )); fi
  done
  rm -rf "$dir"; cp -r "$dir-try$best" "$dir" && cp "$dir-try$best.log" "$dir.log" || return 1
  echo "$best"
}

# The last greedy accuracy (%) of <metric> in a run's metrics.jsonl.
last_acc() {
  python3 - "$1" "$2" <<'PY'
import json, sys
acc = [json.loads(l)["data"][sys.argv[2]] for l in open(sys.argv[1]) if sys.argv[2] in l]
print(f"{100 * acc[-1]:.1f}")
PY
}

# fixed_or_search <train-fn> <dir> <steps|auto> <lo> <hi> <acc-lo> <acc-hi>: trains <steps>
# SFT steps into <dir>, or searches them (search_steps) when the setting is `auto`; says which.
fixed_or_search() {
  local fn=$1 dir=$2 setting=$3 steps acc
  if [ "$setting" = auto ]; then
    steps=$(search_steps "$fn" "$dir" "$4" "$5" "$6" "$7") || return 1
    echo "   kept: $steps SFT steps"
  else
    rm -rf "$dir"; acc=$("$fn" "$setting" "$dir") || return 1
    echo "   $setting SFT steps → $acc %"
  fi
}
