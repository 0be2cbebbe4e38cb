"""The generic response steps per failure-mode family: the one table runbooks and game days read.

A failure mode is a dotted id (`serving.oom`); its family is the part before the first dot. What
is generic to a family (how to stop the bleeding, what to roll back, what data to set aside, what
to inject in a game day) lives here as data; what is specific to a failure mode (the alerts,
metrics and log templates it showed, the trigger, the actions) comes from the stored incidents.
No step here names a production command: the runbook says what to look at and when to decide,
the team's own tooling does the doing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Procedure(BaseModel):
    """One response lever (kill switch, rollback or quarantine) as it applies to a family."""

    model_config = ConfigDict(frozen=True)

    what: str
    diagnostics: tuple[str, ...]
    decisions: tuple[str, ...]


class Family(BaseModel):
    """What is generic to every failure mode of one family. A lever that does not apply is None."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    kill_switch: Procedure | None
    rollback: Procedure | None
    quarantine: Procedure | None
    inject: str  # what a staging game day injects to reproduce a failure of this family


LEVERS: tuple[tuple[str, str], ...] = (("kill_switch", "Kill switch"), ("rollback", "Rollback"),
                                       ("quarantine", "Bad-data quarantine"))

FALLBACK = "unknown"

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family(
        name="serving", title="Model serving",
        kill_switch=Procedure(
            what="Shed or reroute traffic away from the failing model server (fallback model, cached "
                 "answers or a degraded mode) while it is diagnosed.",
            diagnostics=("Error ratio and p99 latency of the inference endpoint, per replica and per "
                         "model version.",
                         "GPU memory use, KV-cache usage and preemption counts of the serving engine.",
                         "Pod restarts and OOMKilled events of the serving pods."),
            decisions=("Shed traffic when the error ratio stays above the paging threshold after one "
                       "restart cycle; hold while it is falling on its own.",
                       "Prefer the fallback model over a full stop when it meets the product's "
                       "quality floor.")),
        rollback=Procedure(
            what="Return the serving stack (engine version, model weights, serving config) to the "
                 "last version that ran without the failure.",
            diagnostics=("Deploy and config changes to the serving stack in the hour before the "
                         "first anomaly.",
                         "Whether the failure is confined to replicas on the new version (compare "
                         "old and new replicas)."),
            decisions=("Roll back when the failure started within one deploy of a serving change "
                       "and is confined to the new version.",
                       "Hold and scale or reroute instead when the old version shows the same "
                       "failure: the trigger is load or data, not the change.")),
        quarantine=None,
        inject="Deploy the triggering serving change (or its equivalent config) to staging and "
               "replay production-shaped load against it."),
    Family(
        name="rag", title="Retrieval-augmented generation",
        kill_switch=Procedure(
            what="Stop answering from the suspect index: serve a no-retrieval answer, a notice, or "
                 "the previous index snapshot.",
            diagnostics=("Index age and document counts per shard against the rebuild schedule.",
                         "Retrieval scores, fallback rate and answer citations for known queries.",
                         "Errors and exit status of the last index build or migration job."),
            decisions=("Switch retrieval off when answers cite documents that should not exist or "
                       "are older than the freshness promise.",
                       "Hold while only recall drops and answers stay correct.")),
        rollback=Procedure(
            what="Point retrieval back at the last index snapshot (and embedding model) that passed "
                 "its checks.",
            diagnostics=("Which index snapshot and embedding model version queries are served from.",
                         "Whether queries and documents were embedded by the same model."),
            decisions=("Roll back the index when the rebuild or migration that preceded the incident "
                       "is incomplete or mixes embedding models.",
                       "Rebuild forward instead when the last good snapshot is itself older than the "
                       "freshness promise.")),
        quarantine=Procedure(
            what="Remove suspect documents or shards from the index until their source is checked.",
            diagnostics=("The documents or sources the bad answers cited.",
                         "Ingest records of those documents: when, from where, through which job."),
            decisions=("Quarantine a source when any of its documents carries injected instructions "
                       "or wrong content; release it after a review of the whole source.",)),
        inject="In staging, interrupt or skip the index rebuild (or mix embedding models in one "
               "index) the way the incident's trigger did, then query known documents."),
    Family(
        name="data", title="Data pipelines",
        kill_switch=Procedure(
            what="Pause the pipeline and its consumers so no more bad rows are written or read.",
            diagnostics=("Schema, row counts and null/invalid rates of the affected tables per run.",
                         "Validation results of the run that wrote the first bad rows."),
            decisions=("Pause when invalid rows keep arriving; hold when the bad run is finished and "
                       "consumers have not read it yet.",)),
        rollback=Procedure(
            what="Restore the affected tables or features to the last validated snapshot and re-run "
                 "consumers from there.",
            diagnostics=("The last run that passed validation, and every run since.",
                         "Downstream jobs, models and dashboards that read the bad partitions."),
            decisions=("Roll back when the bad partitions are identified and a validated snapshot "
                       "exists; otherwise repair forward and mark the gap.",)),
        quarantine=Procedure(
            what="Move the bad partitions or rows aside, labelled with the run that wrote them, so "
                 "nothing trains or evaluates on them.",
            diagnostics=("Partitions written by the suspect runs; their schema and value "
                         "distributions against the previous runs.",),
            decisions=("Quarantine every partition a suspect run wrote; release only after a "
                       "validation pass on the quarantined copy.",)),
        inject="Feed staging a batch with the schema or value change the incident's trigger "
               "introduced and let the pipeline run."),
    Family(
        name="training", title="Model training",
        kill_switch=Procedure(
            what="Stop or pause the training job before more compute and checkpoints are spent on a "
                 "diverged run.",
            diagnostics=("Loss, gradient norm and learning rate per step around the first anomaly.",
                         "Hardware errors (Xid, ECC) and node health of the job's workers."),
            decisions=("Stop when loss diverges and does not return within the run's usual recovery "
                       "window; hold when a spike recovers on its own.",)),
        rollback=Procedure(
            what="Resume from the last checkpoint taken before the anomaly, with the data order, "
                 "config or node that caused it changed.",
            diagnostics=("Checkpoints saved before the first anomaly and whether they load and "
                         "evaluate cleanly.",),
            decisions=("Roll back to the newest checkpoint that predates the anomaly and passes its "
                       "eval; do not resume from a checkpoint written during the spike.",)),
        quarantine=Procedure(
            what="Set aside the data shards or nodes implicated in the anomaly.",
            diagnostics=("Which shards the steps around the anomaly read.",
                         "Per-node error counters for the job's workers."),
            decisions=("Quarantine a shard or node when the anomaly repeats where it is used; keep "
                       "it out until it is checked.",)),
        inject="In a staging training run, feed the corrupted shard, config or fault the incident's "
               "trigger introduced."),
    Family(
        name="eval", title="Evaluation",
        kill_switch=Procedure(
            what="Hold the release gate that depends on the suspect eval; nothing is promoted on its "
                 "scores.",
            diagnostics=("Eval scores per run and per slice against the previous model and run.",),
            decisions=("Hold promotions while the eval's validity is in question; release the hold "
                       "only after a re-run on a clean set.",)),
        rollback=Procedure(
            what="Return the eval harness and dataset to their last trusted versions and re-score the "
                 "models promoted since the change.",
            diagnostics=("Changes to the eval harness, metric code and dataset versions.",
                         "Models promoted on scores from the suspect versions."),
            decisions=("Roll back a promotion when its re-score on the trusted eval misses the gate.",)),
        quarantine=Procedure(
            what="Remove contaminated or mislabeled eval items from the set until reviewed.",
            diagnostics=("Overlap between eval items and training data; items whose results flip "
                         "between runs.",),
            decisions=("Quarantine items found in training data; keep a record so scores before "
                       "and after stay comparable.",)),
        inject="Run the staging eval with the harness, metric or dataset change the incident's "
               "trigger introduced."),
    Family(
        name="safety", title="Safety and policy",
        kill_switch=Procedure(
            what="Disable the affected feature or route its traffic through the strictest guardrail "
                 "setting until the gap is closed.",
            diagnostics=("Guardrail and moderation verdicts on the conversations flagged in the "
                         "incident.",
                         "Refusal rate and policy-violation rate against the last stable period."),
            decisions=("Disable the feature when violating outputs reach users and the guardrail "
                       "cannot block the pattern; hold with a blocking rule when it can.",)),
        rollback=Procedure(
            what="Return the system prompt, guardrail config or model version to the last version "
                 "that passed the safety evals.",
            diagnostics=("Prompt, guardrail and model changes before the first violating output.",),
            decisions=("Roll back when the violating behaviour started with a change; keep the "
                       "strict guardrail while it is re-evaluated.",)),
        quarantine=Procedure(
            what="Keep violating conversations out of feedback, fine-tuning and eval data.",
            diagnostics=("Conversations with the attack pattern or violating outputs in the incident "
                         "window.",),
            decisions=("Quarantine every conversation with the pattern; release only after review.",)),
        inject="Replay the incident's attack pattern (red-team prompts of the same shape) against "
               "staging with the triggering change applied."),
    Family(
        name="agent", title="Agents and tool use",
        kill_switch=Procedure(
            what="Stop the agent's sessions or disable the tools involved, so no further tool calls "
                 "run.",
            diagnostics=("Steps, tool calls and tokens per session against the budget.",
                         "Tool calls with side effects in the incident window, and their arguments."),
            decisions=("Kill a session that exceeds its step or token budget or repeats one tool "
                       "call; disable a tool whose calls change data they should not.",)),
        rollback=Procedure(
            what="Return the agent's prompt, tool permissions and limits to the last version without "
                 "the failure.",
            diagnostics=("Changes to the agent config, prompt, tool list and limits before the first "
                         "anomaly.",),
            decisions=("Roll back when the behaviour started with a config or prompt change; hold "
                       "with the kill switch on while the change is reviewed.",)),
        quarantine=Procedure(
            what="Set aside what the agent wrote (records, memory, tickets) during the incident until "
                 "it is checked.",
            diagnostics=("Writes by the agent's tools in the incident window.",),
            decisions=("Quarantine the agent's writes from the window; restore the damaged records "
                       "from backups before releasing them.",)),
        inject="Give a staging agent the task and configuration that led to the incident (loop-prone "
               "or destructive plan) with its tools pointed at staging data."),
    Family(
        name="infra", title="Infrastructure",
        kill_switch=Procedure(
            what="Shift traffic away from the affected zone, cluster or dependency.",
            diagnostics=("Capacity, saturation and error ratio per zone or cluster.",),
            decisions=("Shift traffic when healthy capacity elsewhere covers the load; hold when it "
                       "does not.",)),
        rollback=Procedure(
            what="Revert the infrastructure or config change that preceded the incident.",
            diagnostics=("Infrastructure and config changes before the first anomaly.",),
            decisions=("Roll back when the change and the first anomaly line up and the revert is "
                       "tested; hold when the revert path itself is unproven.",)),
        quarantine=None,
        inject="Apply the triggering infrastructure or config change in staging under load."),
    Family(
        name=FALLBACK, title="Other failure modes",
        kill_switch=Procedure(
            what="Stop the affected feature or path with its existing switch, if it has one.",
            diagnostics=("The alerts, metrics and logs the incidents below showed.",),
            decisions=("Stop the path when user impact continues and the cause is not yet known; hold "
                       "when impact has ended.",)),
        rollback=Procedure(
            what="Revert the change that preceded the incident.",
            diagnostics=("Changes in the hours before the first anomaly.",),
            decisions=("Roll back when a change lines up with the first anomaly; hold when none "
                       "does.",)),
        quarantine=Procedure(
            what="Set aside data written during the incident until it is checked.",
            diagnostics=("What the affected components wrote during the incident window.",),
            decisions=("Quarantine when bad output may have been stored or fed onward.",)),
        inject="Reproduce the incident's trigger in staging."),
)}

# Taxonomy families spelled differently from the table's names.
ALIASES: dict[str, str] = {"agentic": "agent"}


def family_of(mode: str) -> Family:
    """The family of a dotted failure-mode id; the fallback for an unknown or undotted one."""
    head = mode.split(".", 1)[0].strip().lower() if "." in mode else ""
    return FAMILIES.get(ALIASES.get(head, head)) or FAMILIES[FALLBACK]
