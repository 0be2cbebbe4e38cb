"""Fusion of ranker scores on tiny synthetic rankings (no database)."""

from __future__ import annotations

import pytest

from incidents.similar import RRF_K, reciprocal_rank_fusion, top, weighted_fusion


def test_rrf_orders_by_summed_reciprocal_ranks() -> None:
    comps = {"fulltext": {1: 9.0, 2: 5.0, 3: 1.0}, "embedding": {2: 0.9, 3: 0.8, 1: 0.1}}
    fused = reciprocal_rank_fusion(comps)
    # 2 is 2nd and 1st, 1 is 1st and 3rd, 3 is 3rd and 2nd
    assert fused[2] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert [i for i, _ in top(fused, 3)] == [2, 1, 3]


def test_rrf_ties_share_the_best_rank() -> None:
    fused = reciprocal_rank_fusion({"structure": {5: 0.5, 6: 0.5, 7: 0.2}}, k=10)
    assert fused[5] == fused[6] == pytest.approx(1 / 11)
    assert fused[7] == pytest.approx(1 / 13)  # competition ranking: after two at rank 1 comes rank 3
    assert [i for i, _ in top(fused, 3)] == [5, 6, 7]  # equal scores: lower id first, reproducibly


def test_a_ranker_missing_a_document_adds_nothing_for_it() -> None:
    comps = {"fulltext": {1: 2.0, 2: 1.0}, "embedding": {1: 0.5, 2: 0.9, 3: 0.95}}
    rrf = reciprocal_rank_fusion(comps)
    assert rrf[3] == pytest.approx(1 / (RRF_K + 1))
    w = weighted_fusion(comps, {"fulltext": 1.0, "embedding": 1.0})
    assert w[3] == pytest.approx(0.5 * 1.0)  # best embedding, absent from full text
    assert w[1] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5 / 0.95)
    assert [i for i, _ in top(w, 3, exclude={1})] == [2, 3]


def test_weighted_fusion_scales_each_ranker_by_its_best() -> None:
    # BM25-like units 100x larger must not drown the other ranker
    comps = {"fulltext": {1: 300.0, 2: 150.0}, "structure": {2: 0.4, 1: 0.1}}
    w = weighted_fusion(comps, {"fulltext": 1.0, "structure": 3.0})
    assert w[1] == pytest.approx(0.25 * 1.0 + 0.75 * 0.25)
    assert w[2] == pytest.approx(0.25 * 0.5 + 0.75 * 1.0)
    assert [i for i, _ in top(w, 2)] == [2, 1]
    assert weighted_fusion({}, {}) == {}
