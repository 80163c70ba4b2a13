"""Who may do what: one ``require(actor, action)`` for GraphQL, REST faces and workers.

The role × action table below is the source of ``docs/permissions.md``
(``hotline permissions`` regenerates it; a test checks it is current).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hotline.tenants.kernel.errors import PermissionDenied
from hotline.tenants.kernel.roles import PlatformRole, Role


class Action(enum.StrEnum):
    PROVINCE_READ = "province.read"
    PROVINCE_CREATE = "province.create"
    PROVINCE_UPDATE = "province.update"
    TENANT_CREATE = "tenant.create"
    TENANT_UPDATE = "tenant.update"
    TENANT_READ = "tenant.read"
    CALENDAR_READ = "calendar.read"
    CALENDAR_UPDATE = "calendar.update"
    DEPARTMENT_READ = "department.read"
    DEPARTMENT_MANAGE = "department.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    APIKEY_MANAGE = "apikey.manage"
    AUDIT_READ = "audit.read"
    KNOWLEDGE_READ = "knowledge.read"
    KNOWLEDGE_MANAGE = "knowledge.manage"
    KNOWLEDGE_SHARED_MANAGE = "knowledge.shared_manage"  # province-shared articles
    TICKET_CREATE = "ticket.create"
    TICKET_DISPATCH = "ticket.dispatch"  # dispatch, answer, refuse, reclassify, merge, cancel
    TICKET_HANDLE = "ticket.handle"  # department work, within the member's subtree
    TICKET_REVIEW = "ticket.review"
    TICKET_REVISIT = "ticket.revisit"
    TICKET_DECIDE = "ticket.decide"  # extension and return requests
    TICKET_SUPERVISE = "ticket.supervise"
    TICKET_ADMIN = "ticket.admin"  # recompute deadlines after a calendar change
    TICKET_TRANSFER = "ticket.transfer"  # to another city of the province
    TICKET_READ = "ticket.read"
    TICKET_QUEUE_READ = "ticket.queue_read"
    CITIZEN_REVEAL = "citizen.reveal"
    CITIZEN_HISTORY = "citizen.history"
    CATEGORY_READ = "category.read"
    CATEGORY_MANAGE = "category.manage"
    ROUTING_MANAGE = "routing.manage"
    NOTIFICATION_MANAGE = "notification.manage"
    EVIDENCE_READ = "evidence.read"
    EVIDENCE_READ_ANY = "evidence.read_any"
    EVIDENCE_UPLOAD = "evidence.upload"
    EVIDENCE_PUBLISH = "evidence.publish"
    EVIDENCE_POLICY_MANAGE = "evidence.policy_manage"
    STATISTICS_READ = "statistics.read"  # a city's figures (a department manager: its subtree)
    STATISTICS_PROVINCE_READ = "statistics.province_read"  # every city of the province
    # The business extension (docs/business.md); enterprise roles see their enterprise only.
    BUSINESS_READ = "business.read"  # the city's registry and portfolios
    BUSINESS_MANAGE = "business.manage"  # registry imports, portfolios, enterprise admins
    ENTERPRISE_READ = "enterprise.read"  # one's own enterprise
    ENTERPRISE_MEMBERS_MANAGE = "enterprise.members_manage"  # invite colleagues
    BUSINESS_REQUEST_SUBMIT = "business.request_submit"  # an enterprise's request, and its rating
    BUSINESS_REQUEST_HANDLE = "business.request_handle"  # the manager answers or dispatches
    POLICY_MANAGE = "policy.manage"  # draft and publish policies (a manager: its subtree's)
    FINANCING_MANAGE = "business.financing_manage"  # a bank's products (a manager: its bank's)
    FINANCING_DECIDE = "business.financing_decide"  # a bank decides applications for its products
    FINANCING_READ = "business.financing_read"  # the city's financing products (banks too)
    CALLS_PUSH = "calls.push"  # the call center's CTI system pushes call records (API key)
    EXPORT_CREATE = "export.create"  # a ticket list or a report as CSV/XLSX (own downloads)
    EXPORT_PROVINCE = "export.province"  # the province's ticket list or report (province scope)
    DISCLOSURE_PUBLISH = "disclosure.publish"  # monthly figures and anonymized cases


_EVERY_CITY_ROLE = frozenset(Role)
_ADMIN = frozenset({Role.TENANT_ADMIN})
_CENTER = frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR})
# The hotline center and city leadership see every ticket of the city; department
# roles see the tickets assigned inside their department's subtree.
CENTER_ROLES = frozenset(
    {
        Role.TENANT_ADMIN,
        Role.CITY_LEADER,
        Role.AGENT,
        Role.DISPATCHER,
        Role.SUPERVISOR,
        Role.AUDITOR,
    }
)
DEPARTMENT_ROLES = frozenset({Role.DEPT_HANDLER, Role.DEPT_MANAGER})
# Enterprise roles: a third wall after city and department — every business operation
# is limited to the one enterprise the user belongs to (hotline.tenants.business.access).
ENTERPRISE_ROLES = frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_USER})
_TICKET_READERS = CENTER_ROLES | DEPARTMENT_ROLES

# City roles per action; province admins hold every city action in their province's
# cities, and the province actions listed in _PROVINCE_ACTIONS.
CITY_TABLE: dict[Action, frozenset[Role]] = {
    Action.TENANT_READ: _EVERY_CITY_ROLE,
    Action.TENANT_UPDATE: _ADMIN,
    Action.CALENDAR_READ: _EVERY_CITY_ROLE,
    Action.CALENDAR_UPDATE: _ADMIN,
    Action.DEPARTMENT_READ: _EVERY_CITY_ROLE,
    Action.DEPARTMENT_MANAGE: _ADMIN,
    Action.USER_READ: frozenset(
        {Role.TENANT_ADMIN, Role.CITY_LEADER, Role.SUPERVISOR, Role.AUDITOR}
    ),
    Action.USER_MANAGE: _ADMIN,
    Action.APIKEY_MANAGE: _ADMIN,
    Action.AUDIT_READ: frozenset({Role.TENANT_ADMIN, Role.AUDITOR}),
    Action.KNOWLEDGE_READ: _EVERY_CITY_ROLE,
    Action.KNOWLEDGE_MANAGE: frozenset({Role.TENANT_ADMIN, Role.SUPERVISOR}),
    Action.TICKET_READ: _TICKET_READERS,
    Action.TICKET_QUEUE_READ: CENTER_ROLES,
    # Departments call the citizen about work they hold (先行联系); the service checks
    # that the department holds an assignment of the ticket, and not a confidential one.
    Action.CITIZEN_REVEAL: frozenset(
        {
            Role.TENANT_ADMIN,
            Role.AGENT,
            Role.DISPATCHER,
            Role.SUPERVISOR,
            Role.DEPT_HANDLER,
            Role.DEPT_MANAGER,
        }
    ),
    Action.CITIZEN_HISTORY: frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR}),
    Action.CATEGORY_READ: _TICKET_READERS,
    Action.CATEGORY_MANAGE: _ADMIN,
    Action.ROUTING_MANAGE: frozenset({Role.TENANT_ADMIN, Role.DISPATCHER}),
    Action.NOTIFICATION_MANAGE: _ADMIN,
    # Evidence: the center sees every ticket's; departments only their tickets' (service).
    Action.EVIDENCE_READ: _TICKET_READERS,
    Action.EVIDENCE_READ_ANY: CENTER_ROLES,
    Action.EVIDENCE_UPLOAD: _TICKET_READERS - {Role.CITY_LEADER, Role.AUDITOR},
    Action.EVIDENCE_PUBLISH: frozenset(
        {Role.TENANT_ADMIN, Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR}
    ),
    Action.EVIDENCE_POLICY_MANAGE: _ADMIN,
    # Statistics: the center's supervisors, city leadership and admins see the city; a
    # department manager sees its own subtree only (service).
    Action.STATISTICS_READ: frozenset(
        {Role.TENANT_ADMIN, Role.CITY_LEADER, Role.SUPERVISOR, Role.DEPT_MANAGER}
    ),
    Action.BUSINESS_READ: frozenset(
        {Role.TENANT_ADMIN, Role.CITY_LEADER, Role.SUPERVISOR, Role.SERVICE_MANAGER}
    ),
    Action.BUSINESS_MANAGE: _ADMIN,
    Action.ENTERPRISE_READ: frozenset(
        {
            Role.TENANT_ADMIN,
            Role.CITY_LEADER,
            Role.SUPERVISOR,
            Role.SERVICE_MANAGER,
            Role.ENTERPRISE_ADMIN,
            Role.ENTERPRISE_USER,
        }
    ),
    Action.ENTERPRISE_MEMBERS_MANAGE: frozenset(
        {Role.TENANT_ADMIN, Role.SERVICE_MANAGER, Role.ENTERPRISE_ADMIN}
    ),
    Action.BUSINESS_REQUEST_SUBMIT: ENTERPRISE_ROLES,
    Action.BUSINESS_REQUEST_HANDLE: frozenset({Role.SERVICE_MANAGER, Role.SUPERVISOR}),
    Action.POLICY_MANAGE: frozenset({Role.TENANT_ADMIN, Role.DEPT_MANAGER}),
    # Banks are departments (function "bank"): their people act on their own products.
    Action.FINANCING_MANAGE: frozenset({Role.TENANT_ADMIN, Role.DEPT_MANAGER}),
    Action.FINANCING_DECIDE: frozenset({Role.TENANT_ADMIN, Role.DEPT_MANAGER, Role.DEPT_HANDLER}),
    Action.FINANCING_READ: frozenset(
        {
            Role.TENANT_ADMIN,
            Role.CITY_LEADER,
            Role.SUPERVISOR,
            Role.SERVICE_MANAGER,
            Role.ENTERPRISE_ADMIN,
            Role.ENTERPRISE_USER,
            Role.DEPT_MANAGER,
            Role.DEPT_HANDLER,
        }
    ),
    # The CTI system's API key holds a center role; the service also wants an API key.
    Action.CALLS_PUSH: _CENTER,
    # Exports: whoever reads tickets or figures exports what they may read (service).
    Action.EXPORT_CREATE: _TICKET_READERS,
    Action.DISCLOSURE_PUBLISH: frozenset({Role.TENANT_ADMIN, Role.SUPERVISOR}),
    Action.TICKET_CREATE: _CENTER,
    Action.TICKET_DISPATCH: _CENTER,
    Action.TICKET_HANDLE: DEPARTMENT_ROLES,
    Action.TICKET_REVIEW: _CENTER,
    Action.TICKET_REVISIT: _CENTER,
    Action.TICKET_DECIDE: frozenset({Role.SUPERVISOR}),
    Action.TICKET_SUPERVISE: frozenset({Role.SUPERVISOR, Role.CITY_LEADER}),
    Action.TICKET_ADMIN: frozenset({Role.TENANT_ADMIN, Role.SUPERVISOR}),
}

PROVINCE_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.PROVINCE_READ,
        Action.PROVINCE_UPDATE,
        Action.TENANT_CREATE,
        Action.TENANT_UPDATE,
        Action.TENANT_READ,
        Action.CALENDAR_READ,
        Action.CALENDAR_UPDATE,
        Action.USER_READ,
        Action.USER_MANAGE,
        Action.AUDIT_READ,
        Action.KNOWLEDGE_READ,
        Action.KNOWLEDGE_SHARED_MANAGE,
        Action.TICKET_TRANSFER,
        Action.STATISTICS_PROVINCE_READ,
        Action.EXPORT_PROVINCE,
    }
)

OPERATOR_ACTIONS: frozenset[Action] = frozenset({Action.PROVINCE_CREATE, Action.PROVINCE_READ})


@dataclass(frozen=True)
class Actor:
    """The caller, as the request's authentication and tenant resolution found it."""

    user_id: int | None
    tenant_id: int | None = None
    province_id: int | None = None
    roles: frozenset[Role] = frozenset()
    # Department scopes of department-bound memberships (a subtree each).
    department_ids: frozenset[int] = frozenset()
    province_admin_of: frozenset[int] = frozenset()
    platform_operator: bool = False
    api_key_id: int | None = None
    username: str = field(default="", compare=False)
    # What the credentials allow for how long (bearer tokens): the session (``sid``)
    # whose revocation ends them, and the token's expiry (Unix seconds). Long-lived
    # connections re-check both (``identity.still_allowed``).
    session_id: str | None = field(default=None, compare=False)
    expires_at: float | None = field(default=None, compare=False)

    @property
    def is_province_admin(self) -> bool:
        return self.province_id is not None and self.province_id in self.province_admin_of


