"""Unit tests of the hard logic: thresholds, sums, site groups, add-on arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.families.destruction import premalignant_destruction_lines
from rulebooks.engine.families.flaps import adjacent_tissue_transfer_lines
from rulebooks.engine.families.mohs import mohs_lines
from rulebooks.engine.families.removal import skin_tag_lines
from rulebooks.engine.families.repair import complex_repair_lines
from rulebooks.engine.sites import LESION_GROUPS, REPAIR_GROUPS, anatomic_region
from rulebooks.engine.sizes import excised_diameter_cm, size_cm


class TestPremalignantDestruction:
    @pytest.mark.parametrize(
        ("count", "expected"),
        [
            pytest.param(0, [], id="no lesion is no line"),
            pytest.param(1, [("17000", 1)], id="one lesion is 17000"),
            pytest.param(2, [("17000", 1), ("17003", 1)], id="two lesions add one 17003"),
            pytest.param(14, [("17000", 1), ("17003", 13)], id="fourteen lesions are 17000 and 13 of 17003"),
            pytest.param(15, [("17004", 1)], id="fifteen lesions are 17004 alone"),
            pytest.param(200, [("17004", 1)], id="two hundred lesions are still one 17004"),
        ],
    )
    def test_lines_for_a_lesion_count(self, count, expected):
        assert premalignant_destruction_lines(count) == expected

    @given(st.integers(min_value=1, max_value=500))
    def test_17004_is_never_combined_with_17000_or_17003(self, count):
        codes = {code for code, _ in premalignant_destruction_lines(count)}
        assert not ({"17004"} & codes and {"17000", "17003"} & codes)
        units = dict(premalignant_destruction_lines(count))
        assert units.get("17003", 0) <= 13
        if count < 15:
            assert 1 + units.get("17003", 0) == count

    @given(st.integers(min_value=1, max_value=100), st.integers(min_value=1, max_value=100))
    def test_a_payer_cap_recodes_from_the_capped_count(self, count, cap):
        """The rule language's "cap lesions at N" action calls the same function with min(count, N)."""
        capped = premalignant_destruction_lines(min(count, cap))
        assert capped == premalignant_destruction_lines(min(count, cap))
        if cap == 10 and count >= 10:
            assert capped == [("17000", 1), ("17003", 9)]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(1, [("11200", 1)], id="one tag is 11200"),
        pytest.param(15, [("11200", 1)], id="fifteen tags are still 11200"),
        pytest.param(16, [("11200", 1), ("11201", 1)], id="sixteen tags add one 11201"),
        pytest.param(25, [("11200", 1), ("11201", 1)], id="twenty-five tags add one 11201"),
        pytest.param(26, [("11200", 1), ("11201", 2)], id="twenty-six tags add two 11201"),
    ],
)
def test_skin_tags_count_in_blocks(tags, expected):
    assert skin_tag_lines(tags) == expected


@pytest.mark.parametrize(
    ("group", "length_cm", "expected"),
    [
        pytest.param("trunk", 1.1, [("13100", 1)], id="complex trunk 1.1 cm is the first band"),
        pytest.param("trunk", 2.6, [("13101", 1)], id="complex trunk 2.6 cm is the second band"),
        pytest.param("trunk", 7.5, [("13101", 1)], id="complex trunk 7.5 cm needs no add-on"),
        pytest.param("trunk", 7.6, [("13101", 1), ("13102", 1)], id="complex trunk 7.6 cm needs one add-on"),
        pytest.param("trunk", 12.5, [("13101", 1), ("13102", 1)], id="five centimetres beyond is one add-on"),
        pytest.param("trunk", 12.6, [("13101", 1), ("13102", 2)], id="just over five beyond is two add-ons"),
        pytest.param("eyelids_nose_ears_lips", 9.0, [("13152", 1), ("13153", 1)], id="complex nose 9 cm"),
    ],
)
def test_complex_repair_add_ons(group, length_cm, expected):
    assert complex_repair_lines(group, length_cm) == expected


