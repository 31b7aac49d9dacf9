"""What every API view shares: cursor pagination and reading a body into a Django form."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class NewestFirst(CursorPagination):
    """Newest first by primary key: the primary key's index answers at any depth, with
    no COUNT (bench W8), and a cursor stays right while tickets are filed."""

    ordering = "-id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


def form_data(request: Request, extra: dict[str, Any] | None = None) -> QueryDict | dict:
    """The body as a Django form reads it: a QueryDict for form posts, the JSON object as
    it is (a list for a multiple choice stays a list)."""
    data = request.data
    if isinstance(data, QueryDict):
        data = data.copy()
        for key, value in (extra or {}).items():
            data.setdefault(key, value)
        return data
    if not isinstance(data, dict):
        data = {}
    data = {key: ("" if value is None else value) for key, value in data.items()}
    for key, value in (extra or {}).items():
        data.setdefault(key, value)
    return data
