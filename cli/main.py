"""`postmortem`: the agent's commands (ingest, export, draft, validate, chat), `eval`, `similar`,
`follow-up`, `trends`, `runbooks`, `incidents`, `actions`, `gameday`, and the service's `serve`,
`worker` and `users`, under one root that reads the settings once for all of them."""

from __future__ import annotations

import typer

from agent.cli import app as agent_app, fail
from agent.config import ConfigError, Settings
from agent.llm.errors import LLMConfigError
from evals.cli import eval_app
from tools import tokens
from incidents.actions_cli import actions_app, follow_up_cmd
from incidents.cli import incidents_app, similar, trends_cmd
from incidents.learn_cli import gameday_app, runbooks_cmd
from service.cli import serve, users_app
from service.worker import worker

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Blameless post-incident reviews of AI/ML incidents.")
similar_app = typer.Typer(add_completion=False)
similar_app.command("similar")(similar)
similar_app.command("follow-up")(follow_up_cmd)
similar_app.command("trends")(trends_cmd)
similar_app.command("runbooks")(runbooks_cmd)
similar_app.command("serve")(serve)
similar_app.command("worker")(worker)
# Merged in this order so `postmortem --help` lists the commands as it always has.
app.add_typer(agent_app)
app.add_typer(eval_app)
app.add_typer(similar_app)
app.add_typer(incidents_app, name="incidents")
app.add_typer(actions_app, name="actions")
app.add_typer(gameday_app, name="gameday")
app.add_typer(users_app, name="users")


@app.callback()
def _read_settings(ctx: typer.Context) -> None:
    # The only read of the environment: every command takes its settings from ctx.obj.
    try:
        ctx.obj = Settings.from_env()
    except (ConfigError, LLMConfigError) as exc:
        fail(str(exc))
    tokens.use_cache_dir(ctx.obj.tokenizer_cache)


if __name__ == "__main__":  # pragma: no cover
    app()
