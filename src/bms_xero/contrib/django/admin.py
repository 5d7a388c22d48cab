"""Admin -> Background jobs, Sync records and Xero connections.

- **Background jobs**: what each job does, for which invoice, its status, the last error in
  the BMS's words with what fixes it (:class:`bms_xero.views.JobRow`), attempts and next
  run, filtered by status (``Failed``), kind and queue. The actions Retry, Run now and
  Cancel go through the job store's own methods (``retry_now``, ``cancel``), never by editing
  rows, so a worker holding a job sees the change. Jobs are never added, edited or deleted
  here: the release helper and the worker make them, ``JobStore.purge`` clears old ones.
- **Sync records**: read-only, one per invoice the engine has seen.
- **Xero connections**: the connection, the organisation, when the access token expires
  and the scopes granted; never a token. "Disconnect" revokes the connection at Xero and
  deletes its tokens; the list's "Connect to Xero" button starts a new connection.

Everything reads ``BMS_XERO['DATABASE']``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import attrs
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from bms_xero.contrib.django import models, wiring
from bms_xero.contrib.django.views import disconnect_connection
from bms_xero.errors import BmsXeroError
from bms_xero.jobs import Job
from bms_xero.views import Action, ErrorView, JobRow, error_view

__all__ = ["JobAdmin", "SyncRecordAdmin", "TokenAdmin", "job_of", "row_of"]

_JOB_FIELDS = tuple(f.name for f in attrs.fields(Job))


def job_of(obj: Any) -> Job:
    """The :class:`~bms_xero.jobs.Job` a row holds (its columns are the job's fields)."""
    return Job(**{name: getattr(obj, name) for name in _JOB_FIELDS})


def row_of(obj: Any) -> JobRow:
    """The :class:`~bms_xero.views.JobRow` of a row, as of now, in the current time zone
    (worked out once per row and request)."""
    row: JobRow | None = getattr(obj, "_bms_xero_row", None)
    if row is None:
        row = JobRow.of(
            job_of(obj), now=wiring.get_clock().now(), tz=timezone.get_current_timezone()
        )
        obj._bms_xero_row = row
    return row


def _error_html(error: ErrorView | None) -> str:
    if error is None:
        return "—"
    return str(format_html("<strong>{}</strong><br>{}", error.message, error.fix))


class _ReadOnly(admin.ModelAdmin):  # type: ignore[misc]  # Django ships no types
    """Rows the app's stores own: shown, never added, edited or deleted here."""

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).using(wiring.get_settings().database)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's actions need the change permission; a single row is only ever viewed.
        return obj is None and bool(super().has_change_permission(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _jobs_action(
    action: Action, done: str, skipped: str
) -> Callable[[JobAdmin, HttpRequest, Any], None]:
    """An admin action applying ``action`` to each selected job that offers it (per
    :class:`~bms_xero.views.JobRow`), through the job store."""

    def run(model_admin: JobAdmin, request: HttpRequest, queryset: Any) -> None:
        jobs = wiring.get_jobs()
        changed: list[str] = []
        passed = 0
        for obj in queryset:
            row = row_of(obj)
            if not row.has(action):
                passed += 1
                continue
            now = wiring.get_clock().now()
            if action is Action.CANCEL:
                jobs.cancel(row.id, now=now)
            else:
                jobs.retry_now(row.id, now=now)
            changed.append(row.description)
        if changed:
            count = len(changed)
            model_admin.message_user(
                request,
                f"{done} {count} job{'s' * (count != 1)}: {'; '.join(changed)}.",
                messages.SUCCESS,
            )
        if passed:
            model_admin.message_user(
                request,
                f"Left {passed} job{'s' * (passed != 1)} unchanged: {skipped}.",
                messages.WARNING,
            )

    return run


@admin.register(models.Job)
class JobAdmin(_ReadOnly):
    """Admin -> Background jobs: failures name their invoice and say what fixes them."""

    list_display = (
        "job",
        "status_label",
        "subject",
        "last_error_shown",
        "attempts",
        "next_run",
        "queue",
    )
    list_display_links = ("job",)
    list_filter = ("status", "kind", "queue")
    search_fields = ("invoice_number", "invoice_id", "customer_id", "last_error")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    actions = ("retry", "run_now", "cancel")
    fields = (
        "job",
        "status_label",
        "subject",
        "what_to_fix",
        "attempts",
        "next_run",
        "queue",
        "kind",
        "tenant_id",
        "invoice_id",
        "invoice_number",
        "customer_id",
        "status",
        "run_after",
        "leased_by",
        "lease_until",
        "last_error",
        "error_type",
        "retryable",
        "created_at",
        "updated_at",
        "id",
    )
    readonly_fields = fields

    @admin.display(description="Job")  # type: ignore[untyped-decorator]
    def job(self, obj: Any) -> str:
        return row_of(obj).description

    @admin.display(description="Status", ordering="status")  # type: ignore[untyped-decorator]
    def status_label(self, obj: Any) -> str:
        return row_of(obj).status_label

    @admin.display(description="Invoice or customer")  # type: ignore[untyped-decorator]
    def subject(self, obj: Any) -> str:
        return row_of(obj).subject

    @admin.display(description="Last error")  # type: ignore[untyped-decorator]
    def last_error_shown(self, obj: Any) -> str:
        return _error_html(row_of(obj).error)

    @admin.display(description="What to fix")  # type: ignore[untyped-decorator]
    def what_to_fix(self, obj: Any) -> str:
        return _error_html(row_of(obj).error)

    @admin.display(description="Next run", ordering="run_after")  # type: ignore[untyped-decorator]
    def next_run(self, obj: Any) -> str:
        when = row_of(obj).next_run
        if when is None:
            return "—"
        return str(format_html('<time title="{}">{}</time>', when.absolute, when.relative))

    retry = admin.action(description="Retry the selected failed jobs", permissions=["change"])(
        _jobs_action(Action.RETRY, "Retried", "only failed or cancelled jobs can be retried")
    )
    run_now = admin.action(description="Run the selected waiting jobs now", permissions=["change"])(
        _jobs_action(Action.RUN_NOW, "Will run now:", "only jobs waiting for a later time run now")
    )
    cancel = admin.action(description="Cancel the selected jobs", permissions=["change"])(
        _jobs_action(Action.CANCEL, "Cancelled", "done, cancelled or replaced jobs can't be")
    )


@admin.register(models.SyncRecord)
class SyncRecordAdmin(_ReadOnly):
    """What the engine knows about each invoice it has pushed or tried to: read-only."""

    list_display = (
        "invoice_number",
        "state",
        "xero_status",
        "last_push_at",
        "last_pull_at",
        "last_error_shown",
        "xero_link",
    )
    list_filter = ("state", "xero_status")
    search_fields = ("invoice_number", "invoice_id", "xero_invoice_id")
    ordering = ("-last_push_at", "invoice_number")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="Last error")  # type: ignore[untyped-decorator]
    def last_error_shown(self, obj: Any) -> str:
        tz = timezone.get_current_timezone()
        return _error_html(error_view(obj.last_error_type, obj.last_error, tz=tz))

    @admin.display(description="Xero")  # type: ignore[untyped-decorator]
    def xero_link(self, obj: Any) -> str:
        if not obj.view_url:
            return "—"
        return str(
            format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">View Xero Invoice</a>',
                obj.view_url,
            )
        )


