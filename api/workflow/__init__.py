"""The case workflow: the transition table, the working-day clock, the vouchers (文书), and the one
write path for a change of a case. ``states``, ``deadlines`` and ``vouchers`` are pure (any domain may
use them); ``services`` writes, and sits above ``cases``; ``calendar_services`` (the calendar's
overrides and ``current_calendar()``) sits below ``cases``, beside audit."""
