#!/usr/bin/env bash
# Log ingest speed on real formats (issue 15): each format replicated to
# SIZE_MB (default 100) and ingested alone by the release build; MB/s per
# format against the goal (150 MB/s real, 200 MB/s synthetic) and against
# `wc -l` on the same file, with the worst real format named.
#
# Formats: the seven loghub 2k samples of ../shared/corpus (HPC, Hadoop,
# HealthApp, Mac, OpenStack, Proxifier, Windows) and two lnav samples,
# replicated line for line; Loghub-style sshd, Android logcat, log4j
# (ZooKeeper), HDFS, Apache error and BGL lines written from their
# templates with random values; and the ingest benchmark's synthetic log.
#
# Usage: bench/logs-real.sh [WORKDIR]   (needs: swift build -c release --product longctx)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
WORK="${1:-/tmp/longctx-logs-real}"
SIZE_MB="${SIZE_MB:-100}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
mkdir -p "$WORK/logs"
SHARED="$ROOT/../shared/corpus/logs"

python3 - "$WORK/logs" "$SIZE_MB" "$SHARED" <<'PY'
import os, random, sys
out, mb, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3]
target = mb * 1_000_000
random.seed(15)
def write(name, gen):
    path = os.path.join(out, name)
    if os.path.exists(path) and os.path.getsize(path) >= target:
        return
    with open(path, "w", newline="") as f:
        size = 0
        while size < target:
            chunk = "".join(gen() for _ in range(5000))
            f.write(chunk)
            size += len(chunk.encode())

def replicate(name, src):
    if not os.path.exists(src):
        return
    data = open(src, "rb").read()
    path = os.path.join(out, name)
    if os.path.exists(path) and os.path.getsize(path) >= target:
        return
    with open(path, "wb") as f:
        size = 0
        while size < target:
            f.write(data)
            size += len(data)

for fmt in ["HPC", "Hadoop", "HealthApp", "Mac", "OpenStack", "Proxifier", "Windows"]:
    replicate(f"loghub-{fmt.lower()}.log", f"{shared}/loghub/{fmt}/{fmt}_2k.log")
replicate("lnav-syslog.log", f"{shared}/other/lnav/logfile_syslog.3")
replicate("otros-log4j.log", f"{shared}/other/otroslogviewer/log4j_pattern1.log")

ip = lambda: ".".join(str(random.randint(1, 254)) for _ in range(4))
hexs = lambda n: "".join(random.choice("0123456789abcdef") for _ in range(n))
users = ["root", "admin", "test", "oracle", "webmaster", "guest", "ubuntu", "pi", "support"]
def sshd():
    t = f"Dec {random.randint(10, 31)} {random.randint(0, 23):02d}:{random.randint(0, 59):02d}:{random.randint(0, 59):02d}"
    pid = random.randint(1000, 30000)
    r = random.random()
    if r < 0.35:
        u = random.choice(users)
        inv = "invalid user " if random.random() < 0.5 else ""
        msg = f"Failed password for {inv}{u} from {ip()} port {random.randint(1024, 65535)} ssh2"
    elif r < 0.5:
        msg = f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip()}  user=root"
    elif r < 0.65:
        msg = f"Received disconnect from {ip()}: 11: Bye Bye [preauth]"
    elif r < 0.8:
        msg = f"Invalid user {random.choice(users)} from {ip()}"
    elif r < 0.9:
        msg = f"reverse mapping checking getaddrinfo for {hexs(6)}.example.net [{ip()}] failed - POSSIBLE BREAK-IN ATTEMPT!"
    else:
        msg = f"Accepted password for {random.choice(users)} from {ip()} port {random.randint(1024, 65535)} ssh2"
    return f"{t} LabSZ sshd[{pid}]: {msg}\n"
write("sshd.log", sshd)

def logcat():
    t = f"03-17 16:{random.randint(0, 59):02d}:{random.randint(0, 59):02d}.{random.randint(0, 999):03d}"
    pid, tid = random.randint(600, 30000), random.randint(600, 30000)
    r = random.random()
    if r < 0.3:
        return (f"{t}  {pid}  {tid} D WindowManager: printFreezingDisplayLogsopening app wtoken = AppWindowToken"
                f"{{{hexs(7)} token=Token{{{hexs(7)} ActivityRecord{{{hexs(7)} u0 com.tencent.qt.qtl/.activity.info.NewsDetailXmlActivity t{random.randint(100, 999)}}}}}}}, allDrawn= false, startingDisplayed =  false\n")
    if r < 0.6:
        return f"{t}  {pid}  {tid} I PowerManager_screenOn: DisplayPowerStatesetColorFadeLevel: level={random.random():.1f}\n"
    if r < 0.8:
        return f"{t}  {pid}  {tid} V ActivityManager: Attempted to start a foreground service (ComponentInfo{{com.android.{hexs(4)}/.Service}}) with a broken notification (no icon: Notification(pri=0 contentView=null vibrate=null sound=null defaults=0x0 flags=0x40 color=0x00000000 vis=PRIVATE))\n"
    return f"{t}  {pid}  {tid} E AndroidRuntime: FATAL EXCEPTION: main Process: com.example.{hexs(5)}, PID: {pid}\n"
write("logcat.log", logcat)

