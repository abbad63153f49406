# Lost reasons per tenant, notes with mentions, follow-ups, and the contacted status.

import django.db.models.deletion
from django.db import migrations, models


def contacted_when_answered(apps, schema_editor):
    """Leads answered before the contacted status existed are contacted, as a first reply
    makes them from now on."""
    Lead = apps.get_model("leads", "Lead")
    Lead.objects.filter(status="new", first_response_at__isnull=False).update(status="contacted")


class Migration(migrations.Migration):

    dependencies = [
        ('flexoraa', '0009_retire_provider_redrive_jobs'),
        ('leads', '0005_lead_first_response_warn_at'),
    ]

    operations = [
        migrations.CreateModel(
            name='FollowUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('due_at', models.DateTimeField()),
                ('note', models.CharField(blank=True, max_length=500)),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('notified_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['due_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='LostReason',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(max_length=100)),
                ('position', models.PositiveSmallIntegerField(default=100, help_text='Smaller comes first in the list.')),
                ('is_active', models.BooleanField(default=True, help_text='Untick to stop offering it; leads lost for it keep it.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['position', 'label', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Note',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField()),
                ('created_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_unassigned_queue',
        ),
        migrations.AlterField(
            model_name='lead',
            name='status',
            field=models.CharField(choices=[('new', 'New'), ('contacted', 'Contacted'), ('qualifying', 'Qualifying'), ('qualified', 'Qualified'), ('won', 'Won'), ('lost', 'Lost'), ('opted_out', 'Opted out'), ('anonymized', 'Anonymized')], default='new', max_length=16),
        ),
        migrations.AlterField(
            model_name='leadevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Created'), ('merged', 'Merged a duplicate'), ('scored', 'Scored'), ('assigned', 'Assigned'), ('status', 'Status changed'), ('updated', 'Details updated'), ('first_response', 'First response'), ('sla_breached', 'SLA breached'), ('analysed', 'Messages analysed'), ('activity', 'Message activity'), ('opted_out', 'Opted out (consent withdrawn)'), ('queued', 'Waiting in the unassigned queue'), ('leak_kept', 'Kept by its owner: no other SDR had room'), ('sla_changed', 'First-response target changed'), ('note', 'Note added'), ('follow_up', 'Follow-up')], max_length=16),
        ),
        migrations.AddField(
            model_name='followup',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='flexoraa.membership'),
        ),
        migrations.AddField(
            model_name='followup',
            name='lead',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='follow_ups', to='leads.lead'),
        ),
        migrations.AddField(
            model_name='followup',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='flexoraa.organization'),
        ),
        migrations.AddField(
            model_name='followup',
            name='owner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='flexoraa.membership'),
        ),
        migrations.AddField(
            model_name='lostreason',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='flexoraa.organization'),
        ),
        migrations.AddField(
            model_name='lead',
            name='lost_reason',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.lostreason'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('owner__isnull', True), ('status__in', ['new', 'contacted', 'qualifying', 'qualified'])), fields=['organization', 'first_response_due_at', 'id'], name='lead_unassigned_queue'),
        ),
        migrations.AddField(
            model_name='note',
            name='author',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='flexoraa.membership'),
        ),
        migrations.AddField(
            model_name='note',
            name='lead',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='leads.lead'),
        ),
        migrations.AddField(
            model_name='note',
            name='mentions',
            field=models.ManyToManyField(blank=True, related_name='+', to='flexoraa.membership'),
        ),
        migrations.AddField(
            model_name='note',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='flexoraa.organization'),
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(fields=['lead', 'due_at'], name='follow_up_lead'),
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('done_at__isnull', True)), fields=['organization', 'owner', 'due_at'], name='follow_up_owner_open'),
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('done_at__isnull', True), ('notified_at__isnull', True)), fields=['due_at'], name='follow_up_due'),
        ),
        migrations.AddConstraint(
            model_name='lostreason',
            constraint=models.UniqueConstraint(fields=('organization', 'label'), name='lost_reason_label_once'),
        ),
        migrations.AddIndex(
            model_name='note',
            index=models.Index(fields=['lead', '-created_at'], name='note_lead_recent'),
        ),
        migrations.RunPython(contacted_when_answered, migrations.RunPython.noop),
    ]
