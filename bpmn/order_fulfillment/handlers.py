"""Simulated services for the order fulfillment saga (order_fulfillment.bpmn).

Run it:

    maestro run bpmn/order_fulfillment/order_fulfillment.bpmn \\
        --handlers bpmn/order_fulfillment/handlers.py --data '{"fail_at": "shipping"}' --json

Every handler appends its topic to the variable `steps`, and every undo
(compensation) handler also appends it to `undone`, so the result shows what
ran and in which order.

Forward steps, in order: checkout, payment, stock, distribution_center,
invoice, shipping. Undo steps: refund_payment, release_stock,
release_distribution_center, cancel_invoice (checkout and shipping have none).
On failure the event subprocess runs notify_customer.

Process variables that steer the simulation:

- "items": the cart; if present it must be a non-empty list, otherwise
  checkout raises the business error ORDER_FAILED ("cart is empty").
- "amount": what payment charges (default 100).
- "fail_at": "<forward topic>" - that step raises the business error
  ORDER_FAILED. The "Order failed" event subprocess catches it, compensates
  the completed steps newest first, then notifies the customer.
- "crash_at": "<any topic>" - that step (forward or undo) raises
  RuntimeError: a technical failure, which becomes an incident instead of a
  business error.
"""
from engine import BpmnError, Handlers

handlers = Handlers()


def _check(ctx, topic, forward=True):
    """Raises the failure requested for this topic, if any."""
    if ctx.data.get("crash_at") == topic:
        raise RuntimeError(f"{topic} service unavailable (crash_at)")
    if forward and ctx.data.get("fail_at") == topic:
        raise BpmnError("ORDER_FAILED", f"{topic} failed (fail_at)")


def _done(ctx, topic, **created):
    """A forward step: records the topic in `steps`, plus whatever it created."""
    _check(ctx, topic)
    return {"steps": ctx.data.get("steps", []) + [topic], **created}


def _undone(ctx, topic):
    """An undo step: records the topic in `steps` and in `undone`."""
    _check(ctx, topic, forward=False)
    return {
        "steps": ctx.data.get("steps", []) + [topic],
        "undone": ctx.data.get("undone", []) + [topic],
    }


def _ref(prefix, ctx):
    return f"{prefix}-{ctx.instance_id[:8]}"


# Forward steps

@handlers.task("checkout")
def checkout(ctx):
    """Opens the order for the cart in `items` (a business error ORDER_FAILED when it is empty); sets `order_id`."""
    items = ctx.data.get("items")
    if "items" in ctx.data and not (isinstance(items, list) and items):
        raise BpmnError("ORDER_FAILED", "cart is empty")
    return _done(ctx, "checkout", order_id=_ref("ord", ctx))


@handlers.task("payment")
def payment(ctx):
    """Charges `amount` (100 by default); sets `payment_id` and `amount_charged`."""
    return _done(ctx, "payment", payment_id=_ref("pay", ctx),
                 amount_charged=ctx.data.get("amount", 100))


@handlers.task("stock")
def stock(ctx):
    """Reserves the ordered items in stock; sets `reservation_id`."""
    return _done(ctx, "stock", reservation_id=_ref("res", ctx))


@handlers.task("distribution_center")
def distribution_center(ctx):
    """Allocates the distribution center that ships the order; sets `distribution_center`."""
    return _done(ctx, "distribution_center", distribution_center="DC-EAST")


@handlers.task("invoice")
def invoice(ctx):
    """Creates the invoice for the order; sets `invoice_id`."""
    return _done(ctx, "invoice", invoice_id=_ref("inv", ctx))


@handlers.task("shipping")
def shipping(ctx):
    """Hands the order to the carrier; sets `tracking_number`."""
    return _done(ctx, "shipping", tracking_number=_ref("trk", ctx))


# Undo steps: the compensation handlers (isForCompensation service tasks)

@handlers.task("refund_payment")
def refund_payment(ctx):
    """Refunds the payment (the undo of Charge payment)."""
    return _undone(ctx, "refund_payment")


@handlers.task("release_stock")
def release_stock(ctx):
    """Releases the reserved stock (the undo of Reserve stock)."""
    return _undone(ctx, "release_stock")


@handlers.task("release_distribution_center")
def release_distribution_center(ctx):
    """Releases the allocated distribution center (the undo of its allocation)."""
    return _undone(ctx, "release_distribution_center")


@handlers.task("cancel_invoice")
def cancel_invoice(ctx):
    """Cancels the invoice (the undo of Create invoice)."""
    return _undone(ctx, "cancel_invoice")


# Failure path

@handlers.task("notify_customer")
def notify_customer(ctx):
    """Tells the customer the order failed; sets `customer_notified`."""
    _check(ctx, "notify_customer", forward=False)
    return {"steps": ctx.data.get("steps", []) + ["notify_customer"],
            "customer_notified": True}
