"""The case workflow: the transition table, the working-day clock, and the one write path for a
change of a case. ``states`` and ``deadlines`` are pure (any domain may use them); ``services``
writes, and sits above ``cases``; ``calendar_services`` (the calendar's overrides and
``current_calendar()``) sits below ``cases``, beside audit."""
