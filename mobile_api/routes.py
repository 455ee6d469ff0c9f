"""Every URL of the application, in one list."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    # Pages
    config.add_route("home", "/")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("set_locale", "/lang/{locale}")
    config.add_route("directory.enterprises", "/directory/enterprises")
    config.add_route("healthz", "/healthz")
    # The inspectors' tablet app (PWA): shell, service worker (scope /tablet/), manifest, icons
    config.add_route("tablet.bare", "/tablet")
    config.add_route("tablet", "/tablet/")
    config.add_route("tablet.sw", "/tablet/sw.js")
    config.add_route("tablet.manifest", "/tablet/manifest.webmanifest")
    config.add_route("tablet.icon", "/tablet/icons/{name}.png")
    # JSON API (described in openapi.yaml; the document itself: mobile_api.openapi)
    config.add_route("api.health", "/api/v1/health")
    config.add_route("api.tokens", "/api/v1/tokens")
    config.add_route("api.tokens.current", "/api/v1/tokens/current")
    config.add_route("api.me", "/api/v1/me")
    config.add_route("api.plans", "/api/v1/plans")
    config.add_route("api.plan", "/api/v1/plans/{code}")
    config.add_route("api.plan.approval", "/api/v1/plans/{code}/approval")
    config.add_route("api.plan.seed_commitment", "/api/v1/plans/{code}/seed-commitment")
    config.add_route("api.plan.draw", "/api/v1/plans/{code}/draw")
    config.add_route("api.plan.tasks", "/api/v1/plans/{code}/tasks")
    config.add_route("api.plan.publication", "/api/v1/plans/{code}/publication")
    config.add_route("api.plan.redraw", "/api/v1/plans/{code}/redraw")
    config.add_route("api.plan.bundle", "/api/v1/plans/{code}/bundle")
    config.add_route("api.enterprise.credit", "/api/v1/enterprises/{enterprise_id}/credit")
    config.add_route("api.repairs", "/api/v1/credit-repairs")
    config.add_route("api.repair", "/api/v1/credit-repairs/{repair_id}")
    config.add_route("api.repair.decision", "/api/v1/credit-repairs/{repair_id}/decision")
    config.add_route("api.my.tasks", "/api/v1/my/tasks")
    config.add_route("api.my.task", "/api/v1/my/tasks/{task_uuid}")
    config.add_route("api.inspection", "/api/v1/inspections/{inspection_uuid}")
    config.add_route("api.inspection.answers", "/api/v1/inspections/{inspection_uuid}/answers")
    config.add_route(
        "api.inspection.finding", "/api/v1/inspections/{inspection_uuid}/findings/{finding_uuid}"
    )
    config.add_route("api.inspection.signature", "/api/v1/inspections/{inspection_uuid}/signature")
    config.add_route("api.inspection.result", "/api/v1/inspections/{inspection_uuid}/result")
    config.add_route("api.batch", "/api/v1/batch")
    config.add_route("api.checkins.flagged", "/api/v1/checkins/flagged")
    config.add_route(
        "api.checkin.acknowledgement", "/api/v1/checkins/{inspection_uuid}/acknowledgement"
    )
    # The inspector's e-credential (亮证): the tablet's QR code, its check, the public page
    config.add_route("api.me.credential", "/api/v1/me/credential")
    config.add_route("api.credential", "/api/v1/credentials/{token}")
    config.add_route("credential.verify", "/verify/{token}")
    # The API document for people (Swagger UI, served from static/vendor/)
    config.add_route("api.docs", "/api/v1/docs")
    # Evidence (uploads whole or resumable, files, attachments) and the on-site record PDF
    config.add_route("api.evidence", "/api/v1/evidence")
    config.add_route("api.evidence.item", "/api/v1/evidence/{sha256}")
    config.add_route("api.uploads", "/api/v1/uploads")
    config.add_route("api.upload", "/api/v1/uploads/{upload_id}")
    config.add_route("api.upload.complete", "/api/v1/uploads/{upload_id}/complete")
    config.add_route(
        "api.inspection.evidence",
        "/api/v1/inspections/{inspection_uuid}/evidence/{attachment_uuid}",
    )
    config.add_route("api.inspection.record", "/api/v1/inspections/{inspection_uuid}/record.pdf")
    # The feed to the supervision data center: backlog, dead letters, re-queue (supervisors)
    config.add_route("api.feed.status", "/api/v1/feed/status")
    config.add_route("api.feed.dead_letters", "/api/v1/feed/dead-letters")
    config.add_route(
        "api.feed.dead_letter.requeue", "/api/v1/feed/dead-letters/{record_id}/requeue"
    )
