#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the cluster test (tests/workflow/test_slurm_run.py)
# and for trying profiles/slurm by hand. Run as root; safe to run again (it starts only what is
# not running). Everything it writes, apart from the Debian packages, lives in one state
# directory; /etc/slurm/slurm.conf is a link to the configuration there, made only where the
# machine has no slurm.conf of its own (SLURM_CONF cannot point elsewhere: the executor plugin
# drops SLURM_* variables from a job before it calls srun). A site's /etc/munge is not used.
#
#   tests/cluster/start_slurm.sh     # installs slurmctld, slurmd, slurm-client, munge if missing
#   sinfo; sbatch --wrap hostname
#   tests/cluster/stop_slurm.sh
#
# CAUSALSYNTH_SLURM_DIR moves the state directory (default /tmp/causalsynth-slurm).
# Exit status: 0 the node is idle and takes jobs; 2 SLURM cannot run here (not root, no apt-get,
# the packages would not install); 1 it was installed but did not start (a real failure: the
# message names the log to read).
set -euo pipefail

STATE=${CAUSALSYNTH_SLURM_DIR:-/tmp/causalsynth-slurm}
CONF=$STATE/slurm.conf
SYSTEM_CONF=/etc/slurm/slurm.conf
SOCKET=$STATE/munge/munge.socket.2
# Ports of their own, so a site's SLURM on the usual 6817/6818 is left alone
CTLD_PORT=${CAUSALSYNTH_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${CAUSALSYNTH_SLURMD_PORT:-16818}
PACKAGES=(slurmctld slurmd slurm-client munge)
BINARIES=(/usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/munge /usr/bin/sinfo /usr/bin/sbatch /usr/bin/scontrol /usr/bin/srun)

cannot() { echo "start_slurm: cannot run SLURM here: $*" >&2; exit 2; }
fail() { echo "start_slurm: $*" >&2; exit 1; }
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

[[ $(id -u) == 0 ]] || cannot "must run as root (it installs packages and starts slurmd)"

missing=()
for b in "${BINARIES[@]}"; do [[ -x $b ]] || missing+=("$b"); done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || cannot "no apt-get to install ${PACKAGES[*]} (missing: ${missing[*]})"
    echo "start_slurm: installing ${PACKAGES[*]} (missing: ${missing[*]})"
    # The packages' own services must not start: this script starts its own daemons, with their
    # own configuration. policy-rc.d is the Debian switch for that; a site's one is kept.
    made_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    log=$STATE/apt.log
    mkdir -p "$STATE"
    if ! { apt-get update && apt-get install -y --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
        tail -n 5 "$log" >&2
        cannot "apt-get install ${PACKAGES[*]} failed (full output: $log)"
    fi
    if [[ -n $made_policy ]]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    for b in "${BINARIES[@]}"; do [[ -x $b ]] || cannot "$b still missing after installing ${PACKAGES[*]}"; done
fi
if [[ -e $SYSTEM_CONF || -L $SYSTEM_CONF ]] && [[ $(readlink "$SYSTEM_CONF" || true) != "$CONF" ]]; then
    cannot "$SYSTEM_CONF exists and is not this script's: this machine has a SLURM of its own"
fi
id munge >/dev/null 2>&1 && id slurm >/dev/null 2>&1 || fail "the packages did not create the users munge and slurm"

started=()
mkdir -p "$STATE"/{munge,ctld,spool,log,run}
chmod 755 "$STATE" "$STATE"/{spool,log,run}
# munged wants its socket directory open to all for search, writable by itself only
chmod 755 "$STATE/munge"
chown munge:munge "$STATE/munge"
chown slurm:slurm "$STATE/ctld" "$STATE/log" "$STATE/run"

# --- munge: its own key and socket --------------------------------------------------------
if ! alive "$STATE/munge/munged.pid"; then
    if [[ ! -s $STATE/munge/munge.key ]]; then
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
        chown munge:munge "$STATE/munge/munge.key"
        chmod 400 "$STATE/munge/munge.key"
    fi
    rm -f "$SOCKET" "$SOCKET.lock"
    runuser -u munge -- /usr/sbin/munged --socket="$SOCKET" --key-file="$STATE/munge/munge.key" \
        --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
        --seed-file="$STATE/munge/munged.seed" ||
        fail "munged did not start (log: $STATE/munge/munged.log)"
    started+=(munged)
fi
munge -n --socket="$SOCKET" | unmunge --socket="$SOCKET" >/dev/null ||
    fail "munge cannot encode and decode a credential (log: $STATE/munge/munged.log)"

# --- slurm.conf from this machine's own hardware -------------------------------------------
host=$(hostname -s)
node=$(/usr/sbin/slurmd -C | grep '^NodeName=') || fail "slurmd -C printed no NodeName line"
[[ $node == "NodeName=$host "* ]] || fail "slurmd -C names another host than $host: $node"
cat >"$CONF.new" <<CONF
# Written by tests/cluster/start_slurm.sh: one node, no accounting database, no cgroups.
ClusterName=causalsynth
SlurmctldHost=$host
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
MpiDefault=none
# No systemd or cgroup v2 delegation here: track processes by parent id, bind no tasks
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# Without slurmdbd there is no accounting: sacct cannot answer, squeue must (profiles/slurm)
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# squeue keeps a finished job this many seconds; the executor plugin's squeue status check
# needs at least three times its first wait
MinJobAge=300
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
chmod 644 "$CONF.new"
if [[ -f $CONF ]] && ! cmp -s "$CONF" "$CONF.new" && { alive "$STATE/run/slurmctld.pid" || alive "$STATE/run/slurmd.pid"; }; then
    fail "$CONF changed while SLURM runs with the old one; run tests/cluster/stop_slurm.sh first"
fi
mv "$CONF.new" "$CONF"
mkdir -p /etc/slurm
ln -sfn "$CONF" "$SYSTEM_CONF"

# --- the controller, then the node ------------------------------------------------------
if ! alive "$STATE/run/slurmctld.pid"; then
    /usr/sbin/slurmctld -f "$CONF" || fail "slurmctld did not start (log: $STATE/log/slurmctld.log)"
    started+=(slurmctld)
fi
for _ in $(seq 30); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 1; done
scontrol ping 2>/dev/null | grep -q UP ||
    fail "slurmctld does not answer scontrol ping after 30 s (log: $STATE/log/slurmctld.log)"

if ! alive "$STATE/run/slurmd.pid"; then
    /usr/sbin/slurmd -f "$CONF" || fail "slurmd did not start (log: $STATE/log/slurmd.log)"
    started+=(slurmd)
fi
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case $state in idle | mixed | allocated) break ;; esac
    sleep 1
done
case $state in
idle | mixed | allocated) ;;
*) fail "node $host is '${state:-unknown}' after 60 s, not idle ($(sinfo -h -R -o '%E' 2>/dev/null); logs: $STATE/log/)" ;;
esac
if ((${#started[@]})); then echo "start_slurm: started ${started[*]}"; fi
echo "start_slurm: node $host is $state"
