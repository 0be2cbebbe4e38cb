"""Small builders shared by the scenario files, so each case reads as data."""

from __future__ import annotations

from evals.scenarios.spec import Person, Secrets

LLAMA_SERVING_CONFIG = """\
# vLLM serving configuration for the chat completion pool
model: meta-llama/Meta-Llama-3.1-8B-Instruct
tensor_parallel_size: 1
gpu_memory_utilization: {util}
max_num_seqs: {seqs}
max_model_len: 16384
enable_prefix_caching: true
swap_space_gb: 4
"""


def person(name: str, handle: str, title: str, tz: str = "+0000") -> Person:
    return Person(name=name, handle=handle, title=title, tz_offset=tz)


def secrets(openai: str, aws: str, email: str, url: str, email_addr: str, url_template: str) -> Secrets:
    return Secrets(openai_key_in=openai, aws_key_in=aws, email_in=email, url_password_in=url,
                   email=email_addr, url_template=url_template)


def requirements(**pins: str) -> str:
    return "".join(f"{k.replace('_', '-')}=={v}\n" for k, v in sorted(pins.items()))
