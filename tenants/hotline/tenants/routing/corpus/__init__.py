"""The shipped routing corpus (hand-written for this project, JSONL beside this file).

- ``train.jsonl`` / ``heldout.jsonl``: caller requests and agents' call summaries, each
  ``{"text", "function", "city"?, "place"?, "voice"}``; a quarter of every function's
  lines is held out and never trained on.
- ``train2.jsonl``: 2,697 more training requests (100–110 per function) written by hand
  in the same voices (Shandong callers' dialect words: 俺, 夜来, 头晌, 咋; two topics in a
  call; "物业说不归他们管"-style keywords pointing at the wrong department), with
  near-duplicates of any held-out line removed.
- ``train3.jsonl``: a third author's training requests (150+ per function), written in
  voices the first two files use little: elderly callers who ramble, angry repeat
  callers ("这是第三回打了"), people calling for a relative, SMS/WeChat-style short
  texts without punctuation (``"voice": "sms"``), terse 工单摘要 (来电人反映…诉求…),
  two departments named where one is responsible ("物业说归城管，城管说归水务"), places
  inside and outside the demo gazetteers; lines whose character 5-grams overlap any
  held-out line's by a Jaccard index above 0.6 were dropped. ``train()`` is all three.
- ``heldout2.jsonl``: a second held-out set (468 requests, 18 per function: 12 written
  first, then 6 deliberately hard ones — indirect, dialect words for the thing, a
  keyword of another department — after the first 312 proved easier than the old set),
  all committed before any model error was looked at and never tuned on: the honest
  figure.
- ``urgent_heldout.jsonl``: ``{"text", "urgent"}``, the urgent detector's own check.
- ``places_heldout.jsonl``: ``{"city", "text", "location"?, "expected_place"}``, place
  resolution's hand-built check against the demo cities' gazetteers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@cache
def _load(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(read_jsonl(HERE / name))


def train() -> list[dict[str, Any]]:
    return [*_load("train.jsonl"), *_load("train2.jsonl"), *_load("train3.jsonl")]


def heldout() -> list[dict[str, Any]]:
    return list(_load("heldout.jsonl"))


def heldout2() -> list[dict[str, Any]]:
    return list(_load("heldout2.jsonl"))


def urgent_heldout() -> list[dict[str, Any]]:
    return list(_load("urgent_heldout.jsonl"))


def places_heldout() -> list[dict[str, Any]]:
    return list(_load("places_heldout.jsonl"))
