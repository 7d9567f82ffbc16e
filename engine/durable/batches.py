"""Batch actions: one operator action (retry, cancel, suspend, resume) on many instances at once.

The instances are named by ids or by a filter (store/instance_filters.py); each is acted on in its
own commit, so that one refused (busy, not failed, already cancelled...) refuses only itself.
"""
from collections.abc import Callable

from engine.run.instance_errors import InstanceError

from .errors import Busy, NotFound
from .store import instance_rows
from .store.instance_filters import InstanceFilter

# The instances one call acts on at most: a filter matching more says so ("more"), and a second call
# takes the next ones (those acted on no longer match a filter on status or incident).
BATCH_LIMIT = 500


def act_on_many(context, action: Callable[[str], object], filters: InstanceFilter | None = None,
                ids: list[str] | None = None, limit: int | None = None) -> dict:
    """{"done": [ids], "refused": [{"id", "reason"}], "more": whether the filter matched more than `limit`}.

    Exactly one of `filters` (with at least one criterion: never "every instance" by accident) and `ids`.
    """
    if (filters is None) == (ids is None):
        raise InstanceError("name the instances by a filter or by their ids (one of the two)")
    limit = BATCH_LIMIT if limit is None else limit
    more = False
    if filters is not None:
        if not filters.criteria():
            raise InstanceError("an empty filter matches every instance: give at least one criterion, or ids")
        with context.Session() as session:
            chosen = instance_rows.ids_matching(session, filters, limit + 1)
        more, chosen = len(chosen) > limit, chosen[:limit]
    else:
        if len(ids) > limit:
            raise InstanceError(f"{len(ids)} ids given; at most {limit} in one call")
        chosen = list(dict.fromkeys(ids))
    done, refused = [], []
    for instance_id in chosen:
        try:
            action(instance_id)
            done.append(instance_id)
        except (InstanceError, Busy, NotFound) as error:
            refused.append({"id": instance_id, "reason": str(error)})
    return {"done": done, "refused": refused, "more": more}
