"""DRF serializers and viewsets, registered on flexoraa.api.router."""
