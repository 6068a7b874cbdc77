"""Organizations: their members, enabled connections and authorized client grants; the apps'
organization settings; the organization of codes and tokens; the tenant's org_name setting.

SQLite rebuilds the application table to add its two columns, dropping its immutable-column
triggers: they are put back afterwards, as in 0013.
"""

import importlib

import django.core.validators
import django.db.models.deletion
import oauthcore.credentials
from django.conf import settings
from django.db import migrations, models


partner_link = importlib.import_module("oauthcore.migrations.0009_application_partner_link")


class Migration(migrations.Migration):

    dependencies = [
        ('oauthcore', '0017_connection_setup_links'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, partner_link.restore_sqlite_triggers),
        migrations.CreateModel(
            name='Organization',
            fields=[
                ('id', models.CharField(default=oauthcore.credentials.new_organization_id, editable=False, max_length=24, primary_key=True, serialize=False)),
                ('name', models.CharField(help_text="What users type at the organization prompt and requests may send as organization=. The name is 1 to 50 lowercase letters, digits, '-' and '_', starting and ending with a letter or a digit.", max_length=50, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9](?:[a-z0-9_-]{0,48}[a-z0-9])?$', "The name is 1 to 50 lowercase letters, digits, '-' and '_', starting and ending with a letter or a digit.")])),
                ('display_name', models.CharField(blank=True, max_length=255)),
                ('branding', models.JSONField(blank=True, default=dict)),
                ('metadata', models.JSONField(blank=True, default=dict)),
                ('third_party_client_access', models.CharField(choices=[('block', 'Blocked'), ('allow', 'Allowed')], default='block', help_text="Whether third-party apps may sign this organization's users in. Machine-to-machine access does not look at it.", max_length=5)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='OrganizationClientGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'authorized client grant',
                'ordering': ['created_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='OrganizationConnection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('assign_membership_on_login', models.BooleanField(default=False, help_text='Whoever signs in through it while logging in to the organization becomes a member.')),
                ('show_as_button', models.BooleanField(default=True, help_text="Shown as a button on the organization's login.")),
                ('is_signup_enabled', models.BooleanField(default=False, help_text='Database connections only: new users may sign up into the organization.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'enabled connection',
                'ordering': ['created_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='OrganizationMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('member', 'Member'), ('admin', 'Administrator (manages the organization through the My Organization API)')], default='member', max_length=6)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'member',
                'ordering': ['created_at', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='application',
            name='organization_require_behavior',
            field=models.CharField(choices=[('no_prompt', 'No prompt: the request must name the organization'), ('pre_login_prompt', 'Ask for the organization before login'), ('post_login_prompt', 'Let the user pick one of theirs after login')], default='no_prompt', help_text='With organization_usage require, what /authorize does when the request names no organization.', max_length=17),
        ),
        migrations.AddField(
            model_name='application',
            name='organization_usage',
            field=models.CharField(choices=[('deny', 'Deny'), ('allow', 'Allow'), ('require', 'Require')], default='deny', help_text='Whether users log in to an organization: deny (never), allow (when asked), require (always).', max_length=7),
        ),
        migrations.AddField(
            model_name='tenantsettings',
            name='allow_organization_name_in_authentication_api',
            field=models.BooleanField(default=False, help_text='Tokens of an organization carry its name (org_name) besides its id (org_id), and requests may name an organization by its name.'),
        ),
        migrations.AddField(
            model_name='accesstoken',
            name='organization',
            field=models.ForeignKey(blank=True, help_text='The organization the user logged in to, if any: the token carries its org_id.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='oauthcore.organization'),
        ),
        migrations.AddField(
            model_name='grant',
            name='organization',
            field=models.ForeignKey(blank=True, help_text='The organization the user logged in to, if any: the token carries its org_id.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='oauthcore.organization'),
        ),
        migrations.AddField(
            model_name='refreshtoken',
            name='organization',
            field=models.ForeignKey(blank=True, help_text='The organization the user logged in to, if any: the token carries its org_id.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='oauthcore.organization'),
        ),
        migrations.AddIndex(
            model_name='accesstoken',
            index=models.Index(fields=['organization', 'user'], name='at_organization_user'),
        ),
        migrations.AddIndex(
            model_name='refreshtoken',
            index=models.Index(fields=['organization', 'user'], name='rt_organization_user'),
        ),
        migrations.AddField(
            model_name='organizationclientgrant',
            name='client_grant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='organization_links', to='oauthcore.clientgrant'),
        ),
        migrations.AddField(
            model_name='organizationclientgrant',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grant_links', to='oauthcore.organization'),
        ),
        migrations.AddField(
            model_name='organization',
            name='client_grants',
            field=models.ManyToManyField(blank=True, related_name='organizations', through='oauthcore.OrganizationClientGrant', to='oauthcore.clientgrant'),
        ),
        migrations.AddField(
            model_name='organizationconnection',
            name='connection',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='organization_links', to='oauthcore.connection'),
        ),
        migrations.AddField(
            model_name='organizationconnection',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='enabled_connections', to='oauthcore.organization'),
        ),
        migrations.AddField(
            model_name='organization',
            name='connections',
            field=models.ManyToManyField(blank=True, related_name='organizations', through='oauthcore.OrganizationConnection', to='oauthcore.connection'),
        ),
        migrations.AddField(
            model_name='organizationmember',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='oauthcore.organization'),
        ),
        migrations.AddField(
            model_name='organizationmember',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='organization_memberships', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='organization',
            name='members',
            field=models.ManyToManyField(blank=True, related_name='organizations', through='oauthcore.OrganizationMember', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='organizationclientgrant',
            index=models.Index(fields=['client_grant', 'organization'], name='orggrant_grant_org'),
        ),
        migrations.AddConstraint(
            model_name='organizationclientgrant',
            constraint=models.UniqueConstraint(fields=('organization', 'client_grant'), name='orggrant_one_per_grant'),
        ),
        migrations.AddConstraint(
            model_name='organizationconnection',
            constraint=models.UniqueConstraint(fields=('organization', 'connection'), name='orgconnection_one_per_connection'),
        ),
        migrations.AddIndex(
            model_name='organizationmember',
            index=models.Index(fields=['user'], name='orgmember_user'),
        ),
        migrations.AddConstraint(
            model_name='organizationmember',
            constraint=models.UniqueConstraint(fields=('organization', 'user'), name='orgmember_one_per_user'),
        ),
        migrations.RunPython(partner_link.restore_sqlite_triggers, migrations.RunPython.noop),
    ]
