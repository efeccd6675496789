# Reason categories for opportunities and trades; existing rows get theirs from their words.

from django.db import migrations, models

# A frozen copy of the rules of trading.reasons.reason_code_for as they stood when
# this migration was written (a migration must not follow later changes of the code).
_REVERT_WORDS = (
    ("unprofitable", "revert_unprofitable"),
    ("expired", "revert_expired"),
    ("panic", "revert_panic"),
    ("reverted: ", "revert_error_string"),
    ("hop ", "revert_price_moved"),
    ("a pool asked for", "revert_price_moved"),
    ("the route would lose", "revert_price_moved"),
)
_PREFIXES = (
    ("dry run", "dry_run"),
    ("trade reverted", "reverted_on_chain"),
    ("reverted on chain", "reverted_on_chain"),
    ("trade dropped", "dropped"),
    ("its nonce was used", "dropped"),
    ("the node no longer knows", "dropped"),
    ("trade failed: send refused", "send_refused"),
    ("send refused", "send_refused"),
    ("reorg", "reorg"),
    ("kill switch", "paused"),
    ("daily loss limit", "daily_loss"),
    ("gas price", "gas_price"),
    ("input above the maximum trade size", "trade_size"),
    ("the maximum trade size", "trade_size"),
    ("live mode needs a signing key", "account"),
    ("signing account", "account"),
    ("pool ", "pool_refused"),
    ("prices after fees allow", "below_threshold"),
    ("gross profit", "below_threshold"),
    ("net profit", "below_threshold"),
    ("profit ", "below_threshold"),
    ("no longer profitable on the newest state", "stale"),
    ("no longer pays", "below_threshold"),
    ("no longer profitable at block", "stale"),
    ("simulated profit", "revert_unprofitable"),
    ("cannot be quoted", "unquotable"),
    ("no pool prices the native token", "unquotable"),
    ("cannot encode the path", "pool_refused"),
    ("claim abandoned", "error"),
    ("claim interrupted", "error"),
)


def code_for(text):
    words = (text or "").strip().lower()
    if not words:
        return ""
    if words.startswith("simulation reverted"):
        detail = words.removeprefix("simulation reverted").lstrip(": ")
        for prefix, code in _REVERT_WORDS:
            if detail.startswith(prefix):
                return code
        return "revert_other"
    if "pool " in words[:5] and "has no readable state" in words:
        return "unquotable"
    for prefix, code in _PREFIXES:
        if words.startswith(prefix):
            return code
    if "error" in words.split(":", 1)[0]:
        return "error"
    return "other"


def trade_code_for(status, error):
    if status == "reverted":
        return "reverted_on_chain"
    if status == "dropped":
        return "dropped"
    if status == "success":
        return ""
    return code_for(error)


_BATCH = 500


def _fill(model, text_field, code):
    """Give every row with words its category, in one pass over the table.

    The old words carry amounts and block numbers, so nearly every row's words
    are distinct: rows are read once in primary-key order and updated by
    primary key, a batch at a time (never one scan of the table per text).
    """
    rows = model.objects.exclude(**{text_field: ""}).order_by("pk")
    batch = {}
    for pk, status, text in rows.values_list("pk", "status", text_field).iterator(
        chunk_size=2000
    ):
        value = code(status, text)
        if value:
            batch.setdefault(value, []).append(pk)
        if sum(len(pks) for pks in batch.values()) >= _BATCH:
            _write(model, batch)
            batch = {}
    _write(model, batch)


def _write(model, batch):
    for value, pks in batch.items():
        model.objects.filter(pk__in=pks).update(reason_code=value)


def fill_codes(apps, schema_editor):
    _fill(apps.get_model("trading", "Opportunity"), "status_reason", lambda _s, t: code_for(t))
    _fill(apps.get_model("trading", "Trade"), "error", trade_code_for)
    # Reverted and dropped trades without words still have a category.
    Trade = apps.get_model("trading", "Trade")
    Trade.objects.filter(status="reverted", reason_code="").update(reason_code="reverted_on_chain")
    Trade.objects.filter(status="dropped", reason_code="").update(reason_code="dropped")


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0022_alert_delivery_queued_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="reason_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("below_threshold", "Below threshold"),
                    ("unquotable", "Cannot be priced"),
                    ("stale", "State moved on"),
                    ("revert_unprofitable", "Reverted: unprofitable"),
                    ("revert_price_moved", "Reverted: price moved"),
                    ("revert_expired", "Reverted: deadline passed"),
                    ("revert_error_string", "Reverted: Error(string)"),
                    ("revert_panic", "Reverted: Panic"),
                    ("revert_other", "Reverted: other"),
                    ("gas_price", "Gas price above limit"),
                    ("trade_size", "Trade size limit"),
                    ("paused", "Kill switch"),
                    ("daily_loss", "Daily loss limit"),
                    ("account", "Signing account"),
                    ("pool_refused", "Pool refused"),
                    ("send_refused", "Send refused"),
                    ("dropped", "Dropped"),
                    ("reverted_on_chain", "Reverted on chain"),
                    ("reorg", "Reorg"),
                    ("error", "Internal error"),
                    ("dry_run", "Dry run"),
                    ("other", "Other"),
                ],
                db_index=True,
                default="",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="trade",
            name="reason_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("below_threshold", "Below threshold"),
                    ("unquotable", "Cannot be priced"),
                    ("stale", "State moved on"),
                    ("revert_unprofitable", "Reverted: unprofitable"),
                    ("revert_price_moved", "Reverted: price moved"),
                    ("revert_expired", "Reverted: deadline passed"),
                    ("revert_error_string", "Reverted: Error(string)"),
                    ("revert_panic", "Reverted: Panic"),
                    ("revert_other", "Reverted: other"),
                    ("gas_price", "Gas price above limit"),
                    ("trade_size", "Trade size limit"),
                    ("paused", "Kill switch"),
                    ("daily_loss", "Daily loss limit"),
                    ("account", "Signing account"),
                    ("pool_refused", "Pool refused"),
                    ("send_refused", "Send refused"),
                    ("dropped", "Dropped"),
                    ("reverted_on_chain", "Reverted on chain"),
                    ("reorg", "Reorg"),
                    ("error", "Internal error"),
                    ("dry_run", "Dry run"),
                    ("other", "Other"),
                ],
                db_index=True,
                default="",
                max_length=32,
            ),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
    ]
