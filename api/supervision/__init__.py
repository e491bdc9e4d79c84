"""Electronic supervision (电子监察): warnings before a step's limit and alarms after it, irregularities
read from the audit trail, supervision orders and accountability, statistics. ``rules`` is pure;
``services`` keeps each open step's row (``track``, in the case's transaction) and runs the worker's
tick; ``irregularities``, ``orders``, ``statistics`` and ``views`` are the rest.

Outbox kinds written here (each needs a handler in api/notifications): ``alert.warning``,
``alert.yellow``, ``alert.red`` (to the step's holder and the department's heads), ``supervision.order``
(to the department's heads and the holder), ``supervision.order_response`` (to the supervisor).
"""

OUTBOX_KINDS = ("alert.warning", "alert.yellow", "alert.red", "supervision.order", "supervision.order_response")
