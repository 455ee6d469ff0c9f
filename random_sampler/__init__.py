"""The double-random draw core (双随机): NumPy arrays in, arrays out.

Pure: imports no database, web or task-queue code. ``run_draw`` is the whole draw (targets,
teams, report); the pieces below it are exported for distributed draws and verification.
"""

from random_sampler.allocation import TIERS, Allocation, PlanSpec, allocate
from random_sampler.draw import (
    SNAPSHOT_VERSION,
    DrawResult,
    InspectorArrays,
    TargetArrays,
    TeamOptions,
    as_team_options,
    build_report,
    draw_allocation,
    finish_draw,
    merge_strata,
    pair_teams,
    run_draw,
    snapshot_hash,
    strata_rows,
)
from random_sampler.seeds import (
    ALGORITHM_VERSION,
    commit,
    draw_key,
    generator,
    stratum_label,
    stratum_seed,
    verify_commitment,
)
from random_sampler.select import (
    Coverage,
    Selection,
    StratumDraw,
    cover_items,
    draw_stratum,
    draw_targets,
    exclusion_reason_text,
    exclusions,
    item_coverage_text,
)
from random_sampler.teams import Teams, assign_teams, reason_text

__all__ = [
    "ALGORITHM_VERSION",
    "SNAPSHOT_VERSION",
    "TIERS",
    "Allocation",
    "Coverage",
    "DrawResult",
    "InspectorArrays",
    "PlanSpec",
    "Selection",
    "StratumDraw",
    "TargetArrays",
    "TeamOptions",
    "Teams",
    "allocate",
    "as_team_options",
    "assign_teams",
    "build_report",
    "commit",
    "cover_items",
    "draw_allocation",
    "draw_key",
    "draw_stratum",
    "draw_targets",
    "exclusion_reason_text",
    "exclusions",
    "finish_draw",
    "generator",
    "item_coverage_text",
    "merge_strata",
    "pair_teams",
    "reason_text",
    "run_draw",
    "snapshot_hash",
    "strata_rows",
    "stratum_label",
    "stratum_seed",
    "verify_commitment",
]
