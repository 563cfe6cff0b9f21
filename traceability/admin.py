"""Admin of the traceability records. Writes go through the services (revision, fingerprint, audit)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from qms.admin import RoleAdmin, RoleInline
from qms.errors import DomainError, Forbidden, InvalidInput
from qms.roles import Scope, acting_user
from traceability.kinds import ItemKind
from traceability.models import (
    Baseline,
    ClauseLink,
    Commit,
    CommitLink,
    Deviation,
    DeviationRevocation,
    Item,
    Link,
    ManualExecution,
    Product,
    PullRequest,
    PullRequestLink,
    PullRequestReview,
    Release,
    TestResult,
    TestRun,
    TraceReport,
)
from traceability.models.evidence import REVIEWED_STATUSES
from traceability.services.evidence import manual_executions_record, run_input_clean
from traceability.services.evidence.runs import review_scope_check
from traceability.services.items import (
    clause_link_check,
    clause_link_create,
    clause_link_delete,
    item_approval_check,
    item_create,
    item_fields_clean,
    item_fingerprint,
    item_key_problem,
    item_update,
    items_make_obsolete,
)
from traceability.services.links import link_create, link_cycle, link_delete, link_problem
from traceability.services.products import gap_rules_check, product_create, product_update


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["key", "name", "intended_use", "safety_class", "standards", "risk_matrix", "key_pattern", "gap_rules"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors or not ({"safety_class", "gap_rules"} & set(self.changed_data) or self.instance.pk is None):
            return data
        try:  # the service's rule, shown on the form: a protected rule is lowered only by a deviation
            gap_rules_check(
                key=data.get("key") or self.instance.key,
                safety_class=data.get("safety_class") or "",
                gap_rules=data.get("gap_rules"),
            )
        except DomainError as exc:
            self.add_error("gap_rules", exc.message.removeprefix("gap_rules: "))
        return data


@admin.register(Product)
class ProductAdmin(RoleAdmin):
    write_scope = Scope.PRODUCTS
    form = ProductAdminForm
    list_display = ["key", "name", "safety_class", "updated_at"]
    search_fields = ["key", "name"]
    filter_horizontal = ["standards"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["key"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        data = dict(form.cleaned_data)
        data["standards"] = [standard.slug for standard in data.get("standards", [])]
        if change:
            data.pop("key", None)
            saved = product_update(product=obj, actor=acting_user(request.user), **data)
        else:
            saved = product_create(actor=acting_user(request.user), **data)
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Standards were set by the service."""


