from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from exchange.admin.amounts import amount_column, readable
from exchange.admin.console import require_console
from exchange.admin.readonly import ReadOnlyAdmin
from exchange.models import ApiKey, Asset, Balance, LedgerKind
from exchange.services import kill_switches, operator_log
from exchange.services.api_keys import (
    InvalidPublicKey,
    issue_api_key,
    issue_hmac_key,
    normalize_public_key,
    private_key_pem,
)
from exchange.services.balances import (
    OPERATOR_KINDS,
    BalanceChange,
    BalanceChangeRefused,
    request_balance_change,
)
from exchange.services.operator_log import admin_operator

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups

User = get_user_model()


class ApiKeyInline(admin.TabularInline[ApiKey, Any]):
    model = ApiKey
    fields = ("key_id", "label", "can_read", "can_trade", "created_at", "revoked_at")
    readonly_fields = ("key_id", "label", "can_read", "can_trade", "created_at", "revoked_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


_AVAILABLE, _LOCKED = amount_column("available"), amount_column("locked")


class BalanceInline(admin.TabularInline[Balance, Any]):
    model = Balance
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("asset", _AVAILABLE, _LOCKED, "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The raw amounts too, so that no form field is made for them.
        return ("asset", "available", "locked", "updated_at", _AVAILABLE, _LOCKED)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Balance]:
        return super().get_queryset(request).select_related("asset")


admin.site.unregister(User)


@admin.register(User)
class TraderAdmin(UserAdmin):  # type: ignore[type-arg]
    inlines = [BalanceInline, ApiKeyInline]
    actions = ["cancel_all_orders", "freeze_users", "unfreeze_users"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "frozen")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("freeze")

    @admin.display(description="Frozen", boolean=True)
    def frozen(self, obj: Any) -> bool:
        return hasattr(obj, "freeze")

    @admin.action(description="Cancel every open order of the selected users")
    def cancel_all_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        require_console(request)
        for user in queryset:
            kill_switches.cancel_user_orders(user, admin_operator(request))
        self.message_user(
            request,
            f"Cancel-all sent for {len(queryset)} user(s); "
            "the orders show as cancelled once the workers apply it.",
            messages.SUCCESS,
        )

    @admin.action(description="Freeze the selected users (refuse their new orders)")
    def freeze_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        require_console(request)
        changed = sum(kill_switches.freeze_user(user, admin_operator(request)).changed for user in queryset)
        self.message_user(
            request,
            f"{changed} user(s) frozen: their new orders are refused. "
            "Open orders stay; cancel them too if need be.",
            messages.SUCCESS,
        )

    @admin.action(description="Unfreeze the selected users")
    def unfreeze_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        require_console(request)
        changed = sum(kill_switches.unfreeze_user(user, admin_operator(request)).changed for user in queryset)
        self.message_user(request, f"{changed} user(s) unfrozen.", messages.SUCCESS)


class ApiKeyForm(forms.ModelForm[ApiKey]):
    kind = forms.ChoiceField(choices=ApiKey.KINDS, initial=ApiKey.ED25519, required=False)
    public_key = forms.CharField(
        required=False,
        help_text="Ed25519: leave empty to generate a key pair (the private key is shown once), "
        "or paste the trader's own base64 Ed25519 public key. HMAC: leave empty.",
    )

    class Meta:
        model = ApiKey
        fields = ["user", "label", "kind", "public_key", "can_read", "can_trade"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["kind"] = cleaned.get("kind") or ApiKey.ED25519
        if cleaned["kind"] == ApiKey.HMAC and cleaned.get("public_key"):
            self.add_error(
                "public_key", "An HMAC key has no public key: its secret is generated and shown once."
            )
        return cleaned

    def clean_public_key(self) -> str:
        text: str = self.cleaned_data.get("public_key") or ""
        if not text:
            return ""
        try:
            return normalize_public_key(text)
        except InvalidPublicKey as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["key_id", "user", "label", "kind", "can_read", "can_trade", "created_at", "revoked_at"]
    list_filter = ["kind", "can_trade", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["key_id", "label", "user__username"]
    actions = ["revoke_keys"]
    raw_id_fields = ["user"]

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["key_id", "user", "kind", "public_key", "created_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> _FieldGroups:
        if obj is None:
            return ["user", "label", "kind", "public_key", "can_read", "can_trade"]
        return [
            "key_id",
            "user",
            "label",
            "kind",
            "public_key",
            "can_read",
            "can_trade",
            "created_at",
            "revoked_at",
        ]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        if form.cleaned_data["kind"] == ApiKey.HMAC:
            issued = issue_hmac_key(
                user=form.cleaned_data["user"],
                label=form.cleaned_data["label"],
                can_read=form.cleaned_data["can_read"],
                can_trade=form.cleaned_data["can_trade"],
            )
        else:
            issued = issue_api_key(
                user=form.cleaned_data["user"],
                label=form.cleaned_data["label"],
                can_read=form.cleaned_data["can_read"],
                can_trade=form.cleaned_data["can_trade"],
                public_key=form.cleaned_data["public_key"] or None,
            )
        # The admin's add view logs and redirects with this instance.
        obj.pk = issued.api_key.pk
        obj.key_id = issued.api_key.key_id
        obj.public_key = issued.api_key.public_key
        obj.kind = issued.api_key.kind
        obj.created_at = issued.api_key.created_at
        request._issued_private_key = issued.private_key  # type: ignore[attr-defined]
        request._issued_secret = issued.secret  # type: ignore[attr-defined]
        operator_log.record(
            admin_operator(request),
            "issue_api_key",
            f"key {obj.key_id}",
            {"user_id": obj.user_id, "scopes": issued.api_key.scopes, "label": obj.label, "kind": obj.kind},
        )

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Rendered, not redirected: the private key must not travel in a
        # message cookie or session, and is shown this once only.
        private_key = getattr(request, "_issued_private_key", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "api_key": obj,
            "private_key": private_key,
            "private_key_pem": private_key_pem(private_key) if private_key else None,
            "secret": getattr(request, "_issued_secret", None),
            "opts": self.opts,
            "changelist_url": reverse("admin:exchange_apikey_changelist"),
        }
        return TemplateResponse(request, "admin/exchange/apikey/created.html", context)

    @admin.action(description="Revoke the selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
            operator_log.record(
                admin_operator(request), "revoke_api_key", f"key {key.key_id}", {"user_id": key.user_id}
            )
            revoked += 1
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)


class BalanceChangeForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.order_by("username"))
    asset = forms.ModelChoiceField(queryset=Asset.objects.all(), to_field_name="code")
    kind = forms.ChoiceField(choices=[(kind.value, kind.label) for kind in OPERATOR_KINDS])
    amount = forms.DecimalField(
        max_digits=36,
        decimal_places=18,
        help_text="Positive for deposits and withdrawals; signed for adjustments.",
    )
    reference = forms.CharField(max_length=128, required=False, help_text="Ticket or transaction id.")
    # Made when the form is shown: the same form sent twice (a double click, a
    # resubmitted page) is applied once.
    request_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ["user", "asset", "available", "locked", "total", "updated_at"]
    list_filter = ["asset"]
    list_select_related = ["user", "asset"]
    search_fields = ["user__username", "asset__code"]
    actions = ["change_funds"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # "Add" opens the deposit / withdraw / adjust form, never a raw row.
        return request.user.has_perm("exchange.change_funds")

    @admin.display(description="Total")
    def total(self, obj: Balance) -> str:
        return readable(obj.total)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BalanceChangeForm(
            request.POST or None, initial={**request.GET.dict(), "request_id": uuid.uuid4().hex}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            change = BalanceChange(
                user_id=data["user"].pk,
                asset_code=data["asset"].code,
                kind=LedgerKind(data["kind"]),
                amount=data["amount"],
                reference=data["reference"],
                operator_id=request.user.pk,
                request_id=data["request_id"] or None,
            )
            try:
                queued = request_balance_change(change)
            except BalanceChangeRefused as exc:
                form.add_error(None, str(exc))
            else:
                what = f"{change.kind.label} of {change.amount} {change.asset_code} for {data['user']}"
                if queued.duplicate:
                    self.message_user(
                        request,
                        f"{what} was already sent from this form (entry {queued.entry_id}); not sent again.",
                        messages.WARNING,
                    )
                else:
                    operator_log.record(
                        admin_operator(request),
                        change.kind.value.lower(),
                        f"user {data['user'].get_username()}",
                        {
                            "asset": change.asset_code,
                            "amount": str(change.amount),
                            "reference": change.reference,
                            "entry": queued.entry_id,
                        },
                    )
                    self.message_user(
                        request,
                        f"{what} sent to the accounts worker (entry {queued.entry_id}); "
                        "the ledger shows it once applied.",
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(reverse("admin:exchange_balance_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Deposit, withdraw or adjust",
            "form": form,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/exchange/balance/change_funds.html", context)

    @admin.action(description="Deposit, withdraw or adjust the selected balance")
    def change_funds(self, request: HttpRequest, queryset: QuerySet[Balance]) -> HttpResponse | None:
        if not self.has_add_permission(request):
            raise PermissionDenied
        balances = list(queryset.select_related("asset")[:2])
        if len(balances) != 1:
            self.message_user(request, "Select exactly one balance.", messages.WARNING)
            return None
        balance = balances[0]
        url = reverse("admin:exchange_balance_add")
        return HttpResponseRedirect(f"{url}?user={balance.user_id}&asset={balance.asset.code}")
