"""The ticket's reference is written by PostgreSQL in the INSERT that creates the row.

Filing used to INSERT the ticket and then UPDATE it with `PD-<id>`, a second statement
(and a second row version to vacuum) on the busiest write (issue 18, bench W1). A
BEFORE INSERT trigger fills a missing reference from the id the INSERT just drew, the
same text as `tickets.models.format_reference` (six digits at least, more when the id
needs them); `Ticket.reference` is read back with the INSERT's RETURNING. A reference
given explicitly (the bench seeder, imports) is kept. Other databases (SQLite, the
embedded default) keep the UPDATE in `Ticket.save`.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION tickets_ticket_set_reference() RETURNS trigger AS $$
BEGIN
    IF NEW.reference IS NULL THEN
        NEW.reference := 'PD-' || CASE
            WHEN NEW.id < 1000000 THEN lpad(NEW.id::text, 6, '0')
            ELSE NEW.id::text
        END;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_ticket_reference_at_insert
    BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_set_reference();
"""

DROP = """
DROP TRIGGER IF EXISTS tickets_ticket_reference_at_insert ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_ticket_set_reference();
"""


def create(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0019_saved_views"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
