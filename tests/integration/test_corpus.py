"""Every case of the hostile-input corpus gets its documented answer, and the server stays up."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.corpus.make_corpus import Case, build, cases
from tests.integration.test_trust import allowlisted  # noqa: F401 - the fixture

CASES = cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("corpus")
    build(dest)
    return dest


def request_body(case: Case, corpus: Path, port: int) -> dict:
    inp: dict = {"prompt": "hostile input"}
    if case.file:
        inp["images"] = [base64.b64encode((corpus / case.file).read_bytes()).decode()]
    if case.mask:
        inp["mask"] = base64.b64encode((corpus / case.mask).read_bytes()).decode()
    for key, value in case.input.items():
        inp[key] = json.loads(json.dumps(value).replace("{port}", str(port)))
    if inp.get("images") == ["<200 MB of base64>"]:
        inp["images"] = ["A" * (200 * 1024 * 1024)]
    return {"app": "brushwork/studio", "input": inp}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, corpus: Path, allowlisted) -> None:  # noqa: F811
    api, site = allowlisted
    before = len(api.http.get("/tasks").json()["data"])
    response = api.http.post("/apps/run", json=request_body(case, corpus, site.port))
    assert response.status_code == case.status, response.text[:300]
    if case.status >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
        assert error["param"] == case.param
        assert len(api.http.get("/tasks").json()["data"]) == before  # nothing was created
    else:
        api.drain()
        task = api.http.get(f"/tasks/{response.json()['id']}").json()
        assert task["status"] == 9, task["error"]
    assert api.http.get("/health").json()["status"] == "ok"


def test_the_corpus_files_are_written_with_a_manifest(corpus: Path) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert len(manifest) == len(CASES) >= 25
    assert all((corpus / c["file"]).exists() for c in manifest if c["file"])
