from oauthcore.models.account_links import AccountLink, AccountLinkPurpose
from oauthcore.models.activity import TokenActivity
from oauthcore.models.applications import Application, PreviousClientSecret
from oauthcore.models.audit import ActorType, AuditChainHead, AuditEvent
from oauthcore.models.client_grants import ClientGrant
from oauthcore.models.connection_setup import ConnectionSetupLink
from oauthcore.models.connections import Connection, ConnectionDomain, FederatedAssertion, FederationFlow
from oauthcore.models.email_templates import EmailTemplate, EmailTemplateName
from oauthcore.models.keys import SigningKey
from oauthcore.models.mfa import Authenticator, AuthenticatorKind, RecoveryCode
from oauthcore.models.organizations import (
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
)
from oauthcore.models.outbox import OutboundEmail
from oauthcore.models.policy_version import PolicyVersion
from oauthcore.models.resource_servers import ResourceServer, ResourceServerScope
from oauthcore.models.tenant import TenantSettings
from oauthcore.models.tokens import AccessToken, DeviceGrant, Grant, IDToken, RefreshToken
from oauthcore.models.users import User
from oauthcore.models.withdrawals import AccessCutoff, RevokedAccessToken

__all__ = [
    "AccessCutoff",
    "AccessToken",
    "AccountLink",
    "AccountLinkPurpose",
    "ActorType",
    "Application",
    "AuditChainHead",
    "AuditEvent",
    "Authenticator",
    "AuthenticatorKind",
    "ClientGrant",
    "Connection",
    "ConnectionDomain",
    "ConnectionSetupLink",
    "DeviceGrant",
    "EmailTemplate",
    "EmailTemplateName",
    "FederatedAssertion",
    "FederationFlow",
    "Grant",
    "IDToken",
    "Organization",
    "OrganizationClientGrant",
    "OrganizationConnection",
    "OrganizationMember",
    "OutboundEmail",
    "PolicyVersion",
    "PreviousClientSecret",
    "RecoveryCode",
    "RefreshToken",
    "ResourceServer",
    "ResourceServerScope",
    "RevokedAccessToken",
    "SigningKey",
    "TenantSettings",
    "TokenActivity",
    "User",
]
