"""The roles a person holds: in one city (membership), or over a province or the platform."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A membership's role in one city."""

    TENANT_ADMIN = "tenant_admin"
    CITY_LEADER = "city_leader"
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    DEPT_HANDLER = "dept_handler"
    DEPT_MANAGER = "dept_manager"
    SERVICE_MANAGER = "service_manager"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_USER = "enterprise_user"
    AUDITOR = "auditor"


class PlatformRole(enum.StrEnum):
    PROVINCE_ADMIN = "province_admin"
    PLATFORM_OPERATOR = "platform_operator"
