"""The fixture hub speaks the Hub's and GitHub's wire formats: the real clients parse every answer."""

from __future__ import annotations

import base64

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

from harvester.fixture_hub.corpus import git_blob_sha


def test_listing_paginates_with_link_header(fixture_hub):
    api = HfApi(endpoint=fixture_hub.url, token=False)
    first = httpx.get(f"{fixture_hub.url}/api/models", params={"limit": 2})
    assert first.status_code == 200 and len(first.json()) == 2
    assert 'rel="next"' in first.headers["link"] and "cursor=" in first.headers["link"]
    ids = [m.id for m in api.list_models()]
    assert len(ids) == len(set(ids)) == 9
    # the client follows Link pages: a small page size still yields every model once
    paged = []
    url = f"{fixture_hub.url}/api/models?limit=3"
    while url:
        resp = httpx.get(url)
        paged += [m["id"] for m in resp.json()]
        url = resp.links.get("next", {}).get("url")
    assert sorted(paged) == sorted(ids)


def test_listing_filters_and_card_data(fixture_hub):
    api = HfApi(endpoint=fixture_hub.url, token=False)
    demo = list(api.list_models(author="harvester-demo", cardData=True, full=True))
    assert {m.id for m in demo} == {"harvester-demo/tiny-base", "harvester-demo/tiny-chat",
                                    "harvester-demo/tiny-chat-GGUF", "harvester-demo/tiny-lora"}
    chat = next(m for m in demo if m.id == "harvester-demo/tiny-chat")
    assert chat.card_data.license_name == "llama2"
    assert "base_model:finetune:harvester-demo/tiny-base" in chat.tags
    assert len(chat.sha) == 40
    tagged = [m.id for m in api.list_models(filter="license:odc-by")]
    assert tagged == []  # license tags are per repo type: no model carries odc-by
    gguf = [m.id for m in api.list_models(filter="base_model:quantized:harvester-demo/tiny-chat")]
    assert gguf == ["harvester-demo/tiny-chat-GGUF"]
    expanded = httpx.get(f"{fixture_hub.url}/api/models", params={"expand": ["sha"], "limit": 1}).json()[0]
    assert set(expanded) == {"_id", "id", "sha"}


def test_model_and_dataset_info(fixture_hub):
    api = HfApi(endpoint=fixture_hub.url, token=False)
    info = api.model_info("harvester-demo/tiny-base")
    assert info.card_data.license == "apache-2.0"
    assert "dataset:harvester-demo/web-crawl" in info.tags and "license:apache-2.0" in info.tags
    assert info.library_name == "transformers"
    ds = api.dataset_info("demo-bench")  # `_/NAME`: a dataset id without an organisation
    assert ds.card_data.license == "cc-by-sa-4.0"
    broken = api.model_info("acme/broken-front-matter")
    assert broken.card_data is None  # the Hub serves no cardData for invalid YAML
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("harvester-demo/tiny-base", revision="0" * 40)


def test_readme_etag_and_304(fixture_hub):
    url = hf_hub_url("harvester-demo/tiny-base", "README.md", endpoint=fixture_hub.url)
    resp = httpx.get(url)
    assert resp.status_code == 200 and resp.text.startswith("---\nlicense: apache-2.0")
    assert resp.headers["etag"] == f'"{git_blob_sha(resp.content)}"'
    assert len(resp.headers["x-repo-commit"]) == 40
    again = httpx.get(url, headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    missing = httpx.get(hf_hub_url("harvester-demo/tiny-base", "config.json", endpoint=fixture_hub.url))
    assert missing.status_code == 404 and missing.headers["x-error-code"] == "EntryNotFound"


def test_github_repo_license_and_redirect(fixture_hub):
    client = httpx.Client(base_url=fixture_hub.url, follow_redirects=True)
    lic = client.get("/repos/harvester-demo/tiny-train/license").json()
    text = base64.b64decode(lic["content"]).decode()
    assert lic["path"] == "LICENSE" and text.startswith("MIT License") and lic["sha"] == git_blob_sha(text.encode())
    moved = client.get("/repos/acme/old-name/license")
    assert moved.history[0].status_code == 301 and moved.url.path == "/repos/harvester-demo/tiny-train/license"
    repo = client.get("/repos/harvester-demo/tiny-infer").json()
    assert repo["license"]["spdx_id"] == "Apache-2.0"
    assert client.get("/repos/harvester-demo/tiny-infer/license").status_code == 404
    assert client.get("/repos/nobody/nothing").status_code == 404


def test_every_corpus_response_parses_with_the_real_client(corpus_hub):
    """Every model and dataset of the shared corpus: listing, info and card, through huggingface_hub."""
    api = HfApi(endpoint=corpus_hub.url, token=False)
    models = list(api.list_models(full=True, cardData=True))
    assert len(models) == len(corpus_hub.corpus.models) >= 150
    for m in models:
        assert api.model_info(m.id).sha == m.sha
    datasets = list(api.list_datasets(full=True))
    assert len(datasets) == len(corpus_hub.corpus.datasets)
    old = api.dataset_info("wikipedia", revision="9f2ff14673")
    assert old.sha == "9f2ff14673" and old.card_data is not None