class ItemAdminForm(forms.ModelForm):
    acting_user: Any = None  # set per request by ItemAdmin.get_form: approving needs the approvals scope

    class Meta:
        model = Item
        fields = ["product", "key", "kind", "title", "text", "status", "attributes"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        product = data.get("product") or getattr(self.instance, "product", None)
        if product is None or self.errors:
            return data
        is_new = self.instance.pk is None
        if is_new:
            problem = item_key_problem(product, data.get("key", ""))
            if problem:
                self.add_error("key", problem)
                return data
        try:
            data["attributes"] = item_fields_clean(
                product=product,
                kind=data.get("kind") or self.instance.kind,
                title=data.get("title", ""),
                text=data.get("text", ""),
                status=data.get("status", ""),
                attributes=data.get("attributes"),
            )
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            self.add_error(field if field in self.fields else None, message)
            return data
        try:  # the service's rule, shown on the form rather than as an error page
            item_approval_check(
                item=None if is_new else self.instance,
                key=data.get("key", "") if is_new else self.instance.key,
                status=data["status"],
                fingerprint=item_fingerprint(
                    title=data["title"].strip(), text=data.get("text", ""), attributes=data["attributes"]
                ),
                actor=acting_user(self.acting_user),
            )
        except Forbidden as exc:
            self.add_error("status", exc.message)
        return data


class LinkInlineForm(forms.ModelForm):
    class Meta:
        model = Link
        fields = ["link_type", "target"]

    def __init__(self, *args: Any, parent: Item | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parent = parent

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and self.parent is not None and data.get("target") and data.get("link_type"):
            problem = link_problem(source=self.parent, target=data["target"], link_type=data["link_type"])
            if (
                problem is None
                and Link.objects.filter(source=self.parent, target=data["target"], link_type=data["link_type"]).exists()
            ):
                problem = "duplicate link"
            cycle = (
                None if problem else link_cycle(source=self.parent, target=data["target"], link_type=data["link_type"])
            )
            if cycle:
                problem = f"link would create a cycle: {' → '.join(cycle)}"
            if problem:
                raise forms.ValidationError(problem)
        return data


class LinkInline(RoleInline):
    model = Link
    fk_name = "source"
    form = LinkInlineForm
    write_scope = Scope.ITEMS
    delete_scope = Scope.ITEMS  # removing a link is an audited edit of the source item's trace (link_delete)
    fields = ["link_type", "target", "target_revision", "reviewed_at"]
    readonly_fields = ["target_revision", "reviewed_at"]
    raw_id_fields = ["target"]
    extra = 0
    verbose_name = "outgoing link"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("source", "target")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        form_class = formset.form

        class BoundForm(form_class):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **inner: Any) -> None:
                super().__init__(*args, parent=obj, **inner)

        formset.form = BoundForm
        return formset


class ReadOnlyInline(RoleInline):
    """Shown on the item page for context; written elsewhere (the source item's page, clause evidence)."""

    extra = 0
    can_delete = False
    select_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related(*self.select_related)


class IncomingLinkInline(ReadOnlyInline):
    model = Link
    fk_name = "target"
    fields = ["source", "link_type", "target_revision", "reviewed_at"]
    readonly_fields = ["source", "link_type", "target_revision", "reviewed_at"]
    select_related = ("source", "target")  # both ends name the link
    verbose_name = "incoming link"
    verbose_name_plural = "incoming links (edit them on the source item)"


class ClauseLinkInline(ReadOnlyInline):
    model = ClauseLink
    fk_name = "item"
    fields = ["clause", "note", "created_at", "created_by"]
    readonly_fields = ["clause", "note", "created_at", "created_by"]
    select_related = ("item", "clause__standard", "created_by")
    verbose_name = "clause link"
    verbose_name_plural = "clause evidence (add it under Clause links)"


@admin.register(Item)
class ItemAdmin(RoleAdmin):
    """Items are quality records: never deleted (no ``delete_scope``), made obsolete instead.
    Approving needs the ``approvals`` scope, as in the API and the imports."""

    write_scope = Scope.ITEMS
    form = ItemAdminForm
    actions = ["make_obsolete"]
    list_display = ["key", "product", "kind", "title", "status", "revision", "updated_at"]
    list_filter = ["product", "kind", "status"]
    search_fields = ["key", "title"]
    list_select_related = ["product"]
    inlines = [LinkInline, IncomingLinkInline, ClauseLinkInline]
    list_per_page = 100

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """Incoming links and clause evidence exist only once the item does."""
        instances = super().get_inline_instances(request, obj)
        return instances if obj is not None else [i for i in instances if isinstance(i, LinkInline)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["revision", "fingerprint", "created_at", "created_by", "updated_at", "updated_by"]
        return ["product", "key", "kind", *fixed] if obj is not None else fixed

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    @admin.action(description="Make the selected items obsolete", permissions=["change"])
    def make_obsolete(self, request: HttpRequest, queryset: Any) -> None:
        try:
            changed = items_make_obsolete(items=queryset, actor=acting_user(request.user))
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{len(changed)} item(s) made obsolete.")

    def save_model(self, request: HttpRequest, obj: Item, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = item_update(
                item=obj,
                actor=acting_user(request.user),
                **{name: data[name] for name in ("title", "text", "status", "attributes") if name in data},
            )
        else:
            saved = item_create(
                product=data["product"],
                key=data["key"],
                kind=data["kind"],
                title=data["title"],
                text=data.get("text", ""),
                status=data["status"],
                attributes=data.get("attributes"),
                actor=acting_user(request.user),
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Links are created and deleted through the link services (rules, fingerprint, audit)."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not Link or formset.fk.name != "source":
            return  # the read-only inlines write nothing
        for inline_form in formset.forms:
            if not inline_form.has_changed() and inline_form.instance.pk is None:
                continue
            data = inline_form.cleaned_data
            if data.get("DELETE") and inline_form.instance.pk is not None:
                formset.deleted_objects.append(inline_form.instance)
                link_delete(link=inline_form.instance, actor=acting_user(request.user))
            elif inline_form.instance.pk is None and data.get("target"):
                link = link_create(
                    source=form.instance,
                    target=data["target"],
                    link_type=data["link_type"],
                    actor=acting_user(request.user),
                )
                formset.new_objects.append(link)


@admin.register(Link)
class LinkAdmin(RoleAdmin):
    """Links are added on the source item's page; removed (audited, the baselines keep theirs) with ``items``."""

    write_scope = Scope.ITEMS
    delete_scope = Scope.ITEMS
    list_display = ["source", "link_type", "target", "product", "target_revision", "created_at", "reviewed_at"]
    list_filter = ["product", "link_type", "source_kind", "target_kind"]
    search_fields = ["source__key", "target__key"]
    list_select_related = ["source", "target", "product"]
    readonly_fields = [f.name for f in Link._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # links are added on the item page, where the rules are checked

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Link) -> None:
        link_delete(link=obj, actor=acting_user(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ClauseLinkAdminForm(forms.ModelForm):
    class Meta:
        model = ClauseLink
        fields = ["item", "clause", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        item, clause = data.get("item"), data.get("clause")
        if item is None or clause is None:
            return data
        try:  # the service's rule, shown on the form
            clause_link_check(item=item, clause=clause)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(ClauseLink)
class ClauseLinkAdmin(RoleAdmin):
    """Clause evidence: an item is evidence for a clause. Added and removed through the services."""

    write_scope = Scope.ITEMS
    delete_scope = Scope.ITEMS
    form = ClauseLinkAdminForm
    list_display = ["item", "clause", "product", "created_at", "created_by"]
    list_filter = ["product", "clause__standard"]
    search_fields = ["item__key", "clause__number", "clause__title"]
    list_select_related = ["item", "clause__standard", "product", "created_by"]
    raw_id_fields = ["item", "clause"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["item", "clause", "note", "product", "created_at", "created_by"] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # evidence is added or removed, never edited

    def save_model(self, request: HttpRequest, obj: ClauseLink, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = clause_link_create(
            item=data["item"], clause=data["clause"], note=data.get("note") or "", actor=acting_user(request.user)
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: ClauseLink) -> None:
        clause_link_delete(clause_link=obj, actor=acting_user(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(RoleAdmin):
    """Records written by commands, CI and workflows; the admin shows them."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["product", "version", "state", "commit_sha", "git_tag", "created_at"]
    list_filter = ["product", "state"]
    search_fields = ["version", "commit_sha", "git_tag"]


@admin.register(Deviation)
class DeviationAdmin(ReadOnlyAdmin):
    """Signed deviations: signed and revoked through the services (API, commands), never edited."""

    list_display = ["__str__", "rule", "item_key", "severity", "created_at", "created_by", "sha256"]
    list_filter = ["product", "rule", "severity"]
    search_fields = ["rule", "item_key", "rationale"]
    list_select_related = ["product", "created_by"]


@admin.register(DeviationRevocation)
class DeviationRevocationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "created_at", "created_by", "sha256"]
    list_select_related = ["deviation__product", "created_by"]


@admin.register(Baseline)
class BaselineAdmin(ReadOnlyAdmin):
    list_display = ["release", "sha256", "item_count", "link_count", "result_count", "created_at", "created_by"]
    exclude = ["content"]


class TestResultInline(RoleInline):
    model = TestResult
    fields = ["test_identifier", "test_case", "status", "duration", "message"]
    readonly_fields = ["test_identifier", "test_case", "status", "duration", "message"]
    extra = 0


@admin.register(TestRun)
class TestRunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "product", "version", "commit_sha", "source", "environment", "created_at"]
    list_filter = ["product", "source", "version"]
    search_fields = ["version", "commit_sha", "name"]
    inlines = [TestResultInline]


class CommitLinkInline(RoleInline):
    model = CommitLink
    fields = ["item", "kind"]
    readonly_fields = ["item", "kind"]
    extra = 0


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = ["sha", "product", "author_name", "authored_at", "message"]
    list_filter = ["product"]
    search_fields = ["sha", "message", "author_name"]
    inlines = [CommitLinkInline]


class PullRequestReviewInline(ReadOnlyInline):
    model = PullRequestReview
    fields = ["reviewer", "state", "submitted_at", "commit_sha"]
    readonly_fields = ["reviewer", "state", "submitted_at", "commit_sha"]


class PullRequestLinkInline(ReadOnlyInline):
    model = PullRequestLink
    fields = ["item", "kind"]
    readonly_fields = ["item", "kind"]
    select_related = ("item",)


@admin.register(PullRequest)
class PullRequestAdmin(ReadOnlyAdmin):
    """Pull and merge requests with their reviews, as the GitHub and GitLab webhooks reported them."""

    list_display = ["__str__", "product", "provider", "title", "author", "state", "merged_at", "merge_commit_sha"]
    list_filter = ["product", "provider", "state"]
    search_fields = ["repository", "title", "author", "merge_commit_sha", "head_sha"]
    list_select_related = ["product"]
    inlines = [PullRequestReviewInline, PullRequestLinkInline]


class ManualExecutionAdminForm(forms.ModelForm):
    """One manual execution of a test case: tester, date, result, notes (and a rationale for reviewed results)."""

    version = forms.CharField(required=False, help_text="Release version tested (a version or a commit SHA)")
    commit_sha = forms.CharField(required=False, label="Commit SHA")
    environment = forms.CharField(required=False)

    class Meta:
        model = ManualExecution
        fields = ["test_case", "status", "executed_by", "executed_at", "message", "rationale", "duration"]
        labels = {"message": "Notes", "executed_by": "Tester", "executed_at": "Executed at"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "test_case" in self.fields:
            field = self.fields["test_case"]
            field.required = True
            field.queryset = Item.objects.filter(kind=ItemKind.TEST_CASE).select_related("product")  # type: ignore[attr-defined]
            self.fields["executed_at"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["run"] = run_input_clean(
                version=data.get("version", ""),
                commit_sha=data.get("commit_sha", ""),
                environment=data.get("environment", ""),
            )
        except InvalidInput as exc:
            field = exc.context.get("field")
            self.add_error("commit_sha" if field == "commit" else "version", exc.message)
        if data.get("status") in REVIEWED_STATUSES:
            if not (data.get("rationale") or "").strip():
                self.add_error("rationale", f"a {data['status']} result needs a rationale")
            try:  # the evidence service's own rule, shown on the form rather than as an error page
                review_scope_check(
                    actor=getattr(self, "acting_user", None), token=None, status=data["status"], where="status"
                )
            except Forbidden as exc:
                self.add_error("status", exc.message)
        return data


@admin.register(ManualExecution)
class ManualExecutionAdmin(RoleAdmin):
    """Record manual test executions; they are stored as a manual test run through the evidence service."""

    write_scope = Scope.EVIDENCE
    form = ManualExecutionAdminForm
    list_display = ["test_case", "status", "executed_by", "executed_at", "run"]
    list_filter = ["run__product", "status"]
    search_fields = ["test_case__key", "executed_by", "message"]
    list_select_related = ["test_case", "run__product"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(run__source="manual")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in TestResult._meta.fields] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})  # reviewed statuses need approvals

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ManualExecution, form: Any, change: bool) -> None:
        data = form.cleaned_data
        item = data["test_case"]
        report = manual_executions_record(
            product=item.product,
            run=data["run"],
            executions=[
                {
                    "test_case": item.key,
                    "status": data["status"],
                    "executed_by": data.get("executed_by") or "",
                    "executed_at": data["executed_at"].isoformat(),
                    "notes": data.get("message") or "",
                    "rationale": data.get("rationale") or "",
                    "duration": data.get("duration"),
                }
            ],
            actor=acting_user(request.user),
        )
        result = report.run.results.order_by("id").first()
        assert result is not None
        obj.pk = result.pk
        obj.run_id = result.run_id

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing: the service stored everything."""


@admin.register(TraceReport)
class TraceReportAdmin(ReadOnlyAdmin):
    """Stored trace reports; generated by ``trace_report``, the API and the release page."""

    list_display = ["release", "format", "revision", "state", "document_id", "pages", "sha256", "baseline_sha256"]
    list_filter = ["format", "state", "release__product"]
    search_fields = ["document_id", "sha256", "baseline_sha256", "release__version"]
    list_select_related = ["release__product"]
