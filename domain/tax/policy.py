"""The tax policies as data: dated VAT rates and the tax calendar.

``policies/vat_rates.yaml`` lists, per member state, the standard rate with the day it
took effect and the reduced rates likewise; ``rate("DE", "standard", date(2020, 8, 1))``
is ``16`` (the German cut of the second half of 2020), ``19`` on 2021-01-01.
``policies/tax_calendar.yaml`` says which returns are filed, when they are due, and
when finance is reminded: the OSS return of ``2026-Q3`` is due on 2026-10-31, the CA3
of ``2026-10`` on the configured day of November.

Both files are parsed into frozen dataclasses; a mistake names its line::

    - {from: 2024-13-01, rate: "22"}   ->  PolicyError("vat_rates.yaml:61: EE standard:
                                           'from' must be a date YYYY-MM-DD, got ...")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from domain.normalise.codes import EU_MEMBERS, vat_country
from domain.tax.periods import KINDS, add_months, bounds, last_day, period_of

#: ISO 3166 codes of the 27 member states (Greece is GR here, EL in VAT ids).
EU_COUNTRIES = frozenset(vat_country(prefix) for prefix in EU_MEMBERS)
CATEGORIES = ("standard", "reduced_low", "reduced_high", "super_reduced", "parking")
REGIMES = ("OSS", "FR_CA3")


_Dated = TypeVar("_Dated", "StandardRate", "ReducedRates")


class PolicyError(ValueError):
    """A policy file that cannot be used, with ``file:line:`` in front of the reason."""


class RateMissing(LookupError):
    """No rate of that category is recorded for that country on that day."""


@dataclass(frozen=True)
class StandardRate:
    start: date
    rate: Decimal
    source: str


@dataclass(frozen=True)
class ReducedRates:
    start: date
    rates: tuple[Decimal, ...]
    super_reduced: Decimal | None
    parking: Decimal | None
    source: str


@dataclass(frozen=True)
class CountryRates:
    country: str
    standard: tuple[StandardRate, ...]
    reduced: tuple[ReducedRates, ...]


@dataclass(frozen=True)
class VatRates:
    """Dated rates per member state; ``products`` maps a product id to its category."""

    countries: Mapping[str, CountryRates]
    default_category: str = "standard"
    products: Mapping[str, str] = field(default_factory=dict)

    def category_of(self, product_id: str | None) -> str:
        return self.products.get(product_id or "", self.default_category)

    def rate(self, country: str, category: str, day: date) -> Decimal:
        """The rate (percentage) of ``category`` in ``country`` on ``day``."""
        entry = self.countries.get(country)
        if entry is None:
            raise RateMissing(f"no VAT rates for {country!r}: not an EU member state")
        if category == "standard":
            standard = _in_force(entry.standard, day)
            if standard is None:
                raise RateMissing(f"no standard rate of {country} recorded on {day}")
            return standard.rate
        reduced = _in_force(entry.reduced, day)
        value: Decimal | None = None
        if reduced is not None:
            value = {
                "reduced_low": min(reduced.rates, default=None),
                "reduced_high": max(reduced.rates, default=None),
                "super_reduced": reduced.super_reduced,
                "parking": reduced.parking,
            }.get(category)
        if value is None:
            raise RateMissing(f"no {category} rate of {country} recorded on {day}")
        return value

    def rates_on(self, country: str, day: date) -> frozenset[Decimal]:
        """Every rate of ``country`` in force on ``day`` (empty when none is recorded)."""
        entry = self.countries.get(country)
        if entry is None:
            return frozenset()
        found: set[Decimal] = set()
        if (standard := _in_force(entry.standard, day)) is not None:
            found.add(standard.rate)
        if (reduced := _in_force(entry.reduced, day)) is not None:
            found.update(reduced.rates)
            found.update(r for r in (reduced.super_reduced, reduced.parking) if r is not None)
        return frozenset(found)


@dataclass(frozen=True)
class ReturnRule:
    """How one return is periodised and when it is due (``due_day`` None: the last day)."""

    regime: str
    period: str
    due_months_after: int
    due_day: int | None


@dataclass(frozen=True)
class TaxCalendar:
    seller_country: str = "FR"
    finance_locale: str = "fr"
    reminder_days: tuple[int, ...] = (10, 3)
    returns: Mapping[str, ReturnRule] = field(default_factory=dict)
    oss_threshold: int = 1_000_000

    def period_of(self, regime: str, day: date) -> str:
        return period_of(self.returns[regime].period, day)

    def due_on(self, regime: str, period: str) -> date:
        """The due date of ``regime``'s return for ``period`` (``OSS 2026-Q3`` -> 2026-10-31)."""
        rule = self.returns[regime]
        year, month = add_months(bounds(period)[1], rule.due_months_after)
        end = last_day(year, month)
        return end if rule.due_day is None else end.replace(day=min(rule.due_day, end.day))


