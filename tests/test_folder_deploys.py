"""Deploying a processes folder at start (issue 13): a file is deployed only when its content changed since
that folder last deployed it, so a restart never makes a new version out of an unchanged file over a
version deployed from elsewhere (the editor, an upload). `maestro deploy FILES` stays explicit."""
import json
import shutil
import urllib.request

from durable_helpers import DURABLE, fresh_maestro
from serve_helpers import running_serve

from engine.durable.startup import deploy_folder, load_processes

APPROVAL = (DURABLE / "approval.bpmn").read_text(encoding="utf-8")
EDITED = APPROVAL.replace('name="Approve order"', 'name="Approve the order"')  # "deployed from elsewhere"


def a_folder(tmp_path, name="processes", text=APPROVAL):
    folder = tmp_path / name
    (folder / "orders").mkdir(parents=True)
    (folder / "orders" / "approval.bpmn").write_text(text, encoding="utf-8")
    return folder


def deploy(maestro, folder, capsys):
    """deploy_folder as `maestro serve` runs it at start: (it succeeded, what it printed)."""
    succeeded = deploy_folder(maestro, folder, load_processes(folder)[1])
    return succeeded, capsys.readouterr().out.splitlines()


def newest(maestro, key="approval"):
    return maestro.definition_versions(key)[-1]["version"]


def test_an_unchanged_folder_file_never_replaces_a_version_deployed_elsewhere(tmp_path, capsys):
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 1"])
    assert maestro.deploy([("edited.bpmn", EDITED.encode())])[0]["version"] == 2
    assert deploy(maestro, folder, capsys) == (True, [
        "orders/approval.bpmn: unchanged since this folder last deployed it as approval version 1: "
        "not deployed again; the newest, version 2, stays"])
    assert newest(maestro) == 2


def test_a_folder_file_whose_content_changed_is_deployed_again(tmp_path, capsys):
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    deploy(maestro, folder, capsys)
    maestro.deploy([("edited.bpmn", EDITED.encode())])
    (folder / "orders" / "approval.bpmn").write_text(APPROVAL.replace("Approve order", "Approve it"))
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 3"])
    assert deploy(maestro, folder, capsys)[1] == [
        "orders/approval.bpmn: unchanged since this folder last deployed it as approval version 3: not deployed again"]
    assert newest(maestro) == 3


def test_a_file_first_seen_whose_content_is_deployed_already_only_is_remembered(tmp_path, capsys):
    """A database from before folders remembered anything: its folder file was deployed (as version 1),
    an analyst deployed version 2; the first start after the upgrade keeps version 2."""
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    maestro.deploy_paths([folder / "orders" / "approval.bpmn"])
    maestro.deploy([("edited.bpmn", EDITED.encode())])
    assert deploy(maestro, folder, capsys) == (True, [
        "orders/approval.bpmn: already deployed as approval version 1: not deployed again; "
        "the newest, version 2, stays"])
    assert deploy(maestro, folder, capsys)[1] == [
        "orders/approval.bpmn: unchanged since this folder last deployed it as approval version 1: "
        "not deployed again; the newest, version 2, stays"]
    assert newest(maestro) == 2


def test_a_changed_file_deployed_elsewhere_first_is_not_deployed_again_over_newer_work(tmp_path, capsys):
    """The folder deployed version 1; its file was edited and deployed by hand (`maestro deploy`, version 2);
    an analyst deployed version 3. A restart finds the file's content deployed after what the folder
    remembers: it remembers it, and version 3 stays the newest."""
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    deploy(maestro, folder, capsys)
    (folder / "orders" / "approval.bpmn").write_text(EDITED, encoding="utf-8")
    assert maestro.deploy_paths([folder / "orders" / "approval.bpmn"])[0]["version"] == 2
    analysts = EDITED.replace('name="Approve the order"', 'name="Approve the order, kindly"')
    assert maestro.deploy([("from-the-editor.bpmn", analysts.encode())])[0]["version"] == 3
    assert deploy(maestro, folder, capsys) == (True, [
        "orders/approval.bpmn: already deployed as approval version 2: not deployed again; "
        "the newest, version 3, stays"])
    assert newest(maestro) == 3
    assert deploy(maestro, folder, capsys)[1][0].startswith("orders/approval.bpmn: unchanged since this folder")


