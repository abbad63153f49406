from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0003_reads_from_unread_counts'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='conversation',
            name='conversation_inbox',
        ),
        migrations.RenameField(
            model_name='conversation',
            old_name='assignee',
            new_name='handed_to',
        ),
        migrations.RemoveField(
            model_name='conversation',
            name='unread_count',
        ),
    ]