# -- parsing ----------------------------------------------------------------------------


def load_vat_rates(folder: Path | str) -> VatRates:
    path = Path(folder) / "vat_rates.yaml"
    return parse_vat_rates(path.read_text(encoding="utf-8"), source=str(path))


def load_tax_calendar(folder: Path | str) -> TaxCalendar:
    path = Path(folder) / "tax_calendar.yaml"
    return parse_tax_calendar(path.read_text(encoding="utf-8"), source=str(path))


def parse_vat_rates(text: str, source: str = "vat_rates.yaml") -> VatRates:
    root = _mapping(_compose(text, source), source, "the file")
    unknown = set(root) - {"default_category", "products", "countries"}
    if unknown:
        key = sorted(unknown)[0]
        raise PolicyError(f"{_at(source, root[key][0])}: unknown setting {key!r}")
    default = _plain(root["default_category"][1]) if "default_category" in root else "standard"
    if default not in CATEGORIES:
        where = _at(source, root["default_category"][1])
        raise PolicyError(f"{where}: default_category must be one of {CATEGORIES}")
    products: dict[str, str] = {}
    if "products" in root:
        for name, (key_node, value) in _mapping(root["products"][1], source, "products").items():
            category = _plain(value)
            if category not in CATEGORIES:
                raise PolicyError(
                    f"{_at(source, key_node)}: products.{name}: category must be one of "
                    f"{CATEGORIES}, got {category!r}"
                )
            products[name] = category
    if "countries" not in root:
        raise PolicyError(f"{source}:1: countries: missing")
    countries = {}
    for code, (key_node, node) in _mapping(root["countries"][1], source, "countries").items():
        if code not in EU_COUNTRIES:
            raise PolicyError(f"{_at(source, key_node)}: {code!r} is not an EU member state")
        countries[code] = _country(code, _mapping(node, source, code), source)
    missing = sorted(EU_COUNTRIES - set(countries))
    if missing:
        raise PolicyError(f"{source}:1: countries: missing {', '.join(missing)}")
    return VatRates(countries=countries, default_category=default, products=products)


def parse_tax_calendar(text: str, source: str = "tax_calendar.yaml") -> TaxCalendar:
    root = _mapping(_compose(text, source), source, "the file")
    known = {"seller_country", "finance_locale", "reminder_days", "returns", "oss_threshold"}
    values: dict[str, Any] = {}
    for name, (key_node, node) in root.items():
        where = _at(source, key_node)
        if name not in known:
            raise PolicyError(f"{where}: unknown setting {name!r}")
        value = _plain(node)
        if name == "seller_country":
            if value not in EU_COUNTRIES:
                raise PolicyError(f"{where}: seller_country must be an EU member state")
        elif name == "finance_locale":
            if value not in ("fr", "en"):
                raise PolicyError(f"{where}: finance_locale must be 'fr' or 'en', got {value!r}")
        elif name == "reminder_days":
            if not isinstance(value, list) or not all(_whole(v) for v in value):
                raise PolicyError(f"{where}: reminder_days must be a list of days >= 0")
            value = tuple(sorted(set(value), reverse=True))
        elif name == "oss_threshold":
            if not _whole(value):
                raise PolicyError(f"{where}: oss_threshold must be euro cents >= 0")
        else:
            value = {
                regime: _return_rule(regime, key, rule_node, source)
                for regime, (key, rule_node) in _mapping(node, source, "returns").items()
            }
            absent = [r for r in REGIMES if r not in value]
            if absent:
                raise PolicyError(f"{where}: returns: missing {', '.join(absent)}")
        values[name] = value
    return TaxCalendar(**values)


