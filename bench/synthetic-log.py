"""The ingest benchmarks' synthetic log: ISO timestamps, five levels, a 4-line
Java stack trace after every ERROR. Usage: synthetic-log.py PATH MB"""
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
random.seed(7)
levels = ["INFO"] * 14 + ["DEBUG"] * 4 + ["WARN"] * 2 + ["ERROR"]
services = ["ingest-service", "report-api", "scheduler", "billing", "gateway"]
trace = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available\n"
         "    at com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
         "    at com.northwind.ingest.ManifestWriter.flush(ManifestWriter.java:142)\n"
         "Caused by: java.net.SocketTimeoutException: Read timed out\n")
target, t, size, buf = mb * 1_000_000, 1_773_000_000, 0, []
with open(path, "w") as f:
    while size < target:
        t += random.randint(0, 3)
        lvl = random.choice(levels)
        ts = f"2026-03-{9 + t // 86400 % 20:02d}T{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z"
        line = f"{ts} {lvl} {random.choice(services)} processed manifest batch hamburg-{random.randint(1000, 99999)} ({random.randint(1, 2000)} records) in {random.randint(1, 900)} ms\n"
        if lvl == "ERROR":
            line += trace
        buf.append(line); size += len(line)
        if len(buf) >= 10000:
            f.write("".join(buf)); buf = []
    f.write("".join(buf))
