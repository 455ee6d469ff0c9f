"""Every URL of the application, in one list."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    # Pages
    config.add_route("home", "/")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("set_locale", "/lang/{locale}")
    config.add_route("account.password", "/account/password")
    config.add_route("directory.enterprises", "/directory/enterprises")
    # The supervisor console: directories, imports and jobs on the worker, cases, the feed
    config.add_route("directory.inspectors", "/directory/inspectors")
    config.add_route("directory.items", "/directory/items")
    config.add_route("console.home", "/console/")
    config.add_route("console.imports", "/console/imports")
    config.add_route("console.jobs", "/console/jobs/")
    config.add_route("console.jobs.rerate", "/console/jobs/rerate")
    config.add_route("console.job", "/console/jobs/{uuid:[0-9a-f-]{36}}")
    config.add_route("console.job.progress", "/console/jobs/{uuid:[0-9a-f-]{36}}/progress.json")
    config.add_route("console.cases", "/console/cases/")
    config.add_route("console.case", "/console/cases/{case_id:\\d{1,9}}")
    config.add_route("console.case.step", "/console/cases/{case_id:\\d{1,9}}/{step:[a-z_]+}")
    config.add_route("console.alert.ack", "/console/alerts/{alert_id:\\d{1,9}}/acknowledge")
    config.add_route("console.feed", "/console/feed/")
    config.add_route("console.feed.requeue", "/console/feed/requeue")
    # Sampling plans (supervisor console): list, create/edit, one POST per transition, bundle
    config.add_route("desk.plans", "/desk/plans/")
    config.add_route("desk.plans.new", "/desk/plans/new")
    config.add_route("desk.plan", "/desk/plans/{code}")
    config.add_route("desk.plan.edit", "/desk/plans/{code}/edit")
    config.add_route("desk.plan.approve", "/desk/plans/{code}/approve")
    config.add_route("desk.plan.commit", "/desk/plans/{code}/commit")
    config.add_route("desk.plan.draw", "/desk/plans/{code}/draw")
    config.add_route("desk.plan.publish", "/desk/plans/{code}/publish")
    config.add_route("desk.plan.bundle", "/desk/plans/{code}/bundle")
    # Progress dashboards (监管看板): indicators, the task map and its two JSON feeds
    config.add_route("dashboards", "/desk/dashboards/")
    config.add_route("dashboards.map", "/desk/dashboards/map")
    config.add_route("dashboards.counties", "/desk/dashboards/counties.geojson")
    config.add_route("dashboards.tasks", "/desk/dashboards/tasks.json")
    # The enterprise portal: its own credit, inspections, orders, commitments, repair, replies
    config.add_route("portal.home", "/portal/")
    config.add_route("portal.inspections", "/portal/inspections")
    config.add_route("portal.rectifications", "/portal/rectifications")
    config.add_route(
        "portal.rectification.report", "/portal/rectifications/{order_id:\\d{1,9}}/report"
    )
    config.add_route("portal.commitments", "/portal/commitments")
    config.add_route(
        "portal.commitment.withdraw", "/portal/commitments/{commitment_id:\\d{1,9}}/withdraw"
    )
    config.add_route("portal.repairs", "/portal/repairs")
    config.add_route("portal.records", "/portal/records")
    config.add_route("portal.record.reply", "/portal/records/{record_id:\\d{1,9}}/reply")
    config.add_route("portal.record.appeal", "/portal/records/{record_id:\\d{1,9}}/appeal")
    config.add_route("commitments.index", "/commitments/")
    config.add_route("commitments.show", "/commitments/{commitment_id:\\d{1,9}}")
    config.add_route("commitments.step", "/commitments/{commitment_id:\\d{1,9}}/{step:[a-z_]+}")
    # The liaison desk (两法衔接): transfers with their clocks, steps as forms, exports
    config.add_route("liaison.desk", "/liaison/")
    config.add_route("liaison.transfer", "/liaison/transfers/{case_id:\\d{1,9}}")
    config.add_route(
        "liaison.transfer.step", "/liaison/transfers/{case_id:\\d{1,9}}/{step:[a-z_]+}"
    )
    config.add_route("healthz", "/healthz")
    # Publication (一公开): public pages and open data, no sign-in
    config.add_route("public.index", "/public/")
    config.add_route("public.record", "/public/records/{record_id:\\d+}")
    config.add_route("public.items", "/public/items/")
    config.add_route("public.plans", "/public/plans/")
    config.add_route("public.plan.verification", "/public/plans/{code}/verification")
    config.add_route("open_data.index", "/open-data/")
    config.add_route("open_data.dictionary", "/open-data/dictionary.json")
    config.add_route("open_data.file", "/open-data/{dataset:[a-z_]+}.{format:csv|json}")
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
    # Statutory clocks and their alerts (supervisors, liaison), rectification orders
    config.add_route("api.alerts", "/api/v1/alerts")
    config.add_route("api.alert.acknowledgement", "/api/v1/alerts/{alert_id}/acknowledgement")
    config.add_route("api.clocks", "/api/v1/clocks")
    config.add_route("api.rectifications", "/api/v1/rectifications")
    config.add_route("api.rectification", "/api/v1/rectifications/{order_id}")
    config.add_route("api.rectification.report", "/api/v1/rectifications/{order_id}/report")
    # The feed to the supervision data center: backlog, dead letters, re-queue (supervisors)
    config.add_route("api.feed.status", "/api/v1/feed/status")
    config.add_route("api.feed.dead_letters", "/api/v1/feed/dead-letters")
    config.add_route(
        "api.feed.dead_letter.requeue", "/api/v1/feed/dead-letters/{record_id}/requeue"
    )
    # Penalty cases (行政处罚案件): list, file, detail, one POST per transition
    config.add_route("api.cases", "/api/v1/cases")
    config.add_route("api.case", "/api/v1/cases/{case_id}")
    config.add_route("api.case.members", "/api/v1/cases/{case_id}/members")
    config.add_route("api.case.investigation", "/api/v1/cases/{case_id}/investigation")
    config.add_route("api.case.proposal", "/api/v1/cases/{case_id}/proposal")
    config.add_route("api.case.legal_review", "/api/v1/cases/{case_id}/legal-review")
    config.add_route("api.case.decision", "/api/v1/cases/{case_id}/decision")
    config.add_route("api.case.execution", "/api/v1/cases/{case_id}/execution")
    config.add_route("api.case.closing", "/api/v1/cases/{case_id}/closing")
    config.add_route("api.case.withdrawal", "/api/v1/cases/{case_id}/withdrawal")
    config.add_route("api.case.deadline_extension", "/api/v1/cases/{case_id}/deadline-extension")
    config.add_route("api.case.reconsideration", "/api/v1/cases/{case_id}/reconsideration")
    config.add_route(
        "api.case.reconsideration_decision",
        "/api/v1/cases/{case_id}/reconsideration/decision",
    )
    config.add_route("api.case.coercive_measures", "/api/v1/cases/{case_id}/coercive-measures")
    config.add_route(
        "api.case.coercive_measure.extension",
        "/api/v1/cases/{case_id}/coercive-measures/{measure_id}/extension",
    )
    config.add_route(
        "api.case.coercive_measure.lifting",
        "/api/v1/cases/{case_id}/coercive-measures/{measure_id}/lifting",
    )
    # Transfers to public security (两法衔接): report, decision, the liaison's steps, package
    config.add_route("api.case.transfer", "/api/v1/cases/{case_id}/transfer")
    config.add_route("api.case.transfer.decision", "/api/v1/cases/{case_id}/transfer/decision")
    config.add_route("api.case.transfer.sent", "/api/v1/cases/{case_id}/transfer/sent")
    config.add_route("api.case.transfer.receipt", "/api/v1/cases/{case_id}/transfer/receipt")
    config.add_route(
        "api.case.transfer.police_decision", "/api/v1/cases/{case_id}/transfer/police-decision"
    )
    config.add_route(
        "api.case.transfer.reconsideration", "/api/v1/cases/{case_id}/transfer/reconsideration"
    )
    config.add_route(
        "api.case.transfer.reconsideration_outcome",
        "/api/v1/cases/{case_id}/transfer/reconsideration/outcome",
    )
    config.add_route(
        "api.case.transfer.supervision", "/api/v1/cases/{case_id}/transfer/supervision"
    )
    config.add_route(
        "api.case.transfer.supervision_outcome",
        "/api/v1/cases/{case_id}/transfer/supervision/outcome",
    )
    config.add_route("api.case.transfer.closure", "/api/v1/cases/{case_id}/transfer/closure")
    config.add_route("api.case.transfer.package", "/api/v1/cases/{case_id}/transfer/package.zip")
    # The liaison desk: every transfer with its clocks, and its CSV / XLSX export
    config.add_route("api.transfers", "/api/v1/transfers")
    config.add_route("api.transfers.export", "/api/v1/transfers/export")
    # Publication (一公开): public records, replies, appeals; the joint list (联合奖惩)
    config.add_route("api.public_records", "/api/v1/public-records")
    config.add_route("api.public_record", "/api/v1/public-records/{record_id}")
    config.add_route("api.public_record.replies", "/api/v1/public-records/{record_id}/replies")
    config.add_route("api.public_record.appeals", "/api/v1/public-records/{record_id}/appeals")
    config.add_route("api.appeals", "/api/v1/appeals")
    config.add_route("api.appeal", "/api/v1/appeals/{appeal_id}")
    config.add_route("api.appeal.decision", "/api/v1/appeals/{appeal_id}/decision")
    config.add_route("api.publication.due", "/api/v1/publication/due")
    config.add_route("api.joint_list", "/api/v1/joint-list")
    config.add_route("api.joint_list.csv", "/api/v1/joint-list.csv")
    # The full-process record: the audit chain's anchors (public), an entity's trail
    config.add_route("api.audit.anchors", "/api/v1/audit/anchors")
    # Commitments (告知承诺): the enterprise files and withdraws, the department reviews
    config.add_route("api.commitments", "/api/v1/commitments")
    config.add_route("api.commitment", "/api/v1/commitments/{commitment_id}")
    config.add_route("api.commitment.withdrawal", "/api/v1/commitments/{commitment_id}/withdrawal")
    config.add_route("api.commitment.acceptance", "/api/v1/commitments/{commitment_id}/acceptance")
    config.add_route("api.commitment.rejection", "/api/v1/commitments/{commitment_id}/rejection")
    config.add_route(
        "api.commitment.verification", "/api/v1/commitments/{commitment_id}/verification"
    )
    config.add_route("api.audit.trail", "/api/v1/audit/entities/{entity_type}/{entity_id}")
