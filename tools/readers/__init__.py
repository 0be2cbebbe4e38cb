"""Evidence readers, one module per source kind.

Contract every reader keeps (the analysis stages rely on it):

Evidence ids are `<prefix>:<stable locator>` with no spaces, identical across runs for the same dump:
  log:<rel path>:<line no>           trace:<rel path>:<line no>        note:<rel path>:<line no>
  commit:<sha first 12>              chat:<channel>:<slack ts>         k8s:<rel path>:<index or uid>
  pd:<incident id>                   pd:<incident id>:<log entry id>   metric:<rel path>:<series index>
  alert:<rel path>:<payload index>:<alert index>                       manifest
  change:<rel path>:<index>          eval:<rel path>:<index>           ticket:<rel path>:<ticket id>
  otel span: trace:<rel path>:<span id>                                (indexes count from 1)
  otel log record: log:<rel path>:<line no>.<record no in that line or document>
  generic JSON/CSV: log:<rel path>:<line or item no>[:<CSV column no>]  note:<rel path>:<part no>
  ticket comments and history: ticket:<rel path>:<ticket id>:comment|audit|change:<id>
  chat exports: chat:<channel>:<message id> (Mattermost has none: create_at ms, `-2`... on a tie)

`attrs` keys by kind (present when the source has them; names normalised as below):
  log       status (int HTTP status), method, path, latency_ms (float), bytes, logger, plus every
            other JSON field of a JSON log line as-is; `format` (jsonl|iso|pylogging|klog|syslog|access|
            text); generic text lines add `layout` (the timestamp layout row), pid, thread, host,
            program where the line shows them, `preamble_lines`/`preamble_from` on a file's first
            record (untimed lines before it), `continues` on an overflow record, `bad_time` when a
            timestamp-shaped field is not a real date (the record stays undated), `inner_time` when a
            `kubectl --timestamps` prefix time won over the line's own
  commit    sha (full), author (name), email (redacted), files (list of paths), insertions,
            deletions, parents (list of shas), message (full message)
  chat      channel, user (display name), user_id, thread_ts, bot (bool), reply_count
  page      incident_id, entry_type (trigger|acknowledge|escalate|assign|annotate|resolve|notify),
            urgency, service, title, status, agent (role or name as exported)
  alert     alertname, status (firing|resolved), labels, annotations, starts_at, ends_at, receiver
  metric    name (__name__ or query), labels, samples ([[epoch_s, float], ...]), unit (if known)
  trace     model, prompt_tokens, completion_tokens, total_tokens, latency_ms, status/error,
            request_id, cost_usd (when exported)
  k8s_event reason, type (Normal|Warning), object_kind, object_name, namespace, count, first_ts,
            last_ts
  note      heading (the nearest Markdown heading)
  manifest  the manifest's keys
  change    change_type (flag|config|deploy|sync|rollout|prompt|model|data_job|infra), target (flag
            key, app, config key, ...), action (e.g. updated|enabled|disabled|synced|rolled_back),
            actor (as exported, redacted like any name), environment, before, after, version
  eval      suite, run, sample_id, metric, score (float), passed (bool), model
  ticket    ticket_id, status, priority, requester (redacted), subject, tags, created_at, updated_at
  A prefix stripped from a line (kubectl --prefix pod/container, `[rank3]:`, compose `svc |`,
  `srun --label`) is kept as attrs `prefix` (and `rank`, `pod`, `container` where it gives them).

`level` is normalised to debug|info|warning|error|critical. `service` comes from the record
(JSON `service`/`app`/`component` keys, syslog app name, PagerDuty service, alert `service`/`job`
label, k8s object name) or, failing that, from the file name.
"""
