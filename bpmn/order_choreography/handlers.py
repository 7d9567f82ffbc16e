"""Simulated services for the order choreography (the *.bpmn files beside this module).

The same order as the orchestrated saga (bpmn/order_fulfillment), told as five processes that react
to each other's messages instead of one process that calls every service:

    order_placement        Place order -> OrderPlaced; waits for OrderShipped (-> OrderCompleted)
                           or PaymentFailed / StockFailed / ShippingFailed (-> OrderFailed)
    payment_service        on OrderPlaced: charge_payment, create_invoice -> PaymentCharged
    stock_service          on PaymentCharged: reserve_stock, allocate_distribution_center -> StockReserved
    shipping_service       on StockReserved: ship_order -> OrderShipped (or ShippingFailed)
    customer_notification  on OrderCompleted / OrderFailed: tells the customer

Payment and stock wait, after their work, for OrderCompleted or OrderFailed; on OrderFailed their
compensation end event runs their undo handlers, newest first. A step of theirs that fails undoes
their own completed steps and announces PaymentFailed / StockFailed. Every message carries the
`order_id` as its correlation key, so the processes of one order find each other's messages only.

Run it (the README's tour does the same):

    maestro deploy bpmn/order_choreography/*.bpmn
    maestro start order_placement --business-key order-1 --data '{"fail_at": "ship_order"}'
    maestro worker --processes bpmn --until-idle

Topics are named apart from order_fulfillment's (both folders load into one worker); the undo
handlers bind by `handlers.undo(<forward topic>)`, as the compensation tasks name no topic.

Process variables that steer the simulation (they travel with every message):

- "amount": what charge_payment charges (default 100).
- "fail_at": "<forward topic>" - that step raises its service's business error (PAYMENT_FAILED,
  STOCK_FAILED, SHIPPING_FAILED); the order is cancelled and what completed is undone.
- "crash_at": "<any topic>" - that step (forward or undo) raises RuntimeError: a technical
  failure, which becomes an incident of its instance instead of a business error.

Each undo handler appends its topic to `payment_undone` or `stock_undone`, so `maestro show` tells
what each service undid, in which order. (A caught message merges all of the sender's variables into
the receiver's: the services keep their facts under names of their own.)
"""
from engine import BpmnError, Handlers

handlers = Handlers()

# The business error each service's failing step raises (caught in that service's diagram).
ERROR_OF = {
    "charge_payment": "PAYMENT_FAILED", "create_invoice": "PAYMENT_FAILED",
    "reserve_stock": "STOCK_FAILED", "allocate_distribution_center": "STOCK_FAILED",
    "ship_order": "SHIPPING_FAILED",
}


def _check(ctx, topic):
    """Raises the failure requested for this topic, if any."""
    if ctx.data.get("crash_at") == topic:
        raise RuntimeError(f"{topic} service unavailable (crash_at)")
    if ctx.data.get("fail_at") == topic and topic in ERROR_OF:
        raise BpmnError(ERROR_OF[topic], f"{topic} failed (fail_at)")


def _ref(prefix, ctx):
    return f"{prefix}-{ctx.instance_id[:8]}"


def _undone(ctx, service, topic, **facts):
    """An undo step: appends the topic to `<service>_undone`, plus the facts it sets. One list per service:
    a caught message brings the sender's variables, so a shared name would carry another service's list."""
    _check(ctx, topic)
    listed = f"{service}_undone"
    return {listed: ctx.data.get(listed, []) + [topic], **facts}


# Order placement

@handlers.task("place_order")
def place_order(ctx):
    """Opens the order; its `order_id` (the business key when there is one) correlates every message of it."""
    _check(ctx, "place_order")
    return {"order_id": ctx.business_key or _ref("ord", ctx)}


# Payment service

@handlers.task("charge_payment")
def charge_payment(ctx):
    """Charges `amount` (100 by default); sets `payment_id` and `amount_charged`."""
    _check(ctx, "charge_payment")
    return {"payment_id": _ref("pay", ctx), "amount_charged": ctx.data.get("amount", 100)}


@handlers.task("create_invoice")
def create_invoice(ctx):
    """Creates the invoice; sets `invoice_id`."""
    _check(ctx, "create_invoice")
    return {"invoice_id": _ref("inv", ctx)}


@handlers.undo("charge_payment")
def refund_payment(ctx):
    """Refunds the charge (the undo of Charge payment); sets `refunded`."""
    return _undone(ctx, "payment", "refund_payment", refunded=ctx.data.get("amount_charged"))


@handlers.undo("create_invoice")
def cancel_invoice(ctx):
    """Cancels the invoice (the undo of Create invoice)."""
    return _undone(ctx, "payment", "cancel_invoice")


# Stock service

@handlers.task("reserve_stock")
def reserve_stock(ctx):
    """Reserves the ordered items; sets `reservation_id`."""
    _check(ctx, "reserve_stock")
    return {"reservation_id": _ref("res", ctx)}


@handlers.task("allocate_distribution_center")
def allocate_distribution_center(ctx):
    """Allocates the distribution center that ships the order; sets `distribution_center`."""
    _check(ctx, "allocate_distribution_center")
    return {"distribution_center": "DC-EAST"}


@handlers.undo("reserve_stock")
def release_stock(ctx):
    """Releases the reserved stock (the undo of Reserve stock)."""
    return _undone(ctx, "stock", "release_stock")


@handlers.undo("allocate_distribution_center")
def release_distribution_center(ctx):
    """Releases the distribution center (the undo of its allocation)."""
    return _undone(ctx, "stock", "release_distribution_center")


# Shipping service

@handlers.task("ship_order")
def ship_order(ctx):
    """Hands the order to the carrier; sets `tracking_number`."""
    _check(ctx, "ship_order")
    return {"tracking_number": _ref("trk", ctx)}


# Customer notification

@handlers.task("notify_order_shipped")
def notify_order_shipped(ctx):
    """Tells the customer the order is on its way; sets `customer_told`."""
    _check(ctx, "notify_order_shipped")
    return {"customer_told": f"Order {ctx.data.get('order_id')} shipped, tracking {ctx.data.get('tracking_number')}"}


@handlers.task("notify_order_cancelled")
def notify_order_cancelled(ctx):
    """Tells the customer the order is cancelled; sets `customer_told`."""
    _check(ctx, "notify_order_cancelled")
    return {"customer_told": f"Order {ctx.data.get('order_id')} cancelled"}
