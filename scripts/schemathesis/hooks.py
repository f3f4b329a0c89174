"""Schemathesis hooks for scripts/schemathesis.sh (what each is for: docs/api.md)."""

import json
from pathlib import Path

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.file_samples import FILE_SAMPLES
from schemathesis.transport.serialization import quote_all

# A feedback list the demo's units match: the import route's CSV file. A file's content is data that
# no JSON Schema can describe, so random bytes labelled text/csv would only test the "unreadable file" answer.
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "inspection-feedback-list.csv"
schemathesis.openapi.media_type("text/csv", st.just(SAMPLE.read_bytes()))
# Evidence is typed by its content: a part labelled image/png must be a PNG (schemathesis's smallest valid files).
for media_type, ext in [("image/png", "png"), ("image/jpeg", "jpg"), ("application/pdf", "pdf")]:
    schemathesis.openapi.media_type(media_type, st.just(FILE_SAMPLES[ext]))

# Where the server refuses a range whose start is after its end (422 naming `from`): a rule between two
# parameters, which the document states in words only. Schema-valid cases outside it are not generated.
RANGES = {p: ("from", "to") for p in ["/api/notices", "/api/exports/rates.xlsx", "/api/stats", "/api/scorecard"]}
RANGES.update({p: ("deadlineFrom", "deadlineTo") for p in ["/api/cases", "/api/exports/ledger.xlsx"]})


@schemathesis.hook
def filter_case(context, case):
    names = RANGES.get(case.operation.path)
    meta = case.meta
    if not names or meta is None or not meta.generation.mode.is_positive or not isinstance(case.query, dict):
        return True
    start, end = (case.query.get(n) for n in names)
    return not (isinstance(start, str) and isinstance(end, str) and start > end)


# A stateful link copies a value from one response or request into the next request's path as it is:
# schemathesis percent-encodes the path parameters it generates, not those a link supplies, and a request
# body's array (`ids` of a batch, linked to `/api/notices/{id}/read`) goes out as Python's repr. A `#` in
# it cuts the path at a fragment, and the request reaches another operation (POST /api/notices/{id},
# answered 405). Encoded as one path segment, as generated values are, it reaches the operation the link
# names, which answers as for any unknown id.
@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters
    if not isinstance(params, dict):
        return
    texts = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in params.items()}
    for name, value in quote_all(dict(texts)).items():
        if value != params[name]:
            params[name] = value
