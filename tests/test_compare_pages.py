"""The compare-versions page through Flask's test client: which versions it opens, and its refusals as HTML."""
import html
import re

import pytest
from web_helpers import WEB, signed_in, web_app

from webapp import pages

COMPARE = WEB.parent / "compare"


@pytest.fixture
def client(tmp_path, monkeypatch):
    bundle = tmp_path / "dist" / "compare.js"  # the page needs the built bundle, not its content
    bundle.parent.mkdir()
    bundle.write_text("")
    monkeypatch.setattr(pages, "COMPARE_BUNDLE", bundle)
    app, maestro = web_app(tmp_path)
    maestro.deploy_paths([COMPARE / "shipment_v1.bpmn"])
    maestro.deploy_paths([COMPARE / "shipment_v2.bpmn"])
    maestro.deploy_paths([WEB / "approval.bpmn"])
    return signed_in(app.test_client())


def compared(page):
    """(from, to) of the #compare element's data attributes."""
    tag = re.search(r'<div class="compare" id="compare"(.*?)>', page, re.S).group(1)
    data = dict(re.findall(r'data-([\w-]+)="([^"]*)"', tag))
    return int(data["from"]), int(data["to"])


def test_compare_opens_the_two_newest_versions_by_default_or_the_ones_asked_for(client):
    assert compared(client.get("/processes/shipment/compare").get_data(as_text=True)) == (1, 2)
    assert compared(client.get("/processes/shipment/compare?from=2&to=1").get_data(as_text=True)) == (2, 1)
    assert compared(client.get("/processes/shipment/compare?to=2").get_data(as_text=True)) == (1, 2)
    assert compared(client.get("/processes/shipment/compare?from=2").get_data(as_text=True)) == (2, 2)
    # A process with one version compares it with itself (the page says so) rather than refusing.
    assert compared(client.get("/processes/order_approval/compare").get_data(as_text=True)) == (1, 1)


def test_compare_page_runs_no_inline_script(client):
    response = client.get("/processes/shipment/compare")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.get_data(as_text=True), re.S)
    assert scripts and all('src="' in attributes and not body.strip() for attributes, body in scripts)


def test_compare_of_an_unknown_process_is_an_html_404(client):
    response = client.get("/processes/nope/compare")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "no process 'nope' is deployed" in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("query, version", [("from=9", 9), ("to=7", 7), ("from=1&to=3", 3)])
def test_compare_with_a_version_that_does_not_exist_is_an_html_404(client, query, version):
    response = client.get(f"/processes/shipment/compare?{query}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert f"process 'shipment' has no version {version}" in html.unescape(response.get_data(as_text=True))


def test_compare_with_a_version_that_is_not_a_number_is_refused(client):
    response = client.get("/processes/shipment/compare?from=latest")
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.get_data(as_text=True)


def test_compare_says_how_to_build_it_when_its_bundle_is_missing(client, monkeypatch, tmp_path):
    monkeypatch.setattr(pages, "COMPARE_BUNDLE", tmp_path / "missing.js")
    response = client.get("/processes/shipment/compare")
    assert response.status_code == 503
    assert "webapp/static/dist/compare.js is missing: run `npm ci &amp;&amp; npm run build`" in response.get_data(
        as_text=True)


def test_the_process_page_links_to_comparisons(client):
    process = client.get("/processes/shipment").get_data(as_text=True)
    assert 'id="compare-newest" href="/processes/shipment/compare"' in process
    assert 'href="/processes/shipment/compare?to=2">compare with v1</a>' in process
    assert "compare with v0" not in process
    single = client.get("/processes/order_approval").get_data(as_text=True)
    assert 'id="compare-newest"' not in single and "compare with" not in single
