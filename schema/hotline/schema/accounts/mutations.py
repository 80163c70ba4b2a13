from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.accounts.types import ApiKey, Membership, Role, TokenPair, User
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.accounts import api_keys, memberships, password_reset, sessions, totp, users
from hotline.tenants.kernel.errors import AuthFailed
from hotline.tenants.kernel.roles import Role as RoleEnum


@strawberry.type
class AuthPayload:
    tokens: TokenPair | None
    errors: list[Error]


@strawberry.type
class OkPayload:
    ok: bool
    errors: list[Error]


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[Error]


@strawberry.type
class MembershipPayload:
    membership: Membership | None
    errors: list[Error]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None
    secret: str | None = strawberry.field(description="The key itself: shown once, never again.")
    errors: list[Error]


@strawberry.type
class TotpEnrolmentPayload:
    secret: str | None
    provisioning_uri: str | None
    errors: list[Error]


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    password: str
    email: str | None = None
    role: Role | None = strawberry.field(
        default=None, description="Also grant this role in the current city."
    )
    department_id: relay.GlobalID | None = None


def _tokens(pair: sessions.TokenPair) -> TokenPair:
    return TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        totp_enrolment_required=pair.totp_enrolment_required,
    )


async def _ok(call: object) -> OkPayload:
    _, errors = await payload_errors(call)  # type: ignore[arg-type]
    return OkPayload(ok=not errors, errors=errors)


def _user_id(info: Info) -> int:
    if info.context.actor.user_id is None:
        raise AuthFailed("authentication required")
    return info.context.actor.user_id


