"""Portcullis settings.

Everything comes from environment variables with embedded defaults, so a bare checkout runs on
SQLite with eagerly executed tasks. See README.md, "Configuration".
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from portal.platform.env import (
    cache_settings,
    email_settings,
    env_bool,
    env_int,
    env_list,
    env_prefixed,
    env_str,
    served_at,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

DEV_SECRET_KEY = "portcullis-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
# Previous SECRET_KEYs while changing it: what they signed or encrypted still reads (see README.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

# The public base URL: PORTCULLIS_ISSUER, or else where `make run` serves (its HOST and PORT, which
# the Makefile exports), so that `PORT=8101 make run` issues, links and emails http://127.0.0.1:8101.
ISSUER = (env_str("PORTCULLIS_ISSUER") or served_at(env_str("HOST", "127.0.0.1"), env_int("PORT", 8000))).rstrip("/")
_issuer_host = urlsplit(ISSUER).hostname or "127.0.0.1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", sorted({_issuer_host, "localhost", "127.0.0.1"}))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin console's theme (its assets are served from our own static files, no CDN); before
    # django.contrib.admin so that its templates win.
    "admin_interface",
    "colorfield",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "oauthcore",
    "consent",
    "portal.partners",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database outage is a 503 with a JSON error on every surface, never a 500
    # (portal.platform.unavailable).
    "portal.platform.unavailable.DatabaseUnavailableMiddleware",
    # NUL characters and lone surrogates cannot reach the database: such requests are a 400
    # (portal.platform.request_guard).
    "portal.platform.request_guard.RejectUnstorableTextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.platform.csp.DefaultContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: with DEBUG on, pages still get the project's 404 and 500 pages (portal.platform.error_pages).
    "portal.platform.error_pages.ErrorPagesWithDebugMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with health checks that cost no round trip (see portal/platform/db/postgresql).
    DATABASES["default"]["ENGINE"] = "portal.platform.db.postgresql"
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # Fail fast when PostgreSQL is unreachable instead of hanging a worker.
    options["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    # Parameters sent apart from the SQL, and statements a connection has run five times prepared:
    # PostgreSQL then skips parsing and planning them (the token endpoint's run on every request).
    # Off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21, transaction mode).
    # DATABASE_POOLER=transaction: behind a pooler that hands each transaction its own server
    # connection, a prepared statement or a cursor opened in one transaction is gone in the next.
    transaction_pooler = env_str("DATABASE_POOLER") == "transaction"
    if env_bool("DATABASE_PREPARED_STATEMENTS", not transaction_pooler):
        options.update(server_side_binding=True, prepare_threshold=5)
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = transaction_pooler
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-oauth-toolkit warns that http redirect URIs are allowed. They are on purpose: native apps
# need loopback callbacks (RFC 8252), and oauthcore.validation accepts http for third-party apps
# only on loopback hosts; redirect URIs are then compared exactly.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]

AUTH_USER_MODEL = "oauthcore.User"
AUTHENTICATION_BACKENDS = ["oauthcore.backends.UsernameOrEmailBackend"]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/account/apps"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Never first: user passwords keep the slow default. Client secrets are 384 random bits,
    # so a salted SHA-256 is as strong as a slow derivation and costs microseconds.
    "oauthcore.credentials.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT") or BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security headers. The consent and account pages add their own stricter policies.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Flash messages can hold a secret shown once (the admin's rotate action): kept in the session,
# server-side, never in a cookie (signed, not encrypted) as the default storage would first try.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", ISSUER.startswith("https://"))

globals().update(email_settings(env_str("EMAIL_URL")))
# Rate limits and other state shared by every web process live in this cache: Redis in production.
CACHES = cache_settings(env_str("CACHE_URL"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Portcullis <no-reply@localhost>")

# Portcullis' own settings, in one namespace (read through oauthcore.conf.portcullis_settings).
PORTCULLIS = {
    "ISSUER": ISSUER,
    "CLIENT_SECRET_BYTES": 48,
    # Partner portal: how long emailed links work.
    "PORTAL_INVITATION_DAYS": env_int("PORTAL_INVITATION_DAYS", 7),
    "PORTAL_VERIFICATION_DAYS": env_int("PORTAL_VERIFICATION_DAYS", 3),
    # End users' account links: how long an emailed verification or reset link works (seconds).
    "EMAIL_VERIFICATION_LINK_SECONDS": env_int("EMAIL_VERIFICATION_LINK_SECONDS", 5 * 24 * 3600),
    "PASSWORD_RESET_LINK_SECONDS": env_int("PASSWORD_RESET_LINK_SECONDS", 3600),
    # Enterprise connections: how long an identity provider may take, the clock difference
    # tolerated, and how long a customer's setup link works.
    "FEDERATION_TIMEOUT": env_int("FEDERATION_TIMEOUT", 10),
    "FEDERATION_CLOCK_SKEW": env_int("FEDERATION_CLOCK_SKEW", 120),
    "CONNECTION_SETUP_LINK_DAYS": env_int("CONNECTION_SETUP_LINK_DAYS", 7),
    # A provider on this machine: allowed while developing (DEBUG), refused in production.
    "FEDERATION_ALLOW_LOOPBACK": env_bool("FEDERATION_ALLOW_LOOPBACK", DEBUG),
    # Rate limits ("N/period"): RATE_LIMIT_<NAME> overrides one; the others keep their defaults
    # (the limits and their defaults are listed in oauthcore.conf).
    "RATE_LIMITS": env_prefixed("RATE_LIMIT_"),
    # Proxies in front of Portcullis that append to X-Forwarded-For (client addresses for rate limits).
    "TRUSTED_PROXY_HOPS": env_int("TRUSTED_PROXY_HOPS", 0),
}
# A queued email still unsent this long after it was written lost its task: beat sends it again.
OUTBOX_RESEND_AFTER_SECONDS = env_int("OUTBOX_RESEND_AFTER_SECONDS", 120)


# django-oauth-toolkit: every model swapped into oauthcore before the first migration.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauthcore.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "oauthcore.Grant"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauthcore.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauthcore.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauthcore.IDToken"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauthcore.DeviceGrant"
OAUTH2_PROVIDER = {
    # oauthlib's OpenID Connect server, with per-API access token lifetimes (each API's token_lifetime).
    "OAUTH2_SERVER_CLASS": "oauthcore.oauthlib_core.Server",
    "OAUTH2_VALIDATOR_CLASS": "oauthcore.validator.PolicyValidator",
    "OAUTH2_BACKEND_CLASS": "oauthcore.oauthlib_core.FormOrJSONOAuthLibCore",
    "ACCESS_TOKEN_GENERATOR": "oauthcore.access_tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "RESOURCE_SERVER_TOKEN_RESOURCE_VALIDATOR": "oauthcore.access_tokens.resource_matches",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_USERINFO_ENDPOINT": f"{ISSUER}/userinfo",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Read your name",
        "email": "Read your email address",
        "offline_access": "Stay connected when you are away",
    },
    "DEFAULT_SCOPES": [],
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "CLIENT_ID_GENERATOR_CLASS": "oauthcore.credentials.ClientIdGenerator",
    "CLIENT_SECRET_GENERATOR_CLASS": "oauthcore.credentials.ClientSecretGenerator",
    "CLIENT_SECRET_HASHER": "portcullis_client_secret",
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Third-party refresh tokens never live forever: 30 days idle (Auth0's default).
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # The device flow's user and scopes come from oauthcore's DeviceGrant, read by the validator.
    "OAUTH_PRE_TOKEN_VALIDATION": [],
    # Bearer tokens only in the Authorization header, never in a URL (RFC 9700 §4.3.2).
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "CLEAR_EXPIRED_TOKENS_BATCH_SIZE": 1000,
    "CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL": 0,
    "APPLICATION_ADMIN_CLASS": "oauthcore.admin.ApplicationAdmin",
    "ACCESS_TOKEN_ADMIN_CLASS": "oauthcore.admin.AccessTokenAdmin",
    "GRANT_ADMIN_CLASS": "oauthcore.admin.GrantAdmin",
    "ID_TOKEN_ADMIN_CLASS": "oauthcore.admin.IDTokenAdmin",
    "REFRESH_TOKEN_ADMIN_CLASS": "oauthcore.admin.RefreshTokenAdmin",
}


REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portcullis Management API",
    "DESCRIPTION": "Auth0 Management API v2 shapes: paths, fields, paging and errors. "
    "Bearer tokens for the Management API audience, one scope per action.",
    "VERSION": "2",
    "SCHEMA_PATH_PREFIX": "/api/v2",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs page are public; the endpoints they describe are not.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AppTypeEnum": "oauthcore.constants.AppType",
        "SubjectTypeEnum": "oauthcore.constants.SubjectType",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    },
    "SECURITY": [{"bearerAuth": []}],
    # Error responses and paged list shapes on every operation (what the views cannot declare).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oauthcore.api.schema.add_errors_and_paging",
    ],
}

# Celery: without a broker, tasks run eagerly in the calling process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "clear-expired-tokens": {
        "task": "oauthcore.tasks.clear_expired_tokens",
        "schedule": crontab(minute="*/15"),
    },
    "retire-previous-client-secrets": {
        "task": "oauthcore.tasks.retire_previous_client_secrets",
        "schedule": crontab(minute="*/5"),
    },
    "flush-token-activity": {
        "task": "oauthcore.tasks.flush_token_activity",
        "schedule": crontab(minute="*"),
    },
    "seal-audit-log": {
        "task": "oauthcore.tasks.seal_audit_log",
        "schedule": crontab(minute="*"),
    },
    "resend-stale-emails": {
        "task": "portal.tasks.resend_stale_emails",
        "schedule": crontab(minute="*"),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # Every handler redacts secrets and tokens (portal.platform.logging); add the filter to any handler added here.
    "filters": {
        "redact_secrets": {"()": "portal.platform.logging.RedactSecrets"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
        # runserver's access log: its request lines carry emailed links' tokens and device user codes.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "portal.platform.logging.RedactedAdminEmailHandler",
            "filters": ["require_debug_false", "redact_secrets"],
        },
    },
    # These two replace Django's defaults, whose handlers do not redact (its "console" handler would
    # print django.request's lines a second time, unredacted, whenever DEBUG is on).
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# A Celery worker would otherwise replace the root logger's handlers with its own, unredacted ones.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
