"""Celery tasks. Each takes ids and calls a service; see DESIGN.md "Routing"."""

from __future__ import annotations

# --- Routing and notifications (filing engineer) ---

# --- end of routing and notifications ---

# --- SLA and auto-close (workspace engineer) ---

# --- end of SLA and auto-close ---
