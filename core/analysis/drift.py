"""Data drift: per-feature tests, dataset drift, drift per segment and over time.

:class:`DriftDetector` follows scikit-learn's shape: ``fit(reference)`` keeps what the tests
need (sorted numeric columns, bin edges, category frequencies) and ``compare(current)``
returns a typed report. Adding a test means one small function in :data:`NUMERIC_TESTS` or
:data:`CATEGORICAL_TESTS`; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analysis.drift_stats import CATEGORICAL_TESTS, NUMERIC_TESTS, benjamini_hochberg
from core.errors import InvalidInputError
from core.names import TARGET
from core.registry.reference import load_version_frame

#: Columns the prediction log adds beside the features (see ``core.store.log_reads.logged_inputs``).
LOG_COLUMNS = ("at", "arm", "version", "predicted")
#: What the Drift page and the detector accept as ``numeric_test``.
NUMERIC_TEST_NAMES = ["auto", *NUMERIC_TESTS]
#: Fewer current rows than this give no verdict: per feature, per slice or for the dataset.
MIN_ROWS = 30
#: ``auto`` judges numeric features by KS p-value below this many current rows, by PSI from it:
#: at volume a p-value flags differences too small to matter (Evidently switches the same way).
AUTO_DISTANCE_ROWS = 1_000


def numeric_test_for(name: str, rows: int) -> str:
    """The numeric test ``name`` stands for on ``rows`` current values (``auto`` resolved)."""
    if name != "auto":
        return name
    return "ks" if rows < AUTO_DISTANCE_ROWS else "psi"


@dataclass(frozen=True)
class DriftReport:
    """The result of :meth:`DriftDetector.compare`."""

    features: pd.DataFrame  # column, kind, test, statistic, p_value, p_adjusted, threshold, drifted
    n_reference: int
    n_current: int
    drift_share_threshold: float
    min_rows: int = MIN_ROWS

    @property
    def enough_rows(self) -> bool:
        """False when the current data has too few rows for any verdict (see :data:`MIN_ROWS`)."""
        return self.n_current >= self.min_rows

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return self.features.loc[self.features["drifted"], "column"].tolist()

    def ranked_features(self) -> pd.DataFrame:
        """The per-feature table with drifted features first, then by p-value (or distance)."""
        table = self.features.assign(_order=self.features["p_value"].fillna(-self.features["statistic"]))
        ranked = table.sort_values(["drifted", "_order"], ascending=[False, True], kind="stable")
        return ranked.drop(columns="_order").reset_index(drop=True)

    @property
    def share(self) -> float:
        """Share of features that drifted."""
        return float(self.features["drifted"].mean()) if len(self.features) else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when the share of drifted features reaches the threshold (never on too few rows)."""
        return self.enough_rows and self.share >= self.drift_share_threshold


