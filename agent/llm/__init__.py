"""The optional LLM side of the agent: client (retries, budget, usage), its configuration and errors,
the LLM engine that drafts with it, and tracing. Import from the submodules; nothing is re-exported."""
