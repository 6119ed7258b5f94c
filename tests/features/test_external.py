"""features/assessment/external.py: present series, shares by hand, absent series reported absent."""
import pandas as pd
import pytest

from kzmig.features.assessment.external import CATALOGUE, external_series


def _long(rows):
    df = pd.DataFrame(rows, columns=["region", "year", "variable", "value"])
    return df.astype({"region": "string", "year": "int64", "value": "float64"})


def test_series_and_shares_hand():
    rows = [("kazakhstan", 2022, "external_departures", 200.0), ("kazakhstan", 2022, "external_departures_to_cis", 150.0),
            ("kazakhstan", 2023, "external_departures", 100.0), ("kazakhstan", 2022, "net_migration", -50.0),
            ("kazakhstan", 2022, "external_departures_education_higher", 30.0),
            ("kazakhstan", 2022, "external_departures_education_secondary_vocational", 50.0),
            ("akmola", 2022, "external_departures", 999.0)]  # regional rows are ignored
    series, status = external_series(_long(rows))
    got = series.set_index(["series", "year"])["value"]
    assert got[("share:departures_to_cis_pct", 2022)] == pytest.approx(75.0)
    assert got[("share:departures_higher_or_vocational_pct", 2022)] == pytest.approx(40.0)
    assert got[("external_net", 2022)] == -50.0  # national all-flows net = international net
    assert ("share:departures_to_cis_pct", 2023) not in got.index  # no numerator that year
    st = status.set_index("series")
    assert st.loc["external_net", "variable"] == "net_migration"
    assert not st.loc["kandas_arrivals", "present"] and "absent" in st.loc["kandas_arrivals", "note"]
    assert st.loc["external_departures", "n_years"] == 2
    assert len(status) >= len(CATALOGUE)


def test_nothing_present_is_reported_not_invented():
    series, status = external_series(_long([("akmola", 2020, "population", 1.0)]))
    assert series.empty and not status["present"].any()
    assert status.loc[status["series"] == "share:arrivals_from_cis_pct", "note"].iloc[0].startswith("needs")


def test_brain_drain_from_the_shipped_2022_article_figures():
    """National 2022: net of higher + secondary vocational over all flows, where internal moves
    cancel; checked by hand from the article's Table 6 (arrivals - departures)."""
    from kzmig.features.data.dataset import load_long
    from kzmig.features.assessment.external import external_series

    long = load_long()
    nat = long[(long["region"] == "kazakhstan") & (long["year"] == 2022)].set_index("variable")["value"]
    hand = sum(nat[f"migration_all_flows_arrivals_education_{e}"] - nat[f"migration_all_flows_departures_education_{e}"]
               for e in ("higher", "secondary_vocational"))
    series, status = external_series(long)
    got = series[(series["series"] == "brain_drain_net_higher_vocational") & (series["year"] == 2022)]["value"]
    assert got.tolist() == [hand]
    tech = series[(series["series"] == "share:departures_specialty_technical_pct")]["value"].iloc[0]
    deps = [nat[f"external_departures_specialty_{s}"] for s in
            ("technical", "pedagogical", "medical", "economic", "legal", "agricultural", "architecture_construction", "other")]
    assert tech == 100 * nat["external_departures_specialty_technical"] / sum(deps)
