"""Demo data: a realistic district generator and a day of district changes (work in progress)."""

from __future__ import annotations


def generate(url, districts, *, schools, students, school_year, seed):
    raise NotImplementedError


def apply_changes(url, districts, *, days, seed):
    raise NotImplementedError


def describe(summary) -> str:
    raise NotImplementedError


def describe_changes(summary) -> str:
    raise NotImplementedError
