"""Signals other apps follow to extend a ticket's life without writing ticket rows.

`tickets` knows nothing of the apps that listen (see DESIGN.md, "Growing"): outages
keeps a downtime record from a filing, links routed tickets to incidents and ends the
downtime when a ticket is resolved, closed or withdrawn.

- `ticket_filed(ticket, payments_down_since)`: in the filing's transaction.
- `ticket_routed(ticket)`: after the routing transaction committed (in the routing
  task); sent again when the task runs twice, so receivers must be idempotent.
- `tickets_ended(ticket_ids, at, how)`: in the transaction that resolved, closed or
  withdrew them; `how` is the status they reached.
- `events_recorded(events)`: in the transaction of the one event writer
  (`tickets.events`), for every timeline entry it wrote (webhooks follow it).
"""

from __future__ import annotations

from django.dispatch import Signal

ticket_filed = Signal()
ticket_routed = Signal()
tickets_ended = Signal()
events_recorded = Signal()
