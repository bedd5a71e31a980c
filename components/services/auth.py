"""GoTrue: sign-up, sign-in and user management; issues the users' JWTs."""

from __future__ import annotations

from components.services.base import Healthcheck, ProjectContext, ServiceSpec, flag
from components.settings import Settings

VERIFY_PATH = "/auth/v1/verify"


def redirect_allow_list(settings: Settings) -> list[str]:
    """Allowed redirect URLs: the configured ones, then every page of each custom domain."""
    return [
        *settings.additional_redirect_urls,
        *(f"https://{domain}/**" for domain in settings.custom_domains),
    ]


def spec(ctx: ProjectContext) -> ServiceSpec:
    settings, auth, smtp = ctx.settings, ctx.settings.auth, ctx.settings.smtp
    return ServiceSpec(
        name="auth",
        env={
            "GOTRUE_API_HOST": "0.0.0.0",
            "GOTRUE_API_PORT": "9999",
            "API_EXTERNAL_URL": settings.api_external_url,
            "GOTRUE_DB_DRIVER": "postgres",
            "GOTRUE_DB_DATABASE_URL": ctx.db_url("supabase_auth_admin"),
            "GOTRUE_SITE_URL": settings.site_url,
            "GOTRUE_URI_ALLOW_LIST": ",".join(redirect_allow_list(settings)),
            "GOTRUE_DISABLE_SIGNUP": flag(auth.disable_signup),
            "GOTRUE_JWT_ADMIN_ROLES": "service_role",
            "GOTRUE_JWT_AUD": "authenticated",
            "GOTRUE_JWT_DEFAULT_GROUP_NAME": "authenticated",
            "GOTRUE_JWT_EXP": str(settings.jwt_expiry),
            "GOTRUE_JWT_SECRET": ctx.secrets.jwt_secret,
            "GOTRUE_EXTERNAL_EMAIL_ENABLED": flag(auth.email_signup),
            "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED": flag(auth.anonymous_users),
            "GOTRUE_MAILER_AUTOCONFIRM": flag(auth.email_autoconfirm),
            "GOTRUE_SMTP_ADMIN_EMAIL": smtp.admin_email,
            "GOTRUE_SMTP_HOST": smtp.host,
            "GOTRUE_SMTP_PORT": str(smtp.port),
            "GOTRUE_SMTP_USER": smtp.user,
            "GOTRUE_SMTP_PASS": ctx.secrets.smtp_password,
            "GOTRUE_SMTP_SENDER_NAME": smtp.sender_name,
            "GOTRUE_MAILER_URLPATHS_INVITE": VERIFY_PATH,
            "GOTRUE_MAILER_URLPATHS_CONFIRMATION": VERIFY_PATH,
            "GOTRUE_MAILER_URLPATHS_RECOVERY": VERIFY_PATH,
            "GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE": VERIFY_PATH,
            "GOTRUE_EXTERNAL_PHONE_ENABLED": flag(auth.phone_signup),
            "GOTRUE_SMS_AUTOCONFIRM": flag(auth.phone_autoconfirm),
        },
        healthcheck=Healthcheck(
            ("CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:9999/health")
        ),
        needs=("db", "analytics"),
    )