@admin.register(models.Token)
class TokenAdmin(_ReadOnly):
    """Xero connections: which organisation, until when, with which scopes; never a token."""

    list_display = ("connection_id", "organisation", "expires_at", "scope_list", "updated_at")
    fields = ("connection_id", "organisation", "expires_at", "scope_list", "updated_at")
    readonly_fields = fields
    exclude = ("access_token", "refresh_token")
    actions = ("disconnect",)
    change_list_template = "bms_xero/admin/token_change_list.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        # The tokens are never even read from the database here.
        return super().get_queryset(request).defer("access_token", "refresh_token")

    @admin.display(description="Organisation (tenant id)")  # type: ignore[untyped-decorator]
    def organisation(self, obj: Any) -> str:
        settings = wiring.get_settings()
        if obj.connection_id == settings.connection_id:
            return settings.tenant_id
        return "— (not the connection in BMS_XERO['CONNECTION_ID'])"

    @admin.display(description="Scopes")  # type: ignore[untyped-decorator]
    def scope_list(self, obj: Any) -> str:
        return ", ".join(str(obj.scopes).split()) or "—"

    @admin.action(  # type: ignore[untyped-decorator]
        description="Disconnect from Xero (revoke, delete the tokens)", permissions=["change"]
    )
    def disconnect(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            try:
                outcome = disconnect_connection(obj.connection_id)
            except BmsXeroError as e:
                self.message_user(
                    request, f"{obj.connection_id}: not disconnected: {e}", messages.ERROR
                )
                continue
            self.message_user(request, outcome.message, messages.SUCCESS)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        context = dict(extra_context or {})
        if wiring.get_settings().app_connection:
            with contextlib.suppress(NoReverseMatch):  # the app's URLs are not included
                context["bms_xero_connect_url"] = reverse("bms_xero:connect")
        return super().changelist_view(request, extra_context=context)
