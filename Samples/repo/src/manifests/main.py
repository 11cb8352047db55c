import logging

from . import config
from .writer import ManifestWriter


def validate(batch) -> bool:
    return all(len(row) == 3 and row[0] for row in batch.rows)


def run(pool, batches) -> int:
    cfg = config.load()
    writer = ManifestWriter(pool, cfg.retry_limit)
    written = 0
    for batch in batches:
        if not validate(batch):
            logging.warning("skipping invalid batch %s", batch.name)
            continue
        written += writer.flush(batch)
    logging.info("wrote %d rows", written)
    return written