def _return_rule(regime: str, key_node: yaml.Node, node: yaml.Node, source: str) -> ReturnRule:
    where = _at(source, key_node)
    if regime not in REGIMES:
        raise PolicyError(f"{where}: unknown return {regime!r}: expected one of {REGIMES}")
    fields_ = {name: _plain(value) for name, (_, value) in _mapping(node, source, regime).items()}
    if set(fields_) != {"period", "due_months_after", "due_day"}:
        raise PolicyError(f"{where}: {regime} needs exactly period, due_months_after, due_day")
    if fields_["period"] not in KINDS:
        raise PolicyError(f"{where}: {regime}.period must be one of {KINDS}")
    if not _whole(fields_["due_months_after"]):
        raise PolicyError(f"{where}: {regime}.due_months_after must be a whole number")
    day = fields_["due_day"]
    if day != "last" and not (_whole(day) and 1 <= day <= 31):
        raise PolicyError(f"{where}: {regime}.due_day must be 1-31 or 'last', got {day!r}")
    return ReturnRule(
        regime, fields_["period"], fields_["due_months_after"], None if day == "last" else day
    )


def _country(code: str, node: dict[str, tuple[yaml.Node, yaml.Node]], source: str) -> CountryRates:
    if set(node) - {"standard", "reduced"} or "standard" not in node:
        raise PolicyError(
            f"{source}:{_line(next(iter(node.values()))[0])}: {code}: "
            "expected 'standard' and 'reduced' lists"
        )
    standard = tuple(
        StandardRate(start, _rate(fields_["rate"], where, "rate"), str(fields_.get("source")))
        for start, fields_, where in _entries(node["standard"], source, f"{code} standard")
    )
    reduced = tuple(
        ReducedRates(
            start,
            tuple(_rate(r, where, "rates") for r in _list(fields_.get("rates"), where)),
            _rate(fields_["super_reduced"], where, "super_reduced")
            if "super_reduced" in fields_
            else None,
            _rate(fields_["parking"], where, "parking") if "parking" in fields_ else None,
            str(fields_.get("source")),
        )
        for start, fields_, where in _entries(
            node.get("reduced", (None, None)), source, f"{code} reduced"
        )
    )
    if not standard:
        raise PolicyError(f"{source}:1: {code}: no standard rate")
    return CountryRates(code, standard, reduced)


def _entries(
    pair: tuple[yaml.Node | None, yaml.Node | None], source: str, label: str
) -> list[tuple[date, dict[str, Any], str]]:
    """The dated entries of one list, checked to be in order of their ``from`` dates."""
    _, node = pair
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise PolicyError(f"{_at(source, node)}: {label}: expected a list")
    out: list[tuple[date, dict[str, Any], str]] = []
    for item in node.value:
        where = f"{_at(source, item)}: {label}"
        try:
            fields_ = _plain(item, source)
        except PolicyError as exc:
            raise PolicyError(f"{where}: 'from' must be a date YYYY-MM-DD ({exc})") from None
        if not isinstance(fields_, dict):
            raise PolicyError(f"{where}: expected a mapping with 'from'")
        start = fields_.get("from")
        if not isinstance(start, date):
            raise PolicyError(f"{where}: 'from' must be a date YYYY-MM-DD, got {start!r}")
        if out and start <= out[-1][0]:
            raise PolicyError(f"{where}: dates must increase ({start} after {out[-1][0]})")
        if "source" not in fields_:
            raise PolicyError(f"{where}: every rate needs its 'source'")
        out.append((start, fields_, where))
    return out


def _in_force(entries: tuple[_Dated, ...], day: date) -> _Dated | None:
    current = None
    for entry in entries:
        if entry.start <= day:
            current = entry
    return current


def _rate(value: Any, where: str, name: str) -> Decimal:
    if not isinstance(value, str):
        raise PolicyError(f'{where}: {name}: write rates as strings ("5.5"), got {value!r}')
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise PolicyError(f"{where}: {name}: not a number: {value!r}") from None
    if not (Decimal(0) <= rate < Decimal(100)):
        raise PolicyError(f"{where}: {name}: a percentage from 0 to 100, got {value!r}")
    return rate


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PolicyError(f"{where}: 'rates' must be a list of rates")
    return value


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _compose(text: str, source: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc}") from None
    if root is None:
        raise PolicyError(f"{source}:1: empty policy")
    return root


def _mapping(node: yaml.Node, source: str, label: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(f"{_at(source, node)}: {label}: expected a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        name = str(key_node.value)
        if name in out:
            raise PolicyError(f"{_at(source, key_node)}: {label}: {name} is set twice")
        out[name] = (key_node, value_node)
    return out


def _plain(node: yaml.Node, source: str = "policy") -> Any:
    try:
        return yaml.safe_load(yaml.serialize(node))
    except (ValueError, yaml.YAMLError) as exc:  # e.g. a date 2016-13-01
        raise PolicyError(f"{_at(source, node)}: {exc}") from None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}:{_line(node)}"
