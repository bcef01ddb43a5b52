"""Extract slot values from customer messages and fill `{{slot}}` placeholders in templates."""

from __future__ import annotations

import re
from typing import Callable, Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")

# Order numbers: a letter prefix and digits (LL-482913, ORD12345) or a bare run of 6-20 digits, which is how
# many shops and the Bitext export write them. The prefix form is tried first. Boundaries are ASCII lookarounds,
# not \b, because Chinese text puts Han characters right next to Latin ones ("订单LL-482913什么时候").
_ORDER_PREFIXED = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,4}-?\d{4,12})(?![A-Za-z0-9])")
_ORDER_DIGITS = re.compile(r"(?<![\d.,A-Za-z])(\d{6,20})(?![\d.,A-Za-z])")
_ORDER_CONTEXT = re.compile(r"(order|purchase|订单)", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = re.compile(
    rf"(?<![A-Za-z0-9])(\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS})(?:,? \d{{4}})?)(?![A-Za-z0-9])"
    r"|(\d{1,2}月\d{1,2}[日号])",
    re.IGNORECASE,
)


def canonical_slot(name: str) -> str:
    """Map a slot name to the canonical name the extractors fill (e.g. order_id_anonymized -> order_number)."""
    name = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    if "order" in name and ("number" in name or "id" in name) or name.startswith("purchase_id"):
        return "order_number"
    if "email" in name and "support" not in name:
        return "email"
    return name


def extract_slots(text: str) -> dict[str, str]:
    """Return the order number, email address and date found in a customer message."""
    found: dict[str, str] = {}
    email = _EMAIL.search(text)
    if email:
        found["email"] = email.group(0)
    text_without_email = _EMAIL.sub(" ", text)
    order = _ORDER_PREFIXED.search(text_without_email)
    if order is None and _ORDER_CONTEXT.search(text_without_email):
        order = _ORDER_DIGITS.search(text_without_email)
    if order is None:
        bare = _ORDER_DIGITS.fullmatch(text_without_email.strip().strip("#"))
        order = bare
    if order:
        found["order_number"] = order.group(1)
    date = _DATE.search(text_without_email)
    if date:
        found["date"] = date.group(0)
    return found


def template_slot_names(template: str) -> list[str]:
    """Return the canonical names of the placeholders in `template`, in order of first use."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(template):
        name = canonical_slot(match.group(1))
        if name not in names:
            names.append(name)
    return names


def humanize_slot(name: str) -> str:
    """Turn a slot name into words, e.g. customer_support_phone_number -> 'customer support phone number'."""
    return canonical_slot(name).replace("_", " ")


def fill_template(template: str, values: Mapping[str, str], missing: Callable[[str], str]) -> str:
    """Replace every `{{slot}}` with its value, or with `missing(slot)` when no value is known."""

    def substitute(match: re.Match[str]) -> str:
        name = canonical_slot(match.group(1))
        value = values.get(name)
        return value if value else missing(name)

    return PLACEHOLDER.sub(substitute, template)
