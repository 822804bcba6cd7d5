#!/usr/bin/env bash
# Benchmark of the cached path: how much a cache hit costs next to printing the same JSON
# with `cat`, per keychain backend, with a 5,000-profile config, and under the AWS CLI.
#
#   bench/cached-path.sh              # builds --release, then measures (a few minutes)
#   RUNS=1 AWS_MFA_PROC_BIN=target/debug/aws-mfa-proc bench/cached-path.sh   # smoke run
#   AWS_MFA_PROC_BASELINE_BIN=/tmp/old/target/release/aws-mfa-proc bench/cached-path.sh
#                                     # adds rows for another build (before/after, one run)
#   SHAPES_ONLY=1 bench/cached-path.sh  # only the config-shapes table (SHAPES=0: without it)
#
# The config-shapes table holds the cached path to +1 ms or less per 5,000 profiles
# whatever the config holds (issue #18): plain profiles, a credential_process in every
# profile (aws-mfa-proc's, another program's), role chains, long comments,
# sub-properties, CRLF, and the wanted profile first, in the middle and last, at
# SHAPE_SIZES profiles (default 5,000 and 50,000), SHAPE_RUNS pairs each (default 40).
# Where valgrind is installed, a second table counts the instructions each 5,000 profiles
# add (SHAPE_INSTRUCTIONS=0 leaves it out): a shared machine's speed swings, counts do not.
#
# Everything runs in a temp HOME against a private D-Bus + gnome-keyring and a local moto
# server, like the tests; the user's keyring and ~/.aws are never touched. hyperfine and
# GNU time come from Debian and are installed if missing. Prints one table of medians.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
RUNS=${RUNS:-300}
CLI_RUNS=${CLI_RUNS:-15}

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v dbus-daemon >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v keyctl >/dev/null || need+=(keyutils)
if ((${#need[@]})); then
    sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/install-test-deps.sh
venv=${AWS_MFA_PROC_TEST_DEPS:-$root/.test-deps}/venv/bin

if [[ -z ${AWS_MFA_PROC_BIN:-} ]]; then
    cargo build --release --locked -q
    AWS_MFA_PROC_BIN=$root/target/release/aws-mfa-proc
fi
bin=$(realpath "$AWS_MFA_PROC_BIN")

work=$(mktemp -d)
pids=()
# logout also removes the session copies this run put in the user's kernel keyring.
cleanup() {
    aws-mfa-proc logout --profile mfa >/dev/null 2>&1 || true
    kill "${pids[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home XDG_RUNTIME_DIR=$work/run XDG_DATA_HOME=$work/home/.local/share
mkdir -p "$HOME/.aws" "$XDG_DATA_HOME" && install -d -m 700 "$XDG_RUNTIME_DIR"
export AWS_CONFIG_FILE=$HOME/.aws/config AWS_SHARED_CREDENTIALS_FILE=$HOME/.aws/credentials
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=eu-west-1 PATH=$(dirname "$bin"):$venv:$PATH

# A private session bus (no service activation) with an unlocked gnome-keyring on it.
cat > "$work/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$XDG_RUNTIME_DIR/bus</listen>
<auth>EXTERNAL</auth><policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>/dev/null & pids+=($!)
export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
for _ in $(seq 100); do [[ -S $XDG_RUNTIME_DIR/bus ]] && break; sleep 0.02; done
(printf 'bench' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1) & pids+=($!)
for _ in $(seq 200); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
        string:org.freedesktop.secrets 2>/dev/null | grep -q true && break
    sleep 0.02
done

"$venv/moto_server" -H 127.0.0.1 -p 0 >"$work/moto.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do
    port=$(grep -oE 'http://127.0.0.1:[0-9]+' "$work/moto.log" | head -1 | cut -d: -f3) && [[ -n $port ]] && break
    sleep 0.05
done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port

cat > "$AWS_CONFIG_FILE" <<CONF
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile production]
role_arn = arn:aws:iam::222222222222:role/Role-Name-To-Assume
source_profile = mfa
region = eu-west-1

[profile static]
region = eu-west-1

[profile production-static]
role_arn = arn:aws:iam::333333333333:role/Role-Name-To-Assume
source_profile = static
region = eu-west-1
CONF
printf '[static]\naws_access_key_id = AKIABENCHSTATIC0001\naws_secret_access_key = bench\n' > "$AWS_SHARED_CREDENTIALS_FILE"
{ cat "$AWS_CONFIG_FILE"; for i in $(seq 5000); do
    printf '\n[profile team-%d]\nrole_arn = arn:aws:iam::%012d:role/Dev\nsource_profile = mfa\nregion = eu-west-1\noutput = json\n' "$i" "$i"
  done; } > "$work/config-5000"

AWS_ACCESS_KEY_ID=AKIABENCHLONGTERM01 AWS_SECRET_ACCESS_KEY=bench aws-mfa-proc add mfa --from-env >/dev/null
script -qec "aws-mfa-proc login --profile mfa" /dev/null <<<"123456" >/dev/null
aws-mfa-proc --profile mfa > "$work/session.json"
if [[ ${SHAPES_ONLY:-0} != 1 ]]; then
# The same, with the kernel keyring as the backend, inside a session keyring of its own
# (linked to the user keyring, as a login session's is, so the user keyring is possessed).
keyctl session - bash -c "keyctl link @u @s >/dev/null; export AWS_MFA_PROC_KEYCHAIN=keyutils
  AWS_ACCESS_KEY_ID=AKIABENCHLONGTERM01 AWS_SECRET_ACCESS_KEY=bench aws-mfa-proc add mfa --from-env >/dev/null
  script -qec 'aws-mfa-proc login --profile mfa' /dev/null <<<654321 >/dev/null
  hyperfine -N --style none --runs $RUNS --warmup 10 --export-json $work/keyutils.json 'aws-mfa-proc --profile mfa' >/dev/null
  aws-mfa-proc logout --profile mfa >/dev/null" 2>/dev/null
fi

SHAPES=${SHAPES:-1}
SHAPES_ONLY=${SHAPES_ONLY:-0}
SHAPE_SIZES=${SHAPE_SIZES:-5000 50000}
SHAPE_RUNS=${SHAPE_RUNS:-40}

# Each command is measured in ROUNDS rounds of RUNS/ROUNDS runs, the rounds taking turns
# with the other commands: a virtual machine's speed drifts over minutes, and spreading
# every command over the whole run keeps the drift out of the differences below.
ROUNDS=${ROUNDS:-6}
measure() { # name, command…
    local name=$1; shift
    hyperfine -N --style none --runs "$(( (RUNS + ROUNDS - 1) / ROUNDS ))" --warmup 3 \
        --export-json "$work/$name.$round.json" "$@" >/dev/null
}
if [[ $SHAPES_ONLY != 1 ]]; then
for round in $(seq "$ROUNDS"); do
    measure cat "cat $work/session.json"
    measure hit "aws-mfa-proc --profile mfa"
    measure hit_nocache "env AWS_MFA_PROC_KERNEL_CACHE=off aws-mfa-proc --profile mfa"
    measure hit_env "env AWS_CONFIG_FILE=$AWS_CONFIG_FILE aws-mfa-proc --profile mfa"
    measure hit_5000 "env AWS_CONFIG_FILE=$work/config-5000 aws-mfa-proc --profile mfa"
    measure bare "aws-mfa-proc"
    measure bare_env "env AWS_CONFIG_FILE=$AWS_CONFIG_FILE aws-mfa-proc"
    measure bare_5000 "env AWS_CONFIG_FILE=$work/config-5000 aws-mfa-proc"
    # A session keyring that does not link the user keyring (`keyctl session -`, a
    # systemd service with KeyringMode=private): the copy in @u is not possessed there.
    measure unpossessed "keyctl session - aws-mfa-proc --profile mfa"
    measure possessed "keyctl session - sh -c 'keyctl link @u @s >/dev/null; exec aws-mfa-proc --profile mfa'"
    measure keyctl_only "keyctl session - true"
    measure keyctl_link_only "keyctl session - sh -c 'keyctl link @u @s >/dev/null; exec true'"
    if [[ -n ${AWS_MFA_PROC_BASELINE_BIN:-} ]]; then
        baseline=$(realpath "$AWS_MFA_PROC_BASELINE_BIN")
        measure baseline_hit "$baseline --profile mfa"
        measure baseline_bare "$baseline"
    fi
done
fi

# The config shapes: each config holds the four profiles above (the wanted one, `mfa`,
# first unless the shape says otherwise) and N profiles of one shape.
if [[ $SHAPES == 1 ]]; then
    python3 - "$work" "$AWS_CONFIG_FILE" $SHAPE_SIZES <<'PY'
import sys
work, base, sizes = sys.argv[1], open(sys.argv[2]).read(), [int(n) for n in sys.argv[3:]]
serial = "mfa_serial = arn:aws:iam::111111111111:mfa/u{i}\n"
role = "[profile team-{i}]\nrole_arn = arn:aws:iam::{i:012d}:role/Dev\nsource_profile = mfa\nregion = eu-west-1\noutput = json\n"
shapes = {
    "plain": "[profile team-{i}]\nregion = eu-west-1\noutput = json\n",
    "ours": "[profile team-{i}]\ncredential_process = aws-mfa-proc --profile team-{i}\n" + serial,
    "other": "[profile team-{i}]\ncredential_process = granted credential-process --profile team-{i}\n" + serial,
    "roles": role,
    "comments": "# " + "c" * 198 + "\n[profile team-{i}]\n; " + "c" * 198 + "\nregion = eu-west-1\n",
    "subproperties": "[profile team-{i}]\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nregion = eu-west-1\n",
    "crlf": role,
    "middle": role,
    "last": role,
}
for n in sizes:
    for name, shape in shapes.items():
        profiles = ["\n" + shape.format(i=i) for i in range(n)]
        at = {"middle": n // 2, "last": n}.get(name, 0)
        text = "".join(profiles[:at]) + "\n" + base + "".join(profiles[at:])
        if name == "crlf":
            text = text.replace("\n", "\r\n")
        open(f"{work}/shape-{name}-{n}", "w", newline="").write(text)
PY
    shape_names=(plain ours other roles comments subproperties crlf middle last)
    bare_shapes=(other roles last)
    # Each shape's call runs paired with the same call on the 4-profile config, in turns
    # (which goes first alternates), and the table gives the median of the pairs'
    # differences: this machine's speed drifts between minutes, a pair's two runs share
    # the same moment. A call that takes over a second (the quadratic baselines) runs 3
    # times.
    python3 - "$work" "$AWS_CONFIG_FILE" "$SHAPE_RUNS" "$bin" "${AWS_MFA_PROC_BASELINE_BIN:-}" \
        "${shape_names[*]}" "${bare_shapes[*]}" $SHAPE_SIZES <<'PY'
import os, statistics, sys, time
work, one_config, runs, build, baseline, shapes, bare_shapes = sys.argv[1:8]
runs, sizes, shapes, bare_shapes = int(runs), [int(n) for n in sys.argv[8:]], shapes.split(), bare_shapes.split()
builds = [build] + ([os.path.realpath(baseline)] if baseline else [])
quiet = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]

def call(exe, config, bare):
    """One cache hit: its wall time and its CPU time (user + system), in ms."""
    argv = [exe] if bare else [exe, "--profile", "mfa"]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(exe, argv, dict(os.environ, AWS_CONFIG_FILE=config), file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(argv)} with {config} failed: not a cache hit")
    return (time.perf_counter_ns() - start) / 1e6, (usage.ru_utime + usage.ru_stime) * 1000

def pairs(exe, config, bare):
    """The median wall time of the call on `config`; the medians of what it adds to the
    same call on the 4-profile config, in wall and CPU time; and the fastest call on
    `config` minus the fastest on the 4-profile one (the machine at its quietest)."""
    call(exe, config, bare), call(exe, one_config, bare)  # the page cache, warm
    wall, ones, walls, cpus = [], [], [], []
    for i in range(runs if call(exe, config, bare)[0] < 1000 else 3):
        if i % 2:
            w, c = call(exe, config, bare)
            w1, c1 = call(exe, one_config, bare)
        else:
            w1, c1 = call(exe, one_config, bare)
            w, c = call(exe, config, bare)
        wall.append(w), ones.append(w1), walls.append(w - w1), cpus.append(c - c1)
    return statistics.median(wall), statistics.median(walls), statistics.median(cpus), min(wall) - min(ones)

print()
print("Config shapes: a cache hit's median wall time, and what each 5,000 profiles add to it")
print("(the median of paired differences with the same call on the 4-profile config, runs")
print("taken in turns, scaled to 5,000 profiles), in wall and in CPU time (user + system),")
print("and fastest minus fastest (+min/5k); goal <= 1 ms")
head = f"{'shape':<32} {'profiles':>8} {'ms':>8} {'+ms/5k':>8} {'+cpu/5k':>8} {'+min/5k':>8}"
if baseline:
    head += f" {'baseline ms':>12} {'+ms/5k':>8} {'+cpu/5k':>8} {'+min/5k':>8}"
print(head, flush=True)
rows = [(f"--profile mfa, {s}", False, s) for s in shapes] + [(f"bare, {s}", True, s) for s in bare_shapes]
for n in sizes:
    for label, bare, shape in rows:
        line = f"{label:<32} {n:>8}"
        for i, exe in enumerate(builds):
            wall, walls, cpus, fastest = pairs(exe, f"{work}/shape-{shape}-{n}", bare)
            scale = 5000 / n
            line += f" {wall:>{12 if i else 8}.2f} {walls * scale:>8.2f} {cpus * scale:>8.2f}"
            line += f" {fastest * scale:>8.2f}"
        print(line, flush=True)
PY
    # The same shapes in instructions (valgrind's callgrind, this build only): a count
    # that a busy or shared machine does not move, where its time can swing twofold.
    if [[ ${SHAPE_INSTRUCTIONS:-1} == 1 ]] && command -v valgrind >/dev/null; then
        instructions() { # config, arguments…
            AWS_CONFIG_FILE=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                "$bin" "${@:2}" 2>&1 >/dev/null | sed -n 's/.*Collected : *//p'
            return 0
        }
        one=$(instructions "$AWS_CONFIG_FILE" --profile mfa) bare_one=$(instructions "$AWS_CONFIG_FILE")
        echo
        echo "Instructions each 5,000 profiles add (millions; this minus the 4-profile config,"
        echo "scaled to 5,000), counted by callgrind"
        printf '%-32s %8s %10s\n' shape profiles "+Minstr/5k"
        for n in $SHAPE_SIZES; do
            for shape in "${shape_names[@]}" "${bare_shapes[@]/#/bare-}"; do
                case $shape in
                    bare-*) count=$(instructions "$work/shape-${shape#bare-}-$n") base=$bare_one label="bare, ${shape#bare-}" ;;
                    *) count=$(instructions "$work/shape-$shape-$n" --profile mfa) base=$one label="--profile mfa, $shape" ;;
                esac
                awk -v l="$label" -v n="$n" -v c="$count" -v b="$base" 'BEGIN { printf "%-32s %8s %10.2f\n", l, n, (c - b) / 1e6 * 5000 / n }'
            done
        done
    fi
fi
[[ $SHAPES_ONLY == 1 ]] && exit 0

# The AWS CLI: interleaved runs of the same role call, its source credentials once from
# aws-mfa-proc and once static keys (and, for scale, a call with static keys alone).
aws sts get-caller-identity --profile production >/dev/null
aws sts get-caller-identity --profile production-static >/dev/null
: > "$work/cli.txt"
for _ in $(seq "$CLI_RUNS"); do
    for profile in production production-static static; do
        start=$(date +%s%N)
        aws sts get-caller-identity --profile "$profile" >/dev/null
        echo "$profile $(( $(date +%s%N) - start ))" >> "$work/cli.txt"
    done
done

rss_kb=$(/usr/bin/time -f %M aws-mfa-proc --profile mfa 2>&1 >/dev/null | tail -1)

python3 - "$work" "$rss_kb" "${AWS_MFA_PROC_BASELINE_BIN:-}" <<'PY'
import json, os, statistics, sys
work, rss, baseline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import glob
times = lambda name: [t for f in sorted(glob.glob(f"{work}/{name}.*json")) for t in json.load(open(f))["results"][0]["times"]]
med = lambda name: statistics.median(times(name)) * 1000
cat = med("cat")
rows = [
    ("cat of the same JSON (floor)", "cat", None),
    ("cache hit, --profile, Secret Service + kernel copy (default)", "hit", "1.5x cat"),
    ("cache hit, bare call (the only helper profile found by a scan)", "bare", "1.5x cat"),
    ("cache hit, Secret Service only (AWS_MFA_PROC_KERNEL_CACHE=off; via env)", "hit_nocache", None),
    ("cache hit, kernel keyring backend", "keyutils", None),
    ("cache hit, --profile, 1 profile (via env, for the next rows)", "hit_env", None),
    ("cache hit, --profile, 5,000 extra profiles (via env)", "hit_5000", None),
    ("cache hit, bare, 1 profile (via env)", "bare_env", None),
    ("cache hit, bare, 5,000 extra profiles (via env)", "bare_5000", None),
    ("cache hit, @u possessed (keyctl session + link @u)", "possessed", None),
    ("cache hit, @u not possessed (keyctl session -)", "unpossessed", None),
]
if baseline:
    rows += [
        (f"baseline build: cache hit, --profile", "baseline_hit", None),
        (f"baseline build: cache hit, bare", "baseline_bare", None),
    ]
print(f"{'what':<66} {'median ms':>10} {'x cat':>7}  target")
for label, name, target in rows:
    m = med(name)
    print(f"{label:<66} {m:10.2f} {m / cat:7.2f}  {target or ''}")
diff = lambda label, ms, target: print(f"{label:<66} {ms:10.2f} {'':>7}  {target}")
diff("bare minus --profile", med("bare") - med("hit"), "<= 0.5 ms")
diff("--profile: 5,000 profiles minus 1 profile", med("hit_5000") - med("hit_env"), "<= 1 ms")
diff("bare: 5,000 profiles minus 1 profile", med("bare_5000") - med("bare_env"), "<= 1 ms")
diff("@u not possessed minus possessed (each minus its keyctl start)",
     (med("unpossessed") - med("keyctl_only")) - (med("possessed") - med("keyctl_link_only")), "~0")
if baseline:
    diff("this build minus baseline, --profile", med("hit") - med("baseline_hit"), "")
    diff("this build minus baseline, bare", med("bare") - med("baseline_bare"), "")
cli = {}
for line in open(f"{work}/cli.txt"):
    profile, ns = line.split()
    cli.setdefault(profile, []).append(int(ns) / 1e6)
p, r, s = (statistics.median(cli[k]) for k in ("production", "production-static", "static"))
print(f"{'aws sts get-caller-identity, role from aws-mfa-proc (production)':<66} {p:10.1f}")
print(f"{'aws sts get-caller-identity, same role from static keys':<66} {r:10.1f}")
print(f"{'aws sts get-caller-identity, static keys, no role':<66} {s:10.1f}")
print(f"{'AWS CLI overhead of aws-mfa-proc (role vs same role, static keys)':<66} {100 * (p - r) / r:9.1f}%  <= 2%")
print(f"{'peak RSS of a cache hit':<66} {rss / 1024:9.1f} MB  <= 8 MB")
PY