class DriftDetector:
    """Fit on reference data once, compare any current data against it.

    Args:
        numeric_test: ``auto`` (default: ``ks`` below :data:`AUTO_DISTANCE_ROWS` current rows,
            ``psi`` from there), ``ks``, ``wasserstein`` (normalised) or ``psi``.
        categorical_test: ``chi2`` (default) or ``js``.
        threshold: p-value level or distance threshold (default: the test's usual one).
        drift_share: share of drifted features that makes the dataset drifted.
        bins: quantile bins for PSI.
        max_categories: a numeric column with at most this many distinct values is categorical.

    Example:
        >>> det = DriftDetector().fit(reference_df)      # doctest: +SKIP
        >>> det.compare(current_df).dataset_drift       # doctest: +SKIP
    """

    def __init__(
        self,
        numeric_test: str = "auto",
        categorical_test: str = "chi2",
        threshold: float | None = None,
        drift_share: float = 0.5,
        bins: int = 10,
        max_categories: int = 10,
    ) -> None:
        self.numeric_test = numeric_test
        self.categorical_test = categorical_test
        self.threshold = threshold
        self.drift_share = drift_share
        self.bins = bins
        self.max_categories = max_categories

    def get_params(self) -> dict[str, object]:
        """The constructor's arguments, for an unfitted copy (``DriftDetector(**det.get_params())``)."""
        return {
            "numeric_test": self.numeric_test,
            "categorical_test": self.categorical_test,
            "threshold": self.threshold,
            "drift_share": self.drift_share,
            "bins": self.bins,
            "max_categories": self.max_categories,
        }

    def fit(self, reference: pd.DataFrame) -> DriftDetector:
        """Learn what the tests need from ``reference``; returns ``self``."""
        if self.numeric_test not in NUMERIC_TEST_NAMES:
            raise InvalidInputError(f"unknown numeric test {self.numeric_test!r}; use one of {NUMERIC_TEST_NAMES}")
        if self.categorical_test not in CATEGORICAL_TESTS:
            raise InvalidInputError(
                f"unknown categorical test {self.categorical_test!r}; use one of {list(CATEGORICAL_TESTS)}"
            )
        if reference.empty:
            raise InvalidInputError("the reference data is empty")
        self.columns_: list[str] = [str(c) for c in reference.columns]
        self.kinds_: dict[str, str] = {}
        self.state_: dict[str, dict] = {}
        for column in self.columns_:
            values = reference[column]
            moments = pd.api.types.is_datetime64_any_dtype(values)  # dates are tested as time on a numeric axis
            if moments:
                values = _seconds(values)
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            if moments or (numeric and values.nunique(dropna=True) > self.max_categories):
                clean = values.dropna().to_numpy(dtype=float)
                edges = np.unique(np.quantile(clean, np.linspace(0, 1, self.bins + 1)))
                if len(edges) < 2:
                    edges = np.array([clean.min() - 0.5, clean.max() + 0.5])
                self.kinds_[column] = "numeric"
                self.state_[column] = {
                    "datetime": moments,
                    "sorted": np.sort(clean),
                    "std": float(clean.std()),
                    "edges": edges,
                    "ref_share": np.histogram(clean, bins=edges)[0] / len(clean),
                }
            else:
                counts = values.dropna().astype(str).value_counts()
                self.kinds_[column] = "categorical"
                self.state_[column] = {
                    "categories": counts.index.tolist(),
                    "shares": (counts / counts.sum()).to_numpy(),
                    "n": int(counts.sum()),
                }
        self.n_reference_ = len(reference)
        return self

    def validate(self, current: pd.DataFrame) -> pd.DataFrame:
        """``current`` restricted to the fitted columns, or :class:`InvalidInputError` listing every problem."""
        if not hasattr(self, "columns_"):
            raise InvalidInputError("the drift detector is not fitted; call fit(reference) first")
        problems = []
        if current.empty:
            raise InvalidInputError("the current data has no rows")
        missing = [c for c in self.columns_ if c not in current.columns]
        extra = [str(c) for c in current.columns if str(c) not in self.columns_]
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected column(s): {', '.join(extra)}")
        for column in self.columns_:
            if column not in current.columns:
                continue
            values = current[column]
            if values.isna().all():
                problems.append(f"column {column!r} is empty (all values missing)")
            elif self.kinds_[column] == "numeric" and not pd.api.types.is_numeric_dtype(values):
                coerced = self._numbers(column, values)
                bad = values[coerced.isna() & values.notna()]
                if len(bad):
                    problems.append(
                        f"column {column!r} must be numeric: {len(bad)} value(s) are not, e.g. {bad.iloc[0]!r}"
                    )
        if problems:
            raise InvalidInputError("; ".join(problems))
        return current[self.columns_]

    def _numbers(self, column: str, values: pd.Series) -> pd.Series:
        """A numeric column's values as numbers (seconds since 1970 for a date-time column), NaN if not one."""
        if self.state_[column].get("datetime"):
            return _seconds(values)
        return pd.to_numeric(values, errors="coerce")

    def compare(self, current: pd.DataFrame) -> DriftReport:
        """Test every feature of ``current`` against the reference."""
        current = self.validate(current)
        rows = []
        for column in self.columns_:
            kind = self.kinds_[column]
            if kind == "numeric":
                values = self._numbers(column, current[column]).to_numpy(dtype=float)
                values = values[~np.isnan(values)]
                name = numeric_test_for(self.numeric_test, len(values))
            else:
                values = current[column].dropna()
                name = self.categorical_test
            test, default = (NUMERIC_TESTS if kind == "numeric" else CATEGORICAL_TESTS)[name]
            automatic = kind == "numeric" and self.numeric_test == "auto"  # p-level or distance: its own default
            threshold = default if self.threshold is None or automatic else self.threshold
            result = test(self.state_[column], values, threshold)
            rows.append(
                {
                    "column": column,
                    "kind": kind,
                    "test": name,
                    "statistic": result.statistic,
                    "p_value": result.p_value,
                    "threshold": result.threshold,
                }
            )
        frame = pd.DataFrame(rows)
        frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].to_numpy())
        uses_p = frame["p_value"].notna()
        frame["drifted"] = np.where(
            uses_p, frame["p_adjusted"] < frame["threshold"], frame["statistic"] > frame["threshold"]
        )
        frame = frame[["column", "kind", "test", "statistic", "p_value", "p_adjusted", "threshold", "drifted"]]
        return DriftReport(frame, self.n_reference_, len(current), self.drift_share)