def test_a_file_changed_back_to_an_older_versions_content_is_deployed_again(tmp_path, capsys):
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    deploy(maestro, folder, capsys)
    (folder / "orders" / "approval.bpmn").write_text(EDITED, encoding="utf-8")
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 2"])
    (folder / "orders" / "approval.bpmn").write_text(APPROVAL, encoding="utf-8")  # its author reverts the edit
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 3"])
    assert maestro.definition_xml("approval") == APPROVAL


def test_a_folder_that_could_not_remember_a_deploy_does_not_repeat_it(tmp_path, capsys, monkeypatch):
    """Remembering fails (the database locked for a moment): the deploy stands, the worker starts, and the
    next start finds the content deployed instead of deploying it again."""
    from sqlalchemy.exc import OperationalError

    from engine.durable.folders import FolderDeploys
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    remembering = FolderDeploys._write_memory

    def locked(self, identity, remembered):
        raise OperationalError("INSERT INTO folder_deployments", {}, Exception("database is locked"))
    monkeypatch.setattr(FolderDeploys, "_write_memory", locked)
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 1"])
    monkeypatch.setattr(FolderDeploys, "_write_memory", remembering)
    assert deploy(maestro, folder, capsys)[1] == ["orders/approval.bpmn: already deployed as approval version 1: "
                                                  "not deployed again"]
    assert newest(maestro) == 1


def test_a_file_first_seen_with_new_content_is_deployed(tmp_path, capsys):
    maestro = fresh_maestro(tmp_path)
    maestro.deploy([("edited.bpmn", EDITED.encode())])
    assert deploy(maestro, a_folder(tmp_path), capsys) == (True, ["deployed approval version 2"])


def test_the_same_folder_at_another_path_is_the_same_folder(tmp_path, capsys):
    """Known by its name: a checkout on another machine, or in a container, agrees on what it deployed."""
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path / "here")
    deploy(maestro, folder, capsys)
    maestro.deploy([("edited.bpmn", EDITED.encode())])
    elsewhere = shutil.copytree(folder, tmp_path / "there" / "processes")
    assert deploy(maestro, elsewhere, capsys)[1] == [
        "orders/approval.bpmn: unchanged since this folder last deployed it as approval version 1: "
        "not deployed again; the newest, version 2, stays"]
    assert newest(maestro) == 2


def test_a_refused_file_deploys_nothing_and_is_not_remembered(tmp_path, capsys):
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path, text=APPROVAL.replace('<bpmn:endEvent id="end"/>', ""))
    succeeded = deploy_folder(maestro, folder, load_processes(folder)[1])
    assert not succeeded and "end" in capsys.readouterr().err
    assert maestro.definitions() == []
    (folder / "orders" / "approval.bpmn").write_text(APPROVAL)
    assert deploy(maestro, folder, capsys) == (True, ["deployed approval version 1"])


def test_an_explicit_deploy_of_the_folder_file_still_makes_a_new_version(tmp_path, capsys):
    maestro, folder = fresh_maestro(tmp_path), a_folder(tmp_path)
    deploy(maestro, folder, capsys)
    maestro.deploy([("edited.bpmn", EDITED.encode())])
    deployed, = maestro.deploy_paths([folder / "orders" / "approval.bpmn"])
    assert (deployed["version"], deployed["new"]) == (3, True)


def test_restarting_maestro_serve_keeps_the_version_deployed_through_the_api(tmp_path):
    """Two servers over one database, each with its own copy of the processes folder: a restart."""
    database = {"MAESTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    with running_serve(first, "--no-worker", env=database) as server:
        saga = _get(server, "/api/definitions/order_fulfillment/xml")
        request = urllib.request.Request(f"{server['base']}/api/definitions?name=edited.bpmn", method="POST",
                                         data=saga.replace(b"Charge payment", b"Charge the card"),
                                         headers={"Content-Type": "application/xml", **server["headers"]})
        assert json.load(urllib.request.urlopen(request))["version"] == 2
    with running_serve(second, "--no-worker", env=database) as server:
        newest_saga = [d for d in json.loads(_get(server, "/api/definitions")) if d["key"] == "order_fulfillment"]
        assert newest_saga[0]["version"] == 2
        log = server["log"].read_text()
    assert ("order_fulfillment/order_fulfillment.bpmn: unchanged since this folder last deployed it as "
            "order_fulfillment version 1: not deployed again; the newest, version 2, stays") in log


def _get(server, path):
    request = urllib.request.Request(f"{server['base']}{path}", headers=server["headers"])
    with urllib.request.urlopen(request) as response:
        return response.read()
