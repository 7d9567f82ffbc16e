"""The editor's pages through Flask's test client: what each opens, refusals, and the CSP they keep."""
import html
import json
import re
from pathlib import Path

import pytest
from web_helpers import SAGA, WEB, signed_in, web_app

from webapp import pages


@pytest.fixture
def client(tmp_path, monkeypatch):
    bundle = tmp_path / "dist" / "editor.js"  # the pages need the built bundle, not its content
    bundle.parent.mkdir()
    bundle.write_text("")
    monkeypatch.setattr(pages, "EDITOR_BUNDLE", bundle)
    app, maestro = web_app(tmp_path)
    maestro.deploy_paths([SAGA, WEB / "approval.bpmn"])
    return signed_in(app.test_client())


def editor_data(page):
    """The #editor element's data attributes."""
    tag = re.search(r'<div class="editor" id="editor"(.*?)>', page, re.S).group(1)
    return {name: html.unescape(value) for name, value in re.findall(r'data-([\w-]+)="([^"]*)"', tag)}


def template_xml(page):
    block = re.search(r'<script type="application/json" id="editor-template">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))["xml"] if block else None


@pytest.mark.parametrize("name, process_id", [("blank", "new_process"), ("saga", "order_fulfillment"),
                                              ("approval", "approval"), ("blank_camunda8", "new_process")])
def test_new_process_opens_its_template_with_no_inline_script(client, name, process_id):
    response = client.get(f"/processes/new?template={name}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<bpmn:process id="{process_id}"' in template_xml(page)
    assert editor_data(page)["key"] == "" and editor_data(page)["version"] == ""
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert all('src="' in attributes or 'type="application/json"' in attributes for attributes, _ in scripts)


def test_the_saga_template_is_the_seed_file_itself(client):
    page = client.get("/processes/new?template=saga").get_data(as_text=True)
    assert template_xml(page) == SAGA.read_text(encoding="utf-8")


def test_new_process_without_a_template_is_blank_and_an_unknown_one_is_refused(client):
    assert '<bpmn:process id="new_process"' in template_xml(client.get("/processes/new").get_data(as_text=True))
    unknown = client.get("/processes/new?template=nope")
    assert unknown.status_code == 404
    assert "there is no template 'nope': choose one of blank, saga, approval" in html.unescape(
        unknown.get_data(as_text=True))


def test_edit_opens_the_newest_version_or_the_one_asked_for(client):
    newest = editor_data(client.get("/processes/order_approval/edit").get_data(as_text=True))
    assert newest["key"] == "order_approval" and newest["version"] == "1" and "version-asked" not in newest
    asked = editor_data(client.get("/processes/order_approval/edit?version=1").get_data(as_text=True))
    assert asked["version"] == "1" and asked["version-asked"] == "1"
    assert newest["edit-url"] == "/processes/__key__/edit" and newest["process-url"] == "/processes/__key__"


def test_edit_of_a_version_that_does_not_exist_is_refused(client):
    missing = client.get("/processes/order_approval/edit?version=9")
    assert missing.status_code == 404
    assert "process 'order_approval' has no version 9" in html.unescape(missing.get_data(as_text=True))
    assert client.get("/processes/order_approval/edit?version=x").status_code == 400


def test_edit_of_a_key_never_deployed_opens_for_its_draft(client):
    blank = (Path(pages.__file__).parent / "templates_bpmn" / "blank.bpmn").read_text(encoding="utf-8")
    saved = client.put("/api/drafts/only_a_draft", json={"xml": blank.replace('id="new_process"', 'id="only_a_draft"')})
    assert saved.status_code == 200, saved.json
    page = client.get("/processes/only_a_draft/edit").get_data(as_text=True)
    assert editor_data(page)["key"] == "only_a_draft" and editor_data(page)["version"] == ""
    assert template_xml(page) is None  # the page loads GET /api/drafts/only_a_draft


def test_edit_of_a_key_neither_deployed_nor_drafted_is_not_found(client):
    response = client.get("/processes/nothing_here/edit")
    assert response.status_code == 404
    assert "no process &#39;nothing_here&#39; is deployed or drafted" in response.get_data(as_text=True)


def test_the_editor_says_how_to_build_it_when_its_bundle_is_missing(client, monkeypatch, tmp_path):
    monkeypatch.setattr(pages, "EDITOR_BUNDLE", tmp_path / "missing.js")
    response = client.get("/processes/new")
    assert response.status_code == 503
    assert "run `npm ci &amp;&amp; npm run build`" in response.get_data(as_text=True)


def test_processes_and_process_pages_link_to_the_editor(client):
    processes = client.get("/processes").get_data(as_text=True)
    assert 'action="/processes/new"' in processes and '<option value="approval">' in processes
    assert 'href="/processes/order_approval/edit"' in processes
    process = client.get("/processes/order_approval").get_data(as_text=True)
    assert 'id="edit-process" href="/processes/order_approval/edit"' in process
    assert 'href="/processes/order_approval/edit?version=1"' in process
