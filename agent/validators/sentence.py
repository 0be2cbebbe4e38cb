"""Sentence-structure helpers shared by the prose rules: normalisation, mentions, clauses, person NPs.

The hard rules are about *who* does *what* in a clause, not about word lists, so the rules share:

- `normalize`: expands informal contractions ("should've", "couldve", "shoulda", "would of", "we'd have")
  to their full form, so one pattern covers every spelling of a modal perfect;
- `unquote`: blanks quoted and `code` spans, because a phrase that is *mentioned* ("don't write 'human
  error'") or an error string (`illegal memory access`) is not *used* by the writer;
- `person_np`: a regex for noun phrases that denote people: pronouns, role nouns, @handles, supplied
  names and capitalised words that are not technology terms (shape rules plus a general tech lexicon).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from agent.validators.subjects import PERSON_NOUNS

# --- normalisation ----------------------------------------------------------------------------------

_CONTRACTIONS: list[tuple[re.Pattern[str], str]] = [
    # modal + 've / ve / a / of  ->  modal + have ("should've", "couldve", "shoulda", "would of")
    (re.compile(r"\b(should|could|would|might|must|may)(n['’]?t)?(?:['’]ve|ve|a|\s+of)\b(?!\s+(?:the|a|an|it|them|this|that)\b)",
                re.IGNORECASE), r"\1\2 have"),
    (re.compile(r"\b(\w+)['’]d\s+of\b", re.IGNORECASE), r"\1 would have"),  # "we'd of been fine"
    (re.compile(r"\b(should|could|would|might|must)n['’]?t\b", re.IGNORECASE), r"\1 not"),
    (re.compile(r"\bwon['’]?t\b", re.IGNORECASE), "will not"),
    (re.compile(r"\b(?:can['’]t|cannot)\b", re.IGNORECASE), "can not"),
    (re.compile(r"\b(does|do|did|is|are|was|were|has|have|had)n['’]?t\b", re.IGNORECASE), r"\1 not"),
    # "we'd have caught" / "it'd have" -> would have; "if we'd tested" -> had tested
    (re.compile(r"\b(\w+)['’]d\s+have\b", re.IGNORECASE), r"\1 would have"),
    (re.compile(r"\b(\w+)['’]d\s+(?=[\w-]+(?:ed|en|wn|ght|ne)\b)", re.IGNORECASE), r"\1 had "),
    (re.compile(r"\b(he|she|it|that|who)['’]s\s+(?=\w+(?:ed|en|wn)\b)", re.IGNORECASE), r"\1 has "),
    (re.compile(r"[’‘]"), "'"),
    (re.compile(r"[“”]"), '"'),
]


def normalize(text: str) -> str:
    """Expand contractions so modal-perfect and negation patterns see one spelling."""
    for pat, rep in _CONTRACTIONS:
        text = pat.sub(rep, text)
    return text


_MENTION = re.compile(r"`[^`]*`|\"[^\"]{1,80}\"|(?<![\w])'[^'\n]{2,60}'(?![\w])")


def unquote(text: str) -> str:
    """Replace quoted and code spans by a neutral placeholder: mentioned words are not the writer's claim."""
    return _MENTION.sub(" QUOTED ", text)


def prepare(text: str) -> str:
    return normalize(unquote(text.replace("’", "'").replace("“", '"').replace("”", '"')))


# --- people -----------------------------------------------------------------------------------------

PRONOUNS = ("he", "she", "they", "someone", "somebody", "nobody", "no one", "no-one", "not one person",
            "not a single person", "whoever", "anyone", "anybody", "everyone", "him", "her", "them")
_EXTRA_ROLES = ("guy", "guys", "folks", "deployer", "deployers", "on-call", "oncall", "ic", "facilitator",
                "pm", "pms", "manager", "vendor's engineer", "new hire", "team lead", "tech lead", "eng", "sres")
# Words that are capitalised but are not names: function words that start sentences, months, days.
_NOT_NAMES = frozenset(
    """a an the this that these those it its we our they their he she i you my your his her and or but so
    if when while after before since because although though then also just honestly frankly basically
    per as at on in of for to from by with without into onto over under again still yes no not ok okay
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december today yesterday tomorrow tonight facilitator note notes
    root cause action summary impact timeline detection lessons update status re fwd fyi tl dr tldr imo
    imho tbh lol classic great good nice thanks thank sorry please hi hey all both each every some any
    none nobody someone everyone anyone who what which why how where there here let lets let's can could would
    should will do does did is are was were has have had be been not never always""".split()
)
# A general lexicon of technology words that are capitalised in prose (not fitted to any corpus).
TECH_TERMS = frozenset(
    """kubernetes docker linux windows python java go rust node redis kafka postgres postgresql mysql
    sqlite mongo mongodb elasticsearch opensearch prometheus grafana loki jaeger datadog splunk sentry
    pagerduty opsgenie slack jira github gitlab bitbucket jenkins argo argocd terraform helm ansible
    nginx envoy istio triton vllm pytorch tensorflow jax cuda nccl ray spark airflow dagster snowflake
    bigquery aws azure gcp google amazon microsoft openai anthropic meta nvidia hugging huggingface
    claude gemini llama mistral mixtral qwen gpt chatgpt copilot bert faiss pinecone weaviate qdrant
    milvus chroma langchain langgraph llamaindex celery rabbitmq sqs sns lambda s3 ec2 eks gke aks
    cloudflare akamai fastly vercel heroku okta auth0 vault consul etcd zookeeper hadoop hive presto
    trino flink beam dataflow vertex sagemaker bedrock mlflow wandb kubeflow seldon kserve bentoml onnx
    tensorrt deepspeed megatron fsdp lora peft rlhf dpo ppo rag llm api sdk cli ui ux db sql json yaml
    friday staging production prod canary main master""".split()
)


