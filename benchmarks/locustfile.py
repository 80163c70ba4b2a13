"""The busy center's mix for ``make bench-load`` (driven by :mod:`benchmarks.load`).

One locust user is one desk: agents create work orders (phone calls, an idempotency key
each) and read them back, a district's handlers read their inbox, dispatchers
search, agents look up the knowledge base, citizens look their tickets up by number and
query code. Tokens come from the driver (``BENCH_LOAD_TOKENS``); every acknowledged
creation (``created`` true, a number returned) is appended to ``BENCH_LOAD_CREATED``
so the driver can check afterwards that each exists exactly once.

The calls are a center's, not one caller's: each creation's text is a held-out request of
the routing corpus (heldout2.jsonl: written by hand in Shandong callers' voices for the
routing measure, never trained on, not made for this benchmark; Jinan's and those naming
no city, their place as the address) and most callers are new — a new number each call —
while
:data:`REPEAT_SHARE` of the calls come again from a caller the desk already took, with
the same request (the duplicate detector's proposals). One number for every call, as
this file had, made every creation a repeat caller's with five proposals.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from typing import Any

from locust import between, constant, tag, task
from locust.contrib.fasthttp import FastHttpUser

from hotline.tenants.routing import corpus

TOKENS: dict[str, str] = json.loads(os.environ.get("BENCH_LOAD_TOKENS", "{}"))
CREATED = os.environ.get("BENCH_LOAD_CREATED", "")
TENANT = os.environ.get("BENCH_LOAD_TENANT", "jinan")
# The API processes (one port each); desks are spread over them, as a balancer would.
HOSTS = [h for h in os.environ.get("BENCH_LOAD_HOSTS", "").split(",") if h]
_desks = itertools.count()

CREATE = """mutation($k: String!, $a: ID, $c: String!, $p: String!, $at: String!) {
  createTicket(input: { channel: PHONE, kind: COMPLAINT, content: $c, citizenName: "李四",
  citizenPhone: $p, address: $at, areaId: $a, idempotencyKey: $k }) {
  ticket { id number status } queryCode created errors { code message } } }"""
REQUESTS = [
    (r["text"], r.get("place", ""))
    for r in corpus.heldout2()
    if r["voice"] != "summary" and r.get("city", TENANT) == TENANT
]
REPEAT_SHARE = 0.15  # calls from a caller the desk took before (our assumption, not a measure)
INBOX = """query($d: ID!) { inbox(departmentId: $d, box: TO_SIGN, first: 50) { edges { node {
  id status replyDeadline signDeadline overdue dueSoon department { name }
  ticket { number status replyDeadline category { name } area { name }
    assignments { status isLead department { name } } } } } } }"""
TICKET = """query($id: ID!) { ticket(id: $id) { id number status content
  timeline { action at } } }"""
SEARCH = """query($q: String!) { tickets(filter: {keyword: $q}, first: 20) {
  edges { node { id number status updatedAt } } } }"""
KNOWLEDGE = """query($q: String!) { knowledgeSearch(text: $q, first: 5) { articleId title
  score } }"""
PUBLIC = """query($n: String!, $c: String!) { publicTicket(number: $n, queryCode: $c) {
  number status } }"""
DEPARTMENT = """query { departments(search: "历下区", first: 1) { edges { node { id } } } }"""
WORDS = ["路灯", "噪音", "违建", "停水", "物业", "垃圾", "供暖", "占道"]


class Desk(FastHttpUser):
    # BENCH_LOAD_PAUSE=0: no pause between requests (the capacity run, with ``--tags create``)
    wait_time = between(0.2, 1.0) if os.environ.get("BENCH_LOAD_PAUSE", "1") != "0" else constant(0)

    def on_start(self) -> None:
        desk = next(_desks)
        self.url = (HOSTS[desk % len(HOSTS)] if HOSTS else "") + "/graphql"
        # citizens look their tickets up from their own addresses, behind the proxy the
        # API trusts (loopback): one address for every desk would be one citizen, and the
        # per-address lookup limit (a guard against guessing query codes) would refuse it
        self.citizen = f"198.51.100.{desk % 250 + 1}"
        self.tickets: list[tuple[str, str, str]] = []  # (id, number, query code)
        self.callers: list[tuple[str, str, str]] = []  # (phone, request, place)
        found = self._gql("setup: department", DEPARTMENT, {}, "agent")
        edges = (found or {}).get("departments", {}).get("edges", [])
        self.department = edges[0]["node"]["id"] if edges else None

    def _gql(
        self, name: str, query: str, variables: dict[str, Any], who: str | None
    ) -> dict[str, Any] | None:
        headers = {"Content-Type": "application/json", "X-Hotline-Tenant": TENANT}
        if who is not None:
            headers["Authorization"] = f"Bearer {TOKENS[who]}"
        else:
            headers["X-Forwarded-For"] = self.citizen
        with self.client.post(
            self.url,
            data=json.dumps({"query": query, "variables": variables}),
            headers=headers,
            name=name,
            catch_response=True,
        ) as response:
            try:
                body = response.json()
            except Exception:  # any undecodable answer is a failure
                response.failure(f"HTTP {response.status_code}: not JSON")
                return None
            if response.status_code != 200 or body.get("errors"):
                response.failure(f"HTTP {response.status_code}: {str(body)[:200]}")
                return None
            data: dict[str, Any] = body.get("data") or {}
            return data

    @tag("create")
    @task(4)
    def create(self) -> None:
        if self.callers and random.random() < REPEAT_SHARE:
            phone, text, place = random.choice(self.callers)
        else:
            phone = f"13{random.randrange(10**9):09d}"
            text, place = random.choice(REQUESTS)
            self.callers.append((phone, text, place))
        variables = {"k": uuid.uuid4().hex, "a": self.department, "c": text, "p": phone}
        data = self._gql("createTicket", CREATE, {**variables, "at": place}, "agent")
        payload = (data or {}).get("createTicket") or {}
        ticket = payload.get("ticket")
        if ticket and payload.get("created") and not payload.get("errors"):
            self.tickets.append((ticket["id"], ticket["number"], payload["queryCode"]))
            if CREATED:
                with open(CREATED, "a", encoding="utf-8") as out:
                    out.write(ticket["number"] + "\n")

    @task(6)
    def inbox(self) -> None:
        if self.department:
            self._gql("inbox (50 rows)", INBOX, {"d": self.department}, "handler")

    @task(5)
    def read(self) -> None:
        if self.tickets:
            self._gql("ticket", TICKET, {"id": random.choice(self.tickets)[0]}, "agent")

    @task(2)
    def search(self) -> None:
        self._gql("tickets (search)", SEARCH, {"q": random.choice(WORDS)}, "dispatcher")

    @task(2)
    def knowledge(self) -> None:
        self._gql("knowledgeSearch", KNOWLEDGE, {"q": random.choice(WORDS)}, "agent")

    @task(1)
    def public(self) -> None:
        if self.tickets:
            _, number, code = random.choice(self.tickets)
            self._gql("publicTicket", PUBLIC, {"n": number, "c": code}, None)
