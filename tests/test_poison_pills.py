"""An instance whose step kills the worker process is contained: it runs alone once suspected, and
after MAESTRO_MAX_CRASHES deaths it fails with an incident, while the other instances of its batch
complete with each handler called once."""
import shutil

from cli_helpers import ROOT
from test_crash_recovery import read_log
from test_leases import WORKERS, spawn, worker_env  # noqa: F401 (spawn is a fixture)

from engine.durable import Maestro


def test_a_step_that_kills_its_worker_fails_after_three_deaths_and_harms_no_other(tmp_path, spawn):
    database = f"sqlite:///{tmp_path / 'maestro.db'}"
    log = tmp_path / "calls.log"
    folder = tmp_path / "processes"
    folder.mkdir()
    shutil.copy(WORKERS / "poison.bpmn", folder)
    shutil.copy(ROOT / "tests" / "data" / "poison_handlers.py", folder)
    engine = Maestro(database)
    engine.deploy_paths([folder / "poison.bpmn"])
    # The poison pill first: it is the first of the batch, so it dies before the others run "explode".
    poison = engine.start("poison", {"poison": True})["id"]
    innocents = [engine.start("poison", {})["id"] for _ in range(5)]
    env = worker_env(database, log, MAESTRO_LEASE_SECONDS="1")

    deaths, later = 0, []
    for _ in range(8):  # a supervisor restarting the worker each time it dies
        process = spawn(env, folder, "--until-idle")
        output, _ = process.communicate(timeout=60)
        if process.returncode == 0:
            break
        deaths += 1
        if deaths == 1:  # new work while the pill is suspected: it is never batched with it
            later += [engine.start("poison", {})["id"] for _ in range(3)]
    else:
        raise AssertionError(f"the worker never finished: {output}")

    calls = read_log(log)
    assert deaths == 3
    for instance_id in innocents + later:
        assert [topic for i, topic, *_ in calls if i == instance_id] == ["prepare", "explode"]
        assert engine.show(instance_id)["status"] == "completed"
    assert [topic for i, topic, *_ in calls if i == poison] == ["prepare", "explode", "explode", "explode"]
    # Once suspected, the pill ran alone: a worker that died on it afterwards had nothing else in flight.
    # (It may have finished other work first, before the dead worker's lease on the pill ran out: that
    # work ran once, as asserted above. But nothing ran beside or after the pill in its claim.)
    killers = [pid for i, topic, _, pid in calls if i == poison and topic == "explode"][1:]
    for killer in killers:
        of_killer = [(i, topic) for i, topic, _, pid in calls if pid == killer]
        assert of_killer[-1] == (poison, "explode"), (killer, calls)
    shown = engine.show(poison)
    assert shown["status"] == "failed"
    assert shown["incident"]["bpmn_id"] == "explode"
    assert shown["incident"]["message"].startswith("the worker process died 3 times running task 'Explode' (explode)")

