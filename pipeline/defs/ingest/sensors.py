"""Landing-folder sensor: new or changed files, sidecars and manifests become one batch partition and one run."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipeline.config import settings
from pipeline.core.ingest import MANIFEST_NAME, META_SUFFIX, scan_landing
from pipeline.defs.ingest.partitions import batches
from pipeline.defs.jobs import process_batch_job
from pipeline.defs.resources import WiretraceResource

MAX_FILES_PER_BATCH = 5000
# how often the sensor looks at the landing folder (seconds); tests shorten it
SENSOR_INTERVAL = settings().sensor_interval


def file_signature(path: Path) -> str:
    """Size and modification time (of a link itself when its target is missing: ingest reports it)."""
    try:
        st = path.stat()
    except OSError:
        st = path.lstat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _optional_signature(path: Path) -> str:
    try:
        return file_signature(path) if path.is_file() else ""
    except OSError:
        return ""


def _metadata_signature(landing: Path, path: Path, manifests: dict[Path, str]) -> str:
    """Signatures of the file's sidecar and of every manifest.csv that can describe it."""
    parts = [
        _optional_signature(path.with_name(path.name + META_SUFFIX)),
        _optional_signature(path.with_suffix(META_SUFFIX)),
    ]
    folder = path.parent
    while True:
        if folder not in manifests:
            manifests[folder] = _optional_signature(folder / MANIFEST_NAME)
        parts.append(manifests[folder])
        if folder == landing or landing not in folder.parents:
            break
        folder = folder.parent
    return "|".join(parts).rstrip("|")


def find_new_files(landing: Path, cursor: str | None) -> tuple[list[str], dict[str, str]]:
    """Files of ``landing`` that are new or changed since ``cursor``; returns them and the full new state.

    A file counts as changed when its own size or modification time changed, or when its sidecar
    (``<name>.meta.json``) or a ``manifest.csv`` that can describe it appeared, changed or went away:
    ingest then updates the document's metadata in place (see ``pipeline.core.stages``).
    """
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    state: dict[str, str] = {}
    new: list[str] = []
    manifests: dict[Path, str] = {}
    for path in scan_landing(landing):
        rel = path.relative_to(landing).as_posix()
        try:
            sig = file_signature(path)
        except OSError:
            continue
        meta = _metadata_signature(landing, path, manifests)
        if meta:
            sig = f"{sig};{meta}"
        state[rel] = sig
        if seen.get(rel) != sig:
            new.append(rel)
    return new, state


def batch_key(files: list[str], state: dict[str, str]) -> str:
    digest = hashlib.sha256("\n".join(f"{f}\x1f{state[f]}" for f in sorted(files)).encode()).hexdigest()
    return f"batch-{digest[:16]}"


@dg.sensor(
    job=process_batch_job,
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the landing folder; new or changed files become a batch partition and one run.",
)
def landing_sensor(context: dg.SensorEvaluationContext, wiretrace: WiretraceResource) -> dg.SensorResult:
    landing = wiretrace.landing
    if not landing.is_dir():
        return dg.SensorResult(skip_reason=f"landing folder {landing} does not exist")
    new, state = find_new_files(landing, context.cursor)
    if not new:
        return dg.SensorResult(skip_reason="no new files", cursor=json.dumps(state, sort_keys=True))
    keys: list[str] = []
    requests: list[dg.RunRequest] = []
    for lo in range(0, len(new), MAX_FILES_PER_BATCH):
        chunk = new[lo : lo + MAX_FILES_PER_BATCH]
        key = batch_key(chunk, state)
        keys.append(key)
        requests.append(
            dg.RunRequest(
                run_key=key,
                partition_key=key,
                run_config={"ops": {"ingest": {"config": {"files": chunk}}}},
                tags={"wiretrace/batch_files": str(len(chunk))},
            )
        )
    context.log.info(f"{len(new)} new files -> batches {keys}")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[batches.build_add_request(keys)],
        cursor=json.dumps(state, sort_keys=True),
    )