def looks_technical(token: str) -> bool:
    """Shape rules: CamelCase, digits, hyphen/underscore/dot inside, ALL CAPS, or a known tech term."""
    t = token.strip("'")
    if t.lower() in TECH_TERMS:
        return True
    if re.search(r"[\d_./:-]", t) or (len(t) > 1 and t.isupper()):
        return True
    return bool(re.search(r"[a-z][A-Z]", t))


def name_like(token: str) -> bool:
    """A capitalised plain word that could be a person's name."""
    t = re.sub(r"'s$", "", token)
    if not re.fullmatch(r"[A-Z][a-z]+", t):
        return False
    return t.lower() not in _NOT_NAMES and not looks_technical(t)


@lru_cache(maxsize=256)
def person_np(names: tuple[str, ...] = ()) -> str:
    """Regex source for a person noun phrase (no groups), built once per set of participant names."""
    roles = sorted({*PERSON_NOUNS, *_EXTRA_ROLES} - {"human", "humans", "person", "people"}, key=len, reverse=True)
    role = r"(?:the|an?|our|their|that|this|one|same|new|junior|senior|\w+)?\s*(?:[\w-]+\s+){0,2}?(?:" + "|".join(
        re.escape(r) for r in roles) + r")\b"
    pron = r"\b(?:" + "|".join(re.escape(p) for p in sorted(PRONOUNS, key=len, reverse=True)) + r")\b"
    author = r"\bthe (?:author|owner|submitter|reviewer|approver) of (?:PR|MR|the PR|the change|ticket|commit)\s*#?\w*"
    handle = r"@[A-Za-z][\w.-]*\w"
    named = [re.escape(n) for n in sorted(names, key=len, reverse=True) if n.strip()]
    # Case-sensitive even inside IGNORECASE patterns: only a capitalised word can be a name.
    cap = r"(?-i:\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)?\b)"
    return "(?:" + "|".join([author, handle, *named, pron, r"\b" + role, cap]) + ")"


def is_person_phrase(phrase: str, names: Collection[str] = ()) -> bool:
    """Does this short phrase (a subject or a by-agent) denote a person or a team of people?"""
    p = phrase.strip(" ,.;:!?\"'*_()").replace("'s", "")
    if not p:
        return False
    low = p.lower()
    if any(n and re.search(rf"(?<![\w@]){re.escape(n.lower())}\b", low) for n in names):
        return True
    if re.search(r"@[A-Za-z]", p) or re.match(r"(?:" + "|".join(re.escape(x) for x in PRONOUNS) + r")\b", low):
        return True
    if re.search(r"\bthe (?:author|owner|submitter) of\b", low):
        return True
    words = re.findall(r"[\w-]+", low)
    if words and (words[-1] in PERSON_NOUNS or words[-1] in _EXTRA_ROLES or words[-1] in {"team", "teams"}):
        return True
    raw = re.findall(r"[\w'-]+", p)
    return bool(raw) and name_like(raw[-1]) and all(name_like(w) for w in raw[-2:] if w[0].isupper())


_ANY_PERSON_WORD = frozenset({*PERSON_NOUNS, *_EXTRA_ROLES, "team", "teams", "he", "she", "someone", "somebody",
                              "him", "her", "they", "them", "whoever", "people", "folks"})


def mentions_person(text: str, names: Collection[str] = ()) -> bool:
    """Does the text mention a person or team anywhere (name, handle, pronoun, role noun, capitalised name)?

    Used only together with a second cue (a recurrence marker and a bad outcome, a blame disclaimer),
    so it errs on the side of finding people. The first word is skipped for name shape (sentence case).
    """
    low = text.lower()
    if any(n and re.search(rf"(?<![\w@]){re.escape(n.lower())}\b", low) for n in names):
        return True
    if re.search(r"(?<![\w.])@[A-Za-z]", text):
        return True
    tokens = re.findall(r"[\w'’-]+", text)
    for i, tok in enumerate(tokens):
        bare = re.sub(r"['’]s$", "", tok)
        if bare.lower() in _ANY_PERSON_WORD:
            return True
        if (i > 0 or tok != bare) and name_like(tok):
            return True
    return False
