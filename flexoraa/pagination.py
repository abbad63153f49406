"""Pagination for every list endpoint. Kept apart from flexoraa.api, which imports DRF's
viewsets: DRF reads DEFAULT_PAGINATION_CLASS while those load."""

from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """``?limit`` and ``?offset`` that are not whole numbers in range are a 400, not ignored."""

    default_limit = 50
    max_limit = 200

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1, "maximum": self.max_limit,
                                           "default": self.default_limit},
                  self.offset_query_param: {"minimum": 0, "default": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return self._whole_number(raw, self.limit_query_param, minimum=1, maximum=self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return self._whole_number(raw, self.offset_query_param, minimum=0, maximum=None)

    @staticmethod
    def _whole_number(raw: str, name: str, *, minimum: int, maximum: int | None) -> int:
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise exceptions.ValidationError({name: [f"Give a whole number {bound}."]})
        return value
