"""The evidence store's expected failures (each maps to a domain error code and field)."""

from __future__ import annotations

from hotline.tenants.kernel.errors import Conflict, Invalid


class AlreadyFinalized(Conflict):
    def __init__(self) -> None:
        super().__init__("this upload was already finalized", field="evidenceId")


class UploadMissing(Invalid):
    """Nothing arrived at the upload link (yet): upload again, then finalize."""

    def __init__(self) -> None:
        super().__init__("no file was uploaded for this evidence", field="upload")


class SizeMismatch(Invalid):
    def __init__(self, declared: int, actual: int) -> None:
        super().__init__(
            f"the uploaded file has {actual} bytes, not the declared {declared}", field="size"
        )


class TypeRefused(Invalid):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="contentType")