async def _enrolling_user_id(info: Info, username: str | None, password: str | None) -> int:
    if username is None or password is None:
        return _user_id(info)
    return await sessions.enrolling_user(
        username=username,
        password=password,
        ip=info.context.ip,
        tenant_id=info.context.actor.tenant_id,
    )


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Password (+ TOTP for enrolled admins) → a token pair. People created in a "
        "city log in as name@city, or as name with the city selected (X-Hotline-Tenant)."
    )
    async def login(
        self, info: Info, username: str, password: str, totp_code: str | None = None
    ) -> AuthPayload:
        pair, errors = await payload_errors(
            lambda: sessions.login(
                username=username,
                password=password,
                totp_code=totp_code,
                ip=info.context.ip,
                tenant_id=info.context.actor.tenant_id,
            )
        )
        return AuthPayload(tokens=_tokens(pair) if pair else None, errors=errors)

    @strawberry.mutation(description="Rotate: the old refresh token stops working.")
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        pair, errors = await payload_errors(lambda: sessions.refresh(refresh_token=refresh_token))
        return AuthPayload(tokens=_tokens(pair) if pair else None, errors=errors)

    @strawberry.mutation(description="End the session: its refresh and access tokens stop working.")
    async def logout(self, info: Info, refresh_token: str) -> OkPayload:
        return await _ok(lambda: sessions.logout(refresh_token=refresh_token))

    @strawberry.mutation
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> OkPayload:
        return await _ok(
            lambda: users.set_password(
                user_id=_user_id(info),
                current_password=current_password,
                new_password=new_password,
            )
        )

    @strawberry.mutation(
        description="E-mails a single-use reset link; the answer never says if the user exists."
    )
    async def request_password_reset(self, info: Info, username_or_email: str) -> OkPayload:
        return await _ok(
            lambda: password_reset.send_password_reset(username_or_email=username_or_email)
        )

    @strawberry.mutation
    async def reset_password(self, info: Info, token: str, new_password: str) -> OkPayload:
        return await _ok(
            lambda: password_reset.reset_password(token=token, new_password=new_password)
        )

    @strawberry.mutation(
        description="Start TOTP enrolment: scan the URI, then confirmTotp. Signed in, or "
        "with username and password (an administrator past the TOTP grace period cannot "
        "log in before enrolling)."
    )
    async def begin_totp_enrolment(
        self, info: Info, username: str | None = None, password: str | None = None
    ) -> TotpEnrolmentPayload:
        async def call() -> tuple[str, str]:
            user_id = await _enrolling_user_id(info, username, password)
            return await totp.begin_totp_enrolment(user_id=user_id)

        result, errors = await payload_errors(call)
        secret, uri = result if result else (None, None)
        return TotpEnrolmentPayload(secret=secret, provisioning_uri=uri, errors=errors)

    @strawberry.mutation(description="Finish TOTP enrolment (signed in, or with credentials).")
    async def confirm_totp(
        self,
        info: Info,
        code: str,
        username: str | None = None,
        password: str | None = None,
    ) -> OkPayload:
        async def call() -> None:
            user_id = await _enrolling_user_id(info, username, password)
            await totp.confirm_totp(user_id=user_id, code=code)

        return await _ok(call)

    @strawberry.mutation(description="A new user; with role, also a member of the current city.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def call() -> User:
            actor = info.context.actor
            department_id = (
                decode_id(input.department_id, "Department", field="departmentId")
                if input.department_id
                else None
            )
            row = await users.create_user(
                actor=actor,
                username=input.username,
                display_name=input.display_name,
                password=input.password,
                email=input.email,
                role=input.role,
                department_id=department_id,
            )
            return User.from_model(row)

        user, errors = await payload_errors(call)
        return UserPayload(user=user, errors=errors)

    @strawberry.mutation
    async def admin_reset_password(
        self, info: Info, user_id: relay.GlobalID, new_password: str
    ) -> OkPayload:
        return await _ok(
            lambda: users.admin_reset_password(
                actor=info.context.actor,
                user_id=decode_id(user_id, "User", field="userId"),
                new_password=new_password,
            )
        )

    @strawberry.mutation(description="Give a user a role in the current city.")
    async def grant_membership(
        self,
        info: Info,
        user_id: relay.GlobalID,
        role: Role,
        department_id: relay.GlobalID | None = None,
    ) -> MembershipPayload:
        async def call() -> Membership:
            row = await memberships.grant_membership(
                actor=info.context.actor,
                user_id=decode_id(user_id, "User", field="userId"),
                role=RoleEnum(role),
                department_id=decode_id(department_id, "Department", field="departmentId")
                if department_id
                else None,
            )
            return Membership.from_model(row)

        membership, errors = await payload_errors(call)
        return MembershipPayload(membership=membership, errors=errors)

    @strawberry.mutation
    async def revoke_membership(
        self, info: Info, membership_id: relay.GlobalID
    ) -> MembershipPayload:
        async def call() -> Membership:
            row = await memberships.revoke_membership(
                actor=info.context.actor,
                membership_id=decode_id(membership_id, "Membership", field="membershipId"),
            )
            return Membership.from_model(row)

        membership, errors = await payload_errors(call)
        return MembershipPayload(membership=membership, errors=errors)

    @strawberry.mutation(description="Platform operators make a user a province admin.")
    async def grant_province_admin(
        self, info: Info, user_id: relay.GlobalID, province_id: relay.GlobalID
    ) -> OkPayload:
        return await _ok(
            lambda: memberships.grant_province_role(
                actor=info.context.actor,
                user_id=decode_id(user_id, "User", field="userId"),
                province_id=decode_id(province_id, "Province", field="provinceId"),
            )
        )

    @strawberry.mutation(description="A key for an integration of the current city.")
    async def create_api_key(
        self,
        info: Info,
        name: str,
        roles: list[Role],
    ) -> ApiKeyPayload:
        result, errors = await payload_errors(
            lambda: api_keys.create_api_key(
                actor=info.context.actor, name=name, roles=[RoleEnum(r) for r in roles]
            )
        )
        if result is None:
            return ApiKeyPayload(api_key=None, secret=None, errors=errors)
        key, secret = result
        return ApiKeyPayload(api_key=ApiKey.from_model(key), secret=secret, errors=[])

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, api_key_id: relay.GlobalID) -> ApiKeyPayload:
        async def call() -> ApiKey:
            row = await api_keys.revoke_api_key(
                actor=info.context.actor, key_id=decode_id(api_key_id, "ApiKey", field="apiKeyId")
            )
            return ApiKey.from_model(row)

        key, errors = await payload_errors(call)
        return ApiKeyPayload(api_key=key, secret=None, errors=errors)