def drift_over_time(
    detector: DriftDetector,
    current: pd.DataFrame,
    *,
    freq: str | None = None,
    size: int | None = None,
    min_rows: int = MIN_ROWS,
) -> pd.DataFrame:
    """Drift share per window of ``current`` (needs an ``at`` column): by time (``freq``) or count (``size``)."""
    if (freq is None) == (size is None):
        raise InvalidInputError("choose windows by time (freq) or by count (size)")
    data = current.sort_values("at").reset_index(drop=True)
    groups = data.groupby(pd.Grouper(key="at", freq=freq)) if freq else data.groupby(data.index // size)
    rows = []
    for _, window in groups:
        if len(window) < min_rows:
            continue
        report = detector.compare(window.drop(columns=["at"]))
        rows.append(
            {
                "start": window["at"].iloc[0],
                "end": window["at"].iloc[-1],
                "rows": len(window),
                "drift_share": report.share,
                "dataset_drift": report.dataset_drift,
                "drifted": ", ".join(report.drifted),
            }
        )
    return pd.DataFrame(rows, columns=["start", "end", "rows", "drift_share", "dataset_drift", "drifted"])


def _seconds(values: pd.Series) -> pd.Series:
    """Date-times (datetime64 or ISO text, naive taken as UTC) as seconds since 1970; NaN where not one."""
    moments = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    ns = moments.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype("int64")  # NaT: masked below
    return pd.Series(ns / 1e9, index=values.index).where(moments.notna().to_numpy())


def fit_for_version(registry: object, model: str, version: int, **params: object) -> DriftDetector:
    """A detector fitted on the reference data stored with ``model`` v``version`` (target excluded).

    Raises:
        InvalidInputError: no reference data, or fewer than :data:`MIN_ROWS` rows of it (an input
            example of 3 rows would make every feature look drifted).
    """

    reference = load_version_frame(registry, model, version, "reference")  # type: ignore[arg-type]
    if len(reference) < MIN_ROWS:
        raise InvalidInputError(
            f"{model} v{version}'s reference data is {reference.attrs.get('source', 'too small')}: {len(reference)} "
            f"rows are too few to test drift against (at least {MIN_ROWS}); attach reference rows of the training "
            "data (Registry page, Reference rows)"
        )
    return DriftDetector(**params).fit(reference.drop(columns=[TARGET], errors="ignore"))  # type: ignore[arg-type]


def report_html(title: str, report: DriftReport, figures: list) -> str:
    """A self-contained HTML report: summary, per-feature table and figures (plotly inlined once)."""
    import html

    import plotly.io as pio

    parts = [
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Dataset drift: <b>{'yes' if report.dataset_drift else 'no'}</b> — {len(report.drifted)} of "
        f"{len(report.features)} features drifted ({report.share:.0%}, threshold {report.drift_share_threshold:.0%}); "
        f"{report.n_reference:,} reference rows, {report.n_current:,} current rows.</p>",
        report.features.to_html(index=False, float_format=lambda v: f"{v:.4g}"),
    ]
    for i, fig in enumerate(figures):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs="inline" if i == 0 else False))
    parts.append("</body></html>")
    return "\n".join(parts)
