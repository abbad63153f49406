import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_initial'),
        ('flexoraa', '0009_retire_provider_redrive_jobs'),
    ]

    operations = [
        migrations.CreateModel(
            name='CannedReply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=100)),
                ('shortcut', models.CharField(help_text='Typed after / in the reply box, e.g. pricing for /pricing.', max_length=32, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9_-]{0,31}$', 'Use lower-case letters, digits, - and _ (up to 32), starting with a letter or digit.')])),
                ('body', models.TextField(max_length=4096)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='flexoraa.organization')),
            ],
            options={
                'verbose_name_plural': 'canned replies',
                'ordering': ['shortcut', 'id'],
                'constraints': [models.UniqueConstraint(fields=('organization', 'shortcut'), name='canned_reply_shortcut_once')],
            },
        ),
        migrations.CreateModel(
            name='ConversationRead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('last_read_message_id', models.BigIntegerField(default=0)),
                ('read_at', models.DateTimeField()),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reads', to='agents.conversation')),
                ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='flexoraa.membership')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='flexoraa.organization')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('conversation', 'membership'), name='conversation_read_once')],
            },
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('direction', 'inbound')), fields=['conversation', 'id'], name='message_inbound'),
        ),
    ]
