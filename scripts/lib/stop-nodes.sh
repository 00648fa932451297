# Shared by devnet.sh and cluster.sh (sourced; the caller defines `say`).

# wait_then_kill TIMEOUT NAME=PID...: the caller has sent SIGTERM to each PID; waits up to TIMEOUT
# seconds for all of them to exit, then sends SIGKILL to those still alive, saying which.
wait_then_kill() {
  local timeout="$1"; shift
  local entry pid pids=() names=() i deadline alive
  for entry in "$@"; do names+=("${entry%%=*}"); pids+=("${entry#*=}"); done
  if [[ ${#pids[@]} -eq 0 ]]; then say "no node was running"; return 0; fi
  say "sent SIGTERM to ${names[*]}; waiting up to ${timeout}s"
  deadline=$((SECONDS + timeout))
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    if [[ $alive -eq 0 ]] || (( SECONDS >= deadline )); then break; fi
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      say "${names[$i]} did not stop within ${timeout}s; sending SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    else
      say "stopped ${names[$i]} (pid ${pids[$i]})"
    fi
  done
}
