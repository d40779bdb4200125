#!/usr/bin/env bash
# Stops what tests/cluster/start_slurm.sh started, by its PID files: jobs first, then slurmd,
# slurmctld and munged, and the link /etc/slurm/slurm.conf it made. Safe to run again; the state
# directory (key, job state, logs) stays for the next start.
set -euo pipefail

STATE=${CAUSALSYNTH_SLURM_DIR:-/tmp/causalsynth-slurm}
CONF=$STATE/slurm.conf
SYSTEM_CONF=/etc/slurm/slurm.conf

# Kill the process of a PID file if it is still the daemon that wrote it (a PID can be reused)
stop() {
    local name=$1 pidfile=$2 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
        kill -TERM "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop_slurm: $name ($pid) ignored SIGTERM for 15 s; killing it" >&2
            kill -KILL "$pid"
        fi
        echo "stop_slurm: stopped $name ($pid)"
    fi
    rm -f "$pidfile"
}

if [[ $(readlink "$SYSTEM_CONF" || true) == "$CONF" && -s $STATE/run/slurmctld.pid ]] && command -v scancel >/dev/null; then
    scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
fi
stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
stop munged "$STATE/munge/munged.pid"
if [[ $(readlink "$SYSTEM_CONF" || true) == "$CONF" ]]; then rm -f "$SYSTEM_CONF"; fi
