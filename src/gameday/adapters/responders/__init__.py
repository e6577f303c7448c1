"""Who responds to a drill's incident: the automatic responder lives in run.py (CI);
people respond through :class:`HumanResponder` (the quarterly game day)."""

from gameday.adapters.responders.human import HumanResponder

__all__ = ["HumanResponder"]
