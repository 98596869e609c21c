import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


def give_each_connection_a_uuid(apps, schema_editor):
    Connection = apps.get_model("channels", "Connection")
    for connection in Connection.objects.filter(uuid__isnull=True).only("pk"):
        Connection.objects.filter(pk=connection.pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_validators"),
        ("channels", "0003_retry_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="connection",
            name="reject_held",
            field=models.BooleanField(
                default=False,
                help_text="Actively reject inbound reservations Pema holds (e.g. an unmapped room) instead of leaving them unacknowledged at the partner.",
                verbose_name="reject held reservations",
            ),
        ),
        # A callable default on AddField is evaluated once, so every existing row
        # would share one value: add the column empty, give each row its own, then
        # make it required and unique.
        migrations.AddField(
            model_name="connection",
            name="uuid",
            field=models.UUIDField(editable=False, null=True, verbose_name="webhook id"),
        ),
        migrations.RunPython(give_each_connection_a_uuid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="connection",
            name="uuid",
            field=models.UUIDField(
                default=uuid.uuid4, editable=False, unique=True, verbose_name="webhook id"
            ),
        ),
        migrations.CreateModel(
            name="ChannelProduct",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("partner_room_id", models.CharField(max_length=64)),
                (
                    "partner_rate_id",
                    models.CharField(
                        blank=True,
                        help_text="The partner's rate id; empty for the room level.",
                        max_length=64,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="products",
                        to="channels.connection",
                    ),
                ),
                (
                    "rate_plan",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: the room-level product (rooms to sell).",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="bookings.rateplan",
                    ),
                ),
                (
                    "room_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="bookings.roomtype",
                    ),
                ),
            ],
            options={
                "ordering": ["connection", "room_type", "rate_plan"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("rate_plan__isnull", True)),
                        fields=("connection", "room_type"),
                        name="channel_product_room_level_once",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("rate_plan__isnull", False)),
                        fields=("connection", "room_type", "rate_plan"),
                        name="channel_product_local_once",
                    ),
                    models.UniqueConstraint(
                        fields=("connection", "partner_room_id", "partner_rate_id"),
                        name="channel_product_partner_once",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="InboundMessage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("partner_reservation_id", models.CharField(max_length=64)),
                ("revision", models.CharField(max_length=128)),
                (
                    "kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("new", "New"),
                            ("modify", "Modify"),
                            ("cancel", "Cancel"),
                            ("", "Unreadable"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("received", "Received"),
                            ("applied", "Applied"),
                            ("held", "Held for staff"),
                            ("failed", "Failed"),
                            ("superseded", "Superseded by a newer revision"),
                        ],
                        default="received",
                        max_length=12,
                    ),
                ),
                ("error_code", models.CharField(blank=True, max_length=40)),
                ("error", models.TextField(blank=True)),
                ("raw_body", models.TextField(blank=True)),
                ("parsed", models.JSONField(blank=True, null=True)),
                ("payload", models.JSONField(blank=True, default=dict)),
                (
                    "revised_at",
                    models.DateTimeField(help_text="When the partner made this revision."),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                (
                    "deliveries",
                    models.PositiveIntegerField(
                        default=1, help_text="How many times the partner sent this revision."
                    ),
                ),
                (
                    "received_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("ack_token", models.CharField(blank=True, max_length=200)),
                (
                    "ack_result",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "Not yet"),
                            ("accepted", "Acknowledged"),
                            ("rejected", "Rejected to the partner"),
                            ("failed", "Acknowledgement given up"),
                        ],
                        default="",
                        max_length=8,
                    ),
                ),
                ("acked_at", models.DateTimeField(blank=True, null=True)),
                ("ack_attempts", models.PositiveSmallIntegerField(default=0)),
                ("ack_error", models.TextField(blank=True)),
                ("next_ack_at", models.DateTimeField(blank=True, null=True)),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inbound_messages",
                        to="channels.connection",
                    ),
                ),
                (
                    "reservation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="inbound_messages",
                        to="bookings.reservation",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["status", "received_at"], name="inbound_status"),
                    models.Index(
                        condition=models.Q(
                            ("acked_at__isnull", True), models.Q(("ack_token", ""), _negated=True)
                        ),
                        fields=["connection", "next_ack_at"],
                        name="inbound_ack_due",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("connection", "partner_reservation_id", "revision"),
                        name="inbound_message_once",
                    )
                ],
            },
        ),
    ]
