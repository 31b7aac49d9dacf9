"""Ticket views, split by who uses them: `merchant` pages and the technician `work`space."""
