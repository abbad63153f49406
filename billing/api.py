"""Token economy API: the ledger (read), the balance, and debits for AI actions run by an
integration. Registered on the one router."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing import selectors, services
from billing.models import AiAction, TokenLedgerEntry
from flexoraa.api import MANAGING, TenantViewSet, router


class TokenLedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TokenLedgerEntry
        fields = ["id", "delta", "balance_after", "reason", "action", "reference",
                  "idempotency_key", "actor_user", "actor_api_key", "membership", "created_at"]
        read_only_fields = fields


class BalanceSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    low_balance_threshold = serializers.IntegerField()
    is_low = serializers.BooleanField()


class DebitSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AiAction.choices,
                                     help_text="The priced AI action to pay for.")
    units = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    idempotency_key = serializers.CharField(
        max_length=255, help_text="Unique per action; a retry with the same key is not charged "
                                  "again and returns the first result.")
    reference = serializers.CharField(max_length=128, required=False, allow_blank=True,
                                      default="")


class DebitResultSerializer(serializers.Serializer):
    replayed = serializers.BooleanField()
    entry = TokenLedgerEntrySerializer()
    balance = serializers.IntegerField()


class TokenLedgerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's token ledger, newest first (append-only)."""

    queryset = TokenLedgerEntry.objects.order_by("-id")
    serializer_class = TokenLedgerEntrySerializer
    allowed_roles = MANAGING
    filterset_fields = ["reason", "action", "membership"]

    def get_serializer_class(self):
        return DebitSerializer if self.action == "debit" else TokenLedgerEntrySerializer

    @extend_schema(responses=BalanceSerializer)
    @action(detail=False, methods=["get"], filterset_fields=None)
    def balance(self, request):
        """The current balance and the low-balance alert level."""
        wallet = selectors.wallet_for(self.organization)
        return Response(BalanceSerializer({
            "balance": wallet.balance, "low_balance_threshold": wallet.low_balance_threshold,
            "is_low": wallet.is_low,
        }).data)

    @extend_schema(request=DebitSerializer, responses={
        201: DebitResultSerializer, 200: DebitResultSerializer,
        402: OpenApiResponse(description="Not enough tokens; the error carries `balance`, "
                                         "`needed` and `shortfall`."),
        409: OpenApiResponse(description="The idempotency key was used for a different change."),
    })
    @action(detail=False, methods=["post"])
    def debit(self, request):
        """Pay for an AI action at the tenant's price. 402 when the wallet is short (with the
        balance and the shortfall); a replayed key answers 200 with the first result."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.ai_action_charge(
            org=self.organization, action=data["action"], units=data["units"],
            idempotency_key=data["idempotency_key"], reference=data["reference"],
            actor=self.actor,
        )
        if result is None:  # a free action: nothing to record
            wallet = selectors.wallet_for(self.organization)
            return Response({"replayed": False, "entry": None, "balance": wallet.balance})
        body = {"replayed": result.replayed, "entry": result.entry, "balance": result.balance}
        return Response(DebitResultSerializer(body).data,
                        status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


router.register("token-ledger", TokenLedgerViewSet, basename="token-ledger")

