"""The stored documents keep their keys: every document's JSON-schema ``properties``.

The JobStore holds these documents by field name, and readers (results, report, CLI) look
the fields up by name, so a refactor of the schema modules (shared field types, base
documents) must leave each document's properties as they are: the same names (listed
here) and the same types, defaults and descriptions (their digest).
"""

from __future__ import annotations

import hashlib
import importlib
import json

import pytest

#: document (module.Class) -> (its field names, sha256[:16] of its properties JSON)
EXPECTED: dict[str, tuple[set[str], str]] = {
    "sse_flows.analysis.schemas.DiffusionDoc": (
        {
            'confident', 'd0_cm2_s', 'd_rt_cm2_s', 'ea_eV', 'ea_err_eV', 'ea_lower_bound_eV',
            'flags', 'formula', 'interval_level', 'material_id', 'n_atoms', 'n_fit',
            'p_superionic_md', 'provenance', 'reduced_chi2', 'sigma_rt_S_cm', 'sigma_rt_high',
            'sigma_rt_is_upper_bound', 'sigma_rt_library_S_cm', 'sigma_rt_low', 'specie',
            'superionic', 'temperatures', 'volume_A3'
        },
        "47a4716411621591",
    ),
    "sse_flows.analysis.schemas.TemperatureDiffusion": (
        {
            'D_blocks', 'D_cm2_s', 'D_detection_limit', 'D_err', 'D_err_block', 'D_err_hops',
            'D_err_replica_spread', 'D_hop_cm2_s', 'D_hop_err', 'D_method', 'D_pymatgen_cm2_s',
            'T', 'diffusive', 'duration_ps', 'framework', 'framework_msd_A2',
            'framework_stable', 'hop_distance_A', 'hop_threshold_A', 'li_hopped_fraction',
            'li_hops', 'msd_end_A2', 'msd_exponent', 'msd_fit_start_ps', 'n_eff', 'n_frames',
            'n_li', 'n_replicas', 'reasons', 'replica_D_cm2_s', 'replica_sources', 'smoothing',
            'source', 'time_step_fs', 'used_in_fit'
        },
        "badc50aefe605d1a",
    ),
    "sse_flows.analysis.stability.FrameworkStability": (
        {
            'framework_msd_end_A2', 'framework_msd_half_A2', 'reason', 'rotation', 'species',
            'stable', 'state'
        },
        "00c1e316481caa5c",
    ),
    "sse_flows.analysis.stability.SpeciesMSD": (
        {'element', 'growth_ratio', 'msd_end_A2', 'msd_half_A2', 'n_atoms', 'state'},
        "ce240f3549ab52af",
    ),
    "sse_flows.md.schemas.MDCellDoc": (
        {'error', 'formula', 'relaxation', 'supercell'},
        "b9af8655a693b3b0",
    ),
    "sse_flows.md.schemas.MDRunDoc": (
        {
            'diffusion', 'engine', 'formula', 'material_id', 'n_atoms', 'protocol_summary',
            'provenance', 'reason', 'reduced_protocol', 'relaxation', 'runs', 'status',
            'structure', 'supercell_scaling', 'warnings'
        },
        "d4fbbacb60351261",
    ),
    "sse_flows.md.schemas.MDTemperatureRun": (
        {
            'D_cm2_s', 'D_relative_error', 'diffusive', 'discarded_frames', 'elapsed_s',
            'equilibrated', 'equilibration_steps', 'framework', 'li_hops',
            'max_energy_deviation_per_atom', 'mean_temperature_K', 'min_distance_A', 'n_frames',
            'production_steps', 'reasons', 'status', 'step_skip', 'steps_per_s', 'stop_reason',
            'temperature', 'temperature_within_tolerance', 'time_step_fs', 'trajectory_files'
        },
        "b2a898ad4adfdc31",
    ),
    "sse_flows.md.schemas.OrderingDoc": (
        {
            'atoms_removed', 'disordered_groups', 'formula_disordered', 'formula_ordered',
            'max_fraction_error', 'n_atoms', 'scaling', 'seed', 'shortest_distance_A'
        },
        "feac6202472efa80",
    ),
    "sse_flows.md.schemas.PoolMDDoc": (
        {'device', 'engine', 'results', 'seconds'},
        "cb4b64b602501634",
    ),
    "sse_flows.md.schemas.ProductionOutcome": (
        {'record'},
        "4d5519b392bd7e9b",
    ),
    "sse_flows.md.schemas.ProductionRecord": (
        {
            'chunks', 'd_relative_error', 'diffusive', 'elapsed_s', 'equilibrated',
            'equilibration_mean_temperature_K', 'equilibration_steps', 'error', 'files',
            'li_hops', 'production_steps', 'run_id', 'stop_reason', 'temperature'
        },
        "bc8e58ba8ff6e55b",
    ),
    "sse_flows.md.schemas.RelaxationDoc": (
        {
            'converged', 'energy_per_atom_after', 'energy_per_atom_before', 'from_cache',
            'max_force_eV_A', 'pressure_before_GPa', 'resumed_from_step', 'steps',
            'volume_change'
        },
        "41824c1b66a73715",
    ),
    "sse_flows.md.schemas.RestartCellDoc": (
        {'dir_name', 'has_velocities', 'structure'},
        "85644c0338086056",
    ),
    "sse_flows.models.schemas.AlgorithmMetrics": (
        {
            'acc_max', 'acc_mean', 'acc_min', 'acc_std', 'auc_mean', 'chosen_params',
            'chosen_params_frequency', 'f1_mean', 'fixed_params', 'grouped_acc_mean',
            'grouped_acc_std', 'grouped_auc_mean', 'grouped_f1_mean', 'importance_kind', 'key',
            'lofo_acc', 'lofo_family_acc', 'n_splits', 'name', 'search_space', 'seconds'
        },
        "a39dcc0add19118e",
    ),
    "sse_flows.models.schemas.EnsembleSpec": (
        {
            'algorithms', 'cache_problem', 'calibration', 'domain_threshold', 'feature_names',
            'fraction_elements', 'interval_halfwidth', 'interval_level', 'model_path',
            'n_training', 'param_selection', 'params', 'recipe', 'seeds', 'target', 'test_size',
            'training_hash', 'training_source'
        },
        "fec44cb32c625117",
    ),
    "sse_flows.models.schemas.MaterialVote": (
        {
            'candidate', 'error', 'formula', 'in_domain', 'log10_sigma', 'log10_sigma_high',
            'log10_sigma_low', 'material_id', 'p_superionic', 'reason', 'votes'
        },
        "a751895e2df2f038",
    ),
    "sse_flows.models.schemas.ModelEvaluationDoc": (
        {
            'accuracies', 'algorithms', 'confusion_matrices', 'feature_names', 'importances',
            'importances_std', 'majority_rate', 'metrics', 'n_samples', 'n_superionic',
            'per_split', 'protocol', 'provenance', 'seconds'
        },
        "d09b1dd72b126402",
    ),
    "sse_flows.models.schemas.SplitMetrics": (
        {
            'accuracy', 'algorithm', 'auc', 'best_params', 'confusion', 'f1', 'n_test',
            'n_train', 'scheme', 'seed', 'split'
        },
        "8565e6ffad056713",
    ),
    "sse_flows.models.schemas.VoteDoc": (
        {
            'candidates', 'ensemble', 'min_votes', 'n_candidates', 'n_errors', 'n_materials',
            'n_votes_by_rule', 'provenance', 'seconds', 'votes'
        },
        "938b17c9f7f77e5e",
    ),
    "sse_flows.provenance.Provenance": (
        {
            'code_version', 'created_at', 'data_version', 'inputs', 'parameter_hash',
            'parameters'
        },
        "17a462b7c54a632c",
    ),
    "sse_flows.ranking.schemas.CandidateDoc": (
        {
            'acquisition_basis', 'acquisition_rank', 'acquisition_score', 'anion_class',
            'arrhenius', 'band_gap', 'combined_from', 'diffusion_flags', 'e_hull', 'ea_eV',
            'ea_err_eV', 'formula', 'in_domain', 'li_hops', 'log10_sigma_combined',
            'log10_sigma_combined_err', 'log10_sigma_combined_is_upper_bound',
            'log10_sigma_model', 'log10_sigma_model_high', 'log10_sigma_model_low',
            'material_id', 'md_engine', 'md_protocol', 'md_reason', 'md_status', 'p_combined',
            'p_superionic', 'passed_vote', 'role', 'selection_reason', 'sigma_rt_S_cm',
            'sigma_rt_high', 'sigma_rt_low', 'structure_origin', 'v_ox', 'v_red', 'verdict',
            'votes_gb', 'votes_lgbm'
        },
        "3b03678291de3914",
    ),
    "sse_flows.ranking.schemas.MDValidationDoc": (
        {'results'},
        "9aa801b0b21b55ca",
    ),
    "sse_flows.ranking.schemas.RankingDoc": (
        {
            'candidates', 'controls', 'controls_passed', 'md_reduced_protocol', 'md_top',
            'n_md_ok', 'n_screened', 'n_superionic', 'n_voted_candidates', 'provenance',
            'selection_funnel'
        },
        "b376824f7107964d",
    ),
    "sse_flows.ranking.schemas.SelectionStage": (
        {'count', 'description', 'name'},
        "dcf469e22ecb24c7",
    ),
    "sse_flows.ranking.selection.MDTarget": (
        {'formula', 'label', 'material_id', 'role', 'structure', 'structure_origin'},
        "ca04832fa684f126",
    ),
    "sse_flows.ranking.selection.SelectionDoc": (
        {
            'funnel', 'max_md', 'md_scope', 'md_top', 'n_scored', 'n_screened', 'provenance',
            'rows', 'seconds', 'targets'
        },
        "4491b299154a8796",
    ),
    "sse_flows.screening.hull.HullAgreement": (
        {
            'fraction_same_stability', 'fraction_within_tolerance', 'median_abs_difference',
            'n_compared', 'n_stable_mp_only', 'n_stable_ours_only', 'stability_tolerance',
            'tolerance'
        },
        "1aa03a30d45b0b22",
    ),
    "sse_flows.screening.schemas.FunnelStage": (
        {'count', 'description', 'name'},
        "dcf469e22ecb24c7",
    ),
    "sse_flows.screening.schemas.ScreenedMaterial": (
        {
            'anion_class', 'anion_elements', 'band_gap', 'e_above_hull', 'e_above_hull_source',
            'formula', 'material_id', 'structure_origin', 'v_ox', 'v_red'
        },
        "6cbc909eceb042da",
    ),
    "sse_flows.screening.schemas.ScreeningDoc": (
        {
            'anion_classes', 'criteria', 'data_version', 'hull_agreement', 'n_phase_diagrams',
            'on_hull', 'provenance', 'source', 'stage_members', 'stage_seconds', 'stages',
            'structure_coverage', 'survivors'
        },
        "1a6917118f9b1be5",
    ),
    "sse_flows.screening.schemas.StructureCoverage": (
        {'by_tier', 'library', 'missing', 'n_survivors', 'n_with_structure'},
        "b7cb97c690ee9471",
    ),
    "sse_flows.sources.schemas.MaterialRecord": (
        {
            'band_gap', 'band_gaps', 'data_version', 'elements', 'energy_above_hull',
            'formation_energy_per_atom', 'formula', 'material_id', 'nelements', 'source',
            'structure'
        },
        "80612b9380dc7f8d",
    ),
    "sse_flows.structure_stage.schemas.StructureDescriptorsDoc": (
        {
            'bvse_barrier_1d_eV', 'bvse_barrier_2d_eV', 'bvse_barrier_3d_eV', 'error',
            'formula', 'free_volume_fraction', 'label', 'li_li_min_A', 'li_network_dimension',
            'li_network_fraction', 'li_per_nm3', 'li_percolation_1d_A', 'li_percolation_2d_A',
            'li_percolation_3d_A', 'material_id', 'n_sites', 'ordered', 'oxidation_states',
            'seconds', 'structure_score', 'volume_per_anion_A3'
        },
        "04e26b2d95eb11e9",
    ),
    "sse_flows.structure_stage.schemas.StructureStageDoc": (
        {'documents', 'n_failed', 'n_materials', 'n_ok', 'provenance', 'seconds'},
        "17830bb3867fef02",
    ),
}


def _properties(path: str) -> dict:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name).model_json_schema()["properties"]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_document_keeps_its_field_names(path):
    names, _ = EXPECTED[path]
    assert set(_properties(path)) == names


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_document_keeps_its_field_types_defaults_and_descriptions(path):
    _, digest = EXPECTED[path]
    properties = json.dumps(_properties(path), sort_keys=True).encode()
    assert hashlib.sha256(properties).hexdigest()[:16] == digest