def log4j():
    t = f"2015-07-29 {random.randint(0, 23):02d}:{random.randint(0, 59):02d}:{random.randint(0, 59):02d},{random.randint(0, 999):03d}"
    r = random.random()
    if r < 0.4:
        return f"{t} - INFO  [QuorumPeer[myid={random.randint(1, 3)}]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: {random.choice([200, 400, 800, 1600, 3200])}\n"
    if r < 0.7:
        return f"{t} - WARN  [RecvWorker:{random.randint(1, 3)}:QuorumCnxManager$RecvWorker@762] - Connection broken for id {random.randint(1, 3)}, my id = 1, error = \n"
    if r < 0.9:
        return f"{t} - INFO  [NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxnFactory@197] - Accepted socket connection from /{ip()}:{random.randint(1024, 65535)}\n"
    return f"{t} - ERROR [LearnerHandler-/{ip()}:{random.randint(1024, 65535)}:LearnerHandler@562] - Unexpected exception causing shutdown while sock still open\njava.io.EOFException\n\tat java.io.DataInputStream.readInt(DataInputStream.java:392)\n\tat org.apache.jute.BinaryInputArchive.readInt(BinaryInputArchive.java:63)\n"
write("log4j-zookeeper.log", log4j)

def hdfs():
    t = f"0811{random.randint(9, 11):02d} {random.randint(0, 23):02d}{random.randint(0, 59):02d}{random.randint(0, 59):02d}"
    blk = f"blk_{random.choice(['', '-'])}{random.randint(10**17, 10**19)}"
    r = random.random()
    if r < 0.35:
        return f"{t} {random.randint(1, 3000)} INFO dfs.DataNode$PacketResponder: PacketResponder {random.randint(0, 2)} for block {blk} terminating\n"
    if r < 0.7:
        return f"{t} {random.randint(1, 3000)} INFO dfs.DataNode$PacketResponder: Received block {blk} of size {random.randint(1000, 67108864)} from /{ip()}\n"
    if r < 0.9:
        return f"{t} {random.randint(1, 3000)} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip()}:50010 is added to {blk} size {random.randint(1000, 67108864)}\n"
    return f"{t} {random.randint(1, 3000)} WARN dfs.DataNode$DataXceiver: {ip()}:50010:Got exception while serving {blk} to /{ip()}:\n"
write("hdfs.log", hdfs)

def apache():
    t = f"[Sun Dec 04 {random.randint(0, 23):02d}:{random.randint(0, 59):02d}:{random.randint(0, 59):02d} 2005]"
    r = random.random()
    if r < 0.4:
        return f"{t} [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties\n"
    if r < 0.7:
        return f"{t} [error] mod_jk child workerEnv in error state {random.randint(6, 9)}\n"
    if r < 0.9:
        return f"{t} [notice] jk2_init() Found child {random.randint(1000, 30000)} in scoreboard slot {random.randint(6, 12)}\n"
    return f"{t} [error] [client {ip()}] Directory index forbidden by rule: /var/www/html/\n"
write("apache-error.log", apache)

def bgl():
    node = f"R{random.randint(0, 77):02d}-M{random.randint(0, 1)}-N{random.randint(0, 15):X}-C:J{random.randint(2, 17):02d}-U{random.randint(0, 1)}1"
    sec = 1117838570 + random.randint(0, 10**7)
    r = random.random()
    lvl, msg = ("INFO", "instruction cache parity error corrected") if r < 0.5 else \
        ("FATAL", f"data TLB error interrupt") if r < 0.6 else \
        ("INFO", f"generating core.{random.randint(1, 9999)}") if r < 0.85 else \
        ("ERROR", f"ciod: failed to read message prefix on control stream (CioStream socket to {ip()}:{random.randint(1024, 65535)}")
    return f"- {sec} 2005.06.03 {node} 2005-06-03-15.42.50.{random.randint(0, 999999):06d} {node} RAS KERNEL {lvl} {msg}\n"
write("bgl.log", bgl)
PY

# The synthetic log of bench/ingest.sh (one template), made the same way.
if [ ! -f "$WORK/logs/synthetic.log" ]; then
  python3 "$ROOT/bench/synthetic-log.py" "$WORK/logs/synthetic.log" "$SIZE_MB"
fi

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); longctx: $LONGCTX"
echo
echo "| format | MB | longctx s | longctx MB/s | goal MB/s | ratio to goal | wc -l MB/s | longctx/wc |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
worst="" ; worst_rate=1e9
for log in "$WORK"/logs/*.log; do
  name=$(basename "$log" .log)
  bytes=$(stat -c %s "$log")
  rm -rf "$WORK/ws"
  cat "$log" > /dev/null  # page cache, for both
  t0=$(date +%s.%N)
  "$LONGCTX" ingest --workspace "$WORK/ws" --json "$log" > "$WORK/$name.json"
  t1=$(date +%s.%N)
  wc -l "$log" > /dev/null
  t2=$(date +%s.%N)
  goal=150; [ "$name" = synthetic ] && goal=200
  python3 -c "
b=$bytes/1e6; s=$t1-$t0; w=$t2-$t1; g=$goal
print(f'| $name | {b:.0f} | {s:.2f} | {b/s:.1f} | {g} | {b/s/g:.2f} | {b/w:.0f} | {(b/s)/(b/w):.3f} |')
open('$WORK/rate', 'w').write(f'{b/s:.1f}')
"
  r=$(cat "$WORK/rate")
  if [ "$name" != synthetic ] && python3 -c "import sys; sys.exit(0 if $r < $worst_rate else 1)"; then worst=$name; worst_rate=$r; fi
done
echo
echo "worst real format: $worst at $worst_rate MB/s"
rm -rf "$WORK/ws"
