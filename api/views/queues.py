"""Queues (a technician's provider's) and incidents (the provider's; a shop's open ones)."""

from __future__ import annotations

from django.db.models import Count, FilteredRelation, Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.schema import paged
from api.serializers import IncidentSerializer, QueueSerializer
from api.views.common import NewestFirst
from outages import known
from outages.models import Incident
from portal.access import merchant_for_user, provider_for_user
from tickets.models import Queue, TicketQuerySet


def _queues(provider_id: int):  # noqa: ANN202 - a queryset of Queue
    # Open tickets counted in the join, so a queue with none still shows (as /work/).
    work = FilteredRelation(
        "tickets", condition=Q(tickets__status__in=TicketQuerySet.WORK_STATUSES)
    )
    return (
        Queue.objects.filter(provider_id=provider_id)
        .annotate(work=work)
        .annotate(open_tickets=Count("work"))
        .order_by("-active", "name", "id")
    )


class QueueListView(GenericAPIView):
    serializer_class = QueueSerializer

    @extend_schema(operation_id="queues_list", responses=QueueSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The technician's provider's queues, with their open tickets."""
        provider = provider_for_user(request.user)
        return Response(QueueSerializer(_queues(provider.pk), many=True).data)


class QueueDetailView(GenericAPIView):
    serializer_class = QueueSerializer

    def get(self, request: Request, pk: int) -> Response:
        provider = provider_for_user(request.user)
        queue = _queues(provider.pk).filter(pk=pk).first()
        if queue is None:
            raise Http404
        return Response(QueueSerializer(queue).data)


def _incidents_for(user) -> list[Incident] | object:  # noqa: ANN001
    """A technician's provider's incidents (a queryset), or the open ones that cover one
    of a shop's terminals (outages.known.for_shop, as the shop's pages show them)."""
    if user.is_authenticated and user.merchant is not None:
        return [problem.incident for problem in known.for_shop(merchant_for_user(user))]
    provider = provider_for_user(user)
    return Incident.objects.for_provider(provider.pk).select_related("provider")


class IncidentListView(GenericAPIView):
    serializer_class = IncidentSerializer
    pagination_class = NewestFirst

    @extend_schema(
        operation_id="incidents_list", responses=paged("IncidentPage", IncidentSerializer)
    )
    def get(self, request: Request) -> Response:
        """A technician's provider's incidents, newest first; a shop's open incidents that
        cover one of its terminals."""
        found = _incidents_for(request.user)
        if isinstance(found, list):
            return Response(
                {
                    "next": None,
                    "previous": None,
                    "results": IncidentSerializer(found, many=True).data,
                }
            )
        page = self.paginate_queryset(found)
        return self.get_paginated_response(IncidentSerializer(page, many=True).data)


class IncidentDetailView(GenericAPIView):
    serializer_class = IncidentSerializer

    def get(self, request: Request, pk: int) -> Response:
        found = _incidents_for(request.user)
        if isinstance(found, list):
            incident = next((i for i in found if i.pk == pk), None)
        else:
            incident = found.filter(pk=pk).first()
        if incident is None:
            raise Http404
        return Response(IncidentSerializer(incident).data)