@pytest.mark.parametrize(
    ("defect_sq_cm", "expected"),
    [
        pytest.param(10.0, [("14000", 1)], id="a 10 sq cm trunk flap is the small code"),
        pytest.param(10.1, [("14001", 1)], id="a 10.1 sq cm trunk flap is the larger code"),
        pytest.param(30.0, [("14001", 1)], id="30 sq cm is still the site code"),
        pytest.param(30.1, [("14301", 1)], id="30.1 sq cm is 14301 in any area"),
        pytest.param(60.0, [("14301", 1)], id="60 sq cm needs no 14302"),
        pytest.param(90.0, [("14301", 1), ("14302", 1)], id="90 sq cm is one 14302"),
        pytest.param(90.1, [("14301", 1), ("14302", 2)], id="90.1 sq cm is two 14302"),
    ],
)
def test_adjacent_tissue_transfer_sizes(defect_sq_cm, expected):
    assert adjacent_tissue_transfer_lines("trunk", defect_sq_cm) == expected


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param([5], [("17311", 1)], id="five blocks need no 17315"),
        pytest.param([6], [("17311", 1), ("17315", 1)], id="six blocks add one 17315"),
        pytest.param([5, 5, 5], [("17311", 1), ("17312", 2)], id="three full stages are two additional stages"),
        pytest.param([10, 1], [("17311", 1), ("17312", 1), ("17315", 5)], id="ten blocks then one add five 17315"),
    ],
)
def test_mohs_stages_and_blocks(blocks, expected):
    assert mohs_lines("head_neck_hands_feet_genitalia", blocks) == expected


@pytest.mark.parametrize(
    ("site", "region"),
    [
        pytest.param("Left nasal ala", "nose", id="nasal ala is the nose"),
        pytest.param("R dorsal hand", "hand", id="dorsal hand is the hand"),
        pytest.param("back of hand", "hand", id="back of hand is the hand, not the back"),
        pytest.param("upper back", "trunk", id="upper back is the trunk"),
        pytest.param("right helical rim", "ear", id="helical rim is the ear"),
        pytest.param("left lower eyelid", "eyelid", id="lower eyelid is the eyelid"),
        pytest.param("bilateral axillae", "axilla", id="axillae are the axilla"),
        pytest.param("nose and cheek", None, id="two regions are ambiguous"),
        pytest.param("right shoulder", None, id="the shoulder is not placed by the reference"),
        pytest.param("", None, id="no text is no region"),
    ],
)
def test_site_text_to_region(site, region):
    assert anatomic_region(site) == region


def test_the_neck_is_grouped_differently_by_each_repair_classification():
    assert REPAIR_GROUPS["simple"]["neck"] == "scalp_neck_axillae_genitalia_trunk_extremities"
    assert REPAIR_GROUPS["intermediate"]["neck"] == "neck_hands_feet_genitalia"
    assert REPAIR_GROUPS["complex"]["neck"] == "forehead_cheeks_chin_mouth_neck_axillae_genitalia_hands_feet"
    assert LESION_GROUPS["neck"] == "scalp_neck_hands_feet_genitalia"


@pytest.mark.parametrize(
    ("lesion_cm", "margin_cm", "excised_cm", "code"),
    [
        pytest.param(0.3, 0.1, 0.5, "11600", id="0.5 cm excised is the smallest band"),
        pytest.param(0.4, 0.1, 0.6, "11601", id="0.6 cm excised is the second band"),
        pytest.param(1.8, 0.3, 2.4, "11603", id="the reference's 18 mm SCC with 3 mm margins"),
        pytest.param(3.0, 0.5, 4.0, "11604", id="exactly 4.0 cm is 11604"),
        pytest.param(3.2, 0.5, 4.2, "11606", id="over 4.0 cm is 11606"),
    ],
)
def test_excised_diameter_bands(lesion_cm, margin_cm, excised_cm, code):
    assert excised_diameter_cm(lesion_cm, margin_cm) == excised_cm
    band = banded_code("excision_malignant", "trunk_arms_legs", excised_cm)
    assert band is not None and band.code == code


@given(st.floats(min_value=0.01, max_value=50, allow_nan=False))
def test_sizes_round_to_tenths(value):
    rounded = size_cm(value)
    assert abs(rounded - value) <= 0.05 + 1e-9
    assert round(rounded * 10) == pytest.approx(rounded * 10)
