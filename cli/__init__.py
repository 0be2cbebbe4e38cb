"""The `postmortem` console script: composes the typer apps of agent, evals and incidents."""
