"""features/validate.scale_slips: a x1000 slip is caught, a small count after a zero is not."""
import pandas as pd

from kzmig.features.data.validate import scale_slips


def test_scale_slip_check_ignores_zero_neighbours():
    """1 emigrant to Tajikistan after 0 is not a x1000 scale slip; a real slip still is."""
    df = pd.DataFrame({"region": "kazakhstan", "variable": "x", "year": [2022, 2023, 2024, 2025],
                       "value": [3.0, 0.0, 0.0, 1.0]})
    assert not scale_slips(df).any()
    df2 = df.assign(value=[3.0, 4.0, 3500.0, 4.0])
    assert scale_slips(df2).tolist() == [False, False, True, False]
