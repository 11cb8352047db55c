#!/usr/bin/env python3
"""Drain3 with its default settings on the loghub 2k datasets, for bench/templates.sh.

    PYTHONPATH=/tmp/drain3 python3 bench/drain3-baseline.py LOGHUB OUTDIR [lines|content]

Writes OUTDIR/NAME.tsv, one row per log line: the Drain3 cluster id, a tab, the cluster's
final template (Drain3's `<*>`), which the Swift scorer reads. `lines` (default) feeds each
whole line as it is in the file, as the miner gets it; `content` feeds the labelled Content
column of the original structured CSV (the header already removed by the labellers).
"""
import csv
import os
import sys

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

root, out = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "lines"
os.makedirs(out, exist_ok=True)
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    log = os.path.join(d, f"{name}_2k.log")
    if not os.path.isfile(log):
        continue
    if mode == "content":
        with open(os.path.join(d, f"{name}_2k.log_structured.csv"), encoding="utf-8", newline="") as f:
            lines = [r["Content"] for r in csv.DictReader(f)]
    else:
        with open(log, "rb") as f:
            data = f.read()
        if data.endswith(b"\n"):
            data = data[:-1]
        lines = [l[:-1] if l.endswith(b"\r") else l for l in data.split(b"\n")]
        lines = [l.decode("utf-8", "replace") for l in lines]
    config = TemplateMinerConfig()  # defaults: no config file, no masking
    miner = TemplateMiner(config=config)
    ids = [miner.add_log_message(l)["cluster_id"] for l in lines]
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    with open(os.path.join(out, f"{name}.tsv"), "w", encoding="utf-8") as f:
        for i in ids:
            t = templates[i].replace("\t", " ").replace("\n", " ")
            f.write(f"{i}\t{t}\n")
