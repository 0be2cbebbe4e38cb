"""The postmortem lead's side of the chat: understanding remarks, guiding each stage, closing.

- `understand` turns a free-text remark into an `Intent` (a correction to apply, information to keep
  as evidence, a fix to park, a request to answer per the persona).
- `stages` holds one guide per review gate: its goal, the questions it asks from the facts the engine
  computed, and the next step it proposes.
- `model` is the optional LLM behind the same interface, with its own budget and a guard that checks
  every reply before anyone sees it.
- `exports` writes what closing produces: report, tracker import files and a calendar file.
"""

from agent.facilitator.understand import Intent, understand

__all__ = ["Intent", "understand"]