def allowed(actor: Actor, action: Action, *, province_id: int | None = None) -> bool:
    """Whether ``actor`` may do ``action`` in its current city, or in ``province_id``."""
    if actor.platform_operator and (action in OPERATOR_ACTIONS or action in PROVINCE_ACTIONS):
        return True
    target_province = province_id if province_id is not None else actor.province_id
    if target_province is not None and target_province in actor.province_admin_of:
        if action in PROVINCE_ACTIONS:
            return True
        # a province admin working inside one of its cities acts as its administrator
        if actor.tenant_id is not None and action in CITY_TABLE:
            return True
    if actor.tenant_id is None or province_id not in (None, actor.province_id):
        return False
    return bool(CITY_TABLE.get(action, frozenset()) & actor.roles)


def require(actor: Actor, action: Action, *, province_id: int | None = None) -> None:
    if not allowed(actor, action, province_id=province_id):
        raise PermissionDenied("{action} is not allowed", action=action.value)


def permissions_markdown() -> str:
    """The role × action table for ``docs/permissions.md``."""
    roles = [r.value for r in Role]
    header = "| action | " + " | ".join(roles) + " | province_admin | platform_operator |"
    lines = [
        "# Permissions",
        "",
        "Generated from `hotline.tenants.kernel.access` by `hotline permissions`; do not edit.",
        "",
        header,
        "|" + "---|" * (len(roles) + 3),
    ]
    for action in Action:
        city = CITY_TABLE.get(action, frozenset())
        cells = ["✓" if Role(r) in city else "" for r in roles]
        prov = "✓" if action in PROVINCE_ACTIONS or action in CITY_TABLE else ""
        oper = "✓" if action in OPERATOR_ACTIONS or action in PROVINCE_ACTIONS else ""
        lines.append(f"| `{action.value}` | " + " | ".join(cells) + f" | {prov} | {oper} |")
    lines.append("")
    lines.append(f"Platform roles: {', '.join(r.value for r in PlatformRole)}.")
    return "\n".join(lines) + "\n"
